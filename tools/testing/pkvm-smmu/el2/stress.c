// SPDX-License-Identifier: GPL-2.0-only
/*
 * Concurrency stress of the real EL2 hypercall bodies (iommu.c, smmu_v3.c
 * and the kernel's kvm_pgtable), built with ThreadSanitizer: NR_THREADS
 * threads, each one CPU (el2_set_cpu()), race attach/detach, map/unmap,
 * top-up/reclaim, donations and device DMA on one shared domain attached
 * to streams of three SMMU models. It replaces nothing of the EL2 code:
 * the grace period, the invalidation arrays and the locking are iommu.c's
 * own (hyp_iommu_flush() brackets its array reads with
 * hyp_iommu_read_lock()/unlock(); the hypercall handlers add nothing).
 *
 * Ownership keeps the oracles exact: thread t alone maps, unmaps and DMAs
 * at its IOVA window (PAGES pages at st_iova(t, 0)) and its pages
 * (PAGES host pages at st[t].phys, page i mapped at IOVA i or not at all),
 * and alone attaches and detaches its streams (STREAMS of SMMU t % 3:
 * SMMU 0 has two owners, so its VMID stays while one of them detaches;
 * SMMUs 1 and 2 have one, so the domain comes and goes there, with a fresh
 * VMID each time). Every thread's DMA goes through any thread's streams,
 * since an SMMU translates whatever the domain's STEs say. Top-up pages
 * come from a shared pool.
 *
 * Oracles, each checked by the thread that owns what is checked:
 *  - unmap: once __pkvm_iommu_unmap() returned 0, no SMMU model holds a
 *    TLB entry for an unmapped IOVA under a VMID that a valid STE (in its
 *    stream table or its STE cache) uses: a device could translate through
 *    it. Checked atomically in the model (smmu_model_tlb_live()). Entries
 *    under a VMID no STE uses are legitimate for a while (a detach clears
 *    the STE, drops the array entry, then invalidates the VMID), so they
 *    are judged at the end: after the last detach, none may remain;
 *    With "deferred", an unmap with PKVM_IOMMU_UNMAP_DEFER (one in four)
 *    leaves such entries
 *    (a flush queue's): they may reach the page, which is the host's, until
 *    it leaves the host: once a donation of it returned, no live TLB entry
 *    of any SMMU reaches it (smmu_model_tlb_live_pa());
 *  - DMA: at an IOVA the thread has not mapped, it faults (any stream), or
 *    after a deferred unmap reaches the page it mapped; at one it mapped,
 *    it faults (stream not attached) or reaches exactly the page mapped
 *    there, which is then borrowed (SHARED_OWNED, count 1);
 *  - every hypercall returns what the thread's shadow predicts; a mapped
 *    page cannot be donated, an unmapped one can, and then cannot be mapped;
 *  - teardown (detach all, unmap all, free, reclaim): every page is as
 *    before, the hypervisor keeps only the SMMUs' tables and level-2 stream
 *    tables, and every TLB entry left is one planted before the run under a
 *    VMID that was never used.
 * ThreadSanitizer (halt_on_error) reports any data race in the EL2 code or
 * the harness. The SMMU models yield the CPU at random while commands are
 * in flight (smmu_model_set_jitter()), so that other CPUs run inside the
 * attach, detach and unmap windows.
 *
 * With "locked", the invalidation path reads each array under a per-domain
 * lock instead (the benchmark's knob, __pkvm_iommu_bench_knob()): the same
 * oracles, and ThreadSanitizer's lock-order checks, for that mode.
 *
 * With "deferred", a quarter of the unmaps are a flush queue's (above). Not
 * in every run: each stale SMMU's whole invalidation at a donation would
 * also wipe what a missed invalidation of a detached VMID leaves.
 *
 * Usage: el2-stress [iterations per thread] [seed] [seconds] [locked|deferred]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <asm/kvm_hyp.h>
#include <asm/kvm_pkvm_smmu.h>
#include <nvhe/iommu.h>
#include <nvhe/mem_protect.h>
#include <nvhe/memory.h>
#include <nvhe/smmu_v3.h>

#include "el2.h"
#include "../tap.h"

#define NR_THREADS	4
#define NR_SMMUS	3
#define STREAMS		2	/* per thread, on SMMU st_smmu(t) */
#define PAGES		16	/* per thread */
#define MAX_RUN		4	/* pages per map or unmap */
/* All threads' windows in one level-3 table: they share its page. */
#define IOVA_BASE	0x10000000ULL
#define POOL_PAGES	512
#define TOPUP_MAX	16
/* VMIDs with translations left from before (a previous user of the SMMU). */
#define PLANT_VMIDS	2
/* A hypercall asking for pages is retried that often at most. */
#define MAX_RETRIES	100000
#define JITTER		4	/* 1 in JITTER command-queue accesses yields */

