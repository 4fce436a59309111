#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
	rc = CHECK_SUMMARY();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return rc;
}
