/* SPDX-License-Identifier: GPL-2.0-only */
/* Userspace shim for asm/kvm_pkvm.h: the memory map pKVM was given. */
#ifndef __PKVM_EL2_SHIM_ASM_KVM_PKVM_H__
#define __PKVM_EL2_SHIM_ASM_KVM_PKVM_H__

#include <linux/memblock.h>

#define HYP_MEMBLOCK_REGIONS	128

extern struct memblock_region hyp_memory[HYP_MEMBLOCK_REGIONS];
extern unsigned int hyp_memblock_nr;

#endif /* __PKVM_EL2_SHIM_ASM_KVM_PKVM_H__ */
