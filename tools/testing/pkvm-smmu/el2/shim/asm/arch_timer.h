/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for asm/arch_timer.h: the physical counter is
 * CLOCK_MONOTONIC in nanoseconds (CNTFRQ_EL0 reads 1 GHz) plus 1 ms more for
 * every read (el2/memory.c), so a polling bound that expires takes about a
 * hundred polls instead of 100 ms.
 */
#ifndef __PKVM_EL2_SHIM_ASM_ARCH_TIMER_H__
#define __PKVM_EL2_SHIM_ASM_ARCH_TIMER_H__

#include <linux/types.h>

u64 __arch_counter_get_cntpct(void);

#endif /* __PKVM_EL2_SHIM_ASM_ARCH_TIMER_H__ */
