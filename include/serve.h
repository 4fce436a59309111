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

/* Largest generated response body held in memory. */
#define SERVE_BODY_MAX		(16 * 1024 * 1024)

/* What a worker serves: the same for every request it handles. */
struct serve_ctx {
	const struct gemini_policy	*policy;
	const struct capsule		*capsule;
	const char			*lang;	/* for text/gemini, or NULL */
	const char			*hostname;	/* public name */
	struct cache			*cache;	/* this worker's rendered posts */
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

#endif
