#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/err.h>

#include "addrlimit.h"
#include "conn.h"
#include "gopher.h"
#include "log.h"
#include "mem.h"
#include "proxy.h"
#include "sockbio.h"
#include "tls.h"
#include "tlsrec.h"

/* The first byte of every TLS connection: a handshake record. */
#define CONN_TLS_HANDSHAKE_BYTE	0x16

enum conn_state {
	CONN_PROXY,		/* reading the PROXY header */
	CONN_SNIFF,		/* waiting for the first byte */
	CONN_HANDSHAKE,		/* TLS handshake in progress */
	CONN_READ,		/* reading the request line */
	CONN_RESPOND,		/* request complete, response not made yet */
	CONN_UPLOAD,		/* reading the body of a Titan upload */
	CONN_WRITE,		/* writing head, body, then the file */
	CONN_SHUTDOWN,		/* sending close_notify */
	CONN_FLUSH,		/* the last queued bytes, then the half-close */
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
	CONN_PHASE_SENDFILE,	/* plain TCP: the kernel copies the file */
	CONN_PHASE_DONE
};

/*
 * The request line and the response: 2 KB that a connection needs only
 * once its client has sent something.  It is taken when the first bytes
 * are about to be read and given back while the connection waits for
 * them, so that 10,000 idle clients do not hold 20 MB of empty buffers.
 */
struct conn_exchange {
	char			 req[CONN_REQUEST_MAX];
	size_t			 reqlen;
	size_t			 linelen;
	struct response		 resp;
};

/* What the access log reads for a connection that holds no exchange. */
static const struct conn_exchange	conn_no_exchange;

struct conn {
	struct worker		*w;
	int			 fd;
	enum worker_proto	 proto;
	SSL			*ssl;		/* NULL on plain connections */
	BIO			*bio;		/* TLS only; the SSL owns it */
	/*
	 * Once the handshake is done and nothing waits, the SSL object is
	 * freed and the records are sealed and opened here (tlsrec.h): an
	 * idle connection then holds the keys, not 14 KB of OpenSSL state.
	 */
	struct tlsrec_watch	 watch;
	bool			 detached;	/* rec in use; we own bio */
	struct tlsrec		 rec;
	char			*sni;		/* the SSL's, kept */
	unsigned char		*rx;		/* records read, while any */
	size_t			 rxlen;
	size_t			 rxoff;		/* next record */
	size_t			 plainoff;	/* plaintext not taken yet */
	size_t			 plainlen;
	bool			 drained;	/* plain: no input until told */
	enum conn_state		 state;
	struct event		*rd;
	struct event		*wr;
	struct event		*timer;
	char			 peer[64];
	/* The client: the accepted peer, or a PROXY header's source. */
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	char			*proxy;		/* PROXY header so far */
	size_t			 proxylen;
	struct timespec		 start;
	struct conn_exchange	*x;		/* NULL while waiting idle */
	enum conn_phase		 phase;
	const char		*out;		/* bytes not yet written */
	size_t			 outlen;
	char			*chunk;		/* file data, only when streaming */
	off_t			 fileleft;	/* file bytes still to send */
	size_t			 sent;
	bool			 logged;	/* the access line is written */
	struct addrlimit_hold	 hold;		/* counted for its address */
	unsigned int		 slow_down;	/* > 0: answer 44, wait this */
	struct titan_upload	*up;		/* a Titan body being read */
};

/*
 * An idle connection's memory is this, its three events, its BIO and the
 * keys, and the benchmark holds that to 4 KiB in all.
 */
_Static_assert(sizeof(struct conn) <= 1024,
    "struct conn grew past what an idle connection may hold");

/* Why a client that sent nothing was closed: logged at debug level. */
static const char	conn_said_nothing[] = "closed before sending anything";

static bool
conn_exchange_take(struct conn *c)
{
	if (c->x != NULL)
		return true;
	if ((c->x = mem_malloc(sizeof(*c->x))) == NULL)
		return false;
	c->x->reqlen = c->x->linelen = 0;
	response_init(&c->x->resp);
	return true;
}

/*
 * Give the exchange back when it holds nothing: no request byte, and, on
 * the caller's word, no sniffed byte lent to the BIO.
 */
static void
conn_exchange_release(struct conn *c)
{
	if (c->x == NULL || c->x->reqlen > 0)
		return;
	response_free(&c->x->resp);
	free(c->x);
	c->x = NULL;
}

/* Lines about refused clients, at most one per interval in each worker. */
struct conn_throttle {
	time_t		last;
	unsigned long	quiet;		/* left out since the last line */
};

static struct conn_throttle	conn_refused_log;
static struct conn_throttle	conn_full_log;

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

