// SPDX-License-Identifier: GPL-2.0
/*
 * topup_hostile: hostile page lists for __pkvm_iommu_topup.
 *
 * usage: topup_hostile HYP_PHYS [BDF]
 *
 * The host gives the hypervisor memory as a list: each page's first word is
 * the physical address of the next. This program builds lists in its own
 * locked pages and hands them over through debugfs/pkvm-smmu/hvc: a list
 * that loops back on itself, one whose head or link is hypervisor memory
 * (HYP_PHYS), a list whose page is DMA-mapped or shared with the hypervisor,
 * one longer than its pages, and a good one filled with fake bypass STEs.
 * The hypervisor must take exactly the pages the host owns and may give,
 * stop at the first other one, and never hang. Every page taken is then
 * reclaimed: it must come back the host's and zeroed.
 *
 * With BDF, an edu device with no driver (in the hypervisor's identity
 * domain) first writes into one of the pages by DMA, which lands; once the
 * page is donated, the same DMA must fault, and the fault be reported.
 *
 * Exit status: kselftest codes (0 pass, 1 fail).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define REPORT_PROG	"topup_hostile"
#include "report.h"
#include "hvc.h"

#define PAGE		4096UL
#define NR_PAGES	8
/* Reclaims to try before a page is declared lost to the hypervisor. */
#define RECLAIM_TRIES	256
/* STE word 0 of a valid stream that bypasses translation (V, CONFIG 0b100). */
#define FAKE_BYPASS_STE	0x9ULL

static uint64_t phys[NR_PAGES];
static uint64_t *page[NR_PAGES];

/* Is the page at @pa the host's own? Only such a page can be shared with the hypervisor. */
static int host_owns(uint64_t pa, bool *owned)
{
	long r[3];

	if (hvc(r, "host_share_hyp 0x%llx", (unsigned long long)(pa / PAGE)))
		return -1;
	*owned = !r[0];
	if (*owned && (hvc(r, "host_unshare_hyp 0x%llx", (unsigned long long)(pa / PAGE)) ||
		       r[0]))
		return error("cannot unshare 0x%llx again", (unsigned long long)pa);
	return 0;
}

/*
 * Reclaim pages one at a time until page @i is the host's again (retired
 * arrays may come back first), then check that it came back zeroed.
 */
static int take_back(int i)
{
	bool owned = false;
	unsigned int n, tries;
	long r[3];

	for (tries = 0; tries < RECLAIM_TRIES; tries++) {
		if (host_owns(phys[i], &owned))
			return -1;
		if (owned)
			break;
		if (hvc(r, "iommu_reclaim 1"))
			return -1;
		if (r[0] != 1)
			break;
	}
	check(owned, "page %d (0x%llx) back with the host after %u reclaims", i,
	      (unsigned long long)phys[i], tries);
	if (!owned)
		return error("page %d stays with the hypervisor: stop before the host frees it",
			     i);
	for (n = 0; n < PAGE / sizeof(uint64_t) && !page[i][n]; n++)
		;
	check(n == PAGE / sizeof(uint64_t), "page %d zeroed by reclaim", i);
	return 0;
}

/* Run edu_raw_dma to write 64 bytes at @pa from the device at @bdf. */
static int edu_dma_to(const char *bdf, uint64_t pa)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "edu_raw_dma --phys 0x%llx %s", (unsigned long long)pa, bdf);
	fflush(stdout);
	return system(cmd) ? error("'%s' failed", cmd) : 0;
}

/* Wait up to 2 s for the host log to report a DMA fault at @pa. */
static bool fault_reported(uint64_t pa)
{
	char cmd[128];
	int i;

	snprintf(cmd, sizeof(cmd), "dmesg | grep -q 'event 0x10 sid 0x[0-9a-f]* addr 0x%016llx'",
		 (unsigned long long)pa);
	for (i = 0; i < 20; i++) {
		if (!system(cmd))
			return true;
		usleep(100000);
	}
	return false;
}

/* Hand over a list from @head of @nr pages: expect @want_ret and @want_taken. */
static int topup(const char *what, uint64_t head, long nr, bool want_ok, long want_taken)
{
	long r[3];

	if (hvc(r, "iommu_topup 0x%llx %ld", (unsigned long long)head, nr))
		return -1;
	check((want_ok ? r[0] == 0 : r[0] < 0) && r[1] == want_taken,
	      "%s: returned %ld with %ld pages taken (want %s, %ld taken)", what,
	      r[0], r[1], want_ok ? "0" : "an error", want_taken);
	return 0;
}

