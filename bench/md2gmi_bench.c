/*
 * md2gmi_bench: conversion speed of md2gmi next to md4c's own HTML
 * renderer, on the same inputs in the same run.
 *
 *	md2gmi_bench [-jv] [-r reps] [-t seconds] file.md | dir ...
 *
 * Three engines are timed over the whole input set: md_html() with the
 * parser flags md2gmi uses, md2gmi_render() on the body alone, and the
 * whole post_render() pipeline on the full file.  Each repetition repeats
 * passes over all inputs until the time is used up; the engines take
 * turns within a repetition so that a noisy machine slows all of them
 * alike.  Speeds are MB (10^6 bytes) of input per second of wall time.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <md4c-html.h>

#include "buf.h"
#include "frontmatter.h"
#include "md2gmi.h"
#include "post.h"

/* The flags md2gmi_render() gives md_parse(), so both parse alike. */
#define BENCH_MD_FLAGS	(MD_DIALECT_GITHUB | MD_FLAG_COLLAPSEWHITESPACE)

#define BENCH_MAX_REPS	101
#define BENCH_URL_MAX	512

struct input {
	char		*path;
	const char	*name;		/* base name, for the title */
	char		 url[BENCH_URL_MAX];
	struct span	 src;		/* the whole file */
	struct span	 body;		/* after the front matter */
};

struct bench;

/* One engine: converts one input, reports how many bytes it wrote. */
struct engine {
	const char	*name;
	int		(*one)(struct bench *, const struct input *,
			    size_t *);
	bool		 whole;		/* reads the file, not the body */
};

/* One repetition of one engine. */
struct sample {
	double		 wall;		/* seconds */
	double		 cpu;
	unsigned long	 passes;
};

/* What a table row shows. */
struct result {
	size_t		 in;		/* input bytes per pass */
	size_t		 out;		/* output bytes per pass */
	double		 med, min, max;	/* MB/s, wall time */
	double		 cpu;		/* MB/s over CPU time, median */
};

struct bench {
	struct input	*v;
	size_t		 n;
	size_t		 cap;
	struct buf	 out;		/* md_html and md2gmi reuse it */
	bool		 err;
	double		 secs;
	int		 reps;
	bool		 json;
	bool		 verbose;
};

static int	one_html(struct bench *, const struct input *, size_t *);
static int	one_md2gmi(struct bench *, const struct input *, size_t *);
static int	one_post(struct bench *, const struct input *, size_t *);

static const struct engine engines[] = {
	{ "md_html",	one_html,	false },
	{ "md2gmi",	one_md2gmi,	false },
	{ "post",	one_post,	true },
};
#define NENGINES	(sizeof(engines) / sizeof(engines[0]))

static void
usage(void)
{
	fprintf(stderr, "usage: md2gmi_bench [-jv] [-r reps] [-t seconds] "
	    "file.md | dir ...\n");
	exit(2);
}

