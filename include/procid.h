/*
 * procid: the process id, asked of the kernel once per process.
 *
 * glibc has not cached getpid() since 2.25, and OpenSSL 3.0 calls it on
 * every random draw, to notice a fork and reseed its generators in the
 * child: seven system calls per TLS handshake, and one more for each log
 * line.  procid.c defines getpid() for the whole program, libcrypto's
 * calls included, and remembers the answer.  A child of fork() (or of
 * daemon(), which forks) learns its own id from a pthread_atfork hook
 * before anything else runs in it, so OpenSSL's fork check keeps
 * working.  capsuled makes processes with fork() only: a child of a raw
 * clone() would see its parent's id.
 */
#ifndef CAPSULED_PROCID_H
#define CAPSULED_PROCID_H

#include <sys/types.h>

/* The kernel's answer, bypassing the remembered one (for tests). */
pid_t	procid_from_kernel(void);

#endif
