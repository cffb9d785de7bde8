// SPDX-License-Identifier: GPL-2.0-only
/*
 * pvm_edu_test - a protected VM drives edu devices assigned to it.
 *
 * The host cannot read a protected VM's memory, map it for DMA or give it to
 * a device. With the pKVM SMMUv3 driver the VM can still drive a device of
 * its own (docs/pvm-device-assignment.md): the SMMU in front of the device
 * walks the VM's own stage-2, with a VMID of that SMMU's, and the device's
 * BAR is the VM's, no longer the host's. The VMM gives the device as a VMM
 * would: a VFIO device file (iommufd, attached to no IOAS) added to the
 * KVM-VFIO device, then KVM_DEV_VFIO_FILE_ASSIGN_PROTECTED. The hostile
 * host's probes go through debugfs/pkvm-smmu/hvc (a pKVM SMMU test kernel,
 * as root).
 *
 * usage: pvm_edu_test BDF,SMMU,SID [BDF,SMMU,SID]
 *   each an edu device bound to vfio-pci, the hypervisor's index of its
 *   SMMU and its stream id; two devices should sit behind two SMMUs.
 *
 * Guest memory: memslot 0 holds what the library put there (code, page
 * tables, stack, the ucall pool); the guest shares it back with the host
 * first (MEM_SHARE), or the host could not read a ucall. So does it with
 * memslot 2, its ITS's tables, which the host's ITS emulation reads. Memslot
 * 1, PRIV_PAGES pages at PRIV_GPA, stays private.
 *
 *  1. The guest accepts device MMIO at BAR_GPA(i) (the MMIO guard
 *     hypercall, as Linux's pKVM guest driver makes for each ioremap()),
 *     writes a pattern to private page 0 and touches pages 1 and 2.
 *  2. The VMM gives each device to the VM, BAR0 mapped at BAR_GPA(i):
 *     refused while the device is attached to the host's IOAS, where the
 *     guest did not accept MMIO, at an unaligned address, and twice. The
 *     hypervisor refuses the stream alone while the host has the BAR, and
 *     takes no page that is not a BAR; the host's stores to the device's
 *     configuration space are dropped from then on. The hypervisor resets
 *     the device first: an MSI and SERR reporting the host armed are gone,
 *     the BAR is in place, decoding and bus mastering are on. Then, as a hostile
 *     host: the device cannot join the host's IOAS, a private page cannot
 *     be mapped for DMA, an assigned stream cannot be attached to a domain
 *     of the host's, and a read of the BAR takes a fault (SIGSEGV).
 *     The VMM enables the device's MSI through VFIO and routes its eventfd
 *     to the guest's own ITS (KVM_IRQFD and an MSI route, device id i, as a
 *     VMM does for any assigned device); the hypervisor puts the device's
 *     MSI address on the host's ITS doorbell as the device's stream reaches
 *     it, past the VM's IPA space. A hostile host cannot aim the MSI at the
 *     VM's memory, neither before nor after (the MSI's data is the host's).
 *  3. Each device copies private page 0 into private page 1 + i by IPA,
 *     through its own buffer, and then its buffer to the IPA that is the
 *     physical address of a host page: the guest finds the pattern, and the
 *     host page is unchanged (the SMMU walks the VM's table, not the host's).
 *     Then a DMA that signals its completion: its MSI reaches the guest.
 *  4. Once the VM is gone, its private pages are the host's again, and
 *     zeroed; the devices were reset again (bus mastering off), the BARs and
 *     configuration space are the host's again, and the devices join the
 *     host's IOAS again.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/arm-smccc.h>
#include <linux/pci_regs.h>
#include <linux/sizes.h>

#include "arch_timer.h"
#include "gic.h"
#include "gic_v3.h"
#include "gic_v3_its.h"
#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "ucall.h"
#include "vgic.h"
#include "arm64/vfio_edu.h"

/* The guest's granule (VM_MODE_P40V48_4K) and the hypervisor's. */
#define PAGE_SIZE	4096UL
#define MAX_DEVS	2
#define PRIV_SLOT	1
#define PRIV_GPA	0x80000000UL
#define PRIV_PAGES	(1 + MAX_DEVS)
#define BAR_GPA(i)	(0x90000000UL + (i) * 0x100000UL)
#define IOVA		0x100000UL
#define VM_IPA_BITS	40
/*
 * The guest's ITS tables, 64 KiB each (the device and collection tables, the
 * command queue, an ITT per device, the redistributor's LPI tables), shared.
 * Device i is device id i there, its one event LPI EDU_LPI(i), and its
 * eventfd GSI i.
 */
#define ITS_SLOT	2
#define ITS_GPA		0x48000000UL
#define ITS_TABLES	(5 + MAX_DEVS)
#define EDU_LPI(i)	(8192 + (i))

#define PKVM_IOMMU_DOMAIN_S2		1
#define PKVM_IOMMU_PROT_RW		3
#define HVC_FILE	"/sys/kernel/debug/pkvm-smmu/hvc"

