#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "check.h"
#include "tls.h"

static char	dir[64];
static char	crt[128];
static char	key[128];

static void
test_generates_p256_pair_with_san(void)
{
	struct buf	 err;
	struct stat	 st;
	FILE		*f;
	X509		*x;
	EVP_PKEY	*pk;
	char		 name[64] = "";
	int		 i;

	buf_init(&err, 1024);
	CHECK_INT(1, tls_ensure_cert(crt, key, "capsule.example", &err));
	CHECK_INT(0, stat(key, &st));
	CHECK_INT(0600, st.st_mode & 0777);
	if ((f = fopen(crt, "r")) == NULL) {
		CHECK(!"certificate written");
		return;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	CHECK(x != NULL);
	if (x == NULL)
		return;
	pk = X509_get0_pubkey(x);
	CHECK_INT(EVP_PKEY_EC, EVP_PKEY_get_base_id(pk));
	EVP_PKEY_get_group_name(pk, name, sizeof(name), NULL);
	CHECK_STR("prime256v1", name);
	i = X509_check_host(x, "capsule.example", 0, 0, NULL);
	CHECK_INT(1, i);
	CHECK(X509_cmp_time(X509_get0_notAfter(x), NULL) > 0);
	X509_free(x);
	/* A second call finds the pair and keeps it. */
	CHECK_INT(0, tls_ensure_cert(crt, key, "capsule.example", &err));
	buf_free(&err);
}

static void
test_context_loads_pair(void)
{
	struct buf	 err;
	SSL_CTX		*ctx;

	buf_init(&err, 1024);
	ctx = tls_ctx_new(crt, key, &err);
	CHECK(ctx != NULL);
	CHECK_INT(TLS1_2_VERSION, SSL_CTX_get_min_proto_version(ctx));
	CHECK_INT(1, SSL_CTX_get_num_tickets(ctx));
	SSL_CTX_free(ctx);
	buf_free(&err);
}

static void
test_readable_key_refused(void)
{
	struct buf	err;

	buf_init(&err, 1024);
	chmod(key, 0644);
	CHECK_INT(-1, tls_ensure_cert(crt, key, "capsule.example", &err));
	CHECK(strstr(buf_cstr(&err), "chmod 600") != NULL);
	chmod(key, 0600);
	buf_free(&err);
}

static void
test_half_pair_refused(void)
{
	struct buf	err;
	char		other[160];

	buf_init(&err, 1024);
	snprintf(other, sizeof(other), "%s/missing.key", dir);
	CHECK_INT(-1, tls_ensure_cert(crt, other, "capsule.example", &err));
	CHECK(strstr(buf_cstr(&err), "missing.key") != NULL);
	buf_free(&err);
}

static void
test_mismatched_pair_refused(void)
{
	struct buf	 err;
	char		 crt2[160], key2[160];
	SSL_CTX		*ctx;

	buf_init(&err, 1024);
	snprintf(crt2, sizeof(crt2), "%s/b/x.crt", dir);
	snprintf(key2, sizeof(key2), "%s/b/x.key", dir);
	CHECK_INT(1, tls_ensure_cert(crt2, key2, "10.0.0.1", &err));
	ctx = tls_ctx_new(crt, key2, &err);
	CHECK(ctx == NULL);
	CHECK(strstr(buf_cstr(&err), "does not match") != NULL ||
	    strstr(buf_cstr(&err), "cannot load") != NULL);
	SSL_CTX_free(ctx);
	buf_free(&err);
}

static void
test_ticket_keys_rotate_and_overlap(void)
{
	unsigned char		secret[TLS_TICKET_SECRET_LEN];
	struct tls_ticket_keys	a, b, a2, got;
	SSL_CTX			*ctx;
	time_t			 t0 = 1000 * 3600 + 10;

	CHECK_INT(0, tls_ticket_secret_new(secret));
	CHECK_INT(0, tls_ticket_keys_for(secret, 1000, &a));
	CHECK_INT(0, tls_ticket_keys_for(secret, 1001, &b));
	CHECK_INT(0, tls_ticket_keys_for(secret, 1000, &a2));
	/* The same period gives the same keys in every process. */
	CHECK(memcmp(&a, &a2, sizeof(a)) == 0);
	CHECK(memcmp(a.name, b.name, 16) != 0);
	CHECK(memcmp(a.aes, b.aes, 32) != 0);
	ctx = SSL_CTX_new(TLS_server_method());
	tls_ctx_set_ticket_secret(ctx, secret, 3600);
	CHECK_INT(1, tls_ticket_lookup(a.name, t0, &got));
	CHECK(memcmp(got.aes, a.aes, 32) == 0);
	/* One period later it still resumes, and is renewed. */
	CHECK_INT(2, tls_ticket_lookup(a.name, t0 + 3600, &got));
	/* Two periods later it is gone. */
	CHECK_INT(0, tls_ticket_lookup(a.name, t0 + 7200, &got));
	CHECK_INT(1, tls_ticket_lookup(b.name, t0 + 3600, &got));
	SSL_CTX_free(ctx);
}

/* Client certificates, made here: a CA, its leaves, self-signed ones. */

static long	serial = 1;

static X509 *
make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
    long from_days, long to_days, bool ca)
{
	X509		*x;
	X509_NAME	*name;
	X509_EXTENSION	*ext;
	X509V3_CTX	 v3;

	if ((x = X509_new()) == NULL)
		abort();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), from_days * 86400);
	X509_gmtime_adj(X509_getm_notAfter(x), to_days * 86400);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509_set_pubkey(x, key);
	if (ca) {
		X509V3_set_ctx_nodb(&v3);
		X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
		ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
		    "critical,CA:TRUE");
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	if (X509_sign(x, ikey ? ikey : key, EVP_sha256()) == 0)
		abort();
	return x;
}

