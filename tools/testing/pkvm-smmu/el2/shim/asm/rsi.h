/* SPDX-License-Identifier: GPL-2.0-only */
/* Userspace shim for asm/rsi.h: not a realm; no shared-bit in descriptors. */
#ifndef __PKVM_EL2_SHIM_ASM_RSI_H__
#define __PKVM_EL2_SHIM_ASM_RSI_H__
#define is_realm_world()	false
#endif /* __PKVM_EL2_SHIM_ASM_RSI_H__ */
