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
 *
 * In a DMA-FQ domain (a flush queue), dma_unmap_single() does not invalidate
 * the SMMUs: the stale address may go on reaching the page, which is the
 * host's again, until the queue is flushed. The hypervisor invalidates
 * before any page leaves the host, so the test then gives the page to the
 * hypervisor (a one-page top-up of its IOMMU memcache) and DMAs to the stale
 * address again, which must reach nothing (the caller checks that the SMMU
 * reported the fault), and takes the page back.
 *
 * The DMA API's flush queue flushes within 10 ms, and an edu DMA takes
 * 100 ms: the stale translation itself is shown in a paging domain of the
 * test's own (IOMMU API, no flush queue), unmapped as a flush queue does
 * (iommu_unmap_fast() with a queued gather), then flushed or its page given
 * away.
 */
#include <linux/arm-smccc.h>
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/iommu.h>
#include <linux/iopoll.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/random.h>

#include <asm/kvm_asm.h>
#include <asm/kvm_host.h>

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

static long dmatest_hvc(unsigned long id, u64 a1, u64 a2)
{
	struct arm_smccc_res res;

	arm_smccc_1_1_hvc(id, a1, a2, &res);
	return res.a0 == SMCCC_RET_SUCCESS ? (long)res.a1 : -EPERM;
}

static phys_addr_t dmatest_virt_to_phys(void *addr)
{
	return virt_to_phys(addr);
}

/* Is @page the host's, as the hypervisor sees it? It lets the host share it. */
static bool dmatest_host_owns(void *page)
{
	u64 pfn = page_to_pfn(virt_to_page(page));

	if (dmatest_hvc(KVM_HOST_SMCCC_FUNC(__pkvm_host_share_hyp), pfn, 0))
		return false;
	return !dmatest_hvc(KVM_HOST_SMCCC_FUNC(__pkvm_host_unshare_hyp), pfn, 0);
}

/*
 * 3. The page @dst of a deferred unmap leaves the host: once the donation
 * returned, the stale address @dst_dma reaches nothing. Returns false if the
 * page could not be taken back (then it must never be freed).
 */
static bool dmatest_fq_donate(struct dmatest *t, void *dst, dma_addr_t dst_dma)
{
	struct kvm_hyp_memcache mc = {};
	long ret;

	push_hyp_memcache(&mc, dst, dmatest_virt_to_phys);
	ret = dmatest_hvc(KVM_HOST_SMCCC_FUNC(__pkvm_iommu_topup), mc.head, mc.nr_pages);
	dmatest_check(t, !ret && !dmatest_host_owns(dst),
		      "the page of a deferred unmap can leave the host");
	if (ret)
		return true;
	pci_info(t->pdev, "DMA to the unmapped address %pad of a page the hypervisor owns\n",
		 &dst_dma);
	ret = dmatest_dma(t, dst_dma, true);
	dmatest_check(t, !ret, "the device is done with the stale address");
	/* The memcache gives back its last page first: this one, unless another came. */
	dmatest_hvc(KVM_HOST_SMCCC_FUNC(__pkvm_iommu_reclaim), 1, 0);
	if (dmatest_host_owns(dst))
		return true;
	pci_err(t->pdev, "the page did not come back: leaking it\n");
	return false;
}

/* Deferred unmaps of a domain of the test's own; the caller checks the faults. */
#define DMATEST_IOVA_FLUSHED	SZ_1G
#define DMATEST_IOVA_DONATED	(SZ_1G + SZ_2M)

/* Map @page at @iova, DMA into it; did the data arrive? */
static bool dmatest_own_dma(struct dmatest *t, struct iommu_domain *domain,
			    unsigned long iova, void *page, bool map)
{
	unsigned int i;
	bool untouched;

	if (map && iommu_map(domain, iova, virt_to_phys(page), PAGE_SIZE,
			     IOMMU_READ | IOMMU_WRITE, GFP_KERNEL))
		return false;
	memset(page, 0x5a, PAGE_SIZE);
	if (dmatest_dma(t, iova, true))
		return false;
	for (i = 0, untouched = true; i < PAGE_SIZE; i++)
		untouched &= ((u8 *)page)[i] == 0x5a;
	return !untouched;
}

/* Unmap @iova as a flush queue does: the invalidation is left for later. */
static void dmatest_unmap_deferred(struct iommu_domain *domain, unsigned long iova)
{
	struct iommu_iotlb_gather gather;

	iommu_iotlb_gather_init(&gather);
	gather.queued = true;
	iommu_unmap_fast(domain, iova, PAGE_SIZE, &gather);
}

