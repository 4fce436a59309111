#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "capsule.h"
#include "mem.h"
#include "url.h"

/* Longest relative path we look up (a request URL is at most 1024). */
#define CAPSULE_PATH_MAX	1100

/* Entries shown in a generated listing before it says "and more". */
#define CAPSULE_LISTING_ENTRIES	4096

/*
 * How far from now a file's or directory's times must be before what was
 * read of it may be kept: a change made within one tick of the file
 * system's clock can leave its times as they were, and a second covers
 * any tick.
 */
#define CAPSULE_SETTLED_SECS	1

struct capsule_mime {
	const char	*ext;
	const char	*mime;
};

static const struct capsule_mime capsule_mimes[] = {
	{ "gmi",	"text/gemini" },
	{ "gemini",	"text/gemini" },
	{ "txt",	"text/plain; charset=utf-8" },
	{ "md",		"text/markdown; charset=utf-8" },
	{ "html",	"text/html" },
	{ "htm",	"text/html" },
	{ "css",	"text/css" },
	{ "csv",	"text/csv" },
	{ "xml",	"application/xml" },
	{ "atom",	"application/atom+xml" },
	{ "rss",	"application/rss+xml" },
	{ "json",	"application/json" },
	{ "pdf",	"application/pdf" },
	{ "epub",	"application/epub+zip" },
	{ "zip",	"application/zip" },
	{ "gz",		"application/gzip" },
	{ "tar",	"application/x-tar" },
	{ "png",	"image/png" },
	{ "jpg",	"image/jpeg" },
	{ "jpeg",	"image/jpeg" },
	{ "gif",	"image/gif" },
	{ "webp",	"image/webp" },
	{ "avif",	"image/avif" },
	{ "svg",	"image/svg+xml" },
	{ "ico",	"image/vnd.microsoft.icon" },
	{ "mp3",	"audio/mpeg" },
	{ "ogg",	"audio/ogg" },
	{ "opus",	"audio/opus" },
	{ "flac",	"audio/flac" },
	{ "wav",	"audio/wav" },
	{ "mp4",	"video/mp4" },
	{ "webm",	"video/webm" },
};

const char *
capsule_mime_for_ext(struct span ext)
{
	size_t	i;

	for (i = 0; i < sizeof(capsule_mimes) / sizeof(capsule_mimes[0]); i++)
		if (span_caseeq_cstr(ext, capsule_mimes[i].ext))
			return capsule_mimes[i].mime;
	return NULL;
}

const char *
capsule_mime_for_name(const char *name)
{
	const char	*dot = strrchr(name, '.'), *mime;

	if (dot == NULL || dot == name || strchr(dot, '/') != NULL)
		return "application/octet-stream";
	mime = capsule_mime_for_ext(span_cstr(dot + 1));
	return mime != NULL ? mime : "application/octet-stream";
}

bool
capsule_has_dot_component(const char *path, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (path[i] == '.' && (i == 0 || path[i - 1] == '/'))
			return true;
	return false;
}

int
capsule_open(struct capsule *c, const char *root, struct buf *err)
{
	c->root = NULL;
	c->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->rootfd == -1) {
		buf_printf(err, "cannot open capsule root %s: %s", root,
		    strerror(errno));
		return -1;
	}
	if ((c->root = mem_strdup(root)) == NULL) {
		close(c->rootfd);
		c->rootfd = -1;
		buf_printf(err, "out of memory");
		return -1;
	}
	return 0;
}

void
capsule_close(struct capsule *c)
{
	if (c->rootfd != -1)
		close(c->rootfd);
	c->rootfd = -1;
	free(c->root);
	c->root = NULL;
}

void
capsule_obj_init(struct capsule_obj *o)
{
	o->kind = CAPSULE_NOT_FOUND;
	o->fd = -1;
	memset(&o->st, 0, sizeof(o->st));
	o->size = 0;
	o->mime = NULL;
	o->cacheable = false;
	buf_init(&o->body, CAPSULE_LISTING_MAX);
	buf_init(&o->location, CAPSULE_PATH_MAX * 3 + 2);
}

