/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Loads from a device that may abort, for the hypervisor while it serves
 * the host: a PCI function that does not complete a configuration read (a
 * completion timeout reported as a synchronous external abort, a link
 * going down) must not panic the hypervisor. The load has an entry in the
 * EL2 exception table; kvm_host_el2_fixup() (and, with a guest loaded,
 * kvm_unexpected_el2_exception()) resumes at its fixup, which puts back
 * ELR_EL2 and SPSR_EL2 (they hold the state the hypervisor returns to) and
 * returns -EIO.
 */
#ifndef __ARM64_KVM_NVHE_FIXUP_IO_H__
#define __ARM64_KVM_NVHE_FIXUP_IO_H__

#include <linux/errno.h>
#include <linux/types.h>

#include <asm/alternative.h>
#include <asm/io.h>
#include <asm/kvm_asm.h>

/* As __raw_readl() and friends: a load-acquire on CPUs that need one (erratum 832075). */
#define __hyp_load_fixup(insn, insn_acq, addr, val, err)		\
do {									\
	u64 __spsr, __elr;						\
									\
	asm volatile(							\
	"	mrs	%2, spsr_el2\n"					\
	"	mrs	%3, elr_el2\n"					\
	"1:	" ALTERNATIVE(insn "	%w1, [%4]",			\
			      insn_acq "	%w1, [%4]",		\
			      ARM64_WORKAROUND_DEVICE_LOAD_ACQUIRE) "\n"	\
	"	b	3f\n"						\
	"2:	msr	spsr_el2, %2\n"					\
	"	msr	elr_el2, %3\n"					\
	"	mov	%w0, %5\n"					\
	"3:\n"								\
	__KVM_EXTABLE(1b, 2b)						\
	: "+r" (err), "=&r" (val), "=&r" (__spsr), "=&r" (__elr)	\
	: "r" (addr), "i" (-EIO)					\
	: "memory");							\
} while (0)

/**
 * hyp_read_fixup() - Load 1, 2 or 4 bytes of device memory, surviving an abort.
 * @addr:	A hypervisor mapping of the device.
 * @size:	1, 2 or 4.
 * @val:	Set to what the device returned, or all ones after an abort.
 *
 * Ordered as readl() and friends are.
 *
 * Return: 0, or -EIO if the load aborted.
 */
static __always_inline int hyp_read_fixup(const void __iomem *addr,
					  unsigned int size, u32 *val)
{
	u32 v = 0;
	int err = 0;

	if (size == 1)
		__hyp_load_fixup("ldrb", "ldarb", addr, v, err);
	else if (size == 2)
		__hyp_load_fixup("ldrh", "ldarh", addr, v, err);
	else
		__hyp_load_fixup("ldr", "ldar", addr, v, err);
	if (err) {
		*val = size == 4 ? ~0U : (u32)BIT(size * BITS_PER_BYTE) - 1;
		return err;
	}
	__iormb(v);
	*val = v;
	return 0;
}

#endif /* __ARM64_KVM_NVHE_FIXUP_IO_H__ */
