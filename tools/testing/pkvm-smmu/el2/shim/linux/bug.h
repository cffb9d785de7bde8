/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for linux/bug.h. A WARN at EL2 is fatal (hyp_panic), and
 * nothing the host does may reach one: here it reports and aborts.
 */
#ifndef __PKVM_EL2_SHIM_LINUX_BUG_H__
#define __PKVM_EL2_SHIM_LINUX_BUG_H__

#include <linux/build_bug.h>

void el2_warn(const char *file, int line, const char *cond) __attribute__((__noreturn__));

#define WARN_ON(cond)							\
({									\
	int __c = !!(cond);						\
	if (__c)							\
		el2_warn(__FILE__, __LINE__, #cond);			\
	__c;								\
})
#define WARN_ON_ONCE(cond)	WARN_ON(cond)
#define BUG_ON(cond)		WARN_ON(cond)
#define BUG()			el2_warn(__FILE__, __LINE__, "BUG")

#endif /* __PKVM_EL2_SHIM_LINUX_BUG_H__ */
