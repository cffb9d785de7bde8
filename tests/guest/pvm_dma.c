// SPDX-License-Identifier: GPL-2.0
/*
 * pvm_dma: a page that pKVM has donated to a protected guest cannot be mapped
 * into an IOMMU domain, so no device can DMA into protected-guest memory.
 *
 * usage: pvm_dma [--dma [--assign BDF,SMMU,SID]... [--reclaim-bench N]]
 *                [--sabotage no-guest] | --bench N
 *
 * The program creates a protected VM (KVM_VM_TYPE_ARM_PROTECTED) with one
 * memslot over an anonymous buffer and runs a tiny guest in it: it stores to
 * GUEST_PAGES pages after its code page, then calls PSCI SYSTEM_OFF. Each
 * page the guest touches faults into pKVM, which donates it to the guest.
 * The physical addresses come from /proc/self/pagemap (the host's page tables
 * still point at the donated pages; only the host stage-2 lost them). Then,
 * through debugfs/pkvm-smmu/hvc, as a hostile host would, the checks printed
 * as "ok"/"not ok" lines:
 *  1. the guest ran: it exited with SYSTEM_OFF and its x4 shows the loop done;
 *  2. __pkvm_iommu_map of each page the guest touched fails with -EPERM;
 *  3. control: a page of the same buffer the guest never touched (still the
 *     host's) maps, translates, and unmaps;
 *  4. once the VM is destroyed, a page the guest had is the host's again and
 *     maps: the refusal in 2 came from the guest owning the page;
 *  5. the domain is freed.
 * --sabotage no-guest never runs the guest, so the pages stay the host's and
 * the checks of 1 and 2 must fail: the test can fail.
 *
 * --dma makes the VM one whose stage-2 the SMMUs can walk
 * (KVM_VM_TYPE_ARM_PROTECTED_DMA: the IPA size of its type, no FWB encoding)
 * and checks first what KVM accepts: the type without KVM_VM_TYPE_ARM_PROTECTED
 * or with an IPA size above the host's is refused; the default IPA size is
 * 40 bits (a memslot that ends above 2^40 is refused, as one below is taken),
 * where a protected VM without it has the host's. Then the same checks run
 * on the DMA VM.
 *
 * --assign BDF,SMMU,SID (with --dma, up to twice; the hypercalls through
 * debugfs/pkvm-smmu/hvc) shows SMMUs walking the VM's own
 * stage-2 instead. Each edu device BDF, with no driver, stream SID behind
 * SMMU (the hypervisor's index), is detached from the identity domain while
 * the guest waits in an MMIO exit, after it stored to its pages and accepted
 * device MMIO at BAR_IPA(i) (the MMIO guard hypercall). Its stream cannot
 * go to the VM yet (__pkvm_iommu_assign_pvm, through debugfs/hvc: -EPERM
 * while the host has the device's BAR). Its BAR0 goes to the VM
 * (__pkvm_iommu_assign_pvm_mmio), mapped at BAR_IPA(i): refused where the
 * guest did not accept MMIO, and while a peer-to-peer DMA mapping borrows
 * host MMIO; once given, the host cannot give it twice, map it for DMA or
 * read it (a child process that tries takes SIGSEGV), and the stream goes
 * to the VM. The guest, resumed, drives each edu itself:
 * the device copies the first word of guest page 1 to guest page 2 (the
 * second edu: page 3) by IPA, and reads a page the guest never touched (no
 * stage-2 entry: a translation fault, printed as "# fault expected, address
 * hidden" for the caller to find in the kernel log without its address: the
 * hypervisor hides a protected VM's addresses); the guest reads pages 2 and 3
 * back: they must hold page 1's word. Once the VM is destroyed, the BARs are the
 * host's again: a DMA it starts to the same IPA reaches nothing, and each
 * stream goes back to the identity domain, through which a host DMA lands.
 *
 * --bench N (make bench) only runs a guest that stores to N pages, and
 * prints how long its KVM_RUN took, N faults each donating a page:
 *   BENCH pvm-fault pages=N run_ns=T
 *
 * --reclaim-bench N (make bench; with --dma and --assign) makes the guest
 * store to RECLAIM_TOUCH pages and, once the devices' streams are the VM's,
 * takes N of them back while the guest waits in its MMIO exit, as the host
 * takes a page back from a protected VM (__pkvm_force_reclaim_guest_page,
 * through debugfs/hvc): each leaves the VM's stage-2, so the hypervisor
 * invalidates every SMMU of the VM's domain before the page is the host's.
 * The guest never resumes (no DMA of its own). For N > 0 it prints how long
 * each call took, K being the SMMUs the streams are on, and how long as many
 * calls of a hypercall that does nothing take through the same debugfs file:
 *   BENCH pvm-reclaim smmus=K pages=1 iters=N min_ns=A median_ns=B max_ns=C
 *   BENCH pvm-hvc-null smmus=K pages=1 iters=N min_ns=A median_ns=B max_ns=C
 * The teardown and its checks follow as with --assign alone.
 *
 * Exit status: 0 all checks passed, 1 a check or a step failed (including a
 * host that cannot run a protected guest: the message says why).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>

#define REPORT_PROG "pvm_dma"
#include "report.h"
#include "hvc.h"
#include "edu.h"

#define PAGE			4096UL

/* Guest physical layout: the code page, then the pages the guest stores to. */
#define GUEST_BASE		0x80000000UL
#define GUEST_SLOT_PAGES	16
#define GUEST_PAGES		4	/* touched after the code page */
#define BENCH_MAX_PAGES		4096
/* --reclaim-bench: the pages the guest stores to, and how many may go back. */
#define RECLAIM_TOUCH		257
#define RECLAIM_MAX		(RECLAIM_TOUCH - 1)
#define CONTROL_PAGE		12	/* never touched by the guest */
#define IOVA			0x100000UL

#define PKVM_IOMMU_DOMAIN_S2	1
#define PKVM_IOMMU_PROT_RW	3

/*
 * The guest, at GUEST_BASE with its MMU off. The words come from
 * aarch64-linux-gnu-as; the guest must not depend on anything but its memslot.
 */
