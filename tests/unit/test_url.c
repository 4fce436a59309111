#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "url.h"

#define RFC_BASE	"http://a/b/c/d;p?q"

/* Result of an appending function as a C string, or "(fail)". */
static char	result[4096];

static const char *
finish(struct buf *b, int rc)
{
	if (rc == -1)
		snprintf(result, sizeof(result), "(fail)");
	else
		snprintf(result, sizeof(result), "%.*s", (int)b->len,
		    b->p ? b->p : "");
	buf_free(b);
	return result;
}

static const char *
resolve(const char *base, const char *ref, bool *climbed)
{
	struct buf	b;

	buf_init(&b, 4096);
	return finish(&b, url_resolve(span_cstr(base), span_cstr(ref), &b,
	    climbed));
}

static const char *
rfc_resolve(const char *ref)
{
	return resolve(RFC_BASE, ref, NULL);
}

static const char *
dots(const char *path, bool *climbed)
{
	struct buf	b;

	buf_init(&b, 4096);
	return finish(&b, url_remove_dots(span_cstr(path), &b, climbed));
}

static const char *
decode(const char *s, bool *has_nul)
{
	struct buf	b;

	buf_init(&b, 4096);
	return finish(&b, url_decode(span_cstr(s), &b, has_nul));
}

static const char *
encode(const char *s)
{
	struct buf	b;

	buf_init(&b, 4096);
	return finish(&b, url_encode_path(span_cstr(s), &b));
}

static const char *
escape(const char *s)
{
	struct buf	b;

	buf_init(&b, 4096);
	return finish(&b, url_escape_ref(span_cstr(s), &b));
}

static const char *
escape_uri(const char *s)
{
	struct buf	b;

	buf_init(&b, 4096);
	return finish(&b, url_escape_uri(span_cstr(s), &b));
}

static const char *
escape_rel(const char *s)
{
	struct buf	b;

	buf_init(&b, 4096);
	return finish(&b, url_escape_relative(span_cstr(s), &b));
}

static const char *
scheme(const char *s)
{
	struct span	sc = url_scheme(span_cstr(s));

	snprintf(result, sizeof(result), "%.*s", (int)sc.n, sc.p);
	return result;
}

static int
split(const char *s, struct url *u)
{
	return url_split(span_cstr(s), u);
}

static void
test_split_full_url(void)
{
	struct url	u;

	CHECK_INT(0, split("gemini://me:pw@Example.org:1965/a/b.gmi?q=1#top",
	    &u));
	CHECK(u.has_scheme);
	CHECK_MEM("gemini", u.scheme.p, u.scheme.n);
	CHECK(u.has_authority);
	CHECK_MEM("me:pw@Example.org:1965", u.authority.p, u.authority.n);
	CHECK(u.has_userinfo);
	CHECK_MEM("me:pw", u.userinfo.p, u.userinfo.n);
	CHECK_MEM("Example.org", u.host.p, u.host.n);
	CHECK(!u.is_ip_literal);
	CHECK(u.has_port);
	CHECK_MEM("1965", u.port.p, u.port.n);
	CHECK_MEM("/a/b.gmi", u.path.p, u.path.n);
	CHECK(u.has_query);
	CHECK_MEM("q=1", u.query.p, u.query.n);
	CHECK(u.has_fragment);
	CHECK_MEM("top", u.fragment.p, u.fragment.n);
}

static void
test_split_minimal_absolute(void)
{
	struct url	u;

	CHECK_INT(0, split("gemini://host", &u));
	CHECK_MEM("host", u.host.p, u.host.n);
	CHECK_INT(0, u.path.n);
	CHECK(!u.has_userinfo);
	CHECK(!u.has_port);
	CHECK(!u.has_query);
	CHECK(!u.has_fragment);

	CHECK_INT(0, split("mailto:someone@example.org", &u));
	CHECK(!u.has_authority);
	CHECK_MEM("someone@example.org", u.path.p, u.path.n);

	CHECK_INT(0, split("a:b:c/d", &u));
	CHECK_MEM("a", u.scheme.p, u.scheme.n);
	CHECK_MEM("b:c/d", u.path.p, u.path.n);
}

