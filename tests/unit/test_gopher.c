#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "gopher.h"
#include "mem.h"

static struct gopher_request	req;
static const char		*reason;

/* Parse a request line given as a C string (no NUL inside). */
static int
parse(const char *line)
{
	reason = NULL;
	return gopher_parse_request(span_cstr(line), &req, &reason);
}

static int
parse_n(const char *line, size_t n)
{
	reason = NULL;
	return gopher_parse_request(span_make(line, n), &req, &reason);
}

/* The path of a request that must parse as GOPHER_KIND_PATH. */
static const char *
path_of(const char *line)
{
	if (parse(line) != 0 || req.kind != GOPHER_KIND_PATH)
		return "(refused)";
	if (strlen(req.path) != req.path_len)
		return "(bad length)";
	return req.path;
}

static void
test_root(void)
{
	CHECK_STR("/", path_of("\r\n"));
	CHECK_STR("/", path_of("/\r\n"));
	CHECK_STR("/", path_of("\n"));
	CHECK_STR("/", path_of("/\n"));
	CHECK_INT(0, req.has_search);
	CHECK_INT(0, req.gopher_plus);
}

static void
test_plain_selectors(void)
{
	CHECK_STR("/blog/post.gmi", path_of("/blog/post.gmi\r\n"));
	CHECK_STR("/blog/", path_of("/blog/\r\n"));
	CHECK_STR("/about.txt", path_of("about.txt\r\n"));
	CHECK_STR("/caps.txt", path_of("caps.txt\n"));
	CHECK_STR("/a/b", path_of("a//b\r\n"));
	CHECK_STR("/a/b/", path_of("//a///b//\r\n"));
	/* Only the first LF ends the request. */
	CHECK_STR("/a", path_of("/a\r\nGARBAGE\r\n"));
	CHECK_STR("/caf\xc3\xa9", path_of("/caf\xc3\xa9\r\n"));
}

static void
test_line_end_required(void)
{
	CHECK_INT(-1, parse("/blog/"));
	CHECK(reason != NULL);
	CHECK_INT(-1, parse("/blog/\r"));
	CHECK_INT(-1, parse(""));
	CHECK_INT(-1, parse_n("", 0));
}

static void
test_nul_refused(void)
{
	CHECK_INT(-1, parse_n("/a\0b\r\n", 6));
	CHECK_INT(-1, parse_n("\0\r\n", 3));
	CHECK_INT(-1, parse_n("/s\tq\0\r\n", 7));
	CHECK_INT(-1, parse("/a%00b\r\n"));
	CHECK_INT(-1, parse("/s?a%00\r\n"));
	/* A NUL after the line end is not part of the request. */
	CHECK_INT(0, parse_n("/a\n\0", 4));
}

static void
test_http(void)
{
	CHECK_INT(0, parse("GET / HTTP/1.1\r\n"));
	CHECK_INT(GOPHER_KIND_HTTP, req.kind);
	CHECK_INT(0, req.is_head);
	CHECK_INT(0, parse("HEAD /index.html HTTP/1.0\r\n"));
	CHECK_INT(GOPHER_KIND_HTTP, req.kind);
	CHECK_INT(1, req.is_head);
	CHECK_INT(0, parse("POST /form HTTP/1.1\n"));
	CHECK_INT(GOPHER_KIND_HTTP, req.kind);
	CHECK_INT(0, req.is_head);
	/* Not HTTP: no space after the method, or lower case. */
	CHECK_STR("/GETTING", path_of("GETTING\r\n"));
	CHECK_STR("/get /x", path_of("get /x\r\n"));
	CHECK_STR("/GET", path_of("GET\r\n"));
}

static void
test_http_long_line(void)
{
	char	line[3000];

	memset(line, 'a', sizeof(line));
	memcpy(line, "GET /", 5);
	memcpy(line + sizeof(line) - 2, "\r\n", 2);
	CHECK_INT(0, parse_n(line, sizeof(line)));
	CHECK_INT(GOPHER_KIND_HTTP, req.kind);
}

