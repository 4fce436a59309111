/*
 * tls: OpenSSL server contexts.  Certificates are loaded (or generated on
 * first start) in the parent before workers fork, so every worker shares
 * the same keys and the same session-ticket keys.
 */
#ifndef CAPSULED_TLS_H
#define CAPSULED_TLS_H

#include <openssl/ssl.h>

#include "buf.h"

/* Validity of a generated certificate, in days (about 100 years). */
#define TLS_GENERATED_DAYS	36500

/*
 * Make sure a certificate and key exist at cert and key.  When both are
 * absent, generate an ECDSA P-256 self-signed certificate for hostname
 * (subjectAltName = hostname) with the key file mode 0600, creating the
 * directory when needed.  When only one exists, or the key is readable by
 * group or others, fail.  Returns 1 when it generated, 0 when both were
 * there, -1 with err set.
 */
int	tls_ensure_cert(const char *cert, const char *key,
	    const char *hostname, struct buf *err);

/*
 * A server context for TLS 1.2 and 1.3 with the certificate chain and key
 * from the given files, one session ticket per handshake.  NULL with err
 * set when the files do not load or do not match.
 */
SSL_CTX	*tls_ctx_new(const char *cert, const char *key, struct buf *err);

/* The SNI name the client sent, or NULL. */
const char *tls_servername(SSL *ssl);

/* The last OpenSSL error as text (for log lines), clearing the queue. */
const char *tls_error_string(void);

#endif
