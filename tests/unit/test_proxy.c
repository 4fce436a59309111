#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "proxy.h"

/* The version 2 signature, as the spec prints it. */
#define SIG	"\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0A"

/* sizeof a string literal that may hold NUL bytes, without its own NUL. */
#define LIT(s)	span_make((s), sizeof(s) - 1)

/* "addr:port" of a parsed address, for comparisons. */
static const char *
show(const struct sockaddr_storage *ss)
{
	static char	out[2][INET6_ADDRSTRLEN + 16];
	static int	k;
	char		host[INET6_ADDRSTRLEN];
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)ss;

	k = !k;
	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(out[k], sizeof(out[k]), "%s:%u", host,
		    ntohs(sin->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(out[k], sizeof(out[k]), "[%s]:%u", host,
		    ntohs(sin6->sin6_port));
	} else
		snprintf(out[k], sizeof(out[k]), "family %d", ss->ss_family);
	return out[k];
}

/* Every proper prefix of a header asks for more. */
static void
check_prefixes(struct span in, size_t len)
{
	struct proxy_header	h;
	size_t			i;

	for (i = 0; i < len; i++)
		if (proxy_parse(span_make(in.p, i), &h) != PROXY_NEED_MORE) {
			fprintf(stderr, "prefix of %zu bytes: %s\n", i,
			    h.reason ? h.reason : "done");
			CHECK(!"every proper prefix needs more");
			return;
		}
}

static void
expect_done(struct span in, size_t len, int version, const char *src,
    const char *dst)
{
	struct proxy_header	h;

	CHECK_INT(PROXY_DONE, proxy_parse(in, &h));
	CHECK_INT(len, h.len);
	CHECK_INT(version, h.version);
	if (src == NULL) {
		CHECK(h.local);
	} else {
		CHECK(!h.local);
		CHECK_STR(src, show(&h.src));
		CHECK_STR(dst, show(&h.dst));
		CHECK_INT(h.src.ss_family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6),
		    h.srclen);
	}
	check_prefixes(in, len);
}

static void
expect_malformed(struct span in, const char *reason)
{
	struct proxy_header	h;

	CHECK_INT(PROXY_MALFORMED, proxy_parse(in, &h));
	CHECK_STR(reason, h.reason);
}

/* The spec's own example, with the request after it left alone. */
static void
test_v1_spec_example(void)
{
	static const char	in[] =
	    "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"
	    "GET / HTTP/1.1\r\n";

	expect_done(LIT(in), 47, 1, "192.168.0.1:56324",
	    "192.168.0.11:443");
}

static void
test_v1_tcp6(void)
{
	static const char	in[] =
	    "PROXY TCP6 2001:db8::1 2001:db8::2 40000 1965\r\n\x16\x03\x01";

	expect_done(LIT(in), 47, 1, "[2001:db8::1]:40000",
	    "[2001:db8::2]:1965");
}

