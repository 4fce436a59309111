#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "check.h"
#include "config.h"
#include "mem.h"
#include "serve.h"

/*
 * Seconds the clock that tells settled files from fresh ones is moved on
 * by, so that what a test writes can be kept at once.
 */
#define TEST_SKEW	10

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
	sc.gopher_host = "localhost";
	sc.gopher_port = 70;
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

/* Served from the cache: no descriptor, and one more hit. */
static bool
from_cache(const char *path, const char *want_body)
{
	struct response	r;
	unsigned long	hits = cache.hits;
	bool		ok;

	ok = strncmp(get(path, &r), "20 ", 3) == 0 && r.fd == -1 &&
	    cache.hits == hits + 1 && body_has(&r, want_body);
	response_free(&r);
	return ok;
}

static void
test_static_file_cached(void)
{
	struct response	r;

	put("page.gmi", "# Page\nfirst\n");
	CHECK_STR("20 text/gemini; charset=utf-8; lang=en",
	    get("/page.gmi", &r));
	CHECK(r.fd == -1 && body_has(&r, "first"));
	response_free(&r);
	CHECK(from_cache("/page.gmi", "# Page\nfirst\n"));
	CHECK(from_cache("/page.gmi", "# Page\nfirst\n"));
	/* The directory index is a static file too. */
	CHECK_STR("20 text/gemini; charset=utf-8; lang=en", get("/", &r));
	response_free(&r);
	CHECK(from_cache("/", "# Home\n"));
}

/*
 * The header and body of the next answer for path, as one string, the
 * body read from the descriptor when the file is streamed.
 */
static const char *
answer(const char *path)
{
	static char	out[512];
	struct response	r;
	const char	*h = get(path, &r);
	int		n;
	ssize_t		got;

	n = snprintf(out, sizeof(out), "%s|%s", h, r.body.p ? r.body.p : "");
	if (r.fd != -1 && n >= 0 && (size_t)n < sizeof(out) &&
	    (got = pread(r.fd, out + n, sizeof(out) - (size_t)n - 1, 0)) > 0)
		out[n + got] = '\0';
	response_free(&r);
	return out;
}

static void
test_static_file_never_stale(void)
{
	char		path[256], tmp[256];
	struct timespec	ts[2];

	snprintf(path, sizeof(path), "%s/page.gmi", root);
	snprintf(tmp, sizeof(tmp), "%s/page.new", root);
	put("page.gmi", "one\n");
	CHECK_STR("20 text/gemini; charset=utf-8; lang=en|one\n",
	    answer("/page.gmi"));
	CHECK_STR("20 text/gemini; charset=utf-8; lang=en|one\n",
	    answer("/page.gmi"));
	/* Rewritten in place, longer. */
	put("page.gmi", "two two\n");
	CHECK_STR("20 text/gemini; charset=utf-8; lang=en|two two\n",
	    answer("/page.gmi"));
	/* The same size, only the modification time tells. */
	put("page.gmi", "TWO TWO\n");
	ts[0].tv_sec = ts[1].tv_sec = 1000000000;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	CHECK(utimensat(AT_FDCWD, path, ts, 0) == 0);
	CHECK_STR("20 text/gemini; charset=utf-8; lang=en|TWO TWO\n",
	    answer("/page.gmi"));
	/* Replaced by a rename, with the old file's size and times. */
	put("page.new", "t w o 2\n");
	CHECK(utimensat(AT_FDCWD, tmp, ts, 0) == 0);
	CHECK(rename(tmp, path) == 0);
	CHECK_STR("20 text/gemini; charset=utf-8; lang=en|t w o 2\n",
	    answer("/page.gmi"));
	CHECK(from_cache("/page.gmi", "t w o 2\n"));
	CHECK(unlink(path) == 0);
	CHECK_STR("51 Not found|", answer("/page.gmi"));
	CHECK_STR("51 Not found|", answer("/page.gmi"));
}

