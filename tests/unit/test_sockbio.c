/*
 * sockbio over real sockets: a socketpair for the BIO alone, loopback TCP
 * for a reset, and a whole TLS exchange between a server SSL over sockbio
 * and a client SSL over the other end.  System calls are counted with the
 * BIO's own counters.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>

#include "check.h"
#include "sockbio.h"
#include "tls.h"

/* Bytes one BIO_write hands over in the streaming tests: one record. */
#define CHUNK		16384

static char	dir[64];
static char	crt[128];
static char	key[128];

static int
nonblock(int fd)
{
	return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* A non-blocking socketpair: sv[0] for the BIO, sv[1] for its peer. */
static int
pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return -1;
	if (nonblock(sv[0]) == -1 || nonblock(sv[1]) == -1) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	return 0;
}

static size_t
readable_bytes(int fd)
{
	int	n = 0;

	if (ioctl(fd, FIONREAD, &n) == -1)
		return 0;
	return (size_t)n;
}

/* The byte at offset i of the streaming tests' data. */
static char
pattern(size_t i)
{
	return (char)('a' + (i * 7 + i / 251) % 26);
}

/* Read what the peer has; check it against the pattern from *at. */
static int
drain_peer(int fd, size_t *at)
{
	char	buf[8192];
	ssize_t	n;
	size_t	i;
	int	bad = 0;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < (size_t)n; i++, (*at)++)
			if (buf[i] != pattern(*at))
				bad = 1;
	return bad;
}

static void
test_prefix_served_first(void)
{
	int	 sv[2];
	BIO	*b;
	char	 buf[16];

	if (pair(sv) == -1 || (b = sockbio_new(sv[0])) == NULL) {
		CHECK(!"socketpair and BIO");
		return;
	}
	CHECK_INT(6, write(sv[1], "world!", 6));
	sockbio_set_prefix(b, "hello ", 6);
	CHECK_INT(6, BIO_ctrl_pending(b));
	CHECK_INT(4, BIO_read(b, buf, 4));
	CHECK_MEM("hell", buf, 4);
	CHECK_INT(2, sockbio_prefix_left(b));
	/* The rest of the prefix, and no more, without a system call. */
	CHECK_INT(2, BIO_read(b, buf, sizeof(buf)));
	CHECK_MEM("o ", buf, 2);
	CHECK_INT(0, sockbio_stats(b).reads);
	CHECK_INT(6, BIO_read(b, buf, sizeof(buf)));
	CHECK_MEM("world!", buf, 6);
	CHECK_INT(1, sockbio_stats(b).reads);
	BIO_free(b);
	close(sv[0]);
	close(sv[1]);
}

static void
test_drained_until_readable(void)
{
	int	 sv[2];
	BIO	*b;
	char	 buf[16];

	if (pair(sv) == -1 || (b = sockbio_new(sv[0])) == NULL) {
		CHECK(!"socketpair and BIO");
		return;
	}
	CHECK_INT(3, write(sv[1], "abc", 3));
	CHECK_INT(3, BIO_read(b, buf, sizeof(buf)));
	CHECK(!sockbio_is_readable(b));
	/* Input that comes later waits until the loop reports it. */
	CHECK_INT(3, write(sv[1], "def", 3));
	CHECK(BIO_read(b, buf, sizeof(buf)) <= 0);
	CHECK(BIO_should_retry(b) && BIO_should_read(b));
	CHECK_INT(1, sockbio_stats(b).reads);
	sockbio_set_readable(b, true);
	CHECK_INT(3, BIO_read(b, buf, sizeof(buf)));
	CHECK_MEM("def", buf, 3);
	CHECK_INT(2, sockbio_stats(b).reads);
	/* A full read says nothing about what is left: the next one reads. */
	sockbio_set_readable(b, true);
	CHECK_INT(4, write(sv[1], "ghij", 4));
	CHECK_INT(2, BIO_read(b, buf, 2));
	CHECK(sockbio_is_readable(b));
	CHECK_INT(2, BIO_read(b, buf, 2));
	CHECK_MEM("ij", buf, 2);
	/* EAGAIN drains it too, once. */
	CHECK(BIO_read(b, buf, 2) <= 0 && BIO_should_retry(b));
	CHECK(BIO_read(b, buf, 2) <= 0 && BIO_should_retry(b));
	CHECK_INT(5, sockbio_stats(b).reads);
	/* EOF is not a retry, and BIO_eof says which it was. */
	close(sv[1]);
	sockbio_set_readable(b, true);
	CHECK_INT(0, BIO_read(b, buf, sizeof(buf)));
	CHECK(!BIO_should_retry(b));
	CHECK(BIO_eof(b));
	BIO_free(b);
	close(sv[0]);
}

