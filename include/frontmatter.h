/*
 * frontmatter: split the YAML front matter off the top of a Markdown post
 * and read it, with libyaml's event API, as a flat map into struct
 * post_meta.  Nothing is logged: warnings and errors come back as a list of
 * (line, message) pairs whose lines are lines of the .md file.
 */
#ifndef CAPSULED_FRONTMATTER_H
#define CAPSULED_FRONTMATTER_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Front matter larger than this is not parsed (libyaml has no size cap). */
#define FM_MAX_SIZE	(64 * 1024)

/* Deeper nesting is an error (libyaml 0.2.5 has no nesting limit). */
#define FM_MAX_DEPTH	16

/* Tags beyond this many are ignored. */
#define FM_MAX_TAGS	64

/* Diagnostics beyond this many are dropped, so a hostile file stays small. */
#define FM_MAX_DIAGS	64

/* A calendar date as written, with the time of day when one was given. */
struct fm_date {
	int	 y, m, d;	/* y == 0: no date */
	bool	 has_time;
	int	 hh, mi, ss;
	bool	 has_tz;
	int	 tz_min;	/* offset east of UTC in minutes */
};

/* One warning or error: a line of the .md file (0 = the whole file). */
struct fm_diag {
	unsigned long	 line;
	char		*msg;
};

/* An owned list of diagnostics; zero-initialise before first use. */
struct fm_diags {
	struct fm_diag	*v;
	size_t		 n;
	size_t		 cap;
	bool		 dropped;	/* some were lost (cap, memory) */
};

/* What a post says about itself; every string is owned and may be NULL. */
struct post_meta {
	char		*title;
	char		*description;
	struct fm_date	 pubdate;
	struct fm_date	 updated;
	char		*hero;		/* heroImage as written */
	unsigned long	 hero_line;	/* its line in the .md file */
	char		**tags;
	size_t		 ntags;
	bool		 draft;
	char		*lang;
	bool		 broken;	/* the front matter had an error */
};

/* The kinds of front matter fm_split recognises. */
enum fm_kind {
	FM_NONE,
	FM_YAML,
	FM_TOML
};

/* Where the front matter and the body lie inside a document. */
struct fm_split {
	enum fm_kind	 kind;
	struct span	 fm;		/* the lines between the fences */
	struct span	 body;		/* everything after the closing fence */
	unsigned long	 fm_line;	/* file line of its first line */
	unsigned long	 body_line;	/* file line of the first body line */
	bool		 unclosed;	/* opened but never closed */
};

/*
 * Find the front matter at the very top of doc (a UTF-8 BOM and CRLF line
 * ends are tolerated).  Without a closing fence the whole document is body.
 */
void	fm_split(struct span doc, struct fm_split *sp);

/*
 * Split and parse doc into meta (which must be zeroed or freshly
 * fm_meta_free'd) and point *body at the Markdown after the front matter;
 * *body_line gets its first line.  Broken YAML is an error in diags and
 * leaves meta empty except for a draft flag already seen (so a typo never
 * publishes a draft), with meta->broken set.  Returns 0, or -1 when out of
 * memory.
 */
int	fm_parse(struct span doc, struct post_meta *meta, struct span *body,
	    unsigned long *body_line, struct fm_diags *diags);

/*
 * Parse a date in one of the forms authors write: ISO 8601 dates and
 * datetimes, YYYY/MM/DD, "Jan 07 2026", "January 7, 2026", "07 Jan 2026"
 * and RFC 2822 (a leading weekday is ignored).  Ambiguous forms such as
 * 01/07/2026, two-digit years and impossible dates are refused.  0 or -1.
 */
int	fm_parse_date(struct span s, struct fm_date *d);

/* Release everything meta owns and zero it. */
void	fm_meta_free(struct post_meta *meta);

/*
 * Append a printf-formatted diagnostic for a file line; 0, or -1 when out
 * of memory (the list then only notes that something was dropped).
 */
int	fm_diag_add(struct fm_diags *dl, unsigned long line, const char *fmt,
	    ...) __attribute__((format(printf, 3, 4)));

/* Release every diagnostic and zero the list. */
void	fm_diags_free(struct fm_diags *dl);

#endif
