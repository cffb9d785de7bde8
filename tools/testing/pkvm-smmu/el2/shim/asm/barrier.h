/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim: the pure-logic harness's barriers, plus the device ones.
 * The SMMU model runs synchronously on the CPU that writes its registers,
 * so device ordering is the program order of that thread; a full fence
 * keeps the compiler from moving table writes past an MMIO access.
 */
#ifndef __PKVM_EL2_SHIM_ASM_BARRIER_H__
#define __PKVM_EL2_SHIM_ASM_BARRIER_H__

#include "../../../shim/asm/barrier.h"
#include <linux/compiler.h>

#define dsb(opt)		__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define isb()			__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define mb()			__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define rmb()			__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define wmb()			__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define dma_rmb()		__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define dma_wmb()		__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define smp_rmb()		__atomic_thread_fence(__ATOMIC_ACQUIRE)
#define smp_wmb()		__atomic_thread_fence(__ATOMIC_RELEASE)
#define cpu_relax()		barrier()

#endif /* __PKVM_EL2_SHIM_ASM_BARRIER_H__ */
