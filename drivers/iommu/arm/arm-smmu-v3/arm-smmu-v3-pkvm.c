// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host driver for the SMMUv3 instances that the pKVM hypervisor owns.
 *
 * In protected mode the host does not program any SMMU: it hands each one to
 * the hypervisor before pKVM finalises (__pkvm_smmu_register) and registers
 * an IOMMU device whose operations are hypercalls. Outside protected mode,
 * probe declines and the stock arm-smmu-v3 driver takes the device.
 *
 * Domains: a device starts in the hypervisor's identity domain, which maps
 * exactly the memory the host owns and follows every ownership change, so
 * the DMA API needs no hypercall per DMA. The blocking domain leaves the
 * streams without an STE: they abort. Paging domains (for VFIO and iommufd)
 * are stage-2 domains in the hypervisor: alloc, attach, map and unmap are
 * hypercalls, and the hypervisor checks that every mapped page is the host's.
 * When a call needs hypervisor memory it says how many pages; the driver
 * donates them (__pkvm_iommu_topup) and repeats the call.
 *
 * In protected mode the driver takes every SMMUv3; "pkvm_smmu=off" on the
 * command line leaves them to the stock driver (for comparison only: the host
 * can then DMA anywhere). An SMMU the hypervisor refuses is not left to the
 * host either: its frame goes to the hypervisor anyway
 * (__pkvm_smmu_quarantine), which leaves it disabled and aborting, and this
 * driver stays bound to it so that the stock driver never programs it (the
 * stock driver also refuses every SMMU while this one is in charge). An SMMU
 * this driver has not probed when pKVM finalises (its probe deferred, say) is
 * quarantined then (pkvm_smmu_finalize()); if that fails, pKVM does not
 * finalise.
 */
#include <linux/acpi.h>
#include <linux/acpi_iort.h>
#include <linux/arm-smccc.h>
#include <linux/bitfield.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/interrupt.h>
#include <linux/iommu.h>
#include <linux/kvm_host.h>
#include <linux/of.h>
#include <linux/of_address.h>
#include <linux/of_device.h>
#include <linux/pci.h>
#include <linux/pci-ecam.h>
#include <linux/platform_device.h>
#include <linux/ratelimit.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <asm/kvm_asm.h>
#include <asm/kvm_pkvm_smmu.h>

#include "arm-smmu-v3.h"
#include "arm-smmu-v3-pkvm.h"
#include "../../dma-iommu.h"

/* Event records handled per interrupt: a faulting device cannot hog the thread. */
#define PKVM_SMMU_EVTQ_BUDGET	256
/* Pages donated per __pkvm_iommu_topup call. */
#define PKVM_SMMU_TOPUP_BATCH	32
/* Top-ups one operation may ask for before it gives up. */
#define PKVM_SMMU_MAX_TOPUPS	16

struct pkvm_smmu {
	struct list_head	list;		/* pkvm_smmus_lock */
	struct device		*dev;
	struct iommu_device	iommu;
	phys_addr_t		mmio;
	int			hyp_idx;
	/* Given to the hypervisor for the stream table, queues and VMID bitmap. */
	u64			hyp_pages;
	/* Fault reports of this SMMU: a faulting device cannot flood the log. */
	struct ratelimit_state	evt_rs;
};

struct pkvm_smmu_domain {
	struct iommu_domain	domain;
	int			id;		/* the hypervisor's */
	struct list_head	list;		/* pkvm_smmu_domains_lock */
};

/* Paging domains, for the debugfs view. */
static LIST_HEAD(pkvm_smmu_domains);
static DEFINE_MUTEX(pkvm_smmu_domains_lock);

/* A device behind a hypervisor-owned SMMU. */
struct pkvm_smmu_master {
	struct pkvm_smmu	*smmu;
	struct device		*dev;
	/* The hypervisor domain the streams translate with, or -1 (blocked). */
	int			attached_id;	/* pkvm_smmu_attach_lock */
	/*
	 * The protected VM the streams went to (0: none), and the domain the
	 * IOMMU core attached meanwhile, which they join once the VM is gone.
	 */
	u64			pvm_handle;	/* pkvm_smmu_attach_lock */
	int			pvm_pending_id;	/* pkvm_smmu_attach_lock */
	struct list_head	pvm_node;	/* pkvm_smmu_attach_lock */
	unsigned int		num_sids;
	u32			sids[] __counted_by(num_sids);
};

/*
 * Serialises the moves of every device's streams: the IOMMU core's attaches
 * (under a group's mutex, taken first) and the assignment of a device to a
 * protected VM and its return (pkvm_smmu_assign_pvm(), pkvm_smmu_release_pvm()).
 */
static DEFINE_MUTEX(pkvm_smmu_attach_lock);
/* Devices a protected VM has. */
static LIST_HEAD(pkvm_smmu_pvm_masters);

static bool pkvm_smmu_enabled = true;

/* The hypervisor's identity domain for host DMA, once allocated. */
static int pkvm_smmu_identity_id = -1;
static DEFINE_MUTEX(pkvm_smmu_identity_lock);

/* The SMMUs handed to the hypervisor; entries are never removed. */
static LIST_HEAD(pkvm_smmus);
static DEFINE_MUTEX(pkvm_smmus_lock);

static int __init pkvm_smmu_setup(char *arg)
{
	return kstrtobool(arg, &pkvm_smmu_enabled);
}
early_param("pkvm_smmu", pkvm_smmu_setup);

/*
 * iommu.passthrough=0 on the command line: the user wants translated DMA
 * domains for host DMA. The IOMMU core parses the parameter too (every
 * early_param of that name sees it); this driver only needs to know that it
 * was given, and false.
 */
static bool pkvm_smmu_translated __ro_after_init;

static int __init pkvm_smmu_passthrough_setup(char *arg)
{
	bool passthrough;

	if (!kstrtobool(arg, &passthrough))
		pkvm_smmu_translated = !passthrough;
	return 0;
}
early_param("iommu.passthrough", pkvm_smmu_passthrough_setup);

/*
 * Host DMA goes through the hypervisor's identity domain by default: no
 * hypercall per DMA, and the hypervisor keeps it equal to what the host
 * owns. It stays a default, not a rule: devices the PCI core does not trust
 * get translated DMA domains (the IOMMU core insists), iommu.passthrough=0
 * gives every device one, and a group's sysfs "type" can be set to DMA.
 * Called before the first SMMU registers with the IOMMU core.
 */
static void pkvm_smmu_set_default_domain_locked(void)
{
	static bool done;

	lockdep_assert_held(&pkvm_smmus_lock);
	if (done)
		return;
	done = true;
	if (pkvm_smmu_translated) {
		pr_info("pkvm-smmu: host DMA through translated domains (iommu.passthrough=0)\n");
		return;
	}
	iommu_set_default_passthrough(false);
	pr_info("pkvm-smmu: host DMA through the hypervisor's identity domain by default (iommu.passthrough=0: translated)\n");
}

/* In protected mode, with this driver on, no SMMUv3 is the host's to program. */
bool arm_smmu_v3_pkvm_owns_smmus(void)
{
	return is_protected_kvm_enabled() && pkvm_smmu_enabled;
}

#ifdef CONFIG_PKVM_SMMU_V3_DEBUGFS
/*
 * Test knob: "pkvm_smmu_test_refuse=N" treats the N-th SMMU this driver
 * probes (from 0) as refused by the hypervisor, to test that nothing then
 * drives it.
 */
static int pkvm_smmu_test_refuse = -1;

static int __init pkvm_smmu_test_refuse_setup(char *arg)
{
	return kstrtoint(arg, 0, &pkvm_smmu_test_refuse);
}
early_param("pkvm_smmu_test_refuse", pkvm_smmu_test_refuse_setup);

static bool pkvm_smmu_test_refused(void)
{
	static int probed;

	return probed++ == pkvm_smmu_test_refuse;
}

/*
 * Test knob: "pkvm_smmu_test_defer=N" defers the probe of the N-th SMMU this
 * driver probes (from 0) until pKVM has finalised, as a probe waiting for a
 * resource could, to test that it is taken from the host all the same.
 */
static int pkvm_smmu_test_defer = -1;

static int __init pkvm_smmu_test_defer_setup(char *arg)
{
	return kstrtoint(arg, 0, &pkvm_smmu_test_defer);
}
early_param("pkvm_smmu_test_defer", pkvm_smmu_test_defer_setup);

static bool pkvm_smmu_test_deferred(struct device *dev)
{
	static struct device *deferred;
	static int probed;

	if (!deferred && probed++ == pkvm_smmu_test_defer)
		deferred = dev;
	return dev == deferred;
}

/*
 * Test knob: "pkvm_smmu_test_pmcg=PHYS" describes an SMMUv3 PMCG whose
 * register page 0 is the 4 KiB at PHYS, as IORT would (a platform device
 * "arm-smmu-v3-pmcg"): QEMU models none, so a test points it at a page
 * nothing else uses, to show that pKVM takes it from the host.
 */
static phys_addr_t pkvm_smmu_test_pmcg;

static int __init pkvm_smmu_test_pmcg_setup(char *arg)
{
	u64 phys;
	int ret = kstrtou64(arg, 0, &phys);

	if (!ret)
		pkvm_smmu_test_pmcg = phys;
	return ret;
}
early_param("pkvm_smmu_test_pmcg", pkvm_smmu_test_pmcg_setup);

