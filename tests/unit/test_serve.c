#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "mem.h"
#include "serve.h"

static char		 root[64];
static struct capsule	 cap;
static struct cache	 cache;
static const char	*hosts[] = { "localhost" };
static struct gemini_policy policy = { hosts, 1, 1965 };
static struct serve_ctx	 sc;

static void
put(const char *rel, const char *text)
{
	char	 path[256];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if ((f = fopen(path, "w")) == NULL)
		abort();
	fputs(text, f);
	fclose(f);
}

static void
setup(void)
{
	char		path[256];
	struct buf	err;

	snprintf(root, sizeof(root), "/tmp/serve-unit.XXXXXX");
	if (mkdtemp(root) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/blog", root);
	mkdir(path, 0755);
	put("blog/a.md", "---\ntitle: Alpha\ndate: 2026-01-02\n"
	    "tags: [x, Two Words]\n---\nfirst zebra\n");
	put("blog/b.md", "---\ntitle: Beta\ndate: 2026-02-03\nlang: de\n"
	    "tags: [x]\n---\nsecond\n");
	put("blog/d.md", "---\ntitle: Hidden\ndraft: true\ntags: [x]\n---\n"
	    "zebra\n");
	put("index.gmi", "# Home\n");
	buf_init(&err, 1024);
	if (capsule_open(&cap, root, &err) == -1)
		abort();
	buf_free(&err);
	cache_init(&cache, 1 << 20);
	sc.policy = &policy;
	sc.capsule = &cap;
	sc.lang = "en";
	sc.hostname = "localhost";
	sc.cache = &cache;
}

/* Serve one request for path; returns the header line without CRLF. */
static const char *
get(const char *path, struct response *r)
{
	char		line[600];
	static char	head[GEMINI_META_MAX + 8];

	snprintf(line, sizeof(line), "gemini://localhost%s\r\n", path);
	response_init(r);
	serve_gemini(&sc, span_make(line, strlen(line)), NULL, r);
	snprintf(head, sizeof(head), "%.*s", (int)(r->head.len >= 2 ?
	    r->head.len - 2 : 0), r->head.p);
	buf_cstr(&r->body);
	return head;
}

static bool
body_has(struct response *r, const char *text)
{
	return r->body.p != NULL && strstr(r->body.p, text) != NULL;
}

static void
test_post_and_draft(void)
{
	struct response	r;

	CHECK_STR("20 text/gemini; charset=utf-8; lang=de", get("/blog/b.gmi", &r));
	CHECK(body_has(&r, "# Beta\n"));
	response_free(&r);
	CHECK_STR("51 Not found", get("/blog/d.gmi", &r));
	response_free(&r);
	CHECK_STR("31 /blog/a.gmi", get("/blog/a.md", &r));
	response_free(&r);
}

static void
test_feed_twice_sees_every_post(void)
{
	struct response	r;
	int		i;

	/* The second walk runs on cached posts and reused descriptors. */
	for (i = 0; i < 2; i++) {
		CHECK_STR("20 text/gemini; charset=utf-8; lang=en",
		    get("/blog/", &r));
		CHECK(body_has(&r, "=> b.gmi 2026-02-03 - Beta\n"
		    "=> a.gmi 2026-01-02 - Alpha\n"));
		CHECK(!body_has(&r, "Hidden"));
		response_free(&r);
		CHECK_STR("20 text/gemini; charset=utf-8; lang=en",
		    get("/tags/x.gmi", &r));
		CHECK(body_has(&r, "Alpha") && body_has(&r, "Beta"));
		CHECK(!body_has(&r, "Hidden"));
		response_free(&r);
	}
	CHECK(cache.hits > 0);
}

static void
test_tags_search_atom(void)
{
	struct response	r;

	get("/tags/Two%20Words.gmi", &r);
	CHECK(body_has(&r, "/blog/a.gmi"));
	response_free(&r);
	CHECK_STR("51 No posts with this tag", get("/tags/none.gmi", &r));
	response_free(&r);
	CHECK_STR("10 Search posts", get("/search", &r));
	response_free(&r);
	get("/search?ZEBRA", &r);
	CHECK(body_has(&r, "/blog/a.gmi") && !body_has(&r, "/blog/d.gmi"));
	response_free(&r);
	CHECK_STR("20 application/atom+xml", get("/blog/atom.xml", &r));
	CHECK(body_has(&r, "<id>gemini://localhost/blog/a.gmi</id>"));
	response_free(&r);
}

/*
 * Fail the n-th allocation, for every n a feed page makes: each answer is
 * a status line or nothing at all (the connection is then closed), never
 * a crash or a leak (the sanitizer build checks that).
 */
static void
test_out_of_memory_is_a_clean_answer(void)
{
	struct response	r;
	unsigned long	n;
	const char	*h;
	bool		injected = true;

	for (n = 1; injected && n < 2000; n++) {
		cache_free(&cache);
		mem_fail_after(n, 1);
		h = get("/blog/", &r);
		injected = mem_count() >= n;
		mem_fail_after(0, 0);
		CHECK(h[0] == '\0' || strncmp(h, "20 ", 3) == 0 ||
		    strncmp(h, "40 ", 3) == 0);
		response_free(&r);
	}
	CHECK(!injected);
	get("/blog/", &r);
	CHECK(body_has(&r, "Alpha") && body_has(&r, "Beta"));
	response_free(&r);
}

int
main(void)
{
	char	cmd[128];
	int	rc;

	setup();
	RUN(test_post_and_draft);
	RUN(test_feed_twice_sees_every_post);
	RUN(test_tags_search_atom);
	RUN(test_out_of_memory_is_a_clean_answer);
	rc = CHECK_SUMMARY();
	cache_free(&cache);
	capsule_close(&cap);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		return 1;
	return rc;
}
