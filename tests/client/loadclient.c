/*
 * loadclient: the load generator behind make bench.  Each thread runs its
 * own epoll loop over non-blocking sockets and non-blocking OpenSSL and
 * keeps its share of the connections in flight: connect, handshake, send
 * the request, read to the end, close, and at once start over.  It reports
 * requests/s, latency percentiles and the CPU time both ends spent per
 * request.  With -i it instead holds idle connections open, so that the
 * benchmark can see what they cost the server while another run loads it;
 * adding -S makes them a slowloris: each sends its request one byte at a
 * time, and one the server closes is opened again.  With -a it plays a
 * client that gives up half-way, as the soak test needs: it resets the
 * connection mid-handshake or mid-response.
 */

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "buf.h"

/* A Gemini request is at most 1026 bytes; this leaves room for abuse. */
#define REQ_MAX		(64UL * 1024)
/* Response bytes kept per connection: enough for -e and the status. */
#define HEAD_MAX	64
#define CONNS_MAX	1000000L
#define THREADS_MAX	256L
#define SECS_MAX	86400L
/* One TLS record fits, so one SSL_read drains one record. */
#define RBUF_SIZE	(16 * 1024)
#define EVENTS_MAX	256
/* How often an idle loop wakes to look at the phase and the timeouts. */
#define TICK_MS		50
/*
 * Idle mode opens connections this many at a time per thread: opening
 * ten thousand at once would overflow the server's listen queue, and the
 * dropped SYNs would then be retried a second later, which measures the
 * kernel rather than the server.
 */
#define IDLE_OPENING	32
/* Distinct two-byte statuses counted one by one; the rest are "other". */
#define STATUS_KEYS	32
/* How long a connection that failed to connect waits to try again. */
#define RETRY_MS	10
/* Descriptors beyond the connections: epoll, stdio, /proc reads. */
#define FD_SLACK	64
/* How far up the process tree a descendant of -p is looked for. */
#define PROC_DEPTH	64
/* Longest pause between two bytes of a slowloris request, in ms. */
#define DRIP_MS_MAX	600000L

/*
 * Latency histogram in microseconds: values below 128 have a bucket each,
 * and every power of two above is cut into 64 buckets, so a percentile
 * is off by less than 1% and the table stays 18 KB whatever the rate.
 */
#define HIST_SUB_BITS	6
#define HIST_SUB	(1U << HIST_SUB_BITS)
#define HIST_TOP_BIT	40
#define HIST_N		((HIST_TOP_BIT - HIST_SUB_BITS + 1) * HIST_SUB)
#define HIST_VMAX	((UINT64_C(1) << HIST_TOP_BIT) - 1)

enum mode {
	M_FULL,
	M_RESUME,
	M_PLAIN
};

static const char *const mode_names[] = { "full", "resume", "plain" };

/* Where a connection is given up on purpose (-a). */
enum abort_at {
	AB_NONE,
	AB_HANDSHAKE,	/* after the ClientHello */
	AB_RESPONSE	/* after the first bytes of the response */
};

static const char *const abort_names[] = { "none", "handshake",
    "response" };

/* Set by the main thread, read by the loops. */
enum phase {
	PH_WARMUP,
	PH_MEASURE,
	PH_DONE
};

enum err_kind {
	E_CONNECT,
	E_HANDSHAKE,
	E_WRITE,
	E_READ,
	E_TIMEOUT,
	E_STATUS,
	E_NOTIFY,
	E_N
};

static const char *const err_keys[E_N] = {
	"errors_connect",
	"errors_handshake",
	"errors_write",
	"errors_read",
	"errors_timeout",
	"errors_status",
	"errors_no_close_notify"
};

enum cstate {
	ST_CLOSED,
	ST_PENDING,	/* waiting to be opened again */
	ST_CONNECTING,
	ST_HANDSHAKE,
	ST_WRITING,
	ST_READING,
	ST_HELD		/* idle mode: open, sending nothing */
};

struct opts {
	const char		*host;
	const char		*port;
	const char		*sni;
	struct buf		 req;
	struct buf		 expect;
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	long			 conns;
	long			 threads;
	long			 duration;
	long			 warmup;
	long			 timeout;
	long			 idle;
	long			 pid;
	long			 pause_ms;
	long			 drip_ms;	/* slowloris: ms per byte */
	enum mode		 mode;
	enum abort_at		 abort_at;
	bool			 has_sni;
	bool			 json;
};

struct status_count {
	uint32_t	key;	/* length << 16 | byte 0 << 8 | byte 1 */
	uint64_t	n;
};

struct stats {
	uint64_t		requests;
	uint64_t		aborted;	/* given up on purpose (-a) */
	uint64_t		resumed;
	uint64_t		bytes;
	uint64_t		max_us;
	uint64_t		err[E_N];
	struct status_count	status[STATUS_KEYS];
	size_t			nstatus;
	uint64_t		status_other;
	uint64_t		hist[HIST_N];
};

struct worker;

struct conn {
	TAILQ_ENTRY(conn)	 entry;		/* live or pending list */
	struct worker		*w;
	SSL			*ssl;
	int			 fd;
	enum cstate		 state;
	uint32_t		 events;	/* registered with epoll */
	bool			 in_live;
	uint64_t		 start;		/* ns; pending: retry time */
	uint64_t		 next_drip;	/* slowloris: next byte, ns */
	size_t			 off;		/* request bytes sent */
	uint64_t		 nbytes;	/* response bytes read */
	size_t			 nhead;
	unsigned char		 head[HEAD_MAX];
};

TAILQ_HEAD(connq, conn);

struct worker {
	pthread_t		 tid;
	const struct opts	*o;
	OSSL_LIB_CTX		*lib;		/* this thread's alone */
	SSL_CTX			*ctx;
	SSL_SESSION		*sess;		/* last resumable session */
	int			 ep;
	struct conn		*conns;
	size_t			 nconn;
	struct connq		 live;		/* oldest start first */
	struct connq		 pending;
	size_t			 npending;
	uint64_t		 timeout_ns;
	struct stats		 st;
	/* idle mode */
	size_t			 started;
	size_t			 opening;
	size_t			 open;
	size_t			 opened;
	size_t			 closed;
	uint64_t		 all_open_ns;	/* 0 until all are settled */
	uint64_t		 dripped;	/* slowloris bytes sent */
	uint64_t		 reopened;
	unsigned int		 seed;
	int			 loop_errno;
	unsigned char		 rbuf[RBUF_SIZE];
};

/* What the main thread samples at each end of the measured window. */
struct sample {
	uint64_t	t;		/* monotonic ns */
	uint64_t	self_us;	/* our user + system CPU */
	uint64_t	self_sys_us;	/* the system part of it */
	uint64_t	srv_ticks;	/* server tree CPU, clock ticks */
	uint64_t	srv_sys_ticks;	/* the system part of it */
	uint64_t	srv_rss;	/* server tree resident pages */
	bool		has_srv;
};

/* One process seen in /proc. */
struct proc {
	pid_t		pid;
	pid_t		ppid;
	uint64_t	ticks;
	uint64_t	sys_ticks;	/* the kernel's part of ticks */
	uint64_t	rss;
};

/* The report, written as key: value lines or as one JSON object. */
struct out {
	bool	json;
	bool	first;
};

static _Atomic int	phase = PH_WARMUP;

