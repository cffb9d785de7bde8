// SPDX-License-Identifier: GPL-2.0
/*
 * hvc_fuzz: throw random SMMU and IOMMU hypercalls at the hypervisor, as a
 * hostile host would, through debugfs/pkvm-smmu/hvc, then clean up and check
 * that the hypervisor still works.
 *
 * usage: hvc_fuzz [ITERATIONS [SEED]]
 *
 * Arguments mix valid values (domain ids and stream ids in use, pages of this
 * process, the hypervisor's memory, SMMU registers) with random, unaligned,
 * wrapping and out-of-range ones. Every call must return (the host staying up
 * is the first check); afterwards every domain the run created is detached
 * and freed, and a map/translate/unmap round trip must still work. The
 * kernel log is checked by the no-kernel-warnings boot test that follows.
 *
 * Exit status: 0 pass, 1 fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define REPORT_PROG "hvc_fuzz"
#include "report.h"
#include "hvc.h"

#define PAGE		4096ULL
#define NR_PAGES	64
#define MAX_DOMS	64
#define MAX_ATTACH	256

static uint64_t rng_state;
static uint64_t pages[NR_PAGES];
static uint64_t hyp_mem;
static int doms[MAX_DOMS], nr_doms;
static struct { int dom, smmu; uint64_t sid; } att[MAX_ATTACH];
static int nr_att;
/* Per call kind: calls, and calls the hypervisor accepted (x1 >= 0). */
static const char * const kinds[] = {
	"alloc_domain", "free_domain", "attach", "detach", "map", "map", "unmap",
	"unmap", "iova_to_phys", "domain_info", "reclaim", "pop_event",
};
static unsigned long calls[12], accepted[12];

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible from the seed. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

/* An address: mostly meaningful ones, sometimes anything. */
static uint64_t pick_phys(void)
{
	switch (rnd() % 8) {
	case 0: return hyp_mem + (rnd() % 256) * PAGE;
	case 1: return 0xc000000 + (rnd() % 32) * PAGE;	/* SMMU registers */
	case 2: return rnd();
	case 3: return rnd() & ~(PAGE - 1);
	default: return pages[rnd() % NR_PAGES];
	}
}

static uint64_t pick_iova(void)
{
	switch (rnd() % 6) {
	case 0: return rnd();
	case 1: return (rnd() % (1ULL << 40)) & ~(PAGE - 1);
	case 2: return 0xfffffffffffff000ULL;
	default: return (rnd() % 4096) * PAGE;
	}
}

static uint64_t pick_size(void)
{
	switch (rnd() % 6) {
	case 0: return rnd();
	case 1: return 0;
	case 2: return (rnd() % 2048) * PAGE;
	default: return (1 + rnd() % 8) * PAGE;
	}
}

static int pick_dom(void)
{
	if (nr_doms && rnd() % 4)
		return doms[rnd() % nr_doms];
	return (int)(rnd() % 1100) - 10;
}

static uint64_t pick_sid(void)
{
	switch (rnd() % 4) {
	case 0: return rnd();
	case 1: return rnd() % 0x10000;
	default: return 0x7000 + rnd() % 64;	/* no device: attachable */
	}
}

static int __one_call(unsigned int kind, long r[3]);

static int one_call(void)
{
	long r[3];
	int ret;

	unsigned int kind = rnd() % 12;

	calls[kind]++;
	r[0] = -1;
	ret = __one_call(kind, r);
	if (!ret && r[0] >= 0)
		accepted[kind]++;
	return ret;
}

static int __one_call(unsigned int kind, long r[3])
{
	int dom, smmu, ret;
	uint64_t sid;

	switch (kind) {
	case 0:
	{
		long long type = rnd() % 4;

		ret = hvc(r, "iommu_alloc_domain %lld", type);
		if (!ret && r[0] == -ENOMEM && r[1] > 0 && r[1] < 64) {
			ret = hvc(r, "topup %ld", r[1]);
			if (!ret)
				ret = hvc(r, "iommu_alloc_domain %lld", type);
		}
		if (!ret && r[0] >= 0 && nr_doms < MAX_DOMS)
			doms[nr_doms++] = r[0];
		return ret;
	}
	case 1:
		return hvc(r, "iommu_free_domain %d", pick_dom());
	case 2:
		dom = pick_dom();
		smmu = rnd() % 18;
		sid = pick_sid();
		ret = hvc(r, "iommu_attach %d %d 0x%llx", dom, smmu, (unsigned long long)sid);
		if (!ret && !r[0] && nr_att < MAX_ATTACH) {
			att[nr_att].dom = dom;
			att[nr_att].smmu = smmu;
			att[nr_att++].sid = sid;
		}
		return ret;
	case 3:
		return hvc(r, "iommu_detach %d %lld 0x%llx", pick_dom(),
			   (long long)(rnd() % 18), (unsigned long long)pick_sid());
	case 4:
	case 5: {
		char cmd[160];

		snprintf(cmd, sizeof(cmd), "iommu_map %d 0x%llx 0x%llx 0x%llx %lld", pick_dom(),
			 (unsigned long long)pick_iova(), (unsigned long long)pick_phys(),
			 (unsigned long long)pick_size(), (long long)(rnd() % 5));
		ret = hvc(r, "%s", cmd);
		/* As the driver does: top up, then repeat the same call. */
		if (!ret && r[0] == -ENOMEM && r[2] > 0 && r[2] < 64) {
			ret = hvc(r, "topup %ld", r[2]);
			if (!ret)
				ret = hvc(r, "%s", cmd);
		}
		return ret;
	}
	case 6:
	case 7:
		return hvc(r, "iommu_unmap %d 0x%llx 0x%llx", pick_dom(),
			   (unsigned long long)pick_iova(), (unsigned long long)pick_size());
	case 8:
		return hvc(r, "iommu_iova_to_phys %d 0x%llx", pick_dom(),
			   rnd() % 2 ? (unsigned long long)pick_iova() :
				       (unsigned long long)pick_phys());
	case 9:
		return hvc(r, "iommu_domain_info %d %lld", pick_dom(), (long long)(rnd() % 20));
	case 10:
		return hvc(r, "iommu_reclaim %lld", (long long)(rnd() % 8));
	default:
		return hvc(r, "smmu_pop_event %lld", (long long)(rnd() % 20));
	}
}

