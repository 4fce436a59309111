#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config.h"
#include "mem.h"
#include "vhost.h"

#define ERR_MAX		(64 * 1024)

/* A config from yaml, finished; aborts when it does not load. */
static void
load(struct config *cfg, const char *yaml)
{
	struct buf	err;

	config_init(cfg);
	buf_init(&err, ERR_MAX);
	if (config_load_mem(cfg, "t.yaml", span_cstr(yaml), &err) == -1 ||
	    config_finish(cfg, &err) == -1) {
		fprintf(stderr, "%s\n", buf_cstr(&err));
		abort();
	}
	buf_free(&err);
}

static const char rules_yaml[] =
    "root: c\n"
    "lang: en\n"
    "charset: utf-8\n"
    "default_type: application/x-unknown\n"
    "types: {nfo: text/plain, GMI: text/x-own}\n"
    "paths:\n"
    "  - prefix: /old\n"
    "    redirect: gemini://new.example/\n"
    "    status: 31\n"
    "  - prefix: /moved/\n"
    "    redirect: /here\n"
    "  - prefix: /fr/\n"
    "    lang: fr\n"
    "    charset: iso-8859-1\n"
    "    default_type: text/plain\n"
    "    types: {nfo: text/x-nfo}\n"
    "  - glob: \"*.txt\"\n"
    "    charset: koi8-r\n"
    "  - prefix: /\n"
    "    redirect: /everything/\n";

/* The index of the rule path matches, -1 for none. */
static long
rule_of(const struct config *cfg, const char *path)
{
	const struct config_path	*pr;

	pr = vhost_rule(&cfg->vhosts[0], span_cstr(path));
	return pr == NULL ? -1 : (long)(pr - cfg->vhosts[0].paths);
}

static void
test_prefix_matches_whole_segments(void)
{
	struct config	cfg;

	load(&cfg, rules_yaml);
	CHECK_INT(0, rule_of(&cfg, "/old"));
	CHECK_INT(0, rule_of(&cfg, "/old/"));
	CHECK_INT(0, rule_of(&cfg, "/old/a/b.gmi"));
	CHECK_INT(4, rule_of(&cfg, "/older"));
	CHECK_INT(4, rule_of(&cfg, "/ol"));
	/* A prefix written with its slash also matches the bare name. */
	CHECK_INT(1, rule_of(&cfg, "/moved"));
	CHECK_INT(1, rule_of(&cfg, "/moved/x"));
	CHECK_INT(4, rule_of(&cfg, "/movedx"));
	/* First match wins: /fr/ before the glob and the catch-all. */
	CHECK_INT(2, rule_of(&cfg, "/fr/a.txt"));
	CHECK_INT(3, rule_of(&cfg, "/en/a.txt"));
	/* '*' crosses '/'. */
	CHECK_INT(3, rule_of(&cfg, "/a/b/c.txt"));
	CHECK_INT(4, rule_of(&cfg, "/"));
	CHECK_INT(4, rule_of(&cfg, "/a.gmi"));
	CHECK(vhost_rule(NULL, span_cstr("/")) == NULL);
	config_free(&cfg);

	load(&cfg, "root: c\npaths: [{prefix: /a/b}]\n");
	CHECK_INT(-1, rule_of(&cfg, "/"));
	CHECK_INT(-1, rule_of(&cfg, "/a"));
	CHECK_INT(-1, rule_of(&cfg, "/a/"));
	CHECK_INT(0, rule_of(&cfg, "/a/b"));
	CHECK_INT(-1, rule_of(&cfg, "/a/bc"));
	CHECK_INT(-1, rule_of(&cfg, "/A/b"));
	config_free(&cfg);
}

static void
test_glob_rules(void)
{
	struct config	cfg;

	load(&cfg, "root: c\npaths:\n  - glob: \"/private/*.gmi\"\n"
	    "  - glob: \"/[ab]?/x\"\n");
	CHECK_INT(0, rule_of(&cfg, "/private/a.gmi"));
	CHECK_INT(0, rule_of(&cfg, "/private/sub/a.gmi"));
	CHECK_INT(-1, rule_of(&cfg, "/private/a.txt"));
	CHECK_INT(1, rule_of(&cfg, "/a1/x"));
	CHECK_INT(-1, rule_of(&cfg, "/c1/x"));
	CHECK_INT(-1, rule_of(&cfg, "/a12/x"));
	/* A NUL or a path longer than a URL never matches a glob. */
	CHECK(!vhost_rule_matches(&cfg.vhosts[0].paths[0],
	    span_make("/private/a\0.gmi", 15)));
	config_free(&cfg);
}

