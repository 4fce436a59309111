/*
 * vhost: which virtual host and which path rule a request falls under,
 * and what the rule makes of the answer: the redirect target, the media
 * type of a file under the operator's mappings, the parameters of a 20
 * header.  Pure: no I/O, no logging, no allocation but the output buf.
 */
#ifndef CAPSULED_VHOST_H
#define CAPSULED_VHOST_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "config.h"

/* Longest meta vhost_meta makes: a media type, a charset and a lang. */
#define VHOST_META_MAX	(CONFIG_MIME_MAX + CONFIG_CHARSET_MAX + 64)

/*
 * The index of the vhost in v[0..n) whose hostname or one of whose
 * aliases is host, ignoring ASCII case; -1 when none is.
 */
long	vhost_find(const struct config_vhost *v, size_t n, struct span host);

/*
 * Squeeze every run of '/' in p[0..n) to one, in place, and end it with a
 * NUL (p[n] must be writable).  Returns the new length.  Rules are matched
 * against paths in this form, as the file system resolves them, so
 * "//private/x" or "/a//b" cannot slip past a rule for "/private/" or
 * "/a/b".
 */
size_t	vhost_squeeze_slashes(char *p, size_t n);

/*
 * Whether the rule matches a request path (decoded, from the root, as
 * vhost_squeeze_slashes leaves it).  A prefix matches whole segments:
 * "/a" and "/a/" both match "/a", "/a/" and "/a/x", never "/ab"; "/"
 * matches everything.  A glob is matched with fnmatch(3) and no flags, so
 * '*' also matches '/'.
 */
bool	vhost_rule_matches(const struct config_path *pr, struct span path);

/*
 * The first rule of vh that matches path, or NULL when none does.  Upload
 * rules (titan) are not among them: only Titan requests see those.
 */
const struct config_path *vhost_rule(const struct config_vhost *vh,
	    struct span path);

/*
 * Append to out where pr (a rule with a redirect) sends path: the target
 * as written, and for a prefix rule the rest of the path after the
 * prefix (percent-encoded, joined with exactly one '/') and the query.
 * "/old/" -> "/new/" sends "/old/a b?q" to "/new/a%20b?q".  Returns 0, or
 * -1 when out is full (it is then left as it was).
 */
int	vhost_redirect(struct buf *out, const struct config_path *pr,
	    struct span path, struct span query, bool has_query);

/* The lang and charset in force: the rule's, else the vhost's, or NULL. */
const char *vhost_lang(const struct config_vhost *vh,
	    const struct config_path *pr);
const char *vhost_charset(const struct config_vhost *vh,
	    const struct config_path *pr);

/*
 * The media type of the file name (its last segment's extension): the
 * rule's types, then the vhost's, then the built-in table; for an
 * extension none of them knows (or none), the rule's default_type, the
 * vhost's, else application/octet-stream.  vh and pr may be NULL.
 */
const char *vhost_file_type(const struct config_vhost *vh,
	    const struct config_path *pr, struct span name);

/*
 * The meta of a 20 for mime into out (outsz at least VHOST_META_MAX):
 * text/gemini always gets "charset=" (charset, else utf-8) and "lang="
 * when lang is set; another text type gets charset in place of any it
 * names, when charset is set; other types are left alone.  Returns 0, or
 * -1 when it does not fit.
 */
int	vhost_meta(char *out, size_t outsz, const char *mime,
	    const char *charset, const char *lang);

#endif