static void
test_split_empty_query_and_fragment(void)
{
	struct url	u;

	CHECK_INT(0, split("gemini://h/x?#", &u));
	CHECK(u.has_query);
	CHECK_INT(0, u.query.n);
	CHECK(u.has_fragment);
	CHECK_INT(0, u.fragment.n);

	CHECK_INT(0, split("gemini://h:/x", &u));
	CHECK(u.has_port);
	CHECK_INT(0, u.port.n);
}

static void
test_split_query_may_hold_slash_and_question(void)
{
	struct url	u;

	CHECK_INT(0, split("/s?a/b?c#d?/e", &u));
	CHECK_MEM("/s", u.path.p, u.path.n);
	CHECK_MEM("a/b?c", u.query.p, u.query.n);
	CHECK_MEM("d?/e", u.fragment.p, u.fragment.n);
}

static void
test_split_relative_forms(void)
{
	struct url	u;

	CHECK_INT(0, split("../x/y.png", &u));
	CHECK(!u.has_scheme);
	CHECK(!u.has_authority);
	CHECK_MEM("../x/y.png", u.path.p, u.path.n);

	CHECK_INT(0, split("//other.example/p", &u));
	CHECK(!u.has_scheme);
	CHECK(u.has_authority);
	CHECK_MEM("other.example", u.host.p, u.host.n);
	CHECK_MEM("/p", u.path.p, u.path.n);

	CHECK_INT(0, split("?only", &u));
	CHECK_INT(0, u.path.n);
	CHECK_MEM("only", u.query.p, u.query.n);

	CHECK_INT(0, split("./a:b", &u));
	CHECK(!u.has_scheme);

	CHECK_INT(0, split("", &u));
	CHECK(!u.has_scheme);
	CHECK_INT(0, u.path.n);
}

static void
test_split_ip_literals(void)
{
	struct url	u;

	CHECK_INT(0, split("gemini://[::1]:1965/", &u));
	CHECK(u.is_ip_literal);
	CHECK_MEM("::1", u.host.p, u.host.n);
	CHECK_MEM("1965", u.port.p, u.port.n);
	CHECK_MEM("[::1]:1965", u.authority.p, u.authority.n);

	CHECK_INT(0, split("//[2001:db8::7]/c", &u));
	CHECK_MEM("2001:db8::7", u.host.p, u.host.n);
	CHECK_INT(0, split("//[1:2:3:4:5:6:7:8]", &u));
	CHECK_INT(0, split("//[::ffff:192.0.2.1]", &u));
	CHECK_INT(0, split("//[::]", &u));
	CHECK_INT(0, split("//[1::]", &u));
	CHECK_INT(0, split("//[v1.fe:x]", &u));
	CHECK_MEM("v1.fe:x", u.host.p, u.host.n);

	CHECK_INT(0, split("//192.0.2.1:70/", &u));
	CHECK(!u.is_ip_literal);
	CHECK_MEM("192.0.2.1", u.host.p, u.host.n);
}

static void
test_split_refuses_bad_ip_literals(void)
{
	struct url	u;

	CHECK_INT(-1, split("//[::1/", &u));
	CHECK_INT(-1, split("//[]/", &u));
	CHECK_INT(-1, split("//[example.org]/", &u));
	CHECK_INT(-1, split("//[1:2:3:4:5:6:7:8:9]/", &u));
	CHECK_INT(-1, split("//[1:2:3:4:5:6:7]/", &u));
	CHECK_INT(-1, split("//[1::2::3]/", &u));
	CHECK_INT(-1, split("//[:::]/", &u));
	CHECK_INT(-1, split("//[12345::]/", &u));
	CHECK_INT(-1, split("//[::1]x/", &u));
	CHECK_INT(-1, split("//[::256.0.0.1]/", &u));
	CHECK_INT(-1, split("//[::01.2.3.4]/", &u));
	CHECK_INT(-1, split("//[v.x]/", &u));
	CHECK_INT(-1, split("//[::1%25eth0]/", &u));
}