void
capsule_obj_free(struct capsule_obj *o)
{
	if (o->fd != -1)
		close(o->fd);
	o->fd = -1;
	buf_free(&o->body);
	buf_free(&o->location);
}

/*
 * Where the kernel has openat2, RESOLVE_BENEATH lets an author's symbolic
 * links work inside the capsule while any way out ("..", an absolute or
 * escaping link) fails with EXDEV.
 */
static int
capsule_openat2(int dirfd, const char *rel, int flags)
{
	struct open_how	how;

	memset(&how, 0, sizeof(how));
	how.flags = (unsigned long long)flags;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	return (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
}

/* Without openat2: walk one component at a time and follow no link. */
static int
capsule_walk(int dirfd, const char *rel, int flags)
{
	char	 part[CAPSULE_PATH_MAX];
	const char *p = rel, *slash;
	int	 fd = dirfd, next;
	size_t	 n;

	for (;;) {
		slash = strchr(p, '/');
		n = slash ? (size_t)(slash - p) : strlen(p);
		if (n >= sizeof(part) || (n == 2 && p[0] == '.' && p[1] == '.')) {
			errno = ENOENT;
			next = -1;
		} else {
			memcpy(part, p, n);
			part[n] = '\0';
			next = openat(fd, n ? part : ".", slash ?
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC :
			    flags | O_NOFOLLOW);
		}
		if (fd != dirfd)
			close(fd);
		if (next == -1 || slash == NULL)
			return next;
		fd = next;
		p = slash + 1;
	}
}

static int
capsule_openat(int dirfd, const char *rel, int flags)
{
	static bool	no_openat2;
	int		fd;

	if (!no_openat2) {
		fd = capsule_openat2(dirfd, rel, flags);
		if (fd != -1 || errno != ENOSYS)
			return fd;
		no_openat2 = true;
	}
	return capsule_walk(dirfd, rel, flags);
}

static int
capsule_name_cmp(const void *a, const void *b)
{
	const char	*x = *(const char *const *)a;
	const char	*y = *(const char *const *)b;
	bool		 dx = x[strlen(x) - 1] == '/';
	bool		 dy = y[strlen(y) - 1] == '/';

	/* Directories first, then by name. */
	if (dx != dy)
		return dx ? -1 : 1;
	return strcmp(x, y);
}

/*
 * Read the entries of dirfd (not consumed) as names, "/" after folders.
 * *linked is set when an entry may be a symbolic link, whose target can
 * change kind or vanish with no change to the directory itself.
 */
static int
capsule_read_dir(int dirfd, char ***names, size_t *count, bool *truncated,
    bool *linked)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	char		**v = NULL, **nv, *name;
	size_t		 n = 0, cap = 0, len;
	int		 fd;

	*truncated = false;
	*linked = false;
	if ((fd = dup(dirfd)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	/* A dup shares the offset: an earlier walk may have left it at the end. */
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (de->d_type == DT_LNK || de->d_type == DT_UNKNOWN)
			*linked = true;
		if (fstatat(dirfd, de->d_name, &st, 0) == -1 ||
		    !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
			continue;
		if (n == CAPSULE_LISTING_ENTRIES) {
			*truncated = true;
			break;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			if ((nv = mem_realloc(v, cap * sizeof(*v))) == NULL)
				goto fail;
			v = nv;
		}
		len = strlen(de->d_name);
		if ((name = mem_malloc(len + 2)) == NULL)
			goto fail;
		memcpy(name, de->d_name, len);
		name[len] = S_ISDIR(st.st_mode) ? '/' : '\0';
		name[len + 1] = '\0';
		v[n++] = name;
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), capsule_name_cmp);
	*names = v;
	*count = n;
	return 0;
fail:
	while (n > 0)
		free(v[--n]);
	free(v);
	closedir(d);
	return -1;
}

/* Added to the clock capsule_is_settled reads: zero but in tests. */
static time_t	capsule_clock_skew;

void
capsule_skew_clock(time_t seconds)
{
	capsule_clock_skew = seconds;
}

/*
 * A time set ahead (touch -d, a clock stepped back) settles too: the next
 * change stamps the present, which differs from it.
 */
static bool
capsule_time_is_near(const struct timespec *t, time_t now)
{
	return t->tv_sec >= now - CAPSULE_SETTLED_SECS &&
	    t->tv_sec <= now + CAPSULE_SETTLED_SECS;
}

bool
capsule_is_settled(const struct stat *st)
{
	struct timespec	now;

	if (clock_gettime(CLOCK_REALTIME_COARSE, &now) == -1)
		return false;
	now.tv_sec += capsule_clock_skew;
	return !capsule_time_is_near(&st->st_mtim, now.tv_sec) &&
	    !capsule_time_is_near(&st->st_ctim, now.tv_sec);
}

/*
 * The listing of dirfd into out.  *cacheable tells whether the page
 * depends on nothing but the entries of the directory: then, as long as
 * its times (taken in st before the read) stay the same, so does the page.
 */
static int
capsule_listing(int dirfd, const struct stat *st, const char *path,
    size_t path_len, struct buf *out, bool *cacheable)
{
	char	**names = NULL;
	size_t	  n = 0, i;
	bool	  truncated, linked;
	int	  rc = -1;

	if (capsule_read_dir(dirfd, &names, &n, &truncated, &linked) == -1)
		return -1;
	*cacheable = *cacheable && !linked && capsule_is_settled(st);
	if (buf_puts(out, "# Index of ") == -1 ||
	    buf_append(out, path, path_len) == -1 ||
	    buf_puts(out, "\n\n") == -1)
		goto out;
	if (path_len > 1 && buf_puts(out, "=> ../ Parent directory\n") == -1)
		goto out;
	for (i = 0; i < n; i++) {
		if (buf_puts(out, "=> ") == -1 ||
		    url_encode_path(span_cstr(names[i]), out) == -1 ||
		    buf_putc(out, ' ') == -1 || buf_puts(out, names[i]) == -1 ||
		    buf_putc(out, '\n') == -1)
			goto out;
	}
	if (n == 0 && buf_puts(out, "This directory is empty.\n") == -1)
		goto out;
	if (truncated && buf_puts(out, "\n(More entries not shown.)\n") == -1)
		goto out;
	rc = 0;
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

static bool
capsule_has_suffix(const char *name, size_t n, const char *suffix)
{
	size_t	m = strlen(suffix);

	return n > m && memcmp(name + n - m, suffix, m) == 0;
}

/* True when a directory entry is a post: "x.md", not index.md. */
static bool
capsule_is_post_name(const char *name)
{
	size_t	n = strlen(name);

	return name[0] != '.' && capsule_has_suffix(name, n, ".md") &&
	    strcmp(name, "index.md") != 0;
}

static bool
capsule_dir_has_posts(int dirfd)
{
	DIR		*d;
	struct dirent	*de;
	int		 fd;
	bool		 found = false;

	if ((fd = dup(dirfd)) == -1)
		return false;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return false;
	}
	rewinddir(d);
	while (!found && (de = readdir(d)) != NULL)
		found = capsule_is_post_name(de->d_name);
	closedir(d);
	return found;
}

/*
 * Open name in dirfd as a regular file; -1 when it is not one, with errno
 * ENOENT only when there is no such name.  st is set on success alone.
 */
static int
capsule_open_regular(int dirfd, const char *name, struct stat *st)
{
	struct stat	sb;
	int		fd;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC | O_NOCTTY);
	if (fd == -1)
		return -1;
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		close(fd);
		errno = EISDIR;
		return -1;
	}
	*st = sb;
	return fd;
}

