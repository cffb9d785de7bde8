/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for nvhe/pkvm.h: a hypervisor VM as much as the IOMMU code
 * sees of it (its stage-2 and pKVM state), and the VM table of nvhe/pkvm.c
 * (el2/memory.c), whose references keep a VM from being torn down.
 */
#ifndef __PKVM_EL2_SHIM_NVHE_PKVM_H__
#define __PKVM_EL2_SHIM_NVHE_PKVM_H__

#include <linux/kvm_host.h>
#include <asm/kvm_pgtable.h>
#include <nvhe/spinlock.h>

typedef unsigned int pkvm_handle_t;

struct kvm_protected_vm {
	pkvm_handle_t	handle;
	bool		is_protected;
	bool		is_dying;
};

struct kvm_arch {
	struct kvm_s2_mmu	mmu;
	struct kvm_protected_vm	pkvm;
};

struct kvm {
	struct kvm_arch	arch;
};

struct pkvm_hyp_vm {
	struct kvm			kvm;
	struct kvm_pgtable		pgt;
	struct kvm_pgtable_mm_ops	mm_ops;
	hyp_spinlock_t			lock;
	/* hyp_page_count() of the VM's page in pKVM: el2/memory.c's lock. */
	unsigned int			refcount;
};

struct pkvm_hyp_vm *get_pkvm_hyp_vm(pkvm_handle_t handle);
void put_pkvm_hyp_vm(struct pkvm_hyp_vm *hyp_vm);

static inline bool pkvm_hyp_vm_is_protected(struct pkvm_hyp_vm *hyp_vm)
{
	return hyp_vm->kvm.arch.pkvm.is_protected;
}

#endif /* __PKVM_EL2_SHIM_NVHE_PKVM_H__ */
