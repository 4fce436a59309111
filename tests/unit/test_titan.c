#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "check.h"
#include "config.h"
#include "mem.h"
#include "serve.h"
#include "titan.h"
#include "vhost.h"

/* Parse a C-string line; the reason, or "" when it passed. */
static const char *
parse(const char *line, struct titan_request *req)
{
	const char	*reason = NULL;
	int		 rc;

	rc = titan_parse_request(span_cstr(line), req, &reason);
	if (rc == 0)
		return "";
	CHECK_INT(GEMINI_BAD_REQUEST, rc);
	return reason != NULL ? reason : "(no reason)";
}

static void
test_parse_accepts(void)
{
	struct titan_request	req;

	CHECK_STR("", parse("titan://example.org/notes/a.md;size=12;"
	    "mime=text/markdown;token=hello\r\n", &req));
	CHECK_MEM("titan://example.org/notes/a.md", req.url.p, req.url.n);
	CHECK_INT(12, req.size);
	CHECK_STR("text/markdown", req.mime);
	CHECK_STR("hello", req.token);
	CHECK_INT(5, req.token_len);
	CHECK(req.has_token);

	/* Any order, names in any case, a port, and mime by default. */
	CHECK_STR("", parse("TITAN://example.org:1965/a.gmi;TOKEN=x;Size=1"
	    "\r\n", &req));
	CHECK_MEM("TITAN://example.org:1965/a.gmi", req.url.p, req.url.n);
	CHECK_INT(1, req.size);
	CHECK_STR(TITAN_MIME_DEFAULT, req.mime);
	CHECK_STR("x", req.token);

	/* Unknown and empty parameters are ignored; values are decoded. */
	CHECK_STR("", parse("titan://h/a.txt;;edit;foo=bar;size=7;"
	    "token=a%20b+c%3B;mime=text/plain%3B%20charset%3Dutf-8\r\n",
	    &req));
	CHECK_INT(7, req.size);
	CHECK_STR("a b+c;", req.token);
	CHECK_STR("text/plain; charset=utf-8", req.mime);

	/* Empty mime and token: the default, and no token at all. */
	CHECK_STR("", parse("titan://h/a.gmi;size=3;mime=;token=\r\n", &req));
	CHECK_STR(TITAN_MIME_DEFAULT, req.mime);
	CHECK(!req.has_token);

	/* The cap itself is accepted. */
	CHECK_STR("", parse("titan://h/a.gmi;size=67108864\r\n", &req));
	CHECK_INT(TITAN_SIZE_MAX, req.size);
	CHECK(titan_is_request(span_cstr("Titan://h/x")));
	CHECK(!titan_is_request(span_cstr("gemini://h/x")));
	CHECK(!titan_is_request(span_cstr("titan")));
}

#define NOT_DECIMAL	"size must be a decimal number"

