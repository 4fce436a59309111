#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "gmi2txt.h"
#include "gopher.h"
#include "mem.h"

static const char	*golden_dir = "tests/golden/gmi2txt";

static bool
dir_by_name(void *arg, struct span path)
{
	(void)arg;
	return span_eq_cstr(path, "/blog") || span_eq_cstr(path, "/docs");
}

static struct gmi2txt_opts
opts_for(const char *base)
{
	struct gmi2txt_opts	o;

	memset(&o, 0, sizeof(o));
	o.host = "example.org";
	o.port = 7070;
	o.base = span_cstr(base);
	o.is_dir = dir_by_name;
	return o;
}

static struct buf	outb;

static const char *
render(const char *gmi, size_t n, bool menu, const char *base)
{
	struct gmi2txt_opts	o = opts_for(base);
	int			rc;

	buf_free(&outb);
	buf_init(&outb, 1 << 24);
	rc = menu ? gmi2txt_menu(&outb, span_make(gmi, n), &o) :
	    gmi2txt_text(&outb, span_make(gmi, n), &o);
	if (rc == -1)
		return "(failed)";
	return buf_cstr(&outb);
}

/* Plain text of a page at /blog/post.gmi. */
static const char *
txt(const char *gmi)
{
	return render(gmi, strlen(gmi), false, "/blog/post.gmi");
}

/* Menu of a page at /blog/. */
static const char *
menu(const char *gmi)
{
	return render(gmi, strlen(gmi), true, "/blog/");
}

/*
 * The promises every output keeps: CRLF line ends only, a terminator at
 * the end and nowhere else; text has no TAB and no lone "."; menus have
 * four fields on every line.  Returns a complaint or NULL.
 */
static const char *
broken(const char *s, size_t n, bool is_menu, size_t maxcols)
{
	size_t	i, start = 0, tabs = 0;

	if (n < 3 || memcmp(s + n - 3, ".\r\n", 3) != 0 ||
	    (n > 3 && s[n - 4] != '\n'))
		return "no terminator";
	for (i = 0; i < n; i++) {
		if (s[i] == '\r' && (i + 1 == n || s[i + 1] != '\n'))
			return "bare CR";
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			return "bare LF";
		if (s[i] == '\t') {
			if (!is_menu)
				return "TAB in text";
			tabs++;
		}
		if (s[i] != '\n')
			continue;
		if (i + 1 == n)
			break;
		if (i - 1 - start == 1 && s[start] == '.')
			return "lone dot";
		if (is_menu && tabs != 3)
			return "menu line without four fields";
		if (maxcols > 0 && !is_menu &&
		    gopher_display_width(span_make(s + start,
		    i - 1 - start)) > maxcols)
			return "line too wide";
		if (maxcols > 0 && is_menu && s[start] == 'i' &&
		    gopher_display_width(span_make(s + start + 1,
		    (size_t)((const char *)memchr(s + start, '\t',
		    i - start) - s) - start - 1)) > maxcols)
			return "info line too wide";
		start = i + 1;
		tabs = 0;
	}
	return NULL;
}

#define CHECK_TEXT(s, cols) do {					\
	const char *s_ = (s);						\
	const char *why_ = broken(s_, strlen(s_), false, (cols));	\
	if (why_ != NULL) {						\
		fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, why_);\
		check_failures++;					\
	}								\
} while (0)

#define CHECK_MENU(s, cols) do {					\
	const char *s_ = (s);						\
	const char *why_ = broken(s_, strlen(s_), true, (cols));	\
	if (why_ != NULL) {						\
		fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, why_);\
		check_failures++;					\
	}								\
} while (0)

static void
test_empty(void)
{
	CHECK_STR(".\r\n", txt(""));
	CHECK_STR(".\r\n", menu(""));
	CHECK_STR("\r\n.\r\n", txt("\n"));
	CHECK_STR(".\r\n", txt("\xef\xbb\xbf"));
}

