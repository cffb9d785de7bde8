// SPDX-License-Identifier: GPL-2.0-only
/*
 * pKVM SMMUv3 hardware driver.
 *
 * Before pKVM finalises, the host hands every SMMUv3 to the hypervisor with
 * __pkvm_smmu_register(). From then on the SMMU's registers, stream table and
 * queues belong to EL2:
 *
 *  - the MMIO frame is annotated as hyp-owned in the host stage-2, so a host
 *    access takes an external abort (__pkvm_host_donate_hyp_mmio());
 *  - the stream table and the queues live in pages the host donated, which
 *    the host can no longer map (__pkvm_host_donate_hyp());
 *  - every stream aborts: the stream table starts empty (invalid L1
 *    descriptors or invalid STEs), and GBPA aborts while the SMMU is off;
 *  - ATS-translated transactions are checked against the stream table
 *    (CR0.ATSCHK) wherever the SMMU implements ATS, so a device whose ATS the
 *    host enables in config space cannot present physical addresses.
 *
 * An SMMU the hypervisor cannot drive safely is refused at registration and,
 * if its frame was already taken, left disabled with GBPA aborting: forced
 * stall (faults would hold transactions for the host to resume), enhanced
 * command queues (their control pages lie beyond the two register pages the
 * hypervisor takes, so the host could issue commands through them), tables
 * or queues preset by firmware.
 *
 * Commands are submitted with a CMD_SYNC and polled for a bounded time.
 */
#include <linux/bitfield.h>
#include <linux/nospec.h>

#include <asm/arch_timer.h>
#include <asm/kvm_hyp.h>
#include <asm/kvm_mmu.h>
#include <asm/kvm_pgtable.h>
#include <asm/kvm_pkvm.h>

#include <nvhe/iommu.h>
#include <nvhe/mem_protect.h>
#include <nvhe/mm.h>
#include <nvhe/smmu_tags.h>
#include <nvhe/smmu_v3.h>

#include "arm-smmu-v3.h"

/* The queues are one page each: 256 commands, 128 events. */
#define HYP_SMMU_CMDQ_SHIFT	(PAGE_SHIFT - CMDQ_ENT_SZ_SHIFT)
#define HYP_SMMU_EVTQ_SHIFT	(PAGE_SHIFT - EVTQ_ENT_SZ_SHIFT)
/* The largest linear stream table we accept: 1024 STEs, 64 KiB. */
#define HYP_SMMU_MAX_LINEAR_SID_BITS	10
/* The largest L1 stream table we accept: 8192 descriptors, 64 KiB. */
#define HYP_SMMU_MAX_L1_SHIFT	13
/* Level-2 stream tables of 64 STEs: one page each, taken from the IOMMU memcache. */
#define HYP_SMMU_STRTAB_SPLIT	6
#define HYP_SMMU_L2_STES	BIT(HYP_SMMU_STRTAB_SPLIT)
/* Polling bound for register acknowledgements and CMD_SYNC. */
#define HYP_SMMU_POLL_MS	100
/*
 * SMMUv3.3 enhanced command queues (IDR1.ECMDQ), which the host driver has
 * no names for: 2^IDR6.CMDQ_CONTROL_PAGE_LOG2NUMP control pages of 64 KiB,
 * contiguous, from the offset CMDQ_CONTROL_PAGE_BASE0.ADDR names.
 */
#define HYP_SMMU_IDR1_ECMDQ	BIT(31)
#define HYP_SMMU_IDR6		0x190
#define HYP_SMMU_IDR6_LOG2NUMP	GENMASK(27, 24)
#define HYP_SMMU_ECMDQ_PAGE_BASE0	0x4000
#define HYP_SMMU_ECMDQ_PAGE_ADDR	GENMASK_ULL(55, 16)
#define HYP_SMMU_ECMDQ_PAGE_GS		GENMASK_ULL(2, 1)
#define HYP_SMMU_ECMDQ_PAGE_GS_64K	1
#define HYP_SMMU_ECMDQ_MAX_LOG2NUMP	8
/* 52-bit addresses with 4 KiB pages, the format of FEAT_LPA2 (STE.S2DS). */
#define HYP_SMMU_IDR5_DS	BIT(7)
#define HYP_SMMU_STE_3_S2DS	BIT_ULL(3)
/*
 * Output addresses an SMMU without IDR5.DS reads right from LPA2 descriptors:
 * with 4 KiB pages its format ends at bit 47 (bits 49:48 are RES0 there).
 */
#define HYP_SMMU_NO_DS_MAX_PA	BIT_ULL(48)

struct hyp_smmu hyp_smmus[PKVM_SMMU_MAX];

/* Serialises registration; nests outside hyp_smmu.lock. */
static DEFINE_HYP_SPINLOCK(hyp_smmus_lock);

static u64 smmu_poll_deadline(void)
{
	return __arch_counter_get_cntpct() +
	       read_sysreg(cntfrq_el0) / 1000 * HYP_SMMU_POLL_MS;
}

/*
 * Wait until @cond holds, at the latest until the counter passes @deadline.
 * The hypervisor must never hang on a device: a timeout is an error the
 * caller reports.
 */
#define smmu_wait_until(cond, deadline)				\
({								\
	u64 __deadline = (deadline);				\
	int __ret = 0;						\
								\
	while (!(cond)) {					\
		if (__arch_counter_get_cntpct() > __deadline) {	\
			__ret = -ETIMEDOUT;			\
			break;					\
		}						\
		cpu_relax();					\
	}							\
	__ret;							\
})

/* Wait until @cond holds, for at most HYP_SMMU_POLL_MS. */
#define smmu_wait(cond)	smmu_wait_until(cond, smmu_poll_deadline())

static u32 smmu_read(struct hyp_smmu *smmu, u32 off)
{
	return readl_relaxed(smmu->base + off);
}

static void smmu_write(struct hyp_smmu *smmu, u32 off, u32 val)
{
	writel_relaxed(val, smmu->base + off);
}

static void smmu_write64(struct hyp_smmu *smmu, u32 off, u64 val)
{
	writeq_relaxed(val, smmu->base + off);
}

/* The event queue's PROD and CONS are in register page 1. */
static u32 smmu_page1(u32 off)
{
	return SZ_64K + off;
}

static int smmu_write_ack(struct hyp_smmu *smmu, u32 off, u32 ack_off, u32 val)
{
	smmu_write(smmu, off, val);
	return smmu_wait(smmu_read(smmu, ack_off) == val);
}

/* Make CPU writes to tables and queues visible to a non-coherent SMMU. */
static void smmu_sync_to_device(struct hyp_smmu *smmu, void *addr, size_t size)
{
	if (!(smmu->features & HYP_SMMU_FEAT_COHERENT))
		kvm_flush_dcache_to_poc(addr, size);
}

/* Entries in use in a queue of 1 << @shift entries (PROD/CONS carry a wrap bit). */
static u32 smmu_q_used(u32 prod, u32 cons, unsigned int shift)
{
	return (prod - cons) & ((2U << shift) - 1);
}

static u32 smmu_cmdq_cons(struct hyp_smmu *smmu)
{
	return smmu_read(smmu, ARM_SMMU_CMDQ_CONS) & ((2U << smmu->cmdq_shift) - 1);
}

/*
 * A command the SMMU rejected stops the queue: report it, replace it with a
 * CMD_SYNC (which cannot fail) and acknowledge the error so the queue moves on.
 */
static int smmu_cmdq_handle_error_locked(struct hyp_smmu *smmu)
{
	u32 gerror = smmu_read(smmu, ARM_SMMU_GERROR);
	u32 gerrorn = smmu_read(smmu, ARM_SMMU_GERRORN);
	struct arm_smmu_cmd sync = arm_smmu_make_cmd_sync(CMDQ_SYNC_0_CS_NONE, 0);
	u32 cons, idx;
	u64 *ent;

	hyp_assert_lock_held(&smmu->lock);
	if (!((gerror ^ gerrorn) & GERROR_CMDQ_ERR))
		return 0;

	cons = smmu_cmdq_cons(smmu);
	idx = cons & ((1U << smmu->cmdq_shift) - 1);
	ent = smmu->cmdq + idx * CMDQ_ENT_DWORDS;
	ent[0] = cpu_to_le64(sync.data[0]);
	ent[1] = cpu_to_le64(sync.data[1]);
	smmu_sync_to_device(smmu, ent, CMDQ_ENT_DWORDS * 8);
	/* The SMMU restarts at CONS: it must read the CMD_SYNC, not the bad command. */
	wmb();
	smmu_write(smmu, ARM_SMMU_GERRORN, gerrorn ^ GERROR_CMDQ_ERR);
	/*
	 * Ring the doorbell again with the same PROD: a no-op for an SMMU
	 * that resumes on the acknowledgement, a restart for one that only
	 * looks at the queue when PROD is written.
	 */
	smmu_write(smmu, ARM_SMMU_CMDQ_PROD, smmu->cmdq_prod);
	return -EIO;
}

#ifdef CONFIG_PKVM_SMMU_V3_FAULT_INJECT
/* The fault this batch must suffer, if __pkvm_smmu_inject_fault() armed one. */
static u32 smmu_inject_locked(struct hyp_smmu *smmu)
{
	u32 kind = smmu->inject_kind;

	hyp_assert_lock_held(&smmu->lock);
	if (!kind)
		return PKVM_SMMU_INJECT_NONE;
	if (smmu->inject_after) {
		smmu->inject_after--;
		return PKVM_SMMU_INJECT_NONE;
	}
	smmu->inject_kind = PKVM_SMMU_INJECT_NONE;
	return kind;
}