static const uint32_t guest_code[] = {
	0x10000004,	/* 0: adr  x4, 0b              x4 = GUEST_BASE */
	0xd503201f,	/*    nop                      x5 = pages, set by the VMM */
	0x91400484,	/* 1: add  x4, x4, #1, lsl #12  next page */
	0xf9000084,	/*    str  x4, [x4]             the fault donates it */
	0xf10004a5,	/*    subs x5, x5, #1 */
	0x54ffffa1,	/*    b.ne 1b */
	0xd2b08000,	/*    movz x0, #0x8400, lsl #16 */
	0xf2800100,	/*    movk x0, #0x8             PSCI_0_2_FN_SYSTEM_OFF */
	0xd4000002,	/*    hvc  #0                   (the reply clears x1-x3) */
	0x14000000,	/*    b    . */
};

/* guest_code's first words, its store loop, start --assign's guest too. */
#define GUEST_STORE_LOOP	6

/*
 * --assign: guest_code's store loop; then the guest accepts device MMIO
 * (the MMIO guard hypercall, one page a call) at the x22 pages from x9 (x10:
 * the second device's BAR IPA, or 0), set by the VMM before the first run,
 * any failure in x21; then an MMIO exit (a store below GUEST_BASE) during
 * which the VMM assigns the devices' streams and gives the VM their BARs.
 * Resumed, the guest drives each edu itself through its BAR: the device
 * copies page 1's first word into its buffer and from there to page 2 (the
 * second device: page 3), then reads page CONTROL_PAGE + x17 (never
 * touched: a fault). The guest loads pages 2 and 3's first words into x6 and
 * x8.
 */
static const uint32_t assign_code[] = {
	0x10ffff44,	/* 0:  adr   x4, 0b               x4 = GUEST_BASE */
	0xaa0903eb,	/*     mov   x11, x9              the first device's BAR */
	0x94000031,	/*     bl    6f                   the guest accepts MMIO there */
	0xaa0a03eb,	/*     mov   x11, x10 */
	0xb400004b,	/*     cbz   x11, 7f */
	0x9400002e,	/*     bl    6f */
	0xd1400487,	/* 7:  sub   x7, x4, #1, lsl #12  no memslot there */
	0xf90000e4,	/*     str   x4, [x7]             MMIO exit: the VMM assigns */
	0xaa0903eb,	/*     mov   x11, x9 */
	0x9140088c,	/*     add   x12, x4, #2, lsl #12 to page 2 */
	0xd2800011,	/*     mov   x17, #0 */
	0x9400000c,	/*     bl    1f */
	0xaa0a03eb,	/*     mov   x11, x10 */
	0x91400c8c,	/*     add   x12, x4, #3, lsl #12 */
	0xd2802011,	/*     mov   x17, #0x100          to page 3 */
	0xb400004b,	/*     cbz   x11, 2f */
	0x94000007,	/*     bl    1f */
	0xf9500086,	/* 2:  ldr   x6, [x4, #0x2000]    page 2's first word */
	0xf9580088,	/*     ldr   x8, [x4, #0x3000]    page 3's first word */
	0xd2b08000,	/*     movz  x0, #0x8400, lsl #16 */
	0xf2800100,	/*     movk  x0, #0x8             PSCI_0_2_FN_SYSTEM_OFF */
	0xd4000002,	/*     hvc   #0 */
	0x14000000,	/*     b     . */
	0x9140048d,	/* 1:  add   x13, x4, #1, lsl #12 page 1 */
	0xd2a0008e,	/*     mov   x14, #0x40000        EDU_BUF_ADDR */
	0xd280010f,	/*     mov   x15, #8 */
	0xd2800030,	/*     mov   x16, #1              EDU_DMA_START */
	0xf900416d,	/*     str   x13, [x11, #0x80]    EDU_REG_DMA_SRC */
	0xf900456e,	/*     str   x14, [x11, #0x88]    EDU_REG_DMA_DST */
	0xf900496f,	/*     str   x15, [x11, #0x90]    EDU_REG_DMA_CNT */
	0xf9004d70,	/*     str   x16, [x11, #0x98]    EDU_REG_DMA_CMD */
	0xb9409970,	/* 3:  ldr   w16, [x11, #0x98] */
	0x3707fff0,	/*     tbnz  w16, #0, 3b */
	0xf900416e,	/*     str   x14, [x11, #0x80] */
	0xf900456c,	/*     str   x12, [x11, #0x88] */
	0xf900496f,	/*     str   x15, [x11, #0x90] */
	0xd2800070,	/*     mov   x16, #3              EDU_DMA_START | EDU_DMA_TO_RAM */
	0xf9004d70,	/*     str   x16, [x11, #0x98] */
	0xb9409970,	/* 4:  ldr   w16, [x11, #0x98] */
	0x3707fff0,	/*     tbnz  w16, #0, 4b */
	0x9140308d,	/*     add   x13, x4, #12, lsl #12 CONTROL_PAGE */
	0x8b1101ad,	/*     add   x13, x13, x17 */
	0x910401d0,	/*     add   x16, x14, #0x100 */
	0xf900416d,	/*     str   x13, [x11, #0x80] */
	0xf9004570,	/*     str   x16, [x11, #0x88] */
	0xf900496f,	/*     str   x15, [x11, #0x90] */
	0xd2800030,	/*     mov   x16, #1 */
	0xf9004d70,	/*     str   x16, [x11, #0x98] */
	0xb9409970,	/* 5:  ldr   w16, [x11, #0x98] */
	0x3707fff0,	/*     tbnz  w16, #0, 5b */
	0xd65f03c0,	/*     ret */
	0xaa0b03ee,	/* 6:  mov   x14, x11             x22 pages from x11 */
	0xaa1603ef,	/*     mov   x15, x22 */
	0xd2b8c000,	/* 8:  movz  x0, #0xc600, lsl #16 */
	0xf28000e0,	/*     movk  x0, #7               ARM_SMCCC_KVM_FUNC_MMIO_GUARD */
	0xaa0e03e1,	/*     mov   x1, x14 */
	0xd2800002,	/*     mov   x2, #0 */
	0xd2800003,	/*     mov   x3, #0 */
	0xd4000002,	/*     hvc   #0 */
	0xaa0002b5,	/*     orr   x21, x21, x0         any failure sticks in x21 */
	0x914005ce,	/*     add   x14, x14, #1, lsl #12 */
	0xf10005ef,	/*     subs  x15, x15, #1 */
	0x54fffee1,	/*     b.ne  8b */
	0xd65f03c0,	/*     ret */
};