static void
test_short_lines(void)
{
	CHECK_STR("Hello\r\n\r\nWorld\r\n.\r\n", txt("Hello\n\nWorld\n"));
	CHECK_STR("Hello\r\nWorld\r\n.\r\n", txt("Hello\r\nWorld"));
	CHECK_STR("BOM\r\n.\r\n", txt("\xef\xbb\xbf" "BOM\n"));
	/* Trailing spaces go, runs of spaces inside a line stay. */
	CHECK_STR("a  b\r\n.\r\n", txt("a  b   \n"));
}

static void
test_wrap_width(void)
{
	const char	*s;
	char		 in[1000];
	int		 i;

	in[0] = '\0';
	for (i = 0; i < 60; i++)
		strcat(in, "word ");
	s = txt(in);
	CHECK_TEXT(s, 70);
	/* 14 words of 5 columns with spaces: 69 columns per line. */
	CHECK(strncmp(s, "word word word word word word word word word word "
	    "word word word word\r\nword", 75) == 0);
	/* Exactly 70 columns stay on one line. */
	memset(in, 'x', 70);
	in[70] = '\0';
	strcat(in, "\n");
	memset(in + 71, 0, 1);
	s = txt(in);
	CHECK_INT(70 + 2 + 3, strlen(s));
	/* 65 + space + 4 = 70: still one line; one more wraps. */
	memset(in, 'a', 65);
	strcpy(in + 65, " bbbb");
	CHECK_INT(70 + 2 + 3, strlen(txt(in)));
	strcpy(in + 65, " bbbbb");
	s = txt(in);
	CHECK(strstr(s, "\r\nbbbbb\r\n") != NULL);
}

static void
test_long_word(void)
{
	char		 in[200], want[300];
	const char	*s;

	memset(in, 'a', 150);
	in[150] = '\0';
	memset(want, 'a', 70);
	memcpy(want + 70, "\r\n", 2);
	memset(want + 72, 'a', 70);
	memcpy(want + 142, "\r\n", 2);
	memset(want + 144, 'a', 10);
	strcpy(want + 154, "\r\n.\r\n");
	CHECK_STR(want, txt(in));
	/* A short word first: the long one starts on its own line. */
	memcpy(in, "hi ", 3);
	s = txt(in);
	CHECK(strncmp(s, "hi\r\naaaa", 8) == 0);
	CHECK_TEXT(s, 70);
}

static void
test_utf8_wrap(void)
{
	char		 in[1000], want[1000];
	const char	*s;
	int		 i;

	/* 70 two-byte characters are 70 columns: one line. */
	in[0] = '\0';
	for (i = 0; i < 70; i++)
		strcat(in, "\xc3\xa9");
	strcpy(want, in);
	strcat(want, "\r\n.\r\n");
	CHECK_STR(want, txt(in));
	/* 50 wide characters as one word: 35 per line. */
	in[0] = '\0';
	for (i = 0; i < 50; i++)
		strcat(in, "\xe6\xbc\xa2");
	want[0] = '\0';
	for (i = 0; i < 35; i++)
		strcat(want, "\xe6\xbc\xa2");
	strcat(want, "\r\n");
	for (i = 0; i < 15; i++)
		strcat(want, "\xe6\xbc\xa2");
	strcat(want, "\r\n.\r\n");
	CHECK_STR(want, txt(in));
	/* A wide character never straddles the margin. */
	memset(in, 'x', 69);
	in[69] = '\0';
	for (i = 0; i < 5; i++)
		strcat(in, "\xe6\xbc\xa2");
	s = txt(in);
	CHECK_TEXT(s, 70);
	CHECK(strncmp(s + 69, "\r\n\xe6\xbc\xa2", 5) == 0);
}