static void
test_split_refuses_bad_syntax(void)
{
	struct url	u;

	CHECK_INT(-1, split("gemini://host/a b", &u));
	CHECK_INT(-1, split("gemini://host/a\tb", &u));
	CHECK_INT(-1, split("gemini://host/<x>", &u));
	CHECK_INT(-1, split("gemini://host/a{b}", &u));
	CHECK_INT(-1, split("gemini://host/a|b", &u));
	CHECK_INT(-1, split("gemini://host/a\\b", &u));
	CHECK_INT(-1, split("gemini://host/x#a#b", &u));
	CHECK_INT(-1, split("gemini://host:12a/", &u));
	CHECK_INT(-1, split("gemini://a@b@host/", &u));
	CHECK_INT(-1, split("gemini://ho[st/", &u));
	CHECK_INT(-1, split("gemini://host/a[1]", &u));
	CHECK_INT(-1, split("1gemini://host/", &u));
	CHECK_INT(-1, split(":foo", &u));
	CHECK_INT(-1, split("my file:x", &u));
}

static void
test_split_does_not_need_nul(void)
{
	struct url	u;
	char		raw[] = { 'g', ':', '/', 'x', 'Z' };

	CHECK_INT(0, url_split(span_make(raw, 4), &u));
	CHECK_MEM("/x", u.path.p, u.path.n);
	CHECK_INT(-1, url_split(span_make("a\0b", 3), &u));
}

static void
test_split_accepts_utf8(void)
{
	struct url	u;

	CHECK_INT(0, split("gemini://b\xc3\xbc" "cher.example/caf\xc3\xa9"
	    "?\xe2\x9c\x93", &u));
	CHECK_MEM("b\xc3\xbc" "cher.example", u.host.p, u.host.n);
	CHECK_MEM("/caf\xc3\xa9", u.path.p, u.path.n);
}

static void
test_parse_port(void)
{
	unsigned short	p = 0;

	CHECK_INT(0, url_parse_port(span_cstr("1965"), &p));
	CHECK_INT(1965, p);
	CHECK_INT(0, url_parse_port(span_cstr("65535"), &p));
	CHECK_INT(65535, p);
	CHECK_INT(0, url_parse_port(span_cstr("0070"), &p));
	CHECK_INT(70, p);
	CHECK_INT(-1, url_parse_port(span_cstr("65536"), &p));
	CHECK_INT(-1, url_parse_port(span_cstr("99999999999999999999"), &p));
	CHECK_INT(-1, url_parse_port(span_cstr(""), &p));
	CHECK_INT(-1, url_parse_port(span_cstr("1x"), &p));
}

static void
test_decode_valid(void)
{
	CHECK_STR("a b", decode("a%20b", NULL));
	CHECK_STR("caf\xc3\xa9", decode("caf%C3%a9", NULL));
	CHECK_STR("a+b", decode("a+b", NULL));
	CHECK_STR("/a/b", decode("/a%2Fb", NULL));
	CHECK_STR("%", decode("%25", NULL));
	CHECK_STR("", decode("", NULL));
}

static void
test_decode_invalid(void)
{
	CHECK_STR("(fail)", decode("%", NULL));
	CHECK_STR("(fail)", decode("%4", NULL));
	CHECK_STR("(fail)", decode("a%g0", NULL));
	CHECK_STR("(fail)", decode("a%0g", NULL));
	CHECK_STR("(fail)", decode("%%41", NULL));
}

static void
test_decode_nul(void)
{
	struct buf	b;
	bool		nul = false;

	CHECK_STR("(fail)", decode("a%00b", NULL));
	buf_init(&b, 64);
	CHECK_INT(0, url_decode(span_cstr("a%00b"), &b, &nul));
	CHECK(nul);
	CHECK_INT(3, b.len);
	CHECK(memcmp(b.p, "a\0b", 3) == 0);
	buf_reset(&b);
	CHECK_INT(0, url_decode(span_cstr("ab"), &b, &nul));
	CHECK(!nul);
	buf_reset(&b);
	CHECK_INT(0, url_decode(span_make("a\0b", 3), &b, &nul));
	CHECK(nul);
	CHECK_INT(3, b.len);
	CHECK_INT(-1, url_decode(span_make("a\0b", 3), &b, NULL));
	CHECK_INT(3, b.len);
	buf_free(&b);
}

static void
test_decode_inplace(void)
{
	char	s[] = "x%41%42y";
	size_t	n = strlen(s);

	CHECK_INT(0, url_decode_inplace(s, &n, NULL));
	CHECK_MEM("xABy", s, n);
}