static const phys_addr_t st_mmio[NR_SMMUS] = { 0x09050000, 0x09070000, 0x09090000 };
static struct smmu_model *st_models[NR_SMMUS];
static int st_domain = -1;
static u64 st_smmu_pages;	/* the SMMUs' own tables */
static phys_addr_t st_planted_pa;
static u64 st_iters = 10000;
static u64 st_seed = 1;
static unsigned int st_seconds = 20;
static struct timespec st_deadline;

enum st_op {
	OP_MAP, OP_UNMAP, OP_SWEEP_UNMAP, OP_DMA, OP_ATTACH, OP_TOPUP, OP_RECLAIM,
	OP_DONATE, OP_IOVA_TO_PHYS, NR_OPS
};

static const char *const st_op_names[NR_OPS] = {
	"map", "unmap", "sweep+unmap", "dma", "attach/detach", "topup", "reclaim",
	"donate", "iova_to_phys",
};

/* Weights out of 100. */
static const unsigned int st_op_weight[NR_OPS] = { 22, 8, 12, 22, 16, 5, 4, 5, 6 };

struct st_thread {
	pthread_t	thread;
	unsigned int	cpu;
	u64		rnd;
	phys_addr_t	phys;
	bool		mapped[PAGES];
	/* Unmapped by a deferred unmap, not given away or mapped since. */
	bool		stale[PAGES];
	bool		attached[STREAMS];
	u64		ops[NR_OPS];
	u64		dma_ok;
};

static struct st_thread st[NR_THREADS];
/* A quarter of the unmaps are deferred ("deferred"). */
static bool st_deferred;

/* What went wrong, by oracle; any count but 0 fails its TAP line. */
enum st_fail {
	F_CALL,		/* a hypercall did not return what the shadow predicts */
	F_STALE,	/* a translation survived its unmap */
	F_DMA,		/* a DMA reached the wrong page */
	F_OWNER,	/* a page state not as the mappings say */
	NR_FAILS
};

static u64 st_fails[NR_FAILS];

#define st_fail(kind, ...)	el2_report(&st_fails[kind], __VA_ARGS__)
#define st_rand(t)		el2_rand(&(t)->rnd)

static u64 st_iova(unsigned int t, unsigned int i)
{
	return IOVA_BASE + ((u64)(t * PAGES + i) << PAGE_SHIFT);
}

static unsigned int st_smmu(unsigned int t)
{
	return t % NR_SMMUS;
}

static u32 st_sid(unsigned int t, unsigned int k)
{
	/* Two 64-stream spans per SMMU: two level-2 stream tables each. */
	return (k << 6) | t;
}

/* The top-up pool: pages the host lends to the IOMMU memcache and gets back. */
static pthread_mutex_t st_pool_lock = PTHREAD_MUTEX_INITIALIZER;
static phys_addr_t st_pool[POOL_PAGES];
static bool st_pool_busy[POOL_PAGES];	/* st_pool_lock: being topped up */

