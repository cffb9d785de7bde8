/* SPDX-License-Identifier: GPL-2.0-only */
/* Userspace shim: the pure-logic harness's cache-line alignment. */
#include "../../../shim/linux/cache.h"
