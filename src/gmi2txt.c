#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "gmi2txt.h"
#include "gopher.h"
#include "url.h"

/* Deeper indentation is cut to this many columns so text keeps room. */
#define INDENT_MAX	20

#define SPACES		"                    "	/* INDENT_MAX of them */
#define ELLIPSIS	"\xe2\x80\xa6"

struct ctx {
	struct buf			*out;
	const struct gmi2txt_opts	*o;
	bool				 menu;
	size_t				 width;
	bool				 pre;
	unsigned			 nlinks;
	struct buf			 line;	/* the output line */
	struct buf			 refs;	/* "[n] URL\r\n" lines */
	struct buf			 tmp;	/* a link's selector or URL */
	struct buf			 tmp2;	/* merged path, host name */
};

/* One paragraph being wrapped. */
struct wrap {
	struct span	next;		/* prefix of continuation lines */
	size_t		col;		/* columns on the current line */
	size_t		maxw;		/* widest line so far */
	bool		has_word;	/* the line holds more than a prefix */
	bool		emitted;	/* at least one line went out */
};

/* A link line: "=>" URL [label]. */
struct link {
	struct span	url;
	struct span	label;
};

static int
emit(struct ctx *c, struct span s)
{
	if (c->menu)
		return gopher_info_line(c->out, s);
	if (buf_append_span(c->out, s) == -1)
		return -1;
	/* A lone "." would end the text early for strict clients. */
	if (span_eq_cstr(s, ".") && buf_putc(c->out, '.') == -1)
		return -1;
	return buf_puts(c->out, "\r\n");
}

static int
line_start(struct ctx *c, struct wrap *w, struct span prefix)
{
	buf_reset(&c->line);
	w->col = gopher_display_width(prefix);
	w->has_word = false;
	return buf_append_span(&c->line, prefix);
}

static int
line_flush(struct ctx *c, struct wrap *w)
{
	struct span	s = buf_span(&c->line);

	while (s.n > 0 && s.p[s.n - 1] == ' ')
		s.n--;
	if (w->col > w->maxw)
		w->maxw = w->col;
	w->emitted = true;
	return emit(c, s);
}

static int
line_break(struct ctx *c, struct wrap *w)
{
	if (line_flush(c, w) == -1)
		return -1;
	return line_start(c, w, w->next);
}

/* Spaces and control characters separate words; *len gets the length. */
static bool
is_sep(struct span s, size_t i, size_t *len)
{
	int	cw;

	cw = gopher_char_width(s.p + i, s.n - i, len);
	return cw < 0 || s.p[i] == ' ';
}

/* A word wider than a line is cut between characters. */
static int
put_long_word(struct ctx *c, struct wrap *w, struct span word)
{
	size_t	i = 0, len;
	int	cw;

	while (i < word.n) {
		cw = gopher_char_width(word.p + i, word.n - i, &len);
		if (w->has_word && w->col + (size_t)cw > c->width &&
		    line_break(c, w) == -1)
			return -1;
		if (buf_append(&c->line, word.p + i, len) == -1)
			return -1;
		w->col += (size_t)cw;
		w->has_word = true;
		i += len;
	}
	return 0;
}

/* nsp is the number of separators before the word (one at least). */
static int
put_word(struct ctx *c, struct wrap *w, struct span word, size_t wcols,
    size_t nsp)
{
	if (w->has_word) {
		if (w->col + nsp + wcols <= c->width) {
			/* Keep the author's run of spaces inside a line. */
			w->col += nsp + wcols;
			for (; nsp > 0; nsp--)
				if (buf_putc(&c->line, ' ') == -1)
					return -1;
			return buf_append_span(&c->line, word);
		}
		if (line_break(c, w) == -1)
			return -1;
	}
	if (w->col + wcols > c->width)
		return put_long_word(c, w, word);
	w->col += wcols;
	w->has_word = true;
	return buf_append_span(&c->line, word);
}

/*
 * Wrap text at c->width after the prefix first (then next on every
 * further line).  *maxw, if not NULL, gets the widest line's columns.
 */
