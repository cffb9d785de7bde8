// SPDX-License-Identifier: GPL-2.0-only
/*
 * Grace periods for lockless readers at EL2. See nvhe/hyp_gp.h for the
 * protocol and docs/invalidation-array.md for the correctness argument.
 *
 * Pure data-structure code: no hardware access, no locking of its own, no
 * global state. It is built unmodified at EL2 and in
 * tools/testing/pkvm-smmu/.
 */

#include <linux/errno.h>
#include <linux/limits.h>
#include <linux/minmax.h>
#include <linux/types.h>

#include <nvhe/hyp_gp.h>

/**
 * hyp_gp_init() - Initialise a grace-period domain
 * @gp:      the domain
 * @cpus:    @nr_cpus slots, caller memory, not yet visible to any CPU
 * @nr_cpus: number of CPUs that may call hyp_gp_enter()
 * @lock:    the caller's lock serialising retire and reclaim
 *
 * Return: 0, or -EINVAL if an argument is missing.
 */
int hyp_gp_init(struct hyp_gp *gp, struct hyp_gp_cpu *cpus,
		unsigned int nr_cpus, hyp_spinlock_t *lock)
{
	unsigned int cpu;

	if (!gp || !cpus || !nr_cpus || !lock)
		return -EINVAL;

	for (cpu = 0; cpu < nr_cpus; cpu++)
		cpus[cpu].state = 0;

	gp->epoch = 1;
	gp->cpus = cpus;
	gp->nr_cpus = nr_cpus;
	gp->head = NULL;
	gp->tail = &gp->head;
	gp->nr_pending = 0;
	gp->lock = lock;
	return 0;
}

/**
 * hyp_gp_retire_locked() - Queue an unpublished object for freeing
 * @gp:   grace-period domain
 * @node: link embedded in the object
 * @free: frees the object once no CPU can hold a pointer to it
 *
 * The caller has already replaced every published pointer to the object
 * (smp_store_release()) and holds @gp->lock. The calling CPU may itself be
 * inside EL2: its own slot keeps the object alive until it leaves.
 */
void hyp_gp_retire_locked(struct hyp_gp *gp, struct hyp_gp_node *node,
			  hyp_gp_free_fn free)
{
	u64 epoch;

	hyp_assert_lock_held(gp->lock);

	epoch = gp->epoch;
	node->next = NULL;
	node->epoch = epoch;
	node->free = free;
	*gp->tail = node;
	gp->tail = &node->next;
	gp->nr_pending++;

	/*
	 * CPUs that read the new epoch in hyp_gp_enter() entered after the
	 * unpublish, so they cannot hold this object. Release orders the
	 * caller's unpublish before the new epoch; pairs with the smp_mb()
	 * in hyp_gp_enter() that orders its epoch load before its pointer
	 * loads.
	 */
	smp_store_release(&gp->epoch, epoch + 1);
}

/*
 * Oldest epoch still in use: objects retired at an epoch below it are free to
 * go. U64_MAX when no CPU is inside EL2.
 */
static u64 hyp_gp_oldest_reader(struct hyp_gp *gp)
{
	u64 oldest = U64_MAX;
	unsigned int cpu;

	/*
	 * Store-buffering pair with smp_mb() in hyp_gp_enter(): a CPU whose
	 * entry we do not see below loads the new pointers. The unpublish
	 * happened before the retirement, which we observe through @gp->lock.
	 */
	smp_mb();

	for (cpu = 0; cpu < gp->nr_cpus; cpu++) {
		/*
		 * Pairs with smp_store_release() in hyp_gp_quiescent() and
		 * hyp_gp_enter(): the CPU's reads of objects it might have
		 * loaded before this state happen before we free them.
		 */
		u64 state = smp_load_acquire(&gp->cpus[cpu].state);

		if (state & HYP_GP_IN_HYP)
			oldest = min(oldest, state >> 1);
	}

	return oldest;
}

/**
 * hyp_gp_reclaim_locked() - Free the retired objects no CPU can still hold
 * @gp:  grace-period domain
 * @arg: passed to each object's free callback
 *
 * An object retired at epoch E is freed when every CPU inside EL2 entered
 * at an epoch above E (it read the pointer that replaced the object); CPUs
 * outside EL2 do not count. Never waits. The caller holds @gp->lock. The
 * free callbacks run with the lock held and must not retire or reclaim.
 *
 * Return: the number of objects freed.
 */
unsigned long hyp_gp_reclaim_locked(struct hyp_gp *gp, void *arg)
{
	struct hyp_gp_node *node;
	unsigned long freed = 0;
	u64 oldest;

	hyp_assert_lock_held(gp->lock);

	if (!gp->head)
		return 0;

	oldest = hyp_gp_oldest_reader(gp);

	/* The list is in retirement order, so epochs never decrease. */
	while ((node = gp->head) && node->epoch < oldest) {
		gp->head = node->next;
		if (!gp->head)
			gp->tail = &gp->head;
		gp->nr_pending--;
		node->free(node, arg);
		freed++;
	}

	return freed;
}

/**
 * hyp_gp_pending_locked() - Count retired objects not yet freed
 * @gp: grace-period domain; the caller holds @gp->lock
 *
 * Return: the number of objects waiting for a grace period.
 */
unsigned long hyp_gp_pending_locked(struct hyp_gp *gp)
{
	hyp_assert_lock_held(gp->lock);

	return gp->nr_pending;
}