/**
 * __pkvm_smmu_inject_fault() - Make a later command batch of an SMMU fail.
 * @idx:	The SMMU's index.
 * @after:	Batches to let through first (at most 2^20).
 * @kind:	PKVM_SMMU_INJECT_TIMEOUT, _CMDQ_ERR, or _NONE to disarm.
 *
 * Testing only: it lets the host stop every SMMU (that is what failing
 * closed means).
 */
int __pkvm_smmu_inject_fault(u64 idx, u64 after, u64 kind)
{
	struct hyp_smmu *smmu = hyp_smmu_get(idx);

	if (!smmu || after > SZ_1M || kind > PKVM_SMMU_INJECT_CMDQ_ERR)
		return -EINVAL;
	hyp_spin_lock(&smmu->lock);
	smmu->inject_after = after;
	smmu->inject_kind = kind;
	hyp_spin_unlock(&smmu->lock);
	return 0;
}
#else
static u32 smmu_inject_locked(struct hyp_smmu *smmu)
{
	return PKVM_SMMU_INJECT_NONE;
}

int __pkvm_smmu_inject_fault(u64 idx, u64 after, u64 kind)
{
	return -EOPNOTSUPP;
}
#endif

/*
 * Append @n commands and a CMD_SYNC, ring the doorbell and wait for the SMMU
 * to consume all of them. On return 0, every command took effect.
 */
static int smmu_cmdq_issue_sync_locked(struct hyp_smmu *smmu,
				       const struct arm_smmu_cmd *cmds,
				       unsigned int n)
{
	unsigned int qsz = 1U << smmu->cmdq_shift;
	struct arm_smmu_cmd sync = arm_smmu_make_cmd_sync(CMDQ_SYNC_0_CS_NONE, 0);
	/* An opcode no SMMU defines: the SMMU rejects it (CERROR_ILL). */
	struct arm_smmu_cmd bad = { .data = { 0x7f } };
	/* One bound for the whole batch, errors and all. */
	u64 deadline = smmu_poll_deadline();
	unsigned int i, errors = 0, first = 0;
	int ret, err = 0;
	u32 prod, inject;

	hyp_assert_lock_held(&smmu->lock);
	/* Callers batch at most half a queue; the rest stays free for the sync. */
	if (n >= qsz / 2 - 1)
		return -EINVAL;
	inject = smmu_inject_locked(smmu);

	if (inject == PKVM_SMMU_INJECT_CMDQ_ERR) {
		/* The rejected command goes first, as one more command. */
		first = 1;
		n++;
	}
	ret = smmu_wait_until(smmu_q_used(smmu->cmdq_prod, smmu_cmdq_cons(smmu),
					  smmu->cmdq_shift) + n + 1 <= qsz, deadline);
	if (ret)
		return ret;

	prod = smmu->cmdq_prod;
	for (i = 0; i <= n; i++) {
		const struct arm_smmu_cmd *cmd = i < first ? &bad :
						 i < n ? &cmds[i - first] : &sync;
		u64 *ent = smmu->cmdq + (prod & (qsz - 1)) * CMDQ_ENT_DWORDS;

		ent[0] = cpu_to_le64(cmd->data[0]);
		ent[1] = cpu_to_le64(cmd->data[1]);
		smmu_sync_to_device(smmu, ent, CMDQ_ENT_DWORDS * 8);
		prod = (prod + 1) & ((2U << smmu->cmdq_shift) - 1);
	}
	smmu->cmdq_prod = prod;

	/* The commands must be visible before the doorbell. */
	dsb(ishst);
	smmu_write(smmu, ARM_SMMU_CMDQ_PROD, prod);

	for (;;) {
		ret = smmu_wait_until(smmu_cmdq_cons(smmu) == prod ||
				      (smmu_read(smmu, ARM_SMMU_GERROR) ^
				       smmu_read(smmu, ARM_SMMU_GERRORN)) & GERROR_CMDQ_ERR,
				      deadline);
		if (ret)
			return ret;
		if (smmu_cmdq_cons(smmu) == prod)
			break;
		/*
		 * Each error replaces one of our n + 1 commands by a CMD_SYNC,
		 * which cannot fail: more errors than that mean the SMMU is not
		 * behaving, and the wait must end all the same.
		 */
		if (++errors > n + 1)
			return -EIO;
		err = smmu_cmdq_handle_error_locked(smmu);
	}
	if (inject == PKVM_SMMU_INJECT_TIMEOUT)
		return -ETIMEDOUT;
	return err;
}

/* See smmu_frame_unsafe_locked(). */
static phys_addr_t hyp_smmu_unsafe[PKVM_SMMU_MAX];
static unsigned int hyp_smmu_nr_unsafe;
static bool hyp_smmu_unsafe_lost;

/*
 * Whether the frame at @mmio was taken but not left safe: the SMMU did not
 * confirm that it is off, or the control pages of its enhanced command
 * queues stayed the host's. A quarantine of it must then fail, every time:
 * -EPERM would tell the host the hypervisor holds it, and pKVM would
 * finalise. Such frames are listed (hyp_smmu_unsafe[]; once the list is
 * full, every frame counts as one) by the quarantine or the probe that left
 * them so; a registered SMMU that broke says it itself.
 */
static bool smmu_frame_unsafe_locked(phys_addr_t mmio)
{
	struct hyp_smmu *smmu;
	unsigned int i;

	hyp_assert_lock_held(&hyp_smmus_lock);
	if (hyp_smmu_unsafe_lost)
		return true;
	for (i = 0; i < hyp_smmu_nr_unsafe; i++)
		if (hyp_smmu_unsafe[i] == mmio)
			return true;
	for (i = 0; i < PKVM_SMMU_MAX; i++) {
		smmu = &hyp_smmus[i];
		if (smmu->state == HYP_SMMU_FREE || smmu->mmio_phys != mmio)
			continue;
		if (smmu->state == HYP_SMMU_BROKEN && !READ_ONCE(smmu->off))
			return true;
	}
	return false;
}

static void smmu_note_unsafe_locked(phys_addr_t mmio)
{
	hyp_assert_lock_held(&hyp_smmus_lock);
	if (hyp_smmu_nr_unsafe == ARRAY_SIZE(hyp_smmu_unsafe))
		hyp_smmu_unsafe_lost = true;
	else
		hyp_smmu_unsafe[hyp_smmu_nr_unsafe++] = mmio;
}

/*
 * Take the control pages of an SMMU's enhanced command queues, if it has
 * any, from the host: the SMMU is not driven, but each queue could issue
 * commands, a CMD_SYNC whose completion MSI writes anywhere among them.
 * Read from register page 0, which the hypervisor holds, before pKVM
 * finalises. Returns 0 if there are none or they are the hypervisor's now.
 */
static int smmu_take_ecmdq_pages(struct hyp_smmu *smmu, phys_addr_t mmio)
{
	unsigned int log2nump;
	u64 page0, size, start;

	if (!(smmu_read(smmu, ARM_SMMU_IDR1) & HYP_SMMU_IDR1_ECMDQ))
		return 0;
	log2nump = FIELD_GET(HYP_SMMU_IDR6_LOG2NUMP, smmu_read(smmu, HYP_SMMU_IDR6));
	page0 = readq_relaxed(smmu->base + HYP_SMMU_ECMDQ_PAGE_BASE0);
	if (log2nump > HYP_SMMU_ECMDQ_MAX_LOG2NUMP ||
	    FIELD_GET(HYP_SMMU_ECMDQ_PAGE_GS, page0) != HYP_SMMU_ECMDQ_PAGE_GS_64K)
		return -EINVAL;
	/* Offsets below 2^56: no overflow. Pages over the frame are not the host's. */
	start = mmio + (page0 & HYP_SMMU_ECMDQ_PAGE_ADDR);
	size = (u64)SZ_64K << log2nump;
	return __pkvm_host_donate_hyp_mmio(hyp_phys_to_pfn(start), size >> PAGE_SHIFT);
}

/*
 * The descriptor format the SMMU must read: kvm_pgtable's. With FEAT_LPA2
 * (VTCR_EL2.DS), descriptors carry output address bits 51:50 in bits 9:8,
 * where the older format has shareability, which then comes from VTCR.SH0.
 * An SMMU with IDR5.DS reads that format exactly (STE.S2DS, shareability
 * from STE.S2SH0). One without reads bits 51:50 as shareability and has no
 * bits 49:48: it could take an address at or above 2^48 for a lower one (a
 * table, or a page of a protected VM's stage-2), so it is refused if memory
 * reaches that high;
 * and it would see every mapping as non-shareable, so STE.SHCFG makes
 * cacheable accesses inner shareable where the SMMU lets it
 * (IDR1.ATTR_TYPES_OVR).
 */
static int smmu_probe_lpa2(struct hyp_smmu *smmu, u32 idr1, u32 idr5)
{
	if (!kvm_lpa2_is_enabled())
		return 0;
	if (idr5 & HYP_SMMU_IDR5_DS) {
		smmu->features |= HYP_SMMU_FEAT_DS;
		return 0;
	}
	if (hyp_iommu_memory_above(HYP_SMMU_NO_DS_MAX_PA))
		return -EOPNOTSUPP;
	if (idr1 & IDR1_ATTR_TYPES_OVR)
		smmu->features |= HYP_SMMU_FEAT_SHCFG;
	return 0;
}