/* A link out of the capsule is refused every time, never cached. */
static void
test_static_escape_never_cached(void)
{
	char	out[128], link[256];
	FILE	*f;

	snprintf(out, sizeof(out), "%s.outside.gmi", root);
	snprintf(link, sizeof(link), "%s/escape.gmi", root);
	if ((f = fopen(out, "w")) == NULL)
		abort();
	fputs("secret\n", f);
	fclose(f);
	CHECK(symlink(out, link) == 0);
	CHECK_STR("51 Not found|", answer("/escape.gmi"));
	CHECK_STR("51 Not found|", answer("/escape.gmi"));
	unlink(link);
	unlink(out);
}

static void
test_large_file_streamed(void)
{
	struct response	r;
	char		*big;
	unsigned long	hits;
	int		i;

	if ((big = malloc(CACHE_FILE_MAX + 2)) == NULL)
		abort();
	memset(big, 'x', CACHE_FILE_MAX + 1);
	big[CACHE_FILE_MAX + 1] = '\0';
	put("big.txt", big);
	for (i = 0; i < 2; i++) {
		hits = cache.hits;
		CHECK_STR("20 text/plain; charset=utf-8", get("/big.txt", &r));
		CHECK(r.fd != -1 && r.size == CACHE_FILE_MAX + 1);
		CHECK(r.body.len == 0 && cache.hits == hits);
		response_free(&r);
	}
	/* At the cap it is still kept. */
	big[CACHE_FILE_MAX] = '\0';
	put("big.txt", big);
	get("/big.txt", &r);
	CHECK(r.fd == -1 && r.body.len == CACHE_FILE_MAX);
	response_free(&r);
	CHECK(from_cache("/big.txt", "xxxx"));
	free(big);
}

/*
 * Wait until the directory rel was last changed over a second ago, so
 * that a listing of it may be kept (capsule_listing's rule).
 */
static void
wait_settled(const char *rel)
{
	char		path[256];
	struct stat	st;
	struct timespec	now, nap = { 0, 100 * 1000 * 1000 };
	int		i;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (i = 0; i < 40; i++) {
		if (stat(path, &st) == -1 ||
		    clock_gettime(CLOCK_REALTIME_COARSE, &now) == -1)
			abort();
		if (st.st_mtim.tv_sec < now.tv_sec - 1 &&
		    st.st_ctim.tv_sec < now.tv_sec - 1)
			return;
		nanosleep(&nap, NULL);
	}
	abort();
}

/* A Gopher request for selector; true when a cache hit answered it. */
static bool
gopher_has(const char *selector, const char *text, bool *hit)
{
	struct response	r;
	unsigned long	hits = cache.hits;
	char		line[256];
	bool		ok;

	snprintf(line, sizeof(line), "%s\r\n", selector);
	response_init(&r);
	serve_gopher(&sc, span_cstr(line), &r);
	ok = r.status == 0 && body_has(&r, text);
	*hit = cache.hits == hits + 1;
	response_free(&r);
	return ok;
}

/*
 * A generated listing is kept while its directory stays unchanged: a
 * name added, or an index put in its place, is seen on the next request.
 * One changed too recently for its times to tell, or holding a link
 * (whose target may change with no change to the directory), is made
 * again on every request.
 */
