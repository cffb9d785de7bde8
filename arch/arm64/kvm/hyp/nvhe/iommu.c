// SPDX-License-Identifier: GPL-2.0-only
/*
 * pKVM IOMMU core: stage-2 domains in hypervisor memory, forwarded from the
 * host IOMMU driver.
 *
 * A domain is one VMSAv8-64 stage-2 page table, built with the kernel's own
 * EL2 page-table code (kvm_pgtable) in pages the host donated, and a tag
 * (VMID) on each SMMU that has streams attached to it. Every hypercall
 * argument comes from the host and is checked here; every page a domain maps
 * is borrowed from the host for as long as it is mapped
 * (__pkvm_host_share_dma), so it cannot be donated to the hypervisor or to a
 * guest while a device can reach it.
 *
 * Memory: the host tops up the IOMMU memcache (__pkvm_iommu_topup). A
 * hypercall that needs pages takes them all from the memcache before it
 * changes anything, or returns -ENOMEM with the number it needs; the host
 * tops up and repeats the call.
 *
 * Invalidation: each domain points to an immutable, sorted array of
 * {SMMU, VMID} (nvhe/smmu_invs.c). Unmap reads it without a lock after its
 * page-table update and invalidates each SMMU in it; attach and detach, under
 * domain->lock, build a new array, publish it and retire the old one, which
 * is freed only after a hypervisor grace period (nvhe/hyp_gp.c): every CPU
 * that was reading an array when it was retired has finished. The readers
 * bracket their reads (hyp_iommu_read_lock()/hyp_iommu_read_unlock()), so a
 * CPU that is off, suspended, running a guest or in the host never holds a
 * grace period back. docs/invalidation-array.md has the ordering argument.
 *
 * Bounded work: every hypercall does a bounded amount of work. Map and unmap
 * cover at most PKVM_IOMMU_MAP_MAX_PAGES; freeing a domain visits at most
 * HYP_IOMMU_FREE_BUDGET descriptors per call and returns -EAGAIN until it is
 * done; the identity domain is only created before pKVM finalises, while the
 * host is trusted.
 *
 * Protected VMs: a domain may also be a protected VM's, whose table is the
 * VM's own stage-2 (struct pkvm_hyp_vm's pgt), never mapped or unmapped
 * here: every change pKVM makes to that stage-2 reaches its CPU TLB
 * maintenance (nvhe/tlb.c), which also invalidates every SMMU in the
 * domain's array (pkvm_iommu_s2_flush_*()). docs/pvm-device-assignment.md
 * has the design.
 *
 * Lock order: vm_table_lock (a protected VM's teardown), then
 * hyp_iommu_identity_lock (creating the identity domain), then
 * hyp_pci_lock (nvhe/pci_cfg.c: a host attach holds it around the STE), then
 * domain->lock (attach, detach), then domain->pgt_lock (the page table: map,
 * unmap), then hyp_iommu_lock (domain table, memcache, grace period), then the
 * host and hyp component locks (page ownership). A domain's invs_lock (the
 * benchmark's locked reads only) nests inside its pgt_lock and lock and
 * outside an SMMU's, and nothing else is taken under it. The identity domain's
 * pgt_lock is the exception: it nests inside the host component lock (the
 * ownership hooks run with it held), which is why the host can never map or
 * unmap that domain. An SMMU's lock nests inside all of these.
 * hyp_iommu_zalloc_page() takes no lock: it draws from a reservation the
 * call made before taking domain->lock or domain->pgt_lock.
 */
#include <linux/bitfield.h>
#include <linux/err.h>
#include <linux/nospec.h>

#include <asm/kvm_hyp.h>
#include <asm/kvm_mmu.h>
#include <asm/kvm_pgtable.h>
#include <asm/kvm_pkvm.h>
#include <asm/kvm_pkvm_smmu.h>

#include <nvhe/iommu.h>
#include <nvhe/pci_cfg.h>
#include <nvhe/mem_protect.h>
#include <nvhe/memory.h>
#include <nvhe/mm.h>
#include <nvhe/hyp_gp.h>
#include <nvhe/pkvm.h>
#include <nvhe/smmu_invs.h>
#include <nvhe/smmu_tags.h>
#include <nvhe/smmu_v3.h>
#include <nvhe/spinlock.h>

/* Input address size of every domain: one page of level-1 table, 512 GiB. */
#define HYP_IOMMU_IAS		PKVM_IOMMU_IAS
/*
 * Leaf descriptors one __pkvm_iommu_free_domain() call visits at most, about
 * the work of one full-size unmap; the tables it frees on the way are at
 * most one per 512 of them, plus the path above.
 */
#define HYP_IOMMU_FREE_BUDGET	(4 * PKVM_IOMMU_MAP_MAX_PAGES)
/*
 * Output addresses every SMMU reads as the CPU wrote them. With 4 KiB pages
 * the descriptor format ends at bit 47, unless the kernel uses FEAT_LPA2:
 * kvm_pgtable then puts output address bits 51:50 in descriptor bits 9:8,
 * where an SMMU without IDR5.DS reads shareability (and bits 49:48 are RES0
 * to it). A domain may span SMMUs with and without IDR5.DS: nothing at or
 * above 2^48 is ever mapped (and an SMMU without it is refused if memory
 * reaches that high: smmu_probe_lpa2()).
 */
#define HYP_IOMMU_MAX_PA	BIT_ULL(48)
/* Protected VMs with a domain, and streams assigned to one of them, at most. */
#define HYP_IOMMU_MAX_PVMS		16
#define HYP_IOMMU_PVM_MAX_STREAMS	32
/* MSI doorbells the host may name (hyp_iommu_doorbells[]). */
#define HYP_IOMMU_MAX_DOORBELLS	16

struct hyp_iommu_stream {
	u16	smmu;
	u32	sid;
};

struct hyp_iommu_domain {
	/* hyp_iommu_lock */
	unsigned int		refs;

	hyp_spinlock_t		lock;
	/* Set at allocation, read-only after; the tables under pgt_lock. */
	struct kvm_pgtable	pgt;
	struct kvm_s2_mmu	mmu;		/* only its vtcr is used */
	hyp_spinlock_t		pgt_lock;
	/* Written under domain->lock, read by unmap without it. */
	struct smmu_invs __rcu	*invs;
	/* Only with the benchmark's locked reads (hyp_iommu_locked_invs). */
	hyp_spinlock_t		invs_lock;
	/* The host's identity domain: host map and unmap are refused. */
	bool			identity;
	/*
	 * Being freed (hyp_iommu_lock): nothing but __pkvm_iommu_free_domain()
	 * can name it, and that resumes at free_cursor (pgt_lock); all below
	 * free_cursor is unmapped and its tables freed.
	 */
	bool			dying;
	u64			free_cursor;
	/* domain->lock */
	u32			nr_streams;
	/*
	 * Per SMMU: the domain's VMID there and its streams. Written with both
	 * domain->lock and the SMMU's lock held, so either is enough to read.
	 */
	struct smmu_tag_ref	vmids[PKVM_SMMU_MAX];
	/*
	 * A protected VM's domain: the SMMUs walk the VM's stage-2, not pgt
	 * (unused). Set at creation. The domain has no id, so the host can
	 * name it only through the VM; it dies with the VM's teardown, which
	 * detaches the streams recorded here (domain->lock).
	 */
	struct pkvm_hyp_vm	*vm;
	struct hyp_iommu_stream	pvm_streams[HYP_IOMMU_PVM_MAX_STREAMS];
	/*
	 * A protected VM's domain with MSI doorbells (hyp_iommu_pvm_msi_root()):
	 * the SMMUs that can walk pgt do, whose root leads to the VM's start
	 * tables and to msi_doorbells doorbell pages from msi_base on. 0: no
	 * doorbells, the SMMUs walk the VM's table itself. Set at creation.
	 * The doorbells' leaves are written at creation and cleared at once;
	 * msi_leaves[] keeps them, msi_l3 is their table. A leaf goes back,
	 * for good, once the host routes an MSI to it (hyp_iommu_lock).
	 */
	u64			msi_base;
	unsigned int		msi_doorbells;
	kvm_pte_t		*msi_l3;
	kvm_pte_t		msi_leaves[HYP_IOMMU_MAX_DOORBELLS];
	/*
	 * A protected VM's domain is freed after a grace period: the host can
	 * name the VM's MMU to the TLB maintenance hypercalls at any time.
	 */
	struct hyp_gp_node	gp_node;
};

static DEFINE_HYP_SPINLOCK(hyp_iommu_lock);
/* Retired invalidation arrays; hyp_iommu_lock. */
static struct hyp_gp hyp_iommu_gp;
/* EL2 has no per-CPU allocation after boot: one slot per possible CPU. */
static struct hyp_gp_cpu hyp_iommu_gp_cpus[NR_CPUS];
/* Set once the grace period is set up; then the readers use it. */
static bool hyp_iommu_gp_ready;
/*
 * The host's identity domain, created once and never freed. Published and
 * read under the host component lock: pkvm_iommu_host_lost() and
 * pkvm_iommu_host_gained() run with it held. Creation is serialised by
 * hyp_iommu_identity_lock, the outermost lock of this file.
 */
static struct hyp_iommu_domain *hyp_iommu_identity;
static DEFINE_HYP_SPINLOCK(hyp_iommu_identity_lock);
/* This CPU's slot in hyp_iommu_gp_cpus[]: EL2 has no smp_processor_id(). */
static DEFINE_PER_CPU(unsigned int, hyp_iommu_cpu);
/* Domains by id; hyp_iommu_lock. */
static struct hyp_iommu_domain *hyp_iommu_domains[PKVM_IOMMU_MAX_DOMAINS];
/* Pages the host gave for domains, page tables and stream tables; hyp_iommu_lock. */
static struct kvm_hyp_memcache hyp_iommu_mc;
/*
 * The stage-2 MMU of each protected VM that has a domain, and that domain:
 * the CPU TLB maintenance of every stage-2 looks its MMU up here without a
 * lock, comparing pointers only. Written under hyp_iommu_lock, the domain
 * first and the MMU last (release); cleared MMU first at the VM's teardown,
 * when nothing holds a reference to the VM, so no flush of it runs.
 */
/*
 * The benchmark's third strategy (__pkvm_iommu_bench_knob(), test kernels
 * only): the invalidation path reads a domain's array under
 * domain->invs_lock, as drivers that keep their invalidation list under a
 * spinlock do, and attach and detach hold that lock while they build and
 * publish a new array. The grace period still guards every read, so the
 * knob can flip at any time.
 */
static bool hyp_iommu_locked_invs;
static const struct kvm_s2_mmu *hyp_iommu_pvm_mmus[HYP_IOMMU_MAX_PVMS];
static struct hyp_iommu_domain *hyp_iommu_pvm_domains[HYP_IOMMU_MAX_PVMS];
static unsigned int hyp_iommu_nr_pvms;

/*
 * The MSI doorbells (the GITS_TRANSLATER page of each GIC ITS): host MMIO
 * that a paging domain maps one page on its own, write-only, so that a device
 * can signal MSIs, and that the identity domain maps 1:1 (other host MMIO
 * only a paging domain maps, for peer-to-peer DMA). The host names them
 * before pKVM finalises, while it is trusted; entries never change once published:
 * writers serialise on hyp_iommu_doorbell_lock and publish with
 * smp_store_release() of the count, readers take no lock.
 */
static u64 hyp_iommu_doorbells[HYP_IOMMU_MAX_DOORBELLS];
static unsigned int hyp_iommu_nr_doorbells;
static DEFINE_HYP_SPINLOCK(hyp_iommu_doorbell_lock);

/* Free callback of a retired array: its page goes back to the memcache. */
static void hyp_iommu_free_retired(struct hyp_gp_node *node, void *arg)
{
	struct smmu_invs *invs = container_of(node, struct smmu_invs, gp_node);

	hyp_assert_lock_held(&hyp_iommu_lock);
	push_hyp_memcache(&hyp_iommu_mc, (phys_addr_t *)invs, hyp_virt_to_phys);
}

static void hyp_iommu_pvm_msi_free(struct hyp_iommu_domain *domain,
				   struct kvm_hyp_memcache *mc);

/* Free callback of a retired protected VM's domain. */
static void hyp_iommu_free_retired_domain(struct hyp_gp_node *node, void *arg)
{
	struct hyp_iommu_domain *domain = container_of(node, struct hyp_iommu_domain,
						       gp_node);

	hyp_assert_lock_held(&hyp_iommu_lock);
	hyp_iommu_pvm_msi_free(domain, &hyp_iommu_mc);
	push_hyp_memcache(&hyp_iommu_mc, (phys_addr_t *)domain, hyp_virt_to_phys);
}

static void hyp_iommu_reclaim_retired_locked(void)
{
	hyp_assert_lock_held(&hyp_iommu_lock);
	/* Pairs with smp_store_release() in pkvm_iommu_init(). */
	if (smp_load_acquire(&hyp_iommu_gp_ready))
		hyp_gp_reclaim_locked(&hyp_iommu_gp, NULL);
}

/*
 * Read-side critical section for invalidation arrays, RCU style: between
 * the two, this CPU may hold a pointer to an array, and no array retired
 * meanwhile is freed. Not nested; EL2 runs with interrupts masked, so the
 * section ends on the CPU it began on, and it does bounded work (at most one
 * invalidation per SMMU), so reclaim always makes progress: a CPU outside
 * one, whether in the host, in a guest, suspended or off, holds nothing.
 */
static void hyp_iommu_read_lock(void)
{
	/* Pairs with smp_store_release() in pkvm_iommu_init(). */
	if (smp_load_acquire(&hyp_iommu_gp_ready))
		hyp_gp_enter(&hyp_iommu_gp, *this_cpu_ptr(&hyp_iommu_cpu));
}

static void hyp_iommu_read_unlock(void)
{
	/* Pairs with smp_store_release() in pkvm_iommu_init(). */
	if (smp_load_acquire(&hyp_iommu_gp_ready))
		hyp_gp_quiescent(&hyp_iommu_gp, *this_cpu_ptr(&hyp_iommu_cpu));
}

/* Does [phys, phys + size) hold a doorbell page? The caller checked overflow. */
static bool hyp_iommu_range_has_doorbell(u64 phys, u64 size)
{
	/* Pairs with smp_store_release() in __pkvm_iommu_register_doorbell(). */
	unsigned int i, nr = smp_load_acquire(&hyp_iommu_nr_doorbells);

	for (i = 0; i < nr; i++)
		if (hyp_iommu_doorbells[i] - phys < size)
			return true;
	return false;
}

/**
 * __pkvm_iommu_register_doorbell() - Name an MSI doorbell page.
 * @phys:	Physical address of an ITS's GITS_TRANSLATER page.
 *
 * Only callable before pKVM finalises (the id sits below
 * __KVM_HOST_SMCCC_FUNC_MIN_PKVM). From then on paging domains may map the
 * page write-only, and the identity domain maps it 1:1.
 *
 * Return: 0, or -EINVAL (unaligned), -EPERM (memory), -ENOSPC (table full).
 */