static int smmu_probe_features(struct hyp_smmu *smmu)
{
	u32 idr0 = smmu_read(smmu, ARM_SMMU_IDR0);
	u32 idr1 = smmu_read(smmu, ARM_SMMU_IDR1);
	u32 idr3 = smmu_read(smmu, ARM_SMMU_IDR3);
	u32 idr5 = smmu_read(smmu, ARM_SMMU_IDR5);
	unsigned int l1_shift;

	/* Tables and queues must be ours to place: nothing preset by firmware. */
	if (idr1 & (IDR1_TABLES_PRESET | IDR1_QUEUES_PRESET | IDR1_REL))
		return -ENODEV;
	if (!(FIELD_GET(IDR0_TTF, idr0) & IDR0_TTF_AARCH64))
		return -ENODEV;
	/* Stage 2 is how the hypervisor translates; 4 KiB granule like the CPU. */
	if (!(idr0 & IDR0_S2P) || !(idr5 & IDR5_GRAN4K))
		return -ENODEV;
	/*
	 * Forced stall: a faulting transaction waits for a resume that only
	 * the host would ask for. Enhanced command queues are not driven:
	 * their control pages left the host with the frame.
	 */
	if (FIELD_GET(IDR0_STALL_MODEL, idr0) == IDR0_STALL_MODEL_FORCE)
		return -EOPNOTSUPP;
	if (idr1 & HYP_SMMU_IDR1_ECMDQ)
		return -EOPNOTSUPP;

	smmu->features = 0;
	if (FIELD_GET(IDR0_ST_LVL, idr0) == IDR0_ST_LVL_2LVL)
		smmu->features |= HYP_SMMU_FEAT_2LVL_STRTAB;
	if (idr0 & IDR0_COHACC)
		smmu->features |= HYP_SMMU_FEAT_COHERENT;
	if (idr0 & IDR0_S1P)
		smmu->features |= HYP_SMMU_FEAT_S1;
	smmu->features |= HYP_SMMU_FEAT_S2;
	if (idr0 & IDR0_HYP)
		smmu->features |= HYP_SMMU_FEAT_HYP;
	if (idr0 & IDR0_ATS)
		smmu->features |= HYP_SMMU_FEAT_ATS;
	if (idr3 & IDR3_RIL)
		smmu->features |= HYP_SMMU_FEAT_RANGE_INV;
	if (idr3 & IDR3_FWB)
		smmu->features |= HYP_SMMU_FEAT_FWB;
	smmu->oas_enc = FIELD_GET(IDR5_OAS, idr5);
	if (smmu->oas_enc > IDR5_OAS_52_BIT)
		return -ENODEV;
	if (smmu_probe_lpa2(smmu, idr1, idr5))
		return -EOPNOTSUPP;
	smmu->vmid_bits = idr0 & IDR0_VMID16 ? 16 : 8;

	if (FIELD_GET(IDR1_CMDQS, idr1) < HYP_SMMU_CMDQ_SHIFT ||
	    FIELD_GET(IDR1_EVTQS, idr1) < HYP_SMMU_EVTQ_SHIFT)
		return -ENODEV;
	smmu->cmdq_shift = HYP_SMMU_CMDQ_SHIFT;
	smmu->evtq_shift = HYP_SMMU_EVTQ_SHIFT;

	smmu->sid_bits = FIELD_GET(IDR1_SIDSIZE, idr1);
	if (smmu->features & HYP_SMMU_FEAT_2LVL_STRTAB) {
		l1_shift = smmu->sid_bits > HYP_SMMU_STRTAB_SPLIT ?
			   smmu->sid_bits - HYP_SMMU_STRTAB_SPLIT : 0;
		/* Streams above what the L1 table covers stay unusable. */
		l1_shift = min(l1_shift, HYP_SMMU_MAX_L1_SHIFT);
		smmu->sid_bits = min(smmu->sid_bits, l1_shift + HYP_SMMU_STRTAB_SPLIT);
		smmu->strtab_l1_entries = 1U << l1_shift;
		smmu->strtab_log2size = smmu->sid_bits;
	} else {
		smmu->sid_bits = min(smmu->sid_bits, HYP_SMMU_MAX_LINEAR_SID_BITS);
		smmu->strtab_l1_entries = 0;
		smmu->strtab_log2size = smmu->sid_bits;
	}
	return 0;
}

static size_t smmu_strtab_size(struct hyp_smmu *smmu)
{
	if (smmu->features & HYP_SMMU_FEAT_2LVL_STRTAB)
		return smmu->strtab_l1_entries * sizeof(struct arm_smmu_strtab_l1);
	return (1UL << smmu->sid_bits) * sizeof(struct arm_smmu_ste);
}

/*
 * Pages the host donates at registration: stream table, command and event
 * queue, and the VMID bitmap.
 */
static u64 smmu_pages_needed(struct hyp_smmu *smmu)
{
	return PAGE_ALIGN(smmu_strtab_size(smmu)) / PAGE_SIZE +
	       PAGE_ALIGN(CMDQ_ENT_DWORDS * 8UL << smmu->cmdq_shift) / PAGE_SIZE +
	       PAGE_ALIGN(EVTQ_ENT_DWORDS * 8UL << smmu->evtq_shift) / PAGE_SIZE +
	       PAGE_ALIGN(smmu_tag_space_map_size(smmu->vmid_bits)) / PAGE_SIZE;
}

static int smmu_place_tables(struct hyp_smmu *smmu, void *mem)
{
	size_t map_size = smmu_tag_space_map_size(smmu->vmid_bits);

	smmu->strtab = mem;
	mem += PAGE_ALIGN(smmu_strtab_size(smmu));
	smmu->cmdq = mem;
	mem += PAGE_ALIGN(CMDQ_ENT_DWORDS * 8UL << smmu->cmdq_shift);
	smmu->evtq = mem;
	mem += PAGE_ALIGN(EVTQ_ENT_DWORDS * 8UL << smmu->evtq_shift);
	return smmu_tag_space_init(&smmu->vmids, smmu->vmid_bits, mem, map_size,
				   &smmu->lock);
}

/*
 * Stop all translation: GBPA aborts, then SMMUEN (and every queue) off. On
 * return 0 the SMMU acknowledged both and smmu->off is set. Each wait is
 * bounded. SMMUEN is left alone unless GBPA is known to abort: with a
 * bypassing GBPA, clearing it would let every stream through, which is
 * worse than whatever the SMMU translates now.
 */
static int smmu_disable_locked(struct hyp_smmu *smmu)
{
	int ret;

	hyp_assert_lock_held(&smmu->lock);
	/* While the SMMU is off, incoming transactions abort. */
	ret = smmu_wait(!(smmu_read(smmu, ARM_SMMU_GBPA) & GBPA_UPDATE));
	if (!ret) {
		smmu_write(smmu, ARM_SMMU_GBPA, GBPA_ABORT | GBPA_UPDATE);
		ret = smmu_wait(!(smmu_read(smmu, ARM_SMMU_GBPA) & GBPA_UPDATE));
	}
	if (!ret && !(smmu_read(smmu, ARM_SMMU_GBPA) & GBPA_ABORT))
		ret = -EIO;
	if (!ret)
		ret = smmu_write_ack(smmu, ARM_SMMU_CR0, ARM_SMMU_CR0ACK, 0);
	WRITE_ONCE(smmu->off, !ret);
	return ret;
}

/*
 * Read back what isolation rests on, once the SMMU is live: translation on,
 * ATS checked wherever ATS exists, aborting while disabled, our stream
 * table, no MSI the host could have pointed. A mismatch leaves the SMMU
 * unused (and the register file makes it visible to a test).
 */
static int smmu_check_state(struct hyp_smmu *smmu)
{
	u32 cr0 = smmu_read(smmu, ARM_SMMU_CR0ACK);
	u64 strtab = readq_relaxed(smmu->base + ARM_SMMU_STRTAB_BASE);

	if (!(cr0 & CR0_SMMUEN) ||
	    !!(cr0 & CR0_ATSCHK) != !!(smmu->features & HYP_SMMU_FEAT_ATS))
		return -EIO;
	if (!(smmu_read(smmu, ARM_SMMU_GBPA) & GBPA_ABORT))
		return -EIO;
	if ((strtab & STRTAB_BASE_ADDR_MASK) !=
	    (__hyp_pa(smmu->strtab) & STRTAB_BASE_ADDR_MASK))
		return -EIO;
	if (readq_relaxed(smmu->base + ARM_SMMU_EVTQ_IRQ_CFG0) ||
	    readq_relaxed(smmu->base + ARM_SMMU_GERROR_IRQ_CFG0))
		return -EIO;
	return 0;
}

/*
 * Reset sequence (Arm IHI 0070, 6.3.9 "Initialization"): disable, program the
 * table and queue attributes and bases, enable the command queue, invalidate
 * every cached configuration and TLB entry, enable the event queue, then
 * enable translation. The stream table is empty, so every stream aborts.
 */
