/*
 * gemclient: a raw Gemini (TLS) and Gopher (plain TCP) client for the
 * integration tests.  It sends exactly the bytes it is given, at the pace
 * it is given, and tells apart the ways a server can end a connection, so
 * that shell tests can check both the bytes of a reply and how it ended.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "buf.h"

/* Exit statuses: part of the interface the shell tests rely on. */
enum {
	GC_OK = 0,
	GC_USAGE = 1,
	GC_CONN = 2,
	GC_TIMEOUT = 3,
	GC_NONOTIFY = 4
};

/*
 * Ceiling on the request we build, so a typo in -R cannot eat memory: a
 * Titan body as large as the server accepts, and its request line.
 */
#define REQ_MAX		(64L * 1024 * 1024 + 4096)
/* Ceiling on the first line kept for -o header and -o status. */
#define HEAD_MAX	(64UL * 1024)
#define REPEATS_MAX	16
#define MS_MAX		3600000L
#define TIMEOUT_MAX	86400L

enum outmode {
	OUT_ALL,
	OUT_HEADER,
	OUT_BODY,
	OUT_STATUS
};

/* What one I/O step did. */
enum io {
	IO_OK,		/* moved some bytes */
	IO_WAIT,	/* poll for the events given, then retry */
	IO_EOF,		/* the peer closed */
	IO_ERR,		/* failed, already reported */
	IO_TIMEOUT	/* the overall deadline passed */
};

struct opts {
	const char	*host;
	const char	*port;
	const char	*sni;
	const char	*cert;
	const char	*key;
	const char	*sessfile;
	const char	*body;		/* -T: a file sent after the request */
	const char	*repeats[REPEATS_MAX];
	size_t		 nrepeats;
	struct buf	 req;
	long		 drip_ms;	/* -1: send in one go */
	long		 wait_ms;
	long		 abort_after;	/* -1: read to the end */
	long		 timeout_s;
	enum outmode	 out;
	bool		 has_sni;
	bool		 plain;
	bool		 nothing;
	bool		 close_early;
	bool		 quit;		/* -q: close once the request is sent */
	bool		 verbose;
	bool		 need_notify;
};

struct conn {
	int		 fd;
	SSL_CTX		*ctx;
	SSL		*ssl;
	long long	 start;		/* monotonic milliseconds */
	long long	 deadline;
	size_t		 nread;
	bool		 close_notify;
	bool		 aborted;
	bool		 saved;
	int		 early;		/* bytes waiting after -w, or -1 */
};

/* Where response bytes go, according to -o. */
struct sink {
	enum outmode	 mode;
	struct buf	 head;		/* the first line, CRLF included */
	bool		 in_body;
	bool		 saw_cr;
	bool		 head_full;
	bool		 broken;	/* stdout failed: stop writing */
};

static const char *const usage_text[] = {
"usage: gemclient [-NnPqvx] [-c cert -k key] [-d ms] [-o mode] [-R char:n]",
"                 [-r file] [-s name] [-T file] [-t sec] [-w ms] [-X n]",
"                 host port [request]",
"  request    bytes to send after the handshake, exactly (no CRLF added);",
"             escapes: \\r \\n \\t \\0 \\\\ \\xHH",
"  -c cert    client certificate (PEM), used with -k",
"  -d ms      drip: send the request one byte at a time, ms apart",
"  -k key     private key (PEM) of the -c certificate",
"  -N         exit 4 if the server closes without close_notify",
"  -n         send nothing; read until the server closes",
"  -o mode    output: all (raw response, the default), header (first line",
"             without CRLF, then a newline), body (everything after the",
"             first CRLF), status (the two-digit status, then a newline)",
"  -P         plain TCP, no TLS (Gopher)",
"  -q         close (with close_notify) once the request is sent, without",
"             reading a reply: a client that gives up half-way",
"  -R char:n  append n copies of char (escapes allowed) after the request;",
"             may be repeated",
"  -r file    offer the session saved in file if it exists, then save the",
"             new session there",
"  -s name    SNI server name (default: host; -s '' sends none)",
"  -T file    append the bytes of file after the request and any -R: the",
"             body of a Titan upload",
"  -t sec     overall timeout in seconds (default 15)",
"  -v         report on stderr: TLS version, cipher, resumed (with -r),",
"             close_notify, bytes received, elapsed milliseconds;",
"             with -w, the bytes that had arrived when the wait ended",
"  -w ms      wait ms after the handshake before sending",
"  -X n       abort the connection (RST) after reading n response bytes",
"  -x         close (with close_notify) right after the handshake",
"exit status: 0 read until the server closed, 1 usage, 2 connect or",
"             handshake failure, 3 timeout, 4 no close_notify with -N",
};

