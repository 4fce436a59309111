/*
 * fuzz_url: every url function on arbitrary bytes.  The input as a whole
 * is split, decoded, encoded, escaped and stripped of dot segments; for
 * url_resolve it is cut at the first '\n' into base and reference (with
 * no '\n', the reference is resolved against a fixed gemini:// base).
 * Any broken invariant aborts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "url.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define OUT_MAX		(1 << 16)

static void
require(bool ok)
{
	if (!ok)
		abort();
}

static bool
span_is(struct span a, struct span b)
{
	return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

static bool
is_inside(struct span part, struct span whole)
{
	return part.n == 0 || (part.p >= whole.p &&
	    part.p + part.n <= whole.p + whole.n);
}

static bool
is_hexdig(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/* No segment of p is "." or "..", so no climbing is left to do. */
static bool
has_no_dot_segments(struct span p)
{
	size_t	i = 0, e;

	while (i <= p.n) {
		for (e = i; e < p.n && p.p[e] != '/'; e++)
			continue;
		if ((e - i == 1 && p.p[i] == '.') ||
		    (e - i == 2 && p.p[i] == '.' && p.p[i + 1] == '.'))
			return false;
		i = e + 1;
	}
	return true;
}

static void
put(struct buf *b, const char *s, size_t n)
{
	require(buf_append(b, s, n) == 0);
}

/* The components, with their delimiters, give back the input. */
static void
check_recompose(struct span in, const struct url *u)
{
	struct buf	b;

	buf_init(&b, OUT_MAX);
	if (u->has_scheme) {
		put(&b, u->scheme.p, u->scheme.n);
		put(&b, ":", 1);
	}
	if (u->has_authority) {
		put(&b, "//", 2);
		put(&b, u->authority.p, u->authority.n);
	}
	put(&b, u->path.p, u->path.n);
	if (u->has_query) {
		put(&b, "?", 1);
		put(&b, u->query.p, u->query.n);
	}
	if (u->has_fragment) {
		put(&b, "#", 1);
		put(&b, u->fragment.p, u->fragment.n);
	}
	require(span_is(buf_span(&b), in));
	buf_reset(&b);
	if (u->has_userinfo) {
		put(&b, u->userinfo.p, u->userinfo.n);
		put(&b, "@", 1);
	}
	if (u->is_ip_literal)
		put(&b, "[", 1);
	put(&b, u->host.p, u->host.n);
	if (u->is_ip_literal)
		put(&b, "]", 1);
	if (u->has_port) {
		put(&b, ":", 1);
		put(&b, u->port.p, u->port.n);
	}
	if (u->has_authority)
		require(span_is(buf_span(&b), u->authority));
	else
		require(b.len == 0);
	buf_free(&b);
}

static void
check_split(struct span in)
{
	struct url	u;
	size_t		i;
	long		colon, slash;

	if (url_split(in, &u) == -1)
		return;
	require(is_inside(u.scheme, in) && is_inside(u.authority, in) &&
	    is_inside(u.userinfo, in) && is_inside(u.host, in) &&
	    is_inside(u.port, in) && is_inside(u.path, in) &&
	    is_inside(u.query, in) && is_inside(u.fragment, in));
	for (i = 0; i < in.n; i++)
		require((unsigned char)in.p[i] > 0x20 && in.p[i] != 0x7f);
	for (i = 0; i < u.port.n; i++)
		require(u.port.p[i] >= '0' && u.port.p[i] <= '9');
	if (u.has_authority)
		require(u.path.n == 0 || u.path.p[0] == '/');
	else
		require(!span_starts_with(u.path, "//"));
	if (!u.has_scheme) {
		colon = span_index(u.path, ':');
		slash = span_index(u.path, '/');
		require(colon == -1 || (slash != -1 && slash < colon));
	}
	require(span_index(u.fragment, '#') == -1);
	check_recompose(in, &u);
}

static void
check_decode(struct span in)
{
	struct buf	d, e, d2;
	bool		nul, nul2;
	char		*copy;
	size_t		n;
	int		rc;

	buf_init(&d, OUT_MAX);
	rc = url_decode(in, &d, &nul);
	require(rc == 0 || d.len == 0);
	if ((copy = malloc(in.n + 1)) != NULL) {
		memcpy(copy, in.p, in.n);
		n = in.n;
		require(url_decode_inplace(copy, &n, &nul2) == rc);
		require(rc == -1 || (nul2 == nul && n == d.len &&
		    (n == 0 || memcmp(copy, d.p, n) == 0)));
		free(copy);
	}
	if (rc == -1) {
		buf_free(&d);
		return;
	}
	require(d.len <= in.n);
	buf_init(&e, OUT_MAX);
	buf_init(&d2, OUT_MAX);
	require(url_decode(in, &d2, NULL) == (nul ? -1 : 0));
	buf_reset(&d2);
	require(url_encode_path(buf_span(&d), &e) == 0);
	for (n = 0; n < e.len; n++)
		if (e.p[n] == '%')
			require(n + 2 < e.len && is_hexdig(e.p[n + 1]) &&
			    is_hexdig(e.p[n + 2]));
		else
			require((unsigned char)e.p[n] > 0x20 &&
			    (unsigned char)e.p[n] < 0x7f && e.p[n] != '?' &&
			    e.p[n] != '#' && e.p[n] != ':');
	require(url_decode(buf_span(&e), &d2, &nul2) == 0);
	require(nul2 == nul && span_is(buf_span(&d), buf_span(&d2)));
	buf_free(&d);
	buf_free(&e);
	buf_free(&d2);
}

