/*
 * fuzz_gemini: arbitrary bytes as a request line, and as the meta of a
 * response header.  A request that passes must hold a path that starts
 * with '/', has no NUL and no dot segment, a lower-case host of ours, and
 * must parse to the same request when written out again; a refusal must
 * be 53 or 59 with a reason.  Any broken invariant aborts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "gemini.h"
#include "url.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const	hosts[] = { "example.org", "Localhost",
				    "[::1]", "192.0.2.7" };
static const struct gemini_policy pol = { hosts, 4, 1965 };

static void
require(bool ok)
{
	if (!ok)
		abort();
}

static bool
has_no_dot_segments(const char *p, size_t n)
{
	size_t	i = 0, e;

	while (i <= n) {
		for (e = i; e < n && p[e] != '/'; e++)
			continue;
		if ((e - i == 1 && p[i] == '.') ||
		    (e - i == 2 && p[i] == '.' && p[i + 1] == '.'))
			return false;
		i = e + 1;
	}
	return true;
}

static bool
is_ours(const char *host)
{
	size_t	i, n = strlen(host);

	for (i = 0; i < n; i++)
		require(host[i] < 'A' || host[i] > 'Z');
	return strcmp(host, "example.org") == 0 ||
	    strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0 ||
	    strcmp(host, "192.0.2.7") == 0;
}

/*
 * An oracle for climbing, independent of url_remove_dots: walk the decoded
 * segments after the leading '/' and count depth ("" is a segment too).
 */
static bool
does_climb(struct span path)
{
	size_t	i = 1, e;
	long	depth = 0;

	while (i <= path.n) {
		for (e = i; e < path.n && path.p[e] != '/'; e++)
			continue;
		if (e - i == 2 && path.p[i] == '.' && path.p[i + 1] == '.') {
			if (--depth < 0)
				return true;
		} else if (!(e - i == 1 && path.p[i] == '.') && e < path.n)
			depth++;
		i = e + 1;
	}
	return false;
}

/* The verdict on climbing agrees with the oracle. */
static void
check_climbing(struct span line, int rc, const char *why)
{
	struct url	u;
	struct buf	d;
	bool		nul;

	if (line.n < 2 || url_split(span_make(line.p, line.n - 2), &u) == -1)
		return;
	buf_init(&d, 2 * GEMINI_URL_MAX);
	if (url_decode(u.path, &d, &nul) == 0 && !nul && u.path.n > 0 &&
	    u.path.p[0] == '/') {
		if (rc == 0)
			require(!does_climb(buf_span(&d)));
		if (rc != 0 && strcmp(why, "path goes above the root") == 0)
			require(does_climb(buf_span(&d)));
	}
	buf_free(&d);
}

/* Write the request out again, path encoded; it must come back the same. */
static void
check_reparse(const struct gemini_request *req)
{
	static struct gemini_request	again;
	struct buf			b;
	const char			*why;
	bool				literal;

	literal = memchr(req->host, ':', strlen(req->host)) != NULL;
	buf_init(&b, 4 * GEMINI_URL_MAX);
	require(buf_puts(&b, "gemini://") == 0);
	require(buf_puts(&b, literal ? "[" : "") == 0);
	require(buf_puts(&b, req->host) == 0);
	require(buf_puts(&b, literal ? "]" : "") == 0);
	require(url_encode_path(span_make(req->path, req->path_len),
	    &b) == 0);
	if (req->has_query) {
		require(buf_putc(&b, '?') == 0);
		require(buf_append(&b, req->query, req->query_len) == 0);
	}
	require(buf_puts(&b, "\r\n") == 0);
	if (b.len - 2 <= GEMINI_URL_MAX) {
		require(gemini_parse_request(buf_span(&b), &pol, &again,
		    &why) == 0);
		require(strcmp(again.host, req->host) == 0);
		require(again.path_len == req->path_len &&
		    memcmp(again.path, req->path, req->path_len) == 0);
		require(again.has_query == req->has_query &&
		    again.query_len == req->query_len &&
		    memcmp(again.query, req->query, req->query_len) == 0);
	}
	buf_free(&b);
}

static void
check_request(struct span line)
{
	static struct gemini_request	req;
	const char			*why = "unset";
	int				 rc;

	rc = gemini_parse_request(line, &pol, &req, &why);
	check_climbing(line, rc, why);
	if (rc != 0) {
		require(rc == GEMINI_BAD_REQUEST ||
		    rc == GEMINI_PROXY_REFUSED);
		require(why != NULL && why[0] != '\0');
		return;
	}
	require(why == NULL);
	require(line.n >= 2 && line.n - 2 <= GEMINI_URL_MAX);
	require(memchr(line.p, '\0', line.n) == NULL);
	require(line.p[line.n - 2] == '\r' && line.p[line.n - 1] == '\n');
	require(req.path_len >= 1 && req.path_len <= GEMINI_URL_MAX);
	require(req.path[0] == '/' && req.path[req.path_len] == '\0');
	require(memchr(req.path, '\0', req.path_len) == NULL);
	require(has_no_dot_segments(req.path, req.path_len));
	require(req.port == 1965);
	require(is_ours(req.host));
	require(req.query_len <= GEMINI_URL_MAX &&
	    req.query[req.query_len] == '\0' &&
	    memchr(req.query, '\0', req.query_len) == NULL);
	require(req.has_query || req.query_len == 0);
	check_reparse(&req);
}

static void
check_header(struct span meta)
{
	struct buf	b;
	size_t		n, i;

	buf_init(&b, 3 + GEMINI_META_MAX + 2);
	require(gemini_header(&b, 20, meta) == 0);
	require(b.len >= 5 && memcmp(b.p, "20 ", 3) == 0);
	require(memcmp(b.p + b.len - 2, "\r\n", 2) == 0);
	n = b.len - 5;
	require(n <= GEMINI_META_MAX && n <= meta.n);
	require(n == meta.n || n + 3 >= GEMINI_META_MAX);
	for (i = 0; i < n; i++)
		require(b.p[3 + i] == meta.p[i] || (b.p[3 + i] == ' ' &&
		    (meta.p[i] == '\r' || meta.p[i] == '\n')));
	for (i = 0; i < n; i++)
		require(b.p[3 + i] != '\r' && b.p[3 + i] != '\n');
	if (n < meta.n && n + 3 > GEMINI_META_MAX)
		require(((unsigned char)meta.p[n] & 0xc0) != 0x80);
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct span	in = span_make((const char *)data, size);

	check_request(in);
	check_header(in);
	return 0;
}
