/*
 * gemini: the Gemini request line and response header.  Pure: no I/O, no
 * logging.  The gatekeeping of one request happens in gemini_parse_request
 * in one visible order, each check with its own status.
 */
#ifndef CAPSULED_GEMINI_H
#define CAPSULED_GEMINI_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Longest request URL the protocol allows, CRLF not counted. */
#define GEMINI_URL_MAX		1024

/* Longest response meta (the text after the status and the space). */
#define GEMINI_META_MAX		1024

/* Hostname buffer size: 253 characters of DNS name, or an IPv6 literal. */
#define GEMINI_HOST_MAX		256

enum gemini_status {
	GEMINI_INPUT			= 10,
	GEMINI_SENSITIVE_INPUT		= 11,
	GEMINI_SUCCESS			= 20,
	GEMINI_REDIRECT_TEMPORARY	= 30,
	GEMINI_REDIRECT_PERMANENT	= 31,
	GEMINI_TEMPORARY_FAILURE	= 40,
	GEMINI_SERVER_UNAVAILABLE	= 41,
	GEMINI_SLOW_DOWN		= 44,
	GEMINI_PERMANENT_FAILURE	= 50,
	GEMINI_NOT_FOUND		= 51,
	GEMINI_GONE			= 52,
	GEMINI_PROXY_REFUSED		= 53,
	GEMINI_BAD_REQUEST		= 59,
	GEMINI_CERT_REQUIRED		= 60,
	GEMINI_CERT_NOT_AUTHORISED	= 61,
	GEMINI_CERT_NOT_VALID		= 62
};

/* Which requests this server answers: the names it is known by, its port. */
struct gemini_policy {
	const char *const	*hosts;		/* compared ignoring ASCII case */
	size_t			 nhosts;
	unsigned short		 port;		/* the public Gemini port */
};

/* A request that passed every check. */
struct gemini_request {
	char		host[GEMINI_HOST_MAX];	/* lower-cased, as in the URL */
	unsigned short	port;			/* from the URL, else 1965 */
	/*
	 * Percent-decoded, dot segments removed, always starting with '/'.
	 * A trailing '/' in the URL is kept.  Never contains NUL.
	 */
	char		path[GEMINI_URL_MAX + 1];
	size_t		path_len;
	/* The query without '?', still percent-encoded; has_query tells an
	 * empty query ("x?") from none. */
	char		query[GEMINI_URL_MAX + 1];
	size_t		query_len;
	bool		has_query;
};

/*
 * Check and parse one request: line holds the bytes received, including
 * the CRLF that ended them (a line without CRLF is refused).  Returns 0 and
 * fills req, or a status (GEMINI_BAD_REQUEST, GEMINI_PROXY_REFUSED) and
 * sets *reason to a static sentence for the response meta and the log.
 * The order of checks: no NUL; CRLF present and the URL within
 * GEMINI_URL_MAX; not empty; no space or control byte; a well-formed,
 * absolute URL; scheme gemini (else 53); no userinfo; no fragment; a host
 * is named; the host is one of ours (else 53); the port, when named, is
 * ours (else 53); the path decodes (valid %XX, no %00) and does not climb
 * above the root (59).  A decoded %2F is an ordinary '/'.
 */
int	gemini_parse_request(struct span line, const struct gemini_policy *pol,
	    struct gemini_request *req, const char **reason);

/*
 * Append the response header "NN meta\r\n" to out.  The meta is cut at
 * GEMINI_META_MAX bytes and CR/LF in it become spaces, so a header can
 * never be split.  Returns 0 or -1 (out is full).
 */
int	gemini_header(struct buf *out, int status, struct span meta);

#endif
