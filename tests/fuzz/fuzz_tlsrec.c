/*
 * fuzz_tlsrec: the record opener on arbitrary bytes, which must never read
 * past them nor take a record it cannot authenticate; and the input as
 * plaintext, sealed by one side and opened by the other, must come back
 * the same, whatever its inner type.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tlsrec.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define SUITE_AES_128_GCM	0x03001301UL

static void
require(bool ok)
{
	if (!ok)
		abort();
}

static void
open_all(struct tlsrec *r, unsigned char *p, size_t n)
{
	size_t	used, plen;

	while (n > 0 && tlsrec_open(r, p, n, &used, &plen) == TLSREC_DATA) {
		require(used <= n && plen + TLSREC_SEAL_OVERHEAD <= used);
		p += used;
		n -= used;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char	 buf[TLSREC_RECORD_MAX * 2];
	unsigned char		 a[32], b[32];
	struct tlsrec		 us, them;
	size_t			 n = size < sizeof(buf) ? size : sizeof(buf);
	size_t			 take, len, used, plen;

	memset(a, 0xa5, sizeof(a));
	memset(b, 0x5a, sizeof(b));
	require(tlsrec_from_secrets(&us, SUITE_AES_128_GCM, a, b, 32, 0,
	    0) == 0);
	require(tlsrec_from_secrets(&them, SUITE_AES_128_GCM, b, a, 32, 0,
	    0) == 0);
	memcpy(buf, data, n);
	open_all(&us, buf, n);
	take = n < TLSREC_PLAIN_MAX ? n : TLSREC_PLAIN_MAX;
	len = tlsrec_seal(&them, TLSREC_APPDATA, data, take, buf);
	require(len == take + TLSREC_SEAL_OVERHEAD);
	us.rd.seq = them.wr.seq - 1;
	require(tlsrec_open(&us, buf, len, &used, &plen) == TLSREC_DATA);
	require(used == len && plen == take &&
	    memcmp(buf + TLSREC_HEADER_LEN, data, take) == 0);
	tlsrec_clear(&us);
	tlsrec_clear(&them);
	return 0;
}
