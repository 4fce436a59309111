#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addrlimit.h"
#include "check.h"

/* Any monotonic time well away from zero. */
#define T0		(UINT64_C(1000) * 1000000)
#define SEC		UINT64_C(1000000)

static struct sockaddr_storage	ss_buf;

/* The address text as a sockaddr (IPv4 or IPv6), in a static buffer. */
static const struct sockaddr *
addr(const char *text)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss_buf;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss_buf;

	memset(&ss_buf, 0, sizeof(ss_buf));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(40000);
	} else if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(40001);
	} else {
		fprintf(stderr, "bad test address %s\n", text);
		abort();
	}
	return (const struct sockaddr *)&ss_buf;
}

static struct addrlimit_policy
policy(unsigned int rate, unsigned int window, unsigned int per_address)
{
	struct addrlimit_policy	pol;

	memset(&pol, 0, sizeof(pol));
	pol.rate = rate;
	pol.rate_window = window;
	pol.per_address = per_address;
	return pol;
}

/* Admit and let go at once: one request, no lasting connection. */
static enum addrlimit_verdict
knock(struct addrlimit *t, const struct addrlimit_policy *pol,
    const char *a, uint64_t now, unsigned int *wait)
{
	struct addrlimit_hold	h;
	enum addrlimit_verdict	v;

	v = addrlimit_admit(t, pol, addr(a), now, &h, wait);
	addrlimit_leave(t, &h);
	return v;
}

static void
test_rate_budget_then_slow_down(void)
{
	struct addrlimit	*t = addrlimit_new(ADDRLIMIT_SLOTS);
	struct addrlimit_policy	 pol = policy(3, 10, 0);
	unsigned int		 wait;
	int			 i;

	CHECK(t != NULL);
	for (i = 0; i < 3; i++)
		CHECK_INT(ADDRLIMIT_OK, knock(t, &pol, "192.0.2.1", T0, &wait));
	CHECK_INT(ADDRLIMIT_SLOW_DOWN, knock(t, &pol, "192.0.2.1", T0, &wait));
	/* One request costs 10/3 s: 3.34 s rounds up to 4. */
	CHECK_INT(4, wait);
	/* Refused requests spend nothing: still 4 s to wait. */
	CHECK_INT(ADDRLIMIT_SLOW_DOWN, knock(t, &pol, "192.0.2.1", T0, &wait));
	CHECK_INT(4, wait);
	/* Another address has its own budget. */
	CHECK_INT(ADDRLIMIT_OK, knock(t, &pol, "192.0.2.2", T0, &wait));
	/* One request's worth comes back after 10/3 s, not before. */
	CHECK_INT(ADDRLIMIT_SLOW_DOWN,
	    knock(t, &pol, "192.0.2.1", T0 + 3 * SEC, &wait));
	CHECK_INT(1, wait);
	CHECK_INT(ADDRLIMIT_OK,
	    knock(t, &pol, "192.0.2.1", T0 + 3 * SEC + SEC / 2, &wait));
	CHECK_INT(ADDRLIMIT_SLOW_DOWN,
	    knock(t, &pol, "192.0.2.1", T0 + 3 * SEC + SEC / 2, &wait));
	/* A whole window later the whole budget is back. */
	for (i = 0; i < 3; i++)
		CHECK_INT(ADDRLIMIT_OK,
		    knock(t, &pol, "192.0.2.1", T0 + 20 * SEC, &wait));
	CHECK_INT(ADDRLIMIT_SLOW_DOWN,
	    knock(t, &pol, "192.0.2.1", T0 + 20 * SEC, &wait));
	addrlimit_free(t);
}

