#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "check.h"
#include "feed.h"
#include "frontmatter.h"
#include "mem.h"

#define BIG	(1024 * 1024)

static struct fm_date
day(int y, int m, int d)
{
	struct fm_date	dt;

	memset(&dt, 0, sizeof(dt));
	dt.y = y;
	dt.m = m;
	dt.d = d;
	return dt;
}

static struct fm_date
at(int y, int m, int d, int hh, int mi, bool has_tz, int tz_min)
{
	struct fm_date	dt = day(y, m, d);

	dt.has_time = true;
	dt.hh = hh;
	dt.mi = mi;
	dt.has_tz = has_tz;
	dt.tz_min = tz_min;
	return dt;
}

static struct feed_entry
entry(const char *path, const struct post_meta *m, const char *body)
{
	struct feed_entry	e;

	e.path = path;
	e.meta = m;
	e.body = body != NULL ? span_cstr(body) : span_make(NULL, 0);
	return e;
}

/* Run a renderer into a fresh buffer and return its text (static copy). */
static const char *
text(struct buf *b)
{
	const char	*s = buf_cstr(b);

	return s != NULL ? s : "(no room)";
}

static void
test_date(void)
{
	struct fm_date	d = day(2026, 1, 7);
	char		s[11];

	feed_date(&d, s);
	CHECK_STR("2026-01-07", s);
	d = day(0, 0, 0);
	feed_date(&d, s);
	CHECK_STR("", s);
	d = day(2025, 2, 29);
	feed_date(&d, s);
	CHECK_STR("", s);
	d = day(2024, 2, 29);
	feed_date(&d, s);
	CHECK_STR("2024-02-29", s);
	d = day(12345, 1, 1);
	feed_date(&d, s);
	CHECK_STR("", s);
	d = at(2026, 1, 7, 23, 30, true, -300);
	feed_date(&d, s);
	CHECK_STR("2026-01-07", s);
}

static void
test_sort(void)
{
	struct post_meta	m[7];
	struct feed_entry	v[7];
	size_t			i;

	memset(m, 0, sizeof(m));
	m[0].title = "Plain";
	m[0].pubdate = day(2026, 1, 7);
	m[1].title = "Updated later";
	m[1].pubdate = day(2026, 1, 7);
	m[1].updated = day(2026, 2, 1);
	m[2].title = "Undated B";
	m[3].title = "Older";
	m[3].pubdate = day(2025, 12, 31);
	m[4].title = "Alpha";
	m[4].pubdate = day(2026, 1, 7);
	/* 23:00 at UTC-5 is 04:00 UTC the next day: newest of all. */
	m[5].title = "Evening";
	m[5].pubdate = at(2026, 1, 7, 23, 0, true, -300);
	m[6].title = "Undated A";
	m[6].updated = day(2020, 1, 1);
	for (i = 0; i < 7; i++)
		v[i] = entry(NULL, &m[i], NULL);
	v[0].path = "/b";
	v[2].path = "/x";
	v[6].path = "/y";
	feed_sort(v, 7);
	CHECK_STR("Evening", v[0].meta->title);
	CHECK_STR("Updated later", v[1].meta->title);
	CHECK_STR("Alpha", v[2].meta->title);
	CHECK_STR("Plain", v[3].meta->title);
	CHECK_STR("Older", v[4].meta->title);
	CHECK_STR("Undated A", v[5].meta->title);
	CHECK_STR("Undated B", v[6].meta->title);

	/* Same everything but the path. */
	m[0].title = "Same";
	m[4].title = "Same";
	v[0] = entry("/z", &m[0], NULL);
	v[1] = entry("/a", &m[4], NULL);
	feed_sort(v, 2);
	CHECK_STR("/a", v[0].path);
	CHECK_STR("/z", v[1].path);
	feed_sort(v, 0);
	feed_sort(NULL, 0);
}

