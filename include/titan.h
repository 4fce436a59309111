/*
 * titan: uploads over the Gemini port, as the Titan companion protocol
 * defines them: "titan://host/path;size=N;mime=TYPE;token=T" and CRLF,
 * then exactly N bytes of body, then an ordinary Gemini response.
 *
 * The request parser, the token check, the name check and the redaction
 * of the token are pure (no I/O, no logging, no allocation).  The upload
 * functions write the body beside its target and rename it into place,
 * so a reader sees the old file or the new one, never a part.
 */
#ifndef CAPSULED_TITAN_H
#define CAPSULED_TITAN_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "capsule.h"
#include "gemini.h"

/*
 * The largest upload any rule may accept (64 MiB): a worker streams a
 * body to disk while its other clients wait, and a client could fill the
 * disk with a few of them.  Written as a plain number for messages.
 */
#define TITAN_SIZE_MAX		67108864

/* What a titan rule accepts when it names no max_size (1 MiB). */
#define TITAN_SIZE_DEFAULT	1048576

/* Longest decoded mime: it goes to the access log, which must not swell. */
#define TITAN_MIME_MAX		127

/* Longest token, sent or configured: bounds the buffer a client fills. */
#define TITAN_TOKEN_MAX		256

/* What a request without a mime parameter uploads, as the protocol says. */
#define TITAN_MIME_DEFAULT	"text/gemini"

/*
 * Temporary names tried before giving up: each is random, so a clash
 * means something else is creating files there on purpose.
 */
#define TITAN_TMP_TRIES		8

/* A temporary name: ".titan-", 16 random hex digits, NUL. */
#define TITAN_TMP_NAME_SIZE	24

/* Longest file name an upload may have, as the file system allows. */
#define TITAN_NAME_MAX		255

/* A parsed Titan request line. */
struct titan_request {
	/*
	 * The URL without its parameters ("titan://host/dir/x.md"), a view
	 * into the line: what remains to be checked as a Gemini URL.
	 */
	struct span	url;
	size_t		size;			/* 1 .. TITAN_SIZE_MAX */
	char		mime[TITAN_MIME_MAX + 1];	/* decoded */
	char		token[TITAN_TOKEN_MAX + 1];	/* decoded, no NUL */
	size_t		token_len;
	bool		has_token;		/* a non-empty token was sent */
};

/* True when line starts with the titan scheme (ignoring case). */
bool	titan_is_request(struct span line);

/*
 * Parse one Titan request line (with its CRLF).  Returns 0 and fills req,
 * or GEMINI_BAD_REQUEST (59) with *reason a static sentence.  In order:
 * no NUL; CRLF present, URL within GEMINI_URL_MAX, not empty, no space or
 * control byte; a well-formed URL with the titan scheme, no query and no
 * fragment; parameters after the first ';' of the path, ';'-separated
 * name=value pairs whose names are matched ignoring case: size once, as
 * a decimal without sign or leading zero from 1 to TITAN_SIZE_MAX; mime
 * and token at most once, percent-decoded, no NUL (mime printable ASCII
 * only, TITAN_MIME_DEFAULT when absent or empty).  Other parameters and
 * empty ones are ignored.  Host, port and path are left to the caller.
 */
int	titan_parse_request(struct span line, struct titan_request *req,
	    const char **reason);

/*
 * Whether the token sent equals the one configured, in time that does
 * not depend on where they differ or on their lengths (both are hashed,
 * then compared with CRYPTO_memcmp).
 */
bool	titan_token_ok(struct span sent, const char *want);

/*
 * Whether the last segment of a decoded path (from the root, as
 * gemini_parse_request leaves it) is a file name an upload may have: not
 * empty, not a dotfile, no control byte, at most TITAN_NAME_MAX bytes,
 * and the extension of a page or an image (gmi, gemini, md, txt, png,
 * jpg, jpeg, gif, webp; any case).
 */
bool	titan_name_ok(struct span path);

/*
 * Overwrite with '*', in place, the value of every token parameter of
 * the request line in the n bytes at p (of every ";token=" when the line
 * is not even a URL), so the secret never reaches a log.  The length of
 * the line and everything in it but tokens stay as they were.
 */
void	titan_redact_token(char *p, size_t n);

/* One upload in progress: its temporary file beside the target. */
struct titan_upload {
	int	 dirfd;		/* the target's directory, or -1 */
	int	 fd;		/* the temporary file, or -1 */
	char	 tmp[TITAN_TMP_NAME_SIZE];	/* its name, "" when none */
	char	 name[TITAN_NAME_MAX + 1];	/* the target's, in dirfd */
	size_t	 size;		/* bytes the request announced */
	size_t	 got;		/* bytes taken so far */
	int	 error;		/* errno of the first failed write, or 0 */
	/* Where the client is sent once the file is in place. */
	char	 location[GEMINI_META_MAX + 1];
};

/* What titan_upload_open found. */
enum titan_open {
	TITAN_OPEN_OK,
	TITAN_OPEN_NO_DIR,	/* the directory is missing, or outside */
	TITAN_OPEN_NOT_FILE,	/* the name is taken by a non-regular file */
	TITAN_OPEN_ERROR	/* errno tells (EACCES, EROFS, ENOSPC...) */
};

/* An empty upload, with nothing open. */
void	titan_upload_init(struct titan_upload *up);

/*
 * Start an upload of size bytes to path (decoded, from the root, no dot
 * component, not ending in '/'): open its directory beneath the capsule
 * root by the rules every lookup follows (no "..", no link out of the
 * capsule), refuse a name taken by anything but a regular file, and
 * create a temporary dotfile there (never served, never listed).
 */
enum titan_open titan_upload_open(struct titan_upload *up,
	    const struct capsule *c, const char *path, size_t path_len,
	    size_t size);

/*
 * Take body bytes: at most what is still missing of p[0..n) is written
 * to the temporary file.  Returns how many were taken.  A failed write
 * is remembered in up->error and the rest is taken without writing, so
 * the client can still be answered once it has sent everything.
 */
size_t	titan_upload_write(struct titan_upload *up, const void *p, size_t n);

/* True once all the announced bytes were taken. */
bool	titan_upload_complete(const struct titan_upload *up);

/*
 * Put a complete upload in place: sync the file, rename it over the
 * target, sync the directory.  Returns 0, or -1 with errno (up->error
 * when a write had failed); the temporary file is gone either way.
 */
int	titan_upload_commit(struct titan_upload *up);

/*
 * Give up: close and remove the temporary file, close the directory.
 * Safe on an upload that was committed, never opened, or aborted.
 */
void	titan_upload_abort(struct titan_upload *up);

#endif
