#include <sys/stat.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "buf.h"
#include "config.h"
#include "gemini.h"
#include "mem.h"
#include "titan.h"
#include "tls.h"
#include "url.h"

/* Bytes of an operator's value quoted back in a message. */
#define SHOWN_MAX	48

/* Longest message line before the "file:line:col: " prefix. */
#define MESSAGE_MAX	1024

/* Most keys in one section, for the duplicate check. */
#define SECTION_KEYS_MAX	24

/* Longest host name (DNS) and language tag (BCP 47) accepted. */
#define HOST_MAX	253
#define LANG_MAX	35

/* Longest user name accepted (what useradd allows). */
#define USER_MAX	32

struct parser;
struct key;

/* Which structure a key's offset points into. */
enum place {
	IN_CONFIG,
	IN_VHOST,	/* the vhosts entry being read, else the top one */
	IN_LISTEN,
	IN_PATH		/* the paths entry being read */
};

/* One mapping of the schema: its keys and how messages name it. */
struct section {
	const char		*name;	/* prefix of its keys, or NULL */
	const char		*where;	/* "in ..." for unknown keys */
	const struct key	*keys;
	size_t			 nkeys;
};

/* Key flags. */
#define KEY_NOT_EMPTY	0x01	/* an explicit empty list is an error */
#define KEY_MAY_BE_OFF	0x02	/* a log that may be "off" */
#define KEY_MARK	0x04	/* record where the value is, at mark */

/* One key: how to read its value, where it goes, how to explain it. */
struct key {
	const char		*name;
	int			(*parse)(struct parser *, const struct key *);
	enum place		 in;
	size_t			 off;
	unsigned int		 flags;
	unsigned int		 min;
	unsigned int		 max;
	bool			(*valid)(struct span);
	const char		*what;		/* "must be ..." */
	const char		*example;	/* "write e.g. ..." */
	const struct section	*sub;
	size_t			 mark;	/* KEY_MARK: config_mark offset */
};

struct parser {
	yaml_parser_t		 yp;
	yaml_event_t		 ev;
	bool			 have_ev;
	int			 depth;
	const char		*name;
	struct span		 text;
	struct buf		*err;
	int			 nerr;
	bool			 stopped;
	struct config		*cfg;
	const struct section	*sec;
	struct config_listen	*lst;		/* listen entry being read */
	bool			 lst_addr;	/* it had an address key */
	bool			 lst_ok;	/* and the address was good */
	bool			 in_vhost;	/* inside a vhosts entry */
	size_t			 vh;		/* which one, then */
	bool			 top_vhost;	/* a top-level vhost key set */
	struct config_path	*pth;		/* paths entry being read */
	char			 qname[64];	/* scratch for key names */
	char			 shown[SHOWN_MAX * 4 + 8];
};

static const char listen_help[] =
    "ADDRESS:PORT, e.g. 127.0.0.1:1965, [::1]:1965 or *:1965";

/*
 * Messages: every line is separated from the previous one so that the
 * caller can print the buffer as it is.
 */
static void
append_line(struct buf *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
append_line(struct buf *err, const char *fmt, ...)
{
	char	msg[MESSAGE_MAX];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err->len > 0)
		(void)buf_putc(err, '\n');
	(void)buf_puts(err, msg);
}

/*
 * Quote an operator's bytes for a message: control characters escaped so a
 * config cannot write to the terminal, long values cut.
 */
static const char *
show(char *out, size_t outsz, struct span s)
{
	static const char	hex[] = "0123456789abcdef";
	size_t			i, o = 0;
	unsigned char		c;

	if (s.n == 0)
		return "an empty string";
	out[o++] = '\'';
	for (i = 0; i < s.n && i < SHOWN_MAX && o + 6 < outsz; i++) {
		c = (unsigned char)s.p[i];
		if (c < 0x20 || c == 0x7f || c == '\\') {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0xf];
		} else
			out[o++] = (char)c;
	}
	if (i < s.n && o + 4 < outsz) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '\'';
	out[o] = '\0';
	return out;
}

static int
vreport(struct parser *p, yaml_mark_t m, const char *fmt, va_list ap)
{
	char	msg[MESSAGE_MAX];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	append_line(p->err, "%s:%zu:%zu: %s", p->name, m.line + 1,
	    m.column + 1, msg);
	if (++p->nerr < CONFIG_ERRORS_MAX)
		return 0;
	append_line(p->err, "%s: stopped after %d errors", p->name,
	    CONFIG_ERRORS_MAX);
	p->stopped = true;
	return -1;
}

/* Record an error the parse can go on after: 0, or -1 when too many. */
static int
report(struct parser *p, yaml_mark_t m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
report(struct parser *p, yaml_mark_t m, const char *fmt, ...)
{
	va_list	ap;
	int	rc;

	va_start(ap, fmt);
	rc = vreport(p, m, fmt, ap);
	va_end(ap);
	return rc;
}

/* Record an error that ends the parse: always -1. */
static int
fail(struct parser *p, yaml_mark_t m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct parser *p, yaml_mark_t m, const char *fmt, ...)
{
	va_list	ap;

	if (p->stopped)
		return -1;
	va_start(ap, fmt);
	(void)vreport(p, m, fmt, ap);
	va_end(ap);
	p->stopped = true;
	return -1;
}

static int
out_of_memory(struct parser *p)
{
	if (!p->stopped)
		append_line(p->err, "%s: out of memory", p->name);
	p->nerr++;
	p->stopped = true;
	return -1;
}

/*
 * Reader errors (bad UTF-8, control characters) come with a byte offset
 * only; turn it into a line and column counted in characters, as libyaml
 * counts them for the other errors.
 */
static yaml_mark_t
offset_mark(struct span text, size_t off)
{
	yaml_mark_t	m = { 0, 0, 0 };
	size_t		i;

	for (i = 0; i < off && i < text.n; i++) {
		if (text.p[i] == '\n') {
			m.line++;
			m.column = 0;
		} else if (((unsigned char)text.p[i] & 0xc0) != 0x80)
			m.column++;
	}
	m.index = off;
	return m;
}

static int
syntax_error(struct parser *p)
{
	yaml_parser_t	*yp = &p->yp;
	const char	*problem, *hint;
	yaml_mark_t	 m;

	if (yp->error == YAML_MEMORY_ERROR)
		return out_of_memory(p);
	problem = yp->problem != NULL ? yp->problem : "unreadable input";
	if (yp->error == YAML_READER_ERROR) {
		m = offset_mark(p->text, yp->problem_offset);
		return fail(p, m, "YAML syntax error: %s; save the file as "
		    "UTF-8 text without control characters", problem);
	}
	m = yp->problem_mark;
	hint = "check the indentation, and quote values that start with a "
	    "special character or contain ': '";
	if (strstr(problem, "block sequence entries") != NULL)
		hint = "a lone '-' starts a list: quote it as \"-\"";
	if (yp->context != NULL)
		return fail(p, m, "YAML syntax error: %s (%s at line %zu); %s",
		    problem, yp->context, yp->context_mark.line + 1, hint);
	return fail(p, m, "YAML syntax error: %s; %s", problem, hint);
}

/* Anchors and tags are refused: the schema has no use for either. */
static int
check_node(struct parser *p, const yaml_char_t *anchor, const yaml_char_t *tag)
{
	yaml_mark_t	m = p->ev.start_mark;

	if (anchor != NULL)
		return fail(p, m, "YAML anchors are not allowed (anchor %s); "
		    "write each value out in full", show(p->shown,
		    sizeof(p->shown), span_cstr((const char *)anchor)));
	if (tag != NULL)
		return fail(p, m, "YAML tags are not allowed; remove the "
		    "'!' tag before the value");
	return 0;
}

/*
 * Move to the next event.  Everything the schema never accepts (syntax
 * errors, aliases, anchors, tags, deep nesting) is caught here, once, and
 * ends the parse.
 */
static int
next(struct parser *p)
{
	yaml_event_t	*ev = &p->ev;

	if (p->have_ev) {
		yaml_event_delete(ev);
		p->have_ev = false;
	}
	if (p->stopped)
		return -1;
	if (!yaml_parser_parse(&p->yp, ev))
		return syntax_error(p);
	p->have_ev = true;
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		return fail(p, ev->start_mark, "YAML aliases are not allowed "
		    "(alias %s); write the value out in full", show(p->shown,
		    sizeof(p->shown),
		    span_cstr((const char *)ev->data.alias.anchor)));
	case YAML_SCALAR_EVENT:
		return check_node(p, ev->data.scalar.anchor,
		    ev->data.scalar.tag);
	case YAML_SEQUENCE_START_EVENT:
		if (check_node(p, ev->data.sequence_start.anchor,
		    ev->data.sequence_start.tag) == -1)
			return -1;
		break;
	case YAML_MAPPING_START_EVENT:
		if (check_node(p, ev->data.mapping_start.anchor,
		    ev->data.mapping_start.tag) == -1)
			return -1;
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		p->depth--;
		return 0;
	default:
		return 0;
	}
	if (++p->depth > CONFIG_DEPTH_MAX)
		return fail(p, ev->start_mark, "nesting deeper than %d levels; "
		    "the config needs at most 7, check the indentation",
		    CONFIG_DEPTH_MAX);
	return 0;
}

/* Consume the rest of the node whose first event is current. */
static int
skip(struct parser *p)
{
	int	level;

	if (p->ev.type != YAML_SEQUENCE_START_EVENT &&
	    p->ev.type != YAML_MAPPING_START_EVENT)
		return 0;
	for (level = 1; level > 0; ) {
		if (next(p) == -1)
			return -1;
		if (p->ev.type == YAML_SEQUENCE_START_EVENT ||
		    p->ev.type == YAML_MAPPING_START_EVENT)
			level++;
		else if (p->ev.type == YAML_SEQUENCE_END_EVENT ||
		    p->ev.type == YAML_MAPPING_END_EVENT)
			level--;
	}
	return 0;
}

static int
skip_value(struct parser *p)
{
	if (next(p) == -1)
		return -1;
	return skip(p);
}

static struct span
scalar(const struct parser *p)
{
	return span_make((const char *)p->ev.data.scalar.value,
	    p->ev.data.scalar.length);
}