/* Its overflow interrupt, an SPI nothing else on QEMU's virt machine uses. */
#define PKVM_SMMU_TEST_PMCG_GSI	200

static int __init pkvm_smmu_test_pmcg_init(void)
{
	struct resource res[2] = { DEFINE_RES_MEM(pkvm_smmu_test_pmcg, SZ_4K) };
	u32 model = IORT_SMMU_V3_PMCG_GENERIC;
	struct platform_device *pdev;
	unsigned int nr = 1;
	int irq;

	if (!pkvm_smmu_test_pmcg)
		return 0;
	/* With an interrupt, as IORT gives one, the stock PMCG driver would bind. */
	irq = -ENODEV;
#ifdef CONFIG_ACPI
	if (!acpi_disabled)
		irq = acpi_register_gsi(NULL, PKVM_SMMU_TEST_PMCG_GSI, ACPI_EDGE_SENSITIVE,
					ACPI_ACTIVE_HIGH);
#endif
	if (irq > 0)
		res[nr++] = DEFINE_RES_IRQ_NAMED(irq, "overflow");
	/* IORT's platform data: the PMCG's model (iort.c, arm_smmu_v3_pmcg_add_platdata()). */
	pdev = platform_device_register_resndata(NULL, "arm-smmu-v3-pmcg", PLATFORM_DEVID_AUTO,
						 res, nr, &model, sizeof(model));
	return PTR_ERR_OR_ZERO(pdev);
}
subsys_initcall(pkvm_smmu_test_pmcg_init);
#else
static bool pkvm_smmu_test_refused(void)
{
	return false;
}

static bool pkvm_smmu_test_deferred(struct device *dev)
{
	return false;
}
#endif

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
				   unsigned int repeats, u64 last_addr)
{
	if (!__ratelimit(&smmu->evt_rs))
		return;
	dev_err(smmu->dev,
		"event 0x%02llx sid 0x%llx addr 0x%016llx [%016llx %016llx %016llx %016llx]\n",
		FIELD_GET(EVTQ_0_ID, evt[0]), FIELD_GET(EVTQ_0_SID, evt[0]),
		evt[2], evt[0], evt[1], evt[2], evt[3]);
	if (repeats)
		dev_err(smmu->dev, "  and %u more like it, up to addr 0x%016llx\n",
			repeats, last_addr);
}

/*
 * One DMA faults once per access: records of the same event, stream and
 * flags that follow each other are reported as one line with a count.
 */
