#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "procid.h"

/* 0 until known.  Atomic: the test clients call it from threads. */
static _Atomic pid_t	procid_cached;
static pthread_once_t	procid_once = PTHREAD_ONCE_INIT;
static bool		procid_hooked;

pid_t
procid_from_kernel(void)
{
	return (pid_t)syscall(SYS_getpid);
}

static void
procid_forked(void)
{
	atomic_store_explicit(&procid_cached, procid_from_kernel(),
	    memory_order_relaxed);
}

static void
procid_hook(void)
{
	procid_hooked = pthread_atfork(NULL, NULL, procid_forked) == 0;
}

pid_t
getpid(void)
{
	pid_t	p = atomic_load_explicit(&procid_cached, memory_order_relaxed);

	if (p != 0)
		return p;
	p = procid_from_kernel();
	pthread_once(&procid_once, procid_hook);
	/* Without the hook a child would be told its parent's id. */
	if (procid_hooked)
		atomic_store_explicit(&procid_cached, p, memory_order_relaxed);
	return p;
}
