#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "mem.h"

/* Memory an entry holds besides the rendered text, roughly. */
#define CACHE_ENTRY_OVERHEAD	512

void
cache_init(struct cache *c, size_t max)
{
	memset(c, 0, sizeof(*c));
	c->max = max;
}

static size_t
cache_bucket(dev_t dev, ino_t ino)
{
	unsigned long long	h = (unsigned long long)ino * 0x9e3779b97f4a7c15ULL;

	h ^= (unsigned long long)dev;
	return (size_t)(h >> 32) & (CACHE_BUCKETS - 1);
}

/* FNV-1a over the URL, mixed with the root it is looked up under. */
static size_t
cache_file_bucket(int rootfd, const char *url)
{
	unsigned long long	h = 0xcbf29ce484222325ULL ^ (unsigned)rootfd;

	for (; *url != '\0'; url++)
		h = (h ^ (unsigned char)*url) * 0x100000001b3ULL;
	return (size_t)(h >> 32) & (CACHE_BUCKETS - 1);
}

static struct cache_entry **
cache_chain(struct cache *c, const struct cache_entry *e)
{
	if (e->is_file)
		return &c->files[cache_file_bucket(e->rootfd, e->url)];
	return &c->buckets[cache_bucket(e->v.dev, e->v.ino)];
}

static void
cache_lru_unlink(struct cache *c, struct cache_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
cache_lru_push(struct cache *c, struct cache_entry *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head != NULL)
		c->head->prev = e;
	c->head = e;
	if (c->tail == NULL)
		c->tail = e;
}

static void
cache_remove(struct cache *c, struct cache_entry *e)
{
	struct cache_entry	**pp;

	pp = cache_chain(c, e);
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	cache_lru_unlink(c, e);
	c->bytes -= e->bytes;
	c->count--;
	post_free(&e->post);
	buf_free(&e->data);
	cache_deps_free(e->deps, e->ndeps);
	free(e->url);
	free(e);
}

void
cache_deps_free(struct cache_dep *deps, size_t ndeps)
{
	size_t	i;

	for (i = 0; i < ndeps; i++)
		free(deps[i].url);
	free(deps);
}

void
cache_version_of(struct cache_version *v, const struct stat *st)
{
	v->dev = st->st_dev;
	v->ino = st->st_ino;
	v->size = st->st_size;
	v->mtime = st->st_mtim;
	v->ctime = st->st_ctim;
}

bool
cache_version_is(const struct cache_version *v, const struct stat *st)
{
	return v->dev == st->st_dev && v->ino == st->st_ino &&
	    v->size == st->st_size &&
	    v->mtime.tv_sec == st->st_mtim.tv_sec &&
	    v->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	    v->ctime.tv_sec == st->st_ctim.tv_sec &&
	    v->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

bool
cache_is_current(const struct cache_entry *e, const struct stat *st)
{
	return cache_version_is(&e->v, st);
}

void
cache_drop(struct cache *c, struct cache_entry *e)
{
	cache_remove(c, e);
	c->misses++;
}

void
cache_use(struct cache *c, struct cache_entry *e)
{
	cache_lru_unlink(c, e);
	cache_lru_push(c, e);
	c->hits++;
}

/* Fill in the identity and link e into its chain and the LRU list. */
static void
cache_link(struct cache *c, struct cache_entry *e, const struct stat *st)
{
	struct cache_entry	**pp;

	cache_version_of(&e->v, st);
	pp = cache_chain(c, e);
	e->hnext = *pp;
	*pp = e;
	cache_lru_push(c, e);
	c->bytes += e->bytes;
	c->count++;
}

struct cache_entry *
cache_find(struct cache *c, const struct stat *st, const char *url)
{
	struct cache_entry	*e, *next;

	for (e = c->buckets[cache_bucket(st->st_dev, st->st_ino)]; e != NULL;
	    e = next) {
		next = e->hnext;
		if (e->v.dev != st->st_dev || e->v.ino != st->st_ino ||
		    strcmp(e->url, url) != 0)
			continue;
		if (!cache_is_current(e, st)) {
			cache_remove(c, e);
			break;
		}
		cache_use(c, e);
		return e;
	}
	c->misses++;
	return NULL;
}

struct cache_entry *
cache_insert(struct cache *c, const struct stat *st, const char *url,
    struct post *p)
{
	struct cache_entry	*e;

	if ((e = mem_calloc(1, sizeof(*e))) == NULL ||
	    (e->url = mem_strdup(url)) == NULL) {
		free(e);
		post_free(p);
		return NULL;
	}
	e->post = *p;
	memset(p, 0, sizeof(*p));
	e->bytes = e->post.gmi.cap + strlen(url) + CACHE_ENTRY_OVERHEAD;
	cache_link(c, e, st);
	return e;
}

struct cache_entry *
cache_find_file(struct cache *c, int rootfd, const char *url)
{
	struct cache_entry	*e;

	for (e = c->files[cache_file_bucket(rootfd, url)]; e != NULL;
	    e = e->hnext)
		if (e->rootfd == rootfd && strcmp(e->url, url) == 0)
			return e;
	return NULL;
}

struct cache_entry *
cache_insert_file(struct cache *c, int rootfd, const struct stat *st,
    const char *url, const char *mime, struct buf *data)
{
	struct cache_entry	*e, *old;

	if ((e = mem_calloc(1, sizeof(*e))) == NULL ||
	    (e->url = mem_strdup(url)) == NULL) {
		free(e);
		buf_free(data);
		return NULL;
	}
	/* One entry per URL: an older version found stale goes now. */
	for (old = c->files[cache_file_bucket(rootfd, url)]; old != NULL;
	    old = old->hnext)
		if (old->rootfd == rootfd && strcmp(old->url, url) == 0) {
			cache_remove(c, old);
			break;
		}
	e->is_file = true;
	e->rootfd = rootfd;
	e->mime = mime;
	e->data = *data;
	buf_init(data, data->max);
	e->bytes = e->data.cap + strlen(url) + CACHE_ENTRY_OVERHEAD;
	cache_link(c, e, st);
	return e;
}

struct cache_entry *
cache_insert_listing(struct cache *c, int rootfd, const struct stat *st,
    const char *url, struct buf *page, struct cache_dep *deps, size_t ndeps)
{
	struct cache_entry	*e;
	size_t			 i, extra = ndeps * sizeof(*deps);

	for (i = 0; i < ndeps; i++)
		extra += strlen(deps[i].url) + 1;
	e = cache_insert_file(c, rootfd, st, url, "text/gemini", page);
	if (e == NULL) {
		cache_deps_free(deps, ndeps);
		return NULL;
	}
	e->is_listing = true;
	e->deps = deps;
	e->ndeps = ndeps;
	/* On the entry and the total alike: removing it takes off both. */
	e->bytes += extra;
	c->bytes += extra;
	return e;
}

void
cache_trim(struct cache *c)
{
	while (c->bytes > c->max && c->tail != NULL)
		cache_remove(c, c->tail);
}

void
cache_free(struct cache *c)
{
	while (c->tail != NULL)
		cache_remove(c, c->tail);
}