int __pkvm_iommu_register_doorbell(u64 phys)
{
	unsigned int nr;
	int ret = 0;

	if (!is_protected_kvm_enabled())
		return -ENODEV;
	if (!PAGE_ALIGNED(phys) || phys >= BIT_ULL(HYP_IOMMU_IAS))
		return -EINVAL;
	if (addr_is_memory(phys))
		return -EPERM;

	hyp_spin_lock(&hyp_iommu_doorbell_lock);
	nr = hyp_iommu_nr_doorbells;
	if (hyp_iommu_range_has_doorbell(phys, PAGE_SIZE))
		goto unlock;
	if (nr == HYP_IOMMU_MAX_DOORBELLS) {
		ret = -ENOSPC;
		goto unlock;
	}
	hyp_iommu_doorbells[nr] = phys;
	/* Pairs with smp_load_acquire() in hyp_iommu_range_has_doorbell(). */
	smp_store_release(&hyp_iommu_nr_doorbells, nr + 1);
unlock:
	hyp_spin_unlock(&hyp_iommu_doorbell_lock);
	return ret;
}

/*
 * Set up the grace period, once, before the first domain exists. Called when
 * the host registers an SMMU, before pKVM finalises.
 */
int pkvm_iommu_init(void)
{
	unsigned int cpu, nr_cpus = min_t(u64, hyp_nr_cpus, NR_CPUS);
	int ret = 0;

	hyp_spin_lock(&hyp_iommu_lock);
	if (!hyp_iommu_gp_ready) {
		for (cpu = 0; cpu < nr_cpus; cpu++)
			*per_cpu_ptr(&hyp_iommu_cpu, cpu) = cpu;
		ret = hyp_gp_init(&hyp_iommu_gp, hyp_iommu_gp_cpus, nr_cpus,
				  &hyp_iommu_lock);
		if (!ret)
			/*
			 * Pairs with smp_load_acquire() in the readers and in
			 * hyp_iommu_enabled(): slots set up first.
			 */
			smp_store_release(&hyp_iommu_gp_ready, true);
	}
	hyp_spin_unlock(&hyp_iommu_lock);
	return ret;
}

/*
 * Move @nr pages from the IOMMU memcache to @mc, all or none. On -ENOMEM,
 * *@pages_needed says how many more the host must give.
 */
static int hyp_iommu_reserve(struct kvm_hyp_memcache *mc, u64 nr, u64 *pages_needed)
{
	int ret = 0;
	void *page;

	hyp_spin_lock(&hyp_iommu_lock);
	hyp_iommu_reclaim_retired_locked();
	if (hyp_iommu_mc.nr_pages < nr) {
		*pages_needed = nr - hyp_iommu_mc.nr_pages;
		ret = -ENOMEM;
		goto unlock;
	}
	while (nr--) {
		page = pop_hyp_memcache(&hyp_iommu_mc, hyp_phys_to_virt);
		push_hyp_memcache(mc, page, hyp_virt_to_phys);
	}
unlock:
	hyp_spin_unlock(&hyp_iommu_lock);
	return ret;
}

/* Give back what a hypercall reserved and did not use. */
static void hyp_iommu_unreserve(struct kvm_hyp_memcache *mc)
{
	void *page;

	hyp_spin_lock(&hyp_iommu_lock);
	while ((page = pop_hyp_memcache(mc, hyp_phys_to_virt)))
		push_hyp_memcache(&hyp_iommu_mc, page, hyp_virt_to_phys);
	hyp_iommu_reclaim_retired_locked();
	hyp_spin_unlock(&hyp_iommu_lock);
}

static void *hyp_iommu_zalloc_page(void *arg)
{
	void *page = pop_hyp_memcache(arg, hyp_phys_to_virt);

	if (page)
		memset(page, 0, PAGE_SIZE);
	return page;
}

/*
 * The root table of a new domain: one page, handed to kvm_pgtable's
 * zalloc_pages_exact() callback, which takes no argument. Only set and used
 * under hyp_iommu_lock, in __pkvm_iommu_alloc_domain().
 */
static void *hyp_iommu_next_pgd;

static void *hyp_iommu_zalloc_pages_exact(size_t size)
{
	void *pgd = hyp_iommu_next_pgd;

	hyp_assert_lock_held(&hyp_iommu_lock);
	if (size != PAGE_SIZE || !pgd)
		return NULL;
	hyp_iommu_next_pgd = NULL;
	memset(pgd, 0, PAGE_SIZE);
	return pgd;
}

/* Table pages live until the domain is freed: no per-page refcounting. */
static void hyp_iommu_get_page(void *addr)
{
}

static void hyp_iommu_put_page(void *addr)
{
}

static int hyp_iommu_page_count(void *addr)
{
	return 1;
}

static struct kvm_pgtable_mm_ops hyp_iommu_mm_ops = {
	.zalloc_page		= hyp_iommu_zalloc_page,
	.zalloc_pages_exact	= hyp_iommu_zalloc_pages_exact,
	.get_page		= hyp_iommu_get_page,
	.put_page		= hyp_iommu_put_page,
	.page_count		= hyp_iommu_page_count,
	.phys_to_virt		= hyp_phys_to_virt,
	.virt_to_phys		= hyp_virt_to_phys,
};

/*
 * Page mappings only: kvm_pgtable never replaces a table by a block, which
 * would need a CPU TLB invalidation of a VMID that is not the CPU's.
 */
static bool hyp_iommu_force_pte(u64 addr, u64 end, enum kvm_pgtable_prot prot)
{
	return true;
}

/*
 * The IOMMU hypercalls are there in every KVM mode; they do anything only in
 * protected mode, once the host registered an SMMU (pkvm_iommu_init()).
 */
static bool hyp_iommu_enabled(void)
{
	/* Pairs with smp_store_release() in pkvm_iommu_init(). */
	return is_protected_kvm_enabled() && smp_load_acquire(&hyp_iommu_gp_ready);
}

/* The domain for host-supplied @domain_id, with a reference; or NULL. */
static struct hyp_iommu_domain *hyp_iommu_get_domain(u64 domain_id)
{
	struct hyp_iommu_domain *domain;

	if (!hyp_iommu_enabled() || domain_id >= PKVM_IOMMU_MAX_DOMAINS)
		return NULL;
	domain_id = array_index_nospec(domain_id, PKVM_IOMMU_MAX_DOMAINS);

	hyp_spin_lock(&hyp_iommu_lock);
	domain = hyp_iommu_domains[domain_id];
	/* A domain being freed is only __pkvm_iommu_free_domain()'s. */
	if (domain && domain->dying)
		domain = NULL;
	if (domain)
		domain->refs++;
	hyp_spin_unlock(&hyp_iommu_lock);
	return domain;
}

static void hyp_iommu_put_domain(struct hyp_iommu_domain *domain);

/*
 * A domain the host may map into and unmap from, with a reference: not the
 * identity domain, which follows ownership (and whose table lock nests
 * inside the host lock, unlike map's).
 */
static struct hyp_iommu_domain *hyp_iommu_get_paging_domain(u64 domain_id)
{
	struct hyp_iommu_domain *domain = hyp_iommu_get_domain(domain_id);

	if (!domain)
		return ERR_PTR(-ENOENT);
	if (domain->identity) {
		hyp_iommu_put_domain(domain);
		return ERR_PTR(-EPERM);
	}
	return domain;
}

static void hyp_iommu_put_domain(struct hyp_iommu_domain *domain)
{
	hyp_spin_lock(&hyp_iommu_lock);
	domain->refs--;
	hyp_spin_unlock(&hyp_iommu_lock);
}

/*
 * The table @smmu walks for @domain: its own, or its protected VM's, or
 * for a protected VM's domain with MSI doorbells its own root above the
 * VM's, if @smmu can walk its input size.
 */
static const struct kvm_pgtable *hyp_iommu_table(struct hyp_iommu_domain *domain,
						 struct hyp_smmu *smmu)
{
	if (!domain->vm)
		return &domain->pgt;
	if (domain->msi_base && hyp_smmu_s2_compatible(smmu, domain->pgt.ia_bits))
		return &domain->pgt;
	return &domain->vm->pgt;
}

/* Do @pgt's leaves use the FWB encoding of memory attributes? */
static bool hyp_iommu_table_fwb(const struct kvm_pgtable *pgt)
{
	return cpus_have_final_cap(ARM64_HAS_STAGE2_FWB) &&
	       !(pgt->flags & KVM_PGTABLE_S2_NOFWB);
}

/*
 * The live SMMU at host-supplied index *@idx, if @sid is one of its streams,
 * with *@idx clamped for speculation; or NULL.
 */
static struct hyp_smmu *hyp_iommu_get_stream(u64 *idx, u64 sid)
{
	struct hyp_smmu *smmu = hyp_smmu_get(*idx);

	if (!smmu || !hyp_smmu_sid_valid(smmu, sid))
		return NULL;
	*idx = array_index_nospec(*idx, PKVM_SMMU_MAX);
	return smmu;
}

/* Does stream @sid of SMMU @smmu_idx translate (nvhe/pci_cfg.c's claims)? */
bool pkvm_iommu_stream_in_use(u64 smmu_idx, u64 sid)
{
	struct hyp_smmu *smmu = hyp_iommu_get_stream(&smmu_idx, sid);

	return smmu && hyp_smmu_ste_in_use(smmu, sid);
}

static void hyp_iommu_s2_cfg(struct hyp_iommu_domain *domain, u16 vmid,
			     struct hyp_smmu *smmu, struct hyp_smmu_s2_cfg *cfg)
{
	const struct kvm_pgtable *pgt = hyp_iommu_table(domain, smmu);

	cfg->root = hyp_virt_to_phys(pgt->pgd);
	cfg->ias = pgt->ia_bits;
	cfg->sl0 = FIELD_GET(VTCR_EL2_SL0_MASK, pgt->mmu->vtcr);
	/* Paging domains never use it (KVM_PGTABLE_S2_NOFWB). */
	cfg->fwb = hyp_iommu_table_fwb(pgt);
	cfg->vmid = vmid;
}

/**
 * __pkvm_iommu_topup() - Take pages from a host memcache for IOMMU use.
 * @head:	Physical address of the first page of the host's list.
 * @nr_pages:	Pages in the list (at most PKVM_IOMMU_TOPUP_MAX).
 * @taken:	Set to the number of pages now owned by the hypervisor.
 *
 * Each page is donated (the host must own it) before it is read.
 */
int __pkvm_iommu_topup(u64 head, u64 nr_pages, u64 *taken)
{
	struct kvm_hyp_memcache host_mc = { .head = head, .nr_pages = nr_pages };
	u64 before;
	int ret;

	*taken = 0;
	if (!hyp_iommu_enabled())
		return -ENODEV;
	if (!nr_pages || nr_pages > PKVM_IOMMU_TOPUP_MAX || !PAGE_ALIGNED(head))
		return -EINVAL;

	hyp_spin_lock(&hyp_iommu_lock);
	before = hyp_iommu_mc.nr_pages;
	ret = refill_memcache(&hyp_iommu_mc, before + nr_pages, &host_mc);
	*taken = hyp_iommu_mc.nr_pages - before;
	hyp_spin_unlock(&hyp_iommu_lock);
	return ret;
}

/* Return up to @nr_pages unused pages to the host; returns how many. */
int __pkvm_iommu_reclaim(u64 nr_pages)
{
	int done = 0;
	void *page;

	if (!hyp_iommu_enabled())
		return -ENODEV;
	nr_pages = min_t(u64, nr_pages, PKVM_IOMMU_TOPUP_MAX);
	hyp_spin_lock(&hyp_iommu_lock);
	hyp_iommu_reclaim_retired_locked();
	while (done < nr_pages &&
	       (page = pop_hyp_memcache(&hyp_iommu_mc, hyp_phys_to_virt))) {
		/* Nothing of the hypervisor's goes back to the host. */
		memset(page, 0, PAGE_SIZE);
		/* A page of ours that we cannot give back is kept. */
		if (__pkvm_hyp_donate_host(hyp_virt_to_pfn(page), 1)) {
			push_hyp_memcache(&hyp_iommu_mc, page, hyp_virt_to_phys);
			break;
		}
		done++;
	}
	hyp_spin_unlock(&hyp_iommu_lock);
	return done;
}

/* Publish @domain under the first free id; returns the id or -ENOSPC. */
static int hyp_iommu_publish_domain(struct hyp_iommu_domain *domain)
{
	int id;

	hyp_spin_lock(&hyp_iommu_lock);
	for (id = 0; id < PKVM_IOMMU_MAX_DOMAINS; id++) {
		if (!hyp_iommu_domains[id]) {
			/* Last: from here on the host can name the domain. */
			hyp_iommu_domains[id] = domain;
			break;
		}
	}
	hyp_spin_unlock(&hyp_iommu_lock);
	return id < PKVM_IOMMU_MAX_DOMAINS ? id : -ENOSPC;
}

/* An empty stage-2 domain in two pages of @mc (the domain, its root table). */
static struct hyp_iommu_domain *hyp_iommu_create_domain(struct kvm_hyp_memcache *mc)
{
	struct hyp_iommu_domain *domain = hyp_iommu_zalloc_page(mc);
	int ret;

	BUILD_BUG_ON(sizeof(*domain) > PAGE_SIZE);
	if (!domain)
		return NULL;
	hyp_spin_lock_init(&domain->lock);
	hyp_spin_lock_init(&domain->pgt_lock);
	hyp_spin_lock_init(&domain->invs_lock);
	domain->mmu.vtcr = kvm_get_vtcr(id_aa64mmfr0_el1_sys_val,
					id_aa64mmfr1_el1_sys_val, HYP_IOMMU_IAS);

	hyp_spin_lock(&hyp_iommu_lock);
	hyp_iommu_next_pgd = pop_hyp_memcache(mc, hyp_phys_to_virt);
	/* Memory types every SMMU decodes alike: never the FWB encoding. */
	ret = __kvm_pgtable_stage2_init(&domain->pgt, &domain->mmu,
					&hyp_iommu_mm_ops, KVM_PGTABLE_S2_NOFWB,
					hyp_iommu_force_pte);
	if (ret && hyp_iommu_next_pgd)
		push_hyp_memcache(mc, hyp_iommu_next_pgd, hyp_virt_to_phys);
	hyp_iommu_next_pgd = NULL;
	hyp_spin_unlock(&hyp_iommu_lock);
	if (ret) {
		push_hyp_memcache(mc, (phys_addr_t *)domain, hyp_virt_to_phys);
		return NULL;
	}
	/* kvm_pgtable_stage2_map() finds the table through its mmu. */
	domain->mmu.pgt = &domain->pgt;
	return domain;
}

static int hyp_iommu_alloc_identity(u64 *pages_needed);

/**
 * __pkvm_iommu_alloc_domain() - Create an empty stage-2 domain.
 * @type:	PKVM_IOMMU_DOMAIN_S2, or PKVM_IOMMU_DOMAIN_IDENTITY for the
 *		host's identity domain (created on the first call, the same id
 *		after).
 * @pages_needed: Set with -ENOMEM.
 *
 * Return: the domain's id, or -EINVAL, -ENOSPC (no free id), -ENOMEM.
 */
