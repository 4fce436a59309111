#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/err.h>

#include "conn.h"
#include "log.h"
#include "mem.h"
#include "tls.h"

/* The first byte of every TLS connection: a handshake record. */
#define CONN_TLS_HANDSHAKE_BYTE	0x16

enum conn_state {
	CONN_SNIFF,		/* waiting for the first byte */
	CONN_HANDSHAKE,		/* TLS handshake in progress */
	CONN_READ,		/* reading the request line */
	CONN_RESPOND,		/* request complete, response not made yet */
	CONN_UPLOAD,		/* reading the body of a Titan upload */
	CONN_WRITE,		/* writing head, body, then the file */
	CONN_SHUTDOWN,		/* sending close_notify */
	CONN_LINGER		/* draining what the client still sends */
};

enum conn_io {
	CONN_IO_OK,
	CONN_IO_WANT_READ,
	CONN_IO_WANT_WRITE,
	CONN_IO_EOF,
	CONN_IO_ERROR
};

enum conn_phase {
	CONN_PHASE_HEAD,
	CONN_PHASE_BODY,
	CONN_PHASE_FILE,
	CONN_PHASE_DONE
};

struct conn {
	struct worker		*w;
	int			 fd;
	enum worker_proto	 proto;
	SSL			*ssl;		/* NULL on plain connections */
	enum conn_state		 state;
	struct event		*rd;
	struct event		*wr;
	struct event		*timer;
	char			 peer[64];
	struct timespec		 start;
	char			 req[CONN_REQUEST_MAX];
	size_t			 reqlen;
	size_t			 linelen;
	struct response		 resp;
	enum conn_phase		 phase;
	const char		*out;		/* bytes not yet written */
	size_t			 outlen;
	char			*chunk;		/* file data, only when streaming */
	size_t			 sent;
	bool			 logged;	/* the access line is written */
	struct titan_upload	*up;		/* a Titan body being read */
};

static void	conn_step(struct conn *);
static void	conn_close(struct conn *, const char *);
static void	conn_log(struct conn *, const char *);