static void
test_parse_refuses(void)
{
	static const struct {
		const char	*line;
		const char	*why;
	} t[] = {
		{ "titan://h/a.gmi;size=3", "request must end with CRLF" },
		{ "titan://h/a.gmi;size=3\n", "request must end with CRLF" },
		{ "\r\n", "request is empty" },
		{ "titan://h/a b.gmi;size=3\r\n",
		    "URL must not contain spaces or control characters" },
		{ "titan://h/a\x01.gmi;size=3\r\n",
		    "URL must not contain spaces or control characters" },
		{ "titan://h/a<.gmi;size=3\r\n", "URL is malformed" },
		{ "gemini://h/a.gmi;size=3\r\n", "not a titan URL" },
		{ "/a.gmi;size=3\r\n", "not a titan URL" },
		{ "titan://h/a.gmi;size=3?x\r\n", "Titan parameters go on the "
		    "path, after ';', not in a query" },
		{ "titan://h/a.gmi?size=3\r\n", "Titan parameters go on the "
		    "path, after ';', not in a query" },
		{ "titan://h/a.gmi;size=3#f\r\n",
		    "URL must not contain a fragment" },
		{ "titan://h/a.gmi\r\n", "size is missing" },
		{ "titan://h/a.gmi;mime=text/plain\r\n", "size is missing" },
		{ "titan://h;size=3/a.gmi\r\n", "size is missing" },
		{ "titan://h/a.gmi;size\r\n", "size has no value" },
		{ "titan://h/a.gmi;size=\r\n", "size is empty" },
		{ "titan://h/a.gmi;size=+3\r\n", NOT_DECIMAL },
		{ "titan://h/a.gmi;size=-3\r\n", NOT_DECIMAL },
		{ "titan://h/a.gmi;size=3x\r\n", NOT_DECIMAL },
		{ "titan://h/a.gmi;size=0x10\r\n", NOT_DECIMAL },
		{ "titan://h/a.gmi;size=%33\r\n", NOT_DECIMAL },
		{ "titan://h/a.gmi;size=03\r\n", "size must not start with 0" },
		{ "titan://h/a.gmi;size=0\r\n",
		    "size=0 (deleting) is not supported" },
		{ "titan://h/a.gmi;size=67108865\r\n", "size is above the "
		    "largest upload capsuled accepts (67108864 bytes)" },
		{ "titan://h/a.gmi;size=184467440737095516160\r\n", "size is "
		    "above the largest upload capsuled accepts (67108864 "
		    "bytes)" },
		{ "titan://h/a.gmi;size=1;size=1\r\n", "size is given twice" },
		{ "titan://h/a.gmi;size=1;mime=a/b;mime=a/b\r\n",
		    "mime is given twice" },
		{ "titan://h/a.gmi;size=1;token=a;TOKEN=a\r\n",
		    "token is given twice" },
		{ "titan://h/a.gmi;size=1;mime=a%0Ab\r\n",
		    "mime is not a media type" },
		{ "titan://h/a.gmi;size=1;mime=a%22b\r\n",
		    "mime is not a media type" },
		{ "titan://h/a.gmi;size=1;mime=%zz\r\n",
		    "mime is not a media type" },
		{ "titan://h/a.gmi;size=1;token=a%00b\r\n",
		    "token is too long or badly encoded" },
		{ "titan://h/a.gmi;size=1;token=a%2\r\n",
		    "token is too long or badly encoded" },
	};
	struct titan_request	req;
	char			line[1100];
	size_t			i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		CHECK_STR(t[i].why, parse(t[i].line, &req));
	/* A NUL anywhere. */
	CHECK_INT(GEMINI_BAD_REQUEST, titan_parse_request(span_make(
	    "titan://h/a\0;size=1\r\n", 21), &req, NULL));
	/* 1024 bytes of URL pass; 1025 do not. */
	memset(line, 'a', sizeof(line));
	memcpy(line, "titan://h/", 10);
	memcpy(line + 1024 - 7, ";size=1\r\n", 10);
	CHECK_STR("", parse(line, &req));
	memcpy(line + 1025 - 7, ";size=1\r\n", 10);
	CHECK_STR("request is longer than 1024 bytes", parse(line, &req));
	/* A token of 256 bytes passes, even encoded; 257 do not. */
	memset(line, 0, sizeof(line));
	strcpy(line, "titan://h/a.gmi;size=1;token=");
	for (i = 0; i < TITAN_TOKEN_MAX; i++)
		strcat(line, "%41");
	strcat(line, "\r\n");
	CHECK_STR("", parse(line, &req));
	CHECK_INT(TITAN_TOKEN_MAX, req.token_len);
	strcpy(line + strlen(line) - 2, "B\r\n");
	CHECK_STR("token is too long or badly encoded", parse(line, &req));
	/* A mime of 127 bytes passes; 128 do not. */
	strcpy(line, "titan://h/a.gmi;size=1;mime=");
	memset(line + strlen(line), 'm', TITAN_MIME_MAX);
	strcpy(line + 28 + TITAN_MIME_MAX, "\r\n");
	CHECK_STR("", parse(line, &req));
	CHECK_INT(TITAN_MIME_MAX, strlen(req.mime));
	strcpy(line + 28 + TITAN_MIME_MAX, "m\r\n");
	CHECK_STR("mime is not a media type", parse(line, &req));
}

static void
test_token(void)
{
	CHECK(titan_token_ok(span_cstr("s3cret"), "s3cret"));
	CHECK(!titan_token_ok(span_cstr("s3cre"), "s3cret"));
	CHECK(!titan_token_ok(span_cstr("s3cret!"), "s3cret"));
	CHECK(!titan_token_ok(span_cstr("S3cret"), "s3cret"));
	CHECK(!titan_token_ok(span_cstr(""), "s3cret"));
	CHECK(titan_token_ok(span_make("a\0b", 3), "a") == false);
}

