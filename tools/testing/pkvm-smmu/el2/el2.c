// SPDX-License-Identifier: GPL-2.0-only
/*
 * Scenario test of the real EL2 hypercall bodies (arch/arm64/kvm/hyp/nvhe/
 * iommu.c and smmu_v3.c, with the kernel's kvm_pgtable), run against the
 * page-state table of memory.c and two SMMUv3 models. The test plays the
 * host: it owns the memory pool, donates pages and issues hypercalls; the
 * models play the devices: every DMA goes through a stream table walk, a
 * TLB and a stage-2 walk. Each step depends on the previous ones.
 */
#include <stdio.h>
#include <stdlib.h>

#include <asm/kvm_hyp.h>
#include <asm/kvm_pkvm_smmu.h>
#include <nvhe/iommu.h>
#include <nvhe/mem_protect.h>
#include <nvhe/memory.h>
#include <nvhe/smmu_v3.h>

#include "el2.h"
#include "../tap.h"

#define NR_SMMUS	2
#define NR_MAP_PAGES	8
#define MAP_IOVA	0x100000ULL

static const phys_addr_t smmu_mmio[NR_SMMUS] = { 0x09050000, 0x09070000 };
static const u32 smmu_sid[NR_SMMUS] = { 0x10, 0x208 };
static struct smmu_model *models[NR_SMMUS];
static int smmu_idx[NR_SMMUS];
static u64 smmu_pages;		/* donated at registration, for good */
static int domain_id = -1;
static phys_addr_t map_phys;	/* NR_MAP_PAGES host pages the domain maps */

/* The host gives @nr pages to the IOMMU memcache: a list through page heads. */
static u64 host_topup(u64 nr)
{
	phys_addr_t head = 0, page;
	u64 i, taken = 0;
	int ret;

	for (i = 0; i < nr; i++) {
		page = el2_host_alloc(1, 1);
		if (!page)
			abort();
		*(phys_addr_t *)el2_host_va(page) = head;
		head = page;
	}
	ret = __pkvm_iommu_topup(head, nr, &taken);
	if (ret || taken != nr)
		printf("# topup(%llu): %d, taken %llu\n", (unsigned long long)nr, ret,
		       (unsigned long long)taken);
	return taken;
}

/* Pages that went to the hypervisor for the IOMMU, and not back yet. */
static u64 hyp_pages(void)
{
	return el2_count_state(EL2_NOPAGE, EL2_OWNED);
}