static void
test_listing_cached_until_directory_changes(void)
{
	char		path[256];
	unsigned long	hits;
	bool		hit;

	/* This test is about fresh directories: the real clock. */
	capsule_skew_clock(0);
	snprintf(path, sizeof(path), "%s/list", root);
	CHECK(mkdir(path, 0755) == 0);
	put("list/a.gmi", "a\n");
	snprintf(path, sizeof(path), "%s/linked", root);
	CHECK(mkdir(path, 0755) == 0);
	snprintf(path, sizeof(path), "%s/linked/home.gmi", root);
	CHECK(symlink("../index.gmi", path) == 0);
	/* An index that is there but no file: it may become one in place. */
	snprintf(path, sizeof(path), "%s/odd", root);
	CHECK(mkdir(path, 0755) == 0);
	snprintf(path, sizeof(path), "%s/odd/index.gmi", root);
	CHECK(mkdir(path, 0755) == 0);
	hits = cache.hits;
	CHECK_STR("20 text/gemini; charset=utf-8; lang=en|# Index of /list/\n\n"
	    "=> ../ Parent directory\n=> a.gmi a.gmi\n", answer("/list/"));
	CHECK_STR("20 text/gemini; charset=utf-8; lang=en|# Index of /list/\n\n"
	    "=> ../ Parent directory\n=> a.gmi a.gmi\n", answer("/list/"));
	CHECK(cache.hits == hits);
	wait_settled("list");
	wait_settled("linked");
	wait_settled("odd");
	CHECK_STR("20 text/gemini; charset=utf-8; lang=en|# Index of /list/\n\n"
	    "=> ../ Parent directory\n=> a.gmi a.gmi\n", answer("/list/"));
	CHECK(from_cache("/list/", "=> a.gmi a.gmi\n"));
	CHECK(gopher_has("/list/", "0a.gmi\t/list/a.gmi\t", &hit) && hit);
	hits = cache.hits;
	CHECK(strstr(answer("/linked/"), "=> home.gmi home.gmi\n") != NULL);
	CHECK(gopher_has("/linked/", "0home.gmi\t", &hit) && !hit);
	CHECK(strstr(answer("/odd/"), "=> index.gmi/ index.gmi/\n") != NULL);
	CHECK(strstr(answer("/odd/"), "=> index.gmi/ index.gmi/\n") != NULL);
	CHECK(cache.hits == hits);
	put("list/b.gmi", "b\n");
	CHECK(strstr(answer("/list/"), "=> b.gmi b.gmi\n") != NULL);
	CHECK(gopher_has("/list/", "0b.gmi\t/list/b.gmi\t", &hit) && !hit);
	put("list/index.gmi", "# List index\n");
	CHECK_STR("20 text/gemini; charset=utf-8; lang=en|# List index\n",
	    answer("/list/"));
	capsule_skew_clock(TEST_SKEW);
}

/*
 * A post served again is found by two stats; a file put in its place
 * wins at once, and an edit to the post shows on the next request.
 */
static void
test_cached_post_gives_way(void)
{
	char	path[256];
	bool	hit;

	put("blog/c.md", "---\ntitle: Gamma\n---\nthird\n");
	CHECK(strncmp(answer("/blog/c.gmi"),
	    "20 text/gemini; charset=utf-8; lang=en|# Gamma\n\nthird\n", 54) == 0);
	CHECK(from_cache("/blog/c.gmi", "third\n"));
	CHECK(gopher_has("/blog/c.gmi", "third", &hit) && hit);
	put("blog/c.gmi", "# A real file\n");
	CHECK_STR("20 text/gemini; charset=utf-8; lang=en|# A real file\n",
	    answer("/blog/c.gmi"));
	CHECK(gopher_has("/blog/c.gmi", "A real file", &hit));
	snprintf(path, sizeof(path), "%s/blog/c.gmi", root);
	CHECK(unlink(path) == 0);
	put("blog/c.md", "---\ntitle: Gamma\ndraft: true\n---\nthird\n");
	CHECK_STR("51 Not found|", answer("/blog/c.gmi"));
	CHECK_STR("51 Not found|", answer("/blog/c.gmi"));
	snprintf(path, sizeof(path), "%s/blog/c.md", root);
	CHECK(unlink(path) == 0);
	CHECK_STR("51 Not found|", answer("/blog/c.gmi"));
	/* A directory's index.md, until an index.gmi takes its place. */
	snprintf(path, sizeof(path), "%s/about", root);
	CHECK(mkdir(path, 0755) == 0);
	put("about/index.md", "# About\n");
	CHECK(strncmp(answer("/about/"),
	    "20 text/gemini; charset=utf-8; lang=en|# About\n", 47) == 0);
	CHECK(from_cache("/about/", "# About\n"));
	put("about/index.gmi", "# About, by hand\n");
	CHECK_STR("20 text/gemini; charset=utf-8; lang=en|# About, by hand\n",
	    answer("/about/"));
}