static void
test_names(void)
{
	static const char *const ok[] = {
		"/a.gmi", "/notes/a.md", "/x/y/Z.TXT", "/p.png", "/p.jpg",
		"/p.JPEG", "/p.gif", "/p.webp", "/a b.gemini", "/a.tar.md",
		"/ünï.md"
	};
	static const char *const bad[] = {
		"/", "/notes/", "/a", "/a.", "/.a.md", "/notes/.x.md",
		"/a.html", "/a.sh", "/a.md.sh", "/a\x7f.md", "/a\n.md",
		"/a.svg", "/md"
	};
	char	 longname[300];
	size_t	 i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!titan_name_ok(span_cstr(ok[i]))) {
			fprintf(stderr, "refused %s\n", ok[i]);
			CHECK(!"name accepted");
		}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (titan_name_ok(span_cstr(bad[i]))) {
			fprintf(stderr, "accepted %s\n", bad[i]);
			CHECK(!"name refused");
		}
	memset(longname, 'a', sizeof(longname));
	longname[0] = '/';
	memcpy(longname + 256 - 3, ".md", 4);
	CHECK(titan_name_ok(span_cstr(longname)));
	memcpy(longname + 257 - 3, ".md", 4);
	CHECK(!titan_name_ok(span_cstr(longname)));
}

static void
test_redact(void)
{
	char	a[] = "titan://h/a.gmi;size=3;token=hello;mime=x\r\n";
	char	b[] = "titan://h/a.gmi;TOKEN=s%20t\r\n";
	char	c[] = "titan://h/a.gmi;token=;token=ab?q#f;xtoken=no";
	char	d[] = "gemini://h/token=keep;toke=keep";
	char	e[80];

	titan_redact_token(a, strlen(a));
	CHECK_STR("titan://h/a.gmi;size=3;token=*****;mime=x\r\n", a);
	titan_redact_token(b, strlen(b));
	CHECK_STR("titan://h/a.gmi;TOKEN=*****\r\n", b);
	titan_redact_token(c, strlen(c));
	CHECK_STR("titan://h/a.gmi;token=;token=**?q#f;xtoken=no", c);
	titan_redact_token(d, strlen(d));
	CHECK_STR("gemini://h/token=keep;toke=keep", d);
	/* Only the parameters hold tokens; a line that is no URL, anywhere. */
	strcpy(e, "titan://u;token=x@h;token=y/b;token=z/c.md;size=1;token=ab");
	titan_redact_token(e, strlen(e));
	CHECK_STR("titan://u;token=x@h;token=y/b;token=******;size=1;token=**",
	    e);
	strcpy(e, "titan://h/a b;token=xy\r\n");
	titan_redact_token(e, strlen(e));
	CHECK_STR("titan://h/a b;token=**\r\n", e);
	/* Only the n bytes given are touched. */
	strcpy(a, "x;token=abc");
	titan_redact_token(a, 9);
	CHECK_STR("x;token=*bc", a);
}

static char		root[64];
static struct capsule	cap;

static void
put(const char *rel, const char *text)
{
	char	 path[256];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if ((f = fopen(path, "w")) == NULL)
		abort();
	fputs(text, f);
	fclose(f);
}

/* The contents of a file of the capsule, or "(none)". */
static const char *
slurp(const char *rel)
{
	static char	 b[4096];
	char		 path[256];
	FILE		*f;
	size_t		 n;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if ((f = fopen(path, "r")) == NULL)
		return "(none)";
	n = fread(b, 1, sizeof(b) - 1, f);
	b[n] = '\0';
	fclose(f);
	return b;
}

/* Temporary files left in a directory of the capsule. */
static int
leftovers(const char *rel)
{
	char		 path[256];
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, ".titan-", 7) == 0)
			n++;
	closedir(d);
	return n;
}

static void
setup_capsule(void)
{
	char		path[256];
	struct buf	err;

	snprintf(root, sizeof(root), "/tmp/titan-unit.XXXXXX");
	if (mkdtemp(root) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/notes", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/notes/sub", root);
	mkdir(path, 0755);
	put("index.gmi", "# Home\n");
	put("notes/old.md", "old\n");
	snprintf(path, sizeof(path), "%s/notes/out", root);
	if (symlink("/tmp", path) == -1)
		abort();
	snprintf(path, sizeof(path), "%s/notes/link.md", root);
	if (symlink("old.md", path) == -1)
		abort();
	buf_init(&err, 1024);
	if (capsule_open(&cap, root, &err) == -1)
		abort();
	buf_free(&err);
}

