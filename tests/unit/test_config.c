#include <sys/socket.h>
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "check.h"
#include "config.h"
#include "mem.h"

#define ERR_MAX		(64 * 1024)

static int
load(struct config *cfg, const char *yaml, struct buf *err)
{
	return config_load_mem(cfg, "t.yaml", span_cstr(yaml), err);
}

/* Load yaml and give back the message (owned by the caller) or NULL. */
static char *
load_error(const char *yaml)
{
	struct config	 cfg;
	struct buf	 err;
	char		*msg;
	int		 rc;

	config_init(&cfg);
	buf_init(&err, ERR_MAX);
	rc = load(&cfg, yaml, &err);
	if (rc == 0)
		rc = config_finish(&cfg, &err);
	config_free(&cfg);
	if (rc == 0) {
		buf_free(&err);
		return NULL;
	}
	msg = buf_take(&err, NULL);
	buf_free(&err);
	return msg;
}

/*
 * The first line of the error from yaml must start with want; the rest of
 * the line is the fix, checked in full by a few tests only.
 */
static void
expect_error(int line, const char *yaml, const char *want)
{
	char	*msg = load_error(yaml);
	size_t	 n = strlen(want);

	if (msg == NULL || strncmp(msg, want, n) != 0) {
		fprintf(stderr, "%s:%d: for\n%.200s\n  want \"%s...\"\n"
		    "  got  \"%.1000s\"\n", __FILE__, line, yaml, want,
		    msg ? msg : "(success)");
		check_failures++;
	}
	free(msg);
}

#define EXPECT_ERROR(yaml, want)	expect_error(__LINE__, yaml, want)

static const char *
example_path(void)
{
	return access("capsuled.yaml", R_OK) == 0 ? "capsuled.yaml" :
	    "../capsuled.yaml";
}

static void
test_defaults(void)
{
	struct config	cfg;

	config_init(&cfg);
	CHECK(cfg.file == NULL);
	CHECK_INT(0, cfg.nvhosts);
	CHECK_INT(0, cfg.ngemini);
	CHECK_INT(0, cfg.ngopher);
	CHECK_INT(0, cfg.workers);
	CHECK_INT(CONFIG_LOG_SYSLOG, cfg.access_log.dest);
	CHECK_INT(CONFIG_LOG_SYSLOG, cfg.error_log.dest);
	CHECK_INT(10, cfg.handshake_timeout);
	CHECK_INT(10, cfg.request_timeout);
	CHECK_INT(30, cfg.write_timeout);
	CHECK_INT(1024, cfg.max_connections);
	CHECK(!cfg.debug);
	config_free(&cfg);
	config_free(&cfg);
	CHECK_INT(1024, cfg.max_connections);
}

static void
test_example_file(void)
{
	struct config	 cfg;
	struct buf	 err;

	config_init(&cfg);
	buf_init(&err, ERR_MAX);
	CHECK_INT(0, config_load(&cfg, example_path(), &err));
	CHECK_INT(0, err.len);
	CHECK_STR(example_path(), cfg.file);
	CHECK_INT(1, cfg.nvhosts);
	CHECK_STR("localhost", cfg.vhosts[0].hostname);
	CHECK_INT(1, cfg.vhosts[0].naliases);
	CHECK_STR("127.0.0.1", cfg.vhosts[0].aliases[0]);
	CHECK_STR("capsule", cfg.vhosts[0].root);
	CHECK_STR("en", cfg.vhosts[0].lang);
	CHECK(cfg.vhosts[0].cert == NULL);
	CHECK_STR("certs", cfg.certdir);
	CHECK_INT(1, cfg.ngemini);
	CHECK_STR("127.0.0.1", cfg.gemini[0].host);
	CHECK_INT(1965, cfg.gemini[0].port);
	CHECK(!cfg.gemini[0].proxy_protocol);
	CHECK_INT(1, cfg.ngopher);
	CHECK_STR("127.0.0.1", cfg.gopher[0].host);
	CHECK_INT(7070, cfg.gopher[0].port);
	CHECK_INT(0, cfg.workers);
	CHECK_INT(CONFIG_LOG_STDERR, cfg.access_log.dest);
	CHECK_INT(CONFIG_LOG_STDERR, cfg.error_log.dest);
	CHECK(!cfg.debug);
	CHECK(cfg.user == NULL);
	CHECK(cfg.chroot == NULL);
	CHECK_INT(10, cfg.handshake_timeout);
	CHECK_INT(10, cfg.request_timeout);
	CHECK_INT(30, cfg.write_timeout);
	CHECK_INT(1024, cfg.max_connections);

	CHECK_INT(0, config_finish(&cfg, &err));
	CHECK_STR("certs/localhost.crt", cfg.vhosts[0].cert);
	CHECK_STR("certs/localhost.key", cfg.vhosts[0].key);
	CHECK_INT(1965, cfg.gemini_port);
	CHECK_INT(7070, cfg.gopher_port);
	CHECK_STR("localhost", cfg.gopher_hostname);
	config_free(&cfg);
	buf_free(&err);
}

static void
test_minimal(void)
{
	struct config	cfg;
	struct buf	err;

	config_init(&cfg);
	buf_init(&err, ERR_MAX);
	CHECK_INT(0, load(&cfg, "root: /srv/gemini\n", &err));
	CHECK_INT(1, cfg.ngemini);
	CHECK(cfg.gemini[0].host == NULL);
	CHECK_INT(1965, cfg.gemini[0].port);
	CHECK_INT(0, cfg.ngopher);
	CHECK_INT(0, config_finish(&cfg, &err));
	CHECK_STR("localhost", cfg.vhosts[0].hostname);
	CHECK_STR("certs/localhost.crt", cfg.vhosts[0].cert);
	CHECK_INT(1965, cfg.gemini_port);
	CHECK_INT(1965, cfg.gopher_port);
	CHECK_STR("localhost", cfg.gopher_hostname);
	CHECK_INT(0, err.len);
	config_free(&cfg);
	buf_free(&err);
}

static const char full_yaml[] =
    "hostname: Example.ORG\n"
    "aliases: WWW.example.org\n"
    "root: /var/gemini/capsule\n"
    "lang: pt-BR\n"
    "tls:\n"
    "  cert: /etc/ssl/example.crt\n"
    "  key: /etc/ssl/private/example.key\n"
    "  certdir: /var/lib/capsuled/\n"
    "gemini:\n"
    "  listen:\n"
    "    - \"0.0.0.0:1965\"\n"
    "    - \"[::1]:1966\"\n"
    "    - {address: \"*:1967\", proxy_protocol: yes}\n"
    "  port: 443\n"
    "gopher:\n"
    "  listen: \"[fe80::1%eth0]:70\"\n"
    "  hostname: Gopher.example.org\n"
    "  port: 7000\n"
    "workers: 64\n"
    "user: _capsuled\n"
    "chroot: /var/gemini\n"
    "log:\n"
    "  access: off\n"
    "  error: /var/log/capsuled.log\n"
    "  debug: TRUE\n"
    "timeouts: {handshake: 1, request: 3600, write: 5}\n"
    "limits:\n"
    "  connections: 100000\n"
    "proxy_from: [10.0.0.0/8, \"fd00::1\"]\n";

static void
test_every_key(void)
{
	struct config	 cfg;
	struct buf	 err;

	config_init(&cfg);
	buf_init(&err, ERR_MAX);
	CHECK_INT(0, load(&cfg, full_yaml, &err));
	CHECK_INT(0, config_finish(&cfg, &err));
	CHECK_INT(0, err.len);
	CHECK_STR("example.org", cfg.vhosts[0].hostname);
	CHECK_INT(1, cfg.vhosts[0].naliases);
	CHECK_STR("www.example.org", cfg.vhosts[0].aliases[0]);
	CHECK_STR("/var/gemini/capsule", cfg.vhosts[0].root);
	CHECK_STR("pt-BR", cfg.vhosts[0].lang);
	CHECK_STR("/etc/ssl/example.crt", cfg.vhosts[0].cert);
	CHECK_STR("/etc/ssl/private/example.key", cfg.vhosts[0].key);
	CHECK_STR("/var/lib/capsuled/", cfg.certdir);
	CHECK_INT(3, cfg.ngemini);
	CHECK_STR("0.0.0.0", cfg.gemini[0].host);
	CHECK_STR("::1", cfg.gemini[1].host);
	CHECK_INT(1966, cfg.gemini[1].port);
	CHECK(cfg.gemini[2].host == NULL);
	CHECK_INT(1967, cfg.gemini[2].port);
	CHECK(!cfg.gemini[1].proxy_protocol);
	CHECK(cfg.gemini[2].proxy_protocol);
	CHECK_INT(443, cfg.gemini_port);
	CHECK_INT(1, cfg.ngopher);
	CHECK_STR("fe80::1%eth0", cfg.gopher[0].host);
	CHECK_INT(70, cfg.gopher[0].port);
	CHECK_STR("gopher.example.org", cfg.gopher_hostname);
	CHECK_INT(7000, cfg.gopher_port);
	CHECK_INT(64, cfg.workers);
	CHECK_STR("_capsuled", cfg.user);
	CHECK_STR("/var/gemini", cfg.chroot);
	CHECK_INT(CONFIG_LOG_OFF, cfg.access_log.dest);
	CHECK_INT(CONFIG_LOG_FILE, cfg.error_log.dest);
	CHECK_STR("/var/log/capsuled.log", cfg.error_log.path);
	CHECK(cfg.debug);
	CHECK_INT(1, cfg.handshake_timeout);
	CHECK_INT(3600, cfg.request_timeout);
	CHECK_INT(5, cfg.write_timeout);
	CHECK_INT(100000, cfg.max_connections);
	CHECK_INT(2, cfg.nproxy_from);
	CHECK_INT(AF_INET, cfg.proxy_from[0].family);
	CHECK_INT(8, cfg.proxy_from[0].bits);
	CHECK_INT(AF_INET6, cfg.proxy_from[1].family);
	CHECK_INT(128, cfg.proxy_from[1].bits);
	config_free(&cfg);
	buf_free(&err);
}

static void
test_derived_paths(void)
{
	struct config	cfg;
	struct buf	err;

	config_init(&cfg);
	buf_init(&err, ERR_MAX);
	CHECK_INT(0, load(&cfg, "hostname: gem.example\nroot: c\n"
	    "tls: {certdir: /var/lib/capsuled/}\n", &err));
	CHECK_INT(0, config_finish(&cfg, &err));
	CHECK_STR("/var/lib/capsuled/gem.example.crt", cfg.vhosts[0].cert);
	CHECK_STR("/var/lib/capsuled/gem.example.key", cfg.vhosts[0].key);
	config_free(&cfg);
	buf_free(&err);
}