static void test_register(void)
{
	u64 needed, pages;
	phys_addr_t base;
	phys_addr_t pa;
	int i, ret;

	for (i = 0; i < NR_SMMUS; i++) {
		models[i] = smmu_model_create(smmu_mmio[i], true);
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
	}

	map_phys = el2_host_alloc(NR_MAP_PAGES, 1);
	for (p = 0; p < NR_MAP_PAGES; p++)
		CHECK_EQ(el2_page(map_phys + p * PAGE_SIZE)->host, EL2_OWNED);
	do {
		ret = __pkvm_iommu_map(domain_id, MAP_IOVA, map_phys,
				       NR_MAP_PAGES * PAGE_SIZE,
				       PKVM_IOMMU_PROT_READ | PKVM_IOMMU_PROT_WRITE,
				       &done, &needed);
		if (ret == -ENOMEM)
			host_topup(needed);
	} while (ret == -ENOMEM);
	CHECK_EQ(ret, 0);
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

static void test_unmap_no_stale_tlb(void)
{
	u64 done, tlbi[NR_SMMUS], syncs[NR_SMMUS];
	phys_addr_t pa;
	int i, p;

	for (i = 0; i < NR_SMMUS; i++) {
		tlbi[i] = smmu_model_stats(models[i])->tlbi_ipa;
		syncs[i] = smmu_model_stats(models[i])->syncs;
	}
	CHECK_EQ(__pkvm_iommu_unmap(domain_id, MAP_IOVA, NR_MAP_PAGES * PAGE_SIZE,
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
	CHECK_EQ(__pkvm_iommu_unmap(domain_id, MAP_IOVA, PAGE_SIZE, &done), 0);
	CHECK_EQ(done, PAGE_SIZE);
	CHECK_EQ(smmu_model_stats(models[0])->tlbi_ipa, tlbi[0] + 1);
	CHECK_EQ(el2_cpu_tlbi_count, 0);
}

static void test_hostile_args(void)
{
	u64 needed, done, info[2], evt[PKVM_SMMU_EVT_DWORDS];
	phys_addr_t pair = el2_host_alloc(2, 2), hyp_page = pair + PAGE_SIZE, pa;
	const u64 rw = PKVM_IOMMU_PROT_READ | PKVM_IOMMU_PROT_WRITE;
	const u64 bad_ids[] = { PKVM_IOMMU_MAX_DOMAINS, U32_MAX, U64_MAX, 1ULL << 63 };
	const u64 bad_smmus[] = { NR_SMMUS, PKVM_SMMU_MAX, U64_MAX, 1ULL << 32 };
	unsigned int i;

	/* A hyp page right after a host page. */
	CHECK_EQ(__pkvm_host_donate_hyp(hyp_phys_to_pfn(hyp_page), 1), 0);
	for (i = 0; i < ARRAY_SIZE(bad_ids); i++) {
		CHECK_EQ(__pkvm_iommu_attach(bad_ids[i], smmu_idx[0], 1, &needed), -ENOENT);
		CHECK_EQ(__pkvm_iommu_detach(bad_ids[i], smmu_idx[0], 1), -ENOENT);
		CHECK_EQ(__pkvm_iommu_map(bad_ids[i], 0, map_phys, PAGE_SIZE, rw, &done,
					  &needed), -ENOENT);
		CHECK_EQ(__pkvm_iommu_unmap(bad_ids[i], 0, PAGE_SIZE, &done), -ENOENT);
		CHECK_EQ(__pkvm_iommu_iova_to_phys(bad_ids[i], 0, &pa), -ENOENT);
		CHECK(__pkvm_iommu_free_domain(bad_ids[i]) == -EINVAL);
		CHECK_EQ(__pkvm_iommu_domain_info(bad_ids[i], 0, info), -ENOENT);
	}
	CHECK_EQ(__pkvm_iommu_free_domain(domain_id + 1), -ENOENT);
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
	CHECK_EQ(__pkvm_iommu_unmap(domain_id, 1, PAGE_SIZE, &done), -EINVAL);
	CHECK_EQ(__pkvm_iommu_unmap(domain_id, 0, 0, &done), -EINVAL);
	CHECK_EQ(__pkvm_iommu_unmap(domain_id, -PAGE_SIZE, 2 * PAGE_SIZE, &done), -EINVAL);
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

static void test_detach_free_reclaim(void)
{
	u64 done, needed, vmall[NR_SMMUS];
	phys_addr_t pa;
	int i, ret, steps = 0, got;

	/* Leave something mapped: freeing the domain must unmap it. */
	do {
		ret = __pkvm_iommu_map(domain_id, MAP_IOVA, map_phys, 2 * PAGE_SIZE,
				       PKVM_IOMMU_PROT_READ, &done, &needed);
		if (ret == -ENOMEM)
			host_topup(needed);
	} while (ret == -ENOMEM);
	CHECK_EQ(ret, 0);
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
	printf("# hyp pages after reclaim: %llu (registration: %llu)\n",
	       (unsigned long long)hyp_pages(), (unsigned long long)smmu_pages);
	CHECK_EQ(hyp_pages(), smmu_pages + NR_SMMUS);
	CHECK_EQ(el2_count_state(EL2_OWNED, EL2_NOPAGE) + hyp_pages(), EL2_MEM_PAGES);
	CHECK_EQ(el2_cpu_tlbi_count, 0);
}

int main(void)
{
	el2_init(4);
	el2_set_cpu(0);
	tap_plan(6);
	tap_run("el2_register_smmus", test_register);
	tap_run("el2_topup", test_topup);
	tap_run("el2_domain_attach_map_dma", test_domain_attach_map_dma);
	tap_run("el2_unmap_no_stale_tlb", test_unmap_no_stale_tlb);
	tap_run("el2_hostile_args", test_hostile_args);
	tap_run("el2_detach_free_reclaim", test_detach_free_reclaim);
	return tap_exit();
}
