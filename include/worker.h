/*
 * worker: one process, one libevent loop.  It accepts on the listeners the
 * parent opened for its slot, drives every connection through conn, and on
 * SIGTERM stops accepting, lets in-flight requests finish and exits 0.
 */
#ifndef CAPSULED_WORKER_H
#define CAPSULED_WORKER_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "proxy.h"
#include "addrlimit.h"
#include "serve.h"

/* How long accepting pauses after EMFILE/ENFILE, in milliseconds. */
#define WORKER_EMFILE_PAUSE_MS	100

/* Heap growth step and free heap kept before trimming, in bytes. */
#define WORKER_HEAP_PAD		(512 * 1024)
#define WORKER_HEAP_KEEP	(4 * 1024 * 1024)

/* Connections accepted per wake-up, so one listener cannot starve others. */
#define WORKER_ACCEPT_BATCH	64

/*
 * A worker at limits.connections says so at most once per this many
 * seconds: a flood that keeps it there must not fill the log.
 */
#define WORKER_FULL_LOG_SECONDS	10

enum worker_proto {
	WORKER_GEMINI,		/* TLS, with the Gopher fallback */
	WORKER_GOPHER		/* plain TCP */
};

struct worker_listener {
	int			fd;
	enum worker_proto	proto;
	bool			proxy;	/* a PROXY header comes first */
};

/* What the parent hands a worker: all of it prepared before fork. */
struct worker_setup {
	int				 slot;
	SSL_CTX				*ssl_ctx;
	struct serve_ctx		 serve;
	const struct worker_listener	*listeners;
	size_t				 nlisteners;
	unsigned int			 handshake_timeout;	/* seconds */
	unsigned int			 request_timeout;
	unsigned int			 write_timeout;
	unsigned int			 max_connections;
	const struct proxy_net		*proxy_from;	/* may send PROXY */
	size_t				 nproxy_from;
	struct addrlimit		*addrlimit;	/* shared, or NULL */
	struct addrlimit_policy		 limits;	/* per client address */
};

struct worker;
struct event_base;

/* Run the worker loop until it is told to stop; returns the exit status. */
int	worker_run(const struct worker_setup *setup);

/* For conn: the loop, the setup, and the bookkeeping of live connections. */
struct event_base		*worker_base(struct worker *w);
const struct worker_setup	*worker_setup(struct worker *w);
void				 worker_conn_closed(struct worker *w);

#endif