static void
test_null_keeps_default(void)
{
	struct config	cfg;
	struct buf	err;

	config_init(&cfg);
	buf_init(&err, ERR_MAX);
	CHECK_INT(0, load(&cfg, "root: c\nhostname:\naliases: ~\ntls: null\n"
	    "gemini: {listen: ~, port: ~}\ngopher:\nworkers: ~\nuser: ~\n"
	    "log: {access: ~}\n", &err));
	CHECK_INT(0, err.len);
	CHECK_INT(1, cfg.ngemini);
	CHECK_INT(0, cfg.ngopher);
	CHECK_INT(0, cfg.vhosts[0].naliases);
	CHECK(cfg.vhosts[0].hostname == NULL);
	CHECK(cfg.user == NULL);
	CHECK_INT(CONFIG_LOG_SYSLOG, cfg.access_log.dest);
	config_free(&cfg);
	buf_free(&err);
}

static void
test_empty_and_comment_only(void)
{
	struct config	cfg;
	struct buf	err;

	config_init(&cfg);
	buf_init(&err, ERR_MAX);
	CHECK_INT(0, load(&cfg, "", &err));
	CHECK_INT(0, load(&cfg, "# nothing yet\n", &err));
	CHECK_INT(0, load(&cfg, "---\n...\n", &err));
	CHECK_INT(0, err.len);
	CHECK_INT(1, cfg.ngemini);
	config_free(&cfg);
	buf_free(&err);
	EXPECT_ERROR("", "t.yaml: 'root' is not set; add root: DIRECTORY");
}

static void
test_unknown_key(void)
{
	char	*msg;

	msg = load_error("root: c\nhostnme: x\n");
	CHECK_STR("t.yaml:2:1: unknown key 'hostnme' in the top level (did "
	    "you mean 'hostname'?); valid keys: hostname, aliases, root, "
	    "lang, tls, gemini, gopher, workers, user, chroot, log, timeouts, "
	    "limits, proxy_from, charset, default_type, types, paths, "
	    "vhosts", msg);
	free(msg);
	msg = load_error("root: c\ntls:\n  crt: a\n");
	CHECK_STR("t.yaml:3:3: unknown key 'crt' in 'tls' (did you mean "
	    "'cert'?); valid keys: cert, key, certdir, ticket_key", msg);
	free(msg);
	EXPECT_ERROR("root: c\nzzzzzzzz: 1\n", "t.yaml:2:1: unknown key "
	    "'zzzzzzzz' in the top level; valid keys: hostname,");
	EXPECT_ERROR("root: c\ngemini: {listen: [{adress: \"*:1\"}]}\n",
	    "t.yaml:2:20: unknown key 'adress' in a 'gemini.listen' entry "
	    "(did you mean 'address'?); valid keys: address, proxy_protocol");
	EXPECT_ERROR("root: c\nlog: {acces: x}\n", "t.yaml:2:7: unknown key "
	    "'acces' in 'log' (did you mean 'access'?); valid keys: access, "
	    "error, debug");
	EXPECT_ERROR("root: c\ntimeouts: {read: 1}\n", "t.yaml:2:12: unknown "
	    "key 'read' in 'timeouts'");
	EXPECT_ERROR("root: c\nlimits: {conns: 1}\n", "t.yaml:2:10: unknown "
	    "key 'conns' in 'limits'");
	EXPECT_ERROR("root: c\ngopher: {host: x}\n", "t.yaml:2:10: unknown "
	    "key 'host' in 'gopher'");
	EXPECT_ERROR("Root: c\n", "t.yaml:1:1: unknown key 'Root'");
	EXPECT_ERROR("root: c\n? [a]\n: b\n", "t.yaml:2:3: a key must be a "
	    "name, not a list; write e.g. hostname: example.org");
}

static void
test_duplicate_key(void)
{
	char	*msg;

	msg = load_error("root: a\nhostname: x\nroot: b\n");
	CHECK_STR("t.yaml:3:1: duplicate key 'root' (first at line 1); keep "
	    "only one", msg);
	free(msg);
	EXPECT_ERROR("root: a\ngemini:\n  port: 1\n  port: 2\n",
	    "t.yaml:4:3: duplicate key 'port' (first at line 3)");
	EXPECT_ERROR("root: a\ntls: {}\ntls: {}\n",
	    "t.yaml:3:1: duplicate key 'tls' (first at line 2)");
}

static void
test_wrong_types(void)
{
	char	*msg;

	msg = load_error("root: c\nhostname:\n  name: x\n");
	CHECK_STR("t.yaml:3:3: 'hostname' must be a host name (letters, "
	    "digits, '-' and '.'), not a mapping; write e.g. hostname: "
	    "example.org", msg);
	free(msg);
	EXPECT_ERROR("root: [a, b]\n", "t.yaml:1:7: 'root' must be a "
	    "directory path, not a list; write e.g. root: /var/gemini");
	EXPECT_ERROR("root: c\nworkers: four\n", "t.yaml:2:10: 'workers' must "
	    "be a whole number from 0 (one per CPU) to 64, not 'four'; write "
	    "e.g. workers: 0");
	EXPECT_ERROR("root: c\nworkers: 65\n", "t.yaml:2:10: 'workers' must "
	    "be a whole number from 0 (one per CPU) to 64, not '65'");
	EXPECT_ERROR("root: c\nworkers: -1\n", "t.yaml:2:10: 'workers'");
	EXPECT_ERROR("root: c\nworkers: 1.5\n", "t.yaml:2:10: 'workers'");
	EXPECT_ERROR("root: c\nworkers: [1]\n", "t.yaml:2:10: 'workers' must "
	    "be a whole number from 0 (one per CPU) to 64, not a list");
	EXPECT_ERROR("root: c\ngemini:\n  port: 70000\n", "t.yaml:3:9: "
	    "'gemini.port' must be a port number from 1 to 65535, not "
	    "'70000'; write e.g. port: 1965");
	EXPECT_ERROR("root: c\ngopher: {port: 0}\n", "t.yaml:2:16: "
	    "'gopher.port' must be a port number from 1 to 65535, not '0'");
	EXPECT_ERROR("root: c\ngemini: {port: 99999999999999}\n",
	    "t.yaml:2:16: 'gemini.port' must be a port number");
	EXPECT_ERROR("root: c\ntimeouts:\n  handshake: 0\n", "t.yaml:3:14: "
	    "'timeouts.handshake' must be a number of seconds from 1 to 3600, "
	    "not '0'; write e.g. handshake: 10");
	EXPECT_ERROR("root: c\ntimeouts:\n  write: 3601\n", "t.yaml:3:10: "
	    "'timeouts.write' must be a number of seconds from 1 to 3600");
	EXPECT_ERROR("root: c\nlimits: {connections: 0}\n", "t.yaml:2:23: "
	    "'limits.connections' must be a whole number from 1 to 100000");
	EXPECT_ERROR("root: c\nlog: {debug: maybe}\n", "t.yaml:2:14: "
	    "'log.debug' must be true or false, not 'maybe'");
	EXPECT_ERROR("root: c\nlog: {error: off}\n", "t.yaml:2:14: "
	    "'log.error' must be \"-\", syslog or a file path, not 'off'");
	EXPECT_ERROR("root: c\ntls: yes\n", "t.yaml:2:6: 'tls' must be a "
	    "mapping of keys, not 'yes'; write e.g. tls: {certdir: certs}");
	EXPECT_ERROR("root: c\nlang: \"en\\r\\nX-Evil: 1\"\n", "t.yaml:2:7: "
	    "'lang' must be a language tag (letters, digits and '-'), not "
	    "'en\\x0d\\x0aX-Evil: 1'");
	EXPECT_ERROR("root: c\nhostname: ../etc\n", "t.yaml:2:11: "
	    "'hostname' must be a host name");
	EXPECT_ERROR("root: c\nhostname: a/b\n", "t.yaml:2:11: 'hostname'");
	EXPECT_ERROR("root: \"\"\n", "t.yaml:1:7: 'root' must be a directory "
	    "path, not an empty string");
	EXPECT_ERROR("root: \"a\\0b\"\n", "t.yaml:1:7: 'root' must be a "
	    "directory path, not 'a\\x00b'");
	EXPECT_ERROR("root: c\nchroot: var/gemini\n", "t.yaml:2:9: 'chroot' "
	    "must be an absolute directory path, not 'var/gemini'");
	EXPECT_ERROR("root: c\nuser: \"no body\"\n", "t.yaml:2:7: 'user' "
	    "must be a user name, not 'no body'");
	EXPECT_ERROR("root: c\naliases: [a.example, {x: y}]\n", "t.yaml:2:22: "
	    "'aliases' entries must be single values, not a mapping");
	EXPECT_ERROR("root: c\naliases: [a.example, \"b c\"]\n",
	    "t.yaml:2:22: 'aliases' entry 'b c' is not a host name");
	EXPECT_ERROR("root: c\naliases: [a, ~]\n", "t.yaml:2:14: 'aliases' "
	    "has an empty entry; remove it");
	EXPECT_ERROR("- root\n", "t.yaml:1:1: the config must be a mapping "
	    "of keys to values, not a list");
	EXPECT_ERROR("capsule\n", "t.yaml:1:1: the config must be a mapping "
	    "of keys to values, not 'capsule'");
}

static void
test_listen_errors(void)
{
	char	*msg;

	msg = load_error("root: c\ngemini:\n  listen: [\"127.0.0.1\"]\n");
	CHECK_STR("t.yaml:3:12: 'gemini.listen' entry '127.0.0.1' has no "
	    "port; write ADDRESS:PORT, e.g. 127.0.0.1:1965, [::1]:1965 or "
	    "*:1965", msg);
	free(msg);
	EXPECT_ERROR("root: c\ngemini: {listen: [\"::1:1965\"]}\n",
	    "t.yaml:2:19: 'gemini.listen' entry '::1:1965' is an IPv6 "
	    "address without brackets");
	EXPECT_ERROR("root: c\ngopher: {listen: \"*:70000\"}\n",
	    "t.yaml:2:18: 'gopher.listen' entry '*:70000' has a port that is "
	    "not a number from 0 to 65535");
	EXPECT_ERROR("root: c\ngemini: {listen: []}\n", "t.yaml:2:18: "
	    "'gemini.listen' is an empty list; write e.g. listen: ");
	EXPECT_ERROR("root: c\ngemini: {listen: [{proxy_protocol: true}]}\n",
	    "t.yaml:2:19: 'gemini.listen' entry has no 'address'");
	EXPECT_ERROR("root: c\ngemini: {listen: [{address: \"x\"}]}\n",
	    "t.yaml:2:29: 'gemini.listen.address' value 'x' has no port");
	EXPECT_ERROR("root: c\ngemini: {listen: [[\"*:1\"]]}\n", "t.yaml:2:19: "
	    "'gemini.listen' entries must be single values, not a list");
	EXPECT_ERROR("root: c\ngemini: {listen: [{address: \"*:1\", "
	    "proxy_protocol: 2}]}\n", "t.yaml:2:52: "
	    "'gemini.listen.proxy_protocol' must be true or false, not '2'");
}

