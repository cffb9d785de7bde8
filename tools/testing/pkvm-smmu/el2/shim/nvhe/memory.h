/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for nvhe/memory.h: physical <-> hypervisor virtual
 * addresses in the harness's memory pool (el2/memory.c).
 */
#ifndef __PKVM_EL2_SHIM_NVHE_MEMORY_H__
#define __PKVM_EL2_SHIM_NVHE_MEMORY_H__

#include <asm/kvm_mmu.h>

#define hyp_phys_to_pfn(phys)	((phys) >> PAGE_SHIFT)
#define hyp_pfn_to_phys(pfn)	((phys_addr_t)((pfn) << PAGE_SHIFT))
#define hyp_virt_to_pfn(virt)	hyp_phys_to_pfn(__hyp_pa(virt))

static inline void *hyp_phys_to_virt(phys_addr_t phys)
{
	return __hyp_va(phys);
}

static inline phys_addr_t hyp_virt_to_phys(void *addr)
{
	return __hyp_pa(addr);
}

#endif /* __PKVM_EL2_SHIM_NVHE_MEMORY_H__ */
