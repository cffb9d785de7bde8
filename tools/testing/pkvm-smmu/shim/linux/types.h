/* SPDX-License-Identifier: GPL-2.0-only */
/* Userspace shim: kernel integer types, on top of the uapi header. */
#ifndef __PKVM_SMMU_SHIM_LINUX_TYPES_H__
#define __PKVM_SMMU_SHIM_LINUX_TYPES_H__

#include_next <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef unsigned long long u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef long long s64;

#include <linux/compiler.h>

#endif /* __PKVM_SMMU_SHIM_LINUX_TYPES_H__ */