static void
usage(void)
{
	size_t	i;

	for (i = 0; i < sizeof(usage_text) / sizeof(usage_text[0]); i++)
		fprintf(stderr, "%s\n", usage_text[i]);
}

static long long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Strict decimal: no sign, no spaces, no trailing junk, within range. */
static int
parse_num(const char *s, long min, long max, long *out)
{
	char	*end;
	long	 v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end != '\0' || errno == ERANGE || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/*
 * Decode the escapes of n bytes at p onto out.  An unknown escape is an
 * error, not a literal, so that a typo in a test cannot silently send
 * other bytes than the ones meant.
 */
static int
unescape(const char *p, size_t n, struct buf *out)
{
	size_t	i;
	int	hi, lo;
	char	ch;

	for (i = 0; i < n; i++) {
		ch = p[i];
		if (ch == '\\') {
			if (++i == n) {
				warnx("backslash at the end of \"%.*s\"",
				    (int)n, p);
				return -1;
			}
			switch (p[i]) {
			case 'r':
				ch = '\r';
				break;
			case 'n':
				ch = '\n';
				break;
			case 't':
				ch = '\t';
				break;
			case '0':
				ch = '\0';
				break;
			case '\\':
				ch = '\\';
				break;
			case 'x':
				if (n - i < 3 ||
				    (hi = hexval(p[i + 1])) == -1 ||
				    (lo = hexval(p[i + 2])) == -1) {
					warnx("\\x needs two hex digits");
					return -1;
				}
				ch = (char)(hi << 4 | lo);
				i += 2;
				break;
			default:
				warnx("unknown escape \\%c", p[i]);
				return -1;
			}
		}
		if (buf_putc(out, ch) == -1) {
			warnx("request longer than %ld bytes", REQ_MAX);
			return -1;
		}
	}
	return 0;
}

/* Append the bytes of the -T file, as they are. */
static int
add_file(struct buf *req, const char *path)
{
	char	chunk[4096];
	ssize_t	n;
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		warn("%s", path);
		return -1;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_append(req, chunk, (size_t)n) == -1) {
			warnx("request longer than %ld bytes", REQ_MAX);
			close(fd);
			return -1;
		}
	if (n == -1)
		warn("%s", path);
	close(fd);
	return n == -1 ? -1 : 0;
}

/*
 * Append -R CHAR:N.  The count follows the last colon, so that "::3"
 * means three colons.
 */
static int
add_repeat(struct buf *req, const char *arg)
{
	struct buf	 one;
	const char	*colon;
	char		 chunk[4096];
	long		 n;
	size_t		 k;

	if ((colon = strrchr(arg, ':')) == NULL ||
	    parse_num(colon + 1, 0, REQ_MAX, &n) == -1) {
		warnx("-R wants char:count, not \"%s\"", arg);
		return -1;
	}
	/* Decoding never lengthens, so only a bad escape can fail here. */
	buf_init(&one, (size_t)(colon - arg));
	if (unescape(arg, (size_t)(colon - arg), &one) == -1 || one.len != 1) {
		warnx("-R wants exactly one char before the colon in \"%s\"",
		    arg);
		buf_free(&one);
		return -1;
	}
	memset(chunk, one.p[0], sizeof(chunk));
	buf_free(&one);
	for (; n > 0; n -= (long)k) {
		k = (size_t)n < sizeof(chunk) ? (size_t)n : sizeof(chunk);
		if (buf_append(req, chunk, k) == -1) {
			warnx("request longer than %ld bytes", REQ_MAX);
			return -1;
		}
	}
	return 0;
}

