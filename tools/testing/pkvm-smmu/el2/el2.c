// SPDX-License-Identifier: GPL-2.0-only
/*
 * Scenario test of the real EL2 hypercall bodies (arch/arm64/kvm/hyp/nvhe/
 * iommu.c and smmu_v3.c, with the kernel's kvm_pgtable), run against the
 * page-state table of memory.c and SMMUv3 models: two plain ones, one with
 * ATS and one whose CR0ACK loses ATSCHK. The test plays the host: it owns
 * the memory pool, donates pages and issues hypercalls; the models play the
 * devices: every DMA goes through a stream table walk, a TLB and a stage-2
 * walk. Each step depends on the previous ones; the last two stop SMMUs on
 * purpose (fail closed), the very last one every SMMU.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <asm/kvm_hyp.h>
#include <asm/kvm_pkvm_smmu.h>
#include <linux/memblock.h>
#include <nvhe/iommu.h>
#include <nvhe/mem_protect.h>
#include <nvhe/memory.h>
#include <nvhe/smmu_v3.h>

#include "arm-smmu-v3.h"
#include "el2.h"
#include "../tap.h"

#define NR_SMMUS	2
#define NR_MAP_PAGES	8
#define MAP_IOVA	0x100000ULL
/* A stream of SMMU 0 in a 64-stream span that has no level-2 table yet. */
#define ZERO_SID	0x405
/* The stream behind the ATS SMMU. */
#define ATS_SID		0x30
/* Where the ATS SMMU's TLB holds translations from before (a previous user). */
#define STALE_IOVA	0x7000000ULL
#define STALE_VMIDS	64
/* Distinct 1 GiB slots of one domain, so that freeing it takes several calls. */
#define FREE_SLOTS	8
/*
 * Calls __pkvm_iommu_free_domain() may take for that domain: each visits up
 * to 4 * PKVM_IOMMU_MAP_MAX_PAGES descriptors, and the domain has the root,
 * then a level-2 and a level-3 table per slot, 512 descriptors each; one
 * call more for the step that finds the end.
 */
#define FREE_MAX_CALLS	(DIV_ROUND_UP((1 + 2 * FREE_SLOTS) * 512, \
				      4 * PKVM_IOMMU_MAP_MAX_PAGES) + 1)
/* What the host writes in the pages it tops up with: a bypass STE per slot. */
#define HOST_BYPASS_STE	(STRTAB_STE_0_V | \
			 FIELD_PREP(STRTAB_STE_0_CFG, STRTAB_STE_0_CFG_BYPASS))

static const phys_addr_t smmu_mmio[NR_SMMUS] = { 0x09050000, 0x09070000 };
static const u32 smmu_sid[NR_SMMUS] = { 0x10, 0x208 };
static struct smmu_model *models[NR_SMMUS];
static int smmu_idx[NR_SMMUS];
static const phys_addr_t ats_mmio = 0x09090000, broken_mmio = 0x090b0000;
static struct smmu_model *ats_model, *broken_model;
static int ats_idx = -1;
static u64 smmu_pages;		/* donated at registration, for good */
static u64 l2_tables;		/* level-2 stream tables: installed for good */
static int domain_id = -1;
static int domain2 = -1;	/* on the ATS SMMU: fresh VMID, bounded free */
static phys_addr_t map_phys;	/* NR_MAP_PAGES host pages the domain maps */

/* A page the host tops up with, full of valid bypass STEs (the link aside). */
static void fill_bypass_stes(phys_addr_t page)
{
	u64 *w = el2_host_va(page);
	unsigned int i;

	memset(w, 0, PAGE_SIZE);
	for (i = 0; i < PAGE_SIZE / (STRTAB_STE_DWORDS * 8); i++)
		w[i * STRTAB_STE_DWORDS] = HOST_BYPASS_STE;
}

/*
 * The host gives @nr pages to the IOMMU memcache: a list through page heads.
 * With @bypass, the rest of each page holds bypass STEs.
 */
static u64 __host_topup(u64 nr, bool bypass)
{
	phys_addr_t head = 0, page;
	u64 i, taken = 0;
	int ret;

	for (i = 0; i < nr; i++) {
		page = el2_host_alloc(1, 1);
		if (!page)
			abort();
		if (bypass)
			fill_bypass_stes(page);
		*(phys_addr_t *)el2_host_va(page) = head;
		head = page;
	}
	ret = __pkvm_iommu_topup(head, nr, &taken);
	if (ret || taken != nr)
		printf("# topup(%llu): %d, taken %llu\n", (unsigned long long)nr, ret,
		       (unsigned long long)taken);
	return taken;
}

static u64 host_topup(u64 nr)
{
	return __host_topup(nr, false);
}

/* Map, topping the memcache up as often as the hypervisor asks. */
static int map_topup(u64 id, u64 iova, phys_addr_t phys, u64 size, u64 prot, u64 *done)
{
	u64 needed;
	int ret;

	while ((ret = __pkvm_iommu_map(id, iova, phys, size, prot, done, &needed)) == -ENOMEM)
		host_topup(needed);
	return ret;
}

/* Pages that went to the hypervisor for the IOMMU, and not back yet. */
static u64 hyp_pages(void)
{
	return el2_count_state(EL2_NOPAGE, EL2_OWNED);
}

/* Give the memcache's free pages back to the host; how many came back. */
static u64 drain_memcache(void)
{
	u64 total = 0;
	int got;

	while ((got = __pkvm_iommu_reclaim(PKVM_IOMMU_TOPUP_MAX)) > 0)
		total += got;
	CHECK_EQ(got, 0);
	return total;
}

/* Hypercalls that may ask for pages, repeated after each top-up as the host does. */
static int alloc_domain(u64 type)
{
	u64 needed;
	int ret;

	while ((ret = __pkvm_iommu_alloc_domain(type, &needed)) == -ENOMEM)
		if (!host_topup(needed))
			break;
	return ret;
}

static int attach(int id, int idx, u32 sid)
{
	u64 needed;
	int ret;

	while ((ret = __pkvm_iommu_attach(id, idx, sid, &needed)) == -ENOMEM)
		if (!host_topup(needed))
			break;
	return ret;
}

static int map(int id, u64 iova, phys_addr_t phys, u64 size, u64 prot)
{
	u64 done, needed;
	int ret;

	while ((ret = __pkvm_iommu_map(id, iova, phys, size, prot, &done,
				       &needed)) == -ENOMEM)
		if (!host_topup(needed))
			break;
	if (!ret && done != size)
		return -EFAULT;
	return ret;
}

/* A page the hypervisor owns (the first SMMU's tables). */
static phys_addr_t some_hyp_page(void)
{
	phys_addr_t page = EL2_MEM_BASE;

	while (el2_page(page)->hyp != EL2_OWNED)
		page += PAGE_SIZE;
	return page;
}

/* Mapped by a domain: the host keeps it but cannot give it away. */
static void check_borrowed(phys_addr_t page)
{
	CHECK_EQ(el2_page(page)->host, EL2_SHARED_OWNED);
	CHECK_EQ(el2_page(page)->share_dma_count, 1);
	CHECK_EQ(__pkvm_host_donate_hyp(hyp_phys_to_pfn(page), 1), -EPERM);
}

/*
 * Register the SMMU at @mmio as the host driver does: ask how many pages it
 * needs, then give exactly those. Pages that left the host stay counted.
 */
static int register_smmu(phys_addr_t mmio)
{
	u64 needed, pages;
	phys_addr_t base;
	int ret;

	ret = __pkvm_smmu_register(mmio, PKVM_SMMU_MMIO_SIZE, 0, 0, &needed);
	CHECK_EQ(ret, -ENOMEM);
	if (ret != -ENOMEM)
		return ret;
	base = el2_host_alloc(needed, 16);
	ret = __pkvm_smmu_register(mmio, PKVM_SMMU_MMIO_SIZE, base >> PAGE_SHIFT,
				   needed, &pages);
	CHECK_EQ(pages, needed);
	if (el2_page(base)->host == EL2_NOPAGE)
		smmu_pages += needed;
	return ret;
}

static void test_register(void)
{
	u64 needed, pages;
	phys_addr_t base;
	phys_addr_t pa;
	int i, ret;

	for (i = 0; i < NR_SMMUS; i++) {
		models[i] = smmu_model_create(smmu_mmio[i], true);
		/*
		 * Able to read the LPA2 format and to override shareability: a
		 * kernel without LPA2 must use neither (S2DS would make the SMMU
		 * read shareability bits as address bits).
		 */
		smmu_model_set_lpa2(models[i], true, true);
		/* Out of reset the model bypasses, as firmware may leave it. */
		CHECK_EQ(smmu_model_dma(models[i], smmu_sid[i], 0x1000, false, &pa), 0);
	}
	/* Hostile or broken arguments: refused before anything is taken. */
	CHECK_EQ(__pkvm_smmu_register(smmu_mmio[0], SZ_64K, 0, 0, &needed), -EINVAL);
	CHECK_EQ(__pkvm_smmu_register(smmu_mmio[0] + 0x1000, PKVM_SMMU_MMIO_SIZE,
				      0, 0, &needed), -EINVAL);
	CHECK_EQ(__pkvm_smmu_register(-SZ_64K, PKVM_SMMU_MMIO_SIZE, 0, 0, &needed),
		 -EINVAL);
	/* A "frame" in memory is refused by the ownership check. */
	CHECK_EQ(__pkvm_smmu_register(EL2_MEM_BASE, PKVM_SMMU_MMIO_SIZE, 0, 0,
				      &needed), -EPERM);

	for (i = 0; i < NR_SMMUS; i++) {
		ret = __pkvm_smmu_register(smmu_mmio[i], PKVM_SMMU_MMIO_SIZE, 0, 0,
					   &needed);
		CHECK_EQ(ret, -ENOMEM);
		CHECK(needed > 0 && needed < 64);
		/* Too many pages is an error too. */
		base = el2_host_alloc(needed + 1, 16);
		CHECK_EQ(__pkvm_smmu_register(smmu_mmio[i], PKVM_SMMU_MMIO_SIZE,
					      base >> PAGE_SHIFT, needed + 1, &pages),
			 -EINVAL);
		ret = __pkvm_smmu_register(smmu_mmio[i], PKVM_SMMU_MMIO_SIZE,
					   base >> PAGE_SHIFT, needed, &pages);
		CHECK_EQ(ret, i);
		smmu_idx[i] = ret;
		smmu_pages += needed;
		el2_host_free(base + needed * PAGE_SIZE, 1);
		CHECK_EQ(__pkvm_smmu_register(smmu_mmio[i], PKVM_SMMU_MMIO_SIZE, 0, 0,
					      &needed), -EEXIST);
		/* Reset: config and TLBs invalidated, one sync at least. */
		CHECK(smmu_model_stats(models[i])->cfgi >= 1);
		CHECK(smmu_model_stats(models[i])->syncs >= 1);
		/* Every stream aborts: no bypass once the hypervisor owns it. */
		CHECK_EQ(smmu_model_dma(models[i], smmu_sid[i], 0x1000, false, &pa),
			 -EPERM);
		CHECK_EQ(smmu_model_dma(models[i], 0, 0, true, &pa), -EPERM);
		CHECK_EQ(smmu_model_stats(models[i])->bypass, 1);
	}
	CHECK_EQ(hyp_pages(), smmu_pages);
	/* The table pages left the host; the host cannot map them for DMA. */
	CHECK_EQ(el2_page(base)->host, EL2_NOPAGE);
	/* Without ATS, CR0.ATSCHK is RES0: never set. */
	for (i = 0; i < NR_SMMUS; i++) {
		CHECK(smmu_model_cr0ack(models[i]) & CR0_SMMUEN);
		CHECK(!(smmu_model_cr0ack(models[i]) & CR0_ATSCHK));
	}
}

