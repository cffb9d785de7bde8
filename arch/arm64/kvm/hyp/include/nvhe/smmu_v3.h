/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The pKVM SMMUv3 hardware driver: the SMMUs the hypervisor owns.
 */
#ifndef __ARM64_KVM_NVHE_SMMU_V3_H__
#define __ARM64_KVM_NVHE_SMMU_V3_H__

#include <asm/kvm_pkvm_smmu.h>
#include <nvhe/smmu_tags.h>
#include <nvhe/spinlock.h>

struct arm_smmu_cmd;

enum hyp_smmu_state {
	HYP_SMMU_FREE = 0,
	/* MMIO owned and mapped, ID registers read, waiting for memory. */
	HYP_SMMU_PROBED,
	/* Reset and enabled: every stream aborts until a domain is attached. */
	HYP_SMMU_LIVE,
	/*
	 * Unsupported, failed to reset, or stopped after an unconfirmed
	 * invalidation: kept by the hypervisor, never used again. hyp_smmu.off
	 * says whether it acknowledged that it translates nothing.
	 */
	HYP_SMMU_BROKEN,
};

/* What the hypervisor found in the ID registers. */
#define HYP_SMMU_FEAT_2LVL_STRTAB	BIT(0)
#define HYP_SMMU_FEAT_COHERENT		BIT(1)
#define HYP_SMMU_FEAT_S1		BIT(2)
#define HYP_SMMU_FEAT_S2		BIT(3)
#define HYP_SMMU_FEAT_RANGE_INV		BIT(4)
#define HYP_SMMU_FEAT_HYP		BIT(5)
#define HYP_SMMU_FEAT_FWB		BIT(6)
#define HYP_SMMU_FEAT_ATS		BIT(7)
/* The kernel uses FEAT_LPA2: see smmu_probe_lpa2(). */
#define HYP_SMMU_FEAT_DS		BIT(8)
#define HYP_SMMU_FEAT_SHCFG		BIT(9)

/* Streams of one SMMU whose events are private: see __pkvm_smmu_pop_event(). */
#define HYP_SMMU_MAX_PRIVATE_SIDS	64

struct hyp_smmu_private_sid {
	u32	sid;
	u32	users;		/* assignments to a protected VM, done or under way */
	u64	until;		/* no users: private up to this many events popped */
};

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
	unsigned int		vmid_bits;
	unsigned int		oas_enc;	/* IDR5.OAS, also the STE's S2PS */
	unsigned int		cmdq_shift;
	unsigned int		evtq_shift;
	unsigned int		strtab_log2size;
	unsigned int		strtab_l1_entries;
	unsigned int		nr_pages;	/* donated for the tables below */
	void			*strtab;	/* linear table or L1 table */
	u64			*cmdq;
	u64			*evtq;

	/*
	 * Set once GBPA aborts and SMMUEN clear were acknowledged; cleared
	 * just before translation is enabled. Written under lock, read with
	 * READ_ONCE.
	 */
	bool			off;

	/* Protects the command queue, the stream table and the VMID space. */
	hyp_spinlock_t		lock;
	u32			cmdq_prod;	/* lock */
	/*
	 * lock: a deferred unmap (hyp_smmu_defer_tlbi()) cleared leaves this
	 * SMMU may still hold in its TLB, and no TLBI_NSNH_ALL completed
	 * since. Read without the lock by pkvm_iommu_host_lost(): see there.
	 */
	bool			tlb_stale;
	struct smmu_tag_space	vmids;		/* lock */
	/* lock: event records popped, and the streams whose records are private. */
	u64			evts_popped;
	unsigned int		nr_private_sids;
	struct hyp_smmu_private_sid private_sids[HYP_SMMU_MAX_PRIVATE_SIDS];
#ifdef CONFIG_PKVM_SMMU_V3_FAULT_INJECT
	/* __pkvm_smmu_inject_fault(): batches to let through, then the fault. */
	u32			inject_after;	/* lock */
	u32			inject_kind;	/* lock */
