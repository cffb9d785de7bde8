/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The pKVM SMMUv3 hardware driver: the SMMUs the hypervisor owns.
 */
#ifndef __ARM64_KVM_NVHE_SMMU_V3_H__
#define __ARM64_KVM_NVHE_SMMU_V3_H__

#include <asm/kvm_pkvm_smmu.h>
#include <nvhe/spinlock.h>

struct arm_smmu_cmd;

enum hyp_smmu_state {
	HYP_SMMU_FREE = 0,
	/* MMIO owned and mapped, ID registers read, waiting for memory. */
	HYP_SMMU_PROBED,
	/* Reset and enabled: every stream aborts until a domain is attached. */
	HYP_SMMU_LIVE,
	/* Unsupported or failed to reset: kept by the hypervisor, never used. */
	HYP_SMMU_BROKEN,
};

/* What the hypervisor found in the ID registers. */
#define HYP_SMMU_FEAT_2LVL_STRTAB	BIT(0)
#define HYP_SMMU_FEAT_COHERENT		BIT(1)
#define HYP_SMMU_FEAT_S1		BIT(2)
#define HYP_SMMU_FEAT_S2		BIT(3)
#define HYP_SMMU_FEAT_RANGE_INV		BIT(4)
#define HYP_SMMU_FEAT_HYP		BIT(5)

/*
 * Lock order: hyp_smmu.lock nests inside the host and hyp component locks
 * (host_lock_component() / hyp_lock_component()) and never the other way.
 */
struct hyp_smmu {
	/* Set once at registration, before pKVM finalises; read-only after. */
	enum hyp_smmu_state	state;
	unsigned int		idx;
	phys_addr_t		mmio_phys;
	void __iomem		*base;
	u32			features;
	unsigned int		sid_bits;
	unsigned int		cmdq_shift;
	unsigned int		evtq_shift;
	unsigned int		strtab_log2size;
	unsigned int		strtab_l1_entries;
	unsigned int		nr_pages;	/* donated for the tables below */
	void			*strtab;	/* linear table or L1 table */
	u64			*cmdq;
	u64			*evtq;

	/* Protects the command queue and the stream table. */
	hyp_spinlock_t		lock;
	u32			cmdq_prod;	/* lock */
};

#ifdef CONFIG_PKVM_SMMU_V3
extern struct hyp_smmu hyp_smmus[PKVM_SMMU_MAX];

int __pkvm_smmu_register(phys_addr_t mmio, u64 size, u64 pfn, u64 nr_pages,
			 u64 *pages_needed);
int __pkvm_smmu_pop_event(u64 idx, u64 evt[PKVM_SMMU_EVT_DWORDS]);
#else
static inline int __pkvm_smmu_register(phys_addr_t mmio, u64 size, u64 pfn,
				       u64 nr_pages, u64 *pages_needed)
{
	return -ENODEV;
}

static inline int __pkvm_smmu_pop_event(u64 idx, u64 evt[PKVM_SMMU_EVT_DWORDS])
{
	return -ENODEV;
}
#endif

#endif /* __ARM64_KVM_NVHE_SMMU_V3_H__ */
