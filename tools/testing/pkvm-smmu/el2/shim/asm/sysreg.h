/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim around the kernel's own asm/sysreg.h (register and field
 * definitions, generated from arch/arm64/tools/sysreg): its accessors are
 * inline assembly, so read_sysreg() is replaced by one function per
 * register the harness models; any other register does not build.
 */
#ifndef __PKVM_EL2_SHIM_ASM_SYSREG_H__
#define __PKVM_EL2_SHIM_ASM_SYSREG_H__

#include_next <asm/sysreg.h>

#undef read_sysreg
#undef write_sysreg
#undef read_sysreg_s
#undef write_sysreg_s
#define read_sysreg(r)		el2_read_sysreg_##r()

u64 el2_read_sysreg_cntfrq_el0(void);

#endif /* __PKVM_EL2_SHIM_ASM_SYSREG_H__ */