static enum titan_open
open_at(struct titan_upload *up, const char *path, size_t size)
{
	titan_upload_init(up);
	return titan_upload_open(up, &cap, path, strlen(path), size);
}

static void
test_upload_commit_and_abort(void)
{
	struct titan_upload	up;
	struct stat		before, after;
	char			path[256];

	CHECK_INT(TITAN_OPEN_OK, open_at(&up, "/notes/new.md", 5));
	CHECK_INT(1, leftovers("notes"));
	CHECK_INT(3, titan_upload_write(&up, "hel", 3));
	CHECK(!titan_upload_complete(&up));
	/* Bytes past the announced size are not taken. */
	CHECK_INT(2, titan_upload_write(&up, "lo, world", 9));
	CHECK(titan_upload_complete(&up));
	CHECK_INT(0, titan_upload_write(&up, "x", 1));
	CHECK_STR("(none)", slurp("notes/new.md"));
	CHECK_INT(0, titan_upload_commit(&up));
	CHECK_STR("hello", slurp("notes/new.md"));
	CHECK_INT(0, leftovers("notes"));
	CHECK_INT(-1, up.fd);
	CHECK_INT(-1, up.dirfd);
	titan_upload_abort(&up);
	CHECK_STR("hello", slurp("notes/new.md"));

	/* A replacement is a new file: readers holding the old keep it. */
	snprintf(path, sizeof(path), "%s/notes/old.md", root);
	CHECK_INT(0, stat(path, &before));
	CHECK_INT(TITAN_OPEN_OK, open_at(&up, "/notes/old.md", 3));
	titan_upload_write(&up, "new", 3);
	CHECK_INT(0, titan_upload_commit(&up));
	CHECK_INT(0, stat(path, &after));
	CHECK(before.st_ino != after.st_ino);
	CHECK_STR("new", slurp("notes/old.md"));

	/* Given up half-way: nothing is left, the old file stays. */
	CHECK_INT(TITAN_OPEN_OK, open_at(&up, "/notes/old.md", 10));
	titan_upload_write(&up, "partial", 7);
	titan_upload_abort(&up);
	CHECK_STR("new", slurp("notes/old.md"));
	CHECK_INT(0, leftovers("notes"));
	titan_upload_abort(&up);

	/* Committing an incomplete one fails, and cleans up too. */
	CHECK_INT(TITAN_OPEN_OK, open_at(&up, "/notes/half.md", 10));
	titan_upload_write(&up, "abc", 3);
	CHECK_INT(-1, titan_upload_commit(&up));
	CHECK_STR("(none)", slurp("notes/half.md"));
	CHECK_INT(0, leftovers("notes"));

	/* A failed write is remembered; the rest is taken all the same. */
	CHECK_INT(TITAN_OPEN_OK, open_at(&up, "/notes/full.md", 6));
	close(up.fd);
	up.fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	CHECK_INT(3, titan_upload_write(&up, "abc", 3));
	CHECK(up.error != 0);
	CHECK_INT(3, titan_upload_write(&up, "def", 3));
	CHECK(titan_upload_complete(&up));
	CHECK_INT(-1, titan_upload_commit(&up));
	CHECK_STR("(none)", slurp("notes/full.md"));
	CHECK_INT(0, leftovers("notes"));

	/* In the root too. */
	CHECK_INT(TITAN_OPEN_OK, open_at(&up, "/top.txt", 2));
	titan_upload_write(&up, "ok", 2);
	CHECK_INT(0, titan_upload_commit(&up));
	CHECK_STR("ok", slurp("top.txt"));
}

static void
test_upload_refusals(void)
{
	struct titan_upload	up;

	CHECK_INT(TITAN_OPEN_NO_DIR, open_at(&up, "/nodir/a.md", 1));
	CHECK_INT(TITAN_OPEN_NO_DIR, open_at(&up, "/notes/old.md/a.md", 1));
	/* A link out of the capsule is no way in. */
	CHECK_INT(TITAN_OPEN_NO_DIR, open_at(&up, "/notes/out/a.md", 1));
	CHECK_INT(TITAN_OPEN_NO_DIR, open_at(&up, "/.hidden/a.md", 1));
	CHECK_INT(TITAN_OPEN_NO_DIR, open_at(&up, "/notes/../../a.md", 1));
	CHECK_INT(TITAN_OPEN_NOT_FILE, open_at(&up, "/notes/sub", 1));
	CHECK_INT(TITAN_OPEN_NOT_FILE, open_at(&up, "/notes/link.md", 1));
	CHECK_INT(TITAN_OPEN_ERROR, open_at(&up, "/notes/", 1));
	CHECK_INT(TITAN_OPEN_ERROR, open_at(&up, "a.md", 1));
	CHECK_INT(-1, up.fd);
	CHECK_INT(-1, up.dirfd);
	CHECK_INT(0, leftovers("notes"));
}

