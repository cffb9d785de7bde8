// SPDX-License-Identifier: GPL-2.0-only
/*
 * Device assignment to a protected VM, at EL2 (docs/pvm-device-assignment.md,
 * first step): the SMMUs walk the VM's own stage-2, built by the kernel's
 * kvm_pgtable as pKVM builds a guest's (40-bit IPA, two concatenated start
 * tables, blocks), and every change kvm_pgtable makes to it reaches the
 * SMMUs through the CPU TLB maintenance hooks (patch 0017, el2/memory.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/pci_regs.h>
#include <asm/kvm_hyp.h>
#include <asm/kvm_pkvm_smmu.h>
#include <nvhe/iommu.h>
#include <nvhe/mem_protect.h>
#include <nvhe/memory.h>
#include <nvhe/pci_cfg.h>
#include <nvhe/pkvm.h>
#include <nvhe/smmu_v3.h>

#include "arm-smmu-v3.h"
#include "el2.h"
#include "../tap.h"

#define PVM_IPA_BITS	40
/*
 * The VM's memory: pages at PVM_PAGES_IPA, a 2 MiB block at PVM_BLOCK_IPA
 * and a page after it, so that unmapping the block frees no table.
 */
#define PVM_PAGES_IPA	(BIT_ULL(PVM_IPA_BITS) - 0x200000ULL)
#define PVM_NR_PAGES	4
#define PVM_BLOCK_IPA	0x40000000ULL
#define PVM_BLOCK_SIZE	0x200000ULL
/* An assigned device's BAR (host MMIO) and where the VM and a domain map it. */
#define PVM_BAR		0x10100000ULL
#define PVM_BAR_PAGES	16
#define PVM_BAR_IPA	0x30000000ULL
#define PVM_BAR_IOVA	0x7000000ULL
/* el2.c's test_peer_mmio() registered it, the only one. */
#define PVM_DOORBELL	0x08090000ULL
/*
 * Where the assigned streams reach it: the root above the VM's two level-1
 * start tables (512 GiB each) leads there with its third entry.
 */
#define PVM_MSI_BASE	BIT_ULL(PVM_IPA_BITS)
/* The configuration space of the function on @bus (el2_pci_add_fn()). */
#define PVM_FN_CFG(bus)	(EL2_ECAM_BASE + ((u64)(bus) << 20))
/* Streams assigned to the VM, one per SMMU, away from el2.c's; their functions. */
static const u32 pvm_sid[] = { 0x21, 0x221 };
#define PVM_BAR2	0x10200000ULL
#define PVM_BAR2_PAGES	2
/*
 * Another protected VM, with a domain of its own: its function (in the
 * third window), whose stream is on the second SMMU, and its BAR.
 */
#define PVM_B		(EL2_VM_HANDLE_OFFSET + 3)
#define PVM_B_BUS	(EL2_PCI_WIN3_BUS + 16)
#define PVM_B_SID	0x240
#define PVM_B_BAR	0x10300000ULL
/*
 * A third SMMU, whose 40-bit output size is the VM's input size but not
 * its MSI root's (41 bits), and a function of VM A's behind it.
 */
#define PVM_SMALL_MMIO	0x090d0000ULL
#define PVM_SMALL_BUS	(EL2_PCI_WIN3_BUS + 17)
#define PVM_SMALL_SID	0x50
#define PVM_SMALL_BAR	0x10380000ULL

/* The VM's table pages: from the pool, refcounted as pKVM's hyp_pool does. */
static void *pvm_zalloc_page(void *arg)
{
	phys_addr_t pa = el2_host_alloc(1, 1);

	if (!pa)
		return NULL;
	memset(hyp_phys_to_virt(pa), 0, PAGE_SIZE);
	el2_page(pa)->refcount = 1;
	return hyp_phys_to_virt(pa);
}

static void *pvm_zalloc_pages_exact(size_t size)
{
	u64 nr = size >> PAGE_SHIFT, i;
	phys_addr_t pa = el2_host_alloc(nr, nr);

	if (!pa)
		return NULL;
	memset(hyp_phys_to_virt(pa), 0, size);
	for (i = 0; i < nr; i++)
		el2_page(pa + (i << PAGE_SHIFT))->refcount = 1;
	return hyp_phys_to_virt(pa);
}

static void pvm_free_pages_exact(void *addr, size_t size)
{
	u64 nr = size >> PAGE_SHIFT, i;

	for (i = 0; i < nr; i++)
		el2_page(hyp_virt_to_phys(addr) + (i << PAGE_SHIFT))->refcount = 0;
	el2_host_free(hyp_virt_to_phys(addr), nr);
}

static void pvm_get_page(void *addr)
{
	el2_page(hyp_virt_to_phys(addr))->refcount++;
}

static void pvm_put_page(void *addr)
{
	phys_addr_t pa = hyp_virt_to_phys(addr) & PAGE_MASK;

	if (!--el2_page(pa)->refcount)
		el2_host_free(pa, 1);
}

static int pvm_page_count(void *addr)
{
	return el2_page(hyp_virt_to_phys(addr) & PAGE_MASK)->refcount;
}

static void pvm_cmo(void *addr, size_t size)
{
}

/*
 * A VM with @handle, protected or not, whose stage-2 uses the FWB encoding
 * or not (@s2_flags), in the VM table.
 */
