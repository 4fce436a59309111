#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "gopher.h"
#include "url.h"

#define ELLIPSIS	"\xe2\x80\xa6"	/* U+2026, one column */

/*
 * Info lines and error lines carry dummy fields.  All four are non-empty,
 * the host is a syntactically valid name and the port a valid number, so
 * that neither strict parsers nor lenient ones drop the line.
 */
#define DUMMY_FIELDS	"\tfake\tnull.host\t1\r\n"
#define ERROR_FIELDS	"\tfake\terror.host\t1\r\n"

struct range {
	uint32_t	lo, hi;
};

/* Combining marks and other characters a terminal draws in no column. */
static const struct range zero_width[] = {
	{ 0x0300, 0x036f }, { 0x0483, 0x0489 }, { 0x0591, 0x05bd },
	{ 0x0610, 0x061a }, { 0x064b, 0x065f }, { 0x0e31, 0x0e31 },
	{ 0x0e34, 0x0e3a }, { 0x0e47, 0x0e4e }, { 0x1ab0, 0x1aff },
	{ 0x1dc0, 0x1dff }, { 0x200b, 0x200f }, { 0x202a, 0x202e },
	{ 0x2060, 0x2064 }, { 0x20d0, 0x20ff }, { 0xfe00, 0xfe0f },
	{ 0xfe20, 0xfe2f }, { 0xfeff, 0xfeff }, { 0xe0100, 0xe01ef },
};

/* East Asian Wide and Fullwidth blocks, and the emoji drawn two wide. */
static const struct range wide[] = {
	{ 0x1100, 0x115f }, { 0x231a, 0x231b }, { 0x2329, 0x232a },
	{ 0x23e9, 0x23ec }, { 0x23f0, 0x23f0 }, { 0x23f3, 0x23f3 },
	{ 0x25fd, 0x25fe }, { 0x2614, 0x2615 }, { 0x2648, 0x2653 },
	{ 0x267f, 0x267f }, { 0x2693, 0x2693 }, { 0x26a1, 0x26a1 },
	{ 0x26aa, 0x26ab }, { 0x26bd, 0x26be }, { 0x26c4, 0x26c5 },
	{ 0x26ce, 0x26ce }, { 0x26d4, 0x26d4 }, { 0x26ea, 0x26ea },
	{ 0x26f2, 0x26f3 }, { 0x26f5, 0x26f5 }, { 0x26fa, 0x26fa },
	{ 0x26fd, 0x26fd }, { 0x2705, 0x2705 }, { 0x270a, 0x270b },
	{ 0x2728, 0x2728 }, { 0x274c, 0x274c }, { 0x274e, 0x274e },
	{ 0x2753, 0x2755 }, { 0x2757, 0x2757 }, { 0x2795, 0x2797 },
	{ 0x27b0, 0x27b0 }, { 0x27bf, 0x27bf }, { 0x2b1b, 0x2b1c },
	{ 0x2b50, 0x2b50 }, { 0x2b55, 0x2b55 }, { 0x2e80, 0x303e },
	{ 0x3041, 0x33ff }, { 0x3400, 0x4dbf }, { 0x4e00, 0x9fff },
	{ 0xa000, 0xa4cf }, { 0xa960, 0xa97f }, { 0xac00, 0xd7a3 },
	{ 0xf900, 0xfaff }, { 0xfe10, 0xfe19 }, { 0xfe30, 0xfe6f },
	{ 0xff00, 0xff60 }, { 0xffe0, 0xffe6 }, { 0x16fe0, 0x16fe4 },
	{ 0x17000, 0x18cff }, { 0x1b000, 0x1b2ff }, { 0x1f004, 0x1f004 },
	{ 0x1f0cf, 0x1f0cf }, { 0x1f18e, 0x1f18e }, { 0x1f191, 0x1f19a },
	{ 0x1f200, 0x1f251 }, { 0x1f300, 0x1f64f }, { 0x1f680, 0x1f6ff },
	{ 0x1f7e0, 0x1f7eb }, { 0x1f90c, 0x1f9ff }, { 0x1fa70, 0x1faff },
	{ 0x20000, 0x2fffd }, { 0x30000, 0x3fffd },
};

/* Schemes a URL: selector may redirect to; others could run script. */
static const char *const redirect_schemes[] = {
	"http", "https", "gemini", "gopher", "gophers", "ftp", "irc", "ircs",
	"mailto",
};