/* The spec's longest lines: 104 bytes for TCP6, 107 for UNKNOWN. */
static void
test_v1_longest_lines(void)
{
	static const char	tcp6[] = "PROXY TCP6 "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	static const char	unknown[] = "PROXY UNKNOWN "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	static const char	longer[] = "PROXY UNKNOWN "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 655350\r\n";

	CHECK_INT(104, sizeof(tcp6) - 1);
	expect_done(LIT(tcp6), 104, 1,
	    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
	    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	CHECK_INT(PROXY_V1_MAX, sizeof(unknown) - 1);
	expect_done(LIT(unknown), PROXY_V1_MAX, 1, NULL, NULL);
	expect_malformed(LIT(longer),
	    "version 1 line has no CRLF in its first 107 bytes");
	/* 106 bytes without a CR leave no room for a CRLF: give up. */
	expect_malformed(span_make(longer, PROXY_V1_MAX - 1),
	    "version 1 line has no CRLF in its first 107 bytes");
	CHECK_INT(PROXY_NEED_MORE, proxy_parse(span_make(longer,
	    PROXY_V1_MAX - 2), &(struct proxy_header){ 0 }));
}

static void
test_v1_unknown(void)
{
	expect_done(LIT("PROXY UNKNOWN\r\n"), 15, 1, NULL, NULL);
	expect_done(LIT("PROXY UNKNOWN 1.2.3.4 junk\r\nX"), 28, 1, NULL,
	    NULL);
	expect_malformed(LIT("PROXY UNKNOWNX\r\n"),
	    "version 1 line does not have five fields after PROXY");
}

static void
test_v1_line_ends(void)
{
	expect_malformed(LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"),
	    "version 1 line ends in LF without CR");
	expect_malformed(LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX"),
	    "version 1 line has a CR without LF");
	/* A CR at the end may still be followed by its LF. */
	CHECK_INT(PROXY_NEED_MORE, proxy_parse(
	    LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r"),
	    &(struct proxy_header){ 0 }));
}

static void
test_v1_bad_fields(void)
{
	const char	*fields = "version 1 line does not have five fields "
	    "after PROXY";
	const char	*addr = "version 1 address does not match its protocol";
	const char	*port = "version 1 port is not a number from 0 to "
	    "65535";

	expect_malformed(LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"), fields);
	expect_malformed(LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"), fields);
	expect_malformed(LIT("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n"), fields);
	expect_malformed(LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n"), fields);
	expect_malformed(LIT("PROXY\r\n"), "no PROXY protocol header");
	expect_malformed(LIT("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n"),
	    "version 1 protocol is not TCP4, TCP6 or UNKNOWN");
	expect_malformed(LIT("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n"),
	    "version 1 protocol is not TCP4, TCP6 or UNKNOWN");
	expect_malformed(LIT("PROXY TCP4 ::1 5.6.7.8 1 2\r\n"), addr);
	expect_malformed(LIT("PROXY TCP6 1.2.3.4 ::1 1 2\r\n"), addr);
	expect_malformed(LIT("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n"), addr);
	expect_malformed(LIT("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n"), addr);
	expect_malformed(LIT("PROXY TCP4 1.2.3.4 5.6.7.256 1 2\r\n"), addr);
	expect_malformed(LIT("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n"), addr);
	expect_malformed(LIT("PROXY TCP4 1.2.3.4 5.6.7.8 0443 2\r\n"), port);
	expect_malformed(LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n"), port);
	expect_malformed(LIT("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n"), port);
	expect_malformed(LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 +2\r\n"), port);
	expect_malformed(LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\0\r\n"), port);
	expect_done(LIT("PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n"), 44,
	    1, "0.0.0.0:0", "255.255.255.255:65535");
}

/* A client that connects without a header is turned away at once. */
static void
test_no_header(void)
{
	const char	*r = "no PROXY protocol header";

	expect_malformed(LIT("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
	    r);
	expect_malformed(LIT("/\r\n"), r);
	expect_malformed(LIT("GET / HTTP/1.0\r\n"), r);
	expect_malformed(LIT("PROXX"), r);
	expect_malformed(LIT("\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54"
	    "\x0B"), r);
	CHECK_INT(PROXY_NEED_MORE, proxy_parse(LIT("PROXY"),
	    &(struct proxy_header){ 0 }));
	CHECK_INT(PROXY_NEED_MORE, proxy_parse(span_make(NULL, 0),
	    &(struct proxy_header){ 0 }));
}

/* The spec's IPv4 example again, in binary, with the client's bytes after. */
static void
test_v2_tcp4(void)
{
	static const char	in[] = SIG "\x21\x11\x00\x0C"
	    "\xC0\xA8\x00\x01" "\xC0\xA8\x00\x0B" "\xDC\x04" "\x01\xBB"
	    "\x16\x03\x01";

	expect_done(LIT(in), 28, 2, "192.168.0.1:56324",
	    "192.168.0.11:443");
}

static void
test_v2_tcp6(void)
{
	static const char	in[] = SIG "\x21\x21\x00\x24"
	    "\x20\x01\x0D\xB8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"
	    "\x20\x01\x0D\xB8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02"
	    "\x9C\x40" "\x07\xAD";

	expect_done(LIT(in), 52, 2, "[2001:db8::1]:40000",
	    "[2001:db8::2]:1965");
}

/* LOCAL: a health check; its length is still skipped, whatever it is. */
static void
test_v2_local(void)
{
	static const char	bare[] = SIG "\x20\x00\x00\x00" "/\r\n";
	static const char	block[] = SIG "\x20\x11\x00\x0C"
	    "\x7F\x00\x00\x01\x7F\x00\x00\x01\x00\x01\x00\x02";
	static const char	oddfam[] = SIG "\x20\xFF\x00\x00";

	expect_done(LIT(bare), 16, 2, NULL, NULL);
	expect_done(LIT(block), 28, 2, NULL, NULL);
	expect_done(LIT(oddfam), 16, 2, NULL, NULL);
}

/* TLVs after the addresses are skipped, not read. */
static void
test_v2_tlvs_skipped(void)
{
	static const char	in[] = SIG "\x21\x11\x00\x1C"
	    "\x0A\x00\x00\x05" "\x0A\x00\x00\x01" "\x30\x39" "\x07\xAD"
	    "\x04\x00\x03" "\x00\x00\x00"		/* PP2_TYPE_NOOP */
	    "\x02\x00\x07" "example"			/* PP2_TYPE_AUTHORITY */
	    "\x16";

	expect_done(LIT(in), 44, 2, "10.0.0.5:12345", "10.0.0.1:1965");
}

/* UDP, UNIX and UNSPEC carry no TCP client: the real endpoints stand. */
static void
test_v2_other_families(void)
{
	static const char	udp[] = SIG "\x21\x12\x00\x0C"
	    "\x0A\x00\x00\x05\x0A\x00\x00\x01\x30\x39\x07\xAD";
	static const char	unspec[] = SIG "\x21\x00\x00\x00";
	char			unx[16 + 216];

	expect_done(LIT(udp), 28, 2, NULL, NULL);
	expect_done(LIT(unspec), 16, 2, NULL, NULL);
	memset(unx, 0, sizeof(unx));
	memcpy(unx, SIG "\x21\x31\x00\xD8", 16);
	expect_done(span_make(unx, sizeof(unx)), sizeof(unx), 2, NULL, NULL);
}

static void
test_v2_bad_fixed_part(void)
{
	expect_malformed(LIT(SIG "\x11\x11\x00\x0C"),
	    "version 2 signature with another version");
	expect_malformed(LIT(SIG "\x22\x11\x00\x0C"),
	    "version 2 command is neither LOCAL nor PROXY");
	expect_malformed(LIT(SIG "\x21\x41\x00\x0C"),
	    "version 2 address family or protocol is undefined");
	expect_malformed(LIT(SIG "\x21\x13\x00\x0C"),
	    "version 2 address family or protocol is undefined");
	expect_malformed(LIT(SIG "\x21\x11\x00\x08"
	    "\x0A\x00\x00\x05\x0A\x00\x00\x01"),
	    "version 2 address block is too short for TCP over IPv4");
	expect_malformed(LIT(SIG "\x21\x21\x00\x0C"
	    "\x0A\x00\x00\x05\x0A\x00\x00\x01\x30\x39\x07\xAD"),
	    "version 2 address block is too short for TCP over IPv6");
}

/* The length is capped as soon as the fixed part is in. */
static void
test_v2_length_cap(void)
{
	static char		in[PROXY_HEADER_MAX + 1];
	struct proxy_header	h;

	memset(in, 0, sizeof(in));
	memcpy(in, SIG "\x21\x11", 14);
	in[14] = (char)(PROXY_V2_LEN_MAX >> 8);
	in[15] = (char)(PROXY_V2_LEN_MAX & 0xff);
	CHECK_INT(PROXY_NEED_MORE, proxy_parse(span_make(in,
	    PROXY_HEADER_MAX - 1), &h));
	CHECK_INT(PROXY_DONE, proxy_parse(span_make(in, sizeof(in)), &h));
	CHECK_INT(PROXY_HEADER_MAX, h.len);
	in[15]++;
	expect_malformed(span_make(in, PROXY_V2_FIXED),
	    "version 2 header is longer than capsuled accepts");
	in[14] = in[15] = (char)0xff;
	expect_malformed(span_make(in, PROXY_V2_FIXED),
	    "version 2 header is longer than capsuled accepts");
}

static void
test_net_parse(void)
{
	struct proxy_net	 n;
	const char		*reason = NULL;

	CHECK_INT(0, proxy_net_parse(span_cstr("127.0.0.1"), &n, &reason));
	CHECK_INT(AF_INET, n.family);
	CHECK_INT(32, n.bits);
	CHECK_INT(0, memcmp(n.addr, "\x7f\x00\x00\x01", 4));
	CHECK_INT(0, proxy_net_parse(span_cstr("10.0.0.0/8"), &n, &reason));
	CHECK_INT(8, n.bits);
	CHECK_INT(0, proxy_net_parse(span_cstr("::1"), &n, &reason));
	CHECK_INT(AF_INET6, n.family);
	CHECK_INT(128, n.bits);
	CHECK_INT(0, proxy_net_parse(span_cstr("fd00::/8"), &n, &reason));
	CHECK_INT(0, proxy_net_parse(span_cstr("0.0.0.0/0"), &n, &reason));
	/* IPv4-mapped entries become IPv4, as addresses do when matched. */
	CHECK_INT(0, proxy_net_parse(span_cstr("::ffff:10.0.0.0/104"), &n,
	    &reason));
	CHECK_INT(AF_INET, n.family);
	CHECK_INT(8, n.bits);
	CHECK_INT(0, memcmp(n.addr, "\x0a\x00\x00\x00", 4));
	CHECK_INT(0, proxy_net_parse(span_cstr("::ffff:0:0/96"), &n, &reason));
	CHECK_INT(AF_INET, n.family);
	CHECK_INT(0, n.bits);
	CHECK_INT(-1, proxy_net_parse(span_cstr("10.1.0.0/8"), &n, &reason));
	CHECK_STR("has bits set beyond its prefix length; write the network's "
	    "first address, e.g. 10.0.0.0/8", reason);
	CHECK_INT(-1, proxy_net_parse(span_cstr("1.2.3.4/33"), &n, &reason));
	CHECK_STR("has a prefix length that is not a number from 0 to 32 "
	    "(IPv4) or 128 (IPv6)", reason);
	CHECK_INT(-1, proxy_net_parse(span_cstr("::/129"), &n, &reason));
	CHECK_INT(-1, proxy_net_parse(span_cstr("1.2.3.4/"), &n, &reason));
	CHECK_INT(-1, proxy_net_parse(span_cstr("1.2.3.4/+8"), &n, &reason));
	CHECK_INT(-1, proxy_net_parse(span_cstr("[::1]"), &n, &reason));
	CHECK_STR("is not an IPv4 or IPv6 address", reason);
	CHECK_INT(-1, proxy_net_parse(span_cstr("localhost"), &n, &reason));
	CHECK_INT(-1, proxy_net_parse(span_cstr("/8"), &n, &reason));
	CHECK_INT(-1, proxy_net_parse(span_cstr(""), &n, &reason));
}

static void
set_addr(struct sockaddr_storage *ss, const char *text)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1)
		sin6->sin6_family = AF_INET6;
}

static void
test_net_match(void)
{
	struct proxy_net	 nets[3];
	struct sockaddr_storage	 ss;
	const char		*reason;

	proxy_net_parse(span_cstr("127.0.0.0/8"), &nets[0], &reason);
	proxy_net_parse(span_cstr("::1"), &nets[1], &reason);
	proxy_net_parse(span_cstr("10.20.0.0/14"), &nets[2], &reason);
	set_addr(&ss, "127.1.2.3");
	CHECK(proxy_net_match(nets, 3, (struct sockaddr *)&ss));
	set_addr(&ss, "128.0.0.1");
	CHECK(!proxy_net_match(nets, 3, (struct sockaddr *)&ss));
	set_addr(&ss, "::ffff:127.0.0.1");
	CHECK(proxy_net_match(nets, 3, (struct sockaddr *)&ss));
	proxy_net_parse(span_cstr("::ffff:10.20.30.40"), &nets[2], &reason);
	set_addr(&ss, "10.20.30.40");
	CHECK(proxy_net_match(nets, 3, (struct sockaddr *)&ss));
	set_addr(&ss, "::ffff:10.20.30.40");
	CHECK(proxy_net_match(nets, 3, (struct sockaddr *)&ss));
	proxy_net_parse(span_cstr("10.20.0.0/14"), &nets[2], &reason);
	set_addr(&ss, "::1");
	CHECK(proxy_net_match(nets, 3, (struct sockaddr *)&ss));
	set_addr(&ss, "::2");
	CHECK(!proxy_net_match(nets, 3, (struct sockaddr *)&ss));
	set_addr(&ss, "10.23.255.255");
	CHECK(proxy_net_match(nets, 3, (struct sockaddr *)&ss));
	set_addr(&ss, "10.24.0.0");
	CHECK(!proxy_net_match(nets, 3, (struct sockaddr *)&ss));
	/* The loopback list is not the whole world. */
	CHECK(!proxy_net_match(nets, 2, (struct sockaddr *)&ss));
	ss.ss_family = AF_UNIX;
	CHECK(!proxy_net_match(nets, 3, (struct sockaddr *)&ss));
	proxy_net_parse(span_cstr("0.0.0.0/0"), &nets[0], &reason);
	set_addr(&ss, "203.0.113.9");
	CHECK(proxy_net_match(nets, 1, (struct sockaddr *)&ss));
}

int
main(void)
{
	RUN(test_v1_spec_example);
	RUN(test_v1_tcp6);
	RUN(test_v1_longest_lines);
	RUN(test_v1_unknown);
	RUN(test_v1_line_ends);
	RUN(test_v1_bad_fields);
	RUN(test_no_header);
	RUN(test_v2_tcp4);
	RUN(test_v2_tcp6);
	RUN(test_v2_local);
	RUN(test_v2_tlvs_skipped);
	RUN(test_v2_other_families);
	RUN(test_v2_bad_fixed_part);
	RUN(test_v2_length_cap);
	RUN(test_net_parse);
	RUN(test_net_match);
	return CHECK_SUMMARY();
}
