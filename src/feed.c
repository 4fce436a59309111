#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "feed.h"
#include "frontmatter.h"
#include "mem.h"

/* How put_text treats text. */
#define TX_FLAT		0x01	/* one line, runs of space collapsed, trimmed */
#define TX_XML		0x02	/* XML character data or attribute value */

/* What put_text does with one code point. */
enum tx_class {
	TX_KEEP,
	TX_SPACE,
	TX_DROP
};

/* A query word with its failure table, so matching never backtracks. */
struct feed_word {
	const unsigned char	*p;
	size_t			 n;
	unsigned char		 fail[FEED_SEARCH_MAX_WORD];
};

/* One tag of one entry, for sorting all tags at once. */
struct feed_tagref {
	const char	*tag;
	size_t		 entry;
	size_t		 idx;
};

static const char	 utf8_repl[] = "\xef\xbf\xbd";

/*
 * Decode one code point at p.  Anything that is not shortest-form UTF-8
 * of a scalar value (overlongs, surrogates, past U+10FFFF, truncated
 * sequences) is one byte long and decodes to U+FFFD, so the output is
 * always valid whatever the input.
 */
static size_t
utf8_next(const unsigned char *p, size_t n, uint32_t *cp, bool *bad)
{
	unsigned char	 b = p[0], lo = 0x80, hi = 0xbf;
	size_t		 len, i;
	uint32_t	 c;

	*bad = false;
	if (b < 0x80) {
		*cp = b;
		return 1;
	}
	if (b >= 0xc2 && b <= 0xdf) {
		len = 2;
		c = b & 0x1f;
	} else if (b >= 0xe0 && b <= 0xef) {
		len = 3;
		c = b & 0x0f;
		if (b == 0xe0)
			lo = 0xa0;
		else if (b == 0xed)
			hi = 0x9f;
	} else if (b >= 0xf0 && b <= 0xf4) {
		len = 4;
		c = b & 0x07;
		if (b == 0xf0)
			lo = 0x90;
		else if (b == 0xf4)
			hi = 0x8f;
	} else
		goto bad;
	if (n < len || p[1] < lo || p[1] > hi)
		goto bad;
	for (i = 1; i < len; i++) {
		if (i > 1 && (p[i] & 0xc0) != 0x80)
			goto bad;
		c = (c << 6) | (p[i] & 0x3f);
	}
	*cp = c;
	return len;
bad:
	*bad = true;
	*cp = 0xfffd;
	return 1;
}

static enum tx_class
tx_classify(uint32_t cp, int flags)
{
	bool	 flat = (flags & TX_FLAT) != 0;

	if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r')
		return flat ? TX_SPACE : TX_KEEP;
	/* Some readers break lines at these too. */
	if (flat && (cp == 0x85 || cp == 0x2028 || cp == 0x2029))
		return TX_SPACE;
	if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
		return TX_DROP;
	return TX_KEEP;
}

static int
put_xml_char(struct buf *out, uint32_t cp, const unsigned char *raw,
    size_t len)
{
	switch (cp) {
	case '&':
		return buf_puts(out, "&amp;");
	case '<':
		return buf_puts(out, "&lt;");
	case '>':
		return buf_puts(out, "&gt;");
	case '"':
		return buf_puts(out, "&quot;");
	case '\'':
		return buf_puts(out, "&apos;");
	default:
		return buf_append(out, raw, len);
	}
}

/*
 * The one way untrusted text reaches a page: gemtext gets TX_FLAT so a
 * title can never start a line of its own, Atom gets TX_XML so it can
 * never close an element.  U+FFFE and U+FFFF are not XML characters.
 */
static int
put_text(struct buf *out, struct span s, int flags)
{
	const unsigned char	*p = (const unsigned char *)s.p;
	size_t			 i = 0, len;
	uint32_t		 cp;
	bool			 bad, wrote = false, space = false;
	int			 r;

	while (i < s.n) {
		len = utf8_next(p + i, s.n - i, &cp, &bad);
		if (cp == 0xfffe || cp == 0xffff)
			bad = true;
		switch (tx_classify(cp, flags)) {
		case TX_SPACE:
			space = wrote;
			break;
		case TX_DROP:
			break;
		case TX_KEEP:
			if (space && buf_putc(out, ' ') == -1)
				return -1;
			space = false;
			wrote = true;
			if (bad)
				r = buf_puts(out, utf8_repl);
			else if (flags & TX_XML)
				r = put_xml_char(out, cp, p + i, len);
			else
				r = buf_append(out, p + i, len);
			if (r == -1)
				return -1;
			break;
		}
		i += len;
	}
	return 0;
}