static bool
in_table(uint32_t cp, const struct range *t, size_t n)
{
	size_t	lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (cp > t[mid].hi)
			lo = mid + 1;
		else if (cp < t[mid].lo)
			hi = mid;
		else
			return true;
	}
	return false;
}

static int
cp_width(uint32_t cp)
{
	if (cp < 0x300)
		return 1;
	if (in_table(cp, zero_width, sizeof(zero_width) / sizeof(*zero_width)))
		return 0;
	if (in_table(cp, wide, sizeof(wide) / sizeof(*wide)))
		return 2;
	return 1;
}

/*
 * Invalid UTF-8 (overlong forms, surrogates, truncated sequences) is
 * measured byte by byte, as most terminals draw one replacement per byte.
 */
int
gopher_char_width(const char *p, size_t n, size_t *len)
{
	const unsigned char	*u = (const unsigned char *)p;
	uint32_t		 cp;
	size_t			 need, i;

	*len = 1;
	if (u[0] < 0x80)
		return u[0] < 0x20 || u[0] == 0x7f ? -1 : 1;
	if (u[0] >= 0xc2 && u[0] <= 0xdf) {
		need = 1;
		cp = u[0] & 0x1f;
	} else if (u[0] >= 0xe0 && u[0] <= 0xef) {
		need = 2;
		cp = u[0] & 0x0f;
	} else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
		need = 3;
		cp = u[0] & 0x07;
	} else
		return 1;
	if (n <= need)
		return 1;
	for (i = 1; i <= need; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return 1;
		cp = cp << 6 | (u[i] & 0x3f);
	}
	if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 1;
	*len = need + 1;
	if (cp < 0xa0)
		return -1;	/* C1 controls: some terminals obey them */
	return cp_width(cp);
}

size_t
gopher_display_width(struct span s)
{
	size_t	i = 0, len, cols = 0;
	int	w;

	while (i < s.n) {
		w = gopher_char_width(s.p + i, s.n - i, &len);
		cols += w < 0 ? 1 : (size_t)w;
		i += len;
	}
	return cols;
}

static bool
is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/*
 * Clients differ in whether they percent-encode selectors, so a valid %XX
 * is decoded and anything else (a lone '%', "%zz") is kept as it is.  out
 * has room for in.n bytes.  Refuses what decodes to NUL.
 */
static int
decode_tolerant(struct span in, char *out, size_t *outlen)
{
	size_t	i, o = 0;
	int	hi, lo;

	for (i = 0; i < in.n; i++) {
		if (in.p[i] == '%' && in.n - i > 2 &&
		    (hi = url_hex_value(in.p[i + 1])) != -1 &&
		    (lo = url_hex_value(in.p[i + 2])) != -1) {
			out[o] = (char)(hi << 4 | lo);
			if (out[o] == '\0')
				return -1;
			o++;
			i += 2;
		} else
			out[o++] = in.p[i];
	}
	*outlen = o;
	return 0;
}

/*
 * Build "/seg/seg" from the decoded selector, folding empty segments and
 * applying "." and ".." (RFC 3986 5.2.4); a ".." with nothing left to
 * remove is refused rather than clamped, as for Gemini.  out has room for
 * n + 2 bytes.
 */
static int
normalise_path(const char *in, size_t n, char *out, size_t *outlen)
{
	size_t	i = 0, start, seglen, o = 0;
	bool	trailing = false;

	while (i < n) {
		while (i < n && in[i] == '/')
			i++;
		if (i == n) {
			trailing = true;
			break;
		}
		start = i;
		while (i < n && in[i] != '/')
			i++;
		seglen = i - start;
		trailing = false;
		if (seglen == 1 && in[start] == '.') {
			trailing = true;
			continue;
		}
		if (seglen == 2 && in[start] == '.' && in[start + 1] == '.') {
			if (o == 0)
				return -1;
			while (o > 0 && out[o - 1] != '/')
				o--;
			o--;
			trailing = true;
			continue;
		}
		out[o++] = '/';
		memcpy(out + o, in + start, seglen);
		o += seglen;
	}
	if (o == 0 || trailing)
		out[o++] = '/';
	out[o] = '\0';
	*outlen = o;
	return 0;
}

