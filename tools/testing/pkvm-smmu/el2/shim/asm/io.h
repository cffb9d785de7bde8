/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for asm/io.h: MMIO accesses go to the device models
 * (el2/smmu_model.c) behind the fake frames __pkvm_create_private_mapping()
 * hands out. An access outside every frame aborts.
 */
#ifndef __PKVM_EL2_SHIM_ASM_IO_H__
#define __PKVM_EL2_SHIM_ASM_IO_H__

#include <linux/types.h>
#include <asm/byteorder.h>

u64 el2_mmio_read(const volatile void *addr, unsigned int size);
void el2_mmio_write(volatile void *addr, u64 val, unsigned int size);

#define readb(a)		((u8)el2_mmio_read((a), 1))
#define readw(a)		((u16)el2_mmio_read((a), 2))
#define readl(a)		((u32)el2_mmio_read((a), 4))
#define writeb(v, a)		el2_mmio_write((a), (u8)(v), 1)
#define writew(v, a)		el2_mmio_write((a), (u16)(v), 2)
#define writel(v, a)		el2_mmio_write((a), (u32)(v), 4)
#define readl_relaxed(a)	((u32)el2_mmio_read((a), 4))
#define readq_relaxed(a)	el2_mmio_read((a), 8)
#define writel_relaxed(v, a)	el2_mmio_write((a), (u32)(v), 4)
#define writeq_relaxed(v, a)	el2_mmio_write((a), (u64)(v), 8)

#endif /* __PKVM_EL2_SHIM_ASM_IO_H__ */