static int
parse_mode(const char *s, enum outmode *out)
{
	if (strcmp(s, "all") == 0)
		*out = OUT_ALL;
	else if (strcmp(s, "header") == 0)
		*out = OUT_HEADER;
	else if (strcmp(s, "body") == 0)
		*out = OUT_BODY;
	else if (strcmp(s, "status") == 0)
		*out = OUT_STATUS;
	else
		return -1;
	return 0;
}

static int
bad_arg(int opt, const char *arg)
{
	warnx("bad value for -%c: \"%s\"", opt, arg);
	return -1;
}

/* Refuse combinations that would make a test mean something else. */
static int
check_combos(const struct opts *o)
{
	if ((o->cert == NULL) != (o->key == NULL)) {
		warnx("-c and -k go together");
		return -1;
	}
	if (o->plain && (o->has_sni || o->cert != NULL ||
	    o->sessfile != NULL || o->need_notify)) {
		warnx("-P takes none of -s, -c, -k, -r, -N");
		return -1;
	}
	if (o->nothing && o->close_early) {
		warnx("-n and -x exclude each other");
		return -1;
	}
	if (o->quit && (o->nothing || o->close_early || o->abort_after >= 0 ||
	    o->need_notify)) {
		warnx("-q reads nothing: -n, -x, -X and -N do not apply");
		return -1;
	}
	if ((o->nothing || o->close_early) && o->req.len > 0) {
		warnx("-n and -x send no request");
		return -1;
	}
	if (o->close_early && (o->drip_ms >= 0 || o->abort_after >= 0 ||
	    o->need_notify)) {
		warnx("-x reads nothing: -d, -X and -N do not apply");
		return -1;
	}
	return 0;
}

static int
parse_opt(struct opts *o, int ch, const char *arg)
{
	switch (ch) {
	case 'c':
		o->cert = arg;
		break;
	case 'd':
		if (parse_num(arg, 0, MS_MAX, &o->drip_ms) == -1)
			return bad_arg(ch, arg);
		break;
	case 'k':
		o->key = arg;
		break;
	case 'N':
		o->need_notify = true;
		break;
	case 'n':
		o->nothing = true;
		break;
	case 'o':
		if (parse_mode(arg, &o->out) == -1)
			return bad_arg(ch, arg);
		break;
	case 'P':
		o->plain = true;
		break;
	case 'q':
		o->quit = true;
		break;
	case 'R':
		if (o->nrepeats == REPEATS_MAX) {
			warnx("at most %d -R options", REPEATS_MAX);
			return -1;
		}
		o->repeats[o->nrepeats++] = arg;
		break;
	case 'r':
		o->sessfile = arg;
		break;
	case 's':
		o->sni = arg;
		o->has_sni = true;
		break;
	case 'T':
		o->body = arg;
		break;
	case 't':
		if (parse_num(arg, 1, TIMEOUT_MAX, &o->timeout_s) == -1)
			return bad_arg(ch, arg);
		break;
	case 'v':
		o->verbose = true;
		break;
	case 'w':
		if (parse_num(arg, 0, MS_MAX, &o->wait_ms) == -1)
			return bad_arg(ch, arg);
		break;
	case 'X':
		if (parse_num(arg, 0, REQ_MAX, &o->abort_after) == -1)
			return bad_arg(ch, arg);
		break;
	case 'x':
		o->close_early = true;
		break;
	default:
		return -1;
	}
	return 0;
}

static int
parse_args(struct opts *o, int argc, char **argv)
{
	size_t	i;
	int	ch;

	/* "+": stop at host, so a request can never be taken for options. */
	while ((ch = getopt(argc, argv, "+c:d:k:Nno:PqR:r:s:T:t:vw:X:x")) != -1)
		if (parse_opt(o, ch, optarg) == -1)
			return -1;
	argc -= optind;
	argv += optind;
	if (argc < 2 || argc > 3)
		return -1;
	o->host = argv[0];
	o->port = argv[1];
	if (!o->has_sni)
		o->sni = o->host;
	if (argc == 3 && unescape(argv[2], strlen(argv[2]), &o->req) == -1)
		return -1;
	for (i = 0; i < o->nrepeats; i++)
		if (add_repeat(&o->req, o->repeats[i]) == -1)
			return -1;
	if (o->body != NULL && add_file(&o->req, o->body) == -1)
		return -1;
	return check_combos(o);
}

