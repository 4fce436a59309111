/*
 * Allocation failure on every request and render path: for N = 1, 2, ...
 * the N-th allocation fails (alone, or with every one after it), until a
 * run makes fewer than N allocations.  Each run must give the normal
 * answer or a clean failure (a whole "40" header with no body for
 * Gemini, one type-3 line and "." for Gopher), leave no descriptor open,
 * and not poison the cache: the next request without failures gets the
 * normal answer.  Under the sanitizer build every path is also checked
 * for leaks once its loop is done.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "log.h"
#include "mem.h"
#include "post.h"
#include "serve.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_LSAN	1
#include <sanitizer/lsan_interface.h>
#endif
#endif

/* A path that still fails at this N has a loop somewhere. */
#define N_MAX		200000

static char		 root[64];
static struct capsule	 cap;
static struct cache	 cache;
static const char	*hosts[] = { "localhost" };
static struct gemini_policy policy = { hosts, 1, 1965 };
static struct serve_ctx	 sc;

/* What one run produced, reduced to what the checks compare. */
struct outcome {
	struct buf	 head;
	struct buf	 body;
	int		 status;
	bool		 has_fd;
	off_t		 size;
};

/* One path under test. */
struct fcase {
	const char	*name;
	void		(*run)(const void *arg, struct outcome *o);
	const void	*arg;
	bool		 gopher;	/* failures are type-3 lines */
	bool		 uncached;	/* empty the cache before each run */
	unsigned long	 n[2];		/* runs needed: non-sticky, sticky */
};

static const char rich_post[] =
    "\xef\xbb\xbf---\r\n"
    "title: \"A rich post\"\r\n"
    "description: Every construct once\r\n"
    "pubDate: Jan 07 2026\r\n"
    "updatedDate: 2026-02-01T10:00:00Z\r\n"
    "heroImage: ../assets/capsule.png\r\n"
    "tags: [faults, \"two words\", markdown]\r\n"
    "lang: en-GB\r\n"
    "---\r\n"
    "# A rich post\r\n\r\n"
    "Intro with *emphasis*, **strong**, ~~gone~~, `code`, &amp; &copy; "
    "and a [link](../about.gmi) plus a footnote[^1].\r\n\r\n"
    "## Lists\r\n\r\n"
    "* one\r\n  * nested [missing](nowhere.md)\r\n* two\r\n\r\n"
    "3. three\r\n4. four\r\n\r\n"
    "> a quote\r\n> over two lines\r\n\r\n"
    "| a | b |\r\n|---|:-:|\r\n| 1 | 2 |\r\n| long cell | x |\r\n\r\n"
    "```sh\r\necho hi\r\n```\r\n\r\n"
    "<div>html <b>stripped</b></div>\r\n\r\n"
    "![an image](../assets/capsule.png)\r\n\r\n"
    "=> looks like a link line\r\n\r\n"
    "[^1]: The footnote text.\r\n";

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

/* The sample capsule plus a post that uses every Markdown construct. */
static void
setup(void)
{
	char		cmd[256];
	struct buf	err;
	struct config	cfg;

	snprintf(root, sizeof(root), "/tmp/faults-unit.XXXXXX");
	if (mkdtemp(root) == NULL)
		abort();
	snprintf(cmd, sizeof(cmd), "cp -R capsule/. '%s'", root);
	if (system(cmd) != 0)
		abort();
	put("blog/rich.md", rich_post);
	put("blog/broken.md", "---\ntitle: [unclosed\n---\nbody\n");
	put("blog/draft.md", "---\ntitle: Draft\ndraft: true\n---\nno\n");
	buf_init(&err, 1024);
	if (capsule_open(&cap, root, &err) == -1)
		abort();
	/* Render findings would be logged on every run: not wanted here. */
	config_init(&cfg);
	cfg.error_log.dest = CONFIG_LOG_OFF;
	cfg.access_log.dest = CONFIG_LOG_OFF;
	if (log_configure(&cfg, true, &err) == -1)
		abort();
	config_free(&cfg);
	buf_free(&err);
	cache_init(&cache, CACHE_DEFAULT_MAX);
	sc.policy = &policy;
	sc.capsule = &cap;
	sc.lang = "en";
	sc.hostname = "localhost";
	sc.cache = &cache;
	sc.gopher_host = "localhost";
	sc.gopher_port = 70;
}

static void
outcome_init(struct outcome *o)
{
	buf_init(&o->head, 1 << 20);
	buf_init(&o->body, SERVE_BODY_MAX);
	o->status = 0;
	o->has_fd = false;
	o->size = 0;
}

static void
outcome_free(struct outcome *o)
{
	buf_free(&o->head);
	buf_free(&o->body);
}

/* mem_count() as it was when the code under test finished. */
static unsigned long	run_count;

/* Copies are made with the failure hook off. */
static void
copy_span(struct buf *to, struct span s)
{
	mem_fail_after(0, 0);
	if (s.n > 0 && buf_append_span(to, s) == -1)
		abort();
}