static void
test_tab_search(void)
{
	CHECK_STR("/search", path_of("/search\thello world\r\n"));
	CHECK_INT(1, req.has_search);
	CHECK_STR("hello world", req.search);
	CHECK_INT(11, req.search_len);
	/* Anything after a second TAB is ignored. */
	CHECK_STR("/search", path_of("/search\tq\t+\r\n"));
	CHECK_STR("q", req.search);
	CHECK_INT(0, req.gopher_plus);
	CHECK_STR("/s", path_of("/s\tq\t$\tmore\r\n"));
	CHECK_STR("q", req.search);
	/* An empty search is still a search. */
	CHECK_STR("/s", path_of("/s\t\r\n"));
	CHECK_INT(1, req.has_search);
	CHECK_INT(0, req.search_len);
	/* The TAB search is the client's text, not decoded. */
	CHECK_STR("/s", path_of("/s\ta%20b\r\n"));
	CHECK_STR("a%20b", req.search);
	/* Root with a search. */
	CHECK_STR("/", path_of("\tfoo\r\n"));
	CHECK_STR("foo", req.search);
}

static void
test_gopher_plus(void)
{
	CHECK_STR("/x", path_of("/x\t+\r\n"));
	CHECK_INT(1, req.gopher_plus);
	CHECK_INT(0, req.has_search);
	CHECK_STR("/", path_of("\t$\r\n"));
	CHECK_INT(1, req.gopher_plus);
	CHECK_STR("/x", path_of("/x\t!\r\n"));
	CHECK_INT(1, req.gopher_plus);
	CHECK_STR("/s", path_of("/s?q\t+\r\n"));
	CHECK_INT(1, req.gopher_plus);
	CHECK_STR("q", req.search);
	CHECK_STR("/x", path_of("/x\t+foo\r\n"));
	CHECK_INT(0, req.gopher_plus);
	CHECK_STR("+foo", req.search);
}

static void
test_query_search(void)
{
	CHECK_STR("/search", path_of("/search?hello world\r\n"));
	CHECK_INT(1, req.has_search);
	CHECK_STR("hello world", req.search);
	CHECK_STR("/search", path_of("/search?hello%20world\r\n"));
	CHECK_STR("hello world", req.search);
	CHECK_STR("/search", path_of("/search?\r\n"));
	CHECK_INT(1, req.has_search);
	CHECK_INT(0, req.search_len);
	/* The TAB search wins over '?'. */
	CHECK_STR("/s", path_of("/s?x\ty\r\n"));
	CHECK_STR("y", req.search);
	/* '?' after percent-decoding is part of the path. */
	CHECK_STR("/a?b", path_of("/a%3Fb\r\n"));
	CHECK_INT(0, req.has_search);
	CHECK_STR("/", path_of("?q\r\n"));
	CHECK_STR("q", req.search);
}

static void
test_selector_length(void)
{
	char	line[GOPHER_SELECTOR_MAX + 3];

	memset(line, 'a', sizeof(line));
	line[0] = '/';
	memcpy(line + GOPHER_SELECTOR_MAX, "\r\n", 2);
	CHECK_INT(0, parse_n(line, GOPHER_SELECTOR_MAX + 2));
	CHECK_INT(GOPHER_SELECTOR_MAX, req.path_len);
	memcpy(line + GOPHER_SELECTOR_MAX + 1, "\n", 1);
	line[GOPHER_SELECTOR_MAX] = 'a';
	CHECK_INT(-1, parse_n(line, GOPHER_SELECTOR_MAX + 2));
	CHECK(reason != NULL);
	/* Without the leading '/', 1024 bytes still fit with the '/'. */
	memset(line, 'b', GOPHER_SELECTOR_MAX);
	memcpy(line + GOPHER_SELECTOR_MAX, "\r\n", 2);
	CHECK_INT(0, parse_n(line, GOPHER_SELECTOR_MAX + 2));
	CHECK_INT(GOPHER_SELECTOR_MAX + 1, req.path_len);
	CHECK_INT('/', req.path[0]);
}

