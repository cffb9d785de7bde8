/* SPDX-License-Identifier: GPL-2.0-only */
/* Userspace shim for asm/alternative.h: no code patching. */
#ifndef __PKVM_EL2_SHIM_ASM_ALTERNATIVE_H__
#define __PKVM_EL2_SHIM_ASM_ALTERNATIVE_H__
#endif /* __PKVM_EL2_SHIM_ASM_ALTERNATIVE_H__ */
