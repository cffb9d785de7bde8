/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for asm/kvm_mmu.h: the EL2 linear map is the harness's
 * physical memory pool (el2/memory.c); cache maintenance to the point of
 * coherence is counted, so a test can see that a non-coherent SMMU got it.
 */
#ifndef __PKVM_EL2_SHIM_ASM_KVM_MMU_H__
#define __PKVM_EL2_SHIM_ASM_KVM_MMU_H__

#include <linux/kernel.h>
#include <asm/kvm_pgtable.h>

phys_addr_t el2_pa(const void *va);
void *el2_va(phys_addr_t pa);
void el2_flush_dcache_to_poc(void *addr, size_t size);

#define __hyp_pa(x)			el2_pa((const void *)(x))
#define __hyp_va(pa)			el2_va((phys_addr_t)(pa))
#define kvm_flush_dcache_to_poc(a, l)	el2_flush_dcache_to_poc((void *)(a), (l))

#endif /* __PKVM_EL2_SHIM_ASM_KVM_MMU_H__ */