static int
put_ctext(struct buf *out, const char *s, int flags)
{
	return put_text(out, span_cstr(s), flags);
}

/* True when put_text with TX_FLAT would write something. */
static bool
text_visible(struct span s)
{
	const unsigned char	*p = (const unsigned char *)s.p;
	size_t			 i = 0;
	uint32_t		 cp;
	bool			 bad;

	while (i < s.n) {
		i += utf8_next(p + i, s.n - i, &cp, &bad);
		if (tx_classify(cp, TX_FLAT) == TX_KEEP)
			return true;
	}
	return false;
}

static bool
cstr_visible(const char *s)
{
	return s != NULL && text_visible(span_cstr(s));
}

/*
 * A URL from our caller is meant to be encoded already; encoding what
 * would still split a link line or an IRI (space, controls, non-ASCII)
 * keeps a slip elsewhere from breaking the page.
 */
static int
put_url(struct buf *out, const char *s, int flags)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p;
	uint32_t		 cp;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p <= 0x20 || *p >= 0x7f) {
			if (buf_printf(out, "%%%c%c", hex[*p >> 4],
			    hex[*p & 0xf]) == -1)
				return -1;
			continue;
		}
		cp = *p;
		if ((flags & TX_XML) && put_xml_char(out, cp, p, 1) == -1)
			return -1;
		if (!(flags & TX_XML) && buf_putc(out, (char)*p) == -1)
			return -1;
	}
	return 0;
}

/* dir_path with exactly one trailing slash, so "/blog" and "/blog/" agree. */
static int
put_dir(struct buf *out, const char *dir, int flags)
{
	size_t	n = strlen(dir);

	if (put_url(out, dir, flags) == -1)
		return -1;
	if (n == 0 || dir[n - 1] != '/')
		return buf_putc(out, '/');
	return 0;
}

