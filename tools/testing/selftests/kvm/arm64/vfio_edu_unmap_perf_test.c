// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio_edu_unmap_perf_test - what it costs a VMM to unmap its guest's memory
 * from the IOAS of devices assigned to the guest, against the number of
 * SMMUs the devices sit behind (make bench, case 2c).
 *
 * Usage: vfio_edu_unmap_perf_test [-i ITERS] [-m MARK_BASE] BDF...
 *
 * For K = 1, 2, 4, 8 (up to the number of BDFs, one edu device behind each
 * SMMU): a VM whose memory slot the guest has touched in full (under pKVM,
 * every page shared with the guest), the first K devices in one iommufd IOAS
 * (one hypervisor domain over K SMMUs), and a part of the guest's memory
 * mapped at IOVA = GPA and unmapped again, ITERS times for each size: 4 KiB,
 * 64 KiB, 1 MiB. Each unmap is timed and marked for QEMU's trace, in the form
 * smmu_bench uses (scripts/bench-report.py reads both):
 *
 *   MARK <id> guest:unmap-<size> smmus=K pages=N ops=ITERS
 *   BENCH guest:unmap-<size> smmus=K pages=N iters=ITERS min_ns= median_ns= max_ns=
 *
 * The marker is a write of 0x5a000000 | id (begin) or 0xa5000000 | id (end)
 * to the first device's liveness register, through its BAR; ids start after
 * MARK_BASE, so that they do not collide with smmu_bench's in the same boot.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <linux/sizes.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "ucall.h"
#include "vfio_edu.h"

#define MAX_DEVICES	8
#define MAX_ITERS	1024
#define DMA_MEMSLOT	1
#define DMA_GPA		0x40000000UL
#define DMA_SIZE	SZ_2M

#define MARK_BEGIN	0x5a000000U
#define MARK_END	0xa5000000U

static const struct {
	const char	*name;
	u64		size;
} cases[] = {
	{ "unmap-4k",	SZ_4K },
	{ "unmap-64k",	SZ_64K },
	{ "unmap-1m",	SZ_1M },
};

static void *marker;
static unsigned int next_mark;

/* The guest touches every page of its DMA memory: the host shares each with it. */
static void guest_code(void)
{
	u64 gpa;

	for (gpa = DMA_GPA; gpa < DMA_GPA + DMA_SIZE; gpa += SZ_4K)
		WRITE_ONCE(*(u64 *)gpa, gpa);
	GUEST_SYNC(0);
	GUEST_DONE();
}

static u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* A marker write completes before what it marks begins (the read-back). */
static void mark(u32 val)
{
	writel(val, marker);
	(void)readl(marker);
}

static void bench_unmaps(struct iommu *iommu, u8 *hva, unsigned int smmus, int iters)
{
	static u64 ns[MAX_ITERS];
	unsigned int i, id;
	u64 unmapped, t;
	int r;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct dma_region region = {
			.vaddr = hva, .iova = DMA_GPA, .size = cases[i].size,
		};

		id = ++next_mark;
		printf("MARK %u guest:%s smmus=%u pages=%lu ops=%d\n", id, cases[i].name,
		       smmus, cases[i].size / SZ_4K, iters);
		fflush(stdout);
		for (r = 0; r < iters; r++) {
			/* Only the unmaps are marked: a map may top the memcache up. */
			iommu_map(iommu, &region);
			mark(MARK_BEGIN | id);
			t = now_ns();
			TEST_ASSERT_EQ(__iommu_unmap(iommu, &region, &unmapped), 0);
			ns[r] = now_ns() - t;
			mark(MARK_END | id);
			TEST_ASSERT_EQ(unmapped, region.size);
		}
		qsort(ns, iters, sizeof(*ns), cmp_u64);
		printf("BENCH guest:%s smmus=%u pages=%lu iters=%d min_ns=%lu median_ns=%lu max_ns=%lu\n",
		       cases[i].name, smmus, cases[i].size / SZ_4K, iters, ns[0], ns[iters / 2],
		       ns[iters - 1]);
		fflush(stdout);
	}
}

static void bench_smmus(char **bdfs, unsigned int smmus, int iters)
{
	struct vfio_pci_device *devices[MAX_DEVICES];
	struct kvm_vcpu *vcpu;
	struct iommu *iommu;
	struct kvm_vm *vm;
	unsigned int i;
	u8 *hva;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	hva = vfio_edu_alloc(DMA_SIZE);
	vm_set_user_memory_region(vm, DMA_MEMSLOT, 0, DMA_GPA, DMA_SIZE, hva);
	virt_map(vm, DMA_GPA, DMA_GPA, DMA_SIZE / vm->page_size);
	vfio_edu_run_to_sync(vcpu);

	iommu = iommu_init("iommufd");
	for (i = 0; i < smmus; i++)
		devices[i] = vfio_edu_open(bdfs[i], iommu);
	marker = devices[0]->bars[0].vaddr + EDU_REG_LIVENESS;

	bench_unmaps(iommu, hva, smmus, iters);

	marker = NULL;
	for (i = smmus; i-- > 0;)
		vfio_pci_device_cleanup(devices[i]);
	iommu_cleanup(iommu);
	kvm_vm_free(vm);
	munmap(hva, DMA_SIZE);
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-i ITERS] [-m MARK_BASE] BDF...\n"
		"  (1 to %d BDFs, ITERS 1 to %d)\n", prog, MAX_DEVICES, MAX_ITERS);
	exit(KSFT_FAIL);
}

int main(int argc, char *argv[])
{
	static const unsigned int ks[] = { 1, 2, 4, 8 };
	int iters = 64, nr_bdfs, opt;
	unsigned int i;
	char **bdfs;
	long val;

	bdfs = vfio_selftests_get_bdfs(&argc, argv, &nr_bdfs);
	while ((opt = getopt(argc, argv, "i:m:")) != -1) {
		val = atol(optarg);
		switch (opt) {
		case 'i':
			if (val < 1 || val > MAX_ITERS)
				usage(argv[0]);
			iters = val;
			break;
		case 'm':
			if (val < 0 || val >= 0x100000)
				usage(argv[0]);
			next_mark = val;
			break;
		default:
			usage(argv[0]);
		}
	}
	if (nr_bdfs < 1 || nr_bdfs > MAX_DEVICES)
		usage(argv[0]);

	for (i = 0; i < ARRAY_SIZE(ks) && ks[i] <= (unsigned int)nr_bdfs; i++)
		bench_smmus(bdfs, ks[i], iters);
	return 0;
}