/* What a connection whose socket failed under it is closed with. */
static const char *
conn_failed_reason(const struct conn *c)
{
	switch (c->state) {
	case CONN_SNIFF:
	case CONN_HANDSHAKE:
		return "TLS handshake failed";
	case CONN_READ:
		return c->x == NULL || c->x->reqlen == 0 ? conn_said_nothing :
		    "error reading the request";
	case CONN_UPLOAD:
		return "error reading the upload; nothing kept";
	default:
		return "client went away during the response";
	}
}

/*
 * Waiting for the request of a finished TLS 1.3 handshake, what OpenSSL
 * has queued is the session ticket, and no client waits for it before it
 * sends the request.  Held until the response, it leaves in the same
 * segment, and the client is woken once instead of twice.  A TLS 1.2
 * client must first have our Finished, so there the output goes at once.
 */
static bool
conn_may_hold_output(const struct conn *c)
{
	return c->state == CONN_READ && (c->detached ||
	    (c->ssl != NULL && SSL_version(c->ssl) == TLS1_3_VERSION));
}

/*
 * The read event persists, so a connection that reads several times costs
 * one epoll_ctl rather than two per wait.  It is taken out while waiting
 * to write: epoll is level-triggered, and unread input from the client
 * would otherwise wake the loop again and again.
 *
 * A wait ends the connection's turn, so the TLS output queued during it
 * leaves here in one write, unless it may be held (then it is kept in as
 * little memory as it needs).  While some of it is still queued the
 * connection waits to write, not to read: the client may be waiting for
 * those bytes before it sends more.  When the socket has failed, the
 * connection is closed: callers return at once after a wait.
 */
