// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio_edu_multi_test - edu devices behind several SMMUs assigned to one VM,
 * a second VM beside it, and memslots that move and go while the devices
 * are assigned.
 *
 * Usage: vfio_edu_multi_test BDF BDF BDF BDF
 *
 * The first three edu devices (QEMU's 1234:11e8; the boot test gives ones
 * behind three different SMMUs) go to VM 1, in one iommufd IOAS that maps its
 * DMA memory at IOVA = GPA; the fourth goes to VM 2, in an IOAS of its own.
 * Each device's BAR0 is a memslot of its VM, and the guests program the
 * devices themselves: the VMM names a device, a source and a destination, the
 * guest moves a page from the source into the device and from the device to
 * the destination, and the VMM checks the memory.
 *
 *  - shared_domain: under pKVM, VM 1's IOAS is one hypervisor domain, with one
 *    page table and a VMID on each of the three SMMUs (debugfs/pkvm-smmu);
 *  - dma_each: a copy through each of VM 1's devices lands;
 *  - second_vm: VM 2's domain is another (its own page table, another VMID on
 *    an SMMU the two share); its device copies within VM 2's memory but
 *    cannot reach VM 1's (the DMA faults, VM 1's memory is unchanged);
 *  - memslot_move: a memslot moved to another GPA, and the VMM's DMA mapping
 *    with it: DMA reaches the memory at the new GPA, not at the old one;
 *  - memslot_delete: a memslot deleted, and its DMA mapping with it: DMA to
 *    it faults and the memory it had is unchanged;
 *  - released: once the VMs and the devices are gone, so are the domains.
 *
 * The SMMU's reports of the faulting DMAs (the host kernel logs them) are
 * checked by whoever runs the test: it prints each device's faulting IOVAs.
 */
#include <stdio.h>
#include <sys/mman.h>

#include <linux/sizes.h>

#include <libvfio.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "ucall.h"
#include "vfio_edu.h"

#define NR_VM1_DEVICES	3
#define NR_DEVICES	(NR_VM1_DEVICES + 1)

#define DMA_MEMSLOT	1
#define MOVE_MEMSLOT	2
#define BAR_MEMSLOT	3	/* one per device from here */

/* VM 1's DMA memory: sources and destinations, at IOVA = GPA. */
#define DMA_GPA		0x40000000UL
#define DMA_SIZE	SZ_2M
/* VM 1's second DMA memslot, moved from MOVE_GPA to MOVED_GPA, then deleted. */
#define MOVE_GPA	0x44000000UL
#define MOVED_GPA	0x46000000UL
#define MOVE_SIZE	SZ_64K
/* VM 2's DMA memory; VM 1's DMA_GPA is not mapped in VM 2's IOAS. */
#define VM2_DMA_GPA	0x70000000UL
#define BAR_GPA		0x50000000UL
#define BAR_STRIDE	SZ_16M

#define SRC_OFFSET	0
#define DST_OFFSET(i)	((1 + (i)) * EDU_BUF_SIZE)
#define CANARY		0x5c

/* The VMM's order to the guest: copy a page through the device at @bar. */
static struct {
	u64 bar;
	u64 src;
	u64 dst;
} job;

static void guest_code(void)
{
	for (;;) {
		GUEST_SYNC(0);
		guest_edu_dma((void *)job.bar, job.src, EDU_BUF_ADDR, 0);
		guest_edu_dma((void *)job.bar, EDU_BUF_ADDR, job.dst, EDU_DMA_TO_RAM);
	}
}

/* A VM, its IOAS, and its DMA memslots (the library keeps the regions in a list). */
struct vm_ctx {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct iommu *iommu;
	struct dma_region dma[2];
};

struct edu {
	const char *bdf;
	struct vfio_pci_device *device;
	u64 bar_gpa;
};

/* The guest copies a page from @src through @edu to @dst (IOVAs = GPAs). */
static void copy_page(struct vm_ctx *ctx, struct edu *edu, u64 src, u64 dst)
{
	job.bar = edu->bar_gpa;
	job.src = src;
	job.dst = dst;
	sync_global_to_guest(ctx->vm, job);
	vfio_edu_run_to_sync(ctx->vcpu);
}

static void fill(u8 *p, u64 seed)
{
	u64 i;

	for (i = 0; i < EDU_BUF_SIZE; i++)
		p[i] = edu_pattern(seed, i);
}

static bool holds(const u8 *p, u64 seed)
{
	u64 i;

	for (i = 0; i < EDU_BUF_SIZE; i++)
		if (p[i] != edu_pattern(seed, i))
			return false;
	return true;
}

static bool untouched(const u8 *p)
{
	u64 i;

	for (i = 0; i < EDU_BUF_SIZE; i++)
		if (p[i] != CANARY)
			return false;
	return true;
}