static const char *const usage_text[] = {
"usage: loadclient [-j] [-a where] [-c conns] [-d sec] [-e prefix] [-i n]",
"                  [-m mode] [-P ms] [-p pid] [-S ms] [-s name]",
"                  [-T threads] [-t sec] [-W sec] host port [request]",
"  host        127.0.0.0/8, ::1 or localhost; nothing else is accepted",
"  request     bytes sent on each connection, exactly (no CRLF added);",
"              escapes: \\r \\n \\t \\\\ \\xHH; required unless -i",
"  -a where    give every connection up on purpose, with a reset:",
"              handshake: once the ClientHello is out (TLS only);",
"              response: once the first response bytes arrived; these",
"              count as aborted, not as requests or errors",
"  -c conns    connections kept in flight, in total (default 10)",
"  -d sec      length of the measured window (default 10)",
"  -P ms       pause ms between one connection's end and the next one",
"              in its place (default 0), to pace cheap clients such as -a",
"  -e prefix   bytes every response must start with (escapes allowed),",
"              e.g. 20 for Gemini or i for a Gopher menu; a response that",
"              does not counts in errors_status",
"  -i n        idle mode: open n connections (handshake done, or just",
"              connected with -m plain), send nothing, hold them for",
"              -W + -d seconds, report how many the server closed",
"  -S ms       with -i: slowloris; each held connection sends the next",
"              byte of the request every ms milliseconds (the first at a",
"              random moment within ms), and a connection the server",
"              closes (or fails to open) is opened again",
"  -j          print one JSON object on one line, same keys as the text",
"  -m mode     full: a full TLS handshake every time (the default);",
"              resume: offer the last session each thread received;",
"              plain: TCP without TLS (Gopher)",
"  -p pid      the server's parent process: report the CPU time it and",
"              its descendants spent per request, and their memory",
"  -s name     SNI server name (default: host if it is a name, else none;",
"              -s '' sends none)",
"  -T threads  threads, each with its own epoll loop and an equal share",
"              of the connections (default 1)",
"  -t sec      per-connection timeout (default 10)",
"  -W sec      warm-up before the measured window, not counted (default 0)",
"requests counts every response read to the end, whatever its status;",
"latencies run from connect to close; errors are counted by kind.",
};

static void
usage(void)
{
	size_t	i;

	for (i = 0; i < sizeof(usage_text) / sizeof(usage_text[0]); i++)
		fprintf(stderr, "%s\n", usage_text[i]);
}

static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

static enum phase
get_phase(void)
{
	return atomic_load_explicit(&phase, memory_order_relaxed);
}

static void
set_phase(enum phase p)
{
	atomic_store_explicit(&phase, p, memory_order_relaxed);
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

/* The byte an escape at s (just after the backslash) stands for. */
static int
escape_byte(const char *s, size_t *used)
{
	int	hi, lo;

	*used = 1;
	switch (*s) {
	case 'r':
		return '\r';
	case 'n':
		return '\n';
	case 't':
		return '\t';
	case '\\':
		return '\\';
	case 'x':
		if ((hi = hexval(s[1])) == -1 || (lo = hexval(s[2])) == -1)
			return -1;
		*used = 3;
		return hi << 4 | lo;
	default:
		return -1;
	}
}

/*
 * Decode the escapes of s onto out.  An unknown escape is an error, not a
 * literal, so that a typo cannot silently send other bytes than meant.
 */
static int
unescape(const char *s, struct buf *out)
{
	size_t	used;
	int	ch;

	for (; *s != '\0'; s += used) {
		if (*s != '\\') {
			ch = (unsigned char)*s;
			used = 1;
		} else if ((ch = escape_byte(s + 1, &used)) == -1) {
			warnx("bad escape in \"%s\"", s);
			return -1;
		} else
			used++;	/* the backslash */
		if (buf_putc(out, (char)ch) == -1) {
			warnx("longer than %zu bytes: \"%s\"", out->max, s);
			return -1;
		}
	}
	return 0;
}

static int
bad_arg(int opt, const char *arg)
{
	warnx("bad value for -%c: \"%s\"", opt, arg);
	return -1;
}

static int
parse_mode(const char *s, enum mode *out)
{
	size_t	i;

	for (i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
		if (strcmp(s, mode_names[i]) == 0) {
			*out = (enum mode)i;
			return 0;
		}
	}
	return -1;
}

static int
parse_abort(const char *s, enum abort_at *out)
{
	size_t	i;

	for (i = 1; i < sizeof(abort_names) / sizeof(abort_names[0]); i++) {
		if (strcmp(s, abort_names[i]) == 0) {
			*out = (enum abort_at)i;
			return 0;
		}
	}
	return -1;
}

static int
parse_opt(struct opts *o, int ch, const char *arg)
{
	long	*num = NULL;
	long	 min = 1, max = SECS_MAX;

	switch (ch) {
	case 'a':
		if (parse_abort(arg, &o->abort_at) == -1)
			return bad_arg(ch, arg);
		break;
	case 'c':
		num = &o->conns;
		max = CONNS_MAX;
		break;
	case 'd':
		num = &o->duration;
		break;
	case 'e':
		if (unescape(arg, &o->expect) == -1)
			return bad_arg(ch, arg);
		break;
	case 'i':
		num = &o->idle;
		max = CONNS_MAX;
		break;
	case 'j':
		o->json = true;
		break;
	case 'm':
		if (parse_mode(arg, &o->mode) == -1)
			return bad_arg(ch, arg);
		break;
	case 'p':
		num = &o->pid;
		max = INT_MAX;
		break;
	case 'P':
		num = &o->pause_ms;
		min = 0;
		max = 60000;
		break;
	case 'S':
		num = &o->drip_ms;
		max = DRIP_MS_MAX;
		break;
	case 's':
		o->sni = arg;
		o->has_sni = true;
		break;
	case 'T':
		num = &o->threads;
		max = THREADS_MAX;
		break;
	case 't':
		num = &o->timeout;
		break;
	case 'W':
		num = &o->warmup;
		min = 0;
		break;
	default:
		usage();
		return -1;
	}
	if (num != NULL && parse_num(arg, min, max, num) == -1)
		return bad_arg(ch, arg);
	return 0;
}

static bool
is_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)sa;
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)sa;
		return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	}
	return false;
}

/*
 * This tool must never load anything but this machine: the host is a
 * loopback literal or "localhost", and whatever a name resolves to is
 * checked again, in case the hosts file says otherwise.
 */