static bool
is_redirect_scheme(struct span url)
{
	size_t	i, n;

	for (i = 0; i < sizeof(redirect_schemes) / sizeof(*redirect_schemes);
	    i++) {
		n = strlen(redirect_schemes[i]);
		if (url.n > n && url.p[n] == ':' &&
		    strncasecmp(url.p, redirect_schemes[i], n) == 0)
			return true;
	}
	return false;
}

static bool
parse_http(struct span line, struct gopher_request *req)
{
	if (span_starts_with(line, "HEAD "))
		req->is_head = true;
	else if (!span_starts_with(line, "GET ") &&
	    !span_starts_with(line, "POST "))
		return false;
	req->kind = GOPHER_KIND_HTTP;
	return true;
}

static int
parse_url(struct span sel, struct gopher_request *req, const char **reason)
{
	struct span	url = { sel.p + 4, sel.n - 4 };
	size_t		i;

	if (url.n == 0 || !is_redirect_scheme(url)) {
		*reason = "URL: selector with a scheme we do not redirect to";
		return -1;
	}
	for (i = 0; i < url.n; i++)
		if (is_ctl((unsigned char)url.p[i])) {
			*reason = "control character in URL: selector";
			return -1;
		}
	memcpy(req->url, url.p, url.n);
	req->url[url.n] = '\0';
	req->url_len = url.n;
	req->kind = GOPHER_KIND_URL;
	return 0;
}

/*
 * A search string is the client's text; only NUL (checked already) and
 * the length matter here.
 */
static int
set_search(struct gopher_request *req, struct span s, bool decode,
    const char **reason)
{
	if (s.n > GOPHER_SELECTOR_MAX) {
		*reason = "search string too long";
		return -1;
	}
	if (!decode) {
		memcpy(req->search, s.p, s.n);
		req->search_len = s.n;
	} else if (decode_tolerant(s, req->search, &req->search_len) == -1) {
		*reason = "NUL in search string";
		return -1;
	}
	req->search[req->search_len] = '\0';
	req->has_search = true;
	return 0;
}

/* The field after the first TAB: a search string or a Gopher+ marker. */
static int
parse_tab_field(struct span rest, struct gopher_request *req,
    const char **reason)
{
	long	tab;

	if ((tab = span_index(rest, '\t')) != -1)
		rest.n = (size_t)tab;
	if (span_eq_cstr(rest, "+") || span_eq_cstr(rest, "!") ||
	    span_eq_cstr(rest, "$")) {
		req->gopher_plus = true;
		return 0;
	}
	return set_search(req, rest, false, reason);
}

static int
parse_path(struct span sel, struct gopher_request *req, const char **reason)
{
	char	decoded[GOPHER_SELECTOR_MAX + 1];
	size_t	n, i;
	long	q;

	if ((q = span_index(sel, '?')) != -1) {
		if (!req->has_search && set_search(req, span_make(sel.p + q + 1,
		    sel.n - (size_t)q - 1), true, reason) == -1)
			return -1;
		sel.n = (size_t)q;
	}
	if (decode_tolerant(sel, decoded, &n) == -1) {
		*reason = "NUL in selector";
		return -1;
	}
	for (i = 0; i < n; i++)
		if (is_ctl((unsigned char)decoded[i])) {
			*reason = "control character in selector";
			return -1;
		}
	if (normalise_path(decoded, n, req->path, &req->path_len) == -1) {
		*reason = "selector climbs above the root";
		return -1;
	}
	req->kind = GOPHER_KIND_PATH;
	return 0;
}

int
gopher_parse_request(struct span line, struct gopher_request *req,
    const char **reason)
{
	struct span	sel;
	long		lf, tab;

	memset(req, 0, sizeof(*req));
	if ((lf = span_index(line, '\n')) == -1) {
		*reason = "request line not ended by CRLF or LF";
		return -1;
	}
	line.n = (size_t)lf;
	if (line.n > 0 && line.p[line.n - 1] == '\r')
		line.n--;
	if (span_index(line, '\0') != -1) {
		*reason = "NUL in request";
		return -1;
	}
	if (parse_http(line, req))
		return 0;
	sel = line;
	if ((tab = span_index(line, '\t')) != -1)
		sel.n = (size_t)tab;
	if (sel.n > GOPHER_SELECTOR_MAX) {
		*reason = "selector too long";
		return -1;
	}
	if (tab != -1 && parse_tab_field(span_make(line.p + tab + 1,
	    line.n - (size_t)tab - 1), req, reason) == -1)
		return -1;
	if (span_starts_with(sel, "URL:"))
		return parse_url(sel, req, reason);
	return parse_path(sel, req, reason);
}

