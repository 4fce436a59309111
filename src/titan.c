#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "gemini.h"
#include "titan.h"
#include "url.h"

/* Digits of TITAN_SIZE_MAX: a longer size is refused before it is summed. */
#define SIZE_DIGITS_MAX	8

#define STR(x)		#x
#define XSTR(x)		STR(x)

/* The refusal of a size above the cap names the cap. */
#define TOO_BIG		"size is above the largest upload capsuled " \
			"accepts (" XSTR(TITAN_SIZE_MAX) " bytes)"

/* Extensions an upload may have: pages and the images they show. */
static const char *const titan_exts[] = {
	"gmi", "gemini", "md", "txt", "png", "jpg", "jpeg", "gif", "webp"
};

static int
refuse(const char **reason, const char *why)
{
	if (reason != NULL)
		*reason = why;
	return GEMINI_BAD_REQUEST;
}

bool
titan_is_request(struct span line)
{
	return line.n >= 6 && span_caseeq_cstr(span_make(line.p, 6), "titan:");
}

/* Strict decimal: digits only, no leading zero, 1 .. TITAN_SIZE_MAX. */
static int
parse_size(struct span v, size_t *out, const char **reason)
{
	uint64_t	n = 0;
	size_t		i;

	if (v.n == 0)
		return refuse(reason, "size is empty");
	for (i = 0; i < v.n; i++)
		if (v.p[i] < '0' || v.p[i] > '9')
			return refuse(reason, "size must be a decimal number");
	if (v.p[0] == '0' && v.n == 1)
		return refuse(reason, "size=0 (deleting) is not supported");
	if (v.p[0] == '0')
		return refuse(reason, "size must not start with 0");
	if (v.n > SIZE_DIGITS_MAX)
		return refuse(reason, TOO_BIG);
	for (i = 0; i < v.n; i++)
		n = n * 10 + (uint64_t)(v.p[i] - '0');
	if (n > TITAN_SIZE_MAX)
		return refuse(reason, TOO_BIG);
	*out = (size_t)n;
	return 0;
}

/*
 * Percent-decode v into out (outsz bytes with the NUL); -1 when it is
 * badly encoded, holds a NUL or does not fit.  Each decoded byte may
 * have taken three, so the encoded form is judged in a scratch copy.
 */
static int
decode_value(struct span v, char *out, size_t outsz, size_t *len)
{
	char	tmp[3 * (TITAN_TOKEN_MAX + 1)];
	size_t	n = v.n;
	bool	nul;

	if (n >= sizeof(tmp))
		return -1;
	memcpy(tmp, v.p, n);
	if (url_decode_inplace(tmp, &n, &nul) == -1 || nul || n >= outsz)
		return -1;
	memcpy(out, tmp, n);
	out[n] = '\0';
	*len = n;
	return 0;
}

/* Printable ASCII and space, nothing a log line or a header could fear. */
static bool
is_mime_text(const char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
			return false;
	return true;
}

struct seen {
	bool	size;
	bool	mime;
	bool	token;
};

static int
take_param(struct span name, struct span v, bool has_value,
    struct titan_request *req, struct seen *seen, const char **reason)
{
	size_t	n;

	if (span_caseeq_cstr(name, "size")) {
		if (seen->size)
			return refuse(reason, "size is given twice");
		seen->size = true;
		if (!has_value)
			return refuse(reason, "size has no value");
		return parse_size(v, &req->size, reason);
	}
	if (span_caseeq_cstr(name, "mime")) {
		if (seen->mime)
			return refuse(reason, "mime is given twice");
		seen->mime = true;
		if (decode_value(v, req->mime, sizeof(req->mime), &n) == -1 ||
		    !is_mime_text(req->mime, n))
			return refuse(reason, "mime is not a media type");
		if (n == 0)
			snprintf(req->mime, sizeof(req->mime), "%s",
			    TITAN_MIME_DEFAULT);
		return 0;
	}
	if (span_caseeq_cstr(name, "token")) {
		if (seen->token)
			return refuse(reason, "token is given twice");
		seen->token = true;
		if (decode_value(v, req->token, sizeof(req->token),
		    &req->token_len) == -1)
			return refuse(reason, "token is too long or badly "
			    "encoded");
		req->has_token = req->token_len > 0;
		return 0;
	}
	/* The protocol may grow: what we do not know does not hurt. */
	return 0;
}

static int
take_params(struct span params, struct titan_request *req,
    const char **reason)
{
	struct seen	seen = { false, false, false };
	struct span	one, name, v;
	long		semi, eq;
	int		rc;

	while (params.n > 0) {
		semi = span_index(params, ';');
		one = span_make(params.p, semi == -1 ? params.n :
		    (size_t)semi);
		params = semi == -1 ? span_make(params.p + params.n, 0) :
		    span_make(params.p + semi + 1, params.n - (size_t)semi - 1);
		if (one.n == 0)
			continue;
		eq = span_index(one, '=');
		name = span_make(one.p, eq == -1 ? one.n : (size_t)eq);
		v = eq == -1 ? span_make(one.p + one.n, 0) :
		    span_make(one.p + eq + 1, one.n - (size_t)eq - 1);
		if ((rc = take_param(name, v, eq != -1, req, &seen,
		    reason)) != 0)
			return rc;
	}
	if (!seen.size)
		return refuse(reason, "size is missing");
	return 0;
}