/* An empty or "~"/"null" plain value: the same as leaving the key out. */
static bool
is_null(const struct parser *p)
{
	struct span	s;

	if (p->ev.type != YAML_SCALAR_EVENT ||
	    p->ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	s = scalar(p);
	return s.n == 0 || span_eq_cstr(s, "~") || span_eq_cstr(s, "null") ||
	    span_eq_cstr(s, "Null") || span_eq_cstr(s, "NULL");
}

/* "a mapping", "a list" or the quoted value: what was written instead. */
static const char *
kind(struct parser *p)
{
	switch (p->ev.type) {
	case YAML_MAPPING_START_EVENT:
		return "a mapping";
	case YAML_SEQUENCE_START_EVENT:
		return "a list";
	case YAML_SCALAR_EVENT:
		return show(p->shown, sizeof(p->shown), scalar(p));
	default:
		return "nothing";
	}
}

static const char *
qname(struct parser *p, const struct key *k)
{
	if (p->sec->name == NULL)
		return k->name;
	snprintf(p->qname, sizeof(p->qname), "%s.%s", p->sec->name, k->name);
	return p->qname;
}

/* Report that the current value is wrong for k, and skip it. */
static int
bad_value(struct parser *p, const struct key *k)
{
	if (report(p, p->ev.start_mark, "'%s' must be %s, not %s; write "
	    "e.g. %s", qname(p, k), k->what, kind(p), k->example) == -1)
		return -1;
	return skip(p);
}

/*
 * Read the value of k as a scalar.  1: *s holds it (valid until the next
 * event); 0: nothing to store (null, or an error was reported); -1: stop.
 */
static int
want_scalar(struct parser *p, const struct key *k, struct span *s)
{
	if (next(p) == -1)
		return -1;
	if (is_null(p))
		return 0;
	if (p->ev.type != YAML_SCALAR_EVENT)
		return bad_value(p, k);
	*s = scalar(p);
	return 1;
}

static int
parse_uint(struct span s, unsigned int min, unsigned int max,
    unsigned int *out)
{
	uint64_t	v = 0;
	size_t		i;

	if (s.n == 0 || s.n > 10)
		return -1;
	for (i = 0; i < s.n; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s.p[i] - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = (unsigned int)v;
	return 0;
}

static bool
is_text(struct span s)
{
	size_t	i;

	for (i = 0; i < s.n; i++)
		if ((unsigned char)s.p[i] < 0x20 || s.p[i] == 0x7f)
			return false;
	return s.n > 0;
}

static bool
is_path(struct span s)
{
	return s.n < PATH_MAX && is_text(s);
}

/* An upload token: compared with the percent-decoded one a client sends. */
static bool
is_token(struct span s)
{
	return s.n <= TITAN_TOKEN_MAX && is_text(s);
}

static bool
is_abspath(struct span s)
{
	return is_path(s) && s.p[0] == '/';
}

static bool
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

static bool
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/* A DNS name or an IPv4 address; never a '/' (it names cert files). */
static bool
is_dnsname(struct span s)
{
	size_t	i;

	if (s.n == 0 || s.n > HOST_MAX || s.p[0] == '.' || s.p[0] == '-')
		return false;
	for (i = 0; i < s.n; i++)
		if (!is_alnum(s.p[i]) && s.p[i] != '-' && s.p[i] != '.' &&
		    s.p[i] != '_')
			return false;
	return true;
}

/* An IPv6 address without brackets, with an optional %zone. */
static bool
is_ipv6(struct span s)
{
	size_t	i;
	bool	colon = false, zone = false;

	if (s.n < 2 || s.n > 64)
		return false;
	for (i = 0; i < s.n; i++) {
		if (zone) {
			if (!is_alnum(s.p[i]) && s.p[i] != '-' &&
			    s.p[i] != '_' && s.p[i] != '.')
				return false;
		} else if (s.p[i] == '%' && i > 0 && i + 1 < s.n)
			zone = true;
		else if (s.p[i] == ':')
			colon = true;
		else if (!is_hex(s.p[i]) && s.p[i] != '.')
			return false;
	}
	return colon;
}

static bool
is_hostname(struct span s)
{
	return is_dnsname(s) || is_ipv6(s);
}

/* Goes into the response header, so nothing but a BCP 47 shape. */
static bool
is_lang(struct span s)
{
	size_t	i;

	if (s.n == 0 || s.n > LANG_MAX || !is_alnum(s.p[0]))
		return false;
	for (i = 0; i < s.n; i++)
		if (!is_alnum(s.p[i]) && s.p[i] != '-')
			return false;
	return true;
}

static bool
is_user(struct span s)
{
	size_t	i;

	if (s.n == 0 || s.n > USER_MAX || s.p[0] == '-')
		return false;
	for (i = 0; i < s.n; i++)
		if (!is_alnum(s.p[i]) && s.p[i] != '-' && s.p[i] != '_' &&
		    s.p[i] != '.')
			return false;
	return true;
}

/* A media type as it goes into a 20 header: printable ASCII with a '/'. */
static bool
is_mime(struct span s)
{
	size_t	i;
	long	slash;

	if (s.n == 0 || s.n > CONFIG_MIME_MAX || !is_alnum(s.p[0]))
		return false;
	for (i = 0; i < s.n; i++)
		if ((unsigned char)s.p[i] < 0x20 ||
		    (unsigned char)s.p[i] > 0x7e)
			return false;
	slash = span_index(s, '/');
	return slash > 0 && (size_t)slash + 1 < s.n &&
	    is_alnum(s.p[slash + 1]);
}

/* A charset name (IANA registry names are letters, digits, "-_.:+"). */
static bool
is_charset(struct span s)
{
	size_t	i;

	if (s.n == 0 || s.n > CONFIG_CHARSET_MAX || !is_alnum(s.p[0]))
		return false;
	for (i = 0; i < s.n; i++)
		if (!is_alnum(s.p[i]) && strchr("-_.:+", s.p[i]) == NULL)
			return false;
	return true;
}

/* A file extension without its dot: what follows the last '.'. */
static bool
is_ext(struct span s)
{
	size_t	i;

	if (s.n == 0 || s.n > CONFIG_EXT_MAX)
		return false;
	for (i = 0; i < s.n; i++)
		if (!is_alnum(s.p[i]) && strchr("-_+", s.p[i]) == NULL)
			return false;
	return true;
}

/*
 * A path prefix in the form request paths take once normalised: from the
 * root, no "//", no "." or ".." segment.  Anything else could never match.
 */
static bool
is_prefix(struct span s)
{
	size_t	i, seg;

	if (!is_path(s) || s.n > GEMINI_URL_MAX || s.p[0] != '/')
		return false;
	for (i = 1, seg = 1; i <= s.n; i++) {
		if (i < s.n && s.p[i] != '/')
			continue;
		if (i - seg == 0 && i < s.n)
			return false;
		if ((i - seg == 1 && s.p[seg] == '.') ||
		    (i - seg == 2 && s.p[seg] == '.' && s.p[seg + 1] == '.'))
			return false;
		seg = i + 1;
	}
	return true;
}

static bool
is_glob(struct span s)
{
	return is_path(s) && s.n <= GEMINI_URL_MAX &&
	    (s.p[0] == '/' || s.p[0] == '*');
}

/* An absolute path of this capsule, or a URL with a host; no query. */
static bool
is_redirect(struct span s)
{
	struct url	u;
	size_t		i;

	if (s.n == 0 || s.n > GEMINI_URL_MAX)
		return false;
	for (i = 0; i < s.n; i++)
		if ((unsigned char)s.p[i] <= 0x20 || s.p[i] == 0x7f)
			return false;
	/* The request's own query is carried over: the target has none. */
	if (url_split(s, &u) == -1 || u.has_fragment || u.has_query)
		return false;
	if (u.has_scheme)
		return u.has_authority && u.host.n > 0;
	return s.p[0] == '/' && (s.n == 1 || s.p[1] != '/');
}

static long
span_rindex(struct span s, char c)
{
	size_t	i;

	for (i = s.n; i > 0; i--)
		if (s.p[i - 1] == c)
			return (long)(i - 1);
	return -1;
}

/* As config_parse_listen, but -2 when out of memory. */
static int
listen_parse(struct span s, struct config_listen *out, const char **reason)
{
	struct span	host, port;
	unsigned int	v;
	long		i;

	memset(out, 0, sizeof(*out));
	if (s.n == 0) {
		*reason = "is empty";
		return -1;
	}
	if (s.p[0] == '[') {
		if ((i = span_index(s, ']')) == -1) {
			*reason = "has '[' without ']'";
			return -1;
		}
		host = span_make(s.p + 1, (size_t)i - 1);
		if (!is_ipv6(host)) {
			*reason = "has no IPv6 address between '[' and ']'";
			return -1;
		}
		if ((size_t)i + 1 >= s.n || s.p[i + 1] != ':') {
			*reason = "has no port after ']'";
			return -1;
		}
		i++;
	} else {
		if ((i = span_rindex(s, ':')) == -1) {
			*reason = "has no port";
			return -1;
		}
		host = span_make(s.p, (size_t)i);
		if (span_index(host, ':') != -1) {
			*reason = "is an IPv6 address without brackets";
			return -1;
		}
		if (host.n == 0) {
			*reason = "has no address before ':' (* means every "
			    "address)";
			return -1;
		}
		if (!span_eq_cstr(host, "*") && !is_dnsname(host)) {
			*reason = "has a bad address";
			return -1;
		}
	}
	port = span_make(s.p + i + 1, s.n - (size_t)i - 1);
	/* Port 0 lets the kernel choose, as the integration tests do. */
	if (parse_uint(port, 0, 65535, &v) == -1) {
		*reason = "has a port that is not a number from 0 to 65535";
		return -1;
	}
	out->port = (unsigned short)v;
	if (span_eq_cstr(host, "*"))
		return 0;
	if ((out->host = mem_strndup(host.p, host.n)) == NULL) {
		*reason = "is more than memory allows";
		return -2;
	}
	return 0;
}

static struct config_vhost *
vhost0(struct config *cfg)
{
	if (cfg->nvhosts == 0) {
		if ((cfg->vhosts = mem_calloc(1, sizeof(*cfg->vhosts))) ==
		    NULL)
			return NULL;
		cfg->nvhosts = 1;
	}
	return &cfg->vhosts[0];
}

/* The vhost that vhost keys go to: the entry being read, or vhosts[0]. */
static struct config_vhost *
cur_vhost(struct parser *p)
{
	if (p->in_vhost)
		return &p->cfg->vhosts[p->vh];
	p->top_vhost = true;
	return vhost0(p->cfg);
}

/* The structure k's offsets are relative to. */
static char *
base(struct parser *p, const struct key *k)
{
	switch (k->in) {
	case IN_VHOST:
		return (char *)cur_vhost(p);
	case IN_LISTEN:
		return (char *)p->lst;
	case IN_PATH:
		return (char *)p->pth;
	default:
		return (char *)p->cfg;
	}
}

static void *
target(struct parser *p, const struct key *k)
{
	char	*b;

	if ((b = base(p, k)) == NULL)
		return NULL;
	return b + k->off;
}

static struct config_mark
mark_of(yaml_mark_t m)
{
	struct config_mark	cm = { m.line + 1, m.column + 1 };

	return cm;
}

/* Remember where the current value of k is, when k asks for it. */
static void
set_mark(struct parser *p, const struct key *k)
{
	char	*b;

	if ((k->flags & KEY_MARK) && (b = base(p, k)) != NULL)
		*(struct config_mark *)(void *)(b + k->mark) =
		    mark_of(p->ev.start_mark);
}

static int
set_string(char **dst, struct span s)
{
	char	*v;

	if ((v = mem_strndup(s.p, s.n)) == NULL)
		return -1;
	free(*dst);
	*dst = v;
	return 0;
}

static int
key_string(struct parser *p, const struct key *k)
{
	struct span	 s;
	char		**dst;
	int		 r;

	if ((r = want_scalar(p, k, &s)) != 1)
		return r;
	if (!k->valid(s))
		return bad_value(p, k);
	if ((dst = target(p, k)) == NULL || set_string(dst, s) == -1)
		return out_of_memory(p);
	set_mark(p, k);
	return 0;
}

static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* Host names are compared ignoring case; one spelling names cert files. */
static int
key_host(struct parser *p, const struct key *k)
{
	char	**dst;

	if (key_string(p, k) == -1)
		return -1;
	if ((dst = target(p, k)) != NULL && *dst != NULL)
		lower(*dst);
	return 0;
}

static int
key_uint(struct parser *p, const struct key *k)
{
	struct span	 s;
	unsigned int	 v, *dst;
	int		 r;

	if ((r = want_scalar(p, k, &s)) != 1)
		return r;
	if (parse_uint(s, k->min, k->max, &v) == -1)
		return bad_value(p, k);
	if ((dst = target(p, k)) == NULL)
		return out_of_memory(p);
	*dst = v;
	return 0;
}

static int
key_int(struct parser *p, const struct key *k)
{
	struct span	 s;
	unsigned int	 v;
	int		*dst;
	int		 r;

	if ((r = want_scalar(p, k, &s)) != 1)
		return r;
	if (parse_uint(s, k->min, k->max, &v) == -1)
		return bad_value(p, k);
	if ((dst = target(p, k)) == NULL)
		return out_of_memory(p);
	*dst = (int)v;
	return 0;
}

static int
key_port(struct parser *p, const struct key *k)
{
	struct span	 s;
	unsigned int	 v;
	unsigned short	*dst;
	int		 r;

	if ((r = want_scalar(p, k, &s)) != 1)
		return r;
	if (parse_uint(s, 1, 65535, &v) == -1)
		return bad_value(p, k);
	if ((dst = target(p, k)) == NULL)
		return out_of_memory(p);
	*dst = (unsigned short)v;
	return 0;
}

/* YAML 1.1 spellings too: operators write yes/no and on/off. */
static int
key_bool(struct parser *p, const struct key *k)
{
	static const char *const	 yes[] = { "true", "yes", "on" };
	static const char *const	 no[] = { "false", "no", "off" };
	struct span			 s;
	bool				*dst;
	size_t				 i;
	int				 r, v = -1;

	if ((r = want_scalar(p, k, &s)) != 1)
		return r;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (span_caseeq_cstr(s, yes[i]))
			v = 1;
		if (span_caseeq_cstr(s, no[i]))
			v = 0;
	}
	if (v == -1)
		return bad_value(p, k);
	if ((dst = target(p, k)) == NULL)
		return out_of_memory(p);
	*dst = v == 1;
	return 0;
}

static int
key_log(struct parser *p, const struct key *k)
{
	struct config_log	*dst = target(p, k);
	enum config_log_dest	 dest;
	struct span		 s;
	int			 r;

	if ((r = want_scalar(p, k, &s)) != 1)
		return r;
	if (span_eq_cstr(s, "-"))
		dest = CONFIG_LOG_STDERR;
	else if (span_eq_cstr(s, "syslog"))
		dest = CONFIG_LOG_SYSLOG;
	else if (span_eq_cstr(s, "off") && (k->flags & KEY_MAY_BE_OFF))
		dest = CONFIG_LOG_OFF;
	else if (is_path(s) && !span_eq_cstr(s, "off"))
		dest = CONFIG_LOG_FILE;
	else
		return bad_value(p, k);
	if (dest == CONFIG_LOG_FILE && set_string(&dst->path, s) == -1)
		return out_of_memory(p);
	dst->dest = dest;
	return 0;
}

/* A value that must be one of a few words; its index is stored. */
static int
key_word(struct parser *p, const struct key *k, const char *const *words,
    size_t nwords)
{
	struct span	 s;
	int		*dst;
	size_t		 i;
	int		 r;

	if ((r = want_scalar(p, k, &s)) != 1)
		return r;
	for (i = 0; i < nwords; i++)
		if (span_eq_cstr(s, words[i]))
			break;
	if (i == nwords)
		return bad_value(p, k);
	if ((dst = target(p, k)) == NULL)
		return out_of_memory(p);
	*dst = (int)i;
	return 0;
}

/* In the order of enum config_log_format and enum config_log_ip. */
static int
key_log_format(struct parser *p, const struct key *k)
{
	static const char *const	words[] = { "default", "common",
	    "combined" };

	return key_word(p, k, words, sizeof(words) / sizeof(words[0]));
}

static int
key_log_ip(struct parser *p, const struct key *k)
{
	static const char *const	words[] = { "full", "anonymize", "off" };

	return key_word(p, k, words, sizeof(words) / sizeof(words[0]));
}

static const struct key *
find_key(const struct section *sec, struct span name)
{
	size_t	i;

	for (i = 0; i < sec->nkeys; i++)
		if (span_eq_cstr(name, sec->keys[i].name))
			return &sec->keys[i];
	return NULL;
}

/* Edit distance, to suggest the key that was probably meant. */
static size_t
distance(struct span a, const char *b)
{
	size_t	row[SHOWN_MAX + 1], i, j, diag, up, nb = strlen(b);

	if (a.n > SHOWN_MAX || nb > SHOWN_MAX)
		return SIZE_MAX;
	for (j = 0; j <= nb; j++)
		row[j] = j;
	for (i = 1; i <= a.n; i++) {
		diag = row[0];
		row[0] = i;
		for (j = 1; j <= nb; j++) {
			up = row[j];
			row[j] = diag + (a.p[i - 1] != b[j - 1]);
			if (up + 1 < row[j])
				row[j] = up + 1;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			diag = up;
		}
	}
	return row[nb];
}

static int
unknown_key(struct parser *p, const struct section *sec)
{
	char		 valid[MESSAGE_MAX / 2], hint[96] = "";
	struct span	 name = scalar(p);
	size_t		 i, d, best = 3, o = 0;

	for (i = 0; i < sec->nkeys; i++) {
		o += (size_t)snprintf(valid + o, sizeof(valid) - o, "%s%s",
		    i > 0 ? ", " : "", sec->keys[i].name);
		if (o >= sizeof(valid))
			o = sizeof(valid) - 1;
		if ((d = distance(name, sec->keys[i].name)) < best) {
			best = d;
			snprintf(hint, sizeof(hint), " (did you mean '%s'?)",
			    sec->keys[i].name);
		}
	}
	return report(p, p->ev.start_mark, "unknown key %s %s%s; valid keys: "
	    "%s", show(p->shown, sizeof(p->shown), name), sec->where, hint,
	    valid);
}

/* Read a mapping whose start event is current, key by key. */
static int
parse_map(struct parser *p, const struct section *sec)
{
	const struct section	*outer = p->sec;
	const struct key	*k;
	size_t			 first[SECTION_KEYS_MAX] = { 0 };
	size_t			 i;
	int			 rc = -1;

	p->sec = sec;
	for (;;) {
		if (next(p) == -1)
			goto out;
		if (p->ev.type == YAML_MAPPING_END_EVENT)
			break;
		if (p->ev.type != YAML_SCALAR_EVENT) {
			if (report(p, p->ev.start_mark, "a key must be a name, "
			    "not %s; write e.g. %s", kind(p),
			    sec->keys[0].example) == -1 || skip(p) == -1 ||
			    skip_value(p) == -1)
				goto out;
			continue;
		}
		if ((k = find_key(sec, scalar(p))) == NULL) {
			if (unknown_key(p, sec) == -1 || skip_value(p) == -1)
				goto out;
			continue;
		}
		i = (size_t)(k - sec->keys);
		if (first[i] != 0) {
			if (report(p, p->ev.start_mark, "duplicate key '%s' "
			    "(first at line %zu); keep only one", k->name,
			    first[i]) == -1 || skip_value(p) == -1)
				goto out;
			continue;
		}
		first[i] = p->ev.start_mark.line + 1;
		if (k->parse(p, k) == -1)
			goto out;
	}
	rc = 0;
out:
	p->sec = outer;
	return rc;
}

static int
key_section(struct parser *p, const struct key *k)
{
	if (next(p) == -1)
		return -1;
	if (is_null(p))
		return 0;
	if (p->ev.type != YAML_MAPPING_START_EVENT)
		return bad_value(p, k);
	return parse_map(p, k->sub);
}

/*
 * Read a value that is one entry or a list of entries, calling fn with
 * each entry's first event current.  *n counts the entries, *at is where
 * the value starts; a null value is no list at all (*given false).
 */
static int
each_entry(struct parser *p, const struct key *k,
    int (*fn)(struct parser *, const struct key *), size_t *n, bool *given,
    yaml_mark_t *at)
{
	size_t	max = k->max > 0 ? k->max : CONFIG_LIST_MAX;

	*n = 0;
	*given = false;
	if (next(p) == -1)
		return -1;
	*at = p->ev.start_mark;
	if (is_null(p))
		return 0;
	*given = true;
	if (p->ev.type != YAML_SEQUENCE_START_EVENT) {
		*n = 1;
		return fn(p, k);
	}
	for (;;) {
		if (next(p) == -1)
			return -1;
		if (p->ev.type == YAML_SEQUENCE_END_EVENT)
			return 0;
		if (++*n == max + 1 && report(p, p->ev.start_mark,
		    "'%s' has more than %zu entries; list fewer",
		    qname(p, k), max) == -1)
			return -1;
		if (*n > max) {
			if (skip(p) == -1)
				return -1;
		} else if (fn(p, k) == -1)
			return -1;
	}
}

/* The current entry as a scalar; 1, 0 (reported and skipped) or -1. */
static int
entry_scalar(struct parser *p, const struct key *k, struct span *s)
{
	if (p->ev.type != YAML_SCALAR_EVENT) {
		if (report(p, p->ev.start_mark, "'%s' entries must be single "
		    "values, not %s; write e.g. %s", qname(p, k), kind(p),
		    k->example) == -1)
			return -1;
		return skip(p);
	}
	if (is_null(p))
		return report(p, p->ev.start_mark, "'%s' has an empty entry; "
		    "remove it", qname(p, k));
	*s = scalar(p);
	return 1;
}

static int
alias_entry(struct parser *p, const struct key *k)
{
	struct config_vhost	*vh;
	struct config_mark	*nm;
	struct span		 s;
	char			**na;
	int			 r;

	if ((r = entry_scalar(p, k, &s)) != 1)
		return r;
	if (!is_hostname(s))
		return report(p, p->ev.start_mark, "'%s' entry %s is not a "
		    "host name; write e.g. %s", qname(p, k), kind(p),
		    k->example);
	if ((vh = cur_vhost(p)) == NULL)
		return out_of_memory(p);
	nm = mem_realloc(vh->aliases_at, (vh->naliases + 1) * sizeof(*nm));
	if (nm == NULL)
		return out_of_memory(p);
	vh->aliases_at = nm;
	nm[vh->naliases] = mark_of(p->ev.start_mark);
	na = mem_realloc(vh->aliases, (vh->naliases + 1) * sizeof(*na));
	if (na == NULL)
		return out_of_memory(p);
	vh->aliases = na;
	if ((na[vh->naliases] = mem_strndup(s.p, s.n)) == NULL)
		return out_of_memory(p);
	lower(na[vh->naliases++]);
	return 0;
}

static int
key_aliases(struct parser *p, const struct key *k)
{
	yaml_mark_t	m;
	size_t		n;
	bool		given;

	return each_entry(p, k, alias_entry, &n, &given, &m);
}

static int
listen_append(struct config_listen **list, size_t *n,
    const struct config_listen *l)
{
	struct config_listen	*nl;

	if ((nl = mem_realloc(*list, (*n + 1) * sizeof(*nl))) == NULL)
		return -1;
	nl[(*n)++] = *l;
	*list = nl;
	return 0;
}

static int
key_address(struct parser *p, const struct key *k)
{
	struct config_listen	 l;
	const char		*reason;
	struct span		 s;
	int			 r;

	if ((r = want_scalar(p, k, &s)) != 1)
		return r;
	p->lst_addr = true;
	if ((r = listen_parse(s, &l, &reason)) == -2)
		return out_of_memory(p);
	if (r == -1)
		return report(p, p->ev.start_mark, "'%s' value %s %s; write "
		    "%s", qname(p, k), kind(p), reason, listen_help);
	free(p->lst->host);
	p->lst->host = l.host;
	p->lst->port = l.port;
	p->lst_ok = true;
	return 0;
}

/*
 * A listen entry in its long form, {address: ..., proxy_protocol: ...}.
 * 1: l is complete; 0: it is not (reported); -1: stop.
 */
static int
listen_map(struct parser *p, const struct key *k, struct config_listen *l)
{
	yaml_mark_t	m = p->ev.start_mark;
	int		rc;

	p->lst = l;
	p->lst_addr = false;
	p->lst_ok = false;
	rc = parse_map(p, k->sub);
	p->lst = NULL;
	if (rc == -1)
		return -1;
	if (!p->lst_addr)
		return report(p, m, "'%s' entry has no 'address'; write e.g. "
		    "{address: \"*:1965\", proxy_protocol: true}", qname(p, k));
	return p->lst_ok ? 1 : 0;
}

static int
listen_entry(struct parser *p, const struct key *k)
{
	struct config_listen	  l = { NULL, 0, false };
	struct config_listen	**list = &p->cfg->gemini;
	size_t			 *n = &p->cfg->ngemini;
	const char		 *reason;
	struct span		  s;
	int			  r;

	if (k->off == offsetof(struct config, gopher)) {
		list = &p->cfg->gopher;
		n = &p->cfg->ngopher;
	}
	if (p->ev.type == YAML_MAPPING_START_EVENT) {
		if ((r = listen_map(p, k, &l)) != 1) {
			free(l.host);
			return r;
		}
	} else {
		if ((r = entry_scalar(p, k, &s)) != 1)
			return r;
		if ((r = listen_parse(s, &l, &reason)) == -2)
			return out_of_memory(p);
		if (r == -1)
			return report(p, p->ev.start_mark, "'%s' entry %s %s; "
			    "write %s", qname(p, k), kind(p), reason,
			    listen_help);
	}
	if (listen_append(list, n, &l) == -1) {
		free(l.host);
		return out_of_memory(p);
	}
	return 0;
}

static int
key_listen(struct parser *p, const struct key *k)
{
	yaml_mark_t	m;
	size_t		n;
	bool		given;

	if (each_entry(p, k, listen_entry, &n, &given, &m) == -1)
		return -1;
	if (given && n == 0 && (k->flags & KEY_NOT_EMPTY))
		return report(p, m, "'%s' is an empty list; write e.g. %s",
		    qname(p, k), k->example);
	return 0;
}

static void
types_free(struct config_types *t)
{
	size_t	i;

	for (i = 0; i < t->n; i++) {
		free(t->v[i].ext);
		free(t->v[i].mime);
	}
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

static bool
types_has(const struct config_types *t, const char *ext)
{
	size_t	i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->v[i].ext, ext) == 0)
			return true;
	return false;
}