static void
test_headings(void)
{
	CHECK_STR("Title\r\n=====\r\n.\r\n", txt("# Title\n"));
	CHECK_STR("Sub\r\n---\r\n.\r\n", txt("## Sub\n"));
	CHECK_STR("Third\r\n-----\r\n.\r\n", txt("###   Third  \n"));
	CHECK_STR("hashtag\r\n=======\r\n.\r\n", txt("#hashtag\n"));
	CHECK_STR("#x\r\n--\r\n.\r\n", txt("####x\n"));
	CHECK_STR(".\r\n", txt("#\n"));
	/* Underlines count columns, not bytes. */
	CHECK_STR("Caf\xc3\xa9\r\n====\r\n.\r\n", txt("# Caf\xc3\xa9\n"));
	CHECK_STR("\xe6\xbc\xa2\xe5\xad\x97\r\n====\r\n.\r\n",
	    txt("# \xe6\xbc\xa2\xe5\xad\x97\n"));
	/* A lone dot heading is stuffed. */
	CHECK_STR("..\r\n=\r\n.\r\n", txt("# .\n"));
}

static void
test_long_heading(void)
{
	char		 in[300];
	const char	*s;

	strcpy(in, "# ");
	memset(in + 2, 'h', 100);
	memcpy(in + 50, " ", 1);
	in[102] = '\0';
	s = txt(in);
	CHECK_TEXT(s, 70);
	/* Wrapped at 70; the rule is as wide as the widest line. */
	CHECK(strstr(s, "\r\n=========================================="
	    "=========\r\n") != NULL);
}

static void
test_lists(void)
{
	const char	*s;
	char		 in[400];
	int		 i;

	CHECK_STR("  * one\r\n  * two\r\n.\r\n", txt("* one\n*   two\n"));
	CHECK_STR("  *\r\n.\r\n", txt("* \n"));
	/* Not list items in gemtext. */
	CHECK_STR("*text\r\n.\r\n", txt("*text\n"));
	strcpy(in, "* ");
	for (i = 0; i < 30; i++)
		strcat(in, "item ");
	s = txt(in);
	CHECK_TEXT(s, 70);
	CHECK(strncmp(s, "  * item", 8) == 0);
	CHECK(strstr(s, "\r\n    item") != NULL);
}

static void
test_quotes(void)
{
	const char	*s;
	char		 in[400];
	int		 i;

	CHECK_STR("> quoted\r\n.\r\n", txt(">quoted\n"));
	CHECK_STR("> quoted\r\n.\r\n", txt(">   quoted\n"));
	CHECK_STR(">\r\n.\r\n", txt(">\n"));
	strcpy(in, "> ");
	for (i = 0; i < 30; i++)
		strcat(in, "said ");
	s = txt(in);
	CHECK_TEXT(s, 70);
	CHECK(strncmp(s, "> said", 6) == 0);
	CHECK(strstr(s, "\r\n> said") != NULL);
	CHECK(strstr(s, "\r\nsaid") == NULL);
}

static void
test_indented_text(void)
{
	const char	*s;
	char		 in[400];
	int		 i;

	strcpy(in, "    ");
	for (i = 0; i < 30; i++)
		strcat(in, "deep ");
	s = txt(in);
	CHECK_TEXT(s, 70);
	CHECK(strncmp(s, "    deep", 8) == 0);
	CHECK(strstr(s, "\r\n    deep") != NULL);
	/* Huge indentation is capped so text keeps its room. */
	memset(in, ' ', 200);
	strcpy(in + 200, "x");
	CHECK_STR("                    x\r\n.\r\n", txt(in));
	CHECK_STR("        x\r\n.\r\n", txt("\tx\n"));
}

static void
test_preformatted(void)
{
	char		 in[300], want[300];

	CHECK_STR("  code  (kept)   \r\n.\r\n",
	    txt("```\n  code  (kept)   \n```\n"));
	CHECK_STR("a\r\n# not a heading\r\n=> not a link\r\nb\r\n.\r\n",
	    txt("a\n```alt text\n# not a heading\n=> not a link\n```\nb\n"));
	CHECK_STR("        x       y\r\n.\r\n", txt("```\n\tx\ty\n```\n"));
	CHECK_STR("ab      c\r\n.\r\n", txt("```\nab\tc\n"));
	/* Never wrapped. */
	strcpy(in, "```\n");
	memset(in + 4, 'p', 100);
	strcpy(in + 104, "\n```\n");
	memset(want, 'p', 100);
	strcpy(want + 100, "\r\n.\r\n");
	CHECK_STR(want, txt(in));
	/* Dot-stuffed and cleaned like any other line. */
	CHECK_STR("..\r\n.\r\n", txt("```\n.\n```\n"));
	CHECK_STR("a b\r\n.\r\n", txt("```\na\x1b" "b\n```\n"));
}