/* An escape cut by the end of the span must not borrow the bytes after it. */
static void
test_decode_stops_at_span_end(void)
{
	char	s[] = "a%41";
	size_t	n = 3;

	CHECK_INT(-1, url_decode_inplace(s, &n, NULL));
	n = 2;
	CHECK_INT(-1, url_decode_inplace(s, &n, NULL));
}

static void
test_decode_failure_leaves_buf(void)
{
	struct buf	b;

	buf_init(&b, 8);
	CHECK_INT(0, buf_puts(&b, "ab"));
	CHECK_INT(-1, url_decode(span_cstr("%zz"), &b, NULL));
	CHECK_MEM("ab", b.p, b.len);
	CHECK_INT(-1, url_decode(span_cstr("0123456"), &b, NULL));
	CHECK_MEM("ab", b.p, b.len);
	buf_free(&b);
}

static void
test_encode_path(void)
{
	CHECK_STR("/a/b-c_d.e~f", encode("/a/b-c_d.e~f"));
	CHECK_STR("my%20post.gmi", encode("my post.gmi"));
	CHECK_STR("caf%C3%A9", encode("caf\xc3\xa9"));
	CHECK_STR("%3F%23%25", encode("?#%"));
	CHECK_STR("a%3Ab.gmi", encode("a:b.gmi"));
	CHECK_STR("!$&'()*+,;=@", encode("!$&'()*+,;=@"));
	CHECK_STR("%0A%09%7F%22%3C%3E%5B%5D", encode("\n\t\x7f\"<>[]"));
	CHECK_STR("", encode(""));
}

static void
test_encode_decode_round_trip(void)
{
	char		all[256];
	struct buf	e, d;
	bool		nul;
	int		i;

	for (i = 0; i < 256; i++)
		all[i] = (char)i;
	buf_init(&e, 4096);
	buf_init(&d, 4096);
	CHECK_INT(0, url_encode_path(span_make(all, 256), &e));
	CHECK_INT(0, url_decode(buf_span(&e), &d, &nul));
	CHECK(nul);
	CHECK_INT(256, d.len);
	CHECK(d.len == 256 && memcmp(d.p, all, 256) == 0);
	buf_free(&e);
	buf_free(&d);
}

static void
test_encode_full_buf(void)
{
	struct buf	b;

	buf_init(&b, 5);
	CHECK_INT(0, buf_puts(&b, "x"));
	CHECK_INT(-1, url_encode_path(span_cstr("ab c"), &b));
	CHECK_MEM("x", b.p, b.len);
	buf_free(&b);
}

static void
test_escape_ref(void)
{
	CHECK_STR("../a%20b.png?x=1#f", escape("../a b.png?x=1#f"));
	CHECK_STR("gemini://h/caf\xc3\xa9", escape("gemini://h/caf\xc3\xa9"));
	CHECK_STR("a%2041%25zz%25", escape("a%2041%zz%"));
	CHECK_STR("%3Cx%3E%7B%7D%7C%5C%5E%60%22", escape("<x>{}|\\^`\""));
}

static void
test_escape_uri(void)
{
	CHECK_STR("gemini://h/caf%C3%A9?q=%E2%9C%93#%F0%9F%98%80",
	    escape_uri("gemini://h/caf\xc3\xa9?q=\xe2\x9c\x93#"
	    "\xf0\x9f\x98\x80"));
	CHECK_STR("a%20b%7F%25zz%41", escape_uri("a b\x7f%zz%41"));
	CHECK_STR("https://[::1]:8/x", escape_uri("https://[::1]:8/x"));
}

static void
test_escape_relative(void)
{
	struct url	u;
	const char	*in[] = { "a b.md", "a[1].png#x#y", "a:b/c",
	    "//host/x", "x?q[0]=1", "50%.md", "caf\xc3\xa9 2.md",
	    ":", "#", "?a#b#c", "http://e.org/", "x/y:z", "" };
	size_t		i;

	CHECK_STR("a%20b.md", escape_rel("a b.md"));
	CHECK_STR("a%5B1%5D.png#x%23y", escape_rel("a[1].png#x#y"));
	CHECK_STR("./a:b/c", escape_rel("a:b/c"));
	CHECK_STR("./http://e.org/", escape_rel("http://e.org/"));
	CHECK_STR("x/y:z", escape_rel("x/y:z"));
	CHECK_STR("x?y:z", escape_rel("x?y:z"));
	CHECK_STR("/.//host/x", escape_rel("//host/x"));
	CHECK_STR("50%25.md", escape_rel("50%.md"));
	CHECK_STR("caf\xc3\xa9%202.md", escape_rel("caf\xc3\xa9 2.md"));
	CHECK_STR("%41#%254", escape_rel("%41#%4"));
	/* Whatever was written, the result splits as a path reference. */
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		CHECK_INT(0, split(escape_rel(in[i]), &u));
		CHECK(!u.has_scheme && !u.has_authority);
	}
}