#define PVM_MEM_SHARE	ARM_SMCCC_CALL_VAL(ARM_SMCCC_FAST_CALL, ARM_SMCCC_SMC_64, \
					   ARM_SMCCC_OWNER_VENDOR_HYP, 3)
#define PVM_MMIO_GUARD	ARM_SMCCC_CALL_VAL(ARM_SMCCC_FAST_CALL, ARM_SMCCC_SMC_64, \
					   ARM_SMCCC_OWNER_VENDOR_HYP, 7)

static struct dev {
	char		bdf[32];
	unsigned int	smmu, sid;
	u64		bar, bar_size;
	void		*regs;	/* BAR0's first page, mapped in this process */
	struct vfio_pci_device *vdev;
} devs[MAX_DEVS];
static int nr_devs;

static struct {
	gpa_t device_table;
	gpa_t collection_table;
	gpa_t cmdq;
	gpa_t lpi_prop_table;
	gpa_t lpi_pend_table;
	gpa_t itt[MAX_DEVS];
} its;

/* Written by the guest's interrupt handler. */
static u32 nr_msis[MAX_DEVS];
static u32 msi_status[MAX_DEVS];
static u32 stray_intid;

static void guest_irq_handler(struct ex_regs *regs)
{
	u32 intid = gic_get_and_ack_irq(), n = intid - EDU_LPI(0), status;
	void *bar;

	if (intid == IAR_SPURIOUS)
		return;
	if (n >= MAX_DEVS) {
		WRITE_ONCE(stray_intid, intid);
		gic_set_eoi(intid);
		return;
	}
	bar = (void *)BAR_GPA(n);
	status = readl(bar + EDU_REG_IRQ_STATUS);
	writel(status, bar + EDU_REG_IRQ_ACK);
	WRITE_ONCE(msi_status[n], READ_ONCE(msi_status[n]) | status);
	WRITE_ONCE(nr_msis[n], READ_ONCE(nr_msis[n]) + 1);
	gic_set_eoi(intid);
}

/* Wait up to EDU_DMA_TIMEOUT_S for device @n's MSI; whether it came. */
static bool guest_wait_msi(u64 n)
{
	u64 freq = timer_get_cntfrq(), start = timer_get_cntct(VIRTUAL);

	while (!READ_ONCE(nr_msis[n]))
		if (timer_get_cntct(VIRTUAL) - start > EDU_DMA_TIMEOUT_S * freq)
			return false;
	return true;
}

/* The guest's own ITS routes device n's event to EDU_LPI(n) on this vCPU. */
static void guest_setup_its(u64 nr)
{
	void *cmdq = (void *)its.cmdq;
	u64 n;

	gic_init(GIC_V3, 1);
	gic_rdist_enable_lpis(its.lpi_prop_table, SZ_64K, its.lpi_pend_table);
	its_init(its.collection_table, SZ_64K, its.device_table, SZ_64K,
		 its.cmdq, SZ_64K);
	its_send_mapc_cmd(cmdq, 0, 0, true);
	for (n = 0; n < nr; n++) {
		its_send_mapd_cmd(cmdq, n, its.itt[n], SZ_64K, true);
		its_send_mapti_cmd(cmdq, n, 0, 0, EDU_LPI(n));
	}
	its_send_invall_cmd(cmdq, 0);
	its_send_sync_cmd(cmdq, 0);
	local_irq_enable();
}

