// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host driver for the SMMUv3 instances that the pKVM hypervisor owns.
 *
 * In protected mode the host does not program any SMMU: it hands each one to
 * the hypervisor before pKVM finalises (__pkvm_smmu_register) and registers
 * an IOMMU device whose operations are hypercalls. Outside protected mode,
 * probe declines and the stock arm-smmu-v3 driver takes the device.
 *
 * Until paging domains are forwarded to the hypervisor, this driver is
 * opt-in with "pkvm_smmu=on" on the kernel command line, and every device
 * behind a hypervisor-owned SMMU sits in a blocking domain: the hypervisor's
 * stream table aborts every stream.
 */
#include <linux/arm-smccc.h>
#include <linux/bitfield.h>
#include <linux/interrupt.h>
#include <linux/iommu.h>
#include <linux/kvm_host.h>
#include <linux/of.h>
#include <linux/pci.h>
#include <linux/platform_device.h>
#include <linux/ratelimit.h>

#include <asm/kvm_asm.h>
#include <asm/kvm_pkvm_smmu.h>

#include "arm-smmu-v3.h"

/* Event records handled per interrupt: a faulting device cannot hog the thread. */
#define PKVM_SMMU_EVTQ_BUDGET	256

struct pkvm_smmu {
	struct list_head	list;		/* pkvm_smmus_lock */
	struct device		*dev;
	struct iommu_device	iommu;
	phys_addr_t		mmio;
	int			hyp_idx;
	/* Fault reports of this SMMU: a faulting device cannot flood the log. */
	struct ratelimit_state	evt_rs;
};

static bool pkvm_smmu_opt_in;

/* The SMMUs handed to the hypervisor; entries are never removed. */
static LIST_HEAD(pkvm_smmus);
static DEFINE_MUTEX(pkvm_smmus_lock);

static int __init pkvm_smmu_setup(char *arg)
{
	return kstrtobool(arg, &pkvm_smmu_opt_in);
}
early_param("pkvm_smmu", pkvm_smmu_setup);

/*
 * Ask the hypervisor to take the SMMU at @mmio with @nr_pages pages at @pfn.
 * Returns its index or an errno; with -ENOMEM, *needed is the page count.
 */
static int pkvm_smmu_hyp_register(phys_addr_t mmio, u64 pfn, u64 nr_pages,
				  u64 *needed)
{
	struct arm_smccc_res res;

	arm_smccc_1_1_hvc(KVM_HOST_SMCCC_FUNC(__pkvm_smmu_register), mmio,
			  PKVM_SMMU_MMIO_SIZE, pfn, nr_pages, &res);
	/* The hypercall is refused once pKVM has finalised. */
	if (res.a0 != SMCCC_RET_SUCCESS)
		return -EPERM;
	*needed = res.a2;
	return (int)res.a1;
}

/* Take the oldest event record; 1 or 2 (records were lost before it) with one. */
static int pkvm_smmu_pop_event(struct pkvm_smmu *smmu, u64 evt[PKVM_SMMU_EVT_DWORDS])
{
	struct arm_smccc_1_2_regs args = {
		.a0 = KVM_HOST_SMCCC_FUNC(__pkvm_smmu_pop_event),
		.a1 = smmu->hyp_idx,
	};
	struct arm_smccc_1_2_regs res;

	arm_smccc_1_2_hvc(&args, &res);
	if (res.a0 != SMCCC_RET_SUCCESS)
		return -EPERM;
	evt[0] = res.a2;
	evt[1] = res.a3;
	evt[2] = res.a4;
	evt[3] = res.a5;
	return (int)res.a1;
}

static void pkvm_smmu_report_event(struct pkvm_smmu *smmu, const u64 *evt,
				   unsigned int repeats)
{
	if (!__ratelimit(&smmu->evt_rs))
		return;
	dev_err(smmu->dev,
		"event 0x%02llx sid 0x%llx addr 0x%016llx [%016llx %016llx %016llx %016llx]\n",
		FIELD_GET(EVTQ_0_ID, evt[0]), FIELD_GET(EVTQ_0_SID, evt[0]),
		evt[2], evt[0], evt[1], evt[2], evt[3]);
	if (repeats)
		dev_err(smmu->dev, "the event above repeated %u more times\n", repeats);
}

/*
 * A single DMA may fault once per access: identical consecutive records are
 * reported once, with a count.
 */