/* Wait until fd is ready for events; -1 once the deadline has passed. */
static int
wait_fd(const struct conn *c, short events)
{
	struct pollfd	pfd;
	long long	left;
	int		n;

	pfd.fd = c->fd;
	pfd.events = events;
	for (;;) {
		if ((left = c->deadline - now_ms()) <= 0)
			return -1;
		if ((n = poll(&pfd, 1, (int)left)) > 0)
			return 0;
		if (n == -1 && errno != EINTR && errno != EAGAIN) {
			warn("poll");
			return -1;
		}
	}
}

/* Sleep ms, but no further than the deadline; -1 if it was reached. */
static int
pause_ms(const struct conn *c, long ms)
{
	struct timespec	ts;
	long long	left;
	int		rc = 0;

	left = c->deadline - now_ms();
	if (ms >= left) {
		ms = left > 0 ? (long)left : 0;
		rc = -1;
	}
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = ms % 1000 * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
	return rc;
}

/* Report and clear OpenSSL's error queue; errno when it is empty. */
static void
tls_warn(const char *what)
{
	unsigned long	e;
	char		msg[256];

	if (ERR_peek_error() == 0) {
		if (errno != 0)
			warn("%s", what);
		else
			warnx("%s: connection closed by the server", what);
		return;
	}
	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, msg, sizeof(msg));
		warnx("%s: %s", what, msg);
	}
}

static enum io
tls_result(struct conn *c, int r, short *ev, const char *what)
{
	unsigned long	e;

	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		*ev = POLLIN;
		return IO_WAIT;
	case SSL_ERROR_WANT_WRITE:
		*ev = POLLOUT;
		return IO_WAIT;
	case SSL_ERROR_ZERO_RETURN:
		c->close_notify = true;
		return IO_EOF;
	case SSL_ERROR_SYSCALL:
		if (errno == 0 && ERR_peek_error() == 0)
			return IO_EOF;
		break;
	case SSL_ERROR_SSL:
		/*
		 * OpenSSL 3 reports a TCP close without close_notify as
		 * this error; it is an end of stream, only not a clean one.
		 */
		e = ERR_peek_error();
		if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
		    ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			ERR_clear_error();
			return IO_EOF;
		}
		break;
	default:
		break;
	}
	tls_warn(what);
	return IO_ERR;
}

static enum io
conn_read(struct conn *c, char *p, size_t n, size_t *got, short *ev)
{
	ssize_t	r;

	errno = 0;
	if (c->ssl != NULL) {
		ERR_clear_error();
		if (SSL_read_ex(c->ssl, p, n, got) == 1)
			return IO_OK;
		return tls_result(c, 0, ev, "read");
	}
	if ((r = read(c->fd, p, n)) > 0) {
		*got = (size_t)r;
		return IO_OK;
	}
	if (r == 0)
		return IO_EOF;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
		*ev = POLLIN;
		return IO_WAIT;
	}
	warn("read");
	return IO_ERR;
}

static enum io
conn_write(struct conn *c, const char *p, size_t n, size_t *done, short *ev)
{
	ssize_t	r;

	errno = 0;
	if (c->ssl != NULL) {
		ERR_clear_error();
		if (SSL_write_ex(c->ssl, p, n, done) == 1)
			return IO_OK;
		return tls_result(c, 0, ev, "write");
	}
	if ((r = write(c->fd, p, n)) >= 0) {
		*done = (size_t)r;
		return IO_OK;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
		*ev = POLLOUT;
		return IO_WAIT;
	}
	warn("write");
	return IO_ERR;
}

static enum io
write_all(struct conn *c, const char *p, size_t n)
{
	size_t	done;
	short	ev = 0;
	enum io	r;

	while (n > 0) {
		r = conn_write(c, p, n, &done, &ev);
		if (r == IO_OK) {
			p += done;
			n -= done;
		} else if (r != IO_WAIT) {
			return r;
		} else if (wait_fd(c, ev) == -1) {
			return IO_TIMEOUT;
		}
	}
	return IO_OK;
}

