// SPDX-License-Identifier: GPL-2.0-only
/*
 * A model of an SMMUv3 behind the EL2 driver's MMIO accessors, with the ID
 * registers of QEMU's (2-level stream table, stage 1 and 2, range
 * invalidation, coherent table walks, 16-bit VMIDs, 44-bit OAS unless
 * smmu_model_set_oas() says otherwise, 16-bit stream ids). Registers it
 * does not know abort the test.
 *
 * Command queue: consumed synchronously when PROD is written (as QEMU
 * does): CFGI_STE, CFGI_ALL, TLBI_S12_VMALL, TLBI_S2_IPA (with and without
 * range), TLBI_NSNH_ALL, TLBI_EL2_ALL, CMD_SYNC; any other opcode stops the
 * queue with CMDQ_ERR (CERROR_ILL) until GERRORN acknowledges it.
 *
 * Optionally (smmu_model_set_ats()) it implements ATS: IDR0.ATS, and CR0.ATSCHK
 * is kept in CR0/CR0ACK (without ATS the bit is recorded too, so a test can
 * see that it was never set). Faults on demand (smmu_model_set_fault()): a
 * CR0ACK that never shows ATSCHK, the next command rejected (CMDQ_ERR, the
 * command takes no effect), or a queue that stops consuming (CONS never
 * reaches the next CMD_SYNC, nothing in the batch takes effect).
 *
 * Translation: the stream table walk (L1 descriptor, L2 STE) and a
 * configuration cache of STEs (dropped by CFGI_*), then a TLB that caches
 * each stage-2 translation by (VMID, IOVA page) and is consulted before the
 * stage-2 walk of the domain's table. Every table the model reads is read
 * through the hypervisor's linear map, so it must lie in memory.
 *
 * Threads: one lock per model makes each register access, command batch
 * and transaction atomic, as one device would; CPUs on several threads may
 * use it at once. With smmu_model_set_jitter(), a CPU yields at random
 * before a PROD write takes effect and before a CONS read, so that other
 * CPUs (and their DMA) run while its commands are in flight.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bitfield.h>
#include <linux/pci_regs.h>
#include <asm/kvm_mmu.h>
#include <nvhe/memory.h>
#include <nvhe/spinlock.h>

#include "arm-smmu-v3.h"
#include "el2.h"

#define SMMU_MODEL_MAX		16
/* SMMUv3.3 names the arm-smmu-v3.h of this kernel does not have. */
#define MODEL_IDR5_DS		BIT(7)
#define MODEL_STE_3_S2DS	BIT_ULL(3)
#define MODEL_IDR1_ECMDQ	BIT(31)
#define MODEL_IDR6		0x190
#define MODEL_ECMDQ_PAGE_BASE0	0x4000
#define SMMU_MODEL_FRAME	SZ_128K
#define SMMU_MODEL_SID_BITS	16
/* Streams whose STE the configuration cache may hold, before a full scan. */
#define SMMU_MODEL_CFG_SIDS	1024

struct smmu_model_tlb {
	bool	valid;
	u16	vmid;
	u64	iova;		/* page */
	u64	pa;		/* page */
	bool	r, w;
	u8	memattr;	/* the leaf's MemAttr[3:0] */
	u8	sh;		/* the walk's shareability (the leaf's SH, or S2SH0) */
	u8	level;		/* of the leaf: a page, or a page of a block */
};

struct smmu_model {
	phys_addr_t	mmio;
	u8		*frame;		/* the VA the hypervisor maps; never dereferenced */
	bool		range_inv;
	bool		ats;
	u8		oas;		/* IDR5.OAS */
	bool		ds;		/* IDR5.DS: reads the LPA2 format (STE.S2DS) */
	bool		attr_ovr;	/* IDR1.ATTR_TYPES_OVR: STE.SHCFG applies */
	/* Enhanced command queues: IDR1.ECMDQ, IDR6, CMDQ_CONTROL_PAGE_BASE0. */
	bool		ecmdq;
	u32		idr1_extra;	/* more IDR1 bits, to be refused for */
	u32		idr6;
	u64		ecmdq_page0;
	enum smmu_model_fault fault;
	/* One device: the CPU thread accessing it. */
	hyp_spinlock_t	lock;
	u32		cr0, cr1, cr2, gbpa, irq_ctrl, gerror, gerrorn;
	u32		strtab_cfg, cmdq_prod, cmdq_cons, evtq_prod, evtq_cons;
	u64		strtab_base, cmdq_base, evtq_base;
	u64		evtq_irq_cfg0, gerror_irq_cfg0;
	/* Configuration cache: one STE per stream. */
	struct {
		bool	valid;
		bool	listed;		/* in cfg_sids[] */
		u64	ste[STRTAB_STE_DWORDS];
	} *cfg;
	/*
	 * The streams cached since the last CFGI_ALL, so that a test can list
	 * the cached STEs without scanning all 2^16 (a full scan on overflow).
	 */
	u32		cfg_sids[SMMU_MODEL_CFG_SIDS];
	/* What a probe read, valid until the lock is dropped. */
	u64		probe_ste[STRTAB_STE_DWORDS];
	unsigned int	nr_cfg_sids;
	bool		cfg_sids_overflow;
	struct smmu_model_tlb tlb[SMMU_MODEL_TLB_SIZE];
	unsigned int	tlb_next;
	struct smmu_model_stats stats;
	/* 1 in @jitter CMDQ_PROD writes and CONS reads yield first (0: never). */
	unsigned int	jitter;
};

static struct smmu_model *models[SMMU_MODEL_MAX];
static unsigned int nr_models;

static __noreturn void model_fail(struct smmu_model *m, const char *what, u64 val)
{
	fprintf(stderr, "SMMU model @%#llx: %s (%#llx)\n",
		(unsigned long long)m->mmio, what, (unsigned long long)val);
	abort();
}

/*
 * What the SMMU reads from memory on its own, concurrently with the CPUs:
 * stream table descriptors, STEs and page-table descriptors. One 64-bit
 * single-copy-atomic read, as the architecture guarantees for descriptors,
 * hidden from ThreadSanitizer: the CPU side orders its table writes before
 * the SMMU may use them with dsb/dma_wmb() and CMD_SYNC, which TSan does not
 * model (it ignores fences), and an SMMU read is not a CPU access racing
 * with another CPU's. The command queue is read under the model's lock
 * after the PROD write, and stays checked.
 */
__attribute__((no_sanitize("thread"), __noinline__))
static u64 model_read64(phys_addr_t pa)
{
	return *(volatile u64 *)el2_va(pa);
}

struct smmu_model *smmu_model_create(phys_addr_t mmio, bool range_inv)
{
	struct smmu_model *m = calloc(1, sizeof(*m));

	if (!m || nr_models == SMMU_MODEL_MAX)
		abort();
	m->mmio = mmio;
	m->range_inv = range_inv;
	m->oas = IDR5_OAS_44_BIT;
	m->cfg = calloc(1UL << SMMU_MODEL_SID_BITS, sizeof(*m->cfg));
	if (!m->cfg)
		abort();
	hyp_spin_lock_init(&m->lock);
	/* Out of reset, as firmware might leave it: bypassing. */
	models[nr_models++] = m;
	return m;
}

