#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "buf.h"
#include "frontmatter.h"
#include "md2gmi.h"
#include "mem.h"
#include "gmi2txt.h"
#include "post.h"
#include "url.h"

static const char *post_image_exts[] = {
	".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".avif"
};

#ifdef __SSE2__
/* A bit for each of the 16 bytes at p that ends an ASCII run: high, or CR. */
static unsigned
post_stop16(const char *p)
{
	__m128i	v;

	v = _mm_loadu_si128((const __m128i *)(const void *)p);
	return (unsigned)(_mm_movemask_epi8(v) |
	    _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\r'))));
}
#endif

/*
 * Length of the prefix of p that is ASCII without CR: sixteen bytes at a
 * time, the last sixteen overlapping, or eight at a time when shorter.
 */
static size_t
post_ascii_run(const char *p, size_t n)
{
	const uint64_t	ones = 0x0101010101010101ULL;
	const uint64_t	high = 0x8080808080808080ULL;
	uint64_t	w, cr;
	size_t		i = 0;

#ifdef __SSE2__
	unsigned	m;

	if (n >= 16) {
		for (; i + 16 <= n; i += 16)
			if ((m = post_stop16(p + i)) != 0)
				return i + (size_t)__builtin_ctz(m);
		if (i < n && (m = post_stop16(p + n - 16) >> (16 - (n - i))) !=
		    0)
			return i + (size_t)__builtin_ctz(m);
		return n;
	}
#endif
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		cr = w ^ ('\r' * ones);
		if (((w | ((cr - ones) & ~cr)) & high) != 0)
			break;
	}
	while (i < n && (unsigned char)p[i] < 0x80 && p[i] != '\r')
		i++;
	return i;
}

