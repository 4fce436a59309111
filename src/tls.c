#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/x509v3.h>

#include "tls.h"
#include "tlsrec.h"

const char *
tls_error_string(void)
{
	static char	text[256];
	unsigned long	e = ERR_get_error();

	if (e == 0)
		return "unknown TLS error";
	ERR_error_string_n(e, text, sizeof(text));
	ERR_clear_error();
	return text;
}

/* Create the parent directory of path if it does not exist (one level). */
static int
tls_make_parent(const char *path, struct buf *err)
{
	char	dir[4096];
	char	*slash;

	if (strlen(path) >= sizeof(dir)) {
		buf_printf(err, "%s: path too long", path);
		return -1;
	}
	strcpy(dir, path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		buf_printf(err, "cannot create certificate directory %s: %s",
		    dir, strerror(errno));
		return -1;
	}
	return 0;
}

static EVP_PKEY *
tls_make_key(void)
{
	return EVP_EC_gen("P-256");
}

static int
tls_add_san(X509 *x, const char *hostname)
{
	X509_EXTENSION	*ext;
	X509V3_CTX	 ctx;
	char		 value[600];
	int		 rc;

	/* An IP address must go in as IP:, a name as DNS:, or clients balk. */
	if (strspn(hostname, "0123456789.") == strlen(hostname) ||
	    strchr(hostname, ':') != NULL)
		snprintf(value, sizeof(value), "IP:%s", hostname);
	else
		snprintf(value, sizeof(value), "DNS:%s", hostname);
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, value);
	if (ext == NULL)
		return -1;
	rc = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return rc == 1 ? 0 : -1;
}

static X509 *
tls_make_cert(EVP_PKEY *pkey, const char *hostname)
{
	X509		*x;
	X509_NAME	*name;
	unsigned char	 serial[16];
	BIGNUM		*bn = NULL;

	if ((x = X509_new()) == NULL)
		return NULL;
	if (X509_set_version(x, 2) != 1)
		goto fail;
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f;
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto fail;
	if (X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), TLS_GENERATED_DAYS, 0,
	    NULL) == NULL)
		goto fail;
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)hostname, -1, -1, 0) != 1)
		goto fail;
	if (X509_set_issuer_name(x, name) != 1 ||
	    X509_set_pubkey(x, pkey) != 1 || tls_add_san(x, hostname) == -1)
		goto fail;
	if (X509_sign(x, pkey, EVP_sha256()) == 0)
		goto fail;
	BN_free(bn);
	return x;
fail:
	BN_free(bn);
	X509_free(x);
	return NULL;
}

