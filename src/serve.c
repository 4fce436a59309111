#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "feed.h"
#include "gmi2txt.h"
#include "gopher.h"
#include "log.h"
#include "mem.h"
#include "serve.h"
#include "tls.h"
#include "url.h"
#include "vhost.h"

void
response_init(struct response *r)
{
	r->status = 0;
	r->reason = NULL;
	buf_init(&r->head, GEMINI_META_MAX + 8);
	buf_init(&r->body, SERVE_BODY_MAX);
	r->fd = -1;
	r->size = 0;
	r->host[0] = '\0';
	r->cert_sha256[0] = '\0';
	r->cert_subject[0] = '\0';
	r->note[0] = '\0';
}

void
response_free(struct response *r)
{
	buf_free(&r->head);
	buf_free(&r->body);
	if (r->fd != -1)
		close(r->fd);
	r->fd = -1;
}

/* Replace whatever was prepared with a header-only answer. */
static void
serve_status(struct response *r, int status, const char *meta)
{
	buf_reset(&r->head);
	buf_reset(&r->body);
	if (r->fd != -1)
		close(r->fd);
	r->fd = -1;
	r->size = 0;
	r->status = status;
	if (status != GEMINI_SUCCESS && r->reason == NULL)
		r->reason = meta;
	if (gemini_header(&r->head, status, span_cstr(meta)) == -1) {
		/* The head buffer always fits a short constant header. */
		buf_reset(&r->head);
		buf_puts(&r->head, "40 Internal error\r\n");
		r->status = GEMINI_TEMPORARY_FAILURE;
	}
}

/*
 * The 20 header for mime.  charset is NULL for what capsuled makes itself
 * (always UTF-8), the rule's or vhost's for files served as they are.
 */
static int
serve_success_header(const struct serve_ctx *sc, struct response *r,
    const char *mime, const char *charset)
{
	char	meta[VHOST_META_MAX];

	if (vhost_meta(meta, sizeof(meta), mime, charset, sc->lang) == -1)
		return -1;
	r->status = GEMINI_SUCCESS;
	return gemini_header(&r->head, GEMINI_SUCCESS, span_cstr(meta));
}

/* "capsule/blog/x.md" for log lines, from the post's URL. */
static void
serve_post_label(const struct serve_ctx *sc, const char *url, char *out,
    size_t outsz)
{
	size_t	n = strlen(url);

	if (n >= 4 && strcmp(url + n - 4, ".gmi") == 0)
		snprintf(out, outsz, "%s%.*s.md", sc->capsule->root,
		    (int)(n - 4), url);
	else
		snprintf(out, outsz, "%s%sindex.md", sc->capsule->root, url);
}

static bool
serve_exists(void *arg, const char *capsule_path)
{
	const struct serve_ctx	*sc = arg;

	return capsule_exists(sc->capsule, capsule_path);
}

/* The file name a post's title falls back to: "x.md" from "/a/x.gmi". */
static void
serve_post_name(const char *url, char *out, size_t outsz)
{
	const char	*slash = strrchr(url, '/');
	const char	*base = slash ? slash + 1 : url;
	size_t		 n = strlen(base);

	if (n >= 4 && strcmp(base + n - 4, ".gmi") == 0)
		snprintf(out, outsz, "%.*s.md", (int)(n - 4), base);
	else
		snprintf(out, outsz, "index.md");
}

static void
serve_log_render(const struct serve_ctx *sc, const char *url,
    const struct post *p, int rc)
{
	char	label[1200];
	size_t	i;

	serve_post_label(sc, url, label, sizeof(label));
	if (rc == -1)
		log_warnx("%s: cannot render: %s", label,
		    p->errstr ? p->errstr : "error");
	for (i = 0; i < p->diags.n; i++)
		log_warnx("%s:%lu: %s", label, p->diags.v[i].line,
		    p->diags.v[i].msg);
}

/*
 * The post rendered for url from the file described by st, if this
 * worker keeps one.  A render of a version that had not settled serves
 * until that version settles, and is then made again, once.
 */
static struct cache_entry *
serve_find_post(const struct serve_ctx *sc, const struct stat *st,
    const char *url)
{
	struct cache_entry	*e;

	if ((e = cache_find(sc->cache, st, url)) != NULL && e->provisional &&
	    capsule_is_settled(st)) {
		cache_drop(sc->cache, e);
		return NULL;
	}
	return e;
}

/*
 * The rendered post behind an open .md file: from this worker's cache, or
 * read and rendered now (and its findings logged, once per version, or
 * twice when it was new).
 */
static struct cache_entry *
serve_rendered(const struct serve_ctx *sc, int fd, const struct stat *st,
    const char *url)
{
	struct cache_entry	*e;
	struct post_input	 in;
	struct post		 p;
	struct buf		 src;
	char			 name[300];
	unsigned long		 failed;
	int			 rc;

	if ((e = serve_find_post(sc, st, url)) != NULL)
		return e;
	buf_init(&src, POST_MAX_SIZE);
	memset(&p, 0, sizeof(p));
	if (capsule_read_file(fd, st, POST_MAX_SIZE, &src) == -1) {
		char	label[1200];

		serve_post_label(sc, url, label, sizeof(label));
		log_warn("%s", label);
		buf_free(&src);
		return NULL;
	}
	serve_post_name(url, name, sizeof(name));
	memset(&in, 0, sizeof(in));
	in.src = buf_span(&src);
	in.url = url;
	in.name = name;
	in.exists = serve_exists;
	in.arg = (void *)sc;
	in.budget_ms = SERVE_RENDER_BUDGET_MS;
	failed = mem_failures();
	rc = post_render(&in, &p);
	serve_log_render(sc, url, &p, rc);
	buf_free(&src);
	/*
	 * A post that cannot be rendered (too large, too slow) is kept as a
	 * failure, so this version costs one attempt, not one per request;
	 * running out of memory may pass, so that is not kept, whatever
	 * error the renderer made of it.
	 */
	if (rc == -1 && (p.errstr == NULL || mem_failures() != failed)) {
		post_free(&p);
		return NULL;
	}
	if ((e = cache_insert(sc->cache, st, url, &p)) != NULL)
		e->provisional = !capsule_is_settled(st);
	return e;
}

/* The answer for a rendered post, or for one that could not be (NULL). */
static void
serve_post_entry(const struct serve_ctx *sc, const struct cache_entry *e,
    struct response *r)
{
	const char	*lang;
	char		 meta[VHOST_META_MAX];

	if (e == NULL || e->post.errstr != NULL) {
		serve_status(r, GEMINI_TEMPORARY_FAILURE,
		    "This post cannot be rendered");
		return;
	}
	if (e->post.meta.draft) {
		r->reason = "draft";
		serve_status(r, GEMINI_NOT_FOUND, "Not found");
		return;
	}
	lang = e->post.meta.lang != NULL ? e->post.meta.lang : sc->lang;
	r->status = GEMINI_SUCCESS;
	if (vhost_meta(meta, sizeof(meta), "text/gemini", NULL, lang) == -1 ||
	    gemini_header(&r->head, GEMINI_SUCCESS, span_cstr(meta)) == -1 ||
	    buf_append_span(&r->body, buf_span(&e->post.gmi)) == -1)
		serve_status(r, GEMINI_TEMPORARY_FAILURE, "Out of memory");
}