static int
types_add(struct config_types *t, const char *ext, struct span mime)
{
	struct config_type	*nv, e;

	if ((e.ext = mem_strdup(ext)) == NULL)
		return -1;
	if ((e.mime = mem_strndup(mime.p, mime.n)) == NULL) {
		free(e.ext);
		return -1;
	}
	if ((nv = mem_realloc(t->v, (t->n + 1) * sizeof(*nv))) == NULL) {
		free(e.ext);
		free(e.mime);
		return -1;
	}
	nv[t->n++] = e;
	t->v = nv;
	return 0;
}

/*
 * One "ext: media/type" pair of a types mapping, its key current.  The
 * extension may be written with its dot; it is kept without, lower-cased.
 */
static int
type_pair(struct parser *p, const struct key *k, struct config_types *t)
{
	char		ext[CONFIG_EXT_MAX + 2];
	struct span	s = { "", 0 };
	yaml_mark_t	m = p->ev.start_mark;

	if (p->ev.type == YAML_SCALAR_EVENT)
		s = scalar(p);
	if (s.n > 0 && s.p[0] == '.')
		s = span_make(s.p + 1, s.n - 1);
	if (p->ev.type != YAML_SCALAR_EVENT || !is_ext(s)) {
		if (report(p, m, "'%s' keys must be file extensions (letters, "
		    "digits, '-', '_', '+'), not %s; write e.g. %s",
		    qname(p, k), kind(p), k->example) == -1 || skip(p) == -1)
			return -1;
		return skip_value(p);
	}
	memcpy(ext, s.p, s.n);
	ext[s.n] = '\0';
	lower(ext);
	if (types_has(t, ext)) {
		if (report(p, m, "'%s' names extension '%s' twice; keep only "
		    "one", qname(p, k), ext) == -1)
			return -1;
		return skip_value(p);
	}
	if (t->n == CONFIG_TYPES_MAX) {
		if (report(p, m, "'%s' has more than %d extensions; list "
		    "fewer", qname(p, k), CONFIG_TYPES_MAX) == -1)
			return -1;
		return skip_value(p);
	}
	if (next(p) == -1)
		return -1;
	if (p->ev.type != YAML_SCALAR_EVENT || !is_mime(scalar(p))) {
		if (report(p, p->ev.start_mark, "'%s' value for '%s' must be "
		    "a media type such as text/plain, not %s; write e.g. %s",
		    qname(p, k), ext, kind(p), k->example) == -1)
			return -1;
		return skip(p);
	}
	if (types_add(t, ext, scalar(p)) == -1)
		return out_of_memory(p);
	return 0;
}