static void
conn_peer_name(const struct sockaddr *sa, socklen_t salen, char *out,
    size_t outsz)
{
	char	host[INET6_ADDRSTRLEN + 8], serv[8];

	if (getnameinfo(sa, salen, host, sizeof(host), serv, sizeof(serv),
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(out, outsz, "unknown");
		return;
	}
	if (sa->sa_family == AF_INET6)
		snprintf(out, outsz, "[%s]:%s", host, serv);
	else
		snprintf(out, outsz, "%s:%s", host, serv);
}

static void
conn_deadline(struct conn *c, unsigned int seconds)
{
	struct timeval	tv = { (time_t)seconds, 0 };

	evtimer_add(c->timer, &tv);
}

static void
conn_wait(struct conn *c, enum conn_io want)
{
	if (want == CONN_IO_WANT_WRITE)
		event_add(c->wr, NULL);
	else
		event_add(c->rd, NULL);
}

static enum conn_io
conn_ssl_result(struct conn *c, int ret)
{
	int	err = SSL_get_error(c->ssl, ret);

	switch (err) {
	case SSL_ERROR_WANT_READ:
		return CONN_IO_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return CONN_IO_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return CONN_IO_EOF;
	default:
		ERR_clear_error();
		return CONN_IO_ERROR;
	}
}

static enum conn_io
conn_read(struct conn *c, void *p, size_t n, size_t *got)
{
	ssize_t	r;

	if (c->ssl != NULL) {
		if (SSL_read_ex(c->ssl, p, n, got) == 1)
			return CONN_IO_OK;
		return conn_ssl_result(c, 0);
	}
	r = read(c->fd, p, n);
	if (r > 0) {
		*got = (size_t)r;
		return CONN_IO_OK;
	}
	if (r == 0)
		return CONN_IO_EOF;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return CONN_IO_WANT_READ;
	return CONN_IO_ERROR;
}

static enum conn_io
conn_write(struct conn *c, const void *p, size_t n, size_t *put)
{
	ssize_t	r;

	if (c->ssl != NULL) {
		if (SSL_write_ex(c->ssl, p, n, put) == 1)
			return CONN_IO_OK;
		return conn_ssl_result(c, 0);
	}
	r = write(c->fd, p, n);
	if (r >= 0) {
		*put = (size_t)r;
		return CONN_IO_OK;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return CONN_IO_WANT_WRITE;
	return CONN_IO_ERROR;
}

static void
conn_on_io(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_step(arg);
}

static void
conn_on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	switch (c->state) {
	case CONN_SNIFF:
	case CONN_HANDSHAKE:
		conn_close(c, "handshake timeout");
		break;
	case CONN_READ:
		conn_close(c, "request timeout");
		break;
	case CONN_UPLOAD:
		conn_close(c, "request timeout during the upload; nothing "
		    "kept");
		break;
	case CONN_LINGER:
		conn_close(c, NULL);
		break;
	default:
		conn_close(c, "write timeout");
		break;
	}
}

int
conn_start(struct worker *w, int fd, const struct sockaddr *sa,
    socklen_t salen, enum worker_proto proto)
{
	struct event_base	*base = worker_base(w);
	struct conn		*c;

	if ((c = mem_calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return -1;
	}
	c->w = w;
	c->fd = fd;
	c->proto = proto;
	c->state = proto == WORKER_GEMINI ? CONN_SNIFF : CONN_READ;
	clock_gettime(CLOCK_MONOTONIC, &c->start);
	conn_peer_name(sa, salen, c->peer, sizeof(c->peer));
	response_init(&c->resp);
	c->rd = event_new(base, fd, EV_READ, conn_on_io, c);
	c->wr = event_new(base, fd, EV_WRITE, conn_on_io, c);
	c->timer = evtimer_new(base, conn_on_timeout, c);
	if (c->rd == NULL || c->wr == NULL || c->timer == NULL) {
		conn_close(c, "out of memory");
		return -1;
	}
	conn_deadline(c, proto == WORKER_GEMINI ?
	    worker_setup(w)->handshake_timeout :
	    worker_setup(w)->request_timeout);
	conn_wait(c, CONN_IO_WANT_READ);
	return 0;
}

/*
 * Peek, never read, the first byte: it must stay in the socket for
 * OpenSSL (or for the Gopher reader).  Returns false while waiting.
 */
static bool
conn_sniff(struct conn *c)
{
	unsigned char	b;
	ssize_t		n;

	n = recv(c->fd, &b, 1, MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
		conn_wait(c, CONN_IO_WANT_READ);
		return false;
	}
	if (n <= 0) {
		conn_close(c, n == 0 ? "closed before sending anything" :
		    "receive error");
		return false;
	}
	if (b != CONN_TLS_HANDSHAKE_BYTE) {
		c->proto = WORKER_GOPHER;
		c->state = CONN_READ;
		conn_deadline(c, worker_setup(c->w)->request_timeout);
		return true;
	}
	if ((c->ssl = SSL_new(worker_setup(c->w)->ssl_ctx)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1) {
		conn_close(c, "cannot start TLS");
		return false;
	}
	SSL_set_accept_state(c->ssl);
	c->state = CONN_HANDSHAKE;
	return true;
}

static bool
conn_handshake(struct conn *c)
{
	enum conn_io	r;

	if (SSL_do_handshake(c->ssl) == 1) {
		c->state = CONN_READ;
		conn_deadline(c, worker_setup(c->w)->request_timeout);
		return true;
	}
	r = conn_ssl_result(c, 0);
	if (r == CONN_IO_WANT_READ || r == CONN_IO_WANT_WRITE)
		conn_wait(c, r);
	else
		conn_close(c, "TLS handshake failed");
	return false;
}

/* Read until a line feed or the cap; the parser judges what arrived. */
static bool
conn_read_request(struct conn *c)
{
	enum conn_io	 r;
	size_t		 got;
	const char	*lf;

	for (;;) {
		r = conn_read(c, c->req + c->reqlen,
		    sizeof(c->req) - c->reqlen, &got);
		if (r == CONN_IO_WANT_READ || r == CONN_IO_WANT_WRITE) {
			conn_wait(c, r);
			return false;
		}
		if (r != CONN_IO_OK) {
			conn_close(c, r == CONN_IO_EOF ?
			    "client closed before a full request" :
			    "error reading the request");
			return false;
		}
		lf = memchr(c->req + c->reqlen, '\n', got);
		c->reqlen += got;
		if (lf != NULL) {
			c->linelen = (size_t)(lf - c->req) + 1;
			break;
		}
		if (c->reqlen == sizeof(c->req)) {
			c->linelen = c->reqlen;
			break;
		}
	}
	c->state = CONN_RESPOND;
	return true;
}

/* The response is made: write it, under the write deadline. */
static void
conn_start_write(struct conn *c)
{
	c->phase = CONN_PHASE_HEAD;
	c->out = c->resp.head.p;
	c->outlen = c->resp.head.len;
	c->state = CONN_WRITE;
	conn_deadline(c, worker_setup(c->w)->write_timeout);
}

/*
 * A Titan request: once serve accepts it, its body is read next, and the
 * request deadline still runs; the first bytes of the body may have come
 * with the line.  The token is starred out before any log sees the line.
 * False when resp already holds the answer.
 */
static bool
conn_upload_start(struct conn *c, const struct serve_client *cl)
{
	c->up = serve_titan(&worker_setup(c->w)->serve,
	    span_make(c->req, c->linelen), cl, &c->resp);
	titan_redact_token(c->req, c->linelen);
	if (c->up == NULL)
		return false;
	titan_upload_write(c->up, c->req + c->linelen,
	    c->reqlen - c->linelen);
	c->state = CONN_UPLOAD;
	return true;
}

static void
conn_respond(struct conn *c)
{
	const struct worker_setup	*ws = worker_setup(c->w);
	struct span			 line = span_make(c->req, c->linelen);
	struct serve_client		 cl = { NULL, NULL, NULL };

	if (c->ssl != NULL) {
		cl.sni = tls_servername(c->ssl);
		cl.cert = SSL_get0_peer_certificate(c->ssl);
		cl.chain = SSL_get_peer_cert_chain(c->ssl);
	}
	if (c->proto == WORKER_GEMINI && titan_is_request(line)) {
		if (conn_upload_start(c, &cl))
			return;
	} else if (c->proto == WORKER_GEMINI)
		serve_gemini(&ws->serve, line, &cl, &c->resp);
	else
		serve_gopher(&ws->serve, line, &c->resp);
	conn_start_write(c);
}

/*
 * Read exactly the announced body into the upload, then answer.  A client
 * that leaves early, or the deadline, closes the connection, and
 * conn_close removes the temporary file: nothing partial is kept.
 */
static bool
conn_read_upload(struct conn *c)
{
	enum conn_io	r;
	size_t		want, got;

	if (c->chunk == NULL && (c->chunk = mem_malloc(CONN_CHUNK)) == NULL) {
		conn_close(c, "out of memory during the upload; nothing kept");
		return false;
	}
	while (!titan_upload_complete(c->up)) {
		want = c->up->size - c->up->got;
		r = conn_read(c, c->chunk, want < CONN_CHUNK ? want :
		    CONN_CHUNK, &got);
		if (r == CONN_IO_WANT_READ || r == CONN_IO_WANT_WRITE) {
			conn_wait(c, r);
			return false;
		}
		if (r != CONN_IO_OK) {
			conn_close(c, r == CONN_IO_EOF ?
			    "client closed during the upload; nothing kept" :
			    "error reading the upload; nothing kept");
			return false;
		}
		titan_upload_write(c->up, c->chunk, got);
	}
	serve_titan_done(c->up, &c->resp);
	c->up = NULL;
	conn_start_write(c);
	return true;
}

/* Move to the next piece of the response once the current one is out. */
static int
conn_next_output(struct conn *c)
{
	ssize_t	n;

	if (c->phase == CONN_PHASE_HEAD) {
		c->phase = CONN_PHASE_BODY;
		c->out = c->resp.body.p;
		c->outlen = c->resp.body.len;
		return 0;
	}
	if (c->resp.fd == -1) {
		c->phase = CONN_PHASE_DONE;
		return 0;
	}
	c->phase = CONN_PHASE_FILE;
	if (c->chunk == NULL && (c->chunk = mem_malloc(CONN_CHUNK)) == NULL)
		return -1;
	n = read(c->resp.fd, c->chunk, CONN_CHUNK);
	if (n == -1)
		return -1;
	if (n == 0)
		c->phase = CONN_PHASE_DONE;
	c->out = c->chunk;
	c->outlen = (size_t)n;
	return 0;
}

static bool
conn_write_response(struct conn *c)
{
	enum conn_io	r;
	size_t		put;

	while (c->phase != CONN_PHASE_DONE) {
		if (c->outlen == 0) {
			if (conn_next_output(c) == -1) {
				conn_close(c, "cannot read the file");
				return false;
			}
			continue;
		}
		r = conn_write(c, c->out, c->outlen, &put);
		if (r == CONN_IO_WANT_READ || r == CONN_IO_WANT_WRITE) {
			conn_deadline(c, worker_setup(c->w)->write_timeout);
			conn_wait(c, r);
			return false;
		}
		if (r != CONN_IO_OK) {
			conn_close(c, "client went away during the response");
			return false;
		}
		c->out += put;
		c->outlen -= put;
		c->sent += put;
	}
	c->state = CONN_SHUTDOWN;
	return true;
}

static bool
conn_shutdown(struct conn *c)
{
	enum conn_io	r;
	int		ret;

	if (c->ssl != NULL) {
		ret = SSL_shutdown(c->ssl);
		if (ret < 0) {
			r = conn_ssl_result(c, ret);
			if (r == CONN_IO_WANT_WRITE) {
				conn_wait(c, r);
				return false;
			}
		}
	}
	/*
	 * Half-close and drain: closing a socket with unread input makes the
	 * kernel send RST, which can destroy the response before the client
	 * has read it.
	 */
	shutdown(c->fd, SHUT_WR);
	/* The response is complete: the drain below is not its time. */
	conn_log(c, NULL);
	c->state = CONN_LINGER;
	conn_deadline(c, CONN_LINGER_SECONDS);
	return true;
}

static void
conn_linger(struct conn *c)
{
	char	scratch[4096];
	ssize_t	n;

	while ((n = read(c->fd, scratch, sizeof(scratch))) > 0)
		;
	if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
		conn_wait(c, CONN_IO_WANT_READ);
		return;
	}
	conn_close(c, NULL);
}

static void
conn_step(struct conn *c)
{
	for (;;) {
		switch (c->state) {
		case CONN_SNIFF:
			if (!conn_sniff(c))
				return;
			break;
		case CONN_HANDSHAKE:
			if (!conn_handshake(c))
				return;
			break;
		case CONN_READ:
			if (!conn_read_request(c))
				return;
			break;
		case CONN_RESPOND:
			conn_respond(c);
			break;
		case CONN_UPLOAD:
			if (!conn_read_upload(c))
				return;
			break;
		case CONN_WRITE:
			if (!conn_write_response(c))
				return;
			break;
		case CONN_SHUTDOWN:
			if (!conn_shutdown(c))
				return;
			break;
		case CONN_LINGER:
			conn_linger(c);
			return;
		}
	}
}

static long
conn_elapsed_usec(const struct conn *c)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - c->start.tv_sec) * 1000000L +
	    (now.tv_nsec - c->start.tv_nsec) / 1000L;
}