static void
test_wait_is_at_least_a_second(void)
{
	struct addrlimit	*t = addrlimit_new(ADDRLIMIT_SLOTS);
	struct addrlimit_policy	 pol = policy(1000, 1, 0);
	unsigned int		 wait;
	int			 i;

	for (i = 0; i < 1000; i++)
		CHECK_INT(ADDRLIMIT_OK, knock(t, &pol, "192.0.2.1", T0, &wait));
	CHECK_INT(ADDRLIMIT_SLOW_DOWN, knock(t, &pol, "192.0.2.1", T0, &wait));
	CHECK_INT(ADDRLIMIT_WAIT_MIN, wait);
	addrlimit_free(t);
}

static void
test_connection_cap(void)
{
	struct addrlimit	*t = addrlimit_new(ADDRLIMIT_SLOTS);
	struct addrlimit_policy	 pol = policy(0, 10, 2);
	struct addrlimit_hold	 h[3];
	unsigned int		 wait;

	CHECK_INT(ADDRLIMIT_OK,
	    addrlimit_admit(t, &pol, addr("198.51.100.7"), T0, &h[0], &wait));
	CHECK_INT(ADDRLIMIT_OK,
	    addrlimit_admit(t, &pol, addr("198.51.100.7"), T0, &h[1], &wait));
	CHECK_INT(2, addrlimit_count(t, addr("198.51.100.7")));
	CHECK_INT(ADDRLIMIT_TOO_MANY,
	    addrlimit_admit(t, &pol, addr("198.51.100.7"), T0, &h[2], &wait));
	CHECK(!h[2].held);
	addrlimit_leave(t, &h[2]);
	CHECK_INT(2, addrlimit_count(t, addr("198.51.100.7")));
	addrlimit_leave(t, &h[0]);
	addrlimit_leave(t, &h[0]);
	CHECK_INT(1, addrlimit_count(t, addr("198.51.100.7")));
	CHECK_INT(ADDRLIMIT_OK,
	    addrlimit_admit(t, &pol, addr("198.51.100.7"), T0, &h[2], &wait));
	addrlimit_leave(t, &h[1]);
	addrlimit_leave(t, &h[2]);
	CHECK_INT(0, addrlimit_count(t, addr("198.51.100.7")));
	addrlimit_free(t);
}

/* Over the rate, the connection is still open until its answer is sent. */
static void
test_slow_down_holds_the_connection(void)
{
	struct addrlimit	*t = addrlimit_new(ADDRLIMIT_SLOTS);
	struct addrlimit_policy	 pol = policy(1, 60, 2);
	struct addrlimit_hold	 a, b;
	unsigned int		 wait;

	CHECK_INT(ADDRLIMIT_OK,
	    addrlimit_admit(t, &pol, addr("192.0.2.9"), T0, &a, &wait));
	CHECK_INT(ADDRLIMIT_SLOW_DOWN,
	    addrlimit_admit(t, &pol, addr("192.0.2.9"), T0, &b, &wait));
	CHECK_INT(60, wait);
	CHECK(b.held);
	CHECK_INT(2, addrlimit_count(t, addr("192.0.2.9")));
	addrlimit_leave(t, &a);
	addrlimit_leave(t, &b);
	CHECK_INT(0, addrlimit_count(t, addr("192.0.2.9")));
	addrlimit_free(t);
}

static void
test_ipv6_counted_per_64(void)
{
	struct addrlimit	*t = addrlimit_new(ADDRLIMIT_SLOTS);
	struct addrlimit_policy	 pol = policy(2, 60, 0);
	unsigned int		 wait;

	CHECK_INT(ADDRLIMIT_OK,
	    knock(t, &pol, "2001:db8:1:2::1", T0, &wait));
	CHECK_INT(ADDRLIMIT_OK,
	    knock(t, &pol, "2001:db8:1:2:ffff:ffff:ffff:ffff", T0, &wait));
	CHECK_INT(ADDRLIMIT_SLOW_DOWN,
	    knock(t, &pol, "2001:db8:1:2:abcd::9", T0, &wait));
	/* The next /64 is another client. */
	CHECK_INT(ADDRLIMIT_OK, knock(t, &pol, "2001:db8:1:3::1", T0, &wait));
	/* So is the IPv4 address that shares the low bits of a prefix. */
	CHECK_INT(ADDRLIMIT_OK, knock(t, &pol, "0.0.0.2", T0, &wait));
	CHECK_INT(ADDRLIMIT_OK, knock(t, &pol, "::1", T0, &wait));
	CHECK_INT(ADDRLIMIT_OK, knock(t, &pol, "::2", T0, &wait));
	CHECK_INT(ADDRLIMIT_SLOW_DOWN, knock(t, &pol, "::3", T0, &wait));
	addrlimit_free(t);
}

