/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for nvhe/mm.h: private mappings of device frames. Only
 * __pkvm_host_donate_hyp_mmio()) exist; the VA is the device model's
 * fake frame.
 */
#ifndef __PKVM_EL2_SHIM_NVHE_MM_H__
#define __PKVM_EL2_SHIM_NVHE_MM_H__

#include <asm/kvm_pgtable.h>
#include <nvhe/memory.h>
#include <nvhe/spinlock.h>

int __pkvm_create_private_mapping(phys_addr_t phys, size_t size,
				  enum kvm_pgtable_prot prot,
				  unsigned long *haddr);
/* VA nothing maps: a load from it aborts (nvhe/fixup_io.h's shim). */
int pkvm_alloc_private_va_range(size_t size, unsigned long *haddr);

#endif /* __PKVM_EL2_SHIM_NVHE_MM_H__ */