static void
emit(struct sink *s, const char *p, size_t n)
{
	struct pollfd	pfd = { STDOUT_FILENO, POLLOUT, 0 };
	ssize_t		r;

	while (n > 0 && !s->broken) {
		if ((r = write(STDOUT_FILENO, p, n)) >= 0) {
			p += r;
			n -= (size_t)r;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			(void)poll(&pfd, 1, -1);
		} else if (errno != EINTR) {
			/* Keep reading: the exit status is about the server. */
			warn("stdout");
			s->broken = true;
		}
	}
}

static void
sink_init(struct sink *s, enum outmode mode)
{
	memset(s, 0, sizeof(*s));
	s->mode = mode;
	buf_init(&s->head, HEAD_MAX);
}

/* The first line ends at the first CRLF, even across reads. */
static void
sink_feed(struct sink *s, const char *p, size_t n)
{
	size_t	i = 0;

	if (s->mode == OUT_ALL) {
		emit(s, p, n);
		return;
	}
	for (; !s->in_body && i < n; i++) {
		if (buf_putc(&s->head, p[i]) == -1)
			s->head_full = true;
		if (p[i] == '\n' && s->saw_cr)
			s->in_body = true;
		s->saw_cr = p[i] == '\r';
	}
	if (s->in_body && s->mode == OUT_BODY)
		emit(s, p + i, n - i);
}

static void
sink_finish(struct sink *s)
{
	struct span	h = buf_span(&s->head);

	if (s->head_full)
		warnx("first line longer than %lu bytes, cut", HEAD_MAX);
	if (s->in_body && h.n >= 2 && h.p[h.n - 2] == '\r' &&
	    h.p[h.n - 1] == '\n')
		h.n -= 2;
	if (s->mode == OUT_HEADER && (h.n > 0 || s->in_body)) {
		emit(s, h.p, h.n);
		emit(s, "\n", 1);
	} else if (s->mode == OUT_STATUS && h.n >= 2 &&
	    h.p[0] >= '0' && h.p[0] <= '9' && h.p[1] >= '0' && h.p[1] <= '9') {
		emit(s, h.p, 2);
		emit(s, "\n", 1);
	}
	buf_free(&s->head);
}

