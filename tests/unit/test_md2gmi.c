#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "check.h"
#include "frontmatter.h"
#include "md2gmi.h"
#include "mem.h"

static char	 out_text[1 << 16];

/* Convert md with the post at /blog/post.gmi; NULL on failure. */
static const char *
conv(const char *md, const char *title)
{
	struct md2gmi_opts	opts;
	struct md2gmi_info	info;
	struct fm_diags		diags;
	struct buf		out;
	int			rc;

	memset(&opts, 0, sizeof(opts));
	memset(&diags, 0, sizeof(diags));
	opts.base = "/blog/post.gmi";
	opts.title = title;
	opts.src = span_cstr(md);
	opts.max_out = 1 << 20;
	buf_init(&out, 1 << 20);
	rc = md2gmi_render(span_cstr(md), &opts, &out, &info, &diags);
	md2gmi_info_free(&info);
	fm_diags_free(&diags);
	if (rc == -1 || out.len >= sizeof(out_text)) {
		buf_free(&out);
		return NULL;
	}
	memcpy(out_text, out.p ? out.p : "", out.len);
	out_text[out.len] = '\0';
	buf_free(&out);
	return out_text;
}

static const char *
resolve(const char *base, const char *ref)
{
	static char	res[256];
	struct buf	b;

	buf_init(&b, 255);
	if (md2gmi_resolve(base, span_cstr(ref), &b) == -1 ||
	    buf_cstr(&b) == NULL) {
		buf_free(&b);
		return NULL;
	}
	strcpy(res, b.p);
	buf_free(&b);
	return res;
}

static void
test_resolve(void)
{
	const char	*base = "/blog/my-journey-into-data-engineering.gmi";

	CHECK_STR("/assets/my-journey.png",
	    resolve(base, "../../../assets/my-journey.png"));
	CHECK_STR("/blog/x.png", resolve(base, "x.png"));
	CHECK_STR("/blog/x.png", resolve(base, "./x.png"));
	CHECK_STR("/x.png", resolve(base, "/a/../x.png"));
	CHECK_STR("/blog/", resolve(base, "."));
	CHECK_STR("/", resolve(base, ".."));
	CHECK_STR("/blog/a/", resolve(base, "a/b/.."));
	CHECK_STR("/blog/q.gmi?x=1#f", resolve(base, "q.gmi?x=1#f"));
	CHECK_STR("/blog/my-journey-into-data-engineering.gmi#top",
	    resolve(base, "#top"));
	CHECK_STR("https://e.org/../x", resolve(base, "https://e.org/../x"));
	CHECK_STR("//host/x", resolve(base, "//host/x"));
	CHECK_STR("/x", resolve("/", "x"));
	CHECK_STR("/x", resolve(NULL, "x"));
}

static void
test_text_line_escapes(void)
{
	static const char	*in[] = { "=> x", "```", "#tag", "* a", "*\ta",
	    ">q", "plain", "*b", "a\tb" };
	static const char	*want[] = { " => x", " ```", " #tag", " * a",
	    " * a", " >q", "plain", "*b", "a b" };
	struct buf		 b;
	size_t			 i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		buf_init(&b, 64);
		CHECK_INT(0, md2gmi_text_line(&b, span_cstr(in[i])));
		CHECK_STR(want[i], buf_cstr(&b));
		buf_free(&b);
	}
}

static void
test_paragraphs_and_headings(void)
{
	CHECK_STR("one two\n", conv("one\ntwo\n", NULL));
	CHECK_STR("a\n\nb\n", conv("a\n\n\n\nb\n", NULL));
	CHECK_STR("### Four\n\n### Six\n", conv("#### Four\n###### Six\n",
	    NULL));
	CHECK_STR("## x y\n", conv("## *x* `y`\n", NULL));
	/* The duplicate title is dropped only when it opens the body. */
	CHECK_STR("Body\n", conv("# The  TITLE\n\nBody\n", "the title"));
	CHECK_STR("# Other\n\nBody\n", conv("# Other\n\nBody\n", "Title"));
	CHECK_STR("Intro\n\n# Title\n", conv("Intro\n\n# Title\n", "Title"));
	CHECK_STR("line one\nline two\n", conv("line one  \nline two\n",
	    NULL));
	CHECK_STR("日本語です\n", conv("日本語\nです\n", NULL));
	CHECK_STR("a `b` ~~c~~ d\n", conv("*a* `b` ~~c~~ **d**\n", NULL));
}

static void
test_escaping(void)
{
	CHECK_STR(" #hashtag\n", conv("#hashtag\n", NULL));
	CHECK_STR(" * starred\n", conv("\\* starred\n", NULL));
	CHECK_STR(" > not a quote\n", conv("&gt; not a quote\n", NULL));
	CHECK_STR(" => x\n", conv("=> x\n", NULL));
	CHECK_STR("`a b`\n", conv("`a\tb`\n", NULL));
	CHECK_STR("```\n ```inner\n```\n", conv("````\n```inner\n````\n",
	    NULL));
}

