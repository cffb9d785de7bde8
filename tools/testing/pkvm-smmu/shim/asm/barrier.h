/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim: the arm64 barriers as C11 atomics, which ThreadSanitizer
 * understands (except fences: TSan ignores smp_mb(), so the stress test
 * cannot rely on it for happens-before; see README).
 */
#ifndef __PKVM_SMMU_SHIM_ASM_BARRIER_H__
#define __PKVM_SMMU_SHIM_ASM_BARRIER_H__

/* dmb ish */
#define smp_mb()			__atomic_thread_fence(__ATOMIC_SEQ_CST)
/* ldar */
#define smp_load_acquire(p)		__atomic_load_n((p), __ATOMIC_ACQUIRE)
/* stlr */
#define smp_store_release(p, v)		__atomic_store_n((p), (v), __ATOMIC_RELEASE)

#endif /* __PKVM_SMMU_SHIM_ASM_BARRIER_H__ */
