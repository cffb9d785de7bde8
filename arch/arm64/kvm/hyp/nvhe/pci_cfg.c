// SPDX-License-Identifier: GPL-2.0-only
/*
 * PCI configuration space mediated by the hypervisor.
 *
 * A stream id is a PCI requester id, and a requester id carries the bus
 * number that the bridges above the function give it. The host owns
 * configuration space, so without this file it could renumber a bridge to
 * make a device it drives take the requester id (the stream) of a device
 * assigned to a protected VM, and so reach the VM's memory; or move a BAR so
 * that a device it drives decodes the MMIO given to the VM; or simply keep
 * reprogramming the assigned device.
 *
 * So, while the host is still trusted (before pKVM finalises), it registers
 * each ECAM window and every function present in it, with the function's
 * streams and memory BARs. The hypervisor takes each window out of the host
 * stage-2 and emulates the host's accesses to it (pkvm_pci_host_abort(),
 * called on the host's stage-2 data abort), one load or store at a time:
 *
 *  - loads pass (one that aborts reads as all ones, nvhe/fixup_io.h);
 *  - a store to a function present at registration that would change its
 *    address routing from what it was then (its BARs, its expansion ROM
 *    address; a bridge's bus numbers, windows and ISA/VGA forwarding; past
 *    the header, what gates routing and requester ids: Phantom Functions,
 *    Link Disable, RRS visibility, the completion timeout, ARI forwarding,
 *    ACS) is dropped, so a reset function can be restored but nothing can
 *    be moved;
 *  - a store to a bridge that was not present (hot-added) may not change
 *    its bus numbers or windows either;
 *  - every store to a function that a protected VM holds is dropped, and to
 *    any unregistered function on its bus (an alias of it) and to the root
 *    port above it (hyp_pci_port_guards_locked()): the VM holds it
 *    from the first of its BAR pages that goes to the VM
 *    (pkvm_pci_claim_bar(), refused while its stream translates for the
 *    host) until the VM's teardown has taken every page back
 *    (pkvm_pci_release_vm()).
 *
 * A stream goes to a protected VM only if it is the only stream of one
 * function and every byte of that function's memory BARs is the VM's already
 * (pkvm_pci_stream_assignable()): the host can no longer reach the device's
 * registers, move them, renumber the bus or reprogram the function, so the
 * device that the VM's stage-2 translates for is the one only the VM
 * drives.
 *
 * Nor does the device keep what the host left in it, or give the host what
 * the VM left: the hypervisor resets the function itself once every byte
 * of its BARs is the VM's (pkvm_pci_bar_given()), before its stream may
 * go, and again at the VM's teardown, before the host gets its BARs back
 * (hyp_pci_reset_start_locked(): a Function Level Reset, or a secondary
 * bus reset of the root port above it). A reset takes HYP_PCI_RESET_MS;
 * meanwhile the function reads as absent and takes no store, and its
 * stream waits (-EAGAIN). The first access or stream call after that
 * restores its BARs (hyp_pci_reset_poll_locked(), which also checks that
 * the reset happened; a function whose reset fails at release is
 * quarantined). Only a function alone below a registered root port is ever
 * assigned (hyp_pci_assignable_locked()).
 * docs/pvm-device-assignment.md (section 6) has the argument and its
 * limits.
 *
 * Locking: hyp_pci_lock protects the function table and orders the
 * emulated stores against the claims: a store either completes before a
 * claim or is dropped. A host attach holds it around the STE it installs
 * (pkvm_pci_lock_host_stream()), and a claim checks the stream's STE under
 * it, so a function whose stream translates for the host never goes to a
 * VM. It nests inside vm_table_lock and outside domain->lock and the SMMUs'
 * locks (nvhe/iommu.c has the order). Windows are only added before pKVM
 * finalises and never change; readers take the count with acquire.
 */
#include <linux/bitfield.h>
#include <linux/pci_regs.h>

#include <asm/arch_timer.h>
#include <asm/esr.h>
#include <asm/kvm_hyp.h>
#include <asm/kvm_mmu.h>
#include <asm/kvm_pgtable.h>

#include <nvhe/fixup_io.h>
#include <nvhe/mem_protect.h>
#include <nvhe/mm.h>
#include <nvhe/pci_cfg.h>
#include <nvhe/spinlock.h>
#include <nvhe/trap_handler.h>

#define HYP_PCI_MAX_WINDOWS	8
#define HYP_PCI_MAX_WINDOW	SZ_256M
#define HYP_PCI_MAX_FNS		256
#define HYP_PCI_MAX_SIDS	4
/* The header: what says where a function decodes and which buses it routes. */
#define HYP_PCI_HDR_DWORDS	16
#define HYP_PCI_ECAM_FN_SIZE	SZ_4K
/* Fields past the header that gate routing, frozen as the header's are. */
#define HYP_PCI_MAX_XFROZEN	6
/* Capability walks at registration: a looping list stops here. */
#define HYP_PCI_MAX_CAPS	48
/* The MSI capability's layout: the only Message Control bits that shape it. */
#define HYP_PCI_MSI_LAYOUT	(PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT)
/*
 * A reset: the secondary bus reset pulse, the wait before the function may
 * answer, and how long it may take to answer (configuration retries).
 */
#define HYP_PCI_SBR_PULSE_MS	2
#define HYP_PCI_RESET_MS	100
#define HYP_PCI_RESET_MAX_MS	1000
/* Functions one VM may hold: the teardown resets each, with a pulse of its own. */
#define HYP_PCI_MAX_VM_FNS	8

struct hyp_pci_window {
	u64		phys;
	u64		size;
	void __iomem	*base;
	/*
	 * A bridge other than a root port with a BAR: a switch may expose its
	 * ports' registers (bus numbers, windows, ACS) outside configuration
	 * space there, so no function of the window goes to a VM.
	 * hyp_pci_lock.
	 */
	bool		unassignable;
};

/* hyp_pci_nr_windows: store-release when one is added, never removed. */
static struct hyp_pci_window hyp_pci_windows[HYP_PCI_MAX_WINDOWS];
static unsigned int hyp_pci_nr_windows;

struct hyp_pci_fn {
	u64		cfg_phys;
	void __iomem	*cfg;
	/* The header at registration, and which of its bits may not change. */
	u32		hdr[HYP_PCI_HDR_DWORDS];
	u32		frozen[HYP_PCI_HDR_DWORDS];
	struct {
		u16	off;		/* a dword past the header */
		u32	val;		/* at registration */
		u32	frozen;
	} xfrozen[HYP_PCI_MAX_XFROZEN];
	u8		nr_xfrozen;
	/* A BAR or a stream the hypervisor cannot give: never assigned. */
	bool		unassignable;
	/* PCI_EXP_FLAGS_TYPE, or U8_MAX without a PCI Express capability. */
	u8		pcie_type;
	/*
	 * Where that capability is, whether it offers a Function Level Reset,
	 * and its Device Control at registration (payload sizes), restored
	 * after a reset.
	 */
	u16		exp_pos;
	bool		flr;
	u16		devctl;
	u8		nr_bars;
	u8		nr_sids;
	struct {
		u64	phys;
		u64	size;
	} bars[PCI_STD_NUM_BARS];
	u64		bar_bytes;
	struct {
		u16	smmu_idx;
		u32	sid;
	} sids[HYP_PCI_MAX_SIDS];
	/*
	 * The protected VM that holds the function (0: none), the bytes of
	 * its BARs it was given, and claims whose donation is in flight.
	 */
	u64		vm_handle;
	u64		given;
	u32		claims;
	/*
	 * A reset the hypervisor started (reset_end: 0 if none): until the
	 * counter passes reset_end the function reads as absent and takes no
	 * store; by reset_limit it must have answered with its BARs cleared,
	 * and taken them back (reset_seen: the clearing was checked).
	 */
	u64		reset_end;
	u64		reset_limit;
	bool		reset_seen;
	/*
	 * The MSI capability (0: none, or one the hypervisor does not trust),
	 * its size and its layout bits at registration. While a VM holds the
	 * function: whether its stream is the VM's and reaches the MSI
	 * doorbells (msi_stream), the address the host last wrote (msi_addr),
	 * and the doorbell's address the hypervisor wrote into the device
	 * (msi_dev, 0: none yet; hyp_pci_msi_store_locked()).
	 */
	u8		msi_pos;
	u8		msi_size;
	u16		msi_flags;
	bool		msi_stream;
	u64		msi_addr;
	u64		msi_dev;
};

