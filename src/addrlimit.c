#include <sys/mman.h>
#include <sys/random.h>

#include <netinet/in.h>

#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "addrlimit.h"

/* Shared memory is only safe to update if these need no hidden lock. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");

/* Tries to find or claim an entry when others race for the same ones. */
#define ADDRLIMIT_CLAIM_TRIES	4

/*
 * Keys: an IPv6 /64 prefix as it is, an IPv4 address inside ff00::/8.
 * That block is multicast, which is never the source of a TCP connection,
 * so no real prefix can collide with an IPv4 key; 0 marks a free entry,
 * and the only prefix that is 0 (::/64, loopback and the like) gets a
 * multicast key of its own.
 */
#define ADDRLIMIT_KEY_V4	0xff00000000000000ULL
#define ADDRLIMIT_KEY_V6_ZERO	0xff01000000000000ULL

/*
 * One address.  conns packs the repair epoch (high half) with the count
 * of open connections, so that one compare-and-swap sees both; full_at is
 * when the address's request budget is whole again (the "theoretical
 * arrival time" of GCRA, a token bucket kept in one number).
 */
struct addrlimit_slot {
	_Atomic uint64_t	key;
	_Atomic uint64_t	conns;
	_Atomic uint64_t	full_at;
};

struct addrlimit {
	_Atomic uint32_t	epoch;
	uint64_t		seed[2];
	size_t			nslots;
	size_t			mapped;
	struct addrlimit_slot	slots[];
};

static size_t
addrlimit_size(size_t nslots)
{
	return sizeof(struct addrlimit) +
	    nslots * sizeof(struct addrlimit_slot);
}

struct addrlimit *
addrlimit_new(size_t nslots)
{
	struct addrlimit	*t;
	size_t			 size;

	if (nslots == 0 || (nslots & (nslots - 1)) != 0)
		return NULL;
	size = addrlimit_size(nslots);
	t = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t == MAP_FAILED)
		return NULL;
	if (getrandom(t->seed, sizeof(t->seed), 0) != sizeof(t->seed)) {
		munmap(t, size);
		return NULL;
	}
	t->nslots = nslots;
	t->mapped = size;
	return t;
}

void
addrlimit_free(struct addrlimit *t)
{
	if (t != NULL)
		munmap(t, t->mapped);
}

void
addrlimit_policy_from(struct addrlimit_policy *pol, const struct config *cfg)
{
	pol->rate = cfg->rate;
	pol->rate_window = cfg->rate_window;
	pol->per_address = cfg->max_per_address;
	pol->exempt = cfg->exempt;
	pol->nexempt = cfg->nexempt;
}

uint64_t
addrlimit_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * The address bytes of sa: 4 for IPv4 (IPv4-mapped IPv6 included, so a
 * dual-stack socket counts a client once), 16 for IPv6, 0 otherwise.
 */
static size_t
addrlimit_bytes(const struct sockaddr *sa, const unsigned char **p)
{
	const struct sockaddr_in6	*sin6;

	if (sa->sa_family == AF_INET) {
		*p = (const unsigned char *)
		    &((const struct sockaddr_in *)sa)->sin_addr;
		return 4;
	}
	if (sa->sa_family != AF_INET6)
		return 0;
	sin6 = (const struct sockaddr_in6 *)sa;
	*p = sin6->sin6_addr.s6_addr;
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		*p += 12;
		return 4;
	}
	return 16;
}

static uint64_t
addrlimit_key(const struct sockaddr *sa)
{
	const unsigned char	*p;
	uint64_t		 k = 0;
	size_t			 n, i;

	if ((n = addrlimit_bytes(sa, &p)) == 0)
		return 0;
	for (i = 0; i < (n == 4 ? 4 : 8); i++)
		k = k << 8 | p[i];
	if (n == 4)
		return ADDRLIMIT_KEY_V4 | k;
	return k != 0 ? k : ADDRLIMIT_KEY_V6_ZERO;
}