/* One address: 0 connected, GC_CONN to try the next, GC_TIMEOUT. */
static int
try_addr(struct conn *c, const struct addrinfo *ai)
{
	socklen_t	len = sizeof(int);
	int		fd, soerr = 0, one = 1;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1) {
		warn("socket");
		return GC_CONN;
	}
	c->fd = fd;
	/* Each dripped byte must leave in its own segment. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return GC_OK;
	if (errno != EINPROGRESS) {
		soerr = errno;
	} else if (wait_fd(c, POLLOUT) == -1) {
		return GC_TIMEOUT;
	} else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1) {
		soerr = errno;
	}
	if (soerr == 0)
		return GC_OK;
	errno = soerr;
	warn("connect");
	close(fd);
	c->fd = -1;
	return GC_CONN;
}

static int
tcp_connect(struct conn *c, const char *host, const char *port)
{
	struct addrinfo	 hints, *res, *ai;
	int		 rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		warnx("%s port %s: %s", host, port, gai_strerror(rc));
		return GC_CONN;
	}
	rc = GC_CONN;
	for (ai = res; ai != NULL && rc == GC_CONN; ai = ai->ai_next)
		rc = try_addr(c, ai);
	freeaddrinfo(res);
	return rc;
}

/* The context is made before connecting, so bad key files are usage. */
static int
tls_ctx_setup(struct conn *c, const struct opts *o)
{
	if ((c->ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		tls_warn("SSL_CTX_new");
		return GC_CONN;
	}
	if (SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION) != 1) {
		tls_warn("TLS 1.2");
		return GC_CONN;
	}
	/* Capsules use self-signed certificates (TOFU): trust anything. */
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
	if (o->cert == NULL)
		return GC_OK;
	if (SSL_CTX_use_certificate_chain_file(c->ctx, o->cert) != 1) {
		tls_warn(o->cert);
		return GC_USAGE;
	}
	if (SSL_CTX_use_PrivateKey_file(c->ctx, o->key,
	    SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(c->ctx) != 1) {
		tls_warn(o->key);
		return GC_USAGE;
	}
	return GC_OK;
}

/* A missing file means a first connection; an unreadable one is noted. */
static void
load_session(SSL *ssl, const char *path)
{
	SSL_SESSION	*sess;
	FILE		*fp;

	if ((fp = fopen(path, "r")) == NULL) {
		if (errno != ENOENT)
			warn("%s", path);
		return;
	}
	sess = PEM_read_SSL_SESSION(fp, NULL, NULL, NULL);
	fclose(fp);
	if (sess == NULL) {
		ERR_clear_error();
		warnx("%s: no session in it, not resuming", path);
		return;
	}
	if (SSL_set_session(ssl, sess) != 1)
		tls_warn(path);
	SSL_SESSION_free(sess);
}

/*
 * Must run before SSL_free: OpenSSL marks the session of a connection
 * that was not shut down cleanly as not resumable.  TLS 1.3 tickets
 * arrive after the handshake, so this is the latest one read.
 */
static bool
save_session(SSL *ssl, const char *path)
{
	SSL_SESSION	*sess;
	FILE		*fp;
	int		 fd;
	bool		 ok = false;

	if ((sess = SSL_get1_session(ssl)) == NULL)
		return false;
	if (!SSL_SESSION_is_resumable(sess)) {
		SSL_SESSION_free(sess);
		return false;
	}
	/* The session holds its secret: keep the file to ourselves. */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || (fp = fdopen(fd, "w")) == NULL) {
		warn("%s", path);
		if (fd != -1)
			close(fd);
	} else {
		ok = PEM_write_SSL_SESSION(fp, sess) == 1;
		if (fclose(fp) == EOF || !ok) {
			warnx("%s: could not save the session", path);
			ok = false;
		}
	}
	SSL_SESSION_free(sess);
	return ok;
}

static int
tls_handshake(struct conn *c)
{
	short	ev;
	int	r;

	for (;;) {
		errno = 0;
		ERR_clear_error();
		if ((r = SSL_connect(c->ssl)) == 1)
			return GC_OK;
		switch (SSL_get_error(c->ssl, r)) {
		case SSL_ERROR_WANT_READ:
			ev = POLLIN;
			break;
		case SSL_ERROR_WANT_WRITE:
			ev = POLLOUT;
			break;
		default:
			tls_warn("handshake");
			return GC_CONN;
		}
		if (wait_fd(c, ev) == -1)
			return GC_TIMEOUT;
	}
}

