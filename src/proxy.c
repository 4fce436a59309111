#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "proxy.h"

/* Version 2 starts with these 12 bytes, chosen to break other protocols. */
static const unsigned char proxy_v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* The first 12 bytes of an IPv4-mapped IPv6 address, ::ffff:a.b.c.d. */
static const unsigned char proxy_v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* Version 1 starts with "PROXY" and exactly one space. */
static const char proxy_v1_sig[] = "PROXY ";

/* Command (low nibble of byte 13) and family/protocol (byte 14) values. */
#define PROXY_V2_VERSION	0x2
#define PROXY_V2_LOCAL		0x0
#define PROXY_V2_PROXY		0x1
#define PROXY_V2_TCP4		0x11
#define PROXY_V2_TCP6		0x21

/* Address block sizes of TCP over IPv4 and IPv6: two addresses, two ports. */
#define PROXY_V2_TCP4_LEN	12
#define PROXY_V2_TCP6_LEN	36

/* Fields after "PROXY ": protocol, source, destination, two ports. */
#define PROXY_V1_FIELDS		5

static enum proxy_status
proxy_malformed(struct proxy_header *h, const char *reason)
{
	h->reason = reason;
	return PROXY_MALFORMED;
}

/* The bytes of in so far agree with the first n bytes of sig. */
static bool
proxy_agrees(struct span in, const void *sig, size_t n)
{
	return memcmp(in.p, sig, in.n < n ? in.n : n) == 0;
}

/* Decimal 0 to 65535 without leading zeros, as the spec writes ports. */
static int
proxy_port(struct span s, unsigned short *port)
{
	unsigned long	v = 0;
	size_t		i;

	if (s.n == 0 || s.n > 5 || (s.n > 1 && s.p[0] == '0'))
		return -1;
	for (i = 0; i < s.n; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s.p[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (unsigned short)v;
	return 0;
}

/*
 * A text address of family af into out (16 or 4 bytes).  inet_pton needs
 * a C string, so the span is copied into a bounded one first.
 */
static int
proxy_text_addr(struct span s, int af, void *out)
{
	char	text[INET6_ADDRSTRLEN];

	if (s.n == 0 || s.n >= sizeof(text))
		return -1;
	memcpy(text, s.p, s.n);
	text[s.n] = '\0';
	return inet_pton(af, text, out) == 1 ? 0 : -1;
}

/* Fill a sockaddr of family af from a raw address and a host-order port. */
static socklen_t
proxy_sockaddr(struct sockaddr_storage *ss, int af, const void *addr,
    unsigned short port)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, addr, 4);
		sin->sin_port = htons(port);
		return sizeof(*sin);
	}
	sin6->sin6_family = AF_INET6;
	memcpy(&sin6->sin6_addr, addr, 16);
	sin6->sin6_port = htons(port);
	return sizeof(*sin6);
}

/* Split s at single spaces into at most n fields; more than n gives n + 1. */
static size_t
proxy_fields(struct span s, struct span *f, size_t n)
{
	size_t	count = 0;
	long	sp;

	for (;;) {
		if (count == n)
			return n + 1;
		sp = span_index(s, ' ');
		if (sp == -1) {
			f[count++] = s;
			return count;
		}
		f[count++] = span_make(s.p, (size_t)sp);
		s = span_make(s.p + sp + 1, s.n - (size_t)sp - 1);
	}
}

/* The version 1 line without its CRLF. */
static enum proxy_status
proxy_v1_line(struct span line, struct proxy_header *h)
{
	struct span	 f[PROXY_V1_FIELDS];
	struct span	 rest;
	unsigned char	 src[16], dst[16];
	unsigned short	 sport, dport;
	int		 af;

	rest = span_make(line.p + strlen(proxy_v1_sig),
	    line.n - strlen(proxy_v1_sig));
	/* The sender may leave out, and we must ignore, what follows. */
	if (span_eq_cstr(rest, "UNKNOWN") ||
	    span_starts_with(rest, "UNKNOWN ")) {
		h->local = true;
		return PROXY_DONE;
	}
	if (proxy_fields(rest, f, PROXY_V1_FIELDS) != PROXY_V1_FIELDS)
		return proxy_malformed(h, "version 1 line does not have five "
		    "fields after PROXY");
	if (span_eq_cstr(f[0], "TCP4"))
		af = AF_INET;
	else if (span_eq_cstr(f[0], "TCP6"))
		af = AF_INET6;
	else
		return proxy_malformed(h, "version 1 protocol is not TCP4, "
		    "TCP6 or UNKNOWN");
	if (proxy_text_addr(f[1], af, src) == -1 ||
	    proxy_text_addr(f[2], af, dst) == -1)
		return proxy_malformed(h, "version 1 address does not match "
		    "its protocol");
	if (proxy_port(f[3], &sport) == -1 || proxy_port(f[4], &dport) == -1)
		return proxy_malformed(h, "version 1 port is not a number from "
		    "0 to 65535");
	h->srclen = proxy_sockaddr(&h->src, af, src, sport);
	h->dstlen = proxy_sockaddr(&h->dst, af, dst, dport);
	return PROXY_DONE;
}