/*
 * A directory's feed page is kept with the posts it was made from: an
 * edit to one of them, a post turned into a draft or a new post shows on
 * the next request, over Gemini and Gopher.
 */
static void
test_feed_kept_until_a_post_changes(void)
{
	const char	*a = "---\ntitle: Alpha\ndate: 2026-01-02\n"
			    "tags: [x, Two Words]\n---\nfirst zebra\n";
	const char	*b = "---\ntitle: Beta\ndate: 2026-02-03\nlang: de\n"
			    "tags: [x]\n---\nsecond\n";
	char		 path[256];
	bool		 hit;

	wait_settled("blog");
	CHECK(strstr(answer("/blog/"), "=> a.gmi 2026-01-02 - Alpha\n") != NULL);
	CHECK(from_cache("/blog/", "=> a.gmi 2026-01-02 - Alpha\n"));
	CHECK(gopher_has("/blog/", "2026-01-02 Alpha\t", &hit) && hit);
	/* Rewritten in place: the directory does not change, the post does. */
	put("blog/a.md", "---\ntitle: Alpha, again\ndate: 2026-01-02\n---\n"
	    "first\n");
	CHECK(strstr(answer("/blog/"), " - Alpha, again\n") != NULL);
	CHECK(from_cache("/blog/", " - Alpha, again\n"));
	put("blog/b.md", "---\ntitle: Beta\ndraft: true\n---\nsecond\n");
	CHECK(strstr(answer("/blog/"), "Beta") == NULL);
	CHECK(gopher_has("/blog/", "Alpha, again", &hit) && hit);
	put("blog/e.md", "---\ntitle: Epsilon\ndate: 2026-05-06\n---\nfifth\n");
	CHECK(strstr(answer("/blog/"), "=> e.gmi 2026-05-06 - Epsilon\n") != NULL);
	snprintf(path, sizeof(path), "%s/blog/e.md", root);
	CHECK(unlink(path) == 0);
	CHECK(strstr(answer("/blog/"), "Epsilon") == NULL);
	put("blog/a.md", a);
	put("blog/b.md", b);
}

/*
 * Over Gopher too, a small file is read once and then served from the
 * cache after one stat, as it is (a text file) or converted (gemtext),
 * and an edit shows on the next request.
 */
static void
test_gopher_files_cached(void)
{
	bool	hit;

	put("notes.txt", "plain words\n");
	put("doc.gmi", "# Doc\n=> /notes.txt Notes\n");
	CHECK(gopher_has("/notes.txt", "plain words\n", &hit) && !hit);
	CHECK(gopher_has("/notes.txt", "plain words\n", &hit) && hit);
	CHECK(gopher_has("/doc.gmi", "Doc\r\n===\r\n", &hit) && !hit);
	CHECK(gopher_has("/doc.gmi", "Doc\r\n===\r\n", &hit) && hit);
	/* The Gemini side finds the same entry. */
	CHECK(from_cache("/doc.gmi", "# Doc\n"));
	put("notes.txt", "other words, longer\n");
	CHECK(gopher_has("/notes.txt", "other words, longer\n", &hit) && !hit);
	CHECK(gopher_has("/notes.txt", "other words, longer\n", &hit) && hit);
}

