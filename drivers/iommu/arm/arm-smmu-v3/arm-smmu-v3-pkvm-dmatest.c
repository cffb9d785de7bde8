// SPDX-License-Identifier: GPL-2.0-only
/*
 * A DMA API test for the hypervisor-owned SMMUv3, on QEMU's edu device
 * (1234:11e8): data moves by DMA through whatever default domain the IOMMU
 * core gave the device (the hypervisor's identity domain, or a translated
 * DMA domain of the hypervisor's), and once dma_unmap_single() returns, a
 * DMA to the stale address of a translated domain reaches nothing.
 *
 * The driver binds by name only (driver_override "pkvm-edu-dmatest").
 * Probing runs the test once and reports each check in the kernel log as
 * "pkvm-edu-dmatest <bdf>: ok N - ..." or "... not ok N - ...", then
 * returns -ENODEV: the device is left without a driver, ready to be probed
 * again.
 */
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/iommu.h>
#include <linux/iopoll.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/random.h>

/* BAR0 registers, as QEMU's docs/specs/edu.rst describes them. */
#define EDU_REG_ID		0x00
#define EDU_ID_MAGIC		0xed
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_COUNT	0x90
#define EDU_REG_DMA_CMD		0x98
#define EDU_DMA_START		BIT(0)
#define EDU_DMA_TO_RAM		BIT(1)
/* The device's own buffer, at this address on its side of a DMA. */
#define EDU_BUF_ADDR		0x40000

#define DMATEST_TIMEOUT_US	(1000 * USEC_PER_MSEC)

struct dmatest {
	struct pci_dev	*pdev;
	void __iomem	*bar;
	unsigned int	nr;
	unsigned int	failed;
};

static void dmatest_check(struct dmatest *t, bool pass, const char *what)
{
	t->nr++;
	if (!pass)
		t->failed++;
	pci_info(t->pdev, "%sok %u - %s\n", pass ? "" : "not ", t->nr, what);
}

/* One DMA of a page between memory at @addr and the device's buffer. */
static int dmatest_dma(struct dmatest *t, dma_addr_t addr, bool to_ram)
{
	u64 cmd;

	writeq(to_ram ? EDU_BUF_ADDR : addr, t->bar + EDU_REG_DMA_SRC);
	writeq(to_ram ? addr : EDU_BUF_ADDR, t->bar + EDU_REG_DMA_DST);
	writeq(PAGE_SIZE, t->bar + EDU_REG_DMA_COUNT);
	writeq(EDU_DMA_START | (to_ram ? EDU_DMA_TO_RAM : 0), t->bar + EDU_REG_DMA_CMD);
	/* The device clears START when the transfer is over, faulted or not. */
	return readq_poll_timeout(t->bar + EDU_REG_DMA_CMD, cmd, !(cmd & EDU_DMA_START),
				  10, DMATEST_TIMEOUT_US);
}

static const char *dmatest_domain_type(struct device *dev)
{
	struct iommu_domain *domain = iommu_get_domain_for_dev(dev);

	if (!domain)
		return "none";
	switch (domain->type) {
	case IOMMU_DOMAIN_IDENTITY:
		return "identity";
	case IOMMU_DOMAIN_DMA:
		return "DMA";
	case IOMMU_DOMAIN_DMA_FQ:
		return "DMA-FQ";
	default:
		return "other";
	}
}

static void dmatest_fill(u32 *buf, u32 seed)
{
	unsigned int i;

	for (i = 0; i < PAGE_SIZE / sizeof(*buf); i++)
		buf[i] = seed ^ (i * 0x9e3779b9);
}