/*
 * An SMMU with ATS must check ATS-translated transactions against the
 * stream table (CR0.ATSCHK), or a device whose ATS the host enables could
 * present physical addresses. One that does not acknowledge ATSCHK is
 * refused and left aborting.
 */
static void test_ats(void)
{
	u64 evt[PKVM_SMMU_EVT_DWORDS], needed;
	phys_addr_t pa;
	int ret;

	ats_model = smmu_model_create(ats_mmio, true);
	smmu_model_set_ats(ats_model, true);
	ats_idx = register_smmu(ats_mmio);
	CHECK_EQ(ats_idx, NR_SMMUS);
	CHECK(smmu_model_cr0ack(ats_model) & CR0_SMMUEN);
	CHECK(smmu_model_cr0ack(ats_model) & CR0_ATSCHK);
	CHECK(smmu_model_gbpa(ats_model) & GBPA_ABORT);
	CHECK_EQ(smmu_model_dma(ats_model, ATS_SID, 0x1000, false, &pa), -EPERM);
	CHECK_EQ(smmu_model_stats(ats_model)->bypass, 0);

	broken_model = smmu_model_create(broken_mmio, true);
	smmu_model_set_ats(broken_model, true);
	smmu_model_set_fault(broken_model, SMMU_MODEL_DROP_ATSCHK);
	ret = register_smmu(broken_mmio);
	CHECK_EQ(ret, -EIO);
	/* Left disabled, aborting every transaction; its pages stay the hypervisor's. */
	CHECK(!(smmu_model_cr0ack(broken_model) & CR0_SMMUEN));
	CHECK(smmu_model_gbpa(broken_model) & GBPA_ABORT);
	CHECK_EQ(smmu_model_dma(broken_model, ATS_SID, 0x1000, false, &pa), -EPERM);
	CHECK_EQ(smmu_model_dma(broken_model, 0, 0, true, &pa), -EPERM);
	CHECK_EQ(smmu_model_stats(broken_model)->bypass, 0);
	CHECK_EQ(__pkvm_smmu_register(broken_mmio, PKVM_SMMU_MMIO_SIZE, 0, 0, &needed),
		 -EIO);
	CHECK_EQ(__pkvm_smmu_pop_event(NR_SMMUS + 1, evt), -EINVAL);
	CHECK_EQ(hyp_pages(), smmu_pages);

	/* pKVM finalises: the host is no longer trusted. */
	kvm_protected_mode_initialized.enabled = true;
}

static void test_topup(void)
{
	u64 taken, before = hyp_pages();
	phys_addr_t hyp_page;

	/* Hostile top-ups: misaligned, empty, too long. */
	CHECK_EQ(__pkvm_iommu_topup(EL2_MEM_BASE + 8, 1, &taken), -EINVAL);
	CHECK_EQ(__pkvm_iommu_topup(EL2_MEM_BASE, 0, &taken), -EINVAL);
	CHECK_EQ(__pkvm_iommu_topup(EL2_MEM_BASE, PKVM_IOMMU_TOPUP_MAX + 1, &taken),
		 -EINVAL);
	/* A list that starts with a page the hypervisor owns: nothing taken. */
	hyp_page = EL2_MEM_BASE;
	while (el2_page(hyp_page)->hyp != EL2_OWNED)
		hyp_page += PAGE_SIZE;
	CHECK_EQ(__pkvm_iommu_topup(hyp_page, 1, &taken), -ENOMEM);
	CHECK_EQ(taken, 0);
	/* A list into MMIO: refused by the donation. */
	CHECK_EQ(__pkvm_iommu_topup(smmu_mmio[0], 1, &taken), -ENOMEM);
	CHECK_EQ(taken, 0);
	CHECK_EQ(hyp_pages(), before);

	CHECK_EQ(host_topup(16), 16);
	CHECK_EQ(hyp_pages(), before + 16);
}

static void test_domain_attach_map_dma(void)
{
	u64 needed, done, info[2], vmid[NR_SMMUS];
	phys_addr_t pa;
	int i, p, ret;

	CHECK_EQ(__pkvm_iommu_alloc_domain(0, &needed), -EINVAL);
	CHECK_EQ(__pkvm_iommu_alloc_domain(3, &needed), -EINVAL);
	/* After finalisation the identity domain can no longer be made. */
	CHECK_EQ(__pkvm_iommu_alloc_domain(PKVM_IOMMU_DOMAIN_IDENTITY, &needed), -EPERM);
	domain_id = __pkvm_iommu_alloc_domain(PKVM_IOMMU_DOMAIN_S2, &needed);
	CHECK(domain_id >= 0);

	for (i = 0; i < NR_SMMUS; i++) {
		while ((ret = __pkvm_iommu_attach(domain_id, smmu_idx[i], smmu_sid[i],
						  &needed)) == -ENOMEM)
			host_topup(needed);
		CHECK_EQ(ret, 0);
		CHECK_EQ(__pkvm_iommu_attach(domain_id, smmu_idx[i], smmu_sid[i],
					     &needed), -EBUSY);
		CHECK_EQ(__pkvm_iommu_domain_info(domain_id, smmu_idx[i], info), 0);
		vmid[i] = info[0] & 0xffff;
		CHECK(vmid[i] != 0);
		CHECK_EQ(info[0] >> 16, 1);
		l2_tables++;
	}

	map_phys = el2_host_alloc(NR_MAP_PAGES, 1);
	for (p = 0; p < NR_MAP_PAGES; p++)
		CHECK_EQ(el2_page(map_phys + p * PAGE_SIZE)->host, EL2_OWNED);
	CHECK_EQ(map_topup(domain_id, MAP_IOVA, map_phys, NR_MAP_PAGES * PAGE_SIZE,
			   PKVM_IOMMU_PROT_READ | PKVM_IOMMU_PROT_WRITE, &done), 0);
	CHECK_EQ(done, NR_MAP_PAGES * PAGE_SIZE);
	/* Mapped over: refused. */
	CHECK_EQ(__pkvm_iommu_map(domain_id, MAP_IOVA, map_phys, PAGE_SIZE,
				  PKVM_IOMMU_PROT_READ, &done, &needed), -EEXIST);

	for (p = 0; p < NR_MAP_PAGES; p++) {
		/* Borrowed: cannot be donated to the hypervisor while mapped. */
		CHECK_EQ(el2_page(map_phys + p * PAGE_SIZE)->host, EL2_SHARED_OWNED);
		CHECK_EQ(el2_page(map_phys + p * PAGE_SIZE)->share_dma_count, 1);
		CHECK_EQ(__pkvm_host_donate_hyp(hyp_phys_to_pfn(map_phys) + p, 1), -EPERM);
		CHECK_EQ(__pkvm_iommu_iova_to_phys(domain_id, MAP_IOVA + p * PAGE_SIZE + 8,
						   &pa), 0);
		CHECK_EQ(pa, map_phys + p * PAGE_SIZE + 8);
	}
	/* Every device reaches every page, through its own SMMU. */
	for (i = 0; i < NR_SMMUS; i++) {
		for (p = 0; p < NR_MAP_PAGES; p++) {
			CHECK_EQ(smmu_model_dma(models[i], smmu_sid[i],
						MAP_IOVA + p * PAGE_SIZE + 0x10,
						p & 1, &pa), 0);
			CHECK_EQ(pa, map_phys + p * PAGE_SIZE + 0x10);
			CHECK(smmu_model_tlb_reaches(models[i], map_phys + p * PAGE_SIZE));
		}
		CHECK_EQ(smmu_model_tlb_entries(models[i]), NR_MAP_PAGES);
		/* Outside the mapping, and on a stream with no domain: faults. */
		CHECK(smmu_model_dma(models[i], smmu_sid[i], MAP_IOVA - PAGE_SIZE,
				     false, &pa) < 0);
		CHECK(smmu_model_dma(models[i], smmu_sid[i] + 1, MAP_IOVA, false, &pa) < 0);
		CHECK_EQ(smmu_model_stats(models[i])->bypass, 1);
	}
	CHECK_EQ(el2_cpu_tlbi_count, 0);
}

/*
 * A level-2 stream table comes from the memcache, that is from pages the
 * host filled: here with valid bypass STEs in every slot. Once a stream of
 * the span is attached, every other stream of the span must still abort.
 */
static void test_l2_strtab_zeroed(void)
{
	u64 bypass = smmu_model_stats(models[0])->bypass, needed;
	u32 span = ZERO_SID & ~(u32)63, sid;
	phys_addr_t pa;

	/* Empty the memcache: the pages it hands out next are the host's below. */
	drain_memcache();
	for (sid = span; sid < span + 64; sid++)
		CHECK_EQ(smmu_model_dma(models[0], sid, MAP_IOVA, false, &pa), -EPERM);
	/* The span's level-2 table and an array page, if it were a new VMID. */
	CHECK_EQ(__pkvm_iommu_attach(domain_id, smmu_idx[0], ZERO_SID, &needed), -ENOMEM);
	CHECK_EQ(needed, 2);
	CHECK_EQ(__host_topup(needed, true), needed);
	CHECK_EQ(__pkvm_iommu_attach(domain_id, smmu_idx[0], ZERO_SID, &needed), 0);
	l2_tables++;

	CHECK_EQ(smmu_model_dma(models[0], ZERO_SID, MAP_IOVA + 0x20, false, &pa), 0);
	CHECK_EQ(pa, map_phys + 0x20);
	for (sid = span; sid < span + 64; sid++) {
		if (sid == ZERO_SID)
			continue;
		CHECK_EQ(smmu_model_dma(models[0], sid, MAP_IOVA, false, &pa), -EPERM);
		CHECK_EQ(smmu_model_dma(models[0], sid, map_phys, true, &pa), -EPERM);
	}
	CHECK_EQ(smmu_model_stats(models[0])->bypass, bypass);

	/* Not the domain's last stream on SMMU 0: the other one still translates. */
	CHECK_EQ(__pkvm_iommu_detach(domain_id, smmu_idx[0], ZERO_SID), 0);
	CHECK_EQ(smmu_model_dma(models[0], ZERO_SID, MAP_IOVA, false, &pa), -EPERM);
	CHECK_EQ(smmu_model_dma(models[0], smmu_sid[0], MAP_IOVA, false, &pa), 0);
	CHECK_EQ(smmu_model_stats(models[0])->bypass, bypass);
	/* Spare pages again, so that the hostile maps below get past the reservation. */
	CHECK_EQ(host_topup(16), 16);
}