static enum proxy_status
proxy_v1(struct span in, struct proxy_header *h)
{
	size_t	i, lim = in.n < PROXY_V1_MAX ? in.n : PROXY_V1_MAX;

	for (i = 0; i < lim && in.p[i] != '\r'; i++)
		if (in.p[i] == '\n')
			return proxy_malformed(h, "version 1 line ends in LF "
			    "without CR");
	/* CR and LF must both fit in PROXY_V1_MAX. */
	if (i + 2 > PROXY_V1_MAX)
		return proxy_malformed(h, "version 1 line has no CRLF in its "
		    "first 107 bytes");
	if (i + 1 >= in.n)
		return PROXY_NEED_MORE;
	if (in.p[i + 1] != '\n')
		return proxy_malformed(h, "version 1 line has a CR without LF");
	h->version = 1;
	h->len = i + 2;
	return proxy_v1_line(span_make(in.p, i), h);
}

static unsigned short
proxy_be16(const unsigned char *p)
{
	return (unsigned short)(p[0] << 8 | p[1]);
}

/* The address block of a version 2 PROXY command. */
static enum proxy_status
proxy_v2_addresses(const unsigned char *p, size_t len, struct proxy_header *h)
{
	const unsigned char	*a = p + PROXY_V2_FIXED;

	switch (p[13]) {
	case PROXY_V2_TCP4:
		if (len < PROXY_V2_TCP4_LEN)
			return proxy_malformed(h, "version 2 address block is "
			    "too short for TCP over IPv4");
		h->srclen = proxy_sockaddr(&h->src, AF_INET, a,
		    proxy_be16(a + 8));
		h->dstlen = proxy_sockaddr(&h->dst, AF_INET, a + 4,
		    proxy_be16(a + 10));
		return PROXY_DONE;
	case PROXY_V2_TCP6:
		if (len < PROXY_V2_TCP6_LEN)
			return proxy_malformed(h, "version 2 address block is "
			    "too short for TCP over IPv6");
		h->srclen = proxy_sockaddr(&h->src, AF_INET6, a,
		    proxy_be16(a + 32));
		h->dstlen = proxy_sockaddr(&h->dst, AF_INET6, a + 16,
		    proxy_be16(a + 34));
		return PROXY_DONE;
	default:
		/* UDP, UNIX or UNSPEC: the spec lets us fall back to local. */
		h->local = true;
		return PROXY_DONE;
	}
}

static enum proxy_status
proxy_v2(struct span in, struct proxy_header *h)
{
	const unsigned char	*p = (const unsigned char *)in.p;
	unsigned int		 cmd = p[12] & 0x0f;
	unsigned int		 family = p[13] >> 4, proto = p[13] & 0x0f;
	size_t			 len = proxy_be16(p + 14);

	if (p[12] >> 4 != PROXY_V2_VERSION)
		return proxy_malformed(h, "version 2 signature with another "
		    "version");
	if (cmd != PROXY_V2_LOCAL && cmd != PROXY_V2_PROXY)
		return proxy_malformed(h, "version 2 command is neither LOCAL "
		    "nor PROXY");
	/* LOCAL ignores the family byte; PROXY must use a defined one. */
	if (cmd == PROXY_V2_PROXY && (family > 3 || proto > 2))
		return proxy_malformed(h, "version 2 address family or "
		    "protocol is undefined");
	if (len > PROXY_V2_LEN_MAX)
		return proxy_malformed(h, "version 2 header is longer than "
		    "capsuled accepts");
	if (in.n < PROXY_V2_FIXED + len)
		return PROXY_NEED_MORE;
	h->version = 2;
	h->len = PROXY_V2_FIXED + len;
	/* What follows the addresses is TLVs, which we have no use for. */
	if (cmd == PROXY_V2_LOCAL) {
		h->local = true;
		return PROXY_DONE;
	}
	return proxy_v2_addresses(p, len, h);
}