static void
test_links_text(void)
{
	CHECK_STR("[1] Example\r\n\r\nReferences\r\n----------\r\n\r\n"
	    "[1] https://example.org/\r\n.\r\n",
	    txt("=> https://example.org/ Example\n"));
	/* No label: the URL is the label. */
	CHECK_STR("[1] https://example.org/\r\n\r\nReferences\r\n"
	    "----------\r\n\r\n[1] https://example.org/\r\n.\r\n",
	    txt("=>https://example.org/\n"));
	/* TAB separators and trailing blanks. */
	CHECK_STR("[1] Tabbed label\r\n\r\nReferences\r\n----------\r\n\r\n"
	    "[1] gemini://x/\r\n.\r\n",
	    txt("=>\tgemini://x/\tTabbed\tlabel \t\n"));
	/* "=>" alone is text. */
	CHECK_STR("=>\r\n.\r\n", txt("=>\n"));
	CHECK_STR("=>\r\n.\r\n", txt("=>   \n"));
}

/* The reference a single link line at /blog/post.gmi turns into. */
static const char *
ref_of(const char *link)
{
	static char	ref[2048];
	char		in[1024];
	const char	*s, *p, *e;

	snprintf(in, sizeof(in), "=> %s label\n", link);
	s = txt(in);
	if ((p = strstr(s, "\r\n[1] ")) == NULL)
		return "(none)";
	p += 6;
	if ((e = strstr(p, "\r\n")) == NULL || (size_t)(e - p) >= sizeof(ref))
		return "(none)";
	memcpy(ref, p, (size_t)(e - p));
	ref[e - p] = '\0';
	return ref;
}

static void
test_link_targets(void)
{
	CHECK_STR("gopher://example.org:7070/0/blog/other.gmi",
	    ref_of("other.gmi"));
	CHECK_STR("gopher://example.org:7070/0/blog/other.gmi",
	    ref_of("./other.gmi"));
	CHECK_STR("gopher://example.org:7070/1/blog/", ref_of("./"));
	CHECK_STR("gopher://example.org:7070/1/", ref_of("/"));
	CHECK_STR("gopher://example.org:7070/1/", ref_of("../"));
	CHECK_STR("gopher://example.org:7070/I/assets/a.png",
	    ref_of("/assets/a.png"));
	CHECK_STR("gopher://example.org:7070/I/assets/a.png",
	    ref_of("../../../assets/a.png"));
	CHECK_STR("gopher://example.org:7070/g/x.gif", ref_of("/x.gif"));
	CHECK_STR("gopher://example.org:7070/9/file.pdf", ref_of("/file.pdf"));
	CHECK_STR("gopher://example.org:7070/0/blog/post.gmi",
	    ref_of("#section"));
	CHECK_STR("gopher://example.org:7070/0/blog/x.gmi",
	    ref_of("x.gmi#frag"));
	CHECK_STR("gopher://example.org:7070/9/search?q=a",
	    ref_of("/search?q=a"));
	CHECK_STR("gopher://example.org:7070/0/blog/post.gmi?x",
	    ref_of("?x"));
	/* The callback knows directories; they get their slash. */
	CHECK_STR("gopher://example.org:7070/1/blog/", ref_of("/blog"));
	CHECK_STR("gopher://example.org:7070/1/docs/", ref_of("../docs"));
	/* Other schemes stay as they are. */
	CHECK_STR("https://example.org/a?b", ref_of("https://example.org/a?b"));
	CHECK_STR("gemini://other.example/", ref_of("gemini://other.example/"));
	CHECK_STR("gopher://g.example/1/", ref_of("gopher://g.example/1/"));
	CHECK_STR("mailto:me@example.org", ref_of("mailto:me@example.org"));
	CHECK_STR("gemini://host.example/p", ref_of("//host.example/p"));
	/* A colon after a slash is not a scheme. */
	CHECK_STR("gopher://example.org:7070/9/blog/a/b:c", ref_of("a/b:c"));
	CHECK_STR("gopher://example.org:7070/9/blog/1a:b", ref_of("1a:b"));
}