static void
test_writes_wait_for_flush(void)
{
	int	 sv[2];
	BIO	*b;
	char	 buf[16];

	if (pair(sv) == -1 || (b = sockbio_new(sv[0])) == NULL) {
		CHECK(!"socketpair and BIO");
		return;
	}
	CHECK_INT(3, BIO_write(b, "abc", 3));
	CHECK_INT(1, BIO_flush(b));
	CHECK_INT(3, BIO_write(b, "def", 3));
	CHECK_INT(6, BIO_wpending(b));
	CHECK_INT(0, sockbio_stats(b).writes);
	CHECK_INT(0, readable_bytes(sv[1]));
	CHECK_INT(1, sockbio_flush(b));
	CHECK_INT(1, sockbio_stats(b).writes);
	CHECK_INT(0, sockbio_queued(b));
	CHECK_INT(6, read(sv[1], buf, sizeof(buf)));
	CHECK_MEM("abcdef", buf, 6);
	/* Nothing queued: a flush makes no system call. */
	CHECK_INT(1, sockbio_flush(b));
	CHECK_INT(1, sockbio_stats(b).writes);
	BIO_free(b);
	close(sv[0]);
	close(sv[1]);
}

/*
 * Output held while waiting (a session ticket) shrinks to its size, then
 * grows again under the response, and all of it leaves in order, in one
 * send, with the last flush.
 */
static void
test_held_output_trimmed_then_sent_last(void)
{
	static char	 body[5000], got[sizeof(body) + 16];
	int		 sv[2];
	BIO		*b;
	size_t		 n = 0;
	ssize_t		 r;

	if (pair(sv) == -1 || (b = sockbio_new(sv[0])) == NULL) {
		CHECK(!"socketpair and BIO");
		return;
	}
	CHECK_INT(6, BIO_write(b, "ticket", 6));
	sockbio_trim(b);
	CHECK_INT(6, sockbio_queued(b));
	CHECK_INT(0, sockbio_stats(b).writes);
	memset(body, 'r', sizeof(body));
	CHECK_INT((int)sizeof(body), BIO_write(b, body, (int)sizeof(body)));
	CHECK_INT(6 + sizeof(body), sockbio_queued(b));
	CHECK_INT(1, sockbio_flush_last(b));
	CHECK_INT(1, sockbio_stats(b).writes);
	while (n < sizeof(got) && (r = read(sv[1], got + n,
	    sizeof(got) - n)) > 0)
		n += (size_t)r;
	CHECK_INT(6 + sizeof(body), n);
	CHECK_MEM("ticket", got, 6);
	CHECK(memcmp(got + 6, body, sizeof(body)) == 0);
	/* An empty queue trims to nothing, and a flush then sends nothing. */
	sockbio_trim(b);
	CHECK_INT(1, sockbio_flush_last(b));
	CHECK_INT(1, sockbio_stats(b).writes);
	BIO_free(b);
	close(sv[0]);
	close(sv[1]);
}

/* The peer's receive room, as small as the kernel allows. */
static void
shrink(int sv[2])
{
	int	small = 4096;

	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
}