static bool
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int y, int m)
{
	static const int	 days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
				    31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Front matter is untrusted: a date that is not a real one counts as none. */
static bool
date_ok(const struct fm_date *d)
{
	if (d->y < 1 || d->y > 9999 || d->m < 1 || d->m > 12 || d->d < 1 ||
	    d->d > month_days(d->y, d->m))
		return false;
	if (d->has_time && (d->hh < 0 || d->hh > 23 || d->mi < 0 ||
	    d->mi > 59 || d->ss < 0 || d->ss > 60))
		return false;
	return true;
}

/* Days since 1970-01-01 in the proleptic Gregorian calendar. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t	 era, yoe, doy, doe;

	if (m <= 2)
		y--;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t	 era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* Seconds since the epoch, UTC; false when the date is unset or bogus. */
static bool
date_instant(const struct fm_date *d, int64_t *t)
{
	int64_t	 s;

	if (!date_ok(d))
		return false;
	s = days_from_civil(d->y, d->m, d->d) * 86400;
	if (!d->has_time) {
		*t = s + 12 * 3600;
		return true;
	}
	s += d->hh * 3600 + d->mi * 60 + d->ss;
	/* An offset of a day or more is nonsense; read the time as UTC. */
	if (d->has_tz && d->tz_min > -24 * 60 && d->tz_min < 24 * 60)
		s -= (int64_t)d->tz_min * 60;
	*t = s;
	return true;
}

static void
put_digits(char *p, int64_t v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* RFC 3339 in UTC; the year is clamped to what four digits can hold. */
static void
rfc3339(int64_t t, char out[21])
{
	int64_t	 days, secs, y;
	int	 m, d;

	if (t < days_from_civil(0, 1, 1) * 86400)
		t = days_from_civil(0, 1, 1) * 86400;
	if (t >= days_from_civil(10000, 1, 1) * 86400)
		t = days_from_civil(10000, 1, 1) * 86400 - 1;
	days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	secs = t - days * 86400;
	civil_from_days(days, &y, &m, &d);
	memcpy(out, "0000-00-00T00:00:00Z", 21);
	put_digits(out, y, 4);
	put_digits(out + 5, m, 2);
	put_digits(out + 8, d, 2);
	put_digits(out + 11, secs / 3600, 2);
	put_digits(out + 14, secs / 60 % 60, 2);
	put_digits(out + 17, secs % 60, 2);
}

void
feed_date(const struct fm_date *d, char out[11])
{
	out[0] = '\0';
	if (!date_ok(d))
		return;
	memcpy(out, "0000-00-00", 11);
	put_digits(out, d->y, 4);
	put_digits(out + 5, d->m, 2);
	put_digits(out + 8, d->d, 2);
}

static const struct fm_date *
entry_pubdate(const struct feed_entry *e)
{
	static const struct fm_date	 none;

	return e->meta != NULL ? &e->meta->pubdate : &none;
}

static const struct fm_date *
entry_updated(const struct feed_entry *e)
{
	static const struct fm_date	 none;

	return e->meta != NULL ? &e->meta->updated : &none;
}

/* The last path segment, for posts whose title is blank. */
static struct span
path_name(const char *path)
{
	size_t	 n, start;

	if (path == NULL || *path == '\0')
		return span_cstr("untitled");
	n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	start = n;
	while (start > 0 && path[start - 1] != '/')
		start--;
	if (start == n)
		return span_cstr(path);
	return span_make(path + start, n - start);
}

static struct span
entry_title(const struct feed_entry *e)
{
	if (e->meta != NULL && cstr_visible(e->meta->title))
		return span_cstr(e->meta->title);
	return path_name(e->path);
}

/* Compare two optional instants, newer first, unset last. */
static int
cmp_instant(const struct fm_date *a, const struct fm_date *b)
{
	int64_t	 ta = 0, tb = 0;
	bool	 ha, hb;

	ha = date_instant(a, &ta);
	hb = date_instant(b, &tb);
	if (ha != hb)
		return ha ? -1 : 1;
	if (!ha || ta == tb)
		return 0;
	return ta > tb ? -1 : 1;
}

static int
cmp_cstr(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "");
}

static int
cmp_entry(const void *pa, const void *pb)
{
	const struct feed_entry	*a = pa, *b = pb;
	int			 r;

	if ((r = cmp_instant(entry_pubdate(a), entry_pubdate(b))) != 0)
		return r;
	if ((r = cmp_instant(entry_updated(a), entry_updated(b))) != 0)
		return r;
	r = cmp_cstr(a->meta != NULL ? a->meta->title : NULL,
	    b->meta != NULL ? b->meta->title : NULL);
	if (r != 0)
		return r;
	return cmp_cstr(a->path, b->path);
}

void
feed_sort(struct feed_entry *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_entry);
}

/* " YYYY-MM-DD - Title\n" or " Title\n": the label of a gemfeed line. */
static int
put_label(struct buf *out, const struct feed_entry *e)
{
	char	 date[11];

	feed_date(entry_pubdate(e), date);
	if (date[0] != '\0' && buf_printf(out, " %s -", date) == -1)
		return -1;
	if (buf_putc(out, ' ') == -1 ||
	    put_text(out, entry_title(e), TX_FLAT) == -1)
		return -1;
	return buf_putc(out, '\n');
}

/*
 * The link of an index line relative to the directory.  A first segment
 * holding ':' would be read as a scheme, so it gets "./" in front.
 */
static int
put_rel_link(struct buf *out, const char *dir, const char *path)
{
	size_t		 dn = strlen(dir);
	const char	*rest, *colon, *slash;

	if (path == NULL)
		path = "";
	if (dn > 0 && dir[dn - 1] == '/')
		dn--;
	if (strncmp(path, dir, dn) != 0 || path[dn] != '/' ||
	    path[dn + 1] == '\0')
		return put_url(out, path, 0);
	rest = path + dn + 1;
	colon = strchr(rest, ':');
	slash = strchr(rest, '/');
	if (colon != NULL && (slash == NULL || colon < slash) &&
	    buf_puts(out, "./") == -1)
		return -1;
	return put_url(out, rest, 0);
}