struct pkvm_hyp_vm *el2_pvm_create(unsigned int handle, bool protected,
				   unsigned int s2_flags)
{
	struct pkvm_hyp_vm *vm = calloc(1, sizeof(*vm));

	if (!vm)
		abort();
	vm->kvm.arch.pkvm.handle = handle;
	vm->kvm.arch.pkvm.is_protected = protected;
	vm->kvm.arch.mmu.vtcr = kvm_get_vtcr(id_aa64mmfr0_el1_sys_val,
					     id_aa64mmfr1_el1_sys_val, PVM_IPA_BITS);
	vm->mm_ops = (struct kvm_pgtable_mm_ops) {
		.zalloc_page		= pvm_zalloc_page,
		.zalloc_pages_exact	= pvm_zalloc_pages_exact,
		.free_pages_exact	= pvm_free_pages_exact,
		.get_page		= pvm_get_page,
		.put_page		= pvm_put_page,
		.page_count		= pvm_page_count,
		.phys_to_virt		= hyp_phys_to_virt,
		.virt_to_phys		= hyp_virt_to_phys,
		.dcache_clean_inval_poc	= pvm_cmo,
		.icache_inval_pou	= pvm_cmo,
	};
	hyp_spin_lock_init(&vm->lock);
	if (__kvm_pgtable_stage2_init(&vm->pgt, &vm->kvm.arch.mmu, &vm->mm_ops,
				      s2_flags, NULL)) {
		free(vm);
		return NULL;
	}
	vm->kvm.arch.mmu.pgt = &vm->pgt;
	if (el2_vm_insert(vm)) {
		kvm_pgtable_stage2_destroy(&vm->pgt);
		free(vm);
		return NULL;
	}
	return vm;
}

/* Out of the VM table, its stage-2 tables freed: after the teardown. */
void el2_pvm_destroy(struct pkvm_hyp_vm *vm)
{
	el2_vm_remove(vm->kvm.arch.pkvm.handle);
	kvm_pgtable_stage2_destroy(&vm->pgt);
	free(vm);
}

/* Guest memory: host pages donated to the VM (the host has no access). */
phys_addr_t el2_pvm_donate(u64 nr, u64 align)
{
	phys_addr_t pa = el2_host_alloc(nr, align);
	u64 i;

	CHECK(pa);
	for (i = 0; i < nr; i++)
		el2_page(pa + (i << PAGE_SHIFT))->host = EL2_NOPAGE;
	return pa;
}

int el2_pvm_map(struct pkvm_hyp_vm *vm, u64 ipa, phys_addr_t pa, u64 size)
{
	int ret;

	hyp_spin_lock(&vm->lock);
	/* Table pages come from the pool: the memcache argument only needs to exist. */
	ret = kvm_pgtable_stage2_map(&vm->pgt, ipa, size, pa, KVM_PGTABLE_PROT_RW,
				     vm, 0);
	hyp_spin_unlock(&vm->lock);
	return ret;
}

/* Without FEAT_S2FWB the CPU invalidates each leaf as it goes, by level. */
static void pvm_set_s2fwb(bool on)
{
	u64 bit = 1ULL << (ARM64_HAS_STAGE2_FWB % 64);

	if (on)
		el2_cpucaps[ARM64_HAS_STAGE2_FWB / 64] |= bit;
	else
		el2_cpucaps[ARM64_HAS_STAGE2_FWB / 64] &= ~bit;
}

int el2_pvm_unmap(struct pkvm_hyp_vm *vm, u64 ipa, u64 size)
{
	int ret;

	hyp_spin_lock(&vm->lock);
	ret = kvm_pgtable_stage2_unmap(&vm->pgt, ipa, size);
	hyp_spin_unlock(&vm->lock);
	return ret;
}

/*
 * The assigned device's BAR goes to the VM: never while a DMA mapping
 * borrows host MMIO, never a doorbell, memory or a bad range; once the
 * VM's, the host can no longer lend it. Leaves the BAR the VM's.
 */
static void pvm_mmio_test(int host_domain, u64 (*topup)(u64))
{
	const u64 rw = PKVM_IOMMU_PROT_READ | PKVM_IOMMU_PROT_WRITE;
	const u64 h = EL2_VM_HANDLE_OFFSET;
	u64 done, needed;

	CHECK_EQ(__pkvm_iommu_map(host_domain, PVM_BAR_IOVA, PVM_BAR, 2 * PAGE_SIZE, rw,
				  &done, &needed), 0);
	CHECK_EQ(el2_mmio_borrowed, 2);
	CHECK_EQ(el2_pvm_assign_mmio(h, PVM_BAR, PVM_BAR_IPA, PVM_BAR_PAGES, topup), -EBUSY);
	CHECK_EQ(__pkvm_iommu_unmap(host_domain, PVM_BAR_IOVA, 2 * PAGE_SIZE, 0, &done), 0);
	CHECK_EQ(el2_mmio_borrowed, 0);

	CHECK_EQ(el2_pvm_assign_mmio(h, PVM_BAR, PVM_BAR_IPA, 0, topup), -EINVAL);
	CHECK_EQ(el2_pvm_assign_mmio(h, PVM_BAR, PVM_BAR_IPA, PKVM_IOMMU_MAP_MAX_PAGES + 1, topup),
		 -EINVAL);
	CHECK_EQ(el2_pvm_assign_mmio(h, PVM_BAR, 1ULL << 40, 1, topup), -EINVAL);
	CHECK_EQ(el2_pvm_assign_mmio(h, U64_MAX << PAGE_SHIFT, PVM_BAR_IPA, 1, topup), -EINVAL);
	CHECK_EQ(el2_pvm_assign_mmio(h + 1, PVM_BAR, PVM_BAR_IPA, 1, topup), -EINVAL);
	CHECK_EQ(el2_pvm_assign_mmio(h + 7, PVM_BAR, PVM_BAR_IPA, 1, topup), -ENOENT);
	CHECK_EQ(el2_pvm_assign_mmio(h, PVM_DOORBELL, PVM_BAR_IPA, 1, topup), -EPERM);
	CHECK_EQ(el2_pvm_assign_mmio(h, EL2_MEM_BASE - PAGE_SIZE, PVM_BAR_IPA, 2, topup),
		 -EPERM);

	/* Only pages of one BAR of a function registered before pKVM finalised. */
	CHECK_EQ(el2_pvm_assign_mmio(h, PVM_BAR + PVM_BAR_PAGES * PAGE_SIZE, PVM_BAR_IPA, 1, topup),
		 -EPERM);
	CHECK_EQ(el2_pvm_assign_mmio(h, PVM_BAR + PAGE_SIZE, PVM_BAR_IPA, PVM_BAR_PAGES, topup),
		 -EPERM);

	CHECK_EQ(el2_pvm_assign_mmio(h, PVM_BAR, PVM_BAR_IPA, PVM_BAR_PAGES, topup), 0);
	CHECK_EQ(el2_pvm_assign_mmio(h, PVM_BAR, PVM_BAR_IPA, PVM_BAR_PAGES, topup), -EPERM);
	/* Another protected VM cannot take the function. */
	CHECK_EQ(el2_pvm_assign_mmio(h + 2, PVM_BAR, PVM_BAR_IPA, 1, topup), -EBUSY);
	CHECK_EQ(__pkvm_iommu_map(host_domain, PVM_BAR_IOVA, PVM_BAR + PAGE_SIZE, PAGE_SIZE,
				  rw, &done, &needed), -EPERM);
	CHECK_EQ(el2_mmio_borrowed, 0);
}