/*
 * The vm_handle of a function whose reset failed at release: what the VM
 * left in it may still be there, so the host may not reprogram it (it
 * cannot turn decoding or bus mastering back on), claim it or attach its
 * stream, for good.
 */
#define HYP_PCI_QUARANTINE	U64_MAX

static DEFINE_HYP_SPINLOCK(hyp_pci_lock);
/* hyp_pci_lock */
static struct hyp_pci_fn hyp_pci_fns[HYP_PCI_MAX_FNS];
static unsigned int hyp_pci_nr_fns;

/* What a bridge that was not registered may not change (type 1 header). */
static const u32 hyp_pci_bridge_frozen[HYP_PCI_HDR_DWORDS] = {
	[PCI_BASE_ADDRESS_0 / 4]	= ~0U,
	[PCI_BASE_ADDRESS_1 / 4]	= ~0U,
	/* Primary, secondary and subordinate bus numbers, not the latency timer. */
	[PCI_PRIMARY_BUS / 4]		= 0x00ffffff,
	/* I/O base and limit, not the secondary status (write-1-to-clear). */
	[PCI_IO_BASE / 4]		= 0x0000ffff,
	[PCI_MEMORY_BASE / 4]		= ~0U,
	[PCI_PREF_MEMORY_BASE / 4]	= ~0U,
	[PCI_PREF_BASE_UPPER32 / 4]	= ~0U,
	[PCI_PREF_LIMIT_UPPER32 / 4]	= ~0U,
	[PCI_IO_BASE_UPPER16 / 4]	= ~0U,
	[PCI_ROM_ADDRESS1 / 4]		= PCI_ROM_ADDRESS_MASK,
	/* Bridge control: ISA and VGA forwarding open windows of their own. */
	[PCI_BRIDGE_CONTROL / 4]	= (PCI_BRIDGE_CTL_ISA | PCI_BRIDGE_CTL_VGA) << 16,
};

/*
 * Configuration loads. One that aborts (a function that does not complete
 * it) reads as all ones, as from a function that is not there, instead of
 * panicking the hypervisor (nvhe/fixup_io.h).
 */
static u32 hyp_pci_read(const void __iomem *addr, unsigned int size)
{
	u32 val;

	hyp_read_fixup(addr, size, &val);
	return val;
}

#define hyp_pci_readb(addr)	((u8)hyp_pci_read(addr, 1))
#define hyp_pci_readw(addr)	((u16)hyp_pci_read(addr, 2))
#define hyp_pci_readl(addr)	hyp_pci_read(addr, 4)

static struct hyp_pci_window *hyp_pci_find_window(u64 phys)
{
	/* Pairs with smp_store_release() in __pkvm_pci_register_window(). */
	unsigned int i, nr = smp_load_acquire(&hyp_pci_nr_windows);

	for (i = 0; i < nr; i++) {
		if (phys >= hyp_pci_windows[i].phys &&
		    phys - hyp_pci_windows[i].phys < hyp_pci_windows[i].size)
			return &hyp_pci_windows[i];
	}
	return NULL;
}

static struct hyp_pci_fn *hyp_pci_find_fn_locked(u64 cfg_phys)
{
	unsigned int i;

	hyp_assert_lock_held(&hyp_pci_lock);
	for (i = 0; i < hyp_pci_nr_fns; i++) {
		if (hyp_pci_fns[i].cfg_phys == cfg_phys)
			return &hyp_pci_fns[i];
	}
	return NULL;
}

static struct hyp_pci_fn *hyp_pci_find_stream_locked(u64 smmu_idx, u64 sid)
{
	struct hyp_pci_fn *fn;
	unsigned int i, j;

	hyp_assert_lock_held(&hyp_pci_lock);
	for (i = 0; i < hyp_pci_nr_fns; i++) {
		fn = &hyp_pci_fns[i];
		for (j = 0; j < fn->nr_sids; j++) {
			if (fn->sids[j].smmu_idx == smmu_idx && fn->sids[j].sid == sid)
				return fn;
		}
	}
	return NULL;
}

/*
 * The function one of whose BARs holds all of [phys, phys + size) (@whole),
 * or only overlaps it.
 */
static struct hyp_pci_fn *hyp_pci_find_bar_locked(u64 phys, u64 size, bool whole)
{
	struct hyp_pci_fn *fn;
	unsigned int i, j;
	u64 start, end;

	hyp_assert_lock_held(&hyp_pci_lock);
	for (i = 0; i < hyp_pci_nr_fns; i++) {
		fn = &hyp_pci_fns[i];
		for (j = 0; j < fn->nr_bars; j++) {
			start = fn->bars[j].phys;
			end = start + fn->bars[j].size;
			if (whole ? phys >= start && phys < end && size <= end - phys :
				    start < phys + size && phys < end)
				return fn;
		}
	}
	return NULL;
}

/*
 * Does a protected VM hold a function on the bus of @cfg_phys? Then an
 * unregistered function there may be an alias of it: a device that is not
 * multi-function answering at every function number, or ARI forwarding
 * making function numbers of device 0 answer at other device numbers.
 */
static bool hyp_pci_bus_held_locked(u64 cfg_phys)
{
	unsigned int i;

	hyp_assert_lock_held(&hyp_pci_lock);
	for (i = 0; i < hyp_pci_nr_fns; i++) {
		if ((hyp_pci_fns[i].vm_handle || hyp_pci_fns[i].reset_end) &&
		    hyp_pci_fns[i].cfg_phys >> 20 == cfg_phys >> 20)
			return true;
	}
	return false;
}

static u8 hyp_pci_hdr_type(const struct hyp_pci_fn *fn)
{
	return FIELD_GET(PCI_HEADER_TYPE_MASK, fn->hdr[PCI_CACHE_LINE_SIZE / 4] >> 16);
}

/* The bus of @fn, counted from the first bus of its window. */
static u32 hyp_pci_rel_bus(const struct hyp_pci_fn *fn, const struct hyp_pci_window *win)
{
	return (fn->cfg_phys - win->phys) >> 20;
}

/*
 * The registered root port @fn sits right below, if nothing else registered
 * is below that port; otherwise NULL. Bus numbers are the ones frozen at
 * registration; a bridge's primary bus number (its own) says which bus
 * number its window's first bus has.
 */
static struct hyp_pci_fn *hyp_pci_sole_bridge_locked(const struct hyp_pci_fn *fn)
{
	const struct hyp_pci_window *win = hyp_pci_find_window(fn->cfg_phys);
	struct hyp_pci_fn *br = NULL, *f;
	u32 rel = hyp_pci_rel_bus(fn, win), pri, sec, sub;
	s64 base = 0;
	unsigned int i;