/* A self-signed certificate valid from from_days to to_days from now. */
static X509 *
self_signed(const char *cn, EVP_PKEY *k, long from_days, long to_days)
{
	X509		*x = X509_new();
	X509_NAME	*name;

	if (x == NULL)
		abort();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), from_days * 86400);
	X509_gmtime_adj(X509_getm_notAfter(x), to_days * 86400);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_set_pubkey(x, k);
	if (X509_sign(x, k, EVP_sha256()) == 0)
		abort();
	return x;
}

static char			 vroot[2][64];
static struct serve_vhost	 sv[2];
static struct config		 vcfg;
static struct gemini_policy	 vpolicy;
static struct serve_ctx		 vsc;
static const char		*vhosts_names[3];

static void
put_in(const char *dir, const char *rel, const char *text)
{
	char	 path[256];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if ((f = fopen(path, "w")) == NULL)
		abort();
	fputs(text, f);
	fclose(f);
}

static void
mkdir_in(const char *dir, const char *rel)
{
	char	path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	mkdir(path, 0755);
}

/* Two vhosts with rules; the listed fingerprint is fp (hex). */
static void
setup_vhosts(const char *fp)
{
	char		yaml[2048];
	struct buf	err;
	size_t		i;

	for (i = 0; i < 2; i++) {
		snprintf(vroot[i], sizeof(vroot[i]), "/tmp/serve-vh.XXXXXX");
		if (mkdtemp(vroot[i]) == NULL)
			abort();
	}
	put_in(vroot[0], "index.gmi", "# Main\n");
	mkdir_in(vroot[0], "members");
	put_in(vroot[0], "members/m.md", "---\ntitle: Secret\ntags: [x]\n---\n"
	    "zebra\n");
	mkdir_in(vroot[0], "pub");
	put_in(vroot[0], "pub/p.md", "---\ntitle: Public\ntags: [x]\n---\n"
	    "zebra\n");
	mkdir_in(vroot[0], "fr");
	put_in(vroot[0], "fr/a.nfo", "nfo\n");
	put_in(vroot[0], "fr/b.gmi", "# B\n");
	put_in(vroot[0], "fr/noext", "x\n");
	put_in(vroot[0], "x.nfo", "nfo\n");
	mkdir_in(vroot[0], "new");
	put_in(vroot[0], "new/index.gmi", "# New place\n");
	put_in(vroot[1], "index.gmi", "# Other capsule\n");
	snprintf(yaml, sizeof(yaml),
	    "hostname: main.example\n"
	    "root: %s\n"
	    "lang: en\n"
	    "types: {nfo: text/x-nfo}\n"
	    "paths:\n"
	    "  - {prefix: /members/, client_cert: {fingerprints: [\"%s\"]}}\n"
	    "  - {prefix: /fr/, lang: fr, charset: iso-8859-1, "
	    "default_type: text/plain}\n"
	    "  - {prefix: /old/, redirect: /new/, status: 31}\n"
	    "  - {prefix: /away, redirect: \"gemini://b.example/\"}\n"
	    "vhosts:\n"
	    "  - {hostname: b.example, aliases: [www.b.example], root: %s}\n",
	    vroot[0], fp, vroot[1]);
	config_init(&vcfg);
	buf_init(&err, 4096);
	if (config_load_mem(&vcfg, "t.yaml", span_cstr(yaml), &err) == -1 ||
	    config_finish(&vcfg, &err) == -1 ||
	    capsule_open(&sv[0].capsule, vroot[0], &err) == -1 ||
	    capsule_open(&sv[1].capsule, vroot[1], &err) == -1) {
		fprintf(stderr, "%s\n", buf_cstr(&err));
		abort();
	}
	buf_free(&err);
	sv[0].cfg = &vcfg.vhosts[0];
	sv[1].cfg = &vcfg.vhosts[1];
	vhosts_names[0] = "main.example";
	vhosts_names[1] = "b.example";
	vhosts_names[2] = "www.b.example";
	vpolicy.hosts = vhosts_names;
	vpolicy.nhosts = 3;
	vpolicy.port = 1965;
	vsc = sc;
	vsc.policy = &vpolicy;
	vsc.vhosts = sv;
	vsc.nvhosts = 2;
	vsc.capsule = &sv[0].capsule;
	vsc.hostname = "main.example";
	vsc.gopher_host = "main.example";
	vsc.gopher_port = 70;
}