static void
take_response(struct response *r, struct outcome *o)
{
	o->status = r->status;
	o->has_fd = r->fd != -1;
	o->size = r->size;
	copy_span(&o->head, buf_span(&r->head));
	copy_span(&o->body, buf_span(&r->body));
	response_free(r);
}

static void
run_gemini(const void *arg, struct outcome *o)
{
	char		line[600];
	struct response	r;

	snprintf(line, sizeof(line), "gemini://localhost%s\r\n",
	    (const char *)arg);
	response_init(&r);
	serve_gemini(&sc, span_make(line, strlen(line)), NULL, &r);
	run_count = mem_count();
	take_response(&r, o);
}

static void
run_gopher(const void *arg, struct outcome *o)
{
	char		line[600];
	struct response	r;

	snprintf(line, sizeof(line), "%s\r\n", (const char *)arg);
	response_init(&r);
	serve_gopher(&sc, span_make(line, strlen(line)), &r);
	run_count = mem_count();
	take_response(&r, o);
}

/* The config loader on the example file of the repository. */
static void
run_config(const void *arg, struct outcome *o)
{
	struct config	 cfg;
	struct buf	 err;
	FILE		*f;
	static char	 text[64 * 1024];
	static size_t	 len;
	int		 rc;

	(void)arg;
	if (len == 0) {
		if ((f = fopen("capsuled.yaml", "r")) == NULL)
			abort();
		len = fread(text, 1, sizeof(text), f);
		fclose(f);
	}
	config_init(&cfg);
	buf_init(&err, 64 * 1024);
	rc = config_load_mem(&cfg, "capsuled.yaml", span_make(text, len),
	    &err);
	if (rc == 0)
		rc = config_finish(&cfg, &err);
	run_count = mem_count();
	mem_fail_after(0, 0);
	o->status = rc == 0 ? 20 : 40;
	if (rc == 0) {
		/* What the normal run must reproduce exactly. */
		buf_printf(&o->body, "%s %s %zu %zu %u %s %s", cfg.file,
		    cfg.vhosts[0].hostname, cfg.ngemini, cfg.ngopher,
		    cfg.gopher_port, cfg.vhosts[0].cert, cfg.vhosts[0].root);
	}
	config_free(&cfg);
	buf_free(&err);
}

/* Front matter and md2gmi through post_render, as the server calls it. */
static void
run_render(const void *arg, struct outcome *o)
{
	struct post_input	in;
	struct post		p;
	size_t			i;
	int			rc;

	memset(&in, 0, sizeof(in));
	memset(&p, 0, sizeof(p));
	in.src = span_cstr((const char *)arg);
	in.url = "/blog/rich.gmi";
	in.name = "rich.md";
	rc = post_render(&in, &p);
	run_count = mem_count();
	mem_fail_after(0, 0);
	o->status = rc == 0 ? 20 : 40;
	if (rc == 0) {
		if (buf_append_span(&o->body, buf_span(&p.gmi)) == -1)
			abort();
		for (i = 0; i < p.diags.n; i++)
			buf_printf(&o->body, "\n%lu: %s", p.diags.v[i].line,
			    p.diags.v[i].msg);
	}
	post_free(&p);
}

static size_t
open_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	size_t		 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static bool
same(const struct outcome *a, const struct outcome *b)
{
	return a->status == b->status && a->has_fd == b->has_fd &&
	    a->size == b->size && a->head.len == b->head.len &&
	    a->body.len == b->body.len &&
	    (a->head.len == 0 || memcmp(a->head.p, b->head.p,
	    a->head.len) == 0) &&
	    (a->body.len == 0 || memcmp(a->body.p, b->body.p,
	    a->body.len) == 0);
}

/*
 * A clean failure: a whole 4x header and nothing else, or one type-3 line
 * and ".".  Only when the very first allocation of a request fails is
 * there no room even for that: the connection is then closed unanswered.
 */
static bool
is_clean_failure(const struct fcase *fc, unsigned long n,
    const struct outcome *o)
{
	const struct buf	*b = &o->body;

	if (fc->run == run_config || fc->run == run_render)
		return o->status == 40 && b->len == 0;
	if (o->has_fd)
		return false;
	if (n == 1 && o->head.len == 0 && b->len == 0)
		return o->status == (fc->gopher ? 3 : 40);
	if (fc->gopher)
		return o->status == 3 && o->head.len == 0 && b->len >= 6 &&
		    b->p[0] == '3' && memcmp(b->p + b->len - 3, ".\r\n", 3)
		    == 0 && memchr(b->p, '\n', b->len) == b->p + b->len - 4;
	return o->status / 10 == 4 && b->len == 0 && o->head.len >= 5 &&
	    o->head.p[0] == '4' && memcmp(o->head.p + o->head.len - 2,
	    "\r\n", 2) == 0 && memchr(o->head.p, '\n', o->head.len) ==
	    o->head.p + o->head.len - 1;
}