/* Config: the titan keys, their defaults and their mistakes. */
static char *
config_error(const char *yaml)
{
	struct config	 cfg;
	struct buf	 err;
	char		*msg = NULL;

	config_init(&cfg);
	buf_init(&err, 8192);
	if (config_load_mem(&cfg, "t.yaml", span_cstr(yaml), &err) == -1)
		msg = mem_strdup(buf_cstr(&err) ? err.p : "?");
	config_free(&cfg);
	buf_free(&err);
	return msg;
}

static void
check_config_error(const char *yaml, const char *want)
{
	char	*got = config_error(yaml);

	CHECK_STR(want, got != NULL ? got : "(loaded)");
	free(got);
}

#define FP	"9f86d081884c7d659a2feaa0c55ad015" \
		"a3bf4f1b2b0b822cd15d6c15b0f00a08"

static void
test_config(void)
{
	struct config			 cfg;
	struct buf			 err;
	const struct config_path	*pr;

	config_init(&cfg);
	buf_init(&err, 4096);
	CHECK_INT(0, config_load_mem(&cfg, "t.yaml", span_cstr(
	    "paths:\n"
	    "  - prefix: /notes/\n"
	    "    client_cert: {fingerprints: [\"" FP "\"]}\n"
	    "    titan: {token: \"s3cret\", max_size: 4096}\n"
	    "  - prefix: /drop/\n"
	    "    client_cert: {fingerprints: [\"" FP "\"]}\n"
	    "    titan: {}\n"
	    "  - prefix: /notes/\n"
	    "    lang: fr\n"
	    "  - prefix: /off/\n"
	    "    titan: ~\n"), &err));
	CHECK_STR("", buf_cstr(&err) ? err.p : "");
	CHECK_INT(4, cfg.vhosts[0].npaths);
	pr = &cfg.vhosts[0].paths[0];
	CHECK(pr->titan);
	CHECK_STR("s3cret", pr->titan_token);
	CHECK_INT(4096, pr->titan_max_size);
	CHECK_INT(4, pr->titan_at.line);
	CHECK_INT(12, pr->titan_at.col);
	pr = &cfg.vhosts[0].paths[1];
	CHECK(pr->titan);
	CHECK(pr->titan_token == NULL);
	CHECK_INT(TITAN_SIZE_DEFAULT, pr->titan_max_size);
	CHECK(!cfg.vhosts[0].paths[3].titan);
	/* Reads never see an upload rule: the next match decides. */
	CHECK(vhost_rule(&cfg.vhosts[0], span_cstr("/notes/a.gmi")) ==
	    &cfg.vhosts[0].paths[2]);
	CHECK(vhost_rule(&cfg.vhosts[0], span_cstr("/drop/a.gmi")) == NULL);
	config_free(&cfg);
	buf_free(&err);

	check_config_error("paths:\n  - prefix: /notes/\n    titan: {}\n",
	    "t.yaml:3:12: 'paths.titan' needs 'client_cert' in the same "
	    "entry, or anyone could upload; add e.g. client_cert: "
	    "{fingerprints: [\"<SHA-256 of your certificate>\"]}");
	check_config_error("vhosts:\n  - hostname: b.test\n    root: b\n"
	    "    paths:\n      - {prefix: /n/, titan: {token: x}}\n",
	    "t.yaml:5:30: 'vhosts.paths.titan' needs 'client_cert' in the "
	    "same entry, or anyone could upload; add e.g. client_cert: "
	    "{fingerprints: [\"<SHA-256 of your certificate>\"]}");
	check_config_error("paths:\n  - prefix: /notes/\n"
	    "    client_cert: {fingerprints: [\"" FP "\"]}\n"
	    "    redirect: /x/\n    titan: {}\n",
	    "t.yaml:5:12: this 'paths' entry has 'titan' and 'redirect': an "
	    "upload rule takes only prefix or glob, client_cert and titan, "
	    "and reads never see it; move 'redirect' to an entry of its own");
	check_config_error("paths:\n  - prefix: /notes/\n"
	    "    client_cert: {fingerprints: [\"" FP "\"]}\n"
	    "    titan: {}\n    lang: en\n",
	    "t.yaml:4:12: this 'paths' entry has 'titan' and 'lang': an "
	    "upload rule takes only prefix or glob, client_cert and titan, "
	    "and reads never see it; move 'lang' to an entry of its own");
	check_config_error("paths:\n  - prefix: /notes/\n"
	    "    client_cert: {fingerprints: [\"" FP "\"]}\n"
	    "    titan: {max_size: 67108865}\n",
	    "t.yaml:4:23: 'titan.max_size' must be a number of bytes from 1 "
	    "to 67108864, not '67108865'; write e.g. max_size: 1048576");
	check_config_error("paths:\n  - prefix: /notes/\n"
	    "    client_cert: {fingerprints: [\"" FP "\"]}\n"
	    "    titan: {max_size: 0}\n",
	    "t.yaml:4:23: 'titan.max_size' must be a number of bytes from 1 "
	    "to 67108864, not '0'; write e.g. max_size: 1048576");
	check_config_error("paths:\n  - prefix: /notes/\n"
	    "    client_cert: {fingerprints: [\"" FP "\"]}\n"
	    "    titan: {token: \"\"}\n",
	    "t.yaml:4:20: 'titan.token' must be a secret of 1 to 256 "
	    "characters, no control characters, not an empty string; write "
	    "e.g. token: \"a long random string\"");
	check_config_error("paths:\n  - prefix: /notes/\n"
	    "    client_cert: {fingerprints: [\"" FP "\"]}\n"
	    "    titan: {tokn: x}\n",
	    "t.yaml:4:13: unknown key 'tokn' in 'titan' (did you mean "
	    "'token'?); valid keys: token, max_size");
	check_config_error("paths:\n  - prefix: /notes/\n"
	    "    client_cert: {fingerprints: [\"" FP "\"]}\n"
	    "    titan: yes\n",
	    "t.yaml:4:12: 'paths.titan' must be a mapping with token, "
	    "max_size or neither, not 'yes'; write e.g. titan: {token: "
	    "\"a long random string\", max_size: 1048576}");
}

