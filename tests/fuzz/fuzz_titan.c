/*
 * fuzz_titan: arbitrary bytes as a Titan request line, and as a path
 * whose name is judged.  A request that passes must have a size within
 * the cap, a printable mime, a token without NUL, and a URL that is a
 * prefix of the line with the titan scheme and no parameter; a refusal
 * is a 59 with a reason.  Starring out the token must keep the line's
 * length, leave no token readable, and change nothing but the token.
 * Any broken invariant aborts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "gemini.h"
#include "titan.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
require(bool ok)
{
	if (!ok)
		abort();
}

static void
check_passed(struct span line, const struct titan_request *req)
{
	size_t	i, n = strlen(req->mime);

	require(line.n >= 2 && line.n - 2 <= GEMINI_URL_MAX);
	require(memchr(line.p, '\0', line.n) == NULL);
	require(req->size >= 1 && req->size <= TITAN_SIZE_MAX);
	require(n >= 1 && n <= TITAN_MIME_MAX);
	for (i = 0; i < n; i++)
		require(req->mime[i] >= 0x20 && req->mime[i] <= 0x7e);
	require(req->token_len <= TITAN_TOKEN_MAX);
	require(req->token[req->token_len] == '\0');
	require(memchr(req->token, '\0', req->token_len) == NULL);
	require(req->has_token == (req->token_len > 0));
	require(req->url.p == line.p && req->url.n < line.n - 2);
	require(line.p[req->url.n] == ';');
	require(titan_is_request(req->url));
	require(memchr(req->url.p, '?', req->url.n) == NULL);
	require(memchr(req->url.p, '#', req->url.n) == NULL);
}

/* The line with its token starred out parses the same, token aside. */
static void
check_redacted(struct span line, int rc, const struct titan_request *req)
{
	static struct titan_request	 again;
	char				*copy;
	const char			*why;
	size_t				 i;
	int				 rc2;

	if ((copy = malloc(line.n ? line.n : 1)) == NULL)
		return;
	memcpy(copy, line.p, line.n);
	titan_redact_token(copy, line.n);
	for (i = 0; i < line.n; i++)
		require(copy[i] == line.p[i] || copy[i] == '*');
	rc2 = titan_parse_request(span_make(copy, line.n), &again, &why);
	if (rc == 0 && rc2 == 0) {
		require(again.url.n == req->url.n);
		require(again.size == req->size);
		require(strcmp(again.mime, req->mime) == 0);
		for (i = 0; i < again.token_len; i++)
			require(again.token[i] == '*');
	}
	/*
	 * Each encoded byte of a token becomes a star, so a token may grow
	 * past its cap (or a bad one turn good); nothing else may change.
	 */
	if (rc == 0 && rc2 != 0)
		require(strcmp(why, "token is too long or badly encoded") == 0);
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct titan_request	 req;
	struct span			 in = span_make((const char *)data,
					    size);
	const char			*why = "unset";
	int				 rc;

	rc = titan_parse_request(in, &req, &why);
	if (rc == 0) {
		require(why == NULL);
		check_passed(in, &req);
	} else {
		require(rc == GEMINI_BAD_REQUEST);
		require(why != NULL && why[0] != '\0');
	}
	check_redacted(in, rc, &req);
	(void)titan_name_ok(in);
	(void)titan_token_ok(in, "s3cret");
	return 0;
}