static double
ts_sec(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	    (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void
now(clockid_t id, struct timespec *ts)
{
	if (clock_gettime(id, ts) == -1)
		err(1, "clock_gettime");
}

static bool
is_md(const char *name)
{
	size_t	n = strlen(name);

	return n > 3 && strcmp(name + n - 3, ".md") == 0;
}

/* Read the whole file; posts are capped, so one read loop is enough. */
static char *
slurp(const char *path, size_t *len)
{
	struct stat	 st;
	char		*p;
	size_t		 off = 0;
	ssize_t		 r;
	int		 fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		err(1, "%s", path);
	if (fstat(fd, &st) == -1)
		err(1, "%s", path);
	if (st.st_size > POST_MAX_SIZE)
		errx(1, "%s: larger than a post may be", path);
	if ((p = malloc((size_t)st.st_size + 1)) == NULL)
		err(1, NULL);
	while (off < (size_t)st.st_size) {
		r = read(fd, p + off, (size_t)st.st_size - off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			err(1, "%s", path);
		if (r == 0)
			break;
		off += (size_t)r;
	}
	close(fd);
	*len = off;
	return p;
}

static void
add_file(struct bench *b, const char *path)
{
	struct input	*in;
	struct fm_split	 sp;
	const char	*slash;
	size_t		 len, stem;
	char		*data;
	int		 n;

	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 16;
		b->v = reallocarray(b->v, b->cap, sizeof(*b->v));
		if (b->v == NULL)
			err(1, NULL);
	}
	in = &b->v[b->n];
	memset(in, 0, sizeof(*in));
	if ((in->path = strdup(path)) == NULL)
		err(1, NULL);
	slash = strrchr(in->path, '/');
	in->name = slash ? slash + 1 : in->path;
	stem = strlen(in->name) - (is_md(in->name) ? 3 : 0);
	/* Served where capsuled would serve it, so links resolve alike. */
	n = snprintf(in->url, sizeof(in->url), "/blog/%.*s.gmi", (int)stem,
	    in->name);
	if (n < 0 || (size_t)n >= sizeof(in->url))
		errx(1, "%s: name too long", path);
	data = slurp(path, &len);
	in->src = span_make(data, len);
	fm_split(in->src, &sp);
	in->body = sp.body;
	b->n++;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every .md file directly in dir, in name order so runs compare. */
static void
add_dir(struct bench *b, const char *dir)
{
	struct dirent	 *de;
	DIR		 *d;
	char		**names = NULL, *path;
	size_t		  n = 0, cap = 0, i;

	if ((d = opendir(dir)) == NULL)
		err(1, "%s", dir);
	while ((de = readdir(d)) != NULL) {
		if (!is_md(de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = reallocarray(names, cap, sizeof(*names));
			if (names == NULL)
				err(1, NULL);
		}
		if (asprintf(&path, "%s/%s", dir, de->d_name) == -1)
			err(1, NULL);
		names[n++] = path;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n; i++) {
		add_file(b, names[i]);
		free(names[i]);
	}
	free(names);
}

static void
add_arg(struct bench *b, const char *arg)
{
	struct stat	st;

	if (stat(arg, &st) == -1)
		err(1, "%s", arg);
	if (S_ISDIR(st.st_mode))
		add_dir(b, arg);
	else
		add_file(b, arg);
}

static void
html_sink(const MD_CHAR *text, MD_SIZE size, void *arg)
{
	struct bench	*b = arg;

	if (buf_append(&b->out, text, size) == -1)
		b->err = true;
}

static int
one_html(struct bench *b, const struct input *in, size_t *out)
{
	buf_reset(&b->out);
	b->err = false;
	if (md_html(in->body.p, (MD_SIZE)in->body.n, html_sink, b,
	    BENCH_MD_FLAGS, 0) != 0 || b->err)
		return -1;
	*out = b->out.len;
	return 0;
}

/* The same ceiling post_render() gives the body. */
static size_t
out_max(size_t n)
{
	return n * POST_OUT_FACTOR + POST_OUT_SLACK;
}

static int
one_md2gmi(struct bench *b, const struct input *in, size_t *out)
{
	struct md2gmi_opts	opts;
	struct md2gmi_info	info;
	struct fm_diags		diags;
	int			rc;

	memset(&opts, 0, sizeof(opts));
	memset(&diags, 0, sizeof(diags));
	opts.base = in->url;
	opts.src = in->src;
	opts.max_out = out_max(in->src.n);
	buf_reset(&b->out);
	rc = md2gmi_render(in->body, &opts, &b->out, &info, &diags);
	if (rc == 0) {
		*out = b->out.len;
		md2gmi_info_free(&info);
	}
	fm_diags_free(&diags);
	return rc;
}

static int
one_post(struct bench *b, const struct input *in, size_t *out)
{
	struct post_input	pi;
	struct post		p;
	int			rc;

	(void)b;
	memset(&pi, 0, sizeof(pi));
	memset(&p, 0, sizeof(p));
	pi.src = in->src;
	pi.url = in->url;
	pi.name = in->name;
	rc = post_render(&pi, &p);
	if (rc == 0)
		*out = p.gmi.len;
	else
		warnx("%s: %s", in->path, p.errstr);
	post_free(&p);
	return rc;
}

/* Bytes an engine reads in one pass over inputs [lo, hi). */
static size_t
in_bytes(const struct bench *b, const struct engine *e, size_t lo,
    size_t hi)
{
	size_t	i, sum = 0;

	for (i = lo; i < hi; i++)
		sum += e->whole ? b->v[i].src.n : b->v[i].body.n;
	return sum;
}

/*
 * One untimed pass, which also checks that every input converts and
 * gives output, so a broken engine cannot look fast.
 */
static size_t
warm(struct bench *b, const struct engine *e, size_t lo, size_t hi)
{
	size_t	i, out, sum = 0;

	for (i = lo; i < hi; i++) {
		out = 0;
		if (e->one(b, &b->v[i], &out) == -1)
			errx(1, "%s: %s failed", b->v[i].path, e->name);
		if (out == 0 && b->v[i].body.n > 0)
			errx(1, "%s: %s wrote nothing", b->v[i].path,
			    e->name);
		sum += out;
	}
	return sum;
}

static void
measure(struct bench *b, const struct engine *e, size_t lo, size_t hi,
    double secs, struct sample *s)
{
	struct timespec	w0, w1, c0, c1;
	size_t		i, out;

	s->passes = 0;
	now(CLOCK_MONOTONIC, &w0);
	now(CLOCK_PROCESS_CPUTIME_ID, &c0);
	do {
		for (i = lo; i < hi; i++)
			if (e->one(b, &b->v[i], &out) == -1)
				errx(1, "%s: %s failed", b->v[i].path,
				    e->name);
		s->passes++;
		now(CLOCK_MONOTONIC, &w1);
	} while (ts_sec(&w0, &w1) < secs);
	now(CLOCK_PROCESS_CPUTIME_ID, &c1);
	s->wall = ts_sec(&w0, &w1);
	s->cpu = ts_sec(&c0, &c1);
}

static int
cmp_dbl(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_dbl);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void
summarise(const struct sample *s, int reps, size_t in, struct result *r)
{
	double	wall[BENCH_MAX_REPS], cpu[BENCH_MAX_REPS];
	int	i;

	for (i = 0; i < reps; i++) {
		wall[i] = (double)in * (double)s[i].passes / s[i].wall / 1e6;
		cpu[i] = s[i].cpu > 0 ?
		    (double)in * (double)s[i].passes / s[i].cpu / 1e6 : 0;
	}
	r->in = in;
	r->med = median(wall, reps);
	r->min = wall[0];
	r->max = wall[reps - 1];
	r->cpu = median(cpu, reps);
}

/* Time every engine over inputs [lo, hi), taking turns each repetition. */
static void
run(struct bench *b, size_t lo, size_t hi, double secs,
    struct result res[NENGINES])
{
	struct sample	s[NENGINES][BENCH_MAX_REPS];
	size_t		e;
	int		r;

	for (e = 0; e < NENGINES; e++) {
		res[e].out = warm(b, &engines[e], lo, hi);
		res[e].in = in_bytes(b, &engines[e], lo, hi);
	}
	for (r = 0; r < b->reps; r++)
		for (e = 0; e < NENGINES; e++)
			measure(b, &engines[e], lo, hi, secs, &s[e][r]);
	for (e = 0; e < NENGINES; e++)
		summarise(s[e], b->reps, res[e].in, &res[e]);
}

static double
ratio(const struct result res[NENGINES], size_t e)
{
	return res[0].med > 0 ? res[e].med / res[0].med : 0;
}

static void
print_table(const struct bench *b, const struct result res[NENGINES])
{
	size_t	e;

	printf("%zu files, %zu bytes (%zu of body); %d reps of %.2f s each; "
	    "MB = 10^6 bytes of input\n", b->n, res[2].in, res[0].in,
	    b->reps, b->secs);
	printf("%-8s %10s %9s %19s %9s %10s\n", "engine", "in B/pass",
	    "MB/s med", "MB/s min-max", "cpu MB/s", "out B/pass");
	for (e = 0; e < NENGINES; e++)
		printf("%-8s %10zu %9.1f %9.1f-%-9.1f %9.1f %10zu\n",
		    engines[e].name, res[e].in, res[e].med, res[e].min,
		    res[e].max, res[e].cpu, res[e].out);
	printf("md2gmi/md_html: %.2fx\n", ratio(res, 1));
	printf("post/md_html: %.2fx\n", ratio(res, 2));
}

static void
print_json(const struct bench *b, const struct result res[NENGINES])
{
	size_t	e;

	printf("{\"files\":%zu,\"reps\":%d,\"seconds\":%.3f", b->n, b->reps,
	    b->secs);
	for (e = 0; e < NENGINES; e++)
		printf(",\"%s\":{\"in\":%zu,\"out\":%zu,\"mbps\":%.2f,"
		    "\"min\":%.2f,\"max\":%.2f,\"cpu_mbps\":%.2f}",
		    engines[e].name, res[e].in, res[e].out, res[e].med,
		    res[e].min, res[e].max, res[e].cpu);
	printf(",\"md2gmi_md_html\":%.3f,\"post_md_html\":%.3f}\n",
	    ratio(res, 1), ratio(res, 2));
}

/* Each file alone, with a shorter time, to show which inputs lag. */
static void
print_files(struct bench *b)
{
	struct result	res[NENGINES];
	size_t		i;

	printf("%-40s %9s %9s %9s %7s\n", "file", "md_html", "md2gmi",
	    "post", "ratio");
	for (i = 0; i < b->n; i++) {
		run(b, i, i + 1, b->secs / 5, res);
		printf("%-40.40s %9.1f %9.1f %9.1f %6.2fx\n", b->v[i].name,
		    res[0].med, res[1].med, res[2].med, ratio(res, 1));
	}
	printf("\n");
}

int
main(int argc, char *argv[])
{
	struct bench	b;
	struct result	res[NENGINES];
	const char	*errstr = NULL;
	char		*end;
	size_t		 i, max = 0;
	int		 ch;

	memset(&b, 0, sizeof(b));
	b.secs = 1.0;
	b.reps = 5;
	while ((ch = getopt(argc, argv, "jr:t:v")) != -1) {
		switch (ch) {
		case 'j':
			b.json = true;
			break;
		case 'r':
			b.reps = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || b.reps < 1 ||
			    b.reps > BENCH_MAX_REPS)
				errstr = "-r wants 1 to 101";
			break;
		case 't':
			b.secs = strtod(optarg, &end);
			if (*end != '\0' || !(b.secs > 0 && b.secs <= 600))
				errstr = "-t wants seconds, above 0";
			break;
		case 'v':
			b.verbose = true;
			break;
		default:
			usage();
		}
		if (errstr != NULL)
			errx(2, "%s", errstr);
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage();
	for (; argc > 0; argc--, argv++)
		add_arg(&b, *argv);
	if (b.n == 0)
		errx(1, "no .md files");

	/* HTML can outgrow gemtext's ceiling; one bound fits both. */
	for (i = 0; i < b.n; i++)
		if (out_max(b.v[i].src.n) * 2 > max)
			max = out_max(b.v[i].src.n) * 2;
	buf_init(&b.out, max);

	if (b.verbose)
		print_files(&b);
	run(&b, 0, b.n, b.secs, res);
	print_table(&b, res);
	if (b.json)
		print_json(&b, res);

	buf_free(&b.out);
	for (i = 0; i < b.n; i++) {
		free((char *)b.v[i].src.p);
		free(b.v[i].path);
	}
	free(b.v);
	return 0;
}