/* The pattern Lagrange uses to find a gemfeed entry in a page. */
static bool
lagrange_entry(const char *line)
{
	regex_t	re;
	bool	match;

	if (regcomp(&re, "^=>[[:space:]]*[^[:space:]]+[[:space:]]+"
	    "[0-9]{4}-[0-1][0-9]-[0-3][0-9][^0-9].*", REG_EXTENDED |
	    REG_NOSUB) != 0)
		return false;
	match = regexec(&re, line, 0, NULL, 0) == 0;
	regfree(&re);
	return match;
}

static void
test_index(void)
{
	struct post_meta	m[3];
	struct feed_entry	v[3];
	struct buf		b;

	memset(m, 0, sizeof(m));
	m[0].title = "2024 in review";
	m[0].pubdate = day(2026, 1, 7);
	m[1].title = "Line one\r\nLine two\t";
	m[1].pubdate = day(2025, 12, 1);
	m[2].title = " \r\n";
	v[0] = entry("/blog/first.gmi", &m[0], NULL);
	v[1] = entry("/blog/second.gmi", &m[1], NULL);
	v[2] = entry("/blog/undated.gmi", &m[2], NULL);
	buf_init(&b, BIG);
	CHECK_INT(0, feed_index(&b, "/blog/", "My Blog", v, 3));
	CHECK_STR("# My Blog\n\n"
	    "=> first.gmi 2026-01-07 - 2024 in review\n"
	    "=> second.gmi 2025-12-01 - Line one Line two\n"
	    "=> undated.gmi undated.gmi\n"
	    "\n=> atom.xml Atom feed\n", text(&b));
	CHECK(lagrange_entry("=> first.gmi 2026-01-07 - 2024 in review"));
	CHECK(lagrange_entry("=> second.gmi 2025-12-01 - Line one Line two"));
	CHECK(!lagrange_entry("=> undated.gmi undated.gmi"));
	/* What the " - " protects against. */
	CHECK(!lagrange_entry("=> first.gmi 2026-01-072024 in review"));

	buf_reset(&b);
	CHECK_INT(0, feed_index(&b, "/blog", "\n", NULL, 0));
	CHECK_STR("# /blog\n\nNo posts yet.\n\n=> atom.xml Atom feed\n",
	    text(&b));

	/* Links that would mislead: a scheme, a space, another directory. */
	buf_reset(&b);
	v[0] = entry("/blog/a:b.gmi", NULL, NULL);
	v[1] = entry("/other/x y.gmi", NULL, NULL);
	v[2] = entry("/blog/", NULL, NULL);
	CHECK_INT(0, feed_index(&b, "/blog/", "B", v, 3));
	CHECK_STR("# B\n\n"
	    "=> ./a:b.gmi a:b.gmi\n"
	    "=> /other/x%20y.gmi x y.gmi\n"
	    "=> /blog/ blog\n"
	    "\n=> atom.xml Atom feed\n", text(&b));
	buf_free(&b);
}

static void
test_flatten_hostile_title(void)
{
	struct post_meta	m;
	struct feed_entry	v;
	struct buf		b;

	memset(&m, 0, sizeof(m));
	m.title = "a\x01\x7f" "b\xc2\x85" "c\xe2\x80\xa8" "d\xff" "e\xc0\xaf"
	    "f\xed\xa0\x80" "g\xf4\x90\x80\x80" "h\xe2\x82";
	m.pubdate = day(2026, 1, 7);
	v = entry("/p.gmi", &m, NULL);
	buf_init(&b, BIG);
	CHECK_INT(0, feed_index(&b, "/", "T", &v, 1));
	CHECK_STR("# T\n\n=> p.gmi 2026-01-07 - ab c d\xef\xbf\xbd"
	    "e\xef\xbf\xbd\xef\xbf\xbd" "f\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
	    "g\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
	    "h\xef\xbf\xbd\xef\xbf\xbd\n\n=> atom.xml Atom feed\n", text(&b));
	buf_free(&b);
}