/* Take every record left in the event queues of @idx[0 .. n). */
static void pvm_drain_events(const int *idx, unsigned int n)
{
	u64 evt[PKVM_SMMU_EVT_DWORDS];
	unsigned int i;

	for (i = 0; i < n; i++)
		while (__pkvm_smmu_pop_event(idx[i], evt) > 0)
			;
}

/*
 * SMMU @idx's next record is a translation fault of stream @sid: with its
 * address @iova, or with nothing but its type and stream (@iova 0).
 */
static void pvm_check_event(int idx, u32 sid, u64 iova)
{
	u64 evt[PKVM_SMMU_EVT_DWORDS];

	CHECK_EQ(__pkvm_smmu_pop_event(idx, evt), 1);
	CHECK_EQ(FIELD_GET(EVTQ_0_ID, evt[0]), EVT_ID_TRANSLATION_FAULT);
	CHECK_EQ(FIELD_GET(EVTQ_0_SID, evt[0]), sid);
	CHECK_EQ(evt[2], iova);
	if (!iova) {
		CHECK_EQ(evt[0] & ~(EVTQ_0_ID | EVTQ_0_SID), 0);
		CHECK_EQ(evt[1] | evt[3], 0);
	}
}

int el2_pvm_assign(u64 handle, int smmu, u32 sid, u64 (*topup)(u64))
{
	unsigned int tries = 0;
	u64 needed;
	int ret;

	do {
		ret = __pkvm_iommu_assign_pvm(handle, smmu, sid, &needed);
		if (ret == -ENOMEM && !topup(needed))
			break;
	} while ((ret == -ENOMEM || ret == -EAGAIN) && ++tries < 10000);
	return ret;
}

/* The register at @rel of the MSI capability of the function on @bus, as the device has it. */
static u32 pvm_msi_raw(u8 bus, u32 rel)
{
	u32 val;

	memcpy(&val, (u8 *)el2_ecam_frame(PVM_FN_CFG(bus), 4096) + EL2_PCI_MSI + rel, 4);
	return val;
}

/* A host store to it, emulated. */
static bool pvm_msi_store(u8 bus, u32 rel, unsigned int size, u64 val)
{
	return el2_pci_host_access(PVM_FN_CFG(bus) + EL2_PCI_MSI + rel, size, true, &val);
}

/* The host routes the MSIs of the function on @bus to @addr and turns them on. */
static void pvm_msi_setup(u8 bus, u64 addr)
{
	CHECK(pvm_msi_store(bus, PCI_MSI_ADDRESS_LO, 4, lower_32_bits(addr)));
	CHECK(pvm_msi_store(bus, PCI_MSI_ADDRESS_HI, 4, upper_32_bits(addr)));
	CHECK(pvm_msi_store(bus, PCI_MSI_DATA_64, 2, 0x20));
	CHECK(pvm_msi_store(bus, PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE));
}

/* The device's MSI address: where it writes to signal one. */
static u64 pvm_msi_addr(u8 bus)
{
	return pvm_msi_raw(bus, PCI_MSI_ADDRESS_LO) |
	       (u64)pvm_msi_raw(bus, PCI_MSI_ADDRESS_HI) << 32;
}

/* Is @pte a valid table descriptor? */
static bool pvm_pte_table(kvm_pte_t pte)
{
	return kvm_pte_valid(pte) && FIELD_GET(KVM_PTE_TYPE, pte) == KVM_PTE_TYPE_TABLE;
}

/*
 * @root is what the SMMUs walk for protected VM @vm: a table one level
 * above the VM's start level, whose first entries are the VM's two start
 * tables, the third leads to the doorbell's last-level table (at
 * PVM_MSI_BASE), and nothing after. The doorbell's leaf is there only once
 * the host @routed an MSI of the VM's to it. @tables: the root and the
 * tables of that third entry, by level.
 */
static void pvm_check_msi_root(const struct pkvm_hyp_vm *vm, phys_addr_t root,
			       phys_addr_t *tables, bool routed)
{
	const u64 *table = hyp_phys_to_virt(root);
	unsigned int i;
	s8 level;

	for (i = 0; i < 2; i++) {
		CHECK(pvm_pte_table(table[i]));
		CHECK_EQ(kvm_pte_to_phys(table[i]), hyp_virt_to_phys(vm->pgt.pgd) + i * PAGE_SIZE);
	}
	CHECK_EQ(table[3], 0);
	tables[0] = root;
	for (level = 0; level < KVM_PGTABLE_LAST_LEVEL; level++) {
		/* Past the VM's input range, at the start of each table below. */
		kvm_pte_t pte = table[level ? 0 : 2];

		CHECK(pvm_pte_table(pte));
		if (!pvm_pte_table(pte))
			return;
		tables[level + 1] = kvm_pte_to_phys(pte);
		table = hyp_phys_to_virt(tables[level + 1]);
	}
	if (!routed) {
		CHECK_EQ(table[0], 0);
		return;
	}
	CHECK(kvm_pte_valid(table[0]));
	CHECK_EQ(kvm_pte_to_phys(table[0]), PVM_DOORBELL);
}

