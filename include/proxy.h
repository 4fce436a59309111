/*
 * proxy: the PROXY protocol header (versions 1 and 2) a load balancer such
 * as HAProxy puts before the client's first byte, naming the client's real
 * address, and the allow-list of addresses trusted to send one.  Pure
 * functions on spans: no I/O, no logging, no allocation.
 */
#ifndef CAPSULED_PROXY_H
#define CAPSULED_PROXY_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Longest v1 line with its CRLF (the spec's): an endless line is cut here. */
#define PROXY_V1_MAX		107

/* The fixed part of a version 2 header: signature, command, family, len. */
#define PROXY_V2_FIXED		16

/* Most v2 bytes after the fixed part: the field would let 64 KiB be held. */
#define PROXY_V2_LEN_MAX	1024

/* Longest header of either version, so the most a reader must buffer. */
#define PROXY_HEADER_MAX	(PROXY_V2_FIXED + PROXY_V2_LEN_MAX)

enum proxy_status {
	PROXY_NEED_MORE,	/* every byte so far belongs to the header */
	PROXY_DONE,		/* a complete, valid header */
	PROXY_MALFORMED		/* not a valid header: drop the connection */
};

/* What a header says. */
struct proxy_header {
	size_t			 len;		/* bytes the header takes */
	int			 version;	/* 1 or 2 */
	/*
	 * No client address to use: a v2 LOCAL command (a health check), v1
	 * UNKNOWN, or a family other than TCP over IPv4/IPv6.  The
	 * connection's own addresses stand, as the spec asks.
	 */
	bool			 local;
	struct sockaddr_storage	 src;		/* the client, unless local */
	socklen_t		 srclen;
	struct sockaddr_storage	 dst;		/* where it connected to */
	socklen_t		 dstlen;
	const char		*reason;	/* PROXY_MALFORMED: why */
};

/*
 * Parse the PROXY header at the start of in.  PROXY_NEED_MORE means in is
 * a proper prefix of a header that may still be valid, so every byte of
 * it may be consumed; PROXY_DONE fills h, with h->len the header's bytes
 * (what follows belongs to the client); PROXY_MALFORMED sets h->reason, a
 * static phrase.  Input of PROXY_HEADER_MAX bytes or more never needs
 * more.
 */
enum proxy_status proxy_parse(struct span in, struct proxy_header *h);

/* One entry of an allow-list: an address and a prefix length. */
struct proxy_net {
	sa_family_t	family;		/* AF_INET or AF_INET6 */
	unsigned char	addr[16];	/* network byte order, 4 or 16 used */
	unsigned int	bits;		/* prefix length, 0 to 32 or 128 */
};

/*
 * Parse "ADDRESS" or "ADDRESS/BITS" (IPv4 or IPv6, no brackets) into out;
 * host bits beyond the prefix must be zero.  Returns 0, or -1 with
 * *reason a static phrase that follows the quoted entry in a message.
 */
int	proxy_net_parse(struct span s, struct proxy_net *out,
	    const char **reason);

/*
 * True when the address of sa is inside one of the n networks.  An
 * IPv4-mapped IPv6 address counts as its IPv4 address.
 */
bool	proxy_net_match(const struct proxy_net *nets, size_t n,
	    const struct sockaddr *sa);

#endif
