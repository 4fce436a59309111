#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "capsule.h"
#include "gemini.h"
#include "url.h"
#include "vhost.h"

long
vhost_find(const struct config_vhost *v, size_t n, struct span host)
{
	size_t	i, j;

	for (i = 0; i < n; i++) {
		if (v[i].hostname != NULL &&
		    span_caseeq_cstr(host, v[i].hostname))
			return (long)i;
		for (j = 0; j < v[i].naliases; j++)
			if (span_caseeq_cstr(host, v[i].aliases[j]))
				return (long)i;
	}
	return -1;
}

size_t
vhost_squeeze_slashes(char *p, size_t n)
{
	size_t	i, o = 0;

	for (i = 0; i < n; i++)
		if (p[i] != '/' || o == 0 || p[o - 1] != '/')
			p[o++] = p[i];
	p[o] = '\0';
	return o;
}

/*
 * How much of path a prefix rule consumes, or -1 when it does not match:
 * the prefix without its trailing '/', so the rest starts with '/' or is
 * empty.  The root prefix consumes nothing.
 */
static long
prefix_length(const char *prefix, struct span path)
{
	size_t	n = strlen(prefix);

	if (n > 0 && prefix[n - 1] == '/')
		n--;
	if (path.n < n || memcmp(path.p, prefix, n) != 0)
		return -1;
	if (path.n > n && path.p[n] != '/')
		return -1;
	return (long)n;
}

bool
vhost_rule_matches(const struct config_path *pr, struct span path)
{
	char	p[GEMINI_URL_MAX + 1];

	if (pr->prefix != NULL)
		return prefix_length(pr->prefix, path) != -1;
	if (pr->glob == NULL || path.n >= sizeof(p) ||
	    memchr(path.p, '\0', path.n) != NULL)
		return false;
	memcpy(p, path.p, path.n);
	p[path.n] = '\0';
	return fnmatch(pr->glob, p, 0) == 0;
}

const struct config_path *
vhost_rule(const struct config_vhost *vh, struct span path)
{
	size_t	i;

	if (vh == NULL)
		return NULL;
	for (i = 0; i < vh->npaths; i++)
		if (!vh->paths[i].titan &&
		    vhost_rule_matches(&vh->paths[i], path))
			return &vh->paths[i];
	return NULL;
}

int
vhost_redirect(struct buf *out, const struct config_path *pr,
    struct span path, struct span query, bool has_query)
{
	size_t	start = out->len, tn = strlen(pr->redirect);
	long	used;

	if (pr->prefix == NULL || (used = prefix_length(pr->prefix,
	    path)) == -1)
		return buf_puts(out, pr->redirect);
	path = span_make(path.p + used, path.n - (size_t)used);
	/* One '/' between the target and the rest, however written. */
	if (path.n > 0 && tn > 0 && pr->redirect[tn - 1] == '/')
		tn--;
	if (buf_append(out, pr->redirect, tn) == -1 ||
	    url_encode_path(path, out) == -1 ||
	    (has_query && (buf_putc(out, '?') == -1 ||
	    buf_append_span(out, query) == -1))) {
		out->len = start;
		return -1;
	}
	return 0;
}

const char *
vhost_lang(const struct config_vhost *vh, const struct config_path *pr)
{
	if (pr != NULL && pr->lang != NULL)
		return pr->lang;
	return vh != NULL ? vh->lang : NULL;
}

const char *
vhost_charset(const struct config_vhost *vh, const struct config_path *pr)
{
	if (pr != NULL && pr->charset != NULL)
		return pr->charset;
	return vh != NULL ? vh->charset : NULL;
}

static const char *
types_find(const struct config_types *t, struct span ext)
{
	size_t	i;

	for (i = 0; i < t->n; i++)
		if (span_caseeq_cstr(ext, t->v[i].ext))
			return t->v[i].mime;
	return NULL;
}

/* The extension of the last segment of name, or an empty span. */
static struct span
extension(struct span name)
{
	size_t	i;

	for (i = name.n; i > 0; i--) {
		if (name.p[i - 1] == '/')
			break;
		/* A leading dot names a dotfile, not an extension. */
		if (name.p[i - 1] == '.' && i - 1 > 0 &&
		    name.p[i - 2] != '/')
			return span_make(name.p + i, name.n - i);
	}
	return span_make(name.p + name.n, 0);
}

const char *
vhost_file_type(const struct config_vhost *vh, const struct config_path *pr,
    struct span name)
{
	struct span	 ext = extension(name);
	const char	*mime = NULL;

	if (ext.n > 0 && pr != NULL)
		mime = types_find(&pr->types, ext);
	if (ext.n > 0 && mime == NULL && vh != NULL)
		mime = types_find(&vh->types, ext);
	if (ext.n > 0 && mime == NULL)
		mime = capsule_mime_for_ext(ext);
	if (mime != NULL)
		return mime;
	if (pr != NULL && pr->default_type != NULL)
		return pr->default_type;
	if (vh != NULL && vh->default_type != NULL)
		return vh->default_type;
	return "application/octet-stream";
}

static struct span
trim(struct span s)
{
	while (s.n > 0 && (s.p[0] == ' ' || s.p[0] == '\t'))
		s = span_make(s.p + 1, s.n - 1);
	while (s.n > 0 && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
		s.n--;
	return s;
}

static bool
is_param(struct span s, const char *name)
{
	size_t	n = strlen(name);

	return s.n > n && s.p[n] == '=' &&
	    span_caseeq_cstr(span_make(s.p, n), name);
}

int
vhost_meta(char *out, size_t outsz, const char *mime, const char *charset,
    const char *lang)
{
	struct span	rest = span_cstr(mime), base, param;
	struct buf	b;
	bool		gemini, text;
	long		semi;
	int		rc;

	semi = span_index(rest, ';');
	base = trim(span_make(rest.p, semi == -1 ? rest.n : (size_t)semi));
	gemini = span_caseeq_cstr(base, "text/gemini");
	text = base.n > 5 && strncasecmp(base.p, "text/", 5) == 0;
	if (!text || (!gemini && charset == NULL)) {
		if (strlen(mime) >= outsz)
			return -1;
		snprintf(out, outsz, "%s", mime);
		return 0;
	}
	if (gemini && charset == NULL)
		charset = "utf-8";
	buf_init(&b, outsz - 1);
	rc = buf_append_span(&b, base);
	while (semi != -1 && rc == 0) {
		rest = span_make(rest.p + semi + 1, rest.n - (size_t)semi - 1);
		semi = span_index(rest, ';');
		param = trim(span_make(rest.p, semi == -1 ? rest.n :
		    (size_t)semi));
		/* Ours replace the type's own. */
		if (param.n == 0 || is_param(param, "charset") ||
		    (gemini && is_param(param, "lang")))
			continue;
		rc = buf_puts(&b, "; ") == 0 ? buf_append_span(&b, param) : -1;
	}
	if (rc == 0)
		rc = buf_printf(&b, "; charset=%s", charset);
	if (rc == 0 && gemini && lang != NULL && lang[0] != '\0')
		rc = buf_printf(&b, "; lang=%s", lang);
	if (rc == 0 && buf_cstr(&b) != NULL)
		snprintf(out, outsz, "%s", b.p);
	else
		rc = -1;
	buf_free(&b);
	return rc;
}
