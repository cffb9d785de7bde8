/* SPDX-License-Identifier: GPL-2.0-only */
/* Userspace shim: integer limits; libc's <limits.h> needs the uapi header. */
#ifndef __PKVM_SMMU_SHIM_LINUX_LIMITS_H__
#define __PKVM_SMMU_SHIM_LINUX_LIMITS_H__

#include_next <linux/limits.h>
#include <stdint.h>

#define U8_MAX		((u8)~0U)
#define U16_MAX		((u16)~0U)
#define U32_MAX		((u32)~0U)
#define U64_MAX		((u64)~0ULL)

#endif /* __PKVM_SMMU_SHIM_LINUX_LIMITS_H__ */
