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
 *    whoever runs the test (the host kernel logs it);
 *  - msi: its DMA's completion interrupt and an interrupt it raises reach it
 *    as an LPI: the device's MSI goes through the host (VFIO's MSI eventfd),
 *    KVM_IRQFD and an MSI route to the guest's ITS, which the guest set up
 *    itself (device, event, collection, LPI).
 *
 * Under pKVM the IOAS is a hypervisor domain and the BAR memslot is host
 * device MMIO the hypervisor lets the guest borrow.
 */
#include <linux/sizes.h>

#include <libvfio.h>

#include "arch_timer.h"
#include "gic.h"
#include "gic_v3.h"
#include "gic_v3_its.h"
#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "ucall.h"
#include "vgic.h"
#include "vfio_edu.h"

#define DMA_MEMSLOT	1
#define BAR_MEMSLOT	2
#define ITS_MEMSLOT	3

/* Away from the vGIC frames, memslot 0 and each other. */
#define DMA_GPA		0x40000000UL
#define DMA_SIZE	SZ_2M
#define BAR_GPA		0x50000000UL
/* Neither in a memslot nor mapped in the IOAS. */
#define OUTSIDE_GPA	0x60000000UL
/* The guest's ITS tables, 64 KiB each, and the LPI tables of its redistributor. */
#define ITS_GPA		0x48000000UL
#define ITS_TABLES	6

/* What the guest's ITS sees: the device id the VMM gives the device, its one event. */
#define EDU_ITS_DEVICE_ID	0
#define EDU_ITS_EVENT_ID	0
#define EDU_LPI			8192
#define EDU_MSI_GSI		0

#define SRC_GPA		DMA_GPA
#define DST_GPA		(DMA_GPA + EDU_BUF_SIZE)
/* Written by the guest before the DMA aimed outside, then read back from the device. */
#define CHECK_GPA	(DMA_GPA + 2 * EDU_BUF_SIZE)

/* An interrupt status bit of the guest's choosing, raised through EDU_REG_IRQ_RAISE. */
#define EDU_IRQ_RAISE_TEST	0x1

enum stage { STAGE_BAR = 1, STAGE_DMA, STAGE_OUTSIDE, STAGE_MSI };

static struct {
	gpa_t device_table;
	gpa_t collection_table;
	gpa_t cmdq;
	gpa_t itt;
	gpa_t lpi_prop_table;
	gpa_t lpi_pend_table;
} its;

/* Written by the guest's interrupt handler. */
static u32 nr_msis;
static u32 msi_status;
static u32 stray_intid;

static u8 pattern(u64 i)
{
	return edu_pattern(0, i);
}

static void guest_irq_handler(struct ex_regs *regs)
{
	void *bar = (void *)BAR_GPA;
	u32 intid = gic_get_and_ack_irq();
	u32 status;

	if (intid == IAR_SPURIOUS)
		return;
	if (intid != EDU_LPI) {
		WRITE_ONCE(stray_intid, intid);
		gic_set_eoi(intid);
		return;
	}
	status = readl(bar + EDU_REG_IRQ_STATUS);
	writel(status, bar + EDU_REG_IRQ_ACK);
	WRITE_ONCE(msi_status, READ_ONCE(msi_status) | status);
	WRITE_ONCE(nr_msis, READ_ONCE(nr_msis) + 1);
	gic_set_eoi(intid);
}

/* The guest's own ITS routes the device's event to EDU_LPI on this vCPU. */
static void guest_setup_its(void)
{
	void *cmdq = (void *)its.cmdq;

	gic_init(GIC_V3, 1);
	gic_rdist_enable_lpis(its.lpi_prop_table, SZ_64K, its.lpi_pend_table);
	its_init(its.collection_table, SZ_64K, its.device_table, SZ_64K,
		 its.cmdq, SZ_64K);
	its_send_mapc_cmd(cmdq, 0, 0, true);
	its_send_mapd_cmd(cmdq, EDU_ITS_DEVICE_ID, its.itt, SZ_64K, true);
	its_send_mapti_cmd(cmdq, EDU_ITS_DEVICE_ID, EDU_ITS_EVENT_ID, 0, EDU_LPI);
	its_send_invall_cmd(cmdq, 0);
	its_send_sync_cmd(cmdq, 0);
	local_irq_enable();
}