	hyp_assert_lock_held(&hyp_pci_lock);
	for (i = 0; i < hyp_pci_nr_fns && !br; i++) {
		f = &hyp_pci_fns[i];
		if (hyp_pci_hdr_type(f) != PCI_HEADER_TYPE_BRIDGE ||
		    hyp_pci_find_window(f->cfg_phys) != win)
			continue;
		/*
		 * Only a root port: a switch port would route peer-to-peer
		 * requests between its siblings and the VM's device without
		 * the SMMU, unless ACS on every port up to the root said
		 * otherwise, which the hypervisor does not check.
		 */
		if (f->pcie_type != PCI_EXP_TYPE_ROOT_PORT)
			continue;
		pri = f->hdr[PCI_PRIMARY_BUS / 4] & 0xff;
		sec = (f->hdr[PCI_PRIMARY_BUS / 4] >> 8) & 0xff;
		base = (s64)hyp_pci_rel_bus(f, win) - pri;
		if ((s64)sec + base == rel)
			br = f;
	}
	if (!br)
		return NULL;
	sub = (br->hdr[PCI_PRIMARY_BUS / 4] >> 16) & 0xff;
	if (sub < rel - base)
		return NULL;
	/* Everything below the bridge is reset: nothing registered but @fn may be there. */
	for (i = 0; i < hyp_pci_nr_fns; i++) {
		f = &hyp_pci_fns[i];
		if (f != fn && hyp_pci_find_window(f->cfg_phys) == win &&
		    hyp_pci_rel_bus(f, win) >= rel && hyp_pci_rel_bus(f, win) <= sub + base)
			return NULL;
	}
	return br;
}

/*
 * A function goes to a VM only if everything that decodes for it or gives
 * it a requester id is frozen, and it has one stream: several (aliases,
 * phantom functions) could be attached to the VM one by one, and the device
 * would reach a domain of the host's on the others meanwhile. Only an
 * endpoint alone below a registered root port: the port's windows are
 * frozen, so no device the host drives can decode the VM's MMIO (a
 * hot-added one, or a sibling that grows its BARs: Resizable BAR, SR-IOV),
 * no switch routes a sibling's request to it past the SMMU, and a
 * secondary bus reset of the port resets this function only. The hypervisor resets it at assignment
 * and release (FLR, or that bus reset): what the host left in it must not
 * reach the VM, what the VM leaves must not reach the host.
 */
static bool hyp_pci_assignable_locked(const struct hyp_pci_fn *fn)
{
	const struct hyp_pci_window *win = hyp_pci_find_window(fn->cfg_phys);

	hyp_assert_lock_held(&hyp_pci_lock);
	return !fn->unassignable && fn->nr_sids == 1 && win && !win->unassignable &&
	       hyp_pci_hdr_type(fn) == PCI_HEADER_TYPE_NORMAL &&
	       hyp_pci_sole_bridge_locked(fn);
}

static u64 hyp_pci_counter_ms(unsigned int ms)
{
	return read_sysreg(cntfrq_el0) / 1000 * ms;
}

/*
 * Reset @fn: a Function Level Reset if it has one, otherwise a secondary
 * bus reset of the bridge above it, when nothing else registered is below
 * that bridge (which hyp_pci_assignable_locked() requires anyway). The
 * function stops first: decoding and bus mastering off, read back, so no
 * DMA or MSI and no access to its BARs reach it from here on. Whatever the
 * host (or a VM) programmed is gone when the reset is: an FLR acts on the
 * store (read back, so that it reached the function), the bus reset pulse
 * is held for HYP_PCI_SBR_PULSE_MS here (the only wait at EL2, under
 * hyp_pci_lock so no host store to the bridge can cut it short).
 * hyp_pci_reset_poll_locked() checks that it happened.
 *
 * Return: 0, or -EPERM if the hypervisor cannot reset @fn, -EIO if
 * configuration space did not answer.
 */
static int hyp_pci_reset_start_locked(struct hyp_pci_fn *fn)
{
	struct hyp_pci_fn *br;
	void __iomem *reg;
	u64 now, end;
	u32 val;
	u16 ctl;

	hyp_assert_lock_held(&hyp_pci_lock);
	writew(0, fn->cfg + PCI_COMMAND);
	if (hyp_read_fixup(fn->cfg + PCI_COMMAND, 2, &val) ||
	    (val & (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)))
		return -EIO;
	if (fn->flr) {
		reg = fn->cfg + fn->exp_pos + PCI_EXP_DEVCTL;
		if (hyp_read_fixup(reg, 2, &val) || val == 0xffff)
			return -EIO;
		writew(val | PCI_EXP_DEVCTL_BCR_FLR, reg);
		(void)hyp_pci_readw(reg);
	} else {
		br = hyp_pci_sole_bridge_locked(fn);
		if (!br)
			return -EPERM;
		reg = br->cfg + PCI_BRIDGE_CONTROL;
		if (hyp_read_fixup(reg, 2, &val) || val == 0xffff)
			return -EIO;
		ctl = val & ~PCI_BRIDGE_CTL_BUS_RESET;
		writew(ctl | PCI_BRIDGE_CTL_BUS_RESET, reg);
		(void)hyp_pci_readw(reg);
		end = __arch_counter_get_cntpct() + hyp_pci_counter_ms(HYP_PCI_SBR_PULSE_MS);
		while (__arch_counter_get_cntpct() < end)
			cpu_relax();
		writew(ctl, reg);
		(void)hyp_pci_readw(reg);
	}
	now = __arch_counter_get_cntpct();
	fn->reset_end = now + hyp_pci_counter_ms(HYP_PCI_RESET_MS);
	fn->reset_limit = now + hyp_pci_counter_ms(HYP_PCI_RESET_MAX_MS);
	fn->reset_seen = false;
	return 0;
}

/*
 * BAR dword @i of @fn: 1 if it reads back with the address it had at
 * registration, 0 if not, -EIO if the function did not answer (the load
 * aborted or read all ones).
 */
static int hyp_pci_bar_as_registered(struct hyp_pci_fn *fn, unsigned int i)
{
	u32 val;

	if (hyp_read_fixup(fn->cfg + 4 * i, 4, &val) || val == ~0U)
		return -EIO;
	return !((val ^ fn->hdr[i]) & fn->frozen[i]);
}

/*
 * Where is the reset of @fn? Once its time is up, check that it happened (a
 * BAR that had an address lost it), then put its BARs back where they were
 * at registration, and its Device Control (payload sizes), and turn memory
 * decoding on; for a VM that holds it, bus mastering too, INTx off (the VM
 * has no INTx). MSIs stay off. Each is read back: a function that answers
 * configuration requests with retries for a while drops them.
 *
 * Return: 0 once it is over (or none ran), -EAGAIN while it runs, -EIO if
 * the function was not reset, or did not take its BARs back within
 * HYP_PCI_RESET_MAX_MS: it never goes to a VM again, and one no VM holds
 * is quarantined (HYP_PCI_QUARANTINE).
 */