static void
conn_log(struct conn *c, const char *reason)
{
	struct log_access	a;

	if (c->logged)
		return;
	c->logged = true;
	/* Scanners that never finish a handshake would flood the log. */
	if (c->state == CONN_SNIFF || c->state == CONN_HANDSHAKE) {
		log_debug("%s: %s", c->peer, reason);
		return;
	}
	a.peer = c->peer;
	a.host = c->resp.host[0] != '\0' ? c->resp.host : NULL;
	a.proto = c->proto == WORKER_GEMINI ? "gemini" : "gopher";
	a.request = span_make(c->req, c->linelen ? c->linelen : c->reqlen);
	a.status = c->resp.status;
	a.reason = reason != NULL ? reason : c->resp.reason;
	a.bytes = c->sent;
	a.usec = conn_elapsed_usec(c);
	a.cert_sha256 = c->resp.cert_sha256[0] ? c->resp.cert_sha256 : NULL;
	a.cert_subject = c->resp.cert_subject;
	log_access(&a);
}

static void
conn_close(struct conn *c, const char *reason)
{
	conn_log(c, reason);
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (c->rd != NULL)
		event_free(c->rd);
	if (c->wr != NULL)
		event_free(c->wr);
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->up != NULL) {
		titan_upload_abort(c->up);
		free(c->up);
	}
	response_free(&c->resp);
	free(c->chunk);
	close(c->fd);
	worker_conn_closed(c->w);
	free(c);
}