static int smmu_reset(struct hyp_smmu *smmu)
{
	u32 cache = smmu->features & HYP_SMMU_FEAT_COHERENT ? CR1_CACHE_WB : CR1_CACHE_NC;
	u32 sh = smmu->features & HYP_SMMU_FEAT_COHERENT ? ARM_SMMU_SH_ISH : ARM_SMMU_SH_OSH;
	struct arm_smmu_cmd cmds[3];
	unsigned int n = 0;
	u32 cr0, cfg;
	int ret;

	hyp_assert_lock_held(&smmu->lock);
	ret = smmu_disable_locked(smmu);
	if (ret)
		return ret;

	/*
	 * Interrupts off before their configuration changes: firmware may have
	 * left an MSI configured, and the host must not choose where the SMMU
	 * writes.
	 */
	ret = smmu_write_ack(smmu, ARM_SMMU_IRQ_CTRL, ARM_SMMU_IRQ_CTRLACK, 0);
	if (ret)
		return ret;
	smmu_write64(smmu, ARM_SMMU_EVTQ_IRQ_CFG0, 0);
	smmu_write64(smmu, ARM_SMMU_GERROR_IRQ_CFG0, 0);

	smmu_write(smmu, ARM_SMMU_CR1,
		   FIELD_PREP(CR1_TABLE_SH, sh) | FIELD_PREP(CR1_TABLE_OC, cache) |
		   FIELD_PREP(CR1_TABLE_IC, cache) | FIELD_PREP(CR1_QUEUE_SH, sh) |
		   FIELD_PREP(CR1_QUEUE_OC, cache) | FIELD_PREP(CR1_QUEUE_IC, cache));
	smmu_write(smmu, ARM_SMMU_CR2, CR2_PTM | CR2_RECINVSID);

	smmu_write64(smmu, ARM_SMMU_STRTAB_BASE,
		     (__hyp_pa(smmu->strtab) & STRTAB_BASE_ADDR_MASK) | STRTAB_BASE_RA);
	if (smmu->features & HYP_SMMU_FEAT_2LVL_STRTAB)
		cfg = FIELD_PREP(STRTAB_BASE_CFG_FMT, STRTAB_BASE_CFG_FMT_2LVL) |
		      FIELD_PREP(STRTAB_BASE_CFG_SPLIT, HYP_SMMU_STRTAB_SPLIT);
	else
		cfg = FIELD_PREP(STRTAB_BASE_CFG_FMT, STRTAB_BASE_CFG_FMT_LINEAR);
	cfg |= FIELD_PREP(STRTAB_BASE_CFG_LOG2SIZE, smmu->strtab_log2size);
	smmu_write(smmu, ARM_SMMU_STRTAB_BASE_CFG, cfg);

	smmu_write64(smmu, ARM_SMMU_CMDQ_BASE,
		     (__hyp_pa(smmu->cmdq) & Q_BASE_ADDR_MASK) | Q_BASE_RWA |
		     FIELD_PREP(Q_BASE_LOG2SIZE, smmu->cmdq_shift));
	smmu_write(smmu, ARM_SMMU_CMDQ_PROD, 0);
	smmu_write(smmu, ARM_SMMU_CMDQ_CONS, 0);
	smmu->cmdq_prod = 0;

	smmu_write64(smmu, ARM_SMMU_EVTQ_BASE,
		     (__hyp_pa(smmu->evtq) & Q_BASE_ADDR_MASK) | Q_BASE_RWA |
		     FIELD_PREP(Q_BASE_LOG2SIZE, smmu->evtq_shift));
	smmu_write(smmu, smmu_page1(ARM_SMMU_EVTQ_PROD), 0);
	smmu_write(smmu, smmu_page1(ARM_SMMU_EVTQ_CONS), 0);

	/* Tables and queues are zeroed; the SMMU must see them so before use. */
	dsb(ishst);

	/*
	 * With ATSCHK clear the SMMU would let ATS-translated transactions
	 * through without looking at the stream table ("fast mode").
	 */
	cr0 = CR0_CMDQEN;
	if (smmu->features & HYP_SMMU_FEAT_ATS)
		cr0 |= CR0_ATSCHK;
	ret = smmu_write_ack(smmu, ARM_SMMU_CR0, ARM_SMMU_CR0ACK, cr0);
	if (ret)
		return ret;

	cmds[n++] = arm_smmu_make_cmd_cfgi_all();
	if (smmu->features & HYP_SMMU_FEAT_HYP)
		cmds[n++] = arm_smmu_make_cmd_op(CMDQ_OP_TLBI_EL2_ALL);
	cmds[n++] = arm_smmu_make_cmd_op(CMDQ_OP_TLBI_NSNH_ALL);
	ret = smmu_cmdq_issue_sync_locked(smmu, cmds, n);
	if (ret)
		return ret;

	cr0 |= CR0_EVTQEN;
	ret = smmu_write_ack(smmu, ARM_SMMU_CR0, ARM_SMMU_CR0ACK, cr0);
	if (ret)
		return ret;

	/*
	 * Events and global errors raise the SMMU's wired interrupts, which the
	 * host handles by asking for the events (__pkvm_smmu_pop_event). No MSI:
	 * their configuration was cleared above.
	 */
	ret = smmu_write_ack(smmu, ARM_SMMU_IRQ_CTRL, ARM_SMMU_IRQ_CTRLACK,
			     IRQ_CTRL_EVTQ_IRQEN | IRQ_CTRL_GERROR_IRQEN);
	if (ret)
		return ret;

	/* From here on it may translate, whatever the check below says. */
	WRITE_ONCE(smmu->off, false);
	cr0 |= CR0_SMMUEN;
	ret = smmu_write_ack(smmu, ARM_SMMU_CR0, ARM_SMMU_CR0ACK, cr0);
	if (ret)
		return ret;
	return smmu_check_state(smmu);
}

/*
 * The slot for the frame at @mmio: the SMMU registered there, or a free slot.
 * A frame that overlaps another SMMU's without being it is refused.
 */
static struct hyp_smmu *smmu_find_slot_locked(phys_addr_t mmio)
{
	struct hyp_smmu *smmu, *free = NULL;
	int i;

	hyp_assert_lock_held(&hyp_smmus_lock);
	for (i = 0; i < PKVM_SMMU_MAX; i++) {
		smmu = &hyp_smmus[i];
		if (smmu->state == HYP_SMMU_FREE) {
			free = free ?: smmu;
			continue;
		}
		if (smmu->mmio_phys == mmio)
			return smmu;
		if (smmu->mmio_phys < mmio + PKVM_SMMU_MMIO_SIZE &&
		    mmio < smmu->mmio_phys + PKVM_SMMU_MMIO_SIZE)
			return ERR_PTR(-EBUSY);
	}
	if (!free)
		return ERR_PTR(-ENOSPC);
	free->idx = free - hyp_smmus;
	return free;
}

/* Take the MMIO frame from the host, map it at EL2 and read the ID registers. */
static int smmu_probe_locked(struct hyp_smmu *smmu, phys_addr_t mmio)
{
	unsigned long va;
	int ret;

	hyp_assert_lock_held(&hyp_smmus_lock);
	ret = __pkvm_host_donate_hyp_mmio(hyp_phys_to_pfn(mmio),
					  PKVM_SMMU_MMIO_SIZE >> PAGE_SHIFT);
	if (ret)
		return ret;

	/*
	 * From here on the frame is the hypervisor's for good: private VA space
	 * cannot be returned, and an SMMU we cannot drive must keep aborting
	 * rather than go back to the host.
	 */
	smmu->mmio_phys = mmio;
	smmu->state = HYP_SMMU_BROKEN;
	ret = __pkvm_create_private_mapping(mmio, PKVM_SMMU_MMIO_SIZE,
					    PAGE_HYP_DEVICE, &va);
	if (ret) {
		/* Its ID registers unread: it may have enhanced command queues. */
		smmu_note_unsafe_locked(mmio);
		return ret;
	}

	smmu->base = (void __iomem *)va;
	hyp_spin_lock_init(&smmu->lock);
	/* Whatever refuses the SMMU next, its command queues are not the host's. */
	if (smmu_take_ecmdq_pages(smmu, mmio))
		smmu_note_unsafe_locked(mmio);
	/*
	 * Firmware may have left it translating or bypassing, and nothing
	 * says the host will finish the registration: from here on, until a
	 * reset with our tables, every transaction aborts.
	 */
	hyp_spin_lock(&smmu->lock);
	ret = smmu_disable_locked(smmu);
	hyp_spin_unlock(&smmu->lock);
	if (ret)
		return ret;
	ret = smmu_probe_features(smmu);
	if (ret)
		return ret;
	smmu->state = HYP_SMMU_PROBED;
	return 0;
}

/**
 * __pkvm_smmu_register() - Hand an SMMUv3 to the hypervisor.
 * @mmio:	Physical address of its register frame (64 KiB aligned).
 * @size:	Size of the frame; must be PKVM_SMMU_MMIO_SIZE.
 * @pfn:	First of @nr_pages contiguous host pages for its tables.
 * @nr_pages:	Must equal the number of pages the SMMU needs.
 * @pages_needed: Set to the number of pages the SMMU needs.
 *
 * Only callable before pKVM finalises (the hypercall sits below
 * __KVM_HOST_SMCCC_FUNC_MIN_PKVM), while the host is still trusted; the
 * arguments are checked all the same.
 *
 * Return: the SMMU's index, or -ENOMEM with @pages_needed set if @nr_pages is
 * too small (the host repeats the call with enough pages), or another errno.
 */