/* --assign: where the VM's stage-2 maps device i's BAR0 (no memslot there). */
#define BAR_IPA(i)		(0x40000000UL + (i) * 0x100000UL)

struct pvm {
	int kvm, vm, vcpu;
	unsigned long pages;	/* the guest stores to this many */
	unsigned long slot_pages;
	struct kvm_run *run;
	size_t run_size;
	uint8_t *mem;
};

static bool sabotage_no_guest;
/* --reclaim-bench N: -1 without. */
static long reclaim_bench = -1;
/* --assign: the edu device, its SMMU (hypervisor index) and stream. */
#define MAX_ASSIGN		2
static struct assigned {
	char		bdf[32];
	unsigned int	smmu, sid;
	char		*regs;		/* BAR0, mapped in this process */
	uint64_t	bar, bar_size;	/* BAR0's physical address and size */
} assigned[MAX_ASSIGN];
static int nr_assigned;
static unsigned long vm_type = KVM_VM_TYPE_ARM_PROTECTED;

static int set_pc(struct pvm *p, uint64_t pc)
{
	struct kvm_one_reg reg = {
		.id = KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |
		      KVM_REG_ARM_CORE_REG(regs.pc),
		.addr = (uintptr_t)&pc,
	};

	if (ioctl(p->vcpu, KVM_SET_ONE_REG, &reg))
		return error("KVM_SET_ONE_REG(pc): %s", strerror(errno));
	return 0;
}

static int set_xreg(struct pvm *p, int n, uint64_t val)
{
	struct kvm_one_reg reg = {
		.id = KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |
		      (KVM_REG_ARM_CORE_REG(regs.regs[0]) + n * 2),
		.addr = (uintptr_t)&val,
	};

	if (ioctl(p->vcpu, KVM_SET_ONE_REG, &reg))
		return error("KVM_SET_ONE_REG(x%d): %s", n, strerror(errno));
	return 0;
}

static int get_xreg(struct pvm *p, int n, uint64_t *val)
{
	struct kvm_one_reg reg = {
		.id = KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |
		      (KVM_REG_ARM_CORE_REG(regs.regs[0]) + n * 2),
		.addr = (uintptr_t)val,
	};

	if (ioctl(p->vcpu, KVM_GET_ONE_REG, &reg))
		return error("KVM_GET_ONE_REG(x%d): %s", n, strerror(errno));
	return 0;
}

