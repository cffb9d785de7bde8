/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim: compiler annotations and READ_ONCE()/WRITE_ONCE().
 *
 * READ_ONCE()/WRITE_ONCE() are relaxed atomics, so that ThreadSanitizer
 * treats the intentionally racy accesses of the EL2 code as atomic, while
 * plain accesses stay plain and are checked for races.
 */
#ifndef __PKVM_SMMU_SHIM_LINUX_COMPILER_H__
#define __PKVM_SMMU_SHIM_LINUX_COMPILER_H__

#define __force
#define __rcu
/* Newer UAPI headers (linux/stddef.h) define it too. */
#undef __counted_by
#define __counted_by(member)
#define __aligned(x)		__attribute__((__aligned__(x)))
#define likely(x)		__builtin_expect(!!(x), 1)
#define unlikely(x)		__builtin_expect(!!(x), 0)

#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, val)	__atomic_store_n(&(x), (val), __ATOMIC_RELAXED)

#endif /* __PKVM_SMMU_SHIM_LINUX_COMPILER_H__ */