static void guest_code(u64 slot0, u64 slot0_size, u64 nr, u64 host_pa, u64 bar_pages)
{
	struct arm_smccc_res res;
	u8 *priv = (u8 *)PRIV_GPA;
	u64 gpa, i, n, unshared = 0, bad = 0, no_msi = 0;
	void *bar;

	for (gpa = slot0; gpa < slot0 + slot0_size; gpa += PAGE_SIZE) {
		smccc_hvc(PVM_MEM_SHARE, gpa, 0, 0, 0, 0, 0, 0, &res);
		unshared += res.a0 != SMCCC_RET_SUCCESS;
	}
	for (gpa = ITS_GPA; gpa < ITS_GPA + ITS_TABLES * SZ_64K; gpa += PAGE_SIZE) {
		smccc_hvc(PVM_MEM_SHARE, gpa, 0, 0, 0, 0, 0, 0, &res);
		unshared += res.a0 != SMCCC_RET_SUCCESS;
	}
	/* The ucall pool is shared now: ucalls work from here on. */
	GUEST_ASSERT_EQ(unshared, 0);
	guest_setup_its(nr);

	/*
	 * The BARs may be mapped there, nowhere else (MMIO guard). Page 2 before
	 * page 1: the page that joins two accepted ranges merges them.
	 */
	for (n = 0; n < nr; n++) {
		for (i = 0; i < bar_pages; i++) {
			gpa = BAR_GPA(n) + (i == 1 ? 2 : i == 2 ? 1 : i) * PAGE_SIZE;
			smccc_hvc(PVM_MMIO_GUARD, gpa, 0, 0, 0, 0, 0, 0, &res);
			GUEST_ASSERT_EQ(res.a0, SMCCC_RET_SUCCESS);
		}
	}

	for (i = 0; i < PAGE_SIZE; i++)
		priv[i] = edu_pattern(1, i);
	for (n = 1; n <= nr; n++)
		memset(priv + n * PAGE_SIZE, 0, PAGE_SIZE);
	GUEST_SYNC(1);

	/*
	 * What an earlier user raised stays in QEMU's edu over a reset (its
	 * model has none): acknowledged, so that only this VM's DMA raises.
	 */
	for (n = 0; n < nr; n++) {
		bar = (void *)BAR_GPA(n);
		writel(readl(bar + EDU_REG_IRQ_STATUS), bar + EDU_REG_IRQ_ACK);
	}
	for (n = 0; n < nr; n++) {
		bar = (void *)BAR_GPA(n);
		guest_edu_dma(bar, PRIV_GPA, EDU_BUF_ADDR, 0);
		guest_edu_dma(bar, EDU_BUF_ADDR, PRIV_GPA + (n + 1) * PAGE_SIZE,
			      EDU_DMA_TO_RAM);
		for (i = 0; i < PAGE_SIZE; i++)
			bad += priv[(n + 1) * PAGE_SIZE + i] != edu_pattern(1, i);
		/* Not in the VM's stage-2: the SMMU faults, nothing lands. */
		guest_edu_dma(bar, EDU_BUF_ADDR, host_pa, EDU_DMA_TO_RAM);
		/* The device's MSI, through the host's ITS and the VMM's irqfd. */
		guest_edu_dma(bar, PRIV_GPA, EDU_BUF_ADDR, EDU_DMA_IRQ);
		no_msi |= (u64)!guest_wait_msi(n) << n;
	}
	GUEST_ASSERT_EQ(READ_ONCE(stray_intid), 0);
	/* One MSI each, for the DMA; a missing one is the host's to report. */
	for (n = 0; n < nr; n++) {
		if (no_msi & BIT(n))
			continue;
		GUEST_ASSERT_EQ(READ_ONCE(nr_msis[n]), 1);
		GUEST_ASSERT_EQ(READ_ONCE(msi_status[n]), EDU_IRQ_DMA);
	}
	GUEST_SYNC_ARGS(2, bad, no_msi, 0, 0);
	GUEST_DONE();
}

/* One raw hypercall through debugfs: write "NAME a1 ...", read back x1 x2 x3. */
static void hvc(long *r, const char *fmt, ...)
{
	char cmd[160], out[80];
	va_list ap;
	ssize_t n;
	int fd;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fd = open(HVC_FILE, O_RDWR);
	__TEST_REQUIRE(fd >= 0, "cannot open %s (pkvm_smmu=on, as root?): %s", HVC_FILE,
		       strerror(errno));
	TEST_ASSERT(write(fd, cmd, strlen(cmd)) == (ssize_t)strlen(cmd),
		    "writing '%s' to %s: %s", cmd, HVC_FILE, strerror(errno));
	n = pread(fd, out, sizeof(out) - 1, 0);
	close(fd);
	TEST_ASSERT(n > 0, "reading the result of '%s': %s", cmd, strerror(errno));
	out[n] = '\0';
	TEST_ASSERT(sscanf(out, "%ld %li %li", &r[0], &r[1], &r[2]) == 3,
		    "cannot parse '%s' after '%s'", out, cmd);
}

/* A call that may ask for pages in r[@reg]: top up and repeat, as the driver does. */
static void hvc_topup(long *r, int reg, const char *fmt, ...)
{
	char cmd[160];
	long t[3];
	va_list ap;
	int i;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	for (i = 0; i < 4; i++) {
		hvc(r, "%s", cmd);
		if (r[0] != -ENOMEM || !r[reg])
			return;
		hvc(t, "topup %ld", r[reg]);
		TEST_ASSERT(!t[0], "topup %ld for '%s': %ld", r[reg], cmd, t[0]);
	}
}

/* The physical address of the page at @va, from /proc/self/pagemap. */
static u64 va_to_pa(const void *va)
{
	u64 ent;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY);
	TEST_ASSERT(fd >= 0, "open(/proc/self/pagemap): %s", strerror(errno));
	TEST_ASSERT(pread(fd, &ent, sizeof(ent), (uintptr_t)va / PAGE_SIZE * sizeof(ent)) ==
		    sizeof(ent), "reading /proc/self/pagemap: %s", strerror(errno));
	close(fd);
	TEST_ASSERT((ent >> 63) && (ent & GENMASK_ULL(54, 0)),
		    "no physical address for %p (not root?)", va);
	return (ent & GENMASK_ULL(54, 0)) * PAGE_SIZE;
}