static void
test_parse_listen(void)
{
	static const struct {
		const char	*in;
		const char	*host;	/* NULL: "*"; "!": refused */
		unsigned short	 port;
	} cases[] = {
		{ "127.0.0.1:1965", "127.0.0.1", 1965 },
		{ "localhost:70", "localhost", 70 },
		{ "*:1965", NULL, 1965 },
		{ "[::1]:1965", "::1", 1965 },
		{ "[::]:1", "::", 1 },
		{ "[fe80::1%eth0]:65535", "fe80::1%eth0", 65535 },
		{ "0.0.0.0:01965", "0.0.0.0", 1965 },
		{ "", "!", 0 },
		{ "1965", "!", 0 },
		{ "127.0.0.1", "!", 0 },
		{ "127.0.0.1:", "!", 0 },
		{ ":1965", "!", 0 },
		{ "*:0", NULL, 0 },
		{ "*:65536", "!", 0 },
		{ "*:-1", "!", 0 },
		{ "*:+1", "!", 0 },
		{ "*:1x", "!", 0 },
		{ "::1:1965", "!", 0 },
		{ "[::1]", "!", 0 },
		{ "[::1]1965", "!", 0 },
		{ "[::1:1965", "!", 0 },
		{ "[]:1965", "!", 0 },
		{ "[1.2.3.4]:1965", "!", 0 },
		{ "a b:1965", "!", 0 },
		{ "a/b:1965", "!", 0 },
		{ "**:1965", "!", 0 },
	};
	struct config_listen	 l;
	const char		*reason;
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		reason = NULL;
		rc = config_parse_listen(span_cstr(cases[i].in), &l, &reason);
		if (cases[i].host != NULL && strcmp(cases[i].host, "!") == 0) {
			if (rc != -1 || reason == NULL)
				fprintf(stderr, "accepted: %s\n", cases[i].in);
			CHECK_INT(-1, rc);
			CHECK(reason != NULL);
			continue;
		}
		CHECK_INT(0, rc);
		if (rc != 0) {
			fprintf(stderr, "refused: %s: %s\n", cases[i].in,
			    reason);
			continue;
		}
		if (cases[i].host == NULL)
			CHECK(l.host == NULL);
		else
			CHECK_STR(cases[i].host, l.host);
		CHECK_INT(cases[i].port, l.port);
		CHECK(!l.proxy_protocol);
		free(l.host);
	}
	CHECK_INT(-1, config_parse_listen(span_cstr("127.0.0.1"), &l, &reason));
	CHECK_STR("has no port", reason);
}

static void
test_yaml_features_refused(void)
{
	char	*msg;

	msg = load_error("root: &r capsule\n");
	CHECK_STR("t.yaml:1:7: YAML anchors are not allowed (anchor 'r'); "
	    "write each value out in full", msg);
	free(msg);
	msg = load_error("root: c\nhostname: *r\n");
	CHECK_STR("t.yaml:2:11: YAML aliases are not allowed (alias 'r'); "
	    "write the value out in full", msg);
	free(msg);
	EXPECT_ERROR("root: c\nlog: &b {debug: true}\ntimeouts: *b\n",
	    "t.yaml:2:6: YAML anchors are not allowed");
	EXPECT_ERROR("root: c\ngemini: {listen: &l [\"*:1\"]}\n",
	    "t.yaml:2:18: YAML anchors are not allowed");
	EXPECT_ERROR("root: !!str c\n", "t.yaml:1:7: YAML tags are not "
	    "allowed; remove the '!' tag before the value");
	EXPECT_ERROR("tls: !!map {}\nroot: c\n", "t.yaml:1:6: YAML tags are "
	    "not allowed");
	EXPECT_ERROR("root: c\n---\nroot: d\n", "t.yaml:2:1: only one YAML "
	    "document is allowed; remove this '---' and what follows");
}

static void
test_deep_nesting(void)
{
	struct buf	 deep;
	char		*msg;
	int		 i;

	EXPECT_ERROR("root: c\nx: [[[[[[[[1]]]]]]]]\n", "t.yaml:2:1: unknown "
	    "key 'x'");
	msg = load_error("root: c\nx: [[[[[[[[1]]]]]]]]\n");
	CHECK(msg != NULL && strstr(msg, "\nt.yaml:2:11: nesting deeper than "
	    "8 levels; the config needs at most 7") != NULL);
	free(msg);

	/* Far beyond the cap: refused as soon as the cap is crossed. */
	buf_init(&deep, 400000);
	CHECK_INT(0, buf_puts(&deep, "root: "));
	for (i = 0; i < 100000; i++)
		CHECK_INT(0, buf_putc(&deep, '['));
	CHECK(buf_cstr(&deep) != NULL);
	msg = load_error(deep.p);
	CHECK(msg != NULL && strstr(msg, "t.yaml:1:14: nesting deeper than "
	    "8 levels") != NULL);
	free(msg);
	buf_reset(&deep);
	for (i = 0; i < 100000; i++)
		CHECK_INT(0, buf_puts(&deep, "{a: "));
	CHECK(buf_cstr(&deep) != NULL);
	msg = load_error(deep.p);
	CHECK_STR("t.yaml:1:2: unknown key 'a' in the top level; valid keys: "
	    "hostname, aliases, root, lang, tls, gemini, gopher, workers, "
	    "user, chroot, log, timeouts, limits, proxy_from, charset, "
	    "default_type, types, paths, vhosts\n"
	    "t.yaml:1:33: nesting deeper than 8 levels; the config needs at "
	    "most 7, check the indentation", msg);
	free(msg);
	buf_free(&deep);
}

static void
test_syntax_errors(void)
{
	char	*msg;

	msg = load_error("root: c\n  bad: indent\n");
	CHECK_STR("t.yaml:2:6: YAML syntax error: mapping values are not "
	    "allowed in this context; check the indentation, and quote values "
	    "that start with a special character or contain ': '", msg);
	free(msg);
	EXPECT_ERROR("root: \"open\n", "t.yaml:2:1: YAML syntax error: found "
	    "unexpected end of stream (while scanning a quoted scalar at line "
	    "1)");
	EXPECT_ERROR("root: c\nlog:\n  access: -\n", "t.yaml:3:11: YAML syntax "
	    "error: block sequence entries are not allowed in this context; "
	    "a lone '-' starts a list: quote it as \"-\"");
	EXPECT_ERROR("root: c\ntls: {cert: a\n", "t.yaml:3:1: YAML syntax "
	    "error:");
	EXPECT_ERROR("root: c\nhostname: x\x01y\n", "t.yaml:2:12: YAML syntax "
	    "error: control characters are not allowed; save the file as "
	    "UTF-8 text");
	EXPECT_ERROR("root: c\nlang: \xc3\x28\n", "t.yaml:2:8: YAML syntax "
	    "error: invalid trailing UTF-8 octet");
	EXPECT_ERROR("root: c\nlang: \xff\n", "t.yaml:2:7: YAML syntax "
	    "error: invalid leading UTF-8 octet");
	EXPECT_ERROR("root: \xc3\xa9t\xc3\xa9\x01\n", "t.yaml:1:10: YAML "
	    "syntax error: control characters");
	EXPECT_ERROR("\ttab: 1\n", "t.yaml:1:1: YAML syntax error: found "
	    "character that cannot start any token");
}

static void
test_message_escaping(void)
{
	char	*msg;

	msg = load_error("root: c\n\"\\e[31mred\": 1\n");
	CHECK_STR("t.yaml:2:1: unknown key '\\x1b[31mred' in the top level; "
	    "valid keys: hostname, aliases, root, lang, tls, gemini, gopher, "
	    "workers, user, chroot, log, timeouts, limits, proxy_from, charset, "
	    "default_type, types, paths, vhosts", msg);
	free(msg);
	msg = load_error("root: c\nworkers: "
	    "\"0123456789012345678901234567890123456789012345678901234\"\n");
	CHECK(msg != NULL && strstr(msg, "not '0123456789012345678901234567"
	    "89012345678901234567...'; write") != NULL);
	free(msg);
}

static void
test_several_errors(void)
{
	struct buf	 y;
	char		*msg;
	int		 i, lines;

	msg = load_error("hostnme: x\nworkers: x\nroot: c\nroot: d\n");
	CHECK_STR("t.yaml:1:1: unknown key 'hostnme' in the top level (did "
	    "you mean 'hostname'?); valid keys: hostname, aliases, root, "
	    "lang, tls, gemini, gopher, workers, user, chroot, log, timeouts, "
	    "limits, proxy_from, charset, default_type, types, paths, vhosts\n"
	    "t.yaml:2:10: 'workers' must be a whole number from 0 (one per "
	    "CPU) to 64, not 'x'; write e.g. workers: 0\n"
	    "t.yaml:4:1: duplicate key 'root' (first at line 3); keep only "
	    "one", msg);
	free(msg);

	buf_init(&y, 10000);
	for (i = 0; i < 50; i++)
		CHECK_INT(0, buf_printf(&y, "k%d: v\n", i));
	CHECK(buf_cstr(&y) != NULL);
	msg = load_error(y.p);
	for (lines = 1, i = 0; msg != NULL && msg[i] != '\0'; i++)
		lines += msg[i] == '\n';
	CHECK_INT(CONFIG_ERRORS_MAX + 1, lines);
	CHECK(msg != NULL && strstr(msg, "\nt.yaml: stopped after 10 errors")
	    != NULL);
	free(msg);
	buf_free(&y);
}

static void
test_unchanged_on_error(void)
{
	struct config	cfg;
	struct buf	err;

	config_init(&cfg);
	buf_init(&err, ERR_MAX);
	CHECK_INT(0, load(&cfg, "hostname: a.example\nroot: c\n", &err));
	CHECK_INT(-1, load(&cfg, "hostname: b.example\nroot: d\nworkers: x\n",
	    &err));
	CHECK_STR("a.example", cfg.vhosts[0].hostname);
	CHECK_STR("c", cfg.vhosts[0].root);
	CHECK_INT(0, load(&cfg, "hostname: b.example\nroot: d\n", &err));
	CHECK_STR("b.example", cfg.vhosts[0].hostname);
	config_free(&cfg);
	buf_free(&err);
}

