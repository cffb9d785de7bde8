/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for linux/kvm_host.h and asm/kvm_host.h: the stage-2 MMU
 * (only the fields the EL2 code and kvm_pgtable use) and the hyp memcache.
 *
 * asm/kvm_host.h does not build in userspace, so the memcache is rewritten
 * here with the same layout and semantics: a list threaded through the
 * first word of each page, holding physical addresses; pop from an empty
 * cache returns NULL after computing (not dereferencing) head's address.
 */
#ifndef __PKVM_EL2_SHIM_LINUX_KVM_HOST_H__
#define __PKVM_EL2_SHIM_LINUX_KVM_HOST_H__

#include <linux/types.h>
#include <linux/bits.h>
#include <asm/kvm_arm.h>
#include <asm/cpufeature.h>
#include <asm/memory.h>
#include <asm/pgtable-hwdef.h>
#include <asm/pgtable-prot.h>
#include <asm/tlbflush.h>
#include <asm/barrier.h>
#include <linux/rbtree.h>

typedef u64 kvm_pfn_t;
#define __phys_to_pfn(paddr)	((unsigned long)((paddr) >> PAGE_SHIFT))
#define PAGE_ALIGN(addr)	ALIGN(addr, PAGE_SIZE)
#define cmpxchg(ptr, o, n)	__sync_val_compare_and_swap((ptr), (o), (n))

/* Static keys as plain flags; the test flips them (pKVM finalised). */
struct static_key_false {
	bool	enabled;
};

#define static_branch_unlikely(k)	__atomic_load_n(&(k)->enabled, __ATOMIC_ACQUIRE)
#define static_branch_likely(k)		static_branch_unlikely(k)

/* Set once pKVM has finalised: the host is no longer trusted. */
extern struct static_key_false kvm_protected_mode_initialized;

/* Only stage-2 split uses it, which the IOMMU code never calls. */
struct kvm_mmu_memory_cache {
	int	nobjs;
};

struct kvm_pgtable;

struct kvm_s2_mmu {
	u64			vmid;
	phys_addr_t		pgd_phys;
	struct kvm_pgtable	*pgt;
	u64			vtcr;
	struct kvm_mmu_memory_cache split_page_cache;
};

struct kvm_hyp_memcache {
	phys_addr_t		head;
	unsigned long		nr_pages;
	void			*mapping;	/* EL1 only */
	unsigned long		flags;
};

static inline void push_hyp_memcache(struct kvm_hyp_memcache *mc,
				     phys_addr_t *p,
				     phys_addr_t (*to_pa)(void *virt))
{
	*p = mc->head;
	mc->head = to_pa(p);
	mc->nr_pages++;
}

static inline void *pop_hyp_memcache(struct kvm_hyp_memcache *mc,
				     void *(*to_va)(phys_addr_t phys))
{
	phys_addr_t *p;

	if (!mc->nr_pages)
		return NULL;
	p = to_va(mc->head & PAGE_MASK);
	mc->head = *p;
	mc->nr_pages--;
	return p;
}

static inline int __topup_hyp_memcache(struct kvm_hyp_memcache *mc,
				       unsigned long min_pages,
				       void *(*alloc_fn)(void *arg),
				       phys_addr_t (*to_pa)(void *virt),
				       void *arg)
{
	while (mc->nr_pages < min_pages) {
		phys_addr_t *p = alloc_fn(arg);

		if (!p)
			return -ENOMEM;
		push_hyp_memcache(mc, p, to_pa);
	}
	return 0;
}

/* The CPU TLB maintenance kvm_pgtable may ask for: counted, see el2.c. */
void __kvm_tlb_flush_vmid_ipa(struct kvm_s2_mmu *mmu, phys_addr_t ipa, int level);
void __kvm_tlb_flush_vmid_ipa_nsh(struct kvm_s2_mmu *mmu, phys_addr_t ipa, int level);
void __kvm_tlb_flush_vmid(struct kvm_s2_mmu *mmu);
void __kvm_tlb_flush_vmid_range(struct kvm_s2_mmu *mmu, phys_addr_t start,
				unsigned long pages);
/* At EL2 (nVHE), kvm_call_hyp() is a direct call. */
#define kvm_call_hyp(f, ...)	f(__VA_ARGS__)

#endif /* __PKVM_EL2_SHIM_LINUX_KVM_HOST_H__ */