static irqreturn_t pkvm_smmu_evtq_thread(int irq, void *cookie)
{
	u64 evt[PKVM_SMMU_EVT_DWORDS], last[PKVM_SMMU_EVT_DWORDS];
	struct pkvm_smmu *smmu = cookie;
	unsigned int repeats = 0;
	bool have_last = false;
	int i, ret;

	for (i = 0; i < PKVM_SMMU_EVTQ_BUDGET; i++) {
		ret = pkvm_smmu_pop_event(smmu, evt);
		if (ret <= 0)
			break;
		if (ret == 2)
			dev_err_ratelimited(smmu->dev, "event queue overflow: events lost\n");
		if (have_last && !memcmp(evt, last, sizeof(evt))) {
			repeats++;
			continue;
		}
		if (have_last)
			pkvm_smmu_report_event(smmu, last, repeats);
		memcpy(last, evt, sizeof(evt));
		have_last = true;
		repeats = 0;
	}
	if (have_last)
		pkvm_smmu_report_event(smmu, last, repeats);
	return IRQ_HANDLED;
}

static int pkvm_smmu_setup_irqs(struct platform_device *pdev, struct pkvm_smmu *smmu)
{
	int irq;

	irq = platform_get_irq_byname_optional(pdev, "eventq");
	if (irq < 0)
		irq = platform_get_irq_byname_optional(pdev, "combined");
	if (irq < 0)
		return irq;
	return request_threaded_irq(irq, NULL, pkvm_smmu_evtq_thread, IRQF_ONESHOT,
				    "pkvm-smmu-evtq", smmu);
}

static int pkvm_smmu_give_to_hyp(struct pkvm_smmu *smmu)
{
	void *pages;
	u64 needed;
	int ret;

	ret = pkvm_smmu_hyp_register(smmu->mmio, 0, 0, &needed);
	if (ret != -ENOMEM)
		return ret < 0 ? ret : -EPROTO;
	if (!needed || needed > (SZ_16M >> PAGE_SHIFT))
		return -EPROTO;

	pages = alloc_pages_exact(needed << PAGE_SHIFT, GFP_KERNEL | __GFP_ZERO);
	if (!pages)
		return -ENOMEM;

	ret = pkvm_smmu_hyp_register(smmu->mmio, virt_to_pfn(pages), needed,
				     &needed);
	/*
	 * Once the hypervisor has accepted the pages they are not ours any
	 * more, even if resetting the SMMU then failed: they are freed only
	 * when the hypervisor refused them (-EINVAL, -ENOMEM, -EPERM).
	 */
	if (ret == -EINVAL || ret == -ENOMEM || ret == -EPERM)
		free_pages_exact(pages, needed << PAGE_SHIFT);
	return ret;
}

/*
 * Not driver_find_device_by_fwnode(): the IOMMU core probes the devices
 * behind an SMMU from within our probe, before the SMMU's device is bound.
 */
static struct pkvm_smmu *pkvm_smmu_get_by_fwnode(struct fwnode_handle *fwnode)
{
	struct pkvm_smmu *smmu, *found = NULL;

	mutex_lock(&pkvm_smmus_lock);
	list_for_each_entry(smmu, &pkvm_smmus, list) {
		if (dev_fwnode(smmu->dev) == fwnode) {
			found = smmu;
			break;
		}
	}
	mutex_unlock(&pkvm_smmus_lock);
	return found;
}

static int pkvm_smmu_attach_blocked(struct iommu_domain *domain,
				    struct device *dev,
				    struct iommu_domain *old)
{
	/* The hypervisor's stream table aborts every stream of this device. */
	return 0;
}

static const struct iommu_domain_ops pkvm_smmu_blocked_ops = {
	.attach_dev	= pkvm_smmu_attach_blocked,
};

static struct iommu_domain pkvm_smmu_blocked_domain = {
	.type	= IOMMU_DOMAIN_BLOCKED,
	.ops	= &pkvm_smmu_blocked_ops,
};

static struct iommu_device *pkvm_smmu_probe_device(struct device *dev)
{
	struct iommu_fwspec *fwspec = dev_iommu_fwspec_get(dev);
	struct pkvm_smmu *smmu;