int __pkvm_smmu_register(phys_addr_t mmio, u64 size, u64 pfn, u64 nr_pages,
			 u64 *pages_needed)
{
	struct hyp_smmu *smmu;
	u64 needed;
	int ret;

	*pages_needed = 0;
	if (!is_protected_kvm_enabled())
		return -ENODEV;
	if (size != PKVM_SMMU_MMIO_SIZE || !IS_ALIGNED(mmio, SZ_64K) ||
	    mmio + size < mmio)
		return -EINVAL;

	/* Domains need the grace period before the first SMMU exists. */
	ret = pkvm_iommu_init();
	if (ret)
		return ret;

	hyp_spin_lock(&hyp_smmus_lock);
	smmu = smmu_find_slot_locked(mmio);
	if (IS_ERR(smmu)) {
		ret = PTR_ERR(smmu);
		goto unlock;
	}
	switch (smmu->state) {
	case HYP_SMMU_FREE:
		ret = smmu_probe_locked(smmu, mmio);
		if (ret)
			goto unlock;
		break;
	case HYP_SMMU_PROBED:
		break;
	case HYP_SMMU_LIVE:
		ret = -EEXIST;
		goto unlock;
	default:
		ret = -EIO;
		goto unlock;
	}

	needed = smmu_pages_needed(smmu);
	*pages_needed = needed;
	if (nr_pages != needed) {
		ret = nr_pages < needed ? -ENOMEM : -EINVAL;
		goto unlock;
	}
	/*
	 * The SMMU aligns the stream table base down to the table's size: a
	 * misaligned table would start in pages the host kept.
	 */
	if (!IS_ALIGNED(hyp_pfn_to_phys(pfn),
			roundup_pow_of_two(max_t(size_t, smmu_strtab_size(smmu), 64)))) {
		ret = -EINVAL;
		goto unlock;
	}

	ret = __pkvm_host_donate_hyp(pfn, nr_pages);
	if (ret)
		goto unlock;

	smmu->nr_pages = nr_pages;
	memset(hyp_phys_to_virt(hyp_pfn_to_phys(pfn)), 0, nr_pages * PAGE_SIZE);
	ret = smmu_place_tables(smmu, hyp_phys_to_virt(hyp_pfn_to_phys(pfn)));
	smmu_sync_to_device(smmu, smmu->strtab, nr_pages * PAGE_SIZE);

	hyp_spin_lock(&smmu->lock);
	if (!ret)
		ret = smmu_reset(smmu);
	if (ret)
		smmu_disable_locked(smmu);
	hyp_spin_unlock(&smmu->lock);
	/* The pages are ours now: no error from here may look like a refusal. */
	if (ret) {
		/*
		 * The SMMU may still reach the donated pages: they stay with the
		 * hypervisor, and the SMMU stays unusable (and aborting, if the
		 * disable took).
		 */
		smmu->state = HYP_SMMU_BROKEN;
		ret = -EIO;
		goto unlock;
	}
	smmu->state = HYP_SMMU_LIVE;
	ret = smmu->idx;
unlock:
	hyp_spin_unlock(&hyp_smmus_lock);
	return ret;
}

/**
 * __pkvm_smmu_quarantine() - Take an SMMUv3 the hypervisor will not drive.
 * @mmio:	Physical address of its register frame (64 KiB aligned).
 * @size:	SZ_64K (register page 0 only) or PKVM_SMMU_MMIO_SIZE.
 *
 * For an SMMU that __pkvm_smmu_register() refused or cannot hold (no free
 * slot, a frame too small): the frame becomes the hypervisor's, so the host
 * cannot program the SMMU once it is no longer trusted, and the SMMU is left
 * disabled with GBPA aborting every transaction. The control pages of its
 * enhanced command queues, if it has any, go with the frame. Only callable
 * before pKVM finalises, like __pkvm_smmu_register().
 *
 * Return: 0 once the SMMU acknowledged that it aborts everything, -EIO if
 * the frame is taken but the SMMU did not acknowledge or its enhanced
 * command queues' pages could not be taken (by this call, an earlier one,
 * or the refused registration: smmu_frame_unsafe_locked()), or -EINVAL,
 * -ENODEV, -EPERM (the host does not own the frame: the hypervisor holds
 * it, safe).
 */
int __pkvm_smmu_quarantine(phys_addr_t mmio, u64 size)
{
	struct hyp_smmu tmp = {};
	unsigned long va;
	int ret;

	if (!is_protected_kvm_enabled())
		return -ENODEV;
	if ((size != SZ_64K && size != PKVM_SMMU_MMIO_SIZE) ||
	    !IS_ALIGNED(mmio, SZ_64K) || mmio + size < mmio)
		return -EINVAL;

	hyp_spin_lock(&hyp_smmus_lock);
	if (smmu_frame_unsafe_locked(mmio)) {
		ret = -EIO;
		goto unlock;
	}
	ret = __pkvm_host_donate_hyp_mmio(hyp_phys_to_pfn(mmio), size >> PAGE_SHIFT);
	if (ret)
		goto unlock;
	/* Register page 0 has GBPA and CR0; the mapping lives for good. */
	ret = __pkvm_create_private_mapping(mmio, SZ_64K, PAGE_HYP_DEVICE, &va);
	if (ret)
		goto unlock;
	tmp.base = (void __iomem *)va;
	hyp_spin_lock_init(&tmp.lock);
	hyp_spin_lock(&tmp.lock);
	ret = smmu_disable_locked(&tmp) ? -EIO : 0;
	hyp_spin_unlock(&tmp.lock);
	if (smmu_take_ecmdq_pages(&tmp, mmio))
		ret = -EIO;
	if (ret)
		smmu_note_unsafe_locked(mmio);
unlock:
	hyp_spin_unlock(&hyp_smmus_lock);
	return ret;
}

/*
 * An SMMUv3 performance monitor counter group (PMCG): page 0 holds its
 * controls, page 1 (if the counters are relocated) the counters. Its
 * overflow interrupt can be an MSI, a write to the address in IRQ_CFG0.
 */
#define HYP_PMCG_CFGR		0xe00
#define HYP_PMCG_CFGR_RELOC_CTRS	BIT(20)
#define HYP_PMCG_CR		0xe04
#define HYP_PMCG_IRQ_CTRL	0xe50
#define HYP_PMCG_IRQ_CTRLACK	0xe54
#define HYP_PMCG_IRQ_CFG0	0xe58
#define HYP_PMCG_MAX_FRAME	SZ_64K

static bool pmcg_frame_valid(phys_addr_t base, u64 size)
{
	return PAGE_ALIGNED(base) && PAGE_ALIGNED(size) && size &&
	       size <= HYP_PMCG_MAX_FRAME && base + size > base;
}

/**
 * __pkvm_smmu_take_pmcg() - Take an SMMUv3 PMCG from the host.
 * @page0:	Physical address of its register page 0.
 * @size0:	Size of that frame: a multiple of the page size, 64 KiB at most.
 * @page1:	Its register page 1 (relocated counters), or 0 with @size1 0;
 *		taken only if the group says it has one (CFGR.RELOC_CTRS).
 * @size1:	Size of that frame, or 0.
 *
 * A PMCG that an untrusted host programs can make its overflow MSI write
 * to any physical address. Before pKVM finalises, the host hands over every
 * PMCG that firmware describes (only callable then, like
 * __pkvm_smmu_register()): both frames become the hypervisor's for good,
 * and the group is stopped, its interrupt disabled and its MSI address
 * cleared. Nobody drives it from then on.
 *
 * Return: 0, -EPERM if page 0 is not the host's (a frame the hypervisor
 * holds already, an SMMU's: the host never reaches it; it is left as it
 * is), -EIO if the group did not acknowledge the interrupt disable or page
 * 1 could not be taken (page 0 is the hypervisor's and the group stopped
 * all the same), -EINVAL (also for memory) or -ENODEV.
 */
int __pkvm_smmu_take_pmcg(phys_addr_t page0, u64 size0, phys_addr_t page1, u64 size1)
{
	void __iomem *base;
	unsigned long va;
	int ret;

	if (!is_protected_kvm_enabled())
		return -ENODEV;
	if (!pmcg_frame_valid(page0, size0) ||
	    (size1 ? !pmcg_frame_valid(page1, size1) : page1) ||
	    addr_is_memory(page0) || (size1 && addr_is_memory(page1)))
		return -EINVAL;

	hyp_spin_lock(&hyp_smmus_lock);
	ret = __pkvm_host_donate_hyp_mmio(hyp_phys_to_pfn(page0), size0 >> PAGE_SHIFT);
	if (ret)
		goto unlock;
	ret = __pkvm_create_private_mapping(page0, PAGE_SIZE, PAGE_HYP_DEVICE, &va);
	if (ret) {
		ret = -EIO;
		goto unlock;
	}
	base = (void __iomem *)va;
	writel_relaxed(0, base + HYP_PMCG_CR);
	writel_relaxed(0, base + HYP_PMCG_IRQ_CTRL);
	/* IRQ_CFG0 may change only once the disable is acknowledged. */
	ret = smmu_wait_until(!readl_relaxed(base + HYP_PMCG_IRQ_CTRLACK),
			      smmu_poll_deadline());
	if (!ret)
		writeq_relaxed(0, base + HYP_PMCG_IRQ_CFG0);
	/* The counters can raise nothing: page 1 only keeps them from the host. */
	if (size1 && (readl_relaxed(base + HYP_PMCG_CFGR) & HYP_PMCG_CFGR_RELOC_CTRS) &&
	    __pkvm_host_donate_hyp_mmio(hyp_phys_to_pfn(page1), size1 >> PAGE_SHIFT))
		ret = -EIO;
	ret = ret ? -EIO : 0;
unlock:
	hyp_spin_unlock(&hyp_smmus_lock);
	return ret;
}