/* The host tops up with up to @nr pool pages it owns; how many went. */
static u64 st_topup(struct st_thread *t, u64 nr)
{
	phys_addr_t pages[TOPUP_MAX], head = 0;
	unsigned int idx[TOPUP_MAX], i, n = 0, start;
	u64 taken = 0;
	int ret;

	nr = min_t(u64, max_t(u64, nr, 1), TOPUP_MAX);
	start = st_rand(t) % POOL_PAGES;
	pthread_mutex_lock(&st_pool_lock);
	for (i = 0; i < POOL_PAGES && n < nr; i++) {
		unsigned int j = (start + i) % POOL_PAGES;

		if (st_pool_busy[j] || el2_page_get(st_pool[j]).host != EL2_OWNED)
			continue;
		st_pool_busy[j] = true;
		idx[n] = j;
		pages[n++] = st_pool[j];
	}
	pthread_mutex_unlock(&st_pool_lock);
	for (i = 0; i < n; i++) {
		*(u64 *)el2_host_va(pages[i]) = head;
		head = pages[i];
	}
	if (n) {
		ret = __pkvm_iommu_topup(head, n, &taken);
		if (ret || taken != n)
			st_fail(F_CALL, "topup(%u): %d, taken %llu", n, ret,
				(unsigned long long)taken);
	}
	pthread_mutex_lock(&st_pool_lock);
	for (i = 0; i < n; i++)
		st_pool_busy[idx[i]] = false;
	pthread_mutex_unlock(&st_pool_lock);
	return taken;
}

/* Hypercalls that may ask for pages, repeated after a top-up as the host does. */
static int st_attach(struct st_thread *t, unsigned int s, u32 sid)
{
	unsigned int tries;
	u64 needed;
	int ret;

	for (tries = 0; tries < MAX_RETRIES; tries++) {
		ret = __pkvm_iommu_attach(st_domain, s, sid, &needed);
		if (ret != -ENOMEM)
			return ret;
		st_topup(t, needed);
	}
	return ret;
}

static int st_map(struct st_thread *t, u64 iova, phys_addr_t phys, u64 size)
{
	unsigned int tries;
	u64 done, needed;
	int ret;

	for (tries = 0; tries < MAX_RETRIES; tries++) {
		ret = __pkvm_iommu_map(st_domain, iova, phys, size,
				       PKVM_IOMMU_PROT_READ | PKVM_IOMMU_PROT_WRITE,
				       &done, &needed);
		if (ret != -ENOMEM)
			break;
		st_topup(t, needed);
	}
	if (!ret && done != size)
		return -EFAULT;
	return ret;
}

static bool st_past_deadline(void)
{
	return el2_past(&st_deadline);
}

/* Page @i of thread @t is as its shadow says: borrowed once if mapped. */
static void st_check_page(struct st_thread *t, unsigned int i, const char *when)
{
	struct el2_page p = el2_page_get(t->phys + ((u64)i << PAGE_SHIFT));
	bool mapped = t->mapped[i];

	if (p.hyp != EL2_NOPAGE ||
	    p.host != (mapped ? EL2_SHARED_OWNED : EL2_OWNED) ||
	    p.share_dma_count != mapped)
		st_fail(F_OWNER, "%s: page %u (%s) host %d hyp %d count %u", when, i,
			mapped ? "mapped" : "unmapped", p.host, p.hyp,
			p.share_dma_count);
}

/*
 * The unmap oracle: no SMMU may translate IOVA @iova, which this thread
 * just unmapped and alone maps, from its TLB under a VMID an STE uses.
 */
static void st_check_unmapped(unsigned int i, u64 iova)
{
	phys_addr_t pa;
	unsigned int s;
	u16 vmid;
	u32 sid;

	for (s = 0; s < NR_SMMUS; s++)
		if (smmu_model_tlb_live(st_models[s], iova, &vmid, &sid, &pa))
			st_fail(F_STALE, "SMMU %u: IOVA %#llx (page %u) unmapped, TLB still has it under VMID %u (stream %#x uses it) -> %#llx", s,
				(unsigned long long)iova, i, vmid, sid,
				(unsigned long long)pa);
}

/* A DMA at own page @i (+ @off) through stream @k of thread @owner on SMMU @s. */
static void st_dma(struct st_thread *t, unsigned int i, unsigned int s,
		   unsigned int owner, unsigned int k, u64 off, bool write)
{
	u64 iova = st_iova(t->cpu, i) + off;
	phys_addr_t pa, want = t->phys + ((u64)i << PAGE_SHIFT) + off;
	int ret;

	ret = smmu_model_dma(st_models[s], st_sid(owner, k), iova, write, &pa);
	if (ret)
		return;
	if (!t->mapped[i]) {
		if (t->stale[i] && pa == want)
			return;
		st_fail(F_STALE, "SMMU %u stream %#x: DMA at unmapped IOVA %#llx reached %#llx", s, st_sid(owner, k),
			(unsigned long long)iova, (unsigned long long)pa);
		return;
	}
	t->dma_ok++;
	if (pa != want) {
		st_fail(F_DMA, "SMMU %u stream %#x: DMA at %#llx reached %#llx, mapped %#llx", s, st_sid(owner, k), (unsigned long long)iova,
			(unsigned long long)pa, (unsigned long long)want);
		return;
	}
	st_check_page(t, i, "after DMA");
}