static void
test_files(void)
{
	struct config	 cfg;
	struct buf	 err;
	char		 dir[] = "/tmp/test_config.XXXXXX", path[64];
	FILE		*f;
	int		 i;

	config_init(&cfg);
	buf_init(&err, ERR_MAX);
	CHECK(mkdtemp(dir) != NULL);

	snprintf(path, sizeof(path), "%s/none.yaml", dir);
	CHECK_INT(-1, config_load(&cfg, path, &err));
	CHECK(strstr(buf_cstr(&err), "none.yaml: cannot open: ") != NULL);
	buf_reset(&err);
	CHECK_INT(-1, config_load(&cfg, dir, &err));
	CHECK(strstr(buf_cstr(&err), ": not a regular file") != NULL);
	buf_reset(&err);

	snprintf(path, sizeof(path), "%s/big.yaml", dir);
	CHECK((f = fopen(path, "w")) != NULL);
	for (i = 0; f != NULL && i < CONFIG_FILE_MAX / 8 + 1; i++)
		fputs("# 45678\n", f);
	if (f != NULL)
		fclose(f);
	CHECK_INT(-1, config_load(&cfg, path, &err));
	CHECK(strstr(buf_cstr(&err), "big.yaml: larger than 1048576 bytes")
	    != NULL);
	unlink(path);
	buf_reset(&err);

	snprintf(path, sizeof(path), "%s/ok.yaml", dir);
	CHECK((f = fopen(path, "w")) != NULL);
	if (f != NULL) {
		fputs("root: capsule\nworkers: 3\n", f);
		fclose(f);
	}
	CHECK_INT(0, config_load(&cfg, path, &err));
	CHECK_STR(path, cfg.file);
	CHECK_INT(3, cfg.workers);
	unlink(path);

	snprintf(path, sizeof(path), "%s/bad.yaml", dir);
	CHECK((f = fopen(path, "w")) != NULL);
	if (f != NULL) {
		fputs("root: capsule\n\nworkers: 99\n", f);
		fclose(f);
	}
	CHECK_INT(-1, config_load(&cfg, path, &err));
	CHECK(strncmp(buf_cstr(&err), path, strlen(path)) == 0);
	CHECK(strstr(buf_cstr(&err), "bad.yaml:3:10: 'workers' must be")
	    != NULL);
	CHECK_INT(3, cfg.workers);
	unlink(path);
	rmdir(dir);
	config_free(&cfg);
	buf_free(&err);
}

static void
test_data_files(void)
{
	static const char	*bad[] = {
		"tests/unit/data/config/bad-types.yaml",
		"tests/unit/data/config/bad-syntax.yaml",
	};
	struct config		 cfg;
	struct buf		 err;
	size_t			 i;

	config_init(&cfg);
	buf_init(&err, ERR_MAX);
	CHECK_INT(0, config_load(&cfg, "tests/unit/data/config/full.yaml",
	    &err));
	CHECK_INT(0, config_finish(&cfg, &err));
	CHECK_INT(2, cfg.ngemini);
	CHECK(cfg.gemini[1].proxy_protocol);
	CHECK_STR("gopher.example.org", cfg.gopher_hostname);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_reset(&err);
		CHECK_INT(-1, config_load(&cfg, bad[i], &err));
		CHECK(strncmp(buf_cstr(&err), bad[i], strlen(bad[i])) == 0);
	}
	CHECK(strstr(buf_cstr(&err), "bad-syntax.yaml:4:1: YAML syntax error")
	    != NULL);
	buf_reset(&err);
	CHECK_INT(-1, config_load(&cfg, bad[0], &err));
	CHECK_STR("tests/unit/data/config/bad-types.yaml:5:9: 'gemini.port' "
	    "must be a port number from 1 to 65535, not 'http'; write e.g. "
	    "port: 1965\n"
	    "tests/unit/data/config/bad-types.yaml:7:12: 'timeouts.request' "
	    "must be a number of seconds from 1 to 3600, not a mapping; "
	    "write e.g. request: 10", buf_cstr(&err));
	config_free(&cfg);
	buf_free(&err);
}

static void
test_finish_checks(void)
{
	struct config	cfg;
	struct buf	err;
	char		*msg;

	config_init(&cfg);
	buf_init(&err, ERR_MAX);
	CHECK_INT(-1, config_finish(&cfg, &err));
	CHECK_STR("capsuled: 'root' is not set; add root: DIRECTORY (the "
	    "capsule) to the config\n"
	    "capsuled: there is no Gemini listener; add gemini: {listen: "
	    "[\"*:1965\"]} to the config", buf_cstr(&err));
	config_free(&cfg);
	buf_free(&err);

	msg = load_error("root: c\ntls: {cert: a.crt}\n");
	CHECK_STR("t.yaml: 'tls.cert' is set but 'tls.key' is not; set both, "
	    "or neither to use certdir", msg);
	free(msg);
	EXPECT_ERROR("root: c\ntls: {key: a.key}\n", "t.yaml: 'tls.key' is "
	    "set but 'tls.cert' is not");
	msg = load_error("root: c\ngemini: {listen: [\"[::1]:1965\"]}\n"
	    "gopher: {listen: [\"127.0.0.1:70\", \"[::1]:1965\"]}\n");
	CHECK_STR("t.yaml: address [::1]:1965 is listed twice; give each "
	    "listener its own address or port", msg);
	free(msg);
	EXPECT_ERROR("root: c\ngemini: {listen: [\"*:1\", \"*:1\"]}\n",
	    "t.yaml: address *:1 is listed twice");
	CHECK(load_error("root: c\ngemini: {listen: [\"*:1\", \"[::]:1\", "
	    "\"0.0.0.0:1\"]}\n") == NULL);
}

/* Port 0: the kernel picks, so the public ports wait for the bind. */
static void
test_port_zero(void)
{
	struct config	cfg;
	struct buf	err;

	config_init(&cfg);
	buf_init(&err, ERR_MAX);
	CHECK_INT(0, load(&cfg, "root: c\ngemini: {listen: [\"127.0.0.1:0\"]}\n"
	    "gopher: {listen: [\"127.0.0.1:0\", \"127.0.0.1:0\"]}\n", &err));
	CHECK_INT(0, config_finish(&cfg, &err));
	CHECK_INT(0, err.len);
	CHECK_INT(0, cfg.gemini[0].port);
	CHECK_INT(0, cfg.gemini_port);
	CHECK_INT(0, cfg.gopher_port);
	config_free(&cfg);

	config_init(&cfg);
	CHECK_INT(0, load(&cfg, "root: c\ngemini: {listen: [\"*:0\"], "
	    "port: 1965}\n", &err));
	CHECK_INT(0, config_finish(&cfg, &err));
	CHECK_INT(1965, cfg.gemini_port);
	CHECK_INT(1965, cfg.gopher_port);
	config_free(&cfg);
	buf_free(&err);
	EXPECT_ERROR("root: c\ngemini: {port: 0}\n", "t.yaml:2:16: "
	    "'gemini.port' must be a port number from 1 to 65535, not '0'");
}

static void
test_quick_mode(void)
{
	struct config	cfg;
	struct buf	err;

	/* No file at all: what capsuled -H -g -G -d -w DIR builds. */
	config_init(&cfg);
	buf_init(&err, ERR_MAX);
	CHECK_INT(0, config_set_hostname(&cfg, "Gem.Example", &err));
	CHECK_INT(0, config_set_root(&cfg, "/srv/capsule", &err));
	CHECK_INT(0, config_set_listen(&cfg, false, "[::1]:1965", &err));
	CHECK_INT(0, config_add_listen(&cfg, false, "127.0.0.1:1965", &err));
	CHECK_INT(0, config_set_listen(&cfg, true, "*:7070", &err));
	CHECK_INT(0, config_set_certdir(&cfg, "/tmp/certs", &err));
	CHECK_INT(0, config_set_workers(&cfg, "2", &err));
	CHECK_INT(0, config_finish(&cfg, &err));
	CHECK_INT(0, err.len);
	CHECK_STR("gem.example", cfg.vhosts[0].hostname);
	CHECK_STR("/srv/capsule", cfg.vhosts[0].root);
	CHECK_INT(2, cfg.ngemini);
	CHECK_STR("::1", cfg.gemini[0].host);
	CHECK_STR("127.0.0.1", cfg.gemini[1].host);
	CHECK_INT(1, cfg.ngopher);
	CHECK(cfg.gopher[0].host == NULL);
	CHECK_INT(7070, cfg.gopher_port);
	CHECK_INT(1965, cfg.gemini_port);
	CHECK_STR("/tmp/certs/gem.example.crt", cfg.vhosts[0].cert);
	CHECK_STR("/tmp/certs/gem.example.key", cfg.vhosts[0].key);
	CHECK_STR("gem.example", cfg.gopher_hostname);
	CHECK_INT(2, cfg.workers);
	config_free(&cfg);

	/* Overriding a loaded file: -g replaces the file's list. */
	config_init(&cfg);
	CHECK_INT(0, config_load(&cfg, example_path(), &err));
	CHECK_INT(0, config_set_listen(&cfg, false, "*:1966", &err));
	CHECK_INT(0, config_set_listen(&cfg, true, "*:7071", &err));
	CHECK_INT(0, config_set_hostname(&cfg, "other.example", &err));
	CHECK_INT(0, config_finish(&cfg, &err));
	CHECK_INT(1, cfg.ngemini);
	CHECK_INT(1966, cfg.gemini_port);
	CHECK_INT(7071, cfg.gopher_port);
	CHECK_STR("certs/other.example.crt", cfg.vhosts[0].cert);
	config_free(&cfg);
	buf_free(&err);
}

static void
test_setter_errors(void)
{
	struct config	cfg;
	struct buf	err;
	int		i;

	config_init(&cfg);
	buf_init(&err, ERR_MAX);
	CHECK_INT(0, config_set_listen(&cfg, false, "*:1965", &err));
	CHECK_INT(-1, config_set_listen(&cfg, false, "127.0.0.1", &err));
	CHECK_STR("listen address '127.0.0.1' has no port; write "
	    "ADDRESS:PORT, e.g. 127.0.0.1:1965, [::1]:1965 or *:1965",
	    buf_cstr(&err));
	CHECK_INT(1, cfg.ngemini);
	CHECK_INT(1965, cfg.gemini[0].port);
	buf_reset(&err);
	CHECK_INT(-1, config_set_hostname(&cfg, "a b", &err));
	CHECK_STR("host name 'a b' is not valid; write letters, digits, '-' "
	    "and '.', e.g. example.org", buf_cstr(&err));
	buf_reset(&err);
	CHECK_INT(-1, config_set_root(&cfg, "", &err));
	CHECK_STR("capsule directory an empty string is not valid; write a "
	    "directory path, e.g. /var/gemini", buf_cstr(&err));
	buf_reset(&err);
	CHECK_INT(-1, config_set_certdir(&cfg, "a\nb", &err));
	CHECK(strstr(buf_cstr(&err), "'a\\x0ab'") != NULL);
	buf_reset(&err);
	CHECK_INT(-1, config_set_workers(&cfg, "65", &err));
	CHECK_STR("worker count '65' is not valid; write a whole number from "
	    "0 (one per CPU) to 64", buf_cstr(&err));
	CHECK_INT(-1, config_set_workers(&cfg, "", &err));
	CHECK_INT(-1, config_set_workers(&cfg, "-1", &err));
	CHECK_INT(-1, config_set_workers(&cfg, "4x", &err));
	CHECK_INT(0, cfg.workers);
	CHECK_INT(0, config_set_workers(&cfg, "64", &err));
	for (i = 0; i < CONFIG_LIST_MAX; i++)
		CHECK_INT(0, config_add_listen(&cfg, true, "*:70", &err));
	buf_reset(&err);
	CHECK_INT(-1, config_add_listen(&cfg, true, "*:70", &err));
	CHECK_STR("more than 64 listen addresses; give fewer", buf_cstr(&err));
	config_free(&cfg);
	buf_free(&err);
}

