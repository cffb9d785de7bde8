/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim: error numbers. libc's <errno.h> includes <linux/errno.h>,
 * so chain to the uapi header, whose values are the kernel's.
 */
#ifndef __PKVM_SMMU_SHIM_LINUX_ERRNO_H__
#define __PKVM_SMMU_SHIM_LINUX_ERRNO_H__

#include_next <linux/errno.h>

#endif /* __PKVM_SMMU_SHIM_LINUX_ERRNO_H__ */