/* types: a mapping of file extensions to media types. */
static int
key_types(struct parser *p, const struct key *k)
{
	struct config_types	*t;

	if (next(p) == -1)
		return -1;
	if (is_null(p))
		return 0;
	if (p->ev.type != YAML_MAPPING_START_EVENT)
		return bad_value(p, k);
	if ((t = target(p, k)) == NULL)
		return out_of_memory(p);
	for (;;) {
		if (next(p) == -1)
			return -1;
		if (p->ev.type == YAML_MAPPING_END_EVENT)
			return 0;
		if (type_pair(p, k, t) == -1)
			return -1;
	}
}

/*
 * A SHA-256 fingerprint as people copy it: 64 hex digits, with or without
 * ':' between the bytes, optionally after "SHA256:".
 */
static int
parse_fingerprint(struct span s, unsigned char out[CONFIG_FINGERPRINT_LEN])
{
	size_t	i, nd = 0;
	int	hi = -1, v;

	if (s.n > 7 && span_caseeq_cstr(span_make(s.p, 7), "sha256:"))
		s = span_make(s.p + 7, s.n - 7);
	for (i = 0; i < s.n; i++) {
		if (s.p[i] == ':' && hi == -1 && i > 0)
			continue;
		if ((v = url_hex_value(s.p[i])) == -1 ||
		    nd == 2 * CONFIG_FINGERPRINT_LEN)
			return -1;
		if (hi == -1)
			hi = v;
		else {
			out[nd / 2] = (unsigned char)(hi << 4 | v);
			hi = -1;
		}
		nd++;
	}
	return nd == 2 * CONFIG_FINGERPRINT_LEN ? 0 : -1;
}

static int
fingerprint_entry(struct parser *p, const struct key *k)
{
	unsigned char	 fp[CONFIG_FINGERPRINT_LEN];
	unsigned char	(*nv)[CONFIG_FINGERPRINT_LEN];
	struct config_path *pr = p->pth;
	struct span	 s;
	int		 r;

	if ((r = entry_scalar(p, k, &s)) != 1)
		return r;
	if (parse_fingerprint(s, fp) == -1)
		return report(p, p->ev.start_mark, "'%s' entry %s is not a "
		    "SHA-256 fingerprint; write the 64 hex digits that openssl "
		    "x509 -noout -fingerprint -sha256 prints, e.g. %s",
		    qname(p, k), kind(p), k->example);
	nv = mem_realloc(pr->fingerprints, (pr->nfingerprints + 1) *
	    sizeof(*nv));
	if (nv == NULL)
		return out_of_memory(p);
	memcpy(nv[pr->nfingerprints++], fp, sizeof(fp));
	pr->fingerprints = nv;
	return 0;
}

static int
key_fingerprints(struct parser *p, const struct key *k)
{
	yaml_mark_t	m;
	size_t		n;
	bool		given;

	return each_entry(p, k, fingerprint_entry, &n, &given, &m);
}

/* client_cert: {ca: FILE, fingerprints: [...]}, at least one of them. */
static int
key_client_cert(struct parser *p, const struct key *k)
{
	yaml_mark_t	m;
	int		before = p->nerr;

	if (next(p) == -1)
		return -1;
	if (is_null(p))
		return 0;
	if (p->ev.type != YAML_MAPPING_START_EVENT)
		return bad_value(p, k);
	m = p->ev.start_mark;
	if (parse_map(p, k->sub) == -1)
		return -1;
	p->pth->client_cert = true;
	/* A bad entry was reported already: no second message for it. */
	if (p->nerr == before && p->pth->client_ca == NULL &&
	    p->pth->nfingerprints == 0)
		return report(p, m, "'%s' needs 'ca', 'fingerprints' or both; "
		    "write e.g. %s", qname(p, k), k->example);
	return 0;
}

/* titan: {token: T, max_size: N}; the mapping, even empty, enables it. */
static int
key_titan(struct parser *p, const struct key *k)
{
	if (next(p) == -1)
		return -1;
	if (is_null(p))
		return 0;
	if (p->ev.type != YAML_MAPPING_START_EVENT)
		return bad_value(p, k);
	p->pth->titan = true;
	p->pth->titan_at = mark_of(p->ev.start_mark);
	return parse_map(p, k->sub);
}

static void
path_free(struct config_path *pr)
{
	free(pr->prefix);
	free(pr->glob);
	free(pr->redirect);
	free(pr->lang);
	free(pr->charset);
	free(pr->default_type);
	types_free(&pr->types);
	free(pr->client_ca);
	free(pr->fingerprints);
	free(pr->titan_token);
	memset(pr, 0, sizeof(*pr));
}

/* The name of a key an upload rule has no use for, or NULL. */
static const char *
titan_extra_key(const struct config_path *pr)
{
	if (pr->redirect != NULL)
		return "redirect";
	if (pr->redirect_status != 0)
		return "status";
	if (pr->lang != NULL)
		return "lang";
	if (pr->charset != NULL)
		return "charset";
	if (pr->default_type != NULL)
		return "default_type";
	if (pr->types.n > 0)
		return "types";
	return NULL;
}

/*
 * An upload rule: uploads without a client certificate would be open to
 * anyone who finds the path, and keys for reads would never apply, since
 * reads skip the rule.  1 when it is sound, else reported.
 */
