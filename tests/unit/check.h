/*
 * check.h: the unit-test harness.  A test file defines test functions,
 * lists them in main() with RUN(), and ends with CHECK_SUMMARY().  A failed
 * check prints file:line, what was wanted and what was got, and the test
 * carries on so one run shows every failure.
 */
#ifndef CAPSULED_CHECK_H
#define CAPSULED_CHECK_H

#include <stdio.h>
#include <string.h>

static int	check_failures;
static int	check_tests_run;
static int	check_tests_failed;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n",		\
		    __FILE__, __LINE__, #cond);				\
		check_failures++;					\
	}								\
} while (0)

#define CHECK_INT(want, got) do {					\
	long long check_w_ = (long long)(want);				\
	long long check_g_ = (long long)(got);				\
	if (check_w_ != check_g_) {					\
		fprintf(stderr, "%s:%d: %s: want %lld, got %lld\n",	\
		    __FILE__, __LINE__, #got, check_w_, check_g_);	\
		check_failures++;					\
	}								\
} while (0)

#define CHECK_STR(want, got) do {					\
	const char *check_w_ = (want);					\
	const char *check_g_ = (got);					\
	if (check_g_ == NULL || strcmp(check_w_, check_g_) != 0) {	\
		fprintf(stderr, "%s:%d: %s:\n  want \"%s\"\n  got  \"%s\"\n",\
		    __FILE__, __LINE__, #got, check_w_,			\
		    check_g_ ? check_g_ : "(null)");			\
		check_failures++;					\
	}								\
} while (0)

/* Compare n bytes at got with the C string want (got need not end in NUL). */
#define CHECK_MEM(want, got, n) do {					\
	const char *check_w_ = (want);					\
	size_t check_n_ = (n);						\
	if (strlen(check_w_) != check_n_ ||				\
	    memcmp(check_w_, (got), check_n_) != 0) {			\
		fprintf(stderr, "%s:%d: %s:\n  want \"%s\"\n  got  \"%.*s\"\n",\
		    __FILE__, __LINE__, #got, check_w_,			\
		    (int)check_n_, (const char *)(got));		\
		check_failures++;					\
	}								\
} while (0)

#define RUN(fn) do {							\
	int check_before_ = check_failures;				\
	check_tests_run++;						\
	fn();								\
	if (check_failures != check_before_) {				\
		check_tests_failed++;					\
		fprintf(stderr, "FAIL %s\n", #fn);			\
	}								\
} while (0)

/* Print "N passed, M failed" and give main() its exit status. */
#define CHECK_SUMMARY() (						\
	printf("%d passed, %d failed\n",				\
	    check_tests_run - check_tests_failed, check_tests_failed),	\
	check_tests_failed == 0 ? 0 : 1)

#endif
