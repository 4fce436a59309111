#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "check.h"
#include "log.h"

static char	dir[64];
static char	path[128];

static const char *
peer(enum config_log_ip ip, const char *p, bool with_port)
{
	static char	out[80];

	log_set_format(CONFIG_LOG_FORMAT_DEFAULT, ip);
	return log_peer(p, with_port, out, sizeof(out));
}

static void
test_peer_full(void)
{
	CHECK_STR("192.0.2.77:1965", peer(CONFIG_LOG_IP_FULL,
	    "192.0.2.77:1965", true));
	CHECK_STR("192.0.2.77", peer(CONFIG_LOG_IP_FULL, "192.0.2.77:1965",
	    false));
	CHECK_STR("[2001:db8::1]:70", peer(CONFIG_LOG_IP_FULL,
	    "[2001:db8::1]:70", true));
	CHECK_STR("2001:db8::1", peer(CONFIG_LOG_IP_FULL,
	    "[2001:db8::1]:70", false));
	CHECK_STR("unknown", peer(CONFIG_LOG_IP_FULL, "unknown", true));
}

static void
test_peer_anonymized(void)
{
	/* IPv4 keeps its /24, IPv6 its /48; the port goes too. */
	CHECK_STR("192.0.2.0", peer(CONFIG_LOG_IP_ANONYMIZE,
	    "192.0.2.77:1965", true));
	CHECK_STR("2001:db8:abcd::", peer(CONFIG_LOG_IP_ANONYMIZE,
	    "[2001:db8:abcd:12:3456:789a:bcde:f012]:5", true));
	CHECK_STR("::ffff:192.0.2.0", peer(CONFIG_LOG_IP_ANONYMIZE,
	    "[::ffff:192.0.2.9]:1", true));
	CHECK_STR("::", peer(CONFIG_LOG_IP_ANONYMIZE, "[::1]:1", true));
	/* What cannot be read cannot be anonymized: nothing is written. */
	CHECK_STR("-", peer(CONFIG_LOG_IP_ANONYMIZE, "unknown", true));
	CHECK_STR("-", peer(CONFIG_LOG_IP_ANONYMIZE, "1.2.3:4", true));
}

static void
test_peer_off(void)
{
	CHECK_STR("-", peer(CONFIG_LOG_IP_OFF, "192.0.2.77:1965", true));
	CHECK_STR("-", peer(CONFIG_LOG_IP_OFF, "[2001:db8::1]:70", false));
}

static void
test_escape(void)
{
	char	out[32];

	CHECK_STR("a\\r\\n\\\"\\\\\\x1b\\0",
	    log_escape(span_make("a\r\n\"\\\x1b", 7), out, sizeof(out)));
	CHECK_STR("abcdefghijk...", log_escape(span_cstr("abcdefghijklmnop"),
	    out, 15));
}

/* Configure the access log into a file with format and ip; log one line. */
static const char *
access_line(enum config_log_format format, enum config_log_ip ip,
    const struct log_access *a)
{
	static char	line[2048];
	struct config	cfg;
	struct buf	err;
	FILE		*f;

	unlink(path);
	config_init(&cfg);
	cfg.access_log.dest = CONFIG_LOG_FILE;
	cfg.access_log.path = path;
	cfg.error_log.dest = CONFIG_LOG_STDERR;
	cfg.log_format = format;
	cfg.log_ip = ip;
	buf_init(&err, 1024);
	CHECK_INT(0, log_configure(&cfg, true, &err));
	buf_free(&err);
	log_access(a);
	line[0] = '\0';
	if ((f = fopen(path, "r")) != NULL) {
		if (fgets(line, sizeof(line), f) == NULL)
			line[0] = '\0';
		fclose(f);
	}
	return line;
}

/*
 * The part of a standard-format line after its time stamp, once the
 * stamp has been checked to read [dd/Mon/yyyy:hh:mm:ss +0000].
 */
static const char *
after_stamp(const char *l, const char *client)
{
	size_t	n = strlen(client);
	int	d, y, h, m, sec, used = 0;
	char	mon[4];

	if (strncmp(l, client, n) != 0 || strncmp(l + n, " - - [", 6) != 0)
		return "(no client or dashes)";
	l += n + 6;
	if (sscanf(l, "%2d/%3[A-Za-z]/%4d:%2d:%2d:%2d +0000]%n", &d, mon, &y,
	    &h, &m, &sec, &used) != 6 || used != 27)
		return "(bad time stamp)";
	return l + used;
}