static void
test_ipv4_mapped_is_ipv4(void)
{
	struct addrlimit	*t = addrlimit_new(ADDRLIMIT_SLOTS);
	struct addrlimit_policy	 pol = policy(2, 60, 0);
	unsigned int		 wait;

	CHECK_INT(ADDRLIMIT_OK, knock(t, &pol, "203.0.113.5", T0, &wait));
	CHECK_INT(ADDRLIMIT_OK,
	    knock(t, &pol, "::ffff:203.0.113.5", T0, &wait));
	CHECK_INT(ADDRLIMIT_SLOW_DOWN,
	    knock(t, &pol, "203.0.113.5", T0, &wait));
	/* IPv4 is counted per address, not per block. */
	CHECK_INT(ADDRLIMIT_OK, knock(t, &pol, "203.0.113.6", T0, &wait));
	addrlimit_free(t);
}

static void
test_exempt_blocks(void)
{
	struct addrlimit	*t = addrlimit_new(ADDRLIMIT_SLOTS);
	struct addrlimit_policy	 pol = policy(1, 60, 1);
	struct proxy_net	 ex[3];
	const char		*reason;
	unsigned int		 wait;
	int			 i;

	CHECK_INT(0, proxy_net_parse(span_cstr("127.0.0.0/8"), &ex[0],
	    &reason));
	CHECK_INT(0, proxy_net_parse(span_cstr("::1"), &ex[1], &reason));
	CHECK_INT(0, proxy_net_parse(span_cstr("2001:db8:ff00::/41"),
	    &ex[2], &reason));
	pol.exempt = ex;
	pol.nexempt = 3;
	for (i = 0; i < 5; i++) {
		CHECK_INT(ADDRLIMIT_UNCOUNTED,
		    knock(t, &pol, "127.1.2.3", T0, &wait));
		CHECK_INT(ADDRLIMIT_UNCOUNTED,
		    knock(t, &pol, "::1", T0, &wait));
		CHECK_INT(ADDRLIMIT_UNCOUNTED,
		    knock(t, &pol, "::ffff:127.0.0.1", T0, &wait));
		CHECK_INT(ADDRLIMIT_UNCOUNTED,
		    knock(t, &pol, "2001:db8:ff7f::1", T0, &wait));
	}
	CHECK(addrlimit_is_exempt(&pol, addr("2001:db8:ff00::1")));
	CHECK(!addrlimit_is_exempt(&pol, addr("2001:db8:ff80::1")));
	CHECK(!addrlimit_is_exempt(&pol, addr("128.0.0.1")));
	CHECK(!addrlimit_is_exempt(&pol, addr("::2")));
	CHECK_INT(ADDRLIMIT_OK, knock(t, &pol, "128.0.0.1", T0, &wait));
	CHECK_INT(ADDRLIMIT_SLOW_DOWN, knock(t, &pol, "128.0.0.1", T0, &wait));
	addrlimit_free(t);
}

