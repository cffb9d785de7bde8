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
 *  - loads pass;
 *  - a store to a function present at registration that would change its
 *    address routing from what it was then (its BARs, its expansion ROM
 *    address; a bridge's bus numbers and windows) is dropped, so a reset
 *    function can be restored but nothing can be moved;
 *  - a store to a bridge that was not present (hot-added) may not change
 *    its bus numbers or windows either;
 *  - every store to a function that a protected VM holds is dropped: the VM
 *    holds it from the first of its BAR pages that goes to the VM
 *    (pkvm_pci_claim_bar()) until the VM's teardown has taken every page
 *    back (pkvm_pci_release_vm()).
 *
 * A stream goes to a protected VM only if it is the stream of one function
 * and every byte of that function's memory BARs is the VM's already
 * (pkvm_pci_stream_assignable()): the host can no longer reach the device's
 * registers, move them, renumber the bus or reprogram the function, so the
 * device that the VM's stage-2 translates for is the one only the VM
 * drives. docs/pvm-device-assignment.md (section 6) has the argument and its
 * limits (capabilities that move decoding, hot-plugged switches).
 *
 * Locking: hyp_pci_lock protects the function table and orders the
 * emulated stores against the claims: a store either completes before a
 * claim or is dropped. Windows are only added before pKVM finalises and
 * never change; readers take the count with acquire.
 */
#include <linux/bitfield.h>
#include <linux/pci_regs.h>

#include <asm/esr.h>
#include <asm/kvm_hyp.h>
#include <asm/kvm_mmu.h>
#include <asm/kvm_pgtable.h>

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

struct hyp_pci_window {
	u64		phys;
	u64		size;
	void __iomem	*base;
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
	/* A BAR or a stream the hypervisor cannot give: never assigned. */
	bool		unassignable;
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
	/* The protected VM that holds the function (0: none), and its share. */
	u64		vm_handle;
	u64		given;
};

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
};

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

/* The function one of whose BARs holds all of [phys, phys + size). */
static struct hyp_pci_fn *hyp_pci_find_bar_locked(u64 phys, u64 size)
{
	struct hyp_pci_fn *fn;
	unsigned int i, j;

	hyp_assert_lock_held(&hyp_pci_lock);
	for (i = 0; i < hyp_pci_nr_fns; i++) {
		fn = &hyp_pci_fns[i];
		for (j = 0; j < fn->nr_bars; j++) {
			if (phys >= fn->bars[j].phys &&
			    phys - fn->bars[j].phys < fn->bars[j].size &&
			    size <= fn->bars[j].size - (phys - fn->bars[j].phys))
				return fn;
		}
	}
	return NULL;
}

