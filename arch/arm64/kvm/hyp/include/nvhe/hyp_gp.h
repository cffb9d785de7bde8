/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Grace periods for objects that EL2 reads without a lock.
 *
 * A writer unpublishes an object (smp_store_release() of a new pointer), then
 * retires it with hyp_gp_retire_locked(). The object is freed by a later
 * hyp_gp_reclaim_locked() once every CPU that might still hold a pointer to it
 * has left the hypervisor. EL2 never waits for that: reclaim only frees what
 * is already safe and leaves the rest for a later call.
 *
 * Per-CPU state: a CPU calls hyp_gp_enter() before it reads any protected
 * pointer after entering EL2, and hyp_gp_quiescent() on every exit to the
 * host (and before entering a guest, which holds no protected pointers). A
 * CPU outside EL2 never blocks reclaim, however long it stays idle in the
 * host.
 *
 * Lock: @hyp_gp.lock (the caller's; hyp_gp never takes it) protects the epoch
 * writes and the retired list. hyp_gp_enter() and hyp_gp_quiescent() are
 * lockless and touch only the calling CPU's slot. In the lock order it is the
 * innermost lock: it may be taken under a domain or SMMU lock, never the
 * reverse.
 */

#ifndef __ARM64_KVM_NVHE_HYP_GP_H__
#define __ARM64_KVM_NVHE_HYP_GP_H__

#include <linux/cache.h>
#include <linux/compiler.h>
#include <linux/types.h>
#include <asm/barrier.h>
#include <asm/virt.h>		/* for nvhe/spinlock.h's hyp_assert_lock_held() */

#include <nvhe/spinlock.h>

struct hyp_gp_node;

/* Frees the object that embeds @node; @arg comes from hyp_gp_reclaim_locked(). */
typedef void (*hyp_gp_free_fn)(struct hyp_gp_node *node, void *arg);

/**
 * struct hyp_gp_node - Retirement link embedded in an object
 * @next:  next retired object, oldest first
 * @epoch: value of hyp_gp.epoch when the object was retired
 * @free:  frees the embedding object
 */
struct hyp_gp_node {
	struct hyp_gp_node	*next;
	u64			epoch;
	hyp_gp_free_fn		free;
};

/*
 * Per-CPU slot: (entry_epoch << 1) | 1 while the CPU is inside EL2 and may
 * hold protected pointers; an even value while it is outside. Written only by
 * its own CPU, read by reclaim.
 */
#define HYP_GP_IN_HYP		1ULL

/**
 * struct hyp_gp_cpu - One CPU's quiescent-state slot
 * @state: see HYP_GP_IN_HYP; WRITE by owner CPU only, READ by reclaim
 */
struct hyp_gp_cpu {
	u64	state;
} ____cacheline_aligned;

/**
 * struct hyp_gp - Grace-period domain
 * @epoch:      current epoch, starts at 1 and grows by one per retirement.
 *              Written under @lock; read locklessly by hyp_gp_enter().
 * @cpus:       @nr_cpus slots, caller memory
 * @nr_cpus:    number of slots
 * @head:       oldest retired object, under @lock
 * @tail:       where the next retired object is linked, under @lock
 * @nr_pending: retired objects not yet freed, under @lock
 * @lock:       the caller's lock; used here only for assertions
 */
struct hyp_gp {
	u64			epoch;
	struct hyp_gp_cpu	*cpus;
	unsigned int		nr_cpus;
	struct hyp_gp_node	*head;
	struct hyp_gp_node	**tail;
	unsigned long		nr_pending;
	hyp_spinlock_t		*lock;
};

int hyp_gp_init(struct hyp_gp *gp, struct hyp_gp_cpu *cpus,
		unsigned int nr_cpus, hyp_spinlock_t *lock);
void hyp_gp_retire_locked(struct hyp_gp *gp, struct hyp_gp_node *node,
			  hyp_gp_free_fn free);
unsigned long hyp_gp_reclaim_locked(struct hyp_gp *gp, void *arg);
unsigned long hyp_gp_pending_locked(struct hyp_gp *gp);

/**
 * hyp_gp_enter() - Mark @cpu as possibly holding protected pointers
 * @gp:  grace-period domain
 * @cpu: calling CPU's slot index (trusted, < @gp->nr_cpus)
 *
 * Call on entry to EL2 from the host, before the first lockless read of a
 * protected pointer. Costs one store-release and one full barrier.
 */
static inline void hyp_gp_enter(struct hyp_gp *gp, unsigned int cpu)
{
	struct hyp_gp_cpu *c = &gp->cpus[cpu];
	u64 epoch = READ_ONCE(gp->epoch);

	/*
	 * Release: everything this CPU did in earlier visits to EL2 is ordered
	 * before the new slot value, so a reclaimer that sees the new entry
	 * epoch (smp_load_acquire() in hyp_gp_reclaim_locked()) also sees
	 * those reads completed, as it would for the value stored by
	 * hyp_gp_quiescent().
	 */
	smp_store_release(&c->state, (epoch << 1) | HYP_GP_IN_HYP);

	/*
	 * Store-buffering pair with smp_mb() in hyp_gp_reclaim_locked():
	 *
	 *   hyp_gp_enter()              reclaim (after the unpublish)
	 *   W cpus[cpu].state = in      W *slot = new (by the writer)
	 *   smp_mb()                    smp_mb()
	 *   R *slot                     R cpus[cpu].state
	 *
	 * Either reclaim sees this CPU inside with an entry epoch not newer
	 * than the retirement, and keeps the object, or this CPU's later
	 * pointer loads return the new object. It also orders the epoch load
	 * above before those pointer loads: if it returned the epoch written
	 * by hyp_gp_retire_locked() (smp_store_release() after the unpublish),
	 * the pointer loads see the new object.
	 */
	smp_mb();
}

/**
 * hyp_gp_quiescent() - Report that @cpu holds no protected pointers
 * @gp:  grace-period domain
 * @cpu: calling CPU (trusted, < @gp->nr_cpus)
 *
 * Call on every exit from EL2 to the host, and before running a guest. It is
 * one store-release to the CPU's own cache line.
 */
static inline void hyp_gp_quiescent(struct hyp_gp *gp, unsigned int cpu)
{
	struct hyp_gp_cpu *c = &gp->cpus[cpu];

	/*
	 * Pairs with smp_load_acquire() in hyp_gp_reclaim_locked(): every
	 * read of a protected object by this CPU happens before the object is
	 * freed by a reclaimer that sees this value.
	 */
	smp_store_release(&c->state, READ_ONCE(c->state) & ~HYP_GP_IN_HYP);
}

#endif /* __ARM64_KVM_NVHE_HYP_GP_H__ */
