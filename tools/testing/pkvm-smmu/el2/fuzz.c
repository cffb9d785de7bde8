// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the real EL2 hypercall bodies (nvhe/iommu.c,
 * nvhe/smmu_v3.c and the kernel's kvm_pgtable), against the page-state table
 * of memory.c and the SMMUv3 models of smmu_model.c.
 *
 * Set up once: three SMMUs (0: range invalidation, 1: without, 2: with ATS)
 * and a fourth refused at registration, an MSI doorbell, the host's identity
 * domain, then pKVM finalises. Each input is a byte stream decoded into host
 * operations with hostile arguments (see the pickers): every IOMMU hypercall
 * the host may make once pKVM finalised, page donations to and from the
 * hypervisor (which call pkvm_iommu_host_lost/gained), DMA by devices behind
 * the models and, rarely, a fault of an SMMU. The host side is shadowed
 * (domains, their mappings, attached streams, pages it donated), and after
 * every operation the oracles below are checked; a violation aborts with a
 * line starting "fuzz oracle:", and libFuzzer records the input.
 *
 * Security oracles, always:
 *  - a DMA-mapped page (share_dma_count > 0) is the host's;
 *  - every page an SMMU reads configuration or translation tables from is
 *    the hypervisor's (stream tables, queues, and the tables of every valid
 *    STE, cached or not);
 *  - no STE bypasses, no SMMU is off without GBPA aborting, and no model ever
 *    counted a bypassing transaction;
 *  - every leaf of every table an SMMU can walk maps a host page or host
 *    MMIO (the doorbell, a peer's BAR), never a frame the hypervisor took,
 *    and so does every TLB entry a valid STE's VMID can hit;
 *  - after an unmap that returned 0, no SMMU translates the unmapped range
 *    through the domain (TLB, cached STE or walk); after a deferred one
 *    (PKVM_IOMMU_UNMAP_DEFER), once __pkvm_iommu_flush() returned 0;
 *    every TLB entry agrees with the tables again once a page left the host.
 * Functional oracles, exact while no fault was injected:
 *  - every hypercall returns what the shadow predicts (errno, ids, counts);
 *  - each domain's table holds exactly the shadow's mappings, the identity
 *    domain exactly the pages the host may access plus the doorbell;
 *  - each page's share count is the number of mappings of it;
 *  - the valid STEs are exactly the attached streams, pointing at their
 *    domain's table with the VMID domain_info reports, one table per VMID on
 *    an SMMU; cached STEs equal the table's; every TLB entry agrees with the
 *    table its VMID's STE points at (a stale entry is a missed invalidation);
 *  - a DMA succeeds exactly when the shadow says, at the right address.
 * Teardown, at the end of every input: detach all, free every domain to
 * completion, give back the donated pages, reclaim the memcache; then every
 * page is in the state it had after initialisation, except level-2 stream
 * tables made on the way (the hypervisor's for good: they become part of the
 * baseline), no domain id but the identity's is used, no STE is valid and
 * every TLB is empty. WARN_ON aborts in memory.c already.
 *
 * A fault (an SMMU rejecting a command, a queue that stops, the hypervisor's
 * own fault injection) changes the global state for good: pages stay
 * borrowed, SMMUs are stopped. So the rest of such an input runs in a forked
 * child that checks the security oracles only and exits; the parent goes on
 * to its teardown with its state untouched. libFuzzer sees no coverage from
 * the child.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sanitizer/common_interface_defs.h>

#include <linux/bitfield.h>
#include <asm/kvm_hyp.h>
#include <asm/kvm_pgtable.h>
#include <asm/kvm_pkvm_smmu.h>
#include <nvhe/iommu.h>
#include <nvhe/mem_protect.h>
#include <nvhe/memory.h>
#include <nvhe/smmu_v3.h>

#include "arm-smmu-v3.h"
#include "el2.h"

/* In the coverage build (make fuzz-cover): a fault child writes its profile too. */
int __llvm_profile_write_file(void) __weak;

/* Live SMMUs 0..2, and model 3 whose registration fails. */
#define FZ_NR_SMMUS		3
#define FZ_NR_MODELS		4
#define FZ_NR_CPUS		2
#define FZ_DOORBELL		0x08090000ULL
/* Bounded work per input. */
#define FZ_MAX_OPS		48
#define FZ_MAX_DOMAINS		24
#define FZ_MAX_RANGES		64
#define FZ_MAX_ATTACH		48
#define FZ_MAX_TOPUP		64
#define FZ_MAX_DMA_PAGES	4
/* Calls one free may take: far more than the tables of a bounded input need. */
#define FZ_FREE_MAX_CALLS	1000
/* Host pages the fuzzer maps (and donates), and the pages it tops up with. */
#define FZ_MAP_WIN		(EL2_MEM_BASE + 1024 * PAGE_SIZE)
#define FZ_MAP_WIN_PAGES	256
#define FZ_TOPUP_WIN		(EL2_MEM_BASE + 2048 * PAGE_SIZE)
#define FZ_TOPUP_WIN_PAGES	512
#define FZ_PAGE_IDX(pa)		(((pa) - EL2_MEM_BASE) >> PAGE_SHIFT)
/* Every domain: 39-bit input, walk from level 1 (HYP_IOMMU_IAS in iommu.c). */
#define FZ_START_LEVEL		1
#define FZ_T0SZ			(64 - PKVM_IOMMU_IAS)

static const phys_addr_t fz_mmio[FZ_NR_MODELS] = {
	0x09050000, 0x09070000, 0x09090000, 0x090b0000,
};

static struct smmu_model *fz_models[FZ_NR_MODELS];

/* Stream ids: four spans of 64 (one level-2 table each) and their edges. */
static const u32 fz_sids[] = { 0x0, 0x1, 0x3f, 0x40, 0x7f, 0x405, 0xffc0, 0xffff };
static const u32 fz_spans[] = { 0x0, 0x40, 0x400, 0xffc0 };

/* The host's view: what it mapped, attached and donated. */
struct fz_range {
	u64	iova;
	u64	phys;
	u64	pages;
	u64	prot;
};

struct fz_domain {
	int		id;
	/* A free returned -EAGAIN: only free may name it; part is unmapped. */
	bool		dying;
	phys_addr_t	root;
	unsigned int	nr_ranges;
	struct fz_range	ranges[FZ_MAX_RANGES];	/* sorted, disjoint */
};

struct fz_attach {
	int	id;
	u32	smmu;
	u32	sid;
};

static struct fz_domain fz_domains[FZ_MAX_DOMAINS];
static unsigned int fz_nr_domains;
static struct fz_attach fz_attached[FZ_MAX_ATTACH];
static unsigned int fz_nr_attached;
static bool fz_donated[EL2_MEM_PAGES];
static int fz_identity_id;
static phys_addr_t fz_identity_root;
static int fz_last_freed;
/* A stream was attached to the identity domain in this input. */
static bool fz_identity_used;
static phys_addr_t fz_last_dma;
/* In a child after a fault: security oracles only. */
static bool fz_faulted;
/*
 * A deferred unmap may have left TLB entries of host pages the tables no
 * longer map, as any flush queue does, until a page leaves the host (then
 * the hypervisor invalidated every such SMMU): the oracles that compare TLBs
 * and DMA with the tables wait till then; those on ownership never do.
 */
static bool fz_stale;
/* Page states after initialisation (plus level-2 stream tables since). */
static struct el2_page fz_baseline[EL2_MEM_PAGES];

/* The operations of the current input, printed when an oracle fails. */
#define FZ_LOG_LINES	(FZ_MAX_OPS + 8)
static char fz_log[FZ_LOG_LINES][128];
static unsigned int fz_nr_log;

static void fz_note(const char *fmt, ...)
{
	va_list ap;

	if (fz_nr_log == FZ_LOG_LINES)
		return;
	va_start(ap, fmt);
	vsnprintf(fz_log[fz_nr_log++], sizeof(fz_log[0]), fmt, ap);
	va_end(ap);
}

static __noreturn __printf(1, 2) void fz_fail(const char *fmt, ...)
{
	unsigned int i;
	va_list ap;

	fprintf(stderr, "fuzz oracle: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n# operations of this input:\n",
		fz_faulted ? " (after a fault)" : "");
	for (i = 0; i < fz_nr_log; i++)
		fprintf(stderr, "#  %s\n", fz_log[i]);
	abort();
}

/* A hypercall result the shadow predicts (fault-free only). */
#define FZ_EXPECT(ret, want, what)					\
do {									\
	long long __r = (ret), __w = (want);				\
	if (!fz_faulted && __r != __w)					\
		fz_fail("%s returned %lld, expected %lld", what, __r, __w); \
} while (0)

/* Input bytes; zeroes once they run out. */
struct fz_in {
	const u8	*p;
	size_t		n;
};

static u8 in_u8(struct fz_in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static u64 in_u64(struct fz_in *in)
{
	u64 v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v |= (u64)in_u8(in) << (8 * i);
	return v;
}

static bool fz_is_memory(u64 pa)
{
	return pa >= EL2_MEM_BASE && pa - EL2_MEM_BASE < EL2_MEM_SIZE;
}

/* Can the host access @pa (so the identity domain maps it)? The doorbell is not memory. */
static bool fz_host_page(u64 pa)
{
	struct el2_page *p = el2_page(pa & PAGE_MASK);

	if (!p)
		return (pa & PAGE_MASK) == FZ_DOORBELL;
	return p->host != EL2_NOPAGE;
}

/* May a device reach @pa? Host memory, and host MMIO for peer-to-peer DMA. */
static bool fz_device_page(u64 pa)
{
	pa &= PAGE_MASK;
	if (fz_is_memory(pa))
		return fz_host_page(pa);
	return !el2_mmio_hyp_owned(pa, pa + PAGE_SIZE);
}

static bool fz_hyp_page(u64 pa)
{
	struct el2_page *p = el2_page(pa & PAGE_MASK);

	return p && p->host == EL2_NOPAGE && p->hyp == EL2_OWNED;
}

static struct fz_domain *fz_find(u64 id)
{
	unsigned int i;

	for (i = 0; i < fz_nr_domains; i++)
		if ((u64)fz_domains[i].id == id)
			return &fz_domains[i];
	return NULL;
}

/* The domain stream @sid of SMMU @smmu is attached to, or -1. */
static int fz_attached_to(u64 smmu, u64 sid)
{
	unsigned int i;

	for (i = 0; i < fz_nr_attached; i++)
		if (fz_attached[i].smmu == smmu && fz_attached[i].sid == sid)
			return fz_attached[i].id;
	return -1;
}

static unsigned int fz_streams(int id, u64 smmu)
{
	unsigned int i, n = 0;

	for (i = 0; i < fz_nr_attached; i++)
		n += fz_attached[i].id == id && fz_attached[i].smmu == smmu;
	return n;
}

static bool fz_has_streams(int id)
{
	unsigned int i;

	for (i = 0; i < fz_nr_attached; i++)
		if (fz_attached[i].id == id)
			return true;
	return false;
}

/* The shadow range of @d holding @iova, or NULL. */
static struct fz_range *fz_range_at(struct fz_domain *d, u64 iova)
{
	unsigned int i;

	for (i = 0; i < d->nr_ranges; i++) {
		struct fz_range *r = &d->ranges[i];

		if (iova >= r->iova && iova - r->iova < r->pages << PAGE_SHIFT)
			return r;
	}
	return NULL;
}

static void fz_range_add(struct fz_domain *d, u64 iova, u64 phys, u64 pages,
			 u64 prot)
{
	unsigned int i = d->nr_ranges;

	if (i == FZ_MAX_RANGES)
		abort();	/* the map op leaves room: a harness bug */
	while (i && d->ranges[i - 1].iova > iova) {
		d->ranges[i] = d->ranges[i - 1];
		i--;
	}
	d->ranges[i] = (struct fz_range){ iova, phys, pages, prot };
	d->nr_ranges++;
}

/* Drop [start, end) from the shadow; a range across it splits in two. */
static void fz_range_remove(struct fz_domain *d, u64 start, u64 end)
{
	unsigned int i, j;

	for (i = 0; i < d->nr_ranges; i++) {
		struct fz_range r = d->ranges[i];
		u64 rend = r.iova + (r.pages << PAGE_SHIFT);

		if (rend <= start || r.iova >= end)
			continue;
		for (j = i; j + 1 < d->nr_ranges; j++)
			d->ranges[j] = d->ranges[j + 1];
		d->nr_ranges--;
		if (r.iova < start)
			fz_range_add(d, r.iova, r.phys, (start - r.iova) >> PAGE_SHIFT,
				     r.prot);
		if (rend > end)
			fz_range_add(d, end, r.phys + (end - r.iova),
				     (rend - end) >> PAGE_SHIFT, r.prot);
		i = -1;	/* the array moved: start again */
	}
}

/*
 * What the shadow says domain @id maps at @iova. False for a dying domain
 * (the shadow does not know how far its free got) and for unknown ids.
 */
static bool fz_expect_map(int id, u64 iova, u64 *pa, bool *r, bool *w)
{
	struct fz_domain *d;
	struct fz_range *rg;

	iova &= PAGE_MASK;
	if (id == fz_identity_id) {
		if (!fz_host_page(iova))
			return false;
		*pa = iova;
		*r = iova != FZ_DOORBELL;
		*w = true;
		return true;
	}
	d = fz_find(id);
	rg = d && !d->dying ? fz_range_at(d, iova) : NULL;
	if (!rg)
		return false;
	*pa = rg->phys + (iova - rg->iova);
	*r = rg->prot & PKVM_IOMMU_PROT_READ;
	*w = rg->prot & PKVM_IOMMU_PROT_WRITE;
	return true;
}

/*
 * The hardware's view of a stage-2 table, as the model walks it (4 KiB
 * granule, start level 1, no concatenation): every table page it reads must
 * be the hypervisor's, then @fn sees each leaf.
 */
typedef void (*fz_leaf_fn)(void *arg, u64 iova, u64 pte, u64 size);

static void fz_walk_table(phys_addr_t table, int level, u64 base, const char *who,
			  fz_leaf_fn fn, void *arg)
{
	unsigned int shift = 12 + 9 * (3 - level), i;
	const u64 *t;
	u64 pte;

	if (!fz_hyp_page(table))
		fz_fail("%s: the SMMU walks table page %#llx, which is not the hypervisor's",
			who, (unsigned long long)table);
	t = el2_va(table & PAGE_MASK);
	for (i = 0; i < 512; i++) {
		pte = t[i];
		if (!(pte & KVM_PTE_VALID))
			continue;
		if (level < 3 && (pte & KVM_PTE_TYPE)) {
			fz_walk_table(pte & KVM_PTE_ADDR_MASK, level + 1,
				      base + ((u64)i << shift), who, fn, arg);
			continue;
		}
		/* Invalid at level 3; a block at level 0 faults (the model's rules). */
		if ((level == 3 && !(pte & KVM_PTE_TYPE)) || level < 1)
			continue;
		fn(arg, base + ((u64)i << shift), pte, 1ULL << shift);
	}
}

/* The leaf of @iova in the table at @root, or 0. */
static u64 fz_lookup(phys_addr_t root, u64 iova)
{
	int level;
	u64 pte = 0;
	phys_addr_t table = root;

	if (iova >> PKVM_IOMMU_IAS)
		return 0;
	for (level = FZ_START_LEVEL; level <= 3; level++) {
		if (!fz_hyp_page(table))
			fz_fail("lookup of %#llx: table page %#llx is not the hypervisor's",
				(unsigned long long)iova, (unsigned long long)table);
		pte = ((u64 *)el2_va(table & PAGE_MASK))[(iova >> (12 + 9 * (3 - level))) & 511];
		if (!(pte & KVM_PTE_VALID))
			return 0;
		if (level < 3 && (pte & KVM_PTE_TYPE)) {
			table = pte & KVM_PTE_ADDR_MASK;
			continue;
		}
		if (level == 3 && !(pte & KVM_PTE_TYPE))
			return 0;
		return pte;
	}
	return 0;
}

static u64 fz_pte_pa(u64 pte, u64 size, u64 iova)
{
	return (pte & KVM_PTE_ADDR_MASK & ~(size - 1)) + (iova & (size - 1) & PAGE_MASK);
}

static bool fz_pte_r(u64 pte)
{
	return (pte & KVM_PTE_LEAF_ATTR_LO_S2_AF) && (pte & KVM_PTE_LEAF_ATTR_LO_S2_S2AP_R);
}

static bool fz_pte_w(u64 pte)
{
	return (pte & KVM_PTE_LEAF_ATTR_LO_S2_AF) && (pte & KVM_PTE_LEAF_ATTR_LO_S2_S2AP_W);
}

/* Security: a leaf an SMMU may use maps a page the host can access. */
static void fz_leaf_secure(void *arg, u64 iova, u64 pte, u64 size)
{
	u64 a;

	for (a = 0; a < size; a += PAGE_SIZE)
		if (!fz_device_page(fz_pte_pa(pte, size, iova + a)))
			fz_fail("%s maps iova %#llx to %#llx, which the host does not own",
				(const char *)arg, (unsigned long long)(iova + a),
				(unsigned long long)fz_pte_pa(pte, size, iova + a));
}

/* Functional: the leaves of a domain are exactly its shadow. */
struct fz_leaf_ctx {
	struct fz_domain	*d;	/* NULL: the identity domain */
	u64			leaves;
	u32			*share;	/* per page: mappings seen */
	bool			exact;
};

static void fz_leaf_shadow(void *arg, u64 iova, u64 pte, u64 size)
{
	struct fz_leaf_ctx *c = arg;
	u64 a, pa, want;
	bool r, w;

	if (!c->d) {
		/* The identity domain, the hot path: 1:1, host pages only. */
		for (a = iova; a < iova + size; a += PAGE_SIZE) {
			pa = fz_pte_pa(pte, size, a);
			c->leaves++;
			if (!fz_host_page(pa))
				fz_fail("the identity domain maps %#llx to %#llx, which the host does not own",
					(unsigned long long)a, (unsigned long long)pa);
			if (pa != a || (c->exact && (fz_pte_r(pte) != (a != FZ_DOORBELL) ||
						     !fz_pte_w(pte))))
				fz_fail("the identity domain maps %#llx -> %#llx r%d w%d",
					(unsigned long long)a, (unsigned long long)pa,
					fz_pte_r(pte), fz_pte_w(pte));
		}
		return;
	}
	fz_leaf_secure((void *)"a paging domain", iova, pte, size);
	for (a = iova; a < iova + size; a += PAGE_SIZE) {
		c->leaves++;
		pa = fz_pte_pa(pte, size, a);
		if (c->d && c->d->dying) {
			/* Part of it was freed: what is left is a subset. */
			struct fz_range *rg = fz_range_at(c->d, a);

			if (!rg || rg->phys + (a - rg->iova) != pa)
				fz_fail("dying domain %d maps %#llx -> %#llx, never mapped so",
					c->d->id, (unsigned long long)a,
					(unsigned long long)pa);
			/* MMIO (a doorbell, a peer's BAR) is not counted. */
			if (fz_is_memory(pa))
				c->share[FZ_PAGE_IDX(pa)]++;
			continue;
		}
		if (c->d && !c->d->dying && fz_is_memory(pa))
			c->share[FZ_PAGE_IDX(pa)]++;
		if (!c->exact)
			continue;
		if (!fz_expect_map(c->d ? c->d->id : fz_identity_id, a, &want, &r, &w))
			fz_fail("domain %d maps %#llx -> %#llx, which the host never mapped",
				c->d ? c->d->id : fz_identity_id, (unsigned long long)a,
				(unsigned long long)pa);
		if (want != pa || fz_pte_r(pte) != r || fz_pte_w(pte) != w)
			fz_fail("domain %d maps %#llx -> %#llx r%d w%d, the host mapped %#llx r%d w%d",
				c->d ? c->d->id : fz_identity_id, (unsigned long long)a,
				(unsigned long long)pa, fz_pte_r(pte), fz_pte_w(pte),
				(unsigned long long)want, r, w);
	}
}

/* Roots already walked in this check, and what uses them. */
struct fz_roots {
	phys_addr_t	root[FZ_MAX_DOMAINS + 8];
	unsigned int	nr;
};

static bool fz_root_walked(struct fz_roots *rs, phys_addr_t root)
{
	unsigned int i;

	for (i = 0; i < rs->nr; i++)
		if (rs->root[i] == root)
			return true;
	if (rs->nr < ARRAY_SIZE(rs->root))
		rs->root[rs->nr++] = root;
	return false;
}

/* Per-SMMU view of its valid STEs. */
struct fz_stes {
	int		smmu;
	struct fz_roots	*roots;
	unsigned int	nr, nr_table;
	struct {
		u32	sid;
		u16	vmid;
		u64	root;
		u64	w[4];
		bool	cached;
	} e[128];
};

static void fz_ste_page(void *arg, phys_addr_t pa, const char *what)
{
	if (!fz_hyp_page(pa))
		fz_fail("SMMU %ld reads its %s from %#llx, which is not the hypervisor's",
			(long)arg, what, (unsigned long long)pa);
}

static void fz_ste_seen(void *arg, u32 sid, const u64 *ste, bool cached)
{
	struct fz_stes *s = arg;
	u64 cfg = FIELD_GET(STRTAB_STE_0_CFG, ste[0]);
	u64 vtcr = FIELD_GET(STRTAB_STE_2_VTCR, ste[2]);
	char who[64];

	if (cfg == STRTAB_STE_0_CFG_ABORT)
		return;
	if (cfg != STRTAB_STE_0_CFG_S2_TRANS)
		fz_fail("SMMU %d stream %#x: %sSTE with config %llu (bypass or stage 1)",
			s->smmu, sid, cached ? "cached " : "", (unsigned long long)cfg);
	/* The walk below is the model's only for the layout every domain has. */
	if (FIELD_GET(STRTAB_STE_2_VTCR_S2T0SZ, vtcr) != FZ_T0SZ ||
	    FIELD_GET(STRTAB_STE_2_VTCR_S2SL0, vtcr) != 2 - FZ_START_LEVEL ||
	    FIELD_GET(STRTAB_STE_2_VTCR_S2TG, vtcr) != 0)
		fz_fail("SMMU %d stream %#x: STE with VTCR %#llx", s->smmu, sid,
			(unsigned long long)vtcr);
	if (s->nr == ARRAY_SIZE(s->e))
		fz_fail("SMMU %d: more than %zu valid STEs", s->smmu, ARRAY_SIZE(s->e));
	s->e[s->nr].sid = sid;
	s->e[s->nr].vmid = FIELD_GET(STRTAB_STE_2_S2VMID, ste[2]);
	s->e[s->nr].root = ste[3] & STRTAB_STE_3_S2TTB_MASK;
	memcpy(s->e[s->nr].w, ste, sizeof(s->e[s->nr].w));
	s->e[s->nr].cached = cached;
	s->nr_table += !cached;
	if (!fz_root_walked(s->roots, s->e[s->nr].root)) {
		snprintf(who, sizeof(who), "SMMU %d stream %#x", s->smmu, sid);
		fz_walk_table(s->e[s->nr].root, FZ_START_LEVEL, 0, who, fz_leaf_secure, who);
	}
	s->nr++;
}

/* The root of the STEs that use @vmid on this SMMU, or 0. */
static u64 fz_vmid_root(struct fz_stes *s, u16 vmid)
{
	unsigned int i;

	for (i = 0; i < s->nr; i++)
		if (s->e[i].vmid == vmid)
			return s->e[i].root;
	return 0;
}

static phys_addr_t fz_domain_root(int id)
{
	struct fz_domain *d = fz_find(id);

	if (id == fz_identity_id)
		return fz_identity_root;
	return d ? d->root : 0;
}

static u16 fz_domain_vmid(int id, int smmu)
{
	u64 info[2];

	if (__pkvm_iommu_domain_info(id, smmu, info))
		fz_fail("domain_info(%d, %d) failed for an attached domain", id, smmu);
	return info[0] & 0xffff;
}

static void fz_check_smmu(int k, struct fz_roots *roots)
{
	static struct smmu_model_tlb_entry tlb[SMMU_MODEL_TLB_SIZE];
	static struct fz_stes s;
	struct smmu_model *m = fz_models[k];
	unsigned int i, j, n, nr_att = 0;
	u64 root, pte;
	int id;

	if (smmu_model_stats(m)->bypass)
		fz_fail("SMMU %d let a transaction through untranslated", k);
	smmu_model_visit_table_pages(m, fz_ste_page, (void *)(long)k);
	if (!smmu_model_translating(m)) {
		if (!(smmu_model_gbpa(m) & GBPA_ABORT))
			fz_fail("SMMU %d is off and GBPA bypasses", k);
		/* Off and aborting: neither STEs nor TLB are used. */
		return;
	}
	if (k >= FZ_NR_SMMUS)
		fz_fail("SMMU %d, refused at registration, translates", k);

	s.smmu = k;
	s.roots = roots;
	s.nr = 0;
	s.nr_table = 0;
	smmu_model_visit_stes(m, fz_ste_seen, &s);
	for (i = 0; i < s.nr; i++)
		for (j = 0; j < i; j++)
			if (s.e[i].vmid == s.e[j].vmid && s.e[i].root != s.e[j].root)
				fz_fail("SMMU %d: VMID %u tags two tables (%#llx, %#llx)",
					k, s.e[i].vmid, (unsigned long long)s.e[i].root,
					(unsigned long long)s.e[j].root);

	n = smmu_model_tlb_dump(m, tlb, ARRAY_SIZE(tlb));
	for (i = 0; i < n; i++) {
		root = fz_vmid_root(&s, tlb[i].vmid);
		/*
		 * Without a fault, an entry whose VMID no STE uses must not
		 * exist: the last detach invalidated it. After one, such an
		 * entry is out of reach: a VMID whose invalidation failed is
		 * never handed out again, and a fresh one is invalidated first.
		 */
		if (!root && fz_faulted)
			continue;
		if (!root)
			fz_fail("SMMU %d: TLB entry VMID %u iova %#llx -> %#llx, no STE uses the VMID",
				k, tlb[i].vmid, (unsigned long long)tlb[i].iova,
				(unsigned long long)tlb[i].pa);
		if (!fz_device_page(tlb[i].pa))
			fz_fail("SMMU %d: TLB entry VMID %u iova %#llx reaches %#llx, which the host does not own",
				k, tlb[i].vmid, (unsigned long long)tlb[i].iova,
				(unsigned long long)tlb[i].pa);
		if (fz_faulted || fz_stale)
			continue;
		pte = fz_lookup(root, tlb[i].iova);
		if (!pte || fz_pte_pa(pte, PAGE_SIZE, tlb[i].iova) != tlb[i].pa ||
		    fz_pte_r(pte) != tlb[i].r || fz_pte_w(pte) != tlb[i].w)
			fz_fail("SMMU %d: stale TLB entry VMID %u iova %#llx -> %#llx (table: %#llx)",
				k, tlb[i].vmid, (unsigned long long)tlb[i].iova,
				(unsigned long long)tlb[i].pa, (unsigned long long)pte);
	}
	if (fz_faulted)
		return;

	/* The valid STEs are exactly the attached streams. */
	for (i = 0; i < s.nr; i++) {
		if (s.e[i].cached) {
			for (j = 0; j < s.nr; j++)
				if (!s.e[j].cached && s.e[j].sid == s.e[i].sid)
					break;
			if (j == s.nr || memcmp(s.e[i].w, s.e[j].w, sizeof(s.e[i].w)))
				fz_fail("SMMU %d stream %#x: the cached STE is stale", k,
					s.e[i].sid);
			continue;
		}
		id = fz_attached_to(k, s.e[i].sid);
		if (id < 0)
			fz_fail("SMMU %d stream %#x translates, and is not attached", k,
				s.e[i].sid);
		if (s.e[i].root != fz_domain_root(id))
			fz_fail("SMMU %d stream %#x walks %#llx, not its domain %d's table",
				k, s.e[i].sid, (unsigned long long)s.e[i].root, id);
		if (s.e[i].vmid != fz_domain_vmid(id, k))
			fz_fail("SMMU %d stream %#x: VMID %u, domain_info says %u", k,
				s.e[i].sid, s.e[i].vmid, fz_domain_vmid(id, k));
	}
	for (i = 0; i < fz_nr_attached; i++)
		nr_att += fz_attached[i].smmu == (u32)k;
	if (nr_att != s.nr_table)
		fz_fail("SMMU %d: %u valid STEs, %u streams attached", k, s.nr_table, nr_att);
}

/* Every oracle that holds between two operations. */
static void fz_check(void)
{
	static u32 share[EL2_MEM_PAGES];
	struct fz_leaf_ctx c = { .share = share, .exact = !fz_faulted };
	struct fz_roots roots = {};
	struct el2_page *p;
	unsigned int i;
	int k;

	/* The tables the host's domains have: each leaf against the shadow. */
	c.d = NULL;
	c.leaves = 0;
	fz_root_walked(&roots, fz_identity_root);
	fz_walk_table(fz_identity_root, FZ_START_LEVEL, 0, "identity domain",
		      fz_leaf_shadow, &c);
	if (!fz_faulted) {
		u64 want = 1;	/* the doorbell */

		for (i = 0; i < EL2_MEM_PAGES; i++)
			want += el2_page(EL2_MEM_BASE + ((u64)i << PAGE_SHIFT))->host !=
				EL2_NOPAGE;
		if (c.leaves != want)
			fz_fail("the identity domain maps %llu pages, the host has %llu",
				(unsigned long long)c.leaves, (unsigned long long)want);
	}
	memset(share, 0, sizeof(share));
	for (i = 0; i < fz_nr_domains; i++) {
		struct fz_domain *d = &fz_domains[i];
		u64 want = 0;
		unsigned int j;
		char who[32];

		snprintf(who, sizeof(who), "domain %d", d->id);
		fz_root_walked(&roots, d->root);
		c.d = d;
		c.leaves = 0;
		fz_walk_table(d->root, FZ_START_LEVEL, 0, who, fz_leaf_shadow, &c);
		for (j = 0; j < d->nr_ranges; j++)
			want += d->ranges[j].pages;
		if (!fz_faulted && !d->dying && c.leaves != want)
			fz_fail("domain %d maps %llu pages, the host mapped %llu", d->id,
				(unsigned long long)c.leaves, (unsigned long long)want);
	}
	/* Borrowed pages: the host's, and borrowed once per mapping. */
	for (i = 0; i < EL2_MEM_PAGES; i++) {
		p = el2_page(EL2_MEM_BASE + ((u64)i << PAGE_SHIFT));
		if (p->share_dma_count && (p->host == EL2_NOPAGE || p->hyp != EL2_NOPAGE))
			fz_fail("page %#llx is DMA-mapped (%u) but not the host's (host %d hyp %d)",
				EL2_MEM_BASE + ((u64)i << PAGE_SHIFT), p->share_dma_count,
				p->host, p->hyp);
		if (!fz_faulted && p->share_dma_count != share[i])
			fz_fail("page %#llx is borrowed %u times, mapped %u times",
				EL2_MEM_BASE + ((u64)i << PAGE_SHIFT), p->share_dma_count,
				share[i]);
	}
	for (k = 0; k < FZ_NR_MODELS; k++)
		fz_check_smmu(k, &roots);
}

/*
 * After an unmap of [iova, iova + size) from @id returned 0: nothing of it
 * is reachable through the domain on any SMMU, whatever else happened.
 */
static void fz_check_unmapped(int id, u64 iova, u64 size, bool cached)
{
	static struct smmu_model_tlb_entry tlb[SMMU_MODEL_TLB_SIZE];
	phys_addr_t root = fz_domain_root(id);
	struct fz_roots roots = {};
	struct fz_stes *s;
	unsigned int i, j, n;
	u64 a;
	int k;

	for (a = iova; a < iova + size; a += PAGE_SIZE)
		if (fz_lookup(root, a))
			fz_fail("unmap of %#llx+%#llx from domain %d returned 0; %#llx still in its table",
				(unsigned long long)iova, (unsigned long long)size, id,
				(unsigned long long)a);
	if (!cached)
		return;
	s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	for (k = 0; k < FZ_NR_SMMUS; k++) {
		if (!smmu_model_translating(fz_models[k]))
			continue;
		s->smmu = k;
		s->roots = &roots;
		s->nr = 0;
		s->nr_table = 0;
		smmu_model_visit_stes(fz_models[k], fz_ste_seen, s);
		n = smmu_model_tlb_dump(fz_models[k], tlb, ARRAY_SIZE(tlb));
		for (i = 0; i < s->nr; i++) {
			if (s->e[i].root != root)
				continue;
			for (j = 0; j < n; j++)
				if (tlb[j].vmid == s->e[i].vmid && tlb[j].iova >= iova &&
				    tlb[j].iova < iova + size)
					fz_fail("unmap of %#llx+%#llx from domain %d returned 0; SMMU %d still caches %#llx -> %#llx (VMID %u)",
						(unsigned long long)iova,
						(unsigned long long)size, id, k,
						(unsigned long long)tlb[j].iova,
						(unsigned long long)tlb[j].pa, tlb[j].vmid);
		}
	}
	free(s);
}

/* Pickers: each reads a selector byte, biased towards interesting values. */
static int fz_pick_domain(struct fz_in *in)
{
	static const u64 hostile[] = {
		PKVM_IOMMU_MAX_DOMAINS, PKVM_IOMMU_MAX_DOMAINS - 1, U32_MAX, U64_MAX,
		1ULL << 63, (1ULL << 32) | 0,
	};
	u8 s = in_u8(in);

	if (s < 0xc0)
		return fz_nr_domains ? fz_domains[s % fz_nr_domains].id : fz_identity_id;
	if (s < 0xd0)
		return fz_identity_id;
	if (s < 0xe0)
		return fz_last_freed >= 0 ? fz_last_freed : (s & 0xf);
	if (s < 0xf0)
		return s & 0xf;
	/* Out of range: truncated to int here, so pass these on as u64 below. */
	return -1 - (int)(s % ARRAY_SIZE(hostile));
}

/* A picked domain as the host passes it: negative picks are hostile u64s. */
static u64 fz_domain_arg(int id)
{
	static const u64 hostile[] = {
		PKVM_IOMMU_MAX_DOMAINS, PKVM_IOMMU_MAX_DOMAINS - 1, U32_MAX, U64_MAX,
		1ULL << 63, (1ULL << 32) | 0,
	};

	return id >= 0 ? (u64)id : hostile[-1 - id];
}

static u64 fz_pick_smmu(struct fz_in *in)
{
	static const u64 hostile[] = {
		3, 4, PKVM_SMMU_MAX - 1, PKVM_SMMU_MAX, U64_MAX, 1ULL << 32,
	};
	u8 s = in_u8(in);

	if (s < 0xc0)
		return s % FZ_NR_SMMUS;
	if (s < 0xf0)
		return hostile[s % ARRAY_SIZE(hostile)];
	return in_u64(in);
}

static u64 fz_pick_sid(struct fz_in *in)
{
	static const u64 hostile[] = {
		1 << 16, 0x10001, U32_MAX, U64_MAX, 1ULL << 32, 0x1ffff,
	};
	u8 s = in_u8(in);

	if (s < 0xc0)
		return fz_sids[s % ARRAY_SIZE(fz_sids)];
	/* Any stream of the four spans: no more level-2 tables than those. */
	if (s < 0xe0)
		return fz_spans[s & 3] + (in_u8(in) & 63);
	if (s < 0xfe)
		return hostile[s % ARRAY_SIZE(hostile)];
	return in_u64(in);
}

/* A page of the host's own pages, a hyp page, MMIO, a boundary... */
static u64 fz_pick_phys(struct fz_in *in)
{
	const u64 special[] = {
		EL2_MEM_BASE, EL2_MEM_BASE + EL2_MEM_SIZE - PAGE_SIZE,
		EL2_MEM_BASE + EL2_MEM_SIZE, EL2_MEM_BASE - PAGE_SIZE,
		fz_mmio[0], FZ_DOORBELL, 0, BIT_ULL(52) - PAGE_SIZE,
		BIT_ULL(50) - PAGE_SIZE, U64_MAX & PAGE_MASK, FZ_DOORBELL + PAGE_SIZE,
		fz_mmio[1] + SZ_64K, fz_identity_root,
		EL2_MEM_BASE + EL2_MEM_SIZE - 2 * PAGE_SIZE,
		FZ_MAP_WIN + (FZ_MAP_WIN_PAGES - 1) * PAGE_SIZE, FZ_TOPUP_WIN,
	};
	u8 s = in_u8(in);
	u64 pa, i;

	if (s < 0x80)
		return FZ_MAP_WIN + (u64)(s & 0x7f) * PAGE_SIZE;
	if (s < 0xa0)
		return FZ_MAP_WIN + (128 + (u64)(s & 0x1f) * 4) * PAGE_SIZE;
	if (s < 0xb0) {
		/* A page the hypervisor owns: tables, memcache, donations. */
		for (pa = EL2_MEM_BASE + (u64)(s & 0xf) * 256 * PAGE_SIZE;
		     fz_is_memory(pa); pa += PAGE_SIZE)
			if (fz_hyp_page(pa))
				return pa;
		return EL2_MEM_BASE;
	}
	if (s < 0xb8) {
		for (i = (s & 7) * 512; i < EL2_MEM_PAGES; i++)
			if (fz_donated[i])
				return EL2_MEM_BASE + (i << PAGE_SHIFT);
		return FZ_MAP_WIN;
	}
	if (s < 0xc0)
		return fz_last_dma ? fz_last_dma & PAGE_MASK : FZ_MAP_WIN;
	if (s < 0xd0)
		return special[s & 0xf];
	if (s < 0xe0)
		return FZ_MAP_WIN + 1 + (s & 0xf) * 8;
	if (s < 0xf0)
		return FZ_TOPUP_WIN + (u64)(s & 0xf) * 32 * PAGE_SIZE;
	return in_u64(in);
}

static u64 fz_pick_iova(struct fz_in *in, int id)
{
	static const u64 slots[16] = {
		0x0, 0x1000, 0x2000, 0x100000, 0x1ff000, 0x200000, 0x3ffff000,
		0x40000000, 0x7fffff000, 0x123456000, BIT_ULL(39) - 0x200000,
		BIT_ULL(39) - 0x1000, 0x401ff000, 0x10000000, 0x8000, 0x3ff000,
	};
	static const u64 hostile[] = {
		BIT_ULL(39), U64_MAX & PAGE_MASK, 1ULL << 63, U64_MAX - 0xfff + 1,
		BIT_ULL(40) - 0x1000, BIT_ULL(48),
	};
	struct fz_domain *d = fz_find(id);
	u8 s = in_u8(in), o;

	if (s < 0x80)
		return slots[s & 15];
	if (s < 0xc0) {
		o = in_u8(in);
		if (id == fz_identity_id || !d || !d->nr_ranges)
			return fz_pick_phys(in) & PAGE_MASK;
		d = fz_find(id);
		return d->ranges[(s & 0x3f) % d->nr_ranges].iova +
		       ((u64)(o % d->ranges[(s & 0x3f) % d->nr_ranges].pages) << PAGE_SHIFT);
	}
	if (s < 0xd0)
		return slots[s & 15] + ((u64)in_u8(in) << PAGE_SHIFT);
	if (s < 0xe0)
		return fz_pick_phys(in);
	if (s < 0xf0)
		return slots[s & 15] + 1 + (s & 0xf) * 8;
	if (s < 0xfe)
		return hostile[s % ARRAY_SIZE(hostile)];
	return in_u64(in);
}

static u64 fz_pick_size(struct fz_in *in)
{
	static const u64 special[16] = {
		512 * PAGE_SIZE, 513 * PAGE_SIZE, 0, 1, PAGE_SIZE + 1, BIT_ULL(39),
		U64_MAX & PAGE_MASK, 64 * PAGE_SIZE, 256 * PAGE_SIZE, 511 * PAGE_SIZE,
		SZ_2M, SZ_1G, BIT_ULL(52), 1024 * PAGE_SIZE, 3 * PAGE_SIZE,
		33 * PAGE_SIZE,
	};
	u8 s = in_u8(in);

	if (s < 0x80)
		return ((s & 7) + 1) * PAGE_SIZE;
	if (s < 0xa0)
		return ((s & 0x1f) + 9) * PAGE_SIZE;
	if (s < 0xf0)
		return special[s & 15];
	return in_u64(in);
}

static u64 fz_pick_prot(struct fz_in *in)
{
	static const u64 prot[8] = { 3, 1, 2, 3, 0, 4, 7, U64_MAX };

	return prot[in_u8(in) & 7];
}

/*
 * What the host leaves in a page it gives: nothing new, a valid bypass STE
 * in every 64-byte slot, all ones, or valid table descriptors pointing at
 * the page itself. Whatever the hypervisor takes from the memcache must be
 * zeroed before an SMMU or kvm_pgtable reads it.
 */
static void fz_fill(phys_addr_t page, unsigned int mode)
{
	u64 *w = el2_host_va(page);
	unsigned int i;

	for (i = 0; mode && i < PAGE_SIZE / 8; i++) {
		switch (mode & 3) {
		case 1:
			w[i] = i % STRTAB_STE_DWORDS ? 0 :
			       STRTAB_STE_0_V |
			       FIELD_PREP(STRTAB_STE_0_CFG, STRTAB_STE_0_CFG_BYPASS);
			break;
		case 2:
			w[i] = U64_MAX;
			break;
		case 3:
			w[i] = page | KVM_PTE_VALID | KVM_PTE_TYPE;
			break;
		}
	}
}

/*
 * Give the IOMMU memcache up to @n pages of the top-up window, as a
 * well-formed list, filled as bits 2:1 of @start say; returns how many it
 * took.
 */
static u64 fz_topup_pages(u64 n, unsigned int start)
{
	phys_addr_t head = 0, page;
	unsigned int i, nr = 0;
	u64 taken;
	int ret;

	for (i = 0; i < FZ_TOPUP_WIN_PAGES && nr < n; i++) {
		page = FZ_TOPUP_WIN + (u64)((start + i) % FZ_TOPUP_WIN_PAGES) * PAGE_SIZE;
		if (el2_page(page)->host != EL2_OWNED)
			continue;
		fz_fill(page, (start >> 1) & 3);
		*(u64 *)el2_host_va(page) = head;
		head = page;
		nr++;
	}
	if (!nr)
		return 0;
	ret = __pkvm_iommu_topup(head, nr, &taken);
	FZ_EXPECT(ret, 0, "topup of a well-formed list");
	FZ_EXPECT(taken, nr, "pages taken from a well-formed list");
	return taken;
}

/* Retry a call that wants pages, as the host driver does, a few times. */
#define FZ_RETRY(call, needed, autotopup, start)			\
({									\
	int __ret, __tries = 0;						\
	while ((__ret = (call)) == -ENOMEM && (autotopup) &&		\
	       __tries++ < 3 && (needed) <= FZ_TOPUP_WIN_PAGES &&	\
	       fz_topup_pages((needed), (start)))			\
		;							\
	__ret;								\
})

static void op_alloc(struct fz_in *in)
{
	static const u64 types[8] = { 1, 1, 1, 2, 0, 3, U64_MAX, 1ULL << 32 | 1 };
	u64 type = types[in_u8(in) & 7], needed = 0, info[2];
	u8 flags = in_u8(in);
	struct fz_domain *d;
	int ret;

	/* The shadow must hold every domain: do not make more than it can. */
	if (type == PKVM_IOMMU_DOMAIN_S2 && fz_nr_domains == FZ_MAX_DOMAINS)
		return;
	ret = FZ_RETRY(__pkvm_iommu_alloc_domain(type, &needed), needed, flags & 1, flags);
	fz_note("alloc_domain(%#llx) = %d (needed %llu)", (unsigned long long)type, ret,
		(unsigned long long)needed);
	if (type == PKVM_IOMMU_DOMAIN_IDENTITY) {
		FZ_EXPECT(ret, fz_identity_id, "alloc_domain(identity)");
		return;
	}
	if (type != PKVM_IOMMU_DOMAIN_S2) {
		FZ_EXPECT(ret, -EINVAL, "alloc_domain(bad type)");
		return;
	}
	if (ret == -ENOMEM) {
		/* Two pages, less what the memcache holds. */
		FZ_EXPECT(needed >= 1 && needed <= 2, true, "pages needed for a domain");
		return;
	}
	if (ret < 0) {
		FZ_EXPECT(ret, 0, "alloc_domain");
		return;
	}
	if (ret == fz_identity_id || fz_find(ret))
		fz_fail("alloc_domain returned %d, which is in use", ret);
	if (__pkvm_iommu_domain_info(ret, 0, info))
		fz_fail("domain_info of new domain %d failed", ret);
	d = &fz_domains[fz_nr_domains++];
	*d = (struct fz_domain){ .id = ret, .root = info[1] };
}

static void fz_forget_domain(struct fz_domain *d)
{
	fz_last_freed = d->id;
	*d = fz_domains[--fz_nr_domains];
}

static void op_free(struct fz_in *in)
{
	int pick = fz_pick_domain(in), ret, calls = 0;
	u64 id = fz_domain_arg(pick);
	bool repeat = in_u8(in) & 1;
	struct fz_domain *d = pick >= 0 ? fz_find(pick) : NULL;

	do {
		ret = __pkvm_iommu_free_domain(id);
	} while (repeat && ret == -EAGAIN && ++calls < FZ_FREE_MAX_CALLS);
	fz_note("free_domain(%#llx)%s = %d", (unsigned long long)id,
		repeat ? " repeated" : "", ret);
	if (id >= PKVM_IOMMU_MAX_DOMAINS)
		FZ_EXPECT(ret, -EINVAL, "free_domain(out of range)");
	else if ((int)id == fz_identity_id)
		FZ_EXPECT(ret, -EPERM, "free_domain(identity)");
	else if (!d)
		FZ_EXPECT(ret, -ENOENT, "free_domain(unknown)");
	else if (fz_has_streams(d->id))
		FZ_EXPECT(ret, -EBUSY, "free_domain(attached)");
	else if (ret != -EAGAIN)
		FZ_EXPECT(ret, 0, "free_domain");
	if (!d)
		return;
	if (ret == -EAGAIN)
		d->dying = true;
	if (!ret)
		fz_forget_domain(d);
}

static void op_attach(struct fz_in *in)
{
	int pick = fz_pick_domain(in), ret, other;
	u64 id = fz_domain_arg(pick), smmu = fz_pick_smmu(in), sid = fz_pick_sid(in);
	u8 flags = in_u8(in);
	struct fz_domain *d = pick >= 0 ? fz_find(pick) : NULL;
	bool known = d ? !d->dying : pick >= 0 && pick == fz_identity_id;
	u64 needed = 0;

	if (fz_nr_attached == FZ_MAX_ATTACH)
		return;
	ret = FZ_RETRY(__pkvm_iommu_attach(id, smmu, sid, &needed), needed, flags & 1,
		       flags);
	/* Even a failed attach may leave the identity domain a new array. */
	fz_identity_used |= pick >= 0 && pick == fz_identity_id;
	fz_note("attach(%#llx, %#llx, %#llx) = %d (needed %llu)", (unsigned long long)id,
		(unsigned long long)smmu, (unsigned long long)sid, ret,
		(unsigned long long)needed);
	other = fz_attached_to(smmu, sid);
	if (smmu >= FZ_NR_SMMUS || sid >= 1 << 16)
		FZ_EXPECT(ret, -EINVAL, "attach(bad SMMU or stream)");
	else if (!known)
		FZ_EXPECT(ret, -ENOENT, "attach(unknown domain)");
	else if (ret == -ENOMEM)
		FZ_EXPECT(needed >= 1 && needed <= 2, true, "pages needed to attach");
	else if (other >= 0)
		FZ_EXPECT(ret, -EBUSY, "attach(stream in use)");
	else
		FZ_EXPECT(ret, 0, "attach");
	if (!ret) {
		if (!known || (other >= 0 && !fz_faulted))
			fz_fail("attach of a stream in use or to an unknown domain succeeded");
		fz_attached[fz_nr_attached++] = (struct fz_attach){ (int)id, smmu, sid };
	}
}

static void op_detach(struct fz_in *in)
{
	u8 s = in_u8(in);
	int pick, ret, other;
	u64 id, smmu, sid;
	struct fz_domain *d;
	bool known;
	unsigned int i;

	if (s < 0x80 && fz_nr_attached) {
		/* A stream the host attached, by the book. */
		i = s % fz_nr_attached;
		pick = fz_attached[i].id;
		smmu = fz_attached[i].smmu;
		sid = fz_attached[i].sid;
	} else {
		pick = fz_pick_domain(in);
		smmu = fz_pick_smmu(in);
		sid = fz_pick_sid(in);
	}
	id = fz_domain_arg(pick);
	d = pick >= 0 ? fz_find(pick) : NULL;
	known = d ? !d->dying : pick >= 0 && pick == fz_identity_id;
	ret = __pkvm_iommu_detach(id, smmu, sid);
	fz_note("detach(%#llx, %#llx, %#llx) = %d", (unsigned long long)id,
		(unsigned long long)smmu, (unsigned long long)sid, ret);
	other = fz_attached_to(smmu, sid);
	if (smmu >= FZ_NR_SMMUS || sid >= 1 << 16)
		FZ_EXPECT(ret, -EINVAL, "detach(bad SMMU or stream)");
	else if (!known)
		FZ_EXPECT(ret, -ENOENT, "detach(unknown domain)");
	else if (other != pick)
		FZ_EXPECT(ret, -ENOENT, "detach(not attached there)");
	else
		FZ_EXPECT(ret, 0, "detach");
	if (ret)
		return;
	for (i = 0; i < fz_nr_attached; i++) {
		if (fz_attached[i].id == pick && fz_attached[i].smmu == smmu &&
		    fz_attached[i].sid == sid) {
			fz_attached[i] = fz_attached[--fz_nr_attached];
			return;
		}
	}
	/* After a fault the shadow may have missed an attach that failed closed. */
	if (!fz_faulted)
		fz_fail("detach(%#llx, %#llx, %#llx) succeeded, the stream was not attached",
		(unsigned long long)id, (unsigned long long)smmu, (unsigned long long)sid);
}

/*
 * Would __pkvm_host_share_dma() take [phys, phys + size) of MMIO? In one MMIO
 * range (below memory or above it), within the host stage-2's input size,
 * and no frame of it the hypervisor's.
 */
static int fz_mmio_share_errno(u64 phys, u64 size)
{
	if ((phys < EL2_MEM_BASE) != (phys + size - 1 < EL2_MEM_BASE) ||
	    fz_is_memory(phys + size - 1))
		return -EINVAL;
	if (phys + size > BIT_ULL(EL2_PA_BITS))
		return -ERANGE;
	return el2_mmio_hyp_owned(phys, phys + size) ? -EPERM : 0;
}

/* Would __pkvm_host_share_dma() take [phys, phys + size) of memory? (memory.c's rules) */
static bool fz_shareable(u64 phys, u64 size)
{
	struct el2_page *p;
	u64 a;

	if (!fz_is_memory(phys) || !fz_is_memory(phys + size - 1))
		return false;
	for (a = phys; a < phys + size; a += PAGE_SIZE) {
		p = el2_page(a);
		if (p->host != EL2_OWNED && p->host != EL2_SHARED_OWNED)
			return false;
	}
	return true;
}

static void op_map(struct fz_in *in)
{
	int pick = fz_pick_domain(in), ret;
	u64 id = fz_domain_arg(pick), iova = fz_pick_iova(in, pick);
	u64 phys = fz_pick_phys(in), size = fz_pick_size(in), prot = fz_pick_prot(in);
	u8 flags = in_u8(in);
	struct fz_domain *d = pick >= 0 ? fz_find(pick) : NULL;
	u64 done = 0, needed = 0, clamped, end, a;
	bool mmio = !fz_is_memory(phys), mapped = false;
	int want;

	/* Room for the range and for one split by a later unmap. */
	if (d && d->nr_ranges >= FZ_MAX_RANGES - 2)
		return;
	ret = FZ_RETRY(__pkvm_iommu_map(id, iova, phys, size, prot, &done, &needed),
		       needed, flags & 1, flags);
	fz_note("map(%#llx, %#llx, %#llx, %#llx, %#llx) = %d (done %#llx, needed %llu)",
		(unsigned long long)id, (unsigned long long)iova,
		(unsigned long long)phys, (unsigned long long)size,
		(unsigned long long)prot, ret, (unsigned long long)done,
		(unsigned long long)needed);

	/* The order of the checks in __pkvm_iommu_map(). */
	clamped = min_t(u64, size, PKVM_IOMMU_MAP_MAX_PAGES << PAGE_SHIFT);
	if (!size || !PAGE_ALIGNED(iova) || !PAGE_ALIGNED(phys) || !PAGE_ALIGNED(size) ||
	    !prot || (prot & ~3ULL) || check_add_overflow(iova, clamped, &end) ||
	    end > BIT_ULL(PKVM_IOMMU_IAS) || check_add_overflow(phys, clamped, &end) ||
	    end > BIT_ULL(48)) {	/* HYP_IOMMU_MAX_PA: where 4 KiB descriptors end */
		want = -EINVAL;
	} else if (FZ_DOORBELL - phys < clamped &&
		   (clamped != PAGE_SIZE || prot != PKVM_IOMMU_PROT_WRITE)) {
		want = -EPERM;
	} else if (pick >= 0 && pick == fz_identity_id) {
		want = -EPERM;
	} else if (!d || d->dying) {
		want = -ENOENT;
	} else if (ret == -ENOMEM) {
		want = -ENOMEM;
	} else {
		for (a = iova; a < iova + clamped; a += PAGE_SIZE)
			mapped |= !!fz_range_at(d, a);
		if (mapped)
			want = -EEXIST;
		else if (mmio)
			want = fz_mmio_share_errno(phys, clamped);
		else if (!fz_shareable(phys, clamped))
			/* Straddling memory is -EINVAL, the rest -EPERM (memory.c). */
			want = ret == -EINVAL ? -EINVAL : -EPERM;
		else
			want = 0;
	}
	FZ_EXPECT(ret, want, "map");
	if (ret)
		return;
	FZ_EXPECT(done, clamped, "bytes mapped");
	if (!d || d->dying)
		fz_fail("map into domain %#llx succeeded, which the host cannot map",
			(unsigned long long)id);
	fz_range_add(d, iova, phys, done >> PAGE_SHIFT, prot);
}

/*
 * @how, from the op byte (no byte of its own, so that older inputs parse as
 * before): bit 0 defers the invalidation, bit 1 then flushes the domain, bit
 * 2 passes an unknown flag.
 */
static void op_unmap(struct fz_in *in, unsigned int how)
{
	int pick = fz_pick_domain(in), ret, want;
	u64 id = fz_domain_arg(pick), iova = fz_pick_iova(in, pick);
	u64 size = fz_pick_size(in), done = 0, clamped, end, flags = 0;
	struct fz_domain *d = pick >= 0 ? fz_find(pick) : NULL;

	if (how & 1)
		flags |= PKVM_IOMMU_UNMAP_DEFER;
	if (how & 4)
		flags |= BIT(1);
	ret = __pkvm_iommu_unmap(id, iova, size, flags, &done);
	fz_note("unmap(%#llx, %#llx, %#llx, %#llx) = %d (done %#llx)",
		(unsigned long long)id, (unsigned long long)iova,
		(unsigned long long)size, (unsigned long long)flags, ret,
		(unsigned long long)done);
	clamped = min_t(u64, size, PKVM_IOMMU_MAP_MAX_PAGES << PAGE_SHIFT);
	if (!size || !PAGE_ALIGNED(iova) || !PAGE_ALIGNED(size) ||
	    (flags & ~PKVM_IOMMU_UNMAP_DEFER) ||
	    check_add_overflow(iova, clamped, &end) || end > BIT_ULL(PKVM_IOMMU_IAS))
		want = -EINVAL;
	else if (pick >= 0 && pick == fz_identity_id)
		want = -EPERM;
	else if (!d || d->dying)
		want = -ENOENT;
	else
		want = 0;
	FZ_EXPECT(ret, want, "unmap");
	if (ret)
		return;
	if (!d || d->dying)
		fz_fail("unmap from domain %#llx succeeded, which the host cannot unmap",
			(unsigned long long)id);
	if (!done || done > clamped || !PAGE_ALIGNED(done))
		fz_fail("unmap of %#llx bytes returned 0 with done %#llx",
			(unsigned long long)clamped, (unsigned long long)done);
	fz_range_remove(d, iova, iova + done);
	/*
	 * A strict unmap invalidates what it cleared: what a deferred one
	 * cleared before, a hole now, may stay cached until the flush.
	 */
	if (!(flags & PKVM_IOMMU_UNMAP_DEFER)) {
		fz_check_unmapped(d->id, iova, done, !fz_stale);
		return;
	}
	fz_stale = true;
	if (!(how & 2))
		return;
	ret = __pkvm_iommu_flush(id);
	fz_note("flush(%#llx) = %d", (unsigned long long)id, ret);
	FZ_EXPECT(ret, 0, "flush");
	if (!ret)
		fz_check_unmapped(d->id, iova, done, true);
}

/* A page left the host: the hypervisor invalidated every stale SMMU first. */
static void fz_host_lost(void)
{
	fz_stale = false;
}

static void op_iova_to_phys(struct fz_in *in)
{
	int pick = fz_pick_domain(in), ret;
	u64 id = fz_domain_arg(pick), iova = fz_pick_iova(in, pick), phys = 0, pa;
	struct fz_domain *d = pick >= 0 ? fz_find(pick) : NULL;
	bool known = d ? !d->dying : pick >= 0 && pick == fz_identity_id, r, w;

	ret = __pkvm_iommu_iova_to_phys(id, iova, &phys);
	fz_note("iova_to_phys(%#llx, %#llx) = %d (%#llx)", (unsigned long long)id,
		(unsigned long long)iova, ret, (unsigned long long)phys);
	if (iova >= BIT_ULL(PKVM_IOMMU_IAS)) {
		FZ_EXPECT(ret, -EINVAL, "iova_to_phys(out of range)");
	} else if (!known) {
		FZ_EXPECT(ret, -ENOENT, "iova_to_phys(unknown domain)");
	} else if (!fz_expect_map(pick, iova, &pa, &r, &w)) {
		FZ_EXPECT(ret, -ENOENT, "iova_to_phys(hole)");
	} else {
		FZ_EXPECT(ret, 0, "iova_to_phys");
		FZ_EXPECT(phys, pa + (iova & ~PAGE_MASK), "iova_to_phys address");
	}
}

static void op_domain_info(struct fz_in *in)
{
	int pick = fz_pick_domain(in), ret;
	u64 id = fz_domain_arg(pick), smmu = fz_pick_smmu(in), info[2];
	struct fz_domain *d = pick >= 0 ? fz_find(pick) : NULL;
	bool known = d ? !d->dying : pick >= 0 && pick == fz_identity_id;

	ret = __pkvm_iommu_domain_info(id, smmu, info);
	fz_note("domain_info(%#llx, %#llx) = %d (%#llx %#llx)", (unsigned long long)id,
		(unsigned long long)smmu, ret, (unsigned long long)info[0],
		(unsigned long long)info[1]);
	if (smmu >= PKVM_SMMU_MAX) {
		FZ_EXPECT(ret, -EINVAL, "domain_info(bad SMMU)");
	} else if (!known) {
		FZ_EXPECT(ret, -ENOENT, "domain_info(unknown domain)");
	} else {
		FZ_EXPECT(ret, 0, "domain_info");
		FZ_EXPECT(info[0] >> 16, fz_streams(pick, smmu), "domain_info streams");
		FZ_EXPECT(info[1], fz_domain_root(pick), "domain_info root");
		if (!ret && (info[0] >> 16) && !(info[0] & 0xffff))
			fz_fail("domain %d has streams on SMMU %llu and VMID 0", pick,
				(unsigned long long)smmu);
	}
}

/*
 * A host-made memcache list, possibly broken: a link to a hyp page, MMIO,
 * an unaligned address, itself, an earlier page (a loop), beyond memory.
 * The host writes links only in pages it owns.
 */
static void op_topup(struct fz_in *in)
{
	static const u64 counts[4] = { 0, PKVM_IOMMU_TOPUP_MAX + 1, U64_MAX, 1 };
	u8 c = in_u8(in), start = in_u8(in), bad = in_u8(in), hk = in_u8(in);
	u8 fill = in_u8(in);
	phys_addr_t pages[FZ_MAX_TOPUP], head, cur, page;
	static bool seen[EL2_MEM_PAGES];
	unsigned int i, nr = 0;
	u64 n, taken = 0, want_taken = 0;
	int ret, want;

	n = c < 0xf0 ? (c % 16) + 1 + (c >= 0xe0 ? 32 : 0) : counts[c & 3];
	for (i = 0; i < FZ_TOPUP_WIN_PAGES && nr < min_t(u64, n, FZ_MAX_TOPUP); i++) {
		page = FZ_TOPUP_WIN +
		       (u64)((start * 2 + i) % FZ_TOPUP_WIN_PAGES) * PAGE_SIZE;
		if (el2_page(page)->host == EL2_OWNED)
			pages[nr++] = page;
	}
	for (i = 0; i < nr; i++) {
		fz_fill(pages[i], fill);
		*(u64 *)el2_host_va(pages[i]) = i + 1 < nr ? pages[i + 1] : 0;
	}
	if (nr && bad >= 0x80) {
		static const u64 links[] = {
			0, fz_mmio[0], 0, 0, EL2_MEM_BASE + EL2_MEM_SIZE, U64_MAX,
			0, FZ_DOORBELL,
		};
		u64 link = links[(bad >> 4) & 7];

		i = (bad & 0xf) % nr;
		switch ((bad >> 4) & 7) {
		case 0:
			link = fz_identity_root;
			break;
		case 2:
			link = (i + 1 < nr ? pages[i + 1] : pages[0]) + 8;
			break;
		case 3:
			link = pages[i];
			break;
		case 6:
			link = pages[i / 2];
			break;
		}
		*(u64 *)el2_host_va(pages[i]) = link;
	}
	head = nr ? pages[0] : FZ_TOPUP_WIN;
	if (hk >= 0xf0)
		head = hk & 1 ? fz_identity_root : head + 8 * (hk & 0xe);

	/* What the hypervisor will take: each page donated before its link is read. */
	memset(seen, 0, sizeof(seen));
	for (cur = head; want_taken < n && want_taken < PKVM_IOMMU_TOPUP_MAX; want_taken++) {
		page = cur & PAGE_MASK;
		if (!fz_is_memory(page) || cur >> (48) || seen[FZ_PAGE_IDX(page)] ||
		    el2_page(page)->host != EL2_OWNED || el2_page(page)->hyp != EL2_NOPAGE)
			break;
		seen[FZ_PAGE_IDX(page)] = true;
		cur = *(u64 *)el2_host_va(page);
	}

	ret = __pkvm_iommu_topup(head, n, &taken);
	fz_note("topup(%#llx, %llu) = %d (taken %llu, list of %u, bad %#x)",
		(unsigned long long)head, (unsigned long long)n, ret,
		(unsigned long long)taken, nr, bad);
	if (!n || n > PKVM_IOMMU_TOPUP_MAX || !PAGE_ALIGNED(head)) {
		FZ_EXPECT(ret, -EINVAL, "topup(bad arguments)");
		FZ_EXPECT(taken, 0, "pages taken from bad arguments");
		return;
	}
	if (taken)
		fz_host_lost();
	want = want_taken == n ? 0 : -ENOMEM;
	FZ_EXPECT(ret, want, "topup");
	FZ_EXPECT(taken, want_taken, "pages taken");
}

static void op_reclaim(struct fz_in *in)
{
	static const u64 counts[8] = { 0, 1, 2, 5, 64, 1024, 1025, U64_MAX };
	u64 n = counts[in_u8(in) & 7];
	int ret = __pkvm_iommu_reclaim(n);

	fz_note("reclaim(%llu) = %d", (unsigned long long)n, ret);
	if (ret < 0 || (u64)ret > min_t(u64, n, PKVM_IOMMU_TOPUP_MAX))
		fz_fail("reclaim(%llu) returned %d", (unsigned long long)n, ret);
}

/* The host gives pages to the hypervisor (a VM's, say); identity loses them. */
static void op_donate(struct fz_in *in)
{
	static const u64 counts[8] = { 1, 1, 2, 3, 8, 0, U64_MAX, 1ULL << 36 };
	u64 phys = fz_pick_phys(in), nr = counts[in_u8(in) & 7], pfn = phys >> PAGE_SHIFT;
	u64 a, i;
	bool ok = nr && nr <= 8 && fz_is_memory(pfn << PAGE_SHIFT) &&
		  fz_is_memory(((pfn + nr) << PAGE_SHIFT) - 1);
	int ret;

	for (i = 0; ok && i < nr; i++) {
		a = (pfn + i) << PAGE_SHIFT;
		ok = el2_page(a)->host == EL2_OWNED && el2_page(a)->hyp == EL2_NOPAGE;
	}
	ret = __pkvm_host_donate_hyp(pfn, nr);
	fz_note("host_donate_hyp(%#llx, %llu) = %d", (unsigned long long)pfn,
		(unsigned long long)nr, ret);
	if (nr && nr <= 8)
		FZ_EXPECT(!ret, ok, "host_donate_hyp succeeded");
	/* Zero pages: nothing checked, nothing moves (as in mem_protect.c). */
	if (ret || !nr)
		return;
	if (!ok)
		fz_fail("host_donate_hyp(%#llx, %llu) succeeded", (unsigned long long)pfn,
			(unsigned long long)nr);
	for (i = 0; i < nr; i++)
		fz_donated[FZ_PAGE_IDX((pfn + i) << PAGE_SHIFT)] = true;
	fz_host_lost();
}

/* The hypervisor gives back pages the host donated (only those: it knows). */
static void op_undonate(struct fz_in *in)
{
	u64 start = (u64)in_u8(in) * 16, nr = (in_u8(in) & 7) + 1, i, n = 0;
	int ret;

	for (i = start; i < EL2_MEM_PAGES && !fz_donated[i]; i++)
		;
	if (i == EL2_MEM_PAGES)
		return;
	while (n < nr && i + n < EL2_MEM_PAGES && fz_donated[i + n])
		n++;
	ret = __pkvm_hyp_donate_host(hyp_phys_to_pfn(EL2_MEM_BASE) + i, n);
	fz_note("hyp_donate_host(%#llx, %llu) = %d",
		(unsigned long long)(hyp_phys_to_pfn(EL2_MEM_BASE) + i),
		(unsigned long long)n, ret);
	if (ret)
		fz_fail("hyp_donate_host of pages the host donated failed: %d", ret);
	while (n--)
		fz_donated[i + n] = false;
}

static void op_dma(struct fz_in *in)
{
	u8 k = in_u8(in) % FZ_NR_MODELS, f = in_u8(in);
	/* A device presents 32 bits of stream id at most. */
	u32 sid = fz_pick_sid(in);
	int id = k < FZ_NR_SMMUS ? fz_attached_to(k, sid) : -1, ret;
	u64 iova = fz_pick_iova(in, id), pa, want;
	bool write = f & 1, hit, r, w;
	unsigned int i, n = ((f >> 1) % FZ_MAX_DMA_PAGES) + 1;

	for (i = 0; i < n; i++, iova += PAGE_SIZE) {
		pa = 0;
		ret = smmu_model_dma(fz_models[k], sid, iova, write, &pa);
		fz_note("dma(smmu %u, sid %#llx, %#llx, %s) = %d (%#llx)", k,
			(unsigned long long)sid, (unsigned long long)iova,
			write ? "write" : "read", ret, (unsigned long long)pa);
		if (!ret)
			fz_last_dma = pa;
		if (!ret && !fz_device_page(pa))
			fz_fail("DMA by SMMU %u stream %#llx at %#llx reached %#llx, which the host does not own",
				k, (unsigned long long)sid, (unsigned long long)iova,
				(unsigned long long)pa);
		if (fz_faulted || fz_stale)
			continue;
		hit = id >= 0 && fz_expect_map(id, iova, &want, &r, &w) &&
		      (write ? w : r);
		if (hit != !ret)
			fz_fail("DMA by SMMU %u stream %#llx at %#llx: %d, the host mapped it %s",
				k, (unsigned long long)sid, (unsigned long long)iova, ret,
				hit ? "so" : "not so (or not attached)");
		if (hit && pa != want + (iova & ~PAGE_MASK))
			fz_fail("DMA by SMMU %u stream %#llx at %#llx reached %#llx, not %#llx",
				k, (unsigned long long)sid, (unsigned long long)iova,
				(unsigned long long)pa, (unsigned long long)want);
	}
}

/* Records popped from each SMMU, over all inputs (as the models' counts). */
static u64 fz_evts_popped[FZ_NR_SMMUS];

static void op_pop_event(struct fz_in *in)
{
	u64 smmu = fz_pick_smmu(in), evt[PKVM_SMMU_EVT_DWORDS];
	int ret = __pkvm_smmu_pop_event(smmu, evt);

	fz_note("pop_event(%#llx) = %d", (unsigned long long)smmu, ret);
	if (smmu >= FZ_NR_SMMUS) {
		FZ_EXPECT(ret, -EINVAL, "pop_event");
		return;
	}
	/* A DMA that faulted in translation left a record; a full queue drops them. */
	FZ_EXPECT(ret, smmu_model_stats(fz_models[smmu])->events > fz_evts_popped[smmu],
		  "pop_event");
	if (ret > 0)
		fz_evts_popped[smmu]++;
}

/*
 * The rest of the input runs in a child with an SMMU failing: the model
 * rejects the next command or stops its queue, or the hypervisor's own
 * injection fails a later batch. The parent waits, then stops this input.
 */
static bool op_fault(struct fz_in *in)
{
	u8 k = in_u8(in) % FZ_NR_SMMUS, kind = in_u8(in), after = in_u8(in) & 7;
	int status;
	pid_t pid;

	fz_note("fault(smmu %u, kind %u, after %u)", k, kind & 7, after);
	if (!fz_faulted) {
		fflush(NULL);
		pid = fork();
		if (pid < 0) {
			perror("fuzz: fork");
			abort();
		}
		if (pid) {
			/* libFuzzer's timer interrupts the wait. */
			while (waitpid(pid, &status, 0) != pid) {
				if (errno != EINTR) {
					perror("fuzz: waitpid");
					abort();
				}
			}
			if (!WIFEXITED(status) || WEXITSTATUS(status))
				fz_fail("the fault-injection child failed (status %#x): see its message above",
					status);
			return true;
		}
		/* The child: its failures are reported by the parent, once. */
		signal(SIGABRT, SIG_DFL);
		__sanitizer_set_death_callback(NULL);
		fz_faulted = true;
	}
	switch (kind & 7) {
	case 0:
	case 1:
		smmu_model_set_fault(fz_models[k], SMMU_MODEL_REJECT_CMD);
		break;
	case 2:
		smmu_model_set_fault(fz_models[k], SMMU_MODEL_STALL);
		break;
	case 3:
		smmu_model_set_fault(fz_models[k], SMMU_MODEL_OK);
		break;
	case 4:
	case 5:
		__pkvm_smmu_inject_fault(k, after, PKVM_SMMU_INJECT_TIMEOUT);
		break;
	default:
		__pkvm_smmu_inject_fault(k, after, PKVM_SMMU_INJECT_CMDQ_ERR);
		break;
	}
	return false;
}

enum {
	OP_ALLOC, OP_FREE, OP_ATTACH, OP_DETACH, OP_MAP, OP_UNMAP, OP_IOVA_TO_PHYS,
	OP_DOMAIN_INFO, OP_TOPUP, OP_RECLAIM, OP_DONATE, OP_UNDONATE, OP_DMA,
	OP_POP_EVENT, NR_OPS,
};

/* One opcode byte value in 256: the fault, rare on purpose. */
#define OP_FAULT_BYTE	0xfe

static void fz_detach_all(void)
{
	struct fz_attach a;
	int ret;

	while (fz_nr_attached) {
		a = fz_attached[--fz_nr_attached];
		ret = __pkvm_iommu_detach(a.id, a.smmu, a.sid);
		FZ_EXPECT(ret, 0, "detach at teardown");
	}
}

static void fz_teardown(void)
{
	struct fz_domain *d;
	int ret, calls;
	u64 i, n;

	fz_note("teardown");
	fz_detach_all();
	fz_note("detached all");
	/*
	 * The identity domain lives on, and so does its invalidation array: a
	 * detach that found no page to shrink it left it full of trash, one
	 * page of the hypervisor's. The host gets it back as the protocol
	 * allows: with pages in the memcache, attach a stream (the merge drops
	 * the trash) and detach it (the purge leaves no array at all).
	 */
	if (fz_identity_used && !fz_faulted) {
		u64 needed;

		fz_topup_pages(4, 0);
		ret = __pkvm_iommu_attach(fz_identity_id, 0, fz_sids[0], &needed);
		FZ_EXPECT(ret, 0, "attach to shrink the identity's array");
		ret = __pkvm_iommu_detach(fz_identity_id, 0, fz_sids[0]);
		FZ_EXPECT(ret, 0, "detach to shrink the identity's array");
	}
	fz_identity_used = false;
	while (fz_nr_domains) {
		d = &fz_domains[0];
		calls = 0;
		while ((ret = __pkvm_iommu_free_domain(d->id)) == -EAGAIN &&
		       ++calls < FZ_FREE_MAX_CALLS)
			;
		if (ret == -EAGAIN)
			fz_fail("free_domain(%d) still -EAGAIN after %d calls", d->id, calls);
		FZ_EXPECT(ret, 0, "free_domain at teardown");
		fz_forget_domain(d);
	}
	for (i = 0; i < EL2_MEM_PAGES; i += n) {
		for (n = 0; i + n < EL2_MEM_PAGES && fz_donated[i + n]; n++)
			fz_donated[i + n] = false;
		if (n && __pkvm_hyp_donate_host(hyp_phys_to_pfn(EL2_MEM_BASE) + i, n))
			fz_fail("hyp_donate_host at teardown failed");
		n = n ?: 1;
	}
	for (calls = 0; (ret = __pkvm_iommu_reclaim(PKVM_IOMMU_TOPUP_MAX)) > 0; calls++)
		if (calls > EL2_MEM_PAGES / PKVM_IOMMU_TOPUP_MAX + 1)
			fz_fail("reclaim never runs dry");
	if (ret)
		fz_fail("reclaim at teardown: %d", ret);
}

static void fz_l2_page(void *arg, phys_addr_t pa, const char *what)
{
	bool *l2 = arg;

	if (!strcmp(what, "level-2 stream table") && fz_is_memory(pa))
		l2[FZ_PAGE_IDX(pa)] = true;
}

/* After a fault-free teardown: back where the input started. */
static void fz_check_initial(void)
{
	static bool l2[EL2_MEM_PAGES];
	struct el2_page *p, *b;
	u64 info[2], pa;
	int k, id;
	unsigned int i;

	memset(l2, 0, sizeof(l2));
	for (k = 0; k < FZ_NR_MODELS; k++) {
		smmu_model_visit_table_pages(fz_models[k], fz_l2_page, l2);
		if (smmu_model_tlb_entries(fz_models[k]))
			fz_fail("SMMU %d: %u TLB entries with nothing attached", k,
				smmu_model_tlb_entries(fz_models[k]));
	}
	for (i = 0; i < EL2_MEM_PAGES; i++) {
		pa = EL2_MEM_BASE + ((u64)i << PAGE_SHIFT);
		p = el2_page(pa);
		b = &fz_baseline[i];
		if (!memcmp(p, b, sizeof(*p)))
			continue;
		/* A level-2 stream table made during the input stays, for good. */
		if (l2[i] && b->host == EL2_OWNED && b->hyp == EL2_NOPAGE &&
		    p->host == EL2_NOPAGE && p->hyp == EL2_OWNED && !p->share_dma_count &&
		    !p->refcount) {
			*b = *p;
			continue;
		}
		fz_fail("page %#llx after teardown: host %d hyp %d shared %u refs %u; after initialisation: %d %d %u %u",
			(unsigned long long)pa, p->host, p->hyp, p->share_dma_count,
			p->refcount, b->host, b->hyp, b->share_dma_count, b->refcount);
	}
	/* Ids are handed out lowest first: a leaked domain has a low one. */
	for (id = 0; id < 2 * FZ_MAX_DOMAINS; id++)
		if (id != fz_identity_id && __pkvm_iommu_domain_info(id, 0, info) != -ENOENT)
			fz_fail("domain %d still exists after teardown", id);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	u64 needed, taken, info[2];
	phys_addr_t head, page;
	int k, ret;
	unsigned int i;

	el2_init(FZ_NR_CPUS);
	el2_set_cpu(0);
	for (k = 0; k < FZ_NR_MODELS; k++) {
		fz_models[k] = smmu_model_create(fz_mmio[k], k != 1);
		if (k >= 2)
			smmu_model_set_ats(fz_models[k], true);
		if (k == 3)
			smmu_model_set_fault(fz_models[k], SMMU_MODEL_DROP_ATSCHK);
		ret = el2_host_register_smmu(fz_mmio[k]);
		if (ret != (k < FZ_NR_SMMUS ? k : -EIO)) {
			fprintf(stderr, "fuzz: registering SMMU %d returned %d\n", k, ret);
			abort();
		}
	}
	if (__pkvm_iommu_register_doorbell(FZ_DOORBELL))
		abort();
	/* The host driver makes the identity domain as it probes, before finalising. */
	while ((ret = __pkvm_iommu_alloc_domain(PKVM_IOMMU_DOMAIN_IDENTITY, &needed)) ==
	       -ENOMEM) {
		for (head = 0, i = 0; i < needed; i++) {
			page = el2_host_alloc(1, 1);
			*(u64 *)el2_host_va(page) = head;
			head = page;
		}
		if (__pkvm_iommu_topup(head, needed, &taken) || taken != needed)
			abort();
	}
	if (ret < 0 || __pkvm_iommu_domain_info(ret, 0, info))
		abort();
	fz_identity_id = ret;
	fz_identity_root = info[1];
	/* Spare pages back: the memcache starts every input empty. */
	while (__pkvm_iommu_reclaim(PKVM_IOMMU_TOPUP_MAX) > 0)
		;
	kvm_protected_mode_initialized.enabled = true;

	for (i = 0; i < FZ_MAP_WIN_PAGES; i++)
		if (el2_page(FZ_MAP_WIN + i * PAGE_SIZE)->host != EL2_OWNED)
			abort();
	for (i = 0; i < FZ_TOPUP_WIN_PAGES; i++)
		if (el2_page(FZ_TOPUP_WIN + i * PAGE_SIZE)->host != EL2_OWNED)
			abort();
	for (i = 0; i < EL2_MEM_PAGES; i++)
		fz_baseline[i] = *el2_page(EL2_MEM_BASE + ((u64)i << PAGE_SHIFT));
	fz_check();
	return 0;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fz_in in = { data, size };
	unsigned int nr_ops = 0;
	u8 op;

	fz_nr_log = 0;
	fz_last_freed = -1;
	fz_last_dma = 0;
	while (in.n && nr_ops++ < FZ_MAX_OPS) {
		op = in_u8(&in);
		/* Two CPUs take turns: each has its grace-period slot. */
		el2_set_cpu((op / NR_OPS) & 1);
		if (op == OP_FAULT_BYTE) {
			if (op_fault(&in))
				break;
			fz_check();
			continue;
		}
		switch (op % NR_OPS) {
		case OP_ALLOC:
			op_alloc(&in);
			break;
		case OP_FREE:
			op_free(&in);
			break;
		case OP_ATTACH:
			op_attach(&in);
			break;
		case OP_DETACH:
			op_detach(&in);
			break;
		case OP_MAP:
			op_map(&in);
			break;
		case OP_UNMAP:
			op_unmap(&in, (op / NR_OPS) >> 1);
			break;
		case OP_IOVA_TO_PHYS:
			op_iova_to_phys(&in);
			break;
		case OP_DOMAIN_INFO:
			op_domain_info(&in);
			break;
		case OP_TOPUP:
			op_topup(&in);
			break;
		case OP_RECLAIM:
			op_reclaim(&in);
			break;
		case OP_DONATE:
			op_donate(&in);
			break;
		case OP_UNDONATE:
			op_undonate(&in);
			break;
		case OP_DMA:
			op_dma(&in);
			break;
		case OP_POP_EVENT:
			op_pop_event(&in);
			break;
		}
		fz_check();
	}
	el2_set_cpu(0);
	fz_teardown();
	fz_check();
	/* FZ_TRACE=1: what each input did (in a fault child, what the child did). */
	if (getenv("FZ_TRACE")) {
		unsigned int i;

		fprintf(stderr, "# input of %zu bytes%s:\n", size,
			fz_faulted ? ", after the fault" : "");
		for (i = 0; i < fz_nr_log; i++)
			fprintf(stderr, "#  %s\n", fz_log[i]);
	}
	if (fz_faulted) {
		/* Pages may stay borrowed and SMMUs stopped for good: nothing to compare. */
		fflush(NULL);
		if (__llvm_profile_write_file)
			__llvm_profile_write_file();
		_exit(0);
	}
	fz_check_initial();
	return 0;
}