static void
test_search_length(void)
{
	char	line[GOPHER_SELECTOR_MAX + 8];

	memset(line, 'q', sizeof(line));
	memcpy(line, "/s\t", 3);
	memcpy(line + 3 + GOPHER_SELECTOR_MAX, "\r\n", 2);
	CHECK_INT(0, parse_n(line, 3 + GOPHER_SELECTOR_MAX + 2));
	CHECK_INT(GOPHER_SELECTOR_MAX, req.search_len);
	memcpy(line + 3 + GOPHER_SELECTOR_MAX, "q\n", 2);
	CHECK_INT(-1, parse_n(line, 3 + GOPHER_SELECTOR_MAX + 2));
}

static void
test_url_selector(void)
{
	CHECK_INT(0, parse("URL:https://example.org/\r\n"));
	CHECK_INT(GOPHER_KIND_URL, req.kind);
	CHECK_STR("https://example.org/", req.url);
	CHECK_INT(20, req.url_len);
	CHECK_INT(0, parse("URL:gemini://example.org/a?b=c&d\r\n"));
	CHECK_STR("gemini://example.org/a?b=c&d", req.url);
	CHECK_INT(0, parse("URL:HTTP://x/\tignored\r\n"));
	CHECK_STR("HTTP://x/", req.url);
	CHECK_INT(0, parse("URL:mailto:me@example.org\n"));
	CHECK_INT(-1, parse("URL:javascript:alert(1)\r\n"));
	CHECK_INT(-1, parse("URL:\r\n"));
	CHECK_INT(-1, parse("URL:https\r\n"));
	CHECK_INT(-1, parse("URL:http://x/\x01\r\n"));
	CHECK_INT(-1, parse("URL:data:text/html,x\r\n"));
	/* Only the exact prefix; anything else is a path. */
	CHECK_STR("/url:https:/x", path_of("url:https://x\r\n"));
}

static void
test_percent_decoding(void)
{
	CHECK_STR("/a b", path_of("/a%20b\r\n"));
	CHECK_STR("/100%", path_of("/100%\r\n"));
	CHECK_STR("/%zz", path_of("/%zz\r\n"));
	CHECK_STR("/%4", path_of("/%4\r\n"));
	CHECK_STR("/A", path_of("/%41\r\n"));
	CHECK_STR("/a/b", path_of("/a%2Fb\r\n"));
	CHECK_INT(-1, parse("/%0a\r\n"));
	CHECK_INT(-1, parse("/%7F\r\n"));
	CHECK_INT(-1, parse("/%09x\r\n"));
}

static void
test_control_refused(void)
{
	CHECK_INT(-1, parse("/a\rb\r\n"));
	CHECK_INT(-1, parse("/a\x1b[2J\r\n"));
	CHECK_INT(-1, parse("/a\x7f\r\n"));
	CHECK_INT(-1, parse("/a\r\r\n"));
}

static void
test_dot_segments(void)
{
	CHECK_STR("/a/b", path_of("/a/./b\r\n"));
	CHECK_STR("/b", path_of("/a/../b\r\n"));
	CHECK_STR("/a/", path_of("/a/b/..\r\n"));
	CHECK_STR("/a/", path_of("/a/b/../\r\n"));
	CHECK_STR("/a/", path_of("/a/.\r\n"));
	CHECK_STR("/", path_of("/.\r\n"));
	CHECK_STR("/", path_of("/./\r\n"));
	CHECK_STR("/", path_of("/a/..\r\n"));
	CHECK_STR("/.../", path_of("/.../\r\n"));
	CHECK_STR("/..a/.b", path_of("/..a/.b\r\n"));
	CHECK_STR("/x", path_of("a/b/../../x\r\n"));
}

static void
test_climbing_refused(void)
{
	CHECK_INT(-1, parse("/..\r\n"));
	CHECK(reason != NULL);
	CHECK_INT(-1, parse("..\r\n"));
	CHECK_INT(-1, parse("/../etc/passwd\r\n"));
	CHECK_INT(-1, parse("/a/../../b\r\n"));
	CHECK_INT(-1, parse("/%2e%2e/x\r\n"));
	CHECK_INT(-1, parse("/%2E%2e%2fx\r\n"));
	CHECK_INT(-1, parse("/a/%2e%2e/%2e%2e\r\n"));
	CHECK_INT(-1, parse("/./../x?q\r\n"));
}