/* Attach @d to the IOAS of its iommufd, or detach it: 0 or the errno. */
static int ioas_attach(struct dev *d, bool attach)
{
	struct vfio_device_attach_iommufd_pt at = {
		.argsz = sizeof(at), .pt_id = d->vdev->iommu->ioas_id,
	};
	struct vfio_device_detach_iommufd_pt de = { .argsz = sizeof(de) };

	if (attach)
		return ioctl(d->vdev->fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at) ? errno : 0;
	return ioctl(d->vdev->fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &de) ? errno : 0;
}

/*
 * Open @d through VFIO's device file, bound to @iommu (iommufd) and attached
 * to nothing, as the VMM keeps a device it gives to a protected VM; find its
 * BAR0's physical address (sysfs) and map its first page (VFIO).
 */
static void dev_open(struct dev *d, struct iommu *iommu)
{
	unsigned long long start, end, flags;
	char path[192];
	FILE *f;

	d->vdev = vfio_edu_open(d->bdf, iommu);
	TEST_ASSERT_EQ(ioas_attach(d, false), 0);
	d->regs = d->vdev->bars[0].vaddr;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource", d->bdf);
	f = fopen(path, "r");
	TEST_ASSERT(f, "open(%s): %s", path, strerror(errno));
	TEST_ASSERT_EQ(fscanf(f, "%llx %llx %llx", &start, &end, &flags), 3);
	fclose(f);
	TEST_ASSERT(start && end > start && !((start | (end + 1)) & (PAGE_SIZE - 1)),
		    "%s: BAR0 is not page aligned", d->bdf);
	d->bar = start;
	d->bar_size = end + 1 - start;
	TEST_ASSERT(d->bar_size <= BAR_GPA(1) - BAR_GPA(0), "%s: BAR0 larger than its IPA slot",
		    d->bdf);
	TEST_ASSERT_EQ(readl(d->regs + EDU_REG_ID) & 0xff, 0xed);
}

/*
 * A host page whose physical address is no IPA the VM maps (its memslots,
 * the ITS tables', the BARs): a DMA the VM's device makes there must not land.
 */
static u8 *host_page_outside(struct userspace_mem_region *slot0, u64 *pa)
{
	u64 s0 = slot0->region.guest_phys_addr, s0_end = s0 + slot0->region.memory_size;
	u8 *page;
	int i;

	for (i = 0; i < 8; i++) {
		/*
		 * Locked, so that its physical address holds until the DMA; the
		 * pages that do not fit stay mapped, or the next try gets one.
		 */
		page = kvm_mmap(PAGE_SIZE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1);
		memset(page, 0x5a, PAGE_SIZE);
		*pa = va_to_pa(page);
		if ((*pa < s0 || *pa >= s0_end) &&
		    (*pa < PRIV_GPA || *pa >= PRIV_GPA + PRIV_PAGES * PAGE_SIZE) &&
		    (*pa < ITS_GPA || *pa >= ITS_GPA + ITS_TABLES * SZ_64K) &&
		    (*pa < BAR_GPA(0) || *pa >= BAR_GPA(MAX_DEVS)))
			return page;
	}
	TEST_FAIL("no host page outside the VM's IPA windows");
}

static sigjmp_buf bar_fault;

static void on_sigsegv(int sig)
{
	siglongjmp(bar_fault, 1);
}

/* Whether a read of @regs takes a fault (the host stage-2 refuses the page). */
static bool read_faults(void *regs)
{
	struct sigaction sa = { .sa_handler = on_sigsegv }, old;
	bool faulted = true;

	TEST_ASSERT(!sigaction(SIGSEGV, &sa, &old), "sigaction: %s", strerror(errno));
	if (!sigsetjmp(bar_fault, 1)) {
		(void)readl(regs + EDU_REG_ID);
		faulted = false;
	}
	sigaction(SIGSEGV, &old, NULL);
	return faulted;
}

static void run_to_sync(struct kvm_vcpu *vcpu, u64 stage, struct ucall *uc)
{
	vcpu_run(vcpu);
	switch (get_ucall(vcpu, uc)) {
	case UCALL_SYNC:
		TEST_ASSERT(uc->args[1] == stage, "guest stage %lu, want %lu", uc->args[1], stage);
		return;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(*uc);
	default:
		TEST_FAIL("unexpected exit: %s (stage %lu)",
			  exit_reason_str(vcpu->run->exit_reason), stage);
	}
}

/*
 * The VM's pKVM handle: the one the hypervisor knows (the only VM there is).
 * Its stream is refused while the device's BAR is still the host's: the host
 * could drive the device into the VM's memory.
 */
static int find_handle(struct dev *d)
{
	long r[3];
	int h;

	for (h = 0x1000; h < 0x1100; h++) {
		hvc_topup(r, 1, "iommu_assign_pvm 0x%x %u 0x%x", h, d->smmu, d->sid);
		if (r[0] != -ENOENT)
			break;
	}
	TEST_ASSERT(r[0] == -EPERM, "%s: stream 0x%x of SMMU %u went, the BAR the host's: %ld",
		    d->bdf, d->sid, d->smmu, r[0]);
	return h;
}