static int
capsule_redirect(struct capsule_obj *o, const char *path, size_t len,
    const char *suffix)
{
	o->kind = CAPSULE_REDIRECT;
	if (url_encode_path(span_make(path, len), &o->location) == -1 ||
	    buf_puts(&o->location, suffix) == -1) {
		o->kind = CAPSULE_ERROR;
		return -1;
	}
	return 0;
}

static int
capsule_directory(int dirfd, const char *path, size_t path_len,
    struct capsule_obj *o)
{
	int	fd;
	bool	no_index;

	if (path[path_len - 1] != '/')
		return capsule_redirect(o, path, path_len, "/");
	if ((fd = capsule_open_regular(dirfd, "index.gmi", &o->st)) != -1) {
		o->kind = CAPSULE_FILE;
		o->fd = fd;
		o->size = o->st.st_size;
		o->mime = "text/gemini";
		return 0;
	}
	no_index = errno == ENOENT;
	if ((fd = capsule_open_regular(dirfd, "index.md", &o->st)) != -1) {
		o->kind = CAPSULE_POST;
		o->fd = fd;
		o->size = o->st.st_size;
		o->mime = "text/gemini";
		return 0;
	}
	no_index = no_index && errno == ENOENT;
	o->mime = "text/gemini";
	if (capsule_dir_has_posts(dirfd)) {
		o->kind = CAPSULE_FEED;
		o->cacheable = no_index && capsule_is_settled(&o->st);
		return 0;
	}
	o->kind = CAPSULE_LISTING;
	/*
	 * An index that exists but cannot be opened may become readable
	 * with no change to the directory: such a listing is not kept.
	 */
	o->cacheable = no_index;
	if (capsule_listing(dirfd, &o->st, path, path_len, &o->body,
	    &o->cacheable) == -1) {
		o->kind = CAPSULE_ERROR;
		o->cacheable = false;
		return -1;
	}
	return 0;
}