static void
test_zero_turns_a_limit_off(void)
{
	struct addrlimit	*t = addrlimit_new(ADDRLIMIT_SLOTS);
	struct addrlimit_policy	 pol = policy(0, 60, 0);
	struct addrlimit_hold	 h[50];
	unsigned int		 wait;
	int			 i;

	CHECK_INT(ADDRLIMIT_UNCOUNTED, knock(t, &pol, "192.0.2.1", T0, &wait));
	/* Connections capped, requests not. */
	pol.per_address = 50;
	for (i = 0; i < 50; i++)
		CHECK_INT(ADDRLIMIT_OK, addrlimit_admit(t, &pol,
		    addr("192.0.2.1"), T0, &h[i], &wait));
	CHECK_INT(ADDRLIMIT_TOO_MANY, knock(t, &pol, "192.0.2.1", T0, &wait));
	for (i = 0; i < 50; i++)
		addrlimit_leave(t, &h[i]);
	/* Requests limited, connections not. */
	pol = policy(100, 60, 0);
	for (i = 0; i < 50; i++)
		CHECK_INT(ADDRLIMIT_OK, addrlimit_admit(t, &pol,
		    addr("192.0.2.3"), T0, &h[i], &wait));
	CHECK_INT(50, addrlimit_count(t, addr("192.0.2.3")));
	for (i = 0; i < 50; i++)
		addrlimit_leave(t, &h[i]);
	/* No table at all: nothing is limited. */
	CHECK_INT(ADDRLIMIT_UNCOUNTED, knock(NULL, &pol, "192.0.2.1", T0,
	    &wait));
	addrlimit_free(t);
}

static void
test_repair_forgets_counts(void)
{
	struct addrlimit	*t = addrlimit_new(ADDRLIMIT_SLOTS);
	struct addrlimit_policy	 pol = policy(0, 60, 1);
	struct addrlimit_hold	 dead, a, b;
	unsigned int		 wait;

	CHECK_INT(ADDRLIMIT_OK,
	    addrlimit_admit(t, &pol, addr("192.0.2.4"), T0, &dead, &wait));
	CHECK_INT(ADDRLIMIT_TOO_MANY,
	    addrlimit_admit(t, &pol, addr("192.0.2.4"), T0, &a, &wait));
	/* The holder died: without a repair the address is shut out. */
	addrlimit_repair(t);
	CHECK_INT(0, addrlimit_count(t, addr("192.0.2.4")));
	CHECK_INT(ADDRLIMIT_OK,
	    addrlimit_admit(t, &pol, addr("192.0.2.4"), T0, &a, &wait));
	/* A connection counted before the repair cannot undo a newer one. */
	addrlimit_leave(t, &dead);
	CHECK_INT(1, addrlimit_count(t, addr("192.0.2.4")));
	CHECK_INT(ADDRLIMIT_TOO_MANY,
	    addrlimit_admit(t, &pol, addr("192.0.2.4"), T0, &b, &wait));
	addrlimit_leave(t, &a);
	CHECK_INT(0, addrlimit_count(t, addr("192.0.2.4")));
	addrlimit_free(t);
}

/* A small table: every address probes all of it. */
#define SMALL	16

static void
test_full_table_lets_in_uncounted(void)
{
	struct addrlimit	*t = addrlimit_new(SMALL);
	struct addrlimit_policy	 pol = policy(0, 60, 1);
	struct addrlimit_hold	 h[SMALL], extra;
	unsigned int		 wait;
	char			 a[32];
	int			 i;

	CHECK(ADDRLIMIT_PROBE >= SMALL);
	for (i = 0; i < SMALL; i++) {
		snprintf(a, sizeof(a), "10.0.0.%d", i + 1);
		CHECK_INT(ADDRLIMIT_OK,
		    addrlimit_admit(t, &pol, addr(a), T0, &h[i], &wait));
	}
	CHECK_INT(ADDRLIMIT_FULL,
	    addrlimit_admit(t, &pol, addr("10.0.1.1"), T0, &extra, &wait));
	CHECK(!extra.held);
	/* Known addresses are still limited. */
	CHECK_INT(ADDRLIMIT_TOO_MANY, knock(t, &pol, "10.0.0.1", T0, &wait));
	/* An entry with nothing to remember goes to the next newcomer. */
	addrlimit_leave(t, &h[5]);
	CHECK_INT(ADDRLIMIT_OK,
	    addrlimit_admit(t, &pol, addr("10.0.1.1"), T0, &extra, &wait));
	CHECK_INT(1, addrlimit_count(t, addr("10.0.1.1")));
	CHECK_INT(0, addrlimit_count(t, addr("10.0.0.6")));
	addrlimit_leave(t, &extra);
	for (i = 0; i < SMALL; i++)
		addrlimit_leave(t, &h[i]);
	addrlimit_free(t);
}

