// SPDX-License-Identifier: GPL-2.0-only
/*
 * PCI configuration space mediated by the hypervisor (nvhe/pci_cfg.c): the
 * registration before pKVM finalises, the emulation of the host's loads and
 * stores as handle_host_mem_abort() hands them over (ESR_EL2, HPFAR_EL2,
 * FAR_EL2 built here as the CPU would), which stores are dropped, and the
 * rule that ties a stream to its function's BARs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bitfield.h>
#include <linux/pci_regs.h>
#include <asm/esr.h>
#include <asm/kvm_hyp.h>
#include <asm/kvm_pkvm_smmu.h>
#include <nvhe/iommu.h>
#include <nvhe/memory.h>
#include <nvhe/pci_cfg.h>
#include <nvhe/trap_handler.h>

#include "el2.h"
#include "../tap.h"

#define ECAM_FN(bus, devfn)	(EL2_ECAM_BASE + ((u64)(bus) << 20) + ((u64)(devfn) << 12))
/* Where el2_pci_add_fn() puts an endpoint's PCI Express capability. */
#define EP_EXP			0x40
/* And its MSI capability, after that one. */
#define EP_MSI			EL2_PCI_MSI
/*
 * Three windows: buses 0 to 31 for the functions, 32 to 63 for a switch
 * with a BAR, 64 to 95 for more functions, below root ports of their own.
 */
#define ECAM_WINDOW		SZ_32M
#define WIN2_BUS		(ECAM_WINDOW >> 20)
#define WIN3_BUS		EL2_PCI_WIN3_BUS

static bool pci_window_taken;
/*
 * Message Control of the MSI capability el2_pci_add_fn() gives an endpoint
 * (0: none): 64-bit addresses, per-vector masking, 4 vectors (Multiple
 * Message Capable 2).
 */
#define PCI_MSI_DEFAULT		(PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT | \
				 2 << 1)
static u16 pci_msi_flags = PCI_MSI_DEFAULT;

/* The harness's functions with a stream and a BAR, to give the BAR before the stream. */
static struct {
	int		smmu;
	u32		sid;
	phys_addr_t	bar;
	u64		size;
	u64		cfg;
} pci_streams[16];
static unsigned int pci_nr_streams;

/* A function of @type present at @cfg, its header zero otherwise. */
static u32 *pci_bare_fn(u64 cfg, u8 type)
{
	u32 *f = el2_ecam_frame(cfg, 4096);

	memset(f, 0, 4096);
	f[PCI_VENDOR_ID / 4] = 0x11e81234;
	f[PCI_CACHE_LINE_SIZE / 4] = type << 16;
	return f;
}

/* The first and the third window (el2_pci_test() registers the second). */
static int pci_take_window(void)
{
	int ret = 0;

	if (!pci_window_taken) {
		ret = __pkvm_pci_register_window(EL2_ECAM_BASE, ECAM_WINDOW);
		if (!ret)
			ret = __pkvm_pci_register_window(ECAM_FN(WIN3_BUS, 0), ECAM_WINDOW);
		pci_window_taken = !ret;
	}
	return ret;
}

/* A PCI Express capability (version 2) of @type at EP_EXP, and its DevCap. */
static void pci_exp_cap(u32 *f, u8 type, u32 devcap)
{
	f[PCI_COMMAND / 4] |= PCI_STATUS_CAP_LIST << 16;
	f[PCI_CAPABILITY_LIST / 4] = EP_EXP;
	f[EP_EXP / 4] = PCI_CAP_ID_EXP | (2 | type << 4) << 16;
	f[(EP_EXP + PCI_EXP_DEVCAP) / 4] = devcap;
}

/* An MSI capability with Message Control @flags at EP_MSI, after the PCI Express one. */
static void pci_msi_cap(u32 *f, u16 flags)
{
	f[EP_EXP / 4] |= EP_MSI << 8;
	f[EP_MSI / 4] = PCI_CAP_ID_MSI | flags << 16;
}

int el2_pci_add_port(u8 sec)
{
	/* The third window's first bus has the bus number it has in the ECAM. */
	u8 pri = sec >= WIN3_BUS ? WIN3_BUS : 0;
	u64 cfg_phys = pri ? ECAM_FN(pri, sec - pri) : ECAM_FN(0, 0x80 + sec);
	int ret = pci_take_window();
	u32 *f;

	if (ret)
		return ret;
	f = pci_bare_fn(cfg_phys, PCI_HEADER_TYPE_BRIDGE);
	f[PCI_PRIMARY_BUS / 4] = pri | sec << 8 | sec << 16;
	pci_exp_cap(f, PCI_EXP_TYPE_ROOT_PORT, 0);
	return __pkvm_pci_register_fn(cfg_phys, PKVM_PCI_NO_STREAM, 0);
}

/* The header of a function, written into the model, then registered. */
int el2_pci_add_fn(u8 bus, u8 devfn, bool bridge, int smmu, u32 sid, phys_addr_t bar,
		   u64 bar_size)
{
	u64 cfg_phys = ECAM_FN(bus, devfn);
	u32 *cfg = el2_ecam_frame(cfg_phys, 4096);
	int ret = pci_take_window();

	if (ret)
		return ret;
	memset(cfg, 0, PCI_CFG_SPACE_SIZE);
	cfg[PCI_VENDOR_ID / 4] = 0x11e81234;
	cfg[PCI_COMMAND / 4] = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	cfg[PCI_CACHE_LINE_SIZE / 4] = (bridge ? PCI_HEADER_TYPE_BRIDGE : 0) << 16;
	if (bridge) {
		/* A root port: primary bus, secondary and subordinate the next bus. */
		cfg[PCI_PRIMARY_BUS / 4] = bus | (bus + 1) << 8 | (bus + 1) << 16;
		pci_exp_cap(cfg, PCI_EXP_TYPE_ROOT_PORT, 0);
	} else {
		/* An endpoint that can reset itself, with MSIs. */
		cfg[PCI_BASE_ADDRESS_0 / 4] = bar;
		pci_exp_cap(cfg, PCI_EXP_TYPE_ENDPOINT, PCI_EXP_DEVCAP_FLR);
		if (pci_msi_flags)
			pci_msi_cap(cfg, pci_msi_flags);
	}
	ret = __pkvm_pci_register_fn(cfg_phys, smmu < 0 ? PKVM_PCI_NO_STREAM : smmu, sid);
	if (!ret && bar_size)
		ret = __pkvm_pci_register_bar(cfg_phys, bar, bar_size);
	if (!ret && smmu >= 0 && bar_size && pci_nr_streams < ARRAY_SIZE(pci_streams))
		pci_streams[pci_nr_streams++] = (typeof(pci_streams[0])){ smmu, sid, bar,
									  bar_size, cfg_phys };
	return ret;
}

/* __pkvm_iommu_assign_pvm_mmio() as the host driver makes it: topped up while it asks. */
int el2_pvm_assign_mmio(u64 handle, phys_addr_t bar, u64 ipa, u64 nr_pages,
			u64 (*topup)(u64))
{
	u64 needed;
	int ret;

	while ((ret = __pkvm_iommu_assign_pvm_mmio(handle, hyp_phys_to_pfn(bar),
						   hyp_phys_to_pfn(ipa), nr_pages,
						   &needed)) == -ENOMEM)
		if (!topup(needed))
			break;
	return ret;
}

static void pci_settle(u64 cfg);

/*
 * As the host driver after a VM's teardown, wait until the function answers
 * (the teardown's reset is over: no VM may claim it before), then give it.
 */
int el2_pvm_give_bar(u64 handle, int smmu, u32 sid, u64 (*topup)(u64))
{
	unsigned int i;

	for (i = 0; i < pci_nr_streams; i++) {
		if (pci_streams[i].smmu != smmu || pci_streams[i].sid != sid)
			continue;
		pci_settle(pci_streams[i].cfg);
		return el2_pvm_assign_mmio(handle, pci_streams[i].bar,
					   (0x30000 + i * 0x100ULL) << PAGE_SHIFT,
					   pci_streams[i].size >> PAGE_SHIFT, topup);
	}
	return -ENOENT;
}

/* The host's registers, and its PC, as it traps. */
static struct kvm_cpu_context host;

/*
 * One host access, as handle_host_mem_abort() hands it over: a data abort
 * from a lower EL, ISV set, SAS, SRT, WnR (and SSE, SF) as the CPU reports
 * them. Returns what pkvm_pci_host_abort() says; the PC moves by 4, or by 2
 * with IL cleared, if so.
 */
static bool pci_access(u64 addr, unsigned int size, bool store, unsigned int rt, u64 extra)
{
	u64 esr = FIELD_PREP(ESR_ELx_EC_MASK, ESR_ELx_EC_DABT_LOW) | ESR_ELx_IL |
		  ESR_ELx_ISV | FIELD_PREP(ESR_ELx_SAS, __builtin_ctz(size)) |
		  FIELD_PREP(ESR_ELx_SRT_MASK, rt) | (store ? ESR_ELx_WNR : 0) |
		  ESR_ELx_SF;
	u64 pc = 0x1000;
	bool done;

	/* @extra flips bits: ESR_ELx_SF makes a W register the target. */
	esr ^= extra;
	el2_sysreg_el2_SYS_ELR = pc;
	done = pkvm_pci_host_abort(&host, esr, addr & PAGE_MASK, addr);
	CHECK_EQ(el2_sysreg_el2_SYS_ELR, done ? pc + ((esr & ESR_ELx_IL) ? 4 : 2) : pc);
	return done;
}

