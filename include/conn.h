/*
 * conn: one client connection from accept to close.  On a proxy_protocol
 * listener it first reads the PROXY header, and no byte past it, to learn
 * the client's address.  It reads the client's first bytes and sniffs
 * them (a TLS handshake starts with 0x16), drives the non-blocking TLS
 * handshake over sockbio, reads the request with a size cap and a
 * deadline, writes the response, sends close_notify and closes, always
 * with a logged reason.  What TLS writes in one turn leaves in one write.
 */
#ifndef CAPSULED_CONN_H
#define CAPSULED_CONN_H

#include <sys/socket.h>

#include <stdbool.h>

#include "worker.h"

/* Request bytes read at most: a 1024-byte URL and its CRLF. */
#define CONN_REQUEST_MAX	(GEMINI_URL_MAX + 2)

/* Bytes read from a file per write when streaming it. */
#define CONN_CHUNK		16384

/* Bytes handed to one sendfile call on a plain connection. */
#define CONN_SENDFILE_MAX	(1024 * 1024)
/*
 * Lines about clients closed for the per-address connection cap come at
 * most once per this many seconds per worker: a flood of connections
 * cannot become a flood of log lines.
 */
#define CONN_REFUSAL_LOG_SECONDS	1

/* How long to drain a client's leftovers after our close, in seconds. */
#define CONN_LINGER_SECONDS	2

/*
 * Take over an accepted, non-blocking socket from sa.  With proxy, a
 * PROXY header must come first, and only from an address the worker's
 * proxy_from allows.  Returns 0, or -1 when the connection could not be
 * set up or was refused (the socket is then closed, the reason logged).
 */
int	conn_start(struct worker *w, int fd, const struct sockaddr *sa,
	    socklen_t salen, enum worker_proto proto, bool proxy);

#endif
