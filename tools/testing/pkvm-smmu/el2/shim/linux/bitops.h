/* SPDX-License-Identifier: GPL-2.0-only */
/* Userspace shim: tools/include's bitops.h, which needs DIV_ROUND_UP(). */
#ifndef __PKVM_EL2_SHIM_LINUX_BITOPS_H__
#define __PKVM_EL2_SHIM_LINUX_BITOPS_H__

#include <linux/build_bug.h>
#ifndef DIV_ROUND_UP
#define DIV_ROUND_UP(n, d)	(((n) + (d) - 1) / (d))
#endif
#include_next <linux/bitops.h>

#endif /* __PKVM_EL2_SHIM_LINUX_BITOPS_H__ */