static void
conn_wait(struct conn *c, enum conn_io want)
{
	if (want == CONN_IO_WANT_READ && c->bio != NULL &&
	    conn_may_hold_output(c))
		sockbio_trim(c->bio);
	else if (want == CONN_IO_WANT_READ && c->bio != NULL) {
		switch (sockbio_flush(c->bio)) {
		case -1:
			conn_close(c, conn_failed_reason(c));
			return;
		case 0:
			want = CONN_IO_WANT_WRITE;
			break;
		default:
			break;
		}
	}
	if (want == CONN_IO_WANT_WRITE) {
		event_del(c->rd);
		event_add(c->wr, NULL);
	} else if (!event_pending(c->rd, EV_READ, NULL))
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

/*
 * The socket's own bytes, below TLS when there is TLS.  A read that came
 * back short drained the socket: the next one waits for the loop to say
 * it is readable rather than spend a system call on EAGAIN (the loop is
 * level-triggered, so input or EOF that comes later is reported).
 */
static enum conn_io
conn_read_raw(struct conn *c, void *p, size_t n, size_t *got)
{
	ssize_t	r;

	if (c->bio != NULL) {
		if (BIO_read_ex(c->bio, p, n, got) == 1)
			return CONN_IO_OK;
		if (BIO_should_retry(c->bio))
			return CONN_IO_WANT_READ;
		return BIO_eof(c->bio) ? CONN_IO_EOF : CONN_IO_ERROR;
	}
	if (c->drained)
		return CONN_IO_WANT_READ;
	r = read(c->fd, p, n);
	if (r > 0) {
		c->drained = (size_t)r < n;
		*got = (size_t)r;
		return CONN_IO_OK;
	}
	if (r == 0)
		return CONN_IO_EOF;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		c->drained = true;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return CONN_IO_WANT_READ;
	return CONN_IO_ERROR;
}

/* Drop the record buffer once all of it is taken. */
static void
conn_rx_release(struct conn *c)
{
	if (c->plainlen > 0 || c->rxoff < c->rxlen)
		return;
	free(c->rx);
	c->rx = NULL;
	c->rxlen = c->rxoff = c->plainoff = 0;
}

/* More raw bytes after the records not yet opened. */
static enum conn_io
conn_rx_fill(struct conn *c)
{
	enum conn_io	r;
	size_t		got;

	if (c->rx == NULL &&
	    (c->rx = mem_malloc(TLSREC_RECORD_MAX)) == NULL)
		return CONN_IO_ERROR;
	if (c->rxoff > 0) {
		memmove(c->rx, c->rx + c->rxoff, c->rxlen - c->rxoff);
		c->rxlen -= c->rxoff;
		c->rxoff = 0;
	}
	r = conn_read_raw(c, c->rx + c->rxlen, TLSREC_RECORD_MAX - c->rxlen,
	    &got);
	if (r == CONN_IO_OK)
		c->rxlen += got;
	else
		conn_rx_release(c);	/* nothing came: wait without it */
	return r;
}

/* A detached connection's read: open records until there is plaintext. */
static enum conn_io
conn_read_rec(struct conn *c, void *p, size_t n, size_t *got)
{
	enum conn_io	r;
	size_t		used, plen;

	for (;;) {
		if (c->plainlen > 0) {
			*got = n < c->plainlen ? n : c->plainlen;
			memcpy(p, c->rx + c->plainoff, *got);
			c->plainoff += *got;
			c->plainlen -= *got;
			conn_rx_release(c);
			return CONN_IO_OK;
		}
		switch (c->rx == NULL ? TLSREC_MORE : tlsrec_open(&c->rec,
		    c->rx + c->rxoff, c->rxlen - c->rxoff, &used, &plen)) {
		case TLSREC_DATA:
			c->plainoff = c->rxoff + TLSREC_HEADER_LEN;
			c->plainlen = plen;
			c->rxoff += used;
			continue;
		case TLSREC_CLOSE:
			return CONN_IO_EOF;
		case TLSREC_ERROR:
			return CONN_IO_ERROR;
		case TLSREC_MORE:
			break;
		}
		if ((r = conn_rx_fill(c)) != CONN_IO_OK)
			return r;
	}
}

/* Room in the BIO's queue for a whole record of n bytes. */
static enum conn_io
conn_rec_room(struct conn *c, size_t n)
{
	if (SOCKBIO_OUT_MAX - sockbio_queued(c->bio) >= n)
		return CONN_IO_OK;
	if (sockbio_flush(c->bio) == -1)
		return CONN_IO_ERROR;
	return SOCKBIO_OUT_MAX - sockbio_queued(c->bio) >= n ?
	    CONN_IO_OK : CONN_IO_WANT_WRITE;
}

/* Seal one record of type into the BIO's queue, whole or not at all. */
static enum conn_io
conn_write_rec(struct conn *c, int type, const void *p, size_t n,
    size_t *put)
{
	unsigned char	rec[TLSREC_PLAIN_MAX + TLSREC_SEAL_OVERHEAD];
	size_t		take = n < TLSREC_PLAIN_MAX ? n : TLSREC_PLAIN_MAX;
	size_t		len;
	enum conn_io	r;

	if ((r = conn_rec_room(c, take + TLSREC_SEAL_OVERHEAD)) != CONN_IO_OK)
		return r;
	len = tlsrec_seal(&c->rec, type, p, take, rec);
	if (len == 0 || BIO_write(c->bio, rec, (int)len) != (int)len)
		return CONN_IO_ERROR;
	*put = take;
	return CONN_IO_OK;
}

static enum conn_io
conn_read(struct conn *c, void *p, size_t n, size_t *got)
{
	if (c->detached)
		return conn_read_rec(c, p, n, got);
	if (c->ssl != NULL) {
		if (SSL_read_ex(c->ssl, p, n, got) == 1)
			return CONN_IO_OK;
		return conn_ssl_result(c, 0);
	}
	return conn_read_raw(c, p, n, got);
}

static enum conn_io
conn_write(struct conn *c, const void *p, size_t n, size_t *put)
{
	ssize_t	r;

	if (c->detached)
		return conn_write_rec(c, TLSREC_APPDATA, p, n, put);
	if (c->ssl != NULL) {
		if (SSL_write_ex(c->ssl, p, n, put) == 1)
			return CONN_IO_OK;
		return conn_ssl_result(c, 0);
	}
	/*
	 * A plain response always ends in a half-close, which pushes what
	 * MSG_MORE holds back: the FIN then shares the last segment.
	 */
	r = send(c->fd, p, n, MSG_NOSIGNAL | MSG_MORE);
	if (r >= 0) {
		*put = (size_t)r;
		return CONN_IO_OK;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return CONN_IO_WANT_WRITE;
	return CONN_IO_ERROR;
}

/* What the loop reports undoes what a short read or write concluded. */
static void
conn_on_io(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	if (what & EV_READ) {
		c->drained = false;
		if (c->bio != NULL)
			sockbio_set_readable(c->bio, true);
	}
	if ((what & EV_WRITE) && c->bio != NULL)
		sockbio_set_writable(c->bio);
	conn_step(c);
}

static void
conn_on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	switch (c->state) {
	case CONN_PROXY:
		conn_close(c, "no complete PROXY header before the handshake "
		    "deadline");
		break;
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

/*
 * Whether to write the next line about refusals now; if so, *note says
 * how many were left out before it ("" when none).
 */
static bool
conn_throttle_pass(struct conn_throttle *t, char *note, size_t notesz)
{
	time_t	now = time(NULL);

	if (t->last != 0 && now - t->last < CONN_REFUSAL_LOG_SECONDS) {
		t->quiet++;
		return false;
	}
	note[0] = '\0';
	if (t->quiet > 0)
		snprintf(note, notesz, " (and %lu more since the last line)",
		    t->quiet);
	t->quiet = 0;
	t->last = now;
	return true;
}

/*
 * The per-address limits, checked exactly once per connection with the
 * client's address: the peer's, or the one a PROXY header names (a proxy
 * listener calls this once the header is read, not at accept).  A client
 * over its connection cap is closed at once (-1); one over its request
 * rate is still answered, with 44 or a type-3 line, once its request is
 * read.
 */
static int
conn_admit(struct conn *c, const struct sockaddr *sa)
{
	const struct worker_setup	*ws = worker_setup(c->w);
	char				 note[64], peer[sizeof(c->peer)];
	unsigned int			 wait;

	switch (addrlimit_admit(ws->addrlimit, &ws->limits, sa,
	    addrlimit_now(), &c->hold, &wait)) {
	case ADDRLIMIT_TOO_MANY:
		if (conn_throttle_pass(&conn_refused_log, note, sizeof(note)))
			log_warnx("%s: closed: %u connections already open "
			    "from this address (limits.connections_per_address)"
			    "%s", log_peer(c->peer, true, peer, sizeof(peer)),
			    ws->limits.per_address, note);
		c->logged = true;
		return -1;
	case ADDRLIMIT_FULL:
		if (conn_throttle_pass(&conn_full_log, note, sizeof(note)))
			log_warnx("%s: let in uncounted: the per-address table "
			    "is full%s", log_peer(c->peer, true, peer,
			    sizeof(peer)), note);
		break;
	case ADDRLIMIT_SLOW_DOWN:
		c->slow_down = wait;
		break;
	default:
		break;
	}
	return 0;
}

/* What the connection knows of its client, from accept or a PROXY header. */
static void
conn_set_client(struct conn *c, const struct sockaddr *sa, socklen_t salen)
{
	if (salen > sizeof(c->addr))
		salen = sizeof(c->addr);
	memcpy(&c->addr, sa, salen);
	c->addrlen = salen;
	conn_peer_name(sa, salen, c->peer, sizeof(c->peer));
}

/* The client is known: on to the sniff (Gemini) or the request (Gopher). */
static void
conn_begin(struct conn *c)
{
	const struct worker_setup	*ws = worker_setup(c->w);

	if (c->proto == WORKER_GEMINI) {
		c->state = CONN_SNIFF;
		conn_deadline(c, ws->handshake_timeout);
	} else {
		c->state = CONN_READ;
		conn_deadline(c, ws->request_timeout);
	}
}

/*
 * Only the balancers in proxy_from may connect to a proxy listener: from
 * anyone else, a PROXY header would be a forged address.
 */
static int
conn_start_proxy(struct conn *c, const struct sockaddr *sa)
{
	const struct worker_setup	*ws = worker_setup(c->w);

	c->state = CONN_PROXY;
	if (!proxy_net_match(ws->proxy_from, ws->nproxy_from, sa)) {
		conn_close(c, "refused: address not in proxy_from");
		return -1;
	}
	if ((c->proxy = mem_malloc(PROXY_HEADER_MAX)) == NULL) {
		conn_close(c, "out of memory");
		return -1;
	}
	conn_deadline(c, ws->handshake_timeout);
	return 0;
}

int
conn_start(struct worker *w, int fd, const struct sockaddr *sa,
    socklen_t salen, enum worker_proto proto, bool proxy)
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
	conn_set_client(c, sa, salen);
	if (!proxy && conn_admit(c, sa) == -1) {
		conn_close(c, NULL);
		return -1;
	}
	c->rd = event_new(base, fd, EV_READ | EV_PERSIST, conn_on_io, c);
	c->wr = event_new(base, fd, EV_WRITE, conn_on_io, c);
	c->timer = evtimer_new(base, conn_on_timeout, c);
	if (c->rd == NULL || c->wr == NULL || c->timer == NULL) {
		conn_close(c, "out of memory");
		return -1;
	}
	if (proxy) {
		if (conn_start_proxy(c, sa) == -1)
			return -1;
	} else
		conn_begin(c);
	conn_wait(c, CONN_IO_WANT_READ);
	return 0;
}

/*
 * The header is in: its source, unless LOCAL or UNKNOWN, is the client,
 * and the per-address limits count that address.  Returns false when the
 * client is over its connection cap and was closed.
 */
static bool
conn_proxy_done(struct conn *c, const struct proxy_header *h)
{
	char	via[sizeof(c->peer)];

	free(c->proxy);
	c->proxy = NULL;
	if (!h->local) {
		memcpy(via, c->peer, sizeof(via));
		conn_set_client(c, (const struct sockaddr *)&h->src,
		    h->srclen);
		log_debug("%s: through %s (PROXY v%d)", c->peer, via,
		    h->version);
	}
	if (conn_admit(c, (const struct sockaddr *)&c->addr) == -1) {
		conn_close(c, NULL);
		return false;
	}
	conn_begin(c);
	return true;
}

/*
 * Peek, parse, then read no further than the parser allows: all of a
 * header still incomplete, or exactly the rest of a complete one, so that
 * the client's own first bytes stay in the socket for the sniff.
 */
static bool
conn_read_proxy(struct conn *c)
{
	struct proxy_header	h;
	enum proxy_status	st;
	ssize_t			n;
	size_t			take;

	n = recv(c->fd, c->proxy + c->proxylen,
	    PROXY_HEADER_MAX - c->proxylen, MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
		conn_wait(c, CONN_IO_WANT_READ);
		return false;
	}
	if (n <= 0) {
		conn_close(c, c->proxylen == 0 ? conn_said_nothing : n == 0 ?
		    "closed in the middle of the PROXY header" :
		    "receive error");
		return false;
	}
	st = proxy_parse(span_make(c->proxy, c->proxylen + (size_t)n), &h);
	if (st == PROXY_DONE && h.len <= c->proxylen)
		st = PROXY_MALFORMED;	/* the parser contradicts itself */
	if (st == PROXY_MALFORMED) {
		conn_close(c, h.reason != NULL ? h.reason : "bad PROXY header");
		return false;
	}
	take = st == PROXY_DONE ? h.len - c->proxylen : (size_t)n;
	if (recv(c->fd, c->proxy + c->proxylen, take, 0) != (ssize_t)take) {
		conn_close(c, "receive error");
		return false;
	}
	c->proxylen += take;
	if (st == PROXY_NEED_MORE) {
		conn_wait(c, CONN_IO_WANT_READ);
		return false;
	}
	return conn_proxy_done(c, &h);
}

/*
 * TLS over a socket whose first n bytes are already in c->x->req.  They are
 * lent to the BIO, which gives them to OpenSSL before it reads the
 * socket; c->x->req is not touched again until the handshake is over.
 */
static bool
conn_start_tls(struct conn *c, size_t n)
{
	if ((c->ssl = SSL_new(worker_setup(c->w)->ssl_ctx)) == NULL ||
	    (c->bio = sockbio_new(c->fd)) == NULL) {
		conn_close(c, "cannot start TLS");
		return false;
	}
	SSL_set_bio(c->ssl, c->bio, c->bio);
	/* Without the watch the connection just keeps its SSL object. */
	(void)tlsrec_watch(c->ssl, &c->watch);
	sockbio_set_prefix(c->bio, c->x->req, n);
	sockbio_set_readable(c->bio, !c->drained);
	SSL_set_accept_state(c->ssl);
	c->state = CONN_HANDSHAKE;
	return true;
}

/*
 * Read what the client sent first, as much as c->x->req holds: a TLS
 * handshake starts with 0x16, and then those bytes go to OpenSSL; any
 * other byte starts a Gopher selector, and they stay in c->x->req as its
 * beginning.  Returns false while waiting.
 */
static bool
conn_sniff(struct conn *c)
{
	enum conn_io	r;
	size_t		got;

	if (!conn_exchange_take(c)) {
		conn_close(c, "out of memory");
		return false;
	}
	r = conn_read_raw(c, c->x->req, sizeof(c->x->req), &got);
	if (r == CONN_IO_WANT_READ) {
		conn_exchange_release(c);
		conn_wait(c, r);
		return false;
	}
	if (r != CONN_IO_OK) {
		conn_close(c, r == CONN_IO_EOF ? conn_said_nothing :
		    "receive error");
		return false;
	}
	if ((unsigned char)c->x->req[0] == CONN_TLS_HANDSHAKE_BYTE)
		return conn_start_tls(c, got);
	c->proto = WORKER_GOPHER;
	c->x->reqlen = got;
	c->state = CONN_READ;
	conn_deadline(c, worker_setup(c->w)->request_timeout);
	return true;
}

/*
 * Free the SSL object of a finished TLS 1.3 handshake when nothing waits
 * in it; the connection keeps the BIO, the keys and the server name.
 */
static void
conn_detach(struct conn *c)
{
	const char	*sni = tls_servername(c->ssl);

	if (tlsrec_detach(c->ssl, &c->watch, &c->rec) == -1)
		return;
	if (sni != NULL && (c->sni = mem_strdup(sni)) == NULL) {
		tlsrec_clear(&c->rec);
		return;
	}
	BIO_up_ref(c->bio);
	SSL_free(c->ssl);
	c->ssl = NULL;
	c->detached = true;
}

static bool
conn_handshake(struct conn *c)
{
	enum conn_io	r;

	if (SSL_do_handshake(c->ssl) == 1) {
		/*
		 * The request is read into c->x->req next, so no sniffed byte
		 * may still be lent out.  None can be: OpenSSL, with
		 * read_ahead, asks for more than c->x->req holds at its first
		 * read, and no handshake ends before the client has read our
		 * flight, which came after those bytes.  Refuse rather than
		 * read over them, should that ever change.
		 */
		if (sockbio_prefix_left(c->bio) > 0) {
			conn_close(c, "TLS handshake left sniffed bytes "
			    "unread");
			return false;
		}
		conn_detach(c);
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

/* Whether c->x->req holds a line (or is full), from byte from on. */
static bool
conn_has_line(struct conn *c, size_t from)
{
	const char	*lf;

	lf = memchr(c->x->req + from, '\n', c->x->reqlen - from);
	if (lf != NULL) {
		c->x->linelen = (size_t)(lf - c->x->req) + 1;
		return true;
	}
	if (c->x->reqlen == sizeof(c->x->req)) {
		c->x->linelen = c->x->reqlen;
		return true;
	}
	return false;
}

/*
 * Read until a line feed or the cap; the parser judges what arrived.  The
 * sniff may have read a whole Gopher line already.
 */
static bool
conn_read_request(struct conn *c)
{
	enum conn_io	 r;
	size_t		 got, from = 0;

	if (!conn_exchange_take(c)) {
		conn_close(c, "out of memory");
		return false;
	}
	while (!conn_has_line(c, from)) {
		from = c->x->reqlen;
		r = conn_read(c, c->x->req + c->x->reqlen,
		    sizeof(c->x->req) - c->x->reqlen, &got);
		if (r == CONN_IO_WANT_READ || r == CONN_IO_WANT_WRITE) {
			/* The handshake is over: nothing is lent out. */
			conn_exchange_release(c);
			conn_wait(c, r);
			return false;
		}
		/* A balancer's health check connects and leaves: not news. */
		if (r != CONN_IO_OK && c->x->reqlen == 0) {
			conn_close(c, conn_said_nothing);
			return false;
		}
		if (r != CONN_IO_OK) {
			conn_close(c, r == CONN_IO_EOF ?
			    "client closed before a full request" :
			    "error reading the request");
			return false;
		}
		c->x->reqlen += got;
	}
	c->state = CONN_RESPOND;
	return true;
}

/*
 * A small response goes out in one write: header, body and file copied
 * into one buffer make one TLS record and one system call instead of
 * two or three.  Returns 0 (packed or not worth it) or -1.
 */
static int
conn_pack_small(struct conn *c)
{
	struct response	*r = &c->x->resp;
	size_t		 len = r->head.len + r->body.len;
	ssize_t		 n;

	if (len + (size_t)c->fileleft > CONN_CHUNK || len == 0)
		return 0;
	if (c->chunk == NULL && (c->chunk = mem_malloc(CONN_CHUNK)) == NULL)
		return 0;
	/* A Gopher answer has no header: head.p may be NULL. */
	if (r->head.len > 0)
		memcpy(c->chunk, r->head.p, r->head.len);
	if (r->body.len > 0)
		memcpy(c->chunk + r->head.len, r->body.p, r->body.len);
	while (c->fileleft > 0) {
		n = read(r->fd, c->chunk + len, (size_t)c->fileleft);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		len += (size_t)n;
		c->fileleft -= n;
	}
	/* The file shrank since its size was taken: send what there was. */
	c->fileleft = 0;
	c->phase = r->fd != -1 ? CONN_PHASE_FILE : CONN_PHASE_BODY;
	c->out = c->chunk;
	c->outlen = len;
	return 0;
}

/* Over the request rate: 44 with the wait, or a type-3 line for Gopher. */
static void
conn_slow_down(struct conn *c)
{
	char	msg[64];
	int	n;

	c->x->resp.reason = "rate limited";
	if (c->proto == WORKER_GEMINI) {
		c->x->resp.status = GEMINI_SLOW_DOWN;
		n = snprintf(msg, sizeof(msg), "%u", c->slow_down);
		(void)gemini_header(&c->x->resp.head, GEMINI_SLOW_DOWN,
		    span_make(msg, (size_t)n));
		return;
	}
	c->x->resp.status = 3;
	n = snprintf(msg, sizeof(msg), "Too many requests: wait %u seconds",
	    c->slow_down);
	(void)gopher_error(&c->x->resp.body, span_make(msg, (size_t)n));
}

/*
 * The response is made: write it, under the write deadline.  False when
 * the file could not be read and the connection is closed.
 */
static bool
conn_start_write(struct conn *c)
{
	c->phase = CONN_PHASE_HEAD;
	c->out = c->x->resp.head.p;
	c->outlen = c->x->resp.head.len;
	c->fileleft = c->x->resp.fd != -1 ? c->x->resp.size : 0;
	if (conn_pack_small(c) == -1) {
		conn_close(c, "cannot read the file");
		return false;
	}
	c->state = CONN_WRITE;
	conn_deadline(c, worker_setup(c->w)->write_timeout);
	return true;
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
	    span_make(c->x->req, c->x->linelen), cl, &c->x->resp);
	titan_redact_token(c->x->req, c->x->linelen);
	if (c->up == NULL)
		return false;
	titan_upload_write(c->up, c->x->req + c->x->linelen,
	    c->x->reqlen - c->x->linelen);
	c->state = CONN_UPLOAD;
	return true;
}

/* False when the connection was closed instead. */
static bool
conn_respond(struct conn *c)
{
	const struct worker_setup	*ws = worker_setup(c->w);
	struct conn_exchange		*x = c->x;
	struct span			 line = span_make(x->req, x->linelen);
	struct serve_client		 cl = { NULL, NULL, NULL };

	if (c->detached)
		cl.sni = c->sni;
	else if (c->ssl != NULL) {
		cl.sni = tls_servername(c->ssl);
		cl.cert = SSL_get0_peer_certificate(c->ssl);
		cl.chain = SSL_get_peer_cert_chain(c->ssl);
	}
	if (c->slow_down > 0)
		conn_slow_down(c);
	else if (c->proto == WORKER_GEMINI && titan_is_request(line)) {
		if (conn_upload_start(c, &cl))
			return true;
	} else if (c->proto == WORKER_GEMINI)
		serve_gemini(&ws->serve, line, &cl, &x->resp);
	else
		serve_gopher(&ws->serve, line, &x->resp);
	return conn_start_write(c);
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
	serve_titan_done(c->up, &c->x->resp);
	c->up = NULL;
	return conn_start_write(c);
}

/* Move to the next piece of the response once the current one is out. */
static int
conn_next_output(struct conn *c)
{
	ssize_t	n;

	if (c->phase == CONN_PHASE_HEAD) {
		c->phase = CONN_PHASE_BODY;
		c->out = c->x->resp.body.p;
		c->outlen = c->x->resp.body.len;
		return 0;
	}
	if (c->x->resp.fd == -1) {
		c->phase = CONN_PHASE_DONE;
		return 0;
	}
	c->phase = c->bio == NULL ? CONN_PHASE_SENDFILE : CONN_PHASE_FILE;
	/* The size is known: no read just to meet the end of the file. */
	if (c->fileleft == 0) {
		c->phase = CONN_PHASE_DONE;
		return 0;
	}
	if (c->phase == CONN_PHASE_SENDFILE)
		return 0;
	if (c->chunk == NULL && (c->chunk = mem_malloc(CONN_CHUNK)) == NULL)
		return -1;
	n = read(c->x->resp.fd, c->chunk, c->fileleft < CONN_CHUNK ?
	    (size_t)c->fileleft : CONN_CHUNK);
	if (n == -1)
		return -1;
	if (n == 0)
		c->phase = CONN_PHASE_DONE;
	c->fileleft -= n;
	c->out = c->chunk;
	c->outlen = (size_t)n;
	return 0;
}

/* The rest of the file straight from the page cache to the socket. */
static enum conn_io
conn_sendfile(struct conn *c)
{
	ssize_t	n;

	while (c->fileleft > 0) {
		n = sendfile(c->fd, c->x->resp.fd, NULL, c->fileleft <
		    CONN_SENDFILE_MAX ? (size_t)c->fileleft : CONN_SENDFILE_MAX);
		if (n > 0) {
			c->fileleft -= n;
			c->sent += (size_t)n;
			continue;
		}
		if (n == 0)
			break;		/* the file shrank */
		if (errno == EAGAIN || errno == EINTR)
			return CONN_IO_WANT_WRITE;
		return CONN_IO_ERROR;
	}
	c->phase = CONN_PHASE_DONE;
	return CONN_IO_OK;
}

/* A write that could not go on: wait for the socket, or give up. */
static bool
conn_write_stalled(struct conn *c, enum conn_io r)
{
	if (r == CONN_IO_WANT_READ || r == CONN_IO_WANT_WRITE) {
		conn_deadline(c, worker_setup(c->w)->write_timeout);
		conn_wait(c, r);
	} else
		conn_close(c, "client went away during the response");
	return false;
}

static bool
conn_write_response(struct conn *c)
{
	enum conn_io	r;
	size_t		put;

	while (c->phase != CONN_PHASE_DONE) {
		if (c->phase == CONN_PHASE_SENDFILE) {
			if ((r = conn_sendfile(c)) != CONN_IO_OK)
				return conn_write_stalled(c, r);
			continue;
		}
		if (c->outlen == 0) {
			if (conn_next_output(c) == -1) {
				conn_close(c, "cannot read the file");
				return false;
			}
			continue;
		}
		r = conn_write(c, c->out, c->outlen, &put);
		if (r != CONN_IO_OK)
			return conn_write_stalled(c, r);
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
	static const unsigned char	close_notify[2] = { 1, 0 };
	enum conn_io			r;
	size_t				put;
	int				ret;

	if (c->detached) {
		r = conn_write_rec(c, TLSREC_ALERT, close_notify,
		    sizeof(close_notify), &put);
		if (r == CONN_IO_WANT_WRITE) {
			conn_wait(c, r);
			return false;
		}
	} else if (c->ssl != NULL) {
		ret = SSL_shutdown(c->ssl);
		if (ret < 0) {
			r = conn_ssl_result(c, ret);
			if (r == CONN_IO_WANT_WRITE) {
				conn_wait(c, r);
				return false;
			}
		}
	}
	c->state = CONN_FLUSH;
	return true;
}

/*
 * What is still queued (the response's last records and close_notify)
 * must be out before the half-close.  Then half-close and drain: closing
 * a socket with unread input makes the kernel send RST, which can
 * destroy the response before the client has read it.
 */
static bool
conn_half_close(struct conn *c)
{
	if (c->bio != NULL) {
		switch (sockbio_flush_last(c->bio)) {
		case -1:
			conn_close(c, "client went away during the response");
			return false;
		case 0:
			return conn_write_stalled(c, CONN_IO_WANT_WRITE);
		default:
			break;
		}
	}
	shutdown(c->fd, SHUT_WR);
	/* The response is complete: the drain below is not its time. */
	conn_log(c, NULL);
	c->state = CONN_LINGER;
	conn_deadline(c, CONN_LINGER_SECONDS);
	return true;
}

/* Below TLS: what comes now is thrown away, close_notify included. */
static void
conn_linger(struct conn *c)
{
	char		scratch[4096];
	size_t		got;
	enum conn_io	r;

	while ((r = conn_read_raw(c, scratch, sizeof(scratch), &got)) ==
	    CONN_IO_OK)
		;
	if (r == CONN_IO_WANT_READ) {
		conn_wait(c, r);
		return;
	}
	conn_close(c, NULL);
}

static void
conn_step(struct conn *c)
{
	for (;;) {
		switch (c->state) {
		case CONN_PROXY:
			if (!conn_read_proxy(c))
				return;
			break;
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
			if (!conn_respond(c))
				return;
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
		case CONN_FLUSH:
			if (!conn_half_close(c))
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
	const struct conn_exchange	*x = c->x != NULL ? c->x :
					    &conn_no_exchange;
	struct log_access		 a;
	char				 peer[sizeof(c->peer)];

	if (c->logged)
		return;
	c->logged = true;
	/* Scanners that never finish a handshake would flood the log. */
	if (c->state == CONN_SNIFF || c->state == CONN_HANDSHAKE ||
	    reason == conn_said_nothing) {
		log_debug("%s: %s", log_peer(c->peer, true, peer,
		    sizeof(peer)), reason);
		return;
	}
	/* A forged address or a misconfigured balancer: worth a line. */
	if (c->state == CONN_PROXY) {
		log_info("%s: closed on a PROXY protocol listener: %s",
		    log_peer(c->peer, true, peer, sizeof(peer)), reason);
		return;
	}
	a.peer = c->peer;
	a.host = x->resp.host[0] != '\0' ? x->resp.host : NULL;
	a.proto = c->proto == WORKER_GEMINI ? "gemini" : "gopher";
	a.request = span_make(x->req, x->linelen ? x->linelen : x->reqlen);
	a.status = x->resp.status;
	a.reason = reason != NULL ? reason : x->resp.reason;
	a.bytes = c->sent;
	a.usec = conn_elapsed_usec(c);
	a.cert_sha256 = x->resp.cert_sha256[0] ? x->resp.cert_sha256 : NULL;
	a.cert_subject = x->resp.cert_subject;
	log_access(&a);
}

static void
conn_close(struct conn *c, const char *reason)
{
	conn_log(c, reason);
	addrlimit_leave(worker_setup(c->w)->addrlimit, &c->hold);
	/* An alert OpenSSL queued on a failed handshake still goes out. */
	if (c->bio != NULL)
		(void)sockbio_flush(c->bio);
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (c->detached) {
		BIO_free(c->bio);
		tlsrec_clear(&c->rec);
	}
	free(c->sni);
	free(c->rx);
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
	if (c->x != NULL) {
		response_free(&c->x->resp);
		free(c->x);
	}
	free(c->chunk);
	free(c->proxy);
	close(c->fd);
	worker_conn_closed(c->w);
	free(c);
}
