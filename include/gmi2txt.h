/*
 * gmi2txt: gemtext for Gopher clients, either as plain text (item type 0:
 * wrapped, headings underlined, links numbered with a reference list) or
 * as a menu (type 1: text as info lines, links as items).  Pure: no I/O,
 * no logging.  The output never contains a TAB outside menu field
 * separators, ends every line with CRLF, never has a text line that is
 * exactly ".", and ends with the terminator ".\r\n".
 */
#ifndef CAPSULED_GMI2TXT_H
#define CAPSULED_GMI2TXT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Width of wrapped plain text, in terminal columns. */
#define GMI2TXT_WIDTH		70

/* Links numbered per page; later links are written inline as text. */
#define GMI2TXT_LINKS_MAX	4096

/*
 * Tells whether path, an absolute path in our own capsule as the page
 * links to it (dot segments removed, still percent-encoded, no query), is
 * a directory.  arg is gmi2txt_opts.arg.
 */
typedef bool	(*gmi2txt_is_dir_fn)(void *arg, struct span path);

/*
 * The item type of such a path when the server knows better than its
 * name does (a search page is '7', a generated page of links '1'), or
 * '\0' to go by the name.
 */
typedef char	(*gmi2txt_type_fn)(void *arg, struct span path);

/* Where the page lives, so that its own links can become Gopher links. */
struct gmi2txt_opts {
	const char		*host;	/* public Gopher host name, not NULL */
	unsigned short		 port;	/* public Gopher port */
	/*
	 * The page's own path ("/blog/post.gmi", or "/blog/" for a
	 * directory's index): relative links are resolved against it.
	 */
	struct span		 base;
	/* NULL: only a path ending in '/' is a directory. */
	gmi2txt_is_dir_fn	 is_dir;
	/* NULL: types come from names (and is_dir). */
	gmi2txt_type_fn		 type_of;
	void			*arg;
};

/*
 * Append gemtext as Gopher plain text.  Text, list items ("  * ", hanging
 * indent), quotes ("> " on every line) and link labels are wrapped at
 * GMI2TXT_WIDTH columns (UTF-8 aware, East Asian wide characters counted
 * as two, words longer than a line broken); headings are underlined ('='
 * for "#", '-' for "##" and "###"); preformatted lines are kept verbatim
 * with TABs expanded to 8-column stops and the toggle lines dropped.  A
 * link becomes "[n] label" where it stands and "[n] URL" in a "References"
 * list at the end: links into the capsule (relative or absolute paths)
 * become gopher://host[:port]/<type><path> URLs, anything else keeps its
 * URL.  Control characters become spaces.  Returns 0, or -1 when out is
 * full (out is then left as it was) or memory runs out.
 */
int	gmi2txt_text(struct buf *out, struct span gmi,
	    const struct gmi2txt_opts *opts);

/*
 * Append gemtext as a Gopher menu.  Text, list items, quotes and headings
 * (underlined as in gmi2txt_text) become info lines wrapped at
 * GOPHER_DISPLAY_MAX columns; preformatted lines become info lines cut at
 * GOPHER_DISPLAY_MAX.  Each link becomes an item: links into the capsule
 * get the type of their path ('1' for directories, otherwise by
 * extension) and the resolved path as selector; gopher:// links point to
 * their host, port, type and selector; any other URL becomes an 'h' item
 * with a "URL:" selector on our host.  A label starting "YYYY-MM-DD - "
 * (a gemfeed entry) loses the " -".  Returns 0 or -1 as gmi2txt_text.
 */
int	gmi2txt_menu(struct buf *out, struct span gmi,
	    const struct gmi2txt_opts *opts);

#endif