static int
resolve(struct opts *o)
{
	struct addrinfo		 hints, *res, *ai;
	struct in6_addr		 a6;
	bool			 literal;
	int			 e;

	literal = inet_pton(AF_INET6, o->host, &a6) == 1 ||
	    inet_pton(AF_INET, o->host, &a6) == 1;
	if (!literal && strcmp(o->host, "localhost") != 0) {
		warnx("%s: only loopback hosts are allowed", o->host);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (literal ? AI_NUMERICHOST : 0);
	if ((e = getaddrinfo(o->host, o->port, &hints, &res)) != 0) {
		warnx("%s port %s: %s", o->host, o->port, gai_strerror(e));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next)
		if (is_loopback(ai->ai_addr) &&
		    ai->ai_addrlen <= sizeof(o->addr))
			break;
	if (ai == NULL) {
		freeaddrinfo(res);
		warnx("%s: not a loopback address", o->host);
		return -1;
	}
	memcpy(&o->addr, ai->ai_addr, ai->ai_addrlen);
	o->addrlen = ai->ai_addrlen;
	freeaddrinfo(res);
	if (!o->has_sni)
		o->sni = literal ? NULL : o->host;
	else if (o->sni[0] == '\0')
		o->sni = NULL;
	return 0;
}

/* Refuse combinations that would make a run mean something else. */
static int
check_opts(struct opts *o, int argc, char **argv)
{
	long	port;

	if (argc < 2 || argc > 3) {
		usage();
		return -1;
	}
	o->host = argv[0];
	o->port = argv[1];
	if (parse_num(o->port, 1, 65535, &port) == -1) {
		warnx("bad port \"%s\"", o->port);
		return -1;
	}
	if (o->drip_ms > 0 && (o->idle == 0 || argc != 3)) {
		warnx("-S needs -i and a request to send slowly");
		return -1;
	}
	if (o->idle > 0 && ((argc == 3 && o->drip_ms == 0) ||
	    o->expect.len > 0 || o->mode == M_RESUME)) {
		warnx("-i sends nothing: no request, no -e, no -m resume");
		return -1;
	}
	if (o->idle == 0 && argc != 3) {
		warnx("a request is needed (use \"\" for none)");
		return -1;
	}
	if (argc == 3 && unescape(argv[2], &o->req) == -1)
		return -1;
	if (o->mode == M_PLAIN && o->has_sni) {
		warnx("-s has no meaning with -m plain");
		return -1;
	}
	if (o->abort_at != AB_NONE && o->idle > 0) {
		warnx("-a and -i do not go together");
		return -1;
	}
	if (o->abort_at == AB_HANDSHAKE && o->mode == M_PLAIN) {
		warnx("-a handshake needs TLS");
		return -1;
	}
	if (o->idle == 0 && o->threads > o->conns) {
		warnx("more threads (%ld) than connections (%ld)",
		    o->threads, o->conns);
		return -1;
	}
	if (o->idle > 0 && o->threads > o->idle)
		o->threads = o->idle;
	return resolve(o);
}

static int
parse_args(struct opts *o, int argc, char **argv)
{
	int	ch;

	memset(o, 0, sizeof(*o));
	buf_init(&o->req, REQ_MAX);
	buf_init(&o->expect, HEAD_MAX);
	o->conns = 10;
	o->threads = 1;
	o->duration = 10;
	o->timeout = 10;
	o->mode = M_FULL;
	while ((ch = getopt(argc, argv, "a:c:d:e:i:jm:P:p:S:s:T:t:W:")) != -1)
		if (parse_opt(o, ch, optarg) == -1)
			return -1;
	return check_opts(o, argc - optind, argv + optind);
}

/*
 * Whatever the load needs, ask for all the descriptors the hard limit
 * allows: ten thousand idle connections are far over the usual 1024.
 */
static int
raise_nofile(uint64_t need)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		warn("getrlimit");
		return -1;
	}
	if (rl.rlim_cur != rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ?
		    1048576 : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			warn("setrlimit");
		if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
			warn("getrlimit");
			return -1;
		}
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		warnx("%llu descriptors needed, the limit is %llu",
		    (unsigned long long)need, (unsigned long long)rl.rlim_cur);
		return -1;
	}
	return 0;
}

/* --- statistics --- */

static unsigned
hist_index(uint64_t v)
{
	unsigned	top, shift;

	if (v > HIST_VMAX)
		v = HIST_VMAX;
	if (v < 2 * HIST_SUB)
		return (unsigned)v;
	top = 63 - (unsigned)__builtin_clzll(v);
	shift = top - HIST_SUB_BITS;
	return shift * HIST_SUB + (unsigned)(v >> shift);
}

/* The middle of bucket i: the inverse of hist_index, within 0.8%. */
static uint64_t
hist_value(unsigned i)
{
	unsigned	shift;
	uint64_t	low;

	if (i < 2 * HIST_SUB)
		return i;
	shift = i / HIST_SUB - 1;
	low = (uint64_t)(i - shift * HIST_SUB) << shift;
	return low + (UINT64_C(1) << shift) / 2;
}

static uint64_t
hist_percentile(const struct stats *st, double p)
{
	uint64_t	want, seen = 0, v;
	unsigned	i;

	if (st->requests == 0)
		return 0;
	want = (uint64_t)(p * (double)st->requests + 0.999999);
	if (want == 0)
		want = 1;
	for (i = 0; i < HIST_N; i++) {
		seen += st->hist[i];
		if (seen >= want)
			break;
	}
	v = hist_value(i < HIST_N ? i : HIST_N - 1);
	return v < st->max_us ? v : st->max_us;
}

static void
status_add(struct stats *st, uint32_t key, uint64_t n)
{
	size_t	i;

	for (i = 0; i < st->nstatus; i++) {
		if (st->status[i].key == key) {
			st->status[i].n += n;
			return;
		}
	}
	if (st->nstatus == STATUS_KEYS) {
		st->status_other += n;
		return;
	}
	st->status[st->nstatus].key = key;
	st->status[st->nstatus++].n = n;
}

static uint32_t
status_key(const unsigned char *p, size_t n)
{
	if (n > 2)
		n = 2;
	return (uint32_t)n << 16 | (n > 0 ? (uint32_t)p[0] << 8 : 0) |
	    (n > 1 ? p[1] : 0);
}

static void
stats_merge(struct stats *to, const struct stats *from)
{
	size_t	i;

	to->requests += from->requests;
	to->aborted += from->aborted;
	to->resumed += from->resumed;
	to->bytes += from->bytes;
	if (from->max_us > to->max_us)
		to->max_us = from->max_us;
	for (i = 0; i < E_N; i++)
		to->err[i] += from->err[i];
	for (i = 0; i < from->nstatus; i++)
		status_add(to, from->status[i].key, from->status[i].n);
	to->status_other += from->status_other;
	for (i = 0; i < HIST_N; i++)
		to->hist[i] += from->hist[i];
}

/* Warm-up results are dropped; idle mode has no window and keeps all. */
static bool
is_counting(const struct worker *w)
{
	return w->o->idle > 0 || get_phase() == PH_MEASURE;
}

static void
count_error(struct worker *w, enum err_kind k)
{
	if (is_counting(w))
		w->st.err[k]++;
}

/* --- one connection --- */

static void	conn_event(struct conn *, uint32_t);

static void
conn_want(struct conn *c, uint32_t events)
{
	struct epoll_event	ev;

	if (c->events == events)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = c;
	if (epoll_ctl(c->w->ep, EPOLL_CTL_MOD, c->fd, &ev) == -1)
		err(1, "epoll_ctl");
	c->events = events;
}

static void
live_remove(struct conn *c)
{
	if (c->in_live) {
		TAILQ_REMOVE(&c->w->live, c, entry);
		c->in_live = false;
	}
}

/*
 * Close with RST (SO_LINGER zero).  After a response the server has
 * already closed its end, so nothing is lost, and neither side keeps the
 * connection in TIME_WAIT: at tens of thousands of connections a second
 * a normal close would use up the ephemeral ports within seconds.  For
 * the same reason we send no close_notify of our own: the server has
 * gone and would not read it.
 */
static void
conn_close(struct conn *c)
{
	struct linger	l = { 1, 0 };

	live_remove(c);
	if (c->ssl != NULL) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd != -1) {
		(void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		close(c->fd);
		c->fd = -1;
	}
	c->events = 0;
	c->state = ST_CLOSED;
}