static void
test_escape_relative_full_buf(void)
{
	struct buf	b;

	buf_init(&b, 6);
	CHECK_INT(0, buf_puts(&b, "x"));
	CHECK_INT(-1, url_escape_relative(span_cstr("a:b#c#"), &b));
	CHECK_MEM("x", b.p, b.len);
	buf_free(&b);
}

static void
test_scheme(void)
{
	CHECK_STR("gemini", scheme("gemini://h/"));
	CHECK_STR("a+b-c.d", scheme("a+b-c.d:x y"));
	CHECK_STR("mailto", scheme("mailto:me@example.org"));
	CHECK_STR("", scheme("1a:b"));
	CHECK_STR("", scheme(":x"));
	CHECK_STR("", scheme("a b:c"));
	CHECK_STR("", scheme("a/b:c"));
	CHECK_STR("", scheme("abc"));
	CHECK_STR("", scheme(""));
}

static void
test_remove_dots_rfc_examples(void)
{
	bool	climbed = true;

	CHECK_STR("/a/g", dots("/a/b/c/./../../g", &climbed));
	CHECK(!climbed);
	CHECK_STR("mid/6", dots("mid/content=5/../6", &climbed));
	CHECK(!climbed);
}

static void
test_remove_dots_cases(void)
{
	CHECK_STR("/b", dots("/a/../b", NULL));
	CHECK_STR("/a/", dots("/a/.", NULL));
	CHECK_STR("/", dots("/a/..", NULL));
	CHECK_STR("/a/b/", dots("/a/./b/", NULL));
	CHECK_STR("/a/.b/..c/c..", dots("/a/.b/..c/c..", NULL));
	CHECK_STR("/", dots("/", NULL));
	CHECK_STR("", dots("", NULL));
	CHECK_STR("", dots(".", NULL));
	CHECK_STR("/a//b", dots("/a//b", NULL));
	CHECK_STR("/x", dots("//../x", NULL));
}

static void
test_remove_dots_reports_climbing(void)
{
	bool	climbed;

	CHECK_STR("/x", dots("/../x", &climbed));
	CHECK(climbed);
	CHECK_STR("/x", dots("/a/../../x", &climbed));
	CHECK(climbed);
	CHECK_STR("/", dots("/..", &climbed));
	CHECK(climbed);
	CHECK_STR("x", dots("../x", &climbed));
	CHECK(climbed);
	CHECK_STR("", dots("..", &climbed));
	CHECK(climbed);
	CHECK_STR("/a/x", dots("/a/b/../x", &climbed));
	CHECK(!climbed);
	CHECK_STR("/%2e%2e/x", dots("/%2e%2e/x", &climbed));
	CHECK(!climbed);
}

static void
test_remove_dots_inplace(void)
{
	char	s[] = "/a/b/../../../c/./d";
	size_t	n;
	bool	climbed;

	n = url_remove_dots_inplace(s, strlen(s), &climbed);
	CHECK_MEM("/c/d", s, n);
	CHECK(climbed);
}