/*
 * The checks run in the order titan.h promises, each with its own early
 * return, like gemini_parse_request's: the same line gets the same
 * reason every time.
 */
int
titan_parse_request(struct span line, struct titan_request *req,
    const char **reason)
{
	struct span	raw;
	struct url	u;
	long		semi;

	if (reason != NULL)
		*reason = NULL;
	memset(req, 0, sizeof(*req));
	snprintf(req->mime, sizeof(req->mime), "%s", TITAN_MIME_DEFAULT);
	if (line.n > 0 && memchr(line.p, '\0', line.n) != NULL)
		return refuse(reason, "request must not contain NUL");
	if (line.n < 2 || line.p[line.n - 2] != '\r' ||
	    line.p[line.n - 1] != '\n')
		return refuse(reason, "request must end with CRLF");
	raw = span_make(line.p, line.n - 2);
	if (raw.n > GEMINI_URL_MAX)
		return refuse(reason, "request is longer than 1024 bytes");
	if (raw.n == 0)
		return refuse(reason, "request is empty");
	if (span_has_space_or_control(raw))
		return refuse(reason, "URL must not contain spaces or control "
		    "characters");
	if (url_split(raw, &u) == -1)
		return refuse(reason, "URL is malformed");
	if (!u.has_scheme || !span_caseeq_cstr(u.scheme, "titan"))
		return refuse(reason, "not a titan URL");
	if (u.has_query)
		return refuse(reason, "Titan parameters go on the path, after "
		    "';', not in a query");
	if (u.has_fragment)
		return refuse(reason, "URL must not contain a fragment");
	if ((semi = span_index(u.path, ';')) == -1)
		return refuse(reason, "size is missing");
	req->url = span_make(raw.p, (size_t)(u.path.p + semi - raw.p));
	return take_params(span_make(u.path.p + semi + 1,
	    u.path.n - (size_t)semi - 1), req, reason);
}

static int
sha256(const void *p, size_t n, unsigned char md[32])
{
	unsigned int	len = 0;

	if (EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) != 1 || len != 32)
		return -1;
	return 0;
}

bool
titan_token_ok(struct span sent, const char *want)
{
	unsigned char	a[32], b[32];

	if (sha256(sent.p, sent.n, a) == -1 ||
	    sha256(want, strlen(want), b) == -1)
		return false;
	return CRYPTO_memcmp(a, b, sizeof(a)) == 0;
}

bool
titan_name_ok(struct span path)
{
	struct span	name, ext;
	size_t		i;
	long		dot = -1;

	for (i = path.n; i > 0 && path.p[i - 1] != '/'; i--)
		;
	name = span_make(path.p + i, path.n - i);
	if (name.n == 0 || name.n > TITAN_NAME_MAX || name.p[0] == '.')
		return false;
	for (i = 0; i < name.n; i++) {
		if ((unsigned char)name.p[i] < 0x20 || name.p[i] == 0x7f)
			return false;
		if (name.p[i] == '.')
			dot = (long)i;
	}
	if (dot == -1)
		return false;
	ext = span_make(name.p + dot + 1, name.n - (size_t)dot - 1);
	for (i = 0; i < sizeof(titan_exts) / sizeof(titan_exts[0]); i++)
		if (span_caseeq_cstr(ext, titan_exts[i]))
			return true;
	return false;
}

/* Star out the value of every ";token=" in p[0..n), up to a delimiter. */
static void
star_tokens(char *p, size_t n)
{
	size_t	i, j;

	for (i = 0; i + 7 <= n; i++) {
		if (p[i] != ';' || strncasecmp(p + i + 1, "token=", 6) != 0)
			continue;
		for (j = i + 7; j < n && p[j] != ';' && p[j] != '?' &&
		    p[j] != '#' && p[j] != '\r' && p[j] != '\n'; j++)
			p[j] = '*';
		i = j - 1;
	}
}

/*
 * Where the parser finds parameters (after the first ';' of the path),
 * only there: a ";token=" in a host or a segment before them is no token,
 * and starring it could change how the line reads.  A line that does not
 * even split is refused anyway, and is starred throughout.
 */
void
titan_redact_token(char *p, size_t n)
{
	struct span	raw = span_make(p, n);
	struct url	u;
	size_t		start;
	long		semi;

	if (n >= 2 && p[n - 2] == '\r' && p[n - 1] == '\n')
		raw.n -= 2;
	if (url_split(raw, &u) == -1) {
		star_tokens(p, n);
		return;
	}
	if ((semi = span_index(u.path, ';')) == -1)
		return;
	start = (size_t)(u.path.p - p) + (size_t)semi;
	star_tokens(p + start, u.path.n - (size_t)semi);
}