/* Start a connection; -1 (already counted) when it failed at once. */
static int
conn_open(struct conn *c)
{
	struct worker		*w = c->w;
	const struct opts	*o = w->o;
	struct epoll_event	 ev;
	int			 one = 1;

	c->start = now_ns();
	c->off = 0;
	c->nbytes = 0;
	c->nhead = 0;
	c->fd = socket(o->addr.ss_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1)
		goto fail;
	/*
	 * The request follows the client Finished at once; Nagle would hold
	 * it back until the Finished is acknowledged.
	 */
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (const struct sockaddr *)&o->addr,
	    o->addrlen) == -1 && errno != EINPROGRESS)
		goto fail;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLOUT;
	ev.data.ptr = c;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev) == -1)
		goto fail;
	c->events = EPOLLOUT;
	c->state = ST_CONNECTING;
	TAILQ_INSERT_TAIL(&w->live, c, entry);
	c->in_live = true;
	return 0;
fail:
	count_error(w, E_CONNECT);
	conn_close(c);
	return -1;
}

/* Set c aside, to be opened again once ms milliseconds have passed. */
static void
conn_pend(struct conn *c, long ms)
{
	c->state = ST_PENDING;
	c->start = now_ns() + (uint64_t)ms * 1000000;
	TAILQ_INSERT_TAIL(&c->w->pending, c, entry);
	c->w->npending++;
}

/*
 * A slowloris keeps up the pressure: a connection that ended is opened
 * again, after RETRY_MS so that a server refusing at once is not spun on.
 */
static void
conn_again(struct conn *c)
{
	if (c->w->o->drip_ms == 0 || get_phase() == PH_DONE)
		return;
	c->w->reopened++;
	conn_pend(c, RETRY_MS);
}

/*
 * In load mode a finished connection is replaced at once, unless it could
 * not connect: then it waits a little, so that a refusing server is not
 * spun against.  A refusal on loopback comes back within the connect
 * call, so only a clock can pace the retries.
 */
static void
conn_end(struct conn *c, bool later)
{
	struct worker	*w = c->w;

	conn_close(c);
	if (w->o->idle > 0) {
		conn_again(c);
		return;
	}
	if (get_phase() == PH_DONE)
		return;
	if (w->o->pause_ms > 0 && !later)
		conn_pend(c, w->o->pause_ms);
	else if (later || conn_open(c) == -1)
		conn_pend(c, RETRY_MS);
}

static void
conn_fail(struct conn *c, enum err_kind k)
{
	count_error(c->w, k);
	/* Held connections never fail: they are only closed (conn_drain). */
	if (c->w->o->idle > 0)
		c->w->opening--;
	conn_end(c, k == E_CONNECT);
}

/* Keep the first bytes of the response for -e and the status count. */
static void
conn_take(struct conn *c, const unsigned char *p, size_t n)
{
	size_t	k;

	if (c->nhead < HEAD_MAX) {
		k = HEAD_MAX - c->nhead;
		if (k > n)
			k = n;
		memcpy(c->head + c->nhead, p, k);
		c->nhead += k;
	}
	c->nbytes += n;
}

/* -a: give the connection up now, with a reset (conn_close). */
static void
conn_abort(struct conn *c)
{
	if (is_counting(c->w))
		c->w->st.aborted++;
	conn_end(c, false);
}

/* -a response: the first response bytes are in. */
static bool
is_abort_point(const struct conn *c)
{
	return c->w->o->abort_at == AB_RESPONSE && c->nbytes > 0;
}

/*
 * TLS 1.3 tickets arrive after the handshake, so the session worth
 * keeping is the one we hold once the response has been read.
 */
static void
keep_session(struct conn *c)
{
	SSL_SESSION	*s;

	if ((s = SSL_get1_session(c->ssl)) == NULL)
		return;
	if (!SSL_SESSION_is_resumable(s)) {
		SSL_SESSION_free(s);
		return;
	}
	SSL_SESSION_free(c->w->sess);
	c->w->sess = s;
}

static void
record(struct conn *c, bool notify)
{
	struct stats		*st = &c->w->st;
	const struct buf	*ex = &c->w->o->expect;
	uint64_t		 us;

	us = (now_ns() - c->start) / 1000;
	st->requests++;
	st->bytes += c->nbytes;
	st->hist[hist_index(us)]++;
	if (us > st->max_us)
		st->max_us = us;
	status_add(st, status_key(c->head, c->nhead), 1);
	if (c->ssl != NULL && SSL_session_reused(c->ssl))
		st->resumed++;
	if (ex->len > 0 && (c->nhead < ex->len ||
	    memcmp(c->head, ex->p, ex->len) != 0))
		st->err[E_STATUS]++;
	if (c->ssl != NULL && !notify)
		st->err[E_NOTIFY]++;
}

