#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capsule.h"
#include "check.h"
#include "mem.h"

static char	root[256];
static char	outside[300];

static void
put(const char *rel, const char *text)
{
	char	path[512];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if ((f = fopen(path, "w")) == NULL)
		return;
	fputs(text, f);
	fclose(f);
}

static void
make_tree(void)
{
	char	 path[512];
	FILE	*f;

	snprintf(root, sizeof(root), "/tmp/capsule-unit.XXXXXX");
	if (mkdtemp(root) == NULL)
		abort();
	snprintf(outside, sizeof(outside), "%s.outside", root);
	if ((mkdir(outside, 0700)) == -1)
		abort();
	snprintf(path, sizeof(path), "%s/docs", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/b dir", root);
	mkdir(path, 0755);
	put("index.gmi", "# hi\n");
	put("docs/a.txt", "a\n");
	put("docs/Z.png", "png");
	put(".secret", "no\n");
	snprintf(path, sizeof(path), "%s/secret.txt", outside);
	if ((f = fopen(path, "w")) == NULL)
		abort();
	fclose(f);
	snprintf(path, sizeof(path), "%s/out", root);
	if (symlink(outside, path) == -1)
		abort();
	snprintf(path, sizeof(path), "%s/docs/fifo", root);
	if (mkfifo(path, 0644) == -1)
		abort();
}

static void
rename_index(bool away)
{
	char	a[512], b[512];

	snprintf(a, sizeof(a), "%s/index.gmi", root);
	snprintf(b, sizeof(b), "%s/index.old", root);
	if (away ? rename(a, b) : rename(b, a))
		abort();
}

static void
resolve(const char *path, struct capsule_obj *o)
{
	struct capsule	c;
	struct buf	err;

	buf_init(&err, 1024);
	CHECK_INT(0, capsule_open(&c, root, &err));
	capsule_obj_init(o);
	CHECK_INT(0, capsule_resolve(&c, path, strlen(path), o));
	capsule_close(&c);
	buf_free(&err);
}

static void
test_root_serves_index(void)
{
	struct capsule_obj	o;

	resolve("/", &o);
	CHECK_INT(CAPSULE_FILE, o.kind);
	CHECK_STR("text/gemini", o.mime);
	CHECK_INT(5, o.size);
	CHECK(o.fd != -1);
	capsule_obj_free(&o);
}

static void
test_directory_without_slash_redirects(void)
{
	struct capsule_obj	o;

	resolve("/b dir", &o);
	CHECK_INT(CAPSULE_REDIRECT, o.kind);
	CHECK_STR("/b%20dir/", buf_cstr(&o.location));
	capsule_obj_free(&o);
}

static void
test_listing_sorted_dirs_first_encoded(void)
{
	struct capsule_obj	o;

	put("docs/b c.gmi", "x");
	resolve("/docs/", &o);
	CHECK_INT(CAPSULE_LISTING, o.kind);
	CHECK_STR("# Index of /docs/\n\n"
	    "=> ../ Parent directory\n"
	    "=> Z.png Z.png\n"
	    "=> a.txt a.txt\n"
	    "=> b%20c.gmi b c.gmi\n", buf_cstr(&o.body));
	capsule_obj_free(&o);
}

static void
test_dotfiles_and_escapes_not_found(void)
{
	struct capsule_obj	o;

	resolve("/.secret", &o);
	CHECK_INT(CAPSULE_NOT_FOUND, o.kind);
	capsule_obj_free(&o);
	resolve("/out/secret.txt", &o);
	CHECK_INT(CAPSULE_NOT_FOUND, o.kind);
	capsule_obj_free(&o);
	resolve("/out/", &o);
	CHECK_INT(CAPSULE_NOT_FOUND, o.kind);
	capsule_obj_free(&o);
	resolve("/docs/fifo", &o);
	CHECK_INT(CAPSULE_NOT_FOUND, o.kind);
	capsule_obj_free(&o);
	resolve("/docs/a.txt/", &o);
	CHECK_INT(CAPSULE_NOT_FOUND, o.kind);
	capsule_obj_free(&o);
	resolve("/nothing", &o);
	CHECK_INT(CAPSULE_NOT_FOUND, o.kind);
	capsule_obj_free(&o);
}

/* One stat of the file resolve serves, and of nothing else. */
static void
test_stat_file(void)
{
	struct capsule_obj	o;
	struct capsule		c;
	struct buf		err;
	struct stat		st;

	resolve("/", &o);
	buf_init(&err, 1024);
	CHECK_INT(0, capsule_open(&c, root, &err));
	CHECK_INT(0, capsule_stat_file(&c, "/", 1, &st));
	CHECK(st.st_ino == o.st.st_ino && st.st_dev == o.st.st_dev);
	CHECK_INT(0, capsule_stat_file(&c, "/docs/a.txt", 11, &st));
	CHECK_INT(2, st.st_size);
	CHECK_INT(-1, capsule_stat_file(&c, "/.secret", 8, &st));
	CHECK_INT(-1, capsule_stat_file(&c, "/docs/.", 7, &st));
	CHECK_INT(-1, capsule_stat_file(&c, "/docs/fifo", 10, &st));
	CHECK_INT(-1, capsule_stat_file(&c, "/docs/", 6, &st));
	CHECK_INT(-1, capsule_stat_file(&c, "/docs", 5, &st));
	CHECK_INT(-1, capsule_stat_file(&c, "docs/a.txt", 10, &st));
	/* The directory a listing is made of, the root too. */
	CHECK_INT(0, capsule_stat_dir(&c, "/docs/", 6, &st));
	CHECK(S_ISDIR(st.st_mode));
	CHECK_INT(0, capsule_stat_dir(&c, "/", 1, &st));
	CHECK(S_ISDIR(st.st_mode));
	CHECK_INT(-1, capsule_stat_dir(&c, "/docs/a.txt", 11, &st));
	CHECK_INT(-1, capsule_stat_dir(&c, "/.git/", 6, &st));
	CHECK_INT(-1, capsule_stat_dir(&c, "/none/", 6, &st));
	capsule_close(&c);
	buf_free(&err);
	capsule_obj_free(&o);
}

static void
unlink_in(const char *rel)
{
	char	path[512];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	unlink(path);
}

/* The post behind a .gmi address or a directory, while no file is there. */
static void
test_stat_post(void)
{
	struct capsule_obj	o;
	struct capsule		c;
	struct buf		err;
	struct stat		st;

	put("post.md", "# Post\n");
	put("docs/index.md", "# Docs\n");
	buf_init(&err, 1024);
	CHECK_INT(0, capsule_open(&c, root, &err));
	resolve("/post.gmi", &o);
	CHECK_INT(CAPSULE_POST, o.kind);
	CHECK_INT(0, capsule_stat_post(&c, "/post.gmi", 9, &st));
	CHECK(st.st_ino == o.st.st_ino && st.st_dev == o.st.st_dev);
	capsule_obj_free(&o);
	CHECK_INT(0, capsule_stat_post(&c, "/docs/", 6, &st));
	CHECK_INT(7, st.st_size);
	/* A file of the .gmi name, or an index.gmi, wins. */
	put("post.gmi", "# File\n");
	CHECK_INT(-1, capsule_stat_post(&c, "/post.gmi", 9, &st));
	unlink_in("post.gmi");
	CHECK_INT(-1, capsule_stat_post(&c, "/", 1, &st));
	CHECK_INT(-1, capsule_stat_post(&c, "/none.gmi", 9, &st));
	CHECK_INT(-1, capsule_stat_post(&c, "/post.md", 8, &st));
	CHECK_INT(-1, capsule_stat_post(&c, "/post", 5, &st));
	CHECK_INT(-1, capsule_stat_post(&c, "/.post.gmi", 10, &st));
	capsule_close(&c);
	buf_free(&err);
	unlink_in("post.md");
	unlink_in("docs/index.md");
}

static void
test_root_listing_twice(void)
{
	struct capsule		c;
	struct capsule_obj	o;
	struct buf		err;
	int			i;

	/* Listings read a dup of the root descriptor, which shares its offset. */
	buf_init(&err, 1024);
	CHECK_INT(0, capsule_open(&c, root, &err));
	rename_index(true);
	for (i = 0; i < 2; i++) {
		capsule_obj_init(&o);
		CHECK_INT(0, capsule_resolve(&c, "/", 1, &o));
		CHECK_INT(CAPSULE_LISTING, o.kind);
		CHECK(o.body.p != NULL && strstr(buf_cstr(&o.body), "=> docs/") != NULL);
		capsule_obj_free(&o);
	}
	rename_index(false);
	capsule_close(&c);
	buf_free(&err);
}

static void
test_mime_types(void)
{
	CHECK_STR("text/gemini", capsule_mime_for_name("a/b.gmi"));
	CHECK_STR("image/png", capsule_mime_for_name("x.PNG"));
	CHECK_STR("application/octet-stream", capsule_mime_for_name("README"));
	CHECK_STR("application/octet-stream", capsule_mime_for_name("a.d/x"));
	CHECK_STR("text/plain; charset=utf-8", capsule_mime_for_name("a.txt"));
}

static void
test_missing_root_names_path(void)
{
	struct capsule	c;
	struct buf	err;

	buf_init(&err, 1024);
	CHECK_INT(-1, capsule_open(&c, "/nonexistent/capsule", &err));
	CHECK(strstr(buf_cstr(&err), "/nonexistent/capsule") != NULL);
	buf_free(&err);
}

static void
test_listing_survives_allocation_failure(void)
{
	struct capsule		c;
	struct capsule_obj	o;
	struct buf		err;
	unsigned long		n;
	int			rc;

	buf_init(&err, 1024);
	CHECK_INT(0, capsule_open(&c, root, &err));
	for (n = 1; n < 200; n++) {
		capsule_obj_init(&o);
		mem_fail_after(n, 1);
		rc = capsule_resolve(&c, "/docs/", 6, &o);
		mem_fail_after(0, 0);
		capsule_obj_free(&o);
		if (rc == 0)
			break;
		CHECK_INT(CAPSULE_ERROR, o.kind);
	}
	CHECK(n < 200);
	capsule_close(&c);
	buf_free(&err);
}

/* A stat whose modification and change times are now plus m and c s. */
static struct stat
stat_at(time_t m, time_t c)
{
	struct stat	st;
	struct timespec	now;

	/* The clock capsule_is_settled reads. */
	if (clock_gettime(CLOCK_REALTIME_COARSE, &now) == -1)
		abort();
	memset(&st, 0, sizeof(st));
	st.st_mtim.tv_sec = now.tv_sec + m;
	st.st_ctim.tv_sec = now.tv_sec + c;
	return st;
}

/* Settled: both times more than a second away from now, either way. */
static void
test_settled_times(void)
{
	struct stat	st;

	st = stat_at(0, 0);
	CHECK(!capsule_is_settled(&st));
	st = stat_at(-30, -30);
	CHECK(capsule_is_settled(&st));
	/* Set back by touch: the change time still says just now. */
	st = stat_at(-30, 0);
	CHECK(!capsule_is_settled(&st));
	/* Ahead of the clock: the next edit stamps another time. */
	st = stat_at(3600, -30);
	CHECK(capsule_is_settled(&st));
	st = stat_at(1, -30);
	CHECK(!capsule_is_settled(&st));
	capsule_skew_clock(30);
	st = stat_at(0, 0);
	CHECK(capsule_is_settled(&st));
	capsule_skew_clock(0);
}

int
main(void)
{
	char	cmd[700];
	int	rc;

	make_tree();
	RUN(test_root_serves_index);
	RUN(test_directory_without_slash_redirects);
	RUN(test_listing_sorted_dirs_first_encoded);
	RUN(test_dotfiles_and_escapes_not_found);
	RUN(test_stat_file);
	RUN(test_stat_post);
	RUN(test_root_listing_twice);
	RUN(test_mime_types);
	RUN(test_missing_root_names_path);
	RUN(test_listing_survives_allocation_failure);
	RUN(test_settled_times);
	rc = CHECK_SUMMARY();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", root, outside);
	if (system(cmd) != 0)
		return 1;
	return rc;
}
