/*
 * md2gmi: Markdown (md4c 0.4.8 callbacks) to gemtext, following the rule
 * set R5-R25 of the conversion reference: one line per paragraph, headings
 * capped at ###, lists as "* " lines with depth markers, fences with their
 * language as alt text, tables as preformatted grids, links collected as
 * "=>" lines after their block, HTML stripped, entities decoded and lines
 * that a client would misread escaped.  Pure: no I/O, no logging.
 */
#ifndef CAPSULED_MD2GMI_H
#define CAPSULED_MD2GMI_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "frontmatter.h"

/* Links kept per post; later links keep their text and lose the line. */
#define MD2GMI_MAX_LINKS	4096

/* A longer link destination is dropped (its text is kept). */
#define MD2GMI_MAX_HREF		2048

/* Tables with more columns are written as one list line per row. */
#define MD2GMI_MAX_COLS		128

/* Tables with more cells than this abort the conversion. */
#define MD2GMI_MAX_CELLS	65536

/* Grids wider than this many display columns become list lines. */
#define MD2GMI_TABLE_WIDTH	80

/*
 * Asked whether a capsule path (absolute, percent-decoded, no dot
 * segments) names an existing file or directory.
 */
typedef bool	(*md2gmi_exists_fn)(void *arg, const char *capsule_path);

/* How to convert one post body. */
struct md2gmi_opts {
	const char		*base;		/* the post's URL path */
	const char		*title;		/* front-matter title or NULL */
	md2gmi_exists_fn	 exists;	/* NULL: every target exists */
	void			*arg;
	struct span		 src;		/* whole .md file, for lines */
	size_t			 max_out;	/* output ceiling in bytes */
	unsigned long		 budget_ms;	/* time allowed, 0: no limit */
};

/* What the conversion learnt besides the gemtext. */
struct md2gmi_info {
	char	*first_h1;	/* text of the first H1, owned, or NULL */
	bool	 dropped_h1;	/* that H1 opened the body and was left out */
	size_t	 nlinks;	/* link lines written */
	bool	 timed_out;	/* the render failed for want of time */
};

/*
 * Convert the Markdown md, appending gemtext to out (whose own ceiling
 * also applies).  A first-block H1 equal to opts->title (or any first
 * H1 when there is no title) is left out for the caller's header.  Links
 * to missing capsule files are left out and reported in diags.  Returns
 * 0, or -1 when a limit was crossed or memory ran out (out then holds a
 * partial result the caller must not serve).  With opts->budget_ms set,
 * the clock is read every few thousand md4c callbacks and the conversion
 * gives up once the budget is spent: -1 with info->timed_out set, the
 * only field of info that is then kept.  Time md4c spends between two
 * callbacks cannot be cut short.
 */
int	md2gmi_render(struct span md, const struct md2gmi_opts *opts,
	    struct buf *out, struct md2gmi_info *info, struct fm_diags *diags);

/* Release what info owns. */
void	md2gmi_info_free(struct md2gmi_info *info);

/*
 * Resolve the reference ref against base, the absolute URL path of a post
 * as it was decoded (NULL or not absolute: "/"), and append the result to
 * out: url_resolve after url_escape_relative on both, so bytes that may
 * not appear in a URI come out percent-encoded and dot segments above the
 * root are dropped.  A reference with a scheme or an authority is appended
 * as it is.  Returns 0, or -1 when out is full or memory runs out.
 */
int	md2gmi_resolve(const char *base, struct span ref, struct buf *out);

/*
 * Append s as one gemtext text line (no newline): TABs and line ends
 * become spaces and a leading space is added when the line would
 * otherwise read as a link, heading, list item, quote or toggle.  0 or -1.
 */
int	md2gmi_text_line(struct buf *out, struct span s);

#endif