/*
 * Append s with control characters as spaces, cut to maxcols columns
 * (0: no limit) with an ellipsis when cut.
 */
static int
put_display(struct buf *out, struct span s, size_t maxcols)
{
	size_t	i = 0, len, cols = 0, room;
	bool	cut;
	int	w;

	cut = maxcols > 0 && gopher_display_width(s) > maxcols;
	room = cut ? maxcols - 1 : SIZE_MAX;
	while (i < s.n) {
		w = gopher_char_width(s.p + i, s.n - i, &len);
		if (cols + (size_t)(w < 0 ? 1 : w) > room)
			break;
		if (w < 0) {
			if (buf_putc(out, ' ') == -1)
				return -1;
			cols++;
		} else {
			if (buf_append(out, s.p + i, len) == -1)
				return -1;
			cols += (size_t)w;
		}
		i += len;
	}
	if (!cut)
		return 0;
	while (cols > 0 && out->len > 0 && out->p[out->len - 1] == ' ') {
		out->len--;
		cols--;
	}
	return buf_puts(out, ELLIPSIS);
}

static int
put_selector(struct buf *out, struct span s)
{
	size_t	i, start = 0;

	for (i = 0; i < s.n; i++) {
		if (!is_ctl((unsigned char)s.p[i]))
			continue;
		if (buf_append(out, s.p + start, i - start) == -1 ||
		    buf_printf(out, "%%%02X", (unsigned char)s.p[i]) == -1)
			return -1;
		start = i + 1;
	}
	return buf_append(out, s.p + start, s.n - start);
}

static int
put_host(struct buf *out, struct span host)
{
	size_t	i;

	if (host.n == 0)
		return buf_puts(out, "null.host");
	for (i = 0; i < host.n; i++)
		if (!is_ctl((unsigned char)host.p[i]) &&
		    buf_putc(out, host.p[i]) == -1)
			return -1;
	return 0;
}

static bool
is_type_char(char c)
{
	return c > 0x20 && c < 0x7f;
}

/* One menu line whose selector is the nsel spans one after the other. */
static int
put_item(struct buf *out, char type, struct span display, size_t maxcols,
    const struct span *sel, size_t nsel, struct span host, unsigned port)
{
	size_t	mark = out->len, i;

	if (buf_putc(out, is_type_char(type) ? type : '3') == -1 ||
	    put_display(out, display, maxcols) == -1 ||
	    buf_putc(out, '\t') == -1)
		goto fail;
	for (i = 0; i < nsel; i++)
		if (put_selector(out, sel[i]) == -1)
			goto fail;
	if (buf_putc(out, '\t') == -1 ||
	    put_host(out, host) == -1 ||
	    buf_printf(out, "\t%u\r\n", port) == -1)
		goto fail;
	return 0;
fail:
	out->len = mark;	/* never leave half a line */
	return -1;
}

int
gopher_menu_item(struct buf *out, char type, struct span display,
    struct span selector, const char *host, unsigned short port)
{
	return put_item(out, type, display, GOPHER_DISPLAY_MAX, &selector, 1,
	    span_cstr(host != NULL ? host : ""), port);
}

int
gopher_info_line(struct buf *out, struct span text)
{
	size_t	mark = out->len;

	if (buf_putc(out, 'i') == -1 || put_display(out, text, 0) == -1 ||
	    buf_puts(out, DUMMY_FIELDS) == -1) {
		out->len = mark;
		return -1;
	}
	return 0;
}

int
gopher_error(struct buf *out, struct span msg)
{
	size_t	mark = out->len;

	if (buf_putc(out, '3') == -1 ||
	    put_display(out, msg, GOPHER_DISPLAY_MAX) == -1 ||
	    buf_puts(out, ERROR_FIELDS) == -1 ||
	    gopher_terminator(out) == -1) {
		out->len = mark;
		return -1;
	}
	return 0;
}

int
gopher_terminator(struct buf *out)
{
	return buf_puts(out, ".\r\n");
}

/* An IPv6 literal needs brackets in a URL. */
static int
put_url_host(struct buf *out, const char *host)
{
	if (strchr(host, ':') != NULL)
		return buf_printf(out, "[%s]", host);
	return buf_puts(out, host);
}