/* The SMMU at host-supplied index @idx, if it is live. */
struct hyp_smmu *hyp_smmu_get(u64 idx)
{
	struct hyp_smmu *smmu;

	if (idx >= PKVM_SMMU_MAX)
		return NULL;
	smmu = &hyp_smmus[array_index_nospec(idx, PKVM_SMMU_MAX)];
	/* Written before pKVM finalised, read-only since. */
	if (READ_ONCE(smmu->state) != HYP_SMMU_LIVE)
		return NULL;
	return smmu;
}

/* The entry of @sid in smmu->private_sids[], or NULL. */
static struct hyp_smmu_private_sid *smmu_private_sid_locked(struct hyp_smmu *smmu, u32 sid)
{
	unsigned int i;

	hyp_assert_lock_held(&smmu->lock);
	for (i = 0; i < smmu->nr_private_sids; i++) {
		if (smmu->private_sids[i].sid == sid)
			return &smmu->private_sids[i];
	}
	return NULL;
}

/**
 * hyp_smmu_events_private() - Hide the addresses in @sid's event records.
 * @smmu:	The SMMU.
 * @sid:	A stream about to be assigned to a protected VM (checked).
 *
 * From now on, until as many hyp_smmu_events_public() calls and the host has
 * popped every record written before the last, __pkvm_smmu_pop_event() gives
 * the host the records of @sid without their addresses or flags: a fault of
 * a protected VM's device must not tell the host which of the VM's addresses
 * the device used. Call it before the STE may point to the VM's table, and
 * hyp_smmu_events_public() once for each call, when the assignment failed or
 * the stream was detached. Counting the users, not a flag, keeps the stream
 * private when another assignment of it runs at the same time and fails.
 *
 * Return: 0, or -ENOSPC when HYP_SMMU_MAX_PRIVATE_SIDS streams of this SMMU
 * are private (the host has not yet popped the records of released ones).
 */
int hyp_smmu_events_private(struct hyp_smmu *smmu, u32 sid)
{
	struct hyp_smmu_private_sid *p;
	unsigned int i;
	int ret = 0;

	hyp_spin_lock(&smmu->lock);
	p = smmu_private_sid_locked(smmu, sid);
	if (p)
		goto get;
	/* Forget released streams whose records the host has all popped. */
	for (i = 0; i < smmu->nr_private_sids; ) {
		p = &smmu->private_sids[i];
		if (!p->users && p->until <= smmu->evts_popped)
			*p = smmu->private_sids[--smmu->nr_private_sids];
		else
			i++;
	}
	ret = -ENOSPC;
	if (smmu->nr_private_sids == HYP_SMMU_MAX_PRIVATE_SIDS)
		goto unlock;
	ret = 0;
	p = &smmu->private_sids[smmu->nr_private_sids++];
	p->sid = sid;
	p->users = 0;
	p->until = 0;
get:
	/* At most one assignment holds it, plus the attempts under way. */
	p->users++;
unlock:
	hyp_spin_unlock(&smmu->lock);
	return ret;
}

/**
 * hyp_smmu_events_public() - Undo one hyp_smmu_events_private().
 * @smmu:	The SMMU.
 * @sid:	The stream: its assignment failed, or its STE was cleared and
 *		the SMMU confirmed it (CMD_SYNC).
 *
 * When the last user goes, the records already in the queue stay private:
 * only those the SMMU writes after the ones pending now carry their
 * addresses again.
 */
void hyp_smmu_events_public(struct hyp_smmu *smmu, u32 sid)
{
	struct hyp_smmu_private_sid *p;
	u32 prod, cons, qmask;

	hyp_spin_lock(&smmu->lock);
	p = smmu_private_sid_locked(smmu, sid);
	if (p && p->users && !--p->users) {
		qmask = (2U << smmu->evtq_shift) - 1;
		prod = smmu_read(smmu, smmu_page1(ARM_SMMU_EVTQ_PROD));
		cons = smmu_read(smmu, smmu_page1(ARM_SMMU_EVTQ_CONS));
		p->until = smmu->evts_popped + ((prod - cons) & qmask);
	}
	hyp_spin_unlock(&smmu->lock);
}

/* Is the record that is the host's @nr-th pop, of stream @sid, private? */
static bool smmu_event_private_locked(struct hyp_smmu *smmu, u32 sid, u64 nr)
{
	struct hyp_smmu_private_sid *p = smmu_private_sid_locked(smmu, sid);

	return p && (p->users || nr < p->until);
}

/**
 * __pkvm_smmu_pop_event() - Take the oldest record from an SMMU's event queue.
 * @idx:	The SMMU's index, as returned by __pkvm_smmu_register().
 * @evt:	Filled with the record's four double words.
 *
 * A record of a stream assigned to a protected VM (hyp_smmu_events_private())
 * keeps only its type and stream id: the rest is zero.
 *
 * Return: 1 with a record, 0 if the queue is empty, 2 with a record when
 * records were lost to an overflow before it, or a negative errno.
 */
int __pkvm_smmu_pop_event(u64 idx, u64 evt[PKVM_SMMU_EVT_DWORDS])
{
	struct hyp_smmu *smmu = hyp_smmu_get(idx);
	unsigned int qmask, i;
	u32 prod, cons, sid;
	u64 *ent;
	int ret = 1;

	BUILD_BUG_ON(PKVM_SMMU_EVT_DWORDS != EVTQ_ENT_DWORDS);
	if (!smmu)
		return -EINVAL;

	hyp_spin_lock(&smmu->lock);
	qmask = (2U << smmu->evtq_shift) - 1;
	prod = smmu_read(smmu, smmu_page1(ARM_SMMU_EVTQ_PROD));
	cons = smmu_read(smmu, smmu_page1(ARM_SMMU_EVTQ_CONS));
	if ((prod ^ cons) & Q_OVERFLOW_FLAG) {
		/* Acknowledge the overflow: CONS.OVACKFLG follows PROD.OVFLG. */
		cons = (cons & ~Q_OVERFLOW_FLAG) | (prod & Q_OVERFLOW_FLAG);
		ret = 2;
	}
	if ((prod & qmask) == (cons & qmask)) {
		smmu_write(smmu, smmu_page1(ARM_SMMU_EVTQ_CONS), cons);
		ret = 0;
		goto unlock;
	}

	/* Read the record only after seeing PROD move past it. */
	dma_rmb();
	ent = smmu->evtq + (cons & ((1U << smmu->evtq_shift) - 1)) * EVTQ_ENT_DWORDS;
	if (!(smmu->features & HYP_SMMU_FEAT_COHERENT))
		kvm_flush_dcache_to_poc(ent, EVTQ_ENT_DWORDS * 8);
	for (i = 0; i < EVTQ_ENT_DWORDS; i++)
		evt[i] = le64_to_cpu(READ_ONCE(ent[i]));
	/* A protected VM's stream: its type and stream only (the design's section 5). */
	sid = FIELD_GET(EVTQ_0_SID, evt[0]);
	if (smmu_event_private_locked(smmu, sid, smmu->evts_popped)) {
		evt[0] &= EVTQ_0_ID | EVTQ_0_SID;
		for (i = 1; i < EVTQ_ENT_DWORDS; i++)
			evt[i] = 0;
	}
	smmu->evts_popped++;

	/* The record is consumed before the SMMU may overwrite it. */
	mb();
	cons = (cons & Q_OVERFLOW_FLAG) | (((cons & qmask) + 1) & qmask);
	smmu_write(smmu, smmu_page1(ARM_SMMU_EVTQ_CONS), cons);
unlock:
	hyp_spin_unlock(&smmu->lock);
	return ret;
}

/*
 * The STE of @sid, allocating its level-2 table with @alloc if it has none
 * (NULL without @alloc). The caller checked @sid against sid_bits.
 */
static struct arm_smmu_ste *smmu_ste_locked(struct hyp_smmu *smmu, u32 sid,
					    void *(*alloc)(void *arg), void *arg)
{
	struct arm_smmu_strtab_l1 *l1;
	struct arm_smmu_ste *l2;
	u64 desc;

	hyp_assert_lock_held(&smmu->lock);
	/* @sid comes from the host: no speculation past the bounds check either. */
	sid = array_index_nospec(sid, 1U << smmu->sid_bits);
	if (!(smmu->features & HYP_SMMU_FEAT_2LVL_STRTAB))
		return &((struct arm_smmu_ste *)smmu->strtab)[sid];

	l1 = &((struct arm_smmu_strtab_l1 *)smmu->strtab)[sid >> HYP_SMMU_STRTAB_SPLIT];
	desc = le64_to_cpu(l1->l2ptr);
	if (!FIELD_GET(STRTAB_L1_DESC_SPAN, desc)) {
		if (!alloc)
			return NULL;
		l2 = alloc(arg);
		if (!l2)
			return NULL;
		/*
		 * An all-zero table (@alloc zeroes the page, whatever the host
		 * left in it): every STE in it aborts. The zeroes must reach the
		 * SMMU before the descriptor that lets it walk there, or it could
		 * fetch an STE the host wrote into the page before donating it.
		 */
		smmu_sync_to_device(smmu, l2, PAGE_SIZE);
		dma_wmb();
		desc = (__hyp_pa(l2) & STRTAB_L1_DESC_L2PTR_MASK) |
		       FIELD_PREP(STRTAB_L1_DESC_SPAN, HYP_SMMU_STRTAB_SPLIT + 1);
		WRITE_ONCE(l1->l2ptr, cpu_to_le64(desc));
		smmu_sync_to_device(smmu, l1, sizeof(*l1));
	}
	l2 = hyp_phys_to_virt(desc & STRTAB_L1_DESC_L2PTR_MASK);
	return &l2[sid & (HYP_SMMU_L2_STES - 1)];
}