int __pkvm_iommu_alloc_domain(u64 type, u64 *pages_needed)
{
	struct kvm_hyp_memcache mc = {};
	struct hyp_iommu_domain *domain;
	int ret;

	if (!hyp_iommu_enabled())
		return -ENODEV;
	if (type == PKVM_IOMMU_DOMAIN_IDENTITY)
		return hyp_iommu_alloc_identity(pages_needed);
	if (type != PKVM_IOMMU_DOMAIN_S2)
		return -EINVAL;

	ret = hyp_iommu_reserve(&mc, 2, pages_needed);
	if (ret)
		return ret;
	domain = hyp_iommu_create_domain(&mc);
	ret = domain ? hyp_iommu_publish_domain(domain) : -ENOMEM;
	if (domain && ret < 0) {
		push_hyp_memcache(&mc, domain->pgt.pgd, hyp_virt_to_phys);
		push_hyp_memcache(&mc, (phys_addr_t *)domain, hyp_virt_to_phys);
	}
	hyp_iommu_unreserve(&mc);
	return ret;
}

/* Visitor state for dropping the leaves of a range. */
/* The level-3 entry hyp_iommu_l3_slice() looks for, or NULL. */
static int hyp_iommu_l3_visitor(const struct kvm_pgtable_visit_ctx *ctx,
				enum kvm_pgtable_walk_flags visit)
{
	kvm_pte_t **ptep = ctx->arg;

	if (ctx->level == KVM_PGTABLE_LAST_LEVEL)
		*ptep = ctx->ptep;
	/* A block (never: hyp_iommu_force_pte()) would be a mapping. */
	else if (ctx->old)
		return -EEXIST;
	return 0;
}

/* The span of one level-3 table. */
#define HYP_IOMMU_L3_SPAN	kvm_granule_size(KVM_PGTABLE_LAST_LEVEL - 1)

/*
 * The level-3 entry of @addr in @domain, through which the entries of
 * [@addr, @end) that share its table follow on (*@nr of them); NULL if that
 * table does not exist, so that all of them are empty. -EEXIST if a block
 * covers @addr.
 */
static kvm_pte_t *hyp_iommu_l3_slice(struct hyp_iommu_domain *domain, u64 addr,
				     u64 end, u64 *nr, int *ret)
{
	kvm_pte_t *ptep = NULL;
	struct kvm_pgtable_walker walker = {
		.cb	= hyp_iommu_l3_visitor,
		.arg	= &ptep,
		.flags	= KVM_PGTABLE_WALK_LEAF,
	};

	*nr = (min(ALIGN_DOWN(addr, HYP_IOMMU_L3_SPAN) + HYP_IOMMU_L3_SPAN, end) - addr) >>
	      PAGE_SHIFT;
	*ret = kvm_pgtable_walk(&domain->pgt, addr, PAGE_SIZE, &walker);
	return ptep;
}

/*
 * Each level-3 table's slice of the pages that [@start, @end) touches, as
 * kvm_pgtable_walk() visits them (an unaligned range covers its partial
 * pages whole: the identity domain drops a page of memory a firmware table
 * shares): @ptep and @nr as hyp_iommu_l3_slice() gives them, at least one
 * entry each. Stops early with @ret set on an error.
 */
#define hyp_iommu_for_each_l3_slice(domain, addr, start, end, ptep, nr, ret)	\
	for ((ret) = 0, (addr) = ALIGN_DOWN(start, PAGE_SIZE);			\
	     (addr) < PAGE_ALIGN(end) &&					\
	     ((ptep) = hyp_iommu_l3_slice(domain, addr, PAGE_ALIGN(end), &(nr), &(ret)), \
	      !(ret));								\
	     (addr) += (nr) << PAGE_SHIFT)

struct hyp_iommu_unmap_data {
	/* Physical runs of the cleared leaves, given back after the TLB flush. */
	struct {
		u64 phys;
		u64 size;
	} runs[16];
	unsigned int nr_runs;
	/* The pages go back to the host after the flush (HYP_IOMMU_UNSHARE). */
	bool unshare;
	/* Leaves retired for release after the flush: hyp_iommu_unmap_visitor(). */
	bool retired;
	/*
	 * HYP_IOMMU_DEFER, until the walk meets a leaf whose page must not
	 * go back before the SMMUs are invalidated (see the visitor).
	 */
	bool defer;
	u64 end;		/* where the walk stopped: all before is unmapped */
	u64 mapped_end;		/* last cleared leaf + 1, for the flush */
	u64 mapped_start;
	bool cleared;
	/* Leaf descriptors the walk may still visit before it stops. */
	u64 budget;
	/* Set when freeing a domain: tables walked in full go here. */
	struct kvm_hyp_memcache *free_tables;
};

/*
 * A table the walk went through in full, while freeing a domain: everything
 * below it is unmapped (the free goes up from IOVA 0), and no SMMU walks the
 * domain (no stream attached, VMIDs invalidated at the last detach). Unhook
 * it and keep its page for the memcache.
 */
static int hyp_iommu_free_table(const struct kvm_pgtable_visit_ctx *ctx,
				struct hyp_iommu_unmap_data *data)
{
	u64 size = kvm_granule_size(ctx->level);

	if (ALIGN_DOWN(ctx->addr, size) + size > ctx->end)
		return 0;
	WRITE_ONCE(*ctx->ptep, 0);
	push_hyp_memcache(data->free_tables, hyp_phys_to_virt(kvm_pte_to_phys(ctx->old)),
			  hyp_virt_to_phys);
	return 0;
}

/*
 * The unmap of one valid or retired level-3 leaf @old at @ptep, which maps
 * @addr: clear it, or retire it to give its page back after the flush.
 * -E2BIG: not done, the runs are full.
 */
static int hyp_iommu_unmap_leaf(struct hyp_iommu_unmap_data *data, kvm_pte_t *ptep,
				u64 addr, kvm_pte_t old, u64 size)
{
	unsigned int n = data->nr_runs;
	u64 phys = kvm_pte_to_phys(old);
	kvm_pte_t pte = 0;

	/*
	 * A leaf an earlier unmap retired: an SMMU did not confirm its
	 * invalidation, so its page goes back only once one is confirmed.
	 */
	if (!kvm_pte_valid(old))
		data->defer = false;

	/* A doorbell was never borrowed (__pkvm_iommu_map()): nothing to give back. */
	if (data->unshare && !hyp_iommu_range_has_doorbell(phys, size)) {
		if (!data->free_tables && kvm_phys_to_pte(phys)) {
			/*
			 * Retire the leaf: invalid, so the SMMUs ignore it,
			 * but still naming its page, which
			 * hyp_iommu_release_retired() gives back once every
			 * SMMU confirmed the invalidation. If one did not,
			 * the leaf stays retired: map refuses the IOVA and a
			 * later unmap invalidates it again. Nothing else
			 * leaves a non-zero invalid descriptor in a domain.
			 */
			pte = kvm_phys_to_pte(phys);
			data->retired = true;
			/*
			 * A deferred unmap gives back only memory, whose
			 * every change of owner invalidates stale SMMUs
			 * (pkvm_iommu_host_lost()); a peer's BAR can leave
			 * the host without that, so the whole call is strict.
			 */
			if (data->defer && !addr_is_memory(phys))
				data->defer = false;
		} else if (n && data->runs[n - 1].phys + data->runs[n - 1].size == phys &&
			   addr_is_memory(data->runs[n - 1].phys) == addr_is_memory(phys)) {
			/* One run is memory or MMIO, as __pkvm_host_unshare_dma() takes it. */
			data->runs[n - 1].size += size;
		} else if (n < ARRAY_SIZE(data->runs)) {
			data->runs[n].phys = phys;
			data->runs[n].size = size;
			data->nr_runs++;
			data->defer = false;
		} else {
			/* Stop here, the host repeats from data->end. */
			return -E2BIG;
		}
	}
	WRITE_ONCE(*ptep, pte);
	if (!data->cleared)
		data->mapped_start = addr;
	data->cleared = true;
	data->mapped_end = addr + size;
	data->end = addr + size;
	return 0;
}

/* Only unmaps that give pages back retire leaves, so only they look at them. */
static bool hyp_iommu_unmap_skips(const struct hyp_iommu_unmap_data *data, kvm_pte_t old)
{
	return !old || (!kvm_pte_valid(old) && !data->unshare);
}

/* The walk of a domain being freed, which frees its tables as it goes. */
static int hyp_iommu_unmap_visitor(const struct kvm_pgtable_visit_ctx *ctx,
				   enum kvm_pgtable_walk_flags visit)
{
	struct hyp_iommu_unmap_data *data = ctx->arg;
	u64 size = kvm_granule_size(ctx->level);

	if (visit == KVM_PGTABLE_WALK_TABLE_POST)
		return hyp_iommu_free_table(ctx, data);
	/* Out of budget: stop here, the caller resumes from data->end. */
	if (!data->budget)
		return -E2BIG;
	data->budget--;
	/* A hole, possibly a whole empty table's span. */
	if (hyp_iommu_unmap_skips(data, ctx->old)) {
		data->end = min(ALIGN_DOWN(ctx->addr, size) + size, ctx->end);
		return 0;
	}
	return hyp_iommu_unmap_leaf(data, ctx->ptep, ctx->addr, ctx->old, size);
}

/*
 * Any other unmap (level-3 leaves only): each level-3 table's slice of
 * [@iova, @end) in one loop. Bounded by the range, at most
 * PKVM_IOMMU_MAP_MAX_PAGES pages, or the identity domain's donation.
 */
static int hyp_iommu_unmap_slices(struct hyp_iommu_domain *domain, u64 iova, u64 end,
				  struct hyp_iommu_unmap_data *data)
{
	u64 addr, i, nr;
	kvm_pte_t *ptep, old;
	int ret;

	hyp_iommu_for_each_l3_slice(domain, addr, iova, end, ptep, nr, ret) {
		for (i = 0; ptep && i < nr; i++) {
			old = READ_ONCE(ptep[i]);
			if (hyp_iommu_unmap_skips(data, old))
				continue;
			ret = hyp_iommu_unmap_leaf(data, &ptep[i], addr + (i << PAGE_SHIFT),
						   old, PAGE_SIZE);
			if (ret)
				return ret;
		}
		data->end = min(addr + (nr << PAGE_SHIFT), end);
	}
	return ret;
}

/*
 * Invalidate [iova, iova + size) on every SMMU in @domain's invalidation
 * array. Called after the page-table update, with domain->pgt_lock held but
 * not domain->lock: attach and detach run meanwhile.
 *
 *   unmap (this function)              attach (__pkvm_iommu_attach)
 *   W pte = 0                          W domain->invs = new (release)
 *   smp_mb()                           dsb (STE write path)
 *   R domain->invs (acquire)           W STE; SMMU walks, R pte
 *   TLBI + CMD_SYNC per entry
 *
 * Either this unmap sees the new array and invalidates the new SMMU, or the
 * new SMMU's walks see the cleared PTE. Detach clears and syncs the STE
 * before it drops the SMMU's entry, then invalidates the whole VMID: an
 * unmap that no longer sees the entry has nothing left to invalidate there.
 * The array stays valid while this CPU is inside EL2 (grace period).
 */
static int hyp_iommu_flush_rcu(struct hyp_iommu_domain *domain, u64 iova,
			       u64 size, unsigned int tlbi_flags)
{
	const struct smmu_inv *inv;
	struct smmu_invs *invs;
	bool locked = READ_ONCE(hyp_iommu_locked_invs);
	struct hyp_smmu *smmu;
	int ret = 0;
	u32 i;

	if (locked)
		hyp_spin_lock(&domain->invs_lock);
	invs = smmu_invs_deref_for_inv(&domain->invs);
	smmu_invs_for_each(invs, i, inv) {
		smmu = hyp_smmu_get_any(inv->smmu);
		if (!smmu)
			continue;
		/*
		 * Gone broken (hyp_smmu_abort_all()): nothing to invalidate if
		 * it acknowledged that it is off; otherwise it may still
		 * translate, and the pages must not be given back.
		 */
		if (READ_ONCE(smmu->state) != HYP_SMMU_LIVE) {
			if (hyp_smmu_translating(smmu))
				ret = -EIO;
			continue;
		}
		ret = hyp_smmu_tlbi_range(smmu, inv->tag, iova, size, tlbi_flags) ?: ret;
	}
	if (locked)
		hyp_spin_unlock(&domain->invs_lock);
	return ret;
}

/* A paging or identity domain: level-3 leaves only (force_pte), no table freed. */
static int hyp_iommu_flush(struct hyp_iommu_domain *domain, u64 iova, u64 size)
{
	int ret;

	hyp_assert_lock_held(&domain->pgt_lock);
	hyp_iommu_read_lock();
	ret = hyp_iommu_flush_rcu(domain, iova, size, HYP_SMMU_TLBI_LEAF3);
	hyp_iommu_read_unlock();
	return ret;
}

/*
 * A deferred unmap of @domain's leaves: instead of invalidating, mark every
 * SMMU in its array stale, before the pages go back to the host. Ordered as
 * hyp_iommu_flush_rcu(): an SMMU attached meanwhile walks the cleared
 * leaves, one detached meanwhile had its VMID invalidated. Return: false if
 * an SMMU of the array is not live (stopped after an unconfirmed
 * invalidation): then the unmap invalidates now, and keeps the pages if
 * that fails, as without the flag.
 */
static bool hyp_iommu_mark_stale(struct hyp_iommu_domain *domain)
{
	const struct smmu_inv *inv;
	struct smmu_invs *invs;
	struct hyp_smmu *smmu;
	bool live = true;
	u32 i;

	hyp_assert_lock_held(&domain->pgt_lock);
	hyp_iommu_read_lock();
	invs = smmu_invs_deref_for_inv(&domain->invs);
	smmu_invs_for_each(invs, i, inv) {
		smmu = hyp_smmu_get_any(inv->smmu);
		if (smmu && !hyp_smmu_defer_tlbi(smmu))
			live = false;
	}
	hyp_iommu_read_unlock();
	return live;
}

/*
 * Invalidate every SMMU that a deferred unmap left stale, once each; stop
 * one that does not confirm (as pkvm_iommu_host_lost() does for the
 * identity domain). Called with the host lock held whenever the host loses
 * pages: a deferred unmap marks its SMMUs stale before it gives its pages
 * back under that lock, so a page that leaves the host here, if a deferred
 * unmap gave it back, finds its SMMUs marked, and no device reaches it
 * once this returns. The mark is read without the SMMU's lock: it is
 * cleared only after the invalidation that covers it completed.
 */
static void hyp_iommu_flush_deferred_all(void)
{
	struct hyp_smmu *smmu;
	unsigned int idx;

	for (idx = 0; idx < PKVM_SMMU_MAX; idx++) {
		smmu = hyp_smmu_get_any(idx);
		if (!smmu || !READ_ONCE(smmu->tlb_stale) || !hyp_smmu_flush_deferred(smmu))
			continue;
		/* Stopped once already: stopping it again would not confirm either. */
		if (READ_ONCE(smmu->state) == HYP_SMMU_LIVE)
			hyp_smmu_abort_all(smmu);
	}
}

/* How __hyp_iommu_unmap_locked() finishes an unmap. */
#define HYP_IOMMU_UNSHARE	BIT(0)	/* give the pages back to the host */
#define HYP_IOMMU_NO_FLUSH	BIT(1)	/* the caller invalidates (see the batch) */
#define HYP_IOMMU_DEFER		BIT(2)	/* mark the SMMUs stale instead (memory only) */

/* A physical run of retired leaves, given back in one call. */
struct hyp_iommu_release_data {
	u64	phys;
	u64	size;
	bool	memory;
};

static void hyp_iommu_release_run(struct hyp_iommu_release_data *run)
{
	if (run->size)
		__pkvm_host_unshare_dma(run->phys, run->size);
	run->size = 0;
}