static void
test_list_cap(void)
{
	struct buf	 y;
	char		*msg;
	int		 i;

	buf_init(&y, 10000);
	CHECK_INT(0, buf_puts(&y, "root: c\naliases:\n"));
	for (i = 0; i < CONFIG_LIST_MAX + 5; i++)
		CHECK_INT(0, buf_printf(&y, "  - a%d.example\n", i));
	CHECK(buf_cstr(&y) != NULL);
	msg = load_error(y.p);
	CHECK_STR("t.yaml:67:5: 'aliases' has more than 64 entries; list "
	    "fewer", msg);
	free(msg);
	buf_free(&y);
}

static const char vhosts_yaml[] =
    "hostname: main.example\n"
    "root: /srv/main\n"
    "tls: {certdir: /var/lib/capsuled}\n"
    "vhosts:\n"
    "  - hostname: B.Example\n"
    "    aliases: [www.b.example, b.example.net]\n"
    "    root: /srv/b\n"
    "    lang: de\n"
    "    charset: utf-8\n"
    "    default_type: text/plain\n"
    "    types: {.NFO: \"text/plain; charset=cp437\", log: text/plain}\n"
    "    tls: {cert: /etc/b.crt, key: /etc/b.key}\n"
    "    paths:\n"
    "      - prefix: /members/\n"
    "        client_cert:\n"
    "          ca: /etc/capsuled/ca.crt\n"
    "          fingerprints:\n"
    "            - \"SHA256:EB:E7:24:7A:15:C9:CC:BF:60:0E:F9:CE:D2:F7:A2:7A:"
    "10:5A:92:07:DE:8F:AC:BC:1C:B5:E3:1D:8B:2B:4B:D2\"\n"
    "            - ebe7247a15c9ccbf600ef9ced2f7a27a105a9207de8facbc1cb5e31d"
    "8b2b4bd2\n"
    "      - glob: \"*.txt\"\n"
    "        lang: fr\n"
    "        charset: koi8-r\n"
    "        default_type: text/x-other\n"
    "        types: {doc: text/plain}\n"
    "      - prefix: /old\n"
    "        redirect: gemini://new.example/\n"
    "        status: 31\n"
    "  - hostname: c.example\n"
    "    root: /srv/c\n";

static void
test_vhosts(void)
{
	static const unsigned char	 fp[CONFIG_FINGERPRINT_LEN] = {
		0xeb, 0xe7, 0x24, 0x7a, 0x15, 0xc9, 0xcc, 0xbf, 0x60, 0x0e,
		0xf9, 0xce, 0xd2, 0xf7, 0xa2, 0x7a, 0x10, 0x5a, 0x92, 0x07,
		0xde, 0x8f, 0xac, 0xbc, 0x1c, 0xb5, 0xe3, 0x1d, 0x8b, 0x2b,
		0x4b, 0xd2
	};
	struct config			 cfg;
	struct buf			 err;
	const struct config_vhost	*b, *c;
	const struct config_path	*pr;

	config_init(&cfg);
	buf_init(&err, ERR_MAX);
	CHECK_INT(0, load(&cfg, vhosts_yaml, &err));
	CHECK_INT(0, config_finish(&cfg, &err));
	CHECK_INT(0, err.len);
	CHECK_INT(3, cfg.nvhosts);
	CHECK_STR("main.example", cfg.vhosts[0].hostname);
	CHECK_INT(0, cfg.vhosts[0].at.line);
	CHECK_INT(1, cfg.vhosts[0].hostname_at.line);
	CHECK_INT(11, cfg.vhosts[0].hostname_at.col);
	CHECK_STR("/var/lib/capsuled/main.example.crt", cfg.vhosts[0].cert);
	CHECK_INT(3, cfg.certdir_at.line);
	b = &cfg.vhosts[1];
	CHECK_STR("b.example", b->hostname);
	CHECK_INT(5, b->at.line);
	CHECK_INT(5, b->at.col);
	CHECK_INT(5, b->hostname_at.line);
	CHECK_INT(15, b->hostname_at.col);
	CHECK_INT(2, b->naliases);
	CHECK_STR("b.example.net", b->aliases[1]);
	CHECK_INT(6, b->aliases_at[1].line);
	CHECK_INT(30, b->aliases_at[1].col);
	CHECK_STR("/srv/b", b->root);
	CHECK_INT(7, b->root_at.line);
	CHECK_STR("de", b->lang);
	CHECK_STR("utf-8", b->charset);
	CHECK_STR("text/plain", b->default_type);
	CHECK_INT(2, b->types.n);
	CHECK_STR("nfo", b->types.v[0].ext);
	CHECK_STR("text/plain; charset=cp437", b->types.v[0].mime);
	CHECK_STR("/etc/b.crt", b->cert);
	CHECK_STR("/etc/b.key", b->key);
	CHECK_INT(3, b->npaths);
	pr = &b->paths[0];
	CHECK_STR("/members/", pr->prefix);
	CHECK(pr->client_cert);
	CHECK_STR("/etc/capsuled/ca.crt", pr->client_ca);
	CHECK_INT(16, pr->ca_at.line);
	CHECK_INT(2, pr->nfingerprints);
	CHECK(memcmp(pr->fingerprints[0], fp, sizeof(fp)) == 0);
	CHECK(memcmp(pr->fingerprints[1], fp, sizeof(fp)) == 0);
	CHECK_INT(14, pr->at.line);
	CHECK(pr->redirect == NULL);
	pr = &b->paths[1];
	CHECK_STR("*.txt", pr->glob);
	CHECK(!pr->client_cert);
	CHECK_STR("fr", pr->lang);
	CHECK_STR("koi8-r", pr->charset);
	CHECK_STR("text/x-other", pr->default_type);
	CHECK_STR("doc", pr->types.v[0].ext);
	pr = &b->paths[2];
	CHECK_STR("gemini://new.example/", pr->redirect);
	CHECK_INT(31, pr->redirect_status);
	c = &cfg.vhosts[2];
	CHECK_STR("c.example", c->hostname);
	CHECK_STR("/var/lib/capsuled/c.example.crt", c->cert);
	CHECK_STR("/var/lib/capsuled/c.example.key", c->key);
	CHECK_STR("main.example", cfg.gopher_hostname);
	config_free(&cfg);
	buf_free(&err);
}

/* Without top-level vhost keys, the first vhost listed is the default. */
static void
test_vhosts_without_top_level(void)
{
	struct config	cfg;
	struct buf	err;

	config_init(&cfg);
	buf_init(&err, ERR_MAX);
	CHECK_INT(0, load(&cfg, "tls: {certdir: d}\nvhosts:\n"
	    "  - {hostname: a.example, root: a}\n"
	    "  - {hostname: b.example, root: b}\n", &err));
	CHECK_INT(0, config_finish(&cfg, &err));
	CHECK_INT(2, cfg.nvhosts);
	CHECK_STR("a.example", cfg.vhosts[0].hostname);
	CHECK_STR("d/a.example.crt", cfg.vhosts[0].cert);
	CHECK_STR("b.example", cfg.vhosts[1].hostname);
	CHECK_STR("a.example", cfg.gopher_hostname);
	config_free(&cfg);

	/* A top-level key after the list still makes the default. */
	config_init(&cfg);
	CHECK_INT(0, load(&cfg, "vhosts: [{hostname: a.example, root: a}]\n"
	    "root: top\n", &err));
	CHECK_INT(0, config_finish(&cfg, &err));
	CHECK_INT(2, cfg.nvhosts);
	CHECK_STR("localhost", cfg.vhosts[0].hostname);
	CHECK_STR("top", cfg.vhosts[0].root);
	CHECK_STR("a.example", cfg.vhosts[1].hostname);
	/* The command line names the default vhost. */
	CHECK_INT(0, config_set_hostname(&cfg, "cli.example", &err));
	CHECK_STR("cli.example", cfg.vhosts[0].hostname);
	config_free(&cfg);
	buf_free(&err);
}

static void
test_vhost_errors(void)
{
	struct buf	 y;
	char		*msg;
	int		 i;

	msg = load_error("root: a\nhostname: x.example\nvhosts:\n"
	    "  - {hostname: X.example, root: b}\n");
	CHECK_STR("t.yaml:4:16: host name 'x.example' is already served by "
	    "the top-level vhost; give each name to one vhost, once", msg);
	free(msg);
	/* The default name counts too. */
	EXPECT_ERROR("root: a\nvhosts: [{hostname: localhost, root: b}]\n",
	    "t.yaml:2:21: host name 'localhost' is already served by the "
	    "top-level vhost");
	EXPECT_ERROR("root: a\naliases: [w.example]\nvhosts:\n"
	    "  - hostname: b.example\n    aliases: [w.example]\n    root: b\n",
	    "t.yaml:5:15: host name 'w.example' is already served by the "
	    "top-level vhost");
	EXPECT_ERROR("root: a\nvhosts:\n  - {hostname: b.example, root: b}\n"
	    "  - {hostname: c.example, aliases: [B.example], root: c}\n",
	    "t.yaml:4:37: host name 'b.example' is already served by the "
	    "vhost at line 3");
	EXPECT_ERROR("root: a\nhostname: a.example\naliases: [a.example]\n",
	    "t.yaml:3:11: host name 'a.example' is already served by the "
	    "top-level vhost");
	msg = load_error("root: a\nvhosts:\n  - hostname: b.example\n");
	CHECK_STR("t.yaml:3:5: vhost 'b.example' has no 'root'; add root: "
	    "DIRECTORY (its capsule) to its entry", msg);
	free(msg);
	msg = load_error("root: a\nvhosts:\n  - root: b\n");
	CHECK_STR("t.yaml:3:5: this 'vhosts' entry has no 'hostname'; add "
	    "hostname: NAME to it", msg);
	free(msg);
	msg = load_error("root: a\nvhosts:\n"
	    "  - {hostname: b.example, root: b, lnag: en}\n");
	CHECK_STR("t.yaml:3:36: unknown key 'lnag' in a 'vhosts' entry (did "
	    "you mean 'lang'?); valid keys: hostname, aliases, root, lang, "
	    "tls, charset, default_type, types, paths", msg);
	free(msg);
	EXPECT_ERROR("root: a\nvhosts:\n  - hostname: b.example\n    root: b\n"
	    "    tls: {certdir: x}\n", "t.yaml:5:11: unknown key 'certdir' in "
	    "a vhost's 'tls'; valid keys: cert, key");
	EXPECT_ERROR("root: a\nvhosts:\n  - hostname: b.example\n    root: b\n"
	    "    vhosts: []\n", "t.yaml:5:5: unknown key 'vhosts' in a "
	    "'vhosts' entry");
	EXPECT_ERROR("root: a\nvhosts: [a.example]\n", "t.yaml:2:10: 'vhosts' "
	    "entries must be mappings, not 'a.example'; write e.g. vhosts: "
	    "[{hostname: example.org, root: /var/gemini/example.org}]");
	/* One mapping is a list of one, as for aliases. */
	CHECK(load_error("root: a\nvhosts: {hostname: b.example, root: b}\n")
	    == NULL);
	EXPECT_ERROR("root: a\nvhosts:\n  - hostname: b.example\n    root: b\n"
	    "    tls: {cert: b.crt}\n", "t.yaml:3:5: 'tls.cert' is set but "
	    "'tls.key' is not");
	EXPECT_ERROR("root: a\nvhosts:\n  - {hostname: \"b c\", root: b}\n",
	    "t.yaml:3:16: 'vhosts.hostname' must be a host name");

	buf_init(&y, 100000);
	CHECK_INT(0, buf_puts(&y, "root: c\nvhosts:\n"));
	for (i = 0; i < CONFIG_VHOSTS_MAX + 2; i++)
		CHECK_INT(0, buf_printf(&y, "  - {hostname: h%d.example, "
		    "root: c}\n", i));
	CHECK(buf_cstr(&y) != NULL);
	msg = load_error(y.p);
	CHECK_STR("t.yaml:259:5: 'vhosts' has more than 256 entries; list "
	    "fewer", msg);
	free(msg);
	buf_free(&y);
}