static void
serve_post(const struct serve_ctx *sc, const struct gemini_request *req,
    struct capsule_obj *o, struct response *r)
{
	serve_post_entry(sc, serve_rendered(sc, o->fd, &o->st, req->path), r);
}

/*
 * A post rendered before for this path, found with two stats and no
 * descriptor: the one of the .md file, and the one that finds no .gmi in
 * its place.  The entry was rendered from a file capsule_resolve opened
 * beneath the root, and matches only while that inode is unchanged (as
 * for serve_cached_entry); anything else takes the long way (NULL).
 */
static struct cache_entry *
serve_cached_post(const struct serve_ctx *sc, const struct gemini_request *req)
{
	struct stat	st;

	if (capsule_stat_post(sc->capsule, req->path, req->path_len,
	    &st) == -1)
		return NULL;
	return serve_find_post(sc, &st, req->path);
}

/* The published posts of a directory (or the capsule), for feed pages. */
struct serve_posts {
	const struct serve_ctx	*sc;
	struct feed_entry	*v;
	size_t			 n;
	size_t			 cap;
	bool			 failed;
	/* With keep_deps: every post looked at, for a page to be kept. */
	bool			 keep_deps;
	struct cache_dep	*deps;
	size_t			 ndeps;
	size_t			 depcap;
	bool			 partial;	/* the page may not be kept */
};

/*
 * Keep a feed page made for dir, with the posts in sp it was made from
 * (they pass to the cache).  Nothing is kept when memory runs out; the
 * page already made is still the answer.
 */
static void
serve_keep_feed(const struct serve_ctx *sc, const char *dir,
    const struct capsule_obj *o, struct span page, struct serve_posts *sp)
{
	struct buf	copy;

	buf_init(&copy, CAPSULE_LISTING_MAX);
	if (buf_append_span(&copy, page) == -1) {
		buf_free(&copy);
		return;
	}
	cache_insert_listing(sc->cache, sc->capsule->rootfd, &o->st, dir,
	    &copy, sp->deps, sp->ndeps);
	sp->deps = NULL;
	sp->ndeps = 0;
}

/* Note a post the page was made from; past a failure, the page is not kept. */
static void
serve_note_dep(struct serve_posts *sp, const char *url, const struct stat *st)
{
	struct cache_dep	*nv;

	if (!sp->keep_deps || sp->partial)
		return;
	/* Its stat could not show a second edit within the same tick. */
	if (!capsule_is_settled(st)) {
		sp->partial = true;
		return;
	}
	if (sp->ndeps == sp->depcap) {
		sp->depcap = sp->depcap ? sp->depcap * 2 : 16;
		nv = mem_realloc(sp->deps, sp->depcap * sizeof(*nv));
		if (nv == NULL) {
			sp->partial = true;
			return;
		}
		sp->deps = nv;
	}
	if ((sp->deps[sp->ndeps].url = mem_strdup(url)) == NULL) {
		sp->partial = true;
		return;
	}
	cache_version_of(&sp->deps[sp->ndeps++].v, st);
}

/*
 * A post behind a client-certificate rule shows in no list, feed or
 * search made for a page outside that rule: its title would leak.
 */
static bool
serve_hidden_post(const struct serve_ctx *sc, const char *url)
{
	const struct config_path	*pr;

	if (sc->site == NULL)
		return false;
	pr = vhost_rule(sc->site->cfg, span_cstr(url));
	return pr != NULL && pr->client_cert && pr != sc->rule;
}

static int
serve_collect(void *arg, const char *url, int fd, const struct stat *st)
{
	struct serve_posts	*sp = arg;
	struct cache_entry	*e;
	struct feed_entry	*nv;

	if (serve_hidden_post(sp->sc, url))
		return 0;
	serve_note_dep(sp, url, st);
	/* Not even a remembered failure: this post may do better next time. */
	if ((e = serve_rendered(sp->sc, fd, st, url)) == NULL)
		sp->partial = true;
	if (e == NULL || e->post.errstr != NULL || e->post.meta.draft)
		return 0;
	if (sp->n == sp->cap) {
		sp->cap = sp->cap ? sp->cap * 2 : 32;
		nv = mem_realloc(sp->v, sp->cap * sizeof(*nv));
		if (nv == NULL) {
			sp->failed = true;
			return -1;
		}
		sp->v = nv;
	}
	sp->v[sp->n].path = e->url;
	sp->v[sp->n].meta = &e->post.meta;
	sp->v[sp->n].body = buf_span(&e->post.gmi);
	sp->n++;
	return 0;
}

static int
serve_gather(const struct serve_ctx *sc, const char *dir, bool recursive,
    bool keep_deps, struct serve_posts *sp)
{
	bool	partial = false;

	memset(sp, 0, sizeof(*sp));
	sp->sc = sc;
	sp->keep_deps = keep_deps;
	if (capsule_posts(sc->capsule, dir, recursive, serve_collect, sp,
	    &partial) == -1 && sp->failed) {
		free(sp->v);
		cache_deps_free(sp->deps, sp->ndeps);
		return -1;
	}
	sp->partial = sp->partial || partial;
	feed_sort(sp->v, sp->n);
	return 0;
}