/* The file a response sends, from memory or streamed, holds text. */
static bool
file_has(struct response *r, const char *text)
{
	char	b[512];
	ssize_t	n;

	if (r->fd == -1)
		return buf_cstr(&r->body) != NULL && strstr(r->body.p,
		    text) != NULL;
	if ((n = pread(r->fd, b, sizeof(b) - 1, 0)) < 0)
		return false;
	b[n] = '\0';
	return strstr(b, text) != NULL;
}

/* Serve url with a client certificate (or none); the header line. */
static const char *
vget(const char *url, X509 *cert, struct response *r)
{
	char			 line[600];
	static char		 head[GEMINI_META_MAX + 8];
	struct serve_client	 cl = { NULL, cert, NULL };

	snprintf(line, sizeof(line), "%s\r\n", url);
	response_init(r);
	serve_gemini(&vsc, span_make(line, strlen(line)), &cl, r);
	snprintf(head, sizeof(head), "%.*s", (int)(r->head.len >= 2 ?
	    r->head.len - 2 : 0), r->head.p);
	buf_cstr(&r->body);
	return head;
}

static void
test_vhosts_pick_by_host(void)
{
	struct response	r;

	CHECK_STR("20 text/gemini; charset=utf-8; lang=en",
	    vget("gemini://main.example/", NULL, &r));
	CHECK(file_has(&r, "# Main"));
	response_free(&r);
	CHECK_STR("20 text/gemini; charset=utf-8",
	    vget("gemini://b.example/", NULL, &r));
	CHECK(file_has(&r, "# Other capsule"));
	response_free(&r);
	vget("gemini://WWW.B.example/", NULL, &r);
	CHECK(file_has(&r, "# Other capsule"));
	response_free(&r);
	CHECK_STR("53 host is not served here",
	    vget("gemini://c.example/", NULL, &r));
	response_free(&r);
	/* The rules are the vhost's own: b.example has none. */
	CHECK_STR("51 Not found", vget("gemini://b.example/old/x", NULL, &r));
	response_free(&r);
}

static void
test_rules_redirect_and_types(void)
{
	struct response	r;

	CHECK_STR("31 /new/a%20b.gmi?q=1",
	    vget("gemini://main.example/old/a%20b.gmi?q=1", NULL, &r));
	response_free(&r);
	CHECK_STR("31 /new/", vget("gemini://main.example/old", NULL, &r));
	response_free(&r);
	CHECK_STR("31 /new/x", vget("gemini://main.example//old//x", NULL,
	    &r));
	response_free(&r);
	CHECK_STR("30 gemini://b.example/x/y",
	    vget("gemini://main.example/away/x/y", NULL, &r));
	response_free(&r);
	CHECK_STR("20 text/gemini; charset=iso-8859-1; lang=fr",
	    vget("gemini://main.example/fr/b.gmi", NULL, &r));
	response_free(&r);
	CHECK_STR("20 text/x-nfo; charset=iso-8859-1",
	    vget("gemini://main.example/fr/a.nfo", NULL, &r));
	response_free(&r);
	CHECK_STR("20 text/plain; charset=iso-8859-1",
	    vget("gemini://main.example/fr/noext", NULL, &r));
	response_free(&r);
	CHECK_STR("20 text/x-nfo", vget("gemini://main.example/x.nfo", NULL,
	    &r));
	response_free(&r);
	/* Generated pages stay UTF-8 whatever the rule, with its lang. */
	CHECK_STR("20 text/gemini; charset=utf-8; lang=fr",
	    vget("gemini://main.example/fr/", NULL, &r));
	response_free(&r);
}

