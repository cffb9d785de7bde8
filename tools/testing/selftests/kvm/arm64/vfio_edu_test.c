// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio_edu_test - a KVM guest drives a device assigned to it through VFIO.
 *
 * The device is QEMU's edu (1234:11e8). The VMM (this test) opens it with the
 * VFIO selftest library in iommufd mode, maps the guest's DMA memory in the
 * device's IOAS at IOVA = GPA, and puts the device's BAR0 (the VFIO region
 * mmap) in a memslot, so that the guest reaches the device's registers
 * without exits. The guest then programs the device itself:
 *
 *  - bar: it reads the ID register and writes and reads back the liveness
 *    register, which only the device (not memory) inverts;
 *  - dma: it moves a page from its memory into the device and from the device
 *    into another page, and checks the copy; the VMM checks it too;
 *  - dma_outside: it aims the device at an IOVA that is not its memory, then
 *    fetches the device's buffer back to show the device kept working. The
 *    test prints the IOVA: the IOMMU's fault report for it is checked by
 *    whoever runs the test (the host kernel logs it).
 *
 * Under pKVM the IOAS is a hypervisor domain and the BAR memslot is host
 * device MMIO the hypervisor lets the guest borrow.
 */
#include <linux/sizes.h>

#include <libvfio.h>

#include "arch_timer.h"
#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "ucall.h"
#include "vfio/lib/drivers/edu/registers.h"

#define DMA_MEMSLOT	1
#define BAR_MEMSLOT	2

/* Away from the vGIC frames, memslot 0 and each other. */
#define DMA_GPA		0x40000000UL
#define DMA_SIZE	SZ_2M
#define BAR_GPA		0x50000000UL
/* Neither in a memslot nor mapped in the IOAS. */
#define OUTSIDE_GPA	0x60000000UL

#define SRC_GPA		DMA_GPA
#define DST_GPA		(DMA_GPA + EDU_BUF_SIZE)
/* Written by the guest before the DMA aimed outside, then read back from the device. */
#define CHECK_GPA	(DMA_GPA + 2 * EDU_BUF_SIZE)

/* A DMA takes 100 ms of QEMU's virtual clock; one that is not done in 10 s never will. */
#define EDU_DMA_TIMEOUT_S	10

enum stage { STAGE_BAR = 1, STAGE_DMA, STAGE_OUTSIDE };

static u8 pattern(u64 i)
{
	return (i * 7 + 3) ^ (i >> 8);
}

static void guest_edu_dma(u64 src, u64 dst, u64 cmd)
{
	void *bar = (void *)BAR_GPA;
	u64 freq = timer_get_cntfrq();
	u64 start = timer_get_cntct(VIRTUAL);

	writeq(src, bar + EDU_REG_DMA_SRC);
	writeq(dst, bar + EDU_REG_DMA_DST);
	writeq(EDU_BUF_SIZE, bar + EDU_REG_DMA_COUNT);
	writeq(EDU_DMA_START | cmd, bar + EDU_REG_DMA_CMD);

	while (readq(bar + EDU_REG_DMA_CMD) & EDU_DMA_START)
		__GUEST_ASSERT(timer_get_cntct(VIRTUAL) - start < EDU_DMA_TIMEOUT_S * freq,
			       "the DMA from 0x%lx to 0x%lx did not finish", src, dst);
}