static void
test_resolve_rfc_normal(void)
{
	CHECK_STR("g:h", rfc_resolve("g:h"));
	CHECK_STR("http://a/b/c/g", rfc_resolve("g"));
	CHECK_STR("http://a/b/c/g", rfc_resolve("./g"));
	CHECK_STR("http://a/b/c/g/", rfc_resolve("g/"));
	CHECK_STR("http://a/g", rfc_resolve("/g"));
	CHECK_STR("http://g", rfc_resolve("//g"));
	CHECK_STR("http://a/b/c/d;p?y", rfc_resolve("?y"));
	CHECK_STR("http://a/b/c/g?y", rfc_resolve("g?y"));
	CHECK_STR("http://a/b/c/d;p?q#s", rfc_resolve("#s"));
	CHECK_STR("http://a/b/c/g#s", rfc_resolve("g#s"));
	CHECK_STR("http://a/b/c/g?y#s", rfc_resolve("g?y#s"));
	CHECK_STR("http://a/b/c/;x", rfc_resolve(";x"));
	CHECK_STR("http://a/b/c/g;x", rfc_resolve("g;x"));
	CHECK_STR("http://a/b/c/g;x?y#s", rfc_resolve("g;x?y#s"));
	CHECK_STR("http://a/b/c/d;p?q", rfc_resolve(""));
	CHECK_STR("http://a/b/c/", rfc_resolve("."));
	CHECK_STR("http://a/b/c/", rfc_resolve("./"));
	CHECK_STR("http://a/b/", rfc_resolve(".."));
	CHECK_STR("http://a/b/", rfc_resolve("../"));
	CHECK_STR("http://a/b/g", rfc_resolve("../g"));
	CHECK_STR("http://a/", rfc_resolve("../.."));
	CHECK_STR("http://a/", rfc_resolve("../../"));
	CHECK_STR("http://a/g", rfc_resolve("../../g"));
}

static void
test_resolve_rfc_abnormal(void)
{
	CHECK_STR("http://a/g", rfc_resolve("../../../g"));
	CHECK_STR("http://a/g", rfc_resolve("../../../../g"));
	CHECK_STR("http://a/g", rfc_resolve("/./g"));
	CHECK_STR("http://a/g", rfc_resolve("/../g"));
	CHECK_STR("http://a/b/c/g.", rfc_resolve("g."));
	CHECK_STR("http://a/b/c/.g", rfc_resolve(".g"));
	CHECK_STR("http://a/b/c/g..", rfc_resolve("g.."));
	CHECK_STR("http://a/b/c/..g", rfc_resolve("..g"));
	CHECK_STR("http://a/b/g", rfc_resolve("./../g"));
	CHECK_STR("http://a/b/c/g/", rfc_resolve("./g/."));
	CHECK_STR("http://a/b/c/g/h", rfc_resolve("g/./h"));
	CHECK_STR("http://a/b/c/h", rfc_resolve("g/../h"));
	CHECK_STR("http://a/b/c/g;x=1/y", rfc_resolve("g;x=1/./y"));
	CHECK_STR("http://a/b/c/y", rfc_resolve("g;x=1/../y"));
	CHECK_STR("http://a/b/c/g?y/./x", rfc_resolve("g?y/./x"));
	CHECK_STR("http://a/b/c/g?y/../x", rfc_resolve("g?y/../x"));
	CHECK_STR("http://a/b/c/g#s/./x", rfc_resolve("g#s/./x"));
	CHECK_STR("http://a/b/c/g#s/../x", rfc_resolve("g#s/../x"));
	CHECK_STR("http:g", rfc_resolve("http:g"));
}

static void
test_resolve_reports_climbing(void)
{
	bool	climbed;

	CHECK_STR("http://a/g", resolve(RFC_BASE, "../../../g", &climbed));
	CHECK(climbed);
	CHECK_STR("http://a/g", resolve(RFC_BASE, "../../g", &climbed));
	CHECK(!climbed);
	CHECK_STR("http://a/g", resolve(RFC_BASE, "/../g", &climbed));
	CHECK(climbed);
}

static void
test_resolve_design_example(void)
{
	bool	climbed;

	CHECK_STR("/assets/my-journey.png",
	    resolve("/blog/my-journey-into-data-engineering.gmi",
	    "../../../assets/my-journey.png", &climbed));
	CHECK(climbed);
	CHECK_STR("gemini://example.org/assets/my-journey.png",
	    resolve("gemini://example.org/blog/"
	    "my-journey-into-data-engineering.gmi",
	    "../../../assets/my-journey.png", NULL));
	CHECK_STR("/blog/other.gmi", resolve("/blog/post.gmi", "other.gmi",
	    NULL));
	CHECK_STR("/blog/", resolve("/blog/post.gmi", "./", NULL));
}