static void
test_atom_exact(void)
{
	static char		*tags[] = { "C", "unix & co" };
	struct post_meta	m[2];
	struct feed_entry	v[2];
	struct buf		b;

	memset(m, 0, sizeof(m));
	m[0].title = "Second";
	m[0].description = "About C.";
	m[0].pubdate = day(2026, 1, 7);
	m[0].tags = tags;
	m[0].ntags = 2;
	m[0].lang = "en-GB";
	m[1].title = "First";
	m[1].pubdate = at(2025, 12, 1, 8, 30, false, 0);
	m[1].updated = at(2026, 1, 8, 1, 15, true, 120);
	m[1].lang = "en\"><x";
	v[0] = entry("/blog/second.gmi", &m[0], NULL);
	v[1] = entry("/blog/first.gmi", &m[1], NULL);
	buf_init(&b, BIG);
	CHECK_INT(0, feed_atom(&b, "gemini://localhost:1966", "/blog/",
	    "My Blog", v, 2));
	CHECK_STR("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	    "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n"
	    "  <id>gemini://localhost:1966/blog/</id>\n"
	    "  <title>My Blog</title>\n"
	    "  <updated>2026-01-07T23:15:00Z</updated>\n"
	    "  <author><name>My Blog</name></author>\n"
	    "  <link rel=\"self\" type=\"application/atom+xml\" "
	    "href=\"gemini://localhost:1966/blog/atom.xml\"/>\n"
	    "  <link rel=\"alternate\" type=\"text/gemini\" "
	    "href=\"gemini://localhost:1966/blog/\"/>\n"
	    "  <entry>\n"
	    "    <id>gemini://localhost:1966/blog/second.gmi</id>\n"
	    "    <title>Second</title>\n"
	    "    <link rel=\"alternate\" type=\"text/gemini\" "
	    "href=\"gemini://localhost:1966/blog/second.gmi\" "
	    "hreflang=\"en-GB\"/>\n"
	    "    <summary>About C.</summary>\n"
	    "    <published>2026-01-07T12:00:00Z</published>\n"
	    "    <updated>2026-01-07T12:00:00Z</updated>\n"
	    "    <category term=\"C\"/>\n"
	    "    <category term=\"unix &amp; co\"/>\n"
	    "  </entry>\n"
	    "  <entry>\n"
	    "    <id>gemini://localhost:1966/blog/first.gmi</id>\n"
	    "    <title>First</title>\n"
	    "    <link rel=\"alternate\" type=\"text/gemini\" "
	    "href=\"gemini://localhost:1966/blog/first.gmi\"/>\n"
	    "    <published>2025-12-01T08:30:00Z</published>\n"
	    "    <updated>2026-01-07T23:15:00Z</updated>\n"
	    "  </entry>\n"
	    "</feed>\n", text(&b));

	buf_reset(&b);
	CHECK_INT(0, feed_atom(&b, "gemini://localhost", "/blog", "B",
	    NULL, 0));
	CHECK_STR("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	    "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n"
	    "  <id>gemini://localhost/blog/</id>\n"
	    "  <title>B</title>\n"
	    "  <updated>1970-01-01T00:00:00Z</updated>\n"
	    "  <author><name>B</name></author>\n"
	    "  <link rel=\"self\" type=\"application/atom+xml\" "
	    "href=\"gemini://localhost/blog/atom.xml\"/>\n"
	    "  <link rel=\"alternate\" type=\"text/gemini\" "
	    "href=\"gemini://localhost/blog/\"/>\n"
	    "</feed>\n", text(&b));
	buf_free(&b);
}

