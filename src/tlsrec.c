#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "tlsrec.h"

/* The suites TLS 1.3 defines, as SSL_CIPHER_get_id gives them. */
#define TLSREC_AES_128_GCM	0x03001301UL
#define TLSREC_AES_256_GCM	0x03001302UL
#define TLSREC_CHACHA20		0x03001303UL

static int	tlsrec_index = -1;

/*
 * One cipher context for every connection of the process (workers are
 * single-threaded): a context per connection would cost what detaching
 * saves.  It is keyed anew for each record.
 */
static EVP_CIPHER_CTX	*tlsrec_cctx;

static int
tlsrec_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Why the key-log callback is set only now and then: OpenSSL 3.0 formats
 * every secret of a handshake, five lines of hex made with one sprintf
 * per byte, before it looks at what the callback wants.  That cost some
 * 8 % of a server handshake's instructions.  So the callback is set on the
 * context (workers are single-threaded) only from a Finished message,
 * which comes just before the traffic secret of that side is made, and
 * the callback takes itself off again once it has that secret.
 */
static void	tlsrec_keylog(const SSL *, const char *);

static void
tlsrec_keylog_on(const SSL *ssl, bool on)
{
	SSL_CTX_set_keylog_callback(SSL_get_SSL_CTX(ssl),
	    on ? tlsrec_keylog : NULL);
}

/* "LABEL <client random> <secret>", as the key-log callback gets it. */
static void
tlsrec_keylog(const SSL *ssl, const char *line)
{
	struct tlsrec_watch	*w = SSL_get_ex_data(ssl, tlsrec_index);
	const char		*p;
	size_t			 n = 0;
	int			 side, hi, lo;

	if (strncmp(line, "CLIENT_TRAFFIC_SECRET_0 ", 24) == 0)
		side = 0;
	else if (strncmp(line, "SERVER_TRAFFIC_SECRET_0 ", 24) == 0)
		side = 1;
	else
		return;
	tlsrec_keylog_on(ssl, false);
	if (w == NULL)
		return;
	if ((p = strchr(line + 24, ' ')) == NULL)
		return;
	for (p++; p[0] != '\0' && p[1] != '\0' && n < TLSREC_SECRET_MAX;
	    p += 2) {
		if ((hi = tlsrec_hex(p[0])) == -1 ||
		    (lo = tlsrec_hex(p[1])) == -1)
			break;
		w->secret[side][n++] = (unsigned char)(hi << 4 | lo);
	}
	w->secretlen[side] = (uint8_t)n;
}

/*
 * Counting records: each side's records under its application keys come
 * after its Finished.  OpenSSL reports a record header before the
 * messages in it, so the Finished's own record is not counted.
 */
static void
tlsrec_msg(int write_p, int version, int content_type, const void *buf,
    size_t len, SSL *ssl, void *arg)
{
	struct tlsrec_watch	*w = arg;
	int			 side = write_p ? 1 : 0;

	if (content_type == SSL3_RT_HEADER && w->keyed[side])
		w->seq[side]++;
	else if (content_type == SSL3_RT_HANDSHAKE && len > 0 &&
	    ((const unsigned char *)buf)[0] == SSL3_MT_FINISHED) {
		w->keyed[side] = true;
		/*
		 * Bytes already read behind the client's Finished (the
		 * request, mostly) rule out a detach, and with it any need
		 * of the client's secret.
		 */
		if (version == TLS1_3_VERSION &&
		    (side == 1 || !SSL_has_pending(ssl)))
			tlsrec_keylog_on(ssl, true);
	}
}

int
tlsrec_ctx_setup(SSL_CTX *ctx)
{
	if (tlsrec_index == -1)
		tlsrec_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if (tlsrec_index == -1)
		return -1;
	SSL_CTX_set_keylog_callback(ctx, NULL);
	return 0;
}

int
tlsrec_watch(SSL *ssl, struct tlsrec_watch *w)
{
	memset(w, 0, sizeof(*w));
	if (tlsrec_index == -1 || SSL_set_ex_data(ssl, tlsrec_index, w) != 1)
		return -1;
	SSL_set_msg_callback(ssl, tlsrec_msg);
	SSL_set_msg_callback_arg(ssl, w);
	return 0;
}