struct pvm_ste {
	u32	sid;
	u64	root;
	u16	vmid;
	bool	found;
};

static void pvm_find_ste(void *arg, u32 sid, const u64 *ste, bool cached)
{
	struct pvm_ste *s = arg;

	if (cached || sid != s->sid)
		return;
	s->root = ste[3] & STRTAB_STE_3_S2TTB_MASK;
	s->vmid = FIELD_GET(STRTAB_STE_2_S2VMID, ste[2]);
	s->found = true;
}

/*
 * Two streams behind two SMMUs assigned to one protected VM: both reach the
 * VM's pages and its block by IPA through the VM's own table, under one root
 * of the domain's that also leads, past the VM's IPA space, to the MSI
 * doorbell (write-only), each with its SMMU's VMID. The host can route the
 * devices' MSIs only there (nvhe/pci_cfg.c), and only once the stream is
 * the VM's; the doorbell is reachable only from the host's first route of
 * an MSI of the VM's to it, and then only from that VM's streams, not
 * another protected VM's (VM B, with a domain of its own). A stream behind
 * an SMMU that cannot walk the root walks the VM's table itself, and its
 * device gets no MSIs. The host can neither map the VM's pages, nor
 * take the streams, nor assign them to anything but a live protected VM
 * whose table the SMMU decodes. Unmapping a page or the block in the VM's
 * stage-2 (a relinquish, a reclaim) removes it from both SMMUs' TLBs before
 * kvm_pgtable returns; the teardown makes both streams abort, and the
 * domain's own tables go back after a grace period.
 */
