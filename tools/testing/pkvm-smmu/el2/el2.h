/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The harness around the real EL2 code: a physical memory pool with a
 * page-state table (memory.c) and SMMUv3 models (smmu_model.c).
 */
#ifndef __PKVM_EL2_HARNESS_H__
#define __PKVM_EL2_HARNESS_H__

#include <time.h>

#include <linux/types.h>

/* Physical memory: one memblock region, like QEMU virt's RAM at 1 GiB. */
#define EL2_MEM_BASE		0x40000000ULL
#define EL2_MEM_PAGES		4096ULL
#define EL2_MEM_SIZE		(EL2_MEM_PAGES << 12)
/* The host stage-2's input size; the rest of it below is MMIO. */
#define EL2_PA_BITS		48

/* Page states, as mem_protect.c keeps them per page (host and hyp view). */
enum el2_state {
	EL2_OWNED,		/* PKVM_PAGE_OWNED */
	EL2_SHARED_OWNED,	/* PKVM_PAGE_SHARED_OWNED */
	EL2_NOPAGE,		/* PKVM_NOPAGE */
};

struct el2_page {
	enum el2_state	host;
	enum el2_state	hyp;
	u32		share_dma_count;	/* host_share_guest_count */
	u32		refcount;
};

void el2_init(unsigned int nr_cpus);
void el2_set_cpu(unsigned int cpu);
struct el2_page *el2_page(phys_addr_t phys);
/* The state of a memory page, read under the host and hyp locks. */
struct el2_page el2_page_get(phys_addr_t phys);
/* The host's view of a physical page (it writes memcache links there). */
void *el2_host_va(phys_addr_t phys);
phys_addr_t el2_host_alloc(u64 nr_pages, u64 align_pages);
/* Does [start, end) overlap an MMIO frame the hypervisor took? */
bool el2_mmio_hyp_owned(u64 start, u64 end);
/* Register an SMMU as the host driver does; its index or a negative errno. */
int el2_host_register_smmu(phys_addr_t mmio);
/* Describe memory at @base, above the harness's, backed by nothing; forget it again. */
void el2_memory_describe(u64 base, u64 size);
void el2_memory_forget_last(void);
/*
 * Split the region holding [@at, @at + @len) in three (the middle one need
 * not be pages), the middle one with @flags (MEMBLOCK_NOMAP: the host's
 * pkvm_host_walk_inaccessible() names it, as mem_protect.c does).
 */
void el2_memory_split(u64 at, u64 len, unsigned long flags);
void el2_host_free(phys_addr_t phys, u64 nr_pages);
u64 el2_count_state(enum el2_state host, enum el2_state hyp);

struct smmu_model;

/*
 * The stress programs: count a failure in *@counter and print it (the first
 * 20 of the run) with the CPU it happened on; xorshift64 random numbers
 * (@state never 0); has CLOCK_MONOTONIC passed @deadline?
 */
