#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mem.h"

struct log_sink {
	enum config_log_dest	 dest;
	char			*path;
	int			 fd;
	bool			 failing;	/* the last write failed */
};

static const char		*log_prog = "capsuled";
static char			 log_role[32] = "main";
static bool			 log_debug_on;
static bool			 log_syslog_open;
static enum config_log_format	 log_format;
static enum config_log_ip	 log_ip;
static struct log_sink	log_err = { CONFIG_LOG_STDERR, NULL, 2, false };
static struct log_sink	log_acc = { CONFIG_LOG_STDERR, NULL, 2, false };

/*
 * Access lines bound for a file wait here while the worker has more to
 * do, and leave in one write when it has none or the batch is full: under
 * load, one system call for dozens of requests.  Whole lines only, so
 * workers sharing the file still never interleave.
 */
static struct {
	char	  p[LOG_BATCH_MAX];
	size_t	  len;
	void	(*pending)(void *);	/* NULL: every line written at once */
	void	 *arg;
} log_batch;

void
log_init(const char *prog, bool debug)
{
	log_prog = prog;
	log_debug_on = debug;
}

void
log_set_role(const char *role)
{
	snprintf(log_role, sizeof(log_role), "%s", role);
}

static int
log_sink_open(struct log_sink *s)
{
	int	fd;

	if (s->dest != CONFIG_LOG_FILE)
		return 0;
	fd = open(s->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1)
		return -1;
	if (s->fd > 2)
		close(s->fd);
	s->fd = fd;
	return 0;
}