/* A run of pages from @i, all mapped or all unmapped as @mapped says. */
static unsigned int st_run(struct st_thread *t, unsigned int i, bool mapped)
{
	unsigned int n = 0, max = 1 + st_rand(t) % MAX_RUN;

	while (i + n < PAGES && n < max && t->mapped[i + n] == mapped)
		n++;
	return n;
}

static void st_op_map(struct st_thread *t)
{
	unsigned int i = st_rand(t) % PAGES, n = st_run(t, i, false), j;
	int ret;

	if (!n)
		return;
	ret = st_map(t, st_iova(t->cpu, i), t->phys + ((u64)i << PAGE_SHIFT),
		     (u64)n << PAGE_SHIFT);
	if (ret) {
		st_fail(F_CALL, "map of pages %u..%u: %d", i, i + n - 1, ret);
		return;
	}
	for (j = i; j < i + n; j++) {
		t->mapped[j] = true;
		t->stale[j] = false;
		st_check_page(t, j, "after map");
	}
}

/*
 * Unmap a run that may have holes. With @sweep, DMA at each mapped page
 * through every stream of every SMMU first, so that every SMMU that
 * translates for the domain caches it right before the unmap.
 */
static void st_op_unmap(struct st_thread *t, bool sweep)
{
	unsigned int i = st_rand(t) % PAGES, n = 1 + st_rand(t) % MAX_RUN, j, o, k;
	u64 done, flags = st_deferred && !(st_rand(t) % 4) ? PKVM_IOMMU_UNMAP_DEFER : 0;
	int ret;

	n = min(n, PAGES - i);
	for (j = i; sweep && j < i + n; j++)
		for (o = 0; o < NR_THREADS; o++)
			for (k = 0; k < STREAMS; k++)
				if (t->mapped[j])
					st_dma(t, j, st_smmu(o), o, k, 0, false);
	ret = __pkvm_iommu_unmap(st_domain, st_iova(t->cpu, i), (u64)n << PAGE_SHIFT, flags,
				 &done);
	if (ret || done != (u64)n << PAGE_SHIFT) {
		st_fail(F_CALL, "unmap of pages %u..%u: %d, done %#llx", i, i + n - 1,
			ret, (unsigned long long)done);
		return;
	}
	for (j = i; j < i + n; j++) {
		/* A strict unmap invalidates the IOVA, stale or not. */
		t->stale[j] = flags || (t->stale[j] && !t->mapped[j]);
		t->mapped[j] = false;
		if (!t->stale[j])
			st_check_unmapped(j, st_iova(t->cpu, j));
		st_check_page(t, j, "after unmap");
	}
}

static void st_op_dma(struct st_thread *t)
{
	u64 r = st_rand(t);
	unsigned int o = (r >> 16) % NR_THREADS;

	st_dma(t, r % PAGES, st_smmu(o), o, (r >> 24) % STREAMS,
	       ((r >> 32) % (PAGE_SIZE / 8)) * 8, (r >> 48) & 1);
}

static void st_op_attach(struct st_thread *t)
{
	unsigned int s = st_smmu(t->cpu), k = st_rand(t) % STREAMS;
	u32 sid = st_sid(t->cpu, k);
	int ret;

	if (t->attached[k]) {
		ret = __pkvm_iommu_detach(st_domain, s, sid);
		if (ret)
			st_fail(F_CALL, "detach SMMU %u stream %#x: %d", s, sid, ret);
		else
			t->attached[k] = false;
	} else {
		ret = st_attach(t, s, sid);
		if (ret)
			st_fail(F_CALL, "attach SMMU %u stream %#x: %d", s, sid, ret);
		else
			t->attached[k] = true;
	}
}

