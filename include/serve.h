/*
 * serve: from the bytes of one request to a complete response, without
 * touching the socket.  The whole header (and a generated body) is made
 * before anything is written, so a failure is still a clean status and
 * never a truncated success.
 */
#ifndef CAPSULED_SERVE_H
#define CAPSULED_SERVE_H

#include <sys/types.h>

#include <openssl/x509.h>

#include "buf.h"
#include "cache.h"
#include "capsule.h"
#include "config.h"
#include "gemini.h"
#include "titan.h"

/*
 * The longest a worker spends rendering one post before giving up with a
 * 40 (remembered until the file changes): its other clients wait
 * meanwhile.  A 4 MiB post of ordinary prose takes a small part of it.
 */
#define SERVE_RENDER_BUDGET_MS	250

/* Largest generated response body held in memory. */
#define SERVE_BODY_MAX		(16 * 1024 * 1024)

/* Longest client-certificate subject kept for the access log. */
#define SERVE_SUBJECT_MAX	256

/* Longest reason made for one response (reason then points to it). */
#define SERVE_NOTE_MAX		(TITAN_MIME_MAX + 64)

/* One virtual host as a worker serves it, prepared before fork. */
struct serve_vhost {
	const struct config_vhost	*cfg;	/* names, lang, rules, types */
	struct capsule			 capsule;
	X509_STORE			**ca;	/* per path rule: its client
						   CA, or NULL; NULL when no
						   rule names one */
};

/* What the TLS layer knows of the client (all NULL without TLS). */
struct serve_client {
	const char	*sni;		/* the name sent in the handshake */
	X509		*cert;		/* its certificate */
	STACK_OF(X509)	*chain;		/* the other certificates it sent */
};

/* What a worker serves: the same for every request it handles. */
struct serve_ctx {
	const struct gemini_policy	*policy;
	/*
	 * The vhosts, vhosts[0] the default (and the one Gopher serves).
	 * With none, capsule, lang and hostname describe the only site,
	 * which has no path rules.
	 */
	const struct serve_vhost	*vhosts;
	size_t				 nvhosts;
	const struct capsule		*capsule;
	const char			*lang;	/* for text/gemini, or NULL */
	const char			*hostname;	/* public name */
	struct cache			*cache;	/* this worker's rendered posts */
	const char			*gopher_host;	/* name in menu lines */
	unsigned short			 gopher_port;	/* port in menu lines */
	/* Per request: the vhost and the path rule that apply, or NULL. */
	const struct serve_vhost	*site;
	const struct config_path	*rule;
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
	/* The client certificate, for the log: SHA-256 in hex, or "". */
	char		 cert_sha256[2 * CONFIG_FINGERPRINT_LEN + 1];
	char		 cert_subject[SERVE_SUBJECT_MAX];
	char		 note[SERVE_NOTE_MAX];	/* a reason made for this one */
};

/* Prepare an empty response. */
void	response_init(struct response *r);

/* Free what the response holds and close its file. */
void	response_free(struct response *r);

/*
 * Answer one Gemini request: line holds the bytes received including the
 * CRLF; cl what the handshake told (NULL: nothing).  The request's host
 * picks the vhost (the policy admits only hosts some vhost has), its
 * path the first matching rule: a client certificate it requires is
 * checked (60, 61, 62), then its redirect (30, 31) is answered, then the
 * capsule serves the path with the rule's lang, charset and types.
 * Always leaves a complete response in r (a 40 when memory runs out).
 */
void	serve_gemini(const struct serve_ctx *sc, struct span line,
	    const struct serve_client *cl, struct response *r);

/* Bytes kept for a type-3 line before a Gopher request is served. */
#define SERVE_GOPHER_ERROR_ROOM	256

/*
 * Check one Titan upload request (line as received, with its CRLF), in
 * this order: the line parses (titan_parse_request); host, port and path
 * pass the Gemini checks; the host is the TLS server name's; the first
 * upload rule (titan) of the vhost matching the path lets it in (59
 * otherwise), its client_cert (60, 61, 62) and its token (59); the size
 * is within the rule's max_size (59, naming it); the name is a page or
 * image and no component is hidden (59); its directory exists inside
 * the capsule (51) and the name is not taken by a directory or special
 * file (59).  Returns the upload, whose body the caller feeds to
 * titan_upload_write and then hands to serve_titan_done (or, to give up,
 * to titan_upload_abort and free), or NULL when r holds the whole answer.
 */
struct titan_upload *serve_titan(const struct serve_ctx *sc,
	    struct span line, const struct serve_client *cl,
	    struct response *r);

/*
 * The body of up has been taken in full: put the file in place and answer
 * 30 with the gemini:// URL it is served at ("x.md" as "x.gmi", an index
 * as its directory), or 40 when it could not be stored (logged).  Frees
 * up.
 */
void	serve_titan_done(struct titan_upload *up, struct response *r);

/* Largest gophermap or gemtext page turned into a Gopher answer. */
#define SERVE_GOPHER_SOURCE_MAX	(4 * 1024 * 1024)

/*
 * Answer one Gopher request (line as received, with its line end if it
 * came) from the default vhost: a menu for a directory, the blog, tags
 * and search results; wrapped text for posts and gemtext; other files as
 * they are; a type-3 error line otherwise, and for a path whose rule
 * requires a client certificate.  A rule's redirect to a path of the
 * capsule is followed, once.  Always leaves a complete response in r;
 * status is 0 when served and 3 for an error, for the access log.
 */
void	serve_gopher(const struct serve_ctx *sc, struct span line,
	    struct response *r);

#endif