/*
 * Give back the pages of the leaves retired in [start, end), and clear them,
 * once every SMMU confirmed the invalidation of that span (or, deferred,
 * was marked stale). Contiguous pages go back together (one host lock),
 * memory and MMIO apart, as __pkvm_host_unshare_dma() takes them. The loop
 * visits what the unmap just visited: it is as bounded.
 */
static void hyp_iommu_release_retired(struct hyp_iommu_domain *domain, u64 start,
				      u64 end)
{
	struct hyp_iommu_release_data run = {};
	u64 addr, i, nr, phys;
	kvm_pte_t *ptep, old;
	bool memory;
	int ret;

	hyp_assert_lock_held(&domain->pgt_lock);
	hyp_iommu_for_each_l3_slice(domain, addr, start, end, ptep, nr, ret) {
		for (i = 0; ptep && i < nr; i++) {
			/* In the span just flushed, each invalid non-zero leaf is retired. */
			old = READ_ONCE(ptep[i]);
			if (!old || kvm_pte_valid(old))
				continue;
			phys = kvm_pte_to_phys(old);
			memory = addr_is_memory(phys);
			if (!run.size || run.phys + run.size != phys || run.memory != memory) {
				hyp_iommu_release_run(&run);
				run.phys = phys;
				run.memory = memory;
			}
			run.size += PAGE_SIZE;
			WRITE_ONCE(ptep[i], 0);
		}
	}
	hyp_iommu_release_run(&run);
}

/*
 * Unmap what is mapped in [iova, iova + size): clear the leaves, invalidate
 * the SMMUs, then give the pages back to the host. One invalidation per
 * SMMU for the whole range. Returns how far it got in *@done (short only
 * while freeing a domain, whose walk is budgeted and frees tables as it
 * goes, so it records the pages to give back in runs and stops when they
 * are scattered over more runs than it can hold; other unmaps retire the
 * leaves instead).
 */
static int __hyp_iommu_unmap_locked(struct hyp_iommu_domain *domain, u64 iova,
				    u64 size, u64 *done, unsigned int flags,
				    struct kvm_hyp_memcache *free_tables)
{
	struct hyp_iommu_unmap_data data = {
		.end		= iova,
		.budget		= free_tables ? HYP_IOMMU_FREE_BUDGET : U64_MAX,
		.free_tables	= free_tables,
		.unshare	= flags & HYP_IOMMU_UNSHARE,
		.defer		= flags & HYP_IOMMU_DEFER,
	};
	struct kvm_pgtable_walker walker = {
		.cb	= hyp_iommu_unmap_visitor,
		.arg	= &data,
		.flags	= KVM_PGTABLE_WALK_LEAF |
			  (free_tables ? KVM_PGTABLE_WALK_TABLE_POST : 0),
	};
	unsigned int i;
	int ret;

	hyp_assert_lock_held(&domain->pgt_lock);
	*done = 0;
	if (free_tables)
		ret = kvm_pgtable_walk(&domain->pgt, iova, size, &walker);
	else
		ret = hyp_iommu_unmap_slices(domain, iova, iova + size, &data);
	if (ret && ret != -E2BIG)
		return ret;
	*done = data.end - iova;

	if (data.cleared && data.defer && hyp_iommu_mark_stale(domain)) {
		/* Deferred: the SMMUs are invalidated before any page leaves the host. */
	} else if (data.cleared && !(flags & HYP_IOMMU_NO_FLUSH)) {
		ret = hyp_iommu_flush(domain, data.mapped_start,
				      data.mapped_end - data.mapped_start);
		/*
		 * An SMMU that did not confirm the invalidation may still
		 * translate to these pages: they stay borrowed, the retired
		 * leaves for a later unmap to invalidate again and release,
		 * the recorded runs for good.
		 */
		if (ret)
			return ret;
	}
	/*
	 * Only an unmap that unshares retires leaves, and it always flushes
	 * them or, deferred, marks the SMMUs that may hold them stale.
	 */
	for (i = 0; i < data.nr_runs; i++)
		__pkvm_host_unshare_dma(data.runs[i].phys, data.runs[i].size);
	if (data.retired)
		hyp_iommu_release_retired(domain, data.mapped_start, data.mapped_end);
	return 0;
}

/*
 * Unmap all of [start, end), in as many bounded steps as it takes; stop at
 * the first error (an SMMU that did not confirm its invalidation).
 */
static int hyp_iommu_unmap_range_locked(struct hyp_iommu_domain *domain,
					u64 start, u64 end, bool unshare)
{
	u64 done;
	int ret;

	for (; start < end; start += done) {
		ret = __hyp_iommu_unmap_locked(domain, start, end - start, &done,
					       unshare ? HYP_IOMMU_UNSHARE : 0, NULL);
		if (ret)
			return ret;
		/* A step without error always advances; never loop forever. */
		if (!done)
			return -EIO;
	}
	return 0;
}

/*
 * One bounded step of freeing a domain that is dying: unmap from
 * domain->free_cursor (giving the pages back to the host) and free the
 * tables the walk went through, for at most HYP_IOMMU_FREE_BUDGET leaf
 * descriptors. Return: true once everything is unmapped and only the root
 * table is left.
 */
static bool hyp_iommu_free_step_locked(struct hyp_iommu_domain *domain,
				       struct kvm_hyp_memcache *mc)
{
	u64 end = BIT_ULL(HYP_IOMMU_IAS), done = 0;

	hyp_assert_lock_held(&domain->pgt_lock);
	/*
	 * No stream: the flush has no SMMU to fail on, the walk always
	 * advances. Only a paging domain's pages were borrowed.
	 */
	__hyp_iommu_unmap_locked(domain, domain->free_cursor,
				 end - domain->free_cursor, &done,
				 domain->identity ? 0 : HYP_IOMMU_UNSHARE, mc);
	domain->free_cursor += done;
	return domain->free_cursor >= end;
}

/**
 * __pkvm_iommu_free_domain() - Destroy a domain with no stream attached.
 * @domain_id:	The host's id of the domain.
 *
 * Whatever it still maps is unmapped and given back to the host first; its
 * tables go back to the IOMMU memcache. The first call makes the domain
 * unreachable for every other hypercall; each call does a bounded step.
 *
 * Return: 0 once the domain is gone, -EAGAIN while work remains (the host
 * repeats the call), or -EINVAL, -ENOENT, -EPERM (the identity domain),
 * -EBUSY (streams attached, in use, or another CPU is freeing it).
 */
int __pkvm_iommu_free_domain(u64 domain_id)
{
	struct hyp_iommu_domain *domain;
	struct kvm_hyp_memcache mc = {};
	struct smmu_invs *invs;
	bool finished;
	int ret;

	if (!hyp_iommu_enabled())
		return -ENODEV;
	if (domain_id >= PKVM_IOMMU_MAX_DOMAINS)
		return -EINVAL;
	domain_id = array_index_nospec(domain_id, PKVM_IOMMU_MAX_DOMAINS);

	hyp_spin_lock(&hyp_iommu_lock);
	domain = hyp_iommu_domains[domain_id];
	if (!domain) {
		ret = -ENOENT;
	} else if (domain->identity) {
		ret = -EPERM;
	} else if (domain->refs || READ_ONCE(domain->nr_streams)) {
		/* With dying set, refs is another CPU's step of this free. */
		ret = -EBUSY;
	} else {
		/* From here on only this function can reach the domain. */
		domain->dying = true;
		domain->refs++;
		ret = 0;
	}
	hyp_spin_unlock(&hyp_iommu_lock);
	if (ret)
		return ret;

	hyp_spin_lock(&domain->pgt_lock);
	finished = hyp_iommu_free_step_locked(domain, &mc);
	hyp_spin_unlock(&domain->pgt_lock);

	hyp_spin_lock(&hyp_iommu_lock);
	domain->refs--;
	if (finished)
		hyp_iommu_domains[domain_id] = NULL;
	hyp_spin_unlock(&hyp_iommu_lock);

	if (finished) {
		/* No reader left either: unmaps need a reference, and there is none. */
		invs = smmu_invs_deref_locked(&domain->invs);
		if (invs)
			push_hyp_memcache(&mc, (phys_addr_t *)invs, hyp_virt_to_phys);
		push_hyp_memcache(&mc, domain->pgt.pgd, hyp_virt_to_phys);
		push_hyp_memcache(&mc, (phys_addr_t *)domain, hyp_virt_to_phys);
	}
	hyp_iommu_unreserve(&mc);
	return finished ? 0 : -EAGAIN;
}

/*
 * Table pages a map of @size bytes may need in the worst case: for each
 * level below the root, one table per span it covers, plus one at each end.
 */
static u64 hyp_iommu_map_pages_needed(struct hyp_iommu_domain *domain, u64 size)
{
	u64 pages = 0;
	s8 level;

	for (level = domain->pgt.start_level + 1; level <= KVM_PGTABLE_LAST_LEVEL; level++)
		pages += (size >> (kvm_granule_shift(level - 1))) + 2;
	return pages;
}

/* Whether any memory lies at or above @limit. */
bool hyp_iommu_memory_above(u64 limit)
{
	unsigned int i;

	for (i = 0; i < hyp_memblock_nr; i++)
		if (hyp_memory[i].base + hyp_memory[i].size > limit)
			return true;
	return false;
}

/*
 * The pages of memory region @i not in an earlier region: [*start, *end),
 * empty if *start >= *end. Regions need not start or end on a page (an ACPI
 * table upgrade marks its bytes nomap, splitting a region mid-page), and
 * two may then share a page, which must be mapped once.
 */
static void hyp_iommu_memory_pages(unsigned int i, u64 *start, u64 *end)
{
	u64 prev = i ? PAGE_ALIGN(hyp_memory[i - 1].base + hyp_memory[i - 1].size) : 0;

	*start = max(ALIGN_DOWN(hyp_memory[i].base, PAGE_SIZE), prev);
	*end = PAGE_ALIGN(hyp_memory[i].base + hyp_memory[i].size);
}

/* Level-2 and level-3 tables to map all of memory, plus the domain and root. */
static u64 hyp_iommu_identity_pages_needed(void)
{
	struct hyp_iommu_domain tmp = { .pgt.start_level = 1 };
	u64 pages = 2, start, end;
	unsigned int i;

	/* HYP_IOMMU_IAS is 39 bits: the walk starts at level 1. */
	BUILD_BUG_ON(HYP_IOMMU_IAS != 39);
	for (i = 0; i < hyp_memblock_nr; i++) {
		hyp_iommu_memory_pages(i, &start, &end);
		if (start < end)
			pages += hyp_iommu_map_pages_needed(&tmp, end - start);
	}
	/* And each MSI doorbell page. */
	pages += smp_load_acquire(&hyp_iommu_nr_doorbells) *
		 hyp_iommu_map_pages_needed(&tmp, PAGE_SIZE);
	return pages;
}

/* Walk callback: the host cannot access [start, end), so no device either. */
static void hyp_iommu_identity_drop(u64 start, u64 end, void *arg)
{
	struct hyp_iommu_domain *domain = arg;

	/* No SMMU uses the domain yet: nothing to invalidate, nothing to fail. */
	hyp_spin_lock(&domain->pgt_lock);
	hyp_iommu_unmap_range_locked(domain, start, end, false);
	hyp_spin_unlock(&domain->pgt_lock);
}

static void hyp_iommu_identity_publish(void *arg)
{
	WRITE_ONCE(hyp_iommu_identity, (struct hyp_iommu_domain *)arg);
}

/*
 * Create the host's identity domain: map all of memory (which also makes
 * every table it will ever need, so that pages coming back to the host map
 * again without allocating), then, under the host lock, drop what the host
 * cannot access and publish the domain to the ownership hooks.
 */
static int hyp_iommu_alloc_identity(u64 *pages_needed)
{
	struct kvm_hyp_memcache mc = {};
	struct hyp_iommu_domain *domain;
	unsigned int i;
	u64 start, end;
	int ret, id;

	hyp_spin_lock(&hyp_iommu_identity_lock);
	if (hyp_iommu_identity) {
		for (id = 0; id < PKVM_IOMMU_MAX_DOMAINS; id++)
			if (READ_ONCE(hyp_iommu_domains[id]) == hyp_iommu_identity)
				break;
		ret = id < PKVM_IOMMU_MAX_DOMAINS ? id : -ENOENT;
		goto unlock;
	}
	/*
	 * Creating it maps all of memory in one call: only while the host is
	 * still trusted (the host driver does it as it probes, before pKVM
	 * finalises), so an untrusted host cannot make a CPU spend that long
	 * at EL2.
	 */
	ret = -EPERM;
	if (static_branch_unlikely(&kvm_protected_mode_initialized))
		goto unlock;
	/* Memory the domain cannot map would have no DMA: refuse up front. */
	ret = -E2BIG;
	if (hyp_iommu_memory_above(BIT_ULL(HYP_IOMMU_IAS)))
		goto unlock;
	ret = hyp_iommu_reserve(&mc, hyp_iommu_identity_pages_needed(), pages_needed);
	if (ret)
		goto unlock;
	domain = hyp_iommu_create_domain(&mc);
	ret = -ENOMEM;
	if (!domain)
		goto unreserve;
	domain->identity = true;
	for (i = 0; i < hyp_memblock_nr; i++) {
		hyp_iommu_memory_pages(i, &start, &end);
		if (start >= end)
			continue;
		ret = kvm_pgtable_stage2_map(&domain->pgt, start, end - start, start,
					     KVM_PGTABLE_PROT_R | KVM_PGTABLE_PROT_W,
					     &mc, 0);
		/* Cannot happen: pages reserved, ranges checked. */
		if (ret)
			goto free_tables;
	}
	/*
	 * The MSI doorbells too, so that devices in the host's DMA domain can
	 * signal MSIs: write-only device memory, as in paging domains. One
	 * registered after the reservation above fails the map, cleanly.
	 */
	for (i = 0; i < smp_load_acquire(&hyp_iommu_nr_doorbells); i++) {
		ret = kvm_pgtable_stage2_map(&domain->pgt, hyp_iommu_doorbells[i],
					     PAGE_SIZE, hyp_iommu_doorbells[i],
					     KVM_PGTABLE_PROT_W | KVM_PGTABLE_PROT_DEVICE,
					     &mc, 0);
		if (ret)
			goto free_tables;
	}
	pkvm_host_walk_inaccessible(hyp_iommu_identity_drop,
				    hyp_iommu_identity_publish, domain);
	ret = hyp_iommu_publish_domain(domain);
	goto unreserve;

free_tables:
	/* Never published: take back the tables made so far. Nothing was borrowed. */
	hyp_spin_lock(&domain->pgt_lock);
	while (!hyp_iommu_free_step_locked(domain, &mc))
		;
	hyp_spin_unlock(&domain->pgt_lock);
	push_hyp_memcache(&mc, domain->pgt.pgd, hyp_virt_to_phys);
	push_hyp_memcache(&mc, (phys_addr_t *)domain, hyp_virt_to_phys);
unreserve:
	hyp_iommu_unreserve(&mc);
unlock:
	hyp_spin_unlock(&hyp_iommu_identity_lock);
	return ret;
}

/*
 * An SMMU did not confirm an invalidation: stop all translation on every
 * SMMU of the domain that is still live (the array does not say which one
 * failed, and a stale entry on any of them is a hole).
 */