static void
test_path_errors(void)
{
	char	*msg;

	msg = load_error("root: a\npaths: [{lang: en}]\n");
	CHECK_STR("t.yaml:2:9: this 'paths' entry has neither 'prefix' nor "
	    "'glob'; add one, e.g. prefix: /private/", msg);
	free(msg);
	EXPECT_ERROR("root: a\nvhosts:\n  - hostname: b.example\n    root: b\n"
	    "    paths:\n      - {prefix: /a/, glob: \"*\"}\n", "t.yaml:6:9: "
	    "this 'vhosts.paths' entry has both 'prefix' and 'glob'; keep one");
	EXPECT_ERROR("root: a\npaths: [{prefix: /a/, status: 31}]\n",
	    "t.yaml:2:9: this 'paths' entry has 'status' but no 'redirect'; "
	    "add redirect: TARGET, or remove status");
	EXPECT_ERROR("root: a\npaths: [{prefix: /, redirect: /b, status: 32}]"
	    "\n", "t.yaml:2:43: 'paths.status' must be 30 (temporary) or 31 "
	    "(permanent), not '32'; write e.g. status: 31");
	msg = load_error("root: a\npaths: [{prefix: /, redirect: \"/x?y\"}]\n");
	CHECK_STR("t.yaml:2:31: 'paths.redirect' must be a path such as /new/ "
	    "or a URL such as gemini://example.org/, without '?' or '#', not "
	    "'/x?y'; write e.g. redirect: /new/", msg);
	free(msg);
	EXPECT_ERROR("root: a\npaths: [{prefix: /, redirect: new/}]\n",
	    "t.yaml:2:31: 'paths.redirect' must be");
	EXPECT_ERROR("root: a\npaths: [{prefix: /, redirect: //h/x}]\n",
	    "t.yaml:2:31: 'paths.redirect' must be");
	EXPECT_ERROR("root: a\npaths: [{prefix: /, redirect: \"gemini:x\"}]\n",
	    "t.yaml:2:31: 'paths.redirect' must be");
	EXPECT_ERROR("root: a\npaths: [{prefix: /, redirect: \"/a b\"}]\n",
	    "t.yaml:2:31: 'paths.redirect' must be");
	EXPECT_ERROR("root: a\npaths: [{prefix: /, redirect: \"/a#b\"}]\n",
	    "t.yaml:2:31: 'paths.redirect' must be");
	msg = load_error("root: a\npaths: [{prefix: a/}]\n");
	CHECK_STR("t.yaml:2:18: 'paths.prefix' must be a path from the root "
	    "such as /private/ (no '//', '.' or '..'), not 'a/'; write e.g. "
	    "prefix: /private/", msg);
	free(msg);
	EXPECT_ERROR("root: a\npaths: [{prefix: /a//b}]\n",
	    "t.yaml:2:18: 'paths.prefix' must be");
	EXPECT_ERROR("root: a\npaths: [{prefix: /a/../b}]\n",
	    "t.yaml:2:18: 'paths.prefix' must be");
	EXPECT_ERROR("root: a\npaths: [{prefix: /./b}]\n",
	    "t.yaml:2:18: 'paths.prefix' must be");
	EXPECT_ERROR("root: a\npaths: [{prefix: /a/..}]\n",
	    "t.yaml:2:18: 'paths.prefix' must be");
	EXPECT_ERROR("root: a\npaths: [{glob: a*}]\n", "t.yaml:2:16: "
	    "'paths.glob' must be a pattern starting with '/' or '*'");
	msg = load_error("root: a\npaths: [{prefix: /, client_cert: {}}]\n");
	CHECK_STR("t.yaml:2:34: 'paths.client_cert' needs 'ca', "
	    "'fingerprints' or both; write e.g. client_cert: {ca: "
	    "/etc/capsuled/ca.crt}", msg);
	free(msg);
	EXPECT_ERROR("root: a\npaths: [{prefix: /, client_cert: {fingerprints: "
	    "[]}}]\n", "t.yaml:2:34: 'paths.client_cert' needs 'ca'");
	EXPECT_ERROR("root: a\npaths: [{prefix: /, client_cert: yes}]\n",
	    "t.yaml:2:34: 'paths.client_cert' must be a mapping with ca, "
	    "fingerprints or both, not 'yes'");
	EXPECT_ERROR("root: a\npaths: [{prefix: /, client_cert: {cert: x}}]\n",
	    "t.yaml:2:35: unknown key 'cert' in 'client_cert'; valid keys: ca, "
	    "fingerprints");
	msg = load_error("root: a\npaths:\n  - prefix: /\n    client_cert:\n"
	    "      fingerprints: [abc]\n");
	CHECK_STR("t.yaml:5:22: 'client_cert.fingerprints' entry 'abc' is not "
	    "a SHA-256 fingerprint; write the 64 hex digits that openssl x509 "
	    "-noout -fingerprint -sha256 prints, e.g. fingerprints: "
	    "[\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a"
	    "08\"]", msg);
	free(msg);
	/* 63 and 65 digits, a stray ':' and a non-hex digit. */
	EXPECT_ERROR("root: a\npaths: [{prefix: /, client_cert: {fingerprints: "
	    "[9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0]"
	    "}}]\n", "t.yaml:2:50: 'client_cert.fingerprints' entry");
	EXPECT_ERROR("root: a\npaths: [{prefix: /, client_cert: {fingerprints: "
	    "[9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0"
	    "80]}}]\n", "t.yaml:2:50: 'client_cert.fingerprints' entry");
	EXPECT_ERROR("root: a\npaths: [{prefix: /, client_cert: {fingerprints: "
	    "[\"9:f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a"
	    "08\"]}}]\n", "t.yaml:2:50: 'client_cert.fingerprints' entry");
	EXPECT_ERROR("root: a\npaths: [{prefix: /, client_cert: {fingerprints: "
	    "[\"9g86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a"
	    "08\"]}}]\n", "t.yaml:2:50: 'client_cert.fingerprints' entry");
	EXPECT_ERROR("root: a\ncharset: \"utf 8\"\n", "t.yaml:2:10: 'charset' "
	    "must be a charset name such as utf-8 or iso-8859-1");
	EXPECT_ERROR("root: a\ndefault_type: text\n", "t.yaml:2:15: "
	    "'default_type' must be a media type such as "
	    "application/octet-stream, not 'text'");
	EXPECT_ERROR("root: a\npaths: [{prefix: /, lang: \"e n\"}]\n",
	    "t.yaml:2:27: 'paths.lang' must be a language tag");
}

static void
test_types_errors(void)
{
	char	*msg;

	msg = load_error("root: a\ntypes: {a.b: text/plain}\n");
	CHECK_STR("t.yaml:2:9: 'types' keys must be file extensions (letters, "
	    "digits, '-', '_', '+'), not 'a.b'; write e.g. types: {nfo: "
	    "text/plain, gmi: text/gemini}", msg);
	free(msg);
	EXPECT_ERROR("root: a\ntypes: {\"\": text/plain}\n",
	    "t.yaml:2:9: 'types' keys must be file extensions");
	EXPECT_ERROR("root: a\ntypes: {[a]: text/plain}\n",
	    "t.yaml:2:9: 'types' keys must be file extensions (letters, "
	    "digits, '-', '_', '+'), not a list");
	msg = load_error("root: a\ntypes: {nfo: text}\n");
	CHECK_STR("t.yaml:2:14: 'types' value for 'nfo' must be a media type "
	    "such as text/plain, not 'text'; write e.g. types: {nfo: "
	    "text/plain, gmi: text/gemini}", msg);
	free(msg);
	EXPECT_ERROR("root: a\ntypes: {nfo: \"text/plain\\r\\nX: y\"}\n",
	    "t.yaml:2:14: 'types' value for 'nfo' must be a media type");
	EXPECT_ERROR("root: a\ntypes: {nfo: [text/plain]}\n",
	    "t.yaml:2:14: 'types' value for 'nfo' must be a media type such as "
	    "text/plain, not a list");
	EXPECT_ERROR("root: a\ntypes: {nfo: text/plain, .NFO: text/x}\n",
	    "t.yaml:2:26: 'types' names extension 'nfo' twice; keep only one");
	EXPECT_ERROR("root: a\ntypes: [nfo]\n", "t.yaml:2:8: 'types' must be "
	    "a mapping of file extensions to media types, not a list");
	EXPECT_ERROR("root: a\nvhosts:\n  - hostname: b.example\n    root: b\n"
	    "    paths: [{prefix: /, types: {x: y}}]\n", "t.yaml:5:36: "
	    "'paths.types' value for 'x' must be a media type");
}

static void
test_fingerprint_spellings(void)
{
	struct config	cfg;
	struct buf	err;

	config_init(&cfg);
	buf_init(&err, ERR_MAX);
	/* Unquoted, with colons, in a flow list and in a block list. */
	CHECK_INT(0, load(&cfg, "root: a\npaths:\n  - prefix: /\n"
	    "    client_cert:\n      fingerprints:\n"
	    "        - EB:E7:24:7A:15:C9:CC:BF:60:0E:F9:CE:D2:F7:A2:7A:10:5A:"
	    "92:07:DE:8F:AC:BC:1C:B5:E3:1D:8B:2B:4B:D2\n"
	    "        - sha256:ebe7247a15c9ccbf600ef9ced2f7a27a105a9207de8facbc"
	    "1cb5e31d8b2b4bd2\n", &err));
	CHECK_INT(0, err.len);
	CHECK_INT(2, cfg.vhosts[0].paths[0].nfingerprints);
	CHECK(memcmp(cfg.vhosts[0].paths[0].fingerprints[0],
	    cfg.vhosts[0].paths[0].fingerprints[1], CONFIG_FINGERPRINT_LEN) ==
	    0);
	CHECK_INT(0xd2, cfg.vhosts[0].paths[0].fingerprints[0][31]);
	config_free(&cfg);
	buf_free(&err);
}