bool el2_pci_host_access(u64 addr, unsigned int size, bool store, u64 *val)
{
	u64 esr = FIELD_PREP(ESR_ELx_EC_MASK, ESR_ELx_EC_DABT_LOW) | ESR_ELx_IL |
		  ESR_ELx_ISV | FIELD_PREP(ESR_ELx_SAS, __builtin_ctz(size)) |
		  FIELD_PREP(ESR_ELx_SRT_MASK, 7) | (store ? ESR_ELx_WNR : 0) |
		  ESR_ELx_SF;
	bool done;

	host.regs.regs[7] = *val;
	done = pkvm_pci_host_abort(&host, esr, addr & PAGE_MASK, addr);
	*val = host.regs.regs[7];
	return done;
}

static u64 pci_load(u64 addr, unsigned int size)
{
	host.regs.regs[3] = 0xdeadbeefdeadbeefULL;
	CHECK(pci_access(addr, size, false, 3, 0));
	return host.regs.regs[3];
}

/* pkvm_pci_stream_assignable() as long as the function is being reset. */
static int pci_stream_wait(u64 handle, int smmu, u32 sid)
{
	unsigned int tries = 0;
	int ret;

	while ((ret = pkvm_pci_stream_assignable(handle, smmu, sid)) == -EAGAIN &&
	       ++tries < 10000)
		;
	return ret;
}

/* Claim and give all of [@phys, @phys + @size) at once. */
static int pci_give(u64 handle, u64 phys, u64 size)
{
	int ret = pkvm_pci_claim_bar(handle, phys, size);

	if (!ret)
		pkvm_pci_bar_given(handle, phys, size, true);
	return ret;
}

/* Load from the function at @cfg until it answers (its reset is over). */
static void pci_settle(u64 cfg)
{
	unsigned int tries = 0;

	while (pci_load(cfg + PCI_VENDOR_ID, 4) == 0xffffffff && ++tries < 10000)
		;
	CHECK(tries < 10000);
}

/* Store @val; return what a load then reads. */
static u64 pci_store(u64 addr, unsigned int size, u64 val)
{
	host.regs.regs[5] = val;
	CHECK(pci_access(addr, size, true, 5, 0));
	return pci_load(addr, size);
}

#define EP	ECAM_FN(1, 0)		/* an endpoint, stream 0x100 */
#define EP2	ECAM_FN(10, 0)		/* another, stream 0x108 */
#define BR	ECAM_FN(0, 8)		/* a bridge to bus 1 */
#define HOT	ECAM_FN(2, 0)		/* hot-added, never registered */
#define ALIAS	ECAM_FN(1, 1)		/* never registered, on EP's bus */
#define RP	ECAM_FN(0, 24)		/* a root port with PCIe and ACS capabilities */
#define RP_EXP	0x40
#define EP_BAR	0x10400000ULL
#define EP2_BAR	0x10500000ULL
/* What a function a VM holds is left with after its reset. */
#define EP_CMD	(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE)
#define SBR_BR	ECAM_FN(0, 0x85)	/* a root port to bus 5 */
#define NOT_RP	ECAM_FN(0, 0x60)	/* a bridge, not a root port, to bus 17 */
#define BROKEN	ECAM_FN(18, 0)		/* its FLR does nothing: stream 0x1200 */
#define BROKEN_BAR	0x12200000ULL
#define NOFLR	ECAM_FN(5, 0)		/* alone below it, no FLR: stream 0x500 */
#define PAIR	15			/* a bus with two functions */
#define NOFLR_BAR	0x10d00000ULL
#define PAIR_BAR	0x10e00000ULL
#define FULL_BUS	23		/* buses of HYP_PCI_MAX_VM_FNS + 1 functions */
#define FULL_BAR	0x11000000ULL
#define ABRT_BAR	0x12000000ULL

/*
 * MSIs of a function a VM holds (the MSI capability at EP_MSI): an address
 * reaches the device only as where the VM's streams reach a doorbell, which
 * its domain opens then (pkvm_iommu_pvm_msi_route()).
 */
#define MSI_DOORBELL	0x08090000ULL	/* el2.c's test_peer_mmio() registered it, the only one */
#define MSI_BASE	BIT_ULL(40)	/* where a 40-bit protected VM's domain maps it */
#define MSI_IPA		0x80000000ULL	/* an address of the VM's memory */
#define MSIM		ECAM_FN(7, 0)	/* 64-bit, per-vector masking: stream 0x1900 */
#define MSI64		ECAM_FN(8, 0)	/* 64-bit, no masking: stream 0x1908 */
#define MSI32		ECAM_FN(9, 0)	/* 32-bit only, per-vector masking: stream 0x1910 */
#define MSI_BAR		0x12400000ULL	/* MSIM's; MSI64's, MSI32's, MSI_END's 1 MiB apart */
/*
 * MSI capabilities the hypervisor cannot be sure of, or that just fit, each
 * alone below a root port, streams 0x1918 on, 8 apart, BARs from MSI_BAR
 * + 3 MiB on, 1 MiB apart. The buses of all but the first are in the third
 * window.
 */
#define MSI_END		19		/* 64-bit, masking, at 0xf0: past the header */
#define MSI_FFFF	(WIN3_BUS + 1)	/* Message Control reads all ones */
#define MSI_OVERLAP	(WIN3_BUS + 2)	/* 64-bit, masking, at 0x80; another capability at 0x90 */
#define MSI_F4		(WIN3_BUS + 3)	/* 32-bit, no masking, at 0xf4: its 10 bytes fit */
#define MSI_LOOP	(WIN3_BUS + 4)	/* in a list that loops, after the PCI Express capability */
#define MSI_CAP_SIZE	(PCI_MSI_PENDING_64 + 4)
#define MSI_M64		PCI_MSI_DEFAULT
#define MSI_QSIZE_4	(2 << 4)	/* Multiple Message Enable: 4 vectors */

/* The register at @rel of the MSI capability at @pos of the function at @cfg, as it is. */
static u32 msi_raw_at(u64 cfg, u32 pos, u32 rel, unsigned int size)
{
	u32 val = 0;

	memcpy(&val, (u8 *)el2_ecam_frame(cfg, 4096) + pos + rel, size);
	return val;
}

static u32 msi_raw(u64 cfg, u32 rel, unsigned int size)
{
	return msi_raw_at(cfg, EP_MSI, rel, size);
}

/* Changed behind the hypervisor's back, read-only bits too (the device did it). */
static void msi_poke(u64 cfg, u32 rel, unsigned int size, u32 val)
{
	memcpy((u8 *)el2_ecam_frame(cfg, 4096) + EP_MSI + rel, &val, size);
}

/* A host store to it. */
static void msi_store_at(u64 cfg, u32 pos, u32 rel, unsigned int size, u32 val)
{
	host.regs.regs[5] = val;
	CHECK(pci_access(cfg + pos + rel, size, true, 5, 0));
}

static void msi_store(u64 cfg, u32 rel, unsigned int size, u32 val)
{
	msi_store_at(cfg, EP_MSI, rel, size, val);
}

/* The whole capability, as the device has it. */
static void msi_snap(u64 cfg, u8 *snap)
{
	memcpy(snap, (u8 *)el2_ecam_frame(cfg, 4096) + EP_MSI, MSI_CAP_SIZE);
}

static bool msi_same(u64 cfg, const u8 *snap)
{
	return !memcmp(snap, (u8 *)el2_ecam_frame(cfg, 4096) + EP_MSI, MSI_CAP_SIZE);
}