/*
 * What a name that does not exist may still be: the post behind "x.gmi",
 * or the feed of a directory of posts behind "atom.xml".
 */
static int
capsule_virtual(const struct capsule *c, char *rel, size_t n,
    struct capsule_obj *o)
{
	char	*slash;
	int	 fd, dirfd;

	if (capsule_has_suffix(rel, n, ".gmi") && n + 1 < CAPSULE_PATH_MAX) {
		memcpy(rel + n - 4, ".md", 4);
		fd = capsule_openat(c->rootfd, rel, O_RDONLY | O_NONBLOCK |
		    O_CLOEXEC | O_NOCTTY);
		memcpy(rel + n - 4, ".gmi", 5);
		if (fd == -1)
			return 0;
		if (fstat(fd, &o->st) == -1 || !S_ISREG(o->st.st_mode)) {
			close(fd);
			return 0;
		}
		o->kind = CAPSULE_POST;
		o->fd = fd;
		o->size = o->st.st_size;
		o->mime = "text/gemini";
		return 0;
	}
	if (!(n == 8 || capsule_has_suffix(rel, n, "/atom.xml")) ||
	    strcmp(rel + n - 8, "atom.xml") != 0)
		return 0;
	slash = strrchr(rel, '/');
	if (slash == NULL)
		dirfd = dup(c->rootfd);
	else {
		*slash = '\0';
		dirfd = capsule_openat(c->rootfd, rel, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC);
		*slash = '/';
	}
	if (dirfd == -1)
		return 0;
	if (capsule_dir_has_posts(dirfd)) {
		o->kind = CAPSULE_ATOM;
		o->mime = "application/atom+xml";
	}
	close(dirfd);
	return 0;
}

int
capsule_resolve(const struct capsule *c, const char *path, size_t path_len,
    struct capsule_obj *o)
{
	char		 rel[CAPSULE_PATH_MAX];
	size_t		 n;
	int		 fd, rc;

