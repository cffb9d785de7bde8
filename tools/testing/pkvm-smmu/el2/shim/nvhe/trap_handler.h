/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for nvhe/trap_handler.h: the host's general-purpose
 * registers as a trap saved them, and cpu_reg().
 */
#ifndef __PKVM_EL2_SHIM_NVHE_TRAP_HANDLER_H__
#define __PKVM_EL2_SHIM_NVHE_TRAP_HANDLER_H__

#include <linux/types.h>

struct kvm_cpu_context {
	struct {
		u64	regs[31];
	} regs;
};

#define cpu_reg(ctxt, r)	(ctxt)->regs.regs[r]

#endif /* __PKVM_EL2_SHIM_NVHE_TRAP_HANDLER_H__ */