static void
test_atom_dates(void)
{
	struct post_meta	m, m2[2];
	struct feed_entry	v, w[2];
	struct buf		b;

	memset(&m, 0, sizeof(m));
	m.title = "T";
	/* 00:30 at UTC+05:30 is 19:00 the day before, across a year. */
	m.pubdate = at(2026, 1, 1, 0, 30, true, 330);
	/* 23:59 at UTC-01:00 is 00:59 on the 1st of March (leap year). */
	m.updated = at(2028, 2, 29, 23, 59, true, -60);
	v = entry("/t.gmi", &m, NULL);
	buf_init(&b, BIG);
	CHECK_INT(0, feed_atom(&b, "gemini://h", "/", "T", &v, 1));
	CHECK(strstr(text(&b), "<published>2025-12-31T19:00:00Z</published>")
	    != NULL);
	CHECK(strstr(text(&b), "    <updated>2028-03-01T00:59:00Z</updated>")
	    != NULL);
	CHECK(strstr(text(&b), "  <updated>2028-03-01T00:59:00Z</updated>")
	    != NULL);

	/* An update before publication is read as none. */
	m.updated = day(2020, 1, 1);
	buf_reset(&b);
	CHECK_INT(0, feed_atom(&b, "gemini://h", "/", "T", &v, 1));
	CHECK(strstr(text(&b), "    <updated>2025-12-31T19:00:00Z</updated>")
	    != NULL);

	/* The feed is as new as its newest change, wherever that entry is. */
	memset(m2, 0, sizeof(m2));
	m2[0].pubdate = day(2026, 1, 7);
	m2[1].pubdate = day(2025, 1, 1);
	m2[1].updated = at(2026, 3, 1, 9, 0, false, 0);
	w[0] = entry("/a", &m2[0], NULL);
	w[1] = entry("/b", &m2[1], NULL);
	buf_reset(&b);
	CHECK_INT(0, feed_atom(&b, "gemini://h", "/", "T", w, 2));
	CHECK(strstr(text(&b), "  <updated>2026-03-01T09:00:00Z</updated>\n"
	    "  <author>") != NULL);

	/* Undated: no published, updated falls back to the epoch. */
	memset(&m, 0, sizeof(m));
	m.pubdate = day(2026, 2, 30);
	buf_reset(&b);
	CHECK_INT(0, feed_atom(&b, "gemini://h", "/", "T", &v, 1));
	CHECK(strstr(text(&b), "<published>") == NULL);
	CHECK(strstr(text(&b), "    <updated>1970-01-01T00:00:00Z</updated>")
	    != NULL);
	CHECK(strstr(text(&b), "<title>t.gmi</title>") != NULL);
	buf_free(&b);
}

static void
test_atom_escaping(void)
{
	static char		*tags[] = { "a\"b<c", "", "\x01" };
	struct post_meta	m;
	struct feed_entry	v;
	struct buf		b;

	memset(&m, 0, sizeof(m));
	m.title = "<&>\"'";
	m.description = "x\x01y\x1b[31mz\x7f\xc2\x80\xef\xbf\xbe!\xfe"
	    "\xe2\x82\r\nnext";
	m.tags = tags;
	m.ntags = 3;
	m.pubdate = day(2026, 1, 7);
	v = entry("/a&b.gmi", &m, NULL);
	buf_init(&b, BIG);
	CHECK_INT(0, feed_atom(&b, "gemini://h", "/", "<T>", &v, 1));
	CHECK(strstr(text(&b), "<title>&lt;&amp;&gt;&quot;&apos;</title>")
	    != NULL);
	CHECK(strstr(text(&b), "<title>&lt;T&gt;</title>") != NULL);
	CHECK(strstr(text(&b), "<summary>xy[31mz\xef\xbf\xbd!\xef\xbf\xbd"
	    "\xef\xbf\xbd\xef\xbf\xbd next</summary>") != NULL);
	CHECK(strstr(text(&b), "<category term=\"a&quot;b&lt;c\"/>\n  </entry>")
	    != NULL);
	CHECK(strstr(text(&b), "<id>gemini://h/a&amp;b.gmi</id>") != NULL);
	buf_free(&b);
}

/* The fixture every failure test renders. */
static struct post_meta		fx_meta[2];
static struct feed_entry	fx[2];