/* The host sets MSIs up as Linux does: address, data, mask bits, then Enable. */
static void msi_setup(u64 cfg, u64 addr, u16 data)
{
	msi_store(cfg, PCI_MSI_ADDRESS_LO, 4, lower_32_bits(addr));
	msi_store(cfg, PCI_MSI_ADDRESS_HI, 4, upper_32_bits(addr));
	msi_store(cfg, PCI_MSI_DATA_64, 2, data);
	msi_store(cfg, PCI_MSI_MASK_64, 4, 0x5);
	msi_store(cfg, PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
}

/*
 * What msi_setup() to a doorbell leaves in a function a VM holds: the
 * address translated to the VM's doorbell page at @off, the host's data and
 * @mask bits (0: none), and MSIs on.
 */
static void msi_check_routed(u64 cfg, u64 off, u16 data, u32 mask, u16 flags)
{
	CHECK_EQ(msi_raw(cfg, PCI_MSI_ADDRESS_LO, 4), lower_32_bits(MSI_BASE + off));
	CHECK_EQ(msi_raw(cfg, PCI_MSI_ADDRESS_HI, 4), upper_32_bits(MSI_BASE));
	CHECK_EQ(msi_raw(cfg, PCI_MSI_DATA_64, 2), data);
	CHECK_EQ(msi_raw(cfg, PCI_MSI_MASK_64, 4), mask);
	CHECK_EQ(msi_raw(cfg, PCI_MSI_FLAGS, 2), flags | PCI_MSI_FLAGS_ENABLE);
}

/* The same at an MSI capability at @pos, to a doorbell, whichever its layout. */
static void msi_setup_at(u64 cfg, u32 pos, u16 data)
{
	msi_store_at(cfg, pos, PCI_MSI_ADDRESS_LO, 4, MSI_DOORBELL + 0x40);
	msi_store_at(cfg, pos, PCI_MSI_ADDRESS_HI, 4, 0);
	msi_store_at(cfg, pos, PCI_MSI_DATA_64, 2, data);
	msi_store_at(cfg, pos, PCI_MSI_DATA_32, 2, data);
	msi_store_at(cfg, pos, PCI_MSI_MASK_64, 4, 0x5);
	msi_store_at(cfg, pos, PCI_MSI_MASK_32, 4, 0x5);
	msi_store_at(cfg, pos, PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
}

/* An endpoint alone below a root port to @bus, its MSI capability with Message Control @flags. */
static int msi_add_fn(const int *idx, u8 bus, u32 sid, phys_addr_t bar, u16 flags)
{
	int ret = el2_pci_add_port(bus);

	pci_msi_flags = flags;
	if (!ret)
		ret = el2_pci_add_fn(bus, 0, false, idx[1], sid, bar, PAGE_SIZE);
	pci_msi_flags = PCI_MSI_DEFAULT;
	return ret;
}

/* The VM @handle holds the function of stream @sid, reset. */
static void msi_hold(u64 handle, const int *idx, u32 sid, phys_addr_t bar)
{
	CHECK_EQ(pci_give(handle, bar, PAGE_SIZE), 0);
	CHECK_EQ(pci_stream_wait(handle, idx[1], sid), 0);
}

/*
 * An endpoint with a Function Level Reset alone below a root port to @bus,
 * the capability after its PCI Express one at @next; the caller writes that
 * one, then msi_bare_hold() registers the function.
 */
static u32 *msi_bare_fn(u8 bus, phys_addr_t bar, u8 next)
{
	u32 *f;

	CHECK_EQ(el2_pci_add_port(bus), 0);
	f = pci_bare_fn(ECAM_FN(bus, 0), PCI_HEADER_TYPE_NORMAL);
	f[PCI_BASE_ADDRESS_0 / 4] = bar;
	pci_exp_cap(f, PCI_EXP_TYPE_ENDPOINT, PCI_EXP_DEVCAP_FLR);
	f[EP_EXP / 4] |= next << 8;
	return f;
}

/*
 * Registered with stream @sid: assignable, the VM @handle holds it, reset,
 * and its stream is the VM's; the whole of its configuration space, then,
 * in @snap.
 */
static void msi_bare_hold(u64 handle, const int *idx, u8 bus, u32 sid, phys_addr_t bar,
			  u8 *snap)
{
	CHECK_EQ(__pkvm_pci_register_fn(ECAM_FN(bus, 0), idx[1], sid), 0);
	CHECK_EQ(__pkvm_pci_register_bar(ECAM_FN(bus, 0), bar, PAGE_SIZE), 0);
	msi_hold(handle, idx, sid, bar);
	pkvm_pci_stream_msi(handle, idx[1], sid);
	memcpy(snap, el2_ecam_frame(ECAM_FN(bus, 0), 4096), 4096);
}

static bool msi_fn_same(u8 bus, const u8 *snap)
{
	return !memcmp(snap, el2_ecam_frame(ECAM_FN(bus, 0), 4096), 4096);
}

/*
 * MSIs only with a capability the hypervisor is sure of at registration;
 * the function is assignable all the same. One whose Message Control reads
 * all ones, whose registers would pass the end of the header, that overlaps
 * another capability, or that is in a list that loops (after the PCI
 * Express capability: that list is fine otherwise): none of the host's MSI
 * stores reaches the device. One that just fits takes them as any other.
 */
static void pci_msi_caps_test(const int *idx)
{
	const u64 h = EL2_VM_HANDLE_OFFSET + 2;
	const phys_addr_t bar = MSI_BAR + 3 * SZ_1M;
	static u8 snap[4096];
	unsigned int resets;
	u32 *f;

	f = msi_bare_fn(MSI_END, bar, 0xf0);
	f[0xf0 / 4] = PCI_CAP_ID_MSI | MSI_M64 << 16;
	msi_bare_hold(h, idx, MSI_END, 0x1918, bar, snap);
	msi_setup_at(ECAM_FN(MSI_END, 0), 0xf0, 0x61);
	CHECK(msi_fn_same(MSI_END, snap));

	f = msi_bare_fn(MSI_FFFF, bar + SZ_1M, EP_MSI);
	f[EP_MSI / 4] = PCI_CAP_ID_MSI | 0xffffU << 16;
	msi_bare_hold(h, idx, MSI_FFFF, 0x1920, bar + SZ_1M, snap);
	msi_setup_at(ECAM_FN(MSI_FFFF, 0), EP_MSI, 0x62);
	CHECK(msi_fn_same(MSI_FFFF, snap));

	f = msi_bare_fn(MSI_OVERLAP, bar + 2 * SZ_1M, EP_MSI);
	f[EP_MSI / 4] = PCI_CAP_ID_MSI | 0x90 << 8 | MSI_M64 << 16;
	f[0x90 / 4] = PCI_CAP_ID_VNDR;
	msi_bare_hold(h, idx, MSI_OVERLAP, 0x1928, bar + 2 * SZ_1M, snap);
	msi_setup_at(ECAM_FN(MSI_OVERLAP, 0), EP_MSI, 0x63);
	CHECK(msi_fn_same(MSI_OVERLAP, snap));

	f = msi_bare_fn(MSI_LOOP, bar + 3 * SZ_1M, EP_MSI);
	f[EP_MSI / 4] = PCI_CAP_ID_MSI | EP_EXP << 8 | MSI_M64 << 16;
	msi_bare_hold(h, idx, MSI_LOOP, 0x1930, bar + 3 * SZ_1M, snap);
	msi_setup_at(ECAM_FN(MSI_LOOP, 0), EP_MSI, 0x64);
	CHECK(msi_fn_same(MSI_LOOP, snap));

	/*
	 * 32-bit, no masking, its 10 bytes up to 0xfe: its data land, nothing
	 * past them; no address (32 bits), so MSIs stay off.
	 */
	f = msi_bare_fn(MSI_F4, bar + 4 * SZ_1M, 0xf4);
	f[0xf4 / 4] = PCI_CAP_ID_MSI;
	msi_bare_hold(h, idx, MSI_F4, 0x1938, bar + 4 * SZ_1M, snap);
	msi_setup_at(ECAM_FN(MSI_F4, 0), 0xf4, 0x65);
	CHECK_EQ(msi_raw_at(ECAM_FN(MSI_F4, 0), 0xf4, PCI_MSI_DATA_32, 2), 0x65);
	CHECK_EQ(msi_raw_at(ECAM_FN(MSI_F4, 0), 0xf4, PCI_MSI_ADDRESS_LO, 4), 0);
	CHECK_EQ(msi_raw_at(ECAM_FN(MSI_F4, 0), 0xf4, PCI_MSI_FLAGS, 2), 0);
	snap[0xf4 + PCI_MSI_DATA_32] = 0x65;
	CHECK(msi_fn_same(MSI_F4, snap));

	resets = el2_ecam_resets;
	pkvm_pci_release_vm(h);
	CHECK_EQ(el2_ecam_resets, resets + 5);
	pci_settle(ECAM_FN(MSI_END, 0));
	pci_settle(ECAM_FN(MSI_FFFF, 0));
	pci_settle(ECAM_FN(MSI_OVERLAP, 0));
	pci_settle(ECAM_FN(MSI_LOOP, 0));
	pci_settle(ECAM_FN(MSI_F4, 0));
}

/*
 * Two protected VMs, in turn, whose domains map the doorbell; their
 * functions' streams are assigned for real (el2_pvm_assign()).
 */
static void pci_msi_test(const int *idx, u64 (*topup)(u64))
{
	static const u16 layouts[] = {
		MSI_M64 & ~PCI_MSI_FLAGS_MASKBIT, MSI_M64 & ~PCI_MSI_FLAGS_64BIT, 0xffff,
	};
	const u64 h = EL2_VM_HANDLE_OFFSET;
	struct pkvm_hyp_vm *vm = el2_pvm_create(h, true, KVM_PGTABLE_S2_NOFWB);
	struct pkvm_hyp_vm *vm2 = el2_pvm_create(h + 1, true, KVM_PGTABLE_S2_NOFWB);
	u8 snap[MSI_CAP_SIZE];
	unsigned int resets, i;

	if (!vm || !vm2) {
		CHECK(!"two protected VMs");
		return;
	}
	CHECK_EQ(msi_add_fn(idx, 7, 0x1900, MSI_BAR, MSI_M64), 0);
	CHECK_EQ(msi_add_fn(idx, 8, 0x1908, MSI_BAR + SZ_1M, PCI_MSI_FLAGS_64BIT), 0);
	CHECK_EQ(msi_add_fn(idx, 9, 0x1910, MSI_BAR + 2 * SZ_1M, PCI_MSI_FLAGS_MASKBIT), 0);

	/* The host's function: its MSI stores land as they are. */
	msi_setup(MSIM, BIT_ULL(32) | MSI_IPA, 0x21);
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_ADDRESS_LO, 4), MSI_IPA);
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_ADDRESS_HI, 4), 1);
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_DATA_64, 2), 0x21);
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_MASK_64, 4), 0x5);
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_FLAGS, 2), MSI_M64 | PCI_MSI_FLAGS_ENABLE);

	/*
	 * The VM holds all three, reset (MSIs off, no address), and MSI64's
	 * stream is the VM's: the VM has a domain, which maps the doorbell.
	 * Until MSIM's stream is the VM's no MSI store of it lands: not for
	 * another VM, nor another stream.
	 */
	msi_hold(h, idx, 0x1900, MSI_BAR);
	msi_hold(h, idx, 0x1908, MSI_BAR + SZ_1M);
	msi_hold(h, idx, 0x1910, MSI_BAR + 2 * SZ_1M);
	CHECK_EQ(el2_pvm_assign(h, idx[1], 0x1908, topup), 0);
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_FLAGS, 2), MSI_M64);
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_ADDRESS_LO, 4), 0);
	pkvm_pci_stream_msi(h + 1, idx[1], 0x1900);
	pkvm_pci_stream_msi(h, idx[1], 0x1901);
	pkvm_pci_stream_msi(h, idx[0], 0x1900);
	msi_snap(MSIM, snap);
	msi_setup(MSIM, MSI_DOORBELL + 0x40, 0x22);
	CHECK(msi_same(MSIM, snap));

	/* Its stream is the VM's. An address of no doorbell never lands. */
	CHECK_EQ(el2_pvm_assign(h, idx[1], 0x1900, topup), 0);
	msi_setup(MSIM, MSI_IPA, 0x23);
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_ADDRESS_LO, 4), 0);
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_ADDRESS_HI, 4), 0);
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_FLAGS, 2), MSI_M64);
	/* A doorbell's lands translated, whole, then MSIs go on; data and mask are the host's. */
	msi_setup(MSIM, MSI_DOORBELL + 0x40, 0x24);
	msi_check_routed(MSIM, 0x40, 0x24, 0x5, MSI_M64);
	msi_store(MSIM, PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE | MSI_QSIZE_4);
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_FLAGS, 2), MSI_M64 | PCI_MSI_FLAGS_ENABLE | MSI_QSIZE_4);
	msi_store(MSIM, PCI_MSI_MASK_64, 4, 0xa);
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_MASK_64, 4), 0xa);
	/* The host reads what the device has. */
	CHECK_EQ(pci_load(MSIM + EP_MSI + PCI_MSI_ADDRESS_LO, 4), lower_32_bits(MSI_BASE + 0x40));
	/* Nothing else: not the header, part of a register, another size, the pending bits. */
	msi_snap(MSIM, snap);
	msi_store(MSIM, 0, 4, PCI_CAP_ID_MSI);
	msi_store(MSIM, PCI_MSI_FLAGS, 1, 0);
	msi_store(MSIM, PCI_MSI_ADDRESS_LO, 1, 0);
	msi_store(MSIM, PCI_MSI_ADDRESS_LO, 2, 0);
	msi_store(MSIM, PCI_MSI_ADDRESS_LO + 2, 2, 0);
	msi_store(MSIM, PCI_MSI_ADDRESS_HI, 2, 0);
	msi_store(MSIM, PCI_MSI_DATA_64, 4, 0);
	msi_store(MSIM, PCI_MSI_DATA_64, 1, 0);
	msi_store(MSIM, PCI_MSI_MASK_64, 2, 0);
	msi_store(MSIM, PCI_MSI_PENDING_64, 4, 0xffffffff);
	CHECK(msi_same(MSIM, snap));
	/* A later address of no doorbell leaves the doorbell's, and MSIs on. */
	msi_store(MSIM, PCI_MSI_ADDRESS_LO, 4, MSI_IPA);
	msi_store(MSIM, PCI_MSI_ADDRESS_HI, 4, 0x12);
	msi_store(MSIM, PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_ADDRESS_LO, 4), lower_32_bits(MSI_BASE + 0x40));
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_ADDRESS_HI, 4), upper_32_bits(MSI_BASE));
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_FLAGS, 2), MSI_M64 | PCI_MSI_FLAGS_ENABLE);
	/* The address is the whole of what the host wrote: low half, then high half. */
	msi_store(MSIM, PCI_MSI_ADDRESS_LO, 4, MSI_DOORBELL + 8);
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_ADDRESS_LO, 4), lower_32_bits(MSI_BASE + 0x40));
	msi_store(MSIM, PCI_MSI_ADDRESS_HI, 4, 0);
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_ADDRESS_LO, 4), lower_32_bits(MSI_BASE + 8));
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_ADDRESS_HI, 4), upper_32_bits(MSI_BASE));
	/* Past the doorbells the VM's domain maps: none. */
	msi_store(MSIM, PCI_MSI_ADDRESS_LO, 4, MSI_DOORBELL + PAGE_SIZE);
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_ADDRESS_LO, 4), lower_32_bits(MSI_BASE + 8));
	msi_store(MSIM, PCI_MSI_ADDRESS_LO, 4, MSI_DOORBELL + 0x10);
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_ADDRESS_LO, 4), lower_32_bits(MSI_BASE + 0x10));
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_ADDRESS_HI, 4), upper_32_bits(MSI_BASE));
	/* MSIs off: the host's at any time. */
	msi_store(MSIM, PCI_MSI_FLAGS, 2, 0);
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_FLAGS, 2), MSI_M64);

	/*
	 * MSIs go on only while the device reads back the doorbell's address
	 * the hypervisor wrote into it: not once either half changed behind
	 * the hypervisor's back, nor if the device did not take it.
	 */
	msi_poke(MSIM, PCI_MSI_ADDRESS_LO, 4, MSI_IPA);
	msi_store(MSIM, PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_FLAGS, 2), MSI_M64);
	msi_poke(MSIM, PCI_MSI_ADDRESS_LO, 4, lower_32_bits(MSI_BASE + 0x10));
	msi_poke(MSIM, PCI_MSI_ADDRESS_HI, 4, 0);
	msi_store(MSIM, PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_FLAGS, 2), MSI_M64);
	msi_poke(MSIM, PCI_MSI_ADDRESS_HI, 4, upper_32_bits(MSI_BASE));
	msi_store(MSIM, PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_FLAGS, 2), MSI_M64 | PCI_MSI_FLAGS_ENABLE);
	msi_store(MSIM, PCI_MSI_FLAGS, 2, 0);
	el2_ecam_msi_addr_stuck = true;
	msi_store(MSIM, PCI_MSI_ADDRESS_LO, 4, MSI_DOORBELL + 0x20);
	msi_store(MSIM, PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
	el2_ecam_msi_addr_stuck = false;
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_ADDRESS_LO, 4), lower_32_bits(MSI_BASE + 0x10));
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_FLAGS, 2), MSI_M64);
	msi_store(MSIM, PCI_MSI_ADDRESS_LO, 4, MSI_DOORBELL + 0x20);
	msi_store(MSIM, PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_ADDRESS_LO, 4), lower_32_bits(MSI_BASE + 0x20));
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_FLAGS, 2), MSI_M64 | PCI_MSI_FLAGS_ENABLE);
	msi_store(MSIM, PCI_MSI_FLAGS, 2, 0);
	/*
	 * Nor while the capability is laid out otherwise than at registration
	 * (the device changed a read-only bit of Message Control, or it reads
	 * all ones): then no address reaches the device either. As it was, both
	 * work again.
	 */
	for (i = 0; i < ARRAY_SIZE(layouts); i++) {
		msi_poke(MSIM, PCI_MSI_FLAGS, 2, layouts[i]);
		msi_store(MSIM, PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
		CHECK_EQ(msi_raw(MSIM, PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_ENABLE, 0);
		/* The store wrote Enable and Multiple Message Enable. */
		msi_poke(MSIM, PCI_MSI_FLAGS, 2, layouts[i]);
		msi_store(MSIM, PCI_MSI_ADDRESS_LO, 4, MSI_DOORBELL + 0x30);
		CHECK_EQ(msi_raw(MSIM, PCI_MSI_ADDRESS_LO, 4), lower_32_bits(MSI_BASE + 0x20));
		CHECK_EQ(msi_raw(MSIM, PCI_MSI_ADDRESS_HI, 4), upper_32_bits(MSI_BASE));
	}
	msi_poke(MSIM, PCI_MSI_FLAGS, 2, MSI_M64);
	msi_store(MSIM, PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_FLAGS, 2), MSI_M64 | PCI_MSI_FLAGS_ENABLE);
	msi_store(MSIM, PCI_MSI_ADDRESS_LO, 4, MSI_DOORBELL + 0x30);
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_ADDRESS_LO, 4), lower_32_bits(MSI_BASE + 0x30));
	msi_store(MSIM, PCI_MSI_FLAGS, 2, 0);

	/* Without per-vector masking, no mask bits. */
	msi_setup(MSI64, MSI_DOORBELL + 0x44, 0x31);
	msi_check_routed(MSI64, 0x44, 0x31, 0, PCI_MSI_FLAGS_64BIT);

	/*
	 * 32-bit addresses only: no doorbell is below 4 GiB where a stream
	 * reaches it, so MSIs never go on. Data and mask bits as above.
	 */
	CHECK_EQ(el2_pvm_assign(h, idx[1], 0x1910, topup), 0);
	msi_store(MSI32, PCI_MSI_ADDRESS_LO, 4, MSI_DOORBELL + 0x40);
	msi_store(MSI32, PCI_MSI_DATA_32, 2, 0x41);
	msi_store(MSI32, PCI_MSI_ADDRESS_HI, 4, 0);
	msi_store(MSI32, PCI_MSI_MASK_32, 4, 0x3);
	msi_store(MSI32, PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
	CHECK_EQ(msi_raw(MSI32, PCI_MSI_ADDRESS_LO, 4), 0);
	CHECK_EQ(msi_raw(MSI32, PCI_MSI_DATA_32, 4), 0x41);
	CHECK_EQ(msi_raw(MSI32, PCI_MSI_MASK_32, 4), 0x3);
	CHECK_EQ(msi_raw(MSI32, PCI_MSI_FLAGS, 2), PCI_MSI_FLAGS_MASKBIT);

	/* The VM's teardown resets all three; the host's stores land as they are again. */
	resets = el2_ecam_resets;
	CHECK_EQ(el2_vm_start_teardown(h), 0);
	CHECK_EQ(el2_ecam_resets, resets + 3);
	pci_settle(MSIM);
	pci_settle(MSI64);
	pci_settle(MSI32);
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_FLAGS, 2), MSI_M64);
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_ADDRESS_LO, 4), 0);
	msi_setup(MSIM, MSI_IPA, 0x51);
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_ADDRESS_LO, 4), MSI_IPA);
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_FLAGS, 2), MSI_M64 | PCI_MSI_FLAGS_ENABLE);
	msi_store(MSI32, PCI_MSI_ADDRESS_LO, 4, MSI_IPA);
	msi_store(MSI32, PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
	CHECK_EQ(msi_raw(MSI32, PCI_MSI_ADDRESS_LO, 4), MSI_IPA);
	CHECK_EQ(msi_raw(MSI32, PCI_MSI_FLAGS, 2), PCI_MSI_FLAGS_MASKBIT | PCI_MSI_FLAGS_ENABLE);

	/*
	 * Another VM starts afresh: no doorbell before its own stream, not for
	 * the last VM's; then its own domain's.
	 */
	msi_hold(h + 1, idx, 0x1900, MSI_BAR);
	pkvm_pci_stream_msi(h, idx[1], 0x1900);
	msi_snap(MSIM, snap);
	msi_setup(MSIM, MSI_DOORBELL + 0x40, 0x52);
	CHECK(msi_same(MSIM, snap));
	CHECK_EQ(el2_pvm_assign(h + 1, idx[1], 0x1900, topup), 0);
	msi_setup(MSIM, MSI_DOORBELL + 0x40, 0x53);
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_ADDRESS_LO, 4), lower_32_bits(MSI_BASE + 0x40));
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_ADDRESS_HI, 4), upper_32_bits(MSI_BASE));
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_FLAGS, 2), MSI_M64 | PCI_MSI_FLAGS_ENABLE);
	CHECK_EQ(el2_vm_start_teardown(h + 1), 0);
	pci_settle(MSIM);
	CHECK_EQ(msi_raw(MSIM, PCI_MSI_FLAGS, 2), MSI_M64);
	el2_pvm_destroy(vm);
	el2_pvm_destroy(vm2);

	pci_msi_caps_test(idx);
}