/* A protected VM with one memslot over @p->mem and one vCPU at GUEST_BASE. */
static int pvm_create(struct pvm *p)
{
	struct kvm_userspace_memory_region slot = {
		.slot = 0,
		.guest_phys_addr = GUEST_BASE,
		.memory_size = p->slot_pages * PAGE,
		.userspace_addr = (uintptr_t)p->mem,
	};
	struct kvm_vcpu_init init;
	int size;

	p->kvm = open("/dev/kvm", O_RDWR);
	if (p->kvm < 0)
		return error("cannot open /dev/kvm: %s (CONFIG_KVM? KVM needs EL2)",
			     strerror(errno));
	p->vm = ioctl(p->kvm, KVM_CREATE_VM, vm_type);
	if (p->vm < 0)
		return error("cannot create a protected VM: KVM_CREATE_VM(0x%lx): %s (%s)",
			     vm_type, strerror(errno), "pKVM needs kvm-arm.mode=protected");
	if (ioctl(p->vm, KVM_SET_USER_MEMORY_REGION, &slot))
		return error("KVM_SET_USER_MEMORY_REGION(%lu pages at 0x%lx): %s",
			     p->slot_pages, GUEST_BASE, strerror(errno));
	p->vcpu = ioctl(p->vm, KVM_CREATE_VCPU, 0);
	if (p->vcpu < 0)
		return error("KVM_CREATE_VCPU in a protected VM: %s", strerror(errno));
	size = ioctl(p->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size <= 0)
		return error("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
	p->run_size = size;
	p->run = mmap(NULL, p->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, p->vcpu, 0);
	if (p->run == MAP_FAILED)
		return error("mmap of the vCPU's kvm_run: %s", strerror(errno));
	if (ioctl(p->vm, KVM_ARM_PREFERRED_TARGET, &init))
		return error("KVM_ARM_PREFERRED_TARGET: %s", strerror(errno));
	init.features[0] |= 1U << KVM_ARM_VCPU_PSCI_0_2;
	if (ioctl(p->vcpu, KVM_ARM_VCPU_INIT, &init))
		return error("KVM_ARM_VCPU_INIT(target %u, PSCI 0.2) in a protected VM: %s",
			     init.target, strerror(errno));
	return set_pc(p, GUEST_BASE) ?: set_xreg(p, 5, p->pages) ?:
	       set_xreg(p, 9, nr_assigned ? BAR_IPA(0) : 0) ?:
	       set_xreg(p, 10, nr_assigned > 1 ? BAR_IPA(1) : 0) ?:
	       set_xreg(p, 22, nr_assigned ? assigned[0].bar_size / PAGE : 0);
}

/* Run the guest to its SYSTEM_OFF; any other exit is a failure. */
static int pvm_run(struct pvm *p)
{
	struct kvm_run *run = p->run;
	uint64_t x4 = 0;
	int i;

	for (i = 0; i < 16; i++) {
		if (ioctl(p->vcpu, KVM_RUN, 0)) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return error("pKVM could not run the protected guest: KVM_RUN: %s",
				     strerror(errno));
		}
		break;
	}
	switch (run->exit_reason) {
	case KVM_EXIT_SYSTEM_EVENT:
		break;
	case KVM_EXIT_MMIO:
		return error("the guest exited on MMIO at 0x%llx, not with SYSTEM_OFF",
			     (unsigned long long)run->mmio.phys_addr);
	case KVM_EXIT_FAIL_ENTRY:
		return error("pKVM refused to enter the protected guest: %s 0x%llx",
			     "KVM_EXIT_FAIL_ENTRY, reason",
			     (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
	default:
		return error("the guest exited with reason %u, not KVM_EXIT_SYSTEM_EVENT",
			     run->exit_reason);
	}
	if (get_xreg(p, 4, &x4))
		return KSFT_FAIL;
	check(run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN &&
	      x4 == GUEST_BASE + p->pages * PAGE,
	      "protected guest ran: stored to %lu pages and exited with SYSTEM_OFF (event %u, x4 0x%llx)",
	      p->pages, run->system_event.type, (unsigned long long)x4);
	return 0;
}

/* Close everything that holds the VM; the last close destroys it in pKVM. */
static void pvm_destroy(struct pvm *p)
{
	if (p->run && p->run != MAP_FAILED)
		munmap(p->run, p->run_size);
	p->run = NULL;
	if (p->vcpu >= 0)
		close(p->vcpu);
	if (p->vm >= 0)
		close(p->vm);
	if (p->kvm >= 0)
		close(p->kvm);
	p->vcpu = -1;
	p->vm = -1;
	p->kvm = -1;
}

/* Map @pa at IOVA; on success, check the translation and unmap it again. */
static int map_page(int dom, uint64_t pa, long *r)
{
	long u[3];
	int ret;

	ret = hvc_topup(r, 2, "iommu_map %d 0x%lx 0x%llx 0x%lx %d", dom, IOVA,
			(unsigned long long)pa, PAGE, PKVM_IOMMU_PROT_RW);
	if (ret || r[0])
		return ret;
	ret = hvc(u, "iommu_iova_to_phys %d 0x%lx", dom, IOVA);
	if (!ret && (u[0] || (uint64_t)u[1] != pa))
		printf("#   iova_to_phys 0x%lx gave %ld 0x%lx, not 0x%llx\n", IOVA, u[0], u[1],
		       (unsigned long long)pa);
	if (!ret)
		ret = hvc(u, "iommu_unmap %d 0x%lx 0x%lx", dom, IOVA, PAGE);
	if (!ret && (u[0] || (unsigned long)u[1] != PAGE))
		return error("unmap of iova 0x%lx in domain %d: %ld (done 0x%lx)", IOVA, dom,
			     u[0], u[1]);
	return ret;
}

/* A new paging domain's id in *@dom. */
static int alloc_s2_domain(int *dom)
{
	long r[3];
	int ret;

	ret = hvc_topup(r, 1, "iommu_alloc_domain %d", PKVM_IOMMU_DOMAIN_S2);
	if (ret)
		return ret;
	if (r[0] < 0)
		return error("iommu_alloc_domain: %ld", r[0]);
	*dom = r[0];
	return 0;
}

/* The id of the host's identity domain (the same every time) in *@idn. */
static int identity_domain(int *idn)
{
	long r[3];
	int ret;

	ret = hvc_topup(r, 1, "iommu_alloc_domain %d", 2);
	if (ret)
		return ret;
	*idn = r[0];
	if (*idn < 0)
		return error("no identity domain: %d", *idn);
	return 0;
}

/* 2. to 4., in domain @dom. */
static int check_maps(struct pvm *p, int dom, const uint64_t *pa, uint64_t control)
{
	uint64_t after;
	long r[3];
	int i, ret, idn;

	for (i = 0; i <= GUEST_PAGES; i++) {
		ret = map_page(dom, pa[i], r);
		if (ret)
			return ret;
		check(r[0] == -EPERM,
		      "map of guest page %d (pa 0x%llx) refused: %ld (want %d, EPERM)", i,
		      (unsigned long long)pa[i], r[0], -EPERM);
	}

	ret = map_page(dom, control, r);
	if (ret)
		return ret;
	check(r[0] == 0 && (unsigned long)r[1] == PAGE,
	      "map of the untouched host page %d (pa 0x%llx): %ld, done 0x%lx (want 0, 0x%lx)",
	      CONTROL_PAGE, (unsigned long long)control, r[0], r[1], PAGE);

	/* The identity domain, the host's default for DMA, follows ownership. */
	ret = identity_domain(&idn);
	if (ret)
		return ret;
	for (i = 0; i <= GUEST_PAGES; i++) {
		ret = hvc(r, "iommu_iova_to_phys %d 0x%llx", idn, (unsigned long long)pa[i]);
		if (ret)
			return ret;
		check(r[0] == -ENOENT,
		      "guest page %d (pa 0x%llx) is not in the identity domain: %ld (want %d)",
		      i, (unsigned long long)pa[i], r[0], -ENOENT);
	}
	ret = hvc(r, "iommu_iova_to_phys %d 0x%llx", idn, (unsigned long long)control);
	if (ret)
		return ret;
	check(r[0] == 0 && (uint64_t)r[1] == control,
	      "the untouched host page is in the identity domain: %ld 0x%lx", r[0], r[1]);

	pvm_destroy(p);
	if (virt_to_phys(p->mem + PAGE, &after))
		return KSFT_FAIL;
	if (after != pa[1])
		printf("# guest page 1 moved to 0x%llx once the VM was destroyed\n",
		       (unsigned long long)after);
	ret = map_page(dom, after, r);
	if (ret)
		return ret;
	check(r[0] == 0 && (unsigned long)r[1] == PAGE,
	      "map of guest page 1 (pa 0x%llx) once the VM is destroyed: %ld (want 0)",
	      (unsigned long long)after, r[0]);
	ret = hvc(r, "iommu_iova_to_phys %d 0x%llx", idn, (unsigned long long)after);
	if (ret)
		return ret;
	check(r[0] == 0 && (uint64_t)r[1] == after,
	      "guest page 1 is back in the identity domain once the VM is destroyed: %ld 0x%lx",
	      r[0], r[1]);
	return 0;
}

/* Guest memory for @p->slot_pages pages, with the guest's code in the first. */
static int pvm_alloc(struct pvm *p)
{
	p->mem = mmap(NULL, p->slot_pages * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p->mem == MAP_FAILED)
		return error("cannot allocate %lu pages of guest memory: %s", p->slot_pages,
			     strerror(errno));
	/*
	 * As VMMs do: a fork() (read_kills()) would copy the pinned pages for
	 * the child, and the host kernel's read of a page the guest owns makes
	 * pKVM poison it for the guest.
	 */
	if (madvise(p->mem, p->slot_pages * PAGE, MADV_DONTFORK))
		return error("madvise(MADV_DONTFORK) of guest memory: %s", strerror(errno));
	if (nr_assigned) {
		memcpy(p->mem, guest_code, GUEST_STORE_LOOP * sizeof(uint32_t));
		memcpy(p->mem + GUEST_STORE_LOOP * sizeof(uint32_t), assign_code,
		       sizeof(assign_code));
	} else {
		memcpy(p->mem, guest_code, sizeof(guest_code));
	}
	__builtin___clear_cache((char *)p->mem, (char *)p->mem + PAGE);
	return 0;
}

/* One KVM_RUN to the next exit, retried on a signal. */
static int pvm_enter(struct pvm *p)
{
	int i;

	for (i = 0; i < 16; i++) {
		if (!ioctl(p->vcpu, KVM_RUN, 0))
			return 0;
		if (errno != EINTR && errno != EAGAIN)
			break;
	}
	return error("pKVM could not run the protected guest: KVM_RUN: %s", strerror(errno));
}

/*
 * --assign: detach device @a's stream from the identity domain @idn, then
 * find the only protected VM there is by trying each handle (-ENOENT: no VM
 * with it). The VM refuses the stream while the device's BAR is still the
 * host's (-EPERM): the host could drive the device into the VM's memory.
 */
static int find_handle(struct assigned *a, int idn, int *handle)
{
	long r[3];
	int h, ret;

	ret = hvc(r, "iommu_detach %d %u 0x%x", idn, a->smmu, a->sid);
	if (ret)
		return ret;
	check(r[0] == 0, "stream 0x%x of SMMU %u detached from the identity domain: %ld",
	      a->sid, a->smmu, r[0]);
	for (h = 0x1000; h < 0x1100; h++) {
		ret = hvc_topup(r, 1, "iommu_assign_pvm 0x%x %u 0x%x", h, a->smmu, a->sid);
		if (ret)
			return ret;
		if (r[0] != -ENOENT)
			break;
	}
	if (r[0] == -EOPNOTSUPP)
		return error("__pkvm_iommu_assign_pvm: -EOPNOTSUPP (%s)",
			     "an SMMU that cannot walk the VM's stage-2");
	check(r[0] == -EPERM, "stream 0x%x of SMMU %u refused while the host has its BAR: %ld",
	      a->sid, a->smmu, r[0]);
	*handle = h;
	return r[0] == -EPERM ? 0 : KSFT_FAIL;
}

/*
 * --assign: once its BAR is the VM's, the stream of @a goes to VM @h. The
 * last BAR page started the hypervisor's reset of the device: -EAGAIN for
 * about 100 ms, asked again every 20 ms for at most a second, as the host
 * driver does.
 */
static int assign_stream(struct assigned *a, int h)
{
	unsigned int waits = 0;
	long r[3];
	int ret;

	do {
		if (waits)
			usleep(20000);
		ret = hvc_topup(r, 1, "iommu_assign_pvm 0x%x %u 0x%x", h, a->smmu, a->sid);
		if (ret)
			return ret;
	} while (r[0] == -EAGAIN && ++waits < 50);
	check(r[0] == 0, "stream 0x%x of SMMU %u assigned to the protected VM 0x%x after %u waits for its reset: %ld",
	      a->sid, a->smmu, h, waits, r[0]);
	return r[0] ? KSFT_FAIL : 0;
}

/* BAR0 of edu @a: its physical address and size, from sysfs. */
static int edu_bar(struct assigned *a)
{
	unsigned long long start, end, flags;
	char path[256];
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource", a->bdf);
	f = fopen(path, "r");
	if (!f)
		return error("%s: %s", path, strerror(errno));
	n = fscanf(f, "%llx %llx %llx", &start, &end, &flags);
	fclose(f);
	if (n != 3 || !start || end <= start || (start | (end + 1)) & (PAGE - 1))
		return error("%s: no page-aligned BAR0", path);
	a->bar = start;
	a->bar_size = end + 1 - start;
	return 0;
}

/* Give [@bar, @bar + @size) to VM @h at @ipa, in calls of at most 512 pages. */
static long give_mmio(int h, uint64_t bar, uint64_t ipa, uint64_t size)
{
	uint64_t off, n;
	long r[3];

	for (off = 0; off < size; off += n * PAGE) {
		n = (size - off) / PAGE;
		if (n > 512)
			n = 512;
		if (hvc_topup(r, 1, "iommu_assign_pvm_mmio 0x%x 0x%llx 0x%llx %llu", h,
			      (unsigned long long)(bar + off) / PAGE,
			      (unsigned long long)(ipa + off) / PAGE, (unsigned long long)n))
			return -EIO;
		if (r[0])
			return r[0];
	}
	return 0;
}

/* Whether a read of @regs kills a child process, and with which signal. */
static int read_kills(char *regs)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		(void)mmio_read32(regs + EDU_REG_ID);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

/*
 * --assign: give each device's BAR0 to VM @h, mapped at BAR_IPA(i), so that
 * the guest, not the host, drives the device. Never while a DMA mapping
 * borrows host MMIO; once given, the host can neither read it nor map it
 * for DMA, nor give it twice.
 */
static int give_bars(int h)
{
	struct assigned *a;
	int dom, i, sig, ret;
	long r[3];

	ret = alloc_s2_domain(&dom);
	if (ret)
		return ret;

	/* A peer-to-peer mapping of the first BAR borrows host MMIO. */
	a = &assigned[0];
	ret = hvc_topup(r, 2, "iommu_map %d 0x%lx 0x%llx 0x%lx %d", dom, IOVA,
			(unsigned long long)a->bar, PAGE, PKVM_IOMMU_PROT_RW);
	if (ret)
		return ret;
	check(r[0] == 0, "%s: its BAR maps for peer-to-peer DMA: %ld", a->bdf, r[0]);
	r[0] = give_mmio(h, a->bar, BAR_IPA(0), a->bar_size);
	check(r[0] == -EBUSY, "%s: no MMIO goes to the VM while a DMA mapping borrows some: %ld",
	      a->bdf, r[0]);
	ret = hvc(r, "iommu_unmap %d 0x%lx 0x%lx", dom, IOVA, PAGE);
	if (ret)
		return ret;

	for (i = 0; i < nr_assigned; i++) {
		a = &assigned[i];
		r[0] = give_mmio(h, a->bar, BAR_IPA(i) + 0x10000000UL, PAGE);
		check(r[0] == -EPERM, "%s: not where the guest did not accept MMIO: %ld",
		      a->bdf, r[0]);
		r[0] = give_mmio(h, a->bar, BAR_IPA(i), a->bar_size);
		check(r[0] == 0, "%s: BAR0 (0x%llx, %llu KiB) given to the VM at IPA 0x%lx: %ld",
		      a->bdf, (unsigned long long)a->bar,
		      (unsigned long long)a->bar_size >> 10, BAR_IPA(i), r[0]);
		if (r[0])
			break;
		r[0] = give_mmio(h, a->bar, BAR_IPA(i) + 0x10000000UL, PAGE);
		check(r[0] == -EPERM, "%s: not twice: %ld", a->bdf, r[0]);
		ret = hvc_topup(r, 2, "iommu_map %d 0x%lx 0x%llx 0x%lx %d", dom, IOVA,
				(unsigned long long)a->bar, PAGE, PKVM_IOMMU_PROT_RW);
		if (ret)
			break;
		check(r[0] == -EPERM, "%s: the host cannot map the VM's BAR for DMA: %ld",
		      a->bdf, r[0]);
		sig = read_kills(a->regs);
		check(sig == SIGSEGV, "%s: a host read of the VM's BAR takes a stage-2 fault (%s)",
		      a->bdf, sig > 0 ? strsignal(sig) : sig ? strerror(errno) : "no signal");
	}

	do {
		if (hvc(r, "iommu_free_domain %d", dom))
			return KSFT_FAIL;
	} while (r[0] == -EAGAIN);
	return ret ?: (nr_failed ? KSFT_FAIL : 0);
}

/*
 * --assign, once the VM is gone: the teardown reset each device (bus
 * mastering off: the host turns it on again, as a driver does after a
 * reset), the streams abort (a DMA to the VM's IPA reaches nothing), go back
 * to the identity domain, and a host DMA by physical address lands again.
 */
static int after_assigned(struct pvm *p, int idn)
{
	const uint64_t marker = 0x1234abcd5678ef00ULL;
	struct assigned *a;
	uint64_t src, dst;
	long r[3];
	int i, ret;

	for (i = 0; i < nr_assigned; i++) {
		a = &assigned[i];
		if (edu_enable(a->bdf))
			return error("enabling edu %s after the VM: %s", a->bdf, strerror(errno));
		memset(p->mem + 2 * PAGE, 0x5a, PAGE);
		if (edu_dma(a->regs, GUEST_BASE + 2 * PAGE, 0, 8, true))
			return error("edu %s DMA after the VM: %s", a->bdf, strerror(errno));
		check(p->mem[2 * PAGE] == 0x5a && p->mem[2 * PAGE + 7] == 0x5a,
		      "%s: once the VM is destroyed, a DMA to its IPA reaches nothing (byte 0: 0x%02x)",
		      a->bdf, p->mem[2 * PAGE]);

		ret = hvc_topup(r, 1, "iommu_attach %d %u 0x%x", idn, a->smmu, a->sid);
		if (ret)
			return ret;
		check(r[0] == 0, "%s: the stream is back in the identity domain: %ld",
		      a->bdf, r[0]);
		memset(p->mem + 4 * PAGE, 0, PAGE);
		*(uint64_t *)(p->mem + 3 * PAGE) = marker + i;
		if (virt_to_phys(p->mem + 3 * PAGE, &src) ||
		    virt_to_phys(p->mem + 4 * PAGE, &dst))
			return KSFT_FAIL;
		if (edu_dma(a->regs, src, 0, 8, false) || edu_dma(a->regs, dst, 0, 8, true))
			return error("edu %s host DMA: %s", a->bdf, strerror(errno));
		check(*(uint64_t *)(p->mem + 4 * PAGE) == marker + i,
		      "%s: a host DMA through the identity domain lands again: 0x%llx",
		      a->bdf, (unsigned long long)*(uint64_t *)(p->mem + 4 * PAGE));
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t elapsed_ns(const struct timespec *t0, const struct timespec *t1)
{
	return (t1->tv_sec - t0->tv_sec) * 1000000000ULL + t1->tv_nsec - t0->tv_nsec;
}

/* One BENCH line: the @n times in @ns, sorted here. */
static void bench_line(const char *name, int smmus, uint64_t *ns, long n)
{
	qsort(ns, n, sizeof(ns[0]), cmp_u64);
	printf("BENCH %s smmus=%d pages=1 iters=%ld min_ns=%llu median_ns=%llu max_ns=%llu\n",
	       name, smmus, n, (unsigned long long)ns[0], (unsigned long long)ns[n / 2],
	       (unsigned long long)ns[n - 1]);
}

/* The SMMUs the assigned devices' streams are on. */
static int assigned_smmus(void)
{
	int i, j, n = 0;

	for (i = 0; i < nr_assigned; i++) {
		for (j = 0; j < i && assigned[j].smmu != assigned[i].smmu; j++)
			;
		n += j == i;
	}
	return n;
}

/*
 * --reclaim-bench: with the devices' streams the VM's, take guest pages 1 to
 * N back, as the host takes a page back from a protected VM: each leaves
 * the VM's stage-2, and every SMMU of its domain is invalidated first. Then
 * as many calls that do nothing (an unknown benchmark knob, -EINVAL), for
 * what the debugfs file itself costs.
 */
static int bench_reclaim(struct pvm *p)
{
	static uint64_t ns[RECLAIM_MAX];
	struct timespec t0, t1;
	uint64_t pa;
	long i, r[3];
	int ret;

	for (i = 0; i < reclaim_bench; i++) {
		ret = virt_to_phys(p->mem + (i + 1) * PAGE, &pa);
		if (ret)
			return ret;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		ret = hvc(r, "force_reclaim_guest_page 0x%llx", (unsigned long long)pa);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (ret)
			return ret;
		if (r[0])
			return error("taking guest page %ld (0x%llx) back: %ld", i + 1,
				     (unsigned long long)pa, r[0]);
		ns[i] = elapsed_ns(&t0, &t1);
	}
	printf("# %ld guest page(s) taken back, the VM's streams on %d SMMU(s)\n",
	       reclaim_bench, assigned_smmus());
	if (!reclaim_bench)
		return 0;
	bench_line("pvm-reclaim", assigned_smmus(), ns, reclaim_bench);
	for (i = 0; i < reclaim_bench; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		ret = hvc(r, "iommu_bench_knob 0x%x 0", 0xffff);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (ret)
			return ret;
		if (r[0] != -EINVAL)
			return error("a benchmark knob that does not exist: %ld, not -EINVAL",
				     r[0]);
		ns[i] = elapsed_ns(&t0, &t1);
	}
	bench_line("pvm-hvc-null", assigned_smmus(), ns, reclaim_bench);
	return 0;
}

static int test_assign(struct pvm *p)
{
	const uint64_t page1 = GUEST_BASE + PAGE;
	const uint64_t untouched = GUEST_BASE + CONTROL_PAGE * PAGE;
	uint64_t x[2] = {}, x21 = 1;
	int h = 0, i, idn, ret;

	for (i = 0; i < nr_assigned; i++) {
		if (edu_bar(&assigned[i]))
			return KSFT_FAIL;
		if (edu_enable(assigned[i].bdf))
			return error("enabling edu %s in its config space: %s",
				     assigned[i].bdf, strerror(errno));
		assigned[i].regs = edu_map(assigned[i].bdf);
		if (!assigned[i].regs)
			return error("mapping BAR0 of edu %s: %s", assigned[i].bdf,
				     strerror(errno));
	}
	ret = identity_domain(&idn);
	if (ret)
		return ret;

	ret = pvm_alloc(p) ?: pvm_create(p) ?: pvm_enter(p);
	if (ret)
		return ret;
	if (p->run->exit_reason != KVM_EXIT_MMIO)
		return error("the guest exited with reason %u, not on MMIO after its stores",
			     p->run->exit_reason);
	printf("# the guest stored to its pages and waits at MMIO 0x%llx\n",
	       (unsigned long long)p->run->mmio.phys_addr);

	for (i = 0; i < nr_assigned; i++) {
		ret = find_handle(&assigned[i], idn, &h);
		if (ret)
			return ret;
	}
	ret = give_bars(h);
	for (i = 0; i < nr_assigned && !ret; i++)
		ret = assign_stream(&assigned[i], h);
	if (ret)
		return ret;
	if (reclaim_bench >= 0) {
		ret = bench_reclaim(p);
		pvm_destroy(p);
		ret = ret ?: after_assigned(p, idn);
		for (i = 0; i < nr_assigned; i++)
			munmap(assigned[i].regs, 4096);
		return ret;
	}
	/* The guest's last DMA on each device reads an IPA it never touched. */
	for (i = 0; i < nr_assigned; i++)
		printf("# fault expected, address hidden: %s iova 0x%llx\n", assigned[i].bdf,
		       (unsigned long long)untouched + i * 0x100);
	ret = pvm_enter(p) ?: get_xreg(p, 6, &x[0]) ?: get_xreg(p, 8, &x[1]) ?:
	      get_xreg(p, 21, &x21);
	if (ret)
		return ret;
	check(!x21, "the guest accepted MMIO at its BARs (MMIO guard): x21 0x%llx",
	      (unsigned long long)x21);
	if (p->run->exit_reason == KVM_EXIT_MMIO)
		printf("# the guest exited on MMIO at 0x%llx: its BAR is not mapped\n",
		       (unsigned long long)p->run->mmio.phys_addr);
	for (i = 0; i < nr_assigned; i++)
		check(p->run->exit_reason == KVM_EXIT_SYSTEM_EVENT && x[i] == page1,
		      "the guest drove %s: page 1's word copied to page %d (exit %u, x%d 0x%llx, want 0x%llx)",
		      assigned[i].bdf, 2 + i, p->run->exit_reason, i ? 8 : 6,
		      (unsigned long long)x[i], (unsigned long long)page1);

	/* The VM goes: its streams abort before its pages come back. */
	pvm_destroy(p);
	ret = after_assigned(p, idn);
	for (i = 0; i < nr_assigned; i++)
		munmap(assigned[i].regs, 4096);
	return ret;
}

/* --bench: time the run of a guest that faults in @p->pages pages. */
static int bench_pvm(struct pvm *p)
{
	struct timespec t0, t1;
	int ret;

	ret = pvm_alloc(p) ?: pvm_create(p);
	if (ret)
		return ret;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = pvm_run(p);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (ret)
		return ret;
	printf("BENCH pvm-fault pages=%lu run_ns=%llu\n", p->pages,
	       (unsigned long long)((t1.tv_sec - t0.tv_sec) * 1000000000LL +
				    t1.tv_nsec - t0.tv_nsec));
	return 0;
}

/* Does a VM of @type take a memslot of one page at @gpa? -1: no such VM. */
static int vm_takes_slot(int kvm, unsigned long type, uint64_t gpa, void *mem)
{
	struct kvm_userspace_memory_region slot = {
		.guest_phys_addr = gpa, .memory_size = PAGE,
		.userspace_addr = (uintptr_t)mem,
	};
	int vm = ioctl(kvm, KVM_CREATE_VM, type), ret;

	if (vm < 0)
		return -1;
	ret = !ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot);
	close(vm);
	return ret;
}

/* --dma: what KVM accepts of KVM_VM_TYPE_ARM_PROTECTED_DMA. */
static int check_dma_types(struct pvm *p)
{
	const unsigned long dma = KVM_VM_TYPE_ARM_PROTECTED | KVM_VM_TYPE_ARM_PROTECTED_DMA;
	int kvm = open("/dev/kvm", O_RDWR), limit, vm;

	if (kvm < 0)
		return error("cannot open /dev/kvm: %s", strerror(errno));
	limit = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_ARM_VM_IPA_SIZE);
	printf("# host IPA size limit: %d bits\n", limit);
	vm = ioctl(kvm, KVM_CREATE_VM, KVM_VM_TYPE_ARM_PROTECTED_DMA);
	check(vm < 0 && errno == EINVAL,
	      "KVM_VM_TYPE_ARM_PROTECTED_DMA without KVM_VM_TYPE_ARM_PROTECTED refused: %d (%s)",
	      vm, vm < 0 ? strerror(errno) : "created");
	if (vm >= 0)
		close(vm);
	vm = ioctl(kvm, KVM_CREATE_VM, dma | (limit + 1));
	check(vm < 0 && errno == EINVAL, "a DMA VM of %d IPA bits refused: %d (%s)",
	      limit + 1, vm, vm < 0 ? strerror(errno) : "created");
	if (vm >= 0)
		close(vm);
	check(vm_takes_slot(kvm, dma, (1ULL << 40) - PAGE, p->mem) == 1,
	      "a DMA VM takes a memslot below 2^40");
	check(vm_takes_slot(kvm, dma, 1ULL << 40, p->mem) == 0,
	      "a DMA VM (40 IPA bits) refuses a memslot at 2^40");
	if (limit > 40)
		check(vm_takes_slot(kvm, KVM_VM_TYPE_ARM_PROTECTED, 1ULL << 40, p->mem) == 1,
		      "a protected VM without it (%d IPA bits) takes a memslot at 2^40", limit);
	close(kvm);
	return 0;
}

static int test_pvm(struct pvm *p)
{
	uint64_t pa[GUEST_PAGES + 1], before, control;
	long r[3];
	int dom, i, ret;

	ret = pvm_alloc(p);
	if (ret)
		return ret;
	if (vm_type & KVM_VM_TYPE_ARM_PROTECTED_DMA) {
		ret = check_dma_types(p);
		if (ret)
			return ret;
	}
	if (virt_to_phys(p->mem + PAGE, &before))
		return KSFT_FAIL;

	ret = pvm_create(p);
	if (ret)
		return ret;
	if (sabotage_no_guest) {
		printf("# sabotage: the guest does not run, its pages stay the host's\n");
		check(false, "protected guest ran (sabotaged: not run)");
	} else {
		ret = pvm_run(p);
		if (ret)
			return ret;
	}

	/* The code page and the pages the guest stored to: pinned, so stable. */
	for (i = 0; i <= GUEST_PAGES; i++) {
		if (virt_to_phys(p->mem + i * PAGE, &pa[i]))
			return KSFT_FAIL;
	}
	if (virt_to_phys(p->mem + CONTROL_PAGE * PAGE, &control))
		return KSFT_FAIL;
	printf("# guest page 1 at 0x%llx (0x%llx before the guest ran), control page at 0x%llx\n",
	       (unsigned long long)pa[1], (unsigned long long)before,
	       (unsigned long long)control);

	ret = alloc_s2_domain(&dom);
	if (ret)
		return ret;
	printf("# domain %d\n", dom);

	ret = check_maps(p, dom, pa, control);
	/* Free the domain even after a failed step: it frees what it still maps. */
	do {
		if (hvc(r, "iommu_free_domain %d", dom))
			return KSFT_FAIL;
	} while (r[0] == -EAGAIN);
	check(r[0] == 0, "free of domain %d: %ld", dom, r[0]);
	return ret;
}

#define USAGE "usage: pvm_dma [--dma [--assign BDF,SMMU,SID]... [--reclaim-bench N]] " \
	      "[--sabotage no-guest] | --bench N"

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sabotage", required_argument, NULL, 's' },
		{ "dma", no_argument, NULL, 'd' },
		{ "assign", required_argument, NULL, 'a' },
		{ "bench", required_argument, NULL, 'b' },
		{ "reclaim-bench", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	struct pvm p = {
		.kvm = -1, .vm = -1, .vcpu = -1,
		.pages = GUEST_PAGES, .slot_pages = GUEST_SLOT_PAGES,
	};
	unsigned long bench = 0;
	char *end, extra;
	int c, ret, sid;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (strcmp(optarg, "no-guest"))
				return error("--sabotage takes no-guest, not '%s'", optarg);
			sabotage_no_guest = true;
			break;
		case 'd':
			vm_type |= KVM_VM_TYPE_ARM_PROTECTED_DMA;
			break;
		case 'a':
			if (nr_assigned == MAX_ASSIGN)
				return error("--assign at most %d times", MAX_ASSIGN);
			if (sscanf(optarg, "%31[^,],%u,%i%c", assigned[nr_assigned].bdf,
				   &assigned[nr_assigned].smmu, &sid, &extra) != 3 || sid < 0)
				return error("--assign takes BDF,SMMU,SID, not '%s'", optarg);
			assigned[nr_assigned++].sid = sid;
			break;
		case 'b':
			bench = strtoul(optarg, &end, 0);
			if (*end || !bench || bench > BENCH_MAX_PAGES)
				return error("--bench takes 1 to %d pages, not '%s'",
					     BENCH_MAX_PAGES, optarg);
			break;
		case 'r':
			reclaim_bench = strtol(optarg, &end, 0);
			if (*end || !*optarg || reclaim_bench < 0 || reclaim_bench > RECLAIM_MAX)
				return error("--reclaim-bench takes 0 to %d pages, not '%s'",
					     RECLAIM_MAX, optarg);
			break;
		case 'h':
			printf("%s\n", USAGE);
			return KSFT_PASS;
		default:
			fprintf(stderr, "%s\n", USAGE);
			return KSFT_FAIL;
		}
	}
	if (optind != argc)
		return error("unexpected argument '%s'", argv[optind]);
	if (nr_assigned && (!(vm_type & KVM_VM_TYPE_ARM_PROTECTED_DMA) || bench ||
			      sabotage_no_guest))
		return error("--assign needs --dma, and neither --bench nor --sabotage");
	if (reclaim_bench >= 0 && !nr_assigned)
		return error("--reclaim-bench needs --dma and --assign");
	if (reclaim_bench >= 0) {
		p.pages = RECLAIM_TOUCH;
		p.slot_pages = RECLAIM_TOUCH + 1;
	}
	if (nr_assigned) {
		ret = test_assign(&p);
		pvm_destroy(&p);
		if (ret)
			return ret;
		printf("# %d check(s), %d failed\n", nr_checks, nr_failed);
		return nr_failed ? KSFT_FAIL : KSFT_PASS;
	}

	if (bench) {
		p.pages = bench;
		p.slot_pages = bench + 1;
		ret = bench_pvm(&p);
		pvm_destroy(&p);
		return ret ?: (nr_failed ? KSFT_FAIL : KSFT_PASS);
	}
	ret = test_pvm(&p);
	pvm_destroy(&p);
	if (ret)
		return ret;
	printf("# %d check(s), %d failed%s\n", nr_checks, nr_failed,
	       sabotage_no_guest ? " (sabotaged on purpose: failures expected)" : "");
	return nr_failed ? KSFT_FAIL : KSFT_PASS;
}