static void
test_entries_age_out(void)
{
	struct addrlimit	*t = addrlimit_new(SMALL);
	struct addrlimit_policy	 pol = policy(5, 10, 0);
	unsigned int		 wait;
	char			 a[32];
	int			 i;

	for (i = 0; i < SMALL; i++) {
		snprintf(a, sizeof(a), "10.0.0.%d", i + 1);
		CHECK_INT(ADDRLIMIT_OK, knock(t, &pol, a, T0, &wait));
	}
	/* Every entry remembers a spent request for up to 10 s. */
	CHECK_INT(ADDRLIMIT_FULL, knock(t, &pol, "10.0.1.1", T0, &wait));
	CHECK_INT(ADDRLIMIT_FULL,
	    knock(t, &pol, "10.0.1.1", T0 + 1 * SEC, &wait));
	CHECK_INT(ADDRLIMIT_OK,
	    knock(t, &pol, "10.0.1.1", T0 + 2 * SEC, &wait));
	addrlimit_free(t);
}

static void
test_table_size_checked(void)
{
	CHECK(addrlimit_new(0) == NULL);
	CHECK(addrlimit_new(1000) == NULL);
}

/* Children that each admit n times; their exit status is how many got in. */
static int
admitted_by_children(struct addrlimit *t, const struct addrlimit_policy *pol,
    int nchildren, int n, bool hold)
{
	struct addrlimit_hold	h;
	unsigned int		secs;
	pid_t			pid;
	int			i, k, ok, status, total = 0;

	for (k = 0; k < nchildren; k++) {
		if ((pid = fork()) == 0) {
			for (i = 0, ok = 0; i < n; i++) {
				if (addrlimit_admit(t, pol, addr("192.0.2.77"),
				    T0, &h, &secs) == ADDRLIMIT_OK)
					ok++;
				if (!hold)
					addrlimit_leave(t, &h);
			}
			_exit(ok);
		}
		CHECK(pid > 0);
	}
	for (k = 0; k < nchildren; k++) {
		CHECK(wait(&status) > 0);
		total += WEXITSTATUS(status);
	}
	return total;
}

/* The workers are processes: their counts meet in the shared table. */
static void
test_shared_between_processes(void)
{
	struct addrlimit	*t = addrlimit_new(ADDRLIMIT_SLOTS);
	struct addrlimit_policy	 pol = policy(0, 60, 50);

	CHECK_INT(50, admitted_by_children(t, &pol, 4, 40, true));
	CHECK_INT(50, addrlimit_count(t, addr("192.0.2.77")));
	addrlimit_repair(t);
	pol = policy(100, 1000, 0);
	CHECK_INT(100, admitted_by_children(t, &pol, 4, 60, false));
	CHECK_INT(0, addrlimit_count(t, addr("192.0.2.77")));
	addrlimit_free(t);
}

int
main(void)
{
	RUN(test_rate_budget_then_slow_down);
	RUN(test_wait_is_at_least_a_second);
	RUN(test_connection_cap);
	RUN(test_slow_down_holds_the_connection);
	RUN(test_ipv6_counted_per_64);
	RUN(test_ipv4_mapped_is_ipv4);
	RUN(test_exempt_blocks);
	RUN(test_zero_turns_a_limit_off);
	RUN(test_repair_forgets_counts);
	RUN(test_full_table_lets_in_uncounted);
	RUN(test_entries_age_out);
	RUN(test_table_size_checked);
	RUN(test_shared_between_processes);
	return CHECK_SUMMARY();
}