static void test_unmap_no_stale_tlb(void)
{
	u64 done, tlbi[NR_SMMUS], syncs[NR_SMMUS];
	phys_addr_t pa;
	int i, p;

	for (i = 0; i < NR_SMMUS; i++) {
		tlbi[i] = smmu_model_stats(models[i])->tlbi_ipa;
		syncs[i] = smmu_model_stats(models[i])->syncs;
	}
	CHECK_EQ(__pkvm_iommu_unmap(domain_id, MAP_IOVA, NR_MAP_PAGES * PAGE_SIZE, 0,
				    &done), 0);
	CHECK_EQ(done, NR_MAP_PAGES * PAGE_SIZE);
	for (i = 0; i < NR_SMMUS; i++) {
		/* One range invalidation (8 pages: one command) and one sync. */
		CHECK_EQ(smmu_model_stats(models[i])->tlbi_ipa, tlbi[i] + 1);
		CHECK_EQ(smmu_model_stats(models[i])->syncs, syncs[i] + 1);
		for (p = 0; p < NR_MAP_PAGES; p++) {
			CHECK(!smmu_model_tlb_reaches(models[i], map_phys + p * PAGE_SIZE));
			CHECK(smmu_model_dma(models[i], smmu_sid[i],
					     MAP_IOVA + p * PAGE_SIZE, false, &pa) < 0);
		}
	}
	for (p = 0; p < NR_MAP_PAGES; p++) {
		CHECK_EQ(el2_page(map_phys + p * PAGE_SIZE)->host, EL2_OWNED);
		CHECK_EQ(el2_page(map_phys + p * PAGE_SIZE)->share_dma_count, 0);
		CHECK_EQ(__pkvm_iommu_iova_to_phys(domain_id, MAP_IOVA + p * PAGE_SIZE,
						   &pa), -ENOENT);
	}
	/* Unmapping a hole is fine and invalidates nothing. */
	CHECK_EQ(__pkvm_iommu_unmap(domain_id, MAP_IOVA, PAGE_SIZE, 0, &done), 0);
	CHECK_EQ(done, PAGE_SIZE);
	CHECK_EQ(smmu_model_stats(models[0])->tlbi_ipa, tlbi[0] + 1);
	CHECK_EQ(el2_cpu_tlbi_count, 0);
}

/* Fill every SMMU's TLB with the mapping of [MAP_IOVA, + NR_MAP_PAGES pages). */
static void dma_all_mapped(void)
{
	phys_addr_t pa;
	int i, p;

	for (i = 0; i < NR_SMMUS; i++) {
		for (p = 0; p < NR_MAP_PAGES; p++) {
			CHECK_EQ(smmu_model_dma(models[i], smmu_sid[i],
						MAP_IOVA + p * PAGE_SIZE, true, &pa), 0);
			CHECK_EQ(pa, map_phys + p * PAGE_SIZE);
		}
	}
}

/*
 * A flush queue's unmap (PKVM_IOMMU_UNMAP_DEFER): no command, the pages are
 * the host's again at once and the SMMUs may still reach them through their
 * TLBs; before any page leaves the host, every SMMU left stale is
 * invalidated, once, and __pkvm_iommu_flush() does the same for a domain.
 */
static void test_unmap_deferred(void)
{
	const u64 rw = PKVM_IOMMU_PROT_READ | PKVM_IOMMU_PROT_WRITE;
	const u64 size = NR_MAP_PAGES * PAGE_SIZE, pfn = hyp_phys_to_pfn(map_phys);
	u64 done, cmds[NR_SMMUS], all[NR_SMMUS];
	phys_addr_t pa;
	int i, p;

	CHECK_EQ(map_topup(domain_id, MAP_IOVA, map_phys, size, rw, &done), 0);
	dma_all_mapped();
	CHECK_EQ(__pkvm_iommu_unmap(domain_id, MAP_IOVA, size, 2, &done), -EINVAL);
	CHECK_EQ(__pkvm_iommu_unmap(domain_id, MAP_IOVA, size, U64_MAX, &done), -EINVAL);
	for (i = 0; i < NR_SMMUS; i++) {
		cmds[i] = smmu_model_stats(models[i])->cmds;
		all[i] = smmu_model_stats(models[i])->tlbi_all;
	}
	CHECK_EQ(__pkvm_iommu_unmap(domain_id, MAP_IOVA, size, PKVM_IOMMU_UNMAP_DEFER,
				    &done), 0);
	CHECK_EQ(done, size);
	for (p = 0; p < NR_MAP_PAGES; p++) {
		CHECK_EQ(el2_page(map_phys + p * PAGE_SIZE)->host, EL2_OWNED);
		CHECK_EQ(el2_page(map_phys + p * PAGE_SIZE)->share_dma_count, 0);
		CHECK_EQ(__pkvm_iommu_iova_to_phys(domain_id, MAP_IOVA + p * PAGE_SIZE,
						   &pa), -ENOENT);
	}
	for (i = 0; i < NR_SMMUS; i++) {
		CHECK_EQ(smmu_model_stats(models[i])->cmds, cmds[i]);
		/* Stale, as with any IOMMU's flush queue: the host's own pages. */
		CHECK_EQ(smmu_model_dma(models[i], smmu_sid[i], MAP_IOVA, true, &pa), 0);
		CHECK_EQ(pa, map_phys);
	}

	/* The first page leaves the host: no SMMU reaches any page any more. */
	CHECK_EQ(__pkvm_host_donate_hyp(pfn, 1), 0);
	for (i = 0; i < NR_SMMUS; i++) {
		CHECK_EQ(smmu_model_stats(models[i])->tlbi_all, all[i] + 1);
		for (p = 0; p < NR_MAP_PAGES; p++)
			CHECK(!smmu_model_tlb_reaches(models[i], map_phys + p * PAGE_SIZE));
		CHECK(smmu_model_dma(models[i], smmu_sid[i], MAP_IOVA, true, &pa) < 0);
	}
	/* Nothing is stale any more: the next page costs no such invalidation. */
	CHECK_EQ(__pkvm_host_donate_hyp(pfn + 1, 1), 0);
	for (i = 0; i < NR_SMMUS; i++)
		CHECK_EQ(smmu_model_stats(models[i])->tlbi_all, all[i] + 1);
	CHECK_EQ(__pkvm_hyp_donate_host(pfn, 2), 0);

	/* The flush queue's flush: one invalidation per stale SMMU, then none. */
	CHECK_EQ(map_topup(domain_id, MAP_IOVA, map_phys, size, rw, &done), 0);
	dma_all_mapped();
	CHECK_EQ(__pkvm_iommu_unmap(domain_id, MAP_IOVA, size, PKVM_IOMMU_UNMAP_DEFER,
				    &done), 0);
	CHECK(smmu_model_tlb_reaches(models[0], map_phys));
	CHECK_EQ(__pkvm_iommu_flush(domain_id), 0);
	for (i = 0; i < NR_SMMUS; i++) {
		CHECK_EQ(smmu_model_stats(models[i])->tlbi_all, all[i] + 2);
		for (p = 0; p < NR_MAP_PAGES; p++)
			CHECK(!smmu_model_tlb_reaches(models[i], map_phys + p * PAGE_SIZE));
		cmds[i] = smmu_model_stats(models[i])->cmds;
	}
	CHECK_EQ(__pkvm_iommu_flush(domain_id), 0);
	for (i = 0; i < NR_SMMUS; i++)
		CHECK_EQ(smmu_model_stats(models[i])->cmds, cmds[i]);
	CHECK_EQ(__pkvm_iommu_flush(PKVM_IOMMU_MAX_DOMAINS), -ENOENT);
	CHECK_EQ(__pkvm_iommu_flush(U64_MAX), -ENOENT);

	/* Pages leaving in a batch (a top-up): invalidated by the batch's end. */
	CHECK_EQ(map_topup(domain_id, MAP_IOVA, map_phys, size, rw, &done), 0);
	dma_all_mapped();
	CHECK_EQ(__pkvm_iommu_unmap(domain_id, MAP_IOVA, size, PKVM_IOMMU_UNMAP_DEFER,
				    &done), 0);
	CHECK_EQ(host_topup(2), 2);
	for (i = 0; i < NR_SMMUS; i++) {
		CHECK_EQ(smmu_model_stats(models[i])->tlbi_all, all[i] + 3);
		for (p = 0; p < NR_MAP_PAGES; p++)
			CHECK(!smmu_model_tlb_reaches(models[i], map_phys + p * PAGE_SIZE));
	}
	CHECK_EQ(el2_cpu_tlbi_count, 0);
}

/* Host MMIO: a peer device's BAR, and a GIC ITS's doorbell page. */
#define PEER_BAR	0x10000000ULL
#define PEER_PAGES	4
#define PEER_IOVA	0x3000000ULL
#define DOORBELL	0x08090000ULL

/*
 * Peer-to-peer DMA: a paging domain maps another device's BAR (host MMIO),
 * borrowed while mapped, every device reaches it; never an SMMU's own
 * registers, never a range across memory, and the doorbell only alone and
 * write-only (never counted as borrowed).
 * Unmapped, it is out of every TLB.
 */
static void test_peer_mmio(void)
{
	u64 rw = PKVM_IOMMU_PROT_READ | PKVM_IOMMU_PROT_WRITE, done;
	u64 hyp = hyp_pages(), iova = PEER_IOVA + 16 * PAGE_SIZE;
	phys_addr_t pa;
	int i, p;

	CHECK_EQ(__pkvm_iommu_register_doorbell(DOORBELL), 0);
	CHECK_EQ(map(domain_id, PEER_IOVA, PEER_BAR, PEER_PAGES * PAGE_SIZE, rw), 0);
	CHECK_EQ(el2_mmio_borrowed, PEER_PAGES);
	/* Device memory (MemAttr[3:2] == 0), unlike a page of memory beside it. */
	CHECK_EQ(map(domain_id, PEER_IOVA + 32 * PAGE_SIZE, map_phys, PAGE_SIZE, rw), 0);
	CHECK_EQ(smmu_model_memattr(models[0], smmu_sid[0], PEER_IOVA) & ~3, 0);
	CHECK_EQ(smmu_model_memattr(models[0], smmu_sid[0], PEER_IOVA + 32 * PAGE_SIZE),
		 MT_S2_NORMAL);
	for (i = 0; i < NR_SMMUS; i++) {
		for (p = 0; p < PEER_PAGES; p++) {
			CHECK_EQ(smmu_model_dma(models[i], smmu_sid[i],
						PEER_IOVA + p * PAGE_SIZE + 8, p & 1, &pa), 0);
			CHECK_EQ(pa, PEER_BAR + p * PAGE_SIZE + 8);
		}
	}
	CHECK_EQ(hyp_pages(), hyp);

	CHECK_EQ(map(domain_id, iova, smmu_mmio[0], PAGE_SIZE, rw), -EPERM);
	CHECK_EQ(map(domain_id, iova, smmu_mmio[1] - PAGE_SIZE, 2 * PAGE_SIZE, rw), -EPERM);
	CHECK_EQ(map(domain_id, iova, EL2_MEM_BASE - PAGE_SIZE, 2 * PAGE_SIZE, rw), -EINVAL);
	CHECK_EQ(map(domain_id, iova, DOORBELL - PAGE_SIZE, 2 * PAGE_SIZE,
		     PKVM_IOMMU_PROT_WRITE), -EPERM);
	CHECK_EQ(map(domain_id, iova, DOORBELL, PAGE_SIZE, rw), -EPERM);
	CHECK_EQ(__pkvm_iommu_iova_to_phys(domain_id, iova, &pa), -ENOENT);
	CHECK_EQ(map(domain_id, iova, DOORBELL, PAGE_SIZE, PKVM_IOMMU_PROT_WRITE), 0);
	CHECK_EQ(smmu_model_dma(models[0], smmu_sid[0], iova + 0x40, true, &pa), 0);
	CHECK_EQ(pa, DOORBELL + 0x40);
	CHECK(smmu_model_dma(models[0], smmu_sid[0], iova + 0x40, false, &pa) < 0);

	/* Deferred, but a BAR is in the range: strict (invalidated below). */
	CHECK_EQ(__pkvm_iommu_unmap(domain_id, PEER_IOVA, 33 * PAGE_SIZE,
				    PKVM_IOMMU_UNMAP_DEFER, &done), 0);
	CHECK_EQ(done, 33 * PAGE_SIZE);
	CHECK_EQ(el2_page(map_phys)->share_dma_count, 0);
	/* The BAR's borrow ends; the doorbell was never counted. */
	CHECK_EQ(el2_mmio_borrowed, 0);
	for (i = 0; i < NR_SMMUS; i++) {
		CHECK(!smmu_model_tlb_reaches(models[i], PEER_BAR));
		CHECK(smmu_model_dma(models[i], smmu_sid[i], PEER_IOVA, true, &pa) < 0);
	}
	CHECK(smmu_model_dma(models[0], smmu_sid[0], iova, true, &pa) < 0);
	CHECK_EQ(hyp_pages(), hyp);
}