int main(int argc, char **argv)
{
	unsigned long iterations = argc > 1 ? strtoul(argv[1], NULL, 0) : 20000;
	unsigned long i;
	uint8_t *buf;
	long r[3];
	FILE *f;
	int d;

	rng_state = argc > 2 ? strtoull(argv[2], NULL, 0) : 0x9e3779b97f4a7c15ULL;
	if (!rng_state)
		rng_state = 1;
	printf("# %lu calls, seed 0x%llx\n", iterations, (unsigned long long)rng_state);

	buf = mmap(NULL, NR_PAGES * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED)
		return error("mmap: %s", strerror(errno));
	for (i = 0; i < NR_PAGES; i++) {
		if (virt_to_phys(buf + i * PAGE, &pages[i]))
			return KSFT_FAIL;
	}
	f = popen("dmesg | sed -n 's/.*kvm \\[0\\]: Reserved [0-9]* MiB at \\(0x[0-9a-f]*\\).*/\\1/p'", "r");
	if (!f || fscanf(f, "%li", (long *)&hyp_mem) != 1)
		return error("cannot find the hypervisor's memory in the kernel log");
	pclose(f);

	for (i = 0; i < iterations; i++) {
		if (one_call())
			return KSFT_FAIL;
	}
	check(true, "%lu random hypercalls returned", iterations);
	for (i = 0; i < 12; i++)
		printf("# %-12s %5lu calls, %5lu accepted\n", kinds[i], calls[i], accepted[i]);

	/* Clean up: detach what was attached, free what was created. */
	for (d = 0; d < nr_att; d++) {
		if (hvc(r, "iommu_detach %d %d 0x%llx", att[d].dom, att[d].smmu,
			(unsigned long long)att[d].sid))
			return KSFT_FAIL;
	}
	for (d = 0; d < nr_doms; d++) {
		/* Freeing is bounded per call: -EAGAIN until it is done. */
		do {
			if (hvc(r, "iommu_free_domain %d", doms[d]))
				return KSFT_FAIL;
		} while (r[0] == -EAGAIN);
		/* The identity domain cannot be freed; a freed id may be reused. */
		if (r[0] && r[0] != -EPERM && r[0] != -ENOENT)
			check(false, "free of domain %d after detaching everything: %ld",
			      doms[d], r[0]);
	}

	/* The hypervisor still works: a fresh domain maps, translates, unmaps. */
	if (hvc(r, "iommu_alloc_domain 1"))
		return KSFT_FAIL;
	if (r[0] == -ENOMEM && hvc(r, "topup %ld", r[1] + 8) == 0)
		hvc(r, "iommu_alloc_domain 1");
	check(r[0] >= 0, "a new domain after the storm: %ld", r[0]);
	if (r[0] >= 0) {
		d = r[0];
		hvc(r, "topup 8");
		hvc(r, "iommu_map %d 0x10000 0x%llx 0x1000 3", d, (unsigned long long)pages[0]);
		check(!r[0] && r[1] == 0x1000, "map after the storm: %ld %ld", r[0], r[1]);
		hvc(r, "iommu_iova_to_phys %d 0x10000", d);
		check(!r[0] && (uint64_t)r[1] == pages[0], "translate after the storm: %ld", r[0]);
		hvc(r, "iommu_unmap %d 0x10000 0x1000", d);
		check(!r[0] && r[1] == 0x1000, "unmap after the storm: %ld %ld", r[0], r[1]);
		do
			hvc(r, "iommu_free_domain %d", d);
		while (r[0] == -EAGAIN);
		check(!r[0], "free after the storm: %ld", r[0]);
	}
	printf("# %d check(s), %d failed\n", nr_checks, nr_failed);
	return nr_failed ? KSFT_FAIL : KSFT_PASS;
}
