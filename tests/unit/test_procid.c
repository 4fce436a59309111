#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "check.h"
#include "procid.h"

static void
test_same_answer_as_the_kernel(void)
{
	CHECK_INT(procid_from_kernel(), getpid());
	CHECK_INT(procid_from_kernel(), getpid());
}

/* What a child of fork() writes to fd: its id, then 32 random bytes. */
static void
child_report(int fd)
{
	unsigned char	out[sizeof(pid_t) + 32];
	pid_t		p = getpid();

	memcpy(out, &p, sizeof(p));
	if (RAND_bytes(out + sizeof(p), 32) != 1)
		_exit(2);
	_exit(write(fd, out, sizeof(out)) == (ssize_t)sizeof(out) ? 0 : 3);
}

/*
 * The point of it all: OpenSSL reseeds in a child because getpid()
 * changed.  Were the child told its parent's id, both would draw the
 * same bytes, and two workers would make the same TLS keys.
 */
static void
test_child_is_told_its_own_id(void)
{
	unsigned char	mine[32], theirs[sizeof(pid_t) + 32];
	pid_t		parent = getpid(), child, told;
	int		fds[2], st;

	CHECK_INT(1, RAND_bytes(mine, sizeof(mine)));
	if (pipe(fds) == -1 || (child = fork()) == -1)
		abort();
	if (child == 0)
		child_report(fds[1]);
	close(fds[1]);
	CHECK(read(fds[0], theirs, sizeof(theirs)) == (ssize_t)sizeof(theirs));
	close(fds[0]);
	CHECK(waitpid(child, &st, 0) == child && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0);
	memcpy(&told, theirs, sizeof(told));
	CHECK_INT(child, told);
	CHECK_INT(parent, getpid());
	CHECK_INT(1, RAND_bytes(mine, sizeof(mine)));
	CHECK(memcmp(mine, theirs + sizeof(pid_t), sizeof(mine)) != 0);
}

int
main(void)
{
	RUN(test_same_answer_as_the_kernel);
	RUN(test_child_is_told_its_own_id);
	return CHECK_SUMMARY();
}