static int
http_body(struct buf *b, const char *host, unsigned short gopher_port,
    unsigned short gemini_port)
{
	if (buf_puts(b, "This is a Gopher and Gemini server, not a web "
	    "server.\r\n\r\nGopher: gopher://") == -1 ||
	    put_url_host(b, host) == -1 ||
	    (gopher_port != 70 && buf_printf(b, ":%u", gopher_port) == -1) ||
	    buf_puts(b, "/\r\nGemini: gemini://") == -1 ||
	    put_url_host(b, host) == -1 ||
	    (gemini_port != 1965 && buf_printf(b, ":%u", gemini_port) == -1) ||
	    buf_puts(b, "/\r\n\r\nOpen one of these addresses in a Gopher "
	    "client (lynx, sacc, curl)\r\nor a Gemini client (Lagrange, "
	    "Amfora).\r\n") == -1)
		return -1;
	return 0;
}

int
gopher_http_reply(struct buf *out, bool head, const char *host,
    unsigned short gopher_port, unsigned short gemini_port)
{
	struct buf	body;
	size_t		mark = out->len;
	int		rc = -1;

	if (host == NULL)
		host = "localhost";
	buf_init(&body, 1024 + 2 * strlen(host));
	if (http_body(&body, host, gopher_port, gemini_port) == -1)
		goto done;
	if (buf_printf(out, "HTTP/1.0 400 Bad Request\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n",
	    body.len) == -1)
		goto done;
	if (!head && buf_append(out, body.p, body.len) == -1)
		goto done;
	rc = 0;
done:
	if (rc == -1)
		out->len = mark;
	buf_free(&body);
	return rc;
}

static int
put_html_escaped(struct buf *out, struct span s)
{
	size_t		i;
	unsigned char	c;
	int		rc;

	for (i = 0; i < s.n; i++) {
		c = (unsigned char)s.p[i];
		if (c == '&')
			rc = buf_puts(out, "&amp;");
		else if (c == '<')
			rc = buf_puts(out, "&lt;");
		else if (c == '>')
			rc = buf_puts(out, "&gt;");
		else if (c == '"')
			rc = buf_puts(out, "&quot;");
		else if (c == '\'')
			rc = buf_puts(out, "&#39;");
		else if (is_ctl(c))
			rc = buf_printf(out, "%%%02X", c);
		else
			rc = buf_putc(out, (char)c);
		if (rc == -1)
			return -1;
	}
	return 0;
}

int
gopher_url_redirect_page(struct buf *out, struct span url)
{
	size_t	mark = out->len;

	if (buf_puts(out, "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 "
	    "Final//EN\">\r\n<html>\r\n<head>\r\n"
	    "<meta http-equiv=\"refresh\" content=\"1;URL=") == -1 ||
	    put_html_escaped(out, url) == -1 ||
	    buf_puts(out, "\">\r\n<title>Leaving Gopherspace</title>\r\n"
	    "</head>\r\n<body>\r\n<p>This link leads out of Gopherspace "
	    "to:</p>\r\n<p><a href=\"") == -1 ||
	    put_html_escaped(out, url) == -1 ||
	    buf_puts(out, "\">") == -1 ||
	    put_html_escaped(out, url) == -1 ||
	    buf_puts(out, "</a></p>\r\n<p>Your browser should follow it in "
	    "a moment.</p>\r\n</body>\r\n</html>\r\n") == -1) {
		out->len = mark;
		return -1;
	}
	return 0;
}

static bool
ext_in(struct span ext, const char *const *list)
{
	for (; *list != NULL; list++)
		if (span_caseeq_cstr(ext, *list))
			return true;
	return false;
}

char
gopher_type_for_name(struct span name)
{
	static const char *const text[] = {
		"gmi", "gemini", "md", "txt", "xml", NULL
	};
	static const char *const image[] = {
		"png", "jpg", "jpeg", "webp", "svg", "bmp", NULL
	};
	static const char *const html[] = { "html", "htm", NULL };
	static const char *const sound[] = {
		"mp3", "ogg", "oga", "opus", "flac", "wav", "m4a", NULL
	};
	struct span	ext;
	size_t		i;

	if (name.n > 0 && name.p[name.n - 1] == '/')
		return '1';
	for (i = name.n; i > 0 && name.p[i - 1] != '/'; i--)
		if (name.p[i - 1] == '.')
			break;
	if (i == 0 || name.p[i - 1] != '.')
		return '9';
	ext = span_make(name.p + i, name.n - i);
	if (ext_in(ext, text))
		return '0';
	if (span_caseeq_cstr(ext, "gif"))
		return 'g';
	if (ext_in(ext, image))
		return 'I';
	if (ext_in(ext, html))
		return 'h';
	if (ext_in(ext, sound))
		return 's';
	return '9';
}