/*
 * Can this SMMU walk a stage-2 table of @ias input bits that the CPU wrote?
 * Its walks must be cache-coherent (nothing cleans the tables to the point of
 * coherence yet) and its output size must cover the input size. Memory
 * types need no check: the tables never use the FWB encoding.
 */
bool hyp_smmu_s2_compatible(struct hyp_smmu *smmu, unsigned int ias)
{
	static const unsigned int oas_bits[] = { 32, 36, 40, 42, 44, 48, 52 };

	return (smmu->features & HYP_SMMU_FEAT_COHERENT) &&
	       oas_bits[smmu->oas_enc] >= ias;
}

bool hyp_smmu_sid_valid(struct hyp_smmu *smmu, u64 sid)
{
	return sid < (1ULL << smmu->sid_bits);
}

/* Pages that installing an STE for @sid takes: its level-2 table, if missing. */
int hyp_smmu_ste_pages(struct hyp_smmu *smmu, u32 sid)
{
	int pages;

	hyp_spin_lock(&smmu->lock);
	pages = smmu_ste_locked(smmu, sid, NULL, NULL) ? 0 : 1;
	hyp_spin_unlock(&smmu->lock);
	return pages;
}

static int smmu_cfgi_ste_locked(struct hyp_smmu *smmu, u32 sid)
{
	struct arm_smmu_cmd cmd = arm_smmu_make_cmd_cfgi_ste(sid, true);

	return smmu_cmdq_issue_sync_locked(smmu, &cmd, 1);
}

/* The STE words of a stage-2 translation with @cfg. */
static void smmu_make_s2_ste(struct hyp_smmu *smmu, const struct hyp_smmu_s2_cfg *cfg,
			     u64 ste[STRTAB_STE_DWORDS])
{
	u64 vtcr = FIELD_PREP(STRTAB_STE_2_VTCR_S2T0SZ, 64 - cfg->ias) |
		   FIELD_PREP(STRTAB_STE_2_VTCR_S2SL0, cfg->sl0) |
		   FIELD_PREP(STRTAB_STE_2_VTCR_S2IR0, 1) |
		   FIELD_PREP(STRTAB_STE_2_VTCR_S2OR0, 1) |
		   FIELD_PREP(STRTAB_STE_2_VTCR_S2SH0, ARM_SMMU_SH_ISH) |
		   FIELD_PREP(STRTAB_STE_2_VTCR_S2TG, 0) |
		   FIELD_PREP(STRTAB_STE_2_VTCR_S2PS, smmu->oas_enc);

	memset(ste, 0, STRTAB_STE_DWORDS * sizeof(u64));
	ste[0] = STRTAB_STE_0_V |
		 FIELD_PREP(STRTAB_STE_0_CFG, STRTAB_STE_0_CFG_S2_TRANS);
	/* See smmu_probe_lpa2(): the descriptors' format and shareability. */
	ste[1] = FIELD_PREP(STRTAB_STE_1_SHCFG,
			    smmu->features & HYP_SMMU_FEAT_SHCFG ? ARM_SMMU_SH_ISH :
			    STRTAB_STE_1_SHCFG_INCOMING);
	if (cfg->fwb)
		ste[1] |= STRTAB_STE_1_S2FWB;
	ste[2] = FIELD_PREP(STRTAB_STE_2_S2VMID, cfg->vmid) |
		 FIELD_PREP(STRTAB_STE_2_VTCR, vtcr) |
		 STRTAB_STE_2_S2AA64 | STRTAB_STE_2_S2R;
	ste[3] = cfg->root & STRTAB_STE_3_S2TTB_MASK;
	if (smmu->features & HYP_SMMU_FEAT_DS)
		ste[3] |= HYP_SMMU_STE_3_S2DS;
}

/**
 * hyp_smmu_install_ste() - Point stream @sid at a stage-2 translation.
 * @smmu:	The SMMU.
 * @sid:	The stream, checked by the caller.
 * @cfg:	The translation.
 * @alloc:	Gives a zeroed page for a missing level-2 stream table.
 * @arg:	@alloc's argument.
 *
 * The stream must be aborting (no valid STE): moving a stream from one
 * domain to another goes through detach. The words are written with the
 * valid bit last, then the SMMU's cached copy is invalidated and synced.
 *
 * Return: 0, -EBUSY if the stream has a translation, -ENOMEM if its level-2
 * table is missing and @alloc gave no page (nothing changed in these two
 * cases), or a command queue error: the SMMU may then use the new STE, which
 * stays in place until hyp_smmu_clear_ste().
 */
int hyp_smmu_install_ste(struct hyp_smmu *smmu, u32 sid,
			 const struct hyp_smmu_s2_cfg *cfg,
			 void *(*alloc)(void *arg), void *arg)
{
	u64 words[STRTAB_STE_DWORDS];
	struct arm_smmu_ste *ste;
	int i, ret;

	smmu_make_s2_ste(smmu, cfg, words);
	hyp_spin_lock(&smmu->lock);
	ste = smmu_ste_locked(smmu, sid, alloc, arg);
	ret = -ENOMEM;
	if (!ste)
		goto unlock;
	/* Valid, or invalid but still naming a table: a detach not finished. */
	ret = -EBUSY;
	if ((le64_to_cpu(ste->data[0]) & STRTAB_STE_0_V) || le64_to_cpu(ste->data[2]) ||
	    le64_to_cpu(ste->data[3]))
		goto unlock;

	for (i = 1; i < STRTAB_STE_DWORDS; i++)
		WRITE_ONCE(ste->data[i], cpu_to_le64(words[i]));
	smmu_sync_to_device(smmu, ste, sizeof(*ste));
	/* The SMMU may fetch the STE at any time: valid bit last. */
	dma_wmb();
	WRITE_ONCE(ste->data[0], cpu_to_le64(words[0]));
	smmu_sync_to_device(smmu, ste, sizeof(*ste));
	ret = smmu_cfgi_ste_locked(smmu, sid);
unlock:
	hyp_spin_unlock(&smmu->lock);
	return ret;
}

/**
 * hyp_smmu_ste_in_use() - Does stream @sid translate, or may it still?
 * @smmu:	The SMMU.
 * @sid:	The stream, checked by the caller.
 *
 * Return: true if its STE is valid, or invalid but still naming a table (a
 * detach not confirmed): what hyp_smmu_install_ste() refuses.
 */
bool hyp_smmu_ste_in_use(struct hyp_smmu *smmu, u32 sid)
{
	struct arm_smmu_ste *ste;
	bool in_use = false;

	hyp_spin_lock(&smmu->lock);
	ste = smmu_ste_locked(smmu, sid, NULL, NULL);
	if (ste)
		in_use = (le64_to_cpu(ste->data[0]) & STRTAB_STE_0_V) ||
			 le64_to_cpu(ste->data[2]) || le64_to_cpu(ste->data[3]);
	hyp_spin_unlock(&smmu->lock);
	return in_use;
}

/**
 * hyp_smmu_clear_ste() - Make stream @sid abort again.
 * @smmu:	The SMMU.
 * @sid:	The stream, checked by the caller.
 * @cfg:	The translation the stream must have.
 *
 * Only an STE that translates through @cfg (same table and VMID) is cleared,
 * so a stream is detached only from the domain it is attached to. On return
 * 0 the SMMU no longer uses the old STE. If the SMMU did not confirm the
 * CFGI_STE, the STE is left invalid but still naming @cfg's table and VMID:
 * it may still be cached, so the stream is not detached yet, and a later
 * call with the same @cfg issues the CFGI_STE again; meanwhile nothing can
 * be installed there (hyp_smmu_install_ste() returns -EBUSY).
 *
 * Return: 0, -ENOENT if the stream does not translate through @cfg, or a
 * command queue error.
 */
int hyp_smmu_clear_ste(struct hyp_smmu *smmu, u32 sid,
		       const struct hyp_smmu_s2_cfg *cfg)
{
	struct arm_smmu_ste *ste;
	u64 w0, w2, w3;
	int i, ret;

	hyp_spin_lock(&smmu->lock);
	ste = smmu_ste_locked(smmu, sid, NULL, NULL);
	ret = -ENOENT;
	if (!ste)
		goto unlock;
	w0 = le64_to_cpu(ste->data[0]);
	w2 = le64_to_cpu(ste->data[2]);
	w3 = le64_to_cpu(ste->data[3]);
	/* Translating through @cfg, or invalid after a CFGI_STE that failed. */
	if ((w0 && FIELD_GET(STRTAB_STE_0_CFG, w0) != STRTAB_STE_0_CFG_S2_TRANS) ||
	    (w0 && !(w0 & STRTAB_STE_0_V)) ||
	    FIELD_GET(STRTAB_STE_2_S2VMID, w2) != cfg->vmid ||
	    (w3 & STRTAB_STE_3_S2TTB_MASK) != (cfg->root & STRTAB_STE_3_S2TTB_MASK))
		goto unlock;

	if (w0) {
		WRITE_ONCE(ste->data[0], 0);
		smmu_sync_to_device(smmu, ste, sizeof(*ste));
	}
	ret = smmu_cfgi_ste_locked(smmu, sid);
	if (ret)
		goto unlock;
	for (i = 1; i < STRTAB_STE_DWORDS; i++)
		WRITE_ONCE(ste->data[i], 0);
	smmu_sync_to_device(smmu, ste, sizeof(*ste));
unlock:
	hyp_spin_unlock(&smmu->lock);
	return ret;
}