static void test_hostile_args(void)
{
	u64 needed, done, info[2], evt[PKVM_SMMU_EVT_DWORDS];
	phys_addr_t pair = el2_host_alloc(2, 2), hyp_page = pair + PAGE_SIZE, pa;
	const u64 rw = PKVM_IOMMU_PROT_READ | PKVM_IOMMU_PROT_WRITE;
	const u64 bad_ids[] = { PKVM_IOMMU_MAX_DOMAINS, U32_MAX, U64_MAX, 1ULL << 63 };
	/* The broken SMMU, a free slot, out of range. */
	const u64 bad_smmus[] = { NR_SMMUS + 1, NR_SMMUS + 2, PKVM_SMMU_MAX, U64_MAX,
				  1ULL << 32 };
	unsigned int i;

	/* A hyp page right after a host page. */
	CHECK_EQ(__pkvm_host_donate_hyp(hyp_phys_to_pfn(hyp_page), 1), 0);
	for (i = 0; i < ARRAY_SIZE(bad_ids); i++) {
		CHECK_EQ(__pkvm_iommu_attach(bad_ids[i], smmu_idx[0], 1, &needed), -ENOENT);
		CHECK_EQ(__pkvm_iommu_detach(bad_ids[i], smmu_idx[0], 1), -ENOENT);
		CHECK_EQ(__pkvm_iommu_map(bad_ids[i], 0, map_phys, PAGE_SIZE, rw, &done,
					  &needed), -ENOENT);
		CHECK_EQ(__pkvm_iommu_unmap(bad_ids[i], 0, PAGE_SIZE, 0, &done), -ENOENT);
		CHECK_EQ(__pkvm_iommu_iova_to_phys(bad_ids[i], 0, &pa), -ENOENT);
		CHECK(__pkvm_iommu_free_domain(bad_ids[i]) == -EINVAL);
		CHECK_EQ(__pkvm_iommu_domain_info(bad_ids[i], 0, info), -ENOENT);
	}
	CHECK_EQ(__pkvm_iommu_free_domain(domain_id + 1), -ENOENT);
	/* The benchmark's knob: one knob, on or off. */
	CHECK_EQ(__pkvm_iommu_bench_knob(0, 1), -EINVAL);
	CHECK_EQ(__pkvm_iommu_bench_knob(PKVM_IOMMU_BENCH_LOCKED_INVS, 2), -EINVAL);
	CHECK_EQ(__pkvm_iommu_bench_knob(U64_MAX, U64_MAX), -EINVAL);
	for (i = 0; i < ARRAY_SIZE(bad_smmus); i++) {
		CHECK_EQ(__pkvm_iommu_attach(domain_id, bad_smmus[i], 1, &needed), -EINVAL);
		CHECK_EQ(__pkvm_iommu_detach(domain_id, bad_smmus[i], 1), -EINVAL);
		CHECK_EQ(__pkvm_smmu_pop_event(bad_smmus[i], evt), -EINVAL);
	}
	/* Stream ids beyond the stream table. */
	CHECK_EQ(__pkvm_iommu_attach(domain_id, smmu_idx[0], 1 << 16, &needed), -EINVAL);
	CHECK_EQ(__pkvm_iommu_attach(domain_id, smmu_idx[0], U64_MAX, &needed), -EINVAL);
	/* Not attached there. */
	CHECK_EQ(__pkvm_iommu_detach(domain_id, smmu_idx[0], 0x11), -ENOENT);

	/* Ranges: alignment, size, overflow, beyond the domain's input size. */
	CHECK_EQ(__pkvm_iommu_map(domain_id, 1, map_phys, PAGE_SIZE, rw, &done, &needed),
		 -EINVAL);
	CHECK_EQ(__pkvm_iommu_map(domain_id, 0, map_phys + 1, PAGE_SIZE, rw, &done,
				  &needed), -EINVAL);
	CHECK_EQ(__pkvm_iommu_map(domain_id, 0, map_phys, 0, rw, &done, &needed), -EINVAL);
	CHECK_EQ(__pkvm_iommu_map(domain_id, 0, map_phys, PAGE_SIZE + 1, rw, &done,
				  &needed), -EINVAL);
	CHECK_EQ(__pkvm_iommu_map(domain_id, -PAGE_SIZE, map_phys, 2 * PAGE_SIZE, rw,
				  &done, &needed), -EINVAL);
	CHECK_EQ(__pkvm_iommu_map(domain_id, BIT_ULL(PKVM_IOMMU_IAS), map_phys,
				  PAGE_SIZE, rw, &done, &needed), -EINVAL);
	CHECK_EQ(__pkvm_iommu_map(domain_id, 0, -PAGE_SIZE, 2 * PAGE_SIZE, rw, &done,
				  &needed), -EINVAL);
	CHECK_EQ(__pkvm_iommu_map(domain_id, 0, map_phys, PAGE_SIZE, 0, &done, &needed),
		 -EINVAL);
	CHECK_EQ(__pkvm_iommu_map(domain_id, 0, map_phys, PAGE_SIZE, 4, &done, &needed),
		 -EINVAL);
	CHECK_EQ(__pkvm_iommu_unmap(domain_id, 1, PAGE_SIZE, 0, &done), -EINVAL);
	CHECK_EQ(__pkvm_iommu_unmap(domain_id, 0, 0, 0, &done), -EINVAL);
	CHECK_EQ(__pkvm_iommu_unmap(domain_id, -PAGE_SIZE, 2 * PAGE_SIZE, 0, &done), -EINVAL);
	CHECK_EQ(__pkvm_iommu_iova_to_phys(domain_id, BIT_ULL(PKVM_IOMMU_IAS), &pa),
		 -EINVAL);

	/* Memory the host does not own, MMIO, a range leaving memory. */
	CHECK_EQ(__pkvm_iommu_map(domain_id, 0, hyp_page, PAGE_SIZE, rw, &done, &needed),
		 -EPERM);
	CHECK_EQ(__pkvm_iommu_map(domain_id, 0, smmu_mmio[0], PAGE_SIZE, rw, &done,
				  &needed), -EPERM);
	CHECK_EQ(__pkvm_iommu_map(domain_id, 0, EL2_MEM_BASE + EL2_MEM_SIZE - PAGE_SIZE,
				  2 * PAGE_SIZE, rw, &done, &needed), -EINVAL);
	/* A run that ends in a hyp page is refused as a whole. */
	CHECK_EQ(__pkvm_iommu_map(domain_id, 0, hyp_page - PAGE_SIZE, 2 * PAGE_SIZE, rw,
				  &done, &needed), -EPERM);
	CHECK_EQ(el2_page(hyp_page - PAGE_SIZE)->share_dma_count, 0);
	CHECK_EQ(__pkvm_iommu_iova_to_phys(domain_id, 0, &pa), -ENOENT);

	/* With streams attached the domain cannot be freed. */
	CHECK_EQ(__pkvm_iommu_free_domain(domain_id), -EBUSY);
	CHECK_EQ(__pkvm_hyp_donate_host(hyp_phys_to_pfn(hyp_page), 1), 0);
	el2_host_free(pair, 2);
}

/*
 * The ATS SMMU's TLB holds translations under VMIDs 1..STALE_VMIDS from a
 * previous user. The VMID a domain gets there is invalidated before its
 * first STE goes in, and only that VMID.
 */
static void test_fresh_vmid_invalidated(void)
{
	u64 vmall = smmu_model_stats(ats_model)->tlbi_vmall, info[2];
	phys_addr_t hyp_page = some_hyp_page(), pa;
	unsigned int v, entries;
	u16 vmid;

	for (v = 1; v <= STALE_VMIDS; v++)
		smmu_model_tlb_plant(ats_model, v, STALE_IOVA, hyp_page);
	entries = smmu_model_tlb_entries(ats_model);
	CHECK_EQ(entries, STALE_VMIDS);

	domain2 = alloc_domain(PKVM_IOMMU_DOMAIN_S2);
	CHECK(domain2 >= 0 && domain2 != domain_id);
	CHECK_EQ(attach(domain2, ats_idx, ATS_SID), 0);
	l2_tables++;
	CHECK_EQ(__pkvm_iommu_domain_info(domain2, ats_idx, info), 0);
	vmid = info[0] & 0xffff;
	CHECK(vmid >= 1 && vmid <= STALE_VMIDS);
	CHECK_EQ(smmu_model_stats(ats_model)->tlbi_vmall, vmall + 1);
	CHECK(!smmu_model_tlb_has(ats_model, vmid, STALE_IOVA));
	CHECK_EQ(smmu_model_tlb_entries(ats_model), entries - 1);
	/* The domain maps nothing there: the stale translation is not used. */
	CHECK(smmu_model_dma(ats_model, ATS_SID, STALE_IOVA, false, &pa) < 0);
	CHECK(smmu_model_dma(ats_model, ATS_SID, STALE_IOVA, true, &pa) < 0);
}

/* The IOVA of slot @s of the bounded-free domain: 1 GiB slots far apart. */
static u64 free_slot_iova(int s)
{
	return (u64)(3 + 60 * s) * SZ_1G + (u64)s * (SZ_2M + PAGE_SIZE);
}

/*
 * Freeing a domain that maps pages in FREE_SLOTS distinct 1 GiB slots: a
 * bounded step per call (-EAGAIN until done), unreachable for every other
 * hypercall meanwhile, and every page back where it came from.
 */