/*
 * The VMM's way: KVM_DEV_VFIO_FILE_ASSIGN_PROTECTED gives @d's BAR0 (mapped
 * at @gpa) and then its streams to the VM. Returns 0 or the errno.
 */
static int assign(int kvm_vfio, struct dev *d, u64 gpa)
{
	struct kvm_vfio_assign_protected a = { .fd = d->vdev->fd };
	int i;

	for (i = 0; i < KVM_VFIO_ASSIGN_NR_BARS; i++)
		a.bar_gpa[i] = KVM_VFIO_ASSIGN_NO_BAR;
	a.bar_gpa[0] = gpa;
	return __kvm_device_attr_set(kvm_vfio, KVM_DEV_VFIO_FILE,
				     KVM_DEV_VFIO_FILE_ASSIGN_PROTECTED, &a) ? errno : 0;
}

/* The device's configuration space, as the host's PCI core reaches it. */
static int config_open(struct dev *d)
{
	char path[192];
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", d->bdf);
	fd = open(path, O_RDWR);
	TEST_ASSERT(fd >= 0, "open(%s): %s", path, strerror(errno));
	return fd;
}

static u32 config_read(int fd, unsigned int off, unsigned int size)
{
	u32 v = 0;

	TEST_ASSERT_EQ(pread(fd, &v, size, off), size);
	return v;
}

static void config_write(int fd, unsigned int off, unsigned int size, u32 v)
{
	TEST_ASSERT_EQ(pwrite(fd, &v, size, off), size);
	TEST_ASSERT(config_read(fd, off, size) == v,
		    "a store of 0x%x at 0x%x of the host's own function was dropped", v, off);
}

/* The edu's MSI capability. */
static unsigned int config_msi(int fd)
{
	unsigned int pos = config_read(fd, PCI_CAPABILITY_LIST, 1), i;

	for (i = 0; i < 48 && pos >= PCI_STD_HEADER_SIZEOF; i++) {
		if (config_read(fd, pos + PCI_CAP_LIST_ID, 1) == PCI_CAP_ID_MSI)
			return pos;
		pos = config_read(fd, pos + PCI_CAP_LIST_NEXT, 1);
	}
	TEST_FAIL("no MSI capability");
}

/*
 * Before the VM has the device, the host arms it as a hostile host would:
 * an MSI with an address and data of its choosing, SERR reporting. After
 * the hypervisor's reset none of it is left (check_reset()).
 */
static void host_arms(struct dev *d)
{
	int fd = config_open(d);
	unsigned int msi = config_msi(fd);

	config_write(fd, PCI_COMMAND, 2, config_read(fd, PCI_COMMAND, 2) | PCI_COMMAND_SERR);
	config_write(fd, msi + PCI_MSI_ADDRESS_LO, 4, 0x5a5a5000);
	config_write(fd, msi + PCI_MSI_DATA_64, 2, 0x5a5a);
	config_write(fd, msi + PCI_MSI_FLAGS, 2,
		     config_read(fd, msi + PCI_MSI_FLAGS, 2) | PCI_MSI_FLAGS_ENABLE);
	close(fd);
}

/*
 * What the hypervisor's reset leaves: while the VM has the device, its BAR
 * where it was, memory decoding and bus mastering on, INTx and MSIs off;
 * once the VM is gone (the teardown reset it again), memory decoding only.
 */
