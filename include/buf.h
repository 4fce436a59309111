/*
 * buf: borrowed byte views (struct span) and owned, growable byte buffers
 * with a hard ceiling (struct buf).  Every parser in capsuled takes spans;
 * every renderer appends to a buf whose ceiling bounds what an untrusted
 * input can make us allocate.
 */
#ifndef CAPSULED_BUF_H
#define CAPSULED_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* A borrowed view of n bytes at p.  Never freed, never NUL-terminated. */
struct span {
	const char	*p;
	size_t		 n;
};

/*
 * An owned buffer: len bytes used of cap allocated; appends past max fail.
 * A lent buffer (buf_init_lent) starts in memory its caller owns and moves
 * to the heap, which it then owns, when it needs more.
 */
struct buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	size_t	 max;
	bool	 lent;		/* p is the caller's, not to be freed */
};

/* Make a span of a NUL-terminated string (for constants, never wire bytes). */
static inline struct span
span_cstr(const char *s)
{
	struct span	sp = { s, strlen(s) };

	return sp;
}

/* Make a span of n bytes at p. */
static inline struct span
span_make(const char *p, size_t n)
{
	struct span	sp = { p, n };

	return sp;
}

/* True when the span holds exactly the bytes of the C string s. */
bool		span_eq_cstr(struct span s, const char *cs);

/* Like span_eq_cstr, ignoring ASCII case. */
bool		span_caseeq_cstr(struct span s, const char *cs);

/* True when s begins with the C string prefix. */
static inline bool
span_starts_with(struct span s, const char *prefix)
{
	size_t	n = strlen(prefix);

	return s.n >= n && (n == 0 || memcmp(s.p, prefix, n) == 0);
}

/* Index of the first byte c in s, or -1. */
long		span_index(struct span s, char c);

/* True when s holds a space, a C0 control byte or DEL. */
bool		span_has_space_or_control(struct span s);

/* Prepare an empty buffer that will never grow past max bytes. */
void		buf_init(struct buf *b, size_t max);

/*
 * buf_init, starting in the n bytes at mem, which the caller owns and
 * which must outlive b's use of them: a buffer that stays small never
 * allocates.  Released with buf_free like any other.
 */
void		buf_init_lent(struct buf *b, char *mem, size_t n, size_t max);

/* Release the buffer's memory and leave it empty (safe to call twice). */
void		buf_free(struct buf *b);

/* Forget the contents but keep the memory for reuse. */
static inline void
buf_reset(struct buf *b)
{
	b->len = 0;
}

/* Append n bytes, growing as needed: buf_append without its fast path. */
int		buf_append_slow(struct buf *b, const void *p, size_t n);

/*
 * Renderers append a few bytes at a time, so the common case of the two
 * appends below (it fits in what is allocated and under max) is inline;
 * growth and the ceiling go through buf_append_slow.  Only inline
 * declarations here: buf.c holds the one external definition of each.
 */

/* Append n bytes; 0 on success, -1 when over max or out of memory. */
inline int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (n != 0 && b->cap > b->len && n < b->cap - b->len &&
	    b->len + n <= b->max) {
		memcpy(b->p + b->len, p, n);
		b->len += n;
		return 0;
	}
	return buf_append_slow(b, p, n);
}

/* Append one byte; 0 or -1 as buf_append. */
inline int
buf_putc(struct buf *b, char c)
{
	if (b->len + 1 < b->cap && b->len < b->max) {
		b->p[b->len++] = c;
		return 0;
	}
	return buf_append_slow(b, &c, 1);
}

/* Append a C string (constants and our own text, never wire bytes). */
static inline int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

/* Append a span. */
static inline int
buf_append_span(struct buf *b, struct span s)
{
	return buf_append(b, s.p, s.n);
}

/* Append printf-formatted text; 0 or -1. */
int		buf_printf(struct buf *b, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/* Make sure n more bytes fit without reallocating; 0 or -1. */
int		buf_reserve(struct buf *b, size_t n);

/*
 * Make room for n more bytes and return where they go: the caller writes
 * all n and adds n to len, so that a line of several parts is one check.
 * NULL when that would pass max or memory runs out.
 */
static inline char *
buf_space(struct buf *b, size_t n)
{
	if ((b->cap <= b->len || n >= b->cap - b->len ||
	    b->len + n > b->max) && buf_reserve(b, n) == -1)
		return NULL;
	return b->p + b->len;
}

/*
 * Return the contents NUL-terminated (the NUL is not counted in len), or
 * NULL when the terminator does not fit.  The pointer stays owned by b.
 */
const char	*buf_cstr(struct buf *b);

/* The contents as a span (valid until the next append). */
static inline struct span
buf_span(const struct buf *b)
{
	struct span	sp = { b->p != NULL ? b->p : "", b->len };

	return sp;
}

/*
 * Move the contents out: the caller owns the returned pointer (free()) and
 * b is left empty with the same max.  *len gets the length; the result is
 * NUL-terminated.  NULL when out of memory (b is then unchanged).
 */
char		*buf_take(struct buf *b, size_t *len);

#endif