static void test_bounded_free(void)
{
	const u64 rw = PKVM_IOMMU_PROT_READ | PKVM_IOMMU_PROT_WRITE;
	phys_addr_t pages = el2_host_alloc(FREE_SLOTS, 1), pa;
	u64 vmall, base, done, needed, info[2], back;
	int s, ret, calls;

	for (s = 0; s < FREE_SLOTS; s++)
		CHECK_EQ(map(domain2, free_slot_iova(s), pages + s * PAGE_SIZE, PAGE_SIZE,
			     rw), 0);
	for (s = 0; s < FREE_SLOTS; s++) {
		CHECK_EQ(smmu_model_dma(ats_model, ATS_SID, free_slot_iova(s) + 8, true,
					&pa), 0);
		CHECK_EQ(pa, pages + s * PAGE_SIZE + 8);
		check_borrowed(pages + s * PAGE_SIZE);
	}
	/* With a stream attached it cannot be freed. */
	CHECK_EQ(__pkvm_iommu_free_domain(domain2), -EBUSY);
	vmall = smmu_model_stats(ats_model)->tlbi_vmall;
	CHECK_EQ(__pkvm_iommu_detach(domain2, ats_idx, ATS_SID), 0);
	CHECK_EQ(smmu_model_stats(ats_model)->tlbi_vmall, vmall + 1);
	CHECK_EQ(smmu_model_dma(ats_model, ATS_SID, free_slot_iova(0), false, &pa),
		 -EPERM);

	/* From here on, pages coming back to the memcache are the free's. */
	drain_memcache();
	base = hyp_pages();

	CHECK_EQ(__pkvm_iommu_free_domain(domain2), -EAGAIN);
	/* Dying: nothing but the free names it. */
	CHECK_EQ(__pkvm_iommu_map(domain2, 0, pages, PAGE_SIZE, rw, &done, &needed),
		 -ENOENT);
	CHECK_EQ(__pkvm_iommu_unmap(domain2, free_slot_iova(FREE_SLOTS - 1), PAGE_SIZE, 0,
				    &done), -ENOENT);
	CHECK_EQ(__pkvm_iommu_attach(domain2, ats_idx, ATS_SID, &needed), -ENOENT);
	CHECK_EQ(__pkvm_iommu_detach(domain2, ats_idx, ATS_SID), -ENOENT);
	CHECK_EQ(__pkvm_iommu_iova_to_phys(domain2, free_slot_iova(FREE_SLOTS - 1), &pa),
		 -ENOENT);
	CHECK_EQ(__pkvm_iommu_domain_info(domain2, ats_idx, info), -ENOENT);
	/* One step did part of the work: the first slot is back, the last is not. */
	CHECK_EQ(el2_page(pages)->host, EL2_OWNED);
	CHECK_EQ(el2_page(pages + (FREE_SLOTS - 1) * PAGE_SIZE)->host, EL2_SHARED_OWNED);

	calls = 1;
	while ((ret = __pkvm_iommu_free_domain(domain2)) == -EAGAIN && calls < 100)
		calls++;
	calls++;
	CHECK_EQ(ret, 0);
	printf("# free_domain of %d slots took %d calls (at most %d)\n", FREE_SLOTS,
	       calls, (int)FREE_MAX_CALLS);
	CHECK(calls >= 3 && calls <= FREE_MAX_CALLS);
	CHECK_EQ(__pkvm_iommu_free_domain(domain2), -ENOENT);

	for (s = 0; s < FREE_SLOTS; s++) {
		CHECK_EQ(el2_page(pages + s * PAGE_SIZE)->host, EL2_OWNED);
		CHECK_EQ(el2_page(pages + s * PAGE_SIZE)->share_dma_count, 0);
	}
	/* The domain, its root, and a level-2 and level-3 table per slot. */
	back = drain_memcache();
	CHECK_EQ(back, 2 + 2 * FREE_SLOTS);
	CHECK_EQ(hyp_pages(), base - back);
	el2_host_free(pages, FREE_SLOTS);
	domain2 = -1;
}

static void test_detach_free_reclaim(void)
{
	u64 done, vmall[NR_SMMUS];
	phys_addr_t pa;
	int i, ret, steps = 0, got;

	/* Leave something mapped: freeing the domain must unmap it. */
	CHECK_EQ(map_topup(domain_id, MAP_IOVA, map_phys, 2 * PAGE_SIZE,
			   PKVM_IOMMU_PROT_READ, &done), 0);
	for (i = 0; i < NR_SMMUS; i++) {
		CHECK_EQ(smmu_model_dma(models[i], smmu_sid[i], MAP_IOVA, false, &pa), 0);
		CHECK_EQ(smmu_model_dma(models[i], smmu_sid[i], MAP_IOVA, true, &pa),
			 -EACCES);
		vmall[i] = smmu_model_stats(models[i])->tlbi_vmall;
		CHECK_EQ(__pkvm_iommu_detach(domain_id, smmu_idx[i], smmu_sid[i]), 0);
		CHECK_EQ(__pkvm_iommu_detach(domain_id, smmu_idx[i], smmu_sid[i]), -ENOENT);
		/* The last stream on this SMMU: its VMID is invalidated. */
		CHECK_EQ(smmu_model_stats(models[i])->tlbi_vmall, vmall[i] + 1);
		CHECK(!smmu_model_tlb_reaches(models[i], map_phys));
		CHECK_EQ(smmu_model_dma(models[i], smmu_sid[i], MAP_IOVA, false, &pa),
			 -EPERM);
		CHECK_EQ(smmu_model_stats(models[i])->bypass, 1);
	}
	while ((ret = __pkvm_iommu_free_domain(domain_id)) == -EAGAIN)
		steps++;
	CHECK_EQ(ret, 0);
	printf("# free_domain took %d -EAGAIN steps\n", steps);
	CHECK_EQ(__pkvm_iommu_free_domain(domain_id), -ENOENT);
	CHECK_EQ(el2_page(map_phys)->host, EL2_OWNED);
	CHECK_EQ(el2_page(map_phys)->share_dma_count, 0);

	while ((got = __pkvm_iommu_reclaim(PKVM_IOMMU_TOPUP_MAX)) > 0)
		;
	CHECK_EQ(got, 0);
	/*
	 * Every page accounted for: the SMMUs' tables (and the level-2 stream
	 * tables, which stay installed) are the hypervisor's; all else is back
	 * with the host.
	 */
	printf("# hyp pages after reclaim: %llu (registration: %llu, L2: %llu)\n",
	       (unsigned long long)hyp_pages(), (unsigned long long)smmu_pages,
	       (unsigned long long)l2_tables);
	CHECK_EQ(hyp_pages(), smmu_pages + l2_tables);
	CHECK_EQ(el2_count_state(EL2_OWNED, EL2_NOPAGE) + hyp_pages(), EL2_MEM_PAGES);
	CHECK_EQ(el2_cpu_tlbi_count, 0);
}

/* Pages of one unmap, each a run of its own: more than the unmap records. */
#define SCATTER_PAGES	64
#define SCATTER_IOVA	0x2000000ULL

/*
 * One unmap call over SCATTER_PAGES pages that are not physically adjacent,
 * each cached in the TLBs of both SMMUs: it unmaps them all, with one
 * CMD_SYNC per SMMU, and gives every page back. Again with SMMU 0 rejecting
 * the invalidation: the unmap fails, every page stays borrowed and its IOVA
 * cannot be mapped again; a later unmap, the SMMU working again, invalidates
 * again and gives every page back.
 */
static void test_unmap_scattered(void)
{
	const u64 rw = PKVM_IOMMU_PROT_READ | PKVM_IOMMU_PROT_WRITE;
	const u64 size = SCATTER_PAGES * PAGE_SIZE;
	phys_addr_t pages[SCATTER_PAGES], pa;
	u64 syncs[NR_SMMUS], done;
	int d, i, p, ret;

	d = alloc_domain(PKVM_IOMMU_DOMAIN_S2);
	CHECK(d >= 0);
	for (i = 0; i < NR_SMMUS; i++)
		CHECK_EQ(attach(d, smmu_idx[i], smmu_sid[i]), 0);
	for (p = 0; p < SCATTER_PAGES; p++)
		pages[p] = el2_host_alloc(2, 1);

	for (p = 0; p < SCATTER_PAGES; p++) {
		CHECK_EQ(map(d, SCATTER_IOVA + p * PAGE_SIZE, pages[p], PAGE_SIZE, rw), 0);
		for (i = 0; i < NR_SMMUS; i++)
			CHECK_EQ(smmu_model_dma(models[i], smmu_sid[i],
						SCATTER_IOVA + p * PAGE_SIZE, true, &pa), 0);
	}
	for (i = 0; i < NR_SMMUS; i++)
		syncs[i] = smmu_model_stats(models[i])->syncs;
	CHECK_EQ(__pkvm_iommu_unmap(d, SCATTER_IOVA, size, 0, &done), 0);
	CHECK_EQ(done, size);
	for (i = 0; i < NR_SMMUS; i++) {
		CHECK_EQ(smmu_model_stats(models[i])->syncs - syncs[i], 1);
		for (p = 0; p < SCATTER_PAGES; p++) {
			CHECK(!smmu_model_tlb_reaches(models[i], pages[p]));
			CHECK(smmu_model_dma(models[i], smmu_sid[i],
					     SCATTER_IOVA + p * PAGE_SIZE, false, &pa) < 0);
		}
	}
	for (p = 0; p < SCATTER_PAGES; p++) {
		CHECK_EQ(el2_page(pages[p])->host, EL2_OWNED);
		CHECK_EQ(el2_page(pages[p])->share_dma_count, 0);
	}

	for (p = 0; p < SCATTER_PAGES; p++) {
		CHECK_EQ(map(d, SCATTER_IOVA + p * PAGE_SIZE, pages[p], PAGE_SIZE, rw), 0);
		CHECK_EQ(smmu_model_dma(models[0], smmu_sid[0], SCATTER_IOVA + p * PAGE_SIZE,
					true, &pa), 0);
	}
	smmu_model_set_fault(models[0], SMMU_MODEL_REJECT_CMD);
	CHECK_EQ(__pkvm_iommu_unmap(d, SCATTER_IOVA, size, 0, &done), -EIO);
	for (p = 0; p < SCATTER_PAGES; p++) {
		check_borrowed(pages[p]);
		CHECK_EQ(__pkvm_iommu_iova_to_phys(d, SCATTER_IOVA + p * PAGE_SIZE, &pa),
			 -ENOENT);
	}
	CHECK(smmu_model_tlb_reaches(models[0], pages[0]));
	/* Not mapped, but not free either: the retired leaf is still there. */
	CHECK_EQ(map(d, SCATTER_IOVA, pages[0] + PAGE_SIZE, PAGE_SIZE, rw), -EEXIST);

	syncs[0] = smmu_model_stats(models[0])->syncs;
	CHECK_EQ(__pkvm_iommu_unmap(d, SCATTER_IOVA, size, 0, &done), 0);
	CHECK_EQ(done, size);
	CHECK_EQ(smmu_model_stats(models[0])->syncs - syncs[0], 1);
	for (p = 0; p < SCATTER_PAGES; p++) {
		CHECK(!smmu_model_tlb_reaches(models[0], pages[p]));
		CHECK_EQ(el2_page(pages[p])->host, EL2_OWNED);
		CHECK_EQ(el2_page(pages[p])->share_dma_count, 0);
	}
	CHECK_EQ(map(d, SCATTER_IOVA, pages[0], PAGE_SIZE, rw), 0);
	CHECK_EQ(__pkvm_iommu_unmap(d, SCATTER_IOVA, PAGE_SIZE, 0, &done), 0);

	for (i = 0; i < NR_SMMUS; i++)
		CHECK_EQ(__pkvm_iommu_detach(d, smmu_idx[i], smmu_sid[i]), 0);
	while ((ret = __pkvm_iommu_free_domain(d)) == -EAGAIN)
		;
	CHECK_EQ(ret, 0);
	for (p = 0; p < SCATTER_PAGES; p++) {
		CHECK_EQ(el2_page(pages[p])->host, EL2_OWNED);
		el2_host_free(pages[p], 2);
	}
}