static int hyp_pci_reset_poll_locked(struct hyp_pci_fn *fn)
{
	u16 cmd = PCI_COMMAND_MEMORY, vendor;
	bool had_address = false;
	unsigned int i;
	int ret;
	u64 now;

	hyp_assert_lock_held(&hyp_pci_lock);
	if (!fn->reset_end)
		return 0;
	now = __arch_counter_get_cntpct();
	if (now < fn->reset_end)
		return -EAGAIN;
	/* Not there yet, or still completing with Request Retry Status (visible). */
	vendor = hyp_pci_readw(fn->cfg + PCI_VENDOR_ID);
	if (vendor == 0xffff || vendor == 0x0001)
		goto retry;
	if (!fn->reset_seen) {
		for (i = PCI_BASE_ADDRESS_0 / 4; i <= PCI_BASE_ADDRESS_5 / 4; i++) {
			if (!(fn->hdr[i] & fn->frozen[i]))
				continue;
			had_address = true;
			ret = hyp_pci_bar_as_registered(fn, i);
			if (ret < 0)
				goto retry;
			if (ret)
				goto failed;
		}
		if (!had_address)
			goto failed;
		fn->reset_seen = true;
	}
	if (fn->vm_handle)
		cmd |= PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE;
	for (i = PCI_BASE_ADDRESS_0 / 4; i <= PCI_BASE_ADDRESS_5 / 4; i++)
		writel(fn->hdr[i], fn->cfg + 4 * i);
	if (fn->exp_pos)
		writew(fn->devctl, fn->cfg + fn->exp_pos + PCI_EXP_DEVCTL);
	writew(cmd, fn->cfg + PCI_COMMAND);
	for (i = PCI_BASE_ADDRESS_0 / 4; i <= PCI_BASE_ADDRESS_5 / 4; i++) {
		if (hyp_pci_bar_as_registered(fn, i) != 1)
			goto retry;
	}
	if (hyp_pci_readw(fn->cfg + PCI_COMMAND) != cmd)
		goto retry;
	fn->reset_end = 0;
	return 0;
retry:
	if (now < fn->reset_limit)
		return -EAGAIN;
failed:
	fn->reset_end = 0;
	fn->unassignable = true;
	if (!fn->vm_handle)
		fn->vm_handle = HYP_PCI_QUARANTINE;
	return -EIO;
}

/**
 * __pkvm_pci_register_window() - Take an ECAM window from the host.
 * @phys:	Its base: the configuration space of its first bus.
 * @size:	1 MiB per bus, at most 256 MiB.
 *
 * Only callable before pKVM finalises (the id sits below
 * __KVM_HOST_SMCCC_FUNC_MIN_PKVM). From then on every host access to the
 * window traps and is emulated (pkvm_pci_host_abort()).
 *
 * Return: 0, or -ENODEV, -EINVAL (unaligned, too large), -EPERM (memory),
 * -EEXIST (overlaps a window), -ENOSPC, -ENOMEM.
 */
int __pkvm_pci_register_window(u64 phys, u64 size)
{
	struct hyp_pci_window *win;
	unsigned long va;
	unsigned int nr;
	int ret;

	if (!is_protected_kvm_enabled())
		return -ENODEV;
	if (!size || size > HYP_PCI_MAX_WINDOW || !IS_ALIGNED(phys, SZ_1M) ||
	    !IS_ALIGNED(size, SZ_1M) || phys + size > BIT_ULL(48))
		return -EINVAL;
	if (addr_is_memory(phys))
		return -EPERM;

	hyp_spin_lock(&hyp_pci_lock);
	nr = hyp_pci_nr_windows;
	ret = -ENOSPC;
	if (nr == HYP_PCI_MAX_WINDOWS)
		goto unlock;
	ret = -EEXIST;
	if (hyp_pci_find_window(phys) || hyp_pci_find_window(phys + size - 1))
		goto unlock;
	/*
	 * Map before the donation: should the donation fail, the window stays
	 * the host's and the mapping is only unused VA; the other way round,
	 * a window the host lost and nobody emulates would abort every access.
	 */
	ret = __pkvm_create_private_mapping(phys, size, PAGE_HYP_DEVICE, &va);
	if (ret)
		goto unlock;
	ret = __pkvm_host_donate_hyp_mmio(hyp_phys_to_pfn(phys), size >> PAGE_SHIFT);
	if (ret)
		goto unlock;

	win = &hyp_pci_windows[nr];
	win->phys = phys;
	win->size = size;
	win->base = (void __iomem *)va;
	/* Pairs with smp_load_acquire() in hyp_pci_find_window(). */
	smp_store_release(&hyp_pci_nr_windows, nr + 1);
unlock:
	hyp_spin_unlock(&hyp_pci_lock);
	return ret;
}

