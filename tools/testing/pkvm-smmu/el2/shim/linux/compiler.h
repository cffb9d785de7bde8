/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim: the kernel's tools/include/linux/compiler.h, with
 * READ_ONCE()/WRITE_ONCE() as relaxed atomics as in the pure-logic harness
 * (shim/linux/compiler.h), so ThreadSanitizer treats the intentionally racy
 * accesses of the EL2 code as atomic and checks the plain ones.
 */
#ifndef __PKVM_EL2_SHIM_LINUX_COMPILER_H__
#define __PKVM_EL2_SHIM_LINUX_COMPILER_H__

#include_next <linux/compiler.h>
#include <linux/build_bug.h>

#undef READ_ONCE
#undef WRITE_ONCE
#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, val)	__atomic_store_n(&(x), (val), __ATOMIC_RELAXED)

#undef __counted_by
#define __counted_by(member)

#ifndef __iomem
#define __iomem
#endif
#ifndef __rcu
#define __rcu
#endif

#endif /* __PKVM_EL2_SHIM_LINUX_COMPILER_H__ */