/* A self-signed certificate for the serve tests. */
static X509 *
self_signed(const char *cn, EVP_PKEY *k)
{
	X509		*x = X509_new();
	X509_NAME	*name;

	if (x == NULL)
		abort();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -86400);
	X509_gmtime_adj(X509_getm_notAfter(x), 30 * 86400);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_set_pubkey(x, k);
	if (X509_sign(x, k, EVP_sha256()) == 0)
		abort();
	return x;
}

static struct config		 vcfg;
static struct serve_vhost	 sv;
static struct cache		 cache;
static const char		*names[] = { "main.example" };
static struct gemini_policy	 policy = { names, 1, 1965 };
static struct serve_ctx		 sc;

static void
setup_serve(const char *fp)
{
	char		yaml[1024], path[256];
	struct buf	err;

	snprintf(yaml, sizeof(yaml),
	    "hostname: main.example\n"
	    "root: %s\n"
	    "paths:\n"
	    "  - prefix: /notes/\n"
	    "    client_cert: {fingerprints: [\"%s\"]}\n"
	    "    titan: {token: \"s3cret\", max_size: 64}\n"
	    "  - prefix: /open/\n"
	    "    client_cert: {fingerprints: [\"%s\"]}\n"
	    "    titan: {}\n",
	    root, fp, fp);
	config_init(&vcfg);
	buf_init(&err, 4096);
	if (config_load_mem(&vcfg, "t.yaml", span_cstr(yaml), &err) == -1 ||
	    config_finish(&vcfg, &err) == -1) {
		fprintf(stderr, "%s\n", buf_cstr(&err));
		abort();
	}
	buf_free(&err);
	snprintf(path, sizeof(path), "%s/open", root);
	mkdir(path, 0755);
	sv.cfg = &vcfg.vhosts[0];
	sv.capsule = cap;
	sv.ca = NULL;
	cache_init(&cache, 1 << 20);
	sc.policy = &policy;
	sc.vhosts = &sv;
	sc.nvhosts = 1;
	sc.capsule = &sv.capsule;
	sc.hostname = "main.example";
	sc.cache = &cache;
	sc.gopher_host = "main.example";
	sc.gopher_port = 70;
}