enum proxy_status
proxy_parse(struct span in, struct proxy_header *h)
{
	memset(h, 0, sizeof(*h));
	if (in.n == 0)
		return PROXY_NEED_MORE;
	if (proxy_agrees(in, proxy_v2_sig, sizeof(proxy_v2_sig)))
		return in.n < PROXY_V2_FIXED ? PROXY_NEED_MORE :
		    proxy_v2(in, h);
	if (proxy_agrees(in, proxy_v1_sig, strlen(proxy_v1_sig)))
		return in.n < strlen(proxy_v1_sig) ? PROXY_NEED_MORE :
		    proxy_v1(in, h);
	return proxy_malformed(h, "no PROXY protocol header");
}

/* A prefix length: decimal, no sign, at most max. */
static int
proxy_bits(struct span s, unsigned int max, unsigned int *bits)
{
	unsigned int	v = 0;
	size_t		i;

	if (s.n == 0 || s.n > 3)
		return -1;
	for (i = 0; i < s.n; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return -1;
		v = v * 10 + (unsigned int)(s.p[i] - '0');
	}
	if (v > max)
		return -1;
	*bits = v;
	return 0;
}

/* The first bits of a and b are equal. */
static bool
proxy_prefix_eq(const unsigned char *a, const unsigned char *b,
    unsigned int bits)
{
	size_t		whole = bits / 8;
	unsigned int	rest = bits % 8;
	unsigned char	mask;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (unsigned char)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

/* Some address bit past the prefix length is set. */
static bool
proxy_host_bits_set(const struct proxy_net *net, unsigned int max)
{
	unsigned int	i;

	for (i = net->bits; i < max; i++)
		if (net->addr[i / 8] & (0x80 >> (i % 8)))
			return true;
	return false;
}

int
proxy_net_parse(struct span s, struct proxy_net *out, const char **reason)
{
	long		slash = span_index(s, '/');
	struct span	addr = s;
	unsigned int	max;

	memset(out, 0, sizeof(*out));
	if (slash != -1)
		addr = span_make(s.p, (size_t)slash);
	if (proxy_text_addr(addr, AF_INET, out->addr) == 0) {
		out->family = AF_INET;
		max = 32;
	} else if (proxy_text_addr(addr, AF_INET6, out->addr) == 0) {
		out->family = AF_INET6;
		max = 128;
	} else {
		*reason = "is not an IPv4 or IPv6 address";
		return -1;
	}
	out->bits = max;
	if (slash != -1 && proxy_bits(span_make(s.p + slash + 1,
	    s.n - (size_t)slash - 1), max, &out->bits) == -1) {
		*reason = "has a prefix length that is not a number from 0 to "
		    "32 (IPv4) or 128 (IPv6)";
		return -1;
	}
	/* 10.1.2.3/8 is more likely a typo than a way to write 10.0.0.0/8. */
	if (proxy_host_bits_set(out, max)) {
		*reason = "has bits set beyond its prefix length; write the "
		    "network's first address, e.g. 10.0.0.0/8";
		return -1;
	}
	/* proxy_net_match sees ::ffff:a.b.c.d as a.b.c.d: so must the list. */
	if (out->family == AF_INET6 && out->bits >= 96 &&
	    memcmp(out->addr, proxy_v4mapped, sizeof(proxy_v4mapped)) == 0) {
		memmove(out->addr, out->addr + 12, 4);
		memset(out->addr + 4, 0, 12);
		out->family = AF_INET;
		out->bits -= 96;
	}
	return 0;
}

bool
proxy_net_match(const struct proxy_net *nets, size_t n,
    const struct sockaddr *sa)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)sa;
	unsigned char			 a[16];
	sa_family_t			 af;
	size_t				 i;

	if (sa->sa_family == AF_INET) {
		af = AF_INET;
		memcpy(a, &sin->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		af = AF_INET;
		memcpy(a, sin6->sin6_addr.s6_addr + 12, 4);
	} else if (sa->sa_family == AF_INET6) {
		af = AF_INET6;
		memcpy(a, &sin6->sin6_addr, 16);
	} else
		return false;
	for (i = 0; i < n; i++)
		if (nets[i].family == af &&
		    proxy_prefix_eq(a, nets[i].addr, nets[i].bits))
			return true;
	return false;
}
