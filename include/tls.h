/*
 * tls: OpenSSL server contexts.  Certificates are loaded (or generated on
 * first start) in the parent before workers fork, so every worker shares
 * the same keys and the same session-ticket keys.
 */
#ifndef CAPSULED_TLS_H
#define CAPSULED_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

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

/*
 * One name-based site: its context, the names it answers to, and whether
 * its handshakes ask the client for a certificate.
 */
struct tls_site {
	SSL_CTX			*ctx;
	const char *const	*names;
	size_t			 nnames;
	bool			 ask_cert;
};

struct tls_sites {
	const struct tls_site	*v;
	size_t			 n;	/* at least 1: v[0] is the default */
};

/*
 * Serve sites by SNI.  Every site's context gets a servername callback
 * that moves the handshake to the site whose name the client sent (v[0]
 * when it sent none, or one no site has: the request is refused later).
 * A site with ask_cert requests a certificate on
 * every handshake and accepts any, self-signed ones included: Gemini
 * clients use them as identities, and the request is judged later with
 * tls_client_check.  sites must outlive the contexts.
 */
void	tls_sites_attach(const struct tls_sites *sites);

/* What a client certificate is worth for a rule that requires one. */
enum tls_client_verdict {
	TLS_CLIENT_OK,		/* signed by the CA, or listed */
	TLS_CLIENT_MISSING,	/* none was sent */
	TLS_CLIENT_UNKNOWN,	/* neither signed by the CA nor listed */
	TLS_CLIENT_INVALID	/* expired, or not valid yet */
};

/* Bytes of a SHA-256 digest. */
#define TLS_SHA256_LEN		32

/*
 * Judge cert (NULL when the client sent none; chain: the other
 * certificates it sent, or NULL) against a rule: valid now, then signed
 * by a certificate in ca (which may be an intermediate) or with a SHA-256
 * fingerprint among fps[0..nfps).  ca may be NULL.
 */
enum tls_client_verdict tls_client_check(X509 *cert, STACK_OF(X509) *chain,
	    X509_STORE *ca, const unsigned char (*fps)[TLS_SHA256_LEN],
	    size_t nfps);

/*
 * Load the PEM certificates of file into a new store, for
 * tls_client_check.  NULL with err set when the file cannot be read or
 * holds no certificate.
 */
X509_STORE *tls_ca_load(const char *file, struct buf *err);

/* The SHA-256 fingerprint of cert (of its DER form).  0 or -1. */
int	tls_cert_sha256(X509 *cert, unsigned char out[TLS_SHA256_LEN]);

/*
 * The subject of cert in RFC 2253 form ("CN=alice,O=Example") into out,
 * cut to fit.  The text comes from the client: escape it before logging.
 */
void	tls_cert_subject(X509 *cert, char *out, size_t outsz);

/* The last OpenSSL error as text (for log lines), clearing the queue. */
const char *tls_error_string(void);

#endif
