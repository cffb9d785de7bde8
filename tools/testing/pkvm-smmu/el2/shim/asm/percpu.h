/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for EL2 per-CPU data: one slot per possible CPU, and each
 * thread of the harness is one CPU (el2_this_cpu(), set by el2_set_cpu()).
 */
#ifndef __PKVM_EL2_SHIM_ASM_PERCPU_H__
#define __PKVM_EL2_SHIM_ASM_PERCPU_H__

#include <linux/kconfig.h>

#define NR_CPUS			CONFIG_NR_CPUS

unsigned int el2_this_cpu(void);

#define DEFINE_PER_CPU(type, name)	__typeof__(type) name[NR_CPUS]
#define DECLARE_PER_CPU(type, name)	extern __typeof__(type) name[NR_CPUS]
#define per_cpu_ptr(ptr, cpu)		(&(*(ptr))[(cpu)])
#define this_cpu_ptr(ptr)		per_cpu_ptr(ptr, el2_this_cpu())

#endif /* __PKVM_EL2_SHIM_ASM_PERCPU_H__ */