static void hyp_iommu_fail_closed_rcu(struct hyp_iommu_domain *domain)
{
	const struct smmu_inv *inv;
	struct smmu_invs *invs;
	struct hyp_smmu *smmu;
	u32 i;

	invs = smmu_invs_deref_for_inv(&domain->invs);
	smmu_invs_for_each(invs, i, inv) {
		smmu = hyp_smmu_get(inv->smmu);
		if (smmu)
			hyp_smmu_abort_all(smmu);
	}
}

static void hyp_iommu_fail_closed(struct hyp_iommu_domain *domain)
{
	hyp_iommu_read_lock();
	hyp_iommu_fail_closed_rcu(domain);
	hyp_iommu_read_unlock();
}

/*
 * A batch of donations on one CPU (pkvm_iommu_host_lost_batch_begin()): the
 * span of what the host lost since the batch began, invalidated at its end.
 */
struct hyp_iommu_lost_batch {
	bool	active;
	u64	start;
	u64	end;
};

static DEFINE_PER_CPU(struct hyp_iommu_lost_batch, hyp_iommu_lost_batch);

/**
 * pkvm_iommu_host_lost() - The host no longer has [@addr, @addr + @size).
 * @addr:	Physical address of the first page.
 * @size:	Bytes, a multiple of the page size.
 *
 * Called with the host lock held whenever pages stop being the host's
 * (donated to the hypervisor or a guest). On return, no SMMU translates them
 * through the identity domain: every leaf of the range is cleared and every
 * SMMU in its array invalidated, or, if one did not confirm, every SMMU of
 * the domain is stopped (GBPA aborts everything) at once. Clearing goes on
 * past a failed step, so no later page of the range keeps its mapping, and
 * the later flushes skip the stopped SMMUs instead of timing out again.
 *
 * Inside a batch on this CPU, the leaves are cleared now and the SMMUs
 * invalidated at pkvm_iommu_host_lost_batch_end(), once for the whole batch.
 */
void pkvm_iommu_host_lost(u64 addr, u64 size)
{
	struct hyp_iommu_lost_batch *batch = this_cpu_ptr(&hyp_iommu_lost_batch);
	struct hyp_iommu_domain *domain = READ_ONCE(hyp_iommu_identity);
	u64 start = addr, end = addr + size, done;
	unsigned int flags = 0;
	bool stopped = false;

	if (batch->active) {
		batch->start = min(batch->start, start);
		batch->end = max(batch->end, end);
		flags = HYP_IOMMU_NO_FLUSH;
	} else {
		hyp_iommu_flush_deferred_all();
	}
	if (!domain)
		return;
	hyp_spin_lock(&domain->pgt_lock);
	for (; addr < end; addr += done) {
		if (__hyp_iommu_unmap_locked(domain, addr, end - addr, &done, flags,
					     NULL) && !stopped) {
			hyp_iommu_fail_closed(domain);
			stopped = true;
		}
		/* Leaves are cleared before the flush: every step advances. */
		if (!done)
			break;
	}
	hyp_spin_unlock(&domain->pgt_lock);
}

/**
 * pkvm_iommu_host_lost_batch_begin() - Invalidate this CPU's donations once.
 *
 * Until pkvm_iommu_host_lost_batch_end() on the same CPU, the pages the host
 * loses here leave the identity domain's page table at once, but the SMMUs
 * are invalidated only at the end, once for the whole span: an SMMU may
 * still translate to them from its TLB meanwhile, and a device may still
 * write them. The caller must therefore not write to these pages anything it
 * will rely on, nor give them to anyone, before the end. Batches do not nest.
 */
void pkvm_iommu_host_lost_batch_begin(void)
{
	struct hyp_iommu_lost_batch *batch = this_cpu_ptr(&hyp_iommu_lost_batch);

	batch->start = U64_MAX;
	batch->end = 0;
	batch->active = true;
}

/**
 * pkvm_iommu_host_lost_batch_end() - Invalidate what the batch took away.
 *
 * On return no SMMU translates any page the host lost on this CPU since
 * pkvm_iommu_host_lost_batch_begin(): one invalidation of the batch's span
 * per SMMU of the identity domain (a few range commands or one VMID-wide
 * one, and one CMD_SYNC), or, if an SMMU did not confirm, every SMMU of the
 * domain stopped, as pkvm_iommu_host_lost() does.
 */
void pkvm_iommu_host_lost_batch_end(void)
{
	struct hyp_iommu_lost_batch *batch = this_cpu_ptr(&hyp_iommu_lost_batch);
	struct hyp_iommu_domain *domain = READ_ONCE(hyp_iommu_identity);

	batch->active = false;
	if (batch->start >= batch->end)
		return;
	hyp_iommu_flush_deferred_all();
	if (!domain)
		return;
	hyp_spin_lock(&domain->pgt_lock);
	if (hyp_iommu_flush(domain, batch->start, batch->end - batch->start))
		hyp_iommu_fail_closed(domain);
	hyp_spin_unlock(&domain->pgt_lock);
}

/*
 * pkvm_iommu_host_gained() - [@addr, @addr + @size) is the host's again.
 *
 * Called with the host lock held. The tables exist since creation, so the
 * map allocates nothing; if it failed, the pages would only stay out of
 * reach of devices.
 */
void pkvm_iommu_host_gained(u64 addr, u64 size)
{
	struct hyp_iommu_domain *domain = READ_ONCE(hyp_iommu_identity);

	if (!domain)
		return;
	hyp_spin_lock(&domain->pgt_lock);
	kvm_pgtable_stage2_map(&domain->pgt, addr, size, addr,
			       KVM_PGTABLE_PROT_R | KVM_PGTABLE_PROT_W, NULL, 0);
	hyp_spin_unlock(&domain->pgt_lock);
}

/* Is [@iova, @end) unmapped, with no retired leaf either? 0 or -EEXIST. */
static int hyp_iommu_check_unmapped(struct hyp_iommu_domain *domain, u64 iova, u64 end)
{
	u64 addr, i, nr;
	kvm_pte_t *ptep;
	int ret;

	hyp_iommu_for_each_l3_slice(domain, addr, iova, end, ptep, nr, ret) {
		for (i = 0; ptep && i < nr; i++) {
			/* A mapping, or a leaf a failed unmap retired: unmap it first. */
			if (READ_ONCE(ptep[i]))
				return -EEXIST;
		}
	}
	return ret;
}

/*
 * Map [@phys, @phys + @size) at @iova, which hyp_iommu_check_unmapped()
 * found empty under the same lock, with level-3 leaves. The first page of
 * the range, and the first of each span whose level-3 table does not exist
 * yet, goes through kvm_pgtable_stage2_map(), which allocates the tables
 * from @mc; the first leaf it writes gives the attributes for @prot, with
 * which the rest of each table's slice is written in one go, as kvm_pgtable
 * writes a leaf: no entry was valid, so nothing needs breaking or
 * invalidating, and table pages are not refcounted (hyp_iommu_get_page()).
 */
static int hyp_iommu_map_leaves(struct hyp_iommu_domain *domain, u64 iova, u64 phys,
				u64 size, enum kvm_pgtable_prot prot,
				struct kvm_hyp_memcache *mc)
{
	u64 addr, end = iova + size, i, nr, pa;
	kvm_pte_t *ptep, attr = 0, pte;
	int ret;

	hyp_assert_lock_held(&domain->pgt_lock);
	for (addr = iova; addr < end; addr += nr << PAGE_SHIFT) {
		pa = phys + (addr - iova);
		ptep = hyp_iommu_l3_slice(domain, addr, end, &nr, &ret);
		if (ret)
			return ret;
		if (!ptep || !attr) {
			ret = kvm_pgtable_stage2_map(&domain->pgt, addr, PAGE_SIZE, pa, prot,
						     mc, 0);
			if (ret)
				return ret;
			ptep = hyp_iommu_l3_slice(domain, addr, end, &nr, &ret);
			if (ret || !ptep)
				return ret ?: -EINVAL;
			pte = READ_ONCE(*ptep);
			if (!kvm_pte_valid(pte) || kvm_pte_to_phys(pte) != pa)
				return -EINVAL;
			attr = pte ^ kvm_phys_to_pte(pa);
			ptep++;
			pa += PAGE_SIZE;
			nr--;
			addr += PAGE_SIZE;
		}
		for (i = 0; i < nr; i++, pa += PAGE_SIZE) {
			/* After the tables, as stage2_make_pte() orders a leaf. */
			smp_store_release(&ptep[i], kvm_phys_to_pte(pa) | attr);
		}
	}
	return 0;
}

/**
 * __pkvm_iommu_map() - Map [@phys, @phys + @size) at @iova in a domain.
 * @domain_id:	The host's id of a paging domain.
 * @iova:	Where, page aligned.
 * @phys:	What: host-owned memory or device MMIO, page aligned.
 * @size:	Bytes, page aligned, at most PKVM_IOMMU_MAP_MAX_PAGES pages.
 * @prot:	PKVM_IOMMU_PROT_READ and/or PKVM_IOMMU_PROT_WRITE.
 * @done:	Bytes mapped from the start of the range.
 * @pages_needed: With -ENOMEM, pages the host must add with __pkvm_iommu_topup.
 *
 * At most PKVM_IOMMU_MAP_MAX_PAGES pages per call; the host repeats from
 * @iova + *@done. Every page of memory must be host-owned (or shared with a
 * non-protected guest) now, and stays borrowed until it is unmapped. Device
 * MMIO (a peer's BAR) must lie in one MMIO range, all of it the host's, and
 * pKVM must have finalised; it is mapped as device memory and stays borrowed
 * until it is unmapped, like memory (__pkvm_host_share_dma()). An MSI doorbell
 * (__pkvm_iommu_register_doorbell()) is mapped one page on its own,
 * write-only, at any time. The IOVA range must be unmapped.
 */
int __pkvm_iommu_map(u64 domain_id, u64 iova, u64 phys, u64 size, u64 prot,
		     u64 *done, u64 *pages_needed)
{
	enum kvm_pgtable_prot kprot = 0;
	struct hyp_iommu_domain *domain;
	struct kvm_hyp_memcache mc = {};
	bool doorbell;
	u64 end;
	int ret;

	*done = 0;
	*pages_needed = 0;
	if (!size || !PAGE_ALIGNED(iova) || !PAGE_ALIGNED(phys) || !PAGE_ALIGNED(size))
		return -EINVAL;
	if (!prot || (prot & ~(PKVM_IOMMU_PROT_READ | PKVM_IOMMU_PROT_WRITE)))
		return -EINVAL;
	size = min_t(u64, size, PKVM_IOMMU_MAP_MAX_PAGES << PAGE_SHIFT);
	if (check_add_overflow(iova, size, &end) || end > BIT_ULL(HYP_IOMMU_IAS) ||
	    check_add_overflow(phys, size, &end) || end > HYP_IOMMU_MAX_PA)
		return -EINVAL;
	if (prot & PKVM_IOMMU_PROT_READ)
		kprot |= KVM_PGTABLE_PROT_R;
	if (prot & PKVM_IOMMU_PROT_WRITE)
		kprot |= KVM_PGTABLE_PROT_W;
	/* A device only ever writes a doorbell, one page of it. */
	doorbell = hyp_iommu_range_has_doorbell(phys, size);
	if (doorbell && (size != PAGE_SIZE || prot != PKVM_IOMMU_PROT_WRITE))
		return -EPERM;
	if (!addr_is_memory(phys))
		kprot |= KVM_PGTABLE_PROT_DEVICE;

	domain = hyp_iommu_get_paging_domain(domain_id);
	if (IS_ERR(domain))
		return PTR_ERR(domain);

	ret = hyp_iommu_reserve(&mc, hyp_iommu_map_pages_needed(domain, size),
				pages_needed);
	if (ret) {
		hyp_iommu_put_domain(domain);
		return ret;
	}

	hyp_spin_lock(&domain->pgt_lock);
	ret = hyp_iommu_check_unmapped(domain, iova, iova + size);
	if (ret)
		goto unlock;
	/* A doorbell, named while the host was trusted, is host MMIO for good. */
	ret = doorbell ? 0 : __pkvm_host_share_dma(phys, size);
	if (ret)
		goto unlock;
	ret = hyp_iommu_map_leaves(domain, iova, phys, size, kprot, &mc);
	if (ret) {
		/*
		 * Cannot happen with the pages reserved; undo all the same: drop
		 * what got mapped and flush it, then end the borrow of the whole
		 * range, mapped or not. If an SMMU did not confirm, the pages
		 * stay borrowed.
		 */
		if (!hyp_iommu_unmap_range_locked(domain, iova, iova + size, false) && !doorbell)
			__pkvm_host_unshare_dma(phys, size);
		goto unlock;
	}
	*done = size;
unlock:
	hyp_spin_unlock(&domain->pgt_lock);
	hyp_iommu_unreserve(&mc);
	hyp_iommu_put_domain(domain);
	return ret;
}

/**
 * __pkvm_iommu_unmap() - Unmap [@iova, @iova + @size) from a domain.
 * @domain_id:	The host's id of a paging domain.
 * @iova:	Start, page aligned.
 * @size:	Bytes, page aligned, at most PKVM_IOMMU_MAP_MAX_PAGES pages.
 * @flags:	0, or PKVM_IOMMU_UNMAP_DEFER.
 * @done:	Bytes of the range dealt with (holes count).
 *
 * On return, no SMMU translates the unmapped part any more and its pages are
 * the host's again. At most PKVM_IOMMU_MAP_MAX_PAGES pages per call.
 *
 * With PKVM_IOMMU_UNMAP_DEFER (a flush queue), the SMMUs are not invalidated:
 * they may go on translating the range to its pages, which are the host's
 * again all the same, until __pkvm_iommu_flush() or until any page leaves the
 * host (pkvm_iommu_host_lost() invalidates first). A range with anything but
 * memory in it (a peer's BAR, whose owner can change without that) is
 * unmapped as without the flag.
 */
int __pkvm_iommu_unmap(u64 domain_id, u64 iova, u64 size, u64 flags, u64 *done)
{
	unsigned int how = HYP_IOMMU_UNSHARE;
	struct hyp_iommu_domain *domain;
	u64 end;
	int ret;

	*done = 0;
	if (!size || !PAGE_ALIGNED(iova) || !PAGE_ALIGNED(size))
		return -EINVAL;
	if (flags & ~PKVM_IOMMU_UNMAP_DEFER)
		return -EINVAL;
	if (flags & PKVM_IOMMU_UNMAP_DEFER)
		how |= HYP_IOMMU_DEFER;
	size = min_t(u64, size, PKVM_IOMMU_MAP_MAX_PAGES << PAGE_SHIFT);
	if (check_add_overflow(iova, size, &end) || end > BIT_ULL(HYP_IOMMU_IAS))
		return -EINVAL;

	domain = hyp_iommu_get_paging_domain(domain_id);
	if (IS_ERR(domain))
		return PTR_ERR(domain);
	hyp_spin_lock(&domain->pgt_lock);
	ret = __hyp_iommu_unmap_locked(domain, iova, size, done, how, NULL);
	hyp_spin_unlock(&domain->pgt_lock);
	hyp_iommu_put_domain(domain);
	return ret;
}

