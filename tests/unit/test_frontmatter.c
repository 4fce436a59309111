#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "frontmatter.h"
#include "mem.h"

static int
date_of(const char *s, struct fm_date *d)
{
	return fm_parse_date(span_cstr(s), d);
}

#define CHECK_DATE(str, yy, mm, dd) do {				\
	struct fm_date	d_;						\
	CHECK_INT(0, date_of(str, &d_));				\
	CHECK_INT(yy, d_.y);						\
	CHECK_INT(mm, d_.m);						\
	CHECK_INT(dd, d_.d);						\
} while (0)

#define CHECK_NODATE(str) do {						\
	struct fm_date	d_;						\
	CHECK_INT(-1, date_of(str, &d_));				\
	CHECK_INT(0, d_.y);						\
} while (0)

static void
test_date_forms(void)
{
	struct fm_date	d;

	CHECK_DATE("Jan 07 2026", 2026, 1, 7);
	CHECK_DATE("jan 7 2026", 2026, 1, 7);
	CHECK_DATE("January 7, 2026", 2026, 1, 7);
	CHECK_DATE("June 13 2025", 2025, 6, 13);
	CHECK_DATE("Sept 3, 2024", 2024, 9, 3);
	CHECK_DATE("Jan. 7, 2026", 2026, 1, 7);
	CHECK_DATE("07 Jan 2026", 2026, 1, 7);
	CHECK_DATE("2026-01-07", 2026, 1, 7);
	CHECK_DATE("  2026-01-07  ", 2026, 1, 7);
	CHECK_DATE("2026/01/07", 2026, 1, 7);
	CHECK_DATE("2013/7/13", 2013, 7, 13);
	CHECK_DATE("2013/7/13 20:46:25", 2013, 7, 13);
	CHECK_DATE("2024-02-29", 2024, 2, 29);
	CHECK_DATE("2000-02-29", 2000, 2, 29);
	CHECK_DATE("Tue Jan 07 2026 10:00:00 GMT+0000 (Coordinated "
	    "Universal Time)", 2026, 1, 7);
	CHECK_DATE("Jan 07 2026 10:00", 2026, 1, 7);

	/* Datetimes keep the calendar date as written, zone or not. */
	CHECK_INT(0, date_of("2020-12-23T08:10:57.000Z", &d));
	CHECK_INT(23, d.d);
	CHECK(d.has_time);
	CHECK(d.has_tz);
	CHECK_INT(8, d.hh);
	CHECK_INT(0, date_of("2026-01-07T23:30:00-05:00", &d));
	CHECK_INT(7, d.d);
	CHECK_INT(-300, d.tz_min);
	CHECK_INT(0, date_of("2026-01-07 10:00:00 +0530", &d));
	CHECK_INT(330, d.tz_min);
	CHECK_INT(0, date_of("2026-01-07T10:00", &d));
	CHECK(d.has_time);
	CHECK(!d.has_tz);
	CHECK_INT(0, date_of("2026-01-07 10:00 UTC", &d));
	CHECK(d.has_tz);

	/* RFC 2822, with a weekday that is ignored even when wrong. */
	CHECK_INT(0, date_of("Wed, 07 Jan 2026 10:00:00 +0000", &d));
	CHECK_INT(2026, d.y);
	CHECK_INT(1, d.m);
	CHECK_INT(7, d.d);
	CHECK_INT(10, d.hh);
	CHECK_DATE("Mon, 07 Jan 2026 10:00:00 GMT", 2026, 1, 7);
	CHECK_DATE("Tuesday, January 7, 2026", 2026, 1, 7);
}

