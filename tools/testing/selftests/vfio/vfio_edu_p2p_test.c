// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio_edu_p2p_test - peer-to-peer DMA: one edu device writes another's BAR.
 *
 * Two edu devices (QEMU's 1234:11e8) share one IOMMU container or IOAS. The
 * peer's BAR0 mmap is mapped at an IOVA, as VFIO type1 lets a user map device
 * MMIO; the initiator then copies four bytes, with the selftest library's
 * driver (memory -> its buffer -> IOVA), to the peer's liveness register,
 * which reads back the inverse of what was written there. Once the BAR is
 * unmapped, the same copy must not reach it. iommufd maps only memory from a
 * user address, never a VFIO BAR mmap: there the map must fail, and the test
 * skips.
 *
 * Usage: vfio_edu_p2p_test INITIATOR-BDF PEER-BDF
 */
#include <sys/mman.h>
#include <unistd.h>

#include <linux/io.h>
#include <linux/pci_regs.h>

#include <libvfio.h>

#include "../kselftest_harness.h"
#include "lib/drivers/edu/registers.h"

static char **bdfs;
static int nr_bdfs;

FIXTURE(vfio_edu_p2p_test) {
	struct iommu *iommu;
	struct vfio_pci_device *device;
	struct vfio_pci_device *peer;
	struct iova_allocator *iova_allocator;
	struct dma_region mem;	/* the driver's region, then the data page */
};

FIXTURE_VARIANT(vfio_edu_p2p_test) {
	const char *iommu_mode;
};

#define FIXTURE_VARIANT_ADD_IOMMU_MODE(_iommu_mode)			       \
FIXTURE_VARIANT_ADD(vfio_edu_p2p_test, _iommu_mode) {			       \
	.iommu_mode = #_iommu_mode,					       \
}

FIXTURE_VARIANT_ADD_ALL_IOMMU_MODES();

#undef FIXTURE_VARIANT_ADD_IOMMU_MODE

FIXTURE_SETUP(vfio_edu_p2p_test)
{
	self->iommu = iommu_init(variant->iommu_mode);
	self->device = vfio_pci_device_init(bdfs[0], self->iommu);
	self->peer = vfio_pci_device_init(bdfs[1], self->iommu);
	self->iova_allocator = iova_allocator_init(self->iommu);

	VFIO_ASSERT_TRUE(vfio_pci_device_match(self->device, EDU_VENDOR_ID, EDU_DEVICE_ID),
			 "%s is not an edu device\n", bdfs[0]);
	VFIO_ASSERT_TRUE(vfio_pci_device_match(self->peer, EDU_VENDOR_ID, EDU_DEVICE_ID),
			 "%s is not an edu device\n", bdfs[1]);
	VFIO_ASSERT_NOT_NULL(self->peer->bars[0].vaddr, "%s: BAR0 cannot be mmapped\n",
			     bdfs[1]);
	vfio_pci_config_writew(self->peer, PCI_COMMAND, PCI_COMMAND_MEMORY);

	self->mem.size = 2 * getpagesize();
	self->mem.vaddr = mmap(NULL, self->mem.size, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	VFIO_ASSERT_NE(self->mem.vaddr, MAP_FAILED);
	self->mem.iova = iova_allocator_alloc(self->iova_allocator, self->mem.size);
	iommu_map(self->iommu, &self->mem);

	self->device->driver.region = (struct dma_region) {
		.vaddr = self->mem.vaddr,
		.iova = self->mem.iova,
		.size = getpagesize(),
	};
	vfio_pci_driver_init(self->device);
}

FIXTURE_TEARDOWN(vfio_edu_p2p_test)
{
	vfio_pci_driver_remove(self->device);
	iommu_unmap(self->iommu, &self->mem);
	VFIO_ASSERT_EQ(munmap(self->mem.vaddr, self->mem.size), 0);
	iova_allocator_cleanup(self->iova_allocator);
	vfio_pci_device_cleanup(self->peer);
	vfio_pci_device_cleanup(self->device);
	iommu_cleanup(self->iommu);
}

/* Copy @val by DMA from memory to @dst, through the initiator's buffer. */
static int copy_to(FIXTURE_DATA(vfio_edu_p2p_test) *self, u32 val, iova_t dst)
{
	*(u32 *)(self->mem.vaddr + getpagesize()) = val;
	return vfio_pci_driver_memcpy(self->device, self->mem.iova + getpagesize(), dst,
				      sizeof(val));
}

TEST_F(vfio_edu_p2p_test, dma_to_peer_bar)
{
	void *liveness = self->peer->bars[0].vaddr + EDU_REG_LIVENESS;
	struct dma_region bar = {
		.vaddr = self->peer->bars[0].vaddr,
		.size = getpagesize(),
		.iova = iova_allocator_alloc(self->iova_allocator, getpagesize()),
	};

	if (strcmp(self->iommu->mode->name, MODE_VFIO_TYPE1V2_IOMMU) &&
	    strcmp(self->iommu->mode->name, MODE_VFIO_TYPE1_IOMMU)) {
		ASSERT_NE(__iommu_map(self->iommu, &bar), 0);
		SKIP(return, "%s maps no VFIO BAR mmap", self->iommu->mode->name);
	}

	iommu_map(self->iommu, &bar);
	writel(0, liveness);
	ASSERT_EQ(copy_to(self, 0x12345678, bar.iova + EDU_REG_LIVENESS), 0);
	ASSERT_EQ(readl(liveness), ~0x12345678U);

	/* Unmapped: the copy is done, but faults on its way to the peer. */
	iommu_unmap(self->iommu, &bar);
	ASSERT_EQ(copy_to(self, 0x0badf00d, bar.iova + EDU_REG_LIVENESS), 0);
	ASSERT_EQ(readl(liveness), ~0x12345678U);
}

int main(int argc, char *argv[])
{
	bdfs = vfio_selftests_get_bdfs(&argc, argv, &nr_bdfs);
	if (nr_bdfs != 2)
		ksft_exit_skip("needs two edu devices (INITIATOR-BDF PEER-BDF), got %d\n",
			       nr_bdfs);
	return test_harness_run(argc, argv);
}