static int
index_body(struct buf *out, const char *dir, const char *title,
    const struct feed_entry *v, size_t n)
{
	size_t	 i;

	if (buf_puts(out, "# ") == -1)
		return -1;
	if (cstr_visible(title)) {
		if (put_ctext(out, title, TX_FLAT) == -1)
			return -1;
	} else if (put_ctext(out, dir, TX_FLAT) == -1)
		return -1;
	if (buf_puts(out, "\n\n") == -1)
		return -1;
	if (n == 0 && buf_puts(out, "No posts yet.\n") == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (buf_puts(out, "=> ") == -1 ||
		    put_rel_link(out, dir, v[i].path) == -1 ||
		    put_label(out, &v[i]) == -1)
			return -1;
	}
	return buf_puts(out, "\n=> atom.xml Atom feed\n");
}

int
feed_index(struct buf *out, const char *dir_path, const char *title,
    const struct feed_entry *v, size_t n)
{
	size_t	 mark = out->len;

	if (index_body(out, dir_path != NULL ? dir_path : "/", title, v,
	    n) == -1) {
		out->len = mark;
		return -1;
	}
	return 0;
}

/*
 * The entry's last change: updated, else published, and never before
 * published (Atom's order, whatever the front matter says).
 */
static bool
entry_changed(const struct feed_entry *e, int64_t *t)
{
	int64_t	 pub = 0, upd = 0;
	bool	 have_pub, have_upd;

	have_pub = date_instant(entry_pubdate(e), &pub);
	have_upd = date_instant(entry_updated(e), &upd);
	*t = have_upd && (!have_pub || upd > pub) ? upd : pub;
	return have_pub || have_upd;
}

static int
put_atom_time(struct buf *out, const char *tag, bool have, int64_t t)
{
	char	 s[21];

	if (have)
		rfc3339(t, s);
	else
		memcpy(s, FEED_EPOCH, sizeof(s));
	return buf_printf(out, "    <%s>%s</%s>\n", tag, s, tag);
}

/* A language tag is only passed on when it looks like one (BCP 47). */
static bool
lang_ok(const char *s)
{
	size_t	 n;

	if (s == NULL || *s == '\0')
		return false;
	for (n = 0; s[n] != '\0'; n++) {
		if (n >= 35 || !((s[n] >= 'a' && s[n] <= 'z') ||
		    (s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= '0' &&
		    s[n] <= '9') || (s[n] == '-' && n > 0)))
			return false;
	}
	return true;
}

static int
atom_entry(struct buf *out, const char *base, const struct feed_entry *e)
{
	const struct post_meta	*m = e->meta;
	int64_t			 t = 0;
	bool			 have;
	size_t			 i;
	const char		*path = e->path != NULL ? e->path : "";

	if (buf_puts(out, "  <entry>\n    <id>") == -1 ||
	    put_url(out, base, TX_XML) == -1 ||
	    put_url(out, path, TX_XML) == -1 ||
	    buf_puts(out, "</id>\n    <title>") == -1 ||
	    put_text(out, entry_title(e), TX_FLAT | TX_XML) == -1 ||
	    buf_puts(out, "</title>\n    <link rel=\"alternate\" "
	    "type=\"text/gemini\" href=\"") == -1 ||
	    put_url(out, base, TX_XML) == -1 ||
	    put_url(out, path, TX_XML) == -1 ||
	    buf_putc(out, '"') == -1)
		return -1;
	if (m != NULL && lang_ok(m->lang) &&
	    buf_printf(out, " hreflang=\"%s\"", m->lang) == -1)
		return -1;
	if (buf_puts(out, "/>\n") == -1)
		return -1;
	if (m != NULL && cstr_visible(m->description) &&
	    (buf_puts(out, "    <summary>") == -1 ||
	    put_ctext(out, m->description, TX_FLAT | TX_XML) == -1 ||
	    buf_puts(out, "</summary>\n") == -1))
		return -1;
	if (date_instant(entry_pubdate(e), &t) &&
	    put_atom_time(out, "published", true, t) == -1)
		return -1;
	have = entry_changed(e, &t);
	if (put_atom_time(out, "updated", have, t) == -1)
		return -1;
	for (i = 0; m != NULL && i < m->ntags; i++) {
		if (!cstr_visible(m->tags[i]))
			continue;
		if (buf_puts(out, "    <category term=\"") == -1 ||
		    put_ctext(out, m->tags[i], TX_FLAT | TX_XML) == -1 ||
		    buf_puts(out, "\"/>\n") == -1)
			return -1;
	}
	return buf_puts(out, "  </entry>\n");
}

