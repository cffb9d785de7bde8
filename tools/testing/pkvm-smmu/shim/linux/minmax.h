/* SPDX-License-Identifier: GPL-2.0-only */
/* Userspace shim: min()/max() (without the kernel's type checks). */
#ifndef __PKVM_SMMU_SHIM_LINUX_MINMAX_H__
#define __PKVM_SMMU_SHIM_LINUX_MINMAX_H__

#define min(a, b)	({ typeof(a) _a = (a); typeof(b) _b = (b); _a < _b ? _a : _b; })
#define max(a, b)	({ typeof(a) _a = (a); typeof(b) _b = (b); _a > _b ? _a : _b; })
#define min_t(t, a, b)	min((t)(a), (t)(b))
#define max_t(t, a, b)	max((t)(a), (t)(b))

#endif /* __PKVM_SMMU_SHIM_LINUX_MINMAX_H__ */