static void st_op_reclaim(struct st_thread *t)
{
	int ret = __pkvm_iommu_reclaim(1 + st_rand(t) % TOPUP_MAX);

	if (ret < 0)
		st_fail(F_CALL, "reclaim: %d", ret);
}

/*
 * The host donates one of its pages to the hypervisor: refused while it is
 * mapped for DMA; otherwise it goes, cannot be mapped meanwhile, and comes
 * back.
 */
static void st_op_donate(struct st_thread *t)
{
	unsigned int i = st_rand(t) % PAGES, s;
	phys_addr_t page = t->phys + ((u64)i << PAGE_SHIFT);
	u64 iova;
	u16 vmid;
	u32 sid;
	int ret;

	ret = __pkvm_host_donate_hyp(hyp_phys_to_pfn(page), 1);
	if (t->mapped[i]) {
		if (ret != -EPERM)
			st_fail(F_OWNER, "donation of mapped page %u: %d", i, ret);
		st_check_page(t, i, "after refused donation");
		return;
	}
	if (ret) {
		st_fail(F_CALL, "donation of unmapped page %u: %d", i, ret);
		return;
	}
	/* Every SMMU a deferred unmap left stale was invalidated first. */
	t->stale[i] = false;
	for (s = 0; s < NR_SMMUS; s++)
		if (smmu_model_tlb_live_pa(st_models[s], page, &vmid, &sid, &iova))
			st_fail(F_STALE, "SMMU %u: page %u donated, TLB still has IOVA %#llx -> it under VMID %u (stream %#x uses it)",
				s, i, (unsigned long long)iova, vmid, sid);
	ret = st_map(t, st_iova(t->cpu, i), page, PAGE_SIZE);
	if (ret != -EPERM)
		st_fail(F_OWNER, "map of donated page %u: %d", i, ret);
	st_dma(t, i, st_smmu(t->cpu), t->cpu, 0, 0, true);
	ret = __pkvm_hyp_donate_host(hyp_phys_to_pfn(page), 1);
	if (ret)
		st_fail(F_CALL, "page %u back to the host: %d", i, ret);
	st_check_page(t, i, "after donation and return");
}

static void st_op_iova_to_phys(struct st_thread *t)
{
	unsigned int i = st_rand(t) % PAGES;
	u64 phys, off = (st_rand(t) % PAGE_SIZE) & ~7ULL;
	int ret;

	ret = __pkvm_iommu_iova_to_phys(st_domain, st_iova(t->cpu, i) + off, &phys);
	if (t->mapped[i] ? ret || phys != t->phys + ((u64)i << PAGE_SHIFT) + off :
			   ret != -ENOENT)
		st_fail(F_CALL, "iova_to_phys of page %u (%s): %d, %#llx", i,
			t->mapped[i] ? "mapped" : "unmapped", ret,
			(unsigned long long)phys);
}

static void *st_cpu(void *arg)
{
	struct st_thread *t = arg;
	unsigned int k, w;
	enum st_op op;
	u64 it;

	el2_set_cpu(t->cpu);
	/* Every stream attached once, so that each span has its level-2 table. */
	for (k = 0; k < STREAMS; k++) {
		if (st_attach(t, st_smmu(t->cpu), st_sid(t->cpu, k)))
			st_fail(F_CALL, "first attach of stream %u", k);
		else
			t->attached[k] = true;
	}
	for (it = 0; it < st_iters; it++) {
		if (!(it % 64) && st_past_deadline())
			break;
		w = st_rand(t) % 100;
		for (op = 0; op < NR_OPS - 1 && w >= st_op_weight[op]; op++)
			w -= st_op_weight[op];
		t->ops[op]++;
		switch (op) {
		case OP_MAP:
			st_op_map(t);
			break;
		case OP_UNMAP:
			st_op_unmap(t, false);
			break;
		case OP_SWEEP_UNMAP:
			st_op_unmap(t, true);
			break;
		case OP_DMA:
			st_op_dma(t);
			break;
		case OP_ATTACH:
			st_op_attach(t);
			break;
		case OP_TOPUP:
			st_topup(t, 1 + st_rand(t) % TOPUP_MAX);
			break;
		case OP_RECLAIM:
			st_op_reclaim(t);
			break;
		case OP_DONATE:
			st_op_donate(t);
			break;
		case OP_IOVA_TO_PHYS:
			st_op_iova_to_phys(t);
			break;
		case NR_OPS:
			break;
		}
	}
	return NULL;
}