static int
titan_check(struct parser *p, const struct key *k,
    const struct config_path *pr)
{
	yaml_mark_t	 m;
	const char	*extra;

	memset(&m, 0, sizeof(m));
	m.line = pr->titan_at.line - 1;
	m.column = pr->titan_at.col - 1;
	if (!pr->client_cert)
		return report(p, m, "'%s.titan' needs 'client_cert' in the "
		    "same entry, or anyone could upload; add e.g. "
		    "client_cert: {fingerprints: [\"<SHA-256 of your "
		    "certificate>\"]}", qname(p, k));
	if ((extra = titan_extra_key(pr)) != NULL)
		return report(p, m, "this '%s' entry has 'titan' and '%s': an "
		    "upload rule takes only prefix or glob, client_cert and "
		    "titan, and reads never see it; move '%s' to an entry "
		    "of its own", qname(p, k), extra, extra);
	return 1;
}

/* What one paths entry needs as a whole; 0 when complete, else reported. */
static int
path_check(struct parser *p, const struct key *k, const struct config_path *pr,
    yaml_mark_t m)
{
	if (pr->prefix == NULL && pr->glob == NULL)
		return report(p, m, "this '%s' entry has neither 'prefix' nor "
		    "'glob'; add one, e.g. prefix: /private/", qname(p, k));
	if (pr->prefix != NULL && pr->glob != NULL)
		return report(p, m, "this '%s' entry has both 'prefix' and "
		    "'glob'; keep one (write a second entry for the other)",
		    qname(p, k));
	if (pr->redirect_status != 0 && pr->redirect == NULL)
		return report(p, m, "this '%s' entry has 'status' but no "
		    "'redirect'; add redirect: TARGET, or remove status",
		    qname(p, k));
	if (pr->titan)
		return titan_check(p, k, pr);
	return 1;
}

static int
path_entry(struct parser *p, const struct key *k)
{
	struct config_path	 pr, *nv;
	struct config_vhost	*vh;
	yaml_mark_t		 m = p->ev.start_mark;
	int			 r, before = p->nerr;

	if (p->ev.type != YAML_MAPPING_START_EVENT) {
		if (report(p, m, "'%s' entries must be mappings, not %s; "
		    "write e.g. %s", qname(p, k), kind(p), k->example) == -1)
			return -1;
		return skip(p);
	}
	memset(&pr, 0, sizeof(pr));
	pr.at = mark_of(m);
	p->pth = &pr;
	r = parse_map(p, k->sub);
	p->pth = NULL;
	if (r == 0 && p->nerr == before &&
	    (r = path_check(p, k, &pr, m)) == 1) {
		if (pr.redirect != NULL && pr.redirect_status == 0)
			pr.redirect_status = 30;
		if (pr.titan && pr.titan_max_size == 0)
			pr.titan_max_size = TITAN_SIZE_DEFAULT;
		if ((vh = cur_vhost(p)) == NULL || (nv = mem_realloc(vh->paths,
		    (vh->npaths + 1) * sizeof(*nv))) == NULL) {
			path_free(&pr);
			return out_of_memory(p);
		}
		nv[vh->npaths++] = pr;
		vh->paths = nv;
		return 0;
	}
	path_free(&pr);
	return r;
}

static int
key_paths(struct parser *p, const struct key *k)
{
	yaml_mark_t	m;
	size_t		n;
	bool		given;

	return each_entry(p, k, path_entry, &n, &given, &m);
}

static int
vhost_entry(struct parser *p, const struct key *k)
{
	struct config		*cfg = p->cfg;
	struct config_vhost	*nv;
	yaml_mark_t		 m = p->ev.start_mark;
	size_t			 i;
	int			 r;

	if (p->ev.type != YAML_MAPPING_START_EVENT) {
		if (report(p, m, "'%s' entries must be mappings, not %s; "
		    "write e.g. %s", qname(p, k), kind(p), k->example) == -1)
			return -1;
		return skip(p);
	}
	/* The top-level vhost keeps its place, first, whatever the order. */
	if (vhost0(cfg) == NULL ||
	    (nv = mem_realloc(cfg->vhosts, (cfg->nvhosts + 1) *
	    sizeof(*nv))) == NULL)
		return out_of_memory(p);
	cfg->vhosts = nv;
	i = cfg->nvhosts++;
	memset(&nv[i], 0, sizeof(nv[i]));
	nv[i].at = mark_of(m);
	p->in_vhost = true;
	p->vh = i;
	r = parse_map(p, k->sub);
	p->in_vhost = false;
	if (r == -1)
		return -1;
	if (cfg->vhosts[i].hostname == NULL)
		return report(p, m, "this '%s' entry has no 'hostname'; add "
		    "hostname: NAME to it", qname(p, k));
	return 0;
}

static int
key_vhosts(struct parser *p, const struct key *k)
{
	yaml_mark_t	m;
	size_t		n;
	bool		given;

	return each_entry(p, k, vhost_entry, &n, &given, &m);
}

/* One ADDRESS or ADDRESS/BITS entry, added to the list *nets of *n. */
static int
net_entry(struct parser *p, const struct key *k, struct proxy_net **nets,
    size_t *n)
{
	struct proxy_net	 net, *nn;
	const char		*reason;
	struct span		 s;
	int			 r;

	if ((r = entry_scalar(p, k, &s)) != 1)
		return r;
	if (proxy_net_parse(s, &net, &reason) == -1)
		return report(p, p->ev.start_mark, "'%s' entry %s %s; write "
		    "e.g. %s", qname(p, k), kind(p), reason, k->example);
	if ((nn = mem_realloc(*nets, (*n + 1) * sizeof(*nn))) == NULL)
		return out_of_memory(p);
	nn[(*n)++] = net;
	*nets = nn;
	return 0;
}

static int
exempt_entry(struct parser *p, const struct key *k)
{
	return net_entry(p, k, &p->cfg->exempt, &p->cfg->nexempt);
}

static int
key_exempt(struct parser *p, const struct key *k)
{
	yaml_mark_t	m;
	size_t		n;
	bool		given;

	return each_entry(p, k, exempt_entry, &n, &given, &m);
}

/*
 * tls.ticket_key is read as soon as it is parsed, so that -n and a reload
 * report a bad file at its line, before anything is replaced.
 */
static int
key_ticket_key(struct parser *p, const struct key *k)
{
	struct config	*cfg = p->cfg;
	struct buf	 msg;
	const char	*text;
	struct span	 s;
	int		 r;

	if ((r = want_scalar(p, k, &s)) != 1)
		return r;
	if (!is_path(s))
		return bad_value(p, k);
	if (set_string(&cfg->ticket_key, s) == -1)
		return out_of_memory(p);
	if (cfg->ticket_secret == NULL &&
	    (cfg->ticket_secret = mem_malloc(TLS_TICKET_SECRET_LEN)) == NULL)
		return out_of_memory(p);
	buf_init(&msg, MESSAGE_MAX);
	r = tls_ticket_secret_load(cfg->ticket_key, cfg->ticket_secret, &msg);
	if (r == -1) {
		text = buf_cstr(&msg);
		r = report(p, p->ev.start_mark, "'%s' %s", qname(p, k),
		    text != NULL ? text : "cannot be read");
	}
	buf_free(&msg);
	return r;
}

static int
proxy_from_entry(struct parser *p, const struct key *k)
{
	return net_entry(p, k, &p->cfg->proxy_from, &p->cfg->nproxy_from);
}

static int
key_proxy_from(struct parser *p, const struct key *k)
{
	yaml_mark_t	m;
	size_t		n;
	bool		given;

	if (each_entry(p, k, proxy_from_entry, &n, &given, &m) == -1)
		return -1;
	if (given && n == 0)
		return report(p, m, "'%s' is an empty list, which would refuse "
		    "every PROXY header; write e.g. %s", qname(p, k),
		    k->example);
	return 0;
}

#define NKEYS(a)	(sizeof(a) / sizeof((a)[0]))

#define STRING(n, in_, type, member, valid_, what_, ex)			\
	{ .name = n, .parse = key_string, .in = in_,			\
	    .off = offsetof(type, member), .valid = valid_,		\
	    .what = what_, .example = ex }
#define HOST(n, in_, type, member, ex)					\
	{ .name = n, .parse = key_host, .in = in_,			\
	    .off = offsetof(type, member), .valid = is_hostname,	\
	    .what = "a host name (letters, digits, '-' and '.')",	\
	    .example = ex }
#define NUMBER(n, fn, member, min_, max_, what_, ex)			\
	{ .name = n, .parse = fn, .off = offsetof(struct config, member),\
	    .min = min_, .max = max_, .what = what_, .example = ex }
#define SECTION(n, sub_, ex)						\
	{ .name = n, .parse = key_section, .what = "a mapping of keys",	\
	    .example = ex, .sub = &sub_ }

static const struct key listen_keys[] = {
	{ .name = "address", .parse = key_address, .in = IN_LISTEN,
	    .what = "ADDRESS:PORT", .example = "address: \"127.0.0.1:1965\"" },
	{ .name = "proxy_protocol", .parse = key_bool, .in = IN_LISTEN,
	    .off = offsetof(struct config_listen, proxy_protocol),
	    .what = "true or false", .example = "proxy_protocol: true" },
};

static const struct section sec_gemini_listen = {
	"gemini.listen", "in a 'gemini.listen' entry", listen_keys,
	NKEYS(listen_keys)
};

static const struct section sec_gopher_listen = {
	"gopher.listen", "in a 'gopher.listen' entry", listen_keys,
	NKEYS(listen_keys)
};

static const struct key tls_keys[] = {
	STRING("cert", IN_VHOST, struct config_vhost, cert, is_path,
	    "a file path", "cert: certs/example.org.crt"),
	STRING("key", IN_VHOST, struct config_vhost, key, is_path,
	    "a file path", "key: certs/example.org.key"),
	{ .name = "certdir", .parse = key_string, .in = IN_CONFIG,
	    .off = offsetof(struct config, certdir), .valid = is_path,
	    .flags = KEY_MARK, .mark = offsetof(struct config, certdir_at),
	    .what = "a directory path", .example = "certdir: certs" },
	{ .name = "ticket_key", .parse = key_ticket_key,
	    .what = "a file path", .example = "ticket_key: ticket.key" },
};

/* A vhosts entry names its own pair; certdir and ticket_key are shared. */
static const struct section sec_vhost_tls = {
	"tls", "in a vhost's 'tls'", tls_keys, 2
};

static const struct key client_cert_keys[] = {
	{ .name = "ca", .parse = key_string, .in = IN_PATH,
	    .off = offsetof(struct config_path, client_ca), .valid = is_path,
	    .flags = KEY_MARK, .mark = offsetof(struct config_path, ca_at),
	    .what = "a PEM file path", .example = "ca: /etc/capsuled/ca.crt" },
	{ .name = "fingerprints", .parse = key_fingerprints, .in = IN_PATH,
	    .what = "a list of SHA-256 fingerprints",
	    .example = "fingerprints: [\"9f86d081884c7d659a2feaa0c55ad015a3bf"
	    "4f1b2b0b822cd15d6c15b0f00a08\"]" },
};

