/* SPDX-License-Identifier: GPL-2.0-only */
/* Userspace shim: container_of(). */
#ifndef __PKVM_SMMU_SHIM_LINUX_CONTAINER_OF_H__
#define __PKVM_SMMU_SHIM_LINUX_CONTAINER_OF_H__

#include <stddef.h>

#define container_of(ptr, type, member)					\
	((type *)((char *)(ptr) - offsetof(type, member)))

#endif /* __PKVM_SMMU_SHIM_LINUX_CONTAINER_OF_H__ */
