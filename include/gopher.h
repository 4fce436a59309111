/*
 * gopher: the Gopher request line and the pieces of a Gopher reply (menu
 * lines, info lines, type-3 errors, the terminator, gophermaps), plus the
 * answers to the two requests that are not Gopher at all: a web browser's
 * HTTP request and an "h" item's URL: selector.  Pure: no I/O, no logging.
 * Everything written ends its lines with CRLF and never contains a TAB
 * outside the field separators.
 */
#ifndef CAPSULED_GOPHER_H
#define CAPSULED_GOPHER_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Longest selector, and longest search string, not counting the line end. */
#define GOPHER_SELECTOR_MAX	1024

/*
 * Widest display string in a generated menu line, in terminal columns:
 * the widest that fits every client tested on an 80-column terminal.
 */
#define GOPHER_DISPLAY_MAX	67

/* What a request line asks for. */
enum gopher_kind {
	GOPHER_KIND_PATH,	/* a path in the capsule: path, search */
	GOPHER_KIND_URL,	/* a "URL:" selector: url (answer with HTML) */
	GOPHER_KIND_HTTP	/* an HTTP request line (answer with HTTP) */
};

/* A request that passed every check. */
struct gopher_request {
	enum gopher_kind kind;
	/*
	 * GOPHER_KIND_PATH: percent-decoded, dot segments removed, repeated
	 * slashes folded, always starting with '/'; a trailing '/' is kept.
	 * NUL-terminated; never contains a control character.
	 */
	char		path[GOPHER_SELECTOR_MAX + 2];
	size_t		path_len;
	/*
	 * The search string: the text after the first TAB, or else after the
	 * first '?' of the selector.  has_search tells an empty search from
	 * none.  NUL-terminated, never contains NUL; not otherwise checked.
	 */
	char		search[GOPHER_SELECTOR_MAX + 1];
	size_t		search_len;
	bool		has_search;
	/* The client sent a Gopher+ marker ("+", "!" or "$") after the TAB. */
	bool		gopher_plus;
	/* GOPHER_KIND_URL: the URL after "URL:", as sent; NUL-terminated. */
	char		url[GOPHER_SELECTOR_MAX + 1];
	size_t		url_len;
	/* GOPHER_KIND_HTTP: the method was HEAD (send no body). */
	bool		is_head;
};

/*
 * Check and parse one request.  line holds the bytes received up to and
 * including the first LF (CRLF or a bare LF both end the line); bytes after
 * that LF are ignored.  Returns 0 and fills req, or -1 and sets *reason to
 * a static sentence for the type-3 error and the log.  The order of checks:
 * a line end is present; no NUL; "GET ", "HEAD " or "POST " makes an HTTP
 * request (nothing else is checked); the selector (up to the first TAB)
 * and the search string are at most GOPHER_SELECTOR_MAX bytes; "URL:"
 * selectors need a scheme we redirect to and no control characters;
 * otherwise the selector, cut at '?', is percent-decoded where it holds
 * valid %XX escapes, must not decode to NUL or any control character, and
 * must not climb above the root.  "" and "/" are both the root "/".
 */
int	gopher_parse_request(struct span line, struct gopher_request *req,
	    const char **reason);

/*
 * Decode the character at p (n bytes available) as UTF-8 and return the
 * columns it takes on a terminal: 2 for East Asian wide and fullwidth
 * characters, 0 for combining marks and zero-width characters, 1 for
 * everything else including each byte of invalid UTF-8, and -1 for a
 * control character (C0, DEL, C1).  *len gets the bytes used (at least 1).
 * n must be at least 1.
 */
int	gopher_char_width(const char *p, size_t n, size_t *len);

/* Terminal columns of s, counting control characters as one each. */
size_t	gopher_display_width(struct span s);

/*
 * Append one menu line "<type><display>\t<selector>\t<host>\t<port>\r\n".
 * Control characters in display (TAB, CR, LF included) become spaces and
 * display is cut to GOPHER_DISPLAY_MAX columns, ending in U+2026 when cut.
 * Control bytes in selector are percent-encoded (the parser decodes them
 * back) and dropped from host.  Returns 0 or -1 (out is full).
 */
int	gopher_menu_item(struct buf *out, char type, struct span display,
	    struct span selector, const char *host, unsigned short port);

/*
 * Append one info line "i<text>\tfake\tnull.host\t1\r\n".  Every field is
 * present and non-empty, the host is a valid name and the port a valid
 * number, which is the form that strict and lenient clients all show as
 * text.  Control characters in text become spaces; text is not cut (wrap
 * it first).  Returns 0 or -1.
 */
int	gopher_info_line(struct buf *out, struct span text);

/*
 * Append a complete error reply: one type-3 line carrying msg (cleaned and
 * cut as a display string) followed by the terminator.  Returns 0 or -1.
 */
int	gopher_error(struct buf *out, struct span msg);

/* Append the Lastline ".\r\n" that ends a menu or a text.  0 or -1. */
int	gopher_terminator(struct buf *out);

/*
 * Append a complete HTTP/1.0 400 reply (headers, and for anything but HEAD
 * a text/plain body) telling a web browser that this is a Gopher and
 * Gemini server and giving gopher://host:gopher_port/ and
 * gemini://host:gemini_port/ (default ports left out).  Returns 0 or -1.
 */
int	gopher_http_reply(struct buf *out, bool head, const char *host,
	    unsigned short gopher_port, unsigned short gemini_port);

/*
 * Append a small HTML 3.2 page that sends the browser on to url after one
 * second (meta refresh) and links to it, for clients that fetch "h" items
 * with URL: selectors from the Gopher server.  url is HTML-escaped and its
 * control bytes percent-encoded.  Returns 0 or -1.
 */
int	gopher_url_redirect_page(struct buf *out, struct span url);

/*
 * The item type for a file name or path, by its extension (ignoring case):
 * '1' when it ends in '/', '0' for gmi, gemini, md, txt and xml, 'g' for
 * gif, 'I' for png, jpg, jpeg, webp, svg and bmp, 'h' for html and htm,
 * 's' for mp3, ogg, oga, opus, flac, wav and m4a, '9' for anything else.
 */
char	gopher_type_for_name(struct span name);

/*
 * Turn a hand-written gophermap into a menu, as Gophernicus and Bucktooth
 * read one, and append it to out.  Each LF-separated line (a CR before
 * the LF is dropped):
 *   - "." alone ends the map;
 *   - "#..." without a TAB is a comment; "!title" is an info line "title";
 *     "*", "~" and "%" alone are directives for other servers, skipped;
 *   - any other line without a TAB is an info line;
 *   - "<type><display>\t<selector>\t<host>\t<port>" is an item; an empty
 *     or missing selector is the display text, host defaults to host and
 *     port to port (to 70 when the line names another host), fields after
 *     the port are dropped, and a selector that is not absolute (no
 *     leading '/', not "URL:") on our own host is taken relative to dir,
 *     the directory's own selector ("/phlog/").  Items of type 'i' are
 *     written as info lines.
 * Display strings are cleaned but not cut: the author chose them.  The
 * menu always ends with the terminator.  Returns 0 or -1 (out is full).
 */
int	gopher_gophermap(struct buf *out, struct span map, struct span dir,
	    const char *host, unsigned short port);

#endif