/**
 * __pkvm_iommu_flush() - Complete a domain's deferred unmaps.
 * @domain_id:	The host's id of a paging domain.
 *
 * On return 0, no SMMU of the domain translates anything a deferred unmap
 * (PKVM_IOMMU_UNMAP_DEFER) cleared before the call: each SMMU in its array
 * that one left stale is invalidated, whole (TLBI_NSNH_ALL), and CMD_SYNC.
 * At most one invalidation per SMMU. -EIO if an SMMU did not confirm (it is
 * then stopped at the next page the host loses).
 */
int __pkvm_iommu_flush(u64 domain_id)
{
	struct hyp_iommu_domain *domain;
	const struct smmu_inv *inv;
	struct smmu_invs *invs;
	struct hyp_smmu *smmu;
	int ret = 0;
	u32 i;

	domain = hyp_iommu_get_paging_domain(domain_id);
	if (IS_ERR(domain))
		return PTR_ERR(domain);
	hyp_iommu_read_lock();
	invs = smmu_invs_deref_for_inv(&domain->invs);
	smmu_invs_for_each(invs, i, inv) {
		smmu = hyp_smmu_get_any(inv->smmu);
		if (smmu)
			ret = hyp_smmu_flush_deferred(smmu) ?: ret;
	}
	hyp_iommu_read_unlock();
	hyp_iommu_put_domain(domain);
	return ret;
}

int __pkvm_iommu_iova_to_phys(u64 domain_id, u64 iova, u64 *phys)
{
	struct hyp_iommu_domain *domain;
	kvm_pte_t pte = 0;
	s8 level;
	int ret;

	*phys = 0;
	if (iova >= BIT_ULL(HYP_IOMMU_IAS))
		return -EINVAL;
	domain = hyp_iommu_get_domain(domain_id);
	if (!domain)
		return -ENOENT;
	hyp_spin_lock(&domain->pgt_lock);
	ret = kvm_pgtable_get_leaf(&domain->pgt, iova, &pte, &level);
	hyp_spin_unlock(&domain->pgt_lock);
	hyp_iommu_put_domain(domain);
	if (ret)
		return ret;
	if (!kvm_pte_valid(pte))
		return -ENOENT;
	*phys = kvm_pte_to_phys(pte) + (iova & (kvm_granule_size(level) - 1));
	return 0;
}

/* Arrays take one page each, from the caller's reservation. */
static void *hyp_iommu_invs_alloc(void *arg, size_t size)
{
	return size <= PAGE_SIZE ? hyp_iommu_zalloc_page(arg) : NULL;
}

/* An array that was never published goes back to the reservation. */
static void hyp_iommu_invs_free(void *arg, void *ptr)
{
	push_hyp_memcache(arg, ptr, hyp_virt_to_phys);
}

/*
 * Publish @new as @domain's array and retire the old one: it is freed once
 * every CPU inside EL2 now has left (a concurrent unmap may still read it).
 */
static struct smmu_invs *hyp_iommu_invs_publish_locked(struct hyp_iommu_domain *domain,
							 struct smmu_invs *new)
{
	struct smmu_invs *old = smmu_invs_deref_locked(&domain->invs);

	hyp_assert_lock_held(&domain->lock);
	smmu_invs_publish(&domain->invs, new);
	return old;
}

/* Outside domain->invs_lock: hyp_iommu_lock nests outside the host lock. */
static void hyp_iommu_invs_retire(struct smmu_invs *old)
{
	if (!old)
		return;
	hyp_spin_lock(&hyp_iommu_lock);
	hyp_gp_retire_locked(&hyp_iommu_gp, &old->gp_node, hyp_iommu_free_retired);
	hyp_spin_unlock(&hyp_iommu_lock);
}

/* The first stream of @domain on SMMU @idx: add {SMMU, VMID} to the array. */
static int hyp_iommu_invs_add_locked(struct hyp_iommu_domain *domain, u16 idx,
				     u16 vmid, struct kvm_hyp_memcache *mc)
{
	struct smmu_inv add = {
		.smmu = idx, .tag = vmid, .type = SMMU_INV_S2_VMID, .users = 1,
	};
	struct smmu_invs_alloc a = {
		.alloc = hyp_iommu_invs_alloc, .free = hyp_iommu_invs_free, .arg = mc,
	};
	struct smmu_invs *new;
	int ret;

	bool locked = READ_ONCE(hyp_iommu_locked_invs);
	struct smmu_invs *old = NULL;

	hyp_assert_lock_held(&domain->lock);
	if (locked)
		hyp_spin_lock(&domain->invs_lock);
	ret = smmu_invs_merge(smmu_invs_deref_locked(&domain->invs), &add, 1, &a, &new);
	if (!ret)
		old = hyp_iommu_invs_publish_locked(domain, new);
	if (locked)
		hyp_spin_unlock(&domain->invs_lock);
	hyp_iommu_invs_retire(old);
	return ret;
}

/*
 * The last stream of @domain on SMMU @idx is gone and its STE cleared and
 * synced: drop the entry in place (cannot fail), then try to shrink the array.
 * Without a page to shrink it, the trash entry stays; readers skip it.
 */
static void hyp_iommu_invs_del_locked(struct hyp_iommu_domain *domain, u16 idx,
				      u16 vmid)
{
	struct smmu_inv del = {
		.smmu = idx, .tag = vmid, .type = SMMU_INV_S2_VMID, .users = 1,
	};
	struct kvm_hyp_memcache mc = {};
	struct smmu_invs_alloc a = {
		.alloc = hyp_iommu_invs_alloc, .free = hyp_iommu_invs_free, .arg = &mc,
	};
	bool locked = READ_ONCE(hyp_iommu_locked_invs);
	struct smmu_invs *new, *old = NULL;
	u64 unused;

	hyp_assert_lock_held(&domain->lock);
	if (locked)
		hyp_spin_lock(&domain->invs_lock);
	/* The entry exists: attach added it with the VMID this detach drops. */
	WARN_ON(smmu_invs_unref(smmu_invs_deref_locked(&domain->invs), &del, 1) < 0);
	if (locked)
		hyp_spin_unlock(&domain->invs_lock);
	if (hyp_iommu_reserve(&mc, 1, &unused))
		return;
	if (locked)
		hyp_spin_lock(&domain->invs_lock);
	if (!smmu_invs_purge(smmu_invs_deref_locked(&domain->invs), &a, &new))
		old = hyp_iommu_invs_publish_locked(domain, new);
	if (locked)
		hyp_spin_unlock(&domain->invs_lock);
	hyp_iommu_invs_retire(old);
	hyp_iommu_unreserve(&mc);
}

/*
 * Translate stream @sid of @smmu (index @idx, both checked) with @domain.
 * The first stream of the domain on an SMMU takes a VMID from that SMMU's
 * own space, invalidates it before use and publishes the domain's new
 * invalidation array with it; only then is the STE installed, so an unmap
 * that runs meanwhile already invalidates this SMMU (see hyp_iommu_flush()).
 * @mc holds a page for a level-2 stream table if the stream needs one, and
 * one for the array. Counts the stream in domain->nr_streams on success, and
 * on the failure that leaves the STE in place.
 */
static int hyp_iommu_attach_locked(struct hyp_iommu_domain *domain,
				   struct hyp_smmu *smmu, u16 idx, u32 sid,
				   struct kvm_hyp_memcache *mc)
{
	struct hyp_smmu_s2_cfg cfg;
	struct smmu_tag_ref *ref;
	int ret = 0, fresh, last;

	hyp_assert_lock_held(&domain->lock);
	ref = &domain->vmids[idx];
	hyp_spin_lock(&smmu->lock);
	fresh = smmu_tag_get_locked(&smmu->vmids, ref);
	hyp_spin_unlock(&smmu->lock);
	if (fresh < 0)
		return fresh;
	/* A recycled VMID may still have entries of its previous domain. */
	if (fresh) {
		ret = hyp_smmu_tlbi_vmid(smmu, ref->tag);
		if (!ret)
			ret = hyp_iommu_invs_add_locked(domain, idx, ref->tag, mc);
		/* Not published: nothing to take back below. */
		if (ret)
			fresh = 0;
	}
	if (!ret) {
		hyp_iommu_s2_cfg(domain, ref->tag, smmu, &cfg);
		ret = hyp_smmu_install_ste(smmu, sid, &cfg, hyp_iommu_zalloc_page, mc);
		/*
		 * The STE went in but the SMMU did not confirm it: it may use the
		 * domain's tables. Fail closed: count the stream as attached, so
		 * the domain and its VMID live on until the host detaches it.
		 */
		if (ret && ret != -EBUSY && ret != -ENOMEM) {
			domain->nr_streams++;
			return ret;
		}
	}
	if (ret) {
		hyp_spin_lock(&smmu->lock);
		last = smmu_tag_put_locked(&smmu->vmids, ref);
		hyp_spin_unlock(&smmu->lock);
		if (last == 1) {
			/* No STE used it: the SMMU cached nothing under it since the flush. */
			if (fresh)
				hyp_iommu_invs_del_locked(domain, idx, ref->tag);
			hyp_spin_lock(&smmu->lock);
			smmu_tag_release_locked(&smmu->vmids, ref);
			hyp_spin_unlock(&smmu->lock);
		}
		return ret;
	}
	domain->nr_streams++;
	return 0;
}

/**
 * __pkvm_iommu_attach() - Translate stream @sid of SMMU @smmu_idx with a domain.
 * @domain_id:	The host's id of the domain.
 * @smmu_idx:	The SMMU.
 * @sid:	The stream, which must be aborting.
 * @pages_needed: Set with -ENOMEM.
 *
 * See hyp_iommu_attach_locked().
 */
int __pkvm_iommu_attach(u64 domain_id, u64 smmu_idx, u64 sid, u64 *pages_needed)
{
	struct hyp_iommu_domain *domain;
	struct kvm_hyp_memcache mc = {};
	struct hyp_smmu *smmu;
	int ret;

	smmu = hyp_iommu_get_stream(&smmu_idx, sid);
	if (!smmu)
		return -EINVAL;
	/* This SMMU must walk the domain's table as the CPU built it. */
	if (!hyp_smmu_s2_compatible(smmu, HYP_IOMMU_IAS))
		return -EOPNOTSUPP;

	domain = hyp_iommu_get_domain(domain_id);
	if (!domain)
		return -ENOENT;
	/* A level-2 stream table if missing, and a new invalidation array. */
	ret = hyp_iommu_reserve(&mc, hyp_smmu_ste_pages(smmu, sid) + 1, pages_needed);
	if (ret)
		goto put_domain;
	/*
	 * Not the stream of a device a protected VM holds, and none can be
	 * held until the STE is in: a claim then sees the stream in use.
	 */
	ret = pkvm_pci_lock_host_stream(smmu_idx, sid);
	if (!ret) {
		hyp_spin_lock(&domain->lock);
		ret = hyp_iommu_attach_locked(domain, smmu, smmu_idx, sid, &mc);
		hyp_spin_unlock(&domain->lock);
		pkvm_pci_unlock_host_stream();
	}
put_domain:
	hyp_iommu_put_domain(domain);
	hyp_iommu_unreserve(&mc);
	return ret;
}

/*
 * Make stream @sid of @smmu (index @idx, both checked) abort again. Clears
 * the STE and syncs it first; then, after the domain's last stream on this
 * SMMU, drops the SMMU from the invalidation array, invalidates the VMID and
 * frees it. Return: 0, -ENOENT (the stream does not translate through
 * @domain), or the error of an SMMU that did not confirm: still attached.
 */
static int hyp_iommu_detach_locked(struct hyp_iommu_domain *domain,
				   struct hyp_smmu *smmu, u16 idx, u32 sid)
{
	struct hyp_smmu_s2_cfg cfg;
	struct smmu_tag_ref *ref;
	int ret, last;

	hyp_assert_lock_held(&domain->lock);
	ref = &domain->vmids[idx];
	if (!ref->users)
		return -ENOENT;
	hyp_iommu_s2_cfg(domain, ref->tag, smmu, &cfg);
	ret = hyp_smmu_clear_ste(smmu, sid, &cfg);
	if (ret)
		return ret;

	hyp_spin_lock(&smmu->lock);
	last = smmu_tag_put_locked(&smmu->vmids, ref);
	hyp_spin_unlock(&smmu->lock);
	/* STE cleared and synced; now the array entry, then the VMID. */
	if (last == 1)
		hyp_iommu_invs_del_locked(domain, idx, ref->tag);
	/*
	 * Free the VMID only once the SMMU confirmed that nothing tagged with
	 * it is cached; if it did not, the VMID stays allocated for good.
	 */
	if (last == 1 && !hyp_smmu_tlbi_vmid(smmu, ref->tag)) {
		hyp_spin_lock(&smmu->lock);
		smmu_tag_release_locked(&smmu->vmids, ref);
		hyp_spin_unlock(&smmu->lock);
	}
	domain->nr_streams--;
	return 0;
}

/**
 * __pkvm_iommu_detach() - Make stream @sid abort again.
 * @domain_id:	The host's id of the domain the stream is attached to.
 * @smmu_idx:	The SMMU.
 * @sid:	The stream.
 *
 * See hyp_iommu_detach_locked(). A protected VM's streams cannot be named:
 * its domain has no id.
 */
int __pkvm_iommu_detach(u64 domain_id, u64 smmu_idx, u64 sid)
{
	struct hyp_iommu_domain *domain;
	struct hyp_smmu *smmu;
	int ret;

	smmu = hyp_iommu_get_stream(&smmu_idx, sid);
	if (!smmu)
		return -EINVAL;
	domain = hyp_iommu_get_domain(domain_id);
	if (!domain)
		return -ENOENT;

	hyp_spin_lock(&domain->lock);
	ret = hyp_iommu_detach_locked(domain, smmu, smmu_idx, sid);
	hyp_spin_unlock(&domain->lock);
	hyp_iommu_put_domain(domain);
	return ret;
}

/**
 * __pkvm_iommu_domain_info() - Debug view of a domain on one SMMU.
 * @domain_id:	The host's id of the domain.
 * @smmu_idx:	The SMMU.
 * @info:	[0]: VMID (bits 15:0) and streams on that SMMU (bits 47:16);
 *		[1]: physical address of the domain's root table.
 */
int __pkvm_iommu_domain_info(u64 domain_id, u64 smmu_idx, u64 info[2])
{
	struct hyp_iommu_domain *domain;

	info[0] = 0;
	info[1] = 0;
	if (smmu_idx >= PKVM_SMMU_MAX)
		return -EINVAL;
	smmu_idx = array_index_nospec(smmu_idx, PKVM_SMMU_MAX);
	domain = hyp_iommu_get_domain(domain_id);
	if (!domain)
		return -ENOENT;
	hyp_spin_lock(&domain->lock);
	info[0] = domain->vmids[smmu_idx].tag |
		  ((u64)domain->vmids[smmu_idx].users << 16);
	info[1] = hyp_virt_to_phys(domain->pgt.pgd);
	hyp_spin_unlock(&domain->lock);
	hyp_iommu_put_domain(domain);
	return 0;
}