static void check_reset(struct dev *d, bool held)
{
	int fd = config_open(d);
	unsigned int msi = config_msi(fd);
	u16 want = PCI_COMMAND_MEMORY;

	if (held)
		want |= PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE;
	TEST_ASSERT(config_read(fd, PCI_COMMAND, 2) == want,
		    "%s: command 0x%x, not 0x%x: no reset by the hypervisor", d->bdf,
		    config_read(fd, PCI_COMMAND, 2), want);
	TEST_ASSERT(!(config_read(fd, msi + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_ENABLE) &&
		    !config_read(fd, msi + PCI_MSI_ADDRESS_LO, 4),
		    "%s: the host's MSI survived into the VM", d->bdf);
	TEST_ASSERT_EQ(config_read(fd, PCI_BASE_ADDRESS_0, 4) & PCI_BASE_ADDRESS_MEM_MASK,
		       (u32)d->bar);
	close(fd);
}

static u64 config_msi_address(int fd, unsigned int msi)
{
	return (u64)config_read(fd, msi + PCI_MSI_ADDRESS_HI, 4) << 32 |
	       config_read(fd, msi + PCI_MSI_ADDRESS_LO, 4);
}

/* A store the hypervisor may drop: no check. */
static void config_poke(int fd, unsigned int off, unsigned int size, u32 v)
{
	TEST_ASSERT_EQ(pwrite(fd, &v, size, off), size);
}

/*
 * The guest's ITS, and the tables it and the redistributor use. Returns the
 * ITS's device fd, which holds the VM.
 */
static int setup_its(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	u64 pages = vm_calc_num_guest_pages(vm->mode, SZ_64K);
	gpa_t *table[ITS_TABLES] = {
		&its.device_table, &its.collection_table, &its.cmdq,
		&its.lpi_prop_table, &its.lpi_pend_table,
	};
	int i, its_fd;
	u8 *prop;

	for (i = 0; i < MAX_DEVS; i++)
		table[5 + i] = &its.itt[i];
	vm_init_descriptor_tables(vm);
	vcpu_init_descriptor_tables(vcpu);
	vm_install_exception_handler(vm, VECTOR_IRQ_CURRENT, guest_irq_handler);
	its_fd = vgic_its_setup(vm);

	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, ITS_GPA, ITS_SLOT,
				    ITS_TABLES * pages, 0);
	for (i = 0; i < ITS_TABLES; i++)
		*table[i] = vm_phy_pages_alloc(vm, pages, ITS_GPA, ITS_SLOT);
	virt_map(vm, its.cmdq, its.cmdq, pages);

	prop = addr_gpa2hva(vm, its.lpi_prop_table);
	for (i = 0; i < MAX_DEVS; i++)
		prop[EDU_LPI(i) - 8192] = 0xa0 | LPI_PROP_GROUP1 | LPI_PROP_ENABLED;
	sync_global_to_guest(vm, its);
	return its_fd;
}

/* Device i's eventfd (GSI i) to the guest's ITS doorbell, device id i, event 0. */
static void setup_msi_routes(struct kvm_vm *vm)
{
	struct kvm_irq_routing *routing = kvm_gsi_routing_create();
	gpa_t doorbell = GITS_BASE_GPA + GITS_TRANSLATER;
	int i;

	for (i = 0; i < nr_devs; i++) {
		routing->entries[i] = (struct kvm_irq_routing_entry) {
			.gsi = i,
			.type = KVM_IRQ_ROUTING_MSI,
			.flags = KVM_MSI_VALID_DEVID,
			.u.msi = {
				.address_lo = doorbell,
				.address_hi = doorbell >> 32,
				.data = 0,
				.devid = i,
			},
		};
	}
	routing->nr = nr_devs;
	kvm_gsi_routing_write(vm, routing);
}

/*
 * The device's MSI, once the VM has it. The VMM enables it through VFIO, as
 * for any device, and the host's ITS driver gives it an event; the
 * hypervisor puts the device's address on the ITS doorbell as the device's
 * stream reaches it, past the VM's IPA space, where no vCPU reaches. A
 * hostile host cannot aim it anywhere else, at the VM's memory least of
 * all: not before VFIO's setup, nor after. The eventfd goes to GSI @gsi.
 */
