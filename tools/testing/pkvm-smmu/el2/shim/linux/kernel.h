/* SPDX-License-Identifier: GPL-2.0-only */
/* Userspace shim for linux/kernel.h: alignment and the helpers EL2 uses. */
#ifndef __PKVM_EL2_SHIM_LINUX_KERNEL_H__
#define __PKVM_EL2_SHIM_LINUX_KERNEL_H__

#include <string.h>
#include <linux/types.h>
#include <linux/bits.h>
#include <linux/bitops.h>
#include <linux/bug.h>
#include <linux/container_of.h>
#include <linux/err.h>
#include <linux/limits.h>
#include <linux/minmax.h>
#include <linux/overflow.h>

#define ALIGN(x, a)		(((x) + ((typeof(x))(a) - 1)) & ~((typeof(x))(a) - 1))
#define ALIGN_DOWN(x, a)	((x) & ~((typeof(x))(a) - 1))
#define IS_ALIGNED(x, a)	(((x) & ((typeof(x))(a) - 1)) == 0)
#define PAGE_ALIGNED(addr)	IS_ALIGNED((unsigned long)(addr), PAGE_SIZE)
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

static inline unsigned long __ffs64(u64 word)
{
	return __builtin_ctzll(word);
}

static inline unsigned long roundup_pow_of_two(unsigned long n)
{
	return n <= 1 ? 1 : 1UL << (64 - __builtin_clzl(n - 1));
}

/* linux/log2.h: the kernel's ilog2() for a non-zero value (kvm_host.h brings it there). */
#define ilog2(n)		((int)(63 - __builtin_clzll((u64)(n))))

#define upper_32_bits(n)	((u32)(((n) >> 16) >> 16))
#define lower_32_bits(n)	((u32)((n) & 0xffffffff))

#define is_power_of_2(n)	((n) != 0 && (((n) & ((n) - 1)) == 0))

#endif /* __PKVM_EL2_SHIM_LINUX_KERNEL_H__ */
