/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for linux/nospec.h: the index clamped to 0 when out of
 * bounds, as array_index_mask_nospec() makes it (without the barrier).
 */
#ifndef __PKVM_EL2_SHIM_LINUX_NOSPEC_H__
#define __PKVM_EL2_SHIM_LINUX_NOSPEC_H__

#define array_index_nospec(index, size)					\
({									\
	typeof(index) __i = (index);					\
	typeof(size) __s = (size);					\
	(typeof(index))(__i < __s ? __i : 0);				\
})

#endif /* __PKVM_EL2_SHIM_LINUX_NOSPEC_H__ */