/* Wait until the guest has taken nr MSIs in all. */
static void guest_wait_msis(u32 nr)
{
	u64 freq = timer_get_cntfrq();
	u64 start = timer_get_cntct(VIRTUAL);

	while (READ_ONCE(nr_msis) < nr)
		__GUEST_ASSERT(timer_get_cntct(VIRTUAL) - start < EDU_DMA_TIMEOUT_S * freq,
			       "%u MSI(s) taken, waiting for %u", READ_ONCE(nr_msis), nr);
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
	guest_edu_dma(bar, SRC_GPA, EDU_BUF_ADDR, 0);
	guest_edu_dma(bar, EDU_BUF_ADDR, DST_GPA, EDU_DMA_TO_RAM);
	for (i = 0; i < EDU_BUF_SIZE; i++)
		__GUEST_ASSERT(dst[i] == pattern(i), "byte %lu of the copy is 0x%x, not 0x%x",
			       i, dst[i], pattern(i));
	GUEST_SYNC(STAGE_DMA);

	/*
	 * The device still holds the pattern: send it where the guest has no
	 * memory, then fetch the buffer back to show the device kept running.
	 */
	guest_edu_dma(bar, EDU_BUF_ADDR, OUTSIDE_GPA, EDU_DMA_TO_RAM);
	for (i = 0; i < EDU_BUF_SIZE; i++)
		check[i] = 0;
	guest_edu_dma(bar, EDU_BUF_ADDR, CHECK_GPA, EDU_DMA_TO_RAM);
	for (i = 0; i < EDU_BUF_SIZE; i++)
		__GUEST_ASSERT(check[i] == pattern(i), "byte %lu of the buffer is 0x%x, not 0x%x",
			       i, check[i], pattern(i));
	GUEST_SYNC(STAGE_OUTSIDE);

	guest_setup_its();
	guest_edu_dma(bar, SRC_GPA, EDU_BUF_ADDR, EDU_DMA_IRQ);
	guest_wait_msis(1);
	GUEST_ASSERT_EQ(READ_ONCE(msi_status), EDU_IRQ_DMA);
	writel(EDU_IRQ_RAISE_TEST, bar + EDU_REG_IRQ_RAISE);
	guest_wait_msis(2);
	GUEST_ASSERT_EQ(READ_ONCE(msi_status), EDU_IRQ_DMA | EDU_IRQ_RAISE_TEST);
	GUEST_ASSERT_EQ(READ_ONCE(stray_intid), 0);
	GUEST_SYNC(STAGE_MSI);

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

/* The guest's ITS and the tables it and the redistributor use. */
static void setup_its(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	u64 pages = vm_calc_num_guest_pages(vm->mode, SZ_64K);
	gpa_t *table[ITS_TABLES] = {
		&its.device_table, &its.collection_table, &its.cmdq, &its.itt,
		&its.lpi_prop_table, &its.lpi_pend_table,
	};
	u8 *prop;
	int i;

	vm_init_descriptor_tables(vm);
	vcpu_init_descriptor_tables(vcpu);
	vm_install_exception_handler(vm, VECTOR_IRQ_CURRENT, guest_irq_handler);
	vgic_its_setup(vm);

	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, ITS_GPA, ITS_MEMSLOT,
				    ITS_TABLES * pages, 0);
	for (i = 0; i < ITS_TABLES; i++)
		*table[i] = vm_phy_pages_alloc(vm, pages, ITS_GPA, ITS_MEMSLOT);
	virt_map(vm, its.cmdq, its.cmdq, pages);

	prop = addr_gpa2hva(vm, its.lpi_prop_table);
	prop[EDU_LPI - 8192] = 0xa0 | LPI_PROP_GROUP1 | LPI_PROP_ENABLED;
	sync_global_to_guest(vm, its);
}

/* The device's MSI, through VFIO's eventfd and KVM_IRQFD, to the guest's ITS. */
static void setup_msi_route(struct kvm_vm *vm, struct vfio_pci_device *device)
{
	struct kvm_irq_routing *routing = kvm_gsi_routing_create();
	gpa_t doorbell = GITS_BASE_GPA + GITS_TRANSLATER;

	routing->entries[0] = (struct kvm_irq_routing_entry) {
		.gsi = EDU_MSI_GSI,
		.type = KVM_IRQ_ROUTING_MSI,
		.flags = KVM_MSI_VALID_DEVID,
		.u.msi = {
			.address_lo = doorbell,
			.address_hi = doorbell >> 32,
			.data = EDU_ITS_EVENT_ID,
			.devid = EDU_ITS_DEVICE_ID,
		},
	};
	routing->nr = 1;
	kvm_gsi_routing_write(vm, routing);

	vfio_pci_msi_enable(device, 0, 1);
	kvm_assign_irqfd(vm, EDU_MSI_GSI, device->msi_eventfds[0]);
}

int main(int argc, char *argv[])
{
	const char *bdf = vfio_selftests_get_bdf(&argc, argv);
	struct vfio_pci_device *device;
	struct dma_region region;
	struct kvm_vcpu *vcpu;
	struct iommu *iommu;
	struct kvm_vm *vm;
	u64 i;
	u8 *dst;

	ksft_print_header();
	ksft_set_plan(4);

	iommu = iommu_init("iommufd");
	device = vfio_edu_open(bdf, iommu);

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

	vfio_edu_map_bar(vm, device, BAR_MEMSLOT, BAR_GPA);

	setup_its(vm, vcpu);
	setup_msi_route(vm, device);

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

	TEST_ASSERT_EQ(run_to_stage(vcpu), STAGE_MSI);
	ksft_test_result_pass("msi: the device's MSIs reach the guest as LPIs through its ITS\n");

	TEST_ASSERT_EQ(run_to_stage(vcpu), 0);

	kvm_deassign_irqfd(vm, EDU_MSI_GSI, device->msi_eventfds[0]);
	vfio_pci_msi_disable(device);

	iommu_unmap(iommu, &region);
	kvm_vm_free(vm);
	vfio_pci_device_cleanup(device);
	iommu_cleanup(iommu);

	ksft_finished();
}
