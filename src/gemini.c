#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "buf.h"
#include "gemini.h"
#include "url.h"

/* The port a gemini:// URL means when it names none (the IANA one). */
#define DEFAULT_PORT	1965

static int
refuse(const char **reason, int status, const char *why)
{
	if (reason != NULL)
		*reason = why;
	return status;
}

static bool
has_crlf_end(struct span line)
{
	return line.n >= 2 && line.p[line.n - 2] == '\r' &&
	    line.p[line.n - 1] == '\n';
}

static unsigned char
ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/*
 * Names in the policy are our own configuration, so they are C strings;
 * an IPv6 one may be written with or without its brackets.  Only the text
 * is compared: "[::1]" does not match "[0::1]".
 */
static bool
is_host_named(struct span host, bool literal, const char *name)
{
	size_t	n = strlen(name), i;

	if (n >= 2 && name[0] == '[' && name[n - 1] == ']') {
		name++;
		n -= 2;
	}
	if (n != host.n || literal != (memchr(name, ':', n) != NULL))
		return false;
	for (i = 0; i < n; i++)
		if (ascii_lower((unsigned char)host.p[i]) !=
		    ascii_lower((unsigned char)name[i]))
			return false;
	return true;
}

static int
check_host(const struct url *u, const struct gemini_policy *pol,
    struct gemini_request *req, const char **reason)
{
	size_t	i;

	if (!u->has_authority || u->host.n == 0)
		return refuse(reason, GEMINI_BAD_REQUEST,
		    "URL must name a host");
	for (i = 0; i < pol->nhosts; i++)
		if (is_host_named(u->host, u->is_ip_literal, pol->hosts[i]))
			break;
	if (i == pol->nhosts)
		return refuse(reason, GEMINI_PROXY_REFUSED,
		    "host is not served here");
	if (u->host.n >= sizeof(req->host))
		return refuse(reason, GEMINI_BAD_REQUEST,
		    "host name is too long");
	for (i = 0; i < u->host.n; i++)
		req->host[i] = (char)ascii_lower((unsigned char)u->host.p[i]);
	req->host[u->host.n] = '\0';
	return 0;
}

/* An empty port ("host:/") means the default one, as RFC 3986 §3.2.3 says. */
static int
check_port(const struct url *u, const struct gemini_policy *pol,
    struct gemini_request *req, const char **reason)
{
	unsigned short	port;

	req->port = DEFAULT_PORT;
	if (!u->has_port || u->port.n == 0)
		return 0;
	if (url_parse_port(u->port, &port) == -1)
		return refuse(reason, GEMINI_BAD_REQUEST,
		    "port is out of range");
	if (port != pol->port)
		return refuse(reason, GEMINI_PROXY_REFUSED,
		    "port is not served here");
	req->port = port;
	return 0;
}

/*
 * Decode before removing dot segments, so that "%2e%2e" is caught as ".."
 * and a decoded "%2F" is simply a '/' that separates segments like any
 * other: there is no way to name a file with a '/' in it anyway.  Both
 * steps only shrink the path, so they work in req->path itself.
 */
static int
take_path(const struct url *u, struct gemini_request *req,
    const char **reason)
{
	size_t	n = u->path.n;
	bool	nul, climbed;

	memcpy(req->path, u->path.p, n);
	if (url_decode_inplace(req->path, &n, &nul) == -1)
		return refuse(reason, GEMINI_BAD_REQUEST,
		    "path has a bad percent-encoding");
	if (nul)
		return refuse(reason, GEMINI_BAD_REQUEST,
		    "path must not contain %00");
	n = url_remove_dots_inplace(req->path, n, &climbed);
	if (climbed)
		return refuse(reason, GEMINI_BAD_REQUEST,
		    "path goes above the root");
	if (n == 0)
		req->path[n++] = '/';
	req->path[n] = '\0';
	req->path_len = n;
	return 0;
}

