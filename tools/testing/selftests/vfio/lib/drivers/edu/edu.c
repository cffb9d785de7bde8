// SPDX-License-Identifier: GPL-2.0-only
/*
 * Driver for QEMU's "edu" educational PCI device (1234:11e8), so that the
 * VFIO selftests can move data by DMA and receive MSIs on any architecture
 * QEMU emulates (docs/specs/edu.rst in QEMU).
 *
 * The device copies between memory and a 4 KiB internal buffer, one DMA at
 * a time, each started by a write to its command register and finished
 * when the START bit reads back clear. A memcpy is therefore two DMAs: from
 * @src into the buffer, then from the buffer to @dst. The device has no
 * way to report a DMA that faulted; it raises its interrupt (one MSI
 * vector) when told to. Its DMA mask must cover the IOVAs the tests use:
 * QEMU's default is 28 bits, so run it with dma_mask=0xffffffffffffffff.
 */
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <linux/io.h>
#include <linux/pci_regs.h>
#include <linux/sizes.h>

#include <libvfio.h>

#include "registers.h"

/* Each DMA takes 100 ms of QEMU's virtual clock: keep the storms short. */
#define EDU_MEMCPY_COUNT_MAX	8
/* A DMA that has not finished after this long never will. */
#define EDU_DMA_TIMEOUT_MS	10000

/* An interrupt status bit the device reports back as the MSI's cause. */
#define EDU_IRQ_SEND_MSI	0x1

/* The memcpy in flight; it lives in the driver's DMA region. */
struct edu_state {
	iova_t	src;
	iova_t	dst;
	u64	size;
	u64	left;		/* copies not finished */
	bool	to_ram;		/* the DMA in flight is the second half */
};

static struct edu_state *to_edu_state(struct vfio_pci_device *device)
{
	return device->driver.region.vaddr;
}

static void *edu_bar(struct vfio_pci_device *device)
{
	return device->bars[0].vaddr;
}

static int edu_probe(struct vfio_pci_device *device)
{
	if (!vfio_pci_device_match(device, EDU_VENDOR_ID, EDU_DEVICE_ID))
		return -EINVAL;

	VFIO_ASSERT_NOT_NULL(edu_bar(device));
	if ((readl(edu_bar(device) + EDU_REG_ID) & 0xff) != EDU_ID_MAGIC)
		return -EINVAL;
	return 0;
}

static u64 edu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/* Wait for the DMA in flight to finish; false if it does not. */
static bool edu_dma_wait(struct vfio_pci_device *device)
{
	u64 deadline = edu_now_ms() + EDU_DMA_TIMEOUT_MS;

	while (readl(edu_bar(device) + EDU_REG_DMA_CMD) & EDU_DMA_START) {
		if (edu_now_ms() > deadline)
			return false;
		usleep(1000);
	}
	return true;
}

static void edu_dma_start(struct vfio_pci_device *device, u64 src, u64 dst,
			  u64 size, bool to_ram)
{
	void *bar = edu_bar(device);

	writeq(src, bar + EDU_REG_DMA_SRC);
	writeq(dst, bar + EDU_REG_DMA_DST);
	writeq(size, bar + EDU_REG_DMA_COUNT);
	writeq(EDU_DMA_START | (to_ram ? EDU_DMA_TO_RAM : 0), bar + EDU_REG_DMA_CMD);
}

static void edu_init(struct vfio_pci_device *device)
{
	VFIO_ASSERT_GE(device->driver.region.size, sizeof(struct edu_state));

	vfio_pci_config_writew(device, PCI_COMMAND,
			       PCI_COMMAND_MEMORY |
			       PCI_COMMAND_MASTER |
			       PCI_COMMAND_INTX_DISABLE);
	/* Nothing left in flight from an earlier user of the device. */
	VFIO_ASSERT_TRUE(edu_dma_wait(device), "edu: a DMA is stuck\n");
	writel(~0U, edu_bar(device) + EDU_REG_IRQ_ACK);

	vfio_pci_msi_enable(device, 0, 1);

	device->driver.msi = 0;
	device->driver.max_memcpy_size = EDU_BUF_SIZE;
	device->driver.max_memcpy_count = EDU_MEMCPY_COUNT_MAX;
}

static void edu_remove(struct vfio_pci_device *device)
{
	VFIO_ASSERT_TRUE(edu_dma_wait(device), "edu: a DMA is stuck\n");
	vfio_pci_msi_disable(device);
}

static void edu_memcpy_start(struct vfio_pci_device *device,
			     iova_t src, iova_t dst, u64 size, u64 count)
{
	struct edu_state *edu = to_edu_state(device);

	VFIO_ASSERT_GT(size, 0);
	VFIO_ASSERT_LE(size, EDU_BUF_SIZE);
	VFIO_ASSERT_GT(count, 0);
	VFIO_ASSERT_LE(count, EDU_MEMCPY_COUNT_MAX);

	*edu = (struct edu_state) {
		.src = src, .dst = dst, .size = size, .left = count,
	};
	edu_dma_start(device, src, EDU_BUF_ADDR, size, false);
}

/*
 * Run the memcpys to the end: each finished DMA into the buffer is followed
 * by the DMA out of it, and each finished copy by the next one.
 */
static int edu_memcpy_wait(struct vfio_pci_device *device)
{
	struct edu_state *edu = to_edu_state(device);

	for (;;) {
		if (!edu_dma_wait(device)) {
			dev_err(device, "edu: DMA did not finish in %d ms\n",
				EDU_DMA_TIMEOUT_MS);
			return -1;
		}
		if (!edu->to_ram) {
			edu->to_ram = true;
			edu_dma_start(device, EDU_BUF_ADDR, edu->dst, edu->size, true);
			continue;
		}
		edu->to_ram = false;
		if (!--edu->left)
			return 0;
		edu_dma_start(device, edu->src, EDU_BUF_ADDR, edu->size, false);
	}
}

static void edu_send_msi(struct vfio_pci_device *device)
{
	void *bar = edu_bar(device);

	/* With MSI enabled, each raise sends the vector once. */
	writel(EDU_IRQ_SEND_MSI, bar + EDU_REG_IRQ_RAISE);
	writel(EDU_IRQ_SEND_MSI, bar + EDU_REG_IRQ_ACK);
}

const struct vfio_pci_driver_ops edu_ops = {
	.name = "edu",
	.probe = edu_probe,
	.init = edu_init,
	.remove = edu_remove,
	.memcpy_start = edu_memcpy_start,
	.memcpy_wait = edu_memcpy_wait,
	.send_msi = edu_send_msi,
};