static int
log_sink_set(struct log_sink *s, const struct config_log *c, bool foreground,
    struct buf *err)
{
	s->dest = c->dest;
	/* A daemon has no terminal: "-" then means syslog. */
	if (s->dest == CONFIG_LOG_STDERR && !foreground)
		s->dest = CONFIG_LOG_SYSLOG;
	free(s->path);
	s->path = NULL;
	s->fd = 2;
	s->failing = false;
	if (s->dest != CONFIG_LOG_FILE)
		return 0;
	if ((s->path = mem_strdup(c->path)) == NULL) {
		buf_printf(err, "out of memory");
		return -1;
	}
	s->fd = -1;
	if (log_sink_open(s) == -1) {
		buf_printf(err, "cannot open log file %s: %s", c->path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Connected now (LOG_NDELAY), so that workers inherit the socket and can
 * still log from inside a chroot that has no /dev/log.
 */
static void
log_syslog_connect(void)
{
	if (log_syslog_open)
		closelog();
	log_syslog_open = log_err.dest == CONFIG_LOG_SYSLOG ||
	    log_acc.dest == CONFIG_LOG_SYSLOG;
	if (log_syslog_open)
		openlog(log_prog, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

int
log_configure(const struct config *cfg, bool foreground, struct buf *err)
{
	log_flush();
	log_debug_on = cfg->debug;
	log_format = cfg->log_format;
	log_ip = cfg->log_ip;
	if (log_sink_set(&log_err, &cfg->error_log, foreground, err) == -1)
		return -1;
	if (log_sink_set(&log_acc, &cfg->access_log, foreground, err) == -1)
		return -1;
	log_syslog_connect();
	return 0;
}

int
log_reopen(void)
{
	int	rc = 0;

	log_flush();
	if (log_sink_open(&log_err) == -1) {
		log_warn("cannot reopen the error log %s, still writing to "
		    "the old file", log_err.path);
		rc = -1;
	}
	if (log_sink_open(&log_acc) == -1) {
		log_warn("cannot reopen the access log %s, still writing to "
		    "the old file", log_acc.path);
		rc = -1;
	}
	log_err.failing = log_acc.failing = false;
	log_syslog_connect();
	return rc;
}

static void	log_vmsg(int, const char *, const char *, va_list);

static void
log_msg(int prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
log_msg(int prio, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(prio, NULL, fmt, ap);
	va_end(ap);
}

/*
 * A full disk must not stop the server: the line is lost, and the error
 * log says so once, not once per request, and again when writing works.
 */
static void
log_put(struct log_sink *s, const char *out, size_t n)
{
	bool	ok = write(s->fd, out, n) == (ssize_t)n;

	/* The error log has nowhere to report its own failures. */
	if (s != &log_acc || ok != s->failing)
		return;
	s->failing = !ok;
	if (!ok)
		log_msg(LOG_ERR, "cannot write the access log %s: %s; "
		    "still serving, without access-log lines until it can be "
		    "written again", s->path ? s->path : "(standard error)",
		    errno != 0 ? strerror(errno) : "short write");
	else
		log_msg(LOG_INFO, "the access log %s can be written "
		    "again", s->path ? s->path : "(standard error)");
}

void
log_batch_access(void (*pending)(void *), void *arg)
{
	log_flush();
	log_batch.pending = pending;
	log_batch.arg = arg;
}

void
log_flush(void)
{
	if (log_batch.len == 0)
		return;
	log_put(&log_acc, log_batch.p, log_batch.len);
	log_batch.len = 0;
}

/* Keep an access line for the next flush; false when it must go now. */
static bool
log_batch_keep(struct log_sink *s, const char *line, size_t n)
{
	if (s != &log_acc || log_batch.pending == NULL ||
	    s->dest != CONFIG_LOG_FILE || n > sizeof(log_batch.p))
		return false;
	if (log_batch.len + n > sizeof(log_batch.p))
		log_flush();
	memcpy(log_batch.p + log_batch.len, line, n);
	log_batch.len += n;
	if (log_batch.len == n)
		log_batch.pending(log_batch.arg);
	return true;
}

/*
 * One write() per line so that lines from several workers sharing a file
 * or a terminal never interleave.  bare: the line is written as it is,
 * without the time and process prefix (access logs in a standard format).
 */
static void
log_write(struct log_sink *s, int prio, const char *line, bool bare)
{
	char	 out[4096];
	char	 stamp[32];
	time_t	 now;
	struct tm tm;
	int	 n;

	if (s->dest == CONFIG_LOG_OFF)
		return;
	if (s->dest == CONFIG_LOG_SYSLOG) {
		if (bare)
			syslog(prio, "%s", line);
		else
			syslog(prio, "%s: %s", log_role, line);
		return;
	}
	if (bare)
		n = snprintf(out, sizeof(out), "%s\n", line);
	else {
		now = time(NULL);
		gmtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
		n = snprintf(out, sizeof(out), "%s %s[%ld] %s: %s\n", stamp,
		    log_prog, (long)getpid(), log_role, line);
	}
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(out)) {
		n = sizeof(out) - 1;
		out[n - 1] = '\n';
	}
	if (!log_batch_keep(s, out, (size_t)n))
		log_put(s, out, (size_t)n);
}

static void
log_vmsg(int prio, const char *errstr, const char *fmt, va_list ap)
{
	char	msg[3072];
	size_t	n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (errstr != NULL) {
		n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, ": %s", errstr);
	}
	log_write(&log_err, prio, msg, false);
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	char	 errstr[256];
	int	 saved = errno;

	snprintf(errstr, sizeof(errstr), "%s", strerror(saved));
	va_start(ap, fmt);
	log_vmsg(LOG_WARNING, errstr, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(LOG_WARNING, NULL, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(LOG_INFO, NULL, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (!log_debug_on)
		return;
	va_start(ap, fmt);
	log_vmsg(LOG_DEBUG, NULL, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	char	 errstr[256];

	snprintf(errstr, sizeof(errstr), "%s", strerror(errno));
	va_start(ap, fmt);
	log_vmsg(LOG_CRIT, errstr, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(LOG_CRIT, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

char *
log_escape(struct span in, char *out, size_t outsz)
{
	static const char	hex[] = "0123456789abcdef";
	size_t			i, o = 0;
	unsigned char		c;
	char			e[5];
	size_t			en;

	if (outsz == 0)
		return out;
	for (i = 0; i < in.n; i++) {
		c = (unsigned char)in.p[i];
		en = 0;
		switch (c) {
		case '\r': e[en++] = '\\'; e[en++] = 'r'; break;
		case '\n': e[en++] = '\\'; e[en++] = 'n'; break;
		case '\t': e[en++] = '\\'; e[en++] = 't'; break;
		case '\0': e[en++] = '\\'; e[en++] = '0'; break;
		case '\\': e[en++] = '\\'; e[en++] = '\\'; break;
		case '"': e[en++] = '\\'; e[en++] = '"'; break;
		default:
			if (c >= 0x20 && c < 0x7f) {
				e[en++] = (char)c;
			} else {
				e[en++] = '\\';
				e[en++] = 'x';
				e[en++] = hex[c >> 4];
				e[en++] = hex[c & 15];
			}
		}
		if (o + en + 4 > outsz) {
			/* Leave room for "..." and the NUL. */
			if (o + 4 <= outsz) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		memcpy(out + o, e, en);
		o += en;
	}
	out[o] = '\0';
	return out;
}

/*
 * Split "addr:port" or "[v6addr]:port" into the address (without
 * brackets) and the port; a peer in another form is all address.
 */
static void
log_split_peer(const char *peer, char *addr, size_t addrsz, const char **port)
{
	const char	*end;
	size_t		 n;

	*port = NULL;
	if (peer[0] == '[' && (end = strchr(peer, ']')) != NULL) {
		peer++;
		n = (size_t)(end - peer);
		if (end[1] == ':')
			*port = end + 2;
	} else if ((end = strrchr(peer, ':')) != NULL &&
	    strchr(peer, ':') == end) {
		n = (size_t)(end - peer);
		*port = end + 1;
	} else
		n = strlen(peer);
	snprintf(addr, addrsz, "%.*s", (int)n, peer);
}

/* Zero the host part: IPv4 to its /24, IPv6 to its /48. */
static bool
log_anonymize(char *addr, size_t addrsz)
{
	struct in_addr	a4;
	struct in6_addr	a6;

	if (inet_pton(AF_INET, addr, &a4) == 1) {
		a4.s_addr &= htonl(0xffffff00);
		return inet_ntop(AF_INET, &a4, addr, (socklen_t)addrsz) != NULL;
	}
	if (inet_pton(AF_INET6, addr, &a6) != 1)
		return false;
	if (IN6_IS_ADDR_V4MAPPED(&a6))
		a6.s6_addr[15] = 0;
	else
		memset(a6.s6_addr + 6, 0, 10);
	return inet_ntop(AF_INET6, &a6, addr, (socklen_t)addrsz) != NULL;
}

char *
log_peer(const char *peer, bool with_port, char *out, size_t outsz)
{
	char		 addr[INET6_ADDRSTRLEN + 8];
	const char	*port;
	bool		 v6;

	log_split_peer(peer, addr, sizeof(addr), &port);
	v6 = strchr(addr, ':') != NULL;
	switch (log_ip) {
	case CONFIG_LOG_IP_OFF:
		snprintf(out, outsz, "-");
		return out;
	case CONFIG_LOG_IP_ANONYMIZE:
		/* An address we cannot read is not written at all. */
		if (!log_anonymize(addr, sizeof(addr)))
			snprintf(addr, sizeof(addr), "-");
		port = NULL;
		break;
	case CONFIG_LOG_IP_FULL:
		break;
	}
	if (with_port && port != NULL)
		snprintf(out, outsz, "%s%s%s:%s", v6 ? "[" : "", addr,
		    v6 ? "]" : "", port);
	else
		snprintf(out, outsz, "%s", addr);
	return out;
}

/* " cert=SHA256:hex subject=\"...\"" for a client certificate, or "". */
static void
log_cert(const struct log_access *a, char *out, size_t outsz)
{
	char	subject[LOG_CERT_MAX / 2];

	out[0] = '\0';
	if (a->cert_sha256 == NULL)
		return;
	log_escape(span_cstr(a->cert_subject ? a->cert_subject : ""), subject,
	    sizeof(subject));
	snprintf(out, outsz, " cert=SHA256:%s subject=\"%s\"", a->cert_sha256,
	    subject);
}

void
log_set_format(enum config_log_format format, enum config_log_ip ip)
{
	log_format = format;
	log_ip = ip;
}

/* The request line without its line end, as the standard formats want. */
static struct span
log_request_line(struct span req)
{
	if (req.n > 0 && req.p[req.n - 1] == '\n')
		req.n--;
	if (req.n > 0 && req.p[req.n - 1] == '\r')
		req.n--;
	return req;
}

/* capsuled's own line: every field, after the usual prefix. */
static void
log_access_default(const struct log_access *a)
{
	char	req[LOG_REQUEST_MAX];
	char	line[LOG_REQUEST_MAX + 1024];
	char	peer[INET6_ADDRSTRLEN + 16];
	char	cert[LOG_CERT_MAX];

	log_escape(a->request, req, sizeof(req));
	log_cert(a, cert, sizeof(cert));
	snprintf(line, sizeof(line), "%s %s %s \"%s\" %d %zu %ldus%s%s%s",
	    log_peer(a->peer, true, peer, sizeof(peer)),
	    a->host ? a->host : "-", a->proto, req, a->status, a->bytes,
	    a->usec, cert, a->reason ? " " : "", a->reason ? a->reason : "");
	log_write(&log_acc, LOG_INFO, line, false);
}

/* The NCSA Common or Combined Log Format, as the line is: no prefix. */
static void
log_access_ncsa(const struct log_access *a, bool combined)
{
	char		req[LOG_REQUEST_MAX];
	char		line[LOG_REQUEST_MAX + 512];
	char		peer[INET6_ADDRSTRLEN + 16];
	char		stamp[40];
	struct tm	tm;
	time_t		now;

	log_escape(log_request_line(a->request), req, sizeof(req));
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "[%d/%b/%Y:%H:%M:%S +0000]", &tm);
	snprintf(line, sizeof(line), "%s - - %s \"%s\" %d %zu%s",
	    log_peer(a->peer, false, peer, sizeof(peer)), stamp, req,
	    a->status, a->bytes, combined ? " \"-\" \"-\"" : "");
	log_write(&log_acc, LOG_INFO, line, true);
}

void
log_access(const struct log_access *a)
{
	if (log_format == CONFIG_LOG_FORMAT_DEFAULT)
		log_access_default(a);
	else
		log_access_ncsa(a, log_format == CONFIG_LOG_FORMAT_COMBINED);
}
