/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for asm/tlbflush.h: the hypervisor's own stage-1 TLB
 * maintenance is not modelled (the IOMMU code never changes the hyp's page
 * table); reaching it aborts.
 */
#ifndef __PKVM_EL2_SHIM_ASM_TLBFLUSH_H__
#define __PKVM_EL2_SHIM_ASM_TLBFLUSH_H__

#include <limits.h>

#define TLBI_TTL_UNKNOWN		INT_MAX
#define __TLBI_RANGE_PAGES(num, scale)	\
	((unsigned long)((num) + 1) << (5 * (scale) + 1))
#define MAX_TLBI_RANGE_PAGES		__TLBI_RANGE_PAGES(31, 3)

void el2_unmodelled(const char *what) __attribute__((__noreturn__));

#define __tlbi_level(op, addr, level)	el2_unmodelled("tlbi " #op)
#define __tlbi_sync_s1ish_hyp()		el2_unmodelled("tlbi sync")

#endif /* __PKVM_EL2_SHIM_ASM_TLBFLUSH_H__ */