static int
wrap(struct ctx *c, struct span text, struct span first, struct span next,
    size_t *maxw)
{
	struct wrap	w = { next, 0, 0, false, false };
	size_t		i = 0, len, nsp, start, wcols;

	if (line_start(c, &w, first) == -1)
		return -1;
	while (i < text.n) {
		for (nsp = 0; i < text.n && is_sep(text, i, &len); nsp++)
			i += len;
		if (i == text.n)
			break;
		start = i;
		for (wcols = 0; i < text.n && !is_sep(text, i, &len); i += len)
			wcols += (size_t)gopher_char_width(text.p + i,
			    text.n - i, &len);
		if (put_word(c, &w, span_make(text.p + start, i - start),
		    wcols, nsp) == -1)
			return -1;
	}
	if ((w.has_word || !w.emitted) && line_flush(c, &w) == -1)
		return -1;
	if (maxw != NULL)
		*maxw = w.maxw;
	return 0;
}

static struct span
skip_blanks(struct span s)
{
	while (s.n > 0 && (s.p[0] == ' ' || s.p[0] == '\t')) {
		s.p++;
		s.n--;
	}
	return s;
}

static struct span
trim_end(struct span s)
{
	while (s.n > 0 && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
		s.n--;
	return s;
}

static int
do_text(struct ctx *c, struct span s)
{
	size_t		i, cols = 0;
	struct span	indent;

	for (i = 0; i < s.n && (s.p[i] == ' ' || s.p[i] == '\t'); i++)
		cols = s.p[i] == '\t' ? (cols / 8 + 1) * 8 : cols + 1;
	if (i == s.n)
		return emit(c, span_make("", 0));
	indent = span_make(SPACES, cols > INDENT_MAX ? INDENT_MAX : cols);
	return wrap(c, span_make(s.p + i, s.n - i), indent, indent, NULL);
}

static int
do_heading(struct ctx *c, struct span s)
{
	size_t	level = 0, maxw, i;
	char	rule;

	while (level < 3 && level < s.n && s.p[level] == '#')
		level++;
	s = trim_end(skip_blanks(span_make(s.p + level, s.n - level)));
	if (s.n == 0)
		return 0;
	if (wrap(c, s, span_make("", 0), span_make("", 0), &maxw) == -1)
		return -1;
	rule = level == 1 ? '=' : '-';
	buf_reset(&c->line);
	for (i = 0; i < maxw && i < c->width; i++)
		if (buf_putc(&c->line, rule) == -1)
			return -1;
	return emit(c, buf_span(&c->line));
}

static int
do_list(struct ctx *c, struct span s)
{
	s = skip_blanks(span_make(s.p + 2, s.n - 2));
	return wrap(c, s, span_cstr("  * "), span_cstr("    "), NULL);
}

static int
do_quote(struct ctx *c, struct span s)
{
	s = skip_blanks(span_make(s.p + 1, s.n - 1));
	return wrap(c, s, span_cstr("> "), span_cstr("> "), NULL);
}

/* Cut the line being built to max columns, ending in an ellipsis. */
static int
cut_line(struct ctx *c, size_t max)
{
	struct span	s = buf_span(&c->line);
	size_t		i = 0, len, cols = 0;
	int		cw;

	if (gopher_display_width(s) <= max)
		return 0;
	while (i < s.n) {
		cw = gopher_char_width(s.p + i, s.n - i, &len);
		if (cols + (size_t)(cw < 0 ? 1 : cw) > max - 1)
			break;
		cols += (size_t)(cw < 0 ? 1 : cw);
		i += len;
	}
	c->line.len = i;
	return buf_puts(&c->line, ELLIPSIS);
}

/* Preformatted text keeps its layout: TABs go to 8-column stops. */
static int
do_pre(struct ctx *c, struct span s)
{
	size_t	i = 0, len, cols = 0;
	int	cw;

	buf_reset(&c->line);
	while (i < s.n) {
		cw = gopher_char_width(s.p + i, s.n - i, &len);
		if (s.p[i] == '\t') {
			do {
				if (buf_putc(&c->line, ' ') == -1)
					return -1;
			} while (++cols % 8 != 0);
		} else if (cw < 0) {
			if (buf_putc(&c->line, ' ') == -1)
				return -1;
			cols++;
		} else {
			if (buf_append(&c->line, s.p + i, len) == -1)
				return -1;
			cols += (size_t)cw;
		}
		i += len;
	}
	if (c->menu && cut_line(c, GOPHER_DISPLAY_MAX) == -1)
		return -1;
	return emit(c, buf_span(&c->line));
}

static bool
parse_link(struct span s, struct link *l)
{
	size_t	i;

	s = skip_blanks(span_make(s.p + 2, s.n - 2));
	for (i = 0; i < s.n && s.p[i] != ' ' && s.p[i] != '\t'; i++)
		;
	l->url = span_make(s.p, i);
	l->label = trim_end(skip_blanks(span_make(s.p + i, s.n - i)));
	return l->url.n > 0;
}

/*
 * Append in to out with "." and ".." applied.  As in RFC 3986 5.2.4, a
 * ".." at the root is dropped; empty segments are folded.  in starts
 * with '/'.
 */
static int
remove_dots(struct buf *out, struct span in)
{
	size_t	root = out->len, i = 0, start, n;
	bool	trailing = false;

	while (i < in.n) {
		while (i < in.n && in.p[i] == '/')
			i++;
		if ((trailing = i == in.n))
			break;
		for (start = i; i < in.n && in.p[i] != '/'; i++)
			;
		n = i - start;
		if ((trailing = n == 1 && in.p[start] == '.'))
			continue;
		if ((trailing = n == 2 && in.p[start] == '.' &&
		    in.p[start + 1] == '.')) {
			while (out->len > root && out->p[out->len - 1] != '/')
				out->len--;
			if (out->len > root)
				out->len--;
			continue;
		}
		if (buf_putc(out, '/') == -1 ||
		    buf_append(out, in.p + start, n) == -1)
			return -1;
	}
	if (out->len == root || trailing)
		return buf_putc(out, '/');
	return 0;
}

/*
 * Resolve a reference without scheme or authority against the page's
 * path (RFC 3986 5.2.2, 5.2.3).  c->tmp gets the path, *qoff where its
 * query starts ("?..." kept, fragment dropped).
 */
static int
resolve_own(struct ctx *c, struct span ref, size_t *qoff)
{
	struct span	base = c->o->base, path, query = { "", 0 };
	long		k;
	size_t		i;

	if ((k = span_index(ref, '#')) != -1)
		ref.n = (size_t)k;
	path = ref;
	if ((k = span_index(ref, '?')) != -1) {
		path.n = (size_t)k;
		query = span_make(ref.p + k, ref.n - (size_t)k);
	}
	buf_reset(&c->tmp2);
	if (path.n == 0 || path.p[0] != '/') {
		for (i = base.n; i > 0 && base.p[i - 1] != '/'; i--)
			;
		if ((base.n == 0 || base.p[0] != '/') &&
		    buf_putc(&c->tmp2, '/') == -1)
			return -1;
		if (buf_append(&c->tmp2, base.p, path.n == 0 ? base.n : i) ==
		    -1)
			return -1;
	}
	if (buf_append_span(&c->tmp2, path) == -1)
		return -1;
	buf_reset(&c->tmp);
	if (remove_dots(&c->tmp, buf_span(&c->tmp2)) == -1)
		return -1;
	*qoff = c->tmp.len;
	return buf_append_span(&c->tmp, query);
}

/*
 * The item type of a link into the capsule, after resolve_own.  A
 * directory gets its trailing '/' so that its selector names it exactly.
 */
static int
own_type(struct ctx *c, size_t qoff, char *type)
{
	struct span	path = span_make(c->tmp.p, qoff);
	struct span	query = span_make(c->tmp.p + qoff, c->tmp.len - qoff);

	if (path.p[path.n - 1] == '/') {
		*type = '1';
		return 0;
	}
	if (c->o->type_of != NULL &&
	    (*type = c->o->type_of(c->o->arg, path)) != '\0')
		return 0;
	if (c->o->is_dir == NULL || !c->o->is_dir(c->o->arg, path)) {
		*type = gopher_type_for_name(path);
		return 0;
	}
	*type = '1';
	buf_reset(&c->tmp2);
	if (buf_append_span(&c->tmp2, query) == -1)
		return -1;
	c->tmp.len = qoff;
	if (buf_putc(&c->tmp, '/') == -1)
		return -1;
	return buf_append_span(&c->tmp, buf_span(&c->tmp2));
}

static bool
is_gopher_url(struct span url, struct span scheme)
{
	return span_caseeq_cstr(scheme, "gopher") && url.n >= 9 &&
	    url.p[7] == '/' && url.p[8] == '/';
}

/* A link's URL as a reader can use it from Gopher, into c->tmp. */
static int
text_target(struct ctx *c, struct span url)
{
	struct span	scheme = url_scheme(url);
	size_t		qoff;
	char		type;

	if (scheme.n > 0) {
		buf_reset(&c->tmp);
		return buf_append_span(&c->tmp, url);
	}
	if (span_starts_with(url, "//")) {
		buf_reset(&c->tmp);
		return buf_printf(&c->tmp, "gemini:%.*s", (int)url.n, url.p);
	}
	if (resolve_own(c, url, &qoff) == -1 || own_type(c, qoff, &type) == -1)
		return -1;
	buf_reset(&c->tmp2);
	if (buf_puts(&c->tmp2, "gopher://") == -1)
		return -1;
	if (strchr(c->o->host, ':') != NULL ?
	    buf_printf(&c->tmp2, "[%s]", c->o->host) == -1 :
	    buf_puts(&c->tmp2, c->o->host) == -1)
		return -1;
	if (c->o->port != 70 && buf_printf(&c->tmp2, ":%u", c->o->port) == -1)
		return -1;
	if (buf_putc(&c->tmp2, '/') == -1 || buf_putc(&c->tmp2, type) == -1 ||
	    buf_append_span(&c->tmp2, buf_span(&c->tmp)) == -1)
		return -1;
	buf_reset(&c->tmp);
	return buf_append_span(&c->tmp, buf_span(&c->tmp2));
}

/* "[n] URL" for the reference list; control bytes percent-encoded. */
static int
add_ref(struct ctx *c, unsigned n, struct span url)
{
	size_t		i;
	unsigned char	ch;

	if (buf_printf(&c->refs, "[%u] ", n) == -1)
		return -1;
	for (i = 0; i < url.n; i++) {
		ch = (unsigned char)url.p[i];
		if ((ch < 0x20 || ch == 0x7f ? buf_printf(&c->refs, "%%%02X",
		    ch) : buf_putc(&c->refs, (char)ch)) == -1)
			return -1;
	}
	return buf_puts(&c->refs, "\r\n");
}

static int
text_link(struct ctx *c, struct link *l)
{
	char		prefix[16], hang[16];
	struct span	label = l->label.n > 0 ? l->label : l->url;
	int		n;

	if (c->nlinks >= GMI2TXT_LINKS_MAX) {
		buf_reset(&c->tmp);
		if (buf_append_span(&c->tmp, label) == -1 ||
		    buf_puts(&c->tmp, " <") == -1 ||
		    buf_append_span(&c->tmp, l->url) == -1 ||
		    buf_putc(&c->tmp, '>') == -1)
			return -1;
		return wrap(c, buf_span(&c->tmp), span_make("", 0),
		    span_make("", 0), NULL);
	}
	c->nlinks++;
	if (text_target(c, l->url) == -1 ||
	    add_ref(c, c->nlinks, buf_span(&c->tmp)) == -1)
		return -1;
	n = snprintf(prefix, sizeof(prefix), "[%u] ", c->nlinks);
	memset(hang, ' ', (size_t)n);
	return wrap(c, label, span_make(prefix, (size_t)n),
	    span_make(hang, (size_t)n), NULL);
}

/* "2026-01-07 - Title" (a gemfeed label) becomes "2026-01-07 Title". */
static struct span
menu_display(struct ctx *c, struct span label)
{
	static const char	pat[] = "dddd-dd-dd - ";
	size_t			i;

	if (label.n <= sizeof(pat) - 1)
		return label;
	for (i = 0; i < sizeof(pat) - 1; i++)
		if (pat[i] == 'd' ? label.p[i] < '0' || label.p[i] > '9' :
		    label.p[i] != pat[i])
			return label;
	buf_reset(&c->line);
	if (buf_append(&c->line, label.p, 11) == -1 ||
	    buf_append(&c->line, label.p + 13, label.n - 13) == -1)
		return label;
	return buf_span(&c->line);
}

/* RFC 4266: the selector is percent-decoded; %00 is left as it is. */
static int
put_decoded(struct buf *b, struct span s)
{
	size_t	i;
	int	hi, lo;

	for (i = 0; i < s.n; i++) {
		if (s.p[i] == '%' && s.n - i > 2 &&
		    (hi = url_hex_value(s.p[i + 1])) != -1 &&
		    (lo = url_hex_value(s.p[i + 2])) != -1 && (hi | lo) != 0) {
			if (buf_putc(b, (char)(hi << 4 | lo)) == -1)
				return -1;
			i += 2;
		} else if (buf_putc(b, s.p[i]) == -1)
			return -1;
	}
	return 0;
}

/* gopher://host[:port]/<type><selector> as an item; -2 if malformed. */
static int
menu_gopher_link(struct ctx *c, struct span url, struct span display)
{
	struct span	rest = span_make(url.p + 9, url.n - 9), host, path;
	size_t		i, end;
	unsigned long	port = 70;
	char		type = '1';

	for (end = 0; end < rest.n && rest.p[end] != '/' &&
	    rest.p[end] != '?' && rest.p[end] != '#'; end++)
		;
	path = span_make(rest.p + end, rest.n - end);
	host = span_make(rest.p, end);
	if (host.n > 0 && host.p[0] == '[') {
		for (i = 1; i < host.n && host.p[i] != ']'; i++)
			;
		if (i == host.n)
			return -2;
		rest = span_make(host.p + i + 1, host.n - i - 1);
		host = span_make(host.p + 1, i - 1);
	} else {
		for (i = host.n; i > 0 && host.p[i - 1] != ':'; i--)
			;
		rest = i > 0 ? span_make(host.p + i - 1, host.n - i + 1) :
		    span_make(host.p + host.n, 0);
		host.n = i > 0 ? i - 1 : host.n;
	}
	if (host.n == 0)
		return -2;
	if (rest.n > 0) {
		if (rest.p[0] != ':' || rest.n < 2 || rest.n > 6)
			return -2;
		for (port = 0, i = 1; i < rest.n; i++) {
			if (rest.p[i] < '0' || rest.p[i] > '9')
				return -2;
			port = port * 10 + (unsigned long)(rest.p[i] - '0');
		}
		if (port == 0 || port > 65535)
			return -2;
	}
	buf_reset(&c->tmp);
	if (path.n > 1 && path.p[0] == '/') {
		type = path.p[1];
		if (put_decoded(&c->tmp, span_make(path.p + 2,
		    path.n - 2)) == -1)
			return -1;
	}
	buf_reset(&c->tmp2);
	if (buf_append_span(&c->tmp2, host) == -1 ||
	    buf_cstr(&c->tmp2) == NULL)
		return -1;
	return gopher_menu_item(c->out, type, display, buf_span(&c->tmp),
	    c->tmp2.p, (unsigned short)port);
}

static int
menu_link(struct ctx *c, struct link *l)
{
	struct span	display, scheme = url_scheme(l->url);
	size_t		qoff;
	char		type;
	int		rc;

	display = menu_display(c, l->label.n > 0 ? l->label : l->url);
	if (is_gopher_url(l->url, scheme) &&
	    (rc = menu_gopher_link(c, l->url, display)) != -2)
		return rc;
	if (scheme.n > 0 || span_starts_with(l->url, "//")) {
		buf_reset(&c->tmp);
		if (buf_puts(&c->tmp, "URL:") == -1 ||
		    (scheme.n == 0 && buf_puts(&c->tmp, "gemini:") == -1) ||
		    buf_append_span(&c->tmp, l->url) == -1)
			return -1;
		return gopher_menu_item(c->out, 'h', display,
		    buf_span(&c->tmp), c->o->host, c->o->port);
	}
	if (resolve_own(c, l->url, &qoff) == -1 ||
	    own_type(c, qoff, &type) == -1)
		return -1;
	return gopher_menu_item(c->out, type, display, buf_span(&c->tmp),
	    c->o->host, c->o->port);
}

static int
do_link(struct ctx *c, struct span s)
{
	struct link	l;

	if (!parse_link(s, &l))
		return do_text(c, s);
	return c->menu ? menu_link(c, &l) : text_link(c, &l);
}

static int
do_line(struct ctx *c, struct span s)
{
	if (span_starts_with(s, "```")) {
		c->pre = !c->pre;
		return 0;
	}
	if (c->pre)
		return do_pre(c, s);
	if (span_starts_with(s, "=>"))
		return do_link(c, s);
	if (span_starts_with(s, "#"))
		return do_heading(c, s);
	if (span_starts_with(s, "* "))
		return do_list(c, s);
	if (span_starts_with(s, ">"))
		return do_quote(c, s);
	return do_text(c, s);
}

static int
references(struct ctx *c)
{
	if (c->nlinks == 0)
		return 0;
	if (emit(c, span_make("", 0)) == -1 ||
	    emit(c, span_cstr("References")) == -1 ||
	    emit(c, span_cstr("----------")) == -1 ||
	    emit(c, span_make("", 0)) == -1)
		return -1;
	return buf_append_span(c->out, buf_span(&c->refs));
}

static int
convert(struct buf *out, struct span gmi, const struct gmi2txt_opts *o,
    bool menu)
{
	struct ctx	c;
	struct span	line;
	size_t		mark = out->len;
	long		lf;
	int		rc = -1;

	memset(&c, 0, sizeof(c));
	c.out = out;
	c.o = o;
	c.menu = menu;
	c.width = menu ? GOPHER_DISPLAY_MAX : GMI2TXT_WIDTH;
	buf_init(&c.line, out->max);
	buf_init(&c.refs, out->max);
	buf_init(&c.tmp, out->max);
	buf_init(&c.tmp2, out->max);
	if (span_starts_with(gmi, "\xef\xbb\xbf")) {
		gmi.p += 3;
		gmi.n -= 3;
	}
	while (gmi.n > 0) {
		line = gmi;
		if ((lf = span_index(gmi, '\n')) == -1)
			gmi.n = 0;
		else {
			line.n = (size_t)lf;
			gmi.p += lf + 1;
			gmi.n -= (size_t)lf + 1;
		}
		if (line.n > 0 && line.p[line.n - 1] == '\r')
			line.n--;
		if (do_line(&c, line) == -1)
			goto done;
	}
	if (references(&c) == -1 || gopher_terminator(out) == -1)
		goto done;
	rc = 0;
done:
	if (rc == -1)
		out->len = mark;
	buf_free(&c.line);
	buf_free(&c.refs);
	buf_free(&c.tmp);
	buf_free(&c.tmp2);
	return rc;
}

int
gmi2txt_text(struct buf *out, struct span gmi,
    const struct gmi2txt_opts *opts)
{
	return convert(out, gmi, opts, false);
}

int
gmi2txt_menu(struct buf *out, struct span gmi,
    const struct gmi2txt_opts *opts)
{
	return convert(out, gmi, opts, true);
}