void smmu_model_set_lpa2(struct smmu_model *m, bool ds, bool attr_ovr)
{
	m->ds = ds;
	m->attr_ovr = attr_ovr;
}

void smmu_model_set_idr1_extra(struct smmu_model *m, u32 bits)
{
	m->idr1_extra = bits;
}

void smmu_model_set_ecmdq(struct smmu_model *m, u32 idr6, u64 page_base0)
{
	m->ecmdq = true;
	m->idr6 = idr6;
	m->ecmdq_page0 = page_base0;
}

void smmu_model_set_oas(struct smmu_model *m, u8 oas)
{
	hyp_spin_lock(&m->lock);
	m->oas = oas;
	hyp_spin_unlock(&m->lock);
}

phys_addr_t smmu_model_mmio(struct smmu_model *m)
{
	return m->mmio;
}

void smmu_model_set_ats(struct smmu_model *m, bool ats)
{
	hyp_spin_lock(&m->lock);
	m->ats = ats;
	hyp_spin_unlock(&m->lock);
}

void smmu_model_set_fault(struct smmu_model *m, enum smmu_model_fault fault)
{
	hyp_spin_lock(&m->lock);
	m->fault = fault;
	hyp_spin_unlock(&m->lock);
}

u32 smmu_model_cr0ack(struct smmu_model *m)
{
	u32 v;

	hyp_spin_lock(&m->lock);
	v = m->cr0;
	if (m->fault == SMMU_MODEL_DROP_ATSCHK)
		v &= ~CR0_ATSCHK;
	hyp_spin_unlock(&m->lock);
	return v;
}

u32 smmu_model_gbpa(struct smmu_model *m)
{
	u32 v;

	hyp_spin_lock(&m->lock);
	v = m->gbpa;
	hyp_spin_unlock(&m->lock);
	return v;
}

const struct smmu_model_stats *smmu_model_stats(struct smmu_model *m)
{
	return &m->stats;
}

/*
 * SMMUv3 PMCGs: the controls of register page 0 that matter to isolation
 * (the group's enable and its overflow MSI). IRQ_CTRLACK follows IRQ_CTRL,
 * unless the group is made not to acknowledge.
 */
#define PMCG_MODEL_MAX		4
#define PMCG_CFGR		0xe00
#define PMCG_CFGR_RELOC_CTRS	BIT(20)
#define PMCG_CR			0xe04
#define PMCG_IRQ_CTRL		0xe50
#define PMCG_IRQ_CTRLACK	0xe54
#define PMCG_IRQ_CFG0		0xe58

struct pmcg_model {
	phys_addr_t	page0;
	u8		*frame;
	bool		acks;
	bool		reloc;		/* CFGR.RELOC_CTRS: the counters are in page 1 */
	u32		cr, irq_ctrl;
	u64		irq_cfg0;
};

static struct pmcg_model pmcgs[PMCG_MODEL_MAX];
static unsigned int nr_pmcgs;

struct pmcg_model *pmcg_model_create(phys_addr_t page0, bool acks, bool reloc)
{
	struct pmcg_model *p = &pmcgs[nr_pmcgs];

	if (nr_pmcgs == PMCG_MODEL_MAX)
		abort();
	nr_pmcgs++;
	p->page0 = page0;
	p->acks = acks;
	p->reloc = reloc;
	/* As a host would leave it: counting, its MSI armed. */
	p->cr = 1;
	p->irq_ctrl = 1;
	p->irq_cfg0 = 0x40001000;
	return p;
}

void pmcg_model_state(struct pmcg_model *p, u32 *cr, u32 *irq_ctrl, u64 *irq_cfg0)
{
	*cr = p->cr;
	*irq_ctrl = p->irq_ctrl;
	*irq_cfg0 = p->irq_cfg0;
}

static struct pmcg_model *pmcg_of(const volatile void *addr, u32 *off)
{
	const u8 *a = (const u8 *)addr;
	unsigned int i;

	for (i = 0; i < nr_pmcgs; i++) {
		if (pmcgs[i].frame && a >= pmcgs[i].frame && a < pmcgs[i].frame + SZ_4K) {
			*off = a - pmcgs[i].frame;
			return &pmcgs[i];
		}
	}
	return NULL;
}

static u64 pmcg_read(struct pmcg_model *p, u32 off)
{
	switch (off) {
	case PMCG_CFGR:
		return p->reloc ? PMCG_CFGR_RELOC_CTRS : 0;
	case PMCG_CR:
		return p->cr;
	case PMCG_IRQ_CTRL:
		return p->irq_ctrl;
	case PMCG_IRQ_CTRLACK:
		return p->acks ? p->irq_ctrl : 1;
	case PMCG_IRQ_CFG0:
		return p->irq_cfg0;
	}
	fprintf(stderr, "PMCG @%#llx: read of an unmodelled register (%#x)\n",
		(unsigned long long)p->page0, off);
	abort();
}

static void pmcg_write(struct pmcg_model *p, u32 off, u64 val)
{
	switch (off) {
	case PMCG_CR:
		p->cr = val;
		return;
	case PMCG_IRQ_CTRL:
		p->irq_ctrl = val;
		return;
	case PMCG_IRQ_CFG0:
		/* Guarded by IRQ_CTRL.IRQEN: a change while enabled is a bug. */
		if (p->irq_ctrl || !p->acks) {
			fprintf(stderr, "PMCG @%#llx: IRQ_CFG0 written while enabled\n",
				(unsigned long long)p->page0);
			abort();
		}
		p->irq_cfg0 = val;
		return;
	}
	fprintf(stderr, "PMCG @%#llx: write of an unmodelled register (%#x)\n",
		(unsigned long long)p->page0, off);
	abort();
}

/* The frame the hypervisor maps: a reserved range nothing dereferences. */
void *smmu_model_frame(phys_addr_t phys, size_t size)
{
	unsigned int i;

	for (i = 0; i < nr_pmcgs; i++) {
		if (phys != pmcgs[i].page0 || size > SZ_4K)
			continue;
		if (!pmcgs[i].frame)
			pmcgs[i].frame = malloc(SZ_4K);
		return pmcgs[i].frame;
	}

	for (i = 0; i < nr_models; i++) {
		struct smmu_model *m = models[i];

		if (phys < m->mmio || phys + size > m->mmio + SMMU_MODEL_FRAME)
			continue;
		if (!m->frame)
			m->frame = malloc(SMMU_MODEL_FRAME);
		if (!m->frame)
			return NULL;
		return m->frame + (phys - m->mmio);
	}
	return NULL;
}

static struct smmu_model *model_of(const volatile void *addr, u32 *off)
{
	const u8 *p = (const u8 *)addr;
	unsigned int i;

	for (i = 0; i < nr_models; i++) {
		struct smmu_model *m = models[i];

		if (m->frame && p >= m->frame && p < m->frame + SMMU_MODEL_FRAME) {
			*off = p - m->frame;
			return m;
		}
	}
	fprintf(stderr, "MMIO access at %p outside every device frame\n", addr);
	abort();
}

/*
 * Drop what is cached of [start, end) under @vmid (or every VMID), of leaves
 * at level @ttl only if it is not 0: a TTL hint that names another level
 * leaves an entry in place, as the architecture allows.
 */