static const EVP_CIPHER *
tlsrec_cipher(unsigned long id, const EVP_MD **md, size_t *keylen)
{
	static EVP_CIPHER	*c[3];
	static const char *const names[3] = {
		"AES-128-GCM", "AES-256-GCM", "ChaCha20-Poly1305"
	};
	int			 i;

	switch (id) {
	case TLSREC_AES_128_GCM:
		i = 0, *md = EVP_sha256(), *keylen = 16;
		break;
	case TLSREC_AES_256_GCM:
		i = 1, *md = EVP_sha384(), *keylen = 32;
		break;
	case TLSREC_CHACHA20:
		i = 2, *md = EVP_sha256(), *keylen = 32;
		break;
	default:
		return NULL;
	}
	if (c[i] == NULL)
		c[i] = EVP_CIPHER_fetch(NULL, names[i], NULL);
	return c[i];
}

/* HKDF-Expand-Label(secret, label, "", n) for n <= the hash (§7.1). */
static int
tlsrec_expand(const EVP_MD *md, const unsigned char *secret, size_t slen,
    const char *label, unsigned char *out, size_t n)
{
	unsigned char	info[64], t[EVP_MAX_MD_SIZE];
	size_t		ll = strlen(label), il = 0;
	unsigned int	tl = 0;

	info[il++] = (unsigned char)(n >> 8);
	info[il++] = (unsigned char)n;
	info[il++] = (unsigned char)(6 + ll);
	memcpy(info + il, "tls13 ", 6);
	memcpy(info + il + 6, label, ll);
	il += 6 + ll;
	info[il++] = 0;			/* empty context */
	info[il++] = 1;			/* T(1) */
	if (HMAC(md, secret, (int)slen, info, il, t, &tl) == NULL || tl < n)
		return -1;
	memcpy(out, t, n);
	OPENSSL_cleanse(t, sizeof(t));
	return 0;
}

static int
tlsrec_keys(const EVP_MD *md, const unsigned char *secret, size_t slen,
    size_t keylen, struct tlsrec_dir *d, uint64_t seq)
{
	memset(d, 0, sizeof(*d));
	d->seq = seq;
	if (tlsrec_expand(md, secret, slen, "key", d->key, keylen) == -1 ||
	    tlsrec_expand(md, secret, slen, "iv", d->iv, TLSREC_IV_LEN) == -1)
		return -1;
	return 0;
}

static bool
tlsrec_can_detach(SSL *ssl, const struct tlsrec_watch *w)
{
	return SSL_version(ssl) == TLS1_3_VERSION && SSL_is_init_finished(ssl) &&
	    !SSL_has_pending(ssl) && SSL_pending(ssl) == 0 &&
	    SSL_get_shutdown(ssl) == 0 &&
	    SSL_get0_peer_certificate(ssl) == NULL &&
	    w->keyed[0] && w->keyed[1] && w->secretlen[0] > 0 &&
	    w->secretlen[0] == w->secretlen[1];
}

int
tlsrec_from_secrets(struct tlsrec *out, unsigned long suite,
    const unsigned char *client, const unsigned char *server, size_t len,
    uint64_t rseq, uint64_t wseq)
{
	const EVP_MD	*md;
	size_t		 keylen;

	memset(out, 0, sizeof(*out));
	if ((out->cipher = tlsrec_cipher(suite, &md, &keylen)) == NULL ||
	    (size_t)EVP_MD_get_size(md) != len ||
	    (tlsrec_cctx == NULL &&
	    (tlsrec_cctx = EVP_CIPHER_CTX_new()) == NULL) ||
	    tlsrec_keys(md, client, len, keylen, &out->rd, rseq) == -1 ||
	    tlsrec_keys(md, server, len, keylen, &out->wr, wseq) == -1) {
		tlsrec_clear(out);
		return -1;
	}
	return 0;
}

int
tlsrec_detach(SSL *ssl, struct tlsrec_watch *w, struct tlsrec *out)
{
	int	rc = -1;

	memset(out, 0, sizeof(*out));
	if (tlsrec_can_detach(ssl, w))
		rc = tlsrec_from_secrets(out,
		    SSL_CIPHER_get_id(SSL_get_current_cipher(ssl)),
		    w->secret[0], w->secret[1], w->secretlen[0], w->seq[0],
		    w->seq[1]);
	OPENSSL_cleanse(w->secret, sizeof(w->secret));
	return rc;
}

void
tlsrec_clear(struct tlsrec *r)
{
	OPENSSL_cleanse(r, sizeof(*r));
}

