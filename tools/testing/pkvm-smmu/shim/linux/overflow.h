/* SPDX-License-Identifier: GPL-2.0-only */
/* Userspace shim: overflow-checked arithmetic, saturating sizes. */
#ifndef __PKVM_SMMU_SHIM_LINUX_OVERFLOW_H__
#define __PKVM_SMMU_SHIM_LINUX_OVERFLOW_H__

#include <stddef.h>
#include <stdint.h>

#define check_add_overflow(a, b, d)	__builtin_add_overflow(a, b, d)
#define check_sub_overflow(a, b, d)	__builtin_sub_overflow(a, b, d)
#define check_mul_overflow(a, b, d)	__builtin_mul_overflow(a, b, d)

static inline size_t size_mul(size_t a, size_t b)
{
	size_t r;

	return __builtin_mul_overflow(a, b, &r) ? SIZE_MAX : r;
}

static inline size_t size_add(size_t a, size_t b)
{
	size_t r;

	return __builtin_add_overflow(a, b, &r) ? SIZE_MAX : r;
}

#define struct_size(p, member, count)					\
	size_add(sizeof(*(p)), size_mul(sizeof(*(p)->member), (count)))

#endif /* __PKVM_SMMU_SHIM_LINUX_OVERFLOW_H__ */
