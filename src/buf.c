#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "mem.h"



bool
span_eq_cstr(struct span s, const char *cs)
{
	size_t	n = strlen(cs);

	return s.n == n && (n == 0 || memcmp(s.p, cs, n) == 0);
}

bool
span_caseeq_cstr(struct span s, const char *cs)
{
	size_t	n = strlen(cs);

	return s.n == n && (n == 0 || strncasecmp(s.p, cs, n) == 0);
}


long
span_index(struct span s, char c)
{
	const char	*q;

	if (s.n == 0)
		return -1;
	if ((q = memchr(s.p, c, s.n)) == NULL)
		return -1;
	return (long)(q - s.p);
}

void
buf_init(struct buf *b, size_t max)
{
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
	b->lent = false;
}

void
buf_init_lent(struct buf *b, char *mem, size_t n, size_t max)
{
	buf_init(b, max);
	if (n == 0)
		return;
	/* Never more room than an allocation would have had. */
	if (max < SIZE_MAX && n > max + 1)
		n = max + 1;
	b->p = mem;
	b->cap = n;
	b->lent = true;
}

void
buf_free(struct buf *b)
{
	if (!b->lent)
		free(b->p);
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	b->lent = false;
}


/*
 * Grow geometrically so that appending byte by byte stays linear, but never
 * allocate more than max + 1 (the +1 leaves room for buf_cstr's NUL).
 */
int
buf_reserve(struct buf *b, size_t n)
{
	size_t	 want, ncap;
	char	*np;

	if (n > b->max || b->len > b->max - n)
		return -1;
	want = b->len + n + 1;
	if (want <= b->cap)
		return 0;
	ncap = b->cap < 64 ? 64 : b->cap;
	while (ncap < want)
		ncap = ncap > SIZE_MAX / 2 ? want : ncap * 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	if (b->lent) {
		/* Off the caller's memory, onto the heap. */
		if ((np = mem_malloc(ncap)) == NULL)
			return -1;
		memcpy(np, b->p, b->len);
		b->lent = false;
	} else if ((np = mem_realloc(b->p, ncap)) == NULL)
		return -1;
	b->p = np;
	b->cap = ncap;
	return 0;
}

int
buf_append_slow(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (buf_reserve(b, n) == -1)
		return -1;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

/* The out-of-line copies of the inline appends in buf.h. */
extern inline int	buf_append(struct buf *, const void *, size_t);
extern inline int	buf_putc(struct buf *, char);



int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n) == -1)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

const char *
buf_cstr(struct buf *b)
{
	if (b->p == NULL || b->len + 1 > b->cap) {
		if (b->len >= b->max + 1)
			return NULL;
		/* buf_reserve(0) always leaves room for the terminator. */
		if (buf_reserve(b, 0) == -1)
			return NULL;
	}
	b->p[b->len] = '\0';
	return b->p;
}


char *
buf_take(struct buf *b, size_t *len)
{
	char	*p;

	/* The caller gets memory to free(), never the lender's. */
	if (b->lent) {
		if ((p = mem_malloc(b->len + 1)) == NULL)
			return NULL;
		memcpy(p, b->p, b->len);
		p[b->len] = '\0';
		if (len != NULL)
			*len = b->len;
		buf_init(b, b->max);
		return p;
	}
	if (buf_cstr(b) == NULL)
		return NULL;
	p = b->p;
	if (len != NULL)
		*len = b->len;
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}

bool
span_has_space_or_control(struct span s)
{
	size_t	i;

	for (i = 0; i < s.n; i++)
		if ((unsigned char)s.p[i] <= 0x20 || s.p[i] == 0x7f)
			return true;
	return false;
}
