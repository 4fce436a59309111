#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "mem.h"

static void
test_append_within_max(void)
{
	struct buf	b;

	buf_init(&b, 8);
	CHECK_INT(0, buf_puts(&b, "abcd"));
	CHECK_INT(0, buf_append(&b, "efgh", 4));
	CHECK_MEM("abcdefgh", b.p, b.len);
	CHECK_INT(-1, buf_putc(&b, 'i'));
	CHECK_INT(8, b.len);
	CHECK_STR("abcdefgh", buf_cstr(&b));
	buf_free(&b);
}

static void
test_printf_and_take(void)
{
	struct buf	 b;
	char		*p;
	size_t		 n;

	buf_init(&b, 100);
	CHECK_INT(0, buf_printf(&b, "%d %s", 20, "text/gemini"));
	p = buf_take(&b, &n);
	CHECK_STR("20 text/gemini", p);
	CHECK_INT(14, n);
	CHECK_INT(0, b.len);
	CHECK(b.p == NULL);
	CHECK_INT(-1, buf_printf(&b, "%0200d", 1));
	free(p);
	buf_free(&b);
}

static void
test_growth_is_geometric(void)
{
	struct buf	b;
	int		i, fails = 0;

	buf_init(&b, 1 << 20);
	for (i = 0; i < 100000; i++)
		fails += buf_putc(&b, 'x') != 0;
	CHECK_INT(0, fails);
	CHECK_INT(100000, b.len);
	CHECK(b.cap <= (1 << 20) + 1);
	buf_free(&b);
}

static void
test_allocation_failure_leaves_buffer_intact(void)
{
	struct buf	b;

	buf_init(&b, 1000);
	CHECK_INT(0, buf_puts(&b, "keep"));
	mem_fail_after(1, 1);
	CHECK_INT(-1, buf_append(&b, "x", 200));
	mem_fail_after(0, 0);
	CHECK_MEM("keep", b.p, b.len);
	buf_free(&b);
}

/* The inline appends stop at max exactly as the out-of-line ones do. */
static void
test_fast_path_keeps_the_ceiling(void)
{
	struct buf	b;
	int		i, fails = 0;

	buf_init(&b, 100);
	CHECK_INT(0, buf_append(&b, NULL, 0));
	CHECK_INT(0, buf_putc(&b, 'a'));
	CHECK_INT(64, b.cap);
	for (i = 1; i < 100; i++)
		fails += i % 2 ? buf_putc(&b, 'b') != 0 :
		    buf_append(&b, "c", 1) != 0;
	CHECK_INT(0, fails);
	CHECK_INT(100, b.len);
	CHECK_INT(101, b.cap);
	CHECK_INT(-1, buf_putc(&b, 'x'));
	CHECK_INT(-1, buf_append(&b, "x", 1));
	CHECK_INT(0, buf_append(&b, "x", 0));
	CHECK_INT(100, b.len);
	b.len = 98;
	CHECK_INT(-1, buf_append(&b, "xyz", 3));
	CHECK_INT(0, buf_append(&b, "xy", 2));
	CHECK_INT(-1, buf_append_slow(&b, "z", 1));
	CHECK_MEM("cbxy", b.p + 96, 4);
	CHECK_STR("xy", buf_cstr(&b) + 98);
	buf_free(&b);
}

static void
test_spans(void)
{
	struct span	s = span_make("Gemini://x", 10);

	CHECK(span_caseeq_cstr(span_make(s.p, 6), "gemini"));
	CHECK(!span_eq_cstr(span_make(s.p, 6), "gemini"));
	CHECK(span_starts_with(s, "Gem"));
	CHECK_INT(6, span_index(s, ':'));
	CHECK_INT(-1, span_index(s, '#'));
	CHECK_INT(-1, span_index(span_make(NULL, 0), '#'));
}

/*
 * A lent buffer starts in the caller's memory and must carry everything
 * over when it outgrows it; taking or freeing it never frees that memory.
 */
static void
test_lent_buffer_moves_out_whole(void)
{
	char		 mem[16], *p;
	struct buf	 b;
	size_t		 n;

	buf_init_lent(&b, mem, sizeof(mem), 100);
	CHECK_INT(0, buf_append(&b, "0123456789", 10));
	CHECK(b.p == mem);
	CHECK_INT(0, buf_append(&b, "abcdefghijklmnopqrst", 20));
	CHECK(b.p != mem);
	CHECK_MEM("0123456789abcdefghijklmnopqrst", b.p, b.len);
	p = buf_take(&b, &n);
	CHECK(p != NULL && p != mem);
	CHECK_INT(30, n);
	CHECK_STR("0123456789abcdefghijklmnopqrst", p);
	free(p);
	buf_free(&b);

	/* Small enough to stay lent: take copies it out, free leaves mem. */
	buf_init_lent(&b, mem, sizeof(mem), 100);
	CHECK_INT(0, buf_puts(&b, "abc"));
	p = buf_take(&b, &n);
	CHECK(p != NULL && p != mem);
	CHECK_STR("abc", p);
	free(p);
	CHECK_INT(0, buf_puts(&b, "xyz"));
	buf_free(&b);
}

int
main(void)
{
	RUN(test_append_within_max);
	RUN(test_lent_buffer_moves_out_whole);
	RUN(test_printf_and_take);
	RUN(test_growth_is_geometric);
	RUN(test_allocation_failure_leaves_buffer_intact);
	RUN(test_fast_path_keeps_the_ceiling);
	RUN(test_spans);
	return CHECK_SUMMARY();
}