/* Write text to dir/name. */
static void
put_file(const char *dir, const char *name, const char *text)
{
	char	 path[256];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		return;
	fputs(text, f);
	fclose(f);
}

/* The message of config_check_files for yaml, or NULL when it passes. */
static char *
check_files_error(const char *yaml)
{
	struct config	 cfg;
	struct buf	 err;
	char		*msg = NULL;

	config_init(&cfg);
	buf_init(&err, ERR_MAX);
	if (load(&cfg, yaml, &err) == 0 && config_finish(&cfg, &err) == 0 &&
	    config_check_files(&cfg, &err) == -1)
		msg = buf_take(&err, NULL);
	else
		CHECK_INT(0, err.len);
	config_free(&cfg);
	buf_free(&err);
	return msg;
}

static void
test_check_files(void)
{
	char		 dir[] = "/tmp/test_config.XXXXXX", yaml[1024];
	char		 want[1024], *msg;
	struct config	 cfg;
	struct buf	 err;

	CHECK(mkdtemp(dir) != NULL);
	put_file(dir, "file", "x\n");
	put_file(dir, "ca.crt", "x\n");
	snprintf(yaml, sizeof(yaml), "root: %s\ntls: {certdir: %s/certs}\n"
	    "paths: [{prefix: /, client_cert: {ca: %s/ca.crt}}]\n", dir, dir,
	    dir);
	CHECK(check_files_error(yaml) == NULL);

	snprintf(yaml, sizeof(yaml), "root: %s/none\n", dir);
	msg = check_files_error(yaml);
	snprintf(want, sizeof(want), "t.yaml:1:7: root '%s/none' cannot be "
	    "used: No such file or directory; create the directory or correct "
	    "the path", dir);
	CHECK_STR(want, msg);
	free(msg);
	snprintf(yaml, sizeof(yaml), "root: %s\nvhosts:\n"
	    "  - {hostname: b.example, root: %s/file}\n", dir, dir);
	msg = check_files_error(yaml);
	snprintf(want, sizeof(want), "t.yaml:3:33: root '%s/file' is not a "
	    "directory; name the capsule's directory", dir);
	CHECK_STR(want, msg);
	free(msg);

	snprintf(yaml, sizeof(yaml), "root: %s\ntls:\n  certdir: %s/no/certs\n",
	    dir, dir);
	msg = check_files_error(yaml);
	snprintf(want, sizeof(want), "t.yaml:3:12: certificate directory "
	    "'%s/no/certs' does not exist and cannot be made (%s/no is "
	    "missing); create it with mkdir -p, or correct tls.certdir", dir,
	    dir);
	CHECK_STR(want, msg);
	free(msg);
	snprintf(yaml, sizeof(yaml), "root: %s\ntls:\n  certdir: %s/file\n",
	    dir, dir);
	msg = check_files_error(yaml);
	snprintf(want, sizeof(want), "t.yaml:3:12: certificate directory "
	    "'%s/file' is not a directory; correct tls.certdir", dir);
	CHECK_STR(want, msg);
	free(msg);

	snprintf(yaml, sizeof(yaml), "root: %s\npaths:\n  - prefix: /\n"
	    "    client_cert: {ca: %s/none.crt}\n", dir, dir);
	msg = check_files_error(yaml);
	snprintf(want, sizeof(want), "t.yaml:4:23: client_cert CA file "
	    "'%s/none.crt' cannot be read: No such file or directory; correct "
	    "the path", dir);
	CHECK_STR(want, msg);
	free(msg);

	/* From the command line there is no position to give. */
	config_init(&cfg);
	buf_init(&err, ERR_MAX);
	snprintf(want, sizeof(want), "%s/none", dir);
	CHECK_INT(0, config_set_root(&cfg, want, &err));
	CHECK_INT(0, config_set_listen(&cfg, false, "*:1965", &err));
	CHECK_INT(0, config_finish(&cfg, &err));
	CHECK_INT(-1, config_check_files(&cfg, &err));
	CHECK(strncmp(buf_cstr(&err), "capsuled: root '", 16) == 0);
	config_free(&cfg);
	buf_free(&err);

	snprintf(want, sizeof(want), "%s/file", dir);
	unlink(want);
	snprintf(want, sizeof(want), "%s/ca.crt", dir);
	unlink(want);
	rmdir(dir);
}

/*
 * The commented examples of types, paths and vhosts in the example file
 * must be valid when uncommented: operators copy them.
 */