/* The response was read to its end; notify: it ended with close_notify. */
static void
conn_complete(struct conn *c, bool notify)
{
	if (is_counting(c->w))
		record(c, notify);
	if (c->ssl != NULL && notify) {
		/*
		 * Freeing an SSL that never shut down marks its session
		 * unresumable; this one ended cleanly, so say so.
		 */
		SSL_set_shutdown(c->ssl,
		    SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
		if (c->w->o->mode == M_RESUME)
			keep_session(c);
	}
	conn_end(c, false);
}

/*
 * Idle mode: the connection is up; from now on it only listens.  The SSL
 * stays, though it costs some 25 KB: a server may close with close_notify
 * and then wait for ours before it closes the socket, and only TLS can
 * tell that alert from a session ticket.
 */
static void
conn_hold(struct conn *c)
{
	struct worker	*w = c->w;

	live_remove(c);
	c->state = ST_HELD;
	w->opening--;
	w->open++;
	w->opened++;
	conn_want(c, EPOLLIN);
	if (w->o->drip_ms > 0) {
		c->off = 0;
		c->next_drip = now_ns() + (uint64_t)(rand_r(&w->seed) %
		    w->o->drip_ms) * 1000000;
	}
}

/* One byte of the request: 0 sent, 1 try again later, -1 failed. */
static int
drip_byte(struct conn *c)
{
	const char	*p = c->w->o->req.p + c->off;
	int		 r;

	if (c->ssl == NULL) {
		if (send(c->fd, p, 1, MSG_NOSIGNAL) == 1)
			return 0;
		return errno == EAGAIN || errno == EINTR ? 1 : -1;
	}
	ERR_clear_error();
	if ((r = SSL_write(c->ssl, p, 1)) == 1)
		return 0;
	r = SSL_get_error(c->ssl, r);
	return r == SSL_ERROR_WANT_READ || r == SSL_ERROR_WANT_WRITE ? 1 : -1;
}

/* Slowloris: the next byte on every held connection whose time has come. */
static void
drip(struct worker *w)
{
	struct conn	*c;
	uint64_t	 now = now_ns();
	size_t		 i;
	int		 r;

	for (i = 0; i < w->started; i++) {
		c = &w->conns[i];
		if (c->state != ST_HELD || c->off >= w->o->req.len ||
		    c->next_drip > now)
			continue;
		if ((r = drip_byte(c)) == 0) {
			c->off++;
			w->dripped++;
		} else if (r == -1) {
			/* The server is gone; the read side will see it. */
			conn_want(c, EPOLLIN);
			continue;
		}
		c->next_drip = now + (uint64_t)w->o->drip_ms * 1000000;
	}
}

static void
conn_write(struct conn *c)
{
	const struct buf	*req = &c->w->o->req;
	ssize_t			 n;
	int			 r;

	while (c->off < req->len) {
		if (c->ssl == NULL) {
			n = send(c->fd, req->p + c->off, req->len - c->off,
			    MSG_NOSIGNAL);
			if (n == -1 && errno == EAGAIN) {
				conn_want(c, EPOLLOUT);
				return;
			}
			if (n == -1) {
				conn_fail(c, E_WRITE);
				return;
			}
			c->off += (size_t)n;
			continue;
		}
		/* Without partial writes SSL_write sends all or nothing. */
		ERR_clear_error();
		if ((r = SSL_write(c->ssl, req->p, (int)req->len)) > 0) {
			c->off = req->len;
			break;
		}
		switch (SSL_get_error(c->ssl, r)) {
		case SSL_ERROR_WANT_READ:
			conn_want(c, EPOLLIN);
			return;
		case SSL_ERROR_WANT_WRITE:
			conn_want(c, EPOLLOUT);
			return;
		default:
			conn_fail(c, E_WRITE);
			return;
		}
	}
	c->state = ST_READING;
	conn_want(c, EPOLLIN);
}

static void
conn_read_plain(struct conn *c)
{
	ssize_t	n;

	for (;;) {
		n = read(c->fd, c->w->rbuf, sizeof(c->w->rbuf));
		if (n > 0) {
			conn_take(c, c->w->rbuf, (size_t)n);
			if (is_abort_point(c)) {
				conn_abort(c);
				return;
			}
			continue;
		}
		if (n == 0) {
			conn_complete(c, true);
			return;
		}
		if (errno == EAGAIN) {
			conn_want(c, EPOLLIN);
			return;
		}
		if (errno != EINTR) {
			conn_fail(c, E_READ);
			return;
		}
	}
}

/*
 * An EOF without close_notify is a response that may have been cut
 * short.  OpenSSL 3 reports it as an SSL error with its own reason;
 * older versions as a syscall error with errno 0.
 */
static bool
is_bare_eof(int sslerr)
{
	unsigned long	e;

	if (sslerr == SSL_ERROR_SYSCALL)
		return ERR_peek_error() == 0 && errno == 0;
	if (sslerr != SSL_ERROR_SSL)
		return false;
	e = ERR_peek_error();
	return ERR_GET_LIB(e) == ERR_LIB_SSL &&
	    ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
}

static void
conn_read_tls(struct conn *c)
{
	int	r, e;

	for (;;) {
		ERR_clear_error();
		errno = 0;
		r = SSL_read(c->ssl, c->w->rbuf, sizeof(c->w->rbuf));
		if (r > 0) {
			conn_take(c, c->w->rbuf, (size_t)r);
			if (is_abort_point(c)) {
				conn_abort(c);
				return;
			}
			continue;
		}
		switch ((e = SSL_get_error(c->ssl, r))) {
		case SSL_ERROR_WANT_READ:
			conn_want(c, EPOLLIN);
			return;
		case SSL_ERROR_WANT_WRITE:
			conn_want(c, EPOLLOUT);
			return;
		case SSL_ERROR_ZERO_RETURN:
			conn_complete(c, true);
			return;
		default:
			if (is_bare_eof(e))
				conn_complete(c, false);
			else
				conn_fail(c, E_READ);
			return;
		}
	}
}

/*
 * Idle mode: a held connection became readable.  TLS 1.3 session tickets
 * arrive this way and are consumed; close_notify, EOF or an error means
 * the server closed the connection.
 */
static void
conn_drain(struct conn *c)
{
	ssize_t	n;
	int	r;

	for (;;) {
		if (c->ssl == NULL) {
			n = read(c->fd, c->w->rbuf, sizeof(c->w->rbuf));
			if (n > 0 || (n == -1 && errno == EINTR))
				continue;
			if (n == -1 && errno == EAGAIN)
				return;
			break;
		}
		ERR_clear_error();
		if ((r = SSL_read(c->ssl, c->w->rbuf,
		    sizeof(c->w->rbuf))) > 0)
			continue;
		r = SSL_get_error(c->ssl, r);
		if (r == SSL_ERROR_WANT_READ || r == SSL_ERROR_WANT_WRITE) {
			conn_want(c, r == SSL_ERROR_WANT_READ ?
			    EPOLLIN : EPOLLOUT);
			return;
		}
		break;
	}
	c->w->open--;
	c->w->closed++;
	conn_close(c);
	conn_again(c);
}

static void
conn_handshake(struct conn *c)
{
	int	r;

	ERR_clear_error();
	if ((r = SSL_do_handshake(c->ssl)) == 1) {
		if (c->w->o->idle > 0) {
			conn_hold(c);
			return;
		}
		c->state = ST_WRITING;
		conn_write(c);
		return;
	}
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		/* The ClientHello is out: the server has work to throw away. */
		if (c->w->o->abort_at == AB_HANDSHAKE) {
			conn_abort(c);
			break;
		}
		conn_want(c, EPOLLIN);
		break;
	case SSL_ERROR_WANT_WRITE:
		conn_want(c, EPOLLOUT);
		break;
	default:
		conn_fail(c, E_HANDSHAKE);
		break;
	}
}

static int
tls_setup(struct conn *c)
{
	struct worker	*w = c->w;

	if ((c->ssl = SSL_new(w->ctx)) == NULL)
		return -1;
	if (SSL_set_fd(c->ssl, c->fd) != 1)
		return -1;
	if (w->o->sni != NULL &&
	    SSL_set_tlsext_host_name(c->ssl, w->o->sni) != 1)
		return -1;
	if (w->o->mode == M_RESUME && w->sess != NULL &&
	    SSL_set_session(c->ssl, w->sess) != 1)
		return -1;
	SSL_set_connect_state(c->ssl);
	return 0;
}

static void
conn_connected(struct conn *c)
{
	int		e = 0;
	socklen_t	len = sizeof(e);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1 ||
	    e != 0) {
		conn_fail(c, E_CONNECT);
		return;
	}
	if (c->w->o->mode == M_PLAIN) {
		if (c->w->o->idle > 0) {
			conn_hold(c);
			return;
		}
		c->state = ST_WRITING;
		conn_write(c);
		return;
	}
	if (tls_setup(c) == -1) {
		conn_fail(c, E_HANDSHAKE);
		return;
	}
	c->state = ST_HANDSHAKE;
	conn_handshake(c);
}

static void
conn_event(struct conn *c, uint32_t events)
{
	switch (c->state) {
	case ST_CONNECTING:
		if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			conn_connected(c);
		break;
	case ST_HANDSHAKE:
		conn_handshake(c);
		break;
	case ST_WRITING:
		conn_write(c);
		break;
	case ST_READING:
		if (c->ssl != NULL)
			conn_read_tls(c);
		else
			conn_read_plain(c);
		break;
	case ST_HELD:
		conn_drain(c);
		break;
	default:
		break;
	}
}

/* --- one thread --- */

/*
 * Connections are started in order, so the oldest is always first; those
 * restarted here start after now, hence the sum rather than a difference.
 */
static void
expire(struct worker *w)
{
	struct conn	*c;
	uint64_t	 now = now_ns();

	while ((c = TAILQ_FIRST(&w->live)) != NULL &&
	    c->start + w->timeout_ns <= now)
		conn_fail(c, E_TIMEOUT);
}

/* Retry what failed to connect, once its wait is over. */
static void
restart_pending(struct worker *w)
{
	struct conn	*c;
	uint64_t	 now = now_ns();
	size_t		 n;

	for (n = w->npending; n > 0; n--) {
		c = TAILQ_FIRST(&w->pending);
		if (c->start > now)
			break;
		TAILQ_REMOVE(&w->pending, c, entry);
		w->npending--;
		/* A slowloris reopening counts as opening, as at first. */
		if (w->o->idle > 0)
			w->opening++;
		if (conn_open(c) == -1) {
			if (w->o->idle > 0)
				w->opening--;
			conn_pend(c, RETRY_MS);
		}
	}
}