static int
tls_start(struct conn *c, const struct opts *o)
{
	if ((c->ssl = SSL_new(c->ctx)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1) {
		tls_warn("SSL_new");
		return GC_CONN;
	}
	if (o->sni[0] != '\0' &&
	    SSL_set_tlsext_host_name(c->ssl, o->sni) != 1) {
		tls_warn("SNI");
		return GC_USAGE;
	}
	if (o->sessfile != NULL)
		load_session(c->ssl, o->sessfile);
	return tls_handshake(c);
}

/* Write errors are noted but not final: a reply may already be waiting. */
static int
send_request(struct conn *c, const struct opts *o)
{
	struct span	req = buf_span(&o->req);
	size_t		i, step;
	enum io		r = IO_OK;

	step = o->drip_ms >= 0 ? 1 : req.n;
	for (i = 0; i < req.n && r == IO_OK; i += step) {
		if (i > 0 && pause_ms(c, o->drip_ms) == -1)
			return GC_TIMEOUT;
		r = write_all(c, req.p + i, step);
	}
	return r == IO_TIMEOUT ? GC_TIMEOUT : GC_OK;
}

static int
read_response(struct conn *c, const struct opts *o, struct sink *s)
{
	char	buf[16384];
	size_t	want, got;
	short	ev = 0;
	enum io	r;

	for (;;) {
		want = sizeof(buf);
		if (o->abort_after >= 0) {
			if (c->nread >= (size_t)o->abort_after) {
				c->aborted = true;
				return GC_OK;
			}
			if (want > (size_t)o->abort_after - c->nread)
				want = (size_t)o->abort_after - c->nread;
		}
		r = conn_read(c, buf, want, &got, &ev);
		if (r == IO_OK) {
			c->nread += got;
			sink_feed(s, buf, got);
		} else if (r == IO_WAIT) {
			if (wait_fd(c, ev) == -1)
				return GC_TIMEOUT;
		} else
			break;
	}
	if (o->need_notify && !c->close_notify)
		return GC_NONOTIFY;
	return GC_OK;
}

static int
exchange(struct conn *c, const struct opts *o, struct sink *s)
{
	int	rc;

	if (o->wait_ms > 0) {
		if (pause_ms(c, o->wait_ms) == -1)
			return GC_TIMEOUT;
		/* What the server sent before it had the request. */
		if (ioctl(c->fd, FIONREAD, &c->early) == -1)
			c->early = -1;
	}
	if (o->close_early)
		return GC_OK;
	if (!o->nothing && (rc = send_request(c, o)) != GC_OK)
		return rc;
	if (o->quit)
		return GC_OK;
	return read_response(c, o, s);
}

static void
report(const struct conn *c, const struct opts *o)
{
	if (c->ssl != NULL) {
		fprintf(stderr, "tls: %s\n", SSL_get_version(c->ssl));
		fprintf(stderr, "cipher: %s\n", SSL_get_cipher_name(c->ssl));
		if (o->sessfile != NULL) {
			fprintf(stderr, "resumed: %s\n",
			    SSL_session_reused(c->ssl) ? "yes" : "no");
			fprintf(stderr, "session_saved: %s\n",
			    c->saved ? "yes" : "no");
		}
		fprintf(stderr, "close_notify: %s\n",
		    c->close_notify ? "yes" : "no");
	}
	if (o->wait_ms > 0)
		fprintf(stderr, "early_bytes: %d\n", c->early);
	fprintf(stderr, "bytes: %zu\n", c->nread);
	fprintf(stderr, "elapsed_ms: %lld\n", now_ms() - c->start);
}

/*
 * Answer the server's close_notify (or send ours for -x); an abort sets
 * a zero linger so that close() sends a RST.
 */
static void
conn_close(struct conn *c, bool polite)
{
	struct linger	l = { 1, 0 };

	if (c->ssl != NULL) {
		if (polite && !c->aborted)
			(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	if (c->fd != -1) {
		if (c->aborted)
			(void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l,
			    sizeof(l));
		close(c->fd);
	}
	SSL_CTX_free(c->ctx);
}

static int
run(const struct opts *o)
{
	struct conn	c;
	struct sink	s;
	int		rc;

	memset(&c, 0, sizeof(c));
	c.fd = -1;
	c.start = now_ms();
	c.deadline = c.start + o->timeout_s * 1000;
	sink_init(&s, o->out);
	if (!o->plain && (rc = tls_ctx_setup(&c, o)) != GC_OK)
		goto done;
	if ((rc = tcp_connect(&c, o->host, o->port)) != GC_OK)
		goto done;
	if (!o->plain && (rc = tls_start(&c, o)) != GC_OK)
		goto done;
	rc = exchange(&c, o, &s);
	sink_finish(&s);
	if (o->sessfile != NULL)
		c.saved = save_session(c.ssl, o->sessfile);
	if (o->verbose)
		report(&c, o);
done:
	if (rc == GC_TIMEOUT)
		warnx("timed out after %ld s", o->timeout_s);
	buf_free(&s.head);
	conn_close(&c, c.close_notify || ((o->close_early || o->quit) &&
	    rc == GC_OK));
	return rc;
}

int
main(int argc, char **argv)
{
	struct opts	o;
	int		rc;

	memset(&o, 0, sizeof(o));
	o.drip_ms = -1;
	o.abort_after = -1;
	o.timeout_s = 15;
	buf_init(&o.req, REQ_MAX);
	if (parse_args(&o, argc, argv) == -1) {
		usage();
		buf_free(&o.req);
		return GC_USAGE;
	}
	/* A server that resets must show as a read or write error. */
	signal(SIGPIPE, SIG_IGN);
	rc = run(&o);
	buf_free(&o.req);
	return rc;
}
