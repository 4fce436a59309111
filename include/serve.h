/*
 * serve: from the bytes of one request to a complete response, without
 * touching the socket.  The whole header (and a generated body) is made
 * before anything is written, so a failure is still a clean status and
 * never a truncated success.
 */
#ifndef CAPSULED_SERVE_H
#define CAPSULED_SERVE_H

#include <sys/types.h>

#include "buf.h"
#include "cache.h"
#include "capsule.h"
#include "gemini.h"

/*
 * The longest a worker spends rendering one post before giving up with a
 * 40 (remembered until the file changes): its other clients wait
 * meanwhile.  A 4 MiB post of ordinary prose takes a small part of it.
 */
#define SERVE_RENDER_BUDGET_MS	250

/* Largest generated response body held in memory. */
#define SERVE_BODY_MAX		(16 * 1024 * 1024)

/* What a worker serves: the same for every request it handles. */
struct serve_ctx {
	const struct gemini_policy	*policy;
	const struct capsule		*capsule;
	const char			*lang;	/* for text/gemini, or NULL */
	const char			*hostname;	/* public name */
	struct cache			*cache;	/* this worker's rendered posts */
	const char			*gopher_host;	/* name in menu lines */
	unsigned short			 gopher_port;	/* port in menu lines */
};

/* Results a search page lists at most, and posts it looks through. */
#define SERVE_SEARCH_QUERY_MAX	256

/* A response ready to write: head, then body, then fd's size bytes. */
struct response {
	int		 status;
	const char	*reason;	/* why it is not a 20, for the log */
	struct buf	 head;
	struct buf	 body;
	int		 fd;		/* a file to stream after body, or -1 */
	off_t		 size;		/* its size when the response was made */
	char		 host[GEMINI_HOST_MAX];	/* the request's host, or "" */
};

/* Prepare an empty response. */
void	response_init(struct response *r);

/* Free what the response holds and close its file. */
void	response_free(struct response *r);

/*
 * Answer one Gemini request: line holds the bytes received including the
 * CRLF; sni is the name from the handshake or NULL.  Always leaves a
 * complete response in r (a 40 when memory runs out).
 */
void	serve_gemini(const struct serve_ctx *sc, struct span line,
	    const char *sni, struct response *r);

/* Bytes kept for a type-3 line before a Gopher request is served. */
#define SERVE_GOPHER_ERROR_ROOM	256

/* Largest gophermap or gemtext page turned into a Gopher answer. */
#define SERVE_GOPHER_SOURCE_MAX	(4 * 1024 * 1024)

/*
 * Answer one Gopher request (line as received, with its line end if it
 * came): a menu for a directory, the blog, tags and search results;
 * wrapped text for posts and gemtext; other files as they are; a type-3
 * error line otherwise.  Always leaves a complete response in r; status
 * is 0 when served and 3 for an error, for the access log.
 */
void	serve_gopher(const struct serve_ctx *sc, struct span line,
	    struct response *r);

#endif