static bool hyp_pci_range_has_bar_locked(u64 phys, u64 size)
{
	struct hyp_pci_fn *fn;
	unsigned int i, j;

	hyp_assert_lock_held(&hyp_pci_lock);
	for (i = 0; i < hyp_pci_nr_fns; i++) {
		fn = &hyp_pci_fns[i];
		for (j = 0; j < fn->nr_bars; j++) {
			if (fn->bars[j].phys < phys + size &&
			    phys < fn->bars[j].phys + fn->bars[j].size)
				return true;
		}
	}
	return false;
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
	u8 type = FIELD_GET(PCI_HEADER_TYPE_MASK, fn->hdr[PCI_CACHE_LINE_SIZE / 4] >> 16);
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
		if (readw(cfg + PCI_VENDOR_ID) == 0xffff)
			goto unlock;
		ret = -ENOSPC;
		if (hyp_pci_nr_fns == HYP_PCI_MAX_FNS)
			goto unlock;
		fn = &hyp_pci_fns[hyp_pci_nr_fns++];
		fn->cfg_phys = cfg_phys;
		fn->cfg = cfg;
		for (i = 0; i < HYP_PCI_HDR_DWORDS; i++)
			fn->hdr[i] = readl(cfg + 4 * i);
		hyp_pci_fn_freeze(fn);
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
	struct hyp_pci_fn *fn;
	int ret = -ENOENT;

	hyp_spin_lock(&hyp_pci_lock);
	fn = hyp_pci_find_fn_locked(cfg_phys);
	if (!fn)
		goto unlock;
	ret = -EINVAL;
	if (!size || !PAGE_ALIGNED(phys) || !PAGE_ALIGNED(size) ||
	    phys + size < phys || phys + size > BIT_ULL(48) ||
	    addr_is_memory(phys) || addr_is_memory(phys + size - 1) ||
	    hyp_pci_find_window(phys) || hyp_pci_range_has_bar_locked(phys, size))
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

/* May the host store @val (@size bytes) at @off of the function at @cfg_phys? */
static bool hyp_pci_store_allowed_locked(u64 cfg_phys, void __iomem *cfg, u32 off,
					 u32 size, u32 val)
{
	struct hyp_pci_fn *fn = hyp_pci_find_fn_locked(cfg_phys);
	u32 old, frozen, mask, shift;
	unsigned int dw = off / 4;
	u8 type;

	if (fn && fn->vm_handle)
		return false;
	if (dw >= HYP_PCI_HDR_DWORDS)
		return true;
	if (fn) {
		old = fn->hdr[dw];
		frozen = fn->frozen[dw];
	} else {
		/* Hot-added: an endpoint is the host's to place, a bridge is not. */
		type = readb(cfg + PCI_HEADER_TYPE) & PCI_HEADER_TYPE_MASK;
		if (type == PCI_HEADER_TYPE_NORMAL)
			return true;
		old = readl(cfg + 4 * dw);
		frozen = type == PCI_HEADER_TYPE_BRIDGE ? hyp_pci_bridge_frozen[dw] :
			 (dw >= PCI_BASE_ADDRESS_0 / 4 ? ~0U : 0);
	}
	shift = (off & 3) * BITS_PER_BYTE;
	mask = (size == 4 ? ~0U : BIT(size * BITS_PER_BYTE) - 1) << shift;
	return !(((val << shift) ^ old) & mask & frozen);
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
	void __iomem *va;

	if (ESR_ELx_EC(esr) != ESR_ELx_EC_DABT_LOW || !(esr & ESR_ELx_ISV) ||
	    (esr & ESR_ELx_FnV))
		return false;
	addr = page | (far & ~PAGE_MASK);
	win = hyp_pci_find_window(addr);
	if (!win)
		return false;
	size = BIT(FIELD_GET(ESR_ELx_SAS, esr));
	if (size > 4 || !IS_ALIGNED(addr, size))
		return false;
	rt = FIELD_GET(ESR_ELx_SRT_MASK, esr);
	va = win->base + (addr - win->phys);
	off = addr & (HYP_PCI_ECAM_FN_SIZE - 1);

	if (esr & ESR_ELx_WNR) {
		val = rt == 31 ? 0 : cpu_reg(host_ctxt, rt);
		val &= GENMASK_ULL(size * BITS_PER_BYTE - 1, 0);
		hyp_spin_lock(&hyp_pci_lock);
		if (hyp_pci_store_allowed_locked(addr - off, va - off, off, size, val)) {
			if (size == 1)
				writeb(val, va);
			else if (size == 2)
				writew(val, va);
			else
				writel(val, va);
		}
		hyp_spin_unlock(&hyp_pci_lock);
	} else {
		if (size == 1)
			val = readb(va);
		else if (size == 2)
			val = readw(va);
		else
			val = readl(va);
		if (esr & ESR_ELx_SSE)
			val = sign_extend64(val, size * BITS_PER_BYTE - 1);
		if (!(esr & ESR_ELx_SF))
			val = (u32)val;
		if (rt != 31)
			cpu_reg(host_ctxt, rt) = val;
	}
	write_sysreg_el2(read_sysreg_el2(SYS_ELR) + 4, SYS_ELR);
	return true;
}

/**
 * pkvm_pci_claim_bar() - Let a protected VM hold the function a BAR page is of.
 * @handle:	The VM.
 * @phys:	MMIO about to go to the VM.
 * @size:	Its size.
 *
 * Called before the MMIO leaves the host; pkvm_pci_bar_given() says how it
 * went. From now on the host's stores to the function's configuration
 * space are dropped.
 *
 * Return: 0, or -EPERM (not within one BAR of an assignable function),
 * -EBUSY (another VM holds the function).
 */
int pkvm_pci_claim_bar(u64 handle, u64 phys, u64 size)
{
	struct hyp_pci_fn *fn;
	int ret = -EPERM;

	hyp_spin_lock(&hyp_pci_lock);
	fn = hyp_pci_find_bar_locked(phys, size);
	if (!fn || fn->unassignable)
		goto unlock;
	ret = -EBUSY;
	if (fn->vm_handle && fn->vm_handle != handle)
		goto unlock;
	fn->vm_handle = handle;
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
 */
void pkvm_pci_bar_given(u64 handle, u64 phys, u64 size, bool given)
{
	struct hyp_pci_fn *fn;

	hyp_spin_lock(&hyp_pci_lock);
	fn = hyp_pci_find_bar_locked(phys, size);
	if (fn && fn->vm_handle == handle) {
		if (given)
			fn->given += size;
		else if (!fn->given)
			fn->vm_handle = 0;
	}
	hyp_spin_unlock(&hyp_pci_lock);
}

/**
 * pkvm_pci_stream_assignable() - May this stream translate for a protected VM?
 * @handle:	The VM.
 * @smmu_idx:	The SMMU.
 * @sid:	The stream.
 *
 * Only if it is the stream of one registered function, and every byte of
 * that function's memory BARs is the VM's: then no one but the VM can make
 * the device issue DMA on this stream. The answer cannot change until the
 * VM's teardown (pkvm_pci_release_vm()), which a caller holding a
 * reference on the VM excludes.
 *
 * Return: 0, or -EPERM.
 */
int pkvm_pci_stream_assignable(u64 handle, u64 smmu_idx, u64 sid)
{
	struct hyp_pci_fn *fn;
	int ret = -EPERM;

	hyp_spin_lock(&hyp_pci_lock);
	fn = hyp_pci_find_stream_locked(smmu_idx, sid);
	if (fn && !fn->unassignable && fn->vm_handle == handle && fn->bar_bytes &&
	    fn->given == fn->bar_bytes)
		ret = 0;
	hyp_spin_unlock(&hyp_pci_lock);
	return ret;
}

/**
 * pkvm_pci_release_vm() - Give the host back the functions a VM held.
 * @handle:	The VM, whose streams abort and whose MMIO is the host's again.
 *
 * Bounded: one pass over the function table.
 */
void pkvm_pci_release_vm(u64 handle)
{
	unsigned int i;

	hyp_spin_lock(&hyp_pci_lock);
	for (i = 0; i < hyp_pci_nr_fns; i++) {
		if (hyp_pci_fns[i].vm_handle != handle)
			continue;
		hyp_pci_fns[i].vm_handle = 0;
		hyp_pci_fns[i].given = 0;
	}
	hyp_spin_unlock(&hyp_pci_lock);
}