static const struct section sec_client_cert = {
	"client_cert", "in 'client_cert'", client_cert_keys,
	sizeof(client_cert_keys) / sizeof(client_cert_keys[0])
};

static const struct key titan_keys[] = {
	{ .name = "token", .parse = key_string, .in = IN_PATH,
	    .off = offsetof(struct config_path, titan_token),
	    .valid = is_token,
	    .what = "a secret of 1 to 256 characters, no control characters",
	    .example = "token: \"a long random string\"" },
	{ .name = "max_size", .parse = key_uint, .in = IN_PATH,
	    .off = offsetof(struct config_path, titan_max_size),
	    .min = 1, .max = TITAN_SIZE_MAX,
	    .what = "a number of bytes from 1 to 67108864",
	    .example = "max_size: 1048576" },
};

static const struct section sec_titan = {
	"titan", "in 'titan'", titan_keys, NKEYS(titan_keys)
};

#define TYPES(in_, type)						\
	{ .name = "types", .parse = key_types, .in = in_,		\
	    .off = offsetof(type, types),				\
	    .what = "a mapping of file extensions to media types",	\
	    .example = "types: {nfo: text/plain, gmi: text/gemini}" }
#define LANG(in_, type)							\
	STRING("lang", in_, type, lang, is_lang,			\
	    "a language tag (letters, digits and '-')", "lang: en")
#define CHARSET(in_, type)						\
	STRING("charset", in_, type, charset, is_charset,		\
	    "a charset name such as utf-8 or iso-8859-1",		\
	    "charset: utf-8")
#define DEFAULT_TYPE(in_, type)						\
	STRING("default_type", in_, type, default_type, is_mime,	\
	    "a media type such as application/octet-stream",		\
	    "default_type: text/plain")

static const struct key path_keys[] = {
	STRING("prefix", IN_PATH, struct config_path, prefix, is_prefix,
	    "a path from the root such as /private/ (no '//', '.' or '..')",
	    "prefix: /private/"),
	STRING("glob", IN_PATH, struct config_path, glob, is_glob,
	    "a pattern starting with '/' or '*'", "glob: \"*.txt\""),
	STRING("redirect", IN_PATH, struct config_path, redirect, is_redirect,
	    "a path such as /new/ or a URL such as gemini://example.org/, "
	    "without '?' or '#'",
	    "redirect: /new/"),
	{ .name = "status", .parse = key_int, .in = IN_PATH,
	    .off = offsetof(struct config_path, redirect_status),
	    .min = 30, .max = 31, .what = "30 (temporary) or 31 (permanent)",
	    .example = "status: 31" },
	LANG(IN_PATH, struct config_path),
	CHARSET(IN_PATH, struct config_path),
	DEFAULT_TYPE(IN_PATH, struct config_path),
	TYPES(IN_PATH, struct config_path),
	{ .name = "client_cert", .parse = key_client_cert, .in = IN_PATH,
	    .what = "a mapping with ca, fingerprints or both",
	    .example = "client_cert: {ca: /etc/capsuled/ca.crt}",
	    .sub = &sec_client_cert },
	{ .name = "titan", .parse = key_titan, .in = IN_PATH,
	    .what = "a mapping with token, max_size or neither",
	    .example = "titan: {token: \"a long random string\", "
	    "max_size: 1048576}",
	    .sub = &sec_titan },
};

static const struct section sec_path = {
	"paths", "in a 'paths' entry", path_keys,
	sizeof(path_keys) / sizeof(path_keys[0])
};

#define VHOST_KEYS							\
	{ .name = "hostname", .parse = key_host, .in = IN_VHOST,	\
	    .off = offsetof(struct config_vhost, hostname),		\
	    .valid = is_hostname, .flags = KEY_MARK,			\
	    .mark = offsetof(struct config_vhost, hostname_at),		\
	    .what = "a host name (letters, digits, '-' and '.')",	\
	    .example = "hostname: example.org" },			\
	{ .name = "aliases", .parse = key_aliases, .in = IN_VHOST,	\
	    .what = "a list of host names",				\
	    .example = "aliases: [www.example.org]" },			\
	{ .name = "root", .parse = key_string, .in = IN_VHOST,		\
	    .off = offsetof(struct config_vhost, root), .valid = is_path,\
	    .flags = KEY_MARK,						\
	    .mark = offsetof(struct config_vhost, root_at),		\
	    .what = "a directory path", .example = "root: /var/gemini" },\
	LANG(IN_VHOST, struct config_vhost)

#define VHOST_CONTENT_KEYS						\
	CHARSET(IN_VHOST, struct config_vhost),				\
	DEFAULT_TYPE(IN_VHOST, struct config_vhost),			\
	TYPES(IN_VHOST, struct config_vhost),				\
	{ .name = "paths", .parse = key_paths, .in = IN_VHOST,		\
	    .what = "a list of path rules",				\
	    .example = "paths: [{prefix: /old/, redirect: /new/}]",	\
	    .sub = &sec_path }

static const struct key vhost_keys[] = {
	VHOST_KEYS,
	{ .name = "tls", .parse = key_section, .what = "a mapping of keys",
	    .example = "tls: {cert: example.org.crt, key: example.org.key}",
	    .sub = &sec_vhost_tls },
	VHOST_CONTENT_KEYS,
};

static const struct section sec_vhost = {
	"vhosts", "in a 'vhosts' entry", vhost_keys,
	sizeof(vhost_keys) / sizeof(vhost_keys[0])

};



static const struct section sec_tls = {
	"tls", "in 'tls'", tls_keys, NKEYS(tls_keys)
};

static const struct key gemini_keys[] = {
	{ .name = "listen", .parse = key_listen,
	    .off = offsetof(struct config, gemini), .flags = KEY_NOT_EMPTY,
	    .what = "a list of ADDRESS:PORT",
	    .example = "listen: [\"127.0.0.1:1965\", \"[::1]:1965\"]",
	    .sub = &sec_gemini_listen },
	NUMBER("port", key_port, gemini_port, 1, 65535,
	    "a port number from 1 to 65535", "port: 1965"),
};

static const struct section sec_gemini = {
	"gemini", "in 'gemini'", gemini_keys, NKEYS(gemini_keys)
};

static const struct key gopher_keys[] = {
	{ .name = "listen", .parse = key_listen,
	    .off = offsetof(struct config, gopher),
	    .what = "a list of ADDRESS:PORT", .example = "listen: [\"*:70\"]",
	    .sub = &sec_gopher_listen },
	HOST("hostname", IN_CONFIG, struct config, gopher_hostname,
	    "hostname: example.org"),
	NUMBER("port", key_port, gopher_port, 1, 65535,
	    "a port number from 1 to 65535", "port: 70"),
};

static const struct section sec_gopher = {
	"gopher", "in 'gopher'", gopher_keys, NKEYS(gopher_keys)
};

static const struct key log_keys[] = {
	{ .name = "access", .parse = key_log,
	    .off = offsetof(struct config, access_log), .flags = KEY_MAY_BE_OFF,
	    .what = "\"-\", syslog, off or a file path",
	    .example = "access: /var/log/capsuled/access.log" },
	{ .name = "error", .parse = key_log,
	    .off = offsetof(struct config, error_log),
	    .what = "\"-\", syslog or a file path",
	    .example = "error: syslog" },
	NUMBER("debug", key_bool, debug, 0, 0,
	    "true or false", "debug: false"),
	NUMBER("format", key_log_format, log_format, 0, 0,
	    "default, common or combined", "format: combined"),
	NUMBER("ip", key_log_ip, log_ip, 0, 0,
	    "full, anonymize or off", "ip: anonymize"),
};

static const struct section sec_log = {
	"log", "in 'log'", log_keys, NKEYS(log_keys)
};

static const struct key timeout_keys[] = {
	NUMBER("handshake", key_uint, handshake_timeout,
	    CONFIG_TIMEOUT_MIN, CONFIG_TIMEOUT_MAX,
	    "a number of seconds from 1 to 3600", "handshake: 10"),
	NUMBER("request", key_uint, request_timeout,
	    CONFIG_TIMEOUT_MIN, CONFIG_TIMEOUT_MAX,
	    "a number of seconds from 1 to 3600", "request: 10"),
	NUMBER("write", key_uint, write_timeout,
	    CONFIG_TIMEOUT_MIN, CONFIG_TIMEOUT_MAX,
	    "a number of seconds from 1 to 3600", "write: 30"),
};

static const struct section sec_timeouts = {
	"timeouts", "in 'timeouts'", timeout_keys, NKEYS(timeout_keys)
};

static const struct key limit_keys[] = {
	NUMBER("connections", key_uint, max_connections,
	    1, CONFIG_CONNECTIONS_MAX, "a whole number from 1 to 100000",
	    "connections: 1024"),
	NUMBER("connections_per_address", key_uint, max_per_address,
	    0, CONFIG_CONNECTIONS_MAX, "a whole number from 0 (no limit) to "
	    "100000", "connections_per_address: 32"),
	NUMBER("rate", key_uint, rate, 0, CONFIG_RATE_MAX,
	    "a whole number from 0 (no limit) to 1000000", "rate: 60"),
	NUMBER("rate_window", key_uint, rate_window, 1,
	    CONFIG_RATE_WINDOW_MAX, "a number of seconds from 1 to 86400",
	    "rate_window: 60"),
	{ .name = "exempt", .parse = key_exempt,
	    .what = "a list of addresses or ADDRESS/BITS blocks",
	    .example = "exempt: [127.0.0.0/8, \"::1\"]" },
};

static const struct section sec_limits = {
	"limits", "in 'limits'", limit_keys, NKEYS(limit_keys)
};

static const struct key top_keys[] = {
	VHOST_KEYS,
	SECTION("tls", sec_tls, "tls: {certdir: certs}"),
	SECTION("gemini", sec_gemini, "gemini: {listen: [\"*:1965\"]}"),
	SECTION("gopher", sec_gopher, "gopher: {listen: [\"*:70\"]}"),
	NUMBER("workers", key_int, workers, 0,
	    CONFIG_WORKERS_MAX, "a whole number from 0 (one per CPU) to 64",
	    "workers: 0"),
	STRING("user", IN_CONFIG, struct config, user, is_user,
	    "a user name", "user: _capsuled"),
	STRING("chroot", IN_CONFIG, struct config, chroot, is_abspath,
	    "an absolute directory path", "chroot: /var/gemini"),
	SECTION("log", sec_log, "log: {access: \"-\", error: \"-\"}"),
	SECTION("timeouts", sec_timeouts, "timeouts: {handshake: 10}"),
	SECTION("limits", sec_limits, "limits: {connections: 1024}"),
	{ .name = "proxy_from", .parse = key_proxy_from,
	    .what = "a list of addresses or networks",
	    .example = "proxy_from: [127.0.0.1, \"::1\", 10.0.0.0/8]" },
	VHOST_CONTENT_KEYS,
	{ .name = "vhosts", .parse = key_vhosts, .max = CONFIG_VHOSTS_MAX,
	    .what = "a list of virtual hosts",
	    .example = "vhosts: [{hostname: example.org, root: "
	    "/var/gemini/example.org}]",
	    .sub = &sec_vhost },
};

static const struct section sec_top = {
	NULL, "in the top level", top_keys, NKEYS(top_keys)
};