/* Invalidate every TLB entry tagged @vmid. */
int hyp_smmu_tlbi_vmid(struct hyp_smmu *smmu, u16 vmid)
{
	struct arm_smmu_cmd cmd = arm_smmu_make_cmd_tlbi(CMDQ_OP_TLBI_S12_VMALL, 0, vmid);
	int ret;

	hyp_spin_lock(&smmu->lock);
	ret = smmu_cmdq_issue_sync_locked(smmu, &cmd, 1);
	hyp_spin_unlock(&smmu->lock);
	return ret;
}

/* Without range invalidation: above this many pages, one VMID-wide one. */
#define HYP_SMMU_TLBI_MAX_PAGES		32

/*
 * Range invalidation (IDR3.RIL): TLBI_S2_IPA covering (NUM + 1) << SCALE
 * pages from @iova, 4 KiB granule (TG 1); with @leaf3, leaf entries at
 * level 3 only (LEAF, TTL 3), otherwise entries of any level, walk caches
 * included (TTL 0). A range of n pages takes one command per run of set
 * bits in n: at most a handful, whatever its size.
 */
static unsigned int smmu_make_range_tlbi(struct arm_smmu_cmd *cmds,
					 unsigned int max, u16 vmid, u64 iova,
					 u64 pages, bool leaf3)
{
	unsigned int n = 0;
	u64 scale, num;

	while (pages && n < max) {
		/* (pages >> scale) is odd, so num is at least 1. */
		scale = __ffs64(pages);
		/* SCALE has 5 bits: beyond, the whole VMID (return 0). */
		if (scale > 31)
			return 0;
		num = (pages >> scale) & CMDQ_TLBI_RANGE_NUM_MAX;
		cmds[n] = arm_smmu_make_cmd_tlbi(CMDQ_OP_TLBI_S2_IPA, 0, vmid);
		cmds[n].data[0] |= FIELD_PREP(CMDQ_TLBI_0_NUM, num - 1) |
				   FIELD_PREP(CMDQ_TLBI_0_SCALE, scale);
		cmds[n].data[1] |= FIELD_PREP(CMDQ_TLBI_1_TG, 1) |
				   (iova & CMDQ_TLBI_1_IPA_MASK);
		if (leaf3)
			cmds[n].data[1] |= CMDQ_TLBI_1_LEAF |
					   FIELD_PREP(CMDQ_TLBI_1_TTL, 3);
		iova += (num << scale) << PAGE_SHIFT;
		pages -= num << scale;
		n++;
	}
	return pages ? 0 : n;
}

/**
 * hyp_smmu_tlbi_range() - Invalidate [@iova, @iova + @size) tagged @vmid.
 * @smmu:	The SMMU.
 * @vmid:	The VMID whose entries go.
 * @iova:	Start of the range.
 * @size:	Bytes in the range, or 0 for every entry of @vmid.
 * @flags:	HYP_SMMU_TLBI_LEAF3 if every entry of the range is a level-3
 *		leaf and no table of it was freed (a paging domain's unmap);
 *		otherwise blocks and walk caches are invalidated too.
 *
 * One batch of commands and one CMD_SYNC: on return 0 the SMMU holds no
 * translation of the range. With range invalidation the batch is a few
 * range commands; without, one command per page up to
 * HYP_SMMU_TLBI_MAX_PAGES, and the whole VMID beyond. A @size of 0
 * invalidates the whole VMID.
 */
int hyp_smmu_tlbi_range(struct hyp_smmu *smmu, u16 vmid, u64 iova, u64 size,
			unsigned int flags)
{
	bool leaf3 = flags & HYP_SMMU_TLBI_LEAF3;
	struct arm_smmu_cmd cmds[HYP_SMMU_TLBI_MAX_PAGES];
	u64 pages = size >> PAGE_SHIFT;
	unsigned int i, n = 0;
	int ret;

	if (pages && (smmu->features & HYP_SMMU_FEAT_RANGE_INV))
		n = smmu_make_range_tlbi(cmds, ARRAY_SIZE(cmds), vmid, iova, pages,
					 leaf3);
	else if (pages && pages <= HYP_SMMU_TLBI_MAX_PAGES)
		n = pages;
	if (!n)
		return hyp_smmu_tlbi_vmid(smmu, vmid);

	for (i = 0; !(smmu->features & HYP_SMMU_FEAT_RANGE_INV) && i < n; i++) {
		cmds[i] = arm_smmu_make_cmd_tlbi(CMDQ_OP_TLBI_S2_IPA, 0, vmid);
		cmds[i].data[1] |= (leaf3 ? CMDQ_TLBI_1_LEAF : 0) |
				   ((iova + ((u64)i << PAGE_SHIFT)) & CMDQ_TLBI_1_IPA_MASK);
	}
	hyp_spin_lock(&smmu->lock);
	ret = smmu_cmdq_issue_sync_locked(smmu, cmds, n);
	hyp_spin_unlock(&smmu->lock);
	return ret;
}

/*
 * A deferred unmap (a flush queue: __pkvm_iommu_unmap() with
 * PKVM_IOMMU_UNMAP_DEFER) cleared leaves that @smmu may still hold in its
 * TLB, and did not invalidate them. Called after the leaves are cleared and
 * before their pages are given back to the host; the lock orders the two.
 * Return: false if @smmu is not live: it may not confirm an invalidation,
 * so the unmap must invalidate now (and keep the pages if it fails).
 */
bool hyp_smmu_defer_tlbi(struct hyp_smmu *smmu)
{
	bool live;

	hyp_spin_lock(&smmu->lock);
	live = smmu->state == HYP_SMMU_LIVE;
	if (live)
		WRITE_ONCE(smmu->tlb_stale, true);
	hyp_spin_unlock(&smmu->lock);
	return live;
}

/*
 * Invalidate everything @smmu caches (one TLBI_NSNH_ALL and a CMD_SYNC) if a
 * deferred unmap left it stale; nothing otherwise. On return 0, no leaf any
 * deferred unmap cleared before this call is in its TLB: tlb_stale is
 * cleared only once the invalidation completed, under the lock that every
 * deferred unmap takes after clearing its leaves.
 */
int hyp_smmu_flush_deferred(struct hyp_smmu *smmu)
{
	struct arm_smmu_cmd cmd = arm_smmu_make_cmd_op(CMDQ_OP_TLBI_NSNH_ALL);
	int ret = 0;

	hyp_spin_lock(&smmu->lock);
	if (!smmu->tlb_stale)
		goto unlock;
	/* Stopped: stale only while it has not acknowledged that it is off. */
	if (smmu->state != HYP_SMMU_LIVE) {
		ret = smmu->off ? 0 : -EIO;
		if (!ret)
			WRITE_ONCE(smmu->tlb_stale, false);
		goto unlock;
	}
	ret = smmu_cmdq_issue_sync_locked(smmu, &cmd, 1);
	if (!ret)
		WRITE_ONCE(smmu->tlb_stale, false);
unlock:
	hyp_spin_unlock(&smmu->lock);
	return ret;
}

/*
 * The SMMU did not confirm an invalidation the hypervisor relies on: stop
 * translating altogether (with SMMUEN clear, GBPA aborts every transaction).
 * Devices behind it stop working; none reaches memory it should not.
 *
 * Return: 0 once the SMMU acknowledged that it is off. Otherwise it may
 * still translate with whatever it cached: hyp_smmu_translating() stays
 * true, and pages it might reach are never given back.
 */
int hyp_smmu_abort_all(struct hyp_smmu *smmu)
{
	int ret;

	hyp_spin_lock(&smmu->lock);
	WRITE_ONCE(smmu->state, HYP_SMMU_BROKEN);
	ret = smmu_disable_locked(smmu);
	hyp_spin_unlock(&smmu->lock);
	return ret;
}

/*
 * Can @smmu translate with the tables and TLB entries the hypervisor gave
 * it? A live one can; a broken one only until it acknowledged SMMUEN clear.
 */
bool hyp_smmu_translating(struct hyp_smmu *smmu)
{
	return READ_ONCE(smmu->state) == HYP_SMMU_LIVE || !READ_ONCE(smmu->off);
}

/* The SMMU at host-supplied index @idx in any state but free; or NULL. */
struct hyp_smmu *hyp_smmu_get_any(u64 idx)
{
	struct hyp_smmu *smmu;

	if (idx >= PKVM_SMMU_MAX)
		return NULL;
	smmu = &hyp_smmus[array_index_nospec(idx, PKVM_SMMU_MAX)];
	return READ_ONCE(smmu->state) == HYP_SMMU_FREE ? NULL : smmu;
}