static void
test_partial_write_keeps_rest(void)
{
	int	 sv[2], r, rounds = 0;
	BIO	*b;
	char	 data[40000];
	size_t	 i, at = 0;

	if (pair(sv) == -1 || (b = sockbio_new(sv[0])) == NULL) {
		CHECK(!"socketpair and BIO");
		return;
	}
	shrink(sv);
	for (i = 0; i < sizeof(data); i++)
		data[i] = pattern(i);
	CHECK_INT(sizeof(data), BIO_write(b, data, sizeof(data)));
	CHECK_INT(0, sockbio_flush(b));
	CHECK(sockbio_queued(b) > 0 && sockbio_queued(b) < sizeof(data));
	CHECK_INT(1, sockbio_stats(b).writes);
	/* Not writable until the loop says so: no send() to meet EAGAIN. */
	CHECK_INT(0, sockbio_flush(b));
	CHECK_INT(1, sockbio_stats(b).writes);
	do {
		CHECK_INT(0, drain_peer(sv[1], &at));
		sockbio_set_writable(b);
		r = sockbio_flush(b);
	} while (r == 0 && ++rounds < 1000);
	CHECK_INT(1, r);
	CHECK_INT(0, drain_peer(sv[1], &at));
	CHECK_INT(sizeof(data), at);
	BIO_free(b);
	close(sv[0]);
	close(sv[1]);
}

/* Write n pattern bytes from *off on; returns what the BIO took. */
static int
write_chunk(BIO *b, size_t *off, size_t n)
{
	char	buf[CHUNK];
	size_t	i;
	int	r;

	for (i = 0; i < n; i++)
		buf[i] = pattern(*off + i);
	if ((r = BIO_write(b, buf, (int)n)) > 0)
		*off += (size_t)r;
	return r;
}

static size_t
left(size_t off, size_t total)
{
	return total - off < CHUNK ? total - off : CHUNK;
}

static void
test_backpressure_above_cap(void)
{
	int	 sv[2], rounds = 0;
	BIO	*b;
	size_t	 off = 0, at = 0, total = 4 * SOCKBIO_OUT_MAX;
	unsigned long before;

	if (pair(sv) == -1 || (b = sockbio_new(sv[0])) == NULL) {
		CHECK(!"socketpair and BIO");
		return;
	}
	shrink(sv);
	/* Queued up to the cap; past it one send(), then "retry". */
	while (write_chunk(b, &off, left(off, total)) > 0 && off < total)
		CHECK(sockbio_queued(b) <= SOCKBIO_OUT_MAX);
	CHECK(BIO_should_retry(b) && BIO_should_write(b));
	CHECK_INT(SOCKBIO_OUT_MAX, sockbio_queued(b));
	CHECK_INT(1, sockbio_stats(b).writes);
	/* Asking again costs nothing until the socket is writable. */
	CHECK(write_chunk(b, &off, CHUNK) <= 0);
	CHECK_INT(1, sockbio_stats(b).writes);
	while (off < total && ++rounds < 10000) {
		CHECK_INT(0, drain_peer(sv[1], &at));
		sockbio_set_writable(b);
		before = sockbio_stats(b).writes;
		while (off < total && write_chunk(b, &off, left(off,
		    total)) > 0)
			CHECK(sockbio_queued(b) <= SOCKBIO_OUT_MAX);
		CHECK(sockbio_stats(b).writes - before <= 1);
	}
	while (sockbio_flush(b) == 0 && ++rounds < 10000) {
		CHECK_INT(0, drain_peer(sv[1], &at));
		sockbio_set_writable(b);
	}
	CHECK_INT(0, drain_peer(sv[1], &at));
	CHECK_INT(total, off);
	CHECK_INT(total, at);
	BIO_free(b);
	close(sv[0]);
	close(sv[1]);
}

