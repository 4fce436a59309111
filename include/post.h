/*
 * post: one Markdown post from its bytes to the gemtext a visitor gets:
 * size cap, BOM, CRLF and UTF-8 repair, front matter, the header (title,
 * dates, description, cover image, tags), the body and the footer link.
 * Pure: the caller reads the file and answers "does this path exist?".
 */
#ifndef CAPSULED_POST_H
#define CAPSULED_POST_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "frontmatter.h"
#include "md2gmi.h"

/* A larger post file is refused (the server answers 40). */
#define POST_MAX_SIZE		(4 * 1024 * 1024)

/* The output may be this many times the input (plus POST_OUT_SLACK). */
#define POST_OUT_FACTOR		4

/* Room for the header and footer of a small post. */
#define POST_OUT_SLACK		(64 * 1024)

/* One post to render. */
struct post_input {
	struct span		 src;		/* the file's bytes */
	const char		*url;		/* URL path, "/blog/x.gmi" */
	const char		*name;		/* file name, for the title */
	md2gmi_exists_fn	 exists;	/* NULL: everything exists */
	void			*arg;
	unsigned long		 budget_ms;	/* render time, 0: no limit */
};

/* A rendered post; zero-initialise, release with post_free. */
struct post {
	struct buf		 gmi;		/* the gemtext, owned */
	struct post_meta	 meta;		/* title is always set */
	struct fm_diags		 diags;		/* "line: message" findings */
	const char		*errstr;	/* why post_render failed */
};

/*
 * Render in into p.  Returns 0, or -1 with p->errstr set (too large, out
 * of memory, output over its ceiling); on -1 p holds nothing to serve
 * but must still be released with post_free.
 */
int	post_render(const struct post_input *in, struct post *p);

/* Release everything p owns and zero it. */
void	post_free(struct post *p);

/*
 * "capsuled render FILE.md" (argv[0] is "render"): print the gemtext of
 * FILE.md as if it were served at "/" + its base name with .gmi, linked
 * files looked up next to it on disk; diagnostics go to stderr as
 * FILE:LINE: message.  Returns the exit status: 0, or 1 when the file is
 * unreadable or too large, 2 on a usage error.
 */
int	post_cli_render(int argc, char *argv[]);

#endif
