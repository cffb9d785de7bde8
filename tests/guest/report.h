/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kselftest-style reporting for the test programs: one "ok N - ..." or
 * "not ok N - ..." line per check, kselftest exit codes. The program names
 * itself in REPORT_PROG before including this file.
 */
#ifndef PKVM_TESTS_GUEST_REPORT_H
#define PKVM_TESTS_GUEST_REPORT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#define KSFT_PASS		0
#define KSFT_FAIL		1
#define KSFT_SKIP		4

static int nr_checks, nr_failed;

/* Report an error that stops the program; returns its exit code. */
static inline int error(const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", REPORT_PROG);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return KSFT_FAIL;
}

/* One check: counted, and printed as an "ok" or "not ok" line. */
static inline void check(bool pass, const char *fmt, ...)
{
	va_list ap;

	nr_checks++;
	if (!pass)
		nr_failed++;
	printf("%s %d - ", pass ? "ok" : "not ok", nr_checks);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

#endif /* PKVM_TESTS_GUEST_REPORT_H */
