/* SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0 */
/* A tiny check harness for the C unit tests: counts and reports failures. */
#ifndef EROFS_UNIT_H
#define EROFS_UNIT_H

#include <stdio.h>

static int unit_failures, unit_checks;

#define CHECK(cond) do {						\
	unit_checks++;							\
	if (!(cond)) {							\
		unit_failures++;					\
		fprintf(stderr, "%s:%d: check failed: %s\n",		\
			__FILE__, __LINE__, #cond);			\
	}								\
} while (0)

#define CHECK_EQ_U(a, b) do {						\
	unsigned long long _a = (a), _b = (b);				\
	unit_checks++;							\
	if (_a != _b) {							\
		unit_failures++;					\
		fprintf(stderr, "%s:%d: %s = %#llx, expected %#llx\n",	\
			__FILE__, __LINE__, #a, _a, _b);		\
	}								\
} while (0)

static inline int unit_done(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, unit_checks, unit_failures);
	return unit_failures ? 1 : 0;
}

#endif
