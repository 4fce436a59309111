#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "buf.h"
#include "check.h"
#include "tls.h"
#include "tlsrec.h"

static char	dir[64], crt[128], key[128];
static SSL_CTX	*sctx, *cctx;

/* One server-client pair joined in memory, the server watched. */
struct pair {
	SSL			*s, *c;
	BIO			*sb;	/* the server's end, kept after SSL_free */
	struct tlsrec_watch	 w;
	struct tlsrec		 r;
};

static bool
pair_handshake(struct pair *p, SSL_SESSION *sess)
{
	BIO	*cb;
	int	 i, rc = 0, rs = 0;

	memset(p, 0, sizeof(*p));
	p->s = SSL_new(sctx);
	p->c = SSL_new(cctx);
	if (BIO_new_bio_pair(&cb, 1 << 17, &p->sb, 1 << 17) != 1)
		abort();
	BIO_up_ref(p->sb);
	SSL_set_bio(p->c, cb, cb);
	SSL_set_bio(p->s, p->sb, p->sb);
	if (sess != NULL)
		SSL_set_session(p->c, sess);
	SSL_set_connect_state(p->c);
	SSL_set_accept_state(p->s);
	CHECK_INT(0, tlsrec_watch(p->s, &p->w));
	for (i = 0; i < 100 && (rc != 1 || rs != 1); i++) {
		if (rc != 1)
			rc = SSL_do_handshake(p->c);
		if (rs != 1)
			rs = SSL_do_handshake(p->s);
	}
	return rc == 1 && rs == 1;
}

/* What the client sent, opened by the detached server: into out. */
static enum tlsrec_result
server_reads(struct pair *p, char *out, size_t outsz, size_t *got)
{
	unsigned char		 raw[TLSREC_RECORD_MAX * 4];
	size_t			 n = 0, off = 0, used, plen;
	int			 r;
	enum tlsrec_result	 res = TLSREC_MORE;

	while ((r = BIO_read(p->sb, raw + n, (int)(sizeof(raw) - n))) > 0)
		n += (size_t)r;
	*got = 0;
	while (off < n) {
		res = tlsrec_open(&p->r, raw + off, n - off, &used, &plen);
		if (res != TLSREC_DATA)
			return res;
		if (*got + plen > outsz)
			abort();
		memcpy(out + *got, raw + off + TLSREC_HEADER_LEN, plen);
		*got += plen;
		off += used;
	}
	return res;
}

/* The server seals p[0..n) in records, then close_notify. */
static void
server_writes(struct pair *p, const char *data, size_t n)
{
	static unsigned char	out[TLSREC_PLAIN_MAX + TLSREC_SEAL_OVERHEAD];
	static const unsigned char close_notify[2] = { 1, 0 };
	size_t			take, len;

	while (n > 0) {
		take = n < TLSREC_PLAIN_MAX ? n : TLSREC_PLAIN_MAX;
		len = tlsrec_seal(&p->r, TLSREC_APPDATA,
		    (const unsigned char *)data, take, out);
		CHECK(len == take + TLSREC_SEAL_OVERHEAD);
		CHECK_INT((int)len, BIO_write(p->sb, out, (int)len));
		data += take;
		n -= take;
	}
	len = tlsrec_seal(&p->r, TLSREC_ALERT, close_notify, 2, out);
	CHECK_INT((int)len, BIO_write(p->sb, out, (int)len));
}

/* The client reads everything until close_notify into out. */
static size_t
client_reads(SSL *c, char *out, size_t outsz, int *last_error)
{
	size_t	got = 0, n;

	for (;;) {
		if (SSL_read_ex(c, out + got, outsz - got, &n) == 1) {
			got += n;
			continue;
		}
		*last_error = SSL_get_error(c, 0);
		return got;
	}
}

/*
 * A full exchange: handshake, the client takes its ticket, the server
 * detaches and frees its SSL; the request and a body of n bytes (one
 * record or several) cross, and the client sees a clean close_notify.
 * Returns the client's session for a resumption.
 */