static void
test_access_formats(void)
{
	struct log_access	a = {
		.peer = "[2001:db8:1:2::9]:40000",
		.host = "example.org",
		.proto = "gemini",
		.request = span_cstr("gemini://example.org/a\"b c\r\n"),
		.status = 20,
		.reason = NULL,
		.bytes = 1234,
		.usec = 567,
	};
	const char		*l;

	l = access_line(CONFIG_LOG_FORMAT_DEFAULT, CONFIG_LOG_IP_FULL, &a);
	CHECK(strstr(l, " main: [2001:db8:1:2::9]:40000 example.org gemini "
	    "\"gemini://example.org/a\\\"b c\\r\\n\" 20 1234 567us\n") != NULL);
	l = access_line(CONFIG_LOG_FORMAT_COMMON, CONFIG_LOG_IP_ANONYMIZE, &a);
	CHECK_STR(" \"gemini://example.org/a\\\"b c\" 20 1234\n",
	    after_stamp(l, "2001:db8:1::"));
	l = access_line(CONFIG_LOG_FORMAT_COMBINED, CONFIG_LOG_IP_OFF, &a);
	CHECK_STR(" \"gemini://example.org/a\\\"b c\" 20 1234 \"-\" \"-\"\n",
	    after_stamp(l, "-"));
	a.peer = "127.0.0.1:5";
	a.proto = "gopher";
	a.request = span_cstr("/blog/\n");
	a.status = 0;
	l = access_line(CONFIG_LOG_FORMAT_COMMON, CONFIG_LOG_IP_FULL, &a);
	CHECK_STR(" \"/blog/\" 0 1234\n", after_stamp(l, "127.0.0.1"));
}

static void
test_config_keys(void)
{
	struct config	cfg;
	struct buf	err;
	const char	*ok = "log: {format: combined, ip: anonymize}\n";
	const char	*bad = "log:\n  format: apache\n";

	config_init(&cfg);
	buf_init(&err, 4096);
	CHECK_INT(0, config_load_mem(&cfg, "t.yaml", span_cstr(ok), &err));
	CHECK_INT(CONFIG_LOG_FORMAT_COMBINED, cfg.log_format);
	CHECK_INT(CONFIG_LOG_IP_ANONYMIZE, cfg.log_ip);
	config_free(&cfg);
	CHECK_INT(CONFIG_LOG_FORMAT_DEFAULT, cfg.log_format);
	CHECK_INT(CONFIG_LOG_IP_FULL, cfg.log_ip);
	CHECK_INT(-1, config_load_mem(&cfg, "t.yaml", span_cstr(bad), &err));
	CHECK_STR("t.yaml:2:11: 'log.format' must be default, common or "
	    "combined, not 'apache'; write e.g. format: combined",
	    buf_cstr(&err));
	config_free(&cfg);
	buf_free(&err);
}

/* A line written by a forked child carries the child's id, not the parent's. */
static void
test_pid_after_fork(void)
{
	struct log_access	a = {
		.peer = "127.0.0.1:5", .proto = "gemini",
		.request = span_cstr("gemini://x/\r\n"), .status = 20,
	};
	char			want[64], got[2048];
	const char		*l;
	pid_t			pid;
	int			st;
	FILE			*f;

	l = access_line(CONFIG_LOG_FORMAT_DEFAULT, CONFIG_LOG_IP_FULL, &a);
	snprintf(want, sizeof(want), " capsuled[%ld] ", (long)getpid());
	CHECK(strstr(l, want) != NULL);
	/* Emptied, not removed: the sink keeps its descriptor. */
	if (truncate(path, 0) == -1)
		abort();
	if ((pid = fork()) == -1)
		abort();
	if (pid == 0) {
		log_access(&a);
		_exit(0);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st));
	snprintf(want, sizeof(want), " capsuled[%ld] ", (long)pid);
	got[0] = '\0';
	if ((f = fopen(path, "r")) != NULL) {
		if (fgets(got, sizeof(got), f) == NULL)
			got[0] = '\0';
		fclose(f);
	}
	CHECK(strstr(got, want) != NULL);
}

static int	pending_calls;

static void
count_pending(void *arg)
{
	(void)arg;
	pending_calls++;
}

static long
file_size(const char *p)
{
	struct stat	st;

	return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

/* Kept lines wait for the flush, or for a full batch, and say so once. */
static void
test_batched_access_lines(void)
{
	struct log_access	a = {
		.peer = "127.0.0.1:5", .proto = "gemini",
		.request = span_cstr("gemini://x/\r\n"), .status = 20,
	};
	long			one, n;
	int			i;

	(void)access_line(CONFIG_LOG_FORMAT_DEFAULT, CONFIG_LOG_IP_FULL, &a);
	one = file_size(path);
	CHECK(one > 0);
	if (truncate(path, 0) == -1)
		abort();
	pending_calls = 0;
	log_batch_access(count_pending, NULL);
	log_access(&a);
	log_access(&a);
	CHECK_INT(0, file_size(path));
	CHECK_INT(1, pending_calls);
	log_flush();
	CHECK_INT(2 * one, file_size(path));
	/* A full batch goes out by itself, whole lines only. */
	for (i = 0; i < 2 * LOG_BATCH_MAX / one; i++)
		log_access(&a);
	n = file_size(path);
	CHECK(n > 2 * one && (n - 2 * one) % one == 0);
	/* Switching batching off writes what waits. */
	log_batch_access(NULL, NULL);
	CHECK_INT((2 + i) * one, file_size(path));
	log_access(&a);
	CHECK_INT((3 + i) * one, file_size(path));
}

int
main(void)
{
	char	cmd[128];
	int	rc;

	snprintf(dir, sizeof(dir), "/tmp/log-unit.XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/access.log", dir);
	log_init("capsuled", false);
	RUN(test_peer_full);
	RUN(test_peer_anonymized);
	RUN(test_peer_off);
	RUN(test_escape);
	RUN(test_access_formats);
	RUN(test_config_keys);
	RUN(test_pid_after_fork);
	RUN(test_batched_access_lines);
	rc = CHECK_SUMMARY();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return rc;
}