static void
test_squeeze_slashes(void)
{
	char	p[32];

	snprintf(p, sizeof(p), "//private///x//");
	CHECK_INT(11, vhost_squeeze_slashes(p, strlen(p)));
	CHECK_STR("/private/x/", p);
	snprintf(p, sizeof(p), "/");
	CHECK_INT(1, vhost_squeeze_slashes(p, 1));
	CHECK_STR("/", p);
	snprintf(p, sizeof(p), "/a/b");
	CHECK_INT(4, vhost_squeeze_slashes(p, 4));
	CHECK_STR("/a/b", p);
}

/* The redirect of rule i of rules_yaml for path and query. */
static const char *
redirect(const struct config *cfg, size_t i, const char *path,
    const char *query)
{
	static char	out[2048];
	struct buf	b;

	buf_init(&b, 1024);
	if (vhost_redirect(&b, &cfg->vhosts[0].paths[i], span_cstr(path),
	    span_cstr(query ? query : ""), query != NULL) == -1)
		snprintf(out, sizeof(out), "(full)");
	else
		snprintf(out, sizeof(out), "%s", buf_cstr(&b));
	buf_free(&b);
	return out;
}

static void
test_redirect_carries_the_rest(void)
{
	struct config	cfg;
	char		long_path[1100];

	load(&cfg, rules_yaml);
	CHECK_STR("gemini://new.example/", redirect(&cfg, 0, "/old", NULL));
	CHECK_STR("gemini://new.example/", redirect(&cfg, 0, "/old/", NULL));
	CHECK_STR("gemini://new.example/a/b.gmi",
	    redirect(&cfg, 0, "/old/a/b.gmi", NULL));
	CHECK_STR("gemini://new.example/a%20b?q=1%202",
	    redirect(&cfg, 0, "/old/a b", "q=1%202"));
	CHECK_STR("gemini://new.example/?", redirect(&cfg, 0, "/old/", ""));
	CHECK_STR("/here", redirect(&cfg, 1, "/moved", NULL));
	CHECK_STR("/here/", redirect(&cfg, 1, "/moved/", NULL));
	CHECK_STR("/here/x/y", redirect(&cfg, 1, "/moved/x/y", NULL));
	CHECK_STR("/here/%C3%A9t%C3%A9%3Ax", redirect(&cfg, 1,
	    "/moved/\xc3\xa9t\xc3\xa9:x", NULL));
	/* The root prefix carries the whole path. */
	CHECK_STR("/everything/a/b", redirect(&cfg, 4, "/a/b", NULL));
	CHECK_STR("/everything/", redirect(&cfg, 4, "/", NULL));
	CHECK_INT(31, cfg.vhosts[0].paths[0].redirect_status);
	CHECK_INT(30, cfg.vhosts[0].paths[1].redirect_status);
	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = '\0';
	CHECK_STR("(full)", redirect(&cfg, 4, long_path, NULL));
	config_free(&cfg);

	/* A glob rule sends every match to its target as written. */
	load(&cfg, "root: c\npaths: [{glob: \"*.php\", redirect: /}]\n");
	CHECK_STR("/", redirect(&cfg, 0, "/a/index.php", "x"));
	config_free(&cfg);
}

static const char *
type_of(const struct config *cfg, long rule, const char *name)
{
	const struct config_path	*pr = NULL;

	if (rule >= 0)
		pr = &cfg->vhosts[0].paths[rule];
	return vhost_file_type(&cfg->vhosts[0], pr, span_cstr(name));
}

static void
test_file_types(void)
{
	struct config	cfg;

	load(&cfg, rules_yaml);
	/* The vhost's mapping before the built-in table, any case. */
	CHECK_STR("text/plain", type_of(&cfg, -1, "/a/b.NFO"));
	CHECK_STR("text/x-own", type_of(&cfg, -1, "/a.gmi"));
	CHECK_STR("image/png", type_of(&cfg, -1, "/a.png"));
	CHECK_STR("application/x-unknown", type_of(&cfg, -1, "/a.xyz"));
	CHECK_STR("application/x-unknown", type_of(&cfg, -1, "/noext"));
	CHECK_STR("application/x-unknown", type_of(&cfg, -1, "/d.x/noext"));
	CHECK_STR("application/x-unknown", type_of(&cfg, -1, "/a/.nfo"));
	/* The rule's mapping and default before the vhost's. */
	CHECK_STR("text/x-nfo", type_of(&cfg, 2, "/fr/a.nfo"));
	CHECK_STR("text/x-own", type_of(&cfg, 2, "/fr/a.gmi"));
	CHECK_STR("text/plain", type_of(&cfg, 2, "/fr/a.xyz"));
	CHECK_STR("text/plain; charset=utf-8", type_of(&cfg, 3, "/a.txt"));
	config_free(&cfg);
	CHECK_STR("text/gemini", vhost_file_type(NULL, NULL,
	    span_cstr("/a.gmi")));
	CHECK_STR("application/octet-stream", vhost_file_type(NULL, NULL,
	    span_cstr("/a.unknown")));
}

