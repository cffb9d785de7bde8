/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Per-domain invalidation arrays.
 *
 * A domain points to one sorted array of {SMMU index, type, tag, users}: one
 * entry per SMMU instance (and tag type) the domain is attached through. The
 * unmap path reads it without a lock; attach and detach, serialised by the
 * domain's lock, replace it:
 *
 *   attach: smmu_invs_merge() -> smmu_invs_publish() -> retire the old array
 *           -> full barrier -> install the STE
 *   detach: clear the STE and CMD_SYNC -> smmu_invs_unref() (in place, cannot
 *           fail) -> invalidate and free the tag -> optionally
 *           smmu_invs_purge() -> smmu_invs_publish() -> retire the old array
 *   unmap:  update the page table -> smmu_invs_deref_for_inv() (full barrier
 *           and acquire load) -> smmu_invs_for_each() -> TLBI + CMD_SYNC per
 *           SMMU
 *
 * Arrays are never modified after publication except for the users counts,
 * which smmu_invs_unref() lowers in place with WRITE_ONCE(). Readers load each
 * users count once with READ_ONCE() and skip entries at zero ("trash"). A
 * reader that still sees the old count sends one more invalidation to an SMMU
 * no STE of this domain uses any more, which is harmless; a reader that sees
 * zero skips an SMMU whose STEs were already cleared and synced, so that SMMU
 * cannot translate through the domain's page table.
 *
 * Old arrays are freed after a grace period (nvhe/hyp_gp.h) through the
 * embedded @gp_node. All allocation goes through a caller-supplied
 * struct smmu_invs_alloc; this code has no global state and takes no locks.
 *
 * Lock: the owning domain's lock serialises merge, unref, purge, publish and
 * the writer-side fields (@nr_trash); readers take none.
 */

#ifndef __ARM64_KVM_NVHE_SMMU_INVS_H__
#define __ARM64_KVM_NVHE_SMMU_INVS_H__

#include <linux/compiler.h>
#include <linux/types.h>
#include <asm/barrier.h>

#include <nvhe/hyp_gp.h>

/**
 * enum smmu_inv_type - Kind of TLB invalidation an entry asks for
 * @SMMU_INV_S2_VMID: stage-2 TLBI by VMID (CMD_TLBI_S2_IPA / S12_VMALL)
 * @SMMU_INV_S1_ASID: stage-1 TLBI by ASID (CMD_TLBI_NH_VA / NH_ASID)
 * @SMMU_INV_NR_TYPES: number of types
 *
 * The value order is the order in which one SMMU's commands are issued,
 * because entries are sorted by it. Stage 2 comes first: a stage-1 or ATC
 * invalidation issued before the stage-2 one could let the SMMU refill its
 * stage-1/ATC caches through still-cached stale stage-2 translations. Later
 * types (stage-1 clear under a VMID, ATC) must be added after these.
 */
enum smmu_inv_type {
	SMMU_INV_S2_VMID,
	SMMU_INV_S1_ASID,
	SMMU_INV_NR_TYPES,
};

/**
 * struct smmu_inv - One SMMU's invalidation target for a domain
 * @smmu:   stable index of the SMMU instance (never a pointer)
 * @tag:    VMID or ASID on that SMMU; never 0
 * @type:   enum smmu_inv_type
 * @__pad:  zero
 * @users:  streams using this entry; 0 marks trash that readers skip. Lowered
 *          in place by smmu_invs_unref() (WRITE_ONCE), read with READ_ONCE.
 *          In the @add/@del arguments of merge/unref: the count to add/drop.
 *
 * Sorted by (@smmu, @type, @tag), see smmu_inv_cmp().
 */
struct smmu_inv {
	u16	smmu;
	u16	tag;
	u8	type;
	u8	__pad[3];
	u32	users;
};

/**
 * struct smmu_invs - Immutable sorted invalidation array of a domain
 * @gp_node:  retirement link, used once the array is unpublished
 * @nr_trash: entries with users == 0; writer side only (domain lock)
 * @nr:       number of entries, fixed at allocation
 * @inv:      entries, sorted by smmu_inv_cmp(), no duplicates
 */
struct smmu_invs {
	struct hyp_gp_node	gp_node;
	u32			nr_trash;
	u32			nr;
	struct smmu_inv		inv[] __counted_by(nr);
};

/**
 * struct smmu_invs_alloc - Memory for new arrays, supplied by the caller
 * @alloc: returns @size bytes (suitably aligned) or NULL; may be called at
 *         most once per merge or purge
 * @free:  frees memory returned by @alloc
 * @arg:   passed to both
 */
struct smmu_invs_alloc {
	void	*(*alloc)(void *arg, size_t size);
	void	(*free)(void *arg, void *ptr);
	void	*arg;
};