/*
 * 4. The stale translation a deferred unmap leaves, and its two ends: the
 * flush, and the page leaving the host. Returns false if the page could not
 * be taken back (then it must never be freed).
 */
static bool dmatest_deferred(struct dmatest *t, void *page)
{
	struct device *dev = &t->pdev->dev;
	struct iommu_domain *domain;
	bool back = true;

	domain = iommu_paging_domain_alloc(dev);
	if (IS_ERR(domain) || iommu_attach_device(domain, dev)) {
		dmatest_check(t, false, "a paging domain of the test's own");
		if (!IS_ERR(domain))
			iommu_domain_free(domain);
		return true;
	}
	dmatest_check(t, dmatest_own_dma(t, domain, DMATEST_IOVA_FLUSHED, page, true),
		      "a page moves by DMA through the test's own paging domain");
	dmatest_unmap_deferred(domain, DMATEST_IOVA_FLUSHED);
	dmatest_check(t, dmatest_own_dma(t, domain, DMATEST_IOVA_FLUSHED, page, false),
		      "after a deferred unmap the stale translation still reaches the page");
	iommu_flush_iotlb_all(domain);
	pci_info(t->pdev, "DMA to 0x%x after the flush\n", DMATEST_IOVA_FLUSHED);
	dmatest_check(t, !dmatest_own_dma(t, domain, DMATEST_IOVA_FLUSHED, page, false),
		      "after the flush nothing arrives");

	dmatest_check(t, dmatest_own_dma(t, domain, DMATEST_IOVA_DONATED, page, true),
		      "the page moves by DMA again, at another address");
	dmatest_unmap_deferred(domain, DMATEST_IOVA_DONATED);
	back = dmatest_fq_donate(t, page, DMATEST_IOVA_DONATED);
	iommu_detach_device(domain, dev);
	iommu_domain_free(domain);
	return back;
}

static void dmatest_fill(u32 *buf, u32 seed)
{
	unsigned int i;

	for (i = 0; i < PAGE_SIZE / sizeof(*buf); i++)
		buf[i] = seed ^ (i * 0x9e3779b9);
}

static int dmatest_run(struct dmatest *t, u32 *src, u32 *dst, bool *dst_back)
{
	struct device *dev = &t->pdev->dev;
	const char *type = dmatest_domain_type(dev);
	struct iommu_domain *domain = iommu_get_domain_for_dev(dev);
	bool fq = domain && domain->type == IOMMU_DOMAIN_DMA_FQ;
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
	if (fq) {
		/* Unless the queue's timer flushed it meanwhile. */
		pci_info(t->pdev, "flush queue: the unmapped address %s\n",
			 untouched ? "reached nothing (flushed already)" :
				     "still reached the page (invalidation deferred)");
		*dst_back = dmatest_fq_donate(t, dst, dst_dma);
	} else if (translated)
		dmatest_check(t, untouched,
			      "nothing arrives through the unmapped DMA address");
	else
		pci_info(t->pdev, "ok %u - # SKIP %s domain: the unmapped address maps 1:1 (%s)\n",
			 ++t->nr, type, untouched ? "nothing arrived" : "the data arrived");
	/* What iommu-dma asks before each unmap, which the driver answers itself. */
	if (translated) {
		dmatest_check(t, iommu_iova_to_phys(domain, src_dma + 8) == virt_to_phys(src) + 8,
			      "iova_to_phys() finds a mapped page");
		dmatest_check(t, !iommu_iova_to_phys(domain, dst_dma),
			      "iova_to_phys() finds nothing at the unmapped address");
	}
out:
	dma_unmap_single(dev, src_dma, PAGE_SIZE, DMA_TO_DEVICE);
	return ret;
}

static int dmatest_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct dmatest t = { .pdev = pdev };
	struct iommu_domain *domain;
	bool dst_back = true, fq;
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
		ret = dmatest_run(&t, src, dst, &dst_back);
	else
		ret = -ENOMEM;
	domain = iommu_get_domain_for_dev(&pdev->dev);
	fq = domain && domain->type == IOMMU_DOMAIN_DMA_FQ;
	if (!ret && fq && dst_back)
		dst_back = dmatest_deferred(&t, dst);
	free_page((unsigned long)src);
	if (dst_back)
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
