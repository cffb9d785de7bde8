/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * PCI configuration space mediated by the hypervisor: which functions the
 * host may no longer reconfigure (nvhe/pci_cfg.c).
 */
#ifndef __ARM64_KVM_NVHE_PCI_CFG_H__
#define __ARM64_KVM_NVHE_PCI_CFG_H__

#include <linux/types.h>

#include <asm/kvm_pkvm_smmu.h>

struct kvm_cpu_context;

#ifdef CONFIG_PKVM_SMMU_V3
int __pkvm_pci_register_window(u64 phys, u64 size);
int __pkvm_pci_register_fn(u64 cfg_phys, u64 smmu_idx, u64 sid);
int __pkvm_pci_register_bar(u64 cfg_phys, u64 phys, u64 size);
bool pkvm_pci_host_abort(struct kvm_cpu_context *host_ctxt, u64 esr, u64 page, u64 far);
int pkvm_pci_claim_bar(u64 handle, u64 phys, u64 size);
void pkvm_pci_bar_given(u64 handle, u64 phys, u64 size, bool given);
int pkvm_pci_stream_assignable(u64 handle, u64 smmu_idx, u64 sid);
int pkvm_pci_lock_host_stream(u64 smmu_idx, u64 sid);
void pkvm_pci_unlock_host_stream(void);
bool pkvm_iommu_stream_in_use(u64 smmu_idx, u64 sid);
void pkvm_pci_stream_msi(u64 handle, u64 smmu_idx, u64 sid);
u64 pkvm_iommu_pvm_msi_route(u64 handle, u64 addr);
void pkvm_pci_release_vm(u64 handle);
int pkvm_pci_test_abort(void);
#else
static inline int __pkvm_pci_register_window(u64 phys, u64 size) { return -ENODEV; }
static inline int __pkvm_pci_register_fn(u64 cfg_phys, u64 smmu_idx, u64 sid)
{
	return -ENODEV;
}
static inline int __pkvm_pci_register_bar(u64 cfg_phys, u64 phys, u64 size)
{
	return -ENODEV;
}
static inline bool pkvm_pci_host_abort(struct kvm_cpu_context *host_ctxt, u64 esr,
				       u64 page, u64 far)
{
	return false;
}
static inline void pkvm_pci_release_vm(u64 handle) { }
#endif

#endif /* __ARM64_KVM_NVHE_PCI_CFG_H__ */