static void
fixture(void)
{
	static char	*tags[] = { "one", "Two", "two" };

	memset(fx_meta, 0, sizeof(fx_meta));
	fx_meta[0].title = "Hello <world>";
	fx_meta[0].description = "Desc & more";
	fx_meta[0].pubdate = day(2026, 1, 7);
	fx_meta[0].tags = tags;
	fx_meta[0].ntags = 3;
	fx_meta[1].title = "Second";
	fx_meta[1].tags = tags + 1;
	fx_meta[1].ntags = 1;
	fx[0] = entry("/blog/hello.gmi", &fx_meta[0], "body one");
	fx[1] = entry("/blog/second.gmi", &fx_meta[1], "body two");
}

/* Run xmllint over the buffer; its exit status (0: well-formed). */
static int
xmllint(const struct buf *b, bool quiet)
{
	char	path[] = "/tmp/test_feed_XXXXXX";
	char	cmd[128];
	int	fd, rc;

	if ((fd = mkstemp(path)) == -1)
		return -1;
	if (write(fd, b->p, b->len) != (ssize_t)b->len) {
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	snprintf(cmd, sizeof(cmd), "xmllint --noout %s%s", path,
	    quiet ? " 2>/dev/null" : "");
	rc = system(cmd);
	unlink(path);
	return rc;
}

/* Well-formedness of hostile input, checked by libxml2. */
static void
test_atom_xmllint(void)
{
	static char		*tags[] = { "x&y", "\xff" };
	struct post_meta	m[2];
	struct feed_entry	v[3];
	struct buf		b;

	if (system("command -v xmllint >/dev/null 2>&1") != 0) {
		printf("note: xmllint not found, Atom not validated\n");
		return;
	}
	memset(m, 0, sizeof(m));
	m[0].title = "<b>\x01\x02\x0b\x0c\x1f&\xed\xa0\x80\xc3\x28\"'";
	m[0].description = "]]> <![CDATA[ \xef\xbf\xbf";
	m[0].pubdate = at(2026, 1, 7, 10, 0, true, -600);
	m[0].tags = tags;
	m[0].ntags = 2;
	m[1].pubdate = day(2026, 1, 1);
	v[0] = entry("/p<1>.gmi", &m[0], NULL);
	v[1] = entry("/p 2.gmi", &m[1], NULL);
	v[2] = entry("/p\xc3\xa9.gmi", NULL, NULL);
	buf_init(&b, BIG);
	CHECK_INT(0, feed_atom(&b, "gemini://h&x", "/d\"/", "\x01", v, 3));
	CHECK_INT(0, xmllint(&b, false));
	buf_reset(&b);
	CHECK_INT(0, feed_atom(&b, "gemini://h", "/", "E", NULL, 0));
	CHECK_INT(0, xmllint(&b, false));
	buf_reset(&b);
	fixture();
	CHECK_INT(0, feed_atom(&b, "gemini://h", "/blog/", "B", fx, 2));
	CHECK_INT(0, xmllint(&b, false));
	/* The check can fail: broken XML is refused. */
	CHECK_INT(0, buf_puts(&b, "<oops"));
	CHECK(xmllint(&b, true) != 0);
	buf_free(&b);
}

static void
test_tags_index(void)
{
	static char		*t0[] = { "Go", "C", "c" };
	static char		*t1[] = { "c", "go lang", "a/b?#%\xc3\xa9" };
	static char		*t2[] = { "go", "", "Zig\r\n" };
	struct post_meta	m[3];
	struct feed_entry	v[4];
	struct buf		b;

	memset(m, 0, sizeof(m));
	m[0].tags = t0;
	m[0].ntags = 3;
	m[1].tags = t1;
	m[1].ntags = 3;
	m[2].tags = t2;
	m[2].ntags = 3;
	v[0] = entry("/0", &m[0], NULL);
	v[1] = entry("/1", &m[1], NULL);
	v[2] = entry("/2", &m[2], NULL);
	v[3] = entry("/3", NULL, NULL);
	buf_init(&b, BIG);
	CHECK_INT(0, feed_tags_index(&b, v, 4));
	CHECK_STR("# Tags\n\n"
	    "=> /tags/a%2Fb%3F%23%25%C3%A9.gmi a/b?#%\xc3\xa9 (1)\n"
	    "=> /tags/C.gmi C (2)\n"
	    "=> /tags/Go.gmi Go (2)\n"
	    "=> /tags/go%20lang.gmi go lang (1)\n"
	    "=> /tags/Zig%0D%0A.gmi Zig (1)\n", text(&b));

	buf_reset(&b);
	CHECK_INT(0, feed_tags_index(&b, v + 3, 1));
	CHECK_STR("# Tags\n\nNo tags yet.\n", text(&b));
	buf_free(&b);
}

static void
test_tag_page(void)
{
	static char		*t0[] = { "Unix" };
	static char		*t1[] = { "UNIX", "c" };
	static char		*t2[] = { "unix" };
	struct post_meta	m[3];
	struct feed_entry	v[4];
	struct buf		b;

	memset(m, 0, sizeof(m));
	m[0].tags = t0;
	m[0].ntags = 1;
	m[0].title = "One";
	m[0].pubdate = day(2026, 1, 7);
	m[1].tags = t1;
	m[1].ntags = 2;
	m[1].title = "Two\nlines";
	m[2].tags = t2;
	m[2].ntags = 1;
	v[0] = entry("/c.gmi", &m[1], NULL);
	v[1] = entry("/blog/one.gmi", &m[0], NULL);
	v[2] = entry("/x", NULL, NULL);
	v[3] = entry("/blog/three.gmi", &m[2], NULL);
	buf_init(&b, BIG);
	CHECK_INT(0, buf_puts(&b, "keep"));
	CHECK_INT(0, feed_tag_page(&b, span_cstr("uNiX"), v, 4));
	CHECK_STR("keep# Posts tagged UNIX\n\n"
	    "=> /c.gmi Two lines\n"
	    "=> /blog/one.gmi 2026-01-07 - One\n"
	    "=> /blog/three.gmi three.gmi\n"
	    "\n=> /tags/ All tags\n", text(&b));

	buf_reset(&b);
	CHECK_INT(0, buf_puts(&b, "keep"));
	CHECK_INT(1, feed_tag_page(&b, span_cstr("nope"), v, 4));
	CHECK_INT(1, feed_tag_page(&b, span_make("unix\0", 5), v, 4));
	CHECK_INT(1, feed_tag_page(&b, span_make("", 0), v, 4));
	CHECK_INT(1, feed_tag_page(&b, span_cstr("unix"), NULL, 0));
	CHECK_STR("keep", text(&b));
	buf_free(&b);
}

static void
test_search(void)
{
	struct post_meta	m[3];
	struct feed_entry	v[3];
	struct buf		b;

	memset(m, 0, sizeof(m));
	m[0].title = "Data Engineering";
	m[0].description = "Pipelines in practice";
	m[0].pubdate = day(2026, 1, 7);
	m[1].title = "Gemini notes";
	m[1].pubdate = day(2025, 5, 1);
	v[0] = entry("/blog/data.gmi", &m[0], "Spark and Kafka.\n");
	v[1] = entry("/blog/gemini.gmi", &m[1], "About DATA on gemini.\n");
	v[2] = entry("/blog/none.gmi", &m[2], "Caf\xc3\xa9 k\xc3\xa9\x66ir\n");
	buf_init(&b, BIG);

	CHECK_INT(0, feed_search(&b, span_cstr("data"), v, 3));
	CHECK_STR("# Search: data\n\n"
	    "=> /blog/data.gmi 2026-01-07 - Data Engineering\n"
	    "=> /blog/gemini.gmi 2025-05-01 - Gemini notes\n"
	    "\n=> /search Search again\n", text(&b));

	/* AND over words, across title, description and body. */
	buf_reset(&b);
	CHECK_INT(0, feed_search(&b, span_cstr("  DATA\tkafka  pipelines "),
	    v, 3));
	CHECK_STR("# Search: DATA kafka pipelines\n\n"
	    "=> /blog/data.gmi 2026-01-07 - Data Engineering\n"
	    "\n=> /search Search again\n", text(&b));

	buf_reset(&b);
	CHECK_INT(0, feed_search(&b, span_cstr("data zebra"), v, 3));
	CHECK_STR("# Search: data zebra\n\nNo posts match.\n"
	    "\n=> /search Search again\n", text(&b));

	/* UTF-8 is compared as it is: no folding beyond ASCII. */
	buf_reset(&b);
	CHECK_INT(0, feed_search(&b, span_cstr("CAF\xc3\xa9"), v, 3));
	CHECK(strstr(text(&b), "=> /blog/none.gmi none.gmi\n") != NULL);
	buf_reset(&b);
	CHECK_INT(0, feed_search(&b, span_cstr("caf\xc3\x89"), v, 3));
	CHECK(strstr(text(&b), "No posts match.") != NULL);

	/* A word that needs the failure table (overlapping prefix). */
	v[2].body = span_cstr("aabaabaaab");
	buf_reset(&b);
	CHECK_INT(0, feed_search(&b, span_cstr("AABAAAB"), v, 3));
	CHECK(strstr(text(&b), "=> /blog/none.gmi") != NULL);
	buf_reset(&b);
	CHECK_INT(0, feed_search(&b, span_cstr("aaaa"), v, 3));
	CHECK(strstr(text(&b), "No posts match.") != NULL);

	buf_reset(&b);
	CHECK_INT(0, feed_search(&b, span_cstr(" \t\r\n"), v, 3));
	CHECK_STR("# Search\n\nType one or more words to search for.\n"
	    "\n=> /search Search again\n", text(&b));
	buf_reset(&b);
	CHECK_INT(0, feed_search(&b, span_make(NULL, 0), v, 3));
	CHECK(strstr(text(&b), "Type one or more words") != NULL);
	buf_free(&b);
}

static void
test_search_hostile(void)
{
	struct post_meta	m;
	struct feed_entry	v;
	struct buf		b;
	char			*q;
	size_t			i, qn = 200000;
	const char		*s;

	memset(&m, 0, sizeof(m));
	m.title = "T";
	v = entry("/t.gmi", &m, "has a\0nul and more");
	v.body.n = 18;
	buf_init(&b, BIG);

	CHECK_INT(0, feed_search(&b, span_make("a\0nul", 5), &v, 1));
	CHECK_MEM("# Search: anul\n\n=> /t.gmi T\n"
	    "\n=> /search Search again\n", b.p, b.len);

	buf_reset(&b);
	CHECK_INT(0, feed_search(&b, span_cstr("x\r\n=> evil 2026-01-01 - y"),
	    &v, 1));
	CHECK_STR("# Search: x => evil 2026-01-01 - y\n\nNo posts match.\n"
	    "\n=> /search Search again\n", text(&b));

	/* A long word, many words, a long echo: bounded output. */
	q = malloc(qn);
	CHECK(q != NULL);
	if (q == NULL)
		return;
	for (i = 0; i < qn; i++)
		q[i] = i % 3 == 2 ? ' ' : 'a';
	memset(q, 'a', 1000);
	buf_reset(&b);
	CHECK_INT(0, feed_search(&b, span_make(q, qn), &v, 1));
	s = text(&b);
	CHECK(strncmp(s, "# Search: ", 10) == 0);
	CHECK(strchr(s, '\n') - s == 10 + FEED_SEARCH_SHOW_MAX);
	CHECK(strstr(s, "No posts match.") != NULL);

	/* A 128-byte prefix of a longer word still finds it. */
	buf_reset(&b);
	v.body = span_make(q, 128);
	CHECK_INT(0, feed_search(&b, span_make(q, 1000), &v, 1));
	CHECK(strstr(text(&b), "=> /t.gmi") != NULL);

	/* The echo is cut before a split character. */
	memset(q, 'b', FEED_SEARCH_SHOW_MAX - 1);
	memcpy(q + FEED_SEARCH_SHOW_MAX - 1, "\xc3\xa9", 2);
	buf_reset(&b);
	CHECK_INT(0, feed_search(&b, span_make(q, FEED_SEARCH_SHOW_MAX + 1),
	    &v, 1));
	s = text(&b);
	CHECK(strchr(s, '\n') - s == 10 + FEED_SEARCH_SHOW_MAX - 1);
	free(q);
	buf_free(&b);
}

static void
test_search_cap(void)
{
	struct post_meta	m;
	struct feed_entry	v[150];
	struct buf		b;
	size_t			i, lines = 0;
	const char		*s;

	memset(&m, 0, sizeof(m));
	m.title = "Match";
	for (i = 0; i < 150; i++)
		v[i] = entry("/m.gmi", &m, NULL);
	buf_init(&b, BIG);
	CHECK_INT(0, feed_search(&b, span_cstr("match"), v, 150));
	for (s = text(&b); (s = strstr(s, "=> /m.gmi")) != NULL; s++)
		lines++;
	CHECK_INT(FEED_SEARCH_MAX_RESULTS, lines);
	CHECK(strstr(text(&b), "Only the first 100 matches are shown.\n")
	    != NULL);

	buf_reset(&b);
	CHECK_INT(0, feed_search(&b, span_cstr("match"), v, 100));
	CHECK(strstr(text(&b), "Only the first") == NULL);
	buf_free(&b);
}

/* Render with function k; 0, 1 or -1 as the function returns. */
static int
render(int k, struct buf *b)
{
	switch (k) {
	case 0:
		return feed_index(b, "/blog/", "Blog", fx, 2);
	case 1:
		return feed_atom(b, "gemini://h", "/blog/", "Blog", fx, 2);
	case 2:
		return feed_tags_index(b, fx, 2);
	case 3:
		return feed_tag_page(b, span_cstr("TWO"), fx, 2);
	default:
		return feed_search(b, span_cstr("body"), fx, 2);
	}
}

static void
test_alloc_failures(void)
{
	struct buf	b;
	unsigned long	n;
	int		k, rc;

	fixture();
	for (k = 0; k < 5; k++) {
		for (n = 1; n < 1000; n++) {
			buf_init(&b, BIG);
			CHECK_INT(0, buf_puts(&b, "pre"));
			mem_fail_after(n, 1);
			rc = render(k, &b);
			mem_fail_after(0, 0);
			if (rc == 0) {
				buf_free(&b);
				break;
			}
			CHECK_INT(-1, rc);
			CHECK_MEM("pre", b.p, b.len);
			buf_free(&b);
		}
		CHECK(n < 1000);
	}
}

static void
test_full_buffer(void)
{
	struct buf	b;
	size_t		max, full;
	int		k;

	fixture();
	for (k = 0; k < 5; k++) {
		buf_init(&b, BIG);
		CHECK_INT(0, render(k, &b));
		full = b.len;
		buf_free(&b);
		for (max = 3; max < full + 3; max++) {
			buf_init(&b, max);
			CHECK_INT(0, buf_puts(&b, "pre"));
			CHECK_INT(-1, render(k, &b));
			CHECK_MEM("pre", b.p, b.len);
			buf_free(&b);
		}
		buf_init(&b, full + 3);
		CHECK_INT(0, buf_puts(&b, "pre"));
		CHECK_INT(0, render(k, &b));
		CHECK_INT(full + 3, b.len);
		buf_free(&b);
	}
}

int
main(void)
{
	RUN(test_date);
	RUN(test_sort);
	RUN(test_index);
	RUN(test_flatten_hostile_title);
	RUN(test_atom_exact);
	RUN(test_atom_dates);
	RUN(test_atom_escaping);
	RUN(test_atom_xmllint);
	RUN(test_tags_index);
	RUN(test_tag_page);
	RUN(test_search);
	RUN(test_search_hostile);
	RUN(test_search_cap);
	RUN(test_alloc_failures);
	RUN(test_full_buffer);
	return CHECK_SUMMARY();
}