static void
test_char_width(void)
{
	size_t	len;

	CHECK_INT(1, gopher_char_width("a", 1, &len));
	CHECK_INT(1, len);
	CHECK_INT(-1, gopher_char_width("\t", 1, &len));
	CHECK_INT(-1, gopher_char_width("\x7f", 1, &len));
	CHECK_INT(1, gopher_char_width("\xc3\xa9", 2, &len));
	CHECK_INT(2, len);
	CHECK_INT(2, gopher_char_width("\xe6\xbc\xa2", 3, &len));
	CHECK_INT(3, len);
	CHECK_INT(0, gopher_char_width("\xcc\x81", 2, &len));
	CHECK_INT(2, gopher_char_width("\xf0\x9f\x98\x80", 4, &len));
	CHECK_INT(4, len);
	CHECK_INT(-1, gopher_char_width("\xc2\x9b", 2, &len));
	/* Invalid UTF-8 is one column per byte. */
	CHECK_INT(1, gopher_char_width("\xff", 1, &len));
	CHECK_INT(1, len);
	CHECK_INT(1, gopher_char_width("\xe6\xbc", 2, &len));
	CHECK_INT(1, len);
	CHECK_INT(1, gopher_char_width("\xc0\xaf", 2, &len));
	CHECK_INT(1, len);
	CHECK_INT(1, gopher_char_width("\xed\xa0\x80", 3, &len));
	CHECK_INT(1, len);
	CHECK_INT(4, gopher_display_width(
	    span_cstr("\xe6\xbc\xa2\xe5\xad\x97")));
	CHECK_INT(4, gopher_display_width(span_cstr("cafe\xcc\x81")));
}

/* Render one menu item into a fresh buffer and return it (static). */
static const char *
item(char type, const char *display, const char *sel)
{
	static struct buf	b;

	buf_free(&b);
	buf_init(&b, 4096);
	if (gopher_menu_item(&b, type, span_cstr(display), span_cstr(sel),
	    "example.org", 7070) == -1)
		return "(failed)";
	return buf_cstr(&b);
}

static int
count_char(const char *s, char c)
{
	int	n = 0;

	for (; *s != '\0'; s++)
		n += *s == c;
	return n;
}

static void
test_menu_item(void)
{
	CHECK_STR("0About\t/about.txt\texample.org\t7070\r\n",
	    item('0', "About", "/about.txt"));
	CHECK_INT(3, count_char(item('1', "a\tb", "/x"), '\t'));
	CHECK_STR("1a b\t/x\texample.org\t7070\r\n", item('1', "a\tb", "/x"));
	CHECK_STR("1a  b \t/x\texample.org\t7070\r\n",
	    item('1', "a\r\nb\x1b", "/x"));
	CHECK_STR("9x\t/a%09b%0D%0A\texample.org\t7070\r\n",
	    item('9', "x", "/a\tb\r\n"));
	CHECK_STR("3x\t/\texample.org\t7070\r\n", item('\n', "x", "/"));
	CHECK_STR("i\t\texample.org\t7070\r\n", item('i', "", ""));
}

static void
test_menu_item_host_port(void)
{
	struct buf	b;

	buf_init(&b, 256);
	CHECK_INT(0, gopher_menu_item(&b, '1', span_cstr("x"),
	    span_cstr("/"), "gopher.example", 70));
	CHECK_INT(0, gopher_menu_item(&b, '1', span_cstr("y"),
	    span_cstr("/"), "bad\thost\r\n", 65535));
	CHECK_INT(0, gopher_menu_item(&b, '1', span_cstr("z"),
	    span_cstr("/"), NULL, 1));
	CHECK_STR("1x\t/\tgopher.example\t70\r\n"
	    "1y\t/\tbadhost\t65535\r\n"
	    "1z\t/\tnull.host\t1\r\n", buf_cstr(&b));
	buf_free(&b);
}