static void test_setup(void)
{
	unsigned int s, t, v, i;
	u64 needed;
	int ret;

	for (s = 0; s < NR_SMMUS; s++) {
		/* SMMU 1 without range invalidation: page-by-page TLBIs. */
		st_models[s] = smmu_model_create(st_mmio[s], s != 1);
		CHECK_EQ(el2_host_register_smmu(st_mmio[s]), s);
	}
	st_smmu_pages = el2_count_state(EL2_NOPAGE, EL2_OWNED);
	CHECK(st_smmu_pages > 0);
	/* A page of the hypervisor's: no DMA may ever reach it. */
	for (st_planted_pa = EL2_MEM_BASE; el2_page_get(st_planted_pa).hyp != EL2_OWNED;)
		st_planted_pa += PAGE_SIZE;
	/*
	 * A previous user of the SMMUs left translations of every thread's
	 * IOVAs under the first VMIDs: the attach that takes such a VMID must
	 * invalidate it first.
	 */
	for (s = 0; s < NR_SMMUS; s++)
		for (v = 1; v <= PLANT_VMIDS; v++)
			for (t = 0; t < NR_THREADS; t++)
				for (i = 0; i < PAGES; i++)
					smmu_model_tlb_plant(st_models[s], v, st_iova(t, i),
							     st_planted_pa);
	/* pKVM finalises: no identity domain, the host is not trusted. */
	kvm_protected_mode_initialized.enabled = true;

	for (i = 0; i < POOL_PAGES; i++) {
		st_pool[i] = el2_host_alloc(1, 1);
		CHECK(st_pool[i]);
	}
	for (t = 0; t < NR_THREADS; t++) {
		st[t].cpu = t;
		st[t].rnd = (st_seed + 1) * 0x9e3779b97f4a7c15ULL ^ (t + 1) * 0xbf58476d1ce4e5b9ULL;
		st[t].rnd |= 1;
		st[t].phys = el2_host_alloc(PAGES, 1);
		CHECK(st[t].phys);
	}
	while ((ret = __pkvm_iommu_alloc_domain(PKVM_IOMMU_DOMAIN_S2, &needed)) == -ENOMEM)
		if (!st_topup(&st[0], needed))
			break;
	CHECK(ret >= 0);
	st_domain = ret;
	for (s = 0; s < NR_SMMUS; s++)
		smmu_model_set_jitter(st_models[s], JITTER);
}

static void test_run(void)
{
	unsigned int t, op, s;
	u64 total = 0, ipa = 0, vmall = 0;

	clock_gettime(CLOCK_MONOTONIC, &st_deadline);
	st_deadline.tv_sec += st_seconds;
	for (t = 0; t < NR_THREADS; t++)
		CHECK_EQ(pthread_create(&st[t].thread, NULL, st_cpu, &st[t]), 0);
	for (t = 0; t < NR_THREADS; t++)
		CHECK_EQ(pthread_join(st[t].thread, NULL), 0);
	el2_set_cpu(0);
	for (t = 0; t < NR_THREADS; t++) {
		printf("# cpu %u:", t);
		for (op = 0; op < NR_OPS; op++) {
			printf(" %s %llu", st_op_names[op], (unsigned long long)st[t].ops[op]);
			total += st[t].ops[op];
		}
		printf(", DMAs translated %llu\n", (unsigned long long)st[t].dma_ok);
	}
	for (s = 0; s < NR_SMMUS; s++) {
		ipa += smmu_model_stats(st_models[s])->tlbi_ipa;
		vmall += smmu_model_stats(st_models[s])->tlbi_vmall;
	}
	printf("# %llu operations; SMMU TLBIs: %llu by IPA, %llu by VMID\n",
	       (unsigned long long)total, (unsigned long long)ipa,
	       (unsigned long long)vmall);
	CHECK_EQ(st_fails[F_CALL], 0);
}

static void test_no_missed_invalidation(void)
{
	CHECK_EQ(st_fails[F_STALE], 0);
}

static void test_dma_translates(void)
{
	CHECK_EQ(st_fails[F_DMA], 0);
}

