/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ABI between the host and the pKVM SMMUv3 driver at EL2.
 *
 * Hypercall ids live in enum __kvm_host_smccc_func (asm/kvm_asm.h). Arguments
 * travel in x1..x5; every hypercall returns an errno in x1 (0 or a positive
 * value on success) and may return more in x2..x5. docs/hypercalls.md has one
 * table per hypercall.
 */
#ifndef __ARM64_KVM_PKVM_SMMU_H__
#define __ARM64_KVM_PKVM_SMMU_H__

#include <linux/bits.h>
#include <linux/sizes.h>
#include <linux/types.h>

/* At most this many SMMUv3 instances are handed to the hypervisor. */
#define PKVM_SMMU_MAX			16

/* Size of the MMIO frame of one SMMUv3: register pages 0 and 1. */
#define PKVM_SMMU_MMIO_SIZE		SZ_128K

/*
 * __pkvm_smmu_register(mmio, size, pfn, nr_pages): before pKVM finalises,
 * give the SMMUv3 whose registers are at [mmio, mmio + size) to the
 * hypervisor, with nr_pages physically contiguous pages at pfn for its
 * stream table and queues.
 *
 * x1: the SMMU's index (>= 0), or a negative errno.
 * x2: with -ENOMEM, the number of contiguous pages the host must donate;
 *     the host repeats the call with that many pages (a first call with
 *     nr_pages = 0 asks for the number).
 */
#define PKVM_SMMU_REG_PAGES_NEEDED	2	/* register of the result */

/*
 * __pkvm_pci_register_window(phys, size), __pkvm_pci_register_fn(cfg_phys,
 * smmu_idx, sid), __pkvm_pci_register_bar(cfg_phys, phys, size): before pKVM
 * finalises, name each ECAM window, each function present in it (once per
 * stream, or once with PKVM_PCI_NO_STREAM) and each of its memory BARs (size
 * 0 for one the host cannot describe, such as I/O space). From then on the
 * hypervisor emulates the host's configuration accesses and keeps the
 * functions' address routing as it was (nvhe/pci_cfg.c).
 */
#define PKVM_PCI_NO_STREAM		(~0ULL)

/*
 * __pkvm_smmu_pop_event(idx): take the oldest event record of SMMU @idx.
 *
 * x1: 0 if the queue is empty, 1 with a record, 2 with a record that follows
 *     an overflow (older records were lost), or a negative errno.
 * x2..x5: the record's four double words (Arm IHI 0070, 7.3 "Event records").
 */
#define PKVM_SMMU_EVT_DWORDS		4

/*
 * __pkvm_smmu_inject_fault(idx, after, kind), CONFIG_PKVM_SMMU_V3_FAULT_INJECT
 * only (-EOPNOTSUPP otherwise): make the command batch of SMMU @idx that
 * comes after @after more batches fail in the way @kind says; kind 0 disarms.
 */
#define PKVM_SMMU_INJECT_NONE		0
#define PKVM_SMMU_INJECT_TIMEOUT	1	/* its CMD_SYNC "times out" */
#define PKVM_SMMU_INJECT_CMDQ_ERR	2	/* a rejected command precedes it */

/*
 * IOMMU domains (docs/hypercalls.md). Domain ids are chosen by the
 * hypervisor. A call that needs hypervisor memory returns -ENOMEM with the
 * number of pages in a result register; the host adds them with
 * __pkvm_iommu_topup and repeats the call, which is safe to repeat.
 */
#define PKVM_IOMMU_MAX_DOMAINS		1024
#define PKVM_IOMMU_DOMAIN_S2		1
/* The host's identity domain: maps exactly the memory the host owns. */
#define PKVM_IOMMU_DOMAIN_IDENTITY	2
#define PKVM_IOMMU_PROT_READ		BIT(0)
#define PKVM_IOMMU_PROT_WRITE		BIT(1)
/* __pkvm_iommu_unmap: leave the invalidation to __pkvm_iommu_flush (memory only). */
#define PKVM_IOMMU_UNMAP_DEFER		BIT(0)
/* Pages one __pkvm_iommu_map or __pkvm_iommu_unmap call covers at most. */
#define PKVM_IOMMU_MAP_MAX_PAGES	512ULL
/* Pages one __pkvm_iommu_topup or __pkvm_iommu_reclaim call moves at most. */
#define PKVM_IOMMU_TOPUP_MAX		1024
/* Input address bits of every domain. */
#define PKVM_IOMMU_IAS			39
/* __pkvm_iommu_bench_knob (test kernels): read invalidation arrays under a lock. */
#define PKVM_IOMMU_BENCH_LOCKED_INVS	1
/* ... and take an abort at EL2 on a load with a fixup: -EIO, not a panic. */
#define PKVM_IOMMU_TEST_EL2_ABORT	2

#ifndef __KVM_NVHE_HYPERVISOR__
/*
 * Host side: called by finalize_pkvm() before the host loses its privileges.
 * Hands the hypervisor every SMMUv3 that firmware describes and no driver
 * took yet; an error stops pKVM from finalising. Then registers PCI
 * configuration space (ECAM windows, functions, BARs) with the hypervisor;
 * a failure there only keeps the functions unassignable.
 */
struct device;

#ifdef CONFIG_PKVM_SMMU_V3
int pkvm_smmu_finalize(void);
int pkvm_smmu_assign_pvm(struct device *dev, u64 handle, const u64 *bar_gpa);
void pkvm_smmu_release_pvm(u64 handle);
#else
static inline int pkvm_smmu_finalize(void)
{
	return 0;
}

static inline int pkvm_smmu_assign_pvm(struct device *dev, u64 handle,
				       const u64 *bar_gpa)
{
	return -EOPNOTSUPP;
}

static inline void pkvm_smmu_release_pvm(u64 handle)
{
}
#endif
#endif

#endif /* __ARM64_KVM_PKVM_SMMU_H__ */