/* The display field of a menu line. */
static const char *
display_of(const char *line)
{
	static char	d[1024];
	const char	*tab = strchr(line, '\t');

	if (tab == NULL || (size_t)(tab - line) >= sizeof(d))
		return "(no tab)";
	memcpy(d, line + 1, (size_t)(tab - line - 1));
	d[tab - line - 1] = '\0';
	return d;
}

static void
test_menu_item_truncation(void)
{
	char	s[512], want[512];
	size_t	i;

	/* 67 columns fit exactly. */
	memset(s, 'x', 67);
	s[67] = '\0';
	CHECK_STR(s, display_of(item('0', s, "/")));
	/* 68 become 66 and an ellipsis. */
	memset(s, 'x', 68);
	s[68] = '\0';
	memset(want, 'x', 66);
	strcpy(want + 66, "\xe2\x80\xa6");
	CHECK_STR(want, display_of(item('0', s, "/")));
	CHECK_INT(67, gopher_display_width(span_cstr(display_of(
	    item('0', s, "/")))));
	/* Two-byte characters count as one column each. */
	s[0] = '\0';
	for (i = 0; i < 67; i++)
		strcat(s, "\xc3\xa9");
	CHECK_STR(s, display_of(item('0', s, "/")));
	strcat(s, "\xc3\xa9");
	want[0] = '\0';
	for (i = 0; i < 66; i++)
		strcat(want, "\xc3\xa9");
	strcat(want, "\xe2\x80\xa6");
	CHECK_STR(want, display_of(item('0', s, "/")));
	/* 40 wide characters are 80 columns; 33 fit before the ellipsis. */
	s[0] = '\0';
	for (i = 0; i < 40; i++)
		strcat(s, "\xe6\xbc\xa2");
	want[0] = '\0';
	for (i = 0; i < 33; i++)
		strcat(want, "\xe6\xbc\xa2");
	strcat(want, "\xe2\x80\xa6");
	CHECK_STR(want, display_of(item('0', s, "/")));
	/* A wide character that would straddle the limit is left out. */
	memmove(s + 1, s, strlen(s) + 1);
	s[0] = 'a';
	want[0] = 'a';
	want[1] = '\0';
	for (i = 0; i < 32; i++)
		strcat(want, "\xe6\xbc\xa2");
	strcat(want, "\xe2\x80\xa6");
	CHECK_STR(want, display_of(item('0', s, "/")));
	/* 33 wide characters plus one: 67 columns, not cut. */
	s[0] = '\0';
	for (i = 0; i < 33; i++)
		strcat(s, "\xe6\xbc\xa2");
	strcat(s, "a");
	CHECK_STR(s, display_of(item('0', s, "/")));
	/* Combining marks take no column. */
	s[0] = '\0';
	for (i = 0; i < 67; i++)
		strcat(s, "e\xcc\x81");
	CHECK_STR(s, display_of(item('0', s, "/")));
}

static void
test_menu_item_truncation_spaces(void)
{
	char	s[128], want[128];

	/* Spaces before the cut are not left dangling before the ellipsis. */
	memset(s, 'y', 100);
	memset(s + 60, ' ', 10);
	s[100] = '\0';
	memset(want, 'y', 60);
	strcpy(want + 60, "\xe2\x80\xa6");
	CHECK_STR(want, display_of(item('0', s, "/")));
	/* The selector is never cut. */
	memset(s, 's', 100);
	s[0] = '/';
	s[100] = '\0';
	CHECK(strstr(item('0', "x", s), s) != NULL);
}

static void
test_menu_item_full_buffer(void)
{
	struct buf	b;

	buf_init(&b, 20);
	CHECK_INT(0, buf_puts(&b, "keep"));
	CHECK_INT(-1, gopher_menu_item(&b, '0', span_cstr("About"),
	    span_cstr("/about.txt"), "example.org", 70));
	CHECK_STR("keep", buf_cstr(&b));
	buf_free(&b);
}

