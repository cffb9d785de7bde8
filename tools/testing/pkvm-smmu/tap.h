/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Minimal TAP output for the pkvm-smmu harness: one "ok N - name" or
 * "not ok N - name" line per test, diagnostics on "# " lines.
 */
#ifndef __PKVM_SMMU_TAP_H__
#define __PKVM_SMMU_TAP_H__

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Seconds one test may take; a hang (e.g. a walk that stops advancing) fails. */
#define TAP_TIMEOUT	60

static int tap_nr;
static int tap_nr_failed;
static int tap_cur_failed;

#define CHECK(cond)							\
do {									\
	if (!(cond)) {							\
		printf("# %s:%d: CHECK(%s) failed\n",			\
		       __FILE__, __LINE__, #cond);			\
		tap_cur_failed = 1;					\
	}								\
} while (0)

#define CHECK_EQ(a, b)							\
do {									\
	long long __a = (long long)(a), __b = (long long)(b);		\
	if (__a != __b) {						\
		printf("# %s:%d: CHECK_EQ(%s, %s) failed: %lld != %lld\n", \
		       __FILE__, __LINE__, #a, #b, __a, __b);		\
		tap_cur_failed = 1;					\
	}								\
} while (0)

static inline void tap_plan(int nr)
{
	printf("TAP version 13\n1..%d\n", nr);
	fflush(stdout);
}

static const char *tap_cur_name;

static inline void tap_timeout(int sig)
{
	static const char msg[] = "not ok - timeout (test hung): ";

	(void)sig;
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0 ||
	    write(STDOUT_FILENO, tap_cur_name, strlen(tap_cur_name)) < 0 ||
	    write(STDOUT_FILENO, "\n", 1) < 0)
		_exit(2);
	_exit(1);
}

static inline void tap_run(const char *name, void (*fn)(void))
{
	tap_cur_failed = 0;
	tap_cur_name = name;
	signal(SIGALRM, tap_timeout);
	alarm(TAP_TIMEOUT);
	fn();
	alarm(0);
	tap_nr++;
	if (tap_cur_failed)
		tap_nr_failed++;
	printf("%sok %d - %s\n", tap_cur_failed ? "not " : "", tap_nr, name);
	fflush(stdout);
}

static inline int tap_exit(void)
{
	printf("# %d passed, %d failed\n", tap_nr - tap_nr_failed,
	       tap_nr_failed);
	return tap_nr_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif /* __PKVM_SMMU_TAP_H__ */