static void test_borrowed_pages(void)
{
	CHECK_EQ(st_fails[F_OWNER], 0);
}

/*
 * Detach everything, unmap everything, free the domain and reclaim: every
 * page is as it was, but for the SMMUs' tables and the six level-2 stream
 * tables, and no TLB keeps anything but planted entries of unused VMIDs.
 */
static void test_teardown(void)
{
	struct smmu_model_tlb_entry tlb[SMMU_MODEL_TLB_SIZE];
	unsigned int t, s, k, i, n;
	u64 done, left = 0;
	int ret, calls = 0;

	for (t = 0; t < NR_THREADS; t++)
		for (k = 0; k < STREAMS; k++)
			if (st[t].attached[k])
				CHECK_EQ(__pkvm_iommu_detach(st_domain, st_smmu(t),
							     st_sid(t, k)), 0);
	for (t = 0; t < NR_THREADS; t++) {
		CHECK_EQ(__pkvm_iommu_unmap(st_domain, st_iova(t, 0), PAGES * PAGE_SIZE, 0,
					    &done), 0);
		CHECK_EQ(done, PAGES * PAGE_SIZE);
		for (i = 0; i < PAGES; i++) {
			st[t].mapped[i] = false;
			st_check_page(&st[t], i, "after teardown");
		}
	}
	CHECK_EQ(st_fails[F_OWNER], 0);
	while ((ret = __pkvm_iommu_free_domain(st_domain)) == -EAGAIN && calls++ < 100)
		;
	CHECK_EQ(ret, 0);
	while ((ret = __pkvm_iommu_reclaim(PKVM_IOMMU_TOPUP_MAX)) > 0)
		;
	CHECK_EQ(ret, 0);
	/* Level-2 stream tables: spans 0 and 1 of each SMMU. */
	CHECK_EQ(el2_count_state(EL2_NOPAGE, EL2_OWNED), st_smmu_pages + NR_SMMUS * STREAMS);
	CHECK_EQ(el2_count_state(EL2_OWNED, EL2_NOPAGE) +
		 el2_count_state(EL2_NOPAGE, EL2_OWNED), EL2_MEM_PAGES);
	for (s = 0; s < NR_SMMUS; s++) {
		n = smmu_model_tlb_dump(st_models[s], tlb, SMMU_MODEL_TLB_SIZE);
		for (i = 0; i < n; i++) {
			if (tlb[i].vmid <= PLANT_VMIDS && tlb[i].pa == st_planted_pa)
				continue;
			if (left++ < 5)
				printf("# SMMU %u: after the last detach, TLB has VMID %u IOVA %#llx -> %#llx\n", s, tlb[i].vmid,
				       (unsigned long long)tlb[i].iova,
				       (unsigned long long)tlb[i].pa);
		}
	}
	CHECK_EQ(left, 0);
}

int main(int argc, char **argv)
{
	/* The run is one test: it must end well within its watchdog. */
	el2_stress_args(argc, argv, &st_iters, &st_seed, &st_seconds, TAP_TIMEOUT - 15U);
	st_deferred = argc > 4 && !strcmp(argv[4], "deferred");
	if (argc > 4 && !st_deferred && (strcmp(argv[4], "locked") ||
			 __pkvm_iommu_bench_knob(PKVM_IOMMU_BENCH_LOCKED_INVS, 1))) {
		fprintf(stderr, "el2-stress: the fourth argument can only be \"locked\" or \"deferred\"\n");
		return 2;
	}
	el2_init(NR_THREADS);
	el2_set_cpu(0);
	printf("# %u CPUs, %llu iterations each (at most %u s), seed %#llx\n",
	       NR_THREADS, (unsigned long long)st_iters, st_seconds,
	       (unsigned long long)st_seed);
	tap_plan(6);
	tap_run("el2_stress_setup", test_setup);
	tap_run("el2_stress_run", test_run);
	tap_run("el2_stress_no_missed_invalidation", test_no_missed_invalidation);
	tap_run("el2_stress_dma_translates", test_dma_translates);
	tap_run("el2_stress_borrowed_pages_kept", test_borrowed_pages);
	tap_run("el2_stress_teardown_accounted", test_teardown);
	return tap_exit();
}