/* Memslot @slot at @gpa, and its DMA mapping (dma[@slot - DMA_MEMSLOT]) at IOVA = GPA. */
static void map_dma(struct vm_ctx *ctx, u32 slot, u64 gpa, u8 *hva, u64 size)
{
	struct dma_region *region = &ctx->dma[slot - DMA_MEMSLOT];

	*region = (struct dma_region) { .vaddr = hva, .iova = gpa, .size = size };
	vm_set_user_memory_region(ctx->vm, slot, 0, gpa, size, hva);
	iommu_map(ctx->iommu, region);
}

static void unmap_dma(struct vm_ctx *ctx, u32 slot)
{
	iommu_unmap(ctx->iommu, &ctx->dma[slot - DMA_MEMSLOT]);
}

static void assign(struct vm_ctx *ctx, struct edu *edu, u32 slot, u64 bar_gpa)
{
	struct vfio_pci_device *device = vfio_edu_open(edu->bdf, ctx->iommu);

	TEST_ASSERT(device->bars[0].info.size <= BAR_STRIDE, "%s: BAR0 of 0x%llx bytes",
		    edu->bdf, device->bars[0].info.size);
	vfio_edu_map_bar(ctx->vm, device, slot, bar_gpa);
	edu->device = device;
	edu->bar_gpa = bar_gpa;
}

static void vm_init(struct vm_ctx *ctx)
{
	ctx->vm = vm_create_with_one_vcpu(&ctx->vcpu, guest_code);
	ctx->iommu = iommu_init("iommufd");
	vfio_edu_run_to_sync(ctx->vcpu);
}

/* One domain, one page table, one VMID on each of NR_VM1_DEVICES SMMUs. */
static void check_shared_domain(void)
{
	struct dom_line l[MAX_DOM_LINES];
	int n = read_domains(l), i, j;

	if (n < 0) {
		ksft_test_result_skip("shared_domain: no %s (not pKVM)\n", DOMAINS_PATH);
		return;
	}
	print_domains(l, n);
	TEST_ASSERT_EQ(n, NR_VM1_DEVICES);
	for (i = 0; i < n; i++) {
		TEST_ASSERT_EQ(l[i].domain, l[0].domain);
		TEST_ASSERT_EQ(l[i].root, l[0].root);
		TEST_ASSERT_EQ(l[i].streams, 1);
		TEST_ASSERT(l[i].vmid, "VMID 0 is reserved");
		for (j = 0; j < i; j++)
			TEST_ASSERT(l[i].smmu != l[j].smmu, "two devices on SMMU %d", l[i].smmu);
	}
	ksft_test_result_pass("shared_domain: one domain, one page table, a VMID on %d SMMUs\n",
			      NR_VM1_DEVICES);
}

/* VM 2's domain: another page table, and another VMID on the SMMU both use. */
static void check_second_domain(void)
{
	struct dom_line l[MAX_DOM_LINES], *other = NULL;
	int n = read_domains(l), i, shared = 0;

	if (n < 0)
		return;
	print_domains(l, n);
	TEST_ASSERT_EQ(n, NR_VM1_DEVICES + 1);
	for (i = 0; i < n; i++) {
		if (l[i].domain != l[0].domain) {
			TEST_ASSERT(!other, "a third domain");
			other = &l[i];
		}
	}
	TEST_ASSERT(other, "VM 2's device is in VM 1's domain");
	for (i = 0; i < n; i++) {
		if (&l[i] == other)
			continue;
		TEST_ASSERT(l[i].root != other->root, "the two domains share a page table");
		if (l[i].smmu == other->smmu) {
			TEST_ASSERT(l[i].vmid != other->vmid, "one VMID for two domains");
			shared++;
		}
	}
	printf("# the two domains share %d SMMU(s)\n", shared);
}