bool
addrlimit_is_exempt(const struct addrlimit_policy *pol,
    const struct sockaddr *sa)
{
	return proxy_net_match(pol->exempt, pol->nexempt, sa);
}

/* A finaliser that spreads every input bit (splitmix64's). */
static uint64_t
addrlimit_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Keyed with the table's random seed: clients cannot choose collisions. */
static size_t
addrlimit_home(const struct addrlimit *t, uint64_t key)
{
	return (size_t)addrlimit_mix(addrlimit_mix(key ^ t->seed[0]) +
	    t->seed[1]) & (t->nslots - 1);
}

#define CONNS_EPOCH(v)		((uint32_t)((v) >> 32))
#define CONNS_COUNT(v)		((uint32_t)(v))
#define CONNS_PACK(e, n)	((uint64_t)(e) << 32 | (uint32_t)(n))

/* Open connections on s that still count under epoch. */
static uint32_t
addrlimit_open(const struct addrlimit_slot *s, uint32_t epoch)
{
	uint64_t	v = atomic_load(&s->conns);

	return CONNS_EPOCH(v) == epoch ? CONNS_COUNT(v) : 0;
}

/* An entry that remembers nothing may be given to another address. */
static bool
addrlimit_is_idle(const struct addrlimit_slot *s, uint32_t epoch,
    uint64_t now_us)
{
	return addrlimit_open(s, epoch) == 0 &&
	    atomic_load(&s->full_at) <= now_us;
}

/*
 * The entry of key, claiming a free or idle one in its probe window when
 * it has none yet; NULL when the whole window is busy.  Two processes
 * claiming for the same key pick the same first candidate, so one of them
 * loses the swap and finds the other's entry on its next look.
 */
static struct addrlimit_slot *
addrlimit_find(struct addrlimit *t, uint64_t key, uint64_t now_us)
{
	struct addrlimit_slot	*s, *cand;
	uint64_t		 k, cand_key;
	uint32_t		 epoch = atomic_load(&t->epoch);
	size_t			 home = addrlimit_home(t, key), i;
	int			 tries;

	for (tries = 0; tries < ADDRLIMIT_CLAIM_TRIES; tries++) {
		cand = NULL;
		cand_key = 0;
		for (i = 0; i < ADDRLIMIT_PROBE && i < t->nslots; i++) {
			s = &t->slots[(home + i) & (t->nslots - 1)];
			k = atomic_load(&s->key);
			if (k == key)
				return s;
			if (cand == NULL && (k == 0 ||
			    addrlimit_is_idle(s, epoch, now_us))) {
				cand = s;
				cand_key = k;
			}
		}
		if (cand == NULL)
			return NULL;
		if (atomic_compare_exchange_strong(&cand->key, &cand_key, key))
			return cand;
	}
	return NULL;
}

/* Count one more connection on s unless it has cap already; cap 0: none. */
static bool
addrlimit_enter(struct addrlimit_slot *s, uint32_t epoch, unsigned int cap,
    uint32_t *held_epoch)
{
	uint64_t	v = atomic_load(&s->conns), nv;
	uint32_t	n;

	do {
		n = CONNS_EPOCH(v) == epoch ? CONNS_COUNT(v) : 0;
		if (cap > 0 && n >= cap)
			return false;
		nv = CONNS_PACK(epoch, n + 1);
	} while (!atomic_compare_exchange_weak(&s->conns, &v, nv));
	*held_epoch = epoch;
	return true;
}

static void
addrlimit_release(struct addrlimit_slot *s, uint32_t epoch)
{
	uint64_t	v = atomic_load(&s->conns);

	do {
		/* Forgotten by a repair since: nothing of ours is left. */
		if (CONNS_EPOCH(v) != epoch || CONNS_COUNT(v) == 0)
			return;
	} while (!atomic_compare_exchange_weak(&s->conns, &v,
	    CONNS_PACK(epoch, CONNS_COUNT(v) - 1)));
}

