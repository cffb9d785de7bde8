/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the stock arm-smmu-v3 driver needs to know of the pKVM one.
 */
#ifndef __ARM_SMMU_V3_PKVM_H
#define __ARM_SMMU_V3_PKVM_H

#include <linux/types.h>

#ifdef CONFIG_PKVM_SMMU_V3
bool arm_smmu_v3_pkvm_owns_smmus(void);
#else
static inline bool arm_smmu_v3_pkvm_owns_smmus(void)
{
	return false;
}
#endif

#endif /* __ARM_SMMU_V3_PKVM_H */