void el2_report(u64 *counter, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
u64 el2_rand(u64 *state);
/*
 * argv[1..3]: operations (or rounds), seed and seconds, each kept as given
 * when absent; the seconds at most @max_seconds.
 */
void el2_stress_args(int argc, char **argv, u64 *ops, u64 *seed, unsigned int *seconds,
		     unsigned int max_seconds);
bool el2_past(const struct timespec *deadline);

/* nvhe/pkvm.c's VM table (the VM's handle is in kvm.arch.pkvm). */
#define EL2_VM_HANDLE_OFFSET	0x1000
#define EL2_MAX_VMS		8
struct pkvm_hyp_vm;
int el2_vm_insert(struct pkvm_hyp_vm *vm);
void el2_vm_remove(unsigned int handle);
/* __pkvm_start_teardown_vm(): 0, or a negative errno and the VM lives on. */
int el2_vm_start_teardown(unsigned int handle);
/*
 * el2/pvm.c: protected VMs whose stage-2 the kernel's kvm_pgtable builds as
 * pKVM does (40-bit IPA), in the VM table; guest pages donated by the host;
 * stage-2 changes under the VM's lock, as pKVM makes them.
 */
struct pkvm_hyp_vm *el2_pvm_create(unsigned int handle, bool protected,
				   unsigned int s2_flags);
void el2_pvm_destroy(struct pkvm_hyp_vm *vm);
phys_addr_t el2_pvm_donate(u64 nr, u64 align);
int el2_pvm_map(struct pkvm_hyp_vm *vm, u64 ipa, phys_addr_t pa, u64 size);
int el2_pvm_unmap(struct pkvm_hyp_vm *vm, u64 ipa, u64 size);
/*
 * __pkvm_iommu_assign_pvm(), topping up with @topup as long as it asks, and
 * asked again while the function is being reset (the harness's counter
 * moves on by a millisecond at each read).
 */
int el2_pvm_assign(u64 handle, int smmu, u32 sid, u64 (*topup)(u64));
/* el2/pvm.c: a protected VM's device assignment, on @n SMMUs; nonzero if it failed. */
int el2_pvm_test(struct smmu_model *const *models, const int *idx, unsigned int n,
		 u64 (*topup)(u64));
/*
 * el2/pci.c: PCI functions in the ECAM window (configuration space is plain
 * memory of el2/smmu_model.c there), registered with nvhe/pci_cfg.c.
 */
#define EL2_ECAM_BASE		0x30000000ULL
#define EL2_ECAM_SIZE		0x06000000ULL	/* buses 0 to 95 */
/* The first bus of the third window (el2_pci_add_port()), up to the end. */
#define EL2_PCI_WIN3_BUS	64
void *el2_ecam_frame(phys_addr_t phys, size_t size);
/* Functions the model reset (a Function Level Reset, or below a secondary bus reset). */
extern unsigned int el2_ecam_resets;
/* A Function Level Reset does nothing (the function keeps its state). */
extern bool el2_ecam_flr_broken;
/* The address registers of every MSI capability ignore stores. */
extern bool el2_ecam_msi_addr_stuck;
/* Make every configuration load from the function at @cfg_phys abort (0: none). */
void el2_ecam_set_abort(phys_addr_t cfg_phys);
/* VA nothing maps (pkvm_alloc_private_va_range()): loads from it abort. */
extern u8 el2_unmapped_va[4096];
/*
 * A function at @bus:@devfn, its stream @sid of SMMU @smmu (-1: none), its
 * BAR0; an endpoint has a PCI Express capability with a Function Level Reset
 * and, at EL2_PCI_MSI, an MSI capability (64-bit, per-vector masking).
 */
#define EL2_PCI_MSI		0x80
int el2_pci_add_fn(u8 bus, u8 devfn, bool bridge, int smmu, u32 sid, phys_addr_t bar,
		   u64 bar_size);
/*
 * A root port on bus 0 to bus @sec alone: a function goes to a VM only
 * alone below a bridge. From EL2_PCI_WIN3_BUS on, the port is on that bus,
 * the first of the third window (buses from there on are in that window,
 * which has root ports of its own).
 */
int el2_pci_add_port(u8 sec);
/*
 * One host load or store of @size bytes at @addr, as pkvm_pci_host_abort()
 * emulates it, the value in or out through *@val. Was it emulated?
 */
bool el2_pci_host_access(u64 addr, unsigned int size, bool store, u64 *val);
/* Give the VM the BAR of the function of stream @sid of SMMU @smmu. */
int el2_pvm_give_bar(u64 handle, int smmu, u32 sid, u64 (*topup)(u64));
/* __pkvm_iommu_assign_pvm_mmio(), topped up as long as it asks. */
int el2_pvm_assign_mmio(u64 handle, phys_addr_t bar, u64 ipa, u64 nr_pages,
			u64 (*topup)(u64));
int el2_pci_test(const int *idx, u64 (*topup)(u64));

extern u64 el2_cpu_tlbi_count;
extern u64 el2_dcache_flush_count;
extern u64 el2_mmio_borrowed;

/* SMMUv3 model. */
struct smmu_model;

#define SMMU_MODEL_TLB_SIZE	256

struct smmu_model_stats {
	u64	cmds;
	u64	syncs;
	u64	tlbi_ipa;
	u64	tlbi_vmall;
	u64	tlbi_all;	/* TLBI_NSNH_ALL */
	u64	cfgi;
	u64	bypass;		/* transactions that went through untranslated */
	u64	rejected;	/* commands refused with CMDQ_ERR (injected) */
	u64	stalled;	/* doorbells ignored while stalled */
	u64	events;		/* fault records written to the event queue */
	u64	incoherent;	/* cacheable accesses that would not snoop (non-shareable) */
};

/* Faults the model suffers on demand. */
enum smmu_model_fault {
	SMMU_MODEL_OK,
	/* CR0ACK never shows CR0.ATSCHK (until the knob is reset). */
	SMMU_MODEL_DROP_ATSCHK,
	/* The next command is rejected (CMDQ_ERR, no effect); then OK again. */
	SMMU_MODEL_REJECT_CMD,
	/* The queue stops: CONS does not move (until the knob is reset). */
	SMMU_MODEL_STALL,
};

struct smmu_model *smmu_model_create(phys_addr_t mmio, bool range_inv);
phys_addr_t smmu_model_mmio(struct smmu_model *m);
/* Advertise ATS (IDR0.ATS); before the hypervisor probes it. */
void smmu_model_set_ats(struct smmu_model *m, bool ats);
/* Advertise output address size @oas (an IDR5.OAS encoding); before the probe too. */
void smmu_model_set_oas(struct smmu_model *m, u8 oas);
/* Advertise IDR5.DS and IDR1.ATTR_TYPES_OVR; before the probe too. */
void smmu_model_set_lpa2(struct smmu_model *m, bool ds, bool attr_ovr);
/*
 * Advertise enhanced command queues: IDR1.ECMDQ, IDR6 and
 * CMDQ_CONTROL_PAGE_BASE0 (an offset from the frame); before the probe too.
 */
void smmu_model_set_ecmdq(struct smmu_model *m, u32 idr6, u64 page_base0);
/* More IDR1 bits (e.g. IDR1_REL, which the hypervisor refuses); before the probe. */
void smmu_model_set_idr1_extra(struct smmu_model *m, u32 bits);

/*
 * An SMMUv3 PMCG whose register page 0 is at @page0, counting with its
 * overflow MSI armed, as a host could leave it; @acks: whether IRQ_CTRLACK
 * follows IRQ_CTRL; @reloc: whether its counters are in page 1 (CFGR.RELOC_CTRS).
 */
struct pmcg_model *pmcg_model_create(phys_addr_t page0, bool acks, bool reloc);
void pmcg_model_state(struct pmcg_model *p, u32 *cr, u32 *irq_ctrl, u64 *irq_cfg0);
void smmu_model_set_fault(struct smmu_model *m, enum smmu_model_fault fault);
u32 smmu_model_cr0ack(struct smmu_model *m);
u32 smmu_model_gbpa(struct smmu_model *m);
/* Put a translation of @iova under @vmid in the TLB, as a previous user left it. */
void smmu_model_tlb_plant(struct smmu_model *m, u16 vmid, u64 iova, phys_addr_t pa);
bool smmu_model_tlb_has(struct smmu_model *m, u16 vmid, u64 iova);
/*
 * A cached translation of @iova under a VMID some valid STE uses, so that a
 * device could use it now: its VMID, a stream with that VMID, and its page.
 */
bool smmu_model_tlb_live(struct smmu_model *m, u64 iova, u16 *vmid, u32 *sid,
			 phys_addr_t *pa);
/*
 * 1 in @one_in command queue PROD writes (before the commands take effect)
 * and CONS reads yields the CPU first (0: never).
 */
void smmu_model_set_jitter(struct smmu_model *m, unsigned int one_in);
/* A device behind @m does DMA at @iova; 0 and *@pa, or a negative fault. */
int smmu_model_dma(struct smmu_model *m, u32 sid, u64 iova, bool write,
		   phys_addr_t *pa);
/* What that DMA would do now, without filling a cache or counting it. */
int smmu_model_probe(struct smmu_model *m, u32 sid, u64 iova, bool write,
		     phys_addr_t *pa);
/* MemAttr[3:0] of the leaf a walk for @iova finds now (no cache), or a negative fault. */
int smmu_model_memattr(struct smmu_model *m, u32 sid, u64 iova);
/* CR0.SMMUEN: off, it aborts or bypasses everything as GBPA says. */
bool smmu_model_translating(struct smmu_model *m);

struct smmu_model_tlb_entry {
	u16		vmid;
	u64		iova;	/* page */
	phys_addr_t	pa;	/* page */
	bool		r, w;
};

/* The valid TLB entries, at most @max; returns how many. */
unsigned int smmu_model_tlb_dump(struct smmu_model *m,
				 struct smmu_model_tlb_entry *out, unsigned int max);
typedef void (*smmu_model_page_fn)(void *arg, phys_addr_t pa, const char *what);
typedef void (*smmu_model_ste_fn)(void *arg, u32 sid, const u64 *ste, bool cached);

/* Each page the model reads configuration from (stream tables, queues). */
void smmu_model_visit_table_pages(struct smmu_model *m, smmu_model_page_fn fn,
				    void *arg);
/* Each valid STE in the stream table, then each in the configuration cache. */
void smmu_model_visit_stes(struct smmu_model *m, smmu_model_ste_fn fn, void *arg);
/* A cached translation of @pa (any VMID, any IOVA)? */
bool smmu_model_tlb_live_pa(struct smmu_model *m, phys_addr_t pa, u16 *vmid, u32 *sid,
			    u64 *iova);
bool smmu_model_tlb_reaches(struct smmu_model *m, phys_addr_t pa);
unsigned int smmu_model_tlb_entries(struct smmu_model *m);
const struct smmu_model_stats *smmu_model_stats(struct smmu_model *m);

#endif /* __PKVM_EL2_HARNESS_H__ */