static int
atom_head(struct buf *out, const char *base, const char *dir,
    const char *title, const struct feed_entry *v, size_t n)
{
	int64_t	 t = 0, newest = 0;
	bool	 have = false;
	char	 s[21];
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (entry_changed(&v[i], &t) && (!have || t > newest)) {
			newest = t;
			have = true;
		}
	}
	if (have)
		rfc3339(newest, s);
	else
		memcpy(s, FEED_EPOCH, sizeof(s));
	if (buf_puts(out, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	    "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n  <id>") == -1 ||
	    put_url(out, base, TX_XML) == -1 ||
	    put_dir(out, dir, TX_XML) == -1 ||
	    buf_puts(out, "</id>\n  <title>") == -1 ||
	    put_text(out, span_cstr(title), TX_FLAT | TX_XML) == -1 ||
	    buf_printf(out, "</title>\n  <updated>%s</updated>\n", s) == -1 ||
	    buf_puts(out, "  <author><name>") == -1 ||
	    put_text(out, span_cstr(title), TX_FLAT | TX_XML) == -1 ||
	    buf_puts(out, "</name></author>\n  <link rel=\"self\" "
	    "type=\"application/atom+xml\" href=\"") == -1 ||
	    put_url(out, base, TX_XML) == -1 ||
	    put_dir(out, dir, TX_XML) == -1 ||
	    buf_puts(out, "atom.xml\"/>\n  <link rel=\"alternate\" "
	    "type=\"text/gemini\" href=\"") == -1 ||
	    put_url(out, base, TX_XML) == -1 ||
	    put_dir(out, dir, TX_XML) == -1 ||
	    buf_puts(out, "\"/>\n") == -1)
		return -1;
	return 0;
}

int
feed_atom(struct buf *out, const char *base_url, const char *dir_path,
    const char *title, const struct feed_entry *v, size_t n)
{
	size_t	 mark = out->len, i;

	if (base_url == NULL)
		base_url = "";
	if (dir_path == NULL)
		dir_path = "/";
	/* Atom requires a non-empty title; the directory is the next best. */
	if (!cstr_visible(title))
		title = dir_path;
	if (atom_head(out, base_url, dir_path, title, v, n) == -1)
		goto fail;
	for (i = 0; i < n; i++)
		if (atom_entry(out, base_url, &v[i]) == -1)
			goto fail;
	if (buf_puts(out, "</feed>\n") == -1)
		goto fail;
	return 0;
fail:
	out->len = mark;
	return -1;
}

static unsigned char
fold(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* strcasecmp follows the locale; tags must sort the same everywhere. */
static int
casecmp(const char *a, const char *b)
{
	const unsigned char	*p = (const unsigned char *)a;
	const unsigned char	*q = (const unsigned char *)b;

	while (*p != '\0' && fold(*p) == fold(*q)) {
		p++;
		q++;
	}
	return (int)fold(*p) - (int)fold(*q);
}

static int
cmp_tagref(const void *pa, const void *pb)
{
	const struct feed_tagref	*a = pa, *b = pb;
	int				 r;

	if ((r = casecmp(a->tag, b->tag)) != 0)
		return r;
	if (a->entry != b->entry)
		return a->entry < b->entry ? -1 : 1;
	if (a->idx != b->idx)
		return a->idx < b->idx ? -1 : 1;
	return 0;
}

static bool
tag_usable(const char *t)
{
	return t != NULL && *t != '\0';
}

static int
put_pct(struct buf *out, const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		    *p == '_' || *p == '~') {
			if (buf_putc(out, (char)*p) == -1)
				return -1;
		} else if (buf_printf(out, "%%%c%c", hex[*p >> 4],
		    hex[*p & 0xf]) == -1)
			return -1;
	}
	return 0;
}