static void
test_date_rejects(void)
{
	CHECK_NODATE("01/07/2026");
	CHECK_NODATE("7/1/2026");
	CHECK_NODATE("01-07-2026");
	CHECK_NODATE("Jan 07 26");
	CHECK_NODATE("26-01-07");
	CHECK_NODATE("2026-02-30");
	CHECK_NODATE("2025-02-29");
	CHECK_NODATE("1900-02-29");
	CHECK_NODATE("2026-13-01");
	CHECK_NODATE("2026-00-10");
	CHECK_NODATE("2026-01-00");
	CHECK_NODATE("2026-1-7");
	CHECK_NODATE("Feb 30 2026");
	CHECK_NODATE("Foo 07 2026");
	CHECK_NODATE("yesterday");
	CHECK_NODATE("1767744000");
	CHECK_NODATE("");
	CHECK_NODATE("   ");
	CHECK_NODATE("2026-01-07T");
	CHECK_NODATE("2026-01-07T25:00");
	CHECK_NODATE("2026-01-07 10:61");
	CHECK_NODATE("2026-01-07 junk");
	CHECK_NODATE("Jan 07 2026 junk");
	CHECK_NODATE("Wed,");
	CHECK_NODATE("2026-01-07+99:00");
	CHECK_NODATE("20260-01-07");
}

struct parsed {
	struct post_meta	meta;
	struct fm_diags		diags;
	struct span		body;
	unsigned long		body_line;
	int			rc;
};

static void
parse(const char *doc, struct parsed *p)
{
	memset(p, 0, sizeof(*p));
	p->rc = fm_parse(span_cstr(doc), &p->meta, &p->body, &p->body_line,
	    &p->diags);
}

static void
parsed_free(struct parsed *p)
{
	fm_meta_free(&p->meta);
	fm_diags_free(&p->diags);
}

static bool
has_diag(const struct parsed *p, unsigned long line, const char *sub)
{
	size_t	i;

	for (i = 0; i < p->diags.n; i++)
		if (p->diags.v[i].line == line &&
		    strstr(p->diags.v[i].msg, sub) != NULL)
			return true;
	return false;
}

static void
test_seed_front_matter(void)
{
	struct parsed	p;

	parse("---\n"
	    "title: 'My Journey into Data Engineering'\n"
	    "description: 'How I got into data engineering.'\n"
	    "pubDate: 'Jan 07 2026'\n"
	    "heroImage: '../../../assets/my-journey.png'\n"
	    "---\n"
	    "\n"
	    "Body.\n", &p);
	CHECK_INT(0, p.rc);
	CHECK_STR("My Journey into Data Engineering", p.meta.title);
	CHECK_STR("How I got into data engineering.", p.meta.description);
	CHECK_STR("../../../assets/my-journey.png", p.meta.hero);
	CHECK_INT(5, p.meta.hero_line);
	CHECK_INT(2026, p.meta.pubdate.y);
	CHECK_INT(7, p.meta.pubdate.d);
	CHECK(!p.meta.draft);
	CHECK(!p.meta.broken);
	CHECK_INT(0, p.diags.n);
	CHECK_INT(7, p.body_line);
	CHECK_MEM("\nBody.\n", p.body.p, p.body.n);
	parsed_free(&p);
}

static void
test_crlf_bom_dots(void)
{
	struct parsed	p;

	parse("\xef\xbb\xbf---\r\ntitle: Hello\r\ndate: 2026-01-07\r\n---\r\n"
	    "Body\r\n", &p);
	CHECK_STR("Hello", p.meta.title);
	CHECK_INT(2026, p.meta.pubdate.y);
	CHECK_MEM("Body\r\n", p.body.p, p.body.n);
	CHECK_INT(5, p.body_line);
	parsed_free(&p);

	parse("---\ntitle: Dots\n...\nBody\n", &p);
	CHECK_STR("Dots", p.meta.title);
	CHECK_MEM("Body\n", p.body.p, p.body.n);
	parsed_free(&p);

	/* Trailing spaces on a fence are forgiven. */
	parse("---  \ntitle: T\n---\t\nB\n", &p);
	CHECK_STR("T", p.meta.title);
	CHECK_MEM("B\n", p.body.p, p.body.n);
	parsed_free(&p);
}