_Static_assert(NKEYS(top_keys) <= SECTION_KEYS_MAX, "SECTION_KEYS_MAX");
_Static_assert(NKEYS(vhost_keys) <= SECTION_KEYS_MAX, "SECTION_KEYS_MAX");
_Static_assert(NKEYS(path_keys) <= SECTION_KEYS_MAX, "SECTION_KEYS_MAX");

static int
parse_stream(struct parser *p)
{
	if (next(p) == -1 || next(p) == -1)
		return -1;
	if (p->ev.type == YAML_STREAM_END_EVENT)
		return 0;
	if (next(p) == -1)
		return -1;
	if (p->ev.type == YAML_MAPPING_START_EVENT) {
		if (parse_map(p, &sec_top) == -1)
			return -1;
	} else if (!is_null(p)) {
		if (report(p, p->ev.start_mark, "the config must be a mapping "
		    "of keys to values, not %s; write e.g. hostname: "
		    "example.org", kind(p)) == -1 || skip(p) == -1)
			return -1;
	}
	if (next(p) == -1 || next(p) == -1)
		return -1;
	if (p->ev.type != YAML_STREAM_END_EVENT)
		return fail(p, p->ev.start_mark, "only one YAML document is "
		    "allowed; remove this '---' and what follows");
	return 0;
}

void
config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->workers = 0;
	cfg->access_log.dest = CONFIG_LOG_SYSLOG;
	cfg->error_log.dest = CONFIG_LOG_SYSLOG;
	cfg->handshake_timeout = 10;
	cfg->request_timeout = 10;
	cfg->write_timeout = 30;
	cfg->max_connections = 1024;
	cfg->max_per_address = CONFIG_PER_ADDRESS_DEFAULT;
	cfg->rate = CONFIG_RATE_DEFAULT;
	cfg->rate_window = CONFIG_RATE_WINDOW_DEFAULT;
}

static void
vhost_free(struct config_vhost *vh)
{
	size_t	i;

	free(vh->hostname);
	for (i = 0; i < vh->naliases; i++)
		free(vh->aliases[i]);
	free(vh->aliases);
	free(vh->aliases_at);
	free(vh->root);
	free(vh->cert);
	free(vh->key);
	free(vh->lang);
	free(vh->charset);
	free(vh->default_type);
	types_free(&vh->types);
	for (i = 0; i < vh->npaths; i++)
		path_free(&vh->paths[i]);
	free(vh->paths);
}

/*
 * A config that lists vhosts and sets no vhost key at the top level has
 * no top-level vhost: the first listed one is the default.
 */
static void
drop_unused_default(struct config *cfg)
{
	vhost_free(&cfg->vhosts[0]);
	memmove(&cfg->vhosts[0], &cfg->vhosts[1],
	    (cfg->nvhosts - 1) * sizeof(cfg->vhosts[0]));
	cfg->nvhosts--;
}

static void
listen_free(struct config_listen *l, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(l[i].host);
	free(l);
}

void
config_free(struct config *cfg)
{
	size_t	i;

	free(cfg->file);
	for (i = 0; i < cfg->nvhosts; i++)
		vhost_free(&cfg->vhosts[i]);
	free(cfg->vhosts);
	listen_free(cfg->gemini, cfg->ngemini);
	listen_free(cfg->gopher, cfg->ngopher);
	free(cfg->gopher_hostname);
	free(cfg->certdir);
	free(cfg->access_log.path);
	free(cfg->error_log.path);
	free(cfg->user);
	free(cfg->chroot);
	free(cfg->proxy_from);
	free(cfg->ticket_key);
	if (cfg->ticket_secret != NULL)
		explicit_bzero(cfg->ticket_secret, TLS_TICKET_SECRET_LEN);
	free(cfg->ticket_secret);
	free(cfg->exempt);
	config_init(cfg);
}

/* What a file gets without gemini.listen. */
static int
default_listener(struct config *cfg)
{
	struct config_listen	 l;
	const char		*reason;

	if (listen_parse(span_cstr(CONFIG_GEMINI_LISTEN), &l, &reason) != 0)
		return -1;
	if (listen_append(&cfg->gemini, &cfg->ngemini, &l) == -1) {
		free(l.host);
		return -1;
	}
	return 0;
}

int
config_load_mem(struct config *cfg, const char *name, struct span text,
    struct buf *err)
{
	struct parser	 p;
	struct config	 tmp;
	int		 rc;

	memset(&p, 0, sizeof(p));
	p.name = name != NULL ? name : "config";
	p.err = err;
	p.text = text;
	p.sec = &sec_top;
	if (text.n > CONFIG_FILE_MAX) {
		append_line(err, "%s: larger than %d bytes; is this the right "
		    "file?", p.name, CONFIG_FILE_MAX);
		return -1;
	}
	if (!yaml_parser_initialize(&p.yp)) {
		append_line(err, "%s: out of memory", p.name);
		return -1;
	}
	yaml_parser_set_input_string(&p.yp, (const unsigned char *)
	    (text.p != NULL ? text.p : ""), text.n);
	config_init(&tmp);
	p.cfg = &tmp;
	rc = parse_stream(&p);
	if (p.have_ev)
		yaml_event_delete(&p.ev);
	yaml_parser_delete(&p.yp);
	if (rc == 0 && p.nerr == 0 && tmp.ngemini == 0 &&
	    default_listener(&tmp) == -1)
		rc = out_of_memory(&p);
	if (rc == 0 && p.nerr == 0 && tmp.nvhosts > 1 && !p.top_vhost)
		drop_unused_default(&tmp);
	if (rc == 0 && p.nerr == 0 && (tmp.file = mem_strdup(p.name)) == NULL)
		rc = out_of_memory(&p);
	if (rc == -1 || p.nerr > 0) {
		config_free(&tmp);
		return -1;
	}
	config_free(cfg);
	*cfg = tmp;
	return 0;
}

