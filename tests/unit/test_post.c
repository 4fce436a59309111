#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "frontmatter.h"
#include "mem.h"
#include "post.h"

/* The capsule of these tests holds /assets/ files and /blog/other.md. */
static bool
fake_exists(void *arg, const char *path)
{
	(void)arg;
	return strncmp(path, "/assets/", 8) == 0 ||
	    strcmp(path, "/blog/other.md") == 0;
}

static int
render(const char *src, const char *name, struct post *p)
{
	struct post_input	in;

	memset(&in, 0, sizeof(in));
	memset(p, 0, sizeof(*p));
	in.src = span_cstr(src);
	in.url = "/blog/my-post.gmi";
	in.name = name;
	in.exists = fake_exists;
	return post_render(&in, p);
}

static bool
has_diag(const struct post *p, unsigned long line, const char *sub)
{
	size_t	i;

	for (i = 0; i < p->diags.n; i++)
		if (p->diags.v[i].line == line &&
		    strstr(p->diags.v[i].msg, sub) != NULL)
			return true;
	return false;
}

static void
test_header(void)
{
	struct post	p;

	CHECK_INT(0, render("---\n"
	    "title: 'My Journey'\n"
	    "description: 'How it went.'\n"
	    "pubDate: 'Jan 07 2026'\n"
	    "updatedDate: 2026-02-01T10:00:00Z\n"
	    "heroImage: '../../../assets/my-journey.png'\n"
	    "tags: [data, career]\n"
	    "lang: es\n"
	    "---\n"
	    "\n"
	    "# My Journey\n"
	    "\n"
	    "Body text.\n", "my-post.md", &p));
	CHECK_STR("# My Journey\n"
	    "\n"
	    "Published 2026-01-07 · Updated 2026-02-01\n"
	    "\n"
	    "How it went.\n"
	    "\n"
	    "=> /assets/my-journey.png Cover image\n"
	    "\n"
	    "Tags: data, career\n"
	    "\n"
	    "Body text.\n"
	    "\n"
	    "=> ./ All posts\n", buf_cstr(&p.gmi));
	CHECK_STR("es", p.meta.lang);
	CHECK(!p.meta.draft);
	CHECK_INT(0, p.diags.n);
	post_free(&p);
}

static void
test_missing_cover_and_links(void)
{
	struct post	p;

	CHECK_INT(0, render("---\ntitle: T\nheroImage: ./nope.png\n---\n\n"
	    "See [other](other.md) and [gone](gone.md) and ![pic](nope.jpg).\n",
	    "t.md", &p));
	CHECK_STR("# T\n\nSee other and gone and [image: pic].\n\n"
	    "=> /blog/other.gmi other\n\n=> ./ All posts\n",
	    buf_cstr(&p.gmi));
	CHECK(has_diag(&p, 3, "cover image not found: ./nope.png"));
	CHECK(has_diag(&p, 6, "link to a missing file: gone.md"));
	CHECK(has_diag(&p, 6, "image to a missing file: nope.jpg"));
	post_free(&p);

	/* Only image files make a cover. */
	CHECK_INT(0, render("---\ntitle: T\nheroImage: /assets/x.txt\n---\n",
	    "t.md", &p));
	CHECK(strstr(buf_cstr(&p.gmi), "Cover") == NULL);
	CHECK(has_diag(&p, 3, "cover image"));
	post_free(&p);
}

static void
test_cover_name_full_of_spaces(void)
{
	struct post	p;

	/* Escaping makes the resolved URL three times the name's length. */
	CHECK_INT(0, render("---\ntitle: t\nheroImage: "
	    "'a b c d e f g h i j k l m n o p q r s t u v w.png'\n---\nx\n",
	    "p.md", &p));
	CHECK(p.diags.n == 1 && strstr(p.diags.v[0].msg, "cover") != NULL);
	post_free(&p);
}

