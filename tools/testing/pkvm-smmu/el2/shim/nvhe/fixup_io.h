/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for nvhe/fixup_io.h: a load the device model makes abort
 * (el2_ecam_set_abort(), or the VA pkvm_alloc_private_va_range() gives)
 * returns -EIO and all ones, as the EL2 fixup does.
 */
#ifndef __PKVM_EL2_SHIM_NVHE_FIXUP_IO_H__
#define __PKVM_EL2_SHIM_NVHE_FIXUP_IO_H__

#include <linux/types.h>

int el2_read_fixup(const void *addr, unsigned int size, u32 *val);
#define hyp_read_fixup(addr, size, val)	el2_read_fixup((addr), (size), (val))

#endif /* __PKVM_EL2_SHIM_NVHE_FIXUP_IO_H__ */
