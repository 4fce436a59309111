/*
 * fuzz_proxy: the PROXY protocol parser and the allow-list entry parser on
 * arbitrary bytes.  The connection code consumes every byte of a
 * need-more answer and exactly h.len bytes of a done one, so the parser
 * must agree with itself on prefixes: a header's proper prefixes need
 * more, and the header alone parses the same.  Any broken rule aborts.
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "proxy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
require(bool ok)
{
	if (!ok)
		abort();
}

static void
check_done(struct span in, const struct proxy_header *h)
{
	struct proxy_header	again;

	require(h->len > 0 && h->len <= in.n && h->len <= PROXY_HEADER_MAX);
	require(h->reason == NULL);
	require(h->version == 1 || h->version == 2);
	require(h->version == 2 || h->len <= PROXY_V1_MAX);
	require(h->version == 1 || h->len >= PROXY_V2_FIXED);
	if (!h->local) {
		require(h->src.ss_family == h->dst.ss_family);
		require((h->src.ss_family == AF_INET &&
		    h->srclen == sizeof(struct sockaddr_in)) ||
		    (h->src.ss_family == AF_INET6 &&
		    h->srclen == sizeof(struct sockaddr_in6)));
		require(h->dstlen == h->srclen);
	}
	/* The header alone, and the header minus what it still needs. */
	require(proxy_parse(span_make(in.p, h->len), &again) == PROXY_DONE);
	require(again.len == h->len && again.local == h->local &&
	    memcmp(&again.src, &h->src, sizeof(h->src)) == 0);
	require(proxy_parse(span_make(in.p, h->len - 1), &again) ==
	    PROXY_NEED_MORE);
	require(proxy_parse(span_make(in.p, h->len / 2), &again) ==
	    PROXY_NEED_MORE);
}

static void
check_net(struct span in)
{
	struct proxy_net	 net;
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	const char		*reason = NULL;

	if (proxy_net_parse(in, &net, &reason) == -1) {
		require(reason != NULL);
		return;
	}
	/* A network contains its own first address. */
	if (net.family == AF_INET) {
		require(net.bits <= 32);
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		memcpy(&sin.sin_addr, net.addr, 4);
		require(proxy_net_match(&net, 1, (struct sockaddr *)&sin));
	} else {
		require(net.family == AF_INET6 && net.bits <= 128);
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		memcpy(&sin6.sin6_addr, net.addr, 16);
		require(proxy_net_match(&net, 1, (struct sockaddr *)&sin6));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct span		in = span_make((const char *)data, size);
	struct proxy_header	h;

	switch (proxy_parse(in, &h)) {
	case PROXY_NEED_MORE:
		require(size < PROXY_HEADER_MAX);
		break;
	case PROXY_DONE:
		check_done(in, &h);
		break;
	case PROXY_MALFORMED:
		require(h.reason != NULL);
		break;
	default:
		abort();
	}
	check_net(in);
	return 0;
}
