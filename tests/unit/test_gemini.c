#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "gemini.h"

static const char *const	hosts[] = { "example.org", "Capsule.Example",
				    "[::1]", "192.0.2.7" };
static const struct gemini_policy pol = { hosts, 4, 1965 };

static struct gemini_request	req;
static const char		*why;

/* Parse a request given as a C string (for tests without NUL bytes). */
static int
parse(const char *line)
{
	return gemini_parse_request(span_cstr(line), &pol, &req, &why);
}

static int
parse_n(const char *line, size_t n)
{
	return gemini_parse_request(span_make(line, n), &pol, &req, &why);
}

/* A status and a reason, as every refusal must give. */
#define CHECK_REFUSED(status, reason, line) do {			\
	CHECK_INT((status), parse(line));				\
	CHECK_STR((reason), why);					\
} while (0)

static void
test_root(void)
{
	CHECK_INT(0, parse("gemini://example.org/\r\n"));
	CHECK(why == NULL);
	CHECK_STR("example.org", req.host);
	CHECK_INT(1965, req.port);
	CHECK_STR("/", req.path);
	CHECK_INT(1, req.path_len);
	CHECK(!req.has_query);
	CHECK_INT(0, req.query_len);
}

static void
test_no_path_means_root(void)
{
	CHECK_INT(0, parse("gemini://example.org\r\n"));
	CHECK_STR("/", req.path);
	CHECK_INT(0, parse("gemini://example.org:1965\r\n"));
	CHECK_STR("/", req.path);
	CHECK_INT(0, parse("gemini://example.org?q\r\n"));
	CHECK_STR("/", req.path);
	CHECK_STR("q", req.query);
}

static void
test_path_and_trailing_slash_kept(void)
{
	CHECK_INT(0, parse("gemini://example.org/blog/\r\n"));
	CHECK_STR("/blog/", req.path);
	CHECK_INT(0, parse("gemini://example.org/blog/post.gmi\r\n"));
	CHECK_STR("/blog/post.gmi", req.path);
	CHECK_INT(14, req.path_len);
}

static void
test_scheme_and_host_ignore_case(void)
{
	CHECK_INT(0, parse("GeMiNi://EXAMPLE.org/Blog/\r\n"));
	CHECK_STR("example.org", req.host);
	CHECK_STR("/Blog/", req.path);
	CHECK_INT(0, parse("gemini://capsule.example/\r\n"));
	CHECK_STR("capsule.example", req.host);
}

static void
test_ip_hosts(void)
{
	CHECK_INT(0, parse("gemini://[::1]/\r\n"));
	CHECK_STR("::1", req.host);
	CHECK_INT(0, parse("gemini://[::1]:1965/x\r\n"));
	CHECK_STR("/x", req.path);
	CHECK_INT(0, parse("gemini://192.0.2.7/\r\n"));
	CHECK_STR("192.0.2.7", req.host);
	CHECK_REFUSED(53, "host is not served here",
	    "gemini://[::2]/\r\n");
}

static void
test_port_ours(void)
{
	CHECK_INT(0, parse("gemini://example.org:1965/\r\n"));
	CHECK_INT(1965, req.port);
	CHECK_INT(0, parse("gemini://example.org:01965/\r\n"));
	CHECK_INT(1965, req.port);
	CHECK_INT(0, parse("gemini://example.org:/\r\n"));
	CHECK_INT(1965, req.port);
}

static void
test_port_on_other_policy_port(void)
{
	struct gemini_policy	p = { hosts, 4, 7000 };

	CHECK_INT(0, gemini_parse_request(
	    span_cstr("gemini://example.org:7000/\r\n"), &p, &req, &why));
	CHECK_INT(7000, req.port);
	CHECK_INT(53, gemini_parse_request(
	    span_cstr("gemini://example.org:1965/\r\n"), &p, &req, &why));
}

static void
test_query_kept_encoded(void)
{
	CHECK_INT(0, parse("gemini://example.org/search?caf%C3%A9%20x\r\n"));
	CHECK_STR("/search", req.path);
	CHECK(req.has_query);
	CHECK_STR("caf%C3%A9%20x", req.query);
	CHECK_INT(13, req.query_len);
	CHECK_INT(0, parse("gemini://example.org/search?\r\n"));
	CHECK(req.has_query);
	CHECK_INT(0, req.query_len);
	CHECK_INT(0, parse("gemini://example.org/search?a/b?c\r\n"));
	CHECK_STR("a/b?c", req.query);
}