int el2_pci_test(const int *idx, u64 (*topup)(u64))
{
	unsigned int resets, i;
	u64 needed;
	int dom, ret;
	u32 *hot, *rp, *f;
	u64 pfn;

	tap_cur_failed = 0;

	/* Windows: aligned to buses, not memory, not twice. */
	CHECK_EQ(__pkvm_pci_register_window(EL2_ECAM_BASE + 0x1000, SZ_1M), -EINVAL);
	CHECK_EQ(__pkvm_pci_register_window(EL2_ECAM_BASE, 0), -EINVAL);
	CHECK_EQ(__pkvm_pci_register_window(EL2_ECAM_BASE, SZ_512M), -EINVAL);
	CHECK_EQ(__pkvm_pci_register_window(EL2_MEM_BASE, SZ_1M), -EPERM);
	CHECK_EQ(el2_pci_add_fn(0, 8, true, -1, 0, 0, 0), 0);
	CHECK_EQ(__pkvm_pci_register_window(EL2_ECAM_BASE, SZ_1M), -EEXIST);
	CHECK_EQ(__pkvm_pci_register_window(EL2_ECAM_BASE + ECAM_WINDOW, ECAM_WINDOW), 0);
	CHECK(el2_mmio_hyp_owned(EL2_ECAM_BASE, EL2_ECAM_BASE + EL2_ECAM_SIZE));

	/* Functions: only where one is present, inside a window; BARs of whole pages. */
	CHECK_EQ(__pkvm_pci_register_fn(ECAM_FN(3, 0), PKVM_PCI_NO_STREAM, 0), -ENODEV);
	CHECK_EQ(__pkvm_pci_register_fn(EL2_ECAM_BASE + EL2_ECAM_SIZE, PKVM_PCI_NO_STREAM, 0),
		 -EINVAL);
	CHECK_EQ(__pkvm_pci_register_fn(EP + 4, PKVM_PCI_NO_STREAM, 0), -EINVAL);
	CHECK_EQ(el2_pci_add_fn(1, 0, false, idx[0], 0x100, EP_BAR, 4 * PAGE_SIZE), 0);
	CHECK_EQ(el2_pci_add_port(10), 0);
	CHECK_EQ(el2_pci_add_fn(10, 0, false, idx[0], 0x108, EP2_BAR, 2 * PAGE_SIZE), 0);
	CHECK_EQ(__pkvm_pci_register_bar(ECAM_FN(4, 0), EP_BAR, PAGE_SIZE), -ENOENT);

	/* A sub-page BAR, and one overlapping another: neither function is assignable. */
	CHECK_EQ(el2_pci_add_port(11), 0);
	CHECK_EQ(el2_pci_add_port(12), 0);
	CHECK_EQ(el2_pci_add_fn(12, 0, false, idx[0], 0x110, 0x10600000, 0x100), -EINVAL);
	CHECK_EQ(el2_pci_add_fn(11, 0, false, idx[0], 0x118, EP2_BAR + PAGE_SIZE, PAGE_SIZE),
		 -EINVAL);
	CHECK_EQ(pkvm_pci_claim_bar(EL2_VM_HANDLE_OFFSET, EP2_BAR, PAGE_SIZE), -EPERM);
	/*
	 * A switch port with a BAR: nothing of its window goes to a VM, not
	 * even a function alone below a root port there.
	 */
	CHECK_EQ(el2_pci_add_fn(WIN2_BUS, 0, true, -1, 0, 0, 0), 0);
	CHECK_EQ(el2_pci_add_fn(WIN2_BUS + 1, 0, false, idx[1], 0x900, 0x10a00000, PAGE_SIZE),
		 0);
	f = pci_bare_fn(ECAM_FN(WIN2_BUS, 8), PCI_HEADER_TYPE_BRIDGE);
	f[PCI_PRIMARY_BUS / 4] = WIN2_BUS | (WIN2_BUS + 2) << 8 | (WIN2_BUS + 2) << 16;
	pci_exp_cap(f, PCI_EXP_TYPE_DOWNSTREAM, 0);
	CHECK_EQ(__pkvm_pci_register_fn(ECAM_FN(WIN2_BUS, 8), PKVM_PCI_NO_STREAM, 0), 0);
	CHECK_EQ(__pkvm_pci_register_bar(ECAM_FN(WIN2_BUS, 8), 0x10900000, PAGE_SIZE), 0);
	CHECK_EQ(pkvm_pci_claim_bar(EL2_VM_HANDLE_OFFSET, 0x10a00000, PAGE_SIZE), -EPERM);
	CHECK_EQ(__pkvm_pci_register_bar(ECAM_FN(11, 0), EL2_MEM_BASE, PAGE_SIZE), -EINVAL);
	/* A stream named for two functions: neither is only the VM's. */
	CHECK_EQ(el2_pci_add_port(13), 0);
	CHECK_EQ(el2_pci_add_port(14), 0);
	CHECK_EQ(el2_pci_add_fn(13, 0, false, idx[1], 0x200, 0x10700000, PAGE_SIZE), 0);
	CHECK_EQ(el2_pci_add_fn(14, 0, false, idx[1], 0x200, 0x10800000, PAGE_SIZE), 0);

	/* Loads pass, as the CPU reads them: sizes, sign extension, a W register, XZR. */
	CHECK_EQ(pci_load(EP, 4), 0x11e81234);
	CHECK_EQ(pci_load(EP + 2, 2), 0x11e8);
	CHECK_EQ(pci_load(EP + 1, 1), 0x12);
	host.regs.regs[3] = 0;
	CHECK(pci_access(EP + 3, 1, false, 3, ESR_ELx_SSE));
	CHECK_EQ(host.regs.regs[3], 0x11);
	((u8 *)el2_ecam_frame(EP, 4096))[PCI_CLASS_PROG] = 0x80;
	CHECK(pci_access(EP + PCI_CLASS_PROG, 1, false, 3, ESR_ELx_SSE));
	CHECK_EQ(host.regs.regs[3], 0xffffffffffffff80ULL);
	CHECK(pci_access(EP + PCI_CLASS_PROG, 1, false, 3, ESR_ELx_SSE | ESR_ELx_SF));
	CHECK_EQ(host.regs.regs[3], 0xffffff80ULL);
	CHECK(pci_access(EP, 4, false, 31, 0));
	/* A 16-bit T32 load (IL clear): the PC moves by 2. */
	CHECK(pci_access(EP, 4, false, 3, ESR_ELx_IL));
	/* What is not one aligned access of at most 4 bytes is not emulated. */
	CHECK(!pci_access(EP + 2, 4, false, 3, 0));
	CHECK(!pci_access(EP, 8, false, 3, 0));
	CHECK(!pkvm_pci_host_abort(&host, (u64)ESR_ELx_EC_DABT_LOW << ESR_ELx_EC_SHIFT, EP, EP));
	CHECK(!pkvm_pci_host_abort(&host, (u64)ESR_ELx_EC_IABT_LOW << ESR_ELx_EC_SHIFT |
				   ESR_ELx_ISV, EP, EP));
	CHECK(!pci_access(EP, 4, false, 3, ESR_ELx_FnV));
	/* Nor anything outside every window. */
	CHECK(!pci_access(EL2_ECAM_BASE + EL2_ECAM_SIZE, 4, false, 3, 0));

	/*
	 * A load that aborts at EL2 (a function that does not complete it)
	 * reads as all ones, the host goes on; nor does the hypervisor panic
	 * on its own loads: registration finds nothing there, a claim whose
	 * reset cannot read the function fails.
	 */
	CHECK_EQ(pkvm_pci_test_abort(), -EIO);
	el2_ecam_set_abort(EP);
	CHECK_EQ(pci_load(EP, 4), 0xffffffff);
	CHECK_EQ(pci_load(EP + PCI_COMMAND, 2), 0xffff);
	CHECK(pci_access(EP + PCI_LATENCY_TIMER, 1, true, 5, 0));
	/* A function whose reset cannot read it: its stream never goes. */
	CHECK_EQ(el2_pci_add_port(16), 0);
	CHECK_EQ(el2_pci_add_fn(16, 0, false, idx[1], 0x1600, ABRT_BAR, PAGE_SIZE), 0);
	el2_ecam_set_abort(ECAM_FN(16, 0));
	CHECK_EQ(pci_give(EL2_VM_HANDLE_OFFSET, ABRT_BAR, PAGE_SIZE), 0);
	CHECK_EQ(pkvm_pci_stream_assignable(EL2_VM_HANDLE_OFFSET, idx[1], 0x1600), -EPERM);
	/* Nor can it be reset at release: quarantined, the host cannot attach it. */
	pkvm_pci_release_vm(EL2_VM_HANDLE_OFFSET);
	ret = pkvm_pci_lock_host_stream(idx[1], 0x1600);
	if (!ret)
		pkvm_pci_unlock_host_stream();
	CHECK_EQ(ret, -EBUSY);
	el2_ecam_set_abort(ECAM_FN(6, 0));
	pci_bare_fn(ECAM_FN(6, 0), PCI_HEADER_TYPE_NORMAL);
	CHECK_EQ(__pkvm_pci_register_fn(ECAM_FN(6, 0), PKVM_PCI_NO_STREAM, 0), -ENODEV);
	el2_ecam_set_abort(0);
	CHECK_EQ(pci_load(EP, 4), 0x11e81234);
	CHECK_EQ(pci_store(EP + PCI_COMMAND, 2, PCI_COMMAND_MEMORY), PCI_COMMAND_MEMORY);

	/* Stores that move nothing pass: command, latency timer, the BAR as it was. */
	CHECK_EQ(pci_store(EP + PCI_COMMAND, 2, PCI_COMMAND_MEMORY), PCI_COMMAND_MEMORY);
	CHECK_EQ(pci_store(EP + PCI_LATENCY_TIMER, 1, 0x40), 0x40);
	CHECK_EQ(pci_store(EP + PCI_BASE_ADDRESS_0, 4, 0), EP_BAR);
	CHECK_EQ(pci_store(EP + PCI_BASE_ADDRESS_0 + 2, 2, 0x1050), EP_BAR >> 16);
	CHECK_EQ(pci_store(EP + PCI_BASE_ADDRESS_0 + 3, 1, 0), EP_BAR >> 24);
	CHECK_EQ(pci_store(EP + PCI_ROM_ADDRESS, 4, 0x20000000), 0);
	/* A reset function can be restored; the enable bit of its ROM is free. */
	((u32 *)el2_ecam_frame(EP, 4096))[PCI_BASE_ADDRESS_0 / 4] = 0;
	CHECK_EQ(pci_store(EP + PCI_BASE_ADDRESS_0, 4, EP_BAR), EP_BAR);
	CHECK_EQ(pci_store(EP + PCI_ROM_ADDRESS, 4, PCI_ROM_ADDRESS_ENABLE),
		 PCI_ROM_ADDRESS_ENABLE);
	/* The bridge: no renumbering, no window moved; its latency timer is free. */
	CHECK_EQ(pci_store(BR + PCI_SECONDARY_BUS, 1, 2), 1);
	CHECK_EQ(pci_store(BR + PCI_SUBORDINATE_BUS, 1, 9), 1);
	CHECK_EQ(pci_store(BR + PCI_PRIMARY_BUS, 4, 0x40010100), 0x40010100);
	CHECK_EQ(pci_store(BR + PCI_MEMORY_BASE, 4, 0x10401040), 0);
	CHECK_EQ(pci_store(BR + PCI_PREF_BASE_UPPER32, 4, 1), 0);
	/* A hot-added bridge cannot be numbered either; a hot-added endpoint is the host's. */
	hot = el2_ecam_frame(HOT, 4096);
	memset(hot, 0, PCI_STD_HEADER_SIZEOF);
	hot[PCI_VENDOR_ID / 4] = 0x11e81234;
	hot[PCI_CACHE_LINE_SIZE / 4] = PCI_HEADER_TYPE_BRIDGE << 16;
	CHECK_EQ(pci_store(HOT + PCI_SECONDARY_BUS, 1, 1), 0);
	CHECK_EQ(pci_store(HOT + PCI_COMMAND, 2, PCI_COMMAND_MASTER), PCI_COMMAND_MASTER);
	hot[PCI_CACHE_LINE_SIZE / 4] = 0;
	CHECK_EQ(pci_store(HOT + PCI_BASE_ADDRESS_0, 4, EP_BAR), EP_BAR);

	/* Past the header: what gates routing is frozen, the rest passes. */
	rp = el2_ecam_frame(RP, 4096);
	memset(rp, 0, 4096);
	rp[PCI_VENDOR_ID / 4] = 0x11e81234;
	rp[PCI_COMMAND / 4] = PCI_STATUS_CAP_LIST << 16;
	rp[PCI_CACHE_LINE_SIZE / 4] = PCI_HEADER_TYPE_BRIDGE << 16;
	rp[PCI_PRIMARY_BUS / 4] = 3 << 8 | 3 << 16;
	rp[PCI_CAPABILITY_LIST / 4] = RP_EXP;
	rp[RP_EXP / 4] = PCI_CAP_ID_EXP | (2 | PCI_EXP_TYPE_ROOT_PORT << 4) << 16;
	rp[PCI_CFG_SPACE_SIZE / 4] = PCI_EXT_CAP_ID_ACS | 1 << 16;
	rp[(PCI_CFG_SPACE_SIZE + PCI_ACS_CTRL) / 4] = (PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_UF) << 16;
	CHECK_EQ(__pkvm_pci_register_fn(RP, PKVM_PCI_NO_STREAM, 0), 0);
	/* A root port's BAR (QEMU's holds its MSI-X table) keeps the window assignable. */
	CHECK_EQ(__pkvm_pci_register_bar(RP, 0x10b00000, PAGE_SIZE), 0);
	CHECK_EQ(pci_store(RP + RP_EXP + PCI_EXP_LNKCTL, 2, PCI_EXP_LNKCTL_LD), 0);
	CHECK_EQ(pci_store(RP + RP_EXP + PCI_EXP_LNKCTL, 2, PCI_EXP_LNKCTL_RL),
		 PCI_EXP_LNKCTL_RL);
	CHECK_EQ(pci_store(RP + RP_EXP + PCI_EXP_RTCTL, 2, PCI_EXP_RTCTL_RRS_SVE), 0);
	CHECK_EQ(pci_store(RP + RP_EXP + PCI_EXP_DEVCTL2, 2, PCI_EXP_DEVCTL2_ARI), 0);
	CHECK_EQ(pci_store(RP + RP_EXP + PCI_EXP_DEVCTL2, 1, 0xf), 0);
	CHECK_EQ(pci_store(RP + RP_EXP + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_PHANTOM), 0);
	CHECK_EQ(pci_store(RP + RP_EXP + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_RELAX_EN),
		 PCI_EXP_DEVCTL_RELAX_EN);
	CHECK_EQ(pci_store(RP + PCI_CFG_SPACE_SIZE + PCI_ACS_CTRL, 2, 0),
		 PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_UF);
	CHECK_EQ(pci_store(RP + PCI_BRIDGE_CONTROL, 2, PCI_BRIDGE_CTL_VGA), 0);
	CHECK_EQ(pci_store(RP + PCI_BRIDGE_CONTROL, 2, PCI_BRIDGE_CTL_SERR), PCI_BRIDGE_CTL_SERR);

	/* A capability list that loops: what it would gate is unknown, never assigned. */
	hot = el2_ecam_frame(ECAM_FN(3, 0), 4096);
	memset(hot, 0, 4096);
	hot[PCI_VENDOR_ID / 4] = 0x11e81234;
	hot[PCI_COMMAND / 4] = PCI_STATUS_CAP_LIST << 16;
	hot[PCI_CAPABILITY_LIST / 4] = 0x40;
	hot[0x40 / 4] = PCI_CAP_ID_MSI | 0x40 << 8;
	CHECK_EQ(__pkvm_pci_register_fn(ECAM_FN(3, 0), idx[1], 0x300), 0);
	CHECK_EQ(__pkvm_pci_register_bar(ECAM_FN(3, 0), 0x10c00000, PAGE_SIZE), 0);
	CHECK_EQ(pkvm_pci_claim_bar(EL2_VM_HANDLE_OFFSET, 0x10c00000, PAGE_SIZE), -EPERM);

	/* The stream of a function the VM does not hold whole goes nowhere. */
	CHECK_EQ(pkvm_pci_stream_assignable(EL2_VM_HANDLE_OFFSET, idx[0], 0x100), -EPERM);
	CHECK_EQ(pkvm_pci_claim_bar(EL2_VM_HANDLE_OFFSET, EL2_MEM_BASE, PAGE_SIZE), -EPERM);
	CHECK_EQ(pkvm_pci_claim_bar(EL2_VM_HANDLE_OFFSET, EP_BAR + 3 * PAGE_SIZE,
				    2 * PAGE_SIZE), -EPERM);
	CHECK_EQ(pkvm_pci_claim_bar(EL2_VM_HANDLE_OFFSET, 0x10600000, PAGE_SIZE), -EPERM);
	CHECK_EQ(pkvm_pci_claim_bar(EL2_VM_HANDLE_OFFSET, 0x10700000, PAGE_SIZE), -EPERM);
	/* A claim: the function is the VM's; a failed one with nothing given undoes it. */
	CHECK_EQ(pci_store(EP + PCI_COMMAND, 2, PCI_COMMAND_MEMORY), PCI_COMMAND_MEMORY);
	CHECK_EQ(pkvm_pci_claim_bar(EL2_VM_HANDLE_OFFSET, EP_BAR, PAGE_SIZE), 0);
	CHECK_EQ(pci_store(EP + PCI_COMMAND, 2, 0), PCI_COMMAND_MEMORY);
	pkvm_pci_bar_given(EL2_VM_HANDLE_OFFSET, EP_BAR, PAGE_SIZE, false);
	CHECK_EQ(pci_store(EP + PCI_COMMAND, 2, 0), 0);
	/* Two claims in flight: one failing keeps the other's hold. */
	CHECK_EQ(pkvm_pci_claim_bar(EL2_VM_HANDLE_OFFSET, EP_BAR, PAGE_SIZE), 0);
	CHECK_EQ(pkvm_pci_claim_bar(EL2_VM_HANDLE_OFFSET, EP_BAR + PAGE_SIZE, PAGE_SIZE), 0);
	pkvm_pci_bar_given(EL2_VM_HANDLE_OFFSET, EP_BAR + PAGE_SIZE, PAGE_SIZE, false);
	CHECK_EQ(pci_store(EP + PCI_COMMAND, 2, PCI_COMMAND_MEMORY), 0);
	pkvm_pci_bar_given(EL2_VM_HANDLE_OFFSET, EP_BAR, PAGE_SIZE, false);
	CHECK_EQ(pci_store(EP + PCI_COMMAND, 2, PCI_COMMAND_MEMORY), PCI_COMMAND_MEMORY);
	/*
	 * Not while the stream translates for the host: the VM would drive a
	 * device whose DMA reaches the host's memory. Once held, the host
	 * cannot attach it.
	 */
	dom = __pkvm_iommu_alloc_domain(PKVM_IOMMU_DOMAIN_S2, &needed);
	while (dom == -ENOMEM && topup(needed))
		dom = __pkvm_iommu_alloc_domain(PKVM_IOMMU_DOMAIN_S2, &needed);
	CHECK(dom >= 0);
	while ((ret = __pkvm_iommu_attach(dom, idx[0], 0x100, &needed)) == -ENOMEM &&
	       topup(needed))
		;
	CHECK_EQ(ret, 0);
	CHECK_EQ(pkvm_pci_claim_bar(EL2_VM_HANDLE_OFFSET, EP_BAR, PAGE_SIZE), -EBUSY);
	CHECK_EQ(__pkvm_iommu_detach(dom, idx[0], 0x100), 0);
	CHECK_EQ(pkvm_pci_claim_bar(EL2_VM_HANDLE_OFFSET, EP_BAR, PAGE_SIZE), 0);
	CHECK_EQ(__pkvm_iommu_attach(dom, idx[0], 0x100, &needed), -EBUSY);
	pkvm_pci_bar_given(EL2_VM_HANDLE_OFFSET, EP_BAR, PAGE_SIZE, false);
	CHECK_EQ(__pkvm_iommu_free_domain(dom), 0);

	/*
	 * Given page by page: the host keeps the pages not given yet, so it
	 * could still program the device (SERR reporting, here) and nothing is
	 * reset; the last page resets it, so that nothing the host programmed
	 * reaches the VM. The stream waits for that.
	 */
	CHECK_EQ(pci_store(EP + PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_SERR),
		 PCI_COMMAND_MEMORY | PCI_COMMAND_SERR);
	resets = el2_ecam_resets;
	for (pfn = 0; pfn < 4; pfn++) {
		CHECK_EQ(pkvm_pci_stream_assignable(EL2_VM_HANDLE_OFFSET, idx[0], 0x100),
			 -EPERM);
		CHECK_EQ(el2_ecam_resets, resets);
		CHECK_EQ(pkvm_pci_claim_bar(EL2_VM_HANDLE_OFFSET, EP_BAR + pfn * PAGE_SIZE,
					    PAGE_SIZE), 0);
		/* Another VM cannot take the function meanwhile. */
		CHECK_EQ(pkvm_pci_claim_bar(EL2_VM_HANDLE_OFFSET + 1, EP_BAR, PAGE_SIZE),
			 -EBUSY);
		pkvm_pci_bar_given(EL2_VM_HANDLE_OFFSET, EP_BAR + pfn * PAGE_SIZE, PAGE_SIZE,
				   true);
		/* Every store to a function a VM holds is dropped, and to its aliases. */
		CHECK_EQ(pci_store(ALIAS + 0x40, 4, 0x12345678), 0xffffffff);
		if (pfn < 3)
			CHECK_EQ(pci_store(EP + PCI_COMMAND, 2, PCI_COMMAND_MASTER),
				 PCI_COMMAND_MEMORY | PCI_COMMAND_SERR);
	}
	/* Being reset: it reads as absent, takes no store, its stream waits. */
	CHECK_EQ(el2_ecam_resets, resets + 1);
	CHECK_EQ(pci_load(EP, 4), 0xffffffff);
	CHECK_EQ(pci_store(EP + PCI_COMMAND, 2, PCI_COMMAND_MASTER), 0xffff);
	CHECK_EQ(((u32 *)el2_ecam_frame(EP, 4096))[PCI_COMMAND / 4] & 0xffff, 0);
	CHECK_EQ(pkvm_pci_stream_assignable(EL2_VM_HANDLE_OFFSET, idx[0], 0x100), -EAGAIN);
	/* Then its BAR is back, with decoding and bus mastering on, SERR off. */
	CHECK_EQ(pci_stream_wait(EL2_VM_HANDLE_OFFSET, idx[0], 0x100), 0);
	CHECK_EQ(el2_ecam_resets, resets + 1);
	CHECK_EQ(pci_load(EP + PCI_COMMAND, 2), EP_CMD);
	CHECK_EQ(pci_load(EP + PCI_BASE_ADDRESS_0, 4), EP_BAR);
	CHECK_EQ(pci_store(EP + PCI_COMMAND, 2, PCI_COMMAND_MASTER), EP_CMD);
	CHECK_EQ(pkvm_pci_stream_assignable(EL2_VM_HANDLE_OFFSET + 1, idx[0], 0x100), -EPERM);
	CHECK_EQ(pkvm_pci_stream_assignable(EL2_VM_HANDLE_OFFSET, idx[0], 0x108), -EPERM);
	CHECK_EQ(pkvm_pci_stream_assignable(EL2_VM_HANDLE_OFFSET, idx[1], 0x100), -EPERM);
	/*
	 * The VM's teardown gives it back, reset first: what the VM left in
	 * the device does not reach the host. Then its BAR and decoding are
	 * back, bus mastering is the host's to turn on.
	 */
	pkvm_pci_release_vm(EL2_VM_HANDLE_OFFSET + 1);
	CHECK_EQ(pci_store(EP + PCI_COMMAND, 2, PCI_COMMAND_MASTER), EP_CMD);
	resets = el2_ecam_resets;
	pkvm_pci_release_vm(EL2_VM_HANDLE_OFFSET);
	CHECK_EQ(el2_ecam_resets, resets + 1);
	CHECK_EQ(pci_store(EP + PCI_COMMAND, 2, PCI_COMMAND_MASTER), 0xffff);
	pci_settle(EP);
	CHECK_EQ(pci_load(EP + PCI_COMMAND, 2), PCI_COMMAND_MEMORY);
	CHECK_EQ(pci_load(EP + PCI_BASE_ADDRESS_0, 4), EP_BAR);
	CHECK_EQ(pci_store(EP + PCI_COMMAND, 2, PCI_COMMAND_MASTER), PCI_COMMAND_MASTER);
	CHECK_EQ(pci_store(ALIAS + 0x40, 4, 0x12345678), 0x12345678);
	CHECK_EQ(pkvm_pci_stream_assignable(EL2_VM_HANDLE_OFFSET, idx[0], 0x100), -EPERM);

	/*
	 * Only a function alone below a root port goes to a VM: nothing the
	 * host drives decodes in that port's windows, and below a switch port
	 * its siblings could reach it peer-to-peer. Without an FLR it is reset
	 * by a secondary bus reset of the root port.
	 */
	f = pci_bare_fn(NOT_RP, PCI_HEADER_TYPE_BRIDGE);
	f[PCI_PRIMARY_BUS / 4] = 17 << 8 | 17 << 16;
	pci_exp_cap(f, PCI_EXP_TYPE_DOWNSTREAM, 0);
	CHECK_EQ(__pkvm_pci_register_fn(NOT_RP, PKVM_PCI_NO_STREAM, 0), 0);
	CHECK_EQ(el2_pci_add_fn(17, 0, false, idx[1], 0x1100, 0x12000000 + SZ_1M, PAGE_SIZE), 0);
	CHECK_EQ(pkvm_pci_claim_bar(EL2_VM_HANDLE_OFFSET, 0x12000000 + SZ_1M, PAGE_SIZE),
		 -EPERM);
	CHECK_EQ(el2_pci_add_port(5), 0);
	f = pci_bare_fn(NOFLR, PCI_HEADER_TYPE_NORMAL);
	f[PCI_BASE_ADDRESS_0 / 4] = NOFLR_BAR;
	CHECK_EQ(__pkvm_pci_register_fn(NOFLR, idx[1], 0x500), 0);
	CHECK_EQ(__pkvm_pci_register_bar(NOFLR, NOFLR_BAR, PAGE_SIZE), 0);
	CHECK_EQ(el2_pci_add_port(PAIR), 0);
	CHECK_EQ(el2_pci_add_fn(PAIR, 0, false, idx[1], 0xf00, PAIR_BAR, PAGE_SIZE), 0);
	CHECK_EQ(el2_pci_add_fn(PAIR, 8, false, idx[1], 0xf08, PAIR_BAR + SZ_1M, PAGE_SIZE), 0);
	CHECK_EQ(pkvm_pci_claim_bar(EL2_VM_HANDLE_OFFSET, PAIR_BAR, PAGE_SIZE), -EPERM);
	resets = el2_ecam_resets;
	CHECK_EQ(pci_give(EL2_VM_HANDLE_OFFSET, NOFLR_BAR, PAGE_SIZE), 0);
	CHECK_EQ(el2_ecam_resets, resets + 1);
	/* The pulse is over: the bridge no longer holds its bus in reset. */
	CHECK_EQ(pci_load(SBR_BR + PCI_BRIDGE_CONTROL, 2) & PCI_BRIDGE_CTL_BUS_RESET, 0);
	CHECK_EQ(pkvm_pci_stream_assignable(EL2_VM_HANDLE_OFFSET, idx[1], 0x500), -EAGAIN);
	CHECK_EQ(pci_stream_wait(EL2_VM_HANDLE_OFFSET, idx[1], 0x500), 0);
	CHECK_EQ(pci_load(NOFLR + PCI_BASE_ADDRESS_0, 4), NOFLR_BAR);
	CHECK_EQ(pci_load(NOFLR + PCI_COMMAND, 2), EP_CMD);
	pkvm_pci_release_vm(EL2_VM_HANDLE_OFFSET);
	CHECK_EQ(el2_ecam_resets, resets + 2);
	pci_settle(NOFLR);
	CHECK_EQ(pci_load(NOFLR + PCI_COMMAND, 2), PCI_COMMAND_MEMORY);

	/* A VM holds at most 8 functions: its teardown resets each. */
	for (i = 0; i <= 8; i++) {
		CHECK_EQ(el2_pci_add_port(FULL_BUS + i), 0);
		CHECK_EQ(el2_pci_add_fn(FULL_BUS + i, 0, false, idx[1], 0x1700 + i,
					FULL_BAR + i * SZ_1M, PAGE_SIZE), 0);
		CHECK_EQ(pci_give(EL2_VM_HANDLE_OFFSET, FULL_BAR + i * SZ_1M, PAGE_SIZE),
			 i < 8 ? 0 : -ENOSPC);
	}
	for (i = 0; i < 8; i++)
		CHECK_EQ(pci_stream_wait(EL2_VM_HANDLE_OFFSET, idx[1], 0x1700 + i), 0);
	resets = el2_ecam_resets;
	pkvm_pci_release_vm(EL2_VM_HANDLE_OFFSET);
	CHECK_EQ(el2_ecam_resets, resets + 8);
	/*
	 * The root port above a function being reset takes no store from the
	 * host (a power state, a bus reset, would keep the reset from being
	 * checked), nor does another VM's claim: should the reset fail, the
	 * function is quarantined.
	 */
	CHECK_EQ(pci_store(ECAM_FN(0, 0x80 + FULL_BUS) + PCI_BRIDGE_CONTROL, 2,
			   PCI_BRIDGE_CTL_BUS_RESET), 0);
	CHECK_EQ(pkvm_pci_claim_bar(EL2_VM_HANDLE_OFFSET + 1, FULL_BAR, PAGE_SIZE), -EBUSY);
	pci_settle(ECAM_FN(FULL_BUS, 0));
	CHECK_EQ(pci_store(ECAM_FN(0, 0x80 + FULL_BUS) + PCI_BRIDGE_CONTROL, 2,
			   PCI_BRIDGE_CTL_SERR), PCI_BRIDGE_CTL_SERR);
	CHECK_EQ(pci_store(ECAM_FN(0, 0x80 + FULL_BUS) + PCI_BRIDGE_CONTROL, 2, 0), 0);
	/* A function still answering with Request Retry Status is not reset yet. */
	CHECK_EQ(pci_give(EL2_VM_HANDLE_OFFSET, FULL_BAR, PAGE_SIZE), 0);
	((u16 *)el2_ecam_frame(ECAM_FN(FULL_BUS, 0), 4096))[0] = 0x0001;
	for (i = 0; i < 150; i++)
		CHECK_EQ(pkvm_pci_stream_assignable(EL2_VM_HANDLE_OFFSET, idx[1], 0x1700), -EAGAIN);
	((u16 *)el2_ecam_frame(ECAM_FN(FULL_BUS, 0), 4096))[0] = 0x1234;
	CHECK_EQ(pci_stream_wait(EL2_VM_HANDLE_OFFSET, idx[1], 0x1700), 0);
	pkvm_pci_release_vm(EL2_VM_HANDLE_OFFSET);

	/*
	 * A function whose FLR does nothing: its BARs keep their addresses, so
	 * the hypervisor sees that it was not reset and never lets its stream
	 * go. After the VM it is quarantined: the host cannot turn it on
	 * again (decoding and bus mastering stay off), claim it or attach it.
	 */
	CHECK_EQ(el2_pci_add_port(18), 0);
	CHECK_EQ(el2_pci_add_fn(18, 0, false, idx[1], 0x1200, BROKEN_BAR, PAGE_SIZE), 0);
	el2_ecam_flr_broken = true;
	CHECK_EQ(pci_give(EL2_VM_HANDLE_OFFSET, BROKEN_BAR, PAGE_SIZE), 0);
	CHECK_EQ(pci_stream_wait(EL2_VM_HANDLE_OFFSET, idx[1], 0x1200), -EPERM);
	pkvm_pci_release_vm(EL2_VM_HANDLE_OFFSET);
	pci_settle(BROKEN);
	CHECK_EQ(pci_store(BROKEN + PCI_COMMAND, 2, PCI_COMMAND_MEMORY), 0);
	CHECK_EQ(pkvm_pci_claim_bar(EL2_VM_HANDLE_OFFSET, BROKEN_BAR, PAGE_SIZE), -EPERM);
	ret = pkvm_pci_lock_host_stream(idx[1], 0x1200);
	if (!ret)
		pkvm_pci_unlock_host_stream();
	CHECK_EQ(ret, -EBUSY);
	el2_ecam_flr_broken = false;

	pci_msi_test(idx, topup);
	return tap_cur_failed;
}
