/*
 * mem: the allocation functions every module uses, so that tests can make
 * the N-th allocation fail and check that each path then fails cleanly
 * (no crash, no leak).  Memory from these is released with free().
 */
#ifndef CAPSULED_MEM_H
#define CAPSULED_MEM_H

#include <stddef.h>

/* malloc that honours the failure hook. */
void	*mem_malloc(size_t n);

/* calloc that honours the failure hook and checks n * size for overflow. */
void	*mem_calloc(size_t n, size_t size);

/* realloc that honours the failure hook (p is untouched on failure). */
void	*mem_realloc(void *p, size_t n);

/* A NUL-terminated copy of n bytes at p. */
char	*mem_strndup(const char *p, size_t n);

/* A copy of a C string. */
char	*mem_strdup(const char *s);

/*
 * Test hook: make the n-th allocation from now fail (1 = the next one),
 * and every one after it while sticky is true.  n = 0 turns failures off.
 */
void	 mem_fail_after(unsigned long n, int sticky);

/*
 * How many allocations have failed since the process started, injected or
 * real.  A caller that compares it before and after some work can tell a
 * lack of memory (which may pass) from a limit the input crossed (which
 * will not), where both come back as the same -1.
 */
unsigned long mem_failures(void);

/* Test hook: how many allocations were attempted since the last reset. */
unsigned long mem_count(void);

#endif