int smmu_inv_cmp(const struct smmu_inv *l, const struct smmu_inv *r);
void smmu_inv_sort(struct smmu_inv *inv, size_t nr);
int smmu_invs_merge(const struct smmu_invs *invs, const struct smmu_inv *add,
		    size_t nr_add, const struct smmu_invs_alloc *a,
		    struct smmu_invs **new_invs);
int smmu_invs_unref(struct smmu_invs *invs, const struct smmu_inv *del,
		    size_t nr_del);
int smmu_invs_purge(const struct smmu_invs *invs,
		    const struct smmu_invs_alloc *a,
		    struct smmu_invs **new_invs);
void smmu_invs_free(struct smmu_invs *invs, const struct smmu_invs_alloc *a);

/**
 * smmu_invs_needs_purge() - Whether @invs holds trash entries
 * @invs: an array, or NULL; the caller holds the domain lock
 *
 * Return: true if smmu_invs_purge() would shrink @invs.
 */
static inline bool smmu_invs_needs_purge(const struct smmu_invs *invs)
{
	return invs && invs->nr_trash;
}

/**
 * smmu_invs_publish() - Make @invs the domain's array
 * @slot: the domain's array pointer; the caller holds the domain lock
 * @invs: a fully built array, or NULL for none
 *
 * Pairs with smp_load_acquire() in smmu_invs_deref(): a reader that sees
 * @invs sees its entries. Before installing an STE that uses an entry of
 * @invs, the caller needs a full barrier (the STE write path's dsb) so that
 * an unmap either sees @invs or its page-table update is seen by the SMMU.
 */
static inline void smmu_invs_publish(struct smmu_invs __rcu **slot,
				     struct smmu_invs *invs)
{
	/* Pairs with smp_load_acquire() in smmu_invs_deref(). */
	smp_store_release(slot, (struct smmu_invs __force __rcu *)invs);
}

/**
 * smmu_invs_deref_locked() - Read the domain's array on the writer side
 * @slot: the domain's array pointer; the caller holds the domain lock
 *
 * Return: the published array, or NULL.
 */
static inline struct smmu_invs *
smmu_invs_deref_locked(struct smmu_invs __rcu *const *slot)
{
	return (struct smmu_invs __force *)READ_ONCE(*slot);
}

/**
 * smmu_invs_deref() - Read the domain's array without a lock
 * @slot: the domain's array pointer
 *
 * The caller is between hyp_gp_enter() and hyp_gp_quiescent().
 *
 * Return: the published array, or NULL.
 */
static inline struct smmu_invs *
smmu_invs_deref(struct smmu_invs __rcu *const *slot)
{
	/* Pairs with smp_store_release() in smmu_invs_publish(). */
	return (struct smmu_invs __force *)smp_load_acquire(slot);
}

/**
 * smmu_invs_deref_for_inv() - Read the array after a page-table update
 * @slot: the domain's array pointer
 *
 * The unmap path calls this after clearing the page-table entries and before
 * invalidating. The full barrier orders the page-table stores before the
 * array load (store-buffering pair with the full barrier between
 * smmu_invs_publish() and the STE install in attach):
 *
 *   unmap                          attach
 *   W pte = 0                      W *slot = new array (release)
 *   smp_mb()                       dsb / smp_mb()
 *   R *slot                        W STE -> SMMU walks, R pte
 *
 * Either the unmap sees the new array and invalidates the new SMMU, or the
 * new SMMU's walks see the cleared PTE.
 *
 * Return: the published array, or NULL.
 */
static inline struct smmu_invs *
smmu_invs_deref_for_inv(struct smmu_invs __rcu *const *slot)
{
	/* PTE stores before the array load; see the diagram above. */
	smp_mb();
	return smmu_invs_deref(slot);
}

/* Next live entry at or after *@idx, or NULL; *@idx is left on it. */
static inline const struct smmu_inv *
__smmu_invs_next(const struct smmu_invs *invs, u32 *idx)
{
	u32 i;

	if (!invs)
		return NULL;

	for (i = *idx; i < invs->nr; i++) {
		if (READ_ONCE(invs->inv[i].users)) {
			*idx = i;
			return &invs->inv[i];
		}
	}

	*idx = i;
	return NULL;
}

/**
 * smmu_invs_for_each() - Iterate over the live entries of an array
 * @invs: the array, or NULL
 * @i:    a u32 cursor
 * @inv:  a const struct smmu_inv * set to each entry with users > 0
 *
 * Every step advances @i, so the walk ends after at most @invs->nr steps even
 * while smmu_invs_unref() lowers users counts concurrently.
 */
#define smmu_invs_for_each(invs, i, inv)				\
	for ((i) = 0; ((inv) = __smmu_invs_next((invs), &(i))); (i)++)

#endif /* __ARM64_KVM_NVHE_SMMU_INVS_H__ */