/* Idle mode: open more while under the target and the opening window. */
static void
open_more(struct worker *w)
{
	struct conn	*c;

	while (w->started < w->nconn && w->opening < IDLE_OPENING) {
		c = &w->conns[w->started++];
		w->opening++;
		if (conn_open(c) == -1)
			w->opening--;
	}
	if (w->all_open_ns == 0 && w->started == w->nconn &&
	    w->opening == 0)
		w->all_open_ns = now_ns();
}

static void
worker_loop(struct worker *w)
{
	struct epoll_event	ev[EVENTS_MAX];
	int			i, n;

	while (get_phase() != PH_DONE) {
		if (w->o->idle > 0)
			open_more(w);
		if (w->o->drip_ms > 0)
			drip(w);
		n = epoll_wait(w->ep, ev, EVENTS_MAX,
		    w->npending > 0 ? 1 : TICK_MS);
		if (n == -1 && errno != EINTR) {
			w->loop_errno = errno;
			return;
		}
		for (i = 0; i < n; i++)
			conn_event(ev[i].data.ptr, ev[i].events);
		expire(w);
		restart_pending(w);
	}
}

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;
	size_t		 i;

	if (w->o->idle == 0) {
		for (i = 0; i < w->nconn; i++) {
			if (conn_open(&w->conns[i]) == -1)
				conn_pend(&w->conns[i], RETRY_MS);
		}
	}
	worker_loop(w);
	return NULL;
}

/*
 * Gemini clients trust a certificate on first use and compare its
 * fingerprint; they build no chain.  With VERIFY_NONE OpenSSL would still
 * build and check one, only to ignore the verdict.
 */
static int
tls_no_chain(X509_STORE_CTX *x, void *arg)
{
	(void)x;
	(void)arg;
	return 1;
}

static SSL_CTX *
tls_ctx(const struct opts *o, OSSL_LIB_CTX *lib)
{
	SSL_CTX	*ctx;

	if (o->mode == M_PLAIN)
		return NULL;
	if ((ctx = SSL_CTX_new_ex(lib, NULL, TLS_client_method())) == NULL)
		return NULL;
	/* Benchmark servers have self-signed certificates. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_cert_verify_callback(ctx, tls_no_chain, NULL);
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	/*
	 * One read() for what the socket holds, not two for each record (a
	 * server's flight is six): the client shares the CPUs with the
	 * server it measures, and its system calls are not the server's.
	 */
	SSL_CTX_set_read_ahead(ctx, 1);
	/* Held connections need no 34 KB of idle record buffers. */
	if (o->idle > 0)
		SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	return ctx;
}

/*
 * One SSL_CTX per thread: a shared one is a shared lock on every SSL_new
 * and would make the client, not the server, the bottleneck.  Each in a
 * library context of its own, too: OpenSSL looks up algorithms under a
 * lock per library context on every handshake, and two threads taking
 * turns at one spend their time moving its cache line between cores.
 */
static int
worker_init(struct worker *w, const struct opts *o, size_t nconn)
{
	size_t	i;

	w->o = o;
	w->ep = -1;
	w->nconn = nconn;
	w->seed = (unsigned int)now_ns() ^ (unsigned int)(uintptr_t)w;
	w->timeout_ns = (uint64_t)o->timeout * 1000000000;
	TAILQ_INIT(&w->live);
	TAILQ_INIT(&w->pending);
	if (o->mode != M_PLAIN && ((w->lib = OSSL_LIB_CTX_new()) == NULL ||
	    (w->ctx = tls_ctx(o, w->lib)) == NULL)) {
		warnx("SSL_CTX_new failed");
		return -1;
	}
	if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		warn("epoll_create1");
		return -1;
	}
	if ((w->conns = calloc(nconn, sizeof(*w->conns))) == NULL) {
		warn("calloc");
		return -1;
	}
	for (i = 0; i < nconn; i++) {
		w->conns[i].w = w;
		w->conns[i].fd = -1;
	}
	return 0;
}

static void
worker_free(struct worker *w)
{
	size_t	i;

	for (i = 0; w->conns != NULL && i < w->nconn; i++)
		conn_close(&w->conns[i]);
	free(w->conns);
	SSL_SESSION_free(w->sess);
	SSL_CTX_free(w->ctx);
	OSSL_LIB_CTX_free(w->lib);
	if (w->ep != -1)
		close(w->ep);
}

/* --- the server's CPU time and memory, from /proc --- */

/* Fields 4 (ppid), 14-17 (user, system, children's) and 24 (rss). */
static int
proc_read(pid_t pid, struct proc *p)
{
	char			 path[64], line[2048], *s, *end;
	unsigned long long	 v;
	ssize_t			 n;
	int			 fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	line[n] = '\0';
	/* The command name may hold spaces and parentheses. */
	if ((s = strrchr(line, ')')) == NULL)
		return -1;
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	for (field = 3, s++; field <= 24; field++) {
		while (*s == ' ')
			s++;
		v = strtoull(s, &end, 10);
		if (field == 4)
			p->ppid = (pid_t)v;
		else if (field >= 14 && field <= 17)
			p->ticks += v;
		if (field == 15 || field == 17)
			p->sys_ticks += v;
		else if (field == 24)
			p->rss = v;
		if ((s = strchr(s, ' ')) == NULL)
			return field == 24 ? 0 : -1;
	}
	return 0;
}