/* One line per run of equal tags; r is sorted so a run is contiguous. */
static int
tags_lines(struct buf *out, const struct feed_tagref *r, size_t nr)
{
	size_t	 i, j, count;

	for (i = 0; i < nr; i = j) {
		count = 1;
		for (j = i + 1; j < nr && casecmp(r[i].tag, r[j].tag) == 0;
		    j++)
			if (r[j].entry != r[j - 1].entry)
				count++;
		if (buf_puts(out, "=> /tags/") == -1 ||
		    put_pct(out, r[i].tag) == -1 ||
		    buf_puts(out, ".gmi ") == -1 ||
		    put_ctext(out, r[i].tag, TX_FLAT) == -1 ||
		    buf_printf(out, " (%zu)\n", count) == -1)
			return -1;
	}
	return 0;
}

int
feed_tags_index(struct buf *out, const struct feed_entry *v, size_t n)
{
	struct feed_tagref	*r = NULL;
	size_t			 mark = out->len, nr = 0, i, j;
	int			 rv = -1;

	for (i = 0; i < n; i++)
		for (j = 0; v[i].meta != NULL && j < v[i].meta->ntags; j++)
			if (tag_usable(v[i].meta->tags[j]))
				nr++;
	if (nr > 0 && (r = mem_calloc(nr, sizeof(*r))) == NULL)
		return -1;
	nr = 0;
	for (i = 0; i < n; i++) {
		for (j = 0; v[i].meta != NULL && j < v[i].meta->ntags; j++) {
			if (!tag_usable(v[i].meta->tags[j]))
				continue;
			r[nr].tag = v[i].meta->tags[j];
			r[nr].entry = i;
			r[nr].idx = j;
			nr++;
		}
	}
	if (nr > 1)
		qsort(r, nr, sizeof(*r), cmp_tagref);
	if (buf_puts(out, "# Tags\n\n") == -1)
		goto done;
	if (nr == 0) {
		if (buf_puts(out, "No tags yet.\n") == -1)
			goto done;
	} else if (tags_lines(out, r, nr) == -1)
		goto done;
	rv = 0;
done:
	free(r);
	if (rv == -1)
		out->len = mark;
	return rv;
}

static bool
tag_eq(struct span want, const char *tag)
{
	size_t	 i;

	if (!tag_usable(tag) || strlen(tag) != want.n)
		return false;
	for (i = 0; i < want.n; i++)
		if (fold((unsigned char)want.p[i]) !=
		    fold((unsigned char)tag[i]))
			return false;
	return true;
}

/* The entry's own spelling of the tag, or NULL when it does not carry it. */
static const char *
entry_tag(const struct feed_entry *e, struct span tag)
{
	size_t	 j;

	for (j = 0; e->meta != NULL && j < e->meta->ntags; j++)
		if (tag_eq(tag, e->meta->tags[j]))
			return e->meta->tags[j];
	return NULL;
}

static int
put_abs_line(struct buf *out, const struct feed_entry *e)
{
	if (buf_puts(out, "=> ") == -1 ||
	    put_url(out, e->path != NULL ? e->path : "/", 0) == -1)
		return -1;
	return put_label(out, e);
}

