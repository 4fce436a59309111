/*
 * tls_floor: what OpenSSL itself costs a Gemini server, with no sockets
 * and no event loop, so that make bench can show capsuled's figures as a
 * multiple of it.  Both ends of each connection live in this process,
 * joined by a memory BIO pair; only the server side's calls are timed,
 * with the thread's CPU clock:
 *
 *   full      SSL_new, a full TLS 1.3 handshake, reading the request,
 *             writing a 20 header and a body, close_notify, SSL_free
 *   resumed   the same with the session ticket of the previous connection
 *   idle      heap bytes one server connection keeps once its handshake
 *             is done and it waits for the request (mallinfo2 before and
 *             after holding that many)
 *
 * The server context is capsuled's own (tls_ctx_new and the ticket keys),
 * on the certificate and key given, so the key type and the settings are
 * the ones being compared.
 *
 * Under valgrind --tool=callgrind --collect-atstart=no, only the timed
 * server calls of the measured connections are counted (the warm-up and
 * the client are not), so the total is the server's instructions for
 * -n requests: bench/instructions.sh compares capsuled with that.
 *
 *   tls_floor [-b body] [-i idle] [-k full|resumed] [-n requests] cert key
 */
#include <err.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define FLOOR_COUNTS	1
#else
#define CALLGRIND_TOGGLE_COLLECT
#define FLOOR_COUNTS	0
#endif

#include "tls.h"

#define REQUEST		"gemini://localhost/page.gmi\r\n"
#define HEADER		"20 text/gemini; charset=utf-8\r\n"
#define BODY_MAX	(1024 * 1024)
#define COUNT_MAX	1000000L
/* Handshake round trips before a connection is declared stuck. */
#define STEPS_MAX	64

struct floor_run {
	SSL_CTX		*sctx;
	SSL_CTX		*cctx;
	const char	*body;
	size_t		 bodylen;
	double		 server_ns;	/* thread CPU spent in server calls */
	bool		 counting;	/* callgrind counts the server calls */
	SSL_SESSION	*ticket;	/* the last ticket the client got */
};

static double
cpu_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/*
 * One timed server call: run the expression, add its CPU time.  Inside
 * the clock readings, callgrind is told to count it (a no-op when the
 * program does not run under callgrind).
 */
#define SERVER_CALL(run, expr) __extension__ ({			\
	double	 t0_ = cpu_ns();					\
	int	 r_;							\
	if ((run)->counting)						\
		CALLGRIND_TOGGLE_COLLECT;				\
	r_ = (expr);							\
	if ((run)->counting)						\
		CALLGRIND_TOGGLE_COLLECT;				\
	(run)->server_ns += cpu_ns() - t0_;				\
	r_;								\
})

static bool
want_io(SSL *ssl, int ret)
{
	int	e = SSL_get_error(ssl, ret);

	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

static void
pair_new(struct floor_run *run, SSL **s, SSL **c, bool resume)
{
	BIO	*bs, *bc;

	*s = NULL;
	SERVER_CALL(run, (*s = SSL_new(run->sctx)) != NULL);
	if (*s == NULL || (*c = SSL_new(run->cctx)) == NULL)
		errx(1, "SSL_new failed");
	if (BIO_new_bio_pair(&bs, 0, &bc, 0) != 1)
		errx(1, "BIO_new_bio_pair failed");
	SSL_set_bio(*s, bs, bs);
	SSL_set_bio(*c, bc, bc);
	SSL_set_accept_state(*s);
	SSL_set_connect_state(*c);
	SSL_set_tlsext_host_name(*c, "localhost");
	if (resume && run->ticket != NULL)
		SSL_set_session(*c, run->ticket);
}

static void
handshake(struct floor_run *run, SSL *s, SSL *c)
{
	int	i, rc, rs;

	for (i = 0; i < STEPS_MAX; i++) {
		rc = SSL_do_handshake(c);
		if (rc != 1 && !want_io(c, rc))
			errx(1, "client handshake failed");
		rs = SERVER_CALL(run, SSL_do_handshake(s));
		if (rs != 1 && !want_io(s, rs))
			errx(1, "server handshake failed");
		if (rc == 1 && rs == 1)
			return;
	}
	errx(1, "handshake did not finish in %d steps", STEPS_MAX);
}

/* The client reads everything the server sent, up to its close_notify. */
static void
client_drain(SSL *c)
{
	char	b[16384];
	size_t	got;

	while (SSL_read_ex(c, b, sizeof(b), &got) == 1)
		;
	if (SSL_get_error(c, 0) != SSL_ERROR_ZERO_RETURN)
		errx(1, "client did not see close_notify");
	/* Freed without its own close_notify, the session turns unresumable. */
	SSL_shutdown(c);
}

static void
serve_one(struct floor_run *run, SSL *s, SSL *c)
{
	char	req[1026];
	size_t	n;

	if (SSL_write_ex(c, REQUEST, strlen(REQUEST), &n) != 1)
		errx(1, "client write failed");
	if (SERVER_CALL(run, SSL_read_ex(s, req, sizeof(req), &n)) != 1)
		errx(1, "server read failed");
	if (SERVER_CALL(run, SSL_write_ex(s, HEADER, strlen(HEADER), &n)) !=
	    1 || SERVER_CALL(run, SSL_write_ex(s, run->body, run->bodylen,
	    &n)) != 1)
		errx(1, "server write failed");
	SERVER_CALL(run, SSL_shutdown(s));
	client_drain(c);
}

static void
one_request(struct floor_run *run, bool resume)
{
	SSL	*s, *c;

	pair_new(run, &s, &c, resume);
	handshake(run, s, c);
	serve_one(run, s, c);
	if (resume && !SSL_session_reused(c) && run->ticket != NULL)
		errx(1, "the session was not resumed");
	SSL_SESSION_free(run->ticket);
	run->ticket = SSL_get1_session(c);
	SSL_free(c);
	SERVER_CALL(run, (SSL_free(s), 1));
}

static double
per_request_us(struct floor_run *run, long n, bool resume)
{
	long	i;

	one_request(run, resume);	/* warm-up, and the first ticket */
	run->server_ns = 0;
	run->counting = true;
	for (i = 0; i < n; i++)
		one_request(run, resume);
	run->counting = false;
	return run->server_ns / (double)n / 1000.0;
}

/*
 * Heap bytes per server connection waiting for its request.  Each keeps
 * a null BIO, as a socket BIO would cost next to nothing; the client and
 * the BIO pair's buffers are freed before counting.
 */
static double
idle_bytes(struct floor_run *run, long n)
{
	SSL		**held;
	SSL		 *c;
	size_t		  before, after;
	long		  i;
	BIO		 *null;

	if ((held = calloc((size_t)n, sizeof(*held))) == NULL)
		err(1, "calloc");
	malloc_trim(0);
	before = mallinfo2().uordblks;
	for (i = 0; i < n; i++) {
		pair_new(run, &held[i], &c, false);
		handshake(run, held[i], c);
		if ((null = BIO_new(BIO_s_null())) == NULL)
			errx(1, "BIO_new failed");
		SSL_set_bio(held[i], null, null);
		SSL_free(c);
	}
	after = mallinfo2().uordblks;
	for (i = 0; i < n; i++)
		SSL_free(held[i]);
	free(held);
	return ((double)after - (double)before) / (double)n;
}

static long
number(const char *s, long min, long max, const char *what)
{
	char	*end;
	long	 v;

	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < min || v > max)
		errx(2, "%s: want %ld to %ld, got \"%s\"", what, min, max, s);
	return v;
}