static void
test_entities(void)
{
	CHECK_STR("& © + + \xef\xbf\xbd \xef\xbf\xbd &bogus;\n",
	    conv("&amp; &copy; &#43; &#x2B; &#0; &#xD800; &bogus;\n", NULL));
	CHECK_STR("```c++\nx\n```\n", conv("```c&#43;&#43;\nx\n```\n", NULL));
	CHECK_STR("=> https://e.org/?a=1&b=2\n",
	    conv("[https://e.org/?a=1&amp;b=2](https://e.org/?a=1&amp;b=2)\n",
	    NULL));
}

static void
test_links(void)
{
	CHECK_STR("see a and b.\n\n=> https://a.org a\n=> https://b.org b\n",
	    conv("see [a](https://a.org) and [b](https://b.org).\n", NULL));
	CHECK_STR("=> https://a.org A\n=> https://b.org B\n",
	    conv("[A](https://a.org) · [B](https://b.org)\n", NULL));
	CHECK_STR("x and again x.\n\n=> https://a.org x\n",
	    conv("[x](https://a.org) and again [x](https://a.org).\n", NULL));
	CHECK_STR("top only\n", conv("[top](#top) only\n", NULL));
	CHECK_STR("=> https://e.org/a%20b sp\n",
	    conv("[sp](<https://e.org/a b>)\n", NULL));
	CHECK_STR("js\n", conv("[js](javascript:alert(1))\n", NULL));
	CHECK_STR("=> /blog/other.gmi Other\n",
	    conv("[Other](other.md#part)\n", NULL));
	CHECK_STR("=> mailto:me@example.org\n", conv("me@example.org\n",
	    NULL));
}

static void
test_lists(void)
{
	CHECK_STR("* a b\n* c\n", conv("- a\n  b\n- c\n", NULL));
	CHECK_STR("* a\n* ◦ b\n* ▪ c\n* ▪ d\n",
	    conv("- a\n  - b\n    - c\n      - d\n", NULL));
	CHECK_STR("57. x\n58. y\n", conv("57. x\n58. y\n", NULL));
	CHECK_STR("* [x] done\n* [ ] todo\n", conv("- [x] done\n- [ ] todo\n",
	    NULL));
	CHECK_STR("* one two\n* three\n", conv("- one\n\n  two\n\n- three\n",
	    NULL));
	CHECK_STR("1. a\n◦ 1. b\n", conv("1. a\n   1. b\n", NULL));
}

static void
test_quotes(void)
{
	CHECK_STR("> a b\n>\n> c\n", conv("> a\nb\n>\n> c\n", NULL));
	CHECK_STR("> • x\n> • y\n", conv("> - x\n> - y\n", NULL));
	CHECK_STR("> a\n>\n> deep\n", conv("> a\n>\n> > deep\n", NULL));
	CHECK_STR("", conv(">\n", NULL));
}

static void
test_tables(void)
{
	CHECK_STR("```table\na   | b\n----+--\n1   | 2\nxyz |\n```\n",
	    conv("| a | b |\n|---|---|\n| 1 | 2 |\n| xyz | |\n", NULL));
	CHECK_STR("```table\nk  |  v\n---+---\n漢 | 10\n```\n",
	    conv("| k | v |\n|---|--:|\n| 漢 | 10 |\n", NULL));
}

static void
test_html(void)
{
	CHECK_STR("", conv("<!-- hidden -->\n", NULL));
	CHECK_STR("a b\n", conv("a <span>b</span>\n", NULL));
	CHECK_STR("x\ny\n", conv("x<br>y\n", NULL));
	CHECK_STR("kept\n", conv("<div>\n<script>bad()</script>\nkept\n"
	    "</div>\n", NULL));
	CHECK_STR("=> /blog/p.png Pic\n",
	    conv("<div><img src=\"p.png\" alt=\"Pic\"></div>\n", NULL));
}

static void
test_footnotes(void)
{
	CHECK_STR("Text[1].\n\n## Notes\n\n[1] The note.\n",
	    conv("Text[^1].\n\n[^1]: The note.\n", NULL));
}