int el2_pvm_test(struct smmu_model *const *models, const int *idx, unsigned int n,
		 u64 (*topup)(u64))
{
	struct smmu_model_stats defer_stats[2];
	u64 evt[PKVM_SMMU_EVT_DWORDS];
	struct pkvm_hyp_vm *vm, *np_vm, *fwb_vm, *vm_b;
	struct pvm_ste ste_b = {}, ste_small = {};
	struct smmu_model *small;
	int small_idx;
	phys_addr_t pages, block, pa, msi_root = 0;
	phys_addr_t msi_tables[KVM_PGTABLE_LAST_LEVEL + 1] = {};
	u64 done, needed, ipa;
	unsigned int i, p;
	int host_domain, ret;
	kvm_pte_t pte;

	/* This file's CHECK()s count here (tap.h's state is per file). */
	tap_cur_failed = 0;
	CHECK(n == ARRAY_SIZE(pvm_sid));
	/* The devices of the streams, as the host registers them before pKVM finalises. */
	for (i = 20; i <= 22; i++)
		CHECK_EQ(el2_pci_add_port(i), 0);
	CHECK_EQ(el2_pci_add_fn(20, 0, false, idx[0], pvm_sid[0], PVM_BAR,
				PVM_BAR_PAGES * PAGE_SIZE), 0);
	CHECK_EQ(el2_pci_add_fn(21, 0, false, idx[1], pvm_sid[1], PVM_BAR2,
				PVM_BAR2_PAGES * PAGE_SIZE), 0);
	/* A BAR over an MSI doorbell: the doorbell still never goes to a VM. */
	CHECK_EQ(el2_pci_add_fn(22, 0, false, idx[1], 0x400, PVM_DOORBELL, PAGE_SIZE), 0);
	CHECK_EQ(el2_pci_add_port(PVM_B_BUS), 0);
	CHECK_EQ(el2_pci_add_fn(PVM_B_BUS, 0, false, idx[1], PVM_B_SID, PVM_B_BAR, PAGE_SIZE), 0);
	/* The third SMMU, as the host driver registers it (late: the harness allows it). */
	small = smmu_model_create(PVM_SMALL_MMIO, true);
	smmu_model_set_oas(small, IDR5_OAS_40_BIT);
	small_idx = el2_host_register_smmu(PVM_SMALL_MMIO);
	CHECK(small_idx >= 0);
	CHECK_EQ(el2_pci_add_port(PVM_SMALL_BUS), 0);
	CHECK_EQ(el2_pci_add_fn(PVM_SMALL_BUS, 0, false, small_idx, PVM_SMALL_SID, PVM_SMALL_BAR,
				PAGE_SIZE), 0);
	vm = el2_pvm_create(EL2_VM_HANDLE_OFFSET, true, KVM_PGTABLE_S2_NOFWB);
	np_vm = el2_pvm_create(EL2_VM_HANDLE_OFFSET + 1, false, KVM_PGTABLE_S2_NOFWB);
	fwb_vm = el2_pvm_create(EL2_VM_HANDLE_OFFSET + 2, true, 0);
	vm_b = el2_pvm_create(PVM_B, true, KVM_PGTABLE_S2_NOFWB);
	if (!vm || !np_vm || !fwb_vm || !vm_b) {
		CHECK(!"four VMs");
		return 1;
	}
	pvm_drain_events(idx, n);
	/* As pKVM's guests: two concatenated start tables. */
	CHECK_EQ(kvm_pgtable_stage2_pgd_size(vm->kvm.arch.mmu.vtcr), 2 * PAGE_SIZE);

	pages = el2_pvm_donate(PVM_NR_PAGES, 1);
	block = el2_pvm_donate(PVM_BLOCK_SIZE >> PAGE_SHIFT, PVM_BLOCK_SIZE >> PAGE_SHIFT);
	for (p = 0; p < PVM_NR_PAGES; p++)
		CHECK_EQ(el2_pvm_map(vm, PVM_PAGES_IPA + p * PAGE_SIZE, pages + p * PAGE_SIZE,
				 PAGE_SIZE), 0);
	CHECK_EQ(el2_pvm_map(vm, PVM_BLOCK_IPA, block, PVM_BLOCK_SIZE), 0);
	CHECK_EQ(el2_pvm_map(vm, PVM_BLOCK_IPA + PVM_BLOCK_SIZE, pages, PAGE_SIZE), 0);

	/* What the host may not assign. */
	CHECK_EQ(el2_pvm_assign(EL2_VM_HANDLE_OFFSET + 7, idx[0], pvm_sid[0], topup), -ENOENT);
	CHECK_EQ(el2_pvm_assign(1ULL << 32 | EL2_VM_HANDLE_OFFSET, idx[0], pvm_sid[0], topup),
		 -ENOENT);
	CHECK_EQ(el2_pvm_assign(EL2_VM_HANDLE_OFFSET + 1, idx[0], pvm_sid[0], topup), -EINVAL);
	/* FWB-encoded leaves, and no SMMU with STE.S2FWB. */
	CHECK_EQ(el2_pvm_assign(EL2_VM_HANDLE_OFFSET + 2, idx[0], pvm_sid[0], topup),
		 -EOPNOTSUPP);
	CHECK_EQ(el2_pvm_assign(EL2_VM_HANDLE_OFFSET, PKVM_SMMU_MAX, pvm_sid[0], topup), -EINVAL);
	CHECK_EQ(el2_pvm_assign(EL2_VM_HANDLE_OFFSET, idx[0], 1U << 31, topup), -EINVAL);
	/* The device's BAR is still the host's: it could drive the device. */
	CHECK_EQ(el2_pvm_assign(EL2_VM_HANDLE_OFFSET, idx[0], pvm_sid[0], topup), -EPERM);
	/* A stream of no registered function. */
	CHECK_EQ(el2_pvm_assign(EL2_VM_HANDLE_OFFSET, idx[0], pvm_sid[0] + 1, topup), -EPERM);

	/* The first BAR goes whole (pvm_mmio_test()), the second page by page. */
	host_domain = __pkvm_iommu_alloc_domain(PKVM_IOMMU_DOMAIN_S2, &needed);
	while (host_domain == -ENOMEM && topup(needed))
		host_domain = __pkvm_iommu_alloc_domain(PKVM_IOMMU_DOMAIN_S2, &needed);
	CHECK(host_domain >= 0);
	pvm_mmio_test(host_domain, topup);
	CHECK_EQ(el2_pvm_assign_mmio(EL2_VM_HANDLE_OFFSET, PVM_BAR2, PVM_BAR_IPA + SZ_1M, 1, topup),
		 0);
	CHECK_EQ(el2_pvm_assign(EL2_VM_HANDLE_OFFSET, idx[1], pvm_sid[1], topup), -EPERM);
	CHECK_EQ(el2_pvm_assign_mmio(EL2_VM_HANDLE_OFFSET, PVM_BAR2 + PAGE_SIZE,
				 PVM_BAR_IPA + SZ_1M + PAGE_SIZE, PVM_BAR2_PAGES - 1, topup), 0);

	/*
	 * The function is the VM's and reset, its stream not yet: the host's
	 * MSI stores land nowhere, not even a doorbell's address.
	 */
	for (p = 0; p < 10000; p++) {
		ret = pkvm_pci_stream_assignable(EL2_VM_HANDLE_OFFSET, idx[0], pvm_sid[0]);
		if (ret != -EAGAIN)
			break;
	}
	CHECK_EQ(ret, 0);
	pvm_msi_setup(20, PVM_DOORBELL);
	CHECK_EQ(pvm_msi_addr(20), 0);
	CHECK_EQ(pvm_msi_raw(20, PCI_MSI_DATA_64) & 0xffff, 0);
	CHECK_EQ(pvm_msi_raw(20, PCI_MSI_FLAGS) & PCI_MSI_FLAGS_ENABLE, 0);

	for (i = 0; i < n; i++) {
		CHECK_EQ(el2_pvm_assign(EL2_VM_HANDLE_OFFSET, idx[i], pvm_sid[i], topup), 0);
		CHECK_EQ(el2_pvm_assign(EL2_VM_HANDLE_OFFSET, idx[i], pvm_sid[i], topup), -EBUSY);
	}
	CHECK_EQ(vm->refcount, 0);
	/* VM B's stream, after VM A's: a domain of its own. */
	CHECK_EQ(el2_pvm_assign_mmio(PVM_B, PVM_B_BAR, PVM_BAR_IPA, 1, topup), 0);
	CHECK_EQ(el2_pvm_assign(PVM_B, idx[1], PVM_B_SID, topup), 0);
	/*
	 * VM A's stream behind the third SMMU, which cannot walk the MSI root
	 * the domain has since its first stream: it walks the VM's table
	 * itself, and the host's MSI stores to its function all go nowhere.
	 */
	ipa = PVM_BAR_IPA + 2 * SZ_1M;
	CHECK_EQ(el2_pvm_assign_mmio(EL2_VM_HANDLE_OFFSET, PVM_SMALL_BAR, ipa, 1, topup), 0);
	CHECK_EQ(el2_pvm_assign(EL2_VM_HANDLE_OFFSET, small_idx, PVM_SMALL_SID, topup), 0);
	ste_small.sid = PVM_SMALL_SID;
	smmu_model_visit_stes(small, pvm_find_ste, &ste_small);
	CHECK(ste_small.found);
	CHECK_EQ(ste_small.root, hyp_virt_to_phys(vm->pgt.pgd));
	CHECK_EQ(smmu_model_dma(small, PVM_SMALL_SID, PVM_PAGES_IPA + PAGE_SIZE + 8, true, &pa), 0);
	CHECK_EQ(pa, pages + PAGE_SIZE + 8);
	pvm_msi_setup(PVM_SMALL_BUS, PVM_DOORBELL + 0x40);
	CHECK_EQ(pvm_msi_addr(PVM_SMALL_BUS), 0);
	CHECK_EQ(pvm_msi_raw(PVM_SMALL_BUS, PCI_MSI_DATA_64) & 0xffff, 0);
	CHECK_EQ(pvm_msi_raw(PVM_SMALL_BUS, PCI_MSI_FLAGS) & PCI_MSI_FLAGS_ENABLE, 0);

	for (i = 0; i < n; i++) {
		struct pvm_ste ste = { .sid = pvm_sid[i] };

		/*
		 * One root of the domain's, a level above the VM's table: its
		 * first entries are the VM's two start tables (no copy), the
		 * next leads to the doorbell. A VMID of this SMMU's own.
		 */
		smmu_model_visit_stes(models[i], pvm_find_ste, &ste);
		CHECK(ste.found);
		CHECK(ste.root != hyp_virt_to_phys(vm->pgt.pgd));
		if (!i)
			msi_root = ste.root;
		CHECK_EQ(ste.root, msi_root);
		CHECK(ste.vmid != 0);
		if (ste.found)
			pvm_check_msi_root(vm, ste.root, msi_tables, false);
		/*
		 * Not the doorbell yet: the host has routed no MSI of the VM's
		 * there. Nothing after it.
		 */
		CHECK(smmu_model_dma(models[i], pvm_sid[i], PVM_MSI_BASE + 0x40, true, &pa) < 0);
		CHECK(smmu_model_dma(models[i], pvm_sid[i], PVM_MSI_BASE + PAGE_SIZE, true,
				     &pa) < 0);
		CHECK(smmu_model_dma(models[i], pvm_sid[i], PVM_MSI_BASE - PAGE_SIZE, true,
				     &pa) < 0);
		pvm_drain_events(&idx[i], 1);
		for (p = 0; p < PVM_NR_PAGES; p++) {
			CHECK_EQ(smmu_model_dma(models[i], pvm_sid[i],
						PVM_PAGES_IPA + p * PAGE_SIZE + 8, true, &pa), 0);
			CHECK_EQ(pa, pages + p * PAGE_SIZE + 8);
		}
		for (ipa = PVM_BLOCK_IPA; ipa < PVM_BLOCK_IPA + PVM_BLOCK_SIZE; ipa += 0x81000) {
			CHECK_EQ(smmu_model_dma(models[i], pvm_sid[i], ipa, false, &pa), 0);
			CHECK_EQ(pa, block + ipa - PVM_BLOCK_IPA);
		}
		/* Nothing else: an IPA the VM's stage-2 does not map faults. */
		CHECK(smmu_model_dma(models[i], pvm_sid[i], PVM_BLOCK_IPA - PAGE_SIZE,
				     false, &pa) < 0);
		/* The host learns that it faulted, not where. */
		pvm_check_event(idx[i], pvm_sid[i], 0);
		CHECK_EQ(__pkvm_smmu_pop_event(idx[i], evt), 0);
	}
	/* The VM's CPUs cannot reach the doorbell: past the input range of its stage-2. */
	CHECK(kvm_pgtable_get_leaf(&vm->pgt, PVM_MSI_BASE, &pte, NULL) < 0);
	CHECK(kvm_pgtable_get_leaf(&vm->pgt, PVM_MSI_BASE + 0x40, &pte, NULL) < 0);

	/* Nor VM B's stream. */
	ste_b.sid = PVM_B_SID;
	smmu_model_visit_stes(models[1], pvm_find_ste, &ste_b);
	CHECK(ste_b.found);
	CHECK(ste_b.root != msi_root);
	CHECK(smmu_model_dma(models[1], PVM_B_SID, PVM_MSI_BASE + 0x40, true, &pa) < 0);

	/*
	 * The host routes the first device's MSIs to the doorbell: from then
	 * on every stream of the VM reaches it (one root), write-only device
	 * memory; VM B's does not.
	 */
	pvm_msi_setup(20, PVM_DOORBELL + 0x40);
	pvm_check_msi_root(vm, msi_root, msi_tables, true);
	for (i = 0; i < n; i++) {
		CHECK_EQ(smmu_model_dma(models[i], pvm_sid[i], PVM_MSI_BASE + 0x40, true, &pa), 0);
		CHECK_EQ(pa, PVM_DOORBELL + 0x40);
		CHECK_EQ(smmu_model_dma(models[i], pvm_sid[i], PVM_MSI_BASE + 0x40, false, &pa),
			 -EACCES);
		CHECK_EQ(smmu_model_memattr(models[i], pvm_sid[i], PVM_MSI_BASE) & ~3, 0);
		CHECK(smmu_model_dma(models[i], pvm_sid[i], PVM_MSI_BASE + PAGE_SIZE, true,
				     &pa) < 0);
	}
	CHECK(smmu_model_dma(models[1], PVM_B_SID, PVM_MSI_BASE + 0x40, true, &pa) < 0);
	/* Nor the third SMMU's: past the input size of the VM's table. */
	CHECK(smmu_model_dma(small, PVM_SMALL_SID, PVM_MSI_BASE + 0x40, true, &pa) < 0);
	pvm_drain_events(&small_idx, 1);

	/*
	 * Each device gets where its stream reaches the doorbell, and its MSI
	 * lands there.
	 */
	for (i = 0; i < n; i++) {
		pvm_msi_setup(20 + i, PVM_DOORBELL + 0x40);
		CHECK_EQ(pvm_msi_addr(20 + i), PVM_MSI_BASE + 0x40);
		CHECK_EQ(pvm_msi_raw(20 + i, PCI_MSI_DATA_64) & 0xffff, 0x20);
		CHECK_EQ(pvm_msi_raw(20 + i, PCI_MSI_FLAGS) & PCI_MSI_FLAGS_ENABLE,
			 PCI_MSI_FLAGS_ENABLE);
		CHECK_EQ(smmu_model_dma(models[i], pvm_sid[i], pvm_msi_addr(20 + i), true, &pa), 0);
		CHECK_EQ(pa, PVM_DOORBELL + 0x40);
		/* An address of the VM's memory never reaches the device. */
		pvm_msi_setup(20 + i, PVM_PAGES_IPA);
		CHECK_EQ(pvm_msi_addr(20 + i), PVM_MSI_BASE + 0x40);
	}
	/*
	 * VM B's own route opens its own domain's doorbell. Its teardown
	 * closes it with the stream.
	 */
	pvm_msi_setup(PVM_B_BUS, PVM_DOORBELL + 0x40);
	CHECK_EQ(pvm_msi_addr(PVM_B_BUS), PVM_MSI_BASE + 0x40);
	CHECK_EQ(pvm_msi_raw(PVM_B_BUS, PCI_MSI_FLAGS) & PCI_MSI_FLAGS_ENABLE,
		 PCI_MSI_FLAGS_ENABLE);
	CHECK_EQ(smmu_model_dma(models[1], PVM_B_SID, PVM_MSI_BASE + 0x40, true, &pa), 0);
	CHECK_EQ(pa, PVM_DOORBELL + 0x40);
	CHECK_EQ(el2_vm_start_teardown(PVM_B), 0);
	CHECK(smmu_model_dma(models[1], PVM_B_SID, PVM_MSI_BASE + 0x40, true, &pa) < 0);
	pvm_drain_events(idx, n);

	/* The host cannot map the VM's pages, nor take its streams. */
	while ((ret = __pkvm_iommu_map(host_domain, 0x100000, pages, PAGE_SIZE,
				       PKVM_IOMMU_PROT_READ, &done, &needed)) == -ENOMEM &&
	       topup(needed))
		;
	CHECK_EQ(ret, -EPERM);
	for (i = 0; i < n; i++) {
		while ((ret = __pkvm_iommu_attach(host_domain, idx[i], pvm_sid[i] + 1,
						  &needed)) == -ENOMEM && topup(needed))
			;
		CHECK_EQ(ret, 0);
		CHECK_EQ(__pkvm_iommu_attach(host_domain, idx[i], pvm_sid[i], &needed),
			 -EBUSY);
		CHECK_EQ(__pkvm_iommu_detach(host_domain, idx[i], pvm_sid[i]), -ENOENT);
		CHECK_EQ(__pkvm_iommu_detach(host_domain, idx[i], pvm_sid[i] + 1), 0);
	}
	CHECK_EQ(__pkvm_iommu_free_domain(host_domain), 0);

	/*
	 * A page leaves the VM's stage-2: gone from both SMMUs' TLBs at once,
	 * and from the third one's, which walks the VM's table itself.
	 * With FEAT_S2FWB and range TLBIs, kvm_pgtable invalidates the range
	 * after its walk; without, each leaf as it clears it, by level.
	 */
	for (i = 0; i < n; i++)
		CHECK(smmu_model_tlb_reaches(models[i], pages + PAGE_SIZE));
	CHECK(smmu_model_tlb_reaches(small, pages + PAGE_SIZE));
	CHECK_EQ(el2_pvm_unmap(vm, PVM_PAGES_IPA + PAGE_SIZE, PAGE_SIZE), 0);
	CHECK(!smmu_model_tlb_reaches(small, pages + PAGE_SIZE));
	for (i = 0; i < n; i++) {
		CHECK(!smmu_model_tlb_reaches(models[i], pages + PAGE_SIZE));
		CHECK(smmu_model_dma(models[i], pvm_sid[i], PVM_PAGES_IPA + PAGE_SIZE,
				     false, &pa) < 0);
		CHECK_EQ(smmu_model_dma(models[i], pvm_sid[i], PVM_PAGES_IPA, false, &pa), 0);
	}
	/* So does the block, every page of it the SMMUs cached. */
	pvm_set_s2fwb(false);
	CHECK_EQ(el2_pvm_unmap(vm, PVM_BLOCK_IPA, PVM_BLOCK_SIZE), 0);
	pvm_set_s2fwb(true);
	for (i = 0; i < n; i++) {
		for (ipa = PVM_BLOCK_IPA; ipa < PVM_BLOCK_IPA + PVM_BLOCK_SIZE; ipa += 0x81000)
			CHECK(!smmu_model_tlb_reaches(models[i], block + ipa - PVM_BLOCK_IPA));
		CHECK(smmu_model_dma(models[i], pvm_sid[i], PVM_BLOCK_IPA, false, &pa) < 0);
		CHECK_EQ(smmu_model_dma(models[i], pvm_sid[i], PVM_BLOCK_IPA + PVM_BLOCK_SIZE,
					false, &pa), 0);
	}

	/*
	 * Pages 2 and 3 leave under pkvm_iommu_s2_defer(), as the teardown's
	 * BARs do: the CPU's TLBs as usual, the SMMUs' only at
	 * pkvm_iommu_s2_undefer(), once, VMID-wide, and not at all when nothing
	 * changed.
	 */
	for (i = 0; i < n; i++) {
		CHECK_EQ(smmu_model_dma(models[i], pvm_sid[i], PVM_PAGES_IPA + 2 * PAGE_SIZE,
					false, &pa), 0);
		defer_stats[i] = *smmu_model_stats(models[i]);
	}
	pkvm_iommu_s2_defer(&vm->kvm.arch.mmu);
	CHECK_EQ(el2_pvm_unmap(vm, PVM_PAGES_IPA + 2 * PAGE_SIZE, 2 * PAGE_SIZE), 0);
	for (i = 0; i < n; i++) {
		CHECK(smmu_model_tlb_reaches(models[i], pages + 2 * PAGE_SIZE));
		CHECK_EQ(smmu_model_stats(models[i])->cmds, defer_stats[i].cmds);
	}
	pkvm_iommu_s2_undefer(&vm->kvm.arch.mmu);
	for (i = 0; i < n; i++) {
		CHECK(!smmu_model_tlb_reaches(models[i], pages + 2 * PAGE_SIZE));
		CHECK(smmu_model_dma(models[i], pvm_sid[i], PVM_PAGES_IPA + 2 * PAGE_SIZE,
				     false, &pa) < 0);
		CHECK_EQ(smmu_model_stats(models[i])->tlbi_vmall, defer_stats[i].tlbi_vmall + 1);
		CHECK_EQ(smmu_model_stats(models[i])->tlbi_ipa, defer_stats[i].tlbi_ipa);
		defer_stats[i] = *smmu_model_stats(models[i]);
	}
	pkvm_iommu_s2_defer(&vm->kvm.arch.mmu);
	pkvm_iommu_s2_undefer(&vm->kvm.arch.mmu);
	for (i = 0; i < n; i++)
		CHECK_EQ(smmu_model_stats(models[i])->cmds, defer_stats[i].cmds);

	/* A fault recorded before the teardown, popped after it. */
	pvm_drain_events(idx, n);
	for (i = 0; i < n; i++)
		CHECK(smmu_model_dma(models[i], pvm_sid[i], PVM_BLOCK_IPA + 0x5000, true,
				     &pa) < 0);
	/* Teardown: refused while referenced; then both streams abort. */
	CHECK(get_pkvm_hyp_vm(EL2_VM_HANDLE_OFFSET) == vm);
	CHECK_EQ(el2_vm_start_teardown(EL2_VM_HANDLE_OFFSET), -EINVAL);
	put_pkvm_hyp_vm(vm);
	CHECK_EQ(el2_vm_start_teardown(EL2_VM_HANDLE_OFFSET), 0);
	CHECK(vm->kvm.arch.pkvm.is_dying);
	for (i = 0; i < n; i++) {
		struct pvm_ste ste = { .sid = pvm_sid[i] };

		smmu_model_visit_stes(models[i], pvm_find_ste, &ste);
		CHECK(!ste.found);
		CHECK(smmu_model_dma(models[i], pvm_sid[i], PVM_PAGES_IPA, false, &pa) < 0);
		CHECK(!smmu_model_tlb_reaches(models[i], pages));
		CHECK(smmu_model_dma(models[i], pvm_sid[i], PVM_MSI_BASE + 0x40, true, &pa) < 0);
		/* Reset: MSIs off, no address. */
		CHECK_EQ(pvm_msi_addr(20 + i), 0);
		CHECK_EQ(pvm_msi_raw(20 + i, PCI_MSI_FLAGS) & PCI_MSI_FLAGS_ENABLE, 0);
	}
	ste_small.found = false;
	smmu_model_visit_stes(small, pvm_find_ste, &ste_small);
	CHECK(!ste_small.found);
	CHECK(smmu_model_dma(small, PVM_SMALL_SID, PVM_PAGES_IPA, false, &pa) < 0);
	/*
	 * After a grace period the domain's own tables go back to the
	 * memcache, and from there to the host; then the memcache is as full
	 * as it was.
	 */
	done = 0;
	while ((ret = __pkvm_iommu_reclaim(PKVM_IOMMU_TOPUP_MAX)) > 0)
		done += ret;
	for (p = 0; p <= KVM_PGTABLE_LAST_LEVEL && msi_tables[p]; p++) {
		CHECK_EQ(el2_page(msi_tables[p])->host, EL2_OWNED);
		CHECK_EQ(el2_page(msi_tables[p])->hyp, EL2_NOPAGE);
	}
	CHECK_EQ(topup(done), done);
	CHECK_EQ(el2_pvm_assign(EL2_VM_HANDLE_OFFSET, idx[0], pvm_sid[0], topup), -EINVAL);
	/* The VM's stage-2 changes reach no SMMU any more. */
	CHECK_EQ(el2_pvm_unmap(vm, PVM_PAGES_IPA, PVM_NR_PAGES * PAGE_SIZE), 0);

	/*
	 * The streams are free for the host's domains again, once the reset
	 * the teardown started is over (the host driver waits for it; each
	 * refused call moves the harness's counter on by a millisecond).
	 */
	host_domain = __pkvm_iommu_alloc_domain(PKVM_IOMMU_DOMAIN_S2, &needed);
	while (host_domain == -ENOMEM && topup(needed))
		host_domain = __pkvm_iommu_alloc_domain(PKVM_IOMMU_DOMAIN_S2, &needed);
	CHECK(host_domain >= 0);
	CHECK_EQ(__pkvm_iommu_attach(host_domain, idx[0], pvm_sid[0], &needed), -EBUSY);
	for (p = 0; p < 10000 &&
	     (ret = __pkvm_iommu_attach(host_domain, idx[0], pvm_sid[0], &needed)) == -EBUSY; p++)
		;
	CHECK_EQ(ret, 0);
	/* Its record from the VM's time stays private; the host's own faults do not. */
	CHECK(smmu_model_dma(models[0], pvm_sid[0], PVM_BAR_IOVA, false, &pa) < 0);
	pvm_check_event(idx[0], pvm_sid[0], 0);
	pvm_check_event(idx[0], pvm_sid[0], PVM_BAR_IOVA);
	CHECK_EQ(__pkvm_iommu_detach(host_domain, idx[0], pvm_sid[0]), 0);
	/* So is the BAR; a domain freed with it mapped gives the borrow back. */
	CHECK_EQ(__pkvm_iommu_map(host_domain, PVM_BAR_IOVA, PVM_BAR, PVM_BAR_PAGES * PAGE_SIZE,
				  PKVM_IOMMU_PROT_READ, &done, &needed), 0);
	CHECK_EQ(el2_mmio_borrowed, PVM_BAR_PAGES);
	CHECK_EQ(__pkvm_iommu_free_domain(host_domain), 0);
	CHECK_EQ(el2_mmio_borrowed, 0);

	for (p = 0; p < PVM_NR_PAGES; p++)
		el2_page(pages + p * PAGE_SIZE)->host = EL2_OWNED;
	for (p = 0; p < PVM_BLOCK_SIZE >> PAGE_SHIFT; p++)
		el2_page(block + p * PAGE_SIZE)->host = EL2_OWNED;
	el2_host_free(pages, PVM_NR_PAGES);
	el2_host_free(block, PVM_BLOCK_SIZE >> PAGE_SHIFT);
	el2_pvm_destroy(vm);
	el2_pvm_destroy(np_vm);
	el2_pvm_destroy(fwb_vm);
	el2_pvm_destroy(vm_b);
	return tap_cur_failed;
}