static void
test_link_target_default_port(void)
{
	struct gmi2txt_opts	o = opts_for("/p.gmi");
	struct buf		b;

	o.port = 70;
	o.is_dir = NULL;
	buf_init(&b, 4096);
	CHECK_INT(0, gmi2txt_text(&b, span_cstr("=> /blog L\n=> d/ D\n"),
	    &o));
	CHECK(strstr(buf_cstr(&b), "[1] gopher://example.org/9/blog\r\n")
	    != NULL);
	CHECK(strstr(buf_cstr(&b), "[2] gopher://example.org/1/d/\r\n")
	    != NULL);
	buf_reset(&b);
	o.host = "::1";
	CHECK_INT(0, gmi2txt_text(&b, span_cstr("=> x.txt x\n"), &o));
	CHECK(strstr(buf_cstr(&b), "[1] gopher://[::1]/0/x.txt\r\n") != NULL);
	buf_free(&b);
}

static void
test_link_numbering_and_wrap(void)
{
	const char	*s;
	char		 in[600];
	int		 i;

	s = txt("Intro\n=> /a.gmi A\ntext\n=> /b.gmi B\n");
	CHECK_STR("Intro\r\n[1] A\r\ntext\r\n[2] B\r\n\r\nReferences\r\n"
	    "----------\r\n\r\n"
	    "[1] gopher://example.org:7070/0/a.gmi\r\n"
	    "[2] gopher://example.org:7070/0/b.gmi\r\n.\r\n", s);
	strcpy(in, "=> /x.gmi");
	for (i = 0; i < 30; i++)
		strcat(in, " label");
	s = txt(in);
	CHECK_TEXT(s, 70);
	CHECK(strstr(s, "\r\n    label") != NULL);
}

static void
test_long_url_kept_whole(void)
{
	char		 url[300], in[400];
	const char	*s;

	strcpy(url, "https://example.org/");
	memset(url + 20, 'u', 200);
	url[220] = '\0';
	snprintf(in, sizeof(in), "=> %s Long\n", url);
	s = txt(in);
	CHECK(strstr(s, url) != NULL);
	CHECK_TEXT(s, 0);
}

static void
test_link_cap(void)
{
	struct buf	 in;
	const char	*s;
	int		 i;

	buf_init(&in, 1 << 20);
	for (i = 0; i < GMI2TXT_LINKS_MAX + 1; i++)
		CHECK_INT(0, buf_printf(&in, "=> /p%d.gmi P%d\n", i, i));
	s = render(in.p, in.len, false, "/");
	CHECK_TEXT(s, 0);
	CHECK(strstr(s, "[4096] P4095\r\n") != NULL);
	CHECK(strstr(s, "\r\nP4096 </p4096.gmi>\r\n") != NULL);
	CHECK(strstr(s, "[4097]") == NULL);
	buf_free(&in);
}

static void
test_dot_stuffing(void)
{
	CHECK_STR("..\r\n.\r\n", txt(".\n"));
	CHECK_STR("..\r\n.\r\n", txt(".   \n"));
	CHECK_STR("..\r\n.\r\n", txt(".\t\n"));
	CHECK_STR(".x\r\n..\r\n.\r\n", txt(".x\n.\n"));
	CHECK_STR("> .\r\n.\r\n", txt("> .\n"));
	CHECK_STR("..\r\n.\r\n", txt(". \x01\n"));
}

