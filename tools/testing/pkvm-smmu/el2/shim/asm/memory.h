/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim around the kernel's own asm/memory.h: only its constants
 * (page size, memory types), which it defines for assembly too; its C part
 * (the kernel's linear map) has no meaning here: the EL2 linear map is the
 * harness's memory pool (el2/memory.c).
 */
#ifndef __PKVM_EL2_SHIM_ASM_MEMORY_H__
#define __PKVM_EL2_SHIM_ASM_MEMORY_H__

#define __ASSEMBLER__
#include_next <asm/memory.h>
#undef __ASSEMBLER__

#include <asm/brk-imm.h>

#endif /* __PKVM_EL2_SHIM_ASM_MEMORY_H__ */