/* A connected loopback TCP pair: fds[0] accepted, fds[1] the client. */
static int
tcp_pair(int fds[2])
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			l;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((l = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	if (bind(l, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(l, 1) == -1 ||
	    getsockname(l, (struct sockaddr *)&sin, &len) == -1 ||
	    (fds[1] = socket(AF_INET, SOCK_STREAM, 0)) == -1) {
		close(l);
		return -1;
	}
	if (connect(fds[1], (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    (fds[0] = accept(l, NULL, NULL)) == -1) {
		close(fds[1]);
		close(l);
		return -1;
	}
	close(l);
	return nonblock(fds[0]);
}

static void
test_reset_is_an_error(void)
{
	struct linger	 lg = { 1, 0 };
	int		 fds[2];
	BIO		*b;
	char		 buf[16];

	if (tcp_pair(fds) == -1 || (b = sockbio_new(fds[0])) == NULL) {
		CHECK(!"loopback TCP pair and BIO");
		return;
	}
	setsockopt(fds[1], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fds[1]);
	/* The RST is in once the read says so. */
	CHECK_INT(-1, BIO_read(b, buf, sizeof(buf)));
	CHECK(!BIO_should_retry(b));
	CHECK(!BIO_eof(b));
	CHECK_INT(ECONNRESET, sockbio_error(b));
	/* It sticks: writes fail without a system call, flushes too. */
	CHECK(BIO_write(b, "x", 1) <= 0);
	CHECK(!BIO_should_retry(b));
	CHECK_INT(-1, sockbio_flush(b));
	CHECK_INT(0, sockbio_stats(b).writes);
	BIO_free(b);
	close(fds[0]);
}

static void
test_peer_gone_on_write(void)
{
	int	 sv[2];
	BIO	*b;

	if (pair(sv) == -1 || (b = sockbio_new(sv[0])) == NULL) {
		CHECK(!"socketpair and BIO");
		return;
	}
	close(sv[1]);
	CHECK_INT(5, BIO_write(b, "hello", 5));
	/* EPIPE, with no SIGPIPE to kill the process. */
	CHECK_INT(-1, sockbio_flush(b));
	CHECK_INT(EPIPE, sockbio_error(b));
	CHECK_INT(-1, sockbio_flush(b));
	CHECK_INT(1, sockbio_stats(b).writes);
	BIO_free(b);
	close(sv[0]);
}

/* Every new session the client learns of: a NewSessionTicket each. */
static int	tickets;

static int
count_ticket(SSL *ssl, SSL_SESSION *sess)
{
	(void)ssl;
	(void)sess;
	tickets++;
	return 0;
}

static SSL *
client_new(SSL_CTX **cctx, int fd)
{
	SSL	*ssl;

	*cctx = SSL_CTX_new(TLS_client_method());
	if (*cctx == NULL)
		return NULL;
	SSL_CTX_set_session_cache_mode(*cctx, SSL_SESS_CACHE_CLIENT);
	SSL_CTX_sess_set_new_cb(*cctx, count_ticket);
	if ((ssl = SSL_new(*cctx)) == NULL)
		return NULL;
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, "localhost");
	return ssl;
}

/*
 * The server side as conn drives it: the sniffed ClientHello lent to the
 * BIO, a flush at the end of every turn, the request in c->req.
 */
static void
test_tls_request_in_one_write(void)
{
	struct buf	 err;
	const char	*line = "gemini://localhost/\r\n";
	SSL_CTX		*sctx, *cctx = NULL;
	SSL		*srv, *cli;
	BIO		*b;
	int		 sv[2], i, rc = -1, sc = -1;
	char		 req[1026], resp[64];
	ssize_t		 n;
	unsigned long	 w;

	buf_init(&err, 1024);
	if (tls_ensure_cert(crt, key, "localhost", &err) == -1 ||
	    (sctx = tls_ctx_new(crt, key, &err)) == NULL || pair(sv) == -1 ||
	    (cli = client_new(&cctx, sv[1])) == NULL) {
		CHECK(!"contexts and sockets");
		return;
	}
	/* The client's first flight, then the sniff. */
	CHECK_INT(-1, SSL_connect(cli));
	n = read(sv[0], req, sizeof(req));
	CHECK(n > 0 && req[0] == 0x16);
	srv = SSL_new(sctx);
	b = sockbio_new(sv[0]);
	if (n <= 0 || srv == NULL || b == NULL) {
		CHECK(!"server SSL");
		return;
	}
	SSL_set_bio(srv, b, b);
	sockbio_set_prefix(b, req, (size_t)n);
	sockbio_set_readable(b, (size_t)n == sizeof(req));
	SSL_set_accept_state(srv);
	/* A turn ends when the server waits: then it flushes. */
	for (i = 0; i < 10 && (sc != 1 || rc != 1); i++) {
		if (sc != 1 && (sc = SSL_do_handshake(srv)) != 1)
			CHECK_INT(1, sockbio_flush(b));
		if (rc != 1 && (rc = SSL_connect(cli)) == 1)
			/* Finished and request in one segment. */
			CHECK_INT(strlen(line), SSL_write(cli, line,
			    (int)strlen(line)));
		if (sc != 1)
			sockbio_set_readable(b, true);
	}
	CHECK_INT(1, sc);
	CHECK_INT(1, rc);
	CHECK_INT(0, sockbio_prefix_left(b));
	/* The ClientHello came from the prefix, no read met EAGAIN. */
	CHECK_INT(1, sockbio_stats(b).reads);
	/* Flight out in one write; the ticket waits, not written yet. */
	CHECK_INT(1, sockbio_stats(b).writes);
	CHECK(sockbio_queued(b) > 0);
	CHECK_INT(0, readable_bytes(sv[1]));
	w = sockbio_stats(b).reads;
	CHECK_INT(strlen(line), SSL_read(srv, req, sizeof(req)));
	CHECK_MEM(line, req, strlen(line));
	/* All of it came with the Finished: no read for the request. */
	CHECK_INT(w, sockbio_stats(b).reads);
	CHECK_INT(-1, SSL_read(srv, req, sizeof(req)));
	CHECK_INT(SSL_ERROR_WANT_READ, SSL_get_error(srv, -1));
	CHECK_INT(w, sockbio_stats(b).reads);
	CHECK_INT(17, SSL_write(srv, "20 text/gemini\r\nx", 17));
	CHECK_INT(0, SSL_shutdown(srv));
	CHECK_INT(0, readable_bytes(sv[1]));
	CHECK_INT(1, sockbio_flush(b));
	/* Ticket, response and close_notify: one write. */
	CHECK_INT(2, sockbio_stats(b).writes);
	CHECK_INT(17, SSL_read(cli, resp, sizeof(resp)));
	CHECK_MEM("20 text/gemini\r\nx", resp, 17);
	CHECK_INT(1, tickets);
	CHECK_INT(0, SSL_read(cli, resp, sizeof(resp)));
	CHECK_INT(SSL_ERROR_ZERO_RETURN, SSL_get_error(cli, 0));
	SSL_free(cli);
	SSL_free(srv);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	close(sv[0]);
	close(sv[1]);
	buf_free(&err);
	ERR_clear_error();
}

int
main(void)
{
	char	cmd[128];
	int	rc;

	snprintf(dir, sizeof(dir), "/tmp/sockbio-unit.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(crt, sizeof(crt), "%s/c.crt", dir);
	snprintf(key, sizeof(key), "%s/c.key", dir);
	RUN(test_prefix_served_first);
	RUN(test_drained_until_readable);
	RUN(test_writes_wait_for_flush);
	RUN(test_held_output_trimmed_then_sent_last);
	RUN(test_partial_write_keeps_rest);
	RUN(test_backpressure_above_cap);
	RUN(test_reset_is_an_error);
	RUN(test_peer_gone_on_write);
	RUN(test_tls_request_in_one_write);
	rc = CHECK_SUMMARY();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return rc;
}