static X509_STORE *
store_of(X509 *x)
{
	X509_STORE	*st = X509_STORE_new();

	X509_STORE_add_cert(st, x);
	return st;
}

static void
test_client_verdicts(void)
{
	EVP_PKEY		*k = EVP_EC_gen("P-256");
	X509			*ca, *inter, *alice, *bob, *old, *early, *other;
	X509			*other_ca, *deep;
	X509_STORE		*root_store, *inter_store;
	STACK_OF(X509)		*chain;
	unsigned char		 fps[2][TLS_SHA256_LEN];

	ca = make_cert("Test CA", k, NULL, NULL, -1, 30, true);
	inter = make_cert("Intermediate", k, ca, k, -1, 30, true);
	alice = make_cert("alice", k, ca, k, -1, 30, false);
	bob = make_cert("bob", k, NULL, NULL, -1, 30, false);
	old = make_cert("old", k, ca, k, -400, -30, false);
	early = make_cert("early", k, ca, k, 30, 400, false);
	other_ca = make_cert("Other CA", k, NULL, NULL, -1, 30, true);
	other = make_cert("other", k, other_ca, k, -1, 30, false);
	deep = make_cert("deep", k, inter, k, -1, 30, false);
	root_store = store_of(ca);
	inter_store = store_of(inter);
	CHECK_INT(0, tls_cert_sha256(bob, fps[0]));
	CHECK_INT(0, tls_cert_sha256(old, fps[1]));

	CHECK_INT(TLS_CLIENT_MISSING, tls_client_check(NULL, NULL, root_store,
	    fps, 2));
	CHECK_INT(TLS_CLIENT_OK, tls_client_check(alice, NULL, root_store,
	    NULL, 0));
	CHECK_INT(TLS_CLIENT_UNKNOWN, tls_client_check(alice, NULL, NULL,
	    fps, 2));
	CHECK_INT(TLS_CLIENT_OK, tls_client_check(bob, NULL, NULL, fps, 2));
	CHECK_INT(TLS_CLIENT_OK, tls_client_check(bob, NULL, root_store,
	    fps, 1));
	CHECK_INT(TLS_CLIENT_UNKNOWN, tls_client_check(bob, NULL, root_store,
	    fps + 1, 1));
	/* Out of its dates, even when signed or listed. */
	CHECK_INT(TLS_CLIENT_INVALID, tls_client_check(old, NULL, root_store,
	    fps, 2));
	CHECK_INT(TLS_CLIENT_INVALID, tls_client_check(early, NULL,
	    root_store, NULL, 0));
	CHECK_INT(TLS_CLIENT_UNKNOWN, tls_client_check(other, NULL,
	    root_store, fps, 2));
	/* The trusted certificate may be an intermediate... */
	CHECK_INT(TLS_CLIENT_OK, tls_client_check(deep, NULL, inter_store,
	    NULL, 0));
	/* ...or the root, with the intermediate sent by the client. */
	CHECK_INT(TLS_CLIENT_UNKNOWN, tls_client_check(deep, NULL, root_store,
	    NULL, 0));
	chain = sk_X509_new_null();
	sk_X509_push(chain, inter);
	CHECK_INT(TLS_CLIENT_OK, tls_client_check(deep, chain, root_store,
	    NULL, 0));
	/* A CA certificate is no leaf for someone else's store. */
	CHECK_INT(TLS_CLIENT_UNKNOWN, tls_client_check(other_ca, NULL,
	    root_store, NULL, 0));
	sk_X509_free(chain);
	X509_STORE_free(root_store);
	X509_STORE_free(inter_store);
	X509_free(ca);
	X509_free(inter);
	X509_free(alice);
	X509_free(bob);
	X509_free(old);
	X509_free(early);
	X509_free(other_ca);
	X509_free(other);
	X509_free(deep);
	EVP_PKEY_free(k);
}

