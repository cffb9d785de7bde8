/* SPDX-License-Identifier: GPL-2.0-only */
/* Userspace shim for linux/memblock.h: the region type hyp_memory[] uses. */
#ifndef __PKVM_EL2_SHIM_LINUX_MEMBLOCK_H__
#define __PKVM_EL2_SHIM_LINUX_MEMBLOCK_H__

#include <linux/types.h>

#define MEMBLOCK_NOMAP		0x4

struct memblock_region {
	phys_addr_t	base;
	phys_addr_t	size;
	unsigned long	flags;
};

#endif /* __PKVM_EL2_SHIM_LINUX_MEMBLOCK_H__ */