static void guest_code(void)
{
	void *bar = (void *)BAR_GPA;
	u8 *src = (u8 *)SRC_GPA, *dst = (u8 *)DST_GPA, *check = (u8 *)CHECK_GPA;
	u64 i;

	GUEST_ASSERT_EQ(readl(bar + EDU_REG_ID) & 0xff, EDU_ID_MAGIC);
	writel(0x5a5a1234, bar + EDU_REG_LIVENESS);
	GUEST_ASSERT_EQ(readl(bar + EDU_REG_LIVENESS), ~0x5a5a1234U);
	GUEST_SYNC(STAGE_BAR);

	for (i = 0; i < EDU_BUF_SIZE; i++) {
		src[i] = pattern(i);
		dst[i] = 0;
	}
	guest_edu_dma(SRC_GPA, EDU_BUF_ADDR, 0);
	guest_edu_dma(EDU_BUF_ADDR, DST_GPA, EDU_DMA_TO_RAM);
	for (i = 0; i < EDU_BUF_SIZE; i++)
		__GUEST_ASSERT(dst[i] == pattern(i), "byte %lu of the copy is 0x%x, not 0x%x",
			       i, dst[i], pattern(i));
	GUEST_SYNC(STAGE_DMA);

	/*
	 * The device still holds the pattern: send it where the guest has no
	 * memory, then fetch the buffer back to show the device kept running.
	 */
	guest_edu_dma(EDU_BUF_ADDR, OUTSIDE_GPA, EDU_DMA_TO_RAM);
	for (i = 0; i < EDU_BUF_SIZE; i++)
		check[i] = 0;
	guest_edu_dma(EDU_BUF_ADDR, CHECK_GPA, EDU_DMA_TO_RAM);
	for (i = 0; i < EDU_BUF_SIZE; i++)
		__GUEST_ASSERT(check[i] == pattern(i), "byte %lu of the buffer is 0x%x, not 0x%x",
			       i, check[i], pattern(i));
	GUEST_SYNC(STAGE_OUTSIDE);

	GUEST_DONE();
}

/* Run the guest to its next stage; the stage it reached. */
static u64 run_to_stage(struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_MMIO);
	switch (get_ucall(vcpu, &uc)) {
	case UCALL_SYNC:
		return uc.args[1];
	case UCALL_DONE:
		return 0;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
	default:
		TEST_FAIL("unexpected ucall %lu", uc.cmd);
	}
	return 0;
}

int main(int argc, char *argv[])
{
	const char *bdf = vfio_selftests_get_bdf(&argc, argv);
	struct vfio_pci_device *device;
	struct dma_region region;
	struct kvm_vcpu *vcpu;
	struct iommu *iommu;
	struct kvm_vm *vm;
	u64 bar_size, i;
	u8 *dst;

	ksft_print_header();
	ksft_set_plan(3);

	iommu = iommu_init("iommufd");
	device = vfio_pci_device_init(bdf, iommu);
	TEST_REQUIRE(vfio_pci_device_match(device, EDU_VENDOR_ID, EDU_DEVICE_ID));
	TEST_ASSERT(device->bars[0].vaddr, "%s: BAR0 cannot be mmapped", bdf);
	bar_size = device->bars[0].info.size;
	vfio_pci_config_writew(device, PCI_COMMAND,
			       PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			       PCI_COMMAND_INTX_DISABLE);

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);

	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, DMA_GPA, DMA_MEMSLOT,
				    DMA_SIZE / vm->page_size, 0);
	virt_map(vm, DMA_GPA, DMA_GPA, DMA_SIZE / vm->page_size);
	region = (struct dma_region) {
		.vaddr = addr_gpa2hva(vm, DMA_GPA),
		.iova = DMA_GPA,
		.size = DMA_SIZE,
	};
	iommu_map(iommu, &region);

	vm_set_user_memory_region(vm, BAR_MEMSLOT, 0, BAR_GPA, bar_size,
				  device->bars[0].vaddr);
	virt_map(vm, BAR_GPA, BAR_GPA, bar_size / vm->page_size);

	TEST_ASSERT_EQ(run_to_stage(vcpu), STAGE_BAR);
	ksft_test_result_pass("bar: the guest reads and writes the device's registers\n");

	TEST_ASSERT_EQ(run_to_stage(vcpu), STAGE_DMA);
	dst = addr_gpa2hva(vm, DST_GPA);
	for (i = 0; i < EDU_BUF_SIZE; i++)
		TEST_ASSERT(dst[i] == pattern(i), "byte %lu of the copy is 0x%x, not 0x%x",
			    i, dst[i], pattern(i));
	ksft_test_result_pass("dma: guest memory -> device -> guest memory, IOVA = GPA\n");

	TEST_ASSERT_EQ(run_to_stage(vcpu), STAGE_OUTSIDE);
	printf("# the device wrote to IOVA 0x%lx, outside the IOAS\n", OUTSIDE_GPA);
	ksft_test_result_pass("dma_outside: the device aimed outside guest memory keeps working\n");

	TEST_ASSERT_EQ(run_to_stage(vcpu), 0);

	iommu_unmap(iommu, &region);
	kvm_vm_free(vm);
	vfio_pci_device_cleanup(device);
	iommu_cleanup(iommu);

	ksft_finished();
}