static void
report_bad(const struct fcase *fc, unsigned long n, int sticky,
    const char *what, const struct outcome *o)
{
	fprintf(stderr, "%s: N=%lu %s: %s: status %d, head \"%.*s\", "
	    "body %zu bytes \"%.60s\"\n", fc->name, n, sticky ? "sticky" :
	    "single", what, o->status, (int)(o->head.len > 2 ?
	    o->head.len - 2 : 0), o->head.p ? o->head.p : "", o->body.len,
	    o->body.p ? o->body.p : "");
	check_failures++;
}

/* One pass over N for one mode; returns the runs it took. */
static unsigned long
fault_loop(struct fcase *fc, const struct outcome *want, int sticky)
{
	struct outcome	o, again;
	unsigned long	n;
	size_t		fds = open_fds();
	int		before = check_failures;
	bool		injected = true;

	for (n = 1; injected && n < N_MAX; n++) {
		if (fc->uncached)
			cache_free(&cache);
		outcome_init(&o);
		mem_fail_after(n, sticky);
		fc->run(fc->arg, &o);
		mem_fail_after(0, 0);
		injected = run_count >= n;
		if (!same(&o, want) && (!injected ||
		    !is_clean_failure(fc, n, &o)))
			report_bad(fc, n, sticky, injected ? "unclean failure" :
			    "wrong answer without a failure", &o);
		outcome_free(&o);
		if (open_fds() != fds) {
			fprintf(stderr, "%s: N=%lu: %zu descriptors open, "
			    "%zu before\n", fc->name, n, open_fds(), fds);
			check_failures++;
			fds = open_fds();
		}
		/* A failure must not be remembered as the file's answer. */
		outcome_init(&again);
		fc->run(fc->arg, &again);
		if (!same(&again, want))
			report_bad(fc, n, sticky, "next request differs",
			    &again);
		outcome_free(&again);
		/* One path's first findings say enough. */
		if (check_failures > before + 5)
			return n;
	}
	CHECK(!injected);
	return n - 1;
}

static void
fault_case(struct fcase *fc)
{
	struct outcome	want;

	cache_free(&cache);
	outcome_init(&want);
	fc->run(fc->arg, &want);
	/* The normal answer must be a success for the loop to mean much. */
	if (fc->gopher)
		CHECK(want.status == 0 && (want.has_fd || want.body.len > 0));
	else
		CHECK(want.status == 20);
	if (!fc->uncached) {
		cache_free(&cache);
		outcome_free(&want);
		outcome_init(&want);
		fc->run(fc->arg, &want);	/* fills the cache */
	}
	fc->n[0] = fault_loop(fc, &want, 0);
	fc->n[1] = fault_loop(fc, &want, 1);
	outcome_free(&want);
#ifdef HAVE_LSAN
	if (__lsan_do_recoverable_leak_check() != 0) {
		fprintf(stderr, "%s: leaks (see above)\n", fc->name);
		check_failures++;
	}
#endif
}

static struct fcase cases[] = {
	{ "gemini static file", run_gemini, "/about.gmi", false, true, {0} },
	{ "gemini static file, cached", run_gemini, "/about.gmi", false,
	    false, {0} },
	{ "gemini directory listing", run_gemini, "/docs/", false, true,
	    {0} },
	{ "gemini post, uncached", run_gemini, "/blog/rich.gmi", false, true,
	    {0} },
	{ "gemini post, cached", run_gemini, "/blog/rich.gmi", false, false,
	    {0} },
	{ "gemini seed post, uncached", run_gemini,
	    "/blog/serving-markdown-over-gemini.gmi", false, true, {0} },
	{ "gemini blog index, uncached", run_gemini, "/blog/", false, true,
	    {0} },
	{ "gemini blog index, cached", run_gemini, "/blog/", false, false,
	    {0} },
	{ "gemini atom.xml", run_gemini, "/blog/atom.xml", false, true, {0} },
	{ "gemini tags index", run_gemini, "/tags/", false, true, {0} },
	{ "gemini tag page", run_gemini, "/tags/markdown.gmi", false, true,
	    {0} },
	{ "gemini search", run_gemini, "/search?markdown%20gemini", false,
	    true, {0} },
	{ "gopher root menu", run_gopher, "", true, true, {0} },
	{ "gopher blog menu", run_gopher, "/blog/", true, true, {0} },
	{ "gopher post, uncached", run_gopher, "/blog/rich.gmi", true, true,
	    {0} },
	{ "gopher post, cached", run_gopher, "/blog/rich.gmi", true, false,
	    {0} },
	{ "gopher search", run_gopher, "/search\tmarkdown", true, true, {0} },
	{ "config_load_mem", run_config, NULL, false, true, {0} },
	{ "front matter + md2gmi", run_render, rich_post, false, true, {0} },
};

static void
test_every_path_fails_cleanly(void)
{
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		fault_case(&cases[i]);
	printf("%-30s %8s %8s\n", "path", "single", "sticky");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		printf("%-30s %8lu %8lu\n", cases[i].name, cases[i].n[0],
		    cases[i].n[1]);
}

int
main(void)
{
	char	cmd[128];
	int	rc;

	setup();
	RUN(test_every_path_fails_cleanly);
	rc = CHECK_SUMMARY();
	cache_free(&cache);
	capsule_close(&cap);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		return 1;
	return rc;
}
