/*
 * url: URI references as RFC 3986 defines them, on spans.  Pure: no I/O,
 * no logging, no allocation except through the struct buf given as output.
 * Every function that appends to a buf leaves it as it was when it fails.
 *
 * Bytes from 0x80 up are accepted wherever the generic syntax allows
 * characters other than delimiters, so UTF-8 IRIs (RFC 3987) split like
 * URIs.  Percent signs are not checked by url_split; url_decode does that,
 * so that a caller can order its checks as it likes.
 */
#ifndef CAPSULED_URL_H
#define CAPSULED_URL_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/*
 * The components of a URI reference (RFC 3986 §3).  Spans point into the
 * input and exclude their delimiters (no ':' after the scheme, no "//",
 * '@', '?' or '#'); host has no brackets for an IP literal.  A component
 * that is absent is an empty span with its has_ flag false, so an empty
 * query ("x?") is told apart from none.  The path is always present and
 * may be empty.
 */
struct url {
	struct span	scheme;
	struct span	authority;	/* userinfo@host:port as written */
	struct span	userinfo;
	struct span	host;
	struct span	port;		/* digits only, maybe empty */
	struct span	path;
	struct span	query;
	struct span	fragment;
	bool		has_scheme;
	bool		has_authority;
	bool		has_userinfo;
	bool		has_port;
	bool		has_query;
	bool		has_fragment;
	bool		is_ip_literal;	/* host was "[...]" */
};

/*
 * Split an absolute URI or a relative reference into u.  Returns 0, or -1
 * when in is not a URI reference: a byte that may never appear (controls,
 * space, DEL, '"', '<', '>', '\\', '^', '`', '{', '|', '}'), '[' or ']'
 * outside an IP literal, a bad IP literal, a port that is not digits, a
 * second '#', a ':' in the first segment of a relative path, or a second
 * '@' in the authority.  On -1, u is undefined.
 */
/* The value of one hexadecimal digit, or -1 for any other byte. */
int	url_hex_value(char c);

int	url_split(struct span in, struct url *u);

/*
 * Parse a port as url_split returns it.  Returns 0 and sets *port, or -1
 * when the span is empty, not all digits, or above 65535.
 */
int	url_parse_port(struct span s, unsigned short *port);

/*
 * Append the percent-decoding of in to out ('+' stays '+').  Returns -1
 * when a '%' is not followed by two hex digits, or when out has no room
 * for in.n more bytes (decoding never grows, so that is all it needs).
 * When has_nul is NULL a NUL in the result (from %00, or already in in)
 * is an error too; otherwise it is kept and *has_nul tells whether there
 * was one.
 */
int	url_decode(struct span in, struct buf *out, bool *has_nul);

/*
 * Percent-decode the n bytes at p in place and store the new length in
 * *n.  Same rules as url_decode; on -1 the bytes at p are undefined.
 */
int	url_decode_inplace(char *p, size_t *n, bool *has_nul);

/*
 * Append in to out as a URL path: unreserved characters, '/' and the
 * sub-delims "!$&'()*+,;=" and '@' are kept; every other byte (space,
 * controls, non-ASCII, '%', '?', '#', ':' and the rest) becomes %XX with
 * upper-case hex.  ':' is encoded so that a relative reference made from a
 * file name such as "a:b.gmi" is never read as a scheme.  Returns 0 or -1
 * (out is full).
 */
int	url_encode_path(struct span in, struct buf *out);

/*
 * Append a reference written by a person (a Markdown link, a front-matter
 * image) to out, percent-encoding only the bytes that may never appear in
 * a URI reference (controls, space, DEL, '"', '<', '>', '\\', '^', '`',
 * '{', '|', '}') and each '%' not followed by two hex digits.  Delimiters,
 * valid %XX and non-ASCII bytes are kept.  Returns 0 or -1 (out is full).
 */
int	url_escape_ref(struct span in, struct buf *out);

/*
 * Append in to out as url_escape_ref does, and percent-encode the bytes
 * from 0x80 up as well, which makes an IRI a URI (RFC 3987 §3.1) that a
 * client without IRI support reads the same.  Returns 0 or -1 (out is
 * full).
 */
int	url_escape_uri(struct span in, struct buf *out);

/*
 * Append in, a reference written by a person that is to be read as a
 * relative path with an optional query and fragment (a Markdown link that
 * has no scheme and does not start with "//"), to out in a form url_split
 * always accepts and finds neither a scheme nor an authority in.  Bytes
 * are escaped as url_escape_ref does; '[' and ']' (kept there for IP
 * literals) and every '#' after the first are percent-encoded too; "./"
 * goes in front of a first segment that holds a ':' and "/." in front of
 * a path that starts "//" (RFC 3986 §4.2), which keeps their meaning as
 * paths.  Returns 0 or -1 (out is full).
 */
int	url_escape_relative(struct span in, struct buf *out);

/*
 * The scheme of the reference in (RFC 3986 §3.1), without its ':', or an
 * empty span when in has none.  Only the bytes up to the first ':' are
 * looked at, so in need not be a valid reference: this tells an absolute
 * URL from a relative one before either is escaped.
 */
struct span	url_scheme(struct span in);

/*
 * Append path to out with its dot segments removed (RFC 3986 §5.2.4).
 * Segments that would go above the root are dropped and *climbed (when
 * not NULL) is set to tell the caller they were there.  Only "." and ".."
 * written as such are dot segments: decode first to treat %2E%2E as "..".
 * Returns 0, or -1 when out has no room for path.n more bytes.
 */
int	url_remove_dots(struct span path, struct buf *out, bool *climbed);

/*
 * Remove dot segments from the n bytes at p in place, as url_remove_dots.
 * Returns the new length.
 */
size_t	url_remove_dots_inplace(char *p, size_t n, bool *climbed);

/*
 * Resolve ref against base (RFC 3986 §5.2.2, strict: a ref with a scheme
 * is taken as it is) and append the result, recomposed as §5.3 says, to
 * out.  base may be a full URL ("gemini://host/dir/x.gmi") or only an
 * absolute path ("/dir/x.gmi").  Dot segments above the root are dropped
 * and reported in *climbed (when not NULL).  Returns 0, or -1 when base or
 * ref does not split or out is full.
 */
int	url_resolve(struct span base, struct span ref, struct buf *out,
	    bool *climbed);

#endif