/*
 * An oracle for absolute paths, independent of url_remove_dots: a stack of
 * segments ("" is one too), ".." pops, "." is skipped, and a final "." or
 * ".." leaves a trailing '/'.
 */
static void
oracle_dots(struct span in, struct buf *out, bool *climbed)
{
	size_t	*stack, depth = 0, i = 1, e, k;
	bool	 dir = false;

	*climbed = false;
	require((stack = malloc((in.n + 1) * 2 * sizeof(*stack))) != NULL);
	while (i <= in.n) {
		for (e = i; e < in.n && in.p[e] != '/'; e++)
			continue;
		dir = (e - i == 1 && in.p[i] == '.') ||
		    (e - i == 2 && in.p[i] == '.' && in.p[i + 1] == '.');
		if (e - i == 2 && dir) {
			if (depth == 0)
				*climbed = true;
			else
				depth--;
		} else if (!dir) {
			stack[2 * depth] = i;
			stack[2 * depth + 1] = e - i;
			depth++;
		}
		i = e + 1;
	}
	for (k = 0; k < depth; k++) {
		put(out, "/", 1);
		put(out, in.p + stack[2 * k], stack[2 * k + 1]);
	}
	if (depth == 0 || dir)
		put(out, "/", 1);
	free(stack);
}

static void
check_dots(struct span in)
{
	struct buf	 a, b;
	bool		 up, up2;
	char		*copy;
	size_t		 n;

	buf_init(&a, OUT_MAX);
	buf_init(&b, OUT_MAX);
	require(url_remove_dots(in, &a, &up) == 0);
	require(a.len <= in.n);
	require(has_no_dot_segments(buf_span(&a)));
	if (in.n > 0 && in.p[0] == '/') {
		oracle_dots(in, &b, &up2);
		require(up2 == up && span_is(buf_span(&a), buf_span(&b)));
		buf_reset(&b);
	}
	require(url_remove_dots(buf_span(&a), &b, &up2) == 0);
	require(!up2 && span_is(buf_span(&a), buf_span(&b)));
	if ((copy = malloc(in.n + 1)) != NULL) {
		memcpy(copy, in.p, in.n);
		n = url_remove_dots_inplace(copy, in.n, &up2);
		require(up2 == up && span_is(span_make(copy, n),
		    buf_span(&a)));
		free(copy);
	}
	buf_free(&a);
	buf_free(&b);
}

static void
check_escape(struct span in)
{
	struct buf	b;
	size_t		i;
	bool		clean = true;

	buf_init(&b, OUT_MAX);
	require(url_escape_ref(in, &b) == 0);
	for (i = 0; i < b.len; i++) {
		unsigned char	c = (unsigned char)b.p[i];

		require(c > 0x20 && c != 0x7f && c != '"' && c != '<' &&
		    c != '>' && c != '\\' && c != '^' && c != '`' &&
		    c != '{' && c != '|' && c != '}');
		if (c == '%')
			require(i + 2 < b.len && is_hexdig(b.p[i + 1]) &&
			    is_hexdig(b.p[i + 2]));
	}
	for (i = 0; i < in.n && clean; i++)
		clean = b.len > i && b.p[i] == in.p[i];
	if (b.len == in.n)
		require(clean);
	buf_free(&b);
}

/* The path of a resolved URL, without the guard resolve may put first. */
static struct span
unguarded_path(const struct url *u)
{
	struct span	p = u->path;

	if (span_starts_with(p, "/.//"))
		return span_make(p.p + 2, p.n - 2);
	if (span_starts_with(p, "./"))
		return span_make(p.p + 2, p.n - 2);
	return p;
}

static void
check_resolve(struct span base, struct span ref)
{
	struct buf	out, again;
	struct url	b, r, t;
	bool		up;

	buf_init(&out, OUT_MAX);
	if (url_resolve(base, ref, &out, &up) == -1) {
		require(out.len == 0);
		require(url_split(base, &b) == -1 ||
		    url_split(ref, &r) == -1);
		buf_free(&out);
		return;
	}
	require(url_split(base, &b) == 0 && url_split(ref, &r) == 0);
	require(url_split(buf_span(&out), &t) == 0);
	require(t.has_scheme == (b.has_scheme || r.has_scheme));
	require(t.has_fragment == r.has_fragment);
	if (!r.has_scheme && (t.has_authority ||
	    span_starts_with(b.path, "/")))
		require(t.path.n == 0 || t.path.p[0] == '/');
	if (!r.has_scheme && !r.has_authority && r.path.n == 0) {
		buf_free(&out);
		return;
	}
	/* Not taken from the base as it was: every dot segment is gone. */
	require(has_no_dot_segments(unguarded_path(&t)));
	if (t.has_scheme) {
		buf_init(&again, OUT_MAX);
		require(url_resolve(base, buf_span(&out), &again, &up) == 0);
		require(!up && span_is(buf_span(&out), buf_span(&again)));
		buf_free(&again);
	}
	buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct span	in = span_make((const char *)data, size);
	long		nl;

	check_split(in);
	check_decode(in);
	check_dots(in);
	check_escape(in);
	if ((nl = span_index(in, '\n')) == -1)
		check_resolve(span_cstr("gemini://example.org/blog/post.gmi"),
		    in);
	else
		check_resolve(span_make(in.p, (size_t)nl),
		    span_make(in.p + nl + 1, size - (size_t)nl - 1));
	return 0;
}
