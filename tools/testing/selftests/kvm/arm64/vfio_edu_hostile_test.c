// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio_edu_hostile_test - a hostile guest and a hostile VMM around an
 * assigned edu device.
 *
 * Usage: vfio_edu_hostile_test BDF
 *
 * A VM gets an edu device (QEMU's 1234:11e8) in an iommufd IOAS that maps
 * its DMA memory at IOVA = GPA, and the device's BAR0 in a memslot:
 *
 *  - garbage: the guest writes pseudo-random values to every register of the
 *    device, then starts DMAs to and from pseudo-random IOVAs (below 2^39, the
 *    domain's input size, so that each is a translation the SMMU tries). They
 *    fault or land in its own memory, never in a page the VMM did not aim the
 *    guest at; afterwards a copy through the device still works. (QEMU's edu stops the whole
 *    machine, with hw_error(), on a DMA whose buffer side is out of bounds,
 *    and computes a factorial of whatever it is given in a loop: the buffer
 *    side of each DMA and the factorial's argument stay in range.)
 *  - unmap_in_flight: the guest starts a DMA into a page and the VMM unmaps
 *    the page from the IOAS before the device gets to it (a DMA takes 100 ms
 *    of QEMU's clock): once the unmap returned, nothing reaches the page,
 *    although the SMMU had cached its translation (a copy into it first).
 *    A run whose DMA landed before the unmap is repeated, a few times.
 *  - detach_in_flight: the same, the VMM detaching the device from the IOAS
 *    (bus mastering stays on): once detached, nothing reaches the page.
 *  - close_in_flight: the same, the VMM closing the device's VFIO file (which
 *    also turns bus mastering off): once closed, nothing reaches the page.
 *  - released: then the VM and the IOAS go, and with them every domain.
 *
 * Whoever runs the test checks that the host kernel reported the faults and
 * logged no warning.
 */
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/vfio.h>

#include <linux/sizes.h>

#include <libvfio.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "ucall.h"
#include "vfio_edu.h"

#define DMA_MEMSLOT	1
#define VICTIM_MEMSLOT	2
#define BAR_MEMSLOT	3

#define DMA_GPA		0x40000000UL
#define DMA_SIZE	SZ_64K
/* A page the VMM maps, alone, and unmaps under a DMA. */
#define VICTIM_GPA	0x44000000UL
#define VICTIM_SIZE	SZ_64K
#define BAR_GPA		0x50000000UL

#define NR_GARBAGE_DMAS	16
#define GARBAGE_IOVA_MASK	(BIT_ULL(39) - 1 - 0xfff)
#define CANARY		0x5c

enum op { OP_COPY = 1, OP_GARBAGE, OP_START };

/* The VMM's order to the guest. */
static struct {
	u64 op;
	u64 src;
	u64 dst;
	u64 seed;
} job;

/* The IOVAs of the guest's garbage DMAs, for the VMM to print. */
static u64 garbage_iova[NR_GARBAGE_DMAS];

static u64 next_random(u64 *state)
{
	/* xorshift64 */
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

static void guest_garbage(void *bar, u64 seed)
{
	u64 off, r, i;

	for (off = 0; off < 0x100; off += 4) {
		r = next_random(&seed);
		switch (off) {
		case EDU_REG_FACTORIAL:
			r &= 0xfff;
			break;
		case EDU_REG_DMA_CMD:
			r &= ~EDU_DMA_START;
			break;
		}
		writel(r, bar + off);
		readl(bar + off);
	}
	for (i = 0; i < NR_GARBAGE_DMAS; i++) {
		r = next_random(&seed) & GARBAGE_IOVA_MASK;
		garbage_iova[i] = r;
		if (i & 1)
			guest_edu_dma(bar, EDU_BUF_ADDR, r, EDU_DMA_TO_RAM);
		else
			guest_edu_dma(bar, r, EDU_BUF_ADDR, 0);
	}
}

static void guest_code(void)
{
	void *bar = (void *)BAR_GPA;

	for (;;) {
		GUEST_SYNC(0);
		switch (job.op) {
		case OP_COPY:
			guest_edu_dma(bar, job.src, EDU_BUF_ADDR, 0);
			guest_edu_dma(bar, EDU_BUF_ADDR, job.dst, EDU_DMA_TO_RAM);
			break;
		case OP_GARBAGE:
			guest_garbage(bar, job.seed);
			break;
		case OP_START:
			/* The buffer out to job.dst; the VMM acts before it is done. */
			guest_edu_dma_start(bar, EDU_BUF_ADDR, job.dst, EDU_DMA_TO_RAM);
			GUEST_SYNC(0);
			guest_edu_dma_wait(bar);
			break;
		default:
			GUEST_FAIL("unknown job %lu", job.op);
		}
	}
}

static struct kvm_vm *vm;
static struct kvm_vcpu *vcpu;

static void run_job(u64 op, u64 src, u64 dst, u64 seed)
{
	job.op = op;
	job.src = src;
	job.dst = dst;
	job.seed = seed;
	sync_global_to_guest(vm, job);
	vfio_edu_run_to_sync(vcpu);
}

static bool all(const u8 *p, u64 size, u8 val)
{
	u64 i;

	for (i = 0; i < size; i++)
		if (p[i] != val)
			return false;
	return true;
}

/* A copy from the first page of DMA memory to the second one lands. */
static void check_copy(u8 *dma, u64 seed)
{
	u64 i;

	for (i = 0; i < EDU_BUF_SIZE; i++)
		dma[i] = edu_pattern(seed, i);
	memset(dma + EDU_BUF_SIZE, 0, EDU_BUF_SIZE);
	run_job(OP_COPY, DMA_GPA, DMA_GPA + EDU_BUF_SIZE, 0);
	for (i = 0; i < EDU_BUF_SIZE; i++)
		TEST_ASSERT(dma[EDU_BUF_SIZE + i] == edu_pattern(seed, i),
			    "byte %lu of the copy is 0x%x", i, dma[EDU_BUF_SIZE + i]);
}

/*
 * The guest starts a DMA into the victim page; @revoke takes the page from
 * the device. Once it returned, the page must not change. Whether the DMA
 * got there before (allowed: it was still mapped) is returned. A copy into
 * the page first, so that the SMMU caches its translation.
 */
static bool dma_under(u8 *victim, void (*revoke)(void *), void *arg, bool resume)
{
	bool landed;

	u8 *snapshot = malloc(EDU_BUF_SIZE);

	TEST_ASSERT(snapshot, "malloc");
	memset(victim, CANARY, VICTIM_SIZE);
	run_job(OP_COPY, DMA_GPA, VICTIM_GPA, 0);
	TEST_ASSERT(!all(victim, EDU_BUF_SIZE, CANARY), "the copy into the page did not land");
	memset(victim, CANARY, VICTIM_SIZE);
	job.op = OP_START;
	job.dst = VICTIM_GPA;
	sync_global_to_guest(vm, job);
	vfio_edu_run_to_sync(vcpu);		/* the DMA is started */
	revoke(arg);
	memcpy(snapshot, victim, EDU_BUF_SIZE);
	if (resume)
		vfio_edu_run_to_sync(vcpu);	/* the guest saw it finish */
	else
		usleep(500 * 1000);	/* five times what the device takes */
	TEST_ASSERT(!memcmp(snapshot, victim, EDU_BUF_SIZE),
		    "the DMA reached the page after it was taken from the device");
	TEST_ASSERT(all(victim + EDU_BUF_SIZE, VICTIM_SIZE - EDU_BUF_SIZE, CANARY),
		    "the rest of the page changed");
	landed = !all(victim, EDU_BUF_SIZE, CANARY);
	printf("# the DMA %s\n", landed ? "landed before the page was taken" :
	       "did not reach the page (it faulted, or never ran)");
	free(snapshot);
	return landed;
}

static struct iommu *iommu;
static struct vfio_pci_device *device;

static void unmap_victim(void *arg)
{
	iommu_unmap(iommu, arg);
}

static void close_device(void *arg)
{
	vfio_pci_device_cleanup(device);
	device = NULL;
}

/* Take the device out of the IOAS (its streams blocked), its file still open. */
static void detach_device(void *arg)
{
	struct vfio_device_detach_iommufd_pt detach = { .argsz = sizeof(detach) };

	TEST_ASSERT(!ioctl(device->fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach),
		    "VFIO_DEVICE_DETACH_IOMMUFD_PT: %s", strerror(errno));
}

static void attach_device(void)
{
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach),
		.pt_id = iommu->ioas_id,
	};

	TEST_ASSERT(!ioctl(device->fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach),
		    "VFIO_DEVICE_ATTACH_IOMMUFD_PT: %s", strerror(errno));
}

#define MAX_TRIES	5

/* dma_under(), repeated until the DMA did not land before @revoke (each run undone by @redo). */
static void dma_under_until_faulted(u8 *victim, void (*revoke)(void *), void *arg,
				    void (*redo)(void *), const char *what)
{
	int i;

	for (i = 0; i < MAX_TRIES; i++) {
		if (!dma_under(victim, revoke, arg, true))
			return;
		redo(arg);
	}
	TEST_FAIL("%s: the DMA landed before the page was taken %d times out of %d",
		  what, MAX_TRIES, MAX_TRIES);
}

static void remap_victim(void *arg)
{
	iommu_map(iommu, arg);
}

static void reattach(void *arg)
{
	attach_device();
}

int main(int argc, char *argv[])
{
	const char *bdf = vfio_selftests_get_bdf(&argc, argv);
	struct dma_region dma, victim;
	int i;

	ksft_print_header();
	ksft_set_plan(5);

	iommu = iommu_init("iommufd");
	device = vfio_edu_open(bdf, iommu);

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	dma = (struct dma_region) {
		.vaddr = vfio_edu_alloc(DMA_SIZE), .iova = DMA_GPA, .size = DMA_SIZE,
	};
	victim = (struct dma_region) {
		.vaddr = vfio_edu_alloc(VICTIM_SIZE), .iova = VICTIM_GPA, .size = VICTIM_SIZE,
	};
	vm_set_user_memory_region(vm, DMA_MEMSLOT, 0, DMA_GPA, DMA_SIZE, dma.vaddr);
	vm_set_user_memory_region(vm, VICTIM_MEMSLOT, 0, VICTIM_GPA, VICTIM_SIZE,
				  victim.vaddr);
	iommu_map(iommu, &dma);
	iommu_map(iommu, &victim);
	vfio_edu_map_bar(vm, device, BAR_MEMSLOT, BAR_GPA);
	vfio_edu_run_to_sync(vcpu);

	memset(victim.vaddr, CANARY, VICTIM_SIZE);
	run_job(OP_GARBAGE, 0, 0, 0x9e3779b97f4a7c15ULL);
	TEST_ASSERT(all(victim.vaddr, VICTIM_SIZE, CANARY),
		    "a garbage DMA reached the page the guest was not aiming at");
	sync_global_from_guest(vm, garbage_iova);
	for (i = 0; i < NR_GARBAGE_DMAS; i++) {
		if (garbage_iova[i] - DMA_GPA < DMA_SIZE ||
		    garbage_iova[i] - VICTIM_GPA < VICTIM_SIZE)
			continue;	/* it hit memory the VMM mapped */
		printf("# fault expected: %s iova 0x%lx\n", bdf, garbage_iova[i]);
	}
	check_copy(dma.vaddr, 1);
	ksft_test_result_pass("garbage: random registers and DMAs; the device still copies\n");

	dma_under_until_faulted(victim.vaddr, unmap_victim, &victim, remap_victim, "unmap");
	printf("# fault expected: %s iova 0x%lx\n", bdf, VICTIM_GPA);
	check_copy(dma.vaddr, 2);
	ksft_test_result_pass("unmap_in_flight: nothing lands once the unmap returned\n");

	iommu_map(iommu, &victim);
	dma_under_until_faulted(victim.vaddr, detach_device, NULL, reattach, "detach");
	attach_device();
	check_copy(dma.vaddr, 3);
	ksft_test_result_pass("detach_in_flight: nothing lands once the device is detached\n");

	dma_under(victim.vaddr, close_device, NULL, false);
	ksft_test_result_pass("close_in_flight: nothing lands once the device is closed\n");

	kvm_vm_free(vm);
	iommu_unmap(iommu, &victim);
	iommu_unmap(iommu, &dma);
	iommu_cleanup(iommu);
	munmap(victim.vaddr, VICTIM_SIZE);
	munmap(dma.vaddr, DMA_SIZE);
	check_released();

	ksft_finished();
}