static void tlb_inv(struct smmu_model *m, bool all, u16 vmid, u64 start, u64 end,
		    unsigned int ttl)
{
	unsigned int i;

	for (i = 0; i < SMMU_MODEL_TLB_SIZE; i++) {
		struct smmu_model_tlb *e = &m->tlb[i];

		if (!e->valid || (!all && e->vmid != vmid) || (ttl && e->level != ttl))
			continue;
		if (e->iova + PAGE_SIZE <= start || e->iova >= end)
			continue;
		e->valid = false;
	}
}

static u32 q_mask(u64 base)
{
	return (2U << FIELD_GET(Q_BASE_LOG2SIZE, base)) - 1;
}

/* Execute one command; false if the SMMU rejects it. */
static bool cmd_exec(struct smmu_model *m, const u64 *cmd)
{
	u8 op = FIELD_GET(CMDQ_0_OP, cmd[0]);
	u16 vmid = FIELD_GET(CMDQ_TLBI_0_VMID, cmd[0]);
	unsigned int ttl;
	u64 addr, pages;

	if (m->fault == SMMU_MODEL_REJECT_CMD) {
		m->fault = SMMU_MODEL_OK;
		m->stats.rejected++;
		return false;
	}
	m->stats.cmds++;
	switch (op) {
	case CMDQ_OP_CFGI_STE:
		m->cfg[FIELD_GET(CMDQ_CFGI_0_SID, cmd[0]) &
		       ((1UL << SMMU_MODEL_SID_BITS) - 1)].valid = false;
		m->stats.cfgi++;
		return true;
	case CMDQ_OP_CFGI_ALL:
		memset(m->cfg, 0, sizeof(*m->cfg) << SMMU_MODEL_SID_BITS);
		m->nr_cfg_sids = 0;
		m->cfg_sids_overflow = false;
		m->stats.cfgi++;
		return true;
	case CMDQ_OP_TLBI_NSNH_ALL:
		m->stats.tlbi_all++;
		fallthrough;
	case CMDQ_OP_TLBI_EL2_ALL:
		tlb_inv(m, true, 0, 0, U64_MAX, 0);
		return true;
	case CMDQ_OP_TLBI_S12_VMALL:
		tlb_inv(m, false, vmid, 0, U64_MAX, 0);
		m->stats.tlbi_vmall++;
		return true;
	case CMDQ_OP_TLBI_S2_IPA:
		addr = cmd[1] & CMDQ_TLBI_1_IPA_MASK;
		pages = 1;
		ttl = 0;
		if (FIELD_GET(CMDQ_TLBI_1_TG, cmd[1])) {
			ttl = FIELD_GET(CMDQ_TLBI_1_TTL, cmd[1]);
			if (!m->range_inv)
				return false;
			/* 4 KiB granule only (TG 1). */
			if (FIELD_GET(CMDQ_TLBI_1_TG, cmd[1]) != 1)
				return false;
			pages = (FIELD_GET(CMDQ_TLBI_0_NUM, cmd[0]) + 1) <<
				FIELD_GET(CMDQ_TLBI_0_SCALE, cmd[0]);
		}
		tlb_inv(m, false, vmid, addr, addr + (pages << PAGE_SHIFT), ttl);
		m->stats.tlbi_ipa++;
		return true;
	case CMDQ_OP_CMD_SYNC:
		m->stats.syncs++;
		return true;
	default:
		return false;
	}
}

static void cmdq_run(struct smmu_model *m)
{
	u32 mask = q_mask(m->cmdq_base), idx_mask = mask >> 1;
	u64 *ent;

	if (!(m->cr0 & CR0_CMDQEN) || ((m->gerror ^ m->gerrorn) & GERROR_CMDQ_ERR))
		return;
	if (m->fault == SMMU_MODEL_STALL) {
		if ((m->cmdq_cons & mask) != (m->cmdq_prod & mask))
			m->stats.stalled++;
		return;
	}
	while ((m->cmdq_cons & mask) != (m->cmdq_prod & mask)) {
		ent = el2_va((m->cmdq_base & Q_BASE_ADDR_MASK) +
			     (m->cmdq_cons & idx_mask) * CMDQ_ENT_DWORDS * 8);
		if (!cmd_exec(m, ent)) {
			m->cmdq_cons = (m->cmdq_cons & mask) |
				       FIELD_PREP(CMDQ_CONS_ERR, CMDQ_ERR_CERROR_ILL_IDX);
			m->gerror ^= GERROR_CMDQ_ERR;
			return;
		}
		m->cmdq_cons = ((m->cmdq_cons & mask) + 1) & mask;
	}
}

/* A per-thread xorshift: which command queue accesses yield. */
static __thread u32 model_jitter_seed;

static bool model_jitter(unsigned int one_in)
{
	u32 x = model_jitter_seed ?: (u32)(uintptr_t)&model_jitter_seed | 1;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	model_jitter_seed = x;
	return x % one_in == 0;
}

void smmu_model_set_jitter(struct smmu_model *m, unsigned int one_in)
{
	hyp_spin_lock(&m->lock);
	m->jitter = one_in;
	hyp_spin_unlock(&m->lock);
}

/*
 * The ECAM window (EL2_ECAM_BASE, EL2_ECAM_SIZE): configuration space as
 * plain memory, where a store lands and a load returns it; a test writes the
 * headers of the functions it wants present (el2/pci.c). Two stores act as
 * on a device: a Function Level Reset (Initiate FLR in the PCI Express
 * capability's Device Control), and a secondary bus reset (a bridge's
 * Bridge Control), which reset the function, or every function present on
 * the buses below the bridge: command register, BARs and the MSI
 * capability's Enable, Multiple Message Enable, address, data and mask bits
 * cleared. In an MSI capability, its ID, next pointer and Message Control
 * but for Enable and Multiple Message Enable are read-only; with
 * el2_ecam_msi_addr_stuck its address registers too (a device that does not
 * take the address it is given). el2_ecam_resets counts the functions reset.
 */
static u8 *ecam_model;
unsigned int el2_ecam_resets;
bool el2_ecam_flr_broken;
bool el2_ecam_msi_addr_stuck;

/* The MSI capability of the function at @cfg, or 0 (a bounded walk). */
static unsigned int ecam_msi_cap(const u8 *cfg)
{
	unsigned int i, pos;

	if (!(cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST))
		return 0;
	pos = cfg[PCI_CAPABILITY_LIST] & ~3U;
	for (i = 0; i < 48 && pos >= PCI_STD_HEADER_SIZEOF; i++) {
		if (cfg[pos] == PCI_CAP_ID_MSI)
			return pos;
		pos = cfg[pos + PCI_CAP_LIST_NEXT] & ~3U;
	}
	return 0;
}

/* The end of the MSI capability at @cap: the registers its Message Control names. */
static unsigned int ecam_msi_end(const u8 *cap)
{
	u16 flags = cap[PCI_MSI_FLAGS] | cap[PCI_MSI_FLAGS + 1] << 8;

	if (flags & PCI_MSI_FLAGS_64BIT)
		return flags & PCI_MSI_FLAGS_MASKBIT ? PCI_MSI_PENDING_64 : PCI_MSI_DATA_64 + 2;
	return flags & PCI_MSI_FLAGS_MASKBIT ? PCI_MSI_PENDING_32 : PCI_MSI_DATA_32 + 2;
}