static void
test_path_decoded(void)
{
	CHECK_INT(0, parse("gemini://example.org/my%20post.gmi\r\n"));
	CHECK_STR("/my post.gmi", req.path);
	CHECK_INT(0, parse("gemini://example.org/caf%C3%A9\r\n"));
	CHECK_STR("/caf\xc3\xa9", req.path);
	CHECK_INT(0, parse("gemini://example.org/a+b\r\n"));
	CHECK_STR("/a+b", req.path);
}

static void
test_encoded_slash_is_a_slash(void)
{
	CHECK_INT(0, parse("gemini://example.org/blog%2Fpost.gmi\r\n"));
	CHECK_STR("/blog/post.gmi", req.path);
	CHECK_INT(0, parse("gemini://example.org/a%2F..%2Fb\r\n"));
	CHECK_STR("/b", req.path);
}

static void
test_utf8_iri_accepted(void)
{
	CHECK_INT(0, parse("gemini://example.org/caf\xc3\xa9/\xe2\x9c\x93"
	    "\r\n"));
	CHECK_STR("/caf\xc3\xa9/\xe2\x9c\x93", req.path);
}

static void
test_dot_segments_normalised(void)
{
	CHECK_INT(0, parse("gemini://example.org/a/../b\r\n"));
	CHECK_STR("/b", req.path);
	CHECK_INT(0, parse("gemini://example.org/a/./b/.\r\n"));
	CHECK_STR("/a/b/", req.path);
	CHECK_INT(0, parse("gemini://example.org/a/..\r\n"));
	CHECK_STR("/", req.path);
	CHECK_INT(0, parse("gemini://example.org/a/%2e/b\r\n"));
	CHECK_STR("/a/b", req.path);
	CHECK_INT(0, parse("gemini://example.org/..a/b..\r\n"));
	CHECK_STR("/..a/b..", req.path);
}

static void
test_longest_url(void)
{
	char	line[GEMINI_URL_MAX + 3];
	size_t	pre = strlen("gemini://example.org/");

	memcpy(line, "gemini://example.org/", pre);
	memset(line + pre, 'a', GEMINI_URL_MAX - pre);
	memcpy(line + GEMINI_URL_MAX, "\r\n", 2);
	CHECK_INT(0, parse_n(line, GEMINI_URL_MAX + 2));
	CHECK_INT(GEMINI_URL_MAX - pre + 1, req.path_len);
	CHECK_INT(GEMINI_URL_MAX - pre + 1, strlen(req.path));
}

static void
test_nul_refused(void)
{
	CHECK_INT(59, parse_n("gemini://example.org/\0x\r\n", 25));
	CHECK_STR("request must not contain NUL", why);
	CHECK_INT(59, parse_n("\0", 1));
	CHECK_STR("request must not contain NUL", why);
}

static void
test_missing_crlf_refused(void)
{
	CHECK_REFUSED(59, "request must end with CRLF",
	    "gemini://example.org/");
	CHECK_REFUSED(59, "request must end with CRLF",
	    "gemini://example.org/\n");
	CHECK_REFUSED(59, "request must end with CRLF",
	    "gemini://example.org/\r");
	CHECK_REFUSED(59, "request must end with CRLF",
	    "gemini://example.org/\n\r");
	CHECK_REFUSED(59, "request must end with CRLF", "");
	CHECK_REFUSED(59, "request must end with CRLF", "\n");
}

static void
test_too_long_refused(void)
{
	char	line[GEMINI_URL_MAX + 4];
	size_t	pre = strlen("gemini://example.org/");

	memcpy(line, "gemini://example.org/", pre);
	memset(line + pre, 'a', GEMINI_URL_MAX + 1 - pre);
	memcpy(line + GEMINI_URL_MAX + 1, "\r\n", 2);
	CHECK_INT(59, parse_n(line, GEMINI_URL_MAX + 3));
	CHECK_STR("request is longer than 1024 bytes", why);
}

static void
test_empty_refused(void)
{
	CHECK_REFUSED(59, "request is empty", "\r\n");
}