static void
test_no_tab_no_controls(void)
{
	const char	*s;

	s = txt("a\tb\n* c\td\n> e\tf\n=> /g\th\ti\n# j\tk\n```\nl\tm\n");
	CHECK_TEXT(s, 70);
	CHECK(strchr(s, '\t') == NULL);
	s = txt("a\rb\x1b[31mc\x7f" "d\xc2\x9b" "e\n");
	CHECK_STR("a b [31mc d e\r\n.\r\n", s);
	s = render("a\0b\n", 4, false, "/");
	CHECK_STR("a b\r\n.\r\n", s);
}

static void
test_invalid_utf8_passes(void)
{
	CHECK_STR("\xff\xfe ok\r\n.\r\n", txt("\xff\xfe ok\n"));
	CHECK_TEXT(txt("\xe6\xbc\n"), 70);
}

static void
test_full_buffer(void)
{
	struct gmi2txt_opts	o = opts_for("/p.gmi");
	struct buf		b;

	buf_init(&b, 30);
	CHECK_INT(0, buf_puts(&b, "keep"));
	CHECK_INT(-1, gmi2txt_text(&b, span_cstr("# A long enough title\n"
	    "=> /x.gmi x\n"), &o));
	CHECK_STR("keep", buf_cstr(&b));
	CHECK_INT(-1, gmi2txt_menu(&b, span_cstr("# A long enough title\n"
	    "=> /x.gmi x\n"), &o));
	CHECK_STR("keep", buf_cstr(&b));
	buf_free(&b);
}

/* Every allocation failing in turn: a clean -1, nothing half written. */
static void
test_allocation_failures(void)
{
	static const char	page[] = "# T\nsome text to wrap\n* item\n"
	    "> quote\n```\npre\n```\n=> /a.gmi A\n=> https://x/ X\n";
	struct gmi2txt_opts	o = opts_for("/blog/post.gmi");
	struct buf		b;
	unsigned long		n;
	int			rc, menu_mode, ok = 0;

	for (menu_mode = 0; menu_mode < 2; menu_mode++) {
		for (n = 1; n < 200; n++) {
			buf_init(&b, 1 << 16);
			mem_fail_after(n, 1);
			rc = menu_mode ? gmi2txt_menu(&b, span_cstr(page), &o) :
			    gmi2txt_text(&b, span_cstr(page), &o);
			mem_fail_after(0, 0);
			CHECK(rc == 0 || b.len == 0);
			buf_free(&b);
			if (rc == 0) {
				ok++;
				break;
			}
		}
	}
	CHECK_INT(2, ok);
}

#define I(s)	"i" s "\tfake\tnull.host\t1\r\n"
#define H	"\texample.org\t7070\r\n"

static void
test_menu_index(void)
{
	const char	*s;

	s = menu("# My Blog\n## Notes\n\n"
	    "=> first.gmi 2026-01-07 - First post\n"
	    "=> sub/ Subdir\n"
	    "=> /assets/a.png Image\n"
	    "=> /assets/b.gif\n"
	    "=> gemini://other.example/ Elsewhere\n"
	    "=> https://example.net/x?y=1 Web\n"
	    "=> //gem.example/p Scheme-relative\n"
	    "=> gopher://g.example:7071/0/x%20y.txt Gopher text\n"
	    "=> gopher://g.example Gopher root\n"
	    "=> /docs Docs\n"
	    "=> atom.xml Atom feed\n");
	CHECK_STR(I("My Blog") I("=======") I("Notes") I("-----") I("")
	    "02026-01-07 First post\t/blog/first.gmi" H
	    "1Subdir\t/blog/sub/" H
	    "IImage\t/assets/a.png" H
	    "g/assets/b.gif\t/assets/b.gif" H
	    "hElsewhere\tURL:gemini://other.example/" H
	    "hWeb\tURL:https://example.net/x?y=1" H
	    "hScheme-relative\tURL:gemini://gem.example/p" H
	    "0Gopher text\t/x y.txt\tg.example\t7071\r\n"
	    "1Gopher root\t\tg.example\t70\r\n"
	    "1Docs\t/docs/" H
	    "0Atom feed\t/blog/atom.xml" H
	    ".\r\n", s);
	CHECK_MENU(s, 67);
}