/*
 * Protected VMs' domains (docs/pvm-device-assignment.md): the SMMUs walk the
 * VM's own stage-2, with a VMID of each SMMU's own. pKVM changes that table
 * only at EL2, under the guest lock, through kvm_pgtable, which invalidates
 * the CPU's TLBs (nvhe/tlb.c) before the page it unmapped changes owner; the
 * hooks below invalidate the SMMUs there too:
 *
 *   stage-2 change                     assign (__pkvm_iommu_assign_pvm)
 *   W pte                              W binding, domain->invs (release)
 *   CPU TLBI + DSB                     dsb (STE write path)
 *   smp_mb(); R binding, invs          W STE; the SMMU walks, R pte
 *   SMMU TLBI + CMD_SYNC per entry
 *   ... only then the page changes owner
 *
 * as hyp_iommu_flush() argues for the paging domains. The invalidation
 * covers any level and the walk caches: the VM's table has blocks, and
 * kvm_pgtable frees tables of it.
 */

/* The domain of the protected VM whose stage-2 MMU is @mmu, or NULL. */
static struct hyp_iommu_domain *hyp_iommu_pvm_domain(const struct kvm_s2_mmu *mmu)
{
	int i;

	for (i = 0; i < HYP_IOMMU_MAX_PVMS; i++) {
		/* Pairs with smp_store_release() in hyp_iommu_pvm_get_domain(). */
		if (smp_load_acquire(&hyp_iommu_pvm_mmus[i]) == mmu)
			return READ_ONCE(hyp_iommu_pvm_domains[i]);
	}
	return NULL;
}

/*
 * A stage-2 change of many pages whose SMMU invalidation may wait until it
 * is over (pkvm_iommu_s2_defer()): this CPU's flushes of that MMU only note
 * that one is owed, and pkvm_iommu_s2_undefer() issues it, VMID-wide. Per
 * CPU: another CPU's flush of the same MMU is not deferred.
 */
struct hyp_iommu_defer {
	const struct kvm_s2_mmu	*mmu;
	bool			owed;
};

static DEFINE_PER_CPU(struct hyp_iommu_defer, hyp_iommu_defer);

/*
 * [@ipa, @ipa + @size) of the stage-2 @mmu changed and the CPU's TLBs were
 * invalidated: if it is a protected VM's with assigned streams, invalidate
 * every SMMU of its domain (@size 0: the whole VMID). Cannot fail: an SMMU
 * that does not confirm is stopped (hyp_iommu_fail_closed()).
 */
static void hyp_iommu_pvm_flush(const struct kvm_s2_mmu *mmu, u64 ipa, u64 size)
{
	struct hyp_iommu_defer *defer = this_cpu_ptr(&hyp_iommu_defer);
	struct hyp_iommu_domain *domain;

	if (defer->mmu == mmu) {
		defer->owed = true;
		return;
	}

	/* The descriptor write before the read of the binding and the array. */
	smp_mb();
	/*
	 * Every stage-2 flush comes here, the host's and every VM's: with no
	 * protected VM bound (the count is raised before any STE of its, see
	 * hyp_iommu_pvm_get_domain()), one load and nothing else.
	 */
	if (!READ_ONCE(hyp_iommu_nr_pvms))
		return;
	/*
	 * The host may name any VM's MMU (the TLB maintenance hypercalls),
	 * even one being torn down: the domain lives until every CPU that
	 * could have found it has left this section.
	 */
	hyp_iommu_read_lock();
	domain = hyp_iommu_pvm_domain(mmu);
	if (domain && hyp_iommu_flush_rcu(domain, ipa, size, 0))
		hyp_iommu_fail_closed_rcu(domain);
	hyp_iommu_read_unlock();
}

/* __kvm_tlb_flush_vmid_ipa(): the leaf or table at @level that maps @ipa. */
void pkvm_iommu_s2_flush_ipa(const struct kvm_s2_mmu *mmu, u64 ipa, int level)
{
	u64 size;

	/* TLBI_TTL_UNKNOWN: a table of unknown level went, the whole VMID. */
	if (level < KVM_PGTABLE_FIRST_LEVEL || level > KVM_PGTABLE_LAST_LEVEL) {
		hyp_iommu_pvm_flush(mmu, 0, 0);
		return;
	}
	size = kvm_granule_size(level);
	hyp_iommu_pvm_flush(mmu, ALIGN_DOWN(ipa, size), size);
}

/* __kvm_tlb_flush_vmid_range(). */
void pkvm_iommu_s2_flush_range(const struct kvm_s2_mmu *mmu, u64 start, u64 pages)
{
	if (!pages || pages > (U64_MAX >> PAGE_SHIFT))
		pages = 0;
	hyp_iommu_pvm_flush(mmu, start, pages << PAGE_SHIFT);
}

/* __kvm_tlb_flush_vmid(). */
void pkvm_iommu_s2_flush_vmid(const struct kvm_s2_mmu *mmu)
{
	hyp_iommu_pvm_flush(mmu, 0, 0);
}

/**
 * pkvm_iommu_s2_defer() - Hold this CPU's SMMU invalidations of a stage-2.
 * @mmu:	The stage-2, about to change in many places, none of whose
 *		pages may change owner before pkvm_iommu_s2_undefer().
 *
 * Until pkvm_iommu_s2_undefer(), with the lock that serialises changes to
 * @mmu's table held throughout, this CPU's changes to it invalidate the
 * CPU's TLBs as usual, but the SMMUs walking it only once, at the end: a
 * device may use a stale entry meanwhile, which is why no page may change
 * owner before. Not nested.
 */
void pkvm_iommu_s2_defer(const struct kvm_s2_mmu *mmu)
{
	struct hyp_iommu_defer *defer = this_cpu_ptr(&hyp_iommu_defer);

	defer->owed = false;
	WRITE_ONCE(defer->mmu, mmu);
}

/**
 * pkvm_iommu_s2_undefer() - Issue the SMMU invalidation pkvm_iommu_s2_defer() held.
 * @mmu:	The stage-2 given to pkvm_iommu_s2_defer().
 *
 * One invalidation of the whole VMID on every SMMU of @mmu's domain, if a
 * change needed one.
 */
void pkvm_iommu_s2_undefer(const struct kvm_s2_mmu *mmu)
{
	struct hyp_iommu_defer *defer = this_cpu_ptr(&hyp_iommu_defer);

	WRITE_ONCE(defer->mmu, NULL);
	if (defer->owed)
		hyp_iommu_pvm_flush(mmu, 0, 0);
	defer->owed = false;
}

/*
 * MSIs of a protected VM's devices. An ITS doorbell cannot go into the VM's
 * stage-2: the guest's CPUs would reach the host's ITS through it, and an
 * SMMUv3 has no MSI bypass. So the SMMUs walk a root table of the domain's
 * own, one level above the VM's start level. Its first entries point at the
 * VM's start tables: below the VM's input size the SMMUs walk the VM's
 * stage-2 itself, shared, never copied, invalidated by IPA and VMID as
 * before. The next entry leads to tables of the domain's own that map each
 * MSI doorbell page write-only, from msi_base on: past the VM's input size,
 * where the VM's CPUs cannot reach. None of the root's entries changes
 * while a stream may walk it: pKVM allocates the VM's start tables with the
 * VM and frees them after its teardown, which detaches every stream first.
 * A device then rings a doorbell with its own DeviceID, and raises only the
 * interrupts the host's ITS tables give that DeviceID, as for any device
 * the host drives; nvhe/pci_cfg.c keeps its MSI address on the doorbells.
 */

/* Where the doorbells of a VM with stage-2 @pgt go, and the root's input size; or 0. */
static u64 hyp_iommu_pvm_msi_base(const struct kvm_pgtable *pgt, unsigned int *ias)
{
	s8 level = pgt->start_level - 1;
	u64 base;

	/* A root above level 0 needs LPA2's level -1 (not done). */
	if (level < 0 || !smp_load_acquire(&hyp_iommu_nr_doorbells))
		return 0;
	/* The span of the VM's start tables: at least 2^ia_bits. */
	base = (kvm_pgtable_stage2_pgd_size(pgt->mmu->vtcr) >> PAGE_SHIFT) *
	       kvm_granule_size(level);
	*ias = ilog2(base) + 1;
	return base;
}

/* Pages an MSI root for a VM with stage-2 @pgt takes: the root, a table per level below. */
static unsigned int hyp_iommu_pvm_msi_pages(const struct kvm_pgtable *pgt)
{
	unsigned int ias;

	if (!hyp_iommu_pvm_msi_base(pgt, &ias))
		return 0;
	return KVM_PGTABLE_LAST_LEVEL - pgt->start_level + 2;
}

/*
 * Give back an MSI root's pages: only the doorbells' chain, the VM's start
 * tables are the VM's. Bounded: a page per level. Nothing walks it any
 * more: every stream was detached, or it was never published.
 */
static void hyp_iommu_pvm_msi_free(struct hyp_iommu_domain *domain,
				   struct kvm_hyp_memcache *mc)
{
	kvm_pte_t *table = domain->pgt.pgd, pte;
	s8 level = domain->pgt.start_level;
	u64 idx;

	if (!domain->msi_base)
		return;
	idx = domain->msi_base >> kvm_granule_shift(level);
	for (; level <= KVM_PGTABLE_LAST_LEVEL; level++) {
		pte = table[idx];
		push_hyp_memcache(mc, (phys_addr_t *)table, hyp_virt_to_phys);
		if (level == KVM_PGTABLE_LAST_LEVEL || !kvm_pte_valid(pte))
			break;
		table = hyp_phys_to_virt(kvm_pte_to_phys(pte));
		idx = 0;
	}
	domain->msi_base = 0;
}

/* The last-level table of @domain's doorbells, which its MSI root maps. */
static kvm_pte_t *hyp_iommu_pvm_msi_l3(struct hyp_iommu_domain *domain)
{
	kvm_pte_t *table = domain->pgt.pgd;
	s8 level = domain->pgt.start_level;
	u64 idx = domain->msi_base >> kvm_granule_shift(level);

	for (; level < KVM_PGTABLE_LAST_LEVEL; level++) {
		table = hyp_phys_to_virt(kvm_pte_to_phys(table[idx]));
		idx = 0;
	}
	return table;
}

/*
 * Build @domain's MSI root in pages of @mc, if the VM's geometry and @smmu
 * (the first one of the domain) allow it; else the SMMUs walk the VM's
 * table itself and the VM's devices have no MSIs. Before the domain is
 * published, under hyp_iommu_lock (hyp_iommu_next_pgd).
 */
static void hyp_iommu_pvm_msi_root(struct hyp_iommu_domain *domain,
				   struct hyp_smmu *smmu, struct kvm_hyp_memcache *mc)
{
	const struct kvm_pgtable *vm_pgt = &domain->vm->pgt;
	/* Pairs with smp_store_release() in __pkvm_iommu_register_doorbell(). */
	unsigned int ias, i, nr = smp_load_acquire(&hyp_iommu_nr_doorbells);
	u64 base = hyp_iommu_pvm_msi_base(vm_pgt, &ias), vm_pgd, *root;
	s8 level = vm_pgt->start_level - 1;
	int ret;

	hyp_assert_lock_held(&hyp_iommu_lock);
	if (!base || !hyp_smmu_s2_compatible(smmu, ias))
		return;
	domain->mmu.vtcr = (vm_pgt->mmu->vtcr & ~(VTCR_EL2_T0SZ | VTCR_EL2_SL0_MASK)) |
			   FIELD_PREP(VTCR_EL2_T0SZ, 64 - ias) |
			   FIELD_PREP(VTCR_EL2_SL0_MASK, VTCR_EL2_TGRAN_SL0_BASE - level);
	hyp_iommu_next_pgd = pop_hyp_memcache(mc, hyp_phys_to_virt);
	/* The doorbells' leaves in the encoding the VM's use: one STE.S2FWB. */
	ret = __kvm_pgtable_stage2_init(&domain->pgt, &domain->mmu, &hyp_iommu_mm_ops,
					vm_pgt->flags & KVM_PGTABLE_S2_NOFWB,
					hyp_iommu_force_pte);
	if (hyp_iommu_next_pgd)
		push_hyp_memcache(mc, hyp_iommu_next_pgd, hyp_virt_to_phys);
	hyp_iommu_next_pgd = NULL;
	if (ret)
		return;
	domain->mmu.pgt = &domain->pgt;
	domain->msi_base = base;
	for (i = 0; i < nr; i++) {
		ret = kvm_pgtable_stage2_map(&domain->pgt, base + i * PAGE_SIZE, PAGE_SIZE,
					     hyp_iommu_doorbells[i],
					     KVM_PGTABLE_PROT_W | KVM_PGTABLE_PROT_DEVICE,
					     mc, 0);
		/* Cannot happen: pages reserved. No MSIs then. */
		if (ret) {
			hyp_iommu_pvm_msi_free(domain, mc);
			return;
		}
	}
	/*
	 * No doorbell is reachable until the host routes an MSI of the VM's
	 * to it (pkvm_iommu_pvm_msi_route()): with several ITSes, a device
	 * might otherwise reach one whose DeviceIDs are not its stream's.
	 */
	domain->msi_l3 = hyp_iommu_pvm_msi_l3(domain);
	for (i = 0; i < nr; i++) {
		domain->msi_leaves[i] = domain->msi_l3[i];
		domain->msi_l3[i] = 0;
	}
	domain->msi_doorbells = nr;
	/* Last, nothing walks it yet: the VM's start tables, one entry each. */
	root = domain->pgt.pgd;
	vm_pgd = hyp_virt_to_phys(vm_pgt->pgd);
	for (i = 0; i < base >> kvm_granule_shift(level); i++)
		root[i] = kvm_phys_to_pte(vm_pgd + i * PAGE_SIZE) | KVM_PTE_VALID |
			  FIELD_PREP(KVM_PTE_TYPE, KVM_PTE_TYPE_TABLE);
}

/*
 * The domain of protected VM @vm (the caller holds a reference to it),
 * created in pages of @mc, with an MSI root @smmu can walk if it can have
 * one, and bound to the VM's MMU, if it has none.
 */
static struct hyp_iommu_domain *hyp_iommu_pvm_get_domain(struct pkvm_hyp_vm *vm,
							 struct hyp_smmu *smmu,
							 struct kvm_hyp_memcache *mc)
{
	const struct kvm_s2_mmu *mmu = &vm->kvm.arch.mmu;
	struct hyp_iommu_domain *domain;
	int i, slot = -1;

	hyp_spin_lock(&hyp_iommu_lock);
	for (i = 0; i < HYP_IOMMU_MAX_PVMS; i++) {
		if (hyp_iommu_pvm_mmus[i] == mmu) {
			domain = hyp_iommu_pvm_domains[i];
			goto unlock;
		}
		if (!hyp_iommu_pvm_mmus[i] && slot < 0)
			slot = i;
	}
	domain = ERR_PTR(-ENOSPC);
	if (slot < 0)
		goto unlock;
	/* The caller reserved the page. */
	domain = hyp_iommu_zalloc_page(mc) ?: ERR_PTR(-ENOMEM);
	if (IS_ERR(domain))
		goto unlock;
	hyp_spin_lock_init(&domain->lock);
	hyp_spin_lock_init(&domain->pgt_lock);
	hyp_spin_lock_init(&domain->invs_lock);
	domain->vm = vm;
	hyp_iommu_pvm_msi_root(domain, smmu, mc);
	WRITE_ONCE(hyp_iommu_pvm_domains[slot], domain);
	/* Last: from here on the VM's stage-2 changes reach the domain. */
	smp_store_release(&hyp_iommu_pvm_mmus[slot], mmu);
	WRITE_ONCE(hyp_iommu_nr_pvms, hyp_iommu_nr_pvms + 1);
unlock:
	hyp_spin_unlock(&hyp_iommu_lock);
	return domain;
}