static void
test_fallback_titles(void)
{
	struct post	p;

	CHECK_INT(0, render("# From The Body\n\nText.\n", "x.md", &p));
	CHECK_STR("# From The Body\n\nText.\n\n=> ./ All posts\n",
	    buf_cstr(&p.gmi));
	CHECK_STR("From The Body", p.meta.title);
	post_free(&p);

	CHECK_INT(0, render("Just text.\n", "2026-01-07-my-first_post.md",
	    &p));
	CHECK_STR("# My first post\n\nJust text.\n\n=> ./ All posts\n",
	    buf_cstr(&p.gmi));
	post_free(&p);

	/* Broken front matter: served, titled from the file, line named. */
	CHECK_INT(0, render("---\ntitle: a: b\n---\nText.\n", "broken-post.md",
	    &p));
	CHECK_STR("# Broken post\n\nText.\n\n=> ./ All posts\n",
	    buf_cstr(&p.gmi));
	CHECK(p.meta.broken);
	CHECK(has_diag(&p, 2, "mapping values"));
	post_free(&p);

	CHECK_INT(0, render("", "empty.md", &p));
	CHECK_STR("# Empty\n\n=> ./ All posts\n", buf_cstr(&p.gmi));
	post_free(&p);
}

static void
test_draft_and_lang(void)
{
	struct post	p;

	CHECK_INT(0, render("---\ntitle: D\ndraft: true\nlang: fr\n---\nx\n",
	    "d.md", &p));
	CHECK(p.meta.draft);
	CHECK_STR("fr", p.meta.lang);
	post_free(&p);
	CHECK_INT(0, render("---\ntitle: D\npublished: false\n---\nx\n",
	    "d.md", &p));
	CHECK(p.meta.draft);
	CHECK(p.meta.lang == NULL);
	post_free(&p);
}

static void
test_preflight(void)
{
	struct post	p;

	CHECK_INT(0, render("\xef\xbb\xbf---\r\ntitle: CRLF\r\n---\r\n\r\n"
	    "one\r\ntwo \xff\xfe bad\r\n", "c.md", &p));
	CHECK_STR("# CRLF\n\none two \xef\xbf\xbd\xef\xbf\xbd bad\n\n"
	    "=> ./ All posts\n", buf_cstr(&p.gmi));
	post_free(&p);

	/* Overlong and surrogate encodings are repaired too. */
	CHECK_INT(0, render("\xc0\xaf \xed\xa0\x80\n", "u.md", &p));
	CHECK(strstr(buf_cstr(&p.gmi), "\xc0") == NULL);
	CHECK(strstr(buf_cstr(&p.gmi), "\xed\xa0") == NULL);
	post_free(&p);
}

static void
test_description_escaped(void)
{
	struct post	p;

	CHECK_INT(0, render("---\ntitle: T\ndescription: '=> not a link'\n"
	    "---\n", "t.md", &p));
	CHECK_STR("# T\n\n => not a link\n\n=> ./ All posts\n",
	    buf_cstr(&p.gmi));
	post_free(&p);
}

static void
test_size_cap(void)
{
	struct post_input	in;
	struct post		p;
	char			*big;

	big = malloc(POST_MAX_SIZE + 1);
	CHECK(big != NULL);
	if (big == NULL)
		return;
	memset(big, 'a', POST_MAX_SIZE + 1);
	memset(&in, 0, sizeof(in));
	memset(&p, 0, sizeof(p));
	in.src = span_make(big, POST_MAX_SIZE + 1);
	in.url = "/big.gmi";
	in.name = "big.md";
	CHECK_INT(-1, post_render(&in, &p));
	CHECK_STR("file too large", p.errstr);
	post_free(&p);

	/* Exactly at the cap is rendered. */
	in.src.n = POST_MAX_SIZE;
	memset(&p, 0, sizeof(p));
	CHECK_INT(0, post_render(&in, &p));
	post_free(&p);
	free(big);
}

static void
test_alloc_failures(void)
{
	struct post	p;
	unsigned long	n;
	int		rc;
	const char	*src = "---\ntitle: T\ndescription: D\ntags: [a]\n"
			    "heroImage: /assets/a.png\nbad: [x\n---\n# H\n\n"
			    "A [l](other.md) b.\n\n- x\n";

	for (n = 1; n < 5000; n++) {
		mem_fail_after(n, 1);
		rc = render(src, "t.md", &p);
		mem_fail_after(0, 0);
		if (rc == -1) {
			CHECK(p.errstr != NULL);
			CHECK(p.gmi.p == NULL);
		}
		post_free(&p);
		if (rc == 0)
			break;
	}
	CHECK(n > 1 && n < 5000);
}

int
main(void)
{
	RUN(test_header);
	RUN(test_missing_cover_and_links);
	RUN(test_cover_name_full_of_spaces);
	RUN(test_fallback_titles);
	RUN(test_draft_and_lang);
	RUN(test_preflight);
	RUN(test_description_escaped);
	RUN(test_size_cap);
	RUN(test_alloc_failures);
	return CHECK_SUMMARY();
}
