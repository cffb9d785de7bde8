/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The pKVM IOMMU core: domains, their I/O page tables and the hypercall
 * bodies the host IOMMU driver forwards to.
 */
#ifndef __ARM64_KVM_NVHE_IOMMU_H__
#define __ARM64_KVM_NVHE_IOMMU_H__

#include <linux/types.h>

struct kvm_s2_mmu;
struct pkvm_hyp_vm;

#ifdef CONFIG_PKVM_SMMU_V3
int pkvm_iommu_init(void);
bool hyp_iommu_memory_above(u64 limit);
int __pkvm_iommu_register_doorbell(u64 phys);
void pkvm_iommu_host_lost(u64 addr, u64 size);
void pkvm_iommu_host_lost_batch_begin(void);
void pkvm_iommu_host_lost_batch_end(void);
void pkvm_iommu_host_gained(u64 addr, u64 size);
int __pkvm_iommu_topup(u64 head, u64 nr_pages, u64 *taken);
int __pkvm_iommu_reclaim(u64 nr_pages);
int __pkvm_iommu_alloc_domain(u64 type, u64 *pages_needed);
int __pkvm_iommu_free_domain(u64 domain_id);
int __pkvm_iommu_attach(u64 domain_id, u64 smmu_idx, u64 sid, u64 *pages_needed);
int __pkvm_iommu_detach(u64 domain_id, u64 smmu_idx, u64 sid);
int __pkvm_iommu_map(u64 domain_id, u64 iova, u64 phys, u64 size, u64 prot,
		     u64 *done, u64 *pages_needed);
int __pkvm_iommu_unmap(u64 domain_id, u64 iova, u64 size, u64 flags, u64 *done);
int __pkvm_iommu_flush(u64 domain_id);
int __pkvm_iommu_iova_to_phys(u64 domain_id, u64 iova, u64 *phys);
int __pkvm_iommu_domain_info(u64 domain_id, u64 smmu_idx, u64 info[2]);
int __pkvm_iommu_assign_pvm(u64 handle, u64 smmu_idx, u64 sid, u64 *pages_needed);
int __pkvm_iommu_bench_knob(u64 knob, u64 value);
int __pkvm_iommu_assign_pvm_mmio(u64 handle, u64 pfn, u64 gfn, u64 nr_pages,
				 u64 *pages_needed);
int pkvm_iommu_teardown_vm(struct pkvm_hyp_vm *vm);
void pkvm_iommu_s2_flush_ipa(const struct kvm_s2_mmu *mmu, u64 ipa, int level);
void pkvm_iommu_s2_flush_range(const struct kvm_s2_mmu *mmu, u64 start, u64 pages);
void pkvm_iommu_s2_flush_vmid(const struct kvm_s2_mmu *mmu);
void pkvm_iommu_s2_defer(const struct kvm_s2_mmu *mmu);
void pkvm_iommu_s2_undefer(const struct kvm_s2_mmu *mmu);
#else
static inline int pkvm_iommu_init(void) { return 0; }
static inline int __pkvm_iommu_register_doorbell(u64 phys) { return -ENODEV; }
static inline void pkvm_iommu_host_lost(u64 addr, u64 size) { }
static inline void pkvm_iommu_host_lost_batch_begin(void) { }
static inline void pkvm_iommu_host_lost_batch_end(void) { }
static inline void pkvm_iommu_host_gained(u64 addr, u64 size) { }
static inline int __pkvm_iommu_topup(u64 head, u64 nr_pages, u64 *taken) { return -ENODEV; }
static inline int __pkvm_iommu_reclaim(u64 nr_pages) { return -ENODEV; }
static inline int __pkvm_iommu_alloc_domain(u64 type, u64 *pages_needed) { return -ENODEV; }
static inline int __pkvm_iommu_free_domain(u64 domain_id) { return -ENODEV; }
static inline int __pkvm_iommu_attach(u64 domain_id, u64 smmu_idx, u64 sid,
				      u64 *pages_needed) { return -ENODEV; }
static inline int __pkvm_iommu_detach(u64 domain_id, u64 smmu_idx, u64 sid) { return -ENODEV; }
static inline int __pkvm_iommu_map(u64 domain_id, u64 iova, u64 phys, u64 size,
				   u64 prot, u64 *done, u64 *pages_needed) { return -ENODEV; }
static inline int __pkvm_iommu_unmap(u64 domain_id, u64 iova, u64 size,
				     u64 flags, u64 *done) { return -ENODEV; }
static inline int __pkvm_iommu_flush(u64 domain_id) { return -ENODEV; }
static inline int __pkvm_iommu_iova_to_phys(u64 domain_id, u64 iova, u64 *phys) { return -ENODEV; }
static inline int __pkvm_iommu_domain_info(u64 domain_id, u64 smmu_idx,
					   u64 info[2]) { return -ENODEV; }
static inline int __pkvm_iommu_assign_pvm(u64 handle, u64 smmu_idx, u64 sid,
					  u64 *pages_needed) { return -ENODEV; }
static inline int __pkvm_iommu_bench_knob(u64 knob, u64 value) { return -ENODEV; }
static inline int __pkvm_iommu_assign_pvm_mmio(u64 handle, u64 pfn, u64 gfn,
					       u64 nr_pages, u64 *pages_needed)
{
	return -ENODEV;
}
static inline int pkvm_iommu_teardown_vm(struct pkvm_hyp_vm *vm) { return 0; }
static inline void pkvm_iommu_s2_flush_ipa(const struct kvm_s2_mmu *mmu, u64 ipa,
					   int level) { }
static inline void pkvm_iommu_s2_flush_range(const struct kvm_s2_mmu *mmu, u64 start,
					     u64 pages) { }
static inline void pkvm_iommu_s2_flush_vmid(const struct kvm_s2_mmu *mmu) { }
static inline void pkvm_iommu_s2_defer(const struct kvm_s2_mmu *mmu) { }
static inline void pkvm_iommu_s2_undefer(const struct kvm_s2_mmu *mmu) { }
#endif

#endif /* __ARM64_KVM_NVHE_IOMMU_H__ */