static int
tag_page_body(struct buf *out, const char *shown, struct span tag,
    const struct feed_entry *v, size_t n)
{
	size_t	 i;

	if (buf_puts(out, "# Posts tagged ") == -1 ||
	    put_ctext(out, shown, TX_FLAT) == -1 ||
	    buf_puts(out, "\n\n") == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (entry_tag(&v[i], tag) != NULL &&
		    put_abs_line(out, &v[i]) == -1)
			return -1;
	return buf_puts(out, "\n=> /tags/ All tags\n");
}

int
feed_tag_page(struct buf *out, struct span tag, const struct feed_entry *v,
    size_t n)
{
	const char	*shown = NULL;
	size_t		 mark = out->len, i;

	for (i = 0; i < n && shown == NULL; i++)
		shown = entry_tag(&v[i], tag);
	if (shown == NULL)
		return 1;
	if (tag_page_body(out, shown, tag, v, n) == -1) {
		out->len = mark;
		return -1;
	}
	return 0;
}

static bool
is_qspace(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	    c == '\f';
}

/* Knuth-Morris-Pratt failure table over folded bytes. */
static void
word_prepare(struct feed_word *w)
{
	size_t	 i, k = 0;

	w->fail[0] = 0;
	for (i = 1; i < w->n; i++) {
		while (k > 0 && fold(w->p[i]) != fold(w->p[k]))
			k = w->fail[k - 1];
		if (fold(w->p[i]) == fold(w->p[k]))
			k++;
		w->fail[i] = (unsigned char)k;
	}
}

static size_t
split_query(struct span q, struct feed_word *w)
{
	const unsigned char	*p = (const unsigned char *)q.p;
	size_t			 i = 0, start, nw = 0;

	while (i < q.n && nw < FEED_SEARCH_MAX_WORDS) {
		while (i < q.n && is_qspace(p[i]))
			i++;
		if (i == q.n)
			break;
		start = i;
		while (i < q.n && !is_qspace(p[i]))
			i++;
		w[nw].p = p + start;
		w[nw].n = i - start;
		if (w[nw].n > FEED_SEARCH_MAX_WORD)
			w[nw].n = FEED_SEARCH_MAX_WORD;
		word_prepare(&w[nw]);
		nw++;
	}
	return nw;
}

static bool
word_in(const struct feed_word *w, const char *text, size_t n)
{
	const unsigned char	*t = (const unsigned char *)text;
	size_t			 i, k = 0;
	unsigned char		 c;

	for (i = 0; i < n; i++) {
		c = fold(t[i]);
		while (k > 0 && fold(w->p[k]) != c)
			k = w->fail[k - 1];
		if (fold(w->p[k]) == c)
			k++;
		if (k == w->n)
			return true;
	}
	return false;
}

static bool
word_in_cstr(const struct feed_word *w, const char *s)
{
	return s != NULL && word_in(w, s, strlen(s));
}

static bool
entry_matches(const struct feed_entry *e, const struct feed_word *w,
    size_t nw)
{
	const struct post_meta	*m = e->meta;
	size_t			 i;

	for (i = 0; i < nw; i++) {
		if (m != NULL && (word_in_cstr(&w[i], m->title) ||
		    word_in_cstr(&w[i], m->description)))
			continue;
		if (e->body.n > 0 && word_in(&w[i], e->body.p, e->body.n))
			continue;
		return false;
	}
	return true;
}

/* The echoed query, cut on a character boundary. */
static struct span
query_shown(struct span q)
{
	size_t	 n = q.n;

	if (n <= FEED_SEARCH_SHOW_MAX)
		return q;
	n = FEED_SEARCH_SHOW_MAX;
	while (n > 0 && ((unsigned char)q.p[n] & 0xc0) == 0x80)
		n--;
	return span_make(q.p, n);
}

static int
search_results(struct buf *out, const struct feed_word *w, size_t nw,
    const struct feed_entry *v, size_t n)
{
	size_t	 i, found = 0;

	for (i = 0; i < n; i++) {
		if (!entry_matches(&v[i], w, nw))
			continue;
		if (found == FEED_SEARCH_MAX_RESULTS)
			return buf_printf(out, "Only the first %d matches are "
			    "shown.\n", FEED_SEARCH_MAX_RESULTS);
		if (put_abs_line(out, &v[i]) == -1)
			return -1;
		found++;
	}
	if (found == 0)
		return buf_puts(out, "No posts match.\n");
	return 0;
}

static int
search_body(struct buf *out, struct span query, const struct feed_entry *v,
    size_t n)
{
	struct feed_word	 w[FEED_SEARCH_MAX_WORDS];
	size_t			 nw;

	if ((nw = split_query(query, w)) == 0) {
		if (buf_puts(out, "# Search\n\n"
		    "Type one or more words to search for.\n") == -1)
			return -1;
	} else if (buf_puts(out, "# Search: ") == -1 ||
	    put_text(out, query_shown(query), TX_FLAT) == -1 ||
	    buf_puts(out, "\n\n") == -1 ||
	    search_results(out, w, nw, v, n) == -1)
		return -1;
	return buf_puts(out, "\n=> /search Search again\n");
}

int
feed_search(struct buf *out, struct span query, const struct feed_entry *v,
    size_t n)
{
	size_t	 mark = out->len;

	if (search_body(out, query, v, n) == -1) {
		out->len = mark;
		return -1;
	}
	return 0;
}
