#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

/*
 * The failure hook is a pair of counters rather than a function pointer so
 * that a production build pays one branch per allocation and nothing more.
 */
static unsigned long	mem_attempts;
static unsigned long	mem_fail_at;
static int		mem_fail_sticky;
static unsigned long	mem_failed;

static int
mem_should_fail(void)
{
	mem_attempts++;
	if (mem_fail_at == 0)
		return 0;
	if (mem_attempts == mem_fail_at ||
	    (mem_fail_sticky && mem_attempts > mem_fail_at)) {
		mem_failed++;
		return 1;
	}
	return 0;
}

/* A real failure counts like an injected one. */
static void *
mem_checked(void *p)
{
	if (p == NULL)
		mem_failed++;
	return p;
}

void *
mem_malloc(size_t n)
{
	if (mem_should_fail())
		return NULL;
	return mem_checked(malloc(n == 0 ? 1 : n));
}

void *
mem_calloc(size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	if (mem_should_fail())
		return NULL;
	return mem_checked(calloc(n == 0 ? 1 : n, size == 0 ? 1 : size));
}

void *
mem_realloc(void *p, size_t n)
{
	if (mem_should_fail())
		return NULL;
	return mem_checked(realloc(p, n == 0 ? 1 : n));
}

char *
mem_strndup(const char *p, size_t n)
{
	char	*s;

	if (n == SIZE_MAX)
		return NULL;
	if ((s = mem_malloc(n + 1)) == NULL)
		return NULL;
	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

char *
mem_strdup(const char *s)
{
	return mem_strndup(s, strlen(s));
}

void
mem_fail_after(unsigned long n, int sticky)
{
	mem_attempts = 0;
	mem_fail_at = n;
	mem_fail_sticky = sticky;
}

unsigned long
mem_count(void)
{
	return mem_attempts;
}

unsigned long
mem_failures(void)
{
	return mem_failed;
}