static void
test_resolve_absolute_ref_removes_dots(void)
{
	CHECK_STR("https://x.example/b", resolve("/blog/post.gmi",
	    "https://x.example/a/../b", NULL));
	CHECK_STR("mailto:a@b.example", resolve("/blog/post.gmi",
	    "mailto:a@b.example", NULL));
	CHECK_STR("gemini://h/x", resolve("gemini://h/dir/", "//h/x", NULL));
}

static void
test_resolve_base_without_path(void)
{
	CHECK_STR("gemini://h/x.gmi", resolve("gemini://h", "x.gmi", NULL));
	CHECK_STR("gemini://h", resolve("gemini://h", "", NULL));
	CHECK_STR("gemini://[::1]:1965/a", resolve("gemini://[::1]:1965/",
	    "a", NULL));
}

static void
test_resolve_keeps_meaning_of_odd_paths(void)
{
	struct url	u;
	const char	*r;

	r = resolve("g:/a/b", "..//c", NULL);
	CHECK_STR("g:/.//c", r);
	CHECK_INT(0, split(r, &u));
	CHECK(!u.has_authority);
	r = resolve("b", "./c:d", NULL);
	CHECK_STR("./c:d", r);
	CHECK_INT(0, split(r, &u));
	CHECK(!u.has_scheme);
}

static void
test_resolve_against_relative_base(void)
{
	CHECK_STR("?q#f", resolve("?q", "#f", NULL));
	CHECK_STR("#f", resolve("", "#f", NULL));
	CHECK_STR("", resolve("", "", NULL));
	CHECK_STR("a/c", resolve("a/b", "c", NULL));
}

static void
test_resolve_refuses_bad_input(void)
{
	struct buf	b;

	buf_init(&b, 64);
	CHECK_INT(0, buf_puts(&b, "keep"));
	CHECK_INT(-1, url_resolve(span_cstr("/a"), span_cstr("b c"), &b,
	    NULL));
	CHECK_INT(-1, url_resolve(span_cstr("/a b"), span_cstr("c"), &b,
	    NULL));
	CHECK_MEM("keep", b.p, b.len);
	buf_free(&b);
}

static void
test_resolve_full_buf(void)
{
	struct buf	b;

	buf_init(&b, 12);
	CHECK_INT(0, buf_puts(&b, "keep"));
	CHECK_INT(-1, url_resolve(span_cstr("gemini://host/a/b"),
	    span_cstr("c"), &b, NULL));
	CHECK_MEM("keep", b.p, b.len);
	buf_free(&b);
}

int
main(void)
{
	RUN(test_split_full_url);
	RUN(test_split_minimal_absolute);
	RUN(test_split_empty_query_and_fragment);
	RUN(test_split_query_may_hold_slash_and_question);
	RUN(test_split_relative_forms);
	RUN(test_split_ip_literals);
	RUN(test_split_refuses_bad_ip_literals);
	RUN(test_split_refuses_bad_syntax);
	RUN(test_split_does_not_need_nul);
	RUN(test_split_accepts_utf8);
	RUN(test_parse_port);
	RUN(test_decode_valid);
	RUN(test_decode_invalid);
	RUN(test_decode_nul);
	RUN(test_decode_inplace);
	RUN(test_decode_stops_at_span_end);
	RUN(test_decode_failure_leaves_buf);
	RUN(test_encode_path);
	RUN(test_encode_decode_round_trip);
	RUN(test_encode_full_buf);
	RUN(test_escape_ref);
	RUN(test_escape_uri);
	RUN(test_escape_relative);
	RUN(test_escape_relative_full_buf);
	RUN(test_scheme);
	RUN(test_remove_dots_rfc_examples);
	RUN(test_remove_dots_cases);
	RUN(test_remove_dots_reports_climbing);
	RUN(test_remove_dots_inplace);
	RUN(test_resolve_rfc_normal);
	RUN(test_resolve_rfc_abnormal);
	RUN(test_resolve_reports_climbing);
	RUN(test_resolve_design_example);
	RUN(test_resolve_absolute_ref_removes_dots);
	RUN(test_resolve_base_without_path);
	RUN(test_resolve_keeps_meaning_of_odd_paths);
	RUN(test_resolve_against_relative_base);
	RUN(test_resolve_refuses_bad_input);
	RUN(test_resolve_full_buf);
	return CHECK_SUMMARY();
}