static void
test_spaces_and_controls_refused(void)
{
	const char	*r;

	r = "URL must not contain spaces or control characters";
	CHECK_REFUSED(59, r, "gemini://example.org/a b\r\n");
	CHECK_REFUSED(59, r, " gemini://example.org/\r\n");
	CHECK_REFUSED(59, r, "gemini://example.org/\t\r\n");
	CHECK_REFUSED(59, r, "gemini://example.org/\r\r\n");
	CHECK_REFUSED(59, r, "gemini://example.org/\r\nx\r\n");
	CHECK_REFUSED(59, r, "gemini://example.org/\x7f\r\n");
}

static void
test_malformed_refused(void)
{
	CHECK_REFUSED(59, "URL is malformed",
	    "gemini://example.org/<script>\r\n");
	CHECK_REFUSED(59, "URL is malformed", "gemini://[::1/\r\n");
	CHECK_REFUSED(59, "URL is malformed", "gemini://example.org:x/\r\n");
	CHECK_REFUSED(59, "URL is malformed", "gemini://example.org/#a#b\r\n");
	CHECK_REFUSED(59, "URL is malformed", "\xef\xbb\xbfgemini://x/\r\n");
}

static void
test_relative_refused(void)
{
	const char	*r = "request must be an absolute URL";

	CHECK_REFUSED(59, r, "/index.gmi\r\n");
	CHECK_REFUSED(59, r, "//example.org/\r\n");
	CHECK_REFUSED(59, r, "example.org\r\n");
}

static void
test_other_scheme_refused(void)
{
	const char	*r = "proxy requests are refused";

	CHECK_REFUSED(53, r, "https://example.org/\r\n");
	CHECK_REFUSED(53, r, "gopher://example.org/\r\n");
	CHECK_REFUSED(53, r, "gemini+x://example.org/\r\n");
	CHECK_REFUSED(53, r, "gemin://example.org/\r\n");
}

static void
test_userinfo_refused(void)
{
	CHECK_REFUSED(59, "URL must not contain userinfo",
	    "gemini://user@example.org/\r\n");
	CHECK_REFUSED(59, "URL must not contain userinfo",
	    "gemini://@example.org/\r\n");
}

static void
test_fragment_refused(void)
{
	CHECK_REFUSED(59, "URL must not contain a fragment",
	    "gemini://example.org/#top\r\n");
	CHECK_REFUSED(59, "URL must not contain a fragment",
	    "gemini://example.org/?q#\r\n");
}

static void
test_missing_host_refused(void)
{
	CHECK_REFUSED(59, "URL must name a host", "gemini:///x\r\n");
	CHECK_REFUSED(59, "URL must name a host", "gemini:/x\r\n");
	CHECK_REFUSED(59, "URL must name a host", "gemini:\r\n");
	CHECK_REFUSED(59, "URL must name a host", "gemini://:1965/\r\n");
}

static void
test_unknown_host_refused(void)
{
	const char	*r = "host is not served here";

	CHECK_REFUSED(53, r, "gemini://example.com/\r\n");
	CHECK_REFUSED(53, r, "gemini://example.org.evil/\r\n");
	CHECK_REFUSED(53, r, "gemini://xample.org/\r\n");
	CHECK_REFUSED(53, r, "gemini://ex%61mple.org/\r\n");
}

static void
test_host_too_long_refused(void)
{
	static char		 name[GEMINI_HOST_MAX + 1];
	static char		 line[GEMINI_HOST_MAX + 32];
	const char *const	 big[] = { name };
	struct gemini_policy	 p = { big, 1, 1965 };

	memset(name, 'h', GEMINI_HOST_MAX);
	snprintf(line, sizeof(line), "gemini://%s/\r\n", name);
	CHECK_INT(59, gemini_parse_request(span_cstr(line), &p, &req, &why));
	CHECK_STR("host name is too long", why);
	name[GEMINI_HOST_MAX - 1] = '\0';
	snprintf(line, sizeof(line), "gemini://%s/\r\n", name);
	CHECK_INT(0, gemini_parse_request(span_cstr(line), &p, &req, &why));
	CHECK_INT(GEMINI_HOST_MAX - 1, strlen(req.host));
}

