#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "buf.h"
#include "url.h"

/*
 * Character classes of RFC 3986 §2.  These take unsigned char so that a
 * byte from the wire is never sign-extended, and a switch rather than
 * strchr() so that a NUL byte can never match a string's terminator.
 */
static bool
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

int
url_hex_value(char ch)
{
	unsigned char	c = (unsigned char)ch;

	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool
is_unreserved(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || c == '-' || c == '.' ||
	    c == '_' || c == '~';
}

static bool
is_subdelim(unsigned char c)
{
	switch (c) {
	case '!': case '$': case '&': case '\'': case '(': case ')':
	case '*': case '+': case ',': case ';': case '=':
		return true;
	default:
		return false;
	}
}

/* Bytes that no URI reference may hold, wherever they are. */
static bool
is_forbidden(unsigned char c)
{
	if (c <= 0x20 || c == 0x7f)
		return true;
	switch (c) {
	case '"': case '<': case '>': case '\\': case '^': case '`':
	case '{': case '|': case '}':
		return true;
	default:
		return false;
	}
}

/*
 * What a reg-name, userinfo or path segment may hold.  '%' is let through
 * unchecked (url_decode judges it) and bytes from 0x80 up are IRI text.
 */
static bool
is_namechar(unsigned char c)
{
	return is_unreserved(c) || is_subdelim(c) || c == '%' || c >= 0x80;
}

static bool
is_pchar(unsigned char c)
{
	return is_namechar(c) || c == ':' || c == '@';
}

static bool
all_of(struct span s, bool (*pred)(unsigned char))
{
	size_t	i;

	for (i = 0; i < s.n; i++)
		if (!pred((unsigned char)s.p[i]))
			return false;
	return true;
}

static bool
is_userinfo_char(unsigned char c)
{
	return is_namechar(c) || c == ':';
}

static bool
is_path_char(unsigned char c)
{
	return is_pchar(c) || c == '/';
}

static bool
is_query_char(unsigned char c)
{
	return is_pchar(c) || c == '/' || c == '?';
}

static bool
is_scheme_char(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.';
}

static bool
is_future_char(unsigned char c)
{
	return is_unreserved(c) || is_subdelim(c) || c == ':';
}

static bool
is_hex(unsigned char c)
{
	return url_hex_value((char)c) != -1;
}

/* dec-octet "." dec-octet "." dec-octet "." dec-octet, no leading zeros. */
static bool
is_ipv4(const char *p, size_t n)
{
	size_t	i = 0, start;
	int	octet, dots = 0;

	for (;;) {
		start = i;
		octet = 0;
		while (i < n && is_digit((unsigned char)p[i]) && i - start < 3)
			octet = octet * 10 + (p[i++] - '0');
		if (i == start || octet > 255 || (p[start] == '0' &&
		    i - start > 1))
			return false;
		if (i == n)
			return dots == 3;
		if (p[i] != '.' || ++dots > 3)
			return false;
		i++;
	}
}

/*
 * IPv6address of RFC 3986 §3.2.2: eight h16 groups, or fewer with one
 * "::", the last two of which may be written as an IPv4 address.
 */
static bool
is_ipv6(const char *p, size_t n)
{
	size_t	i = 0, h;
	int	groups = 0;
	bool	elided = false;

	if (n >= 2 && p[0] == ':' && p[1] == ':') {
		elided = true;
		i = 2;
	}
	while (i < n) {
		for (h = 0; i + h < n && is_hex((unsigned char)p[i + h]); h++)
			continue;
		if (i + h < n && p[i + h] == '.') {
			if (!is_ipv4(p + i, n - i))
				return false;
			groups += 2;
			break;
		}
		if (h == 0 || h > 4)
			return false;
		groups++;
		i += h;
		if (i == n)
			break;
		if (p[i++] != ':' || i == n)
			return false;
		if (p[i] == ':') {
			if (elided)
				return false;
			elided = true;
			i++;
		}
	}
	return elided ? groups <= 7 : groups == 8;
}

/* "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ) */
static bool
is_ipvfuture(struct span s)
{
	size_t	i = 1;

	if (s.n == 0 || (s.p[0] != 'v' && s.p[0] != 'V'))
		return false;
	while (i < s.n && is_hex((unsigned char)s.p[i]))
		i++;
	if (i == 1 || i >= s.n || s.p[i] != '.' || i + 1 == s.n)
		return false;
	return all_of(span_make(s.p + i + 1, s.n - i - 1), is_future_char);
}

static size_t
find_any(struct span s, size_t from, const char *set, size_t nset)
{
	size_t	i;

	for (i = from; i < s.n; i++)
		if (memchr(set, s.p[i], nset) != NULL)
			return i;
	return s.n;
}

static int
split_host_port(struct span hp, struct url *u)
{
	long	rb;
	size_t	after;

	if (hp.n > 0 && hp.p[0] == '[') {
		if ((rb = span_index(hp, ']')) == -1)
			return -1;
		u->host = span_make(hp.p + 1, (size_t)rb - 1);
		u->is_ip_literal = true;
		if (!is_ipv6(u->host.p, u->host.n) && !is_ipvfuture(u->host))
			return -1;
		after = (size_t)rb + 1;
		if (after < hp.n && hp.p[after] != ':')
			return -1;
	} else {
		after = find_any(hp, 0, ":", 1);
		u->host = span_make(hp.p, after);
		if (!all_of(u->host, is_namechar))
			return -1;
	}
	if (after < hp.n) {
		u->has_port = true;
		u->port = span_make(hp.p + after + 1, hp.n - after - 1);
		if (!all_of(u->port, is_digit))
			return -1;
	}
	return 0;
}

static int
split_authority(struct span a, struct url *u)
{
	long	at;

	u->authority = a;
	if ((at = span_index(a, '@')) != -1) {
		u->has_userinfo = true;
		u->userinfo = span_make(a.p, (size_t)at);
		if (!all_of(u->userinfo, is_userinfo_char))
			return -1;
		a = span_make(a.p + at + 1, a.n - (size_t)at - 1);
	}
	return split_host_port(a, u);
}

/*
 * A ':' before any '/', '?' or '#' ends a scheme; if what precedes it is no
 * scheme, the reference is a relative path whose first segment holds a
 * ':', which RFC 3986 §4.2 rules out.  Returns where the rest begins.
 */
static int
split_scheme(struct span in, struct url *u, size_t *rest)
{
	size_t	k = find_any(in, 0, ":/?#", 4);

	*rest = 0;
	if (k == in.n || in.p[k] != ':')
		return 0;
	u->scheme = span_make(in.p, k);
	if (k == 0 || !is_alpha((unsigned char)in.p[0]) ||
	    !all_of(u->scheme, is_scheme_char))
		return -1;
	u->has_scheme = true;
	*rest = k + 1;
	return 0;
}

static void
clear_parts(struct url *u)
{
	struct span	none = { "", 0 };

	u->scheme = u->authority = u->userinfo = u->host = none;
	u->port = u->path = u->query = u->fragment = none;
	u->has_scheme = u->has_authority = u->has_userinfo = false;
	u->has_port = u->has_query = u->has_fragment = false;
	u->is_ip_literal = false;
}

int
url_split(struct span in, struct url *u)
{
	size_t	i, end;

	clear_parts(u);
	if (in.n == 0)
		return 0;
	if (split_scheme(in, u, &i) == -1)
		return -1;
	if (in.n - i >= 2 && in.p[i] == '/' && in.p[i + 1] == '/') {
		end = find_any(in, i + 2, "/?#", 3);
		u->has_authority = true;
		if (split_authority(span_make(in.p + i + 2, end - i - 2),
		    u) == -1)
			return -1;
		i = end;
	}
	end = find_any(in, i, "?#", 2);
	u->path = span_make(in.p + i, end - i);
	if (!all_of(u->path, is_path_char))
		return -1;
	i = end;
	if (i < in.n && in.p[i] == '?') {
		end = find_any(in, i + 1, "#", 1);
		u->has_query = true;
		u->query = span_make(in.p + i + 1, end - i - 1);
		if (!all_of(u->query, is_query_char))
			return -1;
		i = end;
	}
	if (i < in.n) {
		u->has_fragment = true;
		u->fragment = span_make(in.p + i + 1, in.n - i - 1);
		if (!all_of(u->fragment, is_query_char))
			return -1;
	}
	return 0;
}

int
url_parse_port(struct span s, unsigned short *port)
{
	unsigned long	v = 0;
	size_t		i;

	if (s.n == 0)
		return -1;
	for (i = 0; i < s.n; i++) {
		if (!is_digit((unsigned char)s.p[i]))
			return -1;
		v = v * 10 + (unsigned long)(s.p[i] - '0');
		if (v > 65535)
			return -1;
	}
	*port = (unsigned short)v;
	return 0;
}

int
url_decode_inplace(char *p, size_t *n, bool *has_nul)
{
	size_t	r = 0, w = 0;
	int	hi, lo;

	if (has_nul != NULL)
		*has_nul = false;
	while (r < *n) {
		if (p[r] == '%') {
			if (*n - r < 3 ||
			    (hi = url_hex_value(p[r + 1])) == -1 ||
			    (lo = url_hex_value(p[r + 2])) == -1)
				return -1;
			p[w] = (char)(hi << 4 | lo);
			r += 3;
		} else
			p[w] = p[r++];
		if (p[w++] == '\0') {
			if (has_nul == NULL)
				return -1;
			*has_nul = true;
		}
	}
	*n = w;
	return 0;
}

/*
 * Copy first, then work in place on the copy: decoding and dot removal
 * only ever shrink, so one code path serves bufs and fixed arrays alike.
 */
int
url_decode(struct span in, struct buf *out, bool *has_nul)
{
	size_t	start = out->len, n = in.n;

	if (has_nul != NULL)
		*has_nul = false;
	if (in.n == 0)
		return 0;
	if (buf_append(out, in.p, in.n) == -1)
		return -1;
	if (url_decode_inplace(out->p + start, &n, has_nul) == -1) {
		out->len = start;
		return -1;
	}
	out->len = start + n;
	return 0;
}

static bool
is_path_safe(unsigned char c)
{
	return is_unreserved(c) || is_subdelim(c) || c == '/' || c == '@';
}

static int
put_pct(struct buf *out, unsigned char c)
{
	static const char	hex[] = "0123456789ABCDEF";
	char			e[3];

	e[0] = '%';
	e[1] = hex[c >> 4];
	e[2] = hex[c & 0x0f];
	return buf_append(out, e, sizeof(e));
}

/* Append in, runs of kept bytes whole, the rest as %XX. */
static int
encode_where(struct span in, struct buf *out,
    bool (*keep)(struct span, size_t))
{
	size_t	start = out->len, i = 0, run;

	while (i < in.n) {
		for (run = i; run < in.n && keep(in, run); run++)
			continue;
		if (buf_append(out, in.p + i, run - i) == -1)
			goto fail;
		if (run == in.n)
			break;
		if (put_pct(out, (unsigned char)in.p[run]) == -1)
			goto fail;
		i = run + 1;
	}
	return 0;
fail:
	out->len = start;
	return -1;
}

static bool
keep_in_path(struct span s, size_t i)
{
	return is_path_safe((unsigned char)s.p[i]);
}

static bool
keep_in_ref(struct span s, size_t i)
{
	if (is_forbidden((unsigned char)s.p[i]))
		return false;
	if (s.p[i] != '%')
		return true;
	return s.n - i >= 3 && is_hex((unsigned char)s.p[i + 1]) &&
	    is_hex((unsigned char)s.p[i + 2]);
}

int
url_encode_path(struct span in, struct buf *out)
{
	return encode_where(in, out, keep_in_path);
}

int
url_escape_ref(struct span in, struct buf *out)
{
	return encode_where(in, out, keep_in_ref);
}

static bool
keep_in_uri(struct span s, size_t i)
{
	return (unsigned char)s.p[i] < 0x80 && keep_in_ref(s, i);
}

int
url_escape_uri(struct span in, struct buf *out)
{
	return encode_where(in, out, keep_in_uri);
}

/* The first '#' is split off by the caller; any other one is data. */
static bool
keep_in_relative(struct span s, size_t i)
{
	return s.p[i] != '[' && s.p[i] != ']' && s.p[i] != '#' &&
	    keep_in_ref(s, i);
}

int
url_escape_relative(struct span in, struct buf *out)
{
	size_t		 start = out->len, k;
	const char	*guard = NULL;
	long		 hash;

	if (span_starts_with(in, "//"))
		guard = "/.";
	else if ((k = find_any(in, 0, ":/?#", 4)) < in.n && in.p[k] == ':')
		guard = "./";
	if (guard != NULL && buf_append(out, guard, 2) == -1)
		return -1;
	if ((hash = span_index(in, '#')) == -1)
		hash = (long)in.n;
	if (encode_where(span_make(in.p, (size_t)hash), out,
	    keep_in_relative) == -1)
		goto fail;
	if ((size_t)hash < in.n && (buf_putc(out, '#') == -1 ||
	    encode_where(span_make(in.p + hash + 1, in.n - (size_t)hash - 1),
	    out, keep_in_relative) == -1))
		goto fail;
	return 0;
fail:
	out->len = start;
	return -1;
}

struct span
url_scheme(struct span in)
{
	size_t	i;

	if (in.n == 0 || !is_alpha((unsigned char)in.p[0]))
		return span_make(in.p, 0);
	for (i = 1; i < in.n && is_scheme_char((unsigned char)in.p[i]); i++)
		continue;
	if (i < in.n && in.p[i] == ':')
		return span_make(in.p, i);
	return span_make(in.p, 0);
}

/* Drop the last segment of p[0..w) and the '/' before it, if any. */
static size_t
pop_segment(const char *p, size_t w, bool *climbed)
{
	if (w == 0) {
		*climbed = true;
		return 0;
	}
	while (w > 0 && p[w - 1] != '/')
		w--;
	return w > 0 ? w - 1 : 0;
}

static bool
has_prefix(const char *p, size_t n, const char *pre, size_t npre)
{
	return n >= npre && memcmp(p, pre, npre) == 0;
}

static bool
is_exactly(const char *p, size_t n, const char *s, size_t ns)
{
	return n == ns && memcmp(p, s, ns) == 0;
}

/*
 * RFC 3986 §5.2.4 with the input and output buffers overlaid: the output
 * p[0..w) only ever holds bytes already consumed from p[r..n), so w <= r
 * throughout and nothing unread is overwritten.  Rules A-E are the RFC's.
 */
size_t
url_remove_dots_inplace(char *p, size_t n, bool *climbed)
{
	size_t	r = 0, w = 0, e;
	bool	dummy;

	if (climbed == NULL)
		climbed = &dummy;
	*climbed = false;
	while (r < n) {
		const char	*q = p + r;
		size_t		 rem = n - r;

		if (has_prefix(q, rem, "../", 3)) {		/* A */
			*climbed = true;
			r += 3;
		} else if (has_prefix(q, rem, "./", 2)) {	/* A */
			r += 2;
		} else if (has_prefix(q, rem, "/./", 3)) {	/* B */
			r += 2;
		} else if (is_exactly(q, rem, "/.", 2)) {	/* B */
			p[w++] = '/';
			r = n;
		} else if (has_prefix(q, rem, "/../", 4)) {	/* C */
			w = pop_segment(p, w, climbed);
			r += 3;
		} else if (is_exactly(q, rem, "/..", 3)) {	/* C */
			w = pop_segment(p, w, climbed);
			p[w++] = '/';
			r = n;
		} else if (is_exactly(q, rem, ".", 1)) {	/* D */
			r = n;
		} else if (is_exactly(q, rem, "..", 2)) {	/* D */
			*climbed = true;
			r = n;
		} else {					/* E */
			for (e = r + 1; e < n && p[e] != '/'; e++)
				continue;
			memmove(p + w, q, e - r);
			w += e - r;
			r = e;
		}
	}
	return w;
}

int
url_remove_dots(struct span path, struct buf *out, bool *climbed)
{
	size_t	start = out->len;

	if (climbed != NULL)
		*climbed = false;
	if (path.n == 0)
		return 0;
	if (buf_append(out, path.p, path.n) == -1)
		return -1;
	out->len = start + url_remove_dots_inplace(out->p + start, path.n,
	    climbed);
	return 0;
}

/* The target of RFC 3986 §5.2.2, before its path is made. */
struct target {
	const struct url	*scheme;	/* whose scheme, or NULL */
	const struct url	*auth;		/* whose authority, or NULL */
	const struct url	*query;		/* whose query, or NULL */
	const struct url	*base;
	bool			 merge;		/* ref is a path alone */
	bool			 keep_base_path;
};

/* Append the merged (§5.2.3), dot-free path of ref onto base. */
static int
put_path(struct buf *out, const struct target *t, const struct url *ref,
    bool *climbed)
{
	const struct url	*b = t->base;
	size_t			 start = out->len, n;
	long			 slash;
	bool			 up;

	if (t->keep_base_path)
		return buf_append_span(out, b->path);
	if (t->merge && ref->path.n > 0 && ref->path.p[0] != '/') {
		if (b->has_authority && b->path.n == 0) {
			if (buf_putc(out, '/') == -1)
				return -1;
		} else {
			for (slash = (long)b->path.n - 1; slash >= 0; slash--)
				if (b->path.p[slash] == '/')
					break;
			if (buf_append(out, b->path.p, (size_t)(slash + 1)) ==
			    -1)
				return -1;
		}
	}
	if (buf_append_span(out, ref->path) == -1)
		return -1;
	n = out->len - start;
	if (n == 0)
		return 0;
	out->len = start + url_remove_dots_inplace(out->p + start, n, &up);
	*climbed = *climbed || up;
	return 0;
}

/*
 * §5.3 would recompose a path that looks like an authority ("//x") or a
 * scheme ("a:b") into a different reference; a "/." or "./" in front keeps
 * the meaning, as RFC 3986 §4.2 and the WHATWG URL standard do.
 */
static int
guard_path(struct buf *out, size_t at, bool has_scheme, bool has_auth)
{
	struct span	p;
	const char	*pre = NULL;
	size_t		 colon;

	if (has_auth || out->len == at)
		return 0;
	p = span_make(out->p + at, out->len - at);
	if (p.n >= 2 && p.p[0] == '/' && p.p[1] == '/')
		pre = "/.";
	else if (!has_scheme && p.n > 0 && p.p[0] != '/') {
		colon = find_any(p, 0, ":/", 2);
		if (colon < p.n && p.p[colon] == ':')
			pre = "./";
	}
	if (pre == NULL)
		return 0;
	if (buf_append(out, pre, 2) == -1)
		return -1;
	memmove(out->p + at + 2, out->p + at, p.n);
	memcpy(out->p + at, pre, 2);
	return 0;
}

static int
put_target(struct buf *out, const struct target *t, const struct url *ref,
    bool *climbed)
{
	size_t	at;

	if (t->scheme != NULL && (buf_append_span(out, t->scheme->scheme) ==
	    -1 || buf_putc(out, ':') == -1))
		return -1;
	if (t->auth != NULL && (buf_append(out, "//", 2) == -1 ||
	    buf_append_span(out, t->auth->authority) == -1))
		return -1;
	at = out->len;
	if (put_path(out, t, ref, climbed) == -1 ||
	    guard_path(out, at, t->scheme != NULL, t->auth != NULL) == -1)
		return -1;
	if (t->query != NULL && (buf_putc(out, '?') == -1 ||
	    buf_append_span(out, t->query->query) == -1))
		return -1;
	if (ref->has_fragment && (buf_putc(out, '#') == -1 ||
	    buf_append_span(out, ref->fragment) == -1))
		return -1;
	return 0;
}

static void
choose_target(const struct url *b, const struct url *r, struct target *t)
{
	memset(t, 0, sizeof(*t));
	t->base = b;
	t->scheme = b->has_scheme ? b : NULL;
	t->auth = b->has_authority ? b : NULL;
	t->query = r->has_query ? r : NULL;
	if (r->has_scheme) {
		t->scheme = r;
		t->auth = r->has_authority ? r : NULL;
	} else if (r->has_authority)
		t->auth = r;
	else if (r->path.n > 0)
		t->merge = true;
	else {
		t->keep_base_path = true;
		if (!r->has_query)
			t->query = b->has_query ? b : NULL;
	}
}

int
url_resolve(struct span base, struct span ref, struct buf *out,
    bool *climbed)
{
	struct url	b, r;
	struct target	t;
	size_t		start = out->len;
	bool		up = false;

	if (climbed != NULL)
		*climbed = false;
	if (url_split(base, &b) == -1 || url_split(ref, &r) == -1)
		return -1;
	choose_target(&b, &r, &t);
	if (put_target(out, &t, &r, &up) == -1) {
		out->len = start;
		return -1;
	}
	if (climbed != NULL)
		*climbed = up;
	return 0;
}