static void
test_rules_client_certificates(X509 *listed, X509 *other, X509 *expired)
{
	struct response	r;

	CHECK_STR("60 A client certificate is required",
	    vget("gemini://main.example/members/m.gmi", NULL, &r));
	CHECK_STR("", r.cert_sha256);
	response_free(&r);
	CHECK_STR("60 A client certificate is required",
	    vget("gemini://main.example//members/m.gmi", NULL, &r));
	response_free(&r);
	CHECK_STR("60 A client certificate is required",
	    vget("gemini://main.example/members", NULL, &r));
	response_free(&r);
	CHECK_STR("61 This certificate is not authorised here",
	    vget("gemini://main.example/members/m.gmi", other, &r));
	CHECK_STR("CN=other", r.cert_subject);
	CHECK_INT(64, strlen(r.cert_sha256));
	response_free(&r);
	CHECK_STR("62 This certificate is expired or not yet valid",
	    vget("gemini://main.example/members/m.gmi", expired, &r));
	response_free(&r);
	CHECK_STR("20 text/gemini; charset=utf-8; lang=en",
	    vget("gemini://main.example/members/m.gmi", listed, &r));
	CHECK(body_has(&r, "# Secret"));
	CHECK_STR("CN=listed", r.cert_subject);
	response_free(&r);
	/* Outside the rule, the protected post is in no list... */
	vget("gemini://main.example/tags/x.gmi", NULL, &r);
	CHECK(body_has(&r, "Public") && !body_has(&r, "Secret"));
	response_free(&r);
	vget("gemini://main.example/search?zebra", NULL, &r);
	CHECK(body_has(&r, "Public") && !body_has(&r, "Secret"));
	response_free(&r);
	/* ...but inside it, its own feed lists it. */
	vget("gemini://main.example/members/", listed, &r);
	CHECK(body_has(&r, "Secret"));
	response_free(&r);
}

/* Gopher: the default vhost, no certificates, redirects followed. */
static void
test_rules_on_gopher(void)
{
	struct response	r;
	const char	*req[] = { "/members/m.gmi\r\n", "/old/\r\n",
			    "/away\r\n", "/fr/b.gmi\r\n" };
	size_t		i;

	for (i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		response_init(&r);
		serve_gopher(&vsc, span_cstr(req[i]), &r);
		buf_cstr(&r.body);
		switch (i) {
		case 0:
			CHECK_INT(3, r.status);
			CHECK(body_has(&r, "3This page needs a client "
			    "certificate"));
			break;
		case 1:
			CHECK_INT(0, r.status);
			CHECK(body_has(&r, "New place"));
			break;
		case 2:
			CHECK_INT(3, r.status);
			CHECK(body_has(&r, "3This page has moved"));
			break;
		default:
			CHECK_INT(0, r.status);
			CHECK(body_has(&r, "B"));
		}
		response_free(&r);
	}
}

static void
test_vhosts(void)
{
	EVP_PKEY	*k = EVP_EC_gen("P-256");
	X509		*listed = self_signed("listed", k, -1, 30);
	X509		*other = self_signed("other", k, -1, 30);
	X509		*expired = self_signed("listed", k, -30, -1);
	unsigned char	 md[32];
	unsigned int	 n;
	char		 hex[65], cmd[160];
	size_t		 i;

	X509_digest(listed, EVP_sha256(), md, &n);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	setup_vhosts(hex);
	test_vhosts_pick_by_host();
	test_rules_redirect_and_types();
	test_rules_client_certificates(listed, other, expired);
	test_rules_on_gopher();
	capsule_close(&sv[0].capsule);
	capsule_close(&sv[1].capsule);
	config_free(&vcfg);
	for (i = 0; i < 2; i++) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", vroot[i]);
		if (system(cmd) != 0)
			CHECK(!"removed");
	}
	X509_free(listed);
	X509_free(other);
	X509_free(expired);
	EVP_PKEY_free(k);
}

