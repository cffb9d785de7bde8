/* SPDX-License-Identifier: GPL-2.0-only */
/* Userspace shim for asm/types.h: the uapi fixed-size types. */
#ifndef __PKVM_EL2_SHIM_ASM_TYPES_H__
#define __PKVM_EL2_SHIM_ASM_TYPES_H__
#include <asm-generic/int-ll64.h>
#endif /* __PKVM_EL2_SHIM_ASM_TYPES_H__ */