/* Write with O_EXCL so that a race or an existing file is never clobbered. */
static int
tls_write_pem(const char *path, mode_t mode, EVP_PKEY *pkey, X509 *x,
    struct buf *err)
{
	FILE	*f;
	int	 fd, ok;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd == -1) {
		buf_printf(err, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		buf_printf(err, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	if (pkey != NULL)
		ok = PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL);
	else
		ok = PEM_write_X509(f, x);
	if (fclose(f) != 0 || ok != 1) {
		buf_printf(err, "cannot write %s", path);
		unlink(path);
		return -1;
	}
	return 0;
}

static int
tls_generate(const char *cert, const char *key, const char *hostname,
    struct buf *err)
{
	EVP_PKEY	*pkey;
	X509		*x = NULL;
	int		 rc = -1;

	if (tls_make_parent(cert, err) == -1 || tls_make_parent(key, err) == -1)
		return -1;
	if ((pkey = tls_make_key()) == NULL) {
		buf_printf(err, "cannot generate a P-256 key: %s",
		    tls_error_string());
		return -1;
	}
	if ((x = tls_make_cert(pkey, hostname)) == NULL) {
		buf_printf(err, "cannot make a certificate for %s: %s",
		    hostname, tls_error_string());
		goto out;
	}
	if (tls_write_pem(key, 0600, pkey, NULL, err) == -1)
		goto out;
	if (tls_write_pem(cert, 0644, NULL, x, err) == -1) {
		unlink(key);
		goto out;
	}
	rc = 0;
out:
	X509_free(x);
	EVP_PKEY_free(pkey);
	return rc;
}

int
tls_ensure_cert(const char *cert, const char *key, const char *hostname,
    struct buf *err)
{
	struct stat	sc, sk;
	bool		has_cert, has_key;

	has_cert = stat(cert, &sc) == 0;
	has_key = stat(key, &sk) == 0;
	if (!has_cert && !has_key) {
		if (tls_generate(cert, key, hostname, err) == -1)
			return -1;
		return 1;
	}
	if (!has_cert || !has_key) {
		buf_printf(err, "%s exists but %s does not: provide both, or "
		    "remove the other so a new pair is generated",
		    has_cert ? cert : key, has_cert ? key : cert);
		return -1;
	}
	if ((sk.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		buf_printf(err, "private key %s is readable by group or others "
		    "(mode %03o): run chmod 600 %s", key,
		    (unsigned)(sk.st_mode & 0777), key);
		return -1;
	}
	return 0;
}

#define TLS_13_SUITES	"TLS_AES_128_GCM_SHA256:" \
			"TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384"

/*
 * Each context owns the ticket cipher, fetched once: handing OpenSSL 3
 * EVP_aes_256_cbc() makes it look the cipher up again on every ticket.
 */
static int	tls_ticket_cipher_index = -1;

static void
tls_ticket_cipher_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	EVP_CIPHER_free(ptr);
}

static int
tls_ctx_fetch_ticket_cipher(SSL_CTX *ctx)
{
	EVP_CIPHER	*c;

	if (tls_ticket_cipher_index == -1)
		tls_ticket_cipher_index = SSL_CTX_get_ex_new_index(0, NULL,
		    NULL, NULL, tls_ticket_cipher_free);
	if (tls_ticket_cipher_index == -1)
		return -1;
	if ((c = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL)) == NULL)
		return -1;
	if (SSL_CTX_set_ex_data(ctx, tls_ticket_cipher_index, c) != 1) {
		EVP_CIPHER_free(c);
		return -1;
	}
	return 0;
}

static const EVP_CIPHER *
tls_ticket_cipher(SSL *ssl)
{
	return SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl),
	    tls_ticket_cipher_index);
}

SSL_CTX *
tls_ctx_new(const char *cert, const char *key, struct buf *err)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		buf_printf(err, "cannot create a TLS context: %s",
		    tls_error_string());
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
	/* Renegotiation is a DoS lever and Gemini has no use for it. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* A request is one round trip: one ticket is all a client can use. */
	SSL_CTX_set_num_tickets(ctx, 1);
	/*
	 * The suite's hash runs through every step of the key schedule, and
	 * SHA-256 has instructions of its own on current CPUs where SHA-384
	 * has none; AES-128 is TLS 1.3's mandatory suite.  A client that puts
	 * ChaCha20 first (no AES instructions) still gets it.
	 */
	if (SSL_CTX_set_ciphersuites(ctx, TLS_13_SUITES) != 1 ||
	    tls_ctx_fetch_ticket_cipher(ctx) == -1 ||
	    tlsrec_ctx_setup(ctx) == -1) {
		buf_printf(err, "cannot set up TLS 1.3: %s", tls_error_string());
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_PRIORITIZE_CHACHA);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS |
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/*
	 * Read what the socket has, not one record header then one body:
	 * a handshake flight and a request are several records.
	 */
	SSL_CTX_set_read_ahead(ctx, 1);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		buf_printf(err, "cannot load certificate %s: %s", cert,
		    tls_error_string());
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		buf_printf(err, "cannot load private key %s: %s", key,
		    tls_error_string());
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		buf_printf(err, "private key %s does not match certificate %s",
		    key, cert);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

const char *
tls_servername(SSL *ssl)
{
	return SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
}

/*
 * Session tickets.  One secret per process (the parent's, inherited by
 * every worker); per period, HKDF turns it into the keys of that period.
 * The last two periods' keys are kept so a handshake costs no derivation.
 */
struct tls_ticket_state {
	unsigned char		secret[TLS_TICKET_SECRET_LEN];
	unsigned int		rotate;
	bool			set;
	unsigned long long	period[2];
	bool			have[2];
	struct tls_ticket_keys	keys[2];
};

static struct tls_ticket_state	tls_tickets;

int
tls_ticket_secret_new(unsigned char secret[TLS_TICKET_SECRET_LEN])
{
	return RAND_bytes(secret, TLS_TICKET_SECRET_LEN) == 1 ? 0 : -1;
}