static void
test_menu_gopher_urls(void)
{
	CHECK_STR("1R\t/\t::1\t70\r\n.\r\n",
	    menu("=> gopher://[::1]/1/ R\n"));
	CHECK_STR("7S\t/search\tg.example\t70\r\n.\r\n",
	    menu("=> gopher://g.example:70/7/search S\n"));
	/* Malformed gopher URLs are passed on as URL: links. */
	CHECK_STR("hB\tURL:gopher://g.example:x/\texample.org\t7070\r\n"
	    ".\r\n", menu("=> gopher://g.example:x/ B\n"));
	CHECK_STR("hB\tURL:gopher:///1/\texample.org\t7070\r\n.\r\n",
	    menu("=> gopher:///1/ B\n"));
	CHECK_STR("hB\tURL:gopher://[::1/\texample.org\t7070\r\n.\r\n",
	    menu("=> gopher://[::1/ B\n"));
	/* %00 stays as it is; control bytes go back to escapes. */
	CHECK_STR("0N\ta%00b%09\tg\t70\r\n.\r\n",
	    menu("=> gopher://g/0a%00b%09 N\n"));
}

static void
test_menu_text(void)
{
	const char	*s;
	char		 in[600];
	int		 i;

	strcpy(in, "");
	for (i = 0; i < 40; i++)
		strcat(in, "menu ");
	strcat(in, "\n* item\n> quote\n.\n");
	s = menu(in);
	CHECK_MENU(s, 67);
	CHECK(strncmp(s, "imenu menu", 10) == 0);
	CHECK(strstr(s, I("  * item") I("> quote") I(".")) != NULL);
}

static void
test_menu_preformatted_cut(void)
{
	char		 in[300], want[300];
	const char	*s;

	strcpy(in, "```\n");
	memset(in + 4, 'p', 100);
	strcpy(in + 104, "\n```\n");
	s = menu(in);
	CHECK_MENU(s, 67);
	strcpy(want, "i");
	memset(want + 1, 'p', 66);
	strcpy(want + 67, "\xe2\x80\xa6\tfake");
	CHECK(strncmp(s, want, strlen(want)) == 0);
	CHECK_STR(I("        x") ".\r\n", menu("```\n\tx\n"));
}

static void
test_menu_display_cut(void)
{
	char		 in[300];
	const char	*s;

	strcpy(in, "=> /x.gmi ");
	memset(in + 10, 'd', 100);
	in[110] = '\0';
	s = menu(in);
	CHECK_MENU(s, 67);
	CHECK(strstr(s, "\xe2\x80\xa6\t/x.gmi\t") != NULL);
	/* A date label that is not a gemfeed entry is left alone. */
	CHECK_STR("02026-01-07 Title\t/blog/x.gmi" H ".\r\n",
	    menu("=> x.gmi 2026-01-07 Title\n"));
	CHECK_STR("02026-1-07 - T\t/blog/x.gmi" H ".\r\n",
	    menu("=> x.gmi 2026-1-07 - T\n"));
	CHECK_STR("02026-01-07 -\t/blog/x.gmi" H ".\r\n",
	    menu("=> x.gmi 2026-01-07 -\n"));
}