static irqreturn_t pkvm_smmu_evtq_thread(int irq, void *cookie)
{
	u64 evt[PKVM_SMMU_EVT_DWORDS], first[PKVM_SMMU_EVT_DWORDS];
	struct pkvm_smmu *smmu = cookie;
	unsigned int repeats = 0;
	bool have_first = false;
	u64 last_addr = 0;
	int i, ret;

	for (i = 0; i < PKVM_SMMU_EVTQ_BUDGET; i++) {
		ret = pkvm_smmu_pop_event(smmu, evt);
		if (ret <= 0)
			break;
		if (ret == 2)
			dev_err_ratelimited(smmu->dev, "event queue overflow: events lost\n");
		if (have_first && evt[0] == first[0] && evt[1] == first[1]) {
			repeats++;
			last_addr = evt[2];
			continue;
		}
		if (have_first)
			pkvm_smmu_report_event(smmu, first, repeats, last_addr);
		memcpy(first, evt, sizeof(evt));
		have_first = true;
		repeats = 0;
	}
	if (have_first)
		pkvm_smmu_report_event(smmu, first, repeats, last_addr);
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
	else if (ret >= 0)
		smmu->hyp_pages = needed;
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

static inline struct pkvm_smmu_domain *to_pkvm_domain(struct iommu_domain *domain)
{
	return container_of(domain, struct pkvm_smmu_domain, domain);
}

/*
 * A hypercall with up to five arguments; results 2 and 3 in @r2, @r3.
 * Returns result 1 (an errno or a value), or -EPERM if the hypervisor
 * refused the call itself.
 */
static long pkvm_smmu_hvc(unsigned long id, u64 a1, u64 a2, u64 a3, u64 a4,
			  u64 a5, u64 *r2, u64 *r3)
{
	struct arm_smccc_1_2_regs args = {
		.a0 = id, .a1 = a1, .a2 = a2, .a3 = a3, .a4 = a4, .a5 = a5,
	};
	struct arm_smccc_1_2_regs res;

	arm_smccc_1_2_hvc(&args, &res);
	if (res.a0 != SMCCC_RET_SUCCESS)
		return -EPERM;
	if (r2)
		*r2 = res.a2;
	if (r3)
		*r3 = res.a3;
	return (long)res.a1;
}

#define pkvm_iommu_hvc(fn, ...)						\
	pkvm_smmu_hvc(KVM_HOST_SMCCC_FUNC(__pkvm_iommu_##fn), __VA_ARGS__)

static phys_addr_t pkvm_smmu_virt_to_phys(void *addr)
{
	return virt_to_phys(addr);
}

#ifdef CONFIG_PKVM_SMMU_V3_DEBUGFS
/*
 * debugfs/pkvm-smmu/share_domains: with N (make bench), a paging domain
 * stays on the SMMU of its first device, and VFIO and iommufd give a device
 * behind another SMMU a domain of its own, as drivers that cannot share one
 * across SMMUs do.
 */
static bool pkvm_smmu_share_domains = true;
/*
 * debugfs/pkvm-smmu/donated_pages: pages the driver's top-ups gave the
 * hypervisor's IOMMU memcache, less those reclaimed through debugfs/hvc.
 */
static atomic_t pkvm_smmu_donated = ATOMIC_INIT(0);

static void pkvm_smmu_count_donated(long pages)
{
	atomic_add(pages, &pkvm_smmu_donated);
}

/* Has the domain streams on another SMMU than @master's, with sharing off? */
static bool pkvm_smmu_refuse_shared(int id, struct pkvm_smmu_master *master)
{
	u64 info;
	int idx;

	if (READ_ONCE(pkvm_smmu_share_domains))
		return false;
	for (idx = 0; idx < PKVM_SMMU_MAX; idx++) {
		info = 0;
		if (idx == master->smmu->hyp_idx ||
		    pkvm_iommu_hvc(domain_info, id, idx, 0, 0, 0, &info, NULL))
			continue;
		if (info >> 16)
			return true;
	}
	return false;
}
#else
static void pkvm_smmu_count_donated(long pages)
{
}

static bool pkvm_smmu_refuse_shared(int id, struct pkvm_smmu_master *master)
{
	return false;
}
#endif

/*
 * Give @nr pages to the hypervisor for IOMMU use. Pages it took are its own
 * from then on; the others are freed.
 */
static int pkvm_smmu_topup(u64 nr, gfp_t gfp)
{
	void *pages[PKVM_SMMU_TOPUP_BATCH];
	struct kvm_hyp_memcache mc;
	unsigned int i, n;
	u64 taken;
	long ret;

	while (nr) {
		mc = (struct kvm_hyp_memcache) {};
		n = min_t(u64, nr, PKVM_SMMU_TOPUP_BATCH);
		for (i = 0; i < n; i++) {
			pages[i] = (void *)__get_free_page(gfp);
			if (!pages[i])
				break;
			push_hyp_memcache(&mc, pages[i], pkvm_smmu_virt_to_phys);
		}
		if (!i)
			return -ENOMEM;
		n = i;
		taken = 0;
		ret = pkvm_iommu_hvc(topup, mc.head, mc.nr_pages, 0, 0, 0, &taken, NULL);
		pkvm_smmu_count_donated(taken);
		/* The list is taken from its head: the last pushed page first. */
		for (i = 0; i + taken < n; i++)
			free_page((unsigned long)pages[i]);
		if (ret)
			return ret;
		nr -= n;
	}
	return 0;
}

static void pkvm_smmu_domain_free(struct iommu_domain *domain)
{
	struct pkvm_smmu_domain *pdom = to_pkvm_domain(domain);
	long ret;

	mutex_lock(&pkvm_smmu_domains_lock);
	list_del(&pdom->list);
	mutex_unlock(&pkvm_smmu_domains_lock);
	/* Each call does a bounded step: repeat while the hypervisor asks. */
	do {
		ret = pkvm_iommu_hvc(free_domain, pdom->id, 0, 0, 0, 0, NULL, NULL);
		if (ret == -EAGAIN)
			cond_resched();
	} while (ret == -EAGAIN);
	/* The core detached every device: the hypervisor keeps a busy domain. */
	WARN_ON(ret);
	kfree(pdom);
}

static int pkvm_smmu_attach_sids(int id, struct pkvm_smmu_master *master,
				 unsigned int n)
{
	unsigned int i, topups = 0;
	u64 needed;
	long ret;

	for (i = 0; i < n; i++) {
		needed = 0;
		ret = pkvm_iommu_hvc(attach, id, master->smmu->hyp_idx,
				     master->sids[i], 0, 0, &needed, NULL);
		if (ret == -ENOMEM && needed && topups++ < PKVM_SMMU_MAX_TOPUPS) {
			ret = pkvm_smmu_topup(needed, GFP_KERNEL);
			if (!ret) {
				i--;
				continue;
			}
		}
		if (ret)
			goto err_detach;
	}
	return 0;

err_detach:
	while (i--)
		pkvm_iommu_hvc(detach, id, master->smmu->hyp_idx,
			       master->sids[i], 0, 0, NULL, NULL);
	return ret;
}

static void pkvm_smmu_detach_master(struct pkvm_smmu_master *master)
{
	unsigned int i;

	lockdep_assert_held(&pkvm_smmu_attach_lock);
	if (master->pvm_handle) {
		master->pvm_pending_id = -1;
		return;
	}
	if (master->attached_id < 0)
		return;
	/* Detach cannot fail for a stream that is attached. */
	for (i = 0; i < master->num_sids; i++)
		WARN_ON(pkvm_iommu_hvc(detach, master->attached_id,
				       master->smmu->hyp_idx, master->sids[i],
				       0, 0, NULL, NULL));
	master->attached_id = -1;
}

/*
 * Move the device's streams to hypervisor domain @id. While a protected VM
 * has them, the identity domain (what the core falls back to when VFIO lets
 * the device go) is joined once the VM is gone; a paging domain, which
 * expects to translate at once, is refused.
 */
static int pkvm_smmu_attach_master(struct pkvm_smmu_master *master, int id)
{
	int prev = master->attached_id;
	int ret;

	lockdep_assert_held(&pkvm_smmu_attach_lock);
	if (master->pvm_handle) {
		if (id != pkvm_smmu_identity_id)
			return -EBUSY;
		master->pvm_pending_id = id;
		return 0;
	}
	if (prev == id)
		return 0;
	/* The hypervisor moves a stream between domains through "aborting". */
	pkvm_smmu_detach_master(master);
	ret = pkvm_smmu_attach_sids(id, master, master->num_sids);
	if (ret) {
		if (prev >= 0 && !pkvm_smmu_attach_sids(prev, master, master->num_sids))
			master->attached_id = prev;
		return ret;
	}
	master->attached_id = id;
	return 0;
}

/* Log where a paging domain now translates: its table, and its VMID here. */
static void pkvm_smmu_log_attach(struct device *dev, struct pkvm_smmu_master *master,
				 int id)
{
	u64 info = 0, root = 0;

	if (pkvm_iommu_hvc(domain_info, id, master->smmu->hyp_idx, 0, 0, 0,
			   &info, &root))
		return;
	dev_info(dev, "domain %d: page table 0x%llx, on SMMU %d with VMID %llu (%llu stream(s))\n",
		 id, root, master->smmu->hyp_idx, info & 0xffff, info >> 16);
}

static int pkvm_smmu_attach_paging(struct iommu_domain *domain,
				   struct device *dev,
				   struct iommu_domain *old)
{
	struct pkvm_smmu_master *master = dev_iommu_priv_get(dev);
	int id = to_pkvm_domain(domain)->id;
	int ret;

	if (pkvm_smmu_refuse_shared(id, master))
		return -EINVAL;
	mutex_lock(&pkvm_smmu_attach_lock);
	ret = pkvm_smmu_attach_master(master, id);
	mutex_unlock(&pkvm_smmu_attach_lock);
	if (!ret)
		pkvm_smmu_log_attach(dev, master, id);

	/*
	 * The hypervisor refuses an SMMU that cannot walk the domain's table
	 * (-EOPNOTSUPP). To the IOMMU core that is an incompatible domain:
	 * -EINVAL, after which VFIO and iommufd use a domain of its own.
	 */
	return ret == -EOPNOTSUPP ? -EINVAL : ret;
}

/*
 * The hypervisor's identity domain maps exactly the memory the host owns and
 * follows every ownership change itself: no map or unmap from here.
 */
static int pkvm_smmu_identity_id_get(void)
{
	unsigned int topups = 0;
	u64 needed;
	long ret;

	mutex_lock(&pkvm_smmu_identity_lock);
	while (pkvm_smmu_identity_id < 0) {
		needed = 0;
		ret = pkvm_iommu_hvc(alloc_domain, PKVM_IOMMU_DOMAIN_IDENTITY, 0, 0,
				     0, 0, &needed, NULL);
		if (ret >= 0) {
			pkvm_smmu_identity_id = ret;
			break;
		}
		if (ret != -ENOMEM || !needed || topups++ >= PKVM_SMMU_MAX_TOPUPS)
			break;
		ret = pkvm_smmu_topup(needed, GFP_KERNEL);
		if (ret)
			break;
	}
	ret = pkvm_smmu_identity_id < 0 ? ret : pkvm_smmu_identity_id;
	mutex_unlock(&pkvm_smmu_identity_lock);
	return ret;
}

static int pkvm_smmu_attach_identity(struct iommu_domain *domain,
				     struct device *dev,
				     struct iommu_domain *old)
{
	int id = pkvm_smmu_identity_id_get();

	if (id < 0)
		return id;
	guard(mutex)(&pkvm_smmu_attach_lock);
	return pkvm_smmu_attach_master(dev_iommu_priv_get(dev), id);
}

static const struct iommu_domain_ops pkvm_smmu_identity_ops = {
	.attach_dev	= pkvm_smmu_attach_identity,
};

static struct iommu_domain pkvm_smmu_identity_domain = {
	.type	= IOMMU_DOMAIN_IDENTITY,
	.ops	= &pkvm_smmu_identity_ops,
};

static int pkvm_smmu_map_pages(struct iommu_domain *domain, unsigned long iova,
			       phys_addr_t paddr, size_t pgsize, size_t pgcount,
			       int prot, gfp_t gfp, size_t *mapped)
{
	struct pkvm_smmu_domain *pdom = to_pkvm_domain(domain);
	size_t size = pgsize * pgcount;
	unsigned int topups = 0;
	u64 hprot = 0, done, needed;
	long ret = 0;

	/*
	 * IOMMU_MMIO is an MSI doorbell (iommu-dma, iommufd's software MSI
	 * window), which the hypervisor maps write-only; iommufd asks for
	 * read too, which a doorbell ignores anyway. A peer's BAR (VFIO
	 * type1, for peer-to-peer DMA) comes without it and keeps its read.
	 */
	if ((prot & IOMMU_READ) && !(prot & IOMMU_MMIO))
		hprot |= PKVM_IOMMU_PROT_READ;
	if (prot & IOMMU_WRITE)
		hprot |= PKVM_IOMMU_PROT_WRITE;

	while (size) {
		done = 0;
		needed = 0;
		ret = pkvm_iommu_hvc(map, pdom->id, iova, paddr, size, hprot,
				     &done, &needed);
		iova += done;
		paddr += done;
		size -= done;
		*mapped += done;
		if (ret == -ENOMEM && needed && topups++ < PKVM_SMMU_MAX_TOPUPS)
			ret = pkvm_smmu_topup(needed, gfp);
		if (ret)
			break;
		/* Every call maps something or fails: the loop always advances. */
		if (WARN_ON_ONCE(!done && !needed))
			return -EIO;
	}
	return ret;
}

static size_t pkvm_smmu_unmap_pages(struct iommu_domain *domain,
				    unsigned long iova, size_t pgsize,
				    size_t pgcount,
				    struct iommu_iotlb_gather *gather)
{
	struct pkvm_smmu_domain *pdom = to_pkvm_domain(domain);
	size_t size = pgsize * pgcount, unmapped = 0;
	u64 done, flags = 0;
	long ret;

	/*
	 * The hypervisor invalidates every SMMU before it returns, but for a
	 * flush queue's unmap (iommu-dma's DMA_FQ domains), whose invalidation
	 * waits for pkvm_smmu_flush_iotlb_all(): the pages are the host's
	 * again at once, and the hypervisor invalidates the SMMUs itself
	 * before any of them leaves the host.
	 */
	if (iommu_iotlb_gather_queued(gather))
		flags = PKVM_IOMMU_UNMAP_DEFER;
	while (unmapped < size) {
		done = 0;
		ret = pkvm_iommu_hvc(unmap, pdom->id, iova + unmapped,
				     size - unmapped, flags, 0, &done, NULL);
		unmapped += done;
		if (ret || !done)
			break;
	}
	return unmapped;
}

/* The flush queue's invalidation: one per SMMU that deferred unmaps left stale. */
static void pkvm_smmu_flush_iotlb_all(struct iommu_domain *domain)
{
	struct pkvm_smmu_domain *pdom = to_pkvm_domain(domain);
	long ret;

	ret = pkvm_iommu_hvc(flush, pdom->id, 0, 0, 0, 0, NULL, NULL);
	if (ret)
		pr_warn_ratelimited("pkvm-smmu: domain %d: flush failed: %ld\n",
				    pdom->id, ret);
}

static phys_addr_t pkvm_smmu_iova_to_phys(struct iommu_domain *domain,
					  dma_addr_t iova)
{
	struct pkvm_smmu_domain *pdom = to_pkvm_domain(domain);
	u64 phys = 0;

	if (pkvm_iommu_hvc(iova_to_phys, pdom->id, iova, 0, 0, 0, &phys, NULL))
		return 0;
	return phys;
}

static const struct iommu_domain_ops pkvm_smmu_paging_ops = {
	.attach_dev	= pkvm_smmu_attach_paging,
	.map_pages	= pkvm_smmu_map_pages,
	.unmap_pages	= pkvm_smmu_unmap_pages,
	.flush_iotlb_all = pkvm_smmu_flush_iotlb_all,
	.iova_to_phys	= pkvm_smmu_iova_to_phys,
	.free		= pkvm_smmu_domain_free,
};

static struct iommu_domain *pkvm_smmu_domain_alloc_paging(struct device *dev)
{
	struct pkvm_smmu_domain *pdom;
	unsigned int topups = 0;
	u64 needed;
	long ret;

	pdom = kzalloc_obj(*pdom);
	if (!pdom)
		return ERR_PTR(-ENOMEM);

	for (;;) {
		needed = 0;
		ret = pkvm_iommu_hvc(alloc_domain, PKVM_IOMMU_DOMAIN_S2, 0, 0, 0, 0,
				     &needed, NULL);
		if (ret != -ENOMEM || !needed || topups++ >= PKVM_SMMU_MAX_TOPUPS)
			break;
		ret = pkvm_smmu_topup(needed, GFP_KERNEL);
		if (ret)
			break;
	}
	if (ret < 0) {
		kfree(pdom);
		return ERR_PTR(ret);
	}
	pdom->id = ret;
	pdom->domain.ops = &pkvm_smmu_paging_ops;
	/* Page mappings only, so that unmap never splits a block. */
	pdom->domain.pgsize_bitmap = SZ_4K;
	pdom->domain.geometry.aperture_start = 0;
	pdom->domain.geometry.aperture_end = BIT_ULL(PKVM_IOMMU_IAS) - 1;
	pdom->domain.geometry.force_aperture = true;
	mutex_lock(&pkvm_smmu_domains_lock);
	list_add_tail(&pdom->list, &pkvm_smmu_domains);
	mutex_unlock(&pkvm_smmu_domains_lock);
	return &pdom->domain;
}

static int pkvm_smmu_attach_blocked(struct iommu_domain *domain,
				    struct device *dev,
				    struct iommu_domain *old)
{
	struct pkvm_smmu_master *master = dev_iommu_priv_get(dev);

	/* With no STE, the hypervisor's stream table aborts the streams. */
	guard(mutex)(&pkvm_smmu_attach_lock);
	pkvm_smmu_detach_master(master);
	return 0;
}

static const struct iommu_domain_ops pkvm_smmu_blocked_ops = {
	.attach_dev	= pkvm_smmu_attach_blocked,
};

/*
 * A device given to a protected VM stays blocked for the host, and the
 * hypervisor translates its MSIs: they keep the doorbell's physical
 * address, which tells it the doorbell (patch 0028). A VMM that enables the
 * MSIs of a device it has not attached to an IOAS yet gets that address
 * too, which its IOAS will not translate: it attaches first.
 */
static struct iommu_domain pkvm_smmu_blocked_domain = {
	.type		= IOMMU_DOMAIN_BLOCKED,
	.cookie_type	= IOMMU_COOKIE_MSI_PHYS,
	.ops		= &pkvm_smmu_blocked_ops,
};

static struct iommu_device *pkvm_smmu_probe_device(struct device *dev)
{
	struct iommu_fwspec *fwspec = dev_iommu_fwspec_get(dev);
	struct pkvm_smmu_master *master;
	struct pkvm_smmu *smmu;

	if (!fwspec || !fwspec->num_ids)
		return ERR_PTR(-ENODEV);
	smmu = pkvm_smmu_get_by_fwnode(fwspec->iommu_fwnode);
	if (!smmu)
		return ERR_PTR(-ENODEV);

	master = kzalloc_flex(*master, sids, fwspec->num_ids);
	if (!master)
		return ERR_PTR(-ENOMEM);
	master->smmu = smmu;
	master->dev = dev;
	master->attached_id = -1;
	master->num_sids = fwspec->num_ids;
	memcpy(master->sids, fwspec->ids, fwspec->num_ids * sizeof(*fwspec->ids));
	dev_iommu_priv_set(dev, master);
	return &smmu->iommu;
}

static void pkvm_smmu_release_device(struct device *dev)
{
	struct pkvm_smmu_master *master = dev_iommu_priv_get(dev);

	mutex_lock(&pkvm_smmu_attach_lock);
	/* A device a VM still has keeps aborting: its streams are the VM's. */
	if (master->pvm_handle)
		list_del(&master->pvm_node);
	else
		pkvm_smmu_detach_master(master);
	mutex_unlock(&pkvm_smmu_attach_lock);
	kfree(master);
}

static bool pkvm_smmu_capable(struct device *dev, enum iommu_cap cap)
{
	/*
	 * The hypervisor only attaches SMMUs whose table walks are coherent,
	 * and defers a flush queue's invalidations (pkvm_smmu_unmap_pages()).
	 */
	return cap == IOMMU_CAP_CACHE_COHERENCY || cap == IOMMU_CAP_DEFERRED_FLUSH;
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

/*
 * The software MSI window: the IOMMU core maps the doorbell an MSI targets
 * there (the hypervisor maps a registered doorbell alone and write-only), and
 * no IOVA allocator hands it out for DMA.
 */
static void pkvm_smmu_get_resv_regions(struct device *dev, struct list_head *head)
{
	int prot = IOMMU_WRITE | IOMMU_NOEXEC | IOMMU_MMIO;
	struct iommu_resv_region *region;

	region = iommu_alloc_resv_region(MSI_IOVA_BASE, MSI_IOVA_LENGTH, prot,
					 IOMMU_RESV_SW_MSI, GFP_KERNEL);
	if (!region)
		return;
	list_add_tail(&region->list, head);
	iommu_dma_get_resv_regions(dev, head);
}

static const struct iommu_ops pkvm_smmu_ops = {
	.blocked_domain		= &pkvm_smmu_blocked_domain,
	.identity_domain	= &pkvm_smmu_identity_domain,
	.capable		= pkvm_smmu_capable,
	.domain_alloc_paging	= pkvm_smmu_domain_alloc_paging,
	.probe_device		= pkvm_smmu_probe_device,
	.release_device		= pkvm_smmu_release_device,
	.device_group		= pkvm_smmu_device_group,
	.get_resv_regions	= pkvm_smmu_get_resv_regions,
	.of_xlate		= pkvm_smmu_of_xlate,
	.owner			= THIS_MODULE,
};

#ifdef CONFIG_PKVM_SMMU_V3_DEBUGFS
/*
 * debugfs/pkvm-smmu/domains: each paging domain as the hypervisor sees it,
 * one line per SMMU with streams: its VMID there, its streams, and the root
 * of the domain's one page table.
 */
static int pkvm_smmu_domains_show(struct seq_file *m, void *unused)
{
	struct pkvm_smmu_domain *pdom;
	u64 info0, root;
	int idx;

	mutex_lock(&pkvm_smmu_domains_lock);
	list_for_each_entry(pdom, &pkvm_smmu_domains, list) {
		for (idx = 0; idx < PKVM_SMMU_MAX; idx++) {
			info0 = 0;
			root = 0;
			if (pkvm_iommu_hvc(domain_info, pdom->id, idx, 0, 0, 0,
					   &info0, &root))
				break;
			if (!(info0 >> 16))
				continue;
			seq_printf(m, "domain %d smmu %d vmid %llu streams %llu root 0x%llx\n",
				   pdom->id, idx, info0 & 0xffff, info0 >> 16, root);
		}
	}
	mutex_unlock(&pkvm_smmu_domains_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pkvm_smmu_domains);

/*
 * debugfs/pkvm-smmu/hvc: issue one raw hypercall, for tests that play a
 * hostile host. Write "NAME a1 [a2 ...]", read back "x1 x2 x3": of the last
 * call made through the same open file (threads with a file each do not mix
 * their results), or, from a file that made none, of the last call made
 * through any (for shell scripts: echo >hvc; cat hvc). The
 * hypervisor must already withstand anything the host kernel can send; this
 * only makes such calls reachable from a test script. "topup N" donates N
 * pages the way the driver does.
 */
static const struct {
	const char	*name;
	unsigned long	id;
} pkvm_smmu_hvcs[] = {
#define HVC(n)	{ #n, KVM_HOST_SMCCC_FUNC(__pkvm_##n) }
	HVC(smmu_register), HVC(smmu_pop_event), HVC(iommu_topup),
	HVC(iommu_reclaim), HVC(iommu_alloc_domain), HVC(iommu_free_domain),
	HVC(iommu_attach), HVC(iommu_detach), HVC(iommu_map), HVC(iommu_unmap),
	HVC(iommu_iova_to_phys), HVC(iommu_domain_info), HVC(host_share_hyp),
	HVC(host_unshare_hyp), HVC(smmu_inject_fault), HVC(iommu_register_doorbell),
	HVC(iommu_assign_pvm), HVC(iommu_bench_knob), HVC(iommu_assign_pvm_mmio),
	/*
	 * pKVM's own, for the benchmark: takes a page back from a protected
	 * VM behind the host's own path (pkvm_force_reclaim_guest_page()).
	 */
	HVC(force_reclaim_guest_page),
#undef HVC
};

/* The result of the last call through one open file, or through any. */
struct pkvm_smmu_hvc_res {
	struct mutex	lock;		/* serialises the fields below */
	bool		valid;		/* lock */
	long		res[3];		/* lock */
};

static struct pkvm_smmu_hvc_res pkvm_smmu_hvc_last = {
	.lock = __MUTEX_INITIALIZER(pkvm_smmu_hvc_last.lock),
};

static void pkvm_smmu_hvc_set(struct pkvm_smmu_hvc_res *res, long r1, long r2, long r3)
{
	mutex_lock(&res->lock);
	res->valid = true;
	res->res[0] = r1;
	res->res[1] = r2;
	res->res[2] = r3;
	mutex_unlock(&res->lock);
}

static int pkvm_smmu_hvc_open(struct inode *inode, struct file *file)
{
	struct pkvm_smmu_hvc_res *r = kzalloc_obj(*r);

	if (!r)
		return -ENOMEM;
	mutex_init(&r->lock);
	file->private_data = r;
	return 0;
}

static int pkvm_smmu_hvc_release(struct inode *inode, struct file *file)
{
	kfree(file->private_data);
	return 0;
}

static ssize_t pkvm_smmu_hvc_write(struct file *file, const char __user *ubuf,
				   size_t count, loff_t *ppos)
{
	struct pkvm_smmu_hvc_res *res = file->private_data;
	char buf[160], name[32];
	u64 a[5] = {}, r2 = 0, r3 = 0;
	long ret = -EINVAL;
	unsigned int i;
	int n;

	if (count >= sizeof(buf))
		return -E2BIG;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	n = sscanf(buf, "%31s %lli %lli %lli %lli %lli", name, &a[0], &a[1],
		   &a[2], &a[3], &a[4]);
	if (n < 1)
		return -EINVAL;

	if (!strcmp(name, "topup")) {
		ret = pkvm_smmu_topup(a[0], GFP_KERNEL);
	} else {
		for (i = 0; i < ARRAY_SIZE(pkvm_smmu_hvcs); i++) {
			if (!strcmp(name, pkvm_smmu_hvcs[i].name))
				break;
		}
		if (i == ARRAY_SIZE(pkvm_smmu_hvcs))
			return -ENOENT;
		ret = pkvm_smmu_hvc(pkvm_smmu_hvcs[i].id, a[0], a[1], a[2],
				    a[3], a[4], &r2, &r3);
		if (pkvm_smmu_hvcs[i].id == KVM_HOST_SMCCC_FUNC(__pkvm_iommu_reclaim) &&
		    ret > 0)
			pkvm_smmu_count_donated(-ret);
	}
	pkvm_smmu_hvc_set(res, ret, r2, r3);
	pkvm_smmu_hvc_set(&pkvm_smmu_hvc_last, ret, r2, r3);
	return count;
}

static ssize_t pkvm_smmu_hvc_read(struct file *file, char __user *ubuf,
				  size_t count, loff_t *ppos)
{
	struct pkvm_smmu_hvc_res *res = file->private_data;
	char buf[80];
	int len;

	mutex_lock(&res->lock);
	if (!res->valid) {
		mutex_unlock(&res->lock);
		res = &pkvm_smmu_hvc_last;
		mutex_lock(&res->lock);
	}
	len = scnprintf(buf, sizeof(buf), "%ld 0x%lx 0x%lx\n", res->res[0],
			res->res[1], res->res[2]);
	mutex_unlock(&res->lock);
	return simple_read_from_buffer(ubuf, count, ppos, buf, len);
}

static const struct file_operations pkvm_smmu_hvc_fops = {
	.open	= pkvm_smmu_hvc_open,
	.release = pkvm_smmu_hvc_release,
	.write	= pkvm_smmu_hvc_write,
	.read	= pkvm_smmu_hvc_read,
	.llseek	= default_llseek,
};

static void pkvm_smmu_debugfs_init(void)
{
	static struct dentry *dir;

	if (dir)
		return;
	dir = debugfs_create_dir("pkvm-smmu", NULL);
	debugfs_create_file("domains", 0400, dir, NULL, &pkvm_smmu_domains_fops);
	debugfs_create_file("hvc", 0600, dir, NULL, &pkvm_smmu_hvc_fops);
	debugfs_create_bool("share_domains", 0600, dir, &pkvm_smmu_share_domains);
	debugfs_create_atomic_t("donated_pages", 0400, dir, &pkvm_smmu_donated);
}
#else
static void pkvm_smmu_debugfs_init(void)
{
}
#endif

/*
 * Give the hypervisor the frame of the SMMU at @res, which it does not
 * drive, to keep disabled and aborting. Returns 0 once it holds the frame,
 * or an errno; *@what says which in words.
 */
static int pkvm_smmu_quarantine(struct resource *res, const char **what)
{
	u64 size = resource_size(res) >= PKVM_SMMU_MMIO_SIZE ? PKVM_SMMU_MMIO_SIZE : SZ_64K;
	struct arm_smccc_res hvc;
	long ret;

	if (resource_size(res) < SZ_64K) {
		*what = "NOT isolated (its frame is too small to take)";
		return -EINVAL;
	}
	arm_smccc_1_1_hvc(KVM_HOST_SMCCC_FUNC(__pkvm_smmu_quarantine), res->start, size, &hvc);
	ret = (long)hvc.a1;
	if (hvc.a0 != SMCCC_RET_SUCCESS) {
		*what = "NOT isolated (pKVM has finalised: too late to hand it over)";
		return -EPERM;
	}
	if (!ret) {
		*what = "taken and stopped by it";
		return 0;
	}
	if (ret == -EPERM) {
		/* Not the host's frame: the hypervisor took it and stopped it. */
		*what = "kept and stopped by it";
		return 0;
	}
	*what = "NOT isolated (the hypervisor could not take its frame)";
	return ret;
}

/*
 * Serialises probes (deferred ones run from a workqueue) with
 * pkvm_smmu_finalize(), and guards the record below: a probe sees either the
 * SMMUs it may still hand over, or pkvm_smmu_finalised set and every SMMU
 * that firmware describes in the record.
 */
static DEFINE_MUTEX(pkvm_smmu_probe_lock);
/* Set by pkvm_smmu_finalize(): pKVM finalises, no SMMU can be handed over any more. */
static bool pkvm_smmu_finalised;

/*
 * The frames the hypervisor holds, by base: SMMUs it drives and SMMUs it
 * keeps disabled (quarantined), with how they got there. What is not here
 * when pKVM finalises is still the host's, whatever the device's driver
 * binding says (a probe waiting for pkvm_smmu_probe_lock is bound already).
 */
enum pkvm_smmu_held_how { PKVM_SMMU_PROBED, PKVM_SMMU_AT_FINALISE };

static struct {
	phys_addr_t			base;
	enum pkvm_smmu_held_how		how;
} pkvm_smmu_held[2 * PKVM_SMMU_MAX];
static unsigned int pkvm_smmu_nr_held;
/* A frame the record could not hold: pkvm_smmu_finalize() must fail. */
static bool pkvm_smmu_held_overflow;

static int pkvm_smmu_held_find_locked(phys_addr_t base)
{
	unsigned int i;

	lockdep_assert_held(&pkvm_smmu_probe_lock);
	for (i = 0; i < pkvm_smmu_nr_held; i++)
		if (pkvm_smmu_held[i].base == base)
			return i;
	return -ENOENT;
}

/* Note that the hypervisor holds the frame at @base. */
static void pkvm_smmu_held_add_locked(phys_addr_t base, enum pkvm_smmu_held_how how)
{
	lockdep_assert_held(&pkvm_smmu_probe_lock);
	if (pkvm_smmu_nr_held == ARRAY_SIZE(pkvm_smmu_held)) {
		pkvm_smmu_held_overflow = true;
		return;
	}
	pkvm_smmu_held[pkvm_smmu_nr_held].base = base;
	pkvm_smmu_held[pkvm_smmu_nr_held++].how = how;
}

/*
 * The hypervisor did not take the SMMU at @res (@err says why): give it its
 * frame all the same, to keep disabled and aborting, and stay bound, so
 * that no host driver ever programs it. Its devices cannot DMA. If the frame
 * cannot be given, pkvm_smmu_finalize() tries again and fails.
 */
static int pkvm_smmu_refused_locked(struct device *dev, struct resource *res, int err)
{
	const char *what;

	lockdep_assert_held(&pkvm_smmu_probe_lock);
	if (!pkvm_smmu_quarantine(res, &what))
		pkvm_smmu_held_add_locked(res->start, PKVM_SMMU_PROBED);
	dev_err(dev, "SMMUv3 at %pa refused by the hypervisor (%d), %s: its devices cannot DMA\n",
		&res->start, err, what);
	return 0;
}

/*
 * A probe once pKVM has finalised (one that was deferred until then): the
 * SMMU is the hypervisor's if pkvm_smmu_finalize() quarantined it. Stay bound
 * either way, so that no other driver programs it.
 */
static int pkvm_smmu_probe_late_locked(struct device *dev, struct resource *res)
{
	int i = pkvm_smmu_held_find_locked(res->start);

	if (i >= 0 && pkvm_smmu_held[i].how == PKVM_SMMU_AT_FINALISE)
		dev_err(dev, "SMMUv3 at %pa probed after pKVM finalised: taken and stopped by the hypervisor then, its devices cannot DMA\n",
			&res->start);
	else
		dev_err(dev, "SMMUv3 at %pa probed after pKVM finalised: NOT isolated, no driver programs it\n",
			&res->start);
	return 0;
}

static int pkvm_smmu_probe_locked(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	struct pkvm_smmu *smmu;
	struct resource *res;
	int ret;

	lockdep_assert_held(&pkvm_smmu_probe_lock);
	/* Not protected: the stock driver programs the SMMU itself. */
	if (!is_protected_kvm_enabled() || !pkvm_smmu_enabled)
		return -ENODEV;

	res = platform_get_resource(pdev, IORESOURCE_MEM, 0);
	if (!res)
		return dev_err_probe(dev, -EINVAL, "no MMIO region\n");
	if (pkvm_smmu_finalised)
		return pkvm_smmu_probe_late_locked(dev, res);
	if (pkvm_smmu_test_deferred(dev))
		return -EPROBE_DEFER;
	if (resource_size(res) < PKVM_SMMU_MMIO_SIZE) {
		dev_err(dev, "MMIO region smaller than %u bytes\n", PKVM_SMMU_MMIO_SIZE);
		return pkvm_smmu_refused_locked(dev, res, -EINVAL);
	}
	if (pkvm_smmu_test_refused())
		return pkvm_smmu_refused_locked(dev, res, -ENODEV);

	/* Not devm: the SMMU stays the hypervisor's whatever happens below. */
	smmu = kzalloc_obj(*smmu);
	if (!smmu)
		return pkvm_smmu_refused_locked(dev, res, -ENOMEM);
	smmu->dev = dev;
	smmu->mmio = res->start;
	ratelimit_state_init(&smmu->evt_rs, 5 * HZ, 50);

	ret = pkvm_smmu_give_to_hyp(smmu);
	if (ret < 0) {
		kfree(smmu);
		return pkvm_smmu_refused_locked(dev, res, ret);
	}
	smmu->hyp_idx = ret;
	platform_set_drvdata(pdev, smmu);
	pkvm_smmu_held_add_locked(res->start, PKVM_SMMU_PROBED);

	/*
	 * From here on the SMMU is the hypervisor's whatever happens: stay
	 * bound even if registering it fails, so that no other driver tries
	 * to program it. Its streams keep aborting.
	 */
	ret = iommu_device_sysfs_add(&smmu->iommu, dev, NULL, "smmu3.%pa",
				     &smmu->mmio);
	if (ret)
		goto err_free;
	mutex_lock(&pkvm_smmus_lock);
	list_add_tail(&smmu->list, &pkvm_smmus);
	pkvm_smmu_set_default_domain_locked();
	mutex_unlock(&pkvm_smmus_lock);
	ret = iommu_device_register(&smmu->iommu, &pkvm_smmu_ops, dev);
	if (ret)
		goto err_unlist;
	/* Last: the SMMU and its driver data outlive the interrupt from here on. */
	if (pkvm_smmu_setup_irqs(pdev, smmu))
		dev_warn(dev, "cannot request the event interrupt: faults will not be reported\n");
	pkvm_smmu_debugfs_init();
	dev_info(dev, "SMMUv3 at %pa owned by the hypervisor (index %d, %llu pages)\n",
		 &smmu->mmio, smmu->hyp_idx, smmu->hyp_pages);
	return 0;

err_unlist:
	mutex_lock(&pkvm_smmus_lock);
	list_del(&smmu->list);
	mutex_unlock(&pkvm_smmus_lock);
	iommu_device_sysfs_remove(&smmu->iommu);
err_free:
	platform_set_drvdata(pdev, NULL);
	kfree(smmu);
	dev_err(dev, "SMMUv3 at %pa owned by the hypervisor but not registered (%d): its devices cannot DMA\n",
		&res->start, ret);
	return 0;
}

static int pkvm_smmu_probe(struct platform_device *pdev)
{
	int ret;

	mutex_lock(&pkvm_smmu_probe_lock);
	ret = pkvm_smmu_probe_locked(pdev);
	mutex_unlock(&pkvm_smmu_probe_lock);
	return ret;
}

/*
 * MSI doorbells: the GITS_TRANSLATER page (the second 64 KiB frame) of each
 * GIC ITS that firmware describes. The hypervisor learns them now, before
 * pKVM finalises and before the first SMMU probes (this initcall comes
 * first in this file, at the driver's level, after KVM's), and maps each
 * one alone and write-only in paging domains, 1:1 in the identity domain.
 */
static void __init pkvm_smmu_register_doorbell(phys_addr_t its_base)
{
	phys_addr_t doorbell = its_base + SZ_64K;
	struct arm_smccc_res res;

	arm_smccc_1_1_hvc(KVM_HOST_SMCCC_FUNC(__pkvm_iommu_register_doorbell),
			  doorbell, &res);
	if (res.a0 != SMCCC_RET_SUCCESS || res.a1)
		pr_err("pkvm-smmu: MSI doorbell at %pa not registered (%ld): devices behind the SMMUs cannot signal it\n",
		       &doorbell, res.a0 != SMCCC_RET_SUCCESS ? -EPERM : (long)res.a1);
	else
		pr_info("pkvm-smmu: MSI doorbell at %pa registered with the hypervisor\n",
			&doorbell);
}

#ifdef CONFIG_ACPI
static int __init pkvm_smmu_acpi_its(union acpi_subtable_headers *header,
				     const unsigned long end)
{
	struct acpi_madt_generic_translator *its =
		(struct acpi_madt_generic_translator *)header;

	pkvm_smmu_register_doorbell(its->base_address);
	return 0;
}
#endif

static int __init pkvm_smmu_doorbells_init(void)
{
	struct device_node *np;
	struct resource res;

	if (!is_protected_kvm_enabled() || !pkvm_smmu_enabled)
		return 0;
#ifdef CONFIG_ACPI
	if (!acpi_disabled) {
		acpi_table_parse_madt(ACPI_MADT_TYPE_GENERIC_TRANSLATOR,
				      pkvm_smmu_acpi_its, 0);
		return 0;
	}
#endif
	for_each_compatible_node(np, NULL, "arm,gic-v3-its")
		if (!of_address_to_resource(np, 0, &res))
			pkvm_smmu_register_doorbell(res.start);
	return 0;
}
device_initcall(pkvm_smmu_doorbells_init);

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

/* An SMMUv3 that firmware describes and the hypervisor does not hold: quarantine it. */
static int pkvm_smmu_take_late(struct device *dev, void *data)
{
	struct platform_device *pdev = to_platform_device(dev);
	struct resource *res;
	const char *what;
	int *err = data, ret;

	lockdep_assert_held(&pkvm_smmu_probe_lock);
	if (strcmp(pdev->name, "arm-smmu-v3") && !of_match_device(pkvm_smmu_of_match, dev))
		return 0;
	res = platform_get_resource(pdev, IORESOURCE_MEM, 0);
	if (!res) {
		dev_err(dev, "SMMUv3 without an MMIO region: it cannot be taken, pKVM will not finalise\n");
		*err = -ENODEV;
		return 0;
	}
	if (pkvm_smmu_held_find_locked(res->start) >= 0)
		return 0;
	ret = pkvm_smmu_quarantine(res, &what);
	if (!ret)
		pkvm_smmu_held_add_locked(res->start, PKVM_SMMU_AT_FINALISE);
	dev_err(dev, "SMMUv3 at %pa not probed when pKVM finalises: %s\n", &res->start, what);
	if (ret)
		*err = ret;
	return 0;
}

static const struct of_device_id pkvm_smmu_pmcg_of_match[] = {
	{ .compatible = "arm,smmu-v3-pmcg" },
	{ }
};

/* Never a driver's name: a device with it as driver_override binds to nothing. */
#define PKVM_SMMU_PMCG_OVERRIDE	"pkvm-smmu-taken"

/* An SMMUv3 PMCG as firmware describes it: IORT's platform device, or devicetree's. */
static bool pkvm_smmu_is_pmcg(struct device *dev)
{
	return !strcmp(to_platform_device(dev)->name, "arm-smmu-v3-pmcg") ||
	       of_match_device(pkvm_smmu_pmcg_of_match, dev);
}

/*
 * In protected mode no driver ever binds to a PMCG: the hypervisor takes it
 * when pKVM finalises (pkvm_smmu_take_pmcg()), and a PMCG can sit inside an
 * SMMU's frame, which the hypervisor takes as soon as it probes. Set before
 * the device can match (IORT and devicetree add them later than this).
 */
static int pkvm_smmu_pmcg_notify(struct notifier_block *nb, unsigned long action, void *data)
{
	struct device *dev = data;

	if (action == BUS_NOTIFY_ADD_DEVICE && pkvm_smmu_is_pmcg(dev) &&
	    device_set_driver_override(dev, PKVM_SMMU_PMCG_OVERRIDE))
		dev_err(dev, "SMMUv3 PMCG: cannot keep drivers off it\n");
	return NOTIFY_DONE;
}

static struct notifier_block pkvm_smmu_pmcg_nb = {
	.notifier_call = pkvm_smmu_pmcg_notify,
};

static int __init pkvm_smmu_pmcg_notifier_init(void)
{
	if (!is_protected_kvm_enabled() || !pkvm_smmu_enabled)
		return 0;
	return bus_register_notifier(&platform_bus_type, &pkvm_smmu_pmcg_nb);
}
arch_initcall(pkvm_smmu_pmcg_notifier_init);

/*
 * An SMMUv3 PMCG that firmware describes: programmed by a host that is no
 * longer trusted, its overflow MSI could write anywhere. Keep every driver
 * off it (one bound despite pkvm_smmu_pmcg_notify() lets go), then give its
 * frames to the hypervisor, which stops it for good. A page 1 at 0 or over
 * page 0 is firmware's way of saying there is none. If the PMCG cannot be
 * taken, pKVM must not finalise.
 */
static int pkvm_smmu_take_pmcg(struct device *dev, void *data)
{
	struct platform_device *pdev = to_platform_device(dev);
	struct resource *page0, *page1;
	struct arm_smccc_res hvc;
	const char *what;
	int *err = data;
	long ret;

	if (!pkvm_smmu_is_pmcg(dev))
		return 0;
	page0 = platform_get_resource(pdev, IORESOURCE_MEM, 0);
	page1 = platform_get_resource(pdev, IORESOURCE_MEM, 1);
	if (page0 && page1 && (!page1->start || resource_overlaps(page0, page1)))
		page1 = NULL;
	if (!page0 || !PAGE_ALIGNED(page0->start) || (page1 && !PAGE_ALIGNED(page1->start)) ||
	    device_set_driver_override(dev, PKVM_SMMU_PMCG_OVERRIDE)) {
		dev_err(dev, "SMMUv3 PMCG that cannot be taken: pKVM will not finalise\n");
		*err = -EINVAL;
		return 0;
	}
	device_release_driver(dev);
	arm_smccc_1_1_hvc(KVM_HOST_SMCCC_FUNC(__pkvm_smmu_take_pmcg), page0->start,
			  PAGE_ALIGN(resource_size(page0)), page1 ? page1->start : 0,
			  page1 ? PAGE_ALIGN(resource_size(page1)) : 0, &hvc);
	ret = hvc.a0 == SMCCC_RET_SUCCESS ? (long)hvc.a1 : -EOPNOTSUPP;
	switch (ret) {
	case 0:
		what = "taken and stopped by the hypervisor";
		break;
	case -EPERM:
		/* Inside a frame the hypervisor holds (an SMMU's): out of the host's reach. */
		what = "inside a frame the hypervisor holds";
		break;
	default:
		what = "NOT isolated, pKVM will not finalise";
		*err = ret;
	}
	dev_info(dev, "SMMUv3 PMCG at %pa: %s (%ld), no driver may bind\n", &page0->start,
		 what, ret);
	return 0;
}

/*
 * Tegra241 CMDQV: command queues of an SMMU that the host could drive on
 * its own, a separate device (ACPI NVDA200C, or the SMMU's devicetree
 * "nvidia,cmdqv" phandle) the hypervisor does not take.
 */
static bool pkvm_smmu_has_cmdqv(void)
{
	struct device_node *np;

	if (acpi_dev_present("NVDA200C", NULL, -1))
		return true;
	np = of_find_node_with_property(NULL, "nvidia,cmdqv");
	of_node_put(np);
	return np;
}

/* A call that may ask for pages in result 2: top up and repeat, a few times. */
static long pkvm_smmu_hvc_topup(unsigned long id, u64 a1, u64 a2, u64 a3, u64 a4)
{
	unsigned int topups = 0;
	u64 needed;
	long ret;

	do {
		needed = 0;
		ret = pkvm_smmu_hvc(id, a1, a2, a3, a4, 0, &needed, NULL);
		if (ret != -ENOMEM || !needed || topups++ >= PKVM_SMMU_MAX_TOPUPS)
			return ret;
		ret = pkvm_smmu_topup(needed, GFP_KERNEL);
	} while (!ret);
	return ret;
}

/*
 * The hypervisor resets a function once a protected VM has all of its BARs,
 * and when the VM's teardown gives it back (nvhe/pci_cfg.c): 100 ms during
 * which its stream is refused with -EAGAIN and the function reads as
 * absent. Wait that long, and a little more.
 */
#define PKVM_SMMU_PCI_RESET_MS		1000
#define PKVM_SMMU_PCI_RESET_POLL_MS	20

/* Give a stream to a protected VM, waiting for the reset of its function. */
static long pkvm_smmu_give_stream(struct pci_dev *pdev, u64 handle, u32 hyp_idx, u32 sid)
{
	unsigned long end = jiffies + msecs_to_jiffies(PKVM_SMMU_PCI_RESET_MS);
	long ret;

	for (;;) {
		ret = pkvm_smmu_hvc_topup(KVM_HOST_SMCCC_FUNC(__pkvm_iommu_assign_pvm),
					  handle, hyp_idx, sid, 0);
		if (ret != -EAGAIN)
			return ret;
		if (time_after(jiffies, end)) {
			pci_err(pdev, "pkvm-smmu: the hypervisor's reset does not end\n");
			return -ETIMEDOUT;
		}
		msleep(PKVM_SMMU_PCI_RESET_POLL_MS);
	}
}

/* After the hypervisor's reset at release: wait until the function answers again. */
static void pkvm_smmu_wait_reset(struct pci_dev *pdev)
{
	unsigned long end = jiffies + msecs_to_jiffies(PKVM_SMMU_PCI_RESET_MS);
	u16 vendor;

	for (;;) {
		/* The first read after the reset's time restores the BARs. */
		if (!pci_read_config_word(pdev, PCI_VENDOR_ID, &vendor) && vendor != 0xffff)
			return;
		if (time_after(jiffies, end)) {
			pci_warn(pdev, "pkvm-smmu: does not answer after the hypervisor's reset\n");
			return;
		}
		msleep(PKVM_SMMU_PCI_RESET_POLL_MS);
	}
}

/* A memory BAR the PCI core placed, which can go to a VM whole. */
static bool pkvm_smmu_bar_givable(struct pci_dev *pdev, unsigned int i)
{
	unsigned long flags = pci_resource_flags(pdev, i);

	return (flags & IORESOURCE_MEM) && !(flags & (IORESOURCE_UNSET | IORESOURCE_DISABLED)) &&
	       pci_resource_len(pdev, i);
}

/* Check the VM's BAR addresses before anything leaves the host. */
static int pkvm_smmu_check_bar_gpas(struct pci_dev *pdev, const u64 *bar_gpa)
{
	resource_size_t size, total = 0;
	unsigned int i, j;

	for (i = 0; i < PCI_STD_NUM_BARS; i++) {
		if (!pkvm_smmu_bar_givable(pdev, i)) {
			if (bar_gpa[i] != KVM_VFIO_ASSIGN_NO_BAR ||
			    (pci_resource_flags(pdev, i) & IORESOURCE_MEM &&
			     pci_resource_len(pdev, i)))
				return -EINVAL;
			continue;
		}
		size = pci_resource_len(pdev, i);
		if (!PAGE_ALIGNED(bar_gpa[i]) || !PAGE_ALIGNED(size) ||
		    bar_gpa[i] + size < bar_gpa[i])
			return -EINVAL;
		for (j = 0; j < i; j++) {
			if (bar_gpa[j] != KVM_VFIO_ASSIGN_NO_BAR &&
			    bar_gpa[j] < bar_gpa[i] + size &&
			    bar_gpa[i] < bar_gpa[j] + pci_resource_len(pdev, j))
				return -EINVAL;
		}
		total += size;
	}
	/* The hypervisor's limit per VM (-E2BIG), known before the first page goes. */
	return total > SZ_16M ? -E2BIG : 0;
}

/**
 * pkvm_smmu_assign_pvm() - Give a PCI device to a protected VM.
 * @dev:	A PCI device behind a hypervisor SMMU, in the blocked domain
 *		(owned by VFIO, attached to nothing).
 * @handle:	The VM's pKVM handle (the VM was created at EL2).
 * @bar_gpa:	Where the VM maps each of the PCI_STD_NUM_BARS BARs: every
 *		memory BAR must have a page-aligned address, every other one
 *		(unused, I/O, the upper half of a 64-bit BAR) ~0.
 *
 * The BARs first, then the streams: the hypervisor takes a stream only from
 * a device whose registers are all the VM's (nvhe/pci_cfg.c), and none that
 * translates for the host. It resets the device once the last BAR page is
 * the VM's, before the stream goes (about 100 ms): the VM gets it with its
 * BARs in place, memory decoding and bus mastering on, MSIs off; nothing
 * the host programmed survives.
 * What can be checked here is checked before the first page goes; nothing
 * is taken back on a later failure (the VM's teardown gives everything
 * back). Until pkvm_smmu_release_pvm(), the
 * device's streams are the VM's: the IOMMU core may attach the identity or
 * the blocked domain (the streams join it then), never a paging domain.
 *
 * Return: 0, or a negative errno (-EINVAL for a bad BAR layout, -E2BIG for
 * too much MMIO, -EPERM where the guest did not accept MMIO or the
 * hypervisor does not let the device go (it cannot reset it, for one),
 * -EBUSY if the device's streams translate or another VM has it, -ENODEV if
 * no hypervisor SMMU is in front of it, -ETIMEDOUT if the reset does not
 * end).
 */
int pkvm_smmu_assign_pvm(struct device *dev, u64 handle, const u64 *bar_gpa)
{
	struct iommu_fwspec *fwspec = dev_iommu_fwspec_get(dev);
	struct pkvm_smmu_master *master;
	struct pkvm_smmu *smmu = NULL;
	struct pci_dev *pdev;
	resource_size_t size;
	u64 off, nr;
	unsigned int i;
	long ret;

	if (!dev_is_pci(dev))
		return -EINVAL;
	if (fwspec)
		smmu = pkvm_smmu_get_by_fwnode(fwspec->iommu_fwnode);
	master = dev_iommu_priv_get(dev);
	if (!smmu || !fwspec->num_ids || !master || master->smmu != smmu)
		return -ENODEV;
	pdev = to_pci_dev(dev);
	ret = pkvm_smmu_check_bar_gpas(pdev, bar_gpa);
	if (ret)
		return ret;

	guard(mutex)(&pkvm_smmu_attach_lock);
	/* Owned by VFIO and attached to nothing; the hypervisor checks again. */
	if (master->attached_id != -1 || master->pvm_handle)
		return -EBUSY;
	for (i = 0; i < PCI_STD_NUM_BARS; i++) {
		if (!pkvm_smmu_bar_givable(pdev, i))
			continue;
		size = pci_resource_len(pdev, i);
		for (off = 0; off < size; off += nr << PAGE_SHIFT) {
			nr = min_t(u64, (size - off) >> PAGE_SHIFT, PKVM_IOMMU_MAP_MAX_PAGES);
			ret = pkvm_smmu_hvc_topup(KVM_HOST_SMCCC_FUNC(__pkvm_iommu_assign_pvm_mmio),
						  handle,
						  PHYS_PFN(pci_resource_start(pdev, i) + off),
						  PHYS_PFN(bar_gpa[i] + off), nr);
			if (ret) {
				pci_err(pdev, "pkvm-smmu: BAR %u not given to protected VM %#llx: %ld\n",
					i, handle, ret);
				return ret;
			}
		}
	}
	for (i = 0; i < fwspec->num_ids; i++) {
		ret = pkvm_smmu_give_stream(pdev, handle, smmu->hyp_idx, fwspec->ids[i]);
		if (ret) {
			pci_err(pdev, "pkvm-smmu: stream %#x not given to protected VM %#llx: %ld\n",
				fwspec->ids[i], handle, ret);
			return ret;
		}
	}
	master->pvm_handle = handle;
	master->pvm_pending_id = -1;
	list_add(&master->pvm_node, &pkvm_smmu_pvm_masters);
	pci_info(pdev, "pkvm-smmu: given to protected VM %#llx: its BARs and %u stream(s)\n",
		 handle, fwspec->num_ids);
	return 0;
}
EXPORT_SYMBOL_GPL(pkvm_smmu_assign_pvm);

/**
 * pkvm_smmu_release_pvm() - The devices of a protected VM are the host's again.
 * @handle:	The VM, whose teardown made their streams abort.
 *
 * The teardown reset each device: once it answers again (its BARs where
 * they were, memory decoding on, bus mastering off), it joins the domain the
 * IOMMU core attached meanwhile, if any.
 */
void pkvm_smmu_release_pvm(u64 handle)
{
	struct pkvm_smmu_master *master, *next;
	int id, ret;

	guard(mutex)(&pkvm_smmu_attach_lock);
	list_for_each_entry_safe(master, next, &pkvm_smmu_pvm_masters, pvm_node) {
		if (master->pvm_handle != handle)
			continue;
		list_del(&master->pvm_node);
		master->pvm_handle = 0;
		if (dev_is_pci(master->dev))
			pkvm_smmu_wait_reset(to_pci_dev(master->dev));
		id = master->pvm_pending_id;
		if (id < 0)
			continue;
		ret = pkvm_smmu_attach_sids(id, master, master->num_sids);
		if (ret)
			pr_err("pkvm-smmu: stream %#x of SMMU %d not back in domain %d: %d\n",
			       master->sids[0], master->smmu->hyp_idx, id, ret);
		else
			master->attached_id = id;
	}
}
EXPORT_SYMBOL_GPL(pkvm_smmu_release_pvm);

/* The ECAM window of @bus's host bridge, if the kernel's generic accessors drive it. */
static struct pci_config_window *pkvm_smmu_pci_ecam(struct pci_bus *bus)
{
	struct pci_bus *root = pci_find_host_bridge(bus)->bus;
	struct pci_config_window *cfg = root->sysdata;

	if (root->ops != &pci_generic_ecam_ops.pci_ops || !cfg ||
	    cfg->ops != &pci_generic_ecam_ops)
		return NULL;
	return cfg;
}

/* One function: its streams behind the hypervisor's SMMUs and its BARs. */
static int pkvm_smmu_pci_register_fn(struct pci_dev *pdev, struct pci_config_window *cfg)
{
	u64 cfg_phys = cfg->res.start +
		       PCIE_ECAM_OFFSET(pdev->bus->number - cfg->busr.start, pdev->devfn, 0);
	struct iommu_fwspec *fwspec = dev_iommu_fwspec_get(&pdev->dev);
	struct pkvm_smmu *smmu = NULL;
	struct resource *res;
	unsigned int i;
	bool givable;
	long ret = 0;

	if (fwspec)
		smmu = pkvm_smmu_get_by_fwnode(fwspec->iommu_fwnode);
	if (!smmu || !fwspec->num_ids)
		ret = pkvm_smmu_hvc(KVM_HOST_SMCCC_FUNC(__pkvm_pci_register_fn),
				    cfg_phys, PKVM_PCI_NO_STREAM, 0, 0, 0, NULL, NULL);
	for (i = 0; smmu && i < fwspec->num_ids && !ret; i++)
		ret = pkvm_smmu_hvc(KVM_HOST_SMCCC_FUNC(__pkvm_pci_register_fn),
				    cfg_phys, smmu->hyp_idx, fwspec->ids[i], 0, 0, NULL, NULL);
	if (ret)
		return ret;

	/* A BAR that is not whole pages of MMIO keeps the function the host's. */
	pci_dev_for_each_resource(pdev, res, i) {
		if (i >= PCI_STD_NUM_BARS || !res->flags || !resource_size(res))
			continue;
		givable = pkvm_smmu_bar_givable(pdev, i);
		ret = pkvm_smmu_hvc(KVM_HOST_SMCCC_FUNC(__pkvm_pci_register_bar), cfg_phys,
				    givable ? res->start : 0, givable ? resource_size(res) : 0,
				    0, 0, NULL, NULL);
		if (ret)
			pci_info(pdev, "pkvm-smmu: BAR %u cannot go to a protected VM (%ld)\n",
				 i, ret);
	}
	return 0;
}

/*
 * Hand the hypervisor PCI configuration space, while the host is trusted:
 * each ECAM window, and each function present with its streams and BARs.
 * From then on it keeps their address routing (bus numbers, windows, BARs)
 * as it is now, so a requester id names the same device for good; the
 * functions of a window it could not take are never assigned to a
 * protected VM.
 */
static void pkvm_smmu_register_pci(void)
{
	unsigned int nr_windows = 0, nr_fns = 0;
	struct pci_config_window *cfg;
	struct pci_dev *pdev = NULL;
	struct pci_bus *bus = NULL;
	long ret;

	while ((bus = pci_find_next_bus(bus))) {
		cfg = pkvm_smmu_pci_ecam(bus);
		if (!cfg) {
			pr_info("pkvm-smmu: PCI root bus %04x:%02x is not ECAM: none of its devices can go to a protected VM\n",
				pci_domain_nr(bus), bus->number);
			continue;
		}
		ret = pkvm_smmu_hvc(KVM_HOST_SMCCC_FUNC(__pkvm_pci_register_window),
				    cfg->res.start, resource_size(&cfg->res), 0, 0, 0, NULL, NULL);
		if (ret)
			pr_err("pkvm-smmu: ECAM window %pR not taken (%ld): none of its devices can go to a protected VM\n",
			       &cfg->res, ret);
		else
			nr_windows++;
	}

	for_each_pci_dev(pdev) {
		cfg = pkvm_smmu_pci_ecam(pdev->bus);
		if (!cfg)
			continue;
		ret = pkvm_smmu_pci_register_fn(pdev, cfg);
		if (ret)
			pci_err(pdev, "pkvm-smmu: not registered with the hypervisor (%ld): it cannot go to a protected VM\n",
				ret);
		else
			nr_fns++;
	}
	pr_info("pkvm-smmu: the hypervisor mediates PCI configuration space: %u ECAM windows, %u functions\n",
		nr_windows, nr_fns);
}

/*
 * The last moment the host, still trusted, can hand SMMUs over: no SMMU that
 * firmware describes may stay the host's. Each one whose frame the
 * hypervisor does not hold yet (its probe not run, deferred, or waiting for
 * the lock; a refusal whose quarantine failed) is quarantined: disabled,
 * aborting, its frame the hypervisor's. If one cannot be, pKVM must not
 * finalise; nor if a PMCG cannot be taken (pkvm_smmu_take_pmcg()), or an
 * implementation's command queues exist that the hypervisor cannot take.
 * Then PCI configuration space goes to the hypervisor
 * (pkvm_smmu_register_pci()); a failure there only keeps functions
 * unassignable.
 */
int pkvm_smmu_finalize(void)
{
	int err = 0;

	if (!is_protected_kvm_enabled() || !pkvm_smmu_enabled)
		return 0;
	mutex_lock(&pkvm_smmu_probe_lock);
	/* A frame the record lost could be a live SMMU's: never quarantine by guess. */
	if (pkvm_smmu_held_overflow) {
		pr_err("pkvm-smmu: more SMMUs than the driver can keep track of: pKVM will not finalise\n");
		err = -ENOSPC;
	} else {
		bus_for_each_dev(&platform_bus_type, NULL, &err, pkvm_smmu_take_late);
	}
	pkvm_smmu_finalised = true;
	mutex_unlock(&pkvm_smmu_probe_lock);
	if (!err && pkvm_smmu_has_cmdqv()) {
		pr_err("pkvm-smmu: a Tegra241 CMDQV, which the hypervisor cannot take: pKVM will not finalise\n");
		err = -EOPNOTSUPP;
	}
	if (!err)
		bus_for_each_dev(&platform_bus_type, NULL, &err, pkvm_smmu_take_pmcg);
	if (!err)
		pkvm_smmu_register_pci();
	return err;
}
