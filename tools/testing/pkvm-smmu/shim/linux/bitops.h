/* SPDX-License-Identifier: GPL-2.0-only */
/* Userspace shim: the bit helpers the EL2 code uses. */
#ifndef __PKVM_SMMU_SHIM_LINUX_BITOPS_H__
#define __PKVM_SMMU_SHIM_LINUX_BITOPS_H__

#define BITS_PER_LONG		(8 * (int)sizeof(long))
#define BIT(nr)			(1UL << (nr))
#define DIV_ROUND_UP(n, d)	(((n) + (d) - 1) / (d))
#define BITS_TO_LONGS(nr)	DIV_ROUND_UP(nr, BITS_PER_LONG)

/* Undefined for 0, as in the kernel. */
static inline unsigned long __ffs(unsigned long word)
{
	return __builtin_ctzl(word);
}

static inline unsigned long ffz(unsigned long word)
{
	return __ffs(~word);
}

#endif /* __PKVM_SMMU_SHIM_LINUX_BITOPS_H__ */