static int
read_file(const char *path, struct buf *text, struct buf *err)
{
	struct stat	st;
	char		chunk[16384];
	ssize_t		n;
	int		fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		append_line(err, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		append_line(err, "%s: cannot stat: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		append_line(err, "%s: not a regular file; name the YAML "
		    "config file", path);
		goto out;
	}
	for (;;) {
		if ((n = read(fd, chunk, sizeof(chunk))) == -1) {
			if (errno == EINTR)
				continue;
			append_line(err, "%s: cannot read: %s", path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (text->len + (size_t)n > CONFIG_FILE_MAX) {
			append_line(err, "%s: larger than %d bytes; is this "
			    "the right file?", path, CONFIG_FILE_MAX);
			goto out;
		}
		if (buf_append(text, chunk, (size_t)n) == -1) {
			append_line(err, "%s: out of memory", path);
			goto out;
		}
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

int
config_load(struct config *cfg, const char *path, struct buf *err)
{
	struct buf	text;
	int		rc;

	buf_init(&text, CONFIG_FILE_MAX);
	if (read_file(path, &text, err) == -1) {
		buf_free(&text);
		return -1;
	}
	rc = config_load_mem(cfg, path, buf_span(&text), err);
	buf_free(&text);
	return rc;
}

int
config_parse_listen(struct span s, struct config_listen *out,
    const char **reason)
{
	return listen_parse(s, out, reason) == 0 ? 0 : -1;
}

static int
change_listen(struct config *cfg, bool gopher, const char *addr,
    bool replace, struct buf *err)
{
	struct config_listen	 l, **list = &cfg->gemini;
	size_t			*n = &cfg->ngemini;
	const char		*reason;
	char			 shown[SHOWN_MAX * 4 + 8];

	if (gopher) {
		list = &cfg->gopher;
		n = &cfg->ngopher;
	}
	if (listen_parse(span_cstr(addr), &l, &reason) != 0) {
		append_line(err, "listen address %s %s; write %s",
		    show(shown, sizeof(shown), span_cstr(addr)), reason,
		    listen_help);
		return -1;
	}
	if (!replace && *n >= CONFIG_LIST_MAX) {
		free(l.host);
		append_line(err, "more than %d listen addresses; give fewer",
		    CONFIG_LIST_MAX);
		return -1;
	}
	if (replace) {
		struct config_listen	*one;

		if ((one = mem_calloc(1, sizeof(*one))) == NULL) {
			free(l.host);
			append_line(err, "out of memory");
			return -1;
		}
		*one = l;
		listen_free(*list, *n);
		*list = one;
		*n = 1;
		return 0;
	}
	if (listen_append(list, n, &l) == -1) {
		free(l.host);
		append_line(err, "out of memory");
		return -1;
	}
	return 0;
}

int
config_set_listen(struct config *cfg, bool gopher, const char *addr,
    struct buf *err)
{
	return change_listen(cfg, gopher, addr, true, err);
}

int
config_add_listen(struct config *cfg, bool gopher, const char *addr,
    struct buf *err)
{
	return change_listen(cfg, gopher, addr, false, err);
}

/* The setters share this: check s, copy it, replace *dst. */
static int
set_checked(char **dst, const char *s, bool (*valid)(struct span),
    const char *what, const char *must, struct buf *err)
{
	char	shown[SHOWN_MAX * 4 + 8];

	if (!valid(span_cstr(s))) {
		append_line(err, "%s %s is not valid; write %s", what,
		    show(shown, sizeof(shown), span_cstr(s)), must);
		return -1;
	}
	if (set_string(dst, span_cstr(s)) == -1) {
		append_line(err, "out of memory");
		return -1;
	}
	return 0;
}

int
config_set_hostname(struct config *cfg, const char *name, struct buf *err)
{
	struct config_vhost	*vh;

	if ((vh = vhost0(cfg)) == NULL) {
		append_line(err, "out of memory");
		return -1;
	}
	if (set_checked(&vh->hostname, name, is_hostname, "host name",
	    "letters, digits, '-' and '.', e.g. example.org", err) == -1)
		return -1;
	lower(vh->hostname);
	memset(&vh->hostname_at, 0, sizeof(vh->hostname_at));
	return 0;
}

int
config_set_root(struct config *cfg, const char *path, struct buf *err)
{
	struct config_vhost	*vh;

	if ((vh = vhost0(cfg)) == NULL) {
		append_line(err, "out of memory");
		return -1;
	}
	memset(&vh->root_at, 0, sizeof(vh->root_at));
	return set_checked(&vh->root, path, is_path, "capsule directory",
	    "a directory path, e.g. /var/gemini", err);
}

int
config_set_certdir(struct config *cfg, const char *path, struct buf *err)
{
	memset(&cfg->certdir_at, 0, sizeof(cfg->certdir_at));
	return set_checked(&cfg->certdir, path, is_path,
	    "certificate directory", "a directory path, e.g. certs", err);
}

int
config_set_workers(struct config *cfg, const char *n, struct buf *err)
{
	unsigned int	v;
	char		shown[SHOWN_MAX * 4 + 8];

	if (parse_uint(span_cstr(n), 0, CONFIG_WORKERS_MAX, &v) == -1) {
		append_line(err, "worker count %s is not valid; write a whole "
		    "number from 0 (one per CPU) to %d",
		    show(shown, sizeof(shown), span_cstr(n)),
		    CONFIG_WORKERS_MAX);
		return -1;
	}
	cfg->workers = (int)v;
	return 0;
}

/* "dir/host.ext", without doubling a '/' the operator wrote. */
static char *
cert_path(const char *dir, const char *host, const char *ext)
{
	size_t	 n = strlen(dir), size;
	char	*s;

	size = n + strlen(host) + strlen(ext) + 2;
	if ((s = mem_malloc(size)) == NULL)
		return NULL;
	snprintf(s, size, "%s%s%s%s", dir,
	    n > 0 && dir[n - 1] == '/' ? "" : "/", host, ext);
	return s;
}

static const char *
listen_str(const struct config_listen *l, char *out, size_t n)
{
	const char	*h = l->host != NULL ? l->host : "*";
	bool		 v6 = strchr(h, ':') != NULL;

	snprintf(out, n, "%s%s%s:%u", v6 ? "[" : "", h, v6 ? "]" : "",
	    l->port);
	return out;
}

static bool
listen_eq(const struct config_listen *a, const struct config_listen *b)
{
	if (a->port != b->port)
		return false;
	if (a->host == NULL || b->host == NULL)
		return a->host == b->host;
	return strcmp(a->host, b->host) == 0;
}

/*
 * The same address twice would make the second bind fail at start-up;
 * port 0 is a different free port each time.
 */
static int
check_listeners(const struct config *cfg, const char *name, struct buf *err)
{
	const struct config_listen	*all[2 * CONFIG_LIST_MAX + 2];
	size_t				 n = 0, i, j;
	char				 s[128];

	for (i = 0; i < cfg->ngemini && n < NKEYS(all); i++)
		all[n++] = &cfg->gemini[i];
	for (i = 0; i < cfg->ngopher && n < NKEYS(all); i++)
		all[n++] = &cfg->gopher[i];
	for (i = 0; i < n; i++)
		for (j = 0; j < i; j++)
			if (all[i]->port != 0 && listen_eq(all[i], all[j])) {
				append_line(err, "%s: address %s is listed "
				    "twice; give each listener its own "
				    "address or port", name,
				    listen_str(all[i], s, sizeof(s)));
				return -1;
			}
	return 0;
}

static int
finish_proxy_from(struct config *cfg)
{
	static const char *const	 dflt[] = CONFIG_PROXY_FROM;
	const char			*reason;
	size_t				 i, n = NKEYS(dflt);

	if (cfg->nproxy_from > 0)
		return 0;
	if ((cfg->proxy_from = mem_calloc(n, sizeof(*cfg->proxy_from))) ==
	    NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (proxy_net_parse(span_cstr(dflt[i]), &cfg->proxy_from[i],
		    &reason) == -1)
			return -1;
	cfg->nproxy_from = n;
	return 0;
}

/* "file:line:col" for a mark, or "file" for a value from elsewhere. */
static const char *
where(char *out, size_t n, const char *name, struct config_mark m)
{
	if (m.line == 0)
		snprintf(out, n, "%s", name);
	else
		snprintf(out, n, "%s:%lu:%lu", name, m.line, m.col);
	return out;
}

/* What each vhost needs: a root, and a certificate with its key. */
static int
check_vhosts(const struct config *cfg, const char *name, struct buf *err)
{
	const struct config_vhost	*vh;
	char				 at[PATH_MAX + 64];
	size_t				 i;
	int				 rc = 0;

	for (i = 0; i < cfg->nvhosts; i++) {
		vh = &cfg->vhosts[i];
		where(at, sizeof(at), name, vh->at);
		if (vh->root == NULL && vh->at.line == 0) {
			append_line(err, "%s: 'root' is not set; add root: "
			    "DIRECTORY (the capsule) to the config", at);
			rc = -1;
		} else if (vh->root == NULL) {
			append_line(err, "%s: vhost '%s' has no 'root'; add "
			    "root: DIRECTORY (its capsule) to its entry", at,
			    vh->hostname);
			rc = -1;
		}
		if ((vh->cert == NULL) != (vh->key == NULL)) {
			append_line(err, "%s: 'tls.%s' is set but 'tls.%s' is "
			    "not; set both, or neither to use certdir", at,
			    vh->cert ? "cert" : "key",
			    vh->cert ? "key" : "cert");
			rc = -1;
		}
	}
	return rc;
}

/* One name a vhost answers to, for the duplicate check. */
struct vhost_name {
	const char		*name;
	struct config_mark	 at;
	size_t			 vhost;
};

static int
same_name(const struct vhost_name *a, const struct vhost_name *b,
    const struct config *cfg, const char *name, struct buf *err)
{
	char	at[PATH_MAX + 64], first[64];

	if (strcmp(a->name, b->name) != 0)
		return 0;
	if (cfg->vhosts[b->vhost].at.line == 0)
		snprintf(first, sizeof(first), "the top-level vhost");
	else
		snprintf(first, sizeof(first), "the vhost at line %lu",
		    cfg->vhosts[b->vhost].at.line);
	append_line(err, "%s: host name '%s' is already served by %s; give "
	    "each name to one vhost, once", where(at, sizeof(at), name, a->at),
	    a->name, first);
	return -1;
}

/*
 * A name served by two vhosts would make SNI and the request host pick
 * one of them silently; the later occurrence is the one reported.
 */
static int
check_names(const struct config *cfg, const char *name, struct buf *err)
{
	struct vhost_name	*v;
	size_t			 n = 0, total = 0, i, j;
	int			 rc = 0;

	for (i = 0; i < cfg->nvhosts; i++)
		total += 1 + cfg->vhosts[i].naliases;
	if ((v = mem_calloc(total, sizeof(*v))) == NULL) {
		append_line(err, "%s: out of memory", name);
		return -1;
	}
	for (i = 0; i < cfg->nvhosts; i++) {
		const struct config_vhost	*vh = &cfg->vhosts[i];

		v[n].name = vh->hostname;
		v[n].at = vh->hostname_at;
		v[n++].vhost = i;
		for (j = 0; j < vh->naliases; j++) {
			v[n].name = vh->aliases[j];
			v[n].at = vh->aliases_at != NULL ? vh->aliases_at[j] :
			    (struct config_mark){ 0, 0 };
			v[n++].vhost = i;
		}
	}
	for (i = 1; i < n && rc == 0; i++)
		for (j = 0; j < i && rc == 0; j++)
			rc = same_name(&v[i], &v[j], cfg, name, err);
	free(v);
	return rc;
}

static int
finish_paths(struct config *cfg)
{
	struct config_vhost	*vh;
	size_t			 i;

	if (cfg->vhosts[0].hostname == NULL &&
	    (cfg->vhosts[0].hostname = mem_strdup("localhost")) == NULL)
		return -1;
	if (cfg->certdir == NULL &&
	    (cfg->certdir = mem_strdup(CONFIG_CERTDIR)) == NULL)
		return -1;
	for (i = 0; i < cfg->nvhosts; i++) {
		vh = &cfg->vhosts[i];
		if (vh->cert != NULL || vh->key != NULL)
			continue;
		if ((vh->cert = cert_path(cfg->certdir, vh->hostname,
		    ".crt")) == NULL)
			return -1;
		if ((vh->key = cert_path(cfg->certdir, vh->hostname,
		    ".key")) == NULL)
			return -1;
	}
	if (cfg->gopher_hostname == NULL && (cfg->gopher_hostname =
	    mem_strdup(cfg->vhosts[0].hostname)) == NULL)
		return -1;
	return 0;
}

int
config_finish(struct config *cfg, struct buf *err)
{
	const char	*name = cfg->file ? cfg->file : "capsuled";
	int		 rc = 0;

	if (vhost0(cfg) == NULL) {
		append_line(err, "%s: out of memory", name);
		return -1;
	}
	if (check_vhosts(cfg, name, err) == -1)
		rc = -1;
	if (cfg->ngemini == 0) {
		append_line(err, "%s: there is no Gemini listener; add "
		    "gemini: {listen: [\"%s\"]} to the config", name,
		    CONFIG_GEMINI_LISTEN);
		rc = -1;
	}
	if (check_listeners(cfg, name, err) == -1)
		rc = -1;
	if (rc == -1)
		return -1;
	if (finish_paths(cfg) == -1 || finish_proxy_from(cfg) == -1) {
		append_line(err, "%s: out of memory", name);
		return -1;
	}
	if (check_names(cfg, name, err) == -1)
		return -1;
	if (cfg->gemini_port == 0)
		cfg->gemini_port = cfg->gemini[0].port;
	if (cfg->gopher_port == 0)
		cfg->gopher_port = cfg->ngopher > 0 ? cfg->gopher[0].port :
		    cfg->gemini_port;
	return 0;
}

static int
check_root(const struct config_vhost *vh, const char *name, struct buf *err)
{
	struct stat	st;
	char		at[PATH_MAX + 64];

	where(at, sizeof(at), name, vh->root_at);
	if (stat(vh->root, &st) == -1) {
		append_line(err, "%s: root '%s' cannot be used: %s; create the "
		    "directory or correct the path", at, vh->root,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		append_line(err, "%s: root '%s' is not a directory; name the "
		    "capsule's directory", at, vh->root);
		return -1;
	}
	return 0;
}

/* The directory is made on first start, one level deep, as needed. */
static int
check_certdir(const struct config *cfg, const char *name, struct buf *err)
{
	struct stat	 st;
	char		 at[PATH_MAX + 64], parent[PATH_MAX];
	const char	*dir;

	int		 e;

	where(at, sizeof(at), name, cfg->certdir_at);
	if (stat(cfg->certdir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		append_line(err, "%s: certificate directory '%s' is not a "
		    "directory; correct tls.certdir", at, cfg->certdir);
		return -1;
	}
	e = errno;
	snprintf(parent, sizeof(parent), "%s", cfg->certdir);
	dir = dirname(parent);
	if (e == ENOENT && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	append_line(err, "%s: certificate directory '%s' does not exist and "
	    "cannot be made (%s is missing); create it with mkdir -p, or "
	    "correct tls.certdir", at, cfg->certdir, dir);
	return -1;
}

static int
check_cas(const struct config_vhost *vh, const char *name, struct buf *err)
{
	const struct config_path	*pr;
	char				 at[PATH_MAX + 64];
	size_t				 i;
	int				 rc = 0;

	for (i = 0; i < vh->npaths; i++) {
		pr = &vh->paths[i];
		if (pr->client_ca == NULL || access(pr->client_ca, R_OK) == 0)
			continue;
		append_line(err, "%s: client_cert CA file '%s' cannot be read: "
		    "%s; correct the path", where(at, sizeof(at), name,
		    pr->ca_at), pr->client_ca, strerror(errno));
		rc = -1;
	}
	return rc;
}

int
config_check_files(const struct config *cfg, struct buf *err)
{
	const char	*name = cfg->file ? cfg->file : "capsuled";
	size_t		 i;
	int		 rc = 0;

	for (i = 0; i < cfg->nvhosts; i++) {
		if (cfg->vhosts[i].root != NULL &&
		    check_root(&cfg->vhosts[i], name, err) == -1)
			rc = -1;
		if (check_cas(&cfg->vhosts[i], name, err) == -1)
			rc = -1;
	}
	if (cfg->certdir != NULL && check_certdir(cfg, name, err) == -1)
		rc = -1;
	return rc;
}
