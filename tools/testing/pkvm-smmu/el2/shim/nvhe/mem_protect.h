/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for nvhe/mem_protect.h: the page-ownership calls the IOMMU
 * code makes, on a page-state table with mem_protect.c's transitions
 * (el2/mem_protect.c).
 */
#ifndef __PKVM_EL2_SHIM_NVHE_MEM_PROTECT_H__
#define __PKVM_EL2_SHIM_NVHE_MEM_PROTECT_H__

#include <asm/kvm_hyp.h>
#include <asm/kvm_mmu.h>
#include <asm/kvm_pgtable.h>
#include <nvhe/memory.h>
#include <nvhe/spinlock.h>

struct pkvm_hyp_vm;

bool addr_is_memory(phys_addr_t phys);
int __pkvm_host_donate_hyp(u64 pfn, u64 nr_pages);
int __pkvm_host_donate_hyp_mmio(u64 pfn, u64 nr_pages);
int __pkvm_host_share_dma(u64 phys, u64 size);
void __pkvm_host_unshare_dma(u64 phys, u64 size);
int pkvm_host_donate_guest_mmio(struct pkvm_hyp_vm *vm, u64 phys, u64 ipa,
				u64 size, struct kvm_hyp_memcache *mc);
void pkvm_guest_mmio_revoke(struct pkvm_hyp_vm *vm);
void pkvm_guest_mmio_reclaim(struct pkvm_hyp_vm *vm);
void pkvm_host_walk_inaccessible(void (*fn)(u64 start, u64 end, void *arg),
				 void (*publish)(void *arg), void *arg);
int __pkvm_hyp_donate_host(u64 pfn, u64 nr_pages);
int refill_memcache(struct kvm_hyp_memcache *mc, unsigned long min_pages,
		    struct kvm_hyp_memcache *host_mc);

#endif /* __PKVM_EL2_SHIM_NVHE_MEM_PROTECT_H__ */