/* The header line of r, without CRLF. */
static const char *
head_of(struct response *r)
{
	static char	head[GEMINI_META_MAX + 8];

	snprintf(head, sizeof(head), "%.*s", (int)(r->head.len >= 2 ?
	    r->head.len - 2 : 0), r->head.p);
	return head;
}

/*
 * Send a Titan request with cert and body; the header of the answer.  A
 * body shorter than the size leaves the upload half-way, given up.
 */
static const char *
titan(const char *url, X509 *cert, const char *body)
{
	static struct response	 r;
	char			 line[1100];
	struct serve_client	 cl = { NULL, cert, NULL };
	struct titan_upload	*up;
	const char		*h;

	snprintf(line, sizeof(line), "%s\r\n", url);
	response_init(&r);
	up = serve_titan(&sc, span_cstr(line), &cl, &r);
	if (up != NULL) {
		CHECK_INT(0, r.head.len);
		titan_upload_write(up, body, strlen(body));
		if (titan_upload_complete(up))
			serve_titan_done(up, &r);
		else {
			titan_upload_abort(up);
			free(up);
			response_free(&r);
			return "(given up)";
		}
	}
	h = head_of(&r);
	response_free(&r);
	return h;
}

static void
test_serve_titan(X509 *author, X509 *other)
{
	struct response		r;
	struct serve_client	cl = { NULL, NULL, NULL };
	char			line[128];

	CHECK_STR("30 gemini://main.example/notes/hello.gmi",
	    titan("titan://main.example/notes/hello.md;size=21;token=s3cret;"
	    "mime=text/markdown", author, "---\ntitle: Hi\n---\nyo\n"));
	CHECK_STR("---\ntitle: Hi\n---\nyo\n", slurp("notes/hello.md"));
	/* Then served rendered, with no certificate: reads skip the rule. */
	snprintf(line, sizeof(line), "gemini://main.example/notes/hello.gmi"
	    "\r\n");
	response_init(&r);
	serve_gemini(&sc, span_cstr(line), &cl, &r);
	CHECK_STR("20 text/gemini; charset=utf-8", head_of(&r));
	CHECK(buf_cstr(&r.body) != NULL && strstr(r.body.p, "# Hi\n") != NULL);
	response_free(&r);

	CHECK_STR("30 gemini://main.example/notes/",
	    titan("titan://main.example/notes/index.gmi;size=2;token=s3cret",
	    author, "ok"));
	CHECK_STR("30 gemini://main.example/notes/a%20b.txt",
	    titan("titan://main.example/notes/a%20b.txt;size=2;token=s3cret",
	    author, "ok"));
	CHECK_STR("ok", slurp("notes/a b.txt"));
	/* No token asked: none needed, any sent is ignored. */
	CHECK_STR("30 gemini://main.example/open/x.gmi",
	    titan("titan://main.example/open/x.gmi;size=1", author, "x"));
	CHECK_STR("30 gemini://main.example/open/x.gmi",
	    titan("titan://main.example/open/x.gmi;size=1;token=zz", author,
	    "y"));

	/* Refusals, in the order serve.h gives. */
	CHECK_STR("59 size is missing",
	    titan("titan://main.example/notes/a.md", author, ""));
	CHECK_STR("53 host is not served here",
	    titan("titan://other.example/notes/a.md;size=1", author, "x"));
	CHECK_STR("53 port is not served here",
	    titan("titan://main.example:1966/notes/a.md;size=1", author, "x"));
	CHECK_STR("59 path goes above the root",
	    titan("titan://main.example/notes/%2e%2e/%2e%2e/a.md;size=1;"
	    "token=s3cret", author, "x"));
	CHECK_STR("59 Uploads are not accepted here",
	    titan("titan://main.example/notes/../a.md;size=1;token=s3cret",
	    author, "x"));
	CHECK_STR("59 Uploads are not accepted here",
	    titan("titan://main.example/a.md;size=1;token=s3cret", author,
	    "x"));
	CHECK_STR("59 Uploads are not accepted here",
	    titan("titan://main.example/notesx/a.md;size=1;token=s3cret",
	    author, "x"));
	CHECK_STR("60 A client certificate is required",
	    titan("titan://main.example/notes/a.md;size=1;token=s3cret", NULL,
	    "x"));
	CHECK_STR("61 This certificate is not authorised here",
	    titan("titan://main.example/notes/a.md;size=1;token=s3cret", other,
	    "x"));
	CHECK_STR("59 Wrong or missing token",
	    titan("titan://main.example/notes/a.md;size=1;token=s3cre", author,
	    "x"));
	CHECK_STR("59 Wrong or missing token",
	    titan("titan://main.example/notes/a.md;size=1", author, "x"));
	CHECK_STR("59 Upload is larger than the limit of 64 bytes here",
	    titan("titan://main.example/notes/a.md;size=65;token=s3cret",
	    author, "x"));
	CHECK_STR("59 Hidden files and directories cannot be uploaded to",
	    titan("titan://main.example/notes/.a.md;size=1;token=s3cret",
	    author, "x"));
	CHECK_STR("59 Only .gmi, .md, .txt and image files (.png, .jpg, .gif, "
	    ".webp) can be uploaded",
	    titan("titan://main.example/notes/a.sh;size=1;token=s3cret",
	    author, "x"));
	CHECK_STR("59 Only .gmi, .md, .txt and image files (.png, .jpg, .gif, "
	    ".webp) can be uploaded",
	    titan("titan://main.example/notes/;size=1;token=s3cret", author,
	    "x"));
	CHECK_STR("51 No such directory: create it before uploading into it",
	    titan("titan://main.example/notes/new/a.md;size=1;token=s3cret",
	    author, "x"));
	CHECK_STR("51 No such directory: create it before uploading into it",
	    titan("titan://main.example/notes/out/a.md;size=1;token=s3cret",
	    author, "x"));
	CHECK_STR("59 This name is taken by a directory or a special file",
	    titan("titan://main.example/notes/link.md;size=1;token=s3cret",
	    author, "x"));
	CHECK_STR("(given up)",
	    titan("titan://main.example/notes/late.md;size=9;token=s3cret",
	    author, "abc"));
	CHECK_STR("(none)", slurp("notes/late.md"));
	CHECK_INT(0, leftovers("notes"));
	CHECK_INT(0, leftovers("open"));
}

