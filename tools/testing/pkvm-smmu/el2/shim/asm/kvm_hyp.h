/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for asm/kvm_hyp.h: what the nVHE hypervisor knows about
 * the system (set up by el2/el2.c before the first hypercall).
 */
#ifndef __PKVM_EL2_SHIM_ASM_KVM_HYP_H__
#define __PKVM_EL2_SHIM_ASM_KVM_HYP_H__

#include <linux/kernel.h>
#include <asm/barrier.h>
#include <asm/io.h>
#include <asm/percpu.h>
#include <asm/sysreg.h>
#include <asm/cpufeature.h>

extern unsigned long hyp_nr_cpus;
extern u64 id_aa64mmfr0_el1_sys_val;
extern u64 id_aa64mmfr1_el1_sys_val;
extern bool el2_protected_mode;

/*
 * The EL2 registers the harness models, one variable each per thread (a
 * CPU): ELR_EL2, the host's PC when it trapped.
 */
extern __thread u64 el2_sysreg_el2_SYS_ELR;
#define read_sysreg_el2(r)	(el2_sysreg_el2_##r)
#define write_sysreg_el2(v, r)	((el2_sysreg_el2_##r) = (v))

/* pKVM only: kvm-arm.mode=protected. */
static inline bool is_protected_kvm_enabled(void)
{
	return __atomic_load_n(&el2_protected_mode, __ATOMIC_RELAXED);
}

#endif /* __PKVM_EL2_SHIM_ASM_KVM_HYP_H__ */
