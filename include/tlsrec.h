/*
 * tlsrec: the TLS 1.3 record layer (RFC 8446 §5.2-5.5), for a connection
 * whose handshake OpenSSL finished and whose SSL object was then freed.
 *
 * A connection that completed its handshake and waits for a request holds
 * some 14 KB in OpenSSL's SSL object; all the rest of a Gemini exchange
 * needs is two traffic keys, two IVs and two sequence numbers.  While the
 * handshake runs, tlsrec_watch keeps the application traffic secrets
 * (from the key-log callback) and counts the records each side sent
 * under them (from the message callback).  tlsrec_detach then derives
 * the keys, and the caller frees the SSL object and seals and opens the
 * records itself.  Only what a Gemini request needs is taken: application
 * data and alerts.  A post-handshake message from the client (KeyUpdate,
 * say) ends the connection.
 */
#ifndef CAPSULED_TLSREC_H
#define CAPSULED_TLSREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#define TLSREC_SECRET_MAX	48		/* SHA-384 */
#define TLSREC_KEY_MAX		32
#define TLSREC_IV_LEN		12
#define TLSREC_TAG_LEN		16
#define TLSREC_HEADER_LEN	5
/* Plaintext per record, and the most a peer may send in one (§5.2). */
#define TLSREC_PLAIN_MAX	16384
#define TLSREC_RECORD_MAX	(TLSREC_HEADER_LEN + TLSREC_PLAIN_MAX + 256)
/* What sealing adds to the plaintext: header, inner type and tag. */
#define TLSREC_SEAL_OVERHEAD	(TLSREC_HEADER_LEN + 1 + TLSREC_TAG_LEN)

/* The inner content types used here. */
#define TLSREC_ALERT		21
#define TLSREC_APPDATA		23

/* Filled in during a handshake; [0] is the client's side, [1] ours. */
struct tlsrec_watch {
	unsigned char	secret[2][TLSREC_SECRET_MAX];
	uint8_t		secretlen[2];
	bool		keyed[2];	/* that side's Finished has passed */
	uint64_t	seq[2];		/* records since then */
};

struct tlsrec_dir {
	unsigned char	key[TLSREC_KEY_MAX];
	unsigned char	iv[TLSREC_IV_LEN];
	uint64_t	seq;
};

struct tlsrec {
	const EVP_CIPHER	*cipher;	/* fetched once per process */
	struct tlsrec_dir	 rd, wr;
};

/* Install the key-log callback on ctx.  0 or -1. */
int	tlsrec_ctx_setup(SSL_CTX *ctx);

/* Watch ssl's handshake into w, which must outlive ssl.  0 or -1. */
int	tlsrec_watch(SSL *ssl, struct tlsrec_watch *w);

/*
 * When ssl is TLS 1.3 with the handshake done, nothing read and not yet
 * taken, no client certificate and a suite known here: derive out from
 * w and return 0; the caller may then free ssl.  -1 otherwise.  The
 * secrets in w are wiped either way.
 */
int	tlsrec_detach(SSL *ssl, struct tlsrec_watch *w, struct tlsrec *out);

/*
 * The keys of suite (SSL_CIPHER_get_id) from the client's and the
 * server's traffic secrets, len bytes each, with the records each side
 * has sent so far.  0, or -1 for a suite or length not known here.
 */
int	tlsrec_from_secrets(struct tlsrec *out, unsigned long suite,
	    const unsigned char *client, const unsigned char *server,
	    size_t len, uint64_t rseq, uint64_t wseq);

/* Wipe the keys. */
void	tlsrec_clear(struct tlsrec *r);

enum tlsrec_result {
	TLSREC_DATA,		/* a record opened */
	TLSREC_MORE,		/* no whole record yet */
	TLSREC_CLOSE,		/* close_notify */
	TLSREC_ERROR		/* anything else: end the connection */
};

/*
 * Open the record at the start of p[0..n), in place.  On TLSREC_DATA,
 * *used is the record's length and the plaintext is p[5..5 + *plen).
 */
enum tlsrec_result tlsrec_open(struct tlsrec *r, unsigned char *p, size_t n,
	    size_t *used, size_t *plen);

/*
 * Seal n <= TLSREC_PLAIN_MAX bytes of the given inner type into out,
 * which has room for n + TLSREC_SEAL_OVERHEAD.  Returns the record's
 * length, or 0 on failure.
 */
size_t	tlsrec_seal(struct tlsrec *r, int type, const unsigned char *p,
	    size_t n, unsigned char *out);

#endif
