#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "buf.h"
#include "frontmatter.h"
#include "mem.h"

enum fm_field {
	F_NONE,
	F_TITLE,
	F_DESC,
	F_PUB,
	F_UPD,
	F_HERO,
	F_TAGS,
	F_DRAFT,
	F_LANG,
	F_PUBLISHED	/* a boolean (draft) or a date (pubdate) */
};

static const struct {
	const char	*key;
	enum fm_field	 field;
} fm_keys[] = {
	{ "title",		F_TITLE },
	{ "description",	F_DESC },
	{ "pubdate",		F_PUB },
	{ "date",		F_PUB },
	{ "publishdate",	F_PUB },
	{ "pub_date",		F_PUB },
	{ "published",		F_PUBLISHED },
	{ "updateddate",	F_UPD },
	{ "updated",		F_UPD },
	{ "lastmod",		F_UPD },
	{ "modified",		F_UPD },
	{ "last_modified_at",	F_UPD },
	{ "heroimage",		F_HERO },
	{ "image",		F_HERO },
	{ "cover",		F_HERO },
	{ "tags",		F_TAGS },
	{ "categories",		F_TAGS },
	{ "draft",		F_DRAFT },
	{ "lang",		F_LANG },
};

struct fm_ctx {
	yaml_parser_t		 parser;
	struct post_meta	*meta;
	struct fm_diags		*diags;
	unsigned long		 line0;
	unsigned		 seen;		/* bit per enum fm_field */
	int			 depth;
	bool			 failed;	/* a YAML error was reported */
};

/* Outcome of reading one event or node. */
enum { FM_OK = 0, FM_ERR = -1, FM_NOMEM = -2 };

/* Dates. */

static const char *fm_months[12] = {
	"january", "february", "march", "april", "may", "june", "july",
	"august", "september", "october", "november", "december"
};

static const char *fm_wdays[7] = {
	"monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
	"sunday"
};

struct fm_cur {
	const char	*p;
	const char	*e;
};