/* Split off the next TAB-separated field of *rest (the whole if none). */
static struct span
next_field(struct span *rest)
{
	struct span	f = *rest;
	long		tab;

	if ((tab = span_index(*rest, '\t')) == -1) {
		rest->p += rest->n;
		rest->n = 0;
		return f;
	}
	f.n = (size_t)tab;
	rest->p += tab + 1;
	rest->n -= (size_t)tab + 1;
	return f;
}

/* A port field: decimal 1..65535, else the default. */
static unsigned
map_port(struct span f, unsigned dflt)
{
	unsigned long	v = 0;
	size_t		i;

	if (f.n == 0 || f.n > 5)
		return dflt;
	for (i = 0; i < f.n; i++) {
		if (f.p[i] < '0' || f.p[i] > '9')
			return dflt;
		v = v * 10 + (unsigned long)(f.p[i] - '0');
	}
	return v >= 1 && v <= 65535 ? (unsigned)v : dflt;
}

static bool
is_own_host(struct span h, struct span ours)
{
	return h.n == 0 || (h.n == ours.n &&
	    strncasecmp(h.p, ours.p, h.n) == 0);
}

/*
 * "<type><display>\t<selector>\t<host>\t<port>", any field after the
 * display possibly missing.  A relative selector only makes sense on our
 * own host; a URL: selector is never a path (pygopherd#3).
 */
static int
map_item(struct buf *out, struct span line, struct span dir,
    const char *host, unsigned short port)
{
	struct span	rest, display, sel, h, p, parts[3];
	struct span	ours = span_cstr(host != NULL ? host : "");
	size_t		nparts = 0;
	bool		own;
	char		type = line.p[0];

	if (type == '\t')
		return gopher_info_line(out, span_make("", 0));
	rest = span_make(line.p + 1, line.n - 1);
	display = next_field(&rest);
	if (type == 'i' || !is_type_char(type))
		return gopher_info_line(out, display);
	sel = next_field(&rest);
	h = next_field(&rest);
	p = next_field(&rest);
	if (sel.n == 0)
		sel = display;
	own = is_own_host(h, ours);
	if (h.n == 0)
		h = ours;
	if (own && !span_starts_with(sel, "/") &&
	    !span_starts_with(sel, "URL:")) {
		parts[nparts++] = dir;
		if (dir.n == 0 || dir.p[dir.n - 1] != '/')
			parts[nparts++] = span_cstr("/");
	}
	parts[nparts++] = sel;
	return put_item(out, type, display, 0, parts, nparts, h,
	    map_port(p, own ? port : 70));
}

/* A line without a TAB: a Gophernicus directive, or text. */
static int
map_text(struct buf *out, struct span line)
{
	if (span_starts_with(line, "#"))
		return 0;
	if (span_starts_with(line, "!"))
		return gopher_info_line(out, span_make(line.p + 1,
		    line.n - 1));
	if (span_eq_cstr(line, "*") || span_eq_cstr(line, "~") ||
	    span_eq_cstr(line, "%"))
		return 0;
	return gopher_info_line(out, line);
}

int
gopher_gophermap(struct buf *out, struct span map, struct span dir,
    const char *host, unsigned short port)
{
	struct span	line;
	size_t		mark = out->len;
	long		lf;
	int		rc;

	while (map.n > 0) {
		line = map;
		if ((lf = span_index(map, '\n')) == -1) {
			map.n = 0;
		} else {
			line.n = (size_t)lf;
			map.p += lf + 1;
			map.n -= (size_t)lf + 1;
		}
		if (line.n > 0 && line.p[line.n - 1] == '\r')
			line.n--;
		if (span_eq_cstr(line, "."))
			break;
		if (span_index(line, '\t') == -1)
			rc = map_text(out, line);
		else
			rc = map_item(out, line, dir, host, port);
		if (rc == -1)
			goto fail;
	}
	if (gopher_terminator(out) == -1)
		goto fail;
	return 0;
fail:
	out->len = mark;
	return -1;
}