/*
 * Uploads.  The body goes to a dotfile with a random name in the target's
 * own directory, so the final rename never crosses a file system and a
 * reader never sees a part.  O_TMPFILE would need linkat(2) with
 * AT_EMPTY_PATH (a capability) or /proc (gone after chroot) to give the
 * file a name, and could still not replace the target in one step.
 */

void
titan_upload_init(struct titan_upload *up)
{
	memset(up, 0, sizeof(*up));
	up->dirfd = -1;
	up->fd = -1;
}

/* A fresh temporary name: ".titan-" and 16 random hex digits. */
static int
tmp_name(char *out, size_t outsz)
{
	static const char	hex[] = "0123456789abcdef";
	unsigned char		r[8];
	size_t			i;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -1;
	if (outsz < 8 + 2 * sizeof(r))
		return -1;
	memcpy(out, ".titan-", 7);
	for (i = 0; i < sizeof(r); i++) {
		out[7 + 2 * i] = hex[r[i] >> 4];
		out[8 + 2 * i] = hex[r[i] & 15];
	}
	out[7 + 2 * sizeof(r)] = '\0';
	return 0;
}

static int
create_tmp(struct titan_upload *up)
{
	int	i;

	for (i = 0; i < TITAN_TMP_TRIES; i++) {
		if (tmp_name(up->tmp, sizeof(up->tmp)) == -1)
			return -1;
		up->fd = openat(up->dirfd, up->tmp, O_WRONLY | O_CREAT |
		    O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0644);
		if (up->fd != -1)
			return 0;
		if (errno != EEXIST)
			break;
	}
	up->tmp[0] = '\0';
	return -1;
}

enum titan_open
titan_upload_open(struct titan_upload *up, const struct capsule *c,
    const char *path, size_t path_len, size_t size)
{
	struct stat	st;
	size_t		cut;

	for (cut = path_len; cut > 0 && path[cut - 1] != '/'; cut--)
		;
	if (cut == 0 || cut == path_len || path_len - cut >= sizeof(up->name)) {
		errno = EINVAL;
		return TITAN_OPEN_ERROR;
	}
	memcpy(up->name, path + cut, path_len - cut);
	up->name[path_len - cut] = '\0';
	up->size = size;
	if ((up->dirfd = capsule_open_dir(c, path, cut)) == -1) {
		if (errno == ENOENT || errno == ENOTDIR || errno == EXDEV ||
		    errno == ELOOP)
			return TITAN_OPEN_NO_DIR;
		return TITAN_OPEN_ERROR;
	}
	if (fstatat(up->dirfd, up->name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !S_ISREG(st.st_mode)) {
		titan_upload_abort(up);
		return TITAN_OPEN_NOT_FILE;
	}
	if (create_tmp(up) == -1) {
		int	e = errno;

		titan_upload_abort(up);
		errno = e;
		return TITAN_OPEN_ERROR;
	}
	return TITAN_OPEN_OK;
}

size_t
titan_upload_write(struct titan_upload *up, const void *p, size_t n)
{
	const char	*q = p;
	size_t		 take, done = 0;
	ssize_t		 w;

	take = up->size - up->got < n ? up->size - up->got : n;
	while (up->error == 0 && done < take) {
		w = write(up->fd, q + done, take - done);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			up->error = w == -1 ? errno : EIO;
		else
			done += (size_t)w;
	}
	up->got += take;
	return take;
}

bool
titan_upload_complete(const struct titan_upload *up)
{
	return up->got == up->size;
}

int
titan_upload_commit(struct titan_upload *up)
{
	int	e = up->error;

	if (e == 0 && !titan_upload_complete(up))
		e = EIO;
	if (e == 0 && fsync(up->fd) == -1)
		e = errno;
	if (close(up->fd) == -1 && e == 0)
		e = errno;
	up->fd = -1;
	if (e == 0 && renameat(up->dirfd, up->tmp, up->dirfd, up->name) == -1)
		e = errno;
	if (e == 0) {
		up->tmp[0] = '\0';
		/* The rename itself must survive a crash too. */
		(void)fsync(up->dirfd);
	}
	titan_upload_abort(up);
	errno = e;
	return e == 0 ? 0 : -1;
}

void
titan_upload_abort(struct titan_upload *up)
{
	if (up->fd != -1)
		close(up->fd);
	up->fd = -1;
	if (up->dirfd != -1 && up->tmp[0] != '\0')
		(void)unlinkat(up->dirfd, up->tmp, 0);
	up->tmp[0] = '\0';
	if (up->dirfd != -1)
		close(up->dirfd);
	up->dirfd = -1;
}