static void
test_example_comments(void)
{
	struct config	 cfg;
	struct buf	 text, y, err;
	struct span	 rest, line;
	bool		 in = false;
	long		 nl;

	buf_init(&text, CONFIG_FILE_MAX);
	buf_init(&y, CONFIG_FILE_MAX);
	buf_init(&err, ERR_MAX);
	config_init(&cfg);
	CHECK_INT(0, config_load(&cfg, example_path(), &err));
	config_free(&cfg);
	{
		FILE	*f = fopen(example_path(), "r");
		char	 chunk[4096];
		size_t	 n;

		CHECK(f != NULL);
		while (f != NULL && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			CHECK_INT(0, buf_append(&text, chunk, n));
		if (f != NULL)
			fclose(f);
	}
	CHECK_INT(0, buf_puts(&y, "root: c\n"));
	for (rest = buf_span(&text); rest.n > 0; ) {
		nl = span_index(rest, '\n');
		line = span_make(rest.p, nl == -1 ? rest.n : (size_t)nl + 1);
		rest = span_make(rest.p + line.n, rest.n - line.n);
		if (span_starts_with(line, "# types:") ||
		    span_starts_with(line, "# paths:") ||
		    span_starts_with(line, "# vhosts:"))
			in = true;
		else if (!span_starts_with(line, "#   "))
			in = false;
		if (in)
			CHECK_INT(0, buf_append(&y, line.p + 2, line.n - 2));
	}
	CHECK(buf_cstr(&y) != NULL);
	config_init(&cfg);
	CHECK_INT(0, load(&cfg, y.p, &err));
	CHECK_STR("", buf_cstr(&err) ? err.p : "?");
	CHECK_INT(2, cfg.nvhosts);
	CHECK_INT(2, cfg.vhosts[0].types.n);
	CHECK_INT(5, cfg.vhosts[0].npaths);
	CHECK_INT(1, cfg.vhosts[0].paths[1].nfingerprints);
	CHECK(cfg.vhosts[0].paths[2].titan);
	CHECK_STR("example.net", cfg.vhosts[1].hostname);
	CHECK_INT(1, cfg.vhosts[1].npaths);
	config_free(&cfg);
	buf_free(&text);
	buf_free(&y);
	buf_free(&err);
}

/*
 * Make each allocation fail in turn until the load succeeds: every failure
 * must return -1 with cfg untouched, and ASan must find no leak.
 */
static void
alloc_loop(const char *yaml)
{
	struct config	cfg;
	struct buf	err;
	unsigned long	n;
	int		rc = -1;

	for (n = 1; n < 100000; n++) {
		config_init(&cfg);
		buf_init(&err, ERR_MAX);
		mem_fail_after(n, 1);
		rc = load(&cfg, yaml, &err);
		if (rc == -1)
			CHECK(cfg.nvhosts == 0 && cfg.file == NULL);
		else
			rc = config_finish(&cfg, &err);
		mem_fail_after(0, 0);
		config_free(&cfg);
		buf_free(&err);
		if (rc == 0)
			break;
	}
	CHECK(n > 1);
	CHECK(n < 100000);
}

static void
test_allocation_failures(void)
{
	struct config	cfg;
	struct buf	err;
	unsigned long	n, total;
	int		rc;

	alloc_loop(full_yaml);
	alloc_loop(vhosts_yaml);
	alloc_loop("root: c\n");

	/* Error paths too: count the allocations of one run, fail each. */
	config_init(&cfg);
	buf_init(&err, ERR_MAX);
	mem_fail_after(0, 0);
	CHECK_INT(-1, load(&cfg, "hostnme: x\nroot: c\nworkers: x\n"
	    "aliases: [a, b]\n", &err));
	total = mem_count();
	buf_free(&err);
	for (n = 1; n <= total; n++) {
		buf_init(&err, ERR_MAX);
		mem_fail_after(n, 1);
		rc = load(&cfg, "hostnme: x\nroot: c\nworkers: x\n"
		    "aliases: [a, b]\n", &err);
		mem_fail_after(0, 0);
		CHECK_INT(-1, rc);
		buf_free(&err);
	}
	CHECK_INT(0, cfg.nvhosts);

	/* The setters, from an empty config. */
	for (n = 1; n < 1000; n++) {
		config_init(&cfg);
		buf_init(&err, ERR_MAX);
		mem_fail_after(n, 1);
		rc = config_set_hostname(&cfg, "h.example", &err);
		if (rc == 0)
			rc = config_set_root(&cfg, "c", &err);
		if (rc == 0)
			rc = config_set_listen(&cfg, false, "[::1]:1", &err);
		if (rc == 0)
			rc = config_add_listen(&cfg, false, "*:2", &err);
		if (rc == 0)
			rc = config_set_certdir(&cfg, "d", &err);
		if (rc == 0)
			rc = config_finish(&cfg, &err);
		mem_fail_after(0, 0);
		config_free(&cfg);
		buf_free(&err);
		if (rc == 0)
			break;
	}
	CHECK(n > 1 && n < 1000);
}

static void
test_proxy_from(void)
{
	struct config	cfg;
	struct buf	err;

	/* Without the key, loopback only. */
	config_init(&cfg);
	buf_init(&err, ERR_MAX);
	CHECK_INT(0, load(&cfg, "root: c\n", &err));
	CHECK_INT(0, cfg.nproxy_from);
	CHECK_INT(0, config_finish(&cfg, &err));
	CHECK_INT(2, cfg.nproxy_from);
	CHECK_INT(AF_INET, cfg.proxy_from[0].family);
	CHECK_INT(8, cfg.proxy_from[0].bits);
	CHECK_INT(127, cfg.proxy_from[0].addr[0]);
	CHECK_INT(AF_INET6, cfg.proxy_from[1].family);
	CHECK_INT(128, cfg.proxy_from[1].bits);
	CHECK_INT(1, cfg.proxy_from[1].addr[15]);
	/* One scalar is a list of one, and replaces the default. */
	CHECK_INT(0, load(&cfg, "root: c\nproxy_from: 192.0.2.7\n", &err));
	CHECK_INT(0, config_finish(&cfg, &err));
	CHECK_INT(1, cfg.nproxy_from);
	CHECK_INT(32, cfg.proxy_from[0].bits);
	config_free(&cfg);
	buf_free(&err);

	EXPECT_ERROR("root: c\nproxy_from: []\n", "t.yaml:2:13: "
	    "'proxy_from' is an empty list, which would refuse every PROXY "
	    "header; write e.g. proxy_from: [127.0.0.1, \"::1\", "
	    "10.0.0.0/8]");
	EXPECT_ERROR("root: c\nproxy_from: [127.0.0.1, localhost]\n",
	    "t.yaml:2:25: 'proxy_from' entry 'localhost' is not an IPv4 or "
	    "IPv6 address; write e.g. proxy_from: [127.0.0.1, \"::1\", "
	    "10.0.0.0/8]");
	EXPECT_ERROR("root: c\nproxy_from: [10.1.0.0/8]\n", "t.yaml:2:14: "
	    "'proxy_from' entry '10.1.0.0/8' has bits set beyond its prefix "
	    "length");
	EXPECT_ERROR("root: c\nproxy_from: [\"::1/129\"]\n", "t.yaml:2:14: "
	    "'proxy_from' entry '::1/129' has a prefix length that is not");
	EXPECT_ERROR("root: c\nproxy_from: [[10.0.0.1]]\n", "t.yaml:2:14: "
	    "'proxy_from' entries must be single values");
	EXPECT_ERROR("root: c\nproxy_from: {a: b}\n", "t.yaml:2:13: "
	    "'proxy_from' entries must be single values");
}

/* Write n bytes of 0x5a to dir/name with mode; the path goes to path. */
static void
write_key(const char *dir, const char *name, size_t n, mode_t mode,
    char *path, size_t pathsz)
{
	FILE	*f;
	size_t	 i;

	snprintf(path, pathsz, "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL) {
		CHECK(!"key file written");
		return;
	}
	for (i = 0; i < n; i++)
		fputc(0x5a, f);
	fclose(f);
	CHECK_INT(0, chmod(path, mode));
}

static void
test_ticket_key(void)
{
	struct config	 cfg;
	struct buf	 err, yaml, want;
	char		 dir[] = "/tmp/test_config.XXXXXX", path[128];
	unsigned char	 bytes[80];

	CHECK(mkdtemp(dir) != NULL);
	config_init(&cfg);
	buf_init(&err, ERR_MAX);
	buf_init(&yaml, ERR_MAX);
	buf_init(&want, ERR_MAX);
	write_key(dir, "ok.key", 80, 0600, path, sizeof(path));
	buf_printf(&yaml, "root: c\ntls: {ticket_key: %s}\n", path);
	CHECK_INT(0, load(&cfg, buf_cstr(&yaml), &err));
	CHECK_STR(path, cfg.ticket_key);
	memset(bytes, 0x5a, sizeof(bytes));
	CHECK(cfg.ticket_secret != NULL &&
	    memcmp(cfg.ticket_secret, bytes, sizeof(bytes)) == 0);
	alloc_loop(buf_cstr(&yaml));
	unlink(path);

	/* Open to the group: refused at the value, with the chmod to run. */
	write_key(dir, "open.key", 80, 0640, path, sizeof(path));
	buf_reset(&yaml);
	buf_printf(&yaml, "root: c\ntls: {ticket_key: %s}\n", path);
	buf_printf(&want, "t.yaml:2:19: 'tls.ticket_key' %s is open to group "
	    "or others (mode 640); run chmod 600 %s", path, path);
	EXPECT_ERROR(buf_cstr(&yaml), buf_cstr(&want));
	unlink(path);

	write_key(dir, "short.key", 48, 0600, path, sizeof(path));
	buf_reset(&yaml);
	buf_reset(&want);
	buf_printf(&yaml, "root: c\ntls:\n  ticket_key: %s\n", path);
	buf_printf(&want, "t.yaml:3:15: 'tls.ticket_key' %s is 48 bytes, not "
	    "80; make it with: openssl rand 80 > %s", path, path);
	EXPECT_ERROR(buf_cstr(&yaml), buf_cstr(&want));
	unlink(path);

	/* One byte too many is as wrong as too few: not what openssl made. */
	write_key(dir, "long.key", 81, 0600, path, sizeof(path));
	buf_reset(&yaml);
	buf_reset(&want);
	buf_printf(&yaml, "root: c\ntls: {ticket_key: %s}\n", path);
	buf_printf(&want, "t.yaml:2:19: 'tls.ticket_key' %s is 81 bytes, not "
	    "80", path);
	EXPECT_ERROR(buf_cstr(&yaml), buf_cstr(&want));
	unlink(path);

	buf_reset(&yaml);
	buf_reset(&want);
	buf_printf(&yaml, "root: c\ntls: {ticket_key: %s/none}\n", dir);
	buf_printf(&want, "t.yaml:2:19: 'tls.ticket_key' cannot open "
	    "%s/none: No such file or directory; make it with: openssl rand "
	    "80 > %s/none; chmod 600 %s/none", dir, dir, dir);
	EXPECT_ERROR(buf_cstr(&yaml), buf_cstr(&want));

	buf_reset(&yaml);
	buf_reset(&want);
	buf_printf(&yaml, "root: c\ntls: {ticket_key: %s}\n", dir);
	buf_printf(&want, "t.yaml:2:19: 'tls.ticket_key' %s is not a regular "
	    "file", dir);
	EXPECT_ERROR(buf_cstr(&yaml), buf_cstr(&want));
	EXPECT_ERROR("root: c\ntls: {ticket_key: [a]}\n", "t.yaml:2:19: "
	    "'tls.ticket_key' must be a file path, not a list");

	rmdir(dir);
	config_free(&cfg);
	buf_free(&err);
	buf_free(&yaml);
	buf_free(&want);
}

/* The per-address limits: defaults, every key, the exempt list. */
static void
test_limits_per_address(void)
{
	struct config		 cfg;
	struct buf		 err;

	config_init(&cfg);
	CHECK_INT(CONFIG_PER_ADDRESS_DEFAULT, cfg.max_per_address);
	CHECK_INT(CONFIG_RATE_DEFAULT, cfg.rate);
	CHECK_INT(CONFIG_RATE_WINDOW_DEFAULT, cfg.rate_window);
	CHECK_INT(0, cfg.nexempt);
	buf_init(&err, ERR_MAX);
	CHECK_INT(0, load(&cfg, "root: c\nlimits:\n"
	    "  connections_per_address: 0\n  rate: 20\n  rate_window: 10\n"
	    "  exempt: [127.0.0.0/8, \"::1\", 10.1.0.0/16, "
	    "\"2001:db8::/32\"]\n", &err));
	CHECK_INT(0, cfg.max_per_address);
	CHECK_INT(20, cfg.rate);
	CHECK_INT(10, cfg.rate_window);
	CHECK_INT(4, cfg.nexempt);
	CHECK_INT(AF_INET, cfg.exempt[0].family);
	CHECK_INT(8, cfg.exempt[0].bits);
	CHECK_INT(AF_INET6, cfg.exempt[1].family);
	CHECK_INT(128, cfg.exempt[1].bits);
	CHECK_INT(1, cfg.exempt[1].addr[15]);
	CHECK_INT(10, cfg.exempt[2].addr[0]);
	CHECK_INT(1, cfg.exempt[2].addr[1]);
	CHECK_INT(16, cfg.exempt[2].bits);
	CHECK_INT(32, cfg.exempt[3].bits);
	/* A single address is a list of one. */
	CHECK_INT(0, load(&cfg, "root: c\nlimits: {exempt: 192.0.2.1}\n",
	    &err));
	CHECK_INT(1, cfg.nexempt);
	CHECK_INT(32, cfg.exempt[0].bits);
	config_free(&cfg);
	buf_free(&err);

	/* Host bits past the prefix are most likely a typo: refused. */
	EXPECT_ERROR("root: c\nlimits: {exempt: [10.1.2.3/16]}\n",
	    "t.yaml:2:19: 'limits.exempt' entry '10.1.2.3/16' has bits set "
	    "beyond its prefix length; write the network's first address, "
	    "e.g. 10.0.0.0/8; write e.g. exempt: [127.0.0.0/8, \"::1\"]");
	EXPECT_ERROR("root: c\nlimits: {exempt: [10.0.0.0/8, foo]}\n",
	    "t.yaml:2:31: 'limits.exempt' entry 'foo' is not an IPv4 or IPv6 "
	    "address; write e.g. exempt: [127.0.0.0/8, \"::1\"]");
	EXPECT_ERROR("root: c\nlimits: {exempt: \"::1/200\"}\n",
	    "t.yaml:2:18: 'limits.exempt' entry '::1/200' has a prefix length "
	    "that is not a number from 0 to 32 (IPv4) or 128 (IPv6)");
	EXPECT_ERROR("root: c\nlimits: {rate: -1}\n", "t.yaml:2:16: "
	    "'limits.rate' must be a whole number from 0 (no limit) to "
	    "1000000");
	EXPECT_ERROR("root: c\nlimits: {rate_window: 0}\n", "t.yaml:2:23: "
	    "'limits.rate_window' must be a number of seconds from 1 to "
	    "86400");
	EXPECT_ERROR("root: c\nlimits: {connections_per_address: 100001}\n",
	    "t.yaml:2:35: 'limits.connections_per_address' must be a whole "
	    "number from 0 (no limit) to 100000");
	EXPECT_ERROR("root: c\nlimits: {rate_windw: 5}\n", "t.yaml:2:10: "
	    "unknown key 'rate_windw' in 'limits' (did you mean "
	    "'rate_window'?)");
}

int
main(void)
{
	RUN(test_defaults);
	RUN(test_example_file);
	RUN(test_minimal);
	RUN(test_every_key);
	RUN(test_derived_paths);
	RUN(test_null_keeps_default);
	RUN(test_empty_and_comment_only);
	RUN(test_unknown_key);
	RUN(test_duplicate_key);
	RUN(test_wrong_types);
	RUN(test_listen_errors);
	RUN(test_parse_listen);
	RUN(test_yaml_features_refused);
	RUN(test_deep_nesting);
	RUN(test_syntax_errors);
	RUN(test_message_escaping);
	RUN(test_several_errors);
	RUN(test_unchanged_on_error);
	RUN(test_files);
	RUN(test_data_files);
	RUN(test_vhosts);
	RUN(test_vhosts_without_top_level);
	RUN(test_vhost_errors);
	RUN(test_path_errors);
	RUN(test_types_errors);
	RUN(test_fingerprint_spellings);
	RUN(test_check_files);
	RUN(test_example_comments);
	RUN(test_finish_checks);
	RUN(test_port_zero);
	RUN(test_quick_mode);
	RUN(test_setter_errors);
	RUN(test_list_cap);
	RUN(test_allocation_failures);
	RUN(test_proxy_from);
	RUN(test_ticket_key);
	RUN(test_limits_per_address);
	return CHECK_SUMMARY();
}