/*
 * A detach whose CFGI_STE the SMMU rejects fails and leaves the stream
 * attached (the old STE may still be cached): the domain cannot be freed,
 * nothing can be attached there, and a retried detach finishes the job.
 */
static void test_detach_retry(void)
{
	int d, d2, ret;
	u64 info[2];

	d = alloc_domain(PKVM_IOMMU_DOMAIN_S2);
	d2 = alloc_domain(PKVM_IOMMU_DOMAIN_S2);
	CHECK(d >= 0 && d2 >= 0);
	CHECK_EQ(attach(d, smmu_idx[0], smmu_sid[0]), 0);

	smmu_model_set_fault(models[0], SMMU_MODEL_REJECT_CMD);
	CHECK_EQ(__pkvm_iommu_detach(d, smmu_idx[0], smmu_sid[0]), -EIO);
	CHECK_EQ(__pkvm_iommu_domain_info(d, smmu_idx[0], info), 0);
	CHECK_EQ(info[0] >> 16, 1);
	CHECK_EQ(__pkvm_iommu_free_domain(d), -EBUSY);
	CHECK_EQ(attach(d2, smmu_idx[0], smmu_sid[0]), -EBUSY);
	CHECK_EQ(attach(d, smmu_idx[0], smmu_sid[0]), -EBUSY);

	CHECK_EQ(__pkvm_iommu_detach(d, smmu_idx[0], smmu_sid[0]), 0);
	CHECK_EQ(__pkvm_iommu_domain_info(d, smmu_idx[0], info), 0);
	CHECK_EQ(info[0] >> 16, 0);
	CHECK_EQ(__pkvm_iommu_detach(d, smmu_idx[0], smmu_sid[0]), -ENOENT);
	while ((ret = __pkvm_iommu_free_domain(d)) == -EAGAIN)
		;
	CHECK_EQ(ret, 0);
	/* The stream is free again: another domain can have it. */
	CHECK_EQ(attach(d2, smmu_idx[0], smmu_sid[0]), 0);
	CHECK_EQ(__pkvm_iommu_detach(d2, smmu_idx[0], smmu_sid[0]), 0);
	while ((ret = __pkvm_iommu_free_domain(d2)) == -EAGAIN)
		;
	CHECK_EQ(ret, 0);
}

/*
 * An unmap whose invalidation an SMMU does not confirm fails, and its page
 * stays borrowed while the SMMU may still translate to it. Once with a
 * command the SMMU rejects (CMDQ_ERR), once with a CMD_SYNC that never
 * completes; freeing the domain once nothing can use the stale entries gives
 * the pages back.
 */
static void test_fail_closed_unmap(void)
{
	const u64 rw = PKVM_IOMMU_PROT_READ | PKVM_IOMMU_PROT_WRITE;
	phys_addr_t pages = el2_host_alloc(2, 1), pa;
	u64 rejected, stalled, done;
	int d, i, p, ret;

	d = alloc_domain(PKVM_IOMMU_DOMAIN_S2);
	CHECK(d >= 0);
	for (i = 0; i < NR_SMMUS; i++)
		CHECK_EQ(attach(d, smmu_idx[i], smmu_sid[i]), 0);
	CHECK_EQ(map(d, MAP_IOVA, pages, 2 * PAGE_SIZE, rw), 0);
	for (i = 0; i < NR_SMMUS; i++)
		for (p = 0; p < 2; p++)
			CHECK_EQ(smmu_model_dma(models[i], smmu_sid[i],
						MAP_IOVA + p * PAGE_SIZE, false, &pa), 0);

	/* SMMU 0 rejects the TLBI of page 0. */
	rejected = smmu_model_stats(models[0])->rejected;
	smmu_model_set_fault(models[0], SMMU_MODEL_REJECT_CMD);
	ret = __pkvm_iommu_unmap(d, MAP_IOVA, PAGE_SIZE, 0, &done);
	CHECK_EQ(ret, -EIO);
	CHECK_EQ(smmu_model_stats(models[0])->rejected, rejected + 1);
	/* It still translates from its TLB; SMMU 1 did invalidate. */
	CHECK_EQ(smmu_model_dma(models[0], smmu_sid[0], MAP_IOVA, true, &pa), 0);
	CHECK_EQ(pa, pages);
	CHECK(smmu_model_dma(models[1], smmu_sid[1], MAP_IOVA, false, &pa) < 0);
	CHECK_EQ(__pkvm_iommu_iova_to_phys(d, MAP_IOVA, &pa), -ENOENT);
	check_borrowed(pages);
	/*
	 * A flush queue's unmap of that retired leaf, SMMU 0 rejecting again:
	 * a leaf whose invalidation was never confirmed is not deferred, so
	 * the unmap invalidates, fails, and the page stays borrowed.
	 */
	smmu_model_set_fault(models[0], SMMU_MODEL_REJECT_CMD);
	CHECK_EQ(__pkvm_iommu_unmap(d, MAP_IOVA, PAGE_SIZE, PKVM_IOMMU_UNMAP_DEFER, &done),
		 -EIO);
	CHECK_EQ(smmu_model_dma(models[0], smmu_sid[0], MAP_IOVA, true, &pa), 0);
	check_borrowed(pages);

	/* SMMU 1's queue stops: the bounded wait for the CMD_SYNC gives up. */
	stalled = smmu_model_stats(models[1])->stalled;
	smmu_model_set_fault(models[1], SMMU_MODEL_STALL);
	ret = __pkvm_iommu_unmap(d, MAP_IOVA + PAGE_SIZE, PAGE_SIZE, 0, &done);
	CHECK_EQ(ret, -ETIMEDOUT);
	CHECK(smmu_model_stats(models[1])->stalled > stalled);
	CHECK_EQ(smmu_model_dma(models[1], smmu_sid[1], MAP_IOVA + PAGE_SIZE, true, &pa),
		 0);
	CHECK_EQ(pa, pages + PAGE_SIZE);
	check_borrowed(pages + PAGE_SIZE);
	smmu_model_set_fault(models[1], SMMU_MODEL_OK);

	/*
	 * Both SMMUs work again; the host detaches and frees without another
	 * unmap. Once no stream can use the stale entries (each SMMU's VMID
	 * invalidated at its last detach), freeing gives the pages back.
	 */
	for (i = 0; i < NR_SMMUS; i++) {
		CHECK_EQ(__pkvm_iommu_detach(d, smmu_idx[i], smmu_sid[i]), 0);
		CHECK(!smmu_model_tlb_reaches(models[i], pages));
		CHECK(!smmu_model_tlb_reaches(models[i], pages + PAGE_SIZE));
	}
	check_borrowed(pages);
	check_borrowed(pages + PAGE_SIZE);
	while ((ret = __pkvm_iommu_free_domain(d)) == -EAGAIN)
		;
	CHECK_EQ(ret, 0);
	CHECK_EQ(el2_page(pages)->host, EL2_OWNED);
	CHECK_EQ(el2_page(pages + PAGE_SIZE)->host, EL2_OWNED);
	CHECK_EQ(el2_page(pages)->share_dma_count, 0);
	el2_host_free(pages, 2);
}

#define NR_ID_SMMUS	(NR_SMMUS + 1)
static struct smmu_model *id_models[NR_ID_SMMUS];
static u32 id_sids[NR_ID_SMMUS];
static int id_idx[NR_ID_SMMUS];
static int identity_id = -1;

/* After a failed invalidation of the identity domain: every SMMU stopped. */
static void check_all_stopped(phys_addr_t page)
{
	u64 needed, bypass;
	phys_addr_t pa;
	int i;

	for (i = 0; i < NR_ID_SMMUS; i++) {
		bypass = smmu_model_stats(id_models[i])->bypass;
		CHECK(!(smmu_model_cr0ack(id_models[i]) & CR0_SMMUEN));
		CHECK(smmu_model_gbpa(id_models[i]) & GBPA_ABORT);
		CHECK_EQ(smmu_model_dma(id_models[i], id_sids[i], page, false, &pa), -EPERM);
		CHECK_EQ(smmu_model_dma(id_models[i], id_sids[i], page, true, &pa), -EPERM);
		CHECK_EQ(smmu_model_dma(id_models[i], 0, 0, true, &pa), -EPERM);
		CHECK_EQ(smmu_model_stats(id_models[i])->bypass, bypass);
		/* Never driven again. */
		CHECK_EQ(__pkvm_iommu_attach(identity_id, id_idx[i], id_sids[i] + 1,
					     &needed), -EINVAL);
	}
	CHECK_EQ(el2_page(page)->host, EL2_NOPAGE);
	CHECK_EQ(el2_page(page)->hyp, EL2_OWNED);
}

/*
 * The identity domain, attached on three SMMUs: it maps what the host owns
 * and nothing else, and the host cannot change it.
 */
static void test_identity(void)
{
	phys_addr_t page = el2_host_alloc(1, 1), hyp_page = some_hyp_page(), pa;
	/* Kept: the page it shares with the fragment stays out of the identity domain. */
	phys_addr_t nomap = el2_host_alloc(3, 1);
	u64 done, needed;
	int i;

	for (i = 0; i < NR_SMMUS; i++) {
		id_models[i] = models[i];
		id_sids[i] = smmu_sid[i];
		id_idx[i] = smmu_idx[i];
	}
	id_models[NR_SMMUS] = ats_model;
	id_sids[NR_SMMUS] = ATS_SID;
	id_idx[NR_SMMUS] = ats_idx;

	/*
	 * Memory regions that do not end on a page (as memblock_mark_nomap()
	 * leaves them around an ACPI table the kernel installs from its
	 * initrd: 0x47 bytes in the middle of a page; nomap itself is not
	 * modelled). The pages they share are mapped once, all the same.
	 */
	el2_memory_split(page + 0x100, 0x47, 0);
	/*
	 * A nomap region as small (the firmware's ACPI table itself): the
	 * identity domain drops the page it touches whole, as
	 * kvm_pgtable_walk() would, and goes on to the next.
	 */
	el2_memory_split(nomap + PAGE_SIZE + 0x100, 0x47, MEMBLOCK_NOMAP);
	/* The host driver makes it as it probes, before pKVM finalises. */
	kvm_protected_mode_initialized.enabled = false;
	identity_id = alloc_domain(PKVM_IOMMU_DOMAIN_IDENTITY);
	kvm_protected_mode_initialized.enabled = true;
	CHECK(identity_id >= 0);
	CHECK_EQ(__pkvm_iommu_iova_to_phys(identity_id, page + 0x120, &pa), 0);
	CHECK_EQ(pa, page + 0x120);
	CHECK_EQ(__pkvm_iommu_iova_to_phys(identity_id, page + PAGE_SIZE + 8, &pa), 0);
	CHECK_EQ(pa, page + PAGE_SIZE + 8);
	CHECK_EQ(__pkvm_iommu_iova_to_phys(identity_id, nomap + PAGE_SIZE + 0x120, &pa),
		 -ENOENT);
	CHECK_EQ(__pkvm_iommu_iova_to_phys(identity_id, nomap + PAGE_SIZE + 8, &pa), -ENOENT);
	CHECK_EQ(__pkvm_iommu_iova_to_phys(identity_id, nomap + 8, &pa), 0);
	CHECK_EQ(pa, nomap + 8);
	CHECK_EQ(__pkvm_iommu_iova_to_phys(identity_id, nomap + 2 * PAGE_SIZE + 8, &pa), 0);
	CHECK_EQ(pa, nomap + 2 * PAGE_SIZE + 8);
	CHECK_EQ(__pkvm_iommu_alloc_domain(PKVM_IOMMU_DOMAIN_IDENTITY, &needed),
		 identity_id);
	CHECK_EQ(__pkvm_iommu_map(identity_id, page, page, PAGE_SIZE,
				  PKVM_IOMMU_PROT_READ, &done, &needed), -EPERM);
	CHECK_EQ(__pkvm_iommu_unmap(identity_id, page, PAGE_SIZE, 0, &done), -EPERM);
	CHECK_EQ(__pkvm_iommu_free_domain(identity_id), -EPERM);
	CHECK_EQ(__pkvm_iommu_iova_to_phys(identity_id, page + 8, &pa), 0);
	CHECK_EQ(pa, page + 8);
	CHECK_EQ(__pkvm_iommu_iova_to_phys(identity_id, hyp_page, &pa), -ENOENT);

	for (i = 0; i < NR_ID_SMMUS; i++) {
		CHECK_EQ(attach(identity_id, id_idx[i], id_sids[i]), 0);
		CHECK_EQ(smmu_model_dma(id_models[i], id_sids[i], page + 8, true, &pa), 0);
		CHECK_EQ(pa, page + 8);
		CHECK(smmu_model_dma(id_models[i], id_sids[i], hyp_page, false, &pa) < 0);
	}
	el2_host_free(page, 1);
}