static void
test_port_mismatch_refused(void)
{
	CHECK_REFUSED(53, "port is not served here",
	    "gemini://example.org:1966/\r\n");
	CHECK_REFUSED(53, "port is not served here",
	    "gemini://example.org:0/\r\n");
}

static void
test_port_out_of_range_refused(void)
{
	CHECK_REFUSED(59, "port is out of range",
	    "gemini://example.org:65536/\r\n");
	CHECK_REFUSED(59, "port is out of range",
	    "gemini://example.org:196500000000000000000/\r\n");
}

static void
test_bad_percent_refused(void)
{
	const char	*r = "path has a bad percent-encoding";

	CHECK_REFUSED(59, r, "gemini://example.org/%zz\r\n");
	CHECK_REFUSED(59, r, "gemini://example.org/%4\r\n");
	CHECK_REFUSED(59, r, "gemini://example.org/%\r\n");
	CHECK_REFUSED(59, r, "gemini://example.org/a%2\r\n");
}

static void
test_encoded_nul_refused(void)
{
	CHECK_REFUSED(59, "path must not contain %00",
	    "gemini://example.org/a%00.gmi\r\n");
}

static void
test_climbing_refused(void)
{
	const char	*r = "path goes above the root";

	CHECK_REFUSED(59, r, "gemini://example.org/../x\r\n");
	CHECK_REFUSED(59, r, "gemini://example.org/..\r\n");
	CHECK_REFUSED(59, r, "gemini://example.org/a/../../x\r\n");
	CHECK_REFUSED(59, r, "gemini://example.org/%2e%2e/x\r\n");
	CHECK_REFUSED(59, r, "gemini://example.org/%2E%2E\r\n");
	CHECK_REFUSED(59, r, "gemini://example.org/.%2e/etc/passwd\r\n");
	CHECK_REFUSED(59, r, "gemini://example.org/a%2F..%2F..%2Fx\r\n");
}

/* A request that breaks two rules gets the status of the earlier check. */
static void
test_check_order(void)
{
	CHECK_INT(59, parse_n("https://x/\0", 11));
	CHECK_STR("request must not contain NUL", why);
	CHECK_REFUSED(59, "request must end with CRLF", "https://x/#f");
	CHECK_REFUSED(59, "request must be an absolute URL", "/../x\r\n");
	CHECK_REFUSED(53, "proxy requests are refused",
	    "https://u@example.org/#f\r\n");
	CHECK_REFUSED(59, "URL must not contain userinfo",
	    "gemini://u@elsewhere/#f\r\n");
	CHECK_REFUSED(59, "URL must not contain a fragment",
	    "gemini://elsewhere:1/#f\r\n");
	CHECK_REFUSED(53, "host is not served here",
	    "gemini://elsewhere:1/%zz\r\n");
	CHECK_REFUSED(53, "port is not served here",
	    "gemini://example.org:1/../%zz\r\n");
	CHECK_REFUSED(59, "path has a bad percent-encoding",
	    "gemini://example.org/../%zz\r\n");
	CHECK_REFUSED(59, "path must not contain %00",
	    "gemini://example.org/../%00\r\n");
}

static void
test_reason_cleared_on_success(void)
{
	CHECK_INT(53, parse("https://example.org/\r\n"));
	CHECK(why != NULL);
	CHECK_INT(0, parse("gemini://example.org/\r\n"));
	CHECK(why == NULL);
	CHECK_INT(59, gemini_parse_request(span_cstr("x"), &pol, &req, NULL));
}

static const char *
header(int status, struct span meta)
{
	static char	out[4096];
	struct buf	b;

	buf_init(&b, 4096);
	if (gemini_header(&b, status, meta) == -1)
		snprintf(out, sizeof(out), "(fail)");
	else
		snprintf(out, sizeof(out), "%.*s", (int)b.len, b.p);
	buf_free(&b);
	return out;
}

static void
test_header_basic(void)
{
	CHECK_STR("20 text/gemini; charset=utf-8\r\n",
	    header(20, span_cstr("text/gemini; charset=utf-8")));
	CHECK_STR("51 \r\n", header(51, span_cstr("")));
	CHECK_STR("31 /blog/\r\n", header(31, span_cstr("/blog/")));
}

