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

struct log_sink {
	enum config_log_dest	 dest;
	char			*path;
	int			 fd;
};

static const char	*log_prog = "capsuled";
static char		 log_role[32] = "main";
static bool		 log_debug_on;
static struct log_sink	 log_err = { CONFIG_LOG_STDERR, NULL, 2 };
static struct log_sink	 log_acc = { CONFIG_LOG_STDERR, NULL, 2 };

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
	if (s->dest != CONFIG_LOG_FILE)
		return 0;
	if ((s->path = strdup(c->path)) == NULL) {
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

int
log_configure(const struct config *cfg, bool foreground, struct buf *err)
{
	log_debug_on = cfg->debug;
	if (log_sink_set(&log_err, &cfg->error_log, foreground, err) == -1)
		return -1;
	if (log_sink_set(&log_acc, &cfg->access_log, foreground, err) == -1)
		return -1;
	if (log_err.dest == CONFIG_LOG_SYSLOG ||
	    log_acc.dest == CONFIG_LOG_SYSLOG)
		openlog(log_prog, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	return 0;
}

void
log_reopen(void)
{
	log_sink_open(&log_err);
	log_sink_open(&log_acc);
}

/*
 * One write() per line so that lines from several workers sharing a file
 * or a terminal never interleave.
 */
static void
log_write(struct log_sink *s, int prio, const char *line)
{
	char	 out[4096];
	char	 stamp[32];
	time_t	 now;
	struct tm tm;
	int	 n;

	if (s->dest == CONFIG_LOG_OFF)
		return;
	if (s->dest == CONFIG_LOG_SYSLOG) {
		syslog(prio, "%s: %s", log_role, line);
		return;
	}
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(out, sizeof(out), "%s %s[%ld] %s: %s\n", stamp, log_prog,
	    (long)getpid(), log_role, line);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(out)) {
		n = sizeof(out) - 1;
		out[n - 1] = '\n';
	}
	/* A full disk must not stop the server: the line is simply lost. */
	if (write(s->fd, out, (size_t)n) == -1)
		return;
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
	log_write(&log_err, prio, msg);
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
log_access(const struct log_access *a)
{
	char	req[LOG_REQUEST_MAX];
	char	line[LOG_REQUEST_MAX + 1024];
	char	cert[LOG_CERT_MAX];

	log_escape(a->request, req, sizeof(req));
	log_cert(a, cert, sizeof(cert));
	snprintf(line, sizeof(line), "%s %s %s \"%s\" %d %zu %ldus%s%s%s",
	    a->peer, a->host ? a->host : "-", a->proto, req, a->status,
	    a->bytes, a->usec, cert, a->reason ? " " : "",
	    a->reason ? a->reason : "");
	log_write(&log_acc, LOG_INFO, line);
}
