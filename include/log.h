/*
 * log: the error log and the access log.  One vocabulary for every module
 * that may log (the process and connection layers; parsers never do):
 * log_warn adds strerror(errno), log_warnx does not, fatal/fatalx only at
 * start-up.  Bytes that came from the wire are escaped before they reach a
 * log, so a client cannot forge log lines or send terminal escapes.
 */
#ifndef CAPSULED_LOG_H
#define CAPSULED_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "config.h"

/* Longest escaped request written to the access log. */
#define LOG_REQUEST_MAX		1100

/* Longest client-certificate note (fingerprint, escaped subject). */
#define LOG_CERT_MAX		512

/* Start logging to stderr as prog; debug enables log_debug lines. */
void	log_init(const char *prog, bool debug);

/*
 * Switch the error and access logs to what the config says.  Returns 0,
 * or -1 with err naming the file that could not be opened.
 */
int	log_configure(const struct config *cfg, bool foreground,
	    struct buf *err);

/*
 * Reopen log files by their names (after logrotate moved them) and
 * reconnect to syslog.  A file that cannot be opened is logged and the
 * old one kept; returns 0, or -1 when that happened.
 */
int	log_reopen(void);

/* Set the access-log format and the client-address policy directly. */
void	log_set_format(enum config_log_format format, enum config_log_ip ip);

/*
 * A peer "addr:port" or "[v6addr]:port" as the address policy allows it
 * in a log (full; anonymized to its /24 or /48, without the port; or
 * "-"), with the port when with_port is set and the policy keeps it.
 * Written into out, which is returned.
 */
char	*log_peer(const char *peer, bool with_port, char *out,
	    size_t outsz);

/* Prefix every later line with this process role, e.g. "worker 2". */
void	log_set_role(const char *role);

void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Log and exit 1: start-up only, never on behalf of a client. */
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/*
 * Write bytes as printable ASCII into out (NUL-terminated, at most outsz
 * bytes): '\r', '\n', '\t', '\\', '"' and '\0' as C escapes, other bytes
 * outside 0x20..0x7e as \xHH.  A cut is marked with "...".  Returns out.
 */
char	*log_escape(struct span in, char *out, size_t outsz);

/* One access-log line for a finished request. */
struct log_access {
	const char	*peer;		/* "addr:port" */
	const char	*host;		/* vhost or SNI, may be NULL */
	const char	*proto;		/* "gemini" or "gopher" */
	struct span	 request;	/* raw bytes as received */
	int		 status;	/* Gemini status, or 0 for Gopher */
	const char	*reason;	/* why it ended, or NULL */
	size_t		 bytes;		/* response bytes written */
	long		 usec;		/* from accept to close */
	const char	*cert_sha256;	/* client certificate, hex, or NULL */
	const char	*cert_subject;	/* its subject, as sent (escaped) */
};

void	log_access(const struct log_access *a);

/* Most bytes of access lines kept for one write. */
#define LOG_BATCH_MAX		8192

/*
 * Keep access lines bound for a file for one write at log_flush (or when
 * LOG_BATCH_MAX would be passed).  pending(arg) is called when a first
 * line starts waiting, so the caller can flush once it is idle.  NULL
 * writes each line at once again, after flushing what waits.
 */
void	log_batch_access(void (*pending)(void *), void *arg);

/* Write the access lines kept so far. */
void	log_flush(void);

#endif