static void
test_no_closer_and_toml(void)
{
	struct parsed	p;

	parse("---\ntitle: Never closed\n\nBody\n", &p);
	CHECK(p.meta.title == NULL);
	CHECK_INT(1, p.body_line);
	CHECK_INT(strlen("---\ntitle: Never closed\n\nBody\n"), p.body.n);
	CHECK(has_diag(&p, 1, "no closing"));
	parsed_free(&p);

	parse("+++\ntitle = \"Toml\"\n+++\nBody\n", &p);
	CHECK(p.meta.title == NULL);
	CHECK_MEM("Body\n", p.body.p, p.body.n);
	CHECK_INT(4, p.body_line);
	CHECK(has_diag(&p, 1, "TOML"));
	parsed_free(&p);

	parse("No front matter\n", &p);
	CHECK_INT(0, p.diags.n);
	CHECK_INT(1, p.body_line);
	parsed_free(&p);

	/* "---" later in the file is a thematic break, not front matter. */
	parse("\n---\ntitle: x\n---\n", &p);
	CHECK(p.meta.title == NULL);
	CHECK_INT(0, p.diags.n);
	parsed_free(&p);
}

static void
test_aliases_refused(void)
{
	struct parsed	p;

	parse("---\ntitle: T\ntags: &a [*a]\n---\nB\n", &p);
	CHECK_INT(0, p.rc);
	CHECK(p.meta.broken);
	CHECK(p.meta.title == NULL);
	CHECK(has_diag(&p, 3, "aliases"));
	CHECK_MEM("B\n", p.body.p, p.body.n);
	parsed_free(&p);

	parse("---\nbase: &b x\ntitle: *b\n---\n", &p);
	CHECK(p.meta.broken);
	CHECK(has_diag(&p, 2, "aliases"));
	parsed_free(&p);
}

static void
test_deep_nesting(void)
{
	struct buf	b;
	struct parsed	p;
	int		i;

	buf_init(&b, 1 << 20);
	buf_puts(&b, "---\ntitle: Deep\nx: ");
	for (i = 0; i < 10000; i++)
		buf_putc(&b, '[');
	buf_puts(&b, "\n---\nBody\n");
	parse(buf_cstr(&b), &p);
	CHECK_INT(0, p.rc);
	CHECK(p.meta.broken);
	CHECK(has_diag(&p, 3, "nested deeper than 16"));
	CHECK_MEM("Body\n", p.body.p, p.body.n);
	parsed_free(&p);

	/* Sixteen levels are fine. */
	buf_reset(&b);
	buf_puts(&b, "---\nx: ");
	for (i = 0; i < 15; i++)
		buf_putc(&b, '[');
	for (i = 0; i < 15; i++)
		buf_putc(&b, ']');
	buf_puts(&b, "\ntitle: Ok\n---\n");
	parse(buf_cstr(&b), &p);
	CHECK(!p.meta.broken);
	CHECK_STR("Ok", p.meta.title);
	parsed_free(&p);
	buf_free(&b);
}

