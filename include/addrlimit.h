/*
 * addrlimit: per-address abuse controls shared by every worker.  The
 * parent maps one fixed-size table before it forks; the kernel spreads one
 * client over all workers (SO_REUSEPORT), so only a table they all see can
 * count its requests and its open connections.  A client is an IPv4
 * address or an IPv6 /64 (one subscriber's usual allocation).
 *
 * The table is lock-free (atomics on shared memory), so a worker killed at
 * any instant leaves no lock behind; its connection counts are forgotten
 * with addrlimit_repair.  Entries that remember nothing (no connection
 * open, request budget full again) are reused for other addresses, so the
 * table never grows and old addresses age out.  When every entry an
 * address may use is busy, the address is let in uncounted: a full table
 * must never shut out clients.
 */
#ifndef CAPSULED_ADDRLIMIT_H
#define CAPSULED_ADDRLIMIT_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Entries in the shared table (24 bytes each): a flood of addresses can
 * cost no more memory than this. */
#define ADDRLIMIT_SLOTS		65536

/* Entries one address may use, looked at per connection: bounds the work a
 * client makes for the accept path. */
#define ADDRLIMIT_PROBE		16

/* The shortest wait a refused client is told, in seconds (44 says 0
 * would mean "retry at once", which invites a busy loop). */
#define ADDRLIMIT_WAIT_MIN	1

struct addrlimit;

/* The limits of one configuration; a limit of 0 is off. */
struct addrlimit_policy {
	unsigned int			 rate;	/* requests per window */
	unsigned int			 rate_window;	/* seconds */
	unsigned int			 per_address;	/* open connections */
	const struct proxy_net		*exempt;	/* never limited */
	size_t				 nexempt;
};

enum addrlimit_verdict {
	ADDRLIMIT_OK,		/* admitted and counted */
	ADDRLIMIT_UNCOUNTED,	/* admitted: exempt, or no limit is on */
	ADDRLIMIT_FULL,		/* admitted uncounted: no free entry */
	ADDRLIMIT_SLOW_DOWN,	/* over the request rate: answer 44 */
	ADDRLIMIT_TOO_MANY	/* over the connection cap: close at once */
};

/* What an admitted connection holds; give it back with addrlimit_leave. */
struct addrlimit_hold {
	uint32_t	slot;
	uint32_t	epoch;
	bool		held;
};

/*
 * Map a table of nslots entries (a power of two, ADDRLIMIT_SLOTS in the
 * server) shared with every process forked afterwards, with a random hash
 * key so that clients cannot aim at one part of it.  NULL on failure.
 */
struct addrlimit	*addrlimit_new(size_t nslots);

/* Unmap the table (in each process that still has it). */
void	addrlimit_free(struct addrlimit *t);

/* Fill pol from the limits: section of cfg (pointing into cfg). */
void	addrlimit_policy_from(struct addrlimit_policy *pol,
	    const struct config *cfg);

/* Whether pol exempts the address in sa (IPv4, IPv6, or IPv4-mapped). */
bool	addrlimit_is_exempt(const struct addrlimit_policy *pol,
	    const struct sockaddr *sa);

/*
 * Admit one connection from the client at sa at time now_us (monotonic
 * microseconds): check the connection cap, then count the connection and
 * spend one request of its budget.  On ADDRLIMIT_OK and ADDRLIMIT_SLOW_DOWN
 * *hold is held until addrlimit_leave; on ADDRLIMIT_SLOW_DOWN *wait_s is
 * how long the client should wait, in whole seconds.
 */
enum addrlimit_verdict	addrlimit_admit(struct addrlimit *t,
	    const struct addrlimit_policy *pol, const struct sockaddr *sa,
	    uint64_t now_us, struct addrlimit_hold *hold,
	    unsigned int *wait_s);

/* The connection behind hold has closed; safe to call twice. */
void	addrlimit_leave(struct addrlimit *t, struct addrlimit_hold *hold);

/*
 * Forget every connection count: after a worker died holding some.  The
 * connections still open elsewhere go uncounted until they close, which
 * errs on the side of letting clients in.
 */
void	addrlimit_repair(struct addrlimit *t);

/* Connections counted now for the client at sa (for tests and logs). */
unsigned int	addrlimit_count(struct addrlimit *t, const struct sockaddr *sa);

/* Monotonic time in microseconds, as addrlimit_admit wants it. */
uint64_t	addrlimit_now(void);

#endif