static void
test_info_error_terminator(void)
{
	struct buf	b;

	buf_init(&b, 1024);
	CHECK_INT(0, gopher_info_line(&b, span_cstr("Hello\tworld")));
	CHECK_INT(0, gopher_info_line(&b, span_cstr("")));
	CHECK_INT(0, gopher_terminator(&b));
	CHECK_STR("iHello world\tfake\tnull.host\t1\r\n"
	    "i\tfake\tnull.host\t1\r\n.\r\n", buf_cstr(&b));
	buf_reset(&b);
	CHECK_INT(0, gopher_error(&b, span_cstr("Not found: /x\r\n")));
	CHECK_STR("3Not found: /x  \tfake\terror.host\t1\r\n.\r\n",
	    buf_cstr(&b));
	buf_free(&b);
}

static void
test_error_is_cut(void)
{
	struct buf	 b;
	char		 s[300];
	const char	*tab;

	memset(s, 'e', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	buf_init(&b, 1024);
	CHECK_INT(0, gopher_error(&b, span_cstr(s)));
	tab = strchr(buf_cstr(&b), '\t');
	CHECK(tab != NULL && tab - b.p == 1 + 66 + 3);
	buf_free(&b);
}

static void
test_http_reply(void)
{
	struct buf	 b;
	const char	*s, *body;

	buf_init(&b, 4096);
	CHECK_INT(0, gopher_http_reply(&b, false, "example.org", 70, 1965));
	s = buf_cstr(&b);
	CHECK(strncmp(s, "HTTP/1.0 400 Bad Request\r\n", 26) == 0);
	CHECK(strstr(s, "Content-Type: text/plain; charset=utf-8\r\n") != NULL);
	CHECK(strstr(s, "gopher://example.org/\r\n") != NULL);
	CHECK(strstr(s, "gemini://example.org/\r\n") != NULL);
	body = strstr(s, "\r\n\r\n");
	CHECK(body != NULL);
	if (body != NULL) {
		char	want[64];

		snprintf(want, sizeof(want), "Content-Length: %zu\r\n",
		    strlen(body + 4));
		CHECK(strstr(s, want) != NULL);
	}
	buf_reset(&b);
	CHECK_INT(0, gopher_http_reply(&b, false, "::1", 7070, 1966));
	s = buf_cstr(&b);
	CHECK(strstr(s, "gopher://[::1]:7070/") != NULL);
	CHECK(strstr(s, "gemini://[::1]:1966/") != NULL);
	buf_reset(&b);
	CHECK_INT(0, gopher_http_reply(&b, true, "example.org", 70, 1965));
	s = buf_cstr(&b);
	CHECK(strlen(s) > 4 && strcmp(s + strlen(s) - 4, "\r\n\r\n") == 0);
	CHECK(strstr(s, "gopher://") == NULL);
	buf_free(&b);
	buf_init(&b, 16);
	CHECK_INT(-1, gopher_http_reply(&b, false, "example.org", 70, 1965));
	CHECK_INT(0, b.len);
	buf_free(&b);
}

static void
test_http_reply_allocation_failure(void)
{
	struct buf	b;

	buf_init(&b, 4096);
	CHECK_INT(0, buf_puts(&b, "x"));
	mem_fail_after(1, 1);
	CHECK_INT(-1, gopher_http_reply(&b, false, "example.org", 70, 1965));
	mem_fail_after(0, 0);
	CHECK_INT(1, b.len);
	buf_free(&b);
}

static void
test_redirect_page(void)
{
	struct buf	 b;
	const char	*s;

	buf_init(&b, 4096);
	CHECK_INT(0, gopher_url_redirect_page(&b,
	    span_cstr("https://example.org/?a=1&b=\"<x>'")));
	s = buf_cstr(&b);
	CHECK(strstr(s, "<meta http-equiv=\"refresh\" content=\"1;URL="
	    "https://example.org/?a=1&amp;b=&quot;&lt;x&gt;&#39;\">") != NULL);
	CHECK(strstr(s, "<a href=\"https://example.org/?a=1&amp;b=") != NULL);
	CHECK(strstr(s, "<x>") == NULL);
	CHECK(strstr(s, "\"<") == NULL);
	buf_reset(&b);
	CHECK_INT(0, gopher_url_redirect_page(&b, span_cstr("http://x/\n")));
	CHECK(strstr(buf_cstr(&b), "http://x/%0A") != NULL);
	buf_free(&b);
}

static char
type_of(const char *name)
{
	return gopher_type_for_name(span_cstr(name));
}

static void
test_type_for_name(void)
{
	CHECK_INT('0', type_of("post.gmi"));
	CHECK_INT('0', type_of("/blog/post.md"));
	CHECK_INT('0', type_of("README.TXT"));
	CHECK_INT('0', type_of("/blog/atom.xml"));
	CHECK_INT('g', type_of("anim.gif"));
	CHECK_INT('I', type_of("a.png"));
	CHECK_INT('I', type_of("a.JPG"));
	CHECK_INT('I', type_of("a.jpeg"));
	CHECK_INT('I', type_of("a.webp"));
	CHECK_INT('I', type_of("a.svg"));
	CHECK_INT('I', type_of("a.bmp"));
	CHECK_INT('h', type_of("index.html"));
	CHECK_INT('h', type_of("old.htm"));
	CHECK_INT('s', type_of("song.mp3"));
	CHECK_INT('s', type_of("talk.ogg"));
	CHECK_INT('s', type_of("raw.wav"));
	CHECK_INT('s', type_of("x.flac"));
	CHECK_INT('9', type_of("prog.bin"));
	CHECK_INT('9', type_of("archive.tar.gz"));
	CHECK_INT('9', type_of("Makefile"));
	CHECK_INT('9', type_of("/dir.png/file"));
	CHECK_INT('9', type_of(""));
	CHECK_INT('9', type_of("png"));
	CHECK_INT('9', type_of("x."));
	CHECK_INT('1', type_of("/blog/"));
	CHECK_INT('1', type_of("/"));
}

/* The menu a gophermap gives in /phlog/ on example.org port 7070. */
static const char *
map(const char *text, const char *dir)
{
	static struct buf	b;

	buf_free(&b);
	buf_init(&b, 1 << 16);
	if (gopher_gophermap(&b, span_cstr(text), span_cstr(dir),
	    "example.org", 7070) == -1)
		return "(failed)";
	return buf_cstr(&b);
}

#define INFO(s)	"i" s "\tfake\tnull.host\t1\r\n"

static void
test_gophermap_info(void)
{
	CHECK_STR(INFO("Welcome") INFO("") INFO("to my hole") ".\r\n",
	    map("Welcome\n\nto my hole\n", "/"));
	CHECK_STR(INFO("CRLF") ".\r\n", map("CRLF\r\n", "/"));
	CHECK_STR(INFO("last") ".\r\n", map("last", "/"));
	CHECK_STR(".\r\n", map("", "/"));
}

static void
test_gophermap_directives(void)
{
	CHECK_STR(INFO("My Title") INFO("text") ".\r\n",
	    map("!My Title\n# a comment\ntext\n*\n~\n%\n", "/"));
	/* "." ends the map; the terminator is written once. */
	CHECK_STR(INFO("a") ".\r\n", map("a\n.\nb\n", "/"));
	CHECK_STR(INFO("a") ".\r\n", map("a\r\n.\r\n", "/"));
	CHECK_STR(INFO("..") ".\r\n", map("..\n", "/"));
}

static void
test_gophermap_items(void)
{
	CHECK_STR("0About\t/phlog/about.txt\texample.org\t7070\r\n.\r\n",
	    map("0About\tabout.txt\n", "/phlog/"));
	CHECK_STR("0About\t/phlog/about.txt\texample.org\t7070\r\n.\r\n",
	    map("0About\tabout.txt\n", "/phlog"));
	CHECK_STR("0About\t/about.txt\texample.org\t7070\r\n.\r\n",
	    map("0About\tabout.txt\n", ""));
	CHECK_STR("0Abs\t/abs.txt\texample.org\t7070\r\n.\r\n",
	    map("0Abs\t/abs.txt\n", "/phlog/"));
	/* Missing selector: the display text. */
	CHECK_STR("1docs\t/phlog/docs\texample.org\t7070\r\n.\r\n",
	    map("1docs\t\n", "/phlog/"));
	CHECK_STR("1docs\t/phlog/docs\texample.org\t7070\r\n.\r\n",
	    map("1docs\t\t\t\n", "/phlog/"));
	/* Another host: its selector stays, port defaults to 70. */
	CHECK_STR("1Other\tx\tother.org\t70\r\n.\r\n",
	    map("1Other\tx\tother.org\n", "/phlog/"));
	CHECK_STR("1Other\t/\tother.org\t7071\r\n.\r\n",
	    map("1Other\t/\tother.org\t7071\n", "/phlog/"));
	/* Our own host named: still relative, and its port kept. */
	CHECK_STR("0X\t/phlog/x.txt\tEXAMPLE.org\t70\r\n.\r\n",
	    map("0X\tx.txt\tEXAMPLE.org\t70\n", "/phlog/"));
	CHECK_STR("0X\t/phlog/x.txt\texample.org\t7070\r\n.\r\n",
	    map("0X\tx.txt\texample.org\n", "/phlog/"));
	/* URL: selectors are never paths. */
	CHECK_STR("hWeb\tURL:https://x/\texample.org\t7070\r\n.\r\n",
	    map("hWeb\tURL:https://x/\n", "/phlog/"));
	/* Gopher+ and other extra fields are dropped. */
	CHECK_STR("0X\t/x\th\t70\r\n.\r\n", map("0X\t/x\th\t70\t+\n", "/"));
	/* A bad port falls back to the default. */
	CHECK_STR("0X\t/x\th\t70\r\n.\r\n", map("0X\t/x\th\t99999\n", "/"));
	CHECK_STR("0X\t/x\texample.org\t7070\r\n.\r\n",
	    map("0X\t/x\t\tabc\n", "/"));
	/* Info items are written in our own form. */
	CHECK_STR(INFO("Info") ".\r\n", map("iInfo\tfoo\tbar\t9\n", "/"));
	/* Display strings are the author's: not cut. */
	CHECK(strlen(map("0xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\t/\n", "/")) > 100);
}

static void
test_gophermap_odd_lines(void)
{
	const char	*m;

	/* A line starting with TAB, or a control as the type: info. */
	CHECK_STR(INFO("") ".\r\n", map("\tsel\thost\t70\n", "/"));
	CHECK_STR(INFO("x") ".\r\n", map("\x01x\tsel\n", "/"));
	/* Every line keeps four fields and CRLF. */
	m = map("0a\rb\tc\n1\t\t\t\t\t\n", "/d/");
	CHECK_STR("0a b\t/d/c\texample.org\t7070\r\n"
	    "1\t/d/\texample.org\t7070\r\n.\r\n", m);
}

static void
test_gophermap_full_buffer(void)
{
	struct buf	b;

	buf_init(&b, 40);
	CHECK_INT(-1, gopher_gophermap(&b, span_cstr("a\nb\nc\n"),
	    span_cstr("/"), "example.org", 70));
	CHECK_INT(0, b.len);
	buf_free(&b);
}

int
main(void)
{
	RUN(test_root);
	RUN(test_plain_selectors);
	RUN(test_line_end_required);
	RUN(test_nul_refused);
	RUN(test_http);
	RUN(test_http_long_line);
	RUN(test_tab_search);
	RUN(test_gopher_plus);
	RUN(test_query_search);
	RUN(test_selector_length);
	RUN(test_search_length);
	RUN(test_url_selector);
	RUN(test_percent_decoding);
	RUN(test_control_refused);
	RUN(test_dot_segments);
	RUN(test_climbing_refused);
	RUN(test_char_width);
	RUN(test_menu_item);
	RUN(test_menu_item_host_port);
	RUN(test_menu_item_truncation);
	RUN(test_menu_item_truncation_spaces);
	RUN(test_menu_item_full_buffer);
	RUN(test_info_error_terminator);
	RUN(test_error_is_cut);
	RUN(test_http_reply);
	RUN(test_http_reply_allocation_failure);
	RUN(test_redirect_page);
	RUN(test_type_for_name);
	RUN(test_gophermap_info);
	RUN(test_gophermap_directives);
	RUN(test_gophermap_items);
	RUN(test_gophermap_odd_lines);
	RUN(test_gophermap_full_buffer);
	return CHECK_SUMMARY();
}