static void
test_cert_subject_and_fingerprint(void)
{
	EVP_PKEY	*k = EVP_EC_gen("P-256");
	X509		*x = make_cert("a,b \"c\"", k, NULL, NULL, -1, 1,
			    false);
	unsigned char	 md[TLS_SHA256_LEN], want[TLS_SHA256_LEN];
	unsigned int	 n;
	char		 subject[64], tiny[4];

	tls_cert_subject(x, subject, sizeof(subject));
	CHECK_STR("CN=a\\,b \\\"c\\\"", subject);
	tls_cert_subject(x, tiny, sizeof(tiny));
	CHECK_STR("CN=", tiny);
	CHECK_INT(0, tls_cert_sha256(x, md));
	X509_digest(x, EVP_sha256(), want, &n);
	CHECK(memcmp(md, want, sizeof(md)) == 0);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
test_ca_load(void)
{
	struct buf	 err;
	X509_STORE	*st;
	EVP_PKEY	*k = EVP_EC_gen("P-256");
	X509		*ca = make_cert("CA", k, NULL, NULL, -1, 1, true);
	char		 path[160];
	FILE		*f;

	buf_init(&err, 1024);
	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	if ((f = fopen(path, "w")) == NULL)
		abort();
	PEM_write_X509(f, ca);
	fclose(f);
	st = tls_ca_load(path, &err);
	CHECK(st != NULL);
	X509_STORE_free(st);
	snprintf(path, sizeof(path), "%s/empty.pem", dir);
	if ((f = fopen(path, "w")) == NULL)
		abort();
	fclose(f);
	CHECK(tls_ca_load(path, &err) == NULL);
	CHECK(strstr(buf_cstr(&err), "empty.pem") != NULL);
	buf_reset(&err);
	snprintf(path, sizeof(path), "%s/none.pem", dir);
	CHECK(tls_ca_load(path, &err) == NULL);
	CHECK(strstr(buf_cstr(&err), "cannot load client CA file") != NULL);
	buf_free(&err);
	X509_free(ca);
	EVP_PKEY_free(k);
}

/*
 * A handshake in memory: client and server joined by a BIO pair.
 * Returns true when both sides finished.
 */
static bool
handshake(SSL *client, SSL *server)
{
	BIO	*cb, *sb;
	int	 i, rc, rs = 0;

	if (BIO_new_bio_pair(&cb, 0, &sb, 0) != 1)
		abort();
	SSL_set_bio(client, cb, cb);
	SSL_set_bio(server, sb, sb);
	SSL_set_connect_state(client);
	SSL_set_accept_state(server);
	for (i = 0, rc = 0; i < 100 && (rc != 1 || rs != 1); i++) {
		if (rc != 1)
			rc = SSL_do_handshake(client);
		if (rs != 1)
			rs = SSL_do_handshake(server);
	}
	return rc == 1 && rs == 1;
}

static void
test_sites_by_sni(void)
{
	static const char *const	 names_a[] = { "a.example" };
	static const char *const	 names_b[] = { "b.example", "www.b" };
	struct tls_site			 v[2];
	struct tls_sites		 sites = { v, 2 };
	struct buf			 err;
	char				 c[2][160], k[2][160], sub[64];
	SSL_CTX				*cctx;
	SSL				*cl, *sv;
	EVP_PKEY			*ck = EVP_EC_gen("P-256");
	X509				*cx;
	const char			*sni[] = { NULL, "b.example", "WWW.B",
					    "unknown.example", "a.example" };
	const int			 want[] = { 0, 1, 1, 0, 0 };
	size_t				 i;

	cx = make_cert("me", ck, NULL, NULL, -1, 1, false);
	buf_init(&err, 1024);
	for (i = 0; i < 2; i++) {
		snprintf(c[i], sizeof(c[i]), "%s/s%zu/c.crt", dir, i);
		snprintf(k[i], sizeof(k[i]), "%s/s%zu/c.key", dir, i);
		CHECK_INT(1, tls_ensure_cert(c[i], k[i], i ? "b.example" :
		    "a.example", &err));
		v[i].ctx = tls_ctx_new(c[i], k[i], &err);
		CHECK(v[i].ctx != NULL);
	}
	v[0].names = names_a;
	v[0].nnames = 1;
	v[0].ask_cert = false;
	v[1].names = names_b;
	v[1].nnames = 2;
	v[1].ask_cert = true;
	tls_sites_attach(&sites);
	cctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_use_certificate(cctx, cx);
	SSL_CTX_use_PrivateKey(cctx, ck);
	for (i = 0; i < sizeof(sni) / sizeof(sni[0]); i++) {
		cl = SSL_new(cctx);
		sv = SSL_new(v[0].ctx);
		if (sni[i] != NULL)
			SSL_set_tlsext_host_name(cl, sni[i]);
		CHECK(handshake(cl, sv));
		CHECK(SSL_get_SSL_CTX(sv) == v[want[i]].ctx);
		/* The server's certificate is the site's. */
		X509_NAME_oneline(X509_get_subject_name(
		    SSL_get0_peer_certificate(cl)), sub, sizeof(sub));
		CHECK_STR(want[i] ? "/CN=b.example" : "/CN=a.example", sub);
		/* Only the site with ask_cert got the client's, and took it
		 * although no CA vouches for it. */
		CHECK((SSL_get0_peer_certificate(sv) != NULL) ==
		    (want[i] == 1));
		SSL_free(cl);
		SSL_free(sv);
	}
	SSL_CTX_free(cctx);
	SSL_CTX_free(v[0].ctx);
	SSL_CTX_free(v[1].ctx);
	X509_free(cx);
	EVP_PKEY_free(ck);
	buf_free(&err);
}

/*
 * The client reads what the server sent after the handshake: the
 * ticket.  Returns the session the client would offer next time.
 */
static SSL_SESSION *
take_ticket(SSL *client)
{
	char	b[16];

	(void)SSL_read(client, b, sizeof(b));
	return SSL_get1_session(client);
}

/* One handshake; the suite it agreed on and whether it resumed. */
static const char *
suite_with(SSL_CTX *sctx, SSL_CTX *cctx, SSL_SESSION **sess, bool *reused)
{
	SSL		*cl = SSL_new(cctx), *sv = SSL_new(sctx);
	const char	*name = "no handshake";

	if (*sess != NULL)
		SSL_set_session(cl, *sess);
	if (handshake(cl, sv)) {
		name = SSL_CIPHER_get_name(SSL_get_current_cipher(sv));
		*reused = SSL_session_reused(sv) == 1;
		SSL_SESSION_free(*sess);
		*sess = take_ticket(cl);
	}
	/* Freed without a close, the session would turn unresumable. */
	SSL_set_shutdown(cl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	SSL_free(cl);
	SSL_free(sv);
	return name;
}

static void
test_suite_and_ticket_cipher(void)
{
	unsigned char	 secret[TLS_TICKET_SECRET_LEN];
	struct buf	 err;
	SSL_CTX		*sctx, *cctx;
	SSL_SESSION	*sess = NULL;
	bool		 reused = true;

	buf_init(&err, 256);
	sctx = tls_ctx_new(crt, key, &err);
	CHECK(sctx != NULL);
	CHECK_INT(0, tls_ticket_secret_new(secret));
	tls_ctx_set_ticket_secret(sctx, secret, TLS_TICKET_ROTATE_SECONDS);
	cctx = SSL_CTX_new(TLS_client_method());
	/* OpenSSL's own client lists AES-256 first; the server's order wins. */
	CHECK_STR("TLS_AES_128_GCM_SHA256",
	    suite_with(sctx, cctx, &sess, &reused));
	CHECK(!reused);
	/* The ticket, sealed with the context's own cipher, resumes. */
	CHECK(sess != NULL);
	CHECK_STR("TLS_AES_128_GCM_SHA256",
	    suite_with(sctx, cctx, &sess, &reused));
	CHECK(reused);
	SSL_SESSION_free(sess);
	sess = NULL;
	/* A client that puts ChaCha20 first has no AES instructions. */
	SSL_CTX_set_ciphersuites(cctx, "TLS_CHACHA20_POLY1305_SHA256:"
	    "TLS_AES_128_GCM_SHA256");
	CHECK_STR("TLS_CHACHA20_POLY1305_SHA256",
	    suite_with(sctx, cctx, &sess, &reused));
	SSL_SESSION_free(sess);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	buf_free(&err);
}

int
main(void)
{
	char	cmd[128];
	int	rc;

	snprintf(dir, sizeof(dir), "/tmp/tls-unit.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(crt, sizeof(crt), "%s/a/c.crt", dir);
	snprintf(key, sizeof(key), "%s/a/c.key", dir);
	RUN(test_generates_p256_pair_with_san);
	RUN(test_context_loads_pair);
	RUN(test_readable_key_refused);
	RUN(test_half_pair_refused);
	RUN(test_mismatched_pair_refused);
	RUN(test_ticket_keys_rotate_and_overlap);
	RUN(test_client_verdicts);
	RUN(test_cert_subject_and_fingerprint);
	RUN(test_ca_load);
	RUN(test_sites_by_sni);
	RUN(test_suite_and_ticket_cipher);
	rc = CHECK_SUMMARY();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return rc;
}
