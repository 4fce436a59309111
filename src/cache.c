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

	pp = &c->buckets[cache_bucket(e->dev, e->ino)];
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	cache_lru_unlink(c, e);
	c->bytes -= e->bytes;
	c->count--;
	post_free(&e->post);
	free(e->url);
	free(e);
}

static bool
cache_same_version(const struct cache_entry *e, const struct stat *st)
{
	return e->size == st->st_size &&
	    e->mtime.tv_sec == st->st_mtim.tv_sec &&
	    e->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

struct cache_entry *
cache_find(struct cache *c, const struct stat *st, const char *url)
{
	struct cache_entry	*e, *next;

	for (e = c->buckets[cache_bucket(st->st_dev, st->st_ino)]; e != NULL;
	    e = next) {
		next = e->hnext;
		if (e->dev != st->st_dev || e->ino != st->st_ino ||
		    strcmp(e->url, url) != 0)
			continue;
		if (!cache_same_version(e, st)) {
			cache_remove(c, e);
			break;
		}
		cache_lru_unlink(c, e);
		cache_lru_push(c, e);
		c->hits++;
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
	size_t			 b;

	if ((e = mem_calloc(1, sizeof(*e))) == NULL ||
	    (e->url = mem_strdup(url)) == NULL) {
		free(e);
		post_free(p);
		return NULL;
	}
	e->dev = st->st_dev;
	e->ino = st->st_ino;
	e->size = st->st_size;
	e->mtime = st->st_mtim;
	e->post = *p;
	memset(p, 0, sizeof(*p));
	e->bytes = e->post.gmi.cap + strlen(url) + CACHE_ENTRY_OVERHEAD;
	b = cache_bucket(e->dev, e->ino);
	e->hnext = c->buckets[b];
	c->buckets[b] = e;
	cache_lru_push(c, e);
	c->bytes += e->bytes;
	c->count++;
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
