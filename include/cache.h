/*
 * cache: rendered posts kept by one worker, keyed by the file's identity
 * (device, inode, size, modification time) and the URL it was rendered
 * for, so an edited post is rendered again on its next request and an
 * unchanged one never is.  Eviction (least recently used first, past a
 * byte cap) happens only in cache_trim, so entries found or added while
 * one response is being built stay valid until it is done.
 */
#ifndef CAPSULED_CACHE_H
#define CAPSULED_CACHE_H

#include <stddef.h>
#include <sys/stat.h>

#include "post.h"

/* Default byte cap of one worker's cache. */
#define CACHE_DEFAULT_MAX	(64 * 1024 * 1024)

/* Hash buckets (a power of two). */
#define CACHE_BUCKETS		1024

struct cache_entry {
	dev_t			 dev;
	ino_t			 ino;
	off_t			 size;
	struct timespec		 mtime;
	char			*url;		/* the URL path it was rendered for */
	struct post		 post;		/* rendered gemtext and metadata */
	size_t			 bytes;		/* what it counts against the cap */
	struct cache_entry	*hnext;		/* bucket chain */
	struct cache_entry	*prev;		/* LRU list, most recent first */
	struct cache_entry	*next;
};

struct cache {
	struct cache_entry	*buckets[CACHE_BUCKETS];
	struct cache_entry	*head;		/* most recently used */
	struct cache_entry	*tail;
	size_t			 bytes;
	size_t			 max;
	size_t			 count;
	unsigned long		 hits;
	unsigned long		 misses;
};

/* An empty cache that trims itself down to max bytes. */
void	cache_init(struct cache *c, size_t max);

/* Free every entry. */
void	cache_free(struct cache *c);

/*
 * The entry for the file described by st, rendered for url, or NULL.  A
 * stale entry (same file, other size or time) is dropped.
 */
struct cache_entry *cache_find(struct cache *c, const struct stat *st,
	    const char *url);

/*
 * Keep a rendered post: the entry takes over p's contents (p is left
 * empty).  Returns the entry, or NULL when memory runs out (p is then
 * freed).
 */
struct cache_entry *cache_insert(struct cache *c, const struct stat *st,
	    const char *url, struct post *p);

/* Evict least recently used entries until the cache fits its cap. */
void	cache_trim(struct cache *c);

#endif
