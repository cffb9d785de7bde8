/* SPDX-License-Identifier: GPL-2.0-only */
/* Userspace shim: cache-line alignment. */
#ifndef __PKVM_SMMU_SHIM_LINUX_CACHE_H__
#define __PKVM_SMMU_SHIM_LINUX_CACHE_H__

#include <linux/compiler.h>

#define L1_CACHE_BYTES		64
#define ____cacheline_aligned	__aligned(L1_CACHE_BYTES)

#endif /* __PKVM_SMMU_SHIM_LINUX_CACHE_H__ */