static void ecam_reset_fn(u8 *cfg)
{
	unsigned int i, msi = ecam_msi_cap(cfg);
	u32 *dw = (u32 *)cfg;

	if (dw[PCI_VENDOR_ID / 4] == ~0U)
		return;
	dw[PCI_COMMAND / 4] &= ~0xffffU;
	for (i = PCI_BASE_ADDRESS_0 / 4; i <= PCI_BASE_ADDRESS_5 / 4; i++)
		dw[i] = 0;
	/* MSIs off, address, data and mask bits zero; the pending bits are the device's. */
	if (msi) {
		cfg[msi + PCI_MSI_FLAGS] &= ~(PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
		memset(cfg + msi + PCI_MSI_ADDRESS_LO, 0,
		       ecam_msi_end(cfg + msi) - PCI_MSI_ADDRESS_LO);
	}
	__atomic_add_fetch(&el2_ecam_resets, 1, __ATOMIC_RELAXED);
}

/* A store of @size bytes at @p, but for the read-only fields of an MSI capability. */
static void ecam_store(u8 *p, u64 val, unsigned int size)
{
	size_t off = (p - ecam_model) & 0xfff;
	u8 *cfg = p - off;
	unsigned int msi = ecam_msi_cap(cfg);
	const u32 rw = (PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE) << 16;
	u32 old, *hdr = (u32 *)(cfg + msi);

	/* Both address registers of a 64-bit capability. */
	if (msi && el2_ecam_msi_addr_stuck && off < msi + PCI_MSI_ADDRESS_HI + 4 &&
	    off + size > msi + PCI_MSI_ADDRESS_LO)
		return;
	if (!msi || off >= msi + 4 || off + size <= msi) {
		memcpy(p, &val, size);
		return;
	}
	old = *hdr;
	memcpy(p, &val, size);
	*hdr = (*hdr & rw) | (old & ~rw);
}

/* A store of @size bytes at @p landed: is it a reset? */
static void ecam_stored(u8 *p, unsigned int size)
{
	size_t off = (p - ecam_model) & 0xfff;
	u8 *cfg = p - off;
	unsigned int i, pos, bus, sec, sub;

	if ((cfg[PCI_HEADER_TYPE] & PCI_HEADER_TYPE_MASK) == PCI_HEADER_TYPE_BRIDGE &&
	    off <= PCI_BRIDGE_CONTROL && off + size > PCI_BRIDGE_CONTROL &&
	    (cfg[PCI_BRIDGE_CONTROL] & PCI_BRIDGE_CTL_BUS_RESET)) {
		sec = cfg[PCI_SECONDARY_BUS];
		sub = cfg[PCI_SUBORDINATE_BUS];
		for (bus = sec; bus <= sub && bus < EL2_ECAM_SIZE >> 20; bus++)
			for (i = 0; i < 256; i++)
				ecam_reset_fn(ecam_model + ((size_t)bus << 20) + ((size_t)i << 12));
		return;
	}
	if (!(cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST))
		return;
	pos = cfg[PCI_CAPABILITY_LIST] & ~3U;
	for (i = 0; i < 48 && pos >= PCI_STD_HEADER_SIZEOF; i++) {
		if (cfg[pos] == PCI_CAP_ID_EXP)
			break;
		pos = cfg[pos + PCI_CAP_LIST_NEXT] & ~3U;
	}
	if (i == 48 || pos < PCI_STD_HEADER_SIZEOF)
		return;
	pos += PCI_EXP_DEVCTL;
	if (off <= pos + 1 && off + size > pos + 1 &&
	    (cfg[pos + 1] & (PCI_EXP_DEVCTL_BCR_FLR >> 8))) {
		/* Initiate FLR reads as zero. */
		cfg[pos + 1] &= ~(PCI_EXP_DEVCTL_BCR_FLR >> 8);
		if (!el2_ecam_flr_broken)
			ecam_reset_fn(cfg);
	}
}

void *el2_ecam_frame(phys_addr_t phys, size_t size)
{
	if (phys < EL2_ECAM_BASE || size > EL2_ECAM_SIZE ||
	    phys - EL2_ECAM_BASE > EL2_ECAM_SIZE - size)
		return NULL;
	if (!ecam_model) {
		ecam_model = malloc(EL2_ECAM_SIZE);
		if (!ecam_model)
			return NULL;
		/* No function there: every load reads all ones. */
		memset(ecam_model, 0xff, EL2_ECAM_SIZE);
	}
	return ecam_model + (phys - EL2_ECAM_BASE);
}

static bool ecam_access(const volatile void *addr, unsigned int size)
{
	const u8 *p = (const u8 *)addr;

	if (!ecam_model || p < ecam_model || p >= ecam_model + EL2_ECAM_SIZE)
		return false;
	if ((p - ecam_model) % size) {
		fprintf(stderr, "unaligned ECAM access at %p\n", addr);
		abort();
	}
	return true;
}

u64 el2_mmio_read(const volatile void *addr, unsigned int size);

/* The function whose configuration loads abort, if any (el2_ecam_set_abort()). */
static const u8 *ecam_abort_fn;

void el2_ecam_set_abort(phys_addr_t cfg_phys)
{
	ecam_abort_fn = cfg_phys ? el2_ecam_frame(cfg_phys, 4096) : NULL;
}

int el2_read_fixup(const void *addr, unsigned int size, u32 *val)
{
	const u8 *p = (const u8 *)addr;

	if ((p >= el2_unmapped_va && p < el2_unmapped_va + sizeof(el2_unmapped_va)) ||
	    (ecam_abort_fn && p >= ecam_abort_fn && p < ecam_abort_fn + 4096)) {
		*val = size == 4 ? ~0U : (1U << (size * 8)) - 1;
		return -EIO;
	}
	*val = el2_mmio_read(addr, size);
	return 0;
}

u64 el2_mmio_read(const volatile void *addr, unsigned int size)
{
	struct pmcg_model *p;
	struct smmu_model *m;
	unsigned int jitter;
	u32 off;
	u64 v;

	if (ecam_access(addr, size)) {
		v = 0;
		memcpy(&v, (const void *)addr, size);
		return v;
	}
	p = pmcg_of(addr, &off);
	if (p)
		return pmcg_read(p, off);
	m = model_of(addr, &off);
	hyp_spin_lock(&m->lock);
	jitter = m->jitter;
	hyp_spin_unlock(&m->lock);
	/*
	 * A command queue that takes its time: the CPU polling CONS lets other
	 * CPUs run (and devices do DMA) while its commands are in flight.
	 */
	if (jitter && off == ARM_SMMU_CMDQ_CONS && model_jitter(jitter))
		sched_yield();
	hyp_spin_lock(&m->lock);
	switch (off) {
	case ARM_SMMU_IDR0:
		v = FIELD_PREP(IDR0_ST_LVL, IDR0_ST_LVL_2LVL) |
		    FIELD_PREP(IDR0_TTF, IDR0_TTF_AARCH64) | IDR0_COHACC |
		    IDR0_S1P | IDR0_S2P | IDR0_ASID16 | IDR0_VMID16 |
		    FIELD_PREP(IDR0_TTENDIAN, IDR0_TTENDIAN_LE) |
		    (m->ats ? IDR0_ATS : 0);
		break;
	case ARM_SMMU_IDR1:
		v = FIELD_PREP(IDR1_SIDSIZE, SMMU_MODEL_SID_BITS) |
		    FIELD_PREP(IDR1_CMDQS, 19) | FIELD_PREP(IDR1_EVTQS, 19) |
		    (m->attr_ovr ? IDR1_ATTR_TYPES_OVR : 0) |
		    (m->ecmdq ? MODEL_IDR1_ECMDQ : 0) | m->idr1_extra;
		break;
	case MODEL_IDR6:
		v = m->ecmdq ? m->idr6 : 0;
		break;
	case MODEL_ECMDQ_PAGE_BASE0:
		v = m->ecmdq ? m->ecmdq_page0 : 0;
		break;
	case ARM_SMMU_IDR3:
		v = m->range_inv ? IDR3_RIL : 0;
		break;
	case ARM_SMMU_IDR5:
		v = FIELD_PREP(IDR5_OAS, m->oas) | IDR5_GRAN4K | IDR5_GRAN64K |
		    (m->ds ? MODEL_IDR5_DS : 0);
		break;
	case ARM_SMMU_CR0:
		v = m->cr0;
		break;
	case ARM_SMMU_CR0ACK:
		v = m->cr0;
		if (m->fault == SMMU_MODEL_DROP_ATSCHK)
			v &= ~CR0_ATSCHK;
		break;
	case ARM_SMMU_GBPA:
		v = m->gbpa;
		break;
	case ARM_SMMU_IRQ_CTRLACK:
		v = m->irq_ctrl;
		break;
	case ARM_SMMU_GERROR:
		v = m->gerror;
		break;
	case ARM_SMMU_GERRORN:
		v = m->gerrorn;
		break;
	case ARM_SMMU_STRTAB_BASE:
		v = m->strtab_base;
		break;
	case ARM_SMMU_STRTAB_BASE_CFG:
		v = m->strtab_cfg;
		break;
	case ARM_SMMU_CMDQ_PROD:
		v = m->cmdq_prod;
		break;
	case ARM_SMMU_CMDQ_CONS:
		v = m->cmdq_cons;
		break;
	case ARM_SMMU_EVTQ_IRQ_CFG0:
		v = m->evtq_irq_cfg0;
		break;
	case ARM_SMMU_GERROR_IRQ_CFG0:
		v = m->gerror_irq_cfg0;
		break;
	case SZ_64K + ARM_SMMU_EVTQ_PROD:
		v = m->evtq_prod;
		break;
	case SZ_64K + ARM_SMMU_EVTQ_CONS:
		v = m->evtq_cons;
		break;
	default:
		model_fail(m, "read of an unmodelled register", off);
	}
	hyp_spin_unlock(&m->lock);
	return v;
}

void el2_mmio_write(volatile void *addr, u64 val, unsigned int size)
{
	struct pmcg_model *p;
	struct smmu_model *m;
	unsigned int jitter;
	u32 off;

	if (ecam_access(addr, size)) {
		ecam_store((u8 *)addr, val, size);
		ecam_stored((u8 *)addr, size);
		return;
	}
	p = pmcg_of(addr, &off);
	if (p) {
		pmcg_write(p, off, val);
		return;
	}
	m = model_of(addr, &off);
	hyp_spin_lock(&m->lock);
	jitter = m->jitter;
	hyp_spin_unlock(&m->lock);
	/* Commands that take a while to start: devices use the old state meanwhile. */
	if (jitter && off == ARM_SMMU_CMDQ_PROD && model_jitter(jitter))
		sched_yield();
	hyp_spin_lock(&m->lock);
	switch (off) {
	case ARM_SMMU_CR0:
		m->cr0 = val;
		if (!(val & CR0_SMMUEN)) {
			memset(m->cfg, 0, sizeof(*m->cfg) << SMMU_MODEL_SID_BITS);
			m->nr_cfg_sids = 0;
			m->cfg_sids_overflow = false;
		}
		cmdq_run(m);
		break;
	case ARM_SMMU_CR1:
		m->cr1 = val;
		break;
	case ARM_SMMU_CR2:
		m->cr2 = val;
		break;
	case ARM_SMMU_GBPA:
		m->gbpa = val & ~GBPA_UPDATE;
		break;
	case ARM_SMMU_IRQ_CTRL:
		m->irq_ctrl = val;
		break;
	case ARM_SMMU_GERRORN:
		m->gerrorn = val;
		cmdq_run(m);
		break;
	case ARM_SMMU_STRTAB_BASE:
		m->strtab_base = val;
		break;
	case ARM_SMMU_STRTAB_BASE_CFG:
		m->strtab_cfg = val;
		break;
	case ARM_SMMU_CMDQ_BASE:
		m->cmdq_base = val;
		break;
	case ARM_SMMU_CMDQ_PROD:
		m->cmdq_prod = val;
		cmdq_run(m);
		break;
	case ARM_SMMU_CMDQ_CONS:
		m->cmdq_cons = val;
		break;
	case ARM_SMMU_EVTQ_BASE:
		m->evtq_base = val;
		break;
	case ARM_SMMU_EVTQ_IRQ_CFG0:
		m->evtq_irq_cfg0 = val;
		break;
	case ARM_SMMU_GERROR_IRQ_CFG0:
		m->gerror_irq_cfg0 = val;
		break;
	case SZ_64K + ARM_SMMU_EVTQ_PROD:
		m->evtq_prod = val;
		break;
	case SZ_64K + ARM_SMMU_EVTQ_CONS:
		m->evtq_cons = val;
		break;
	default:
		model_fail(m, "write of an unmodelled register", off);
	}
	hyp_spin_unlock(&m->lock);
}

/*
 * The STE of @sid from the stream table, or NULL if the stream aborts. With
 * @fill, the configuration cache keeps it (a transaction); without, only
 * what a transaction would use now is looked up (a test's probe).
 */
static const u64 *ste_fetch(struct smmu_model *m, u32 sid, bool fill)
{
	u64 base = m->strtab_base & STRTAB_BASE_ADDR_MASK, desc, ste;
	unsigned int split = FIELD_GET(STRTAB_BASE_CFG_SPLIT, m->strtab_cfg);
	u64 words[STRTAB_STE_DWORDS];
	unsigned int span, i;

	if (sid >= 1U << FIELD_GET(STRTAB_BASE_CFG_LOG2SIZE, m->strtab_cfg))
		return NULL;
	if (m->cfg[sid].valid)
		return m->cfg[sid].ste;
	if (FIELD_GET(STRTAB_BASE_CFG_FMT, m->strtab_cfg) == STRTAB_BASE_CFG_FMT_2LVL) {
		desc = model_read64(base + (sid >> split) * 8);
		span = FIELD_GET(STRTAB_L1_DESC_SPAN, desc);
		if (!span)
			return NULL;
		if ((sid & ((1U << split) - 1)) >= 1U << (span - 1))
			return NULL;
		ste = (desc & STRTAB_L1_DESC_L2PTR_MASK) +
		      (sid & ((1U << split) - 1)) * STRTAB_STE_DWORDS * 8;
	} else {
		ste = base + sid * STRTAB_STE_DWORDS * 8ULL;
	}
	/* Read once, dword by dword, as the SMMU fetches it. */
	for (i = 0; i < STRTAB_STE_DWORDS; i++)
		words[i] = model_read64(ste + i * 8);
	if (!fill) {
		memcpy(m->probe_ste, words, sizeof(words));
		return m->probe_ste;
	}
	memcpy(m->cfg[sid].ste, words, sizeof(m->cfg[sid].ste));
	m->cfg[sid].valid = true;
	if (m->cfg[sid].listed)
		return m->cfg[sid].ste;
	m->cfg[sid].listed = true;
	if (m->nr_cfg_sids < SMMU_MODEL_CFG_SIDS)
		m->cfg_sids[m->nr_cfg_sids++] = sid;
	else
		m->cfg_sids_overflow = true;
	return m->cfg[sid].ste;
}

/*
 * The output address of a descriptor: in the LPA2 format (STE.S2DS) bits
 * 51:50 are in bits 9:8; in the older one bits 9:8 are shareability and
 * bits 51:48 must be 0 with 4 KiB pages (an address size fault otherwise).
 */
static int desc_oa(u64 desc, bool ds, u64 *oa)
{
	if (ds) {
		*oa = (desc & GENMASK_ULL(49, 12)) | (FIELD_GET(GENMASK_ULL(9, 8), desc) << 50);
		return 0;
	}
	if (desc & GENMASK_ULL(51, 48))
		return -ERANGE;
	*oa = desc & GENMASK_ULL(47, 12);
	return 0;
}

/* The stage-2 walk (4 KiB granule; up to 16 concatenated start tables). */
static int s2_walk(struct smmu_model *m, const u64 *ste, u64 iova,
		   struct smmu_model_tlb *out)
{
	u64 vtcr = FIELD_GET(STRTAB_STE_2_VTCR, ste[2]);
	unsigned int t0sz = FIELD_GET(STRTAB_STE_2_VTCR_S2T0SZ, vtcr);
	unsigned int sl0 = FIELD_GET(STRTAB_STE_2_VTCR_S2SL0, vtcr);
	unsigned int ias = 64 - t0sz, start = 2 - sl0, level, shift, bits;
	u64 table = ste[3] & STRTAB_STE_3_S2TTB_MASK, desc, oa;
	bool ds = ste[3] & MODEL_STE_3_S2DS;

	if (FIELD_GET(STRTAB_STE_2_VTCR_S2TG, vtcr) != 0 || sl0 > 2 || ias > 48)
		return -EINVAL;
	/* S2DS is RES0 without IDR5.DS: an ILLEGAL STE. */
	if (ds && !m->ds)
		return -EINVAL;
	if (iova >> ias)
		return -ERANGE;
	for (level = start;; level++) {
		shift = 12 + 9 * (3 - level);
		bits = level == start ? ias - shift : 9;
		if (bits > 9 + 4)
			return -EINVAL;
		desc = model_read64(table + ((iova >> shift) & ((1ULL << bits) - 1)) * 8);
		if (!(desc & KVM_PTE_VALID))
			return -ENOENT;
		if (desc_oa(desc, ds, &oa))
			return -ERANGE;
		if (level < 3 && (desc & KVM_PTE_TYPE)) {
			table = oa;
			continue;
		}
		if (level == 3 && !(desc & KVM_PTE_TYPE))
			return -ENOENT;
		if (level < 1)
			return -EINVAL;
		if (!(desc & KVM_PTE_LEAF_ATTR_LO_S2_AF))
			return -EACCES;
		out->pa = (oa & ~(BIT_ULL(shift) - 1)) +
			  (iova & (BIT_ULL(shift) - 1) & PAGE_MASK);
		out->sh = ds ? FIELD_GET(STRTAB_STE_2_VTCR_S2SH0, vtcr) :
			       FIELD_GET(GENMASK_ULL(9, 8), desc);
		out->iova = iova & PAGE_MASK;
		out->r = desc & KVM_PTE_LEAF_ATTR_LO_S2_S2AP_R;
		out->w = desc & KVM_PTE_LEAF_ATTR_LO_S2_S2AP_W;
		out->memattr = FIELD_GET(KVM_PTE_LEAF_ATTR_LO_S2_MEMATTR, desc);
		out->level = level;
		return 0;
	}
}

/*
 * The model is a coherent SMMU (IDR0.COHACC): its accesses to cacheable
 * memory snoop the CPUs' caches only if they are shareable. The walk's
 * shareability combines with the incoming one, which STE.SHCFG overrides
 * where IDR1.ATTR_TYPES_OVR allows (a device's own: non-shareable, at worst).
 */
static bool model_coherent(struct smmu_model *m, const u64 *ste,
			   const struct smmu_model_tlb *t)
{
	unsigned int outer = t->memattr >> 2, inner = t->memattr & 3;

	/* Device memory (MemAttr[3:2] == 0), or non-cacheable: outer shareable by definition. */
	if (!outer || (outer < 2 && inner < 2))
		return true;
	if (t->sh >= ARM_SMMU_SH_OSH)
		return true;
	return m->attr_ovr && FIELD_GET(STRTAB_STE_1_SHCFG, ste[1]) >= ARM_SMMU_SH_OSH;
}

/*
 * A transaction (@fill: it fills the caches and counts in the stats), or a
 * probe of what one would do now, leaving the model as it is.
 */
/*
 * A DMA that faulted in translation, recorded in the event queue as the SMMU
 * does: its type, stream, direction and address (dropped when the queue is
 * full or disabled).
 */
static void model_event_locked(struct smmu_model *m, u8 id, u32 sid, u64 iova,
			       bool write)
{
	unsigned int shift = FIELD_GET(Q_BASE_LOG2SIZE, m->evtq_base);
	u32 wrap = 2U << shift, prod = m->evtq_prod, cons = m->evtq_cons;
	u64 *ent;

	if (!(m->cr0 & CR0_EVTQEN) || !(m->evtq_base & Q_BASE_ADDR_MASK))
		return;
	if (((prod - cons) & (wrap - 1)) == wrap / 2)
		return;
	ent = el2_va((m->evtq_base & Q_BASE_ADDR_MASK) +
		     (prod & (wrap / 2 - 1)) * EVTQ_ENT_DWORDS * 8);
	ent[0] = FIELD_PREP(EVTQ_0_ID, id) | FIELD_PREP(EVTQ_0_SID, sid);
	ent[1] = (write ? 0 : EVTQ_1_RnW) | EVTQ_1_S2;
	ent[2] = iova;
	ent[3] = iova & EVTQ_3_IPA;
	m->evtq_prod = (prod & Q_OVERFLOW_FLAG) | (((prod & (wrap - 1)) + 1) & (wrap - 1));
	m->stats.events++;
}

static int model_translate(struct smmu_model *m, u32 sid, u64 iova, bool write,
			   phys_addr_t *pa, bool fill)
{
	struct smmu_model_tlb t = {}, *e;
	const u64 *ste;
	unsigned int i;
	u16 vmid;
	int ret = 0;

	hyp_spin_lock(&m->lock);
	if (!(m->cr0 & CR0_SMMUEN)) {
		if (m->gbpa & GBPA_ABORT) {
			ret = -EPERM;
			goto unlock;
		}
		m->stats.bypass += fill;
		*pa = iova;
		goto unlock;
	}
	ste = ste_fetch(m, sid, fill);
	if (!ste || !(ste[0] & STRTAB_STE_0_V)) {
		ret = -EPERM;
		goto unlock;
	}
	switch (FIELD_GET(STRTAB_STE_0_CFG, ste[0])) {
	case STRTAB_STE_0_CFG_S2_TRANS:
		break;
	case STRTAB_STE_0_CFG_BYPASS:
		m->stats.bypass += fill;
		*pa = iova;
		goto unlock;
	default:
		ret = -EPERM;
		goto unlock;
	}
	vmid = FIELD_GET(STRTAB_STE_2_S2VMID, ste[2]);
	for (i = 0; i < SMMU_MODEL_TLB_SIZE; i++) {
		e = &m->tlb[i];
		if (e->valid && e->vmid == vmid && e->iova == (iova & PAGE_MASK)) {
			t = *e;
			goto check;
		}
	}
	ret = s2_walk(m, ste, iova, &t);
	if (ret) {
		if (fill)
			model_event_locked(m, EVT_ID_TRANSLATION_FAULT, sid, iova, write);
		goto unlock;
	}
	t.valid = true;
	t.vmid = vmid;
	if (fill) {
		m->tlb[m->tlb_next] = t;
		m->tlb_next = (m->tlb_next + 1) % SMMU_MODEL_TLB_SIZE;
	}
check:
	if (!model_coherent(m, ste, &t)) {
		m->stats.incoherent += fill;
		ret = -EILSEQ;
		goto unlock;
	}
	if (write ? !t.w : !t.r) {
		if (fill)
			model_event_locked(m, EVT_ID_PERMISSION_FAULT, sid, iova, write);
		ret = -EACCES;
		goto unlock;
	}
	*pa = t.pa + (iova & ~PAGE_MASK);
unlock:
	hyp_spin_unlock(&m->lock);
	return ret;
}

int smmu_model_dma(struct smmu_model *m, u32 sid, u64 iova, bool write,
		   phys_addr_t *pa)
{
	return model_translate(m, sid, iova, write, pa, true);
}

int smmu_model_probe(struct smmu_model *m, u32 sid, u64 iova, bool write,
		     phys_addr_t *pa)
{
	return model_translate(m, sid, iova, write, pa, false);
}

int smmu_model_memattr(struct smmu_model *m, u32 sid, u64 iova)
{
	struct smmu_model_tlb t = {};
	const u64 *ste;
	int ret;

	hyp_spin_lock(&m->lock);
	ste = ste_fetch(m, sid, false);
	if (!ste || !(ste[0] & STRTAB_STE_0_V) ||
	    FIELD_GET(STRTAB_STE_0_CFG, ste[0]) != STRTAB_STE_0_CFG_S2_TRANS)
		ret = -EPERM;
	else
		ret = s2_walk(m, ste, iova, &t) ?: t.memattr;
	hyp_spin_unlock(&m->lock);
	return ret;
}

/* A translation cached before the hypervisor took @vmid (a previous user's). */
void smmu_model_tlb_plant(struct smmu_model *m, u16 vmid, u64 iova, phys_addr_t pa)
{
	hyp_spin_lock(&m->lock);
	m->tlb[m->tlb_next] = (struct smmu_model_tlb){
		.valid = true, .vmid = vmid, .iova = iova & PAGE_MASK,
		.pa = pa & PAGE_MASK, .r = true, .w = true,
	};
	m->tlb_next = (m->tlb_next + 1) % SMMU_MODEL_TLB_SIZE;
	hyp_spin_unlock(&m->lock);
}

/* A cached translation of @iova under @vmid? */
bool smmu_model_tlb_has(struct smmu_model *m, u16 vmid, u64 iova)
{
	bool hit = false;
	unsigned int i;

	hyp_spin_lock(&m->lock);
	for (i = 0; i < SMMU_MODEL_TLB_SIZE; i++)
		hit |= m->tlb[i].valid && m->tlb[i].vmid == vmid &&
		       m->tlb[i].iova == (iova & PAGE_MASK);
	hyp_spin_unlock(&m->lock);
	return hit;
}

/* Does a valid stage-2 STE, in the stream table or cached, use @vmid? */
static bool vmid_live_locked(struct smmu_model *m, u16 vmid, u32 *sid)
{
	u64 base = m->strtab_base & STRTAB_BASE_ADDR_MASK, desc, ste0, ste2, l2;
	unsigned int split = FIELD_GET(STRTAB_BASE_CFG_SPLIT, m->strtab_cfg);
	unsigned int log2size = FIELD_GET(STRTAB_BASE_CFG_LOG2SIZE, m->strtab_cfg);
	u64 i, j;

	hyp_assert_lock_held(&m->lock);
	if (FIELD_GET(STRTAB_BASE_CFG_FMT, m->strtab_cfg) != STRTAB_BASE_CFG_FMT_2LVL)
		model_fail(m, "linear stream table: not modelled here", 0);
	for (i = 0; i < 1ULL << (log2size - split); i++) {
		desc = model_read64(base + i * 8);
		if (!FIELD_GET(STRTAB_L1_DESC_SPAN, desc))
			continue;
		l2 = desc & STRTAB_L1_DESC_L2PTR_MASK;
		for (j = 0; j < 1ULL << (FIELD_GET(STRTAB_L1_DESC_SPAN, desc) - 1) &&
			    j < 1ULL << split; j++) {
			ste0 = model_read64(l2 + j * STRTAB_STE_DWORDS * 8);
			ste2 = model_read64(l2 + (j * STRTAB_STE_DWORDS + 2) * 8);
			if ((ste0 & STRTAB_STE_0_V) &&
			    FIELD_GET(STRTAB_STE_0_CFG, ste0) == STRTAB_STE_0_CFG_S2_TRANS &&
			    FIELD_GET(STRTAB_STE_2_S2VMID, ste2) == vmid) {
				*sid = (i << split) | j;
				return true;
			}
		}
	}
	for (i = 0; i < (m->cfg_sids_overflow ? 1ULL << SMMU_MODEL_SID_BITS :
						 m->nr_cfg_sids); i++) {
		j = m->cfg_sids_overflow ? i : m->cfg_sids[i];
		if (m->cfg[j].valid && (m->cfg[j].ste[0] & STRTAB_STE_0_V) &&
		    FIELD_GET(STRTAB_STE_0_CFG, m->cfg[j].ste[0]) ==
		    STRTAB_STE_0_CFG_S2_TRANS &&
		    FIELD_GET(STRTAB_STE_2_S2VMID, m->cfg[j].ste[2]) == vmid) {
			*sid = j;
			return true;
		}
	}
	return false;
}

/*
 * A cached translation that a transaction could use now, of @iova (or, with
 * @by_pa, to page @iova): under a VMID that a valid STE (in the stream table
 * or the configuration cache) names. Atomic with respect to the SMMU's own
 * work (one lock hold). *@other is the entry's other end.
 */
static bool tlb_live(struct smmu_model *m, bool by_pa, u64 key, u16 *vmid, u32 *sid,
		     u64 *other)
{
	bool hit = false;
	unsigned int i;

	hyp_spin_lock(&m->lock);
	for (i = 0; i < SMMU_MODEL_TLB_SIZE && !hit; i++) {
		if (!m->tlb[i].valid ||
		    (by_pa ? m->tlb[i].pa : m->tlb[i].iova) != (key & PAGE_MASK))
			continue;
		hit = vmid_live_locked(m, m->tlb[i].vmid, sid);
		*vmid = m->tlb[i].vmid;
		*other = by_pa ? m->tlb[i].iova : m->tlb[i].pa;
	}
	hyp_spin_unlock(&m->lock);
	return hit;
}

bool smmu_model_tlb_live(struct smmu_model *m, u64 iova, u16 *vmid, u32 *sid,
			 phys_addr_t *pa)
{
	u64 other = 0;
	bool hit = tlb_live(m, false, iova, vmid, sid, &other);

	*pa = other;
	return hit;
}

bool smmu_model_tlb_live_pa(struct smmu_model *m, phys_addr_t pa, u16 *vmid, u32 *sid,
			    u64 *iova)
{
	return tlb_live(m, true, pa, vmid, sid, iova);
}

bool smmu_model_tlb_reaches(struct smmu_model *m, phys_addr_t pa)
{
	bool hit = false;
	unsigned int i;

	hyp_spin_lock(&m->lock);
	for (i = 0; i < SMMU_MODEL_TLB_SIZE; i++)
		hit |= m->tlb[i].valid && m->tlb[i].pa == (pa & PAGE_MASK);
	hyp_spin_unlock(&m->lock);
	return hit;
}

unsigned int smmu_model_tlb_entries(struct smmu_model *m)
{
	unsigned int i, n = 0;

	hyp_spin_lock(&m->lock);
	for (i = 0; i < SMMU_MODEL_TLB_SIZE; i++)
		n += m->tlb[i].valid;
	hyp_spin_unlock(&m->lock);
	return n;
}

bool smmu_model_translating(struct smmu_model *m)
{
	bool on;

	hyp_spin_lock(&m->lock);
	on = m->cr0 & CR0_SMMUEN;
	hyp_spin_unlock(&m->lock);
	return on;
}

unsigned int smmu_model_tlb_dump(struct smmu_model *m,
				 struct smmu_model_tlb_entry *out, unsigned int max)
{
	unsigned int i, n = 0;

	hyp_spin_lock(&m->lock);
	for (i = 0; i < SMMU_MODEL_TLB_SIZE && n < max; i++) {
		if (!m->tlb[i].valid)
			continue;
		out[n++] = (struct smmu_model_tlb_entry){
			.vmid = m->tlb[i].vmid, .iova = m->tlb[i].iova,
			.pa = m->tlb[i].pa, .r = m->tlb[i].r, .w = m->tlb[i].w,
		};
	}
	hyp_spin_unlock(&m->lock);
	return n;
}

/*
 * Every page the model reads its configuration from: the stream table
 * (both levels) and the queues. Read as the model reads them, through the
 * hypervisor's linear map; a descriptor pointing outside memory is reported
 * as such (pa and all) rather than dereferenced.
 */
void smmu_model_visit_table_pages(struct smmu_model *m, smmu_model_page_fn fn,
				    void *arg)
{
	u64 base = m->strtab_base & STRTAB_BASE_ADDR_MASK, desc, size, off;
	unsigned int split = FIELD_GET(STRTAB_BASE_CFG_SPLIT, m->strtab_cfg);
	unsigned int log2size = FIELD_GET(STRTAB_BASE_CFG_LOG2SIZE, m->strtab_cfg);
	bool two = FIELD_GET(STRTAB_BASE_CFG_FMT, m->strtab_cfg) ==
		   STRTAB_BASE_CFG_FMT_2LVL;
	u64 i;

	hyp_spin_lock(&m->lock);
	size = two ? (8ULL << (log2size - split)) :
		     (STRTAB_STE_DWORDS * 8ULL << log2size);
	for (off = 0; off < size; off += PAGE_SIZE)
		fn(arg, base + off, "stream table");
	for (i = 0; two && i < 1ULL << (log2size - split); i++) {
		if (!el2_page(base + i * 8))
			break;
		desc = *(u64 *)el2_va(base + i * 8);
		if (FIELD_GET(STRTAB_L1_DESC_SPAN, desc))
			fn(arg, desc & STRTAB_L1_DESC_L2PTR_MASK,
			   "level-2 stream table");
	}
	fn(arg, m->cmdq_base & Q_BASE_ADDR_MASK, "command queue");
	fn(arg, m->evtq_base & Q_BASE_ADDR_MASK, "event queue");
	hyp_spin_unlock(&m->lock);
}

/*
 * Every valid STE a transaction could use: those in the stream table, and
 * those in the configuration cache (which a transaction prefers).
 */
void smmu_model_visit_stes(struct smmu_model *m, smmu_model_ste_fn fn, void *arg)
{
	u64 base = m->strtab_base & STRTAB_BASE_ADDR_MASK, desc;
	unsigned int split = FIELD_GET(STRTAB_BASE_CFG_SPLIT, m->strtab_cfg);
	unsigned int log2size = FIELD_GET(STRTAB_BASE_CFG_LOG2SIZE, m->strtab_cfg);
	const u64 *ste;
	u64 i, j;

	hyp_spin_lock(&m->lock);
	if (FIELD_GET(STRTAB_BASE_CFG_FMT, m->strtab_cfg) != STRTAB_BASE_CFG_FMT_2LVL)
		model_fail(m, "linear stream table: not modelled here", 0);
	for (i = 0; i < 1ULL << (log2size - split); i++) {
		desc = *(u64 *)el2_va(base + i * 8);
		if (!FIELD_GET(STRTAB_L1_DESC_SPAN, desc))
			continue;
		for (j = 0; j < 1ULL << (FIELD_GET(STRTAB_L1_DESC_SPAN, desc) - 1) &&
			    j < 1ULL << split; j++) {
			ste = el2_va((desc & STRTAB_L1_DESC_L2PTR_MASK) +
				     j * STRTAB_STE_DWORDS * 8);
			if (ste[0] & STRTAB_STE_0_V)
				fn(arg, (i << split) | j, ste, false);
		}
	}
	if (m->cfg_sids_overflow) {
		for (i = 0; i < 1ULL << SMMU_MODEL_SID_BITS; i++)
			if (m->cfg[i].valid && (m->cfg[i].ste[0] & STRTAB_STE_0_V))
				fn(arg, i, m->cfg[i].ste, true);
	} else {
		for (i = 0; i < m->nr_cfg_sids; i++) {
			j = m->cfg_sids[i];
			if (m->cfg[j].valid && (m->cfg[j].ste[0] & STRTAB_STE_0_V))
				fn(arg, j, m->cfg[j].ste, true);
		}
	}
	hyp_spin_unlock(&m->lock);
}