/* Can @smmu walk @pgt as the CPU built it? */
static bool hyp_iommu_pvm_walkable(struct hyp_smmu *smmu, const struct kvm_pgtable *pgt)
{
	if (!hyp_smmu_s2_compatible(smmu, pgt->ia_bits))
		return false;
	/* The attributes of FWB-encoded leaves mean something else without STE.S2FWB. */
	return !hyp_iommu_table_fwb(pgt) || (smmu->features & HYP_SMMU_FEAT_FWB);
}

/* The live protected VM @handle, with a reference, or an ERR_PTR(). */
static struct pkvm_hyp_vm *hyp_iommu_get_pvm(u64 handle)
{
	struct pkvm_hyp_vm *vm;

	if (handle > U32_MAX)
		return ERR_PTR(-ENOENT);
	vm = get_pkvm_hyp_vm(handle);
	if (!vm)
		return ERR_PTR(-ENOENT);
	/*
	 * The reference keeps the VM from dying meanwhile
	 * (__pkvm_start_teardown_vm() wants none).
	 */
	if (!pkvm_hyp_vm_is_protected(vm) || vm->kvm.arch.pkvm.is_dying) {
		put_pkvm_hyp_vm(vm);
		return ERR_PTR(-EINVAL);
	}
	return vm;
}

/**
 * pkvm_iommu_pvm_msi_route() - Let a protected VM's device ring a doorbell.
 * @handle:	The VM, which holds the device (nvhe/pci_cfg.c).
 * @addr:	An MSI address the host chose: in a doorbell page, as the CPUs see it.
 *
 * Makes that doorbell reachable through the VM's MSI root, for good (a leaf
 * from invalid to valid: nothing to invalidate), visible to the SMMUs
 * before the caller can give the device the address. Called with
 * hyp_pci_lock held; the domain is looked up under hyp_iommu_lock, which
 * the teardown takes to unbind it before it retires it.
 *
 * Return: the address at which the VM's streams reach that doorbell, or 0
 * if @addr is in no doorbell page, or the VM has no MSI root.
 */
u64 pkvm_iommu_pvm_msi_route(u64 handle, u64 addr)
{
	struct hyp_iommu_domain *domain = NULL;
	u64 ret = 0;
	unsigned int i;

	hyp_spin_lock(&hyp_iommu_lock);
	for (i = 0; i < HYP_IOMMU_MAX_PVMS; i++) {
		domain = hyp_iommu_pvm_domains[i];
		if (domain && domain->vm->kvm.arch.pkvm.handle == handle)
			break;
	}
	if (i == HYP_IOMMU_MAX_PVMS || !domain->msi_base)
		goto unlock;
	for (i = 0; i < domain->msi_doorbells; i++) {
		if ((addr & PAGE_MASK) != hyp_iommu_doorbells[i])
			continue;
		if (!domain->msi_l3[i]) {
			WRITE_ONCE(domain->msi_l3[i], domain->msi_leaves[i]);
			/* Seen by the SMMUs' walks before the device gets the address. */
			wmb();
		}
		ret = domain->msi_base + i * PAGE_SIZE + (addr & ~PAGE_MASK);
		break;
	}
unlock:
	hyp_spin_unlock(&hyp_iommu_lock);
	return ret;
}

/**
 * __pkvm_iommu_assign_pvm() - Let a stream reach a protected VM's memory.
 * @handle:	The protected VM.
 * @smmu_idx:	The SMMU of the stream.
 * @sid:	The stream.
 * @pages_needed: Set with -ENOMEM.
 *
 * From now on stream @sid of SMMU @smmu_idx translates through the VM's own
 * stage-2, so the device reaches what the VM's stage-2 maps, nothing else;
 * every change pKVM makes to that table invalidates the SMMU too. There is
 * no unassign: the VM's teardown (pkvm_iommu_teardown_vm()) makes every
 * assigned stream abort before any of the VM's memory goes back. The stream
 * must be that of one PCI function registered before pKVM finalised, every
 * memory BAR of which went to the VM already (__pkvm_iommu_assign_pvm_mmio()),
 * and which the hypervisor reset since: only the VM can then make the device
 * issue DMA on it, and nothing the host programmed into it survives
 * (nvhe/pci_cfg.c).
 *
 * Return: 0, or -ENODEV, -EINVAL (no such SMMU or stream, not a protected
 * VM, a VM being torn down), -ENOENT (no such VM), -EPERM (not the stream of
 * a function the VM holds whole), -EAGAIN (the function's reset is not over:
 * ask again, it takes 100 ms), -EOPNOTSUPP (the SMMU cannot walk the VM's
 * table), -EBUSY (the stream translates already), -ENOSPC (too many VMs or
 * streams), -ENOMEM.
 */
int __pkvm_iommu_assign_pvm(u64 handle, u64 smmu_idx, u64 sid, u64 *pages_needed)
{
	struct hyp_iommu_domain *domain;
	struct kvm_hyp_memcache mc = {};
	struct pkvm_hyp_vm *vm;
	struct hyp_smmu *smmu;
	u32 before;
	int ret;

	if (!hyp_iommu_enabled())
		return -ENODEV;
	smmu = hyp_iommu_get_stream(&smmu_idx, sid);
	if (!smmu)
		return -EINVAL;
	vm = hyp_iommu_get_pvm(handle);
	if (IS_ERR(vm))
		return PTR_ERR(vm);
	ret = -EOPNOTSUPP;
	if (!hyp_iommu_pvm_walkable(smmu, &vm->pgt))
		goto put_vm;
	/* Only the stream of a device whose registers are all the VM's. */
	ret = pkvm_pci_stream_assignable(handle, smmu_idx, sid);
	if (ret)
		goto put_vm;
	/*
	 * The domain and its MSI root if new, a level-2 stream table if
	 * missing, an array.
	 */
	ret = hyp_iommu_reserve(&mc, 1 + hyp_iommu_pvm_msi_pages(&vm->pgt) +
				hyp_smmu_ste_pages(smmu, sid) + 1, pages_needed);
	if (ret)
		goto put_vm;

	domain = hyp_iommu_pvm_get_domain(vm, smmu, &mc);
	ret = PTR_ERR_OR_ZERO(domain);
	if (ret)
		goto unreserve;
	/* No record of the stream tells the host an address of the VM's. */
	ret = hyp_smmu_events_private(smmu, sid);
	if (ret)
		goto unreserve;
	hyp_spin_lock(&domain->lock);
	before = domain->nr_streams;
	ret = -ENOSPC;
	if (before < HYP_IOMMU_PVM_MAX_STREAMS)
		ret = hyp_iommu_attach_locked(domain, smmu, smmu_idx, sid, &mc);
	/* Attached, or its STE unconfirmed: the teardown detaches it. */
	if (domain->nr_streams != before) {
		domain->pvm_streams[before].smmu = smmu_idx;
		domain->pvm_streams[before].sid = sid;
	} else {
		/* Not assigned by this call: its hold on the records goes. */
		hyp_smmu_events_public(smmu, sid);
	}
	hyp_spin_unlock(&domain->lock);
	/*
	 * From now on the host may route the device's MSIs to the doorbells,
	 * if this SMMU walks them.
	 */
	if (!ret && hyp_iommu_table(domain, smmu) == &domain->pgt)
		pkvm_pci_stream_msi(handle, smmu_idx, sid);
unreserve:
	hyp_iommu_unreserve(&mc);
put_vm:
	put_pkvm_hyp_vm(vm);
	return ret;
}

/**
 * __pkvm_iommu_assign_pvm_mmio() - Give an assigned device's MMIO to a protected VM.
 * @handle:	The protected VM.
 * @pfn:	The first page frame of the MMIO (a BAR of the device).
 * @gfn:	Where the VM's stage-2 maps it.
 * @nr_pages:	At most PKVM_IOMMU_MAP_MAX_PAGES.
 * @pages_needed: Set with -ENOMEM: for the VM's stage-2 tables.
 *
 * From now on the VM, not the host, drives the device through these frames:
 * the host stage-2 refuses them to the host's CPUs and to its DMA mappings.
 * The VM's teardown takes them away before it detaches the VM's streams,
 * and gives them back to the host once the streams abort. The frames go
 * only where the guest accepted device MMIO (its MMIO guard hypercall), and
 * must lie within one memory BAR of a PCI function registered before pKVM
 * finalised: from the first page on, the VM holds the function and the host
 * can no longer reconfigure it, and with the last one the hypervisor resets
 * it (nvhe/pci_cfg.c). An MSI doorbell is never given away.
 *
 * Return: 0, or -ENODEV, -EINVAL (bad range, not a protected VM, a VM being
 * torn down), -ENOENT (no such VM), -EPERM (not within one BAR of an
 * assignable function, not MMIO the host owns, a doorbell, the IPA range is
 * mapped, or the guest did not accept MMIO there), -EBUSY (another VM holds
 * the function, its stream translates for the host, host MMIO is borrowed
 * by a non-protected guest or a DMA mapping), -ENOSPC (no room, or the VM
 * holds 8 functions), -E2BIG (the VM holds too much MMIO), -ENOMEM.
 */
int __pkvm_iommu_assign_pvm_mmio(u64 handle, u64 pfn, u64 gfn, u64 nr_pages,
				 u64 *pages_needed)
{
	struct kvm_hyp_memcache mc = {};
	struct pkvm_hyp_vm *vm;
	u64 phys, ipa, size;
	int ret;

	*pages_needed = 0;
	if (!hyp_iommu_enabled())
		return -ENODEV;
	if (!nr_pages || nr_pages > PKVM_IOMMU_MAP_MAX_PAGES ||
	    pfn >= BIT_ULL(52 - PAGE_SHIFT) || gfn >= BIT_ULL(52 - PAGE_SHIFT))
		return -EINVAL;
	phys = hyp_pfn_to_phys(pfn);
	ipa = hyp_pfn_to_phys(gfn);
	size = nr_pages << PAGE_SHIFT;
	if (phys + size > HYP_IOMMU_MAX_PA)
		return -EINVAL;
	if (hyp_iommu_range_has_doorbell(phys, size))
		return -EPERM;
	vm = hyp_iommu_get_pvm(handle);
	if (IS_ERR(vm))
		return PTR_ERR(vm);
	ret = -EINVAL;
	if (ipa + size > BIT_ULL(vm->pgt.ia_bits))
		goto put_vm;
	/* A table per level under the start level, twice: the range may cross a block. */
	ret = hyp_iommu_reserve(&mc, 2 * (KVM_PGTABLE_LAST_LEVEL - vm->pgt.start_level),
				pages_needed);
	if (ret)
		goto put_vm;
	/* From here on the host cannot reconfigure the function. */
	ret = pkvm_pci_claim_bar(handle, phys, size);
	if (!ret) {
		ret = pkvm_host_donate_guest_mmio(vm, phys, ipa, size, &mc);
		pkvm_pci_bar_given(handle, phys, size, !ret);
	}
	hyp_iommu_unreserve(&mc);
put_vm:
	put_pkvm_hyp_vm(vm);
	return ret;
}

/**
 * pkvm_iommu_teardown_vm() - Make every stream assigned to @vm abort.
 * @vm:		A protected VM about to be marked dying.
 *
 * Called by __pkvm_start_teardown_vm() with vm_table_lock held, on a VM
 * nothing holds a reference to (no vCPU loaded, no hypercall on it), before
 * any of its memory can go back to the host. Bounded: at most
 * HYP_IOMMU_PVM_MAX_STREAMS detaches.
 *
 * Return: 0 once no SMMU reaches the VM's memory (its domain is freed), or
 * the error of an SMMU that did not confirm a detach: that stream and the
 * ones not yet detached stay, the VM must not die, and a later call goes on.
 */
int pkvm_iommu_teardown_vm(struct pkvm_hyp_vm *vm)
{
	struct hyp_iommu_domain *domain = hyp_iommu_pvm_domain(&vm->kvm.arch.mmu);
	const struct hyp_iommu_stream *stream;
	struct smmu_invs *invs;
	struct hyp_smmu *smmu;
	int i, ret = 0;

	if (!domain)
		return 0;
	hyp_spin_lock(&domain->lock);
	while (domain->nr_streams) {
		stream = &domain->pvm_streams[domain->nr_streams - 1];
		smmu = hyp_smmu_get_any(stream->smmu);
		/*
		 * A stopped SMMU that acknowledged it is off reaches nothing:
		 * its stream is as good as detached (its VMID stays taken). One
		 * that may still translate cannot confirm: the VM stays.
		 */
		if (smmu && READ_ONCE(smmu->state) != HYP_SMMU_LIVE) {
			ret = hyp_smmu_translating(smmu) ? -EIO : 0;
			if (ret)
				break;
			hyp_smmu_events_public(smmu, stream->sid);
			domain->nr_streams--;
			continue;
		}
		ret = smmu ? hyp_iommu_detach_locked(domain, smmu, stream->smmu,
						     stream->sid) : -EIO;
		if (ret)
			break;
		/* The assignment's hold on the records goes (pending ones stay private). */
		hyp_smmu_events_public(smmu, stream->sid);
	}
	hyp_spin_unlock(&domain->lock);
	if (ret)
		return ret;

	hyp_spin_lock(&hyp_iommu_lock);
	for (i = 0; i < HYP_IOMMU_MAX_PVMS; i++) {
		if (hyp_iommu_pvm_domains[i] != domain)
			continue;
		WRITE_ONCE(hyp_iommu_pvm_mmus[i], NULL);
		WRITE_ONCE(hyp_iommu_pvm_domains[i], NULL);
		WRITE_ONCE(hyp_iommu_nr_pvms, hyp_iommu_nr_pvms - 1);
	}
	/*
	 * A reader may still hold the domain: the host can name the VM's MMU
	 * to the TLB maintenance hypercalls. Both go after a grace period.
	 */
	invs = smmu_invs_deref_locked(&domain->invs);
	if (invs)
		hyp_gp_retire_locked(&hyp_iommu_gp, &invs->gp_node, hyp_iommu_free_retired);
	hyp_gp_retire_locked(&hyp_iommu_gp, &domain->gp_node, hyp_iommu_free_retired_domain);
	hyp_spin_unlock(&hyp_iommu_lock);
	return 0;
}

/**
 * __pkvm_iommu_bench_knob() - Set a benchmark knob, or probe (test kernels only).
 * @knob:	PKVM_IOMMU_BENCH_LOCKED_INVS: read invalidation arrays under a
 *		per-domain lock (hyp_iommu_locked_invs).
 *		PKVM_IOMMU_TEST_EL2_ABORT: take an abort at EL2 on a load
 *		with a fixup (pkvm_pci_test_abort()), @value unused.
 * @value:	0 or 1.
 *
 * Return: 0, -EIO for PKVM_IOMMU_TEST_EL2_ABORT, or -EINVAL.
 */
int __pkvm_iommu_bench_knob(u64 knob, u64 value)
{
	if (knob == PKVM_IOMMU_TEST_EL2_ABORT)
		return pkvm_pci_test_abort();
	if (knob != PKVM_IOMMU_BENCH_LOCKED_INVS || value > 1)
		return -EINVAL;
	WRITE_ONCE(hyp_iommu_locked_invs, value);
	return 0;
}