/* A directory's title: "Blog" for "/blog/", the hostname for "/". */
static void
serve_dir_title(const struct serve_ctx *sc, const char *dir, char *out,
    size_t outsz)
{
	size_t	n = strlen(dir), start, i, o = 0;

	if (n <= 1) {
		snprintf(out, outsz, "%s", sc->hostname);
		return;
	}
	for (start = n - 1; start > 0 && dir[start - 1] != '/'; start--)
		;
	for (i = start; i < n - 1 && o + 1 < outsz; i++) {
		char	ch = dir[i];

		if (ch == '-' || ch == '_')
			ch = ' ';
		if (o == 0 && ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		out[o++] = ch;
	}
	out[o] = '\0';
}

static void
serve_success_body(const struct serve_ctx *sc, struct response *r,
    const char *mime, int rc)
{
	if (rc == -1) {
		serve_status(r, GEMINI_TEMPORARY_FAILURE, "Out of memory");
		return;
	}
	if (serve_success_header(sc, r, mime, NULL) == -1)
		serve_status(r, GEMINI_TEMPORARY_FAILURE, "Out of memory");
}

/*
 * The feed page of a directory of posts into r.  When keep is the lookup
 * of that directory and says its page may be kept, the page goes into
 * the cache with every post it was made from.
 */
static void
serve_feed(const struct serve_ctx *sc, const char *dir, bool atom,
    const struct capsule_obj *keep, struct response *r)
{
	struct serve_posts	 sp;
	char			 title[256], base[GEMINI_HOST_MAX + 16];
	int			 rc;

	keep = keep != NULL && keep->cacheable && !atom ? keep : NULL;
	if (serve_gather(sc, dir, false, keep != NULL, &sp) == -1) {
		serve_status(r, GEMINI_TEMPORARY_FAILURE, "Out of memory");
		return;
	}
	serve_dir_title(sc, dir, title, sizeof(title));
	if (atom) {
		if (sc->policy->port == 1965)
			snprintf(base, sizeof(base), "gemini://%s", sc->hostname);
		else
			snprintf(base, sizeof(base), "gemini://%s:%u",
			    sc->hostname, sc->policy->port);
		rc = feed_atom(&r->body, base, dir, title, sp.v, sp.n);
		serve_success_body(sc, r, "application/atom+xml", rc);
	} else {
		rc = feed_index(&r->body, dir, title, sp.v, sp.n);
		serve_success_body(sc, r, "text/gemini", rc);
	}
	if (keep != NULL && !sp.partial && r->status == GEMINI_SUCCESS)
		serve_keep_feed(sc, dir, keep, buf_span(&r->body), &sp);
	cache_deps_free(sp.deps, sp.ndeps);
	free(sp.v);
}

static void
serve_tags(const struct serve_ctx *sc, const struct gemini_request *req,
    struct response *r)
{
	struct serve_posts	 sp;
	struct span		 tag;
	int			 rc;

	if (serve_gather(sc, "/", true, false, &sp) == -1) {
		serve_status(r, GEMINI_TEMPORARY_FAILURE, "Out of memory");
		return;
	}
	if (strcmp(req->path, "/tags/") == 0) {
		rc = feed_tags_index(&r->body, sp.v, sp.n);
		serve_success_body(sc, r, "text/gemini", rc);
	} else {
		tag = span_make(req->path + 6, req->path_len - 6 - 4);
		rc = feed_tag_page(&r->body, tag, sp.v, sp.n);
		if (rc == 1)
			serve_status(r, GEMINI_NOT_FOUND, "No posts with this tag");
		else
			serve_success_body(sc, r, "text/gemini", rc);
	}
	free(sp.v);
}

static void
serve_search(const struct serve_ctx *sc, const struct gemini_request *req,
    struct response *r)
{
	struct serve_posts	 sp;
	struct buf		 q;
	bool			 has_nul = false;
	int			 rc;

	if (!req->has_query || req->query_len == 0) {
		serve_status(r, GEMINI_INPUT, "Search posts");
		return;
	}
	buf_init(&q, GEMINI_URL_MAX);
	if (url_decode(span_make(req->query, req->query_len), &q,
	    &has_nul) == -1 || has_nul) {
		buf_free(&q);
		serve_status(r, GEMINI_BAD_REQUEST, "Malformed search query");
		return;
	}
	if (serve_gather(sc, "/", true, false, &sp) == -1) {
		buf_free(&q);
		serve_status(r, GEMINI_TEMPORARY_FAILURE, "Out of memory");
		return;
	}
	rc = feed_search(&r->body, buf_span(&q), sp.v, sp.n);
	serve_success_body(sc, r, "text/gemini", rc);
	free(sp.v);
	buf_free(&q);
}

static bool
serve_is_tag_path(const struct gemini_request *req)
{
	return req->path_len > 6 + 4 &&
	    strncmp(req->path, "/tags/", 6) == 0 &&
	    strcmp(req->path + req->path_len - 4, ".gmi") == 0 &&
	    memchr(req->path + 6, '/', req->path_len - 6) == NULL;
}

/* Pages made from every post: they exist unless a real file is there. */
static bool
serve_virtual(const struct serve_ctx *sc, const struct gemini_request *req,
    struct response *r)
{
	if (strcmp(req->path, "/search") == 0) {
		serve_search(sc, req, r);
		return true;
	}
	if (strcmp(req->path, "/tags") == 0) {
		r->reason = "directory needs a trailing slash";
		serve_status(r, GEMINI_REDIRECT_PERMANENT, "/tags/");
		return true;
	}
	if (strcmp(req->path, "/tags/") == 0 || serve_is_tag_path(req)) {
		serve_tags(sc, req, r);
		return true;
	}
	return false;
}

/*
 * A file's type under the operator's mappings, mime the built-in one; an
 * index keeps its own.
 */
static const char *
serve_file_type(const struct serve_ctx *sc, const struct gemini_request *req,
    const char *mime)
{
	if (sc->site == NULL || req->path[req->path_len - 1] == '/')
		return mime;
	return vhost_file_type(sc->site->cfg, sc->rule,
	    span_make(req->path, req->path_len));
}

/* The 20 header for a static file, by the request's vhost and rule. */
static int
serve_file_header(const struct serve_ctx *sc, const struct gemini_request *req,
    const char *mime, struct response *r)
{
	return serve_success_header(sc, r, serve_file_type(sc, req, mime),
	    vhost_charset(sc->site ? sc->site->cfg : NULL, sc->rule));
}

/*
 * A cached file's bytes, copied into the body: the entry may be evicted
 * once the response is made, and conn gathers head and body into one
 * write anyway.
 */
static void
serve_file_bytes(const struct serve_ctx *sc, const struct gemini_request *req,
    const struct cache_entry *e, struct response *r)
{
	/* A listing is no file: the operator's types and charset are not its. */
	int	rc = e->is_listing ? serve_success_header(sc, r, e->mime, NULL) :
	    serve_file_header(sc, req, e->mime, r);

	if (rc == -1 || buf_append_span(&r->body, buf_span(&e->data)) == -1)
		serve_status(r, GEMINI_TEMPORARY_FAILURE, "Out of memory");
}

/* True when every post a kept feed page was made from is as it was. */
static bool
serve_deps_current(const struct serve_ctx *sc, const struct cache_entry *e)
{
	struct stat	st;
	size_t		i;

	for (i = 0; i < e->ndeps; i++)
		if (capsule_stat_source(sc->capsule, e->deps[i].url,
		    &st) == -1 || !cache_version_is(&e->deps[i].v, &st))
			return false;
	return true;
}

/*
 * A small file or a generated page served before, from this worker's
 * cache: one stat (and one per post for a feed page) and no descriptor.  The entry was filled from a file
 * (or directory) capsule_resolve opened beneath the root (no dotfile, no
 * way out by ".." or a link), so when the stat finds the very same inode
 * unchanged (size and times: renaming or linking it changes its ctime),
 * its bytes are what that lookup would give now.  Anything else,
 * including a file gone, takes the long way (NULL).
 */
static struct cache_entry *
serve_cached_entry(const struct serve_ctx *sc, const struct gemini_request *req)
{
	struct cache_entry	*e;
	struct stat		 st;
	int			 rc;

	e = cache_find_file(sc->cache, sc->capsule->rootfd, req->path);
	if (e == NULL)
		return NULL;
	rc = e->is_listing ?
	    capsule_stat_dir(sc->capsule, req->path, req->path_len, &st) :
	    capsule_stat_file(sc->capsule, req->path, req->path_len, &st);
	if (rc == -1 || !cache_is_current(e, &st) ||
	    !serve_deps_current(sc, e)) {
		cache_drop(sc->cache, e);
		return NULL;
	}
	cache_use(sc->cache, e);
	return e;
}

static bool
serve_cached_file(const struct serve_ctx *sc, const struct gemini_request *req,
    struct response *r)
{
	struct cache_entry	*e = serve_cached_entry(sc, req);

	if (e == NULL)
		return false;
	serve_file_bytes(sc, req, e, r);
	return true;
}

/*
 * A listing that will stay the same while its directory does is kept
 * (o->body then belongs to the cache).  NULL when it is not to be kept,
 * o->body untouched, or when memory ran out: o->body is then empty, and
 * the mem_failures check of the request makes its answer an error.
 */
static struct cache_entry *
serve_keep_listing(const struct serve_ctx *sc, const char *url,
    struct capsule_obj *o)
{
	if (!o->cacheable)
		return NULL;
	return cache_insert_listing(sc->cache, sc->capsule->rootfd, &o->st,
	    url, &o->body, NULL, 0);
}

/*
 * Read a small file once into the cache; NULL (nothing kept) when its
 * version is not settled or it could not be read as one version, and the
 * open descriptor is then streamed as for a large file.
 */
static struct cache_entry *
serve_keep_file(const struct serve_ctx *sc, const char *url,
    struct capsule_obj *o)
{
	struct cache_entry	*e;
	struct buf		 data;
	struct stat		 after;

	if (o->size > CACHE_FILE_MAX || !capsule_is_settled(&o->st))
		return NULL;
	/* Room past the cap so that the read of a full-size file sees EOF. */
	buf_init(&data, CACHE_FILE_MAX + 4096);
	if (capsule_read_file(o->fd, &o->st, CACHE_FILE_MAX, &data) == -1) {
		buf_free(&data);
		return NULL;
	}
	e = cache_insert_file(sc->cache, sc->capsule->rootfd, &o->st, url,
	    o->mime, &data);
	if (e == NULL)
		return NULL;
	/* Rewritten meanwhile: these bytes may belong to no one version. */
	if (fstat(o->fd, &after) == -1 || !cache_is_current(e, &after)) {
		cache_drop(sc->cache, e);
		return NULL;
	}
	return e;
}

static void
serve_object(const struct serve_ctx *sc, const struct gemini_request *req,
    struct capsule_obj *o, struct response *r)
{
	struct cache_entry	*e;

	switch (o->kind) {
	case CAPSULE_NOT_FOUND:
		if (!serve_virtual(sc, req, r))
			serve_status(r, GEMINI_NOT_FOUND, "Not found");
		return;
	case CAPSULE_POST:
		serve_post(sc, req, o, r);
		return;
	case CAPSULE_FEED:
		serve_feed(sc, req->path, false, o, r);
		return;
	case CAPSULE_ATOM: {
		char	dir[GEMINI_URL_MAX + 1];

		snprintf(dir, sizeof(dir), "%.*s", (int)(req->path_len - 8),
		    req->path);
		serve_feed(sc, dir, true, NULL, r);
		return;
	}
	case CAPSULE_ERROR:
		serve_status(r, GEMINI_TEMPORARY_FAILURE,
		    "Cannot read this resource");
		return;
	case CAPSULE_REDIRECT:
		if (req->has_query && (buf_putc(&o->location, '?') == -1 ||
		    buf_append(&o->location, req->query, req->query_len) == -1))
			break;
		if (buf_cstr(&o->location) == NULL)
			break;
		r->reason = "directory needs a trailing slash";
		serve_status(r, GEMINI_REDIRECT_PERMANENT, o->location.p);
		return;
	case CAPSULE_LISTING:
		if ((e = serve_keep_listing(sc, req->path, o)) != NULL) {
			serve_file_bytes(sc, req, e, r);
			return;
		}
		if (serve_success_header(sc, r, o->mime, NULL) == -1)
			break;
		/* Hand the generated page over instead of copying it. */
		buf_free(&r->body);
		r->body = o->body;
		buf_init(&o->body, CAPSULE_LISTING_MAX);
		return;
	case CAPSULE_FILE:
		if ((e = serve_keep_file(sc, req->path, o)) != NULL) {
			serve_file_bytes(sc, req, e, r);
			return;
		}
		if (serve_file_header(sc, req, o->mime, r) == -1)
			break;
		r->fd = o->fd;
		r->size = o->size;
		o->fd = -1;
		return;
	}
	serve_status(r, GEMINI_TEMPORARY_FAILURE, "Out of memory");
}

/* The long way: look the path up, and answer for what is there. */
static void
serve_resolved(const struct serve_ctx *sc, const struct gemini_request *req,
    struct response *r)
{
	struct capsule_obj	o;

	capsule_obj_init(&o);
	capsule_resolve(sc->capsule, req->path, req->path_len, &o);
	serve_object(sc, req, &o, r);
	capsule_obj_free(&o);
}

/*
 * The view of one request: the vhost named host (the first when none is,
 * as for Gopher) and the rule path falls under, with the lang in force.
 */
static void
serve_pick(const struct serve_ctx *sc, struct span host, struct span path,
    struct serve_ctx *v)
{
	const struct serve_vhost	*site;
	size_t				 i;

	*v = *sc;
	if (sc->nvhosts == 0)
		return;
	for (i = 0; i < sc->nvhosts; i++)
		if (vhost_find(sc->vhosts[i].cfg, 1, host) == 0)
			break;
	site = &sc->vhosts[i < sc->nvhosts ? i : 0];
	v->site = site;
	v->capsule = &site->capsule;
	v->hostname = site->cfg->hostname;
	v->rule = vhost_rule(site->cfg, path);
	v->lang = vhost_lang(site->cfg, v->rule);
}

/* Remember the client certificate for the access log. */
static void
serve_note_cert(const struct serve_client *cl, struct response *r)
{
	static const char	hex[] = "0123456789abcdef";
	unsigned char		md[TLS_SHA256_LEN];
	size_t			i;

	if (cl == NULL || cl->cert == NULL ||
	    tls_cert_sha256(cl->cert, md) == -1)
		return;
	for (i = 0; i < sizeof(md); i++) {
		r->cert_sha256[2 * i] = hex[md[i] >> 4];
		r->cert_sha256[2 * i + 1] = hex[md[i] & 15];
	}
	r->cert_sha256[2 * sizeof(md)] = '\0';
	tls_cert_subject(cl->cert, r->cert_subject, sizeof(r->cert_subject));
}

/* The rule wants a client certificate: true when this one will do. */
static bool
serve_cert_ok(const struct serve_ctx *sc, const struct serve_client *cl,
    struct response *r)
{
	const struct config_path	*pr = sc->rule;
	X509_STORE			*ca = NULL;

	if (sc->site->ca != NULL)
		ca = sc->site->ca[pr - sc->site->cfg->paths];
	switch (tls_client_check(cl ? cl->cert : NULL, cl ? cl->chain : NULL,
	    ca, (const unsigned char (*)[TLS_SHA256_LEN])pr->fingerprints,
	    pr->nfingerprints)) {
	case TLS_CLIENT_OK:
		return true;
	case TLS_CLIENT_MISSING:
		serve_status(r, GEMINI_CERT_REQUIRED,
		    "A client certificate is required");
		break;
	case TLS_CLIENT_UNKNOWN:
		serve_status(r, GEMINI_CERT_NOT_AUTHORISED,
		    "This certificate is not authorised here");
		break;
	case TLS_CLIENT_INVALID:
		serve_status(r, GEMINI_CERT_NOT_VALID,
		    "This certificate is expired or not yet valid");
		break;
	}
	return false;
}

static void
serve_redirect(const struct serve_ctx *sc, const struct gemini_request *req,
    struct response *r)
{
	struct buf	loc;

	buf_init(&loc, GEMINI_META_MAX);
	r->reason = "redirected by a path rule";
	if (vhost_redirect(&loc, sc->rule, span_make(req->path, req->path_len),
	    span_make(req->query, req->query_len), req->has_query) == -1 ||
	    buf_cstr(&loc) == NULL) {
		r->reason = NULL;
		serve_status(r, GEMINI_BAD_REQUEST,
		    "Request is too long to redirect");
	} else
		serve_status(r, sc->rule->redirect_status, loc.p);
	buf_free(&loc);
}

/*
 * What every Gemini request, and every Titan one in its Gemini form,
 * passes first: the checks of gemini_parse_request, then the host is the
 * one the handshake named.  Returns 0 with req's path squeezed, or -1
 * when r holds the answer.
 */
static int
serve_admit(const struct serve_ctx *sc, struct span line,
    const struct serve_client *cl, struct gemini_request *req,
    struct response *r)
{
	const char	*reason = NULL;
	int		 status;

	status = gemini_parse_request(line, sc->policy, req, &reason);
	if (status != 0) {
		serve_status(r, status, reason);
		return -1;
	}
	memcpy(r->host, req->host, sizeof(r->host));
	/* A certificate for one name must not be used to fetch another. */
	if (cl != NULL && cl->sni != NULL && strcasecmp(cl->sni,
	    req->host) != 0) {
		serve_status(r, GEMINI_PROXY_REFUSED,
		    "Request host does not match the TLS server name");
		return -1;
	}
	req->path_len = vhost_squeeze_slashes(req->path, req->path_len);
	return 0;
}

void
serve_gemini(const struct serve_ctx *sc, struct span line,
    const struct serve_client *cl, struct response *r)
{
	struct gemini_request	 req;
	struct serve_ctx	 v;
	struct cache_entry	*e;
	unsigned long		 failed = mem_failures();

	/*
	 * Room for any header first: a failure later on can then still be
	 * told as a 40.  Without even this, nothing is sent and the
	 * connection is closed.
	 */
	if (buf_reserve(&r->head, r->head.max) == -1) {
		r->status = GEMINI_TEMPORARY_FAILURE;
		r->reason = "out of memory";
		return;
	}
	serve_note_cert(cl, r);
	if (serve_admit(sc, line, cl, &req, r) == -1)
		return;
	serve_pick(sc, span_cstr(req.host), span_make(req.path, req.path_len),
	    &v);
	if (v.rule != NULL && v.rule->client_cert && !serve_cert_ok(&v, cl, r))
		return;
	if (v.rule != NULL && v.rule->redirect != NULL) {
		serve_redirect(&v, &req, r);
		return;
	}
	if (!serve_cached_file(&v, &req, r)) {
		if ((e = serve_cached_post(&v, &req)) != NULL)
			serve_post_entry(&v, e, r);
		else
			serve_resolved(&v, &req, r);
	}
	/*
	 * Some helpers answer "no" when they run out of memory (no such
	 * file, not a directory, post left out of a list): whatever came
	 * of it, an answer made while memory ran out is a 40.
	 */
	if (mem_failures() != failed)
		serve_status(r, GEMINI_TEMPORARY_FAILURE, "Out of memory");
	/* Only now may rendered posts leave the cache: the page is built. */
	cache_trim(sc->cache);
}

/*
 * Titan.  An upload is checked like a read (the same host, port and path
 * rules) and then by its own upload rule; only when everything holds is a
 * temporary file opened for the body.
 */

/* The first upload rule of vh matching path, or NULL. */
static const struct config_path *
serve_titan_rule(const struct config_vhost *vh, struct span path)
{
	size_t	i;

	for (i = 0; vh != NULL && i < vh->npaths; i++)
		if (vh->paths[i].titan && vh->paths[i].client_cert &&
		    vhost_rule_matches(&vh->paths[i], path))
			return &vh->paths[i];
	return NULL;
}

/*
 * Where the uploaded file is read: gemini://host[:port] and the encoded
 * path, a post's .md as its .gmi and an index as its directory, as the
 * capsule serves them.  Returns 0, or -1 when it does not fit.
 */
static int
serve_titan_location(const struct serve_ctx *sc,
    const struct gemini_request *req, char *out, size_t outsz)
{
	struct span	 path = span_make(req->path, req->path_len);
	struct span	 name;
	const char	*suffix = "";
	struct buf	 b;
	size_t		 i;
	bool		 v6;
	int		 rc;

	for (i = path.n; i > 0 && path.p[i - 1] != '/'; i--)
		;
	name = span_make(path.p + i, path.n - i);
	if (span_eq_cstr(name, "index.md") || span_eq_cstr(name, "index.gmi"))
		path.n = i;
	else if (name.n > 3 && memcmp(name.p + name.n - 3, ".md", 3) == 0) {
		path.n -= 3;
		suffix = ".gmi";
	}
	buf_init(&b, outsz - 1);
	/* An IPv6 literal keeps its brackets in a URL. */
	v6 = strchr(req->host, ':') != NULL;
	rc = buf_printf(&b, "gemini://%s%s%s", v6 ? "[" : "", req->host,
	    v6 ? "]" : "");
	if (rc == 0 && sc->policy->port != 1965)
		rc = buf_printf(&b, ":%u", sc->policy->port);
	if (rc == 0)
		rc = url_encode_path(path, &b);
	if (rc == 0)
		rc = buf_puts(&b, suffix);
	if (rc == 0 && buf_cstr(&b) != NULL)
		snprintf(out, outsz, "%s", b.p);
	else
		rc = -1;
	buf_free(&b);
	return rc;
}

/* The checks of the upload rule; true when the upload may go ahead. */
static bool
serve_titan_allowed(const struct serve_ctx *v, const struct serve_client *cl,
    const struct titan_request *treq, const struct gemini_request *req,
    struct response *r)
{
	char	meta[128];

	if (v->rule == NULL) {
		r->reason = "no titan rule for this path";
		serve_status(r, GEMINI_BAD_REQUEST,
		    "Uploads are not accepted here");
		return false;
	}
	if (!serve_cert_ok(v, cl, r))
		return false;
	if (v->rule->titan_token != NULL && !titan_token_ok(span_make(
	    treq->token, treq->token_len), v->rule->titan_token)) {
		serve_status(r, GEMINI_BAD_REQUEST, "Wrong or missing token");
		return false;
	}
	if (treq->size > v->rule->titan_max_size) {
		snprintf(r->note, sizeof(r->note), "upload of %zu bytes is "
		    "above max_size %u", treq->size, v->rule->titan_max_size);
		r->reason = r->note;
		snprintf(meta, sizeof(meta), "Upload is larger than the limit "
		    "of %u bytes here", v->rule->titan_max_size);
		serve_status(r, GEMINI_BAD_REQUEST, meta);
		return false;
	}
	if (capsule_has_dot_component(req->path, req->path_len)) {
		serve_status(r, GEMINI_BAD_REQUEST,
		    "Hidden files and directories cannot be uploaded to");
		return false;
	}
	if (!titan_name_ok(span_make(req->path, req->path_len))) {
		serve_status(r, GEMINI_BAD_REQUEST, "Only .gmi, .md, .txt and "
		    "image files (.png, .jpg, .gif, .webp) can be uploaded");
		return false;
	}
	return true;
}

/* Open the temporary file; NULL when r holds the answer. */
static struct titan_upload *
serve_titan_open(const struct serve_ctx *v, const struct gemini_request *req,
    size_t size, struct response *r)
{
	struct titan_upload	*up;

	if ((up = mem_malloc(sizeof(*up))) == NULL) {
		serve_status(r, GEMINI_TEMPORARY_FAILURE, "Out of memory");
		return NULL;
	}
	titan_upload_init(up);
	if (serve_titan_location(v, req, up->location,
	    sizeof(up->location)) == -1) {
		free(up);
		serve_status(r, GEMINI_BAD_REQUEST, "Path is too long");
		return NULL;
	}
	switch (titan_upload_open(up, v->capsule, req->path, req->path_len,
	    size)) {
	case TITAN_OPEN_OK:
		return up;
	case TITAN_OPEN_NO_DIR:
		r->reason = "upload directory missing or outside the capsule";
		serve_status(r, GEMINI_NOT_FOUND, "No such directory: create "
		    "it before uploading into it");
		break;
	case TITAN_OPEN_NOT_FILE:
		serve_status(r, GEMINI_BAD_REQUEST, "This name is taken by a "
		    "directory or a special file");
		break;
	case TITAN_OPEN_ERROR:
		log_warn("%s%s: cannot store an upload", v->capsule->root,
		    req->path);
		serve_status(r, GEMINI_TEMPORARY_FAILURE,
		    "Cannot store uploads here");
		break;
	}
	free(up);
	return NULL;
}

struct titan_upload *
serve_titan(const struct serve_ctx *sc, struct span line,
    const struct serve_client *cl, struct response *r)
{
	struct titan_request	 treq;
	struct gemini_request	 req;
	struct serve_ctx	 v;
	struct titan_upload	*up;
	char			 gline[GEMINI_URL_MAX + 8];
	const char		*reason = NULL;
	int			 status, n;

	serve_note_cert(cl, r);
	if ((status = titan_parse_request(line, &treq, &reason)) != 0) {
		serve_status(r, status, reason);
		return NULL;
	}
	/* The same URL under the gemini scheme: the same checks as a read. */
	n = snprintf(gline, sizeof(gline), "gemini%.*s\r\n",
	    (int)(treq.url.n - 5), treq.url.p + 5);
	if (n < 0 || (size_t)n >= sizeof(gline)) {
		serve_status(r, GEMINI_BAD_REQUEST, "Request is too long");
		return NULL;
	}
	if (serve_admit(sc, span_make(gline, (size_t)n), cl, &req, r) == -1)
		return NULL;
	serve_pick(sc, span_cstr(req.host), span_make(req.path, req.path_len),
	    &v);
	v.rule = serve_titan_rule(v.site != NULL ? v.site->cfg : NULL,
	    span_make(req.path, req.path_len));
	if (!serve_titan_allowed(&v, cl, &treq, &req, r))
		return NULL;
	if ((up = serve_titan_open(&v, &req, treq.size, r)) != NULL)
		snprintf(r->note, sizeof(r->note), "stored %zu bytes (%s)",
		    treq.size, treq.mime);
	return up;
}

void
serve_titan_done(struct titan_upload *up, struct response *r)
{
	if (titan_upload_commit(up) == -1) {
		log_warn("cannot store the upload for %s", up->location);
		serve_status(r, GEMINI_TEMPORARY_FAILURE,
		    "Cannot store the upload");
	} else {
		r->reason = r->note;
		serve_status(r, GEMINI_REDIRECT_TEMPORARY, up->location);
	}
	free(up);
}

/*
 * Gopher.  The same capsule, the same rendered posts and feed pages: the
 * gemtext they produce is turned into a menu (directories, the blog,
 * tags, search results) or into wrapped text (posts, .gmi files).
 */

/* Replace whatever was prepared with one type-3 line and the terminator. */
static void
serve_gopher_error(struct response *r, const char *msg)
{
	buf_reset(&r->head);
	buf_reset(&r->body);
	if (r->fd != -1)
		close(r->fd);
	r->fd = -1;
	r->status = 3;
	r->reason = msg;
	if (gopher_error(&r->body, span_cstr(msg)) == -1)
		buf_reset(&r->body);
}

static bool
serve_gopher_is_dir(void *arg, struct span path)
{
	const struct serve_ctx	*sc = arg;
	struct capsule_obj	 o;
	char			 p[GOPHER_SELECTOR_MAX + 2];
	bool			 dir;

	if (path.n == 0 || path.n >= sizeof(p))
		return false;
	memcpy(p, path.p, path.n);
	p[path.n] = '\0';
	if (p[path.n - 1] == '/')
		return true;
	capsule_obj_init(&o);
	capsule_resolve(sc->capsule, p, path.n, &o);
	dir = o.kind == CAPSULE_REDIRECT;
	capsule_obj_free(&o);
	return dir;
}

/* Pages that exist only as generated ones: search asks, tags list. */
static char
serve_gopher_type_of(void *arg, struct span path)
{
	(void)arg;
	if (span_eq_cstr(path, "/search"))
		return '7';
	if (span_starts_with(path, "/tags/") &&
	    span_index(span_make(path.p + 6, path.n - 6), '/') == -1)
		return '1';
	return '\0';
}

/*
 * Turn a gemtext page into a menu (or text) in r->body.  Links whose
 * names are exact (every directory's ends in '/') need no lookup to tell
 * a directory from a file.
 */
static void
serve_gopher_convert(const struct serve_ctx *sc, struct span gmi,
    const char *base, bool menu, bool exact_links, struct response *r)
{
	struct gmi2txt_opts	opts;
	int			rc;

	opts.host = sc->gopher_host;
	opts.port = sc->gopher_port;
	opts.base = span_cstr(base);
	opts.is_dir = exact_links ? NULL : serve_gopher_is_dir;
	opts.type_of = serve_gopher_type_of;
	opts.arg = (void *)sc;
	rc = menu ? gmi2txt_menu(&r->body, gmi, &opts) :
	    gmi2txt_text(&r->body, gmi, &opts);
	if (rc == -1)
		serve_gopher_error(r, "Out of memory");
	else
		r->status = 0;
}

static void
serve_gopher_gemtext(const struct serve_ctx *sc, struct span gmi,
    const char *base, bool menu, struct response *r)
{
	serve_gopher_convert(sc, gmi, base, menu, false, r);
}

/* The root menu also offers search, which gemtext cannot express. */
static int
serve_gopher_root_extras(const struct serve_ctx *sc, struct buf *out)
{
	size_t	n = out->len;

	/* Unless the page links it already, insert before the terminator. */
	if (n < 3 || memcmp(out->p + n - 3, ".\r\n", 3) != 0 ||
	    memmem(out->p, n, "\t/search\t", 9) != NULL)
		return 0;
	out->len -= 3;
	if (gopher_info_line(out, span_cstr("")) == -1 ||
	    gopher_menu_item(out, '7', span_cstr("Search the posts"),
	    span_cstr("/search"), sc->gopher_host, sc->gopher_port) == -1 ||
	    gopher_terminator(out) == -1) {
		out->len = n;
		return -1;
	}
	return 0;
}

/* A file kept in the cache, as a Gopher answer. */
static void
serve_gopher_kept(const struct serve_ctx *sc, const struct cache_entry *e,
    const char *path, bool dir_index, struct response *r)
{
	if (strcmp(e->mime, "text/gemini") == 0) {
		serve_gopher_gemtext(sc, buf_span(&e->data), path, dir_index, r);
		return;
	}
	r->status = 0;
	if (buf_append_span(&r->body, buf_span(&e->data)) == -1)
		serve_gopher_error(r, "Out of memory");
}

static void
serve_gopher_file(const struct serve_ctx *sc, const char *path,
    struct capsule_obj *o, bool dir_index, struct response *r)
{
	struct cache_entry	*e;
	struct buf		 src;

	if ((e = serve_keep_file(sc, path, o)) != NULL) {
		serve_gopher_kept(sc, e, path, dir_index, r);
		return;
	}
	if (strcmp(o->mime, "text/gemini") != 0) {
		/* Other files go out as they are: the item type told the
		 * client what to expect. */
		r->status = 0;
		r->fd = o->fd;
		r->size = o->size;
		o->fd = -1;
		return;
	}
	buf_init(&src, SERVE_GOPHER_SOURCE_MAX);
	if (capsule_read_file(o->fd, &o->st, SERVE_GOPHER_SOURCE_MAX,
	    &src) == -1)
		serve_gopher_error(r, "Cannot read this page");
	else
		serve_gopher_gemtext(sc, buf_span(&src), path, dir_index, r);
	buf_free(&src);
}

static void
serve_gopher_post_entry(const struct serve_ctx *sc,
    const struct cache_entry *e, const char *path, bool dir_index,
    struct response *r)
{
	if (e == NULL || e->post.errstr != NULL) {
		serve_gopher_error(r, "This post cannot be rendered");
		return;
	}
	if (e->post.meta.draft) {
		serve_gopher_error(r, "Not found");
		return;
	}
	serve_gopher_gemtext(sc, buf_span(&e->post.gmi), path, dir_index, r);
}

static void
serve_gopher_post(const struct serve_ctx *sc, const char *path,
    struct capsule_obj *o, bool dir_index, struct response *r)
{
	serve_gopher_post_entry(sc, serve_rendered(sc, o->fd, &o->st, path),
	    path, dir_index, r);
}

/* A gophermap in the directory replaces the generated menu. */
static bool
serve_gopher_map(const struct serve_ctx *sc, const char *dir,
    struct response *r)
{
	struct capsule_obj	o;
	struct buf		src;
	char			p[GOPHER_SELECTOR_MAX + 16];
	bool			done = false;

	snprintf(p, sizeof(p), "%sgophermap", dir);
	capsule_obj_init(&o);
	capsule_resolve(sc->capsule, p, strlen(p), &o);
	if (o.kind == CAPSULE_FILE) {
		buf_init(&src, SERVE_GOPHER_SOURCE_MAX);
		if (capsule_read_file(o.fd, &o.st, SERVE_GOPHER_SOURCE_MAX,
		    &src) == -1 || gopher_gophermap(&r->body, buf_span(&src),
		    span_cstr(dir), sc->gopher_host, sc->gopher_port) == -1)
			serve_gopher_error(r, "Cannot read this menu");
		else
			r->status = 0;
		buf_free(&src);
		done = true;
	}
	capsule_obj_free(&o);
	return done;
}

static void
serve_gopher_listing(const struct serve_ctx *sc, struct span gmi,
    const char *path, struct response *r)
{
	/*
	 * A page capsuled made (listing, feed, tags, search): every link is
	 * a post, a feed, a tag page, or a directory ending in '/'.
	 */
	serve_gopher_convert(sc, gmi, path, true, true, r);
}

/* Feed, tag and search pages are made as gemtext, then become menus. */
static void
serve_gopher_page(const struct serve_ctx *sc, struct gemini_request *req,
    bool atom, const struct capsule_obj *keep, struct response *r)
{
	struct response	g;
	char		base[GOPHER_SELECTOR_MAX + 2];

	response_init(&g);
	if (atom) {
		snprintf(base, sizeof(base), "%.*s", (int)(req->path_len - 8),
		    req->path);
		serve_feed(sc, base, true, NULL, &g);
	} else if (strcmp(req->path, "/search") == 0 || strcmp(req->path,
	    "/tags/") == 0 || serve_is_tag_path(req))
		serve_virtual(sc, req, &g);
	else
		serve_feed(sc, req->path, false, keep, &g);
	if (g.status == GEMINI_SUCCESS && atom) {
		buf_free(&r->body);
		r->body = g.body;
		buf_init(&g.body, SERVE_BODY_MAX);
		r->status = 0;
	} else if (g.status == GEMINI_SUCCESS)
		serve_gopher_listing(sc, buf_span(&g.body), req->path, r);
	else if (g.status == GEMINI_INPUT)
		serve_gopher_error(r, "Send a search string after a TAB");
	else
		serve_gopher_error(r, g.status == GEMINI_NOT_FOUND ?
		    "Not found" : "Cannot make this page");
	response_free(&g);
}

/* Make req's path the decoded form of the encoded path in loc. */
static int
serve_gopher_set_path(struct gemini_request *req, struct buf *loc)
{
	struct buf	dec;
	bool		nul = false;
	int		rc = -1;

	buf_init(&dec, GEMINI_URL_MAX);
	if (url_decode(buf_span(loc), &dec, &nul) == 0 && !nul &&
	    dec.len > 0) {
		memcpy(req->path, dec.p, dec.len);
		req->path[dec.len] = '\0';
		req->path_len = dec.len;
		rc = 0;
	}
	buf_free(&dec);
	return rc;
}

/*
 * Path rules on the Gopher side, which has no redirects and no client
 * certificates: a redirect to a path of the capsule is followed once, a
 * rule that needs a certificate is an error.  0: serve req's path with
 * the view v; -1: r holds the answer.
 */
static int
serve_gopher_rules(const struct serve_ctx *sc, struct gemini_request *req,
    struct serve_ctx *v, struct response *r)
{
	struct buf	loc;
	int		hops, rc;

	for (hops = 0;; hops++) {
		req->path_len = vhost_squeeze_slashes(req->path, req->path_len);
		serve_pick(sc, span_cstr(""), span_make(req->path,
		    req->path_len), v);
		if (v->rule != NULL && v->rule->client_cert) {
			serve_gopher_error(r, "This page needs a client "
			    "certificate: open it with a Gemini client");
			return -1;
		}
		if (v->rule == NULL || v->rule->redirect == NULL)
			return 0;
		if (hops > 0 || v->rule->redirect[0] != '/') {
			serve_gopher_error(r, "This page has moved: open it "
			    "with a Gemini client");
			return -1;
		}
		buf_init(&loc, GEMINI_URL_MAX);
		rc = vhost_redirect(&loc, v->rule, span_make(req->path,
		    req->path_len), span_cstr(""), false);
		if (rc == 0)
			rc = serve_gopher_set_path(req, &loc);
		buf_free(&loc);
		if (rc == -1) {
			serve_gopher_error(r, "Not found");
			return -1;
		}
	}
}

/* What every menu of the root gets once it is made. */
static void
serve_gopher_finish(const struct serve_ctx *sc, const char *path,
    struct response *r)
{
	if (r->status == 0 && strcmp(path, "/") == 0 &&
	    serve_gopher_root_extras(sc, &r->body) == -1)
		serve_gopher_error(r, "Out of memory");
}

/*
 * A file, listing or post this worker keeps, checked with a stat or two.
 * In a directory a gophermap takes the place of its index or listing:
 * one made since a listing was kept would have changed the directory,
 * but one already there then still wins.
 */
static bool
serve_gopher_cached(const struct serve_ctx *sc,
    const struct gemini_request *req, struct response *r)
{
	struct cache_entry	*e, *post = NULL;
	bool			 dir = req->path[req->path_len - 1] == '/';

	if ((e = serve_cached_entry(sc, req)) == NULL &&
	    (post = serve_cached_post(sc, req)) == NULL)
		return false;
	if (dir && serve_gopher_map(sc, req->path, r))
		return true;
	if (post != NULL)
		serve_gopher_post_entry(sc, post, req->path, dir, r);
	else if (e->is_listing)
		serve_gopher_listing(sc, buf_span(&e->data), req->path, r);
	else
		serve_gopher_kept(sc, e, req->path, dir, r);
	serve_gopher_finish(sc, req->path, r);
	return true;
}

static void
serve_gopher_path(const struct serve_ctx *sc0, const struct gopher_request *gr,
    struct response *r)
{
	struct gemini_request	req;
	struct capsule_obj	o;
	struct serve_ctx	v;
	const struct serve_ctx	*sc = &v;
	struct cache_entry	*e;
	bool			dir;

	/* The Gemini pages take a Gemini request: make one from the path. */
	memset(&req, 0, sizeof(req));
	memcpy(req.path, gr->path, gr->path_len + 1);
	req.path_len = gr->path_len;
	if (gr->has_search && gr->search_len < sizeof(req.query)) {
		struct buf	q;

		buf_init(&q, sizeof(req.query) - 1);
		if (url_encode_path(span_make(gr->search, gr->search_len),
		    &q) == 0 && q.len < sizeof(req.query)) {
			memcpy(req.query, q.p ? q.p : "", q.len);
			req.query_len = q.len;
			req.has_query = true;
		}
		buf_free(&q);
	}
	if (serve_gopher_rules(sc0, &req, &v, r) == -1)
		return;
	if (serve_gopher_cached(sc, &req, r))
		return;
	capsule_obj_init(&o);
	capsule_resolve(sc->capsule, req.path, req.path_len, &o);
	if (o.kind == CAPSULE_REDIRECT && req.path_len + 1 < sizeof(req.path)) {
		/* Selectors are exact: no redirects in Gopher. */
		req.path[req.path_len++] = '/';
		req.path[req.path_len] = '\0';
		capsule_obj_free(&o);
		capsule_obj_init(&o);
		capsule_resolve(sc->capsule, req.path, req.path_len, &o);
	}
	dir = req.path[req.path_len - 1] == '/';
	if (dir && serve_gopher_map(sc, req.path, r)) {
		capsule_obj_free(&o);
		return;
	}
	switch (o.kind) {
	case CAPSULE_FILE:
		serve_gopher_file(sc, req.path, &o, dir, r);
		break;
	case CAPSULE_POST:
		serve_gopher_post(sc, req.path, &o, dir, r);
		break;
	case CAPSULE_FEED:
		serve_gopher_page(sc, &req, false, &o, r);
		break;
	case CAPSULE_ATOM:
		serve_gopher_page(sc, &req, true, NULL, r);
		break;
	case CAPSULE_LISTING:
		e = serve_keep_listing(sc, req.path, &o);
		serve_gopher_listing(sc, e ? buf_span(&e->data) :
		    buf_span(&o.body), req.path, r);
		break;
	case CAPSULE_NOT_FOUND:
		if (strcmp(req.path, "/search") == 0 || strcmp(req.path,
		    "/tags/") == 0 || serve_is_tag_path(&req))
			serve_gopher_page(sc, &req, false, NULL, r);
		else
			serve_gopher_error(r, "Not found");
		break;
	default:
		serve_gopher_error(r, "Cannot read this resource");
		break;
	}
	capsule_obj_free(&o);
	serve_gopher_finish(sc, req.path, r);
}

void
serve_gopher(const struct serve_ctx *sc, struct span line, struct response *r)
{
	struct gopher_request	*gr;
	const char		*reason = NULL;
	unsigned long		 failed = mem_failures();

	/* Room for an error line first, as serve_gemini does for its 40. */
	if (buf_reserve(&r->body, SERVE_GOPHER_ERROR_ROOM) == -1) {
		r->status = 3;
		r->reason = "out of memory";
		return;
	}
	/* Three kilobytes of request: too much for a worker's stack frame. */
	if ((gr = mem_calloc(1, sizeof(*gr))) == NULL) {
		serve_gopher_error(r, "Out of memory");
		return;
	}
	if (gopher_parse_request(line, gr, &reason) == -1)
		serve_gopher_error(r, reason);
	else if (gr->kind == GOPHER_KIND_HTTP) {
		r->status = 0;
		r->reason = "HTTP request on a Gopher port";
		if (gopher_http_reply(&r->body, gr->is_head, sc->gopher_host,
		    sc->gopher_port, sc->policy->port) == -1)
			serve_gopher_error(r, "Out of memory");
	} else if (gr->kind == GOPHER_KIND_URL) {
		r->status = 0;
		if (gopher_url_redirect_page(&r->body,
		    span_make(gr->url, gr->url_len)) == -1)
			serve_gopher_error(r, "Out of memory");
	} else
		serve_gopher_path(sc, gr, r);
	free(gr);
	/* As in serve_gemini: no answer made while memory ran out. */
	if (mem_failures() != failed)
		serve_gopher_error(r, "Out of memory");
	cache_trim(sc->cache);
}