int main(int argc, char *argv[])
{
	struct edu edus[NR_DEVICES] = {};
	struct vm_ctx vm1 = {}, vm2 = {};
	u8 *dma, *moving, *dma2;
	int nr_bdfs, i;
	char **bdfs;

	bdfs = vfio_selftests_get_bdfs(&argc, argv, &nr_bdfs);
	TEST_ASSERT(nr_bdfs == NR_DEVICES, "usage: %s BDF BDF BDF BDF (%d edu devices)",
		    argv[0], NR_DEVICES);
	for (i = 0; i < NR_DEVICES; i++)
		edus[i].bdf = bdfs[i];

	ksft_print_header();
	ksft_set_plan(6);

	vm_init(&vm1);
	dma = vfio_edu_alloc(DMA_SIZE);
	moving = vfio_edu_alloc(MOVE_SIZE);
	map_dma(&vm1, DMA_MEMSLOT, DMA_GPA, dma, DMA_SIZE);
	map_dma(&vm1, MOVE_MEMSLOT, MOVE_GPA, moving, MOVE_SIZE);
	for (i = 0; i < NR_VM1_DEVICES; i++)
		assign(&vm1, &edus[i], BAR_MEMSLOT + i, BAR_GPA + i * BAR_STRIDE);
	check_shared_domain();

	for (i = 0; i < NR_VM1_DEVICES; i++) {
		fill(dma + SRC_OFFSET, i);
		memset(dma + DST_OFFSET(i), 0, EDU_BUF_SIZE);
		copy_page(&vm1, &edus[i], DMA_GPA + SRC_OFFSET, DMA_GPA + DST_OFFSET(i));
		TEST_ASSERT(holds(dma + DST_OFFSET(i), i), "the copy through %s did not land",
			    edus[i].bdf);
	}
	ksft_test_result_pass("dma_each: a page copied through each of %d devices\n",
			      NR_VM1_DEVICES);

	vm_init(&vm2);
	dma2 = vfio_edu_alloc(DMA_SIZE);
	map_dma(&vm2, DMA_MEMSLOT, VM2_DMA_GPA, dma2, DMA_SIZE);
	assign(&vm2, &edus[NR_VM1_DEVICES], BAR_MEMSLOT, BAR_GPA);
	check_second_domain();
	fill(dma2 + SRC_OFFSET, 7);
	copy_page(&vm2, &edus[NR_VM1_DEVICES], VM2_DMA_GPA, VM2_DMA_GPA + DST_OFFSET(0));
	TEST_ASSERT(holds(dma2 + DST_OFFSET(0), 7), "VM 2's copy within its memory did not land");
	memset(dma + DST_OFFSET(0), CANARY, EDU_BUF_SIZE);
	copy_page(&vm2, &edus[NR_VM1_DEVICES], VM2_DMA_GPA, DMA_GPA + DST_OFFSET(0));
	TEST_ASSERT(untouched(dma + DST_OFFSET(0)), "VM 2's device wrote VM 1's memory");
	printf("# fault expected: %s iova 0x%lx\n", edus[NR_VM1_DEVICES].bdf,
	       DMA_GPA + DST_OFFSET(0));
	ksft_test_result_pass("second_vm: its own domain; its device cannot reach VM 1's memory\n");

	/*
	 * Moved: the VMM's memory listener moves the DMA mapping with it. A DMA
	 * to the old GPA first, so that the SMMU caches its translation.
	 */
	fill(dma + SRC_OFFSET, 2);
	copy_page(&vm1, &edus[0], DMA_GPA + SRC_OFFSET, MOVE_GPA);
	TEST_ASSERT(holds(moving, 2), "DMA to the memslot at its first GPA did not land");
	unmap_dma(&vm1, MOVE_MEMSLOT);
	vm_set_user_memory_region(vm1.vm, MOVE_MEMSLOT, 0, MOVED_GPA, MOVE_SIZE, moving);
	map_dma(&vm1, MOVE_MEMSLOT, MOVED_GPA, moving, MOVE_SIZE);
	fill(dma + SRC_OFFSET, 3);
	memset(moving, CANARY, MOVE_SIZE);
	copy_page(&vm1, &edus[0], DMA_GPA + SRC_OFFSET, MOVE_GPA);
	TEST_ASSERT(untouched(moving), "DMA to the old GPA reached the moved memslot");
	printf("# fault expected: %s iova 0x%lx\n", edus[0].bdf, MOVE_GPA);
	copy_page(&vm1, &edus[0], DMA_GPA + SRC_OFFSET, MOVED_GPA);
	TEST_ASSERT(holds(moving, 3), "DMA to the new GPA did not reach the moved memslot");
	ksft_test_result_pass("memslot_move: DMA follows the memslot to its new GPA\n");

	/* Deleted: the DMA mapping goes first. */
	unmap_dma(&vm1, MOVE_MEMSLOT);
	vm_set_user_memory_region(vm1.vm, MOVE_MEMSLOT, 0, MOVED_GPA, 0, NULL);
	memset(moving, CANARY, MOVE_SIZE);
	copy_page(&vm1, &edus[1], DMA_GPA + SRC_OFFSET, MOVED_GPA);
	TEST_ASSERT(untouched(moving), "DMA reached a deleted memslot");
	printf("# fault expected: %s iova 0x%lx\n", edus[1].bdf, MOVED_GPA);
	ksft_test_result_pass("memslot_delete: DMA to a deleted memslot faults\n");

	kvm_vm_free(vm2.vm);
	kvm_vm_free(vm1.vm);
	for (i = 0; i < NR_DEVICES; i++)
		vfio_pci_device_cleanup(edus[i].device);
	unmap_dma(&vm2, DMA_MEMSLOT);
	unmap_dma(&vm1, DMA_MEMSLOT);
	iommu_cleanup(vm2.iommu);
	iommu_cleanup(vm1.iommu);
	munmap(dma2, DMA_SIZE);
	munmap(moving, MOVE_SIZE);
	munmap(dma, DMA_SIZE);
	check_released();

	ksft_finished();
}