/* The entry the last answer used or made. */
static const struct cache_entry *
newest(void)
{
	return cache.head;
}

/*
 * A file changed less than a second ago is streamed, not kept; a post is
 * kept until its version settles and then rendered again, once; a feed
 * with such a post is not kept.  A second edit within the same tick of
 * the clock could leave their stat as it was.
 */
static void
test_fresh_versions_not_kept(void)
{
	struct response	r;
	size_t		count;
	unsigned long	hits;
	bool		hit;

	capsule_skew_clock(0);
	mkdir_in(root, "fresh");
	put("fresh/page.gmi", "# Fresh page\n");
	put("fresh/p.md", "---\ntitle: Fresh\ndate: 2026-03-04\n---\nnew\n");
	count = cache.count;
	hits = cache.hits;
	CHECK_STR("20 text/gemini; charset=utf-8; lang=en",
	    get("/fresh/page.gmi", &r));
	/* Streamed from the descriptor, as a file too large to keep. */
	CHECK(r.fd != -1 && r.body.len == 0);
	response_free(&r);
	CHECK(gopher_has("/fresh/page.gmi", "Fresh page", &hit) && !hit);
	CHECK(cache.count == count && cache.hits == hits);
	CHECK(strstr(answer("/fresh/p.gmi"), "# Fresh\n") != NULL);
	CHECK(cache.count == count + 1 && newest()->provisional);
	CHECK(from_cache("/fresh/p.gmi", "# Fresh\n"));
	CHECK(newest()->provisional);
	/* Settled: the post is rendered once more, the file kept. */
	capsule_skew_clock(TEST_SKEW);
	CHECK(strstr(answer("/fresh/p.gmi"), "# Fresh\n") != NULL);
	CHECK(cache.count == count + 1 && !newest()->provisional);
	CHECK(strcmp(newest()->url, "/fresh/p.gmi") == 0);
	CHECK(from_cache("/fresh/p.gmi", "# Fresh\n"));
	CHECK(strstr(answer("/fresh/page.gmi"), "# Fresh page\n") != NULL);
	CHECK(from_cache("/fresh/page.gmi", "# Fresh page\n"));
	/* A feed of a settled directory with a post edited just now. */
	wait_settled("fresh");
	put("fresh/p.md", "---\ntitle: Fresher\ndate: 2026-03-04\n---\nnew\n");
	capsule_skew_clock(0);
	CHECK(strstr(answer("/fresh/"), " - Fresher\n") != NULL);
	CHECK(!newest()->is_listing);
	capsule_skew_clock(TEST_SKEW);
	CHECK(strstr(answer("/fresh/"), " - Fresher\n") != NULL);
	CHECK(newest()->is_listing);
	CHECK(from_cache("/fresh/", " - Fresher\n"));
}

int
main(void)
{
	char	cmd[128];
	int	rc;

	setup();
	/* Every file written from here on counts as settled, unless a test
	 * is about fresh ones. */
	capsule_skew_clock(TEST_SKEW);
	RUN(test_post_and_draft);
	RUN(test_feed_twice_sees_every_post);
	RUN(test_tags_search_atom);
	RUN(test_out_of_memory_is_a_clean_answer);
	RUN(test_static_file_cached);
	RUN(test_static_file_never_stale);
	RUN(test_static_escape_never_cached);
	RUN(test_large_file_streamed);
	RUN(test_listing_cached_until_directory_changes);
	RUN(test_gopher_files_cached);
	RUN(test_cached_post_gives_way);
	RUN(test_feed_kept_until_a_post_changes);
	RUN(test_fresh_versions_not_kept);
	RUN(test_vhosts);
	rc = CHECK_SUMMARY();
	cache_free(&cache);
	capsule_close(&cap);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		return 1;
	return rc;
}