static void
take_query(const struct url *u, struct gemini_request *req)
{
	req->has_query = u->has_query;
	memcpy(req->query, u->query.p, u->query.n);
	req->query[u->query.n] = '\0';
	req->query_len = u->query.n;
}

/*
 * The checks run in the order gemini.h promises, each with its own early
 * return, so the status a client gets for a request that breaks several
 * rules is predictable and tested.
 */
int
gemini_parse_request(struct span line, const struct gemini_policy *pol,
    struct gemini_request *req, const char **reason)
{
	struct span	raw;
	struct url	u;
	int		rc;

	if (reason != NULL)
		*reason = NULL;
	memset(req, 0, sizeof(*req));
	if (line.n > 0 && memchr(line.p, '\0', line.n) != NULL)
		return refuse(reason, GEMINI_BAD_REQUEST,
		    "request must not contain NUL");
	if (!has_crlf_end(line))
		return refuse(reason, GEMINI_BAD_REQUEST,
		    "request must end with CRLF");
	raw = span_make(line.p, line.n - 2);
	if (raw.n > GEMINI_URL_MAX)
		return refuse(reason, GEMINI_BAD_REQUEST,
		    "request is longer than 1024 bytes");
	if (raw.n == 0)
		return refuse(reason, GEMINI_BAD_REQUEST, "request is empty");
	/*
	 * A space or control byte can only be a client bug or an attempt to
	 * smuggle a second line into our logs; url_split would refuse it
	 * too, but with a vaguer reason.
	 */
	if (span_has_space_or_control(raw))
		return refuse(reason, GEMINI_BAD_REQUEST,
		    "URL must not contain spaces or control characters");
	if (url_split(raw, &u) == -1)
		return refuse(reason, GEMINI_BAD_REQUEST, "URL is malformed");
	if (!u.has_scheme)
		return refuse(reason, GEMINI_BAD_REQUEST,
		    "request must be an absolute URL");
	if (!span_caseeq_cstr(u.scheme, "gemini"))
		return refuse(reason, GEMINI_PROXY_REFUSED,
		    "proxy requests are refused");
	if (u.has_userinfo)
		return refuse(reason, GEMINI_BAD_REQUEST,
		    "URL must not contain userinfo");
	if (u.has_fragment)
		return refuse(reason, GEMINI_BAD_REQUEST,
		    "URL must not contain a fragment");
	if ((rc = check_host(&u, pol, req, reason)) != 0 ||
	    (rc = check_port(&u, pol, req, reason)) != 0 ||
	    (rc = take_path(&u, req, reason)) != 0)
		return rc;
	take_query(&u, req);
	return 0;
}

/*
 * Where to cut a meta that is too long: never after the first byte of a
 * UTF-8 sequence and before its last, so the client gets valid text.  A
 * sequence is at most four bytes, so at most three are given back.
 */
static size_t
meta_cut(struct span meta)
{
	size_t	cut, back;

	if (meta.n <= GEMINI_META_MAX)
		return meta.n;
	cut = GEMINI_META_MAX;
	for (back = 0; back < 3 && cut > 0; back++, cut--)
		if (((unsigned char)meta.p[cut] & 0xc0) != 0x80)
			break;
	return cut;
}

int
gemini_header(struct buf *out, int status, struct span meta)
{
	size_t	start = out->len, n = meta_cut(meta), i;
	char	code[3];

	if (status < 10 || status > 99)
		return -1;
	code[0] = (char)('0' + status / 10);
	code[1] = (char)('0' + status % 10);
	code[2] = ' ';
	if (buf_append(out, code, sizeof(code)) == -1 ||
	    buf_append(out, meta.p, n) == -1 ||
	    buf_append(out, "\r\n", 2) == -1) {
		out->len = start;
		return -1;
	}
	for (i = start + 3; i < out->len - 2; i++)
		if (out->p[i] == '\r' || out->p[i] == '\n')
			out->p[i] = ' ';
	return 0;
}