	o->kind = CAPSULE_NOT_FOUND;
	if (path_len == 0 || path[0] != '/' || path_len >= sizeof(rel) ||
	    memchr(path, '\0', path_len) != NULL ||
	    capsule_has_dot_component(path, path_len))
		return 0;
	/* The lookup is relative to the root: drop the leading slash. */
	n = path_len - 1;
	memcpy(rel, path + 1, n);
	while (n > 0 && rel[n - 1] == '/')
		n--;
	rel[n] = '\0';
	if (n == 0)
		fd = dup(c->rootfd);
	else
		fd = capsule_openat(c->rootfd, rel, O_RDONLY | O_NONBLOCK |
		    O_CLOEXEC | O_NOCTTY);
	if (fd == -1)
		return errno == ENOENT && path[path_len - 1] != '/' ?
		    capsule_virtual(c, rel, n, o) : 0;
	if (fstat(fd, &o->st) == -1) {
		close(fd);
		o->kind = CAPSULE_ERROR;
		return 0;
	}
	if (S_ISDIR(o->st.st_mode)) {
		rc = capsule_directory(fd, path, path_len, o);
		close(fd);
		return rc;
	}
	if (!S_ISREG(o->st.st_mode) || path[path_len - 1] == '/') {
		close(fd);
		return 0;
	}
	if (capsule_has_suffix(rel, n, ".md")) {
		/* Posts have one address: the .gmi one. */
		close(fd);
		return capsule_redirect(o, path, path_len - 3, ".gmi");
	}
	o->kind = CAPSULE_FILE;
	o->fd = fd;
	o->size = o->st.st_size;
	o->mime = capsule_mime_for_name(rel);
	return 0;
}

/*
 * The path relative to the root, in rel (CAPSULE_PATH_MAX bytes at least),
 * with no leading or trailing slash; -1 with errno ENOENT for a path no
 * lookup would take.
 */
static int
capsule_rel_path(const char *path, size_t path_len, char *rel, size_t *n)
{
	if (path_len == 0 || path[0] != '/' || path_len >= CAPSULE_PATH_MAX ||
	    memchr(path, '\0', path_len) != NULL ||
	    capsule_has_dot_component(path, path_len)) {
		errno = ENOENT;
		return -1;
	}
	*n = path_len - 1;
	memcpy(rel, path + 1, *n);
	while (*n > 0 && rel[*n - 1] == '/')
		(*n)--;
	rel[*n] = '\0';
	return 0;
}

/* One stat below the root: of kind (S_IFREG or S_IFDIR), or ENOENT. */
static int
capsule_stat_rel(const struct capsule *c, const char *rel, mode_t kind,
    struct stat *st)
{
	if (fstatat(c->rootfd, rel, st, rel[0] == '\0' ? AT_EMPTY_PATH : 0) ==
	    -1)
		return -1;
	if ((st->st_mode & S_IFMT) != kind) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

/* Room for a relative path with the index.gmi a lookup adds to it. */
#define CAPSULE_SERVED_MAX	(CAPSULE_PATH_MAX + sizeof("/index.gmi"))

/*
 * The relative path of the file a lookup of path serves into rel
 * (CAPSULE_SERVED_MAX bytes), n bytes long: for a path ending in '/',
 * the directory's index.gmi.  Returns 0, or -1 with errno.
 */
static int
capsule_rel_served(const char *path, size_t path_len, char *rel, size_t *n)
{
	static const char	index[] = "/index.gmi";
	const char		*add;
	size_t			 m;

	if (capsule_rel_path(path, path_len, rel, n) == -1)
		return -1;
	if (path[path_len - 1] != '/')
		return 0;
	add = *n > 0 ? index : index + 1;
	m = strlen(add);
	memcpy(rel + *n, add, m + 1);
	*n += m;
	return 0;
}

int
capsule_stat_file(const struct capsule *c, const char *path, size_t path_len,
    struct stat *st)
{
	char	rel[CAPSULE_SERVED_MAX];
	size_t	n;

	if (capsule_rel_served(path, path_len, rel, &n) == -1)
		return -1;
	return capsule_stat_rel(c, rel, S_IFREG, st);
}

int
capsule_stat_post(const struct capsule *c, const char *path, size_t path_len,
    struct stat *st)
{
	char	rel[CAPSULE_SERVED_MAX];
	size_t	n;