static int
proc_cmp(const void *a, const void *b)
{
	const struct proc	*x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

static bool
proc_under(const struct proc *all, size_t n, const struct proc *p,
    pid_t root)
{
	struct proc	key;
	int		depth;

	memset(&key, 0, sizeof(key));
	for (depth = 0; depth < PROC_DEPTH && p != NULL; depth++) {
		if (p->pid == root)
			return true;
		key.pid = p->ppid;
		p = bsearch(&key, all, n, sizeof(*all), proc_cmp);
	}
	return false;
}

static int
proc_list(struct proc **out, size_t *np)
{
	DIR		*d;
	struct dirent	*de;
	struct proc	*all = NULL, *t;
	size_t		 n = 0, cap = 0;
	long		 pid;

	if ((d = opendir("/proc")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (parse_num(de->d_name, 1, INT_MAX, &pid) == -1)
			continue;
		if (n == cap) {
			cap = cap == 0 ? 256 : cap * 2;
			if ((t = reallocarray(all, cap, sizeof(*all))) ==
			    NULL) {
				free(all);
				closedir(d);
				return -1;
			}
			all = t;
		}
		/* A process may exit between readdir and open. */
		if (proc_read((pid_t)pid, &all[n]) == 0)
			n++;
	}
	closedir(d);
	if (n == 0) {
		free(all);
		return -1;
	}
	qsort(all, n, sizeof(*all), proc_cmp);
	*out = all;
	*np = n;
	return 0;
}

/*
 * CPU time of the -p process and all its descendants.  The children's
 * fields count workers that exited and were reaped during the window,
 * whose own entries are gone by then.
 */
static int
proc_sample(pid_t root, struct sample *s)
{
	struct proc	*all;
	size_t		 n, i;
	bool		 found = false;

	if (proc_list(&all, &n) == -1)
		return -1;
	s->srv_ticks = 0;
	s->srv_sys_ticks = 0;
	s->srv_rss = 0;
	for (i = 0; i < n; i++) {
		if (!proc_under(all, n, &all[i], root))
			continue;
		found |= all[i].pid == root;
		s->srv_ticks += all[i].ticks;
		s->srv_sys_ticks += all[i].sys_ticks;
		s->srv_rss += all[i].rss;
	}
	free(all);
	return found ? 0 : -1;
}

static int
take_sample(const struct opts *o, struct sample *s)
{
	struct rusage	ru;

	memset(s, 0, sizeof(*s));
	if (o->pid > 0) {
		if (proc_sample((pid_t)o->pid, s) == -1) {
			warnx("cannot read the CPU time of process %ld",
			    o->pid);
			return -1;
		}
		s->has_srv = true;
	}
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		s->self_sys_us = (uint64_t)ru.ru_stime.tv_sec * 1000000 +
		    (uint64_t)ru.ru_stime.tv_usec;
		s->self_us = (uint64_t)ru.ru_utime.tv_sec * 1000000 +
		    (uint64_t)ru.ru_utime.tv_usec + s->self_sys_us;
	}
	s->t = now_ns();
	return 0;
}

/* --- the main thread --- */

/*
 * Sleep until the monotonic deadline; false when SIGINT or SIGTERM came
 * first.  The signals are blocked everywhere and taken here, so ^C ends
 * the window early and the report still comes out.
 */
static bool
wait_until(const sigset_t *sigs, uint64_t deadline)
{
	struct timespec	ts;
	uint64_t	now, left;

	while ((now = now_ns()) < deadline) {
		left = deadline - now;
		ts.tv_sec = (time_t)(left / 1000000000);
		ts.tv_nsec = (long)(left % 1000000000);
		if (sigtimedwait(sigs, NULL, &ts) > 0)
			return false;
	}
	return true;
}

/* Run the phases; the samples bracket the measured window. */
static int
timeline(const struct opts *o, const sigset_t *sigs, struct sample *s0,
    struct sample *s1)
{
	uint64_t	start = now_ns();
	bool		whole;

	whole = wait_until(sigs, start + (uint64_t)o->warmup * 1000000000);
	if (take_sample(o, s0) == -1)
		return -1;
	set_phase(PH_MEASURE);
	if (whole)
		whole = wait_until(sigs,
		    s0->t + (uint64_t)o->duration * 1000000000);
	if (!whole)
		warnx("interrupted: the window was cut short");
	if (take_sample(o, s1) == -1)
		return -1;
	set_phase(PH_DONE);
	return 0;
}

static void
out_key(struct out *r, const char *key)
{
	if (r->json)
		printf("%s\"%s\":", r->first ? "{" : ",", key);
	else
		printf("%s: ", key);
	r->first = false;
}

static void
out_u64(struct out *r, const char *key, uint64_t v)
{
	out_key(r, key);
	printf("%llu%s", (unsigned long long)v, r->json ? "" : "\n");
}

static void
out_num(struct out *r, const char *key, double v, int prec)
{
	out_key(r, key);
	printf("%.*f%s", prec, v, r->json ? "" : "\n");
}

/* Our own words only; nothing from the wire goes through here. */
static void
out_str(struct out *r, const char *key, const char *s)
{
	out_key(r, key);
	if (r->json)
		printf("\"%s\"", s);
	else
		printf("%s\n", s);
}

static void
out_none(struct out *r, const char *key)
{
	out_key(r, key);
	printf("%s", r->json ? "null" : "-\n");
}

/*
 * A status as printable text: the two bytes as they are when they are
 * plain visible ASCII, else \xHH, so no wire byte reaches the terminal
 * and the JSON stays valid.
 */
static void
status_text(uint32_t key, bool json, char *out, size_t outsz)
{
	size_t		n = key >> 16, i, len = 0;
	unsigned char	b;

	if (n == 0) {
		snprintf(out, outsz, "none");
		return;
	}
	for (i = 0; i < n; i++) {
		b = (unsigned char)(key >> (8 * (1 - i)));
		if (b > ' ' && b < 0x7f && b != '"' && b != '\\' &&
		    b != '=')
			len += (size_t)snprintf(out + len, outsz - len, "%c",
			    b);
		else
			len += (size_t)snprintf(out + len, outsz - len,
			    "%s\\x%02x", json ? "\\" : "", b);
	}
}

static int
status_cmp(const void *a, const void *b)
{
	const struct status_count	*x = a, *y = b;

	return (x->key > y->key) - (x->key < y->key);
}

static void
out_statuses(struct out *r, struct stats *st)
{
	char	name[32];
	size_t	i;

	qsort(st->status, st->nstatus, sizeof(st->status[0]), status_cmp);
	out_key(r, "statuses");
	printf("%s", r->json ? "{" : "");
	for (i = 0; i < st->nstatus; i++) {
		status_text(st->status[i].key, r->json, name, sizeof(name));
		if (r->json)
			printf("%s\"%s\":%llu", i > 0 ? "," : "", name,
			    (unsigned long long)st->status[i].n);
		else
			printf("%s%s=%llu", i > 0 ? " " : "", name,
			    (unsigned long long)st->status[i].n);
	}
	if (st->status_other > 0)
		printf(r->json ? "%s\"other\":%llu" : "%sother=%llu",
		    st->nstatus > 0 ? (r->json ? "," : " ") : "",
		    (unsigned long long)st->status_other);
	printf("%s", r->json ? "}" : "\n");
}

static void
out_errors(struct out *r, const struct stats *st)
{
	uint64_t	total = 0;
	size_t		i;

	for (i = 0; i < E_N; i++)
		total += st->err[i];
	out_u64(r, "errors", total);
	for (i = 0; i < E_N; i++)
		out_u64(r, err_keys[i], st->err[i]);
}

/* A per-request figure, or none when nothing completed. */
static void
out_per_req(struct out *r, const char *key, double total, uint64_t requests,
    int prec)
{
	if (requests == 0)
		out_none(r, key);
	else
		out_num(r, key, total / (double)requests, prec);
}

/*
 * The server's CPU per request, and its user and kernel parts: the
 * kernel's is where loopback TCP goes, which an in-memory TLS floor
 * does not pay.
 */
static void
out_server(struct out *r, const struct sample *s0, const struct sample *s1,
    uint64_t requests)
{
	double	us, sys, tick = 1e6 / (double)sysconf(_SC_CLK_TCK);

	if (!s1->has_srv) {
		out_none(r, "server_cpu_per_request_us");
		out_none(r, "server_user_cpu_per_request_us");
		out_none(r, "server_sys_cpu_per_request_us");
		out_none(r, "server_rss_kib");
		return;
	}
	us = (double)(s1->srv_ticks - s0->srv_ticks) * tick;
	sys = (double)(s1->srv_sys_ticks - s0->srv_sys_ticks) * tick;
	out_per_req(r, "server_cpu_per_request_us", us, requests, 1);
	out_per_req(r, "server_user_cpu_per_request_us", us - sys, requests,
	    1);
	out_per_req(r, "server_sys_cpu_per_request_us", sys, requests, 1);
	out_u64(r, "server_rss_kib",
	    s1->srv_rss * (uint64_t)sysconf(_SC_PAGESIZE) / 1024);
}

/* Idle mode: what holding the connections cost the server in all. */
static void
out_server_idle(struct out *r, const struct sample *s0,
    const struct sample *s1)
{
	if (!s1->has_srv) {
		out_none(r, "server_cpu_ms");
		out_none(r, "server_rss_kib");
		return;
	}
	out_num(r, "server_cpu_ms", (double)(s1->srv_ticks - s0->srv_ticks) *
	    1e3 / (double)sysconf(_SC_CLK_TCK), 0);
	out_u64(r, "server_rss_kib",
	    s1->srv_rss * (uint64_t)sysconf(_SC_PAGESIZE) / 1024);
}

static void
report_load(const struct opts *o, struct stats *st, const struct sample *s0,
    const struct sample *s1)
{
	struct out	r = { o->json, true };
	double		secs;

	secs = (double)(s1->t - s0->t) / 1e9;
	out_str(&r, "mode", mode_names[o->mode]);
	out_u64(&r, "threads", (uint64_t)o->threads);
	out_u64(&r, "concurrency", (uint64_t)o->conns);
	out_num(&r, "duration_s", secs, 3);
	out_u64(&r, "requests", st->requests);
	out_u64(&r, "aborted", st->aborted);
	out_num(&r, "requests_per_s", secs > 0 ?
	    (double)st->requests / secs : 0, 1);
	out_u64(&r, "latency_p50_us", hist_percentile(st, 0.50));
	out_u64(&r, "latency_p90_us", hist_percentile(st, 0.90));
	out_u64(&r, "latency_p99_us", hist_percentile(st, 0.99));
	out_u64(&r, "latency_max_us", st->max_us);
	out_per_req(&r, "bytes_per_request", (double)st->bytes, st->requests,
	    1);
	out_per_req(&r, "client_cpu_per_request_us",
	    (double)(s1->self_us - s0->self_us), st->requests, 1);
	out_per_req(&r, "client_sys_cpu_per_request_us",
	    (double)(s1->self_sys_us - s0->self_sys_us), st->requests, 1);
	out_server(&r, s0, s1, st->requests);
	out_u64(&r, "resumed", st->resumed);
	out_per_req(&r, "resumed_fraction", (double)st->resumed, st->requests,
	    4);
	out_statuses(&r, st);
	out_errors(&r, st);
	printf("%s", o->json ? "}\n" : "");
}

static void
report_idle(const struct opts *o, struct worker *ws, struct stats *st,
    const struct sample *s0, const struct sample *s1)
{
	struct out	r = { o->json, true };
	uint64_t	opened = 0, open = 0, opening = 0, closed = 0, last = 0;
	uint64_t	dripped = 0, reopened = 0;
	bool		settled = true;
	long		i;

	for (i = 0; i < o->threads; i++) {
		opened += ws[i].opened;
		open += ws[i].open;
		opening += ws[i].opening;
		closed += ws[i].closed;
		dripped += ws[i].dripped;
		reopened += ws[i].reopened;
		if (ws[i].all_open_ns == 0)
			settled = false;
		else if (ws[i].all_open_ns > last)
			last = ws[i].all_open_ns;
	}
	out_str(&r, "mode", o->drip_ms > 0 ? "slowloris" : "idle");
	out_str(&r, "transport", o->mode == M_PLAIN ? "plain" : "tls");
	out_u64(&r, "threads", (uint64_t)o->threads);
	out_num(&r, "duration_s", (double)(s1->t - s0->t) / 1e9, 3);
	out_u64(&r, "idle_target", (uint64_t)o->idle);
	out_u64(&r, "idle_opened", opened);
	out_u64(&r, "idle_open_at_end", open);
	out_u64(&r, "idle_opening_at_end", opening);
	out_u64(&r, "idle_closed_by_server", closed);
	if (o->drip_ms > 0) {
		out_u64(&r, "slowloris_interval_ms", (uint64_t)o->drip_ms);
		out_u64(&r, "slowloris_bytes_sent", dripped);
		out_u64(&r, "slowloris_reopened", reopened);
	}
	if (settled && last >= s0->t)
		out_num(&r, "idle_open_all_ms", (double)(last - s0->t) / 1e6,
		    1);
	else
		out_none(&r, "idle_open_all_ms");
	out_server_idle(&r, s0, s1);
	out_errors(&r, st);
	printf("%s", o->json ? "}\n" : "");
}

/* Idle mode has no warm-up of its own: it holds for -W + -d in all. */
static int
idle_timeline(const struct opts *o, const sigset_t *sigs,
    struct sample *s0, struct sample *s1)
{
	if (take_sample(o, s0) == -1)
		return -1;
	set_phase(PH_MEASURE);
	if (!wait_until(sigs, s0->t +
	    (uint64_t)(o->warmup + o->duration) * 1000000000))
		warnx("interrupted: the hold was cut short");
	if (take_sample(o, s1) == -1)
		return -1;
	set_phase(PH_DONE);
	return 0;
}

static int
start_workers(struct opts *o, struct worker *ws)
{
	long	i, total, share;
	int	e;

	total = o->idle > 0 ? o->idle : o->conns;
	for (i = 0; i < o->threads; i++) {
		share = total / o->threads + (i < total % o->threads);
		if (worker_init(&ws[i], o, (size_t)share) == -1)
			return -1;
	}
	for (i = 0; i < o->threads; i++) {
		if ((e = pthread_create(&ws[i].tid, NULL, worker_main,
		    &ws[i])) != 0) {
			errno = e;
			err(1, "pthread_create");
		}
	}
	return 0;
}

static int
run(struct opts *o, const sigset_t *sigs)
{
	struct worker	*ws;
	struct stats	*st;
	struct sample	 s0, s1;
	long		 i;
	int		 rv = 0;

	ws = calloc((size_t)o->threads, sizeof(*ws));
	st = calloc(1, sizeof(*st));
	if (ws == NULL || st == NULL)
		err(1, "calloc");
	if (start_workers(o, ws) == -1)
		exit(1);
	if (o->idle > 0)
		rv = idle_timeline(o, sigs, &s0, &s1);
	else
		rv = timeline(o, sigs, &s0, &s1);
	set_phase(PH_DONE);
	for (i = 0; i < o->threads; i++) {
		pthread_join(ws[i].tid, NULL);
		if (ws[i].loop_errno != 0) {
			errno = ws[i].loop_errno;
			warn("epoll_wait");
			rv = -1;
		}
		stats_merge(st, &ws[i].st);
	}
	if (rv == 0 && o->idle > 0)
		report_idle(o, ws, st, &s0, &s1);
	else if (rv == 0)
		report_load(o, st, &s0, &s1);
	for (i = 0; i < o->threads; i++)
		worker_free(&ws[i]);
	free(ws);
	free(st);
	return rv;
}

/*
 * Every handshake frees small blocks and asks for 16 KiB record buffers;
 * with fast bins, glibc merges all the small free blocks on each such
 * request.  The thread caches keep small blocks quick without them, and
 * a kept heap top spares brk calls from one burst to the next.
 */
static void
tune_malloc(void)
{
	mallopt(M_MXFAST, 0);
	mallopt(M_TOP_PAD, 4 << 20);
	mallopt(M_TRIM_THRESHOLD, 8 << 20);
}

int
main(int argc, char **argv)
{
	struct opts	o;
	sigset_t	sigs;
	int		rv;

	if (parse_args(&o, argc, argv) == -1)
		return 1;
	if (raise_nofile((uint64_t)(o.idle > 0 ? o.idle : o.conns) +
	    FD_SLACK) == -1)
		return 1;
	tune_malloc();
	/* Before any thread exists, so that every thread inherits these. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	rv = run(&o, &sigs);
	buf_free(&o.req);
	buf_free(&o.expect);
	return rv == 0 ? 0 : 1;
}