static const char *
meta(const char *mime, const char *charset, const char *lang)
{
	static char	out[VHOST_META_MAX];

	if (vhost_meta(out, sizeof(out), mime, charset, lang) == -1)
		return "(too long)";
	return out;
}

static void
test_meta(void)
{
	struct config	cfg;

	CHECK_STR("text/gemini; charset=utf-8", meta("text/gemini", NULL,
	    NULL));
	CHECK_STR("text/gemini; charset=utf-8; lang=en", meta("text/gemini",
	    NULL, "en"));
	CHECK_STR("text/gemini; charset=iso-8859-1; lang=fr",
	    meta("text/gemini", "iso-8859-1", "fr"));
	/* The type's own charset and lang give way to the configured. */
	CHECK_STR("text/gemini; charset=utf-8; lang=de",
	    meta("text/gemini; lang=en;charset=x", NULL, "de"));
	CHECK_STR("text/plain; charset=utf-8", meta("text/plain; charset=utf-8",
	    NULL, "en"));
	CHECK_STR("text/plain; format=flowed; charset=koi8-r",
	    meta("text/plain;  format=flowed ; CHARSET=utf-8", "koi8-r",
	    "en"));
	CHECK_STR("text/css; charset=utf-8", meta("text/css", "utf-8", NULL));
	CHECK_STR("text/css", meta("text/css", NULL, "en"));
	CHECK_STR("image/png", meta("image/png", "utf-8", "en"));
	CHECK_STR("TEXT/Gemini; charset=utf-8", meta("TEXT/Gemini", NULL,
	    ""));

	load(&cfg, rules_yaml);
	CHECK_STR("en", vhost_lang(&cfg.vhosts[0], NULL));
	CHECK_STR("fr", vhost_lang(&cfg.vhosts[0], &cfg.vhosts[0].paths[2]));
	CHECK_STR("en", vhost_lang(&cfg.vhosts[0], &cfg.vhosts[0].paths[3]));
	CHECK_STR("utf-8", vhost_charset(&cfg.vhosts[0], NULL));
	CHECK_STR("koi8-r", vhost_charset(&cfg.vhosts[0],
	    &cfg.vhosts[0].paths[3]));
	CHECK(vhost_lang(NULL, NULL) == NULL);
	CHECK(vhost_charset(NULL, NULL) == NULL);
	config_free(&cfg);
}

static void
test_find(void)
{
	struct config	cfg;

	load(&cfg, "root: c\nhostname: Main.Example\naliases: [\"::1\"]\n"
	    "vhosts:\n"
	    "  - {hostname: b.example, aliases: [www.b.example], root: b}\n"
	    "  - {hostname: c.example, root: c}\n");
	CHECK_INT(3, cfg.nvhosts);
	CHECK_INT(0, vhost_find(cfg.vhosts, cfg.nvhosts,
	    span_cstr("main.example")));
	CHECK_INT(0, vhost_find(cfg.vhosts, cfg.nvhosts,
	    span_cstr("MAIN.example")));
	CHECK_INT(0, vhost_find(cfg.vhosts, cfg.nvhosts, span_cstr("::1")));
	CHECK_INT(1, vhost_find(cfg.vhosts, cfg.nvhosts,
	    span_cstr("WWW.b.example")));
	CHECK_INT(2, vhost_find(cfg.vhosts, cfg.nvhosts,
	    span_cstr("c.example")));
	CHECK_INT(-1, vhost_find(cfg.vhosts, cfg.nvhosts,
	    span_cstr("d.example")));
	CHECK_INT(-1, vhost_find(cfg.vhosts, cfg.nvhosts,
	    span_make("c.example.", 10)));
	CHECK_INT(-1, vhost_find(cfg.vhosts, cfg.nvhosts, span_cstr("")));
	config_free(&cfg);
}

int
main(void)
{
	RUN(test_prefix_matches_whole_segments);
	RUN(test_glob_rules);
	RUN(test_squeeze_slashes);
	RUN(test_redirect_carries_the_rest);
	RUN(test_file_types);
	RUN(test_meta);
	RUN(test_find);
	return CHECK_SUMMARY();
}
