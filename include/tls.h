/*
 * tls: OpenSSL server contexts.  Certificates are loaded (or generated on
 * first start) in the parent before workers fork, so every worker shares
 * the same keys and the same session-ticket keys.
 */
#ifndef CAPSULED_TLS_H
#define CAPSULED_TLS_H

#include <time.h>

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

/*
 * Bytes of the secret session-ticket keys are derived from, and so the
 * exact size of a tls.ticket_key file ("openssl rand 80"; the size nginx
 * uses for its ticket key files).
 */
#define TLS_TICKET_SECRET_LEN	80

/* How long one set of ticket keys issues tickets, by default. */
#define TLS_TICKET_ROTATE_SECONDS	3600

/* The keys one ticket period uses: name, cipher key, MAC key. */
struct tls_ticket_keys {
	unsigned char	name[16];
	unsigned char	aes[32];
	unsigned char	hmac[32];
};

/*
 * Make a new random ticket secret.  The parent makes it once, before the
 * workers fork, so a ticket issued by any worker resumes on any worker.
 * Returns 0 or -1.
 */
int	tls_ticket_secret_new(unsigned char secret[TLS_TICKET_SECRET_LEN]);

/*
 * Read the ticket secret from a file that instances behind one load
 * balancer share, so a ticket from one resumes on another.  The file must
 * be a regular file of exactly TLS_TICKET_SECRET_LEN bytes that neither
 * group nor others may access.  Returns 0, or -1 with err set to what is
 * wrong and how to fix it ("FILE is 32 bytes, not 80; make it with ...").
 */
int	tls_ticket_secret_load(const char *path,
	    unsigned char secret[TLS_TICKET_SECRET_LEN], struct buf *err);

/*
 * Issue and accept session tickets with keys derived from secret for
 * each period of rotate seconds: tickets are sealed with the current
 * period's keys, and the previous period's are still accepted (and
 * renewed), so keys rotate on a schedule every worker agrees on without
 * talking to the others.  The secret is copied.
 */
void	tls_ctx_set_ticket_secret(SSL_CTX *ctx,
	    const unsigned char secret[TLS_TICKET_SECRET_LEN],
	    unsigned int rotate);

/* The keys of one period (for tests).  Returns 0 or -1. */
int	tls_ticket_keys_for(const unsigned char secret[TLS_TICKET_SECRET_LEN],
	    unsigned long long period, struct tls_ticket_keys *k);

/*
 * What the ticket callback decides for a ticket named name at time now:
 * 1 accept, 2 accept and renew (previous period), 0 unknown.
 */
int	tls_ticket_lookup(const unsigned char name[16], time_t now,
	    struct tls_ticket_keys *k);

/* The SNI name the client sent, or NULL. */
const char *tls_servername(SSL *ssl);

/* The last OpenSSL error as text (for log lines), clearing the queue. */
const char *tls_error_string(void);

#endif