/*
 * Spend one request: each costs window/rate, and the budget holds a whole
 * window's worth.  Returns 0, or the microseconds until this request
 * would fit (nothing is spent then, so a client that keeps knocking still
 * gets the steady rate).
 */
static uint64_t
addrlimit_spend(struct addrlimit_slot *s, const struct addrlimit_policy *pol,
    uint64_t now_us)
{
	uint64_t	window = (uint64_t)pol->rate_window * 1000000;
	uint64_t	cost = window / pol->rate, full, nfull;

	if (cost == 0)
		cost = 1;
	full = atomic_load(&s->full_at);
	do {
		nfull = (full > now_us ? full : now_us) + cost;
		if (nfull - now_us > window)
			return nfull - now_us - window;
	} while (!atomic_compare_exchange_weak(&s->full_at, &full, nfull));
	return 0;
}

static unsigned int
addrlimit_seconds(uint64_t us)
{
	uint64_t	s = (us + 999999) / 1000000;

	if (s < ADDRLIMIT_WAIT_MIN)
		s = ADDRLIMIT_WAIT_MIN;
	return s > UINT32_MAX ? UINT32_MAX : (unsigned int)s;
}

enum addrlimit_verdict
addrlimit_admit(struct addrlimit *t, const struct addrlimit_policy *pol,
    const struct sockaddr *sa, uint64_t now_us, struct addrlimit_hold *hold,
    unsigned int *wait_s)
{
	struct addrlimit_slot	*s;
	uint64_t		 key, wait;
	uint32_t		 epoch;
	int			 tries;

	hold->held = false;
	*wait_s = 0;
	if (t == NULL || (pol->rate == 0 && pol->per_address == 0) ||
	    (key = addrlimit_key(sa)) == 0 || addrlimit_is_exempt(pol, sa))
		return ADDRLIMIT_UNCOUNTED;
	for (tries = 0; ; tries++) {
		if (tries == ADDRLIMIT_CLAIM_TRIES ||
		    (s = addrlimit_find(t, key, now_us)) == NULL)
			return ADDRLIMIT_FULL;
		epoch = atomic_load(&t->epoch);
		if (!addrlimit_enter(s, epoch, pol->per_address, &hold->epoch))
			return ADDRLIMIT_TOO_MANY;
		/* Given to another address between the look and the count? */
		if (atomic_load(&s->key) == key)
			break;
		addrlimit_release(s, hold->epoch);
	}
	hold->slot = (uint32_t)(s - t->slots);
	hold->held = true;
	if (pol->rate > 0 && (wait = addrlimit_spend(s, pol, now_us)) > 0) {
		*wait_s = addrlimit_seconds(wait);
		return ADDRLIMIT_SLOW_DOWN;
	}
	return ADDRLIMIT_OK;
}

void
addrlimit_leave(struct addrlimit *t, struct addrlimit_hold *hold)
{
	if (t == NULL || !hold->held || hold->slot >= t->nslots)
		return;
	addrlimit_release(&t->slots[hold->slot], hold->epoch);
	hold->held = false;
}

void
addrlimit_repair(struct addrlimit *t)
{
	if (t != NULL)
		atomic_fetch_add(&t->epoch, 1);
}

unsigned int
addrlimit_count(struct addrlimit *t, const struct sockaddr *sa)
{
	struct addrlimit_slot	*s;
	uint64_t		 key = addrlimit_key(sa);
	size_t			 home, i;

	if (t == NULL || key == 0)
		return 0;
	home = addrlimit_home(t, key);
	for (i = 0; i < ADDRLIMIT_PROBE && i < t->nslots; i++) {
		s = &t->slots[(home + i) & (t->nslots - 1)];
		if (atomic_load(&s->key) == key)
			return addrlimit_open(s, atomic_load(&t->epoch));
	}
	return 0;
}