	if (capsule_rel_served(path, path_len, rel, &n) == -1)
		return -1;
	if (!capsule_has_suffix(rel, n, ".gmi")) {
		errno = ENOENT;
		return -1;
	}
	/* The .gmi name must be free: a file or directory there wins. */
	if (fstatat(c->rootfd, rel, st, 0) == 0 || errno != ENOENT) {
		errno = EEXIST;
		return -1;
	}
	memcpy(rel + n - 4, ".md", 4);
	return capsule_stat_rel(c, rel, S_IFREG, st);
}

int
capsule_stat_source(const struct capsule *c, const char *url,
    struct stat *st)
{
	struct buf	dec;
	bool		has_nul = false;
	char		rel[CAPSULE_PATH_MAX];
	size_t		n;
	int		rc = -1;

	buf_init(&dec, CAPSULE_PATH_MAX);
	errno = ENOENT;
	if (url_decode(span_cstr(url), &dec, &has_nul) == 0 && !has_nul &&
	    buf_cstr(&dec) != NULL &&
	    capsule_rel_path(dec.p, dec.len, rel, &n) == 0 &&
	    capsule_has_suffix(rel, n, ".gmi")) {
		memcpy(rel + n - 4, ".md", 4);
		/* As the walk opened it: a link in its place is no post. */
		if (fstatat(c->rootfd, rel, st, AT_SYMLINK_NOFOLLOW) == 0)
			rc = S_ISREG(st->st_mode) ? 0 : -1;
	}
	buf_free(&dec);
	return rc;
}

int
capsule_stat_dir(const struct capsule *c, const char *path, size_t path_len,
    struct stat *st)
{
	char	rel[CAPSULE_PATH_MAX];
	size_t	n;

	if (capsule_rel_path(path, path_len, rel, &n) == -1)
		return -1;
	return capsule_stat_rel(c, rel, S_IFDIR, st);
}

bool
capsule_exists(const struct capsule *c, const char *path)
{
	struct buf	dec;
	struct stat	st;
	bool		has_nul = false, ok = false;
	const char	*rel;
	int		fd;

	buf_init(&dec, CAPSULE_PATH_MAX);
	if (url_decode(span_cstr(path), &dec, &has_nul) == 0 && !has_nul &&
	    (rel = buf_cstr(&dec)) != NULL && rel[0] == '/' &&
	    !capsule_has_dot_component(rel, dec.len)) {
		while (*rel == '/')
			rel++;
		fd = capsule_openat(c->rootfd, rel, O_PATH | O_CLOEXEC);
		if (fd != -1) {
			ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
			close(fd);
		}
	}
	buf_free(&dec);
	return ok;
}

int
capsule_read_file(int fd, const struct stat *st, size_t max, struct buf *out)
{
	struct stat	after;
	ssize_t		n;
	int		tries;

	if (st->st_size < 0 || (size_t)st->st_size > max) {
		errno = EFBIG;
		return -1;
	}
	for (tries = 0; tries < 3; tries++) {
		buf_reset(out);
		if (buf_reserve(out, (size_t)st->st_size) == -1) {
			errno = ENOMEM;
			return -1;
		}
		while ((n = pread(fd, out->p + out->len, out->cap - out->len - 1,
		    (off_t)out->len)) > 0) {
			out->len += (size_t)n;
			if (out->len > max) {
				errno = EFBIG;
				return -1;
			}
			if (out->len + 1 >= out->cap &&
			    buf_reserve(out, 4096) == -1) {
				errno = out->len >= max ? EFBIG : ENOMEM;
				return -1;
			}
		}
		if (n == -1)
			return -1;
		/* A writer that truncated or grew the file meanwhile. */
		if (fstat(fd, &after) == 0 && after.st_size == (off_t)out->len &&
		    after.st_mtim.tv_sec == st->st_mtim.tv_sec &&
		    after.st_mtim.tv_nsec == st->st_mtim.tv_nsec)
			return 0;
		st = &after;
	}
	errno = EAGAIN;
	return -1;
}

struct capsule_walk {
	capsule_post_fn	 fn;
	void		*arg;
	size_t		 posts;
	bool		 recursive;
	bool		 partial;	/* a post left out, maybe not for good */
};

static int	capsule_walk_dir(struct capsule_walk *, int, struct buf *, int);

static int
capsule_walk_entry(struct capsule_walk *w, int dirfd, const char *name,
    struct buf *url, int depth)
{
	struct stat	st;
	size_t		keep = url->len;
	int		fd, rc = 0;

