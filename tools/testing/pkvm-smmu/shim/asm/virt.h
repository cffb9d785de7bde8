/* SPDX-License-Identifier: GPL-2.0-only */
/* Userspace shim: nothing; at EL2 it declares what nvhe/spinlock.h uses. */
#ifndef __PKVM_SMMU_SHIM_ASM_VIRT_H__
#define __PKVM_SMMU_SHIM_ASM_VIRT_H__
#endif /* __PKVM_SMMU_SHIM_ASM_VIRT_H__ */