static SSL_SESSION *
exchange(const char *suite, SSL_SESSION *sess, size_t n, bool *resumed)
{
	static char		 body[3 * TLSREC_PLAIN_MAX + 100];
	static char		 got[sizeof(body)];
	static const char	 req[] = "gemini://localhost/\r\n";
	struct pair		 p;
	char			 in[64];
	size_t			 len;
	int			 err = 0;
	SSL_SESSION		*next = NULL;

	SSL_CTX_set_ciphersuites(cctx, suite);
	/*
	 * The key-log callback is on only from a Finished to the secret
	 * that follows it: OpenSSL formats every secret while it is set.
	 */
	CHECK(SSL_CTX_get_keylog_callback(sctx) == NULL);
	CHECK(pair_handshake(&p, sess));
	CHECK(SSL_CTX_get_keylog_callback(sctx) == NULL);
	*resumed = SSL_session_reused(p.s) == 1;
	CHECK_STR(suite, SSL_CIPHER_get_name(SSL_get_current_cipher(p.s)));
	/* The ticket, which the client reads before it writes. */
	(void)SSL_read_ex(p.c, in, sizeof(in), &len);
	CHECK_INT(0, tlsrec_detach(p.s, &p.w, &p.r));
	SSL_free(p.s);
	/* The request in two records: a client may write it in pieces. */
	CHECK_INT(8, SSL_write(p.c, req, 8));
	CHECK_INT((int)sizeof(req) - 9, SSL_write(p.c, req + 8,
	    sizeof(req) - 9));
	CHECK_INT(TLSREC_DATA, server_reads(&p, in, sizeof(in), &len));
	CHECK_INT(sizeof(req) - 1, len);
	CHECK(memcmp(in, req, sizeof(req) - 1) == 0);
	memset(body, 'x', n);
	memcpy(body, "20 text/gemini\r\n", 16);
	server_writes(&p, body, n);
	CHECK_INT(n, client_reads(p.c, got, sizeof(got), &err));
	CHECK_INT(SSL_ERROR_ZERO_RETURN, err);
	CHECK(memcmp(got, body, n) == 0);
	next = SSL_get1_session(p.c);
	SSL_set_shutdown(p.c, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	SSL_free(p.c);
	BIO_free(p.sb);
	tlsrec_clear(&p.r);
	return next;
}

static void
test_each_suite_full_and_resumed(void)
{
	static const char *const suites[] = {
		"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
		"TLS_CHACHA20_POLY1305_SHA256"
	};
	SSL_SESSION	*sess, *again;
	bool		 resumed;
	size_t		 i;

	for (i = 0; i < 3; i++) {
		sess = exchange(suites[i], NULL, 5000, &resumed);
		CHECK(!resumed);
		again = exchange(suites[i], sess, 2 * TLSREC_PLAIN_MAX + 77,
		    &resumed);
		CHECK(resumed);
		SSL_SESSION_free(sess);
		SSL_SESSION_free(again);
	}
}

/* Data OpenSSL has read and not handed out: the server keeps its SSL. */
static void
test_no_detach_with_data_waiting(void)
{
	struct pair	p;
	struct tlsrec	r;
	char		in[64];
	size_t		len;

	SSL_CTX_set_ciphersuites(cctx, "TLS_AES_128_GCM_SHA256");
	CHECK(pair_handshake(&p, NULL));
	(void)SSL_read_ex(p.c, in, sizeof(in), &len);
	CHECK_INT(5, SSL_write(p.c, "hello", 5));
	CHECK_INT(1, SSL_peek_ex(p.s, in, 1, &len));
	CHECK_INT(-1, tlsrec_detach(p.s, &p.w, &r));
	SSL_free(p.s);
	SSL_free(p.c);
	BIO_free(p.sb);
}

/* TLS 1.2 has another record layer: the server keeps its SSL. */
static void
test_no_detach_for_tls12(void)
{
	struct pair	p;
	struct tlsrec	r;

	SSL_CTX_set_max_proto_version(cctx, TLS1_2_VERSION);
	CHECK(pair_handshake(&p, NULL));
	CHECK_INT(-1, tlsrec_detach(p.s, &p.w, &r));
	SSL_CTX_set_max_proto_version(cctx, TLS1_3_VERSION);
	SSL_free(p.s);
	SSL_free(p.c);
	BIO_free(p.sb);
}

/* A flipped bit, a cut record, a forged length, a key update: refused. */
static void
test_bad_records(void)
{
	struct pair	p;
	unsigned char	raw[512];
	char		in[64];
	size_t		n = 0, used, plen, len;
	int		r, bit;

	for (bit = 0; bit < 4; bit++) {
		SSL_CTX_set_ciphersuites(cctx, "TLS_AES_128_GCM_SHA256");
		CHECK(pair_handshake(&p, NULL));
		(void)SSL_read_ex(p.c, in, sizeof(in), &len);
		CHECK_INT(0, tlsrec_detach(p.s, &p.w, &p.r));
		if (bit == 3)
			CHECK_INT(1, SSL_key_update(p.c,
			    SSL_KEY_UPDATE_NOT_REQUESTED));
		CHECK_INT(4, SSL_write(p.c, "abcd", 4));
		for (n = 0; (r = BIO_read(p.sb, raw + n,
		    (int)(sizeof(raw) - n))) > 0;)
			n += (size_t)r;
		if (bit == 0)
			raw[n - 1] ^= 1;		/* the tag */
		else if (bit == 1)
			raw[7] ^= 0x40;			/* the ciphertext */
		else if (bit == 2) {
			CHECK_INT(TLSREC_MORE, tlsrec_open(&p.r, raw, n - 1,
			    &used, &plen));
			raw[3] = 0x48;			/* 18 KiB */
		}
		CHECK_INT(TLSREC_ERROR, tlsrec_open(&p.r, raw, n, &used,
		    &plen));
		SSL_free(p.s);
		SSL_free(p.c);
		BIO_free(p.sb);
	}
}

int
main(void)
{
	struct buf	err;
	unsigned char	secret[TLS_TICKET_SECRET_LEN];
	char		cmd[128];
	int		rc;

	snprintf(dir, sizeof(dir), "/tmp/tlsrec-unit.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(crt, sizeof(crt), "%s/c.crt", dir);
	snprintf(key, sizeof(key), "%s/c.key", dir);
	buf_init(&err, 1024);
	if (tls_ensure_cert(crt, key, "localhost", &err) == -1 ||
	    (sctx = tls_ctx_new(crt, key, &err)) == NULL ||
	    tls_ticket_secret_new(secret) == -1) {
		fprintf(stderr, "%s\n", buf_cstr(&err));
		return 1;
	}
	tls_ctx_set_ticket_secret(sctx, secret, TLS_TICKET_ROTATE_SECONDS);
	cctx = SSL_CTX_new(TLS_client_method());
	RUN(test_each_suite_full_and_resumed);
	RUN(test_no_detach_with_data_waiting);
	RUN(test_no_detach_for_tls12);
	RUN(test_bad_records);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	buf_free(&err);
	rc = CHECK_SUMMARY();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return rc;
}