/* Another public port shows in the URL the client is sent to. */
static void
test_serve_titan_port(X509 *author)
{
	policy.port = 1966;
	CHECK_STR("30 gemini://main.example:1966/open/p.png",
	    titan("titan://main.example:1966/open/p.png;size=1", author, "x"));
	policy.port = 1965;
}

/*
 * Fail each allocation in turn: every answer is a status line or nothing
 * (the connection is then closed), never a crash, a leak (the sanitizer
 * build checks that) or a file left behind.
 */
static void
test_serve_titan_out_of_memory(X509 *author)
{
	unsigned long	 n;
	bool		 injected = true;
	const char	*h;

	for (n = 1; injected && n < 200; n++) {
		mem_fail_after(n, 1);
		h = titan("titan://main.example/open/m.md;size=1", author, "x");
		injected = mem_count() >= n;
		mem_fail_after(0, 0);
		CHECK(h[0] == '\0' || strncmp(h, "30 ", 3) == 0 ||
		    strncmp(h, "40 ", 3) == 0);
	}
	CHECK(!injected);
	CHECK_INT(0, leftovers("open"));
}

static void
test_serve(void)
{
	EVP_PKEY	*k = EVP_EC_gen("P-256");
	X509		*author = self_signed("author", k);
	X509		*other = self_signed("other", k);
	unsigned char	 md[32];
	unsigned int	 n;
	char		 hex[65];
	size_t		 i;

	X509_digest(author, EVP_sha256(), md, &n);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	setup_serve(hex);
	test_serve_titan(author, other);
	test_serve_titan_port(author);
	test_serve_titan_out_of_memory(author);
	cache_free(&cache);
	config_free(&vcfg);
	X509_free(author);
	X509_free(other);
	EVP_PKEY_free(k);
}

int
main(void)
{
	char	cmd[128];
	int	rc;

	setup_capsule();
	RUN(test_parse_accepts);
	RUN(test_parse_refuses);
	RUN(test_token);
	RUN(test_names);
	RUN(test_redact);
	RUN(test_upload_commit_and_abort);
	RUN(test_upload_refusals);
	RUN(test_config);
	RUN(test_serve);
	capsule_close(&cap);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
	rc = CHECK_SUMMARY();
	return rc;
}
