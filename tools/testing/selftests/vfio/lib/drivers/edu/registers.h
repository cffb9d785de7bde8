/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * QEMU's "edu" educational PCI device (1234:11e8): the BAR0 registers, as
 * docs/specs/edu.rst in QEMU describes them. Shared by the VFIO selftest
 * library's driver and by tests whose guests drive the device themselves.
 */
#ifndef SELFTESTS_VFIO_LIB_DRIVERS_EDU_REGISTERS_H
#define SELFTESTS_VFIO_LIB_DRIVERS_EDU_REGISTERS_H

#define EDU_VENDOR_ID		0x1234
#define EDU_DEVICE_ID		0x11e8

#define EDU_REG_ID		0x00
#define EDU_ID_MAGIC		0xed		/* low byte of the ID register */
#define EDU_REG_LIVENESS	0x04		/* reads back the inverse of what was written */
#define EDU_REG_FACTORIAL	0x08		/* computes the factorial of what was written */
#define EDU_REG_IRQ_STATUS	0x24
#define EDU_REG_IRQ_RAISE	0x60
#define EDU_REG_IRQ_ACK		0x64
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_COUNT	0x90
#define EDU_REG_DMA_CMD		0x98
#define EDU_DMA_START		0x1
#define EDU_DMA_TO_RAM		0x2		/* from the buffer to memory */
#define EDU_DMA_IRQ		0x4		/* raise EDU_IRQ_DMA when done */
#define EDU_IRQ_DMA		0x100

/* The internal buffer, at this address on the device's side of a DMA. */
#define EDU_BUF_ADDR		0x40000
#define EDU_BUF_SIZE		0x1000

#endif /* SELFTESTS_VFIO_LIB_DRIVERS_EDU_REGISTERS_H */