static char *
read_file(const char *path, size_t *n)
{
	FILE	*f;
	char	*p;
	long	 len;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == -1 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) == -1 ||
	    (p = malloc((size_t)len + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	*n = fread(p, 1, (size_t)len, f);
	p[*n] = '\0';
	fclose(f);
	return p;
}

/* Golden files hold LF line ends for readability; CRLF is checked apart. */
static char *
to_lf(const char *s, size_t n)
{
	char	*o = malloc(n + 1);
	size_t	 i, j = 0;

	if (o == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (!(s[i] == '\r' && i + 1 < n && s[i + 1] == '\n'))
			o[j++] = s[i];
	o[j] = '\0';
	return o;
}

static void
show_diff(const char *name, const char *want, const char *got)
{
	int	line = 1;

	while (*want != '\0' && *want == *got) {
		line += *want == '\n';
		want++;
		got++;
	}
	fprintf(stderr, "%s: differs at line %d\n  want: %.80s\n  got:  "
	    "%.80s\n", name, line, want, got);
}

static void
golden_one(const char *name)
{
	char		 path[1024], *gmi, *want, *got;
	size_t		 ng, nw;
	bool		 is_menu = strstr(name, "-menu.gmi") != NULL;
	const char	*out, *why;

	snprintf(path, sizeof(path), "%s/%s", golden_dir, name);
	if ((gmi = read_file(path, &ng)) == NULL) {
		fprintf(stderr, "%s: cannot read\n", path);
		check_failures++;
		return;
	}
	out = render(gmi, ng, is_menu, is_menu ? "/blog/" : "/blog/post.gmi");
	if ((why = broken(out, strlen(out), is_menu, 0)) != NULL) {
		fprintf(stderr, "%s: %s\n", name, why);
		check_failures++;
	}
	got = to_lf(out, strlen(out));
	snprintf(path + strlen(path) - 4, 5, ".txt");
	if (getenv("GMI2TXT_GOLDEN_WRITE") != NULL) {
		FILE	*f = fopen(path, "wb");

		if (f != NULL) {
			fputs(got, f);
			fclose(f);
		}
	}
	if ((want = read_file(path, &nw)) == NULL) {
		fprintf(stderr, "%s: no expected output\n", path);
		check_failures++;
	} else if (got == NULL || strcmp(want, got) != 0) {
		show_diff(path, want, got != NULL ? got : "");
		check_failures++;
	}
	free(gmi);
	free(want);
	free(got);
}

static void
test_golden(void)
{
	DIR		*d;
	struct dirent	*de;
	size_t		 n;
	int		 count = 0;

	if ((d = opendir(golden_dir)) == NULL) {
		fprintf(stderr, "%s: cannot open (run from the top directory "
		    "or give the directory as argument)\n", golden_dir);
		check_failures++;
		return;
	}
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n < 5 || strcmp(de->d_name + n - 4, ".gmi") != 0)
			continue;
		golden_one(de->d_name);
		count++;
	}
	closedir(d);
	CHECK(count > 0);
}

static char
type_by_server(void *arg, struct span path)
{
	(void)arg;
	return span_eq_cstr(path, "/search") ? '7' : '\0';
}

static void
test_menu_type_from_server(void)
{
	struct gmi2txt_opts	o = opts_for("/");
	struct buf		b;

	o.type_of = type_by_server;
	buf_init(&b, 4096);
	CHECK_INT(0, gmi2txt_menu(&b, span_cstr("=> search Find\n=> a.gmi A\n"),
	    &o));
	CHECK(buf_cstr(&b) != NULL &&
	    strstr(b.p, "7Find\t/search\texample.org\t7070\r\n") != NULL &&
	    strstr(b.p, "0A\t/a.gmi\t") != NULL);
	buf_free(&b);
}

int
main(int argc, char *argv[])
{
	if (argc > 1)
		golden_dir = argv[1];
	RUN(test_empty);
	RUN(test_short_lines);
	RUN(test_wrap_width);
	RUN(test_long_word);
	RUN(test_utf8_wrap);
	RUN(test_headings);
	RUN(test_long_heading);
	RUN(test_lists);
	RUN(test_quotes);
	RUN(test_indented_text);
	RUN(test_preformatted);
	RUN(test_links_text);
	RUN(test_link_targets);
	RUN(test_link_target_default_port);
	RUN(test_link_numbering_and_wrap);
	RUN(test_long_url_kept_whole);
	RUN(test_link_cap);
	RUN(test_dot_stuffing);
	RUN(test_no_tab_no_controls);
	RUN(test_invalid_utf8_passes);
	RUN(test_full_buffer);
	RUN(test_allocation_failures);
	RUN(test_menu_index);
	RUN(test_menu_gopher_urls);
	RUN(test_menu_text);
	RUN(test_menu_preformatted_cut);
	RUN(test_menu_display_cut);
	RUN(test_golden);
	buf_free(&outb);
	RUN(test_menu_type_from_server);
	return CHECK_SUMMARY();
}