int main(int argc, char **argv)
{
	const char *bdf = NULL;
	uint64_t hyp = 0;
	bool owned;
	long r[3];
	char *buf;
	int i, dom;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 || argc == 3)
		hyp = strtoull(argv[1], NULL, 0);
	if (argc == 3)
		bdf = argv[2];
	if (argc < 2 || argc > 3 || !hyp || hyp % PAGE) {
		printf("usage: %s HYP_PHYS [BDF] (a page-aligned address of hypervisor memory, an edu device)\n",
		       argv[0]);
		return KSFT_FAIL;
	}
	buf = mmap(NULL, NR_PAGES * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED)
		return error("mmap: %s", strerror(errno));
	for (i = 0; i < NR_PAGES; i++) {
		page[i] = (uint64_t *)(buf + i * PAGE);
		if (virt_to_phys(page[i], &phys[i]))
			return KSFT_FAIL;
	}
	if (host_owns(hyp, &owned))
		return KSFT_FAIL;
	check(!owned, "0x%llx is not the host's", (unsigned long long)hyp);

	/* 1. A cycle: page 0 links to itself. The second visit finds it taken. */
	page[0][0] = phys[0];
	if (topup("a list that loops on its first page", phys[0], 4, false, 1) ||
	    take_back(0))
		return KSFT_FAIL;

	/* 2. Hypervisor memory as the head, then as a link. */
	if (topup("a list headed by hypervisor memory", hyp, 1, false, 0))
		return KSFT_FAIL;
	page[1][0] = hyp;
	if (topup("a list linking into hypervisor memory", phys[1], 2, false, 1) ||
	    take_back(1))
		return KSFT_FAIL;

	/* 3. A page some device may DMA to, then one shared with the hypervisor. */
	if (hvc_topup(r, 1, "iommu_alloc_domain 1") || r[0] < 0)
		return error("alloc: %ld", r[0]);
	dom = r[0];
	if (hvc_topup(r, 2, "iommu_map %d 0x10000 0x%llx 0x1000 3", dom,
		      (unsigned long long)phys[2]) || r[0])
		return error("map: %ld", r[0]);
	page[2][0] = 0;
	if (topup("a DMA-mapped page", phys[2], 1, false, 0))
		return KSFT_FAIL;
	do {
		if (hvc(r, "iommu_free_domain %d", dom))
			return KSFT_FAIL;
	} while (r[0] == -EAGAIN);
	check(!r[0], "free of the domain: %ld", r[0]);

	if (hvc(r, "host_share_hyp 0x%llx", (unsigned long long)(phys[3] / PAGE)) || r[0])
		return error("cannot share page 3 with the hypervisor: %ld", r[0]);
	page[3][0] = 0;
	if (topup("a page shared with the hypervisor", phys[3], 1, false, 0))
		return KSFT_FAIL;
	if (hvc(r, "host_unshare_hyp 0x%llx", (unsigned long long)(phys[3] / PAGE)) || r[0])
		return error("cannot unshare page 3: %ld", r[0]);

	/*
	 * 4. Good pages full of valid bypass STEs, in a list that claims one
	 * page more than it has: its last link is 0. The four pages are taken,
	 * the fifth "page" is not memory.
	 */
	for (i = 4; i < NR_PAGES; i++) {
		unsigned int n;

		for (n = 0; n < PAGE / sizeof(uint64_t); n++)
			page[i][n] = n % 8 ? 0 : FAKE_BYPASS_STE;
		page[i][0] = i + 1 < NR_PAGES ? phys[i + 1] : 0;
	}
	if (topup("four good pages in a list of five", phys[4], 5, false, 4))
		return KSFT_FAIL;
	for (i = NR_PAGES - 1; i >= 4; i--)
		if (take_back(i))
			return KSFT_FAIL;

	/*
	 * 5. The same four as an honest list of four. A device can write into
	 * the last one until it is donated, and not from then on.
	 */
	if (bdf) {
		unsigned int n;

		memset(page[7], 0xa5, PAGE);
		if (edu_dma_to(bdf, phys[7]))
			return KSFT_FAIL;
		for (n = 0; n < 64 && ((uint8_t *)page[7])[n] == 0xa5; n++)
			;
		check(n < 64, "DMA from %s into page 7 lands while the host owns it", bdf);
	}
	for (i = 4; i < NR_PAGES; i++)
		page[i][0] = i + 1 < NR_PAGES ? phys[i + 1] : 0;
	if (topup("an honest list of four pages", phys[4], 4, true, 4))
		return KSFT_FAIL;
	if (bdf) {
		if (edu_dma_to(bdf, phys[7]))
			return KSFT_FAIL;
		check(fault_reported(phys[7]),
		      "DMA from %s into page 7 faults, and is reported, once it is donated", bdf);
	}
	for (i = NR_PAGES - 1; i >= 4; i--)
		if (take_back(i))
			return KSFT_FAIL;

	printf("# %d check(s), %d failed\n", nr_checks, nr_failed);
	return nr_failed ? KSFT_FAIL : KSFT_PASS;
}
