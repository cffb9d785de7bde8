/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The KVM device-assignment tests' helpers: a guest drives QEMU's edu device
 * (1234:11e8) through its BAR0, which the VMM put in a memslot; the VMM reads
 * the hypervisor's view of the IOMMU domains under pKVM.
 */
#ifndef SELFTEST_KVM_ARM64_VFIO_EDU_H
#define SELFTEST_KVM_ARM64_VFIO_EDU_H

#include <stdio.h>
#include <sys/mman.h>

#include <libvfio.h>

#include "arch_timer.h"
#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "ucall_common.h"
#include "vfio/lib/drivers/edu/registers.h"

/* A DMA takes 100 ms of QEMU's virtual clock; one that is not done in 10 s never will. */
#define EDU_DMA_TIMEOUT_S	10

/* Start a DMA of the device's whole buffer; EDU_DMA_TO_RAM in @cmd for buffer -> @dst. */
static inline void guest_edu_dma_start(void *bar, u64 src, u64 dst, u64 cmd)
{
	writeq(src, bar + EDU_REG_DMA_SRC);
	writeq(dst, bar + EDU_REG_DMA_DST);
	writeq(EDU_BUF_SIZE, bar + EDU_REG_DMA_COUNT);
	writeq(EDU_DMA_START | cmd, bar + EDU_REG_DMA_CMD);
}

/* Wait for the device's DMA to finish. */
static inline void guest_edu_dma_wait(void *bar)
{
	u64 freq = timer_get_cntfrq();
	u64 start = timer_get_cntct(VIRTUAL);

	while (readq(bar + EDU_REG_DMA_CMD) & EDU_DMA_START)
		__GUEST_ASSERT(timer_get_cntct(VIRTUAL) - start < EDU_DMA_TIMEOUT_S * freq,
			       "the DMA from 0x%lx to 0x%lx did not finish",
			       readq(bar + EDU_REG_DMA_SRC), readq(bar + EDU_REG_DMA_DST));
}

static inline void guest_edu_dma(void *bar, u64 src, u64 dst, u64 cmd)
{
	guest_edu_dma_start(bar, src, dst, cmd);
	guest_edu_dma_wait(bar);
}

/* The bytes the tests move: a different page for each @seed. */
static inline u8 edu_pattern(u64 seed, u64 i)
{
	return (i * 7 + 3 + seed * 31) ^ (i >> 8);
}

/*
 * VMM side. Open the edu device at @bdf in @iommu for a guest to drive: memory
 * decoding and bus mastering on, INTx off.
 */
static inline struct vfio_pci_device *vfio_edu_open(const char *bdf, struct iommu *iommu)
{
	struct vfio_pci_device *device = vfio_pci_device_init(bdf, iommu);

	TEST_REQUIRE(vfio_pci_device_match(device, EDU_VENDOR_ID, EDU_DEVICE_ID));
	TEST_ASSERT(device->bars[0].vaddr, "%s: BAR0 cannot be mmapped", bdf);
	vfio_pci_config_writew(device, PCI_COMMAND,
			       PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			       PCI_COMMAND_INTX_DISABLE);
	return device;
}

/* Run the guest until its next GUEST_SYNC(), which it uses to wait for the VMM. */
static inline void vfio_edu_run_to_sync(struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_MMIO);
	switch (get_ucall(vcpu, &uc)) {
	case UCALL_SYNC:
		return;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
	default:
		TEST_FAIL("unexpected ucall %lu", uc.cmd);
	}
}

/* The device's BAR0 as memslot @slot at @gpa, mapped 1:1 in the guest; its size. */
static inline u64 vfio_edu_map_bar(struct kvm_vm *vm, struct vfio_pci_device *device,
				   u32 slot, u64 gpa)
{
	u64 size = device->bars[0].info.size;

	vm_set_user_memory_region(vm, slot, 0, gpa, size, device->bars[0].vaddr);
	virt_map(vm, gpa, gpa, size / vm->page_size);
	return size;
}

/* Memory the VMM owns, for a memslot and a DMA mapping both. */
static inline u8 *vfio_edu_alloc(u64 size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	TEST_ASSERT(p != MAP_FAILED, "mmap of %lu bytes", size);
	return p;
}

/* The hypervisor's view of the domains, under pKVM. */
#define DOMAINS_PATH	"/sys/kernel/debug/pkvm-smmu/domains"

/* debugfs/pkvm-smmu/domains: "domain ID smmu IDX vmid VMID streams N root PHYS". */
struct dom_line {
	int domain, smmu;
	u64 vmid, streams, root;
};

#define MAX_DOM_LINES	32

/* The hypervisor's paging domains; -1 when there is no such file (no pKVM). */
static inline int read_domains(struct dom_line *l)
{
	FILE *f = fopen(DOMAINS_PATH, "r");
	int n = 0;

	if (!f)
		return -1;
	while (n < MAX_DOM_LINES &&
	       fscanf(f, "domain %d smmu %d vmid %lu streams %lu root %lx\n",
		      &l[n].domain, &l[n].smmu, &l[n].vmid, &l[n].streams,
		      &l[n].root) == 5)
		n++;
	TEST_ASSERT(feof(f), "cannot parse %s after %d lines", DOMAINS_PATH, n);
	fclose(f);
	return n;
}

static inline void print_domains(struct dom_line *l, int n)
{
	int i;

	for (i = 0; i < n; i++)
		printf("# domain %d smmu %d vmid %lu streams %lu root 0x%lx\n",
		       l[i].domain, l[i].smmu, l[i].vmid, l[i].streams, l[i].root);
}

/*
 * No paging domain is left, so no page is borrowed: the hypervisor gives a
 * domain's pages back as it unmaps them, or as it frees the domain.
 */
static inline void check_released(void)
{
	struct dom_line l[MAX_DOM_LINES];
	int n = read_domains(l);

	if (n < 0) {
		ksft_test_result_skip("released: no %s (not pKVM)\n", DOMAINS_PATH);
		return;
	}
	print_domains(l, n);
	TEST_ASSERT_EQ(n, 0);
	ksft_test_result_pass("released: no domain is left\n");
}

#endif /* SELFTEST_KVM_ARM64_VFIO_EDU_H */