/* The per-record nonce: the IV with the sequence number xored in. */
static void
tlsrec_nonce(const struct tlsrec_dir *d, unsigned char nonce[TLSREC_IV_LEN])
{
	int	i;

	memcpy(nonce, d->iv, TLSREC_IV_LEN);
	for (i = 0; i < 8; i++)
		nonce[TLSREC_IV_LEN - 1 - i] ^= (unsigned char)(d->seq >> (8 * i));
}

/* AEAD over in[0..n) into out, with the header as additional data. */
static int
tlsrec_crypt(struct tlsrec *r, struct tlsrec_dir *d, int enc,
    const unsigned char hdr[TLSREC_HEADER_LEN], const unsigned char *in,
    size_t n, unsigned char *out, unsigned char tag[TLSREC_TAG_LEN])
{
	EVP_CIPHER_CTX	*c = tlsrec_cctx;
	unsigned char	 nonce[TLSREC_IV_LEN];
	int		 l, ok;

	/* Past 2^64 - 1 records the nonce would repeat (§5.3). */
	if (d->seq == UINT64_MAX)
		return -1;
	tlsrec_nonce(d, nonce);
	ok = EVP_CipherInit_ex(c, r->cipher, NULL, d->key, nonce, enc) == 1 &&
	    EVP_CipherUpdate(c, NULL, &l, hdr, TLSREC_HEADER_LEN) == 1 &&
	    EVP_CipherUpdate(c, out, &l, in, (int)n) == 1;
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG,
		    TLSREC_TAG_LEN, tag) == 1;
	ok = ok && EVP_CipherFinal_ex(c, out + l, &l) == 1;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG,
		    TLSREC_TAG_LEN, tag) == 1;
	if (!ok)
		return -1;
	d->seq++;
	return 0;
}

enum tlsrec_result
tlsrec_open(struct tlsrec *r, unsigned char *p, size_t n, size_t *used,
    size_t *plen)
{
	size_t	len, i;

	if (n < TLSREC_HEADER_LEN)
		return TLSREC_MORE;
	len = (size_t)p[3] << 8 | p[4];
	/* Every protected record says application data (§5.2). */
	if (p[0] != TLSREC_APPDATA || p[1] != 3 || p[2] != 3 ||
	    len < TLSREC_TAG_LEN + 1 ||
	    len > TLSREC_RECORD_MAX - TLSREC_HEADER_LEN)
		return TLSREC_ERROR;
	if (n < TLSREC_HEADER_LEN + len)
		return TLSREC_MORE;
	len -= TLSREC_TAG_LEN;
	if (tlsrec_crypt(r, &r->rd, 0, p, p + TLSREC_HEADER_LEN, len,
	    p + TLSREC_HEADER_LEN, p + TLSREC_HEADER_LEN + len) == -1)
		return TLSREC_ERROR;
	*used = TLSREC_HEADER_LEN + len + TLSREC_TAG_LEN;
	/* The inner type is the last byte that is not padding. */
	for (i = len; i > 0 && p[TLSREC_HEADER_LEN + i - 1] == 0; i--)
		;
	if (i == 0 || i - 1 > TLSREC_PLAIN_MAX)
		return TLSREC_ERROR;
	*plen = i - 1;
	switch (p[TLSREC_HEADER_LEN + i - 1]) {
	case TLSREC_APPDATA:
		return TLSREC_DATA;
	case TLSREC_ALERT:
		/* close_notify is warning 1, description 0 (§6.1). */
		return *plen == 2 && p[TLSREC_HEADER_LEN + 1] == 0 ?
		    TLSREC_CLOSE : TLSREC_ERROR;
	default:
		return TLSREC_ERROR;
	}
}

size_t
tlsrec_seal(struct tlsrec *r, int type, const unsigned char *p, size_t n,
    unsigned char *out)
{
	size_t	len = n + 1 + TLSREC_TAG_LEN;

	if (n > TLSREC_PLAIN_MAX)
		return 0;
	out[0] = TLSREC_APPDATA;
	out[1] = 3;
	out[2] = 3;
	out[3] = (unsigned char)(len >> 8);
	out[4] = (unsigned char)len;
	memmove(out + TLSREC_HEADER_LEN, p, n);
	out[TLSREC_HEADER_LEN + n] = (unsigned char)type;
	if (tlsrec_crypt(r, &r->wr, 1, out, out + TLSREC_HEADER_LEN, n + 1,
	    out + TLSREC_HEADER_LEN, out + TLSREC_HEADER_LEN + n + 1) == -1)
		return 0;
	return TLSREC_HEADER_LEN + len;
}
