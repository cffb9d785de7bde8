/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for nvhe/spinlock.h: a pthread mutex that remembers its
 * owner, so hyp_assert_lock_held() checks that the *calling* thread holds it
 * (stricter than EL2, which only checks that someone does).
 */
#ifndef __PKVM_SMMU_SHIM_NVHE_SPINLOCK_H__
#define __PKVM_SMMU_SHIM_NVHE_SPINLOCK_H__

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct hyp_spinlock {
	pthread_mutex_t	mutex;
	pthread_t	owner;
	int		held;
} hyp_spinlock_t;

static inline void hyp_spin_lock_init(hyp_spinlock_t *lock)
{
	pthread_mutex_init(&lock->mutex, NULL);
	__atomic_store_n(&lock->held, 0, __ATOMIC_RELAXED);
}

static inline void hyp_spin_lock(hyp_spinlock_t *lock)
{
	pthread_mutex_lock(&lock->mutex);
	lock->owner = pthread_self();
	__atomic_store_n(&lock->held, 1, __ATOMIC_RELAXED);
}

static inline void hyp_spin_unlock(hyp_spinlock_t *lock)
{
	__atomic_store_n(&lock->held, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&lock->mutex);
}

static inline void hyp_assert_lock_held(hyp_spinlock_t *lock)
{
	/* Only the owner reads owner while held is set, so this is race-free. */
	if (!__atomic_load_n(&lock->held, __ATOMIC_RELAXED) ||
	    !pthread_equal(lock->owner, pthread_self())) {
		fprintf(stderr, "%s(%p) failed\n", __func__, (void *)lock);
		abort();
	}
}

#endif /* __PKVM_SMMU_SHIM_NVHE_SPINLOCK_H__ */