static void msi_setup(struct kvm_vm *vm, struct dev *d, unsigned int gsi)
{
	int fd = config_open(d);
	unsigned int msi = config_msi(fd);
	u64 addr;
	u16 flags;

	config_poke(fd, msi + PCI_MSI_ADDRESS_LO, 4, PRIV_GPA);
	config_poke(fd, msi + PCI_MSI_ADDRESS_HI, 4, 0);
	config_poke(fd, msi + PCI_MSI_FLAGS, 2,
		    config_read(fd, msi + PCI_MSI_FLAGS, 2) | PCI_MSI_FLAGS_ENABLE);
	TEST_ASSERT(!config_msi_address(fd, msi) &&
		    !(config_read(fd, msi + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_ENABLE),
		    "%s: the host aimed the VM's device's MSI at 0x%lx (flags 0x%x)", d->bdf,
		    config_msi_address(fd, msi), config_read(fd, msi + PCI_MSI_FLAGS, 2));

	vfio_pci_msi_enable(d->vdev, 0, 1);
	addr = config_msi_address(fd, msi);
	flags = config_read(fd, msi + PCI_MSI_FLAGS, 2);
	TEST_ASSERT((flags & PCI_MSI_FLAGS_ENABLE) && addr >> VM_IPA_BITS,
		    "%s: MSI %s at 0x%lx, not past the VM's %d-bit IPA space (no doorbell for its stream?)",
		    d->bdf, flags & PCI_MSI_FLAGS_ENABLE ? "on" : "off", addr, VM_IPA_BITS);

	config_poke(fd, msi + PCI_MSI_ADDRESS_LO, 4, PRIV_GPA);
	TEST_ASSERT(config_msi_address(fd, msi) == addr,
		    "%s: the host moved the VM's device's MSI from 0x%lx to 0x%lx", d->bdf,
		    addr, config_msi_address(fd, msi));
	close(fd);
	kvm_assign_irqfd(vm, gsi, d->vdev->msi_eventfds[0]);
	pr_info("%s: MSI at 0x%lx, as its stream reaches the ITS doorbell, to LPI %u\n",
		d->bdf, addr, EDU_LPI(gsi));
}

/*
 * Flip bus mastering through configuration space as the host: @held says the
 * VM holds the function, so the hypervisor must drop the store. If not, put
 * the bit back.
 */
static void config_store(struct dev *d, bool held)
{
	u16 cmd, now, flip;
	int fd = config_open(d);

	TEST_ASSERT_EQ(pread(fd, &cmd, sizeof(cmd), PCI_COMMAND), sizeof(cmd));
	flip = cmd ^ PCI_COMMAND_MASTER;
	TEST_ASSERT_EQ(pwrite(fd, &flip, sizeof(flip), PCI_COMMAND), sizeof(flip));
	TEST_ASSERT_EQ(pread(fd, &now, sizeof(now), PCI_COMMAND), sizeof(now));
	if (held)
		TEST_ASSERT(now == cmd, "%s: the host reprogrammed the VM's function (0x%x -> 0x%x)",
			    d->bdf, cmd, now);
	else
		TEST_ASSERT(now == flip, "%s: a store to the host's own function was dropped (command 0x%x, wrote 0x%x)",
			    d->bdf, now, flip);
	if (now != cmd)
		TEST_ASSERT_EQ(pwrite(fd, &cmd, sizeof(cmd), PCI_COMMAND), sizeof(cmd));
	close(fd);
}

static void parse(int argc, char **argv)
{
	char extra;
	int i;

	TEST_ASSERT(argc >= 2 && argc <= 1 + MAX_DEVS,
		    "usage: %s BDF,SMMU,SID [BDF,SMMU,SID]", argv[0]);
	for (i = 1; i < argc; i++) {
		TEST_ASSERT(sscanf(argv[i], "%31[^,],%u,%i%c", devs[nr_devs].bdf,
				   &devs[nr_devs].smmu, &devs[nr_devs].sid, &extra) == 3,
			    "'%s' is not BDF,SMMU,SID", argv[i]);
		nr_devs++;
	}
}

int main(int argc, char **argv)
{
	struct vm_shape shape = VM_SHAPE(VM_MODE_P40V48_4K);
	struct userspace_mem_region *slot0;
	u8 *priv, *host_page;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	int h = 0, i, dom, kvm_vfio, its_fd;
	struct iommu *iommu;
	u64 pa, host_pa;
	long r[3];

	parse(argc, argv);
	__TEST_REQUIRE(!access(HVC_FILE, W_OK), "no %s: not a pKVM SMMU test kernel, or not root",
		       HVC_FILE);
	iommu = iommu_init("iommufd");
	for (i = 0; i < nr_devs; i++)
		dev_open(&devs[i], iommu);

	priv = kvm_mmap(PRIV_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1);

	shape.type = KVM_VM_TYPE_ARM_PROTECTED | KVM_VM_TYPE_ARM_PROTECTED_DMA;
	vm = vm_create_shape_with_one_vcpu(shape, &vcpu, guest_code);
	its_fd = setup_its(vm, vcpu);
	vm_set_user_memory_region(vm, PRIV_SLOT, 0, PRIV_GPA, PRIV_PAGES * PAGE_SIZE, priv);
	virt_map(vm, PRIV_GPA, PRIV_GPA, PRIV_PAGES);
	for (i = 0; i < nr_devs; i++)
		virt_map(vm, BAR_GPA(i), BAR_GPA(i), 1);
	kvm_vfio = kvm_create_device(vm, KVM_DEV_TYPE_VFIO);
	for (i = 0; i < nr_devs; i++)
		kvm_device_attr_set(kvm_vfio, KVM_DEV_VFIO_FILE, KVM_DEV_VFIO_FILE_ADD,
				    &devs[i].vdev->fd);
	slot0 = memslot2region(vm, 0);
	host_page = host_page_outside(slot0, &host_pa);
	vcpu_args_set(vcpu, 5, slot0->region.guest_phys_addr, slot0->region.memory_size,
		      nr_devs, host_pa, devs[0].bar_size / PAGE_SIZE);

	setup_msi_routes(vm);

	/* 1. */
	run_to_sync(vcpu, 1, &uc);

	/* 2. */
	for (i = 0; i < nr_devs; i++) {
		TEST_ASSERT_EQ(devs[i].bar_size, devs[0].bar_size);
		h = find_handle(&devs[i]);
		/* Not while the device is in a domain of the host's. */
		TEST_ASSERT_EQ(ioas_attach(&devs[i], true), 0);
		TEST_ASSERT_EQ(assign(kvm_vfio, &devs[i], BAR_GPA(i)), EBUSY);
		TEST_ASSERT_EQ(ioas_attach(&devs[i], false), 0);
		/* Where the guest did not accept MMIO, the hypervisor maps none. */
		TEST_ASSERT_EQ(assign(kvm_vfio, &devs[i], BAR_GPA(MAX_DEVS)), EPERM);
		TEST_ASSERT_EQ(assign(kvm_vfio, &devs[i], BAR_GPA(i) + 0x800), EINVAL);
		/* Nor anything that is not a BAR: here, private memory. */
		hvc_topup(r, 1, "iommu_assign_pvm_mmio 0x%x 0x%lx 0x%lx 1", h,
			  va_to_pa(priv) / PAGE_SIZE, BAR_GPA(i) / PAGE_SIZE);
		TEST_ASSERT_EQ(r[0], -EPERM);
		config_store(&devs[i], false);
		host_arms(&devs[i]);
		TEST_ASSERT_EQ(assign(kvm_vfio, &devs[i], BAR_GPA(i)), 0);
		check_reset(&devs[i], true);
		config_store(&devs[i], true);
		msi_setup(vm, &devs[i], i);
		/* Not twice, and its stream cannot join a domain of the host's. */
		TEST_ASSERT_EQ(assign(kvm_vfio, &devs[i], BAR_GPA(i)), EBUSY);
		TEST_ASSERT(ioas_attach(&devs[i], true), "%s: the VM's device joins the host's IOAS",
			    devs[i].bdf);
		pr_info("%s: BAR0 (0x%lx, %lu KiB) and stream 0x%x of SMMU %u given to VM 0x%x\n",
			devs[i].bdf, devs[i].bar, devs[i].bar_size >> 10, devs[i].sid,
			devs[i].smmu, h);
	}
	hvc_topup(r, 1, "iommu_alloc_domain %d", PKVM_IOMMU_DOMAIN_S2);
	TEST_ASSERT(r[0] >= 0, "iommu_alloc_domain: %ld", r[0]);
	dom = r[0];
	pa = va_to_pa(priv);
	hvc_topup(r, 2, "iommu_map %d 0x%lx 0x%lx 0x%lx %d", dom, IOVA, pa, PAGE_SIZE,
		  PKVM_IOMMU_PROT_RW);
	TEST_ASSERT_EQ(r[0], -EPERM);
	for (i = 0; i < nr_devs; i++) {
		hvc_topup(r, 1, "iommu_attach %d %u 0x%x", dom, devs[i].smmu, devs[i].sid);
		TEST_ASSERT_EQ(r[0], -EBUSY);
		TEST_ASSERT(read_faults(devs[i].regs), "%s: the host reads the VM's BAR",
			    devs[i].bdf);
	}

	/* 3. */
	run_to_sync(vcpu, 2, &uc);
	TEST_ASSERT(!uc.args[2], "%lu bytes the devices copied are wrong", uc.args[2]);
	TEST_ASSERT(!uc.args[3], "no MSI reached the guest from device(s) 0x%lx (bit per device)",
		    uc.args[3]);
	vcpu_run(vcpu);
	TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_DONE);
	for (i = 0; i < PAGE_SIZE; i++)
		TEST_ASSERT(host_page[i] == 0x5a, "a device DMA reached host memory (byte %d)", i);
	/*
	 * VFIO lets the last device go while the VM still has it: the IOMMU
	 * core falls back to the identity domain, which the driver must only
	 * join once the VM is gone (no warning meanwhile, no-kernel-warnings).
	 */
	vfio_pci_device_cleanup(devs[nr_devs - 1].vdev);
	devs[nr_devs - 1].vdev = NULL;

	/* 4. The KVM-VFIO and ITS devices hold the VM: they go first. */
	close(kvm_vfio);
	close(its_fd);
	kvm_vm_free(vm);
	for (i = 0; i < PRIV_PAGES * PAGE_SIZE; i++)
		TEST_ASSERT(!priv[i], "private byte %d back from the VM: 0x%x, not zeroed", i,
			    priv[i]);
	for (i = 0; i < nr_devs; i++) {
		/* The device let go: back in the identity domain, VFIO can take it again. */
		if (!devs[i].vdev) {
			devs[i].vdev = vfio_edu_open(devs[i].bdf, iommu);
			devs[i].regs = devs[i].vdev->bars[0].vaddr;
			TEST_ASSERT_EQ(ioas_attach(&devs[i], false), 0);
		}
		if (i < nr_devs - 1)
			check_reset(&devs[i], false);
		TEST_ASSERT(!read_faults(devs[i].regs), "%s: the BAR is not the host's again",
			    devs[i].bdf);
		config_store(&devs[i], false);
		TEST_ASSERT_EQ(ioas_attach(&devs[i], true), 0);
		vfio_pci_device_cleanup(devs[i].vdev);
	}
	do {
		hvc(r, "iommu_free_domain %d", dom);
	} while (r[0] == -EAGAIN);
	TEST_ASSERT(!r[0], "free of domain %d: %ld", dom, r[0]);
	iommu_cleanup(iommu);
	pr_info("%d device(s) driven by a protected VM, MSIs included; host memory, BARs and streams intact\n",
		nr_devs);
	return 0;
}