static bool
fm_is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool
fm_is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static void
fm_skip_space(struct fm_cur *c)
{
	while (c->p < c->e && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

/* Read between min and max digits; -1 when there are fewer than min. */
static int
fm_digits(struct fm_cur *c, int min, int max)
{
	int	v = 0, n = 0;

	while (c->p < c->e && n < max && fm_is_digit(*c->p)) {
		v = v * 10 + (*c->p - '0');
		c->p++;
		n++;
	}
	if (n < min || (c->p < c->e && fm_is_digit(*c->p)))
		return -1;
	return v;
}

static size_t
fm_word(struct fm_cur *c, char *w, size_t wsz)
{
	size_t	n = 0;

	while (c->p < c->e && fm_is_alpha(*c->p)) {
		if (n + 1 < wsz)
			w[n] = (char)(*c->p | 0x20);
		n++;
		c->p++;
	}
	w[n < wsz ? n : wsz - 1] = '\0';
	return n;
}

/* A month name: three letters, "sept" or the full English name. */
static int
fm_month(const char *w, size_t n)
{
	int	i;

	if (n >= 16)
		return -1;
	for (i = 0; i < 12; i++) {
		if (n == 3 && strncmp(w, fm_months[i], 3) == 0)
			return i + 1;
		if (strcmp(w, fm_months[i]) == 0)
			return i + 1;
	}
	if (strcmp(w, "sept") == 0)
		return 9;
	return -1;
}

static bool
fm_is_wday(const char *w, size_t n)
{
	int	i;

	if (n >= 16)
		return false;
	for (i = 0; i < 7; i++)
		if ((n == 3 && strncmp(w, fm_wdays[i], 3) == 0) ||
		    strcmp(w, fm_wdays[i]) == 0)
			return true;
	return false;
}

static int
fm_mdays(int y, int m)
{
	static const int	days[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
		return 29;
	return days[m - 1];
}

/* Zone: Z, +hh:mm, +hhmm, +hh, UTC, GMT, GMT+hhmm. */
static int
fm_zone(struct fm_cur *c, struct fm_date *d)
{
	const char	*save;
	char		 w[8];
	int		 sign, hh, mm = 0;

	if (c->p < c->e && *c->p == 'Z') {
		c->p++;
		d->has_tz = true;
		return 0;
	}
	if (c->p < c->e && fm_is_alpha(*c->p)) {
		fm_word(c, w, sizeof(w));
		if (strcmp(w, "utc") != 0 && strcmp(w, "gmt") != 0 &&
		    strcmp(w, "z") != 0)
			return -1;
		d->has_tz = true;
		if (c->p == c->e || (*c->p != '+' && *c->p != '-'))
			return 0;
	}
	if (c->p == c->e || (*c->p != '+' && *c->p != '-'))
		return 0;
	sign = *c->p++ == '-' ? -1 : 1;
	save = c->p;
	if ((hh = fm_digits(c, 4, 4)) != -1) {
		mm = hh % 100;
		hh /= 100;
	} else if ((c->p = save, hh = fm_digits(c, 2, 2)) == -1)
		return -1;
	else if (c->p < c->e && *c->p == ':') {
		c->p++;
		if ((mm = fm_digits(c, 2, 2)) == -1)
			return -1;
	}
	if (hh > 23 || mm > 59)
		return -1;
	d->has_tz = true;
	d->tz_min = sign * (hh * 60 + mm);
	return 0;
}

/* An optional " hh:mm[:ss[.frac]]" (or "Thh:mm" for ISO) and zone. */
static int
fm_time(struct fm_cur *c, struct fm_date *d, bool allow_t)
{
	if (c->p == c->e)
		return 0;
	if (allow_t && (*c->p == 'T' || *c->p == 't')) {
		c->p++;
		if (c->p == c->e || !fm_is_digit(*c->p))
			return -1;
	} else if (*c->p == ' ' || *c->p == '\t')
		fm_skip_space(c);
	else
		return -1;
	if (c->p == c->e)
		return 0;
	if (!fm_is_digit(*c->p))
		return fm_zone(c, d);
	if ((d->hh = fm_digits(c, 1, 2)) == -1 || c->p == c->e ||
	    *c->p != ':')
		return -1;
	c->p++;
	if ((d->mi = fm_digits(c, 2, 2)) == -1)
		return -1;
	if (c->p < c->e && *c->p == ':') {
		c->p++;
		if ((d->ss = fm_digits(c, 2, 2)) == -1)
			return -1;
		if (c->p < c->e && (*c->p == '.' || *c->p == ',')) {
			c->p++;
			if (fm_digits(c, 1, 9) == -1)
				return -1;
		}
	}
	if (d->hh > 23 || d->mi > 59 || d->ss > 60)
		return -1;
	d->has_time = true;
	fm_skip_space(c);
	return fm_zone(c, d);
}

/* YYYY-MM-DD or YYYY/M/D, then an optional time. */
static int
fm_date_numeric(struct fm_cur *c, struct fm_date *d)
{
	char	sep;
	int	dmin = 2;

	if ((d->y = fm_digits(c, 4, 4)) == -1 || c->p == c->e)
		return -1;
	sep = *c->p++;
	if (sep == '/')
		dmin = 1;
	else if (sep != '-')
		return -1;
	if ((d->m = fm_digits(c, dmin, 2)) == -1 || c->p == c->e ||
	    *c->p++ != sep)
		return -1;
	if ((d->d = fm_digits(c, dmin, 2)) == -1)
		return -1;
	return fm_time(c, d, sep == '-');
}

/* "Jan 07 2026", "January 7, 2026", "07 Jan 2026", with time and zone. */
static int
fm_date_words(struct fm_cur *c, struct fm_date *d)
{
	char	w[16];
	size_t	n;

	if (fm_is_digit(*c->p)) {
		if ((d->d = fm_digits(c, 1, 2)) == -1)
			return -1;
		fm_skip_space(c);
		n = fm_word(c, w, sizeof(w));
		if ((d->m = fm_month(w, n)) == -1)
			return -1;
	} else {
		n = fm_word(c, w, sizeof(w));
		if ((d->m = fm_month(w, n)) == -1)
			return -1;
		if (c->p < c->e && *c->p == '.')
			c->p++;
		fm_skip_space(c);
		if ((d->d = fm_digits(c, 1, 2)) == -1)
			return -1;
		if (c->p < c->e && *c->p == ',')
			c->p++;
	}
	if (c->p < c->e && *c->p == '.')
		c->p++;
	fm_skip_space(c);
	if ((d->y = fm_digits(c, 4, 4)) == -1)
		return -1;
	if (c->p < c->e && *c->p == ',')
		c->p++;
	if (c->p < c->e && *c->p != ' ' && *c->p != '\t')
		return -1;
	if (fm_time(c, d, false) == -1)
		return -1;
	/* Date.toString() ends with "(Zone Name)". */
	fm_skip_space(c);
	if (c->p < c->e && *c->p == '(' && c->e[-1] == ')')
		c->p = c->e;
	return 0;
}

int
fm_parse_date(struct span s, struct fm_date *d)
{
	struct fm_cur	 c = { s.p, s.p + s.n };
	struct fm_cur	 w0;
	char		 w[16];
	size_t		 n;
	int		 rc;

	memset(d, 0, sizeof(*d));
	fm_skip_space(&c);
	while (c.e > c.p && (c.e[-1] == ' ' || c.e[-1] == '\t'))
		c.e--;
	if (c.p == c.e)
		return -1;
	/* A leading weekday is ignored, even a wrong one, as JS does. */
	w0 = c;
	n = fm_word(&c, w, sizeof(w));
	if (n > 0 && fm_is_wday(w, n)) {
		if (c.p < c.e && *c.p == ',')
			c.p++;
		fm_skip_space(&c);
	} else
		c = w0;
	if (c.p == c.e)
		return -1;
	if (c.e - c.p >= 5 && fm_is_digit(c.p[0]) && fm_is_digit(c.p[1]) &&
	    fm_is_digit(c.p[2]) && fm_is_digit(c.p[3]))
		rc = fm_date_numeric(&c, d);
	else
		rc = fm_date_words(&c, d);
	fm_skip_space(&c);
	if (rc == -1 || c.p != c.e || d->y < 1 || d->m < 1 || d->m > 12 ||
	    d->d < 1 || d->d > fm_mdays(d->y, d->m)) {
		memset(d, 0, sizeof(*d));
		return -1;
	}
	return 0;
}

/* Diagnostics. */

int
fm_diag_add(struct fm_diags *dl, unsigned long line, const char *fmt, ...)
{
	va_list		 ap;
	char		 msg[512];
	struct fm_diag	*nv;
	size_t		 ncap, i;

	if (dl->n >= FM_MAX_DIAGS) {
		dl->dropped = true;
		return 0;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Messages quote the author's bytes; keep terminals and logs safe. */
	for (i = 0; msg[i] != '\0'; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			msg[i] = '?';
	if (dl->n == dl->cap) {
		ncap = dl->cap ? dl->cap * 2 : 8;
		if ((nv = mem_realloc(dl->v, ncap * sizeof(*nv))) == NULL) {
			dl->dropped = true;
			return -1;
		}
		dl->v = nv;
		dl->cap = ncap;
	}
	if ((dl->v[dl->n].msg = mem_strdup(msg)) == NULL) {
		dl->dropped = true;
		return -1;
	}
	dl->v[dl->n++].line = line;
	return 0;
}

void
fm_diags_free(struct fm_diags *dl)
{
	size_t	i;

	for (i = 0; i < dl->n; i++)
		free(dl->v[i].msg);
	free(dl->v);
	memset(dl, 0, sizeof(*dl));
}

void
fm_meta_free(struct post_meta *meta)
{
	size_t	i;

	free(meta->title);
	free(meta->description);
	free(meta->hero);
	free(meta->lang);
	for (i = 0; i < meta->ntags; i++)
		free(meta->tags[i]);
	free(meta->tags);
	memset(meta, 0, sizeof(*meta));
}

/* Splitting. */

struct fm_line {
	struct span	 text;	/* without the line end */
	size_t		 next;	/* offset of the following line */
};

static bool
fm_getline(struct span doc, size_t off, struct fm_line *l)
{
	const char	*nl;
	size_t		 n;

	if (off >= doc.n)
		return false;
	nl = memchr(doc.p + off, '\n', doc.n - off);
	n = nl ? (size_t)(nl - (doc.p + off)) : doc.n - off;
	l->next = off + n + (nl ? 1 : 0);
	if (n > 0 && doc.p[off + n - 1] == '\r')
		n--;
	l->text = span_make(doc.p + off, n);
	return true;
}

/* A fence line: exactly the marker, then only spaces or tabs. */
static bool
fm_is_fence(struct span t, const char *mark)
{
	size_t	i;

	if (!span_starts_with(t, mark))
		return false;
	for (i = strlen(mark); i < t.n; i++)
		if (t.p[i] != ' ' && t.p[i] != '\t')
			return false;
	return true;
}

void
fm_split(struct span doc, struct fm_split *sp)
{
	struct fm_line	 l;
	const char	*open;
	size_t		 off, start;
	unsigned long	 line = 1;

	memset(sp, 0, sizeof(*sp));
	if (doc.n >= 3 && memcmp(doc.p, "\xef\xbb\xbf", 3) == 0) {
		doc.p += 3;
		doc.n -= 3;
	}
	sp->body = doc;
	sp->body_line = 1;
	if (!fm_getline(doc, 0, &l) || l.next == doc.n)
		return;
	if (fm_is_fence(l.text, "---"))
		open = "---";
	else if (fm_is_fence(l.text, "+++"))
		open = "+++";
	else
		return;
	off = start = l.next;
	while (fm_getline(doc, off, &l)) {
		line++;
		if (fm_is_fence(l.text, open) || (open[0] == '-' &&
		    fm_is_fence(l.text, "..."))) {
			sp->kind = open[0] == '-' ? FM_YAML : FM_TOML;
			sp->fm = span_make(doc.p + start, off - start);
			sp->fm_line = 2;
			sp->body = span_make(doc.p + l.next, doc.n - l.next);
			sp->body_line = line + 1;
			return;
		}
		off = l.next;
	}
	sp->unclosed = true;
}

/* Reading the YAML. */

static unsigned long
fm_line_of(const struct fm_ctx *c, yaml_mark_t m)
{
	return c->line0 + (unsigned long)m.line;
}

static void
fm_yaml_error(struct fm_ctx *c)
{
	const yaml_parser_t	*p = &c->parser;
	const char		*fix = "";

	if (p->problem != NULL && strstr(p->problem, "mapping values") != NULL)
		fix = " (quote a value that contains \": \")";
	else if (p->problem != NULL && strstr(p->problem, "tab") != NULL)
		fix = " (indent with spaces)";
	fm_diag_add(c->diags, fm_line_of(c, p->problem_mark),
	    "front matter: %s%s", p->problem ? p->problem : "YAML error", fix);
	c->failed = true;
}

static bool
fm_has_anchor(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return ev->data.scalar.anchor != NULL;
	case YAML_SEQUENCE_START_EVENT:
		return ev->data.sequence_start.anchor != NULL;
	case YAML_MAPPING_START_EVENT:
		return ev->data.mapping_start.anchor != NULL;
	default:
		return false;
	}
}

/* The next event, with aliases and anchors refused so nothing expands. */
static int
fm_next(struct fm_ctx *c, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&c->parser, ev)) {
		if (c->parser.error == YAML_MEMORY_ERROR)
			return FM_NOMEM;
		fm_yaml_error(c);
		return FM_ERR;
	}
	if (ev->type == YAML_ALIAS_EVENT || fm_has_anchor(ev)) {
		fm_diag_add(c->diags, fm_line_of(c, ev->start_mark),
		    "front matter: anchors and aliases (& and *) are not "
		    "allowed; write the value out");
		yaml_event_delete(ev);
		c->failed = true;
		return FM_ERR;
	}
	return FM_OK;
}

static int
fm_enter(struct fm_ctx *c, const yaml_event_t *ev)
{
	if (++c->depth > FM_MAX_DEPTH) {
		fm_diag_add(c->diags, fm_line_of(c, ev->start_mark),
		    "front matter: nested deeper than %d levels",
		    FM_MAX_DEPTH);
		c->failed = true;
		return FM_ERR;
	}
	return FM_OK;
}

/* Consume the rest of a node whose first event is first. */
static int
fm_skip(struct fm_ctx *c, const yaml_event_t *first)
{
	yaml_event_t	ev;
	int		base = c->depth, rc;

	if (first->type != YAML_SEQUENCE_START_EVENT &&
	    first->type != YAML_MAPPING_START_EVENT)
		return FM_OK;
	if ((rc = fm_enter(c, first)) != FM_OK)
		return rc;
	while (c->depth > base) {
		if ((rc = fm_next(c, &ev)) != FM_OK)
			return rc;
		switch (ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			rc = fm_enter(c, &ev);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			c->depth--;
			break;
		case YAML_STREAM_END_EVENT:
			rc = FM_ERR;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (rc != FM_OK)
			return rc;
	}
	return FM_OK;
}

static struct span
fm_scalar(const yaml_event_t *ev)
{
	return span_make((const char *)ev->data.scalar.value,
	    ev->data.scalar.length);
}

static bool
fm_is_null(const yaml_event_t *ev)
{
	struct span	s = fm_scalar(ev);

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return s.n == 0 || span_eq_cstr(s, "~") ||
	    span_caseeq_cstr(s, "null");
}

/* YAML 1.1 booleans, which is what authors of draft: yes expect. */
static int
fm_bool(struct span s, bool *b)
{
	static const char	*yes[] = { "true", "yes", "on", "y" };
	static const char	*no[] = { "false", "no", "off", "n" };
	size_t			 i;

	for (i = 0; i < 4; i++) {
		if (span_caseeq_cstr(s, yes[i])) {
			*b = true;
			return 0;
		}
		if (span_caseeq_cstr(s, no[i])) {
			*b = false;
			return 0;
		}
	}
	return -1;
}

/*
 * A one-line copy: folded and literal scalars carry newlines, and control
 * characters have no business in a title.
 */
static char *
fm_flat(struct span s)
{
	char	*d;
	size_t	 i, n = 0;
	bool	 sp = false;

	if ((d = mem_malloc(s.n + 1)) == NULL)
		return NULL;
	for (i = 0; i < s.n; i++) {
		unsigned char	ch = (unsigned char)s.p[i];

		if (ch < 0x20 || ch == 0x7f || ch == ' ') {
			sp = n > 0;
			continue;
		}
		if (sp)
			d[n++] = ' ';
		sp = false;
		d[n++] = (char)ch;
	}
	d[n] = '\0';
	return d;
}

static void
fm_keyname(struct span k, char *out, size_t outsz)
{
	size_t	i, n = k.n < outsz - 1 ? k.n : outsz - 1;

	for (i = 0; i < n; i++)
		out[i] = (k.p[i] > 0x20 && k.p[i] < 0x7f) ? k.p[i] : '?';
	out[n] = '\0';
}

static enum fm_field
fm_lookup(struct span k)
{
	size_t	i;

	for (i = 0; i < sizeof(fm_keys) / sizeof(fm_keys[0]); i++)
		if (span_caseeq_cstr(k, fm_keys[i].key))
			return fm_keys[i].field;
	return F_NONE;
}

static int
fm_add_tag(struct post_meta *m, struct span s)
{
	char	**nt, *t;

	while (s.n > 0 && (*s.p == ' ' || *s.p == '\t')) {
		s.p++;
		s.n--;
	}
	while (s.n > 0 && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
		s.n--;
	if (s.n == 0 || m->ntags >= FM_MAX_TAGS)
		return 0;
	if ((t = fm_flat(s)) == NULL)
		return -1;
	if ((nt = mem_realloc(m->tags, (m->ntags + 1) * sizeof(*nt))) ==
	    NULL) {
		free(t);
		return -1;
	}
	m->tags = nt;
	m->tags[m->ntags++] = t;
	return 0;
}

/* "a, b" is a list of two tags as well. */
static int
fm_tags_scalar(struct post_meta *m, struct span s)
{
	long	i;

	while ((i = span_index(s, ',')) != -1) {
		if (fm_add_tag(m, span_make(s.p, (size_t)i)) == -1)
			return -1;
		s.p += i + 1;
		s.n -= (size_t)i + 1;
	}
	return fm_add_tag(m, s);
}

static int
fm_tags_seq(struct fm_ctx *c, const char *key, unsigned long line)
{
	yaml_event_t	ev;
	int		rc;

	for (;;) {
		if ((rc = fm_next(c, &ev)) != FM_OK)
			return rc;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			c->depth--;
			return FM_OK;
		}
		if (ev.type == YAML_SCALAR_EVENT) {
			if (!fm_is_null(&ev) &&
			    fm_add_tag(c->meta, fm_scalar(&ev)) == -1)
				rc = FM_NOMEM;
		} else if (ev.type == YAML_STREAM_END_EVENT)
			rc = FM_ERR;
		else {
			fm_diag_add(c->diags, line, "%s: an item is not a "
			    "plain value; ignored", key);
			rc = fm_skip(c, &ev);
		}
		yaml_event_delete(&ev);
		if (rc != FM_OK)
			return rc;
	}
}

static int
fm_set_string(char **dst, const yaml_event_t *ev)
{
	if (fm_is_null(ev))
		return FM_OK;
	if ((*dst = fm_flat(fm_scalar(ev))) == NULL)
		return FM_NOMEM;
	return FM_OK;
}

static int
fm_set_date(struct fm_ctx *c, struct fm_date *d, const yaml_event_t *ev,
    const char *key, unsigned long line)
{
	char	shown[64];

	if (fm_is_null(ev))
		return FM_OK;
	if (fm_parse_date(fm_scalar(ev), d) == -1) {
		fm_keyname(fm_scalar(ev), shown, sizeof(shown));
		fm_diag_add(c->diags, line, "%s: cannot read the date \"%s\" "
		    "(write YYYY-MM-DD); ignored", key, shown);
	}
	return FM_OK;
}

/* A scalar value for one of the known fields. */
static int
fm_scalar_value(struct fm_ctx *c, enum fm_field f, const yaml_event_t *ev,
    const char *key, unsigned long line)
{
	struct post_meta	*m = c->meta;
	bool			 b;

	switch (f) {
	case F_TITLE:
		return fm_set_string(&m->title, ev);
	case F_DESC:
		return fm_set_string(&m->description, ev);
	case F_LANG:
		return fm_set_string(&m->lang, ev);
	case F_HERO:
		m->hero_line = line;
		return fm_set_string(&m->hero, ev);
	case F_PUB:
		return fm_set_date(c, &m->pubdate, ev, key, line);
	case F_UPD:
		return fm_set_date(c, &m->updated, ev, key, line);
	case F_TAGS:
		if (fm_is_null(ev))
			return FM_OK;
		return fm_tags_scalar(m, fm_scalar(ev)) == -1 ? FM_NOMEM :
		    FM_OK;
	case F_DRAFT:
		if (fm_is_null(ev))
			return FM_OK;
		if (fm_bool(fm_scalar(ev), &b) == -1)
			fm_diag_add(c->diags, line, "%s: expected true or "
			    "false; ignored", key);
		else
			m->draft = m->draft || b;
		return FM_OK;
	default:
		return FM_OK;
	}
}

static const char *
fm_kind_name(yaml_event_type_t t)
{
	return t == YAML_SEQUENCE_START_EVENT ? "a list" : "a mapping";
}

static int
fm_value(struct fm_ctx *c, enum fm_field f, const yaml_event_t *ev,
    const char *key, unsigned long line)
{
	bool	b;

	if (f == F_PUBLISHED && ev->type == YAML_SCALAR_EVENT) {
		/* published: false hides; published: 2026-01-07 dates. */
		if (fm_bool(fm_scalar(ev), &b) == 0) {
			c->meta->draft = c->meta->draft || !b;
			return FM_OK;
		}
		f = F_PUB;
	}
	if (f != F_NONE) {
		if (c->seen & (1u << f)) {
			fm_diag_add(c->diags, line, "%s: given more than once; "
			    "the first value wins", key);
			return fm_skip(c, ev);
		}
		c->seen |= 1u << f;
	}
	if (ev->type == YAML_SCALAR_EVENT)
		return fm_scalar_value(c, f, ev, key, line);
	if (f == F_TAGS && ev->type == YAML_SEQUENCE_START_EVENT) {
		if (fm_enter(c, ev) != FM_OK)
			return FM_ERR;
		return fm_tags_seq(c, key, line);
	}
	if (f != F_NONE)
		fm_diag_add(c->diags, line, "%s: expected %s, got %s; ignored",
		    key, f == F_TAGS ? "a list or a string" : "a string",
		    fm_kind_name(ev->type));
	return fm_skip(c, ev);
}

static int
fm_pair(struct fm_ctx *c, const yaml_event_t *kev)
{
	yaml_event_t	 vev;
	enum fm_field	 f = F_NONE;
	char		 key[48];
	unsigned long	 line = fm_line_of(c, kev->start_mark);
	int		 rc;

	if (kev->type == YAML_SCALAR_EVENT) {
		f = fm_lookup(fm_scalar(kev));
		fm_keyname(fm_scalar(kev), key, sizeof(key));
	} else {
		fm_diag_add(c->diags, line, "front matter: a key that is "
		    "not a plain string; ignored");
		if ((rc = fm_skip(c, kev)) != FM_OK)
			return rc;
		snprintf(key, sizeof(key), "?");
	}
	if ((rc = fm_next(c, &vev)) != FM_OK)
		return rc;
	rc = fm_value(c, f, &vev, key, line);
	yaml_event_delete(&vev);
	return rc;
}

static int
fm_mapping(struct fm_ctx *c)
{
	yaml_event_t	ev;
	int		rc;

	for (;;) {
		if ((rc = fm_next(c, &ev)) != FM_OK)
			return rc;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			return FM_OK;
		}
		rc = fm_pair(c, &ev);
		yaml_event_delete(&ev);
		if (rc != FM_OK)
			return rc;
	}
}

/* Only the first document is read; a stray "--- x" starts a second. */
static int
fm_document(struct fm_ctx *c)
{
	yaml_event_t	ev;
	int		rc, i;

	for (i = 0; i < 2; i++) {
		if ((rc = fm_next(c, &ev)) != FM_OK)
			return rc;
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			return FM_OK;
		}
		yaml_event_delete(&ev);
	}
	if ((rc = fm_next(c, &ev)) != FM_OK)
		return rc;
	if (ev.type == YAML_MAPPING_START_EVENT) {
		c->depth = 1;
		rc = fm_mapping(c);
	} else if (ev.type != YAML_SCALAR_EVENT || !fm_is_null(&ev)) {
		fm_diag_add(c->diags, fm_line_of(c, ev.start_mark),
		    "front matter: expected \"key: value\" lines");
		c->failed = true;
		rc = FM_ERR;
	}
	yaml_event_delete(&ev);
	return rc;
}

static int
fm_yaml(struct span fm, unsigned long line0, struct post_meta *meta,
    struct fm_diags *diags)
{
	struct fm_ctx	c;
	int		rc;

	memset(&c, 0, sizeof(c));
	c.meta = meta;
	c.diags = diags;
	c.line0 = line0;
	if (!yaml_parser_initialize(&c.parser))
		return FM_NOMEM;
	yaml_parser_set_input_string(&c.parser, (const unsigned char *)fm.p,
	    fm.n);
	yaml_parser_set_encoding(&c.parser, YAML_UTF8_ENCODING);
	rc = fm_document(&c);
	yaml_parser_delete(&c.parser);
	if (rc == FM_ERR && !c.failed)
		fm_diag_add(diags, line0, "front matter: unexpected end");
	return rc;
}

int
fm_parse(struct span doc, struct post_meta *meta, struct span *body,
    unsigned long *body_line, struct fm_diags *diags)
{
	struct fm_split	sp;
	bool		draft;
	int		rc;

	fm_split(doc, &sp);
	*body = sp.body;
	*body_line = sp.body_line;
	if (sp.unclosed)
		fm_diag_add(diags, 1, "front matter: no closing --- line; "
		    "the file is read as Markdown");
	if (sp.kind == FM_TOML) {
		fm_diag_add(diags, 1, "front matter: TOML (+++) is not "
		    "supported; skipped");
		return 0;
	}
	if (sp.kind != FM_YAML)
		return 0;
	if (sp.fm.n > FM_MAX_SIZE) {
		fm_diag_add(diags, sp.fm_line, "front matter: larger than "
		    "%d KiB; ignored", FM_MAX_SIZE / 1024);
		meta->broken = true;
		return 0;
	}
	rc = fm_yaml(sp.fm, sp.fm_line, meta, diags);
	if (rc == FM_OK)
		return 0;
	draft = meta->draft;
	fm_meta_free(meta);
	meta->draft = draft;
	meta->broken = true;
	return rc == FM_NOMEM ? -1 : 0;
}