/* Length of the well-formed UTF-8 sequence at p, or 0 when there is none. */
static size_t
post_utf8_len(const unsigned char *p, size_t n)
{
	unsigned char	c = p[0], cc;
	size_t		len, k;
	uint32_t	cp;

	len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
	if (c < 0xc2 || c > 0xf4 || len > n)
		return 0;
	cp = c & (0x7f >> len);
	for (k = 1; k < len; k++) {
		cc = p[k];
		if ((cc & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (cc & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 ||
	    cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Length of the prefix of p that post_preflight keeps as it is. */
static size_t
post_clean_run(const char *p, size_t n)
{
	size_t	i = 0, k;

	for (;;) {
		i += post_ascii_run(p + i, n - i);
		if (i == n || p[i] == '\r')
			return i;
		if ((k = post_utf8_len((const unsigned char *)p + i,
		    n - i)) == 0)
			return i;
		i += k;
	}
}

/* Would post_preflight leave src as it is (no BOM, CR, bad UTF-8)? */
static bool
post_is_clean(struct span src)
{
	if (src.n >= 3 && memcmp(src.p, "\xef\xbb\xbf", 3) == 0)
		return false;
	return post_clean_run(src.p, src.n) == src.n;
}

/*
 * R1: md4c validates nothing, so the body it sees is already clean UTF-8
 * with LF line ends and no BOM.  Line numbers survive: CRLF and a lone CR
 * each become one LF; every byte that starts no well-formed sequence
 * becomes U+FFFD.
 */
static int
post_preflight(struct span src, struct buf *out)
{
	size_t	i = 0, run;

	if (src.n >= 3 && memcmp(src.p, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	if (buf_reserve(out, src.n) == -1)
		return -1;
	while (i < src.n) {
		run = post_clean_run(src.p + i, src.n - i);
		if (buf_append(out, src.p + i, run) == -1)
			return -1;
		if ((i += run) == src.n)
			break;
		if (src.p[i] == '\r') {
			if (buf_putc(out, '\n') == -1)
				return -1;
			i += (i + 1 < src.n && src.p[i + 1] == '\n') ? 2 : 1;
			continue;
		}
		if (buf_append(out, "\xef\xbf\xbd", 3) == -1)
			return -1;
		i++;
	}
	return 0;
}

/* "2026-01-07-my-first-post.md" reads as "My first post". */
static char *
post_deslug(const char *name)
{
	const char	*base, *dot;
	char		*t;
	size_t		 n, i;

	if (name == NULL || *name == '\0')
		return mem_strdup("Untitled");
	base = strrchr(name, '/');
	base = base ? base + 1 : name;
	dot = strrchr(base, '.');
	n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
	if (n > 11 && base[4] == '-' && base[7] == '-' && base[10] == '-' &&
	    strspn(base, "0123456789") == 4) {
		base += 11;
		n -= 11;
	}
	if ((t = mem_strndup(base, n)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (t[i] == '-' || t[i] == '_' || (unsigned char)t[i] < 0x20)
			t[i] = ' ';
	}
	if (t[0] >= 'a' && t[0] <= 'z')
		t[0] = (char)(t[0] - 'a' + 'A');
	if (n == 0) {
		free(t);
		return mem_strdup("Untitled");
	}
	return t;
}

/* The file a capsule URL path names, or -1 when it cannot be one. */
static int
post_fs_path(struct span url, struct buf *out)
{
	size_t	i;
	char	c;

	for (i = 0; i < url.n && url.p[i] != '?' && url.p[i] != '#'; i++) {
		c = url.p[i];
		if (c == '%' && i + 2 < url.n &&
		    url_hex_value(url.p[i + 1]) >= 0 &&
		    url_hex_value(url.p[i + 2]) >= 0) {
			c = (char)(url_hex_value(url.p[i + 1]) * 16 +
			    url_hex_value(url.p[i + 2]));
			i += 2;
		}
		if (c == '\0' || buf_putc(out, c) == -1)
			return -1;
	}
	if (buf_cstr(out) == NULL || strstr(out->p, "/../") != NULL ||
	    strstr(out->p, "/./") != NULL)
		return -1;
	return 0;
}

static bool
post_is_image(const char *path)
{
	size_t	i, n = strlen(path), e;

	for (i = 0; i < sizeof(post_image_exts) / sizeof(post_image_exts[0]);
	    i++) {
		e = strlen(post_image_exts[i]);
		if (n > e && strcasecmp(path + n - e, post_image_exts[i]) == 0)
			return true;
	}
	return false;
}

/*
 * R27: "=> /assets/x.png Cover image" when the hero image is there;
 * *missing tells the caller to report it (after the body's findings).
 */
static int
post_cover(const struct post_input *in, struct post *p, bool *missing)
{
	struct post_meta	*m = &p->meta;
	struct buf		 url, fs;
	struct span		 hero = span_cstr(m->hero);
	int			 rc = 0;
	bool			 ok;

	/* Resolving percent-encodes the reference: up to three bytes each. */
	buf_init(&url, 3 * (hero.n + strlen(in->url)) + 16);
	buf_init(&fs, url.max);
	if (md2gmi_resolve(in->url, hero, &url) == -1 ||
	    buf_cstr(&url) == NULL) {
		rc = -1;
		goto done;
	}
	if (strchr(url.p, ' ') != NULL || strchr(url.p, '\t') != NULL) {
		ok = false;
	} else if (url.p[0] != '/') {
		ok = strncasecmp(url.p, "http", 4) == 0 ||
		    strncasecmp(url.p, "gemini:", 7) == 0;
	} else {
		ok = post_fs_path(buf_span(&url), &fs) == 0 &&
		    post_is_image(fs.p) &&
		    (in->exists == NULL || in->exists(in->arg, fs.p));
	}
	if (!ok) {
		*missing = true;
		goto done;
	}
	rc = buf_puts(&p->gmi, "\n=> ") == -1 ||
	    buf_append(&p->gmi, url.p, url.len) == -1 ||
	    buf_puts(&p->gmi, " Cover image\n") == -1 ? -1 : 0;
done:
	buf_free(&url);
	buf_free(&fs);
	return rc;
}

/* Append v as n decimal digits, zero-padded (0 <= v < 10^n). */
static int
post_digits(struct buf *b, int v, int n)
{
	char	d[4];
	int	i;

	for (i = n - 1; i >= 0; i--, v /= 10)
		d[i] = (char)('0' + v % 10);
	return buf_append(b, d, (size_t)n);
}

static int
post_date(struct buf *b, const char *what, const struct fm_date *d)
{
	/* Parsed dates always fit; anything else is printed as it is. */
	if (d->y < 0 || d->y > 9999 || d->m < 0 || d->m > 99 || d->d < 0 ||
	    d->d > 99)
		return buf_printf(b, "%s %04d-%02d-%02d", what, d->y, d->m,
		    d->d);
	return buf_puts(b, what) == -1 || buf_putc(b, ' ') == -1 ||
	    post_digits(b, d->y, 4) == -1 || buf_putc(b, '-') == -1 ||
	    post_digits(b, d->m, 2) == -1 || buf_putc(b, '-') == -1 ||
	    post_digits(b, d->d, 2) == -1 ? -1 : 0;
}

/* Title, dates, description, cover image and tags (reference 5.6). */
static int
post_header(const struct post_input *in, struct post *p, bool *missing)
{
	struct post_meta	*m = &p->meta;
	struct buf		*b = &p->gmi;
	size_t			 i;

	if (buf_puts(b, "# ") == -1 || buf_puts(b, m->title) == -1 ||
	    buf_putc(b, '\n') == -1)
		return -1;
	if (m->pubdate.y || m->updated.y) {
		if (buf_putc(b, '\n') == -1)
			return -1;
		if (m->pubdate.y &&
		    post_date(b, "Published", &m->pubdate) == -1)
			return -1;
		if (m->pubdate.y && m->updated.y &&
		    buf_puts(b, " \u00b7") == -1)
			return -1;
		if (m->updated.y && post_date(b, m->pubdate.y ? " Updated" :
		    "Updated", &m->updated) == -1)
			return -1;
		if (buf_putc(b, '\n') == -1)
			return -1;
	}
	if (m->description != NULL && *m->description != '\0' &&
	    (buf_putc(b, '\n') == -1 ||
	    md2gmi_text_line(b, span_cstr(m->description)) == -1 ||
	    buf_putc(b, '\n') == -1))
		return -1;
	if (m->hero != NULL && *m->hero != '\0' &&
	    post_cover(in, p, missing) == -1)
		return -1;
	if (m->ntags > 0) {
		if (buf_puts(b, "\nTags: ") == -1)
			return -1;
		for (i = 0; i < m->ntags; i++)
			if ((i > 0 && buf_puts(b, ", ") == -1) ||
			    buf_puts(b, m->tags[i]) == -1)
				return -1;
		if (buf_putc(b, '\n') == -1)
			return -1;
	}
	return 0;
}

/* Render the body into out with max bytes of room (out's own ceiling too). */
static int
post_body(const struct post_input *in, struct post *p, struct span clean,
    struct span body, size_t max, struct buf *out, struct md2gmi_info *info)
{
	struct md2gmi_opts	opts;

	memset(&opts, 0, sizeof(opts));
	opts.base = in->url;
	opts.title = p->meta.title;
	opts.exists = in->exists;
	opts.arg = in->arg;
	opts.src = clean;
	opts.max_out = max;
	opts.budget_ms = in->budget_ms;
	return md2gmi_render(body, &opts, out, info, &p->diags);
}

/* Front matter, then the first body H1, then the file name. */
static int
post_title(const struct post_input *in, struct post *p,
    const struct md2gmi_info *info)
{
	if (p->meta.title != NULL && *p->meta.title != '\0')
		return 0;
	free(p->meta.title);
	if (info->first_h1 != NULL && *info->first_h1 != '\0')
		p->meta.title = mem_strdup(info->first_h1);
	else
		p->meta.title = post_deslug(in->name);
	return p->meta.title == NULL ? -1 : 0;
}

/*
 * With a title from the front matter the header does not wait for the
 * body, and the body is rendered straight after it with the room it
 * would have had on its own.  md2gmi puts the blank line before its
 * first block because the output is not empty, where the body rendered
 * apart got one from here: the same bytes either way.
 */
static int
post_header_body(const struct post_input *in, struct post *p,
    struct span clean, struct span md, size_t max, struct md2gmi_info *info,
    bool *missing)
{
	struct buf	*g = &p->gmi;
	size_t		 gmax = g->max;
	int		 rc;

	if (post_header(in, p, missing) == -1)
		return -1;
	/* The blank line after the header is md2gmi's now, not the body's. */
	g->max = g->len >= SIZE_MAX - max ? SIZE_MAX : g->len + 1 + max;
	rc = post_body(in, p, clean, md, max, g, info);
	g->max = gmax;
	if (rc == -1) {
		p->errstr = info->timed_out ? "took too long to render" :
		    "cannot convert the body (too large or out of memory)";
		return -1;
	}
	return g->len > g->max ? -1 : 0;
}

/* The body rendered apart, then the title it may give, then the header. */
static int
post_body_header(const struct post_input *in, struct post *p,
    struct span clean, struct span md, size_t max, struct md2gmi_info *info,
    bool *missing)
{
	struct buf	body;
	int		rc = -1;

	buf_init(&body, max);
	if (post_body(in, p, clean, md, max, &body, info) == -1) {
		p->errstr = info->timed_out ? "took too long to render" :
		    "cannot convert the body (too large or out of memory)";
		goto done;
	}
	if (post_title(in, p, info) == -1 || post_header(in, p, missing) == -1)
		goto done;
	if (body.len > 0 && (buf_putc(&p->gmi, '\n') == -1 ||
	    buf_append(&p->gmi, body.p, body.len) == -1))
		goto done;
	rc = 0;
done:
	buf_free(&body);
	return rc;
}

int
post_render(const struct post_input *in, struct post *p)
{
	struct buf		 clean;
	struct md2gmi_info	 info;
	struct span		 src = in->src, md;
	unsigned long		 body_line;
	size_t			 max;
	unsigned long		 failed = mem_failures();
	int			 rc = -1;
	bool			 missing = false;

	memset(&info, 0, sizeof(info));
	buf_init(&p->gmi, 0);
	if (in->src.n > POST_MAX_SIZE) {
		p->errstr = "file too large";
		return -1;
	}
	max = in->src.n * POST_OUT_FACTOR + POST_OUT_SLACK;
	buf_init(&clean, in->src.n * 3 + 16);
	buf_init(&p->gmi, max + POST_OUT_SLACK);
	p->errstr = "out of memory";
	/*
	 * Most posts need no repair and are copied whole.  Copied all the
	 * same: md4c 0.4.8 can read the byte past the end of its input, and
	 * here that is always our terminating NUL, not the caller's memory.
	 */
	if ((post_is_clean(src) ? buf_append_span(&clean, src) :
	    post_preflight(src, &clean)) == -1 || buf_cstr(&clean) == NULL)
		goto done;
	src = buf_span(&clean);
	if (fm_parse(src, &p->meta, &md, &body_line, &p->diags) == -1)
		goto done;
	if (p->meta.title != NULL && *p->meta.title != '\0' ?
	    post_header_body(in, p, src, md, max, &info, &missing) == -1 :
	    post_body_header(in, p, src, md, max, &info, &missing) == -1)
		goto done;
	if (missing)
		fm_diag_add(&p->diags, p->meta.hero_line, "cover image not "
		    "found: %.200s", p->meta.hero);
	if (buf_puts(&p->gmi, "\n=> ./ All posts\n") == -1)
		goto done;
	/*
	 * A helper that ran out of memory may have carried on with less (a
	 * link taken for a missing file): such a render is not the post.
	 */
	if (mem_failures() != failed)
		goto done;
	p->errstr = NULL;
	rc = 0;
done:
	if (rc == -1 && mem_failures() != failed)
		p->errstr = "out of memory";
	md2gmi_info_free(&info);
	buf_free(&clean);
	if (rc == -1)
		buf_free(&p->gmi);
	return rc;
}

void
post_free(struct post *p)
{
	buf_free(&p->gmi);
	fm_meta_free(&p->meta);
	fm_diags_free(&p->diags);
	p->errstr = NULL;
}

/* The command line. */

struct post_cli_dir {
	const char	*dir;
};

/* Capsule paths of "capsuled render" are relative to the file's folder. */
static bool
post_cli_exists(void *arg, const char *capsule_path)
{
	struct post_cli_dir	*d = arg;
	struct stat		 st;
	char			 path[PATH_MAX];
	int			 n;

	n = snprintf(path, sizeof(path), "%s%s", d->dir, capsule_path);
	if (n < 0 || (size_t)n >= sizeof(path))
		return false;
	return stat(path, &st) == 0;
}

static int
post_cli_read(const char *file, struct buf *b)
{
	char	chunk[65536];
	ssize_t	n;
	int	fd;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (buf_append(b, chunk, (size_t)n) == -1) {
			errno = EFBIG;
			n = -1;
			break;
		}
	}
	close(fd);
	return n == 0 ? 0 : -1;
}

static void
post_cli_diags(const char *file, const struct fm_diags *dl)
{
	size_t	i;

	for (i = 0; i < dl->n; i++) {
		if (dl->v[i].line > 0)
			fprintf(stderr, "%s:%lu: %s\n", file, dl->v[i].line,
			    dl->v[i].msg);
		else
			fprintf(stderr, "%s: %s\n", file, dl->v[i].msg);
	}
	if (dl->dropped)
		fprintf(stderr, "%s: more problems not shown\n", file);
}

/*
 * Replace the gemtext in gmi with the Gopher text a client gets, as served
 * by "localhost" on port 70 (the figures a reader can check by hand).
 */
static int
post_cli_gopher(struct buf *gmi, const char *url)
{
	struct gmi2txt_opts	opts;
	struct buf		txt;

	memset(&opts, 0, sizeof(opts));
	opts.host = "localhost";
	opts.port = 70;
	opts.base = span_cstr(url);
	buf_init(&txt, gmi->max * 2);
	if (gmi2txt_text(&txt, buf_span(gmi), &opts) == -1) {
		buf_free(&txt);
		return -1;
	}
	buf_free(gmi);
	*gmi = txt;
	return 0;
}

/*
 * The path below the current directory when file names one there
 * ("blog/x.md", "./blog/x.md"), or NULL (absolute, or climbing out).
 */
static const char *
post_cli_capsule_path(const char *file)
{
	const char	*p;

	while (file[0] == '.' && file[1] == '/')
		file += 2;
	if (file[0] == '/' || file[0] == '\0')
		return NULL;
	for (p = file; *p != '\0'; p = strchr(p, '/') ? strchr(p, '/') + 1 :
	    p + strlen(p))
		if (p[0] == '.' && p[1] == '.' && (p[2] == '/' || p[2] == '\0'))
			return NULL;
	return file;
}

int
post_cli_render(int argc, char *argv[])
{
	struct post_input	 in;
	struct post		 p;
	struct post_cli_dir	 d;
	struct buf		 src, url;
	const char		*file, *base, *slash, *dot, *rel;
	char			 dir[PATH_MAX];
	int			 rc = 1;
	bool			 gopher;

	gopher = argc == 3 && strcmp(argv[1], "--gopher") == 0;
	if (argc != 2 && !gopher) {
		fprintf(stderr, "usage: capsuled render [--gopher] FILE.md\n");
		return 2;
	}
	file = argv[argc - 1];
	base = (slash = strrchr(file, '/')) ? slash + 1 : file;
	/*
	 * Run from the capsule's root with a relative path, the file is
	 * rendered at the URL it will have ("blog/x.md" as "/blog/x.gmi"), so
	 * root-relative links and cover images are checked for real.
	 * Otherwise it stands alone, as if it were at the root.
	 */
	rel = post_cli_capsule_path(file);
	if (rel != NULL) {
		snprintf(dir, sizeof(dir), ".");
		base = rel;
	} else if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - file), file);
	d.dir = dir;
	buf_init(&src, POST_MAX_SIZE);
	buf_init(&url, PATH_MAX);
	memset(&p, 0, sizeof(p));
	if (post_cli_read(file, &src) == -1) {
		fprintf(stderr, "%s: %s\n", file, errno == EFBIG ?
		    "file too large" : strerror(errno));
		goto done;
	}
	dot = strrchr(base, '.');
	if (buf_printf(&url, "/%.*s.gmi", (int)(dot && dot != base ?
	    dot - base : (long)strlen(base)), base) == -1 ||
	    buf_cstr(&url) == NULL)
		goto done;
	memset(&in, 0, sizeof(in));
	in.src = buf_span(&src);
	in.url = url.p;
	in.name = (slash = strrchr(base, '/')) ? slash + 1 : base;
	in.exists = post_cli_exists;
	in.arg = &d;
	if (post_render(&in, &p) == -1) {
		post_cli_diags(file, &p.diags);
		fprintf(stderr, "%s: %s\n", file, p.errstr);
		goto done;
	}
	if (gopher && post_cli_gopher(&p.gmi, url.p) == -1) {
		fprintf(stderr, "%s: cannot make Gopher text\n", file);
		goto done;
	}
	fwrite(p.gmi.p, 1, p.gmi.len, stdout);
	fflush(stdout);
	post_cli_diags(file, &p.diags);
	rc = 0;
done:
	post_free(&p);
	buf_free(&src);
	buf_free(&url);
	return rc;
}