static SSL_CTX *
server_ctx(const char *cert, const char *key)
{
	unsigned char	 secret[TLS_TICKET_SECRET_LEN];
	struct buf	 e;
	SSL_CTX		*ctx;

	buf_init(&e, 1024);
	if ((ctx = tls_ctx_new(cert, key, &e)) == NULL)
		errx(1, "%.*s", (int)e.len, e.p);
	buf_free(&e);
	if (tls_ticket_secret_new(secret) == -1)
		errx(1, "no ticket secret");
	tls_ctx_set_ticket_secret(ctx, secret, TLS_TICKET_ROTATE_SECONDS);
	return ctx;
}

int
main(int argc, char *argv[])
{
	struct floor_run	 run = { 0 };
	long			 n = 2000, idle = 2000, bodylen = 5000;
	const char		*kind = NULL;
	char			*body;
	int			 ch;

	while ((ch = getopt(argc, argv, "b:i:k:n:")) != -1) {
		switch (ch) {
		case 'b':
			bodylen = number(optarg, 0, BODY_MAX, "-b");
			break;
		case 'i':
			idle = number(optarg, 1, COUNT_MAX, "-i");
			break;
		case 'k':
			if (strcmp(optarg, "full") != 0 &&
			    strcmp(optarg, "resumed") != 0)
				goto usage;
			kind = optarg;
			break;
		case 'n':
			n = number(optarg, 1, COUNT_MAX, "-n");
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 2)
		goto usage;
	if ((body = malloc((size_t)bodylen + 1)) == NULL)
		err(1, "malloc");
	memset(body, 'x', (size_t)bodylen);
	run.body = body;
	run.bodylen = (size_t)bodylen;
	run.sctx = server_ctx(argv[optind], argv[optind + 1]);
	if ((run.cctx = SSL_CTX_new(TLS_client_method())) == NULL)
		errx(1, "SSL_CTX_new failed");
	SSL_CTX_set_session_cache_mode(run.cctx, SSL_SESS_CACHE_CLIENT);

	/* One kind alone is what a count under callgrind needs. */
	if (kind == NULL || strcmp(kind, "full") == 0)
		printf("openssl_full_us_per_request: %.1f\n",
		    per_request_us(&run, n, false));
	if (kind == NULL || strcmp(kind, "resumed") == 0)
		printf("openssl_resumed_us_per_request: %.1f\n",
		    per_request_us(&run, n, true));
	if (kind == NULL)
		printf("openssl_idle_bytes_per_connection: %.0f\n",
		    idle_bytes(&run, idle));
	printf("requests: %ld, body: %ld bytes, idle connections: %ld\n", n,
	    bodylen, kind == NULL ? idle : 0);
	printf("callgrind_counts_server_calls: %s\n",
	    FLOOR_COUNTS ? "yes" : "no");
	SSL_SESSION_free(run.ticket);
	SSL_CTX_free(run.cctx);
	SSL_CTX_free(run.sctx);
	free(body);
	return 0;
usage:
	fprintf(stderr, "usage: tls_floor [-b body] [-i idle] "
	    "[-k full|resumed] [-n requests] cert key\n");
	return 2;
}