#endif
};

/* A stage-2 translation as an STE carries it. */
struct hyp_smmu_s2_cfg {
	phys_addr_t	root;		/* the page table's root */
	unsigned int	ias;		/* input address bits */
	unsigned int	sl0;		/* VTCR.SL0 of the table's start level */
	bool		fwb;		/* descriptors use the FWB attribute encoding */
	u16		vmid;
};

#ifdef CONFIG_PKVM_SMMU_V3
extern struct hyp_smmu hyp_smmus[PKVM_SMMU_MAX];

int __pkvm_smmu_register(phys_addr_t mmio, u64 size, u64 pfn, u64 nr_pages,
			 u64 *pages_needed);
int __pkvm_smmu_quarantine(phys_addr_t mmio, u64 size);
int __pkvm_smmu_take_pmcg(phys_addr_t page0, u64 size0, phys_addr_t page1, u64 size1);
int __pkvm_smmu_inject_fault(u64 idx, u64 after, u64 kind);
int __pkvm_smmu_pop_event(u64 idx, u64 evt[PKVM_SMMU_EVT_DWORDS]);

struct hyp_smmu *hyp_smmu_get(u64 idx);
struct hyp_smmu *hyp_smmu_get_any(u64 idx);
bool hyp_smmu_translating(struct hyp_smmu *smmu);
bool hyp_smmu_sid_valid(struct hyp_smmu *smmu, u64 sid);
bool hyp_smmu_s2_compatible(struct hyp_smmu *smmu, unsigned int ias);
int hyp_smmu_ste_pages(struct hyp_smmu *smmu, u32 sid);
int hyp_smmu_install_ste(struct hyp_smmu *smmu, u32 sid,
			 const struct hyp_smmu_s2_cfg *cfg,
			 void *(*alloc)(void *arg), void *arg);
bool hyp_smmu_ste_in_use(struct hyp_smmu *smmu, u32 sid);
int hyp_smmu_clear_ste(struct hyp_smmu *smmu, u32 sid,
		       const struct hyp_smmu_s2_cfg *cfg);
int hyp_smmu_tlbi_vmid(struct hyp_smmu *smmu, u16 vmid);
int hyp_smmu_events_private(struct hyp_smmu *smmu, u32 sid);
void hyp_smmu_events_public(struct hyp_smmu *smmu, u32 sid);
/* hyp_smmu_tlbi_range(): only level-3 leaves, no table freed. */
#define HYP_SMMU_TLBI_LEAF3	BIT(0)
int hyp_smmu_tlbi_range(struct hyp_smmu *smmu, u16 vmid, u64 iova, u64 size,
			unsigned int flags);
int hyp_smmu_abort_all(struct hyp_smmu *smmu);
bool hyp_smmu_defer_tlbi(struct hyp_smmu *smmu);
int hyp_smmu_flush_deferred(struct hyp_smmu *smmu);
#else
static inline int __pkvm_smmu_register(phys_addr_t mmio, u64 size, u64 pfn,
				       u64 nr_pages, u64 *pages_needed)
{
	return -ENODEV;
}

static inline int __pkvm_smmu_quarantine(phys_addr_t mmio, u64 size)
{
	return -ENODEV;
}

static inline int __pkvm_smmu_take_pmcg(phys_addr_t page0, u64 size0,
					phys_addr_t page1, u64 size1)
{
	return -ENODEV;
}

static inline int __pkvm_smmu_inject_fault(u64 idx, u64 after, u64 kind)
{
	return -ENODEV;
}

static inline int __pkvm_smmu_pop_event(u64 idx, u64 evt[PKVM_SMMU_EVT_DWORDS])
{
	return -ENODEV;
}
#endif

#endif /* __ARM64_KVM_NVHE_SMMU_V3_H__ */