static int dmatest_run(struct dmatest *t, u32 *src, u32 *dst)
{
	struct device *dev = &t->pdev->dev;
	const char *type = dmatest_domain_type(dev);
	phys_addr_t dst_phys = virt_to_phys(dst);
	dma_addr_t src_dma, dst_dma;
	bool translated, untouched;
	unsigned int i;
	int ret;

	dmatest_fill(src, get_random_u32());
	memset(dst, 0xa5, PAGE_SIZE);
	src_dma = dma_map_single(dev, src, PAGE_SIZE, DMA_TO_DEVICE);
	if (dma_mapping_error(dev, src_dma))
		return -ENOMEM;
	dst_dma = dma_map_single(dev, dst, PAGE_SIZE, DMA_FROM_DEVICE);
	if (dma_mapping_error(dev, dst_dma)) {
		dma_unmap_single(dev, src_dma, PAGE_SIZE, DMA_TO_DEVICE);
		return -ENOMEM;
	}
	translated = dst_dma != dst_phys;
	pci_info(t->pdev, "default domain %s: dst page %pa at DMA address %pad\n", type,
		 &dst_phys, &dst_dma);

	/* 1. Memory -> device -> memory, through the default domain. */
	ret = dmatest_dma(t, src_dma, false) ?: dmatest_dma(t, dst_dma, true);
	dma_unmap_single(dev, dst_dma, PAGE_SIZE, DMA_FROM_DEVICE);
	if (ret)
		goto out;
	dmatest_check(t, !memcmp(src, dst, PAGE_SIZE),
		      "a page moves by DMA to the device and back through the default domain");

	/*
	 * 2. New data in the device, then a DMA to the address dst had: it is
	 * unmapped, so in a translated domain nothing may arrive in the page,
	 * which this driver still holds.
	 */
	dmatest_fill(src, get_random_u32());
	dma_sync_single_for_device(dev, src_dma, PAGE_SIZE, DMA_TO_DEVICE);
	memset(dst, 0x5a, PAGE_SIZE);
	ret = dmatest_dma(t, src_dma, false);
	if (ret)
		goto out;
	pci_info(t->pdev, "DMA to the unmapped address %pad\n", &dst_dma);
	ret = dmatest_dma(t, dst_dma, true);
	if (ret)
		goto out;
	for (i = 0, untouched = true; i < PAGE_SIZE; i++)
		untouched &= ((u8 *)dst)[i] == 0x5a;
	if (translated)
		dmatest_check(t, untouched,
			      "nothing arrives through the unmapped DMA address");
	else
		pci_info(t->pdev, "ok %u - # SKIP %s domain: the unmapped address maps 1:1 (%s)\n",
			 ++t->nr, type, untouched ? "nothing arrived" : "the data arrived");
out:
	dma_unmap_single(dev, src_dma, PAGE_SIZE, DMA_TO_DEVICE);
	return ret;
}

static int dmatest_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct dmatest t = { .pdev = pdev };
	void *src, *dst;
	int ret;

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	pci_set_master(pdev);
	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret)
		return ret;
	t.bar = pcim_iomap_region(pdev, 0, "pkvm-edu-dmatest");
	if (IS_ERR(t.bar))
		return PTR_ERR(t.bar);
	if ((readl(t.bar + EDU_REG_ID) & 0xff) != EDU_ID_MAGIC) {
		pci_err(pdev, "not an edu device\n");
		return -ENODEV;
	}

	src = (void *)__get_free_page(GFP_KERNEL);
	dst = (void *)__get_free_page(GFP_KERNEL);
	if (src && dst)
		ret = dmatest_run(&t, src, dst);
	else
		ret = -ENOMEM;
	free_page((unsigned long)src);
	free_page((unsigned long)dst);
	pci_clear_master(pdev);
	if (ret)
		pci_err(pdev, "not ok - the test could not run (%d)\n", ret);
	else
		pci_info(pdev, "%u check(s), %u failed\n", t.nr, t.failed);
	/* Never stay bound: the device is ready for the next probe. */
	return -ENODEV;
}

/* No ID table: the driver binds only through driver_override. */
static struct pci_driver dmatest_driver = {
	.name		= "pkvm-edu-dmatest",
	.probe		= dmatest_probe,
};
module_pci_driver(dmatest_driver);

MODULE_DESCRIPTION("DMA API test of the pKVM SMMUv3 driver on QEMU's edu device");
MODULE_LICENSE("GPL");
