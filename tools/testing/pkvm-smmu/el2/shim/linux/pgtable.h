/* SPDX-License-Identifier: GPL-2.0-only */
/* Userspace shim for linux/pgtable.h: the arm64 table geometry only. */
#ifndef __PKVM_EL2_SHIM_LINUX_PGTABLE_H__
#define __PKVM_EL2_SHIM_LINUX_PGTABLE_H__
#include <asm/pgtable-hwdef.h>
#endif /* __PKVM_EL2_SHIM_LINUX_PGTABLE_H__ */