	if (!fwspec || !fwspec->num_ids)
		return ERR_PTR(-ENODEV);
	smmu = pkvm_smmu_get_by_fwnode(fwspec->iommu_fwnode);
	if (!smmu)
		return ERR_PTR(-ENODEV);
	return &smmu->iommu;
}

static void pkvm_smmu_release_device(struct device *dev)
{
}

static struct iommu_group *pkvm_smmu_device_group(struct device *dev)
{
	if (dev_is_pci(dev))
		return pci_device_group(dev);
	return generic_device_group(dev);
}

static int pkvm_smmu_of_xlate(struct device *dev,
			      const struct of_phandle_args *args)
{
	return iommu_fwspec_add_ids(dev, args->args, 1);
}

static const struct iommu_ops pkvm_smmu_ops = {
	.blocked_domain		= &pkvm_smmu_blocked_domain,
	.default_domain		= &pkvm_smmu_blocked_domain,
	.probe_device		= pkvm_smmu_probe_device,
	.release_device		= pkvm_smmu_release_device,
	.device_group		= pkvm_smmu_device_group,
	.of_xlate		= pkvm_smmu_of_xlate,
	.owner			= THIS_MODULE,
};

static int pkvm_smmu_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	struct pkvm_smmu *smmu;
	struct resource *res;
	int ret;

	/* Not protected: the stock driver programs the SMMU itself. */
	if (!is_protected_kvm_enabled() || !pkvm_smmu_opt_in)
		return -ENODEV;

	res = platform_get_resource(pdev, IORESOURCE_MEM, 0);
	if (!res || resource_size(res) < PKVM_SMMU_MMIO_SIZE) {
		dev_err(dev, "MMIO region missing or smaller than %u bytes\n",
			PKVM_SMMU_MMIO_SIZE);
		return -EINVAL;
	}

	/* Not devm: the SMMU stays the hypervisor's whatever happens below. */
	smmu = kzalloc(sizeof(*smmu), GFP_KERNEL);
	if (!smmu)
		return -ENOMEM;
	smmu->dev = dev;
	smmu->mmio = res->start;
	ratelimit_state_init(&smmu->evt_rs, 5 * HZ, 20);

	ret = pkvm_smmu_give_to_hyp(smmu);
	if (ret < 0) {
		kfree(smmu);
		return dev_err_probe(dev, ret,
				     "the hypervisor did not take the SMMU at %pa\n",
				     &res->start);
	}
	smmu->hyp_idx = ret;
	platform_set_drvdata(pdev, smmu);

	ret = iommu_device_sysfs_add(&smmu->iommu, dev, NULL, "smmu3.%pa",
				     &smmu->mmio);
	if (ret)
		goto err_free;
	mutex_lock(&pkvm_smmus_lock);
	list_add_tail(&smmu->list, &pkvm_smmus);
	mutex_unlock(&pkvm_smmus_lock);
	ret = iommu_device_register(&smmu->iommu, &pkvm_smmu_ops, dev);
	if (ret)
		goto err_unlist;
	/* Last: the SMMU and its driver data outlive the interrupt from here on. */
	if (pkvm_smmu_setup_irqs(pdev, smmu))
		dev_warn(dev, "cannot request the event interrupt: faults will not be reported\n");
	dev_info(dev, "SMMUv3 at %pa owned by the hypervisor (index %d)\n",
		 &smmu->mmio, smmu->hyp_idx);
	return 0;

err_unlist:
	mutex_lock(&pkvm_smmus_lock);
	list_del(&smmu->list);
	mutex_unlock(&pkvm_smmus_lock);
	iommu_device_sysfs_remove(&smmu->iommu);
err_free:
	kfree(smmu);
	return ret;
}

/* ACPI (IORT) creates the SMMUs as platform devices by this name. */
static const struct platform_device_id pkvm_smmu_ids[] = {
	{ .name = "arm-smmu-v3" },
	{ }
};

static const struct of_device_id pkvm_smmu_of_match[] = {
	{ .compatible = "arm,smmu-v3", },
	{ },
};

static struct platform_driver pkvm_smmu_driver = {
	.driver		= {
		.name			= "arm-smmu-v3-pkvm",
		.of_match_table		= pkvm_smmu_of_match,
		.suppress_bind_attrs	= true,
	},
	.id_table	= pkvm_smmu_ids,
	.probe		= pkvm_smmu_probe,
};
builtin_platform_driver(pkvm_smmu_driver);
