/* SPDX-License-Identifier: GPL-2.0-only */
/* Userspace shim: the pure-logic harness's hyp spinlock (owner-checked). */
#include "../../../shim/nvhe/spinlock.h"

#ifndef DEFINE_HYP_SPINLOCK
#define DEFINE_HYP_SPINLOCK(x)	hyp_spinlock_t x = { .mutex = PTHREAD_MUTEX_INITIALIZER }
#endif