static void
test_too_large(void)
{
	struct buf	b;
	struct parsed	p;

	buf_init(&b, 1 << 20);
	buf_puts(&b, "---\ntitle: Big\nx: \"");
	while (b.len < FM_MAX_SIZE + 10)
		buf_puts(&b, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	buf_puts(&b, "\"\n---\nBody\n");
	parse(buf_cstr(&b), &p);
	CHECK(p.meta.broken);
	CHECK(p.meta.title == NULL);
	CHECK(has_diag(&p, 2, "64 KiB"));
	CHECK_MEM("Body\n", p.body.p, p.body.n);
	parsed_free(&p);
	buf_free(&b);
}

static void
test_duplicates_and_aliases_of_keys(void)
{
	struct parsed	p;

	parse("---\ntitle: First\ntitle: Second\ndate: 2026-01-07\n"
	    "pubDate: 2025-01-01\nlastmod: 2026-02-01\n---\n", &p);
	CHECK_STR("First", p.meta.title);
	CHECK_INT(2026, p.meta.pubdate.y);
	CHECK_INT(2, p.meta.updated.m);
	CHECK(has_diag(&p, 3, "more than once"));
	CHECK(has_diag(&p, 5, "more than once"));
	parsed_free(&p);

	parse("---\nTitle: Case\npublished: 2026-03-04\nupdated: Mar 5 2026\n"
	    "cover: /x.png\ncategories: one, two ,three\nlang: es\n---\n", &p);
	CHECK_STR("Case", p.meta.title);
	CHECK_INT(3, p.meta.pubdate.m);
	CHECK_INT(5, p.meta.updated.d);
	CHECK_STR("/x.png", p.meta.hero);
	CHECK_INT(3, p.meta.ntags);
	if (p.meta.ntags == 3) {
		CHECK_STR("one", p.meta.tags[0]);
		CHECK_STR("two", p.meta.tags[1]);
		CHECK_STR("three", p.meta.tags[2]);
	}
	CHECK_STR("es", p.meta.lang);
	parsed_free(&p);
}

static void
test_unquoted_colon(void)
{
	struct parsed	p;

	parse("---\ndescription: fine\ntitle: Part 1: the start\n---\nB\n",
	    &p);
	CHECK_INT(0, p.rc);
	CHECK(p.meta.broken);
	CHECK(p.meta.title == NULL);
	CHECK(p.meta.description == NULL);
	CHECK(has_diag(&p, 3, "mapping values are not allowed"));
	CHECK(has_diag(&p, 3, "quote"));
	CHECK_MEM("B\n", p.body.p, p.body.n);
	parsed_free(&p);

	/* Quoted, the same title is fine. */
	parse("---\ntitle: 'Part 1: the start'\n---\n", &p);
	CHECK_STR("Part 1: the start", p.meta.title);
	parsed_free(&p);
}

static void
test_error_line_numbers(void)
{
	struct parsed	p;

	parse("\xef\xbb\xbf---\ntitle: ok\ndescription: ok\ntags: [a, b\n"
	    "draft: false\n---\n", &p);
	CHECK(p.meta.broken);
	CHECK(p.diags.n >= 1);
	CHECK(p.diags.n >= 1 && p.diags.v[0].line >= 5 &&
	    p.diags.v[0].line <= 6);
	parsed_free(&p);

	parse("---\ntitle: ok\n\tbad: tab\n---\n", &p);
	CHECK(p.meta.broken);
	CHECK(p.diags.n >= 1 && p.diags.v[0].line == 3);
	parsed_free(&p);
}

static void
test_drafts(void)
{
	struct parsed	p;

	parse("---\ndraft: yes\n---\n", &p);
	CHECK(p.meta.draft);
	parsed_free(&p);
	parse("---\ndraft: True\n---\n", &p);
	CHECK(p.meta.draft);
	parsed_free(&p);
	parse("---\ndraft: no\n---\n", &p);
	CHECK(!p.meta.draft);
	parsed_free(&p);
	parse("---\npublished: false\n---\n", &p);
	CHECK(p.meta.draft);
	CHECK_INT(0, p.meta.pubdate.y);
	parsed_free(&p);
	parse("---\npublished: true\ndate: 2026-01-01\n---\n", &p);
	CHECK(!p.meta.draft);
	CHECK_INT(2026, p.meta.pubdate.y);
	parsed_free(&p);
	parse("---\ndraft: maybe\n---\n", &p);
	CHECK(!p.meta.draft);
	CHECK(has_diag(&p, 2, "true or false"));
	parsed_free(&p);

	/* A typo after "draft: true" must not publish the draft. */
	parse("---\ndraft: true\ntitle: a: b\n---\n", &p);
	CHECK(p.meta.broken);
	CHECK(p.meta.draft);
	parsed_free(&p);
}

static void
test_wrong_types(void)
{
	struct parsed	p;

	parse("---\ntitle: [a, b]\ndescription:\n  nested: map\n"
	    "tags: {a: 1}\npubDate: not a date\nlang: en\n"
	    "image: {src: x.png, alt: y}\nother: [1, [2, {3: 4}]]\n---\n", &p);
	CHECK(!p.meta.broken);
	CHECK(p.meta.title == NULL);
	CHECK(p.meta.description == NULL);
	CHECK(p.meta.hero == NULL);
	CHECK_INT(0, p.meta.ntags);
	CHECK_INT(0, p.meta.pubdate.y);
	CHECK_STR("en", p.meta.lang);
	CHECK(has_diag(&p, 2, "title: expected a string, got a list"));
	CHECK(has_diag(&p, 3, "description: expected a string, got a "
	    "mapping"));
	CHECK(has_diag(&p, 5, "tags"));
	CHECK(has_diag(&p, 6, "cannot read the date"));
	CHECK(has_diag(&p, 8, "image"));
	parsed_free(&p);
}

static void
test_values(void)
{
	struct parsed	p;

	parse("---\ntitle: >\n  Folded\n  title\ndescription: |\n  Two\n"
	    "  lines\ntags:\n  - x\n  - ~\n  - [nested]\n  - y\n"
	    "heroImage: ~\nempty:\n---\n", &p);
	CHECK(!p.meta.broken);
	CHECK_STR("Folded title", p.meta.title);
	CHECK_STR("Two lines", p.meta.description);
	CHECK(p.meta.hero == NULL);
	CHECK_INT(2, p.meta.ntags);
	CHECK(has_diag(&p, 8, "not a plain value"));
	parsed_free(&p);

	/* An empty front matter is no error. */
	parse("---\n---\nBody\n", &p);
	CHECK(!p.meta.broken);
	CHECK_INT(0, p.diags.n);
	CHECK_MEM("Body\n", p.body.p, p.body.n);
	parsed_free(&p);

	/* A list at the top is not front matter. */
	parse("---\n- a\n- b\n---\n", &p);
	CHECK(p.meta.broken);
	CHECK(has_diag(&p, 2, "key: value"));
	parsed_free(&p);
}

static void
test_split(void)
{
	struct fm_split	sp;

	fm_split(span_cstr("---\na: b\n---\nx"), &sp);
	CHECK_INT(FM_YAML, sp.kind);
	CHECK_MEM("a: b\n", sp.fm.p, sp.fm.n);
	CHECK_MEM("x", sp.body.p, sp.body.n);
	CHECK_INT(2, sp.fm_line);
	CHECK_INT(4, sp.body_line);

	fm_split(span_cstr("---"), &sp);
	CHECK_INT(FM_NONE, sp.kind);
	fm_split(span_cstr("---\n---"), &sp);
	CHECK_INT(FM_YAML, sp.kind);
	CHECK_INT(0, sp.fm.n);
	CHECK_INT(0, sp.body.n);
	fm_split(span_cstr("--- x\n---\n"), &sp);
	CHECK_INT(FM_NONE, sp.kind);
	fm_split(span_make("", 0), &sp);
	CHECK_INT(FM_NONE, sp.kind);
}

static void
test_alloc_failures(void)
{
	struct parsed	p;
	unsigned long	n;
	const char	*doc = "---\ntitle: T\ndescription: D\n"
			    "tags: [a, b, c]\ndraft: maybe\n---\nB\n";

	for (n = 1; n < 1000; n++) {
		mem_fail_after(n, 1);
		parse(doc, &p);
		mem_fail_after(0, 0);
		if (p.rc == 0 && p.meta.ntags == 3 && p.diags.n == 1) {
			parsed_free(&p);
			break;
		}
		CHECK(p.rc == -1 || p.diags.dropped || p.meta.ntags < 3);
		parsed_free(&p);
	}
	CHECK(n > 1 && n < 1000);
}

int
main(void)
{
	RUN(test_date_forms);
	RUN(test_date_rejects);
	RUN(test_seed_front_matter);
	RUN(test_crlf_bom_dots);
	RUN(test_no_closer_and_toml);
	RUN(test_aliases_refused);
	RUN(test_deep_nesting);
	RUN(test_too_large);
	RUN(test_duplicates_and_aliases_of_keys);
	RUN(test_unquoted_colon);
	RUN(test_error_line_numbers);
	RUN(test_drafts);
	RUN(test_wrong_types);
	RUN(test_values);
	RUN(test_split);
	RUN(test_alloc_failures);
	return CHECK_SUMMARY();
}