	if (name[0] == '.')
		return 0;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC | O_NOCTTY);
	if (fd == -1 || fstat(fd, &st) == -1) {
		/* A link is never followed; anything else may open later. */
		if (errno != ELOOP && capsule_is_post_name(name))
			w->partial = true;
		if (fd != -1)
			close(fd);
		return 0;
	}
	if (S_ISDIR(st.st_mode) && w->recursive && depth < CAPSULE_WALK_DEPTH) {
		if (url_encode_path(span_cstr(name), url) == 0 &&
		    buf_putc(url, '/') == 0)
			rc = capsule_walk_dir(w, fd, url, depth + 1);
	} else if (S_ISREG(st.st_mode) && capsule_is_post_name(name)) {
		if (++w->posts > CAPSULE_WALK_POSTS) {
			w->partial = true;
			rc = -1;
		}
		else if (url_encode_path(span_make(name, strlen(name) - 3),
		    url) == 0 && buf_puts(url, ".gmi") == 0 &&
		    buf_cstr(url) != NULL)
			rc = w->fn(w->arg, url->p, fd, &st);
	}
	url->len = keep;
	close(fd);
	return rc;
}

static int
capsule_walk_dir(struct capsule_walk *w, int dirfd, struct buf *url, int depth)
{
	DIR		*d;
	struct dirent	*de;
	int		 fd, rc = 0;

	if ((fd = dup(dirfd)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	/* A dup shares the offset: an earlier walk may have left it at the end. */
	rewinddir(d);
	while (rc == 0 && (de = readdir(d)) != NULL)
		rc = capsule_walk_entry(w, dirfd, de->d_name, url, depth);
	closedir(d);
	return rc;
}

int
capsule_posts(const struct capsule *c, const char *dir, bool recursive,
    capsule_post_fn fn, void *arg, bool *partial)
{
	struct capsule_walk	w = { fn, arg, 0, recursive, false };
	struct buf		url;
	size_t			n = strlen(dir);
	int			fd, rc;

	if (n == 0 || dir[0] != '/' || dir[n - 1] != '/' ||
	    capsule_has_dot_component(dir, n))
		return -1;
	if (n == 1)
		fd = dup(c->rootfd);
	else {
		char	rel[CAPSULE_PATH_MAX];

		if (n >= sizeof(rel))
			return -1;
		memcpy(rel, dir + 1, n - 2);
		rel[n - 2] = '\0';
		fd = capsule_openat(c->rootfd, rel, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC);
	}
	if (fd == -1)
		return -1;
	buf_init(&url, CAPSULE_PATH_MAX * 4);
	rc = url_encode_path(span_make(dir, n), &url) == 0 ?
	    capsule_walk_dir(&w, fd, &url, 0) : -1;
	buf_free(&url);
	close(fd);
	if (partial != NULL)
		*partial = w.partial || rc == -1;
	return rc;
}

int
capsule_open_dir(const struct capsule *c, const char *dir, size_t len)
{
	char	rel[CAPSULE_PATH_MAX];
	size_t	n;

	if (len == 0 || dir[0] != '/' || len >= sizeof(rel) ||
	    memchr(dir, '\0', len) != NULL ||
	    capsule_has_dot_component(dir, len)) {
		errno = ENOENT;
		return -1;
	}
	n = len - 1;
	memcpy(rel, dir + 1, n);
	while (n > 0 && rel[n - 1] == '/')
		n--;
	rel[n] = '\0';
	if (n == 0)
		return fcntl(c->rootfd, F_DUPFD_CLOEXEC, 0);
	return capsule_openat(c->rootfd, rel, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);
}