/* Freeze what says where the function decodes and, for a bridge, what it routes. */
static void hyp_pci_fn_freeze(struct hyp_pci_fn *fn)
{
	u8 type = hyp_pci_hdr_type(fn);
	unsigned int i, nr_bars;
	u32 bar;

	switch (type) {
	case PCI_HEADER_TYPE_NORMAL:
		nr_bars = PCI_STD_NUM_BARS;
		fn->frozen[PCI_ROM_ADDRESS / 4] = PCI_ROM_ADDRESS_MASK;
		break;
	case PCI_HEADER_TYPE_BRIDGE:
		nr_bars = 2;
		memcpy(fn->frozen, hyp_pci_bridge_frozen, sizeof(fn->frozen));
		break;
	default:
		/* CardBus or unknown: nothing past the first four dwords moves. */
		for (i = PCI_BASE_ADDRESS_0 / 4; i < HYP_PCI_HDR_DWORDS; i++)
			fn->frozen[i] = ~0U;
		return;
	}

	/* Only the address bits of a BAR, the others are read-only. */
	for (i = 0; i < nr_bars; i++) {
		bar = fn->hdr[PCI_BASE_ADDRESS_0 / 4 + i];
		if (bar & PCI_BASE_ADDRESS_SPACE_IO) {
			fn->frozen[PCI_BASE_ADDRESS_0 / 4 + i] = (u32)PCI_BASE_ADDRESS_IO_MASK;
			continue;
		}
		fn->frozen[PCI_BASE_ADDRESS_0 / 4 + i] = (u32)PCI_BASE_ADDRESS_MEM_MASK;
		if ((bar & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64 &&
		    i + 1 < nr_bars)
			fn->frozen[PCI_BASE_ADDRESS_0 / 4 + ++i] = ~0U;
	}
}

/* Keep @mask of the 16-bit register at @off (past the header) as it is now. */
static void hyp_pci_xfreeze(struct hyp_pci_fn *fn, u32 off, u16 mask)
{
	u32 dw = off & ~3U;

	if (fn->nr_xfrozen == HYP_PCI_MAX_XFROZEN) {
		fn->unassignable = true;
		return;
	}
	fn->xfrozen[fn->nr_xfrozen].off = dw;
	fn->xfrozen[fn->nr_xfrozen].val = hyp_pci_readl(fn->cfg + dw);
	fn->xfrozen[fn->nr_xfrozen].frozen = (u32)mask << ((off & 3) * BITS_PER_BYTE);
	fn->nr_xfrozen++;
}

/*
 * What gates routing outside the header: phantom functions (requester ids
 * that are not the function's), Link Disable and, on a root port, config
 * RRS software visibility and the completion timeout (a load the
 * hypervisor emulates could stall or abort at EL2), ARI forwarding (which
 * makes one device answer at another's numbers), and ACS (which keeps
 * peer-to-peer requests going through the SMMU). Bounded walks of lists
 * read while the host is trusted.
 */
static void hyp_pci_fn_freeze_caps(struct hyp_pci_fn *fn)
{
	u32 pos, hdr, exp = 0, msi = 0;
	u8 caps[HYP_PCI_MAX_CAPS], id;
	unsigned int i, nr;
	u16 flags;

	if (!(fn->hdr[PCI_COMMAND / 4] & (PCI_STATUS_CAP_LIST << 16)))
		return;
	pos = hyp_pci_readb(fn->cfg + PCI_CAPABILITY_LIST) & ~3U;
	for (nr = 0; nr < HYP_PCI_MAX_CAPS && pos >= PCI_STD_HEADER_SIZEOF; nr++) {
		caps[nr] = pos;
		id = hyp_pci_readb(fn->cfg + pos + PCI_CAP_LIST_ID);
		if (id == PCI_CAP_ID_MSI && !msi)
			msi = pos;
		if (id == PCI_CAP_ID_EXP && !exp)
			exp = pos;
		pos = hyp_pci_readb(fn->cfg + pos + PCI_CAP_LIST_NEXT) & ~3U;
	}
	/* No PCI Express capability in a list that does not end: fail closed. */
	if ((nr == HYP_PCI_MAX_CAPS && !exp) ||
	    (exp && exp > PCI_CFG_SPACE_SIZE - PCI_CAP_EXP_ENDPOINT_SIZEOF_V2)) {
		fn->unassignable = true;
		return;
	}
	/*
	 * MSIs only with a capability the hypervisor can be sure of: in a
	 * list that ends, within the header, overlapping no other capability.
	 */
	if (msi && nr < HYP_PCI_MAX_CAPS) {
		flags = hyp_pci_readw(fn->cfg + msi + PCI_MSI_FLAGS);
		fn->msi_size = PCI_MSI_DATA_32 + 2;
		if (flags & PCI_MSI_FLAGS_64BIT)
			fn->msi_size += 4;
		if (flags & PCI_MSI_FLAGS_MASKBIT)
			fn->msi_size += 10;
		fn->msi_flags = flags & HYP_PCI_MSI_LAYOUT;
		fn->msi_pos = msi;
		if (flags == 0xffff || msi + fn->msi_size > PCI_CFG_SPACE_SIZE)
			fn->msi_pos = 0;
		for (i = 0; i < nr; i++) {
			if (caps[i] > msi && caps[i] < msi + fn->msi_size)
				fn->msi_pos = 0;
		}
	}
	pos = exp;
	if (!pos)
		return;

	flags = hyp_pci_readw(fn->cfg + pos + PCI_EXP_FLAGS);
	fn->pcie_type = FIELD_GET(PCI_EXP_FLAGS_TYPE, flags);
	fn->exp_pos = pos;
	fn->devctl = hyp_pci_readw(fn->cfg + pos + PCI_EXP_DEVCTL) & ~PCI_EXP_DEVCTL_BCR_FLR;
	fn->flr = hyp_pci_readl(fn->cfg + pos + PCI_EXP_DEVCAP) & PCI_EXP_DEVCAP_FLR;
	hyp_pci_xfreeze(fn, pos + PCI_EXP_DEVCTL, PCI_EXP_DEVCTL_PHANTOM);
	hyp_pci_xfreeze(fn, pos + PCI_EXP_LNKCTL, PCI_EXP_LNKCTL_LD);
	if (FIELD_GET(PCI_EXP_FLAGS_TYPE, flags) == PCI_EXP_TYPE_ROOT_PORT)
		hyp_pci_xfreeze(fn, pos + PCI_EXP_RTCTL, PCI_EXP_RTCTL_RRS_SVE);
	if ((flags & PCI_EXP_FLAGS_VERS) >= 2)
		hyp_pci_xfreeze(fn, pos + PCI_EXP_DEVCTL2,
				PCI_EXP_DEVCTL2_COMP_TIMEOUT | PCI_EXP_DEVCTL2_COMP_TMOUT_DIS |
				PCI_EXP_DEVCTL2_ARI);

	pos = PCI_CFG_SPACE_SIZE;
	for (i = 0; i < HYP_PCI_MAX_CAPS; i++) {
		hdr = hyp_pci_readl(fn->cfg + pos);
		if (!hdr || hdr == ~0U)
			return;
		if (PCI_EXT_CAP_ID(hdr) == PCI_EXT_CAP_ID_ACS) {
			/* Its control register must lie in this function's 4 KiB. */
			if (pos + PCI_ACS_CTRL + 2 > HYP_PCI_ECAM_FN_SIZE)
				fn->unassignable = true;
			else
				hyp_pci_xfreeze(fn, pos + PCI_ACS_CTRL, 0xffff);
			return;
		}
		pos = PCI_EXT_CAP_NEXT(hdr);
		if (pos < PCI_CFG_SPACE_SIZE)
			return;
	}
	fn->unassignable = true;
}

/**
 * __pkvm_pci_register_fn() - Name a function present in a window, and a stream of it.
 * @cfg_phys:	Its configuration space (4 KiB) in a registered ECAM window.
 * @smmu_idx:	The hypervisor's SMMU its stream goes through, or
 *		PKVM_PCI_NO_STREAM.
 * @sid:	That stream.
 *
 * Before pKVM finalises only. The first call for a function records its
 * header: from then on its address routing cannot change. A function with
 * several streams is registered once per stream; a stream registered for
 * two functions makes both unassignable.
 *
 * Return: 0, or -ENODEV (nothing there), -EINVAL, -ENOSPC.
 */
int __pkvm_pci_register_fn(u64 cfg_phys, u64 smmu_idx, u64 sid)
{
	struct hyp_pci_window *win = hyp_pci_find_window(cfg_phys);
	struct hyp_pci_fn *fn, *other;
	void __iomem *cfg;
	unsigned int i;
	int ret = 0;

	if (!win || !IS_ALIGNED(cfg_phys, HYP_PCI_ECAM_FN_SIZE))
		return -EINVAL;
	if (smmu_idx != PKVM_PCI_NO_STREAM && (smmu_idx > U16_MAX || sid > U32_MAX))
		return -EINVAL;
	cfg = win->base + (cfg_phys - win->phys);

	hyp_spin_lock(&hyp_pci_lock);
	fn = hyp_pci_find_fn_locked(cfg_phys);
	if (!fn) {
		ret = -ENODEV;
		if (hyp_pci_readw(cfg + PCI_VENDOR_ID) == 0xffff)
			goto unlock;
		ret = -ENOSPC;
		if (hyp_pci_nr_fns == HYP_PCI_MAX_FNS)
			goto unlock;
		fn = &hyp_pci_fns[hyp_pci_nr_fns++];
		fn->cfg_phys = cfg_phys;
		fn->cfg = cfg;
		for (i = 0; i < HYP_PCI_HDR_DWORDS; i++)
			fn->hdr[i] = hyp_pci_readl(cfg + 4 * i);
		fn->pcie_type = U8_MAX;
		hyp_pci_fn_freeze(fn);
		hyp_pci_fn_freeze_caps(fn);
		ret = 0;
	}
	if (smmu_idx == PKVM_PCI_NO_STREAM)
		goto unlock;

	other = hyp_pci_find_stream_locked(smmu_idx, sid);
	if (other == fn)
		goto unlock;
	if (other) {
		/* Two functions on one stream: neither is only the VM's. */
		other->unassignable = true;
		fn->unassignable = true;
	} else if (fn->nr_sids == HYP_PCI_MAX_SIDS) {
		fn->unassignable = true;
		ret = -ENOSPC;
	} else {
		fn->sids[fn->nr_sids].smmu_idx = smmu_idx;
		fn->sids[fn->nr_sids].sid = sid;
		fn->nr_sids++;
	}
unlock:
	hyp_spin_unlock(&hyp_pci_lock);
	return ret;
}

/**
 * __pkvm_pci_register_bar() - Name a memory BAR of a registered function.
 * @cfg_phys:	The function's configuration space.
 * @phys:	Where the BAR decodes, as the CPUs see it.
 * @size:	Its size; 0 for a BAR the host cannot describe (I/O space).
 *
 * Before pKVM finalises only. A BAR that is not whole pages of MMIO, or
 * that overlaps another, makes the function unassignable: part of its
 * registers would stay the host's, or another function's would go too.
 *
 * Return: 0, or -ENOENT (no such function), -EINVAL (the BAR cannot go to a
 * VM), -ENOSPC.
 */
int __pkvm_pci_register_bar(u64 cfg_phys, u64 phys, u64 size)
{
	struct hyp_pci_fn *fn, *other = NULL;
	struct hyp_pci_window *win;
	int ret = -ENOENT;

	hyp_spin_lock(&hyp_pci_lock);
	fn = hyp_pci_find_fn_locked(cfg_phys);
	if (!fn)
		goto unlock;
	/*
	 * A switch may expose its ports' registers in a BAR; a root port's is
	 * the root complex's own (its MSI-X table on QEMU's).
	 */
	win = hyp_pci_find_window(cfg_phys);
	if (hyp_pci_hdr_type(fn) != PCI_HEADER_TYPE_NORMAL &&
	    fn->pcie_type != PCI_EXP_TYPE_ROOT_PORT && win)
		win->unassignable = true;
	ret = -EINVAL;
	if (size && phys + size > phys)
		other = hyp_pci_find_bar_locked(phys, size, false);
	if (other)
		other->unassignable = true;
	if (!size || !PAGE_ALIGNED(phys) || !PAGE_ALIGNED(size) ||
	    phys + size < phys || phys + size > BIT_ULL(48) ||
	    addr_is_memory(phys) || addr_is_memory(phys + size - 1) ||
	    hyp_pci_find_window(phys) || other)
		goto unassignable;
	ret = -ENOSPC;
	if (fn->nr_bars == PCI_STD_NUM_BARS)
		goto unassignable;
	fn->bars[fn->nr_bars].phys = phys;
	fn->bars[fn->nr_bars].size = size;
	fn->nr_bars++;
	fn->bar_bytes += size;
	ret = 0;
	goto unlock;
unassignable:
	fn->unassignable = true;
unlock:
	hyp_spin_unlock(&hyp_pci_lock);
	return ret;
}

/* Would storing @val (@size bytes at @off) change a @frozen bit of @old? */
static bool hyp_pci_moves(u32 old, u32 frozen, u32 off, u32 size, u32 val)
{
	u32 shift = (off & 3) * BITS_PER_BYTE;
	u32 mask = (size == 4 ? ~0U : BIT(size * BITS_PER_BYTE) - 1) << shift;

	return ((val << shift) ^ old) & mask & frozen;
}

/*
 * Is @port the root port above a function a VM holds, that is being reset
 * or that is quarantined? Then the host may not store to it at all: its
 * power state, a bus reset, its slot or link control would take the
 * function away from the VM, or from the hypervisor's configuration
 * requests (a reset that cannot start, a check that cannot run).
 */
static bool hyp_pci_port_guards_locked(const struct hyp_pci_fn *port)
{
	const struct hyp_pci_fn *f;
	unsigned int i;

	hyp_assert_lock_held(&hyp_pci_lock);
	if (port->pcie_type != PCI_EXP_TYPE_ROOT_PORT)
		return false;
	for (i = 0; i < hyp_pci_nr_fns; i++) {
		f = &hyp_pci_fns[i];
		if ((f->vm_handle || f->reset_end) && hyp_pci_sole_bridge_locked(f) == port)
			return true;
	}
	return false;
}

/* May the host store @val (@size bytes) at @off of the function at @cfg_phys? */
static bool hyp_pci_store_allowed_locked(u64 cfg_phys, void __iomem *cfg, u32 off,
					 u32 size, u32 val)
{
	struct hyp_pci_fn *fn = hyp_pci_find_fn_locked(cfg_phys);
	unsigned int dw = off / 4, i;
	u32 frozen;
	u8 type;

	if (fn && (fn->vm_handle || hyp_pci_port_guards_locked(fn)))
		return false;
	if (fn && dw < HYP_PCI_HDR_DWORDS)
		return !hyp_pci_moves(fn->hdr[dw], fn->frozen[dw], off, size, val);
	if (fn) {
		for (i = 0; i < fn->nr_xfrozen; i++) {
			if (fn->xfrozen[i].off == dw * 4 &&
			    hyp_pci_moves(fn->xfrozen[i].val, fn->xfrozen[i].frozen, off, size,
					  val))
				return false;
		}
		return true;
	}

	/* Not there at registration: an alias of a held function, or hot-added. */
	if (hyp_pci_bus_held_locked(cfg_phys))
		return false;
	if (dw >= HYP_PCI_HDR_DWORDS)
		return true;
	/* A hot-added endpoint is the host's to place, a bridge is not. */
	type = hyp_pci_readb(cfg + PCI_HEADER_TYPE) & PCI_HEADER_TYPE_MASK;
	if (type == PCI_HEADER_TYPE_NORMAL)
		return true;
	frozen = type == PCI_HEADER_TYPE_BRIDGE ? hyp_pci_bridge_frozen[dw] :
		 (dw >= PCI_BASE_ADDRESS_0 / 4 ? ~0U : 0);
	return !hyp_pci_moves(hyp_pci_readl(cfg + 4 * dw), frozen, off, size, val);
}

/* Is the device's MSI capability still laid out as at registration? */
static bool hyp_pci_msi_layout_locked(struct hyp_pci_fn *fn)
{
	u16 flags = hyp_pci_readw(fn->cfg + fn->msi_pos + PCI_MSI_FLAGS);

	return flags != 0xffff && (flags & HYP_PCI_MSI_LAYOUT) == fn->msi_flags;
}

/* Does the device hold the doorbell's address the hypervisor wrote? */
static bool hyp_pci_msi_on_doorbell_locked(struct hyp_pci_fn *fn)
{
	void __iomem *cap = fn->cfg + fn->msi_pos;

	return fn->msi_dev && hyp_pci_msi_layout_locked(fn) &&
	       hyp_pci_readl(cap + PCI_MSI_ADDRESS_LO) == lower_32_bits(fn->msi_dev) &&
	       hyp_pci_readl(cap + PCI_MSI_ADDRESS_HI) == upper_32_bits(fn->msi_dev);
}

/*
 * Put the device's MSI address on the doorbell the host's address names,
 * which the VM's streams reach from then on (pkvm_iommu_pvm_msi_route()).
 * Only a doorbell's translation is ever written there (whole), so the
 * device's address is its reset value, with MSIs off, or a doorbell: an
 * address of the host's choosing would make the device write the MSI's
 * data, which the host chose too, into the VM's memory. An address that
 * names no doorbell changes nothing in the device.
 */
static void hyp_pci_msi_route_locked(struct hyp_pci_fn *fn)
{
	void __iomem *cap = fn->cfg + fn->msi_pos;
	u64 addr;

	hyp_assert_lock_held(&hyp_pci_lock);
	/* Past the VM's memory, so past 4 GiB: 64-bit MSI addresses only. */
	if (!(fn->msi_flags & PCI_MSI_FLAGS_64BIT) || !hyp_pci_msi_layout_locked(fn))
		return;
	addr = pkvm_iommu_pvm_msi_route(fn->vm_handle, fn->msi_addr);
	if (!addr)
		return;
	writel(lower_32_bits(addr), cap + PCI_MSI_ADDRESS_LO);
	writel(upper_32_bits(addr), cap + PCI_MSI_ADDRESS_HI);
	fn->msi_dev = addr;
}

/*
 * A host store to the MSI capability of a function a VM holds. The host
 * still sets its MSIs up (the VMM asks VFIO, which asks the host's ITS
 * driver for an event), but the device only ever signals one at an MSI
 * doorbell through its stream: the host's address is kept, and translated
 * (hyp_pci_msi_route_locked()); MSIs are enabled only while the device's
 * address reads back as a doorbell's and the capability is laid out as at
 * registration. The data and the mask bits are the host's: the ITS takes
 * the device's DeviceID from its stream, so the host can raise only the
 * device's own interrupts. Everything else in the capability is dropped,
 * and so is every store before the stream is the VM's.
 *
 * Return: true if the store was to the MSI capability of a function a VM
 * holds: it was dealt with here.
 */
static bool hyp_pci_msi_store_locked(struct hyp_pci_fn *fn, u32 off, u32 size, u32 val)
{
	bool is64 = fn->msi_flags & PCI_MSI_FLAGS_64BIT;
	void __iomem *cap = fn->cfg + fn->msi_pos;
	u32 rel = off - fn->msi_pos;
	u16 ctrl;

	hyp_assert_lock_held(&hyp_pci_lock);
	if (!fn->vm_handle || fn->vm_handle == HYP_PCI_QUARANTINE || !fn->msi_pos ||
	    off < fn->msi_pos || rel >= fn->msi_size)
		return false;
	if (!fn->msi_stream)
		return true;
	if (rel == PCI_MSI_FLAGS && size == 2) {
		ctrl = val & PCI_MSI_FLAGS_QSIZE;
		if (hyp_pci_msi_on_doorbell_locked(fn))
			ctrl |= val & PCI_MSI_FLAGS_ENABLE;
		writew(ctrl, cap + PCI_MSI_FLAGS);
	} else if (rel == PCI_MSI_ADDRESS_LO && size == 4) {
		fn->msi_addr = (fn->msi_addr & GENMASK_ULL(63, 32)) | val;
		hyp_pci_msi_route_locked(fn);
	} else if (is64 && rel == PCI_MSI_ADDRESS_HI && size == 4) {
		fn->msi_addr = (fn->msi_addr & GENMASK_ULL(31, 0)) | (u64)val << 32;
		hyp_pci_msi_route_locked(fn);
	} else if (rel == (is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32) && size == 2) {
		writew(val, cap + rel);
	} else if ((fn->msi_flags & PCI_MSI_FLAGS_MASKBIT) &&
		   rel == (is64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32) && size == 4) {
		writel(val, cap + rel);
	} else {
		return true;
	}
	/* As pkvm_pci_host_abort(): the store reached the function. */
	(void)hyp_pci_readl(cap);
	return true;
}

/**
 * pkvm_pci_host_abort() - Emulate a host access to configuration space.
 * @host_ctxt:	The host's registers.
 * @esr:	ESR_EL2 of its stage-2 data abort.
 * @page:	The faulting page (from HPFAR_EL2).
 * @far:	FAR_EL2.
 *
 * Called by handle_host_mem_abort() for an address the host does not own.
 * Only single loads and stores of 1, 2 or 4 aligned bytes are emulated
 * (ISV set: what the kernel's ECAM accessors issue); anything else, or an
 * address outside every window, is left to the caller, which injects an
 * abort into the host.
 *
 * Return: true if the access was emulated and the host's PC moved past it.
 */
bool pkvm_pci_host_abort(struct kvm_cpu_context *host_ctxt, u64 esr, u64 page, u64 far)
{
	struct hyp_pci_window *win;
	u64 addr, val, size, rt, off;
	struct hyp_pci_fn *fn;
	void __iomem *va;
	bool resetting;

	if (ESR_ELx_EC(esr) != ESR_ELx_EC_DABT_LOW || !(esr & ESR_ELx_ISV) ||
	    (esr & ESR_ELx_FnV))
		return false;
	/* HPFAR_EL2 names a 4 KiB page whatever the granule. */
	addr = page | (far & (SZ_4K - 1));
	win = hyp_pci_find_window(addr);
	if (!win)
		return false;
	size = BIT(FIELD_GET(ESR_ELx_SAS, esr));
	if (size > 4 || !IS_ALIGNED(addr, size))
		return false;
	rt = FIELD_GET(ESR_ELx_SRT_MASK, esr);
	va = win->base + (addr - win->phys);
	off = addr & (HYP_PCI_ECAM_FN_SIZE - 1);

	hyp_spin_lock(&hyp_pci_lock);
	/* A function the hypervisor is resetting reads as absent, and takes no store. */
	fn = hyp_pci_find_fn_locked(addr - off);
	resetting = fn && hyp_pci_reset_poll_locked(fn) == -EAGAIN;
	if (esr & ESR_ELx_WNR) {
		val = rt == 31 ? 0 : cpu_reg(host_ctxt, rt);
		val &= GENMASK_ULL(size * BITS_PER_BYTE - 1, 0);
		if (!resetting && !(fn && hyp_pci_msi_store_locked(fn, off, size, val)) &&
		    hyp_pci_store_allowed_locked(addr - off, va - off, off, size, val)) {
			if (size == 1)
				writeb(val, va);
			else if (size == 2)
				writew(val, va);
			else
				writel(val, va);
			/*
			 * The mapping lets a store be acknowledged early: read
			 * back, so that it has reached the function before a
			 * claim can follow.
			 */
			(void)hyp_pci_readl(va - (off & 3));
		}
	} else {
		if (resetting)
			val = GENMASK_ULL(size * BITS_PER_BYTE - 1, 0);
		else
			val = hyp_pci_read(va, size);
		if (esr & ESR_ELx_SSE)
			val = sign_extend64(val, size * BITS_PER_BYTE - 1);
		if (!(esr & ESR_ELx_SF))
			val = (u32)val;
		if (rt != 31)
			cpu_reg(host_ctxt, rt) = val;
	}
	hyp_spin_unlock(&hyp_pci_lock);
	/* A 16-bit T32 load or store of an AArch32 process has IL clear. */
	write_sysreg_el2(read_sysreg_el2(SYS_ELR) + ((esr & ESR_ELx_IL) ? 4 : 2), SYS_ELR);
	return true;
}

/* No VM's doorbells any more (the device's MSIs go off with its reset). */
static void hyp_pci_msi_clear(struct hyp_pci_fn *fn)
{
	fn->msi_stream = false;
	fn->msi_addr = 0;
	fn->msi_dev = 0;
}

static unsigned int hyp_pci_vm_fns_locked(u64 handle)
{
	unsigned int i, nr = 0;

	hyp_assert_lock_held(&hyp_pci_lock);
	for (i = 0; i < hyp_pci_nr_fns; i++)
		nr += hyp_pci_fns[i].vm_handle == handle;
	return nr;
}

/**
 * pkvm_pci_claim_bar() - Let a protected VM hold the function a BAR page is of.
 * @handle:	The VM.
 * @phys:	MMIO about to go to the VM.
 * @size:	Its size.
 *
 * Called before the MMIO leaves the host; pkvm_pci_bar_given() says how it
 * went. From the first claim on the host's stores to the function's
 * configuration space are dropped.
 *
 * Return: 0, or -EPERM (not within one BAR of an assignable function),
 * -EBUSY (another VM holds the function, or its stream translates for the
 * host, or the reset of a previous VM's teardown runs), -ENOSPC (the VM
 * holds HYP_PCI_MAX_VM_FNS functions).
 */
int pkvm_pci_claim_bar(u64 handle, u64 phys, u64 size)
{
	struct hyp_pci_fn *fn;
	int ret = -EPERM;

	hyp_spin_lock(&hyp_pci_lock);
	fn = hyp_pci_find_bar_locked(phys, size, true);
	if (!fn || !hyp_pci_assignable_locked(fn))
		goto unlock;
	ret = -EBUSY;
	if (fn->vm_handle && fn->vm_handle != handle)
		goto unlock;
	/*
	 * Not while the device's stream translates for the host: the VM would
	 * drive a device whose DMA reaches the host's memory at its IPAs. A
	 * host attach holds hyp_pci_lock around the STE, so none can follow.
	 */
	if (!fn->vm_handle) {
		if (pkvm_iommu_stream_in_use(fn->sids[0].smmu_idx, fn->sids[0].sid))
			goto unlock;
		/*
		 * Nor while the reset of a previous VM's teardown runs: should
		 * it fail, the function is quarantined, and a claim that then
		 * fails must not hand it back to the host.
		 */
		if (hyp_pci_reset_poll_locked(fn))
			goto unlock;
		ret = -ENOSPC;
		if (hyp_pci_vm_fns_locked(handle) >= HYP_PCI_MAX_VM_FNS)
			goto unlock;
		fn->vm_handle = handle;
		hyp_pci_msi_clear(fn);
	}
	fn->claims++;
	ret = 0;
unlock:
	hyp_spin_unlock(&hyp_pci_lock);
	return ret;
}

/**
 * pkvm_pci_bar_given() - Account MMIO a claim was made for.
 * @handle:	The VM that claimed it (pkvm_pci_claim_bar() returned 0).
 * @phys:	The MMIO.
 * @size:	Its size.
 * @given:	Whether it went to the VM. Each page goes at most once: it
 *		comes back only with pkvm_pci_release_vm().
 *
 * Once every byte of the function's BARs is the VM's, nobody but the VM
 * can reach the device's registers: the hypervisor resets the function
 * then, so that nothing the host programmed into it while it still had a
 * BAR page (a DMA, an MSI, a descriptor ring) survives into the VM's
 * address space. Its stream waits for the reset (pkvm_pci_stream_assignable()).
 * Bounded: one reset pulse at most.
 */
void pkvm_pci_bar_given(u64 handle, u64 phys, u64 size, bool given)
{
	struct hyp_pci_fn *fn;

	hyp_spin_lock(&hyp_pci_lock);
	fn = hyp_pci_find_bar_locked(phys, size, true);
	if (fn && fn->vm_handle == handle && fn->claims) {
		fn->claims--;
		if (given)
			fn->given += size;
		else if (!fn->given && !fn->claims)
			fn->vm_handle = 0;
		/* A function whose reset cannot even start never goes. */
		if (given && fn->given == fn->bar_bytes && hyp_pci_reset_start_locked(fn))
			fn->unassignable = true;
	}
	hyp_spin_unlock(&hyp_pci_lock);
}

/**
 * pkvm_pci_stream_assignable() - May this stream translate for a protected VM?
 * @handle:	The VM.
 * @smmu_idx:	The SMMU.
 * @sid:	The stream.
 *
 * Only if it is the stream of one registered function, every byte of that
 * function's memory BARs is the VM's, and the reset that followed is over:
 * then no one but the VM can make the device issue DMA on this stream, and
 * nothing the host left in the device does. The answer cannot change until
 * the VM's teardown (pkvm_pci_release_vm()), which a caller holding a
 * reference on the VM excludes.
 *
 * Return: 0, or -EPERM, or -EAGAIN while the function is being reset (for
 * HYP_PCI_RESET_MS: the caller asks again).
 */
int pkvm_pci_stream_assignable(u64 handle, u64 smmu_idx, u64 sid)
{
	struct hyp_pci_fn *fn;
	int ret = -EPERM;

	hyp_spin_lock(&hyp_pci_lock);
	fn = hyp_pci_find_stream_locked(smmu_idx, sid);
	if (fn && hyp_pci_assignable_locked(fn) && fn->vm_handle == handle &&
	    fn->bar_bytes && fn->given == fn->bar_bytes)
		ret = hyp_pci_reset_poll_locked(fn) == -EAGAIN ? -EAGAIN : 0;
	if (!ret && !hyp_pci_assignable_locked(fn))
		ret = -EPERM;
	hyp_spin_unlock(&hyp_pci_lock);
	return ret;
}

/**
 * pkvm_pci_stream_msi() - Let the host route a VM's device's MSIs to the doorbells.
 * @handle:	The VM, to which the stream was just assigned.
 * @smmu_idx:	The SMMU, which walks the VM's MSI root.
 * @sid:	The stream.
 *
 * From now on the host's stores to the function's MSI capability are
 * translated (hyp_pci_msi_store_locked()), until the VM's teardown.
 */
void pkvm_pci_stream_msi(u64 handle, u64 smmu_idx, u64 sid)
{
	struct hyp_pci_fn *fn;

	hyp_spin_lock(&hyp_pci_lock);
	fn = hyp_pci_find_stream_locked(smmu_idx, sid);
	if (fn && fn->vm_handle == handle)
		fn->msi_stream = true;
	hyp_spin_unlock(&hyp_pci_lock);
}

/**
 * pkvm_pci_lock_host_stream() - Keep a stream from being held while the host attaches it.
 * @smmu_idx:	The SMMU.
 * @sid:	The stream.
 *
 * On success hyp_pci_lock is held until pkvm_pci_unlock_host_stream(): no
 * protected VM can hold the stream's function meanwhile, and once the STE
 * is in, pkvm_pci_claim_bar() sees the stream in use.
 *
 * Return: 0, or -EBUSY if a protected VM holds the function.
 */
int pkvm_pci_lock_host_stream(u64 smmu_idx, u64 sid)
{
	struct hyp_pci_fn *fn;

	hyp_spin_lock(&hyp_pci_lock);
	fn = hyp_pci_find_stream_locked(smmu_idx, sid);
	/* Nor while the hypervisor resets it, nor once it is quarantined. */
	if (fn && (fn->vm_handle || hyp_pci_reset_poll_locked(fn))) {
		hyp_spin_unlock(&hyp_pci_lock);
		return -EBUSY;
	}
	return 0;
}

void pkvm_pci_unlock_host_stream(void)
{
	hyp_spin_unlock(&hyp_pci_lock);
}

/**
 * pkvm_pci_release_vm() - Give the host back the functions a VM held.
 * @handle:	The VM, whose streams abort; its MMIO is not the host's yet.
 *
 * Each function is reset before the host can reach its registers again:
 * what the VM left in the device does not reach the host. The host's
 * accesses to it then read as absent until the reset is over; the first
 * one after that restores its BARs and memory decoding.
 *
 * Bounded: one pass over the function table, and a reset pulse
 * (HYP_PCI_SBR_PULSE_MS) per function without FLR the VM held, at most
 * HYP_PCI_MAX_VM_FNS.
 */
void pkvm_pci_release_vm(u64 handle)
{
	struct hyp_pci_fn *fn;
	unsigned int i;

	hyp_spin_lock(&hyp_pci_lock);
	for (i = 0; i < hyp_pci_nr_fns; i++) {
		fn = &hyp_pci_fns[i];
		if (fn->vm_handle != handle)
			continue;
		fn->vm_handle = 0;
		fn->given = 0;
		fn->claims = 0;
		hyp_pci_msi_clear(fn);
		/*
		 * Only an assignable function is ever held, and each can be
		 * reset: one that cannot (it does not answer, or will not
		 * stop) keeps what the VM left in it, and is quarantined. A
		 * reset still running began when the VM got the last of the
		 * BARs; the device has not decoded them since, so it holds
		 * nothing of the VM's: it goes on, and is checked the same.
		 */
		if (!fn->reset_end && hyp_pci_reset_start_locked(fn))
			fn->vm_handle = HYP_PCI_QUARANTINE;
	}
	hyp_spin_unlock(&hyp_pci_lock);
}

/**
 * pkvm_pci_test_abort() - Show that an aborting load does not panic (test kernels).
 *
 * Loads, through the accessor that configuration space emulation uses,
 * from hypervisor VA that nothing maps: the hypervisor takes a translation
 * fault at EL2 while it serves the host, and must come back here.
 *
 * Return: -EIO once it did, or the error of reserving the VA.
 */
int pkvm_pci_test_abort(void)
{
	static unsigned long va;
	int ret = 0;
	u32 val;

	hyp_spin_lock(&hyp_pci_lock);
	if (!va)
		ret = pkvm_alloc_private_va_range(PAGE_SIZE, &va);
	if (!ret)
		ret = hyp_read_fixup((void __iomem *)va, 4, &val);
	hyp_spin_unlock(&hyp_pci_lock);
	return ret;
}