static void
test_limits(void)
{
	struct buf	md;
	const char	*r;
	clock_t		t0;
	int		i;

	buf_init(&md, 8 << 20);
	t0 = clock();
	for (i = 0; i < 10000; i++)
		buf_putc(&md, '>');
	buf_puts(&md, " deep\n");
	CHECK(conv(buf_cstr(&md), NULL) != NULL);
	buf_reset(&md);
	for (i = 0; i < 3000; i++) {
		buf_printf(&md, "%*s- x\n", i * 2, "");
	}
	CHECK(conv(buf_cstr(&md), NULL) == NULL || 1);
	buf_reset(&md);
	for (i = 0; i < 10000; i++)
		buf_printf(&md, "[l%d](https://e.org/%d) ", i, i);
	/* Output beyond the test's 64 KiB copy is fine: it must finish. */
	conv(buf_cstr(&md), NULL);
	buf_reset(&md);
	while (md.len < (2 << 20))
		buf_puts(&md, "word ");
	buf_putc(&md, '\n');
	r = conv(buf_cstr(&md), NULL);
	CHECK(r == NULL);
	CHECK((clock() - t0) / CLOCKS_PER_SEC < 20);
	buf_free(&md);
}

static void
test_output_cap(void)
{
	struct md2gmi_opts	opts;
	struct md2gmi_info	info;
	struct fm_diags		diags;
	struct buf		out;
	const char		*md = "| a | b | c | d |\n|-|-|-|-|\n"
				    "| xxxxxxxxxxxxxxxxxxxx | | | |\n";

	memset(&opts, 0, sizeof(opts));
	memset(&diags, 0, sizeof(diags));
	opts.base = "/p.gmi";
	opts.max_out = 16;
	buf_init(&out, 16);
	CHECK_INT(-1, md2gmi_render(span_cstr(md), &opts, &out, &info,
	    &diags));
	CHECK(info.first_h1 == NULL);
	buf_free(&out);
	fm_diags_free(&diags);
}

/* Render md with a time budget; the return code, info->timed_out set. */
static int
conv_budget(struct span md, unsigned long ms, struct md2gmi_info *info)
{
	struct md2gmi_opts	opts;
	struct fm_diags		diags;
	struct buf		out;
	int			rc;

	memset(&opts, 0, sizeof(opts));
	memset(&diags, 0, sizeof(diags));
	opts.base = "/p.gmi";
	opts.max_out = 64 << 20;
	opts.budget_ms = ms;
	buf_init(&out, opts.max_out);
	rc = md2gmi_render(md, &opts, &out, info, &diags);
	buf_free(&out);
	fm_diags_free(&diags);
	return rc;
}

/* A post too slow for its budget fails, and says why; others do not. */
static void
test_time_budget(void)
{
	struct md2gmi_info	info;
	struct buf		md;

	buf_init(&md, 8 << 20);
	while (md.len < (2 << 20))
		buf_puts(&md, "*a* [b](c.md) `d` <i>e</i> &amp;\n\n");
	CHECK_INT(-1, conv_budget(buf_span(&md), 1, &info));
	CHECK(info.timed_out);
	CHECK(info.first_h1 == NULL);
	CHECK_INT(0, conv_budget(buf_span(&md), 600000, &info));
	CHECK(!info.timed_out);
	md2gmi_info_free(&info);
	CHECK_INT(0, conv_budget(span_cstr("# T\n\ntext\n"), 1, &info));
	CHECK(!info.timed_out);
	CHECK_STR("T", info.first_h1);
	md2gmi_info_free(&info);
	/* Other failures are not blamed on the clock. */
	CHECK_INT(-1, conv_budget(span_make("x", (size_t)UINT32_MAX + 1), 1,
	    &info));
	CHECK(!info.timed_out);
	buf_free(&md);
}

static void
test_alloc_failures(void)
{
	struct md2gmi_opts	opts;
	struct md2gmi_info	info;
	struct fm_diags		diags;
	struct buf		out;
	unsigned long		n;
	int			rc;
	const char		*md = "# T\n\nA [link](x.md) and "
				    "![i](i.png)\n\n| a | b |\n|--|--|\n"
				    "| 1 | [2](https://e) |\n\n- x\n- y\n\n"
				    "[^1]: n\n\n```c\nx\n```\n";

	memset(&opts, 0, sizeof(opts));
	opts.base = "/p.gmi";
	opts.max_out = 1 << 16;
	for (n = 1; n < 2000; n++) {
		memset(&diags, 0, sizeof(diags));
		buf_init(&out, 1 << 16);
		mem_fail_after(n, 1);
		rc = md2gmi_render(span_cstr(md), &opts, &out, &info, &diags);
		mem_fail_after(0, 0);
		md2gmi_info_free(&info);
		buf_free(&out);
		fm_diags_free(&diags);
		if (rc == 0)
			break;
	}
	CHECK(n > 1 && n < 2000);
}

int
main(void)
{
	RUN(test_resolve);
	RUN(test_text_line_escapes);
	RUN(test_paragraphs_and_headings);
	RUN(test_escaping);
	RUN(test_entities);
	RUN(test_links);
	RUN(test_lists);
	RUN(test_quotes);
	RUN(test_tables);
	RUN(test_html);
	RUN(test_footnotes);
	RUN(test_limits);
	RUN(test_output_cap);
	RUN(test_time_budget);
	RUN(test_alloc_failures);
	return CHECK_SUMMARY();
}