/* Read exactly n bytes, however read splits them; 0 or -1. */
static int
tls_read_exactly(int fd, unsigned char *p, size_t n)
{
	ssize_t	r;

	while (n > 0) {
		r = read(fd, p, n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int
tls_ticket_secret_load(const char *path,
    unsigned char secret[TLS_TICKET_SECRET_LEN], struct buf *err)
{
	struct stat	st;
	int		fd, rc = -1;

	/* O_NONBLOCK: a FIFO named by mistake must not hang start-up. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT) {
		buf_printf(err, "cannot open %s: %s; make it with: openssl "
		    "rand %d > %s; chmod 600 %s", path, strerror(errno),
		    TLS_TICKET_SECRET_LEN, path, path);
		return -1;
	}
	if (fd == -1) {
		buf_printf(err, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		buf_printf(err, "%s is not a regular file; name a file made "
		    "with: openssl rand %d > FILE", path,
		    TLS_TICKET_SECRET_LEN);
	else if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		buf_printf(err, "%s is open to group or others (mode %03o); "
		    "run chmod 600 %s", path, (unsigned)(st.st_mode & 0777),
		    path);
	else if (st.st_size != TLS_TICKET_SECRET_LEN)
		buf_printf(err, "%s is %lld bytes, not %d; make it with: "
		    "openssl rand %d > %s", path, (long long)st.st_size,
		    TLS_TICKET_SECRET_LEN, TLS_TICKET_SECRET_LEN, path);
	else if (tls_read_exactly(fd, secret, TLS_TICKET_SECRET_LEN) == -1)
		buf_printf(err, "cannot read the %d bytes of %s",
		    TLS_TICKET_SECRET_LEN, path);
	else
		rc = 0;
	close(fd);
	return rc;
}

int
tls_ticket_keys_for(const unsigned char secret[TLS_TICKET_SECRET_LEN],
    unsigned long long period, struct tls_ticket_keys *k)
{
	EVP_KDF		*kdf;
	EVP_KDF_CTX	*kctx;
	OSSL_PARAM	 params[5], *p = params;
	unsigned char	 info[32], out[sizeof(*k)];
	int		 n, rc;

	n = snprintf((char *)info, sizeof(info), "capsuled ticket %llu",
	    period);
	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL)
		return -1;
	kctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (kctx == NULL)
		return -1;
	*p++ = OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string("key", (void *)secret,
	    TLS_TICKET_SECRET_LEN);
	*p++ = OSSL_PARAM_construct_octet_string("info", info, (size_t)n);
	*p = OSSL_PARAM_construct_end();
	rc = EVP_KDF_derive(kctx, out, sizeof(out), params) == 1 ? 0 : -1;
	EVP_KDF_CTX_free(kctx);
	if (rc == 0) {
		memcpy(k->name, out, sizeof(k->name));
		memcpy(k->aes, out + sizeof(k->name), sizeof(k->aes));
		memcpy(k->hmac, out + sizeof(k->name) + sizeof(k->aes),
		    sizeof(k->hmac));
	}
	OPENSSL_cleanse(out, sizeof(out));
	return rc;
}

/* The keys of period p, from the two-slot memo or derived now. */
static const struct tls_ticket_keys *
tls_ticket_period(unsigned long long p)
{
	struct tls_ticket_state	*t = &tls_tickets;
	int			 slot = (int)(p & 1);

	if (t->have[slot] && t->period[slot] == p)
		return &t->keys[slot];
	if (tls_ticket_keys_for(t->secret, p, &t->keys[slot]) == -1)
		return NULL;
	t->period[slot] = p;
	t->have[slot] = true;
	return &t->keys[slot];
}

int
tls_ticket_lookup(const unsigned char name[16], time_t now,
    struct tls_ticket_keys *k)
{
	unsigned long long		 p;
	const struct tls_ticket_keys	*cur, *prev;

	if (!tls_tickets.set || now < 0)
		return 0;
	p = (unsigned long long)now / tls_tickets.rotate;
	if ((cur = tls_ticket_period(p)) != NULL &&
	    CRYPTO_memcmp(cur->name, name, 16) == 0) {
		*k = *cur;
		return 1;
	}
	if (p > 0 && (prev = tls_ticket_period(p - 1)) != NULL &&
	    CRYPTO_memcmp(prev->name, name, 16) == 0) {
		*k = *prev;
		return 2;
	}
	return 0;
}

static int
tls_ticket_mac_init(EVP_MAC_CTX *hctx, const unsigned char *key)
{
	OSSL_PARAM	params[3];

	params[0] = OSSL_PARAM_construct_octet_string("key", (void *)key, 32);
	params[1] = OSSL_PARAM_construct_utf8_string("digest",
	    (char *)"SHA256", 0);
	params[2] = OSSL_PARAM_construct_end();
	return EVP_MAC_CTX_set_params(hctx, params) == 1 ? 0 : -1;
}

static int
tls_ticket_cb(SSL *ssl, unsigned char name[16], unsigned char *iv,
    EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	const struct tls_ticket_keys	*cur;
	struct tls_ticket_keys		 k;
	int				 rc;

	if (enc) {
		cur = tls_ticket_period((unsigned long long)time(NULL) /
		    tls_tickets.rotate);
		if (cur == NULL || RAND_bytes(iv, 16) != 1)
			return -1;
		memcpy(name, cur->name, 16);
		if (EVP_EncryptInit_ex(cctx, tls_ticket_cipher(ssl), NULL,
		    cur->aes, iv) != 1 || tls_ticket_mac_init(hctx, cur->hmac) == -1)
			return -1;
		return 1;
	}
	if ((rc = tls_ticket_lookup(name, time(NULL), &k)) == 0)
		return 0;
	/*
	 * TLS 1.3 clients use a ticket once (RFC 8446 C.4), and OpenSSL sends
	 * no new one after a resumption unless asked: without a renewal every
	 * other connection would be a full handshake.
	 */
	if (SSL_version(ssl) == TLS1_3_VERSION)
		rc = 2;
	if (EVP_DecryptInit_ex(cctx, tls_ticket_cipher(ssl), NULL, k.aes,
	    iv) != 1 ||
	    tls_ticket_mac_init(hctx, k.hmac) == -1)
		rc = -1;
	OPENSSL_cleanse(&k, sizeof(k));
	return rc;
}

void
tls_ctx_set_ticket_secret(SSL_CTX *ctx,
    const unsigned char secret[TLS_TICKET_SECRET_LEN], unsigned int rotate)
{
	struct tls_ticket_state	*t = &tls_tickets;

	if (!t->set || memcmp(t->secret, secret, sizeof(t->secret)) != 0 ||
	    t->rotate != rotate) {
		memcpy(t->secret, secret, sizeof(t->secret));
		t->rotate = rotate ? rotate : TLS_TICKET_ROTATE_SECONDS;
		t->have[0] = t->have[1] = false;
		t->set = true;
	}
	/* A ticket outlives its period by one more: that is when it renews. */
	SSL_CTX_set_timeout(ctx, (long)t->rotate * 2);
	SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, tls_ticket_cb);
}

static const struct tls_site *
tls_site_for(const struct tls_sites *sites, const char *name)
{
	size_t	i, j;

	for (i = 0; name != NULL && i < sites->n; i++)
		for (j = 0; j < sites->v[i].nnames; j++)
			if (strcasecmp(name, sites->v[i].names[j]) == 0)
				return &sites->v[i];
	return &sites->v[0];
}

/* Any certificate passes the handshake; the request is judged later. */
static int
tls_accept_any(int ok, X509_STORE_CTX *x)
{
	(void)ok;
	(void)x;
	return 1;
}

static void
tls_site_verify(SSL *ssl, const struct tls_site *site)
{
	if (site->ask_cert)
		SSL_set_verify(ssl, SSL_VERIFY_PEER, tls_accept_any);
	else
		SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
}

static int
tls_servername_cb(SSL *ssl, int *alert, void *arg)
{
	const struct tls_site	*site;

	(void)alert;
	site = tls_site_for(arg, tls_servername(ssl));
	if (SSL_get_SSL_CTX(ssl) != site->ctx &&
	    SSL_set_SSL_CTX(ssl, site->ctx) == NULL)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	/* SSL_set_SSL_CTX moves the certificate, not the verify mode. */
	tls_site_verify(ssl, site);
	return SSL_TLSEXT_ERR_OK;
}

/*
 * OpenSSL resumes no session on a context that asks for certificates
 * unless it has a session id context; one for all sites keeps a ticket
 * usable wherever its client takes it, as before SNI chose contexts.
 */
#define TLS_SESSION_ID_CONTEXT	"capsuled"

void
tls_sites_attach(const struct tls_sites *sites)
{
	const struct tls_site	*site;
	size_t			 i;

	for (i = 0; i < sites->n; i++) {
		site = &sites->v[i];
		SSL_CTX_set_tlsext_servername_callback(site->ctx,
		    tls_servername_cb);
		SSL_CTX_set_tlsext_servername_arg(site->ctx, (void *)sites);
		if (site->ask_cert)
			SSL_CTX_set_verify(site->ctx, SSL_VERIFY_PEER,
			    tls_accept_any);
		SSL_CTX_set_session_id_context(site->ctx,
		    (const unsigned char *)TLS_SESSION_ID_CONTEXT,
		    sizeof(TLS_SESSION_ID_CONTEXT) - 1);
	}
}

int
tls_cert_sha256(X509 *cert, unsigned char out[TLS_SHA256_LEN])
{
	unsigned int	n = 0;

	if (X509_digest(cert, EVP_sha256(), out, &n) != 1 ||
	    n != TLS_SHA256_LEN)
		return -1;
	return 0;
}

void
tls_cert_subject(X509 *cert, char *out, size_t outsz)
{
	BIO	*bio;
	int	 n;

	if (outsz == 0)
		return;
	out[0] = '\0';
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return;
	if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0,
	    XN_FLAG_RFC2253) >= 0 &&
	    (n = BIO_read(bio, out, (int)(outsz - 1))) > 0)
		out[n] = '\0';
	BIO_free(bio);
}

static bool
tls_cert_in_time(X509 *cert)
{
	return X509_cmp_current_time(X509_get0_notBefore(cert)) < 0 &&
	    X509_cmp_current_time(X509_get0_notAfter(cert)) > 0;
}

static bool
tls_cert_listed(X509 *cert, const unsigned char (*fps)[TLS_SHA256_LEN],
    size_t nfps)
{
	unsigned char	md[TLS_SHA256_LEN];
	size_t		i;

	if (nfps == 0 || tls_cert_sha256(cert, md) == -1)
		return false;
	for (i = 0; i < nfps; i++)
		if (CRYPTO_memcmp(md, fps[i], sizeof(md)) == 0)
			return true;
	return false;
}

/*
 * The operator names the certificate they trust, a root or an
 * intermediate, so a chain may end at either.
 */
static bool
tls_cert_signed_by(X509 *cert, STACK_OF(X509) *chain, X509_STORE *ca)
{
	X509_STORE_CTX	*xs;
	bool		 ok = false;

	if (ca == NULL || (xs = X509_STORE_CTX_new()) == NULL)
		return false;
	if (X509_STORE_CTX_init(xs, ca, cert, chain) == 1) {
		X509_STORE_CTX_set_purpose(xs, X509_PURPOSE_SSL_CLIENT);
		X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(xs),
		    X509_V_FLAG_PARTIAL_CHAIN);
		ok = X509_verify_cert(xs) == 1;
	}
	X509_STORE_CTX_free(xs);
	ERR_clear_error();
	return ok;
}

enum tls_client_verdict
tls_client_check(X509 *cert, STACK_OF(X509) *chain, X509_STORE *ca,
    const unsigned char (*fps)[TLS_SHA256_LEN], size_t nfps)
{
	if (cert == NULL)
		return TLS_CLIENT_MISSING;
	if (!tls_cert_in_time(cert))
		return TLS_CLIENT_INVALID;
	if (tls_cert_listed(cert, fps, nfps) ||
	    tls_cert_signed_by(cert, chain, ca))
		return TLS_CLIENT_OK;
	return TLS_CLIENT_UNKNOWN;
}

X509_STORE *
tls_ca_load(const char *file, struct buf *err)
{
	X509_STORE	*store;

	if ((store = X509_STORE_new()) == NULL) {
		buf_printf(err, "out of memory");
		return NULL;
	}
	if (X509_STORE_load_file(store, file) != 1) {
		buf_printf(err, "cannot load client CA file %s: %s", file,
		    tls_error_string());
		X509_STORE_free(store);
		return NULL;
	}
	if (sk_X509_OBJECT_num(X509_STORE_get0_objects(store)) < 1) {
		buf_printf(err, "client CA file %s holds no certificate", file);
		X509_STORE_free(store);
		return NULL;
	}
	return store;
}