/* Pages of a memcache top-up, scattered: a host page between each two. */
#define BATCH_PAGES	64
/* REFILL_BATCH of nvhe/mm.c (patch 0013; el2/memory.c mirrors it). */
#define REFILL_BATCH	32

/*
 * A top-up of BATCH_PAGES scattered host pages, each cached in the TLB of
 * every SMMU of the identity domain: once it returns no SMMU reaches any of
 * them, and each SMMU got one CMD_SYNC per REFILL_BATCH pages, not one per
 * page. Given back, they are mapped again.
 */
static void test_identity_topup_batched(void)
{
	phys_addr_t pages[BATCH_PAGES], head = 0, pa;
	u64 syncs[NR_ID_SMMUS], taken = 0, back;
	int i, p;

	for (p = 0; p < BATCH_PAGES; p++) {
		pages[p] = el2_host_alloc(2, 1);
		CHECK(pages[p]);
		for (i = 0; i < NR_ID_SMMUS; i++)
			CHECK_EQ(smmu_model_dma(id_models[i], id_sids[i], pages[p], true,
						&pa), 0);
	}
	for (i = 0; i < NR_ID_SMMUS; i++) {
		for (p = 0; p < BATCH_PAGES; p++)
			CHECK(smmu_model_tlb_reaches(id_models[i], pages[p]));
		syncs[i] = smmu_model_stats(id_models[i])->syncs;
	}
	for (p = 0; p < BATCH_PAGES; p++) {
		*(phys_addr_t *)el2_host_va(pages[p]) = head;
		head = pages[p];
	}
	CHECK_EQ(__pkvm_iommu_topup(head, BATCH_PAGES, &taken), 0);
	CHECK_EQ(taken, BATCH_PAGES);
	for (i = 0; i < NR_ID_SMMUS; i++) {
		printf("# SMMU %d: %llu CMD_SYNCs for %d pages\n", i,
		       (unsigned long long)(smmu_model_stats(id_models[i])->syncs - syncs[i]),
		       BATCH_PAGES);
		CHECK_EQ(smmu_model_stats(id_models[i])->syncs - syncs[i],
			 BATCH_PAGES / REFILL_BATCH);
		for (p = 0; p < BATCH_PAGES; p++) {
			CHECK(!smmu_model_tlb_reaches(id_models[i], pages[p]));
			CHECK(smmu_model_dma(id_models[i], id_sids[i], pages[p], true,
					     &pa) < 0);
		}
	}
	for (p = 0; p < BATCH_PAGES; p++)
		CHECK_EQ(el2_page(pages[p])->hyp, EL2_OWNED);

	back = drain_memcache();
	CHECK(back >= BATCH_PAGES);
	for (p = 0; p < BATCH_PAGES; p++)
		el2_host_free(pages[p] + PAGE_SIZE, 1);
	for (p = 0; p < BATCH_PAGES; p++) {
		CHECK_EQ(el2_page(pages[p])->host, EL2_OWNED);
		for (i = 0; i < NR_ID_SMMUS; i++) {
			CHECK_EQ(smmu_model_dma(id_models[i], id_sids[i], pages[p], false,
						&pa), 0);
			CHECK_EQ(pa, pages[p]);
		}
	}
}

/*
 * The host donates a page that the identity domain maps on three SMMUs,
 * and one SMMU does not confirm the invalidation: every SMMU of the domain
 * stops (SMMUEN clear, GBPA aborting). In a child process with a stalled
 * queue, then here with a rejected command.
 */
static void test_fail_closed_identity(void)
{
	phys_addr_t page = el2_host_alloc(1, 1), pa;
	u64 rejected;
	int i, status;
	pid_t pid;

	CHECK(identity_id >= 0);
	for (i = 0; i < NR_ID_SMMUS; i++) {
		CHECK_EQ(smmu_model_dma(id_models[i], id_sids[i], page + 8, true, &pa), 0);
		CHECK_EQ(pa, page + 8);
	}

	fflush(stdout);
	pid = fork();
	if (!pid) {
		tap_cur_failed = 0;
		smmu_model_set_fault(ats_model, SMMU_MODEL_STALL);
		CHECK_EQ(__pkvm_host_donate_hyp(hyp_phys_to_pfn(page), 1), 0);
		CHECK(smmu_model_stats(ats_model)->stalled > 0);
		check_all_stopped(page);
		fflush(stdout);
		_exit(tap_cur_failed);
	}
	CHECK(pid > 0);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	rejected = smmu_model_stats(models[1])->rejected;
	smmu_model_set_fault(models[1], SMMU_MODEL_REJECT_CMD);
	CHECK_EQ(__pkvm_host_donate_hyp(hyp_phys_to_pfn(page), 1), 0);
	CHECK_EQ(smmu_model_stats(models[1])->rejected, rejected + 1);
	check_all_stopped(page);
}

/* SMMUs of the LPA2 test: with IDR5.DS, without (but SHCFG), without and refused. */
static const phys_addr_t lpa2_mmio[3] = { 0x09100000, 0x09120000, 0x09140000 };
#define LPA2_SID	0x42
#define LPA2_IOVA	0x3000000ULL
#define LPA2_STE_3_S2DS	BIT_ULL(3)

static void lpa2_ste(void *arg, u32 sid, const u64 *ste, bool cached)
{
	u64 *out = arg;

	if (sid == LPA2_SID)
		memcpy(out, ste, STRTAB_STE_DWORDS * sizeof(u64));
}

/*
 * With FEAT_LPA2 a domain's descriptors carry output address bits 51:50
 * where the older format has shareability. An SMMU with IDR5.DS is told
 * (STE.S2DS) and takes shareability from S2SH0; one without would read the
 * address bits as non-shareable, so STE.SHCFG makes its DMA inner
 * shareable (the model, a coherent SMMU, fails a cacheable access that
 * would not snoop), and it is refused while memory reaches 2^48, where
 * its format ends. Nothing at or above 2^48 is mapped, LPA2 or not.
 */
static void test_lpa2(void)
{
	const u64 lpa2 = 1ULL << (ARM64_HAS_LPA2 % 64);
	struct smmu_model *m[3];
	u64 needed, done, ste[STRTAB_STE_DWORDS];
	phys_addr_t page, pa;
	int i, idx[2], id, ret;

	el2_cpucaps[ARM64_HAS_LPA2 / 64] |= lpa2;
	for (i = 0; i < 3; i++) {
		m[i] = smmu_model_create(lpa2_mmio[i], true);
		smmu_model_set_lpa2(m[i], i == 0, i > 0);
	}
	/* Memory at 2^48, as a 52-bit machine may have: only an SMMU with DS reads it. */
	el2_memory_describe(BIT_ULL(48), SZ_2M);
	CHECK_EQ(__pkvm_smmu_register(lpa2_mmio[2], PKVM_SMMU_MMIO_SIZE, 0, 0, &needed),
		 -EOPNOTSUPP);
	CHECK(!(smmu_model_cr0ack(m[2]) & CR0_SMMUEN));
	CHECK(smmu_model_gbpa(m[2]) & GBPA_ABORT);
	CHECK_EQ(smmu_model_dma(m[2], LPA2_SID, 0, false, &pa), -EPERM);
	idx[0] = register_smmu(lpa2_mmio[0]);
	CHECK(idx[0] >= 0);
	el2_memory_forget_last();
	idx[1] = register_smmu(lpa2_mmio[1]);
	CHECK(idx[1] >= 0);

	id = __pkvm_iommu_alloc_domain(PKVM_IOMMU_DOMAIN_S2, &needed);
	CHECK(id >= 0);
	page = el2_host_alloc(1, 1);
	CHECK_EQ(map_topup(id, LPA2_IOVA, page, PAGE_SIZE,
			   PKVM_IOMMU_PROT_READ | PKVM_IOMMU_PROT_WRITE, &done), 0);
	CHECK_EQ(__pkvm_iommu_map(id, LPA2_IOVA + PAGE_SIZE, BIT_ULL(48), PAGE_SIZE,
				  PKVM_IOMMU_PROT_READ, &done, &needed), -EINVAL);
	for (i = 0; i < 2; i++) {
		while ((ret = __pkvm_iommu_attach(id, idx[i], LPA2_SID, &needed)) == -ENOMEM)
			host_topup(needed);
		CHECK_EQ(ret, 0);
		/* A coherent, shareable DMA to the right page. */
		CHECK_EQ(smmu_model_dma(m[i], LPA2_SID, LPA2_IOVA + 8, true, &pa), 0);
		CHECK_EQ(pa, page + 8);
		CHECK_EQ(smmu_model_stats(m[i])->incoherent, 0);
		memset(ste, 0, sizeof(ste));
		smmu_model_visit_stes(m[i], lpa2_ste, ste);
		CHECK_EQ(!!(ste[3] & LPA2_STE_3_S2DS), i == 0);
		CHECK_EQ(FIELD_GET(STRTAB_STE_1_SHCFG, ste[1]),
			 i == 0 ? STRTAB_STE_1_SHCFG_INCOMING : ARM_SMMU_SH_ISH);
		CHECK_EQ(__pkvm_iommu_detach(id, idx[i], LPA2_SID), 0);
	}
	CHECK_EQ(__pkvm_iommu_unmap(id, LPA2_IOVA, PAGE_SIZE, 0, &done), 0);
	while ((ret = __pkvm_iommu_free_domain(id)) == -EAGAIN)
		;
	CHECK_EQ(ret, 0);
	CHECK_EQ(el2_page(page)->host, EL2_OWNED);
	el2_cpucaps[ARM64_HAS_LPA2 / 64] &= ~lpa2;
}

/*
 * SMMUs with enhanced command queues: refused at registration or
 * quarantined, with their control pages (here two of 64 KiB after register
 * page 1, as CMDQ_CONTROL_PAGE_BASE0 and IDR6 say) taken from the host. One
 * whose pages cannot be taken (its BASE0 points into page 1) makes the
 * quarantine fail, whichever way it came: pKVM then does not finalise.
 */
