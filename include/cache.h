/*
 * cache: rendered posts and small static files kept by one worker, keyed
 * by the file's identity (device, inode, size, modification and change
 * times) and the URL it was rendered or served for, so an edited file is
 * read again on its next request and an unchanged one never is.
 * Eviction (least recently used first, past a byte cap) happens only in
 * cache_trim, so entries found or added while one response is being
 * built stay valid until it is done.
 */
#ifndef CAPSULED_CACHE_H
#define CAPSULED_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "buf.h"
#include "post.h"

/* Default byte cap of one worker's cache. */
#define CACHE_DEFAULT_MAX	(64 * 1024 * 1024)

/* Hash buckets (a power of two). */
#define CACHE_BUCKETS		1024

/*
 * Largest static file kept whole: a page or a small image, served from
 * memory after one stat; larger files are streamed from the disk.
 */
#define CACHE_FILE_MAX		(64 * 1024)

/* One version of a file: what its stat must still say for a hit. */
struct cache_version {
	dev_t			 dev;
	ino_t			 ino;
	off_t			 size;
	struct timespec		 mtime;
	struct timespec		 ctime;		/* a rename changes it */
};

/*
 * A file a kept page was made from, with its version then: the page is
 * current only while every one of its files is.
 */
struct cache_dep {
	char			*url;		/* the post's URL path, encoded */
	struct cache_version	 v;
};

struct cache_entry {
	struct cache_version	 v;
	char			*url;		/* the URL path it was rendered for */
	struct post		 post;		/* rendered gemtext and metadata */
	/* A static file (is_file): its root, contents and built-in type. */
	bool			 is_file;
	int			 rootfd;
	struct buf		 data;
	const char		*mime;		/* static string */
	/*
	 * A page generated for a directory (is_file too): its listing, or
	 * its feed, made from the posts in deps as well.  The identity is
	 * the directory's.
	 */
	bool			 is_listing;
	struct cache_dep	*deps;
	size_t			 ndeps;
	/*
	 * Rendered from a version that had not settled (capsule_is_settled):
	 * its stat could not show an edit made within the same tick, so it
	 * is rendered again once that version has settled.
	 */
	bool			 provisional;
	size_t			 bytes;		/* what it counts against the cap */
	struct cache_entry	*hnext;		/* bucket chain */
	struct cache_entry	*prev;		/* LRU list, most recent first */
	struct cache_entry	*next;
};

struct cache {
	struct cache_entry	*buckets[CACHE_BUCKETS];
	struct cache_entry	*files[CACHE_BUCKETS];	/* by root and URL */
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

/*
 * The static file served for url (decoded, as the request has it) under
 * the root rootfd, or NULL.  Its identity is not checked here: the caller
 * compares it with a fresh stat (cache_is_current), then counts the hit
 * (cache_use) or drops the entry.
 */
struct cache_entry *cache_find_file(struct cache *c, int rootfd,
	    const char *url);

/* Count a hit on e and make it the most recently used. */
void	cache_use(struct cache *c, struct cache_entry *e);

/* True when st describes the same version of the file as e. */
bool	cache_is_current(const struct cache_entry *e, const struct stat *st);

/*
 * Keep the contents of the static file described by st, served for url
 * under rootfd with the built-in type mime: the entry takes over data's
 * memory (data is left empty).  Any entry for the same url is replaced.
 * Returns the entry, or NULL when memory runs out (data is then freed).
 */
struct cache_entry *cache_insert_file(struct cache *c, int rootfd,
	    const struct stat *st, const char *url, const char *mime,
	    struct buf *data);

/*
 * Keep the text/gemini page generated for the directory described by st
 * (its listing or feed), served for url under rootfd, as
 * cache_insert_file keeps a file.  The entry also takes over deps, the
 * ndeps files the page was made from (NULL and 0 for a listing); they
 * are freed when memory runs out.
 */
struct cache_entry *cache_insert_listing(struct cache *c, int rootfd,
	    const struct stat *st, const char *url, struct buf *page,
	    struct cache_dep *deps, size_t ndeps);

/* Free an array of deps not handed to cache_insert_listing. */
void	cache_deps_free(struct cache_dep *deps, size_t ndeps);

/* The version of the file st describes. */
void	cache_version_of(struct cache_version *v, const struct stat *st);

/* True when st describes version v of a file. */
bool	cache_version_is(const struct cache_version *v, const struct stat *st);

/* Forget one entry found stale by its caller (a miss). */
void	cache_drop(struct cache *c, struct cache_entry *e);

/* Evict least recently used entries until the cache fits its cap. */
void	cache_trim(struct cache *c);

#endif
