/* SPDX-License-Identifier: GPL-2.0-only */
/* Userspace shim: nothing; at EL2 it declares what nvhe/spinlock.h uses. */
#include "../../../shim/asm/virt.h"