static const phys_addr_t ecmdq_mmio[6] = {
	0x09200000, 0x09300000, 0x09400000, 0x09600000, 0x09700000, 0x09800000,
};
#define ECMDQ_IDR6	(1U << 24)		/* two control pages */
#define ECMDQ_BASE0	(SZ_128K | 1U << 1)	/* at 128 KiB, 64 KiB granule */
#define ECMDQ_BAD_BASE0	(SZ_64K | 1U << 1)	/* over register page 1 */
#define ECMDQ_BAD_GS	(SZ_128K | 2U << 1)	/* a granule that is not 64 KiB */
#define ECMDQ_BAD_IDR6	(9U << 24)		/* 512 pages: more than the architecture's 256 */

static bool ecmdq_pages_taken(phys_addr_t mmio)
{
	return el2_mmio_hyp_owned(mmio + SZ_128K, mmio + SZ_128K + SZ_64K) &&
	       el2_mmio_hyp_owned(mmio + SZ_128K + SZ_64K, mmio + SZ_256K) &&
	       !el2_mmio_hyp_owned(mmio + SZ_256K, mmio + SZ_256K + SZ_64K);
}

static void test_ecmdq(void)
{
	static const u32 idr6[6] = {
		ECMDQ_IDR6, ECMDQ_IDR6, ECMDQ_IDR6, ECMDQ_IDR6, ECMDQ_IDR6, ECMDQ_BAD_IDR6,
	};
	static const u64 base0[6] = {
		ECMDQ_BASE0, ECMDQ_BASE0, ECMDQ_BAD_BASE0, ECMDQ_BASE0, ECMDQ_BAD_GS, ECMDQ_BASE0,
	};
	struct smmu_model *m[6];
	u64 needed;
	phys_addr_t pa;
	int i;

	for (i = 0; i < 6; i++) {
		m[i] = smmu_model_create(ecmdq_mmio[i], true);
		smmu_model_set_ecmdq(m[i], idr6[i], base0[i]);
		CHECK(!ecmdq_pages_taken(ecmdq_mmio[i]));
	}
	/*
	 * Control pages the hypervisor cannot place: nothing taken, the
	 * quarantine fails, and again when the host tries once more (the frame
	 * is the hypervisor's by then: it must not pass for one held safe).
	 */
	for (i = 4; i < 6; i++) {
		CHECK_EQ(__pkvm_smmu_quarantine(ecmdq_mmio[i], PKVM_SMMU_MMIO_SIZE), -EIO);
		CHECK_EQ(__pkvm_smmu_quarantine(ecmdq_mmio[i], PKVM_SMMU_MMIO_SIZE), -EIO);
		CHECK(!el2_mmio_hyp_owned(ecmdq_mmio[i] + SZ_128K, ecmdq_mmio[i] + SZ_1M));
	}
	/* Refused for something else before its queues are looked at: taken all the same. */
	smmu_model_set_idr1_extra(m[3], IDR1_REL);
	CHECK_EQ(__pkvm_smmu_register(ecmdq_mmio[3], PKVM_SMMU_MMIO_SIZE, 0, 0, &needed),
		 -ENODEV);
	CHECK(ecmdq_pages_taken(ecmdq_mmio[3]));
	CHECK_EQ(__pkvm_smmu_quarantine(ecmdq_mmio[3], PKVM_SMMU_MMIO_SIZE), -EPERM);
	/* Refused at registration: its pages go all the same. */
	CHECK_EQ(__pkvm_smmu_register(ecmdq_mmio[0], PKVM_SMMU_MMIO_SIZE, 0, 0, &needed),
		 -EOPNOTSUPP);
	CHECK(ecmdq_pages_taken(ecmdq_mmio[0]));
	CHECK_EQ(__pkvm_smmu_quarantine(ecmdq_mmio[0], PKVM_SMMU_MMIO_SIZE), -EPERM);
	/* Quarantined without a registration. */
	CHECK_EQ(__pkvm_smmu_quarantine(ecmdq_mmio[1], PKVM_SMMU_MMIO_SIZE), 0);
	CHECK(ecmdq_pages_taken(ecmdq_mmio[1]));
	/* Pages that cannot be taken: the quarantine fails, now and later. */
	CHECK_EQ(__pkvm_smmu_register(ecmdq_mmio[2], PKVM_SMMU_MMIO_SIZE, 0, 0, &needed),
		 -EOPNOTSUPP);
	CHECK_EQ(__pkvm_smmu_quarantine(ecmdq_mmio[2], PKVM_SMMU_MMIO_SIZE), -EIO);
	CHECK_EQ(__pkvm_smmu_quarantine(ecmdq_mmio[2], SZ_64K), -EIO);
	for (i = 0; i < 6; i++) {
		CHECK(!(smmu_model_cr0ack(m[i]) & CR0_SMMUEN));
		CHECK(smmu_model_gbpa(m[i]) & GBPA_ABORT);
		CHECK_EQ(smmu_model_dma(m[i], 0, 0, true, &pa), -EPERM);
	}
}

/*
 * SMMUv3 PMCGs, handed over before pKVM finalises: both frames become the
 * hypervisor's, and the group stops counting, its interrupt disabled and its
 * MSI address cleared. One that does not acknowledge the disable keeps its
 * MSI address and the call fails (pKVM does not finalise); one inside a
 * frame the hypervisor holds already is left as it is.
 */
#define PMCG_PAGE0	0x09500000ULL
#define PMCG_PAGE1	0x09510000ULL
#define PMCG_DEAF	0x09520000ULL
#define PMCG_DEAF_PAGE1	0x09540000ULL

static void test_pmcg(void)
{
	struct pmcg_model *p = pmcg_model_create(PMCG_PAGE0, true, true);
	struct pmcg_model *deaf = pmcg_model_create(PMCG_DEAF, false, false);
	u32 cr, irq_ctrl;
	u64 cfg0;

	/* Frames that are not page-aligned, empty, too large, or half-named. */
	CHECK_EQ(__pkvm_smmu_take_pmcg(PMCG_PAGE0 + 8, SZ_4K, 0, 0), -EINVAL);
	CHECK_EQ(__pkvm_smmu_take_pmcg(PMCG_PAGE0, 0, 0, 0), -EINVAL);
	CHECK_EQ(__pkvm_smmu_take_pmcg(PMCG_PAGE0, SZ_128K, 0, 0), -EINVAL);
	CHECK_EQ(__pkvm_smmu_take_pmcg(PMCG_PAGE0, SZ_4K, PMCG_PAGE1, 0), -EINVAL);
	CHECK_EQ(__pkvm_smmu_take_pmcg(PMCG_PAGE0, SZ_4K, PMCG_PAGE1 + 8, SZ_4K), -EINVAL);
	CHECK_EQ(__pkvm_smmu_take_pmcg(-SZ_4K, SZ_4K, 0, 0), -EINVAL);
	/* Memory, and a frame the hypervisor holds: refused, left alone. */
	CHECK_EQ(__pkvm_smmu_take_pmcg(EL2_MEM_BASE, SZ_4K, 0, 0), -EINVAL);
	CHECK_EQ(__pkvm_smmu_take_pmcg(PMCG_PAGE0, SZ_4K, EL2_MEM_BASE, SZ_4K), -EINVAL);
	CHECK_EQ(__pkvm_smmu_take_pmcg(smmu_mmio[0] + 0x2000, SZ_4K, 0, 0), -EPERM);
	CHECK(!el2_mmio_hyp_owned(PMCG_PAGE0, PMCG_PAGE0 + SZ_4K));
	pmcg_model_state(p, &cr, &irq_ctrl, &cfg0);
	CHECK(cr && irq_ctrl && cfg0);

	CHECK_EQ(__pkvm_smmu_take_pmcg(PMCG_PAGE0, SZ_4K, PMCG_PAGE1, SZ_4K), 0);
	CHECK(el2_mmio_hyp_owned(PMCG_PAGE0, PMCG_PAGE0 + SZ_4K));
	CHECK(el2_mmio_hyp_owned(PMCG_PAGE1, PMCG_PAGE1 + SZ_4K));
	pmcg_model_state(p, &cr, &irq_ctrl, &cfg0);
	CHECK_EQ(cr, 0);
	CHECK_EQ(irq_ctrl, 0);
	CHECK_EQ(cfg0, 0);
	CHECK_EQ(__pkvm_smmu_take_pmcg(PMCG_PAGE0, SZ_4K, 0, 0), -EPERM);

	/* No acknowledgement: its MSI address cannot be cleared. */
	CHECK_EQ(__pkvm_smmu_take_pmcg(PMCG_DEAF, SZ_64K, PMCG_DEAF_PAGE1, SZ_4K), -EIO);
	/* Its counters are not relocated: the page named as page 1 is not taken. */
	CHECK(!el2_mmio_hyp_owned(PMCG_DEAF_PAGE1, PMCG_DEAF_PAGE1 + SZ_4K));
	CHECK(el2_mmio_hyp_owned(PMCG_DEAF, PMCG_DEAF + SZ_64K));
	pmcg_model_state(deaf, &cr, &irq_ctrl, &cfg0);
	CHECK_EQ(cr, 0);
	CHECK_EQ(irq_ctrl, 0);
	CHECK(cfg0 != 0);
}

static void test_pci_config(void)
{
	if (el2_pci_test(smmu_idx, host_topup))
		tap_cur_failed = 1;
}

static void test_pvm_assign(void)
{
	if (el2_pvm_test(models, smmu_idx, NR_SMMUS, host_topup))
		tap_cur_failed = 1;
}

int main(void)
{
	el2_init(4);
	el2_set_cpu(0);
	tap_plan(23);
	tap_run("el2_register_smmus", test_register);
	tap_run("el2_ats_checked", test_ats);
	tap_run("el2_topup", test_topup);
	tap_run("el2_domain_attach_map_dma", test_domain_attach_map_dma);
	tap_run("el2_l2_strtab_zeroed", test_l2_strtab_zeroed);
	tap_run("el2_unmap_no_stale_tlb", test_unmap_no_stale_tlb);
	tap_run("el2_unmap_deferred", test_unmap_deferred);
	tap_run("el2_peer_mmio", test_peer_mmio);
	tap_run("el2_hostile_args", test_hostile_args);
	tap_run("el2_fresh_vmid_invalidated", test_fresh_vmid_invalidated);
	tap_run("el2_bounded_free", test_bounded_free);
	tap_run("el2_detach_free_reclaim", test_detach_free_reclaim);
	tap_run("el2_unmap_scattered", test_unmap_scattered);
	tap_run("el2_detach_retry", test_detach_retry);
	tap_run("el2_lpa2", test_lpa2);
	tap_run("el2_ecmdq_pages", test_ecmdq);
	tap_run("el2_pmcg_taken", test_pmcg);
	tap_run("el2_pci_config", test_pci_config);
	tap_run("el2_pvm_assign", test_pvm_assign);
	tap_run("el2_fail_closed_unmap", test_fail_closed_unmap);
	tap_run("el2_identity", test_identity);
	tap_run("el2_identity_topup_batched", test_identity_topup_batched);
	tap_run("el2_fail_closed_identity", test_fail_closed_identity);
	return tap_exit();
}