static void
test_header_crlf_become_spaces(void)
{
	CHECK_STR("40 a  b c\r\n", header(40, span_cstr("a\r\nb\nc")));
	CHECK_STR("40   \r\n", header(40, span_cstr("\r\n")));
}

static void
test_header_bad_status(void)
{
	CHECK_STR("(fail)", header(9, span_cstr("x")));
	CHECK_STR("(fail)", header(100, span_cstr("x")));
	CHECK_STR("(fail)", header(-20, span_cstr("x")));
}

static void
test_header_cut_at_max(void)
{
	static char	meta[GEMINI_META_MAX + 100];
	const char	*h;

	memset(meta, 'm', sizeof(meta));
	h = header(20, span_make(meta, sizeof(meta)));
	CHECK_INT(3 + GEMINI_META_MAX + 2, strlen(h));
	CHECK(memcmp(h + 3 + GEMINI_META_MAX, "\r\n", 2) == 0);
	h = header(20, span_make(meta, GEMINI_META_MAX));
	CHECK_INT(3 + GEMINI_META_MAX + 2, strlen(h));
}

static void
test_header_cut_not_inside_utf8(void)
{
	static char	meta[GEMINI_META_MAX + 8];
	const char	*h;

	memset(meta, 'm', sizeof(meta));
	memcpy(meta + GEMINI_META_MAX - 1, "\xc3\xa9", 2);
	h = header(20, span_make(meta, sizeof(meta)));
	CHECK_INT(3 + GEMINI_META_MAX - 1 + 2, strlen(h));

	memset(meta, 'm', sizeof(meta));
	memcpy(meta + GEMINI_META_MAX - 3, "\xf0\x9f\x9a\x80", 4);
	h = header(20, span_make(meta, sizeof(meta)));
	CHECK_INT(3 + GEMINI_META_MAX - 3 + 2, strlen(h));

	memset(meta, 'm', sizeof(meta));
	memcpy(meta + GEMINI_META_MAX - 2, "\xc3\xa9", 2);
	h = header(20, span_make(meta, sizeof(meta)));
	CHECK_INT(3 + GEMINI_META_MAX + 2, strlen(h));
}

static void
test_header_full_buf(void)
{
	struct buf	b;

	buf_init(&b, 8);
	CHECK_INT(0, buf_puts(&b, "x"));
	CHECK_INT(-1, gemini_header(&b, 20, span_cstr("text/gemini")));
	CHECK_MEM("x", b.p, b.len);
	CHECK_INT(0, gemini_header(&b, 20, span_cstr("ab")));
	CHECK_MEM("x20 ab\r\n", b.p, b.len);
	buf_free(&b);
}

int
main(void)
{
	RUN(test_root);
	RUN(test_no_path_means_root);
	RUN(test_path_and_trailing_slash_kept);
	RUN(test_scheme_and_host_ignore_case);
	RUN(test_ip_hosts);
	RUN(test_port_ours);
	RUN(test_port_on_other_policy_port);
	RUN(test_query_kept_encoded);
	RUN(test_path_decoded);
	RUN(test_encoded_slash_is_a_slash);
	RUN(test_utf8_iri_accepted);
	RUN(test_dot_segments_normalised);
	RUN(test_longest_url);
	RUN(test_nul_refused);
	RUN(test_missing_crlf_refused);
	RUN(test_too_long_refused);
	RUN(test_empty_refused);
	RUN(test_spaces_and_controls_refused);
	RUN(test_malformed_refused);
	RUN(test_relative_refused);
	RUN(test_other_scheme_refused);
	RUN(test_userinfo_refused);
	RUN(test_fragment_refused);
	RUN(test_missing_host_refused);
	RUN(test_unknown_host_refused);
	RUN(test_host_too_long_refused);
	RUN(test_port_mismatch_refused);
	RUN(test_port_out_of_range_refused);
	RUN(test_bad_percent_refused);
	RUN(test_encoded_nul_refused);
	RUN(test_climbing_refused);
	RUN(test_check_order);
	RUN(test_reason_cleared_on_success);
	RUN(test_header_basic);
	RUN(test_header_crlf_become_spaces);
	RUN(test_header_bad_status);
	RUN(test_header_cut_at_max);
	RUN(test_header_cut_not_inside_utf8);
	RUN(test_header_full_buf);
	return CHECK_SUMMARY();
}
