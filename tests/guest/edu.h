/* SPDX-License-Identifier: GPL-2.0 */
/*
 * QEMU's edu device (1234:11e8, docs/specs/edu.rst) driven from userspace
 * through sysfs, with no driver bound: its BAR0 mapped from resourceN, bus
 * mastering enabled in its configuration space. Each DMA moves bytes
 * between an address on the bus (translated by the device's SMMU) and the
 * device's own buffer. Errors return -1 with errno set.
 */
#ifndef PKVM_TESTS_GUEST_EDU_H
#define PKVM_TESTS_GUEST_EDU_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "mmio.h"

#define EDU_REG_ID		0x00
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_CNT		0x90
#define EDU_REG_DMA_CMD		0x98
#define EDU_DMA_START		0x1
#define EDU_DMA_TO_RAM		0x2
#define EDU_BUF_ADDR		0x40000
#define EDU_ID_MAGIC		0xed
/* How long a DMA may take under TCG before the test gives up on it. */
#define EDU_POLL_MS		3000

#define PCI_COMMAND		0x04
#define PCI_COMMAND_MEMORY	0x2
#define PCI_COMMAND_MASTER	0x4

/*
 * Memory decoding and bus mastering on, through sysfs: the device has no
 * driver. A device the hypervisor is resetting (it was a protected VM's)
 * reads as absent for about 100 ms: wait for it, a second at most.
 */
static inline int edu_enable(const char *bdf)
{
	uint16_t cmd, vendor;
	char path[256];
	int fd, i, ret = -1;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return -1;
	for (i = 0; i < 50 && ret; i++) {
		if (i)
			usleep(20000);
		if (pread(fd, &vendor, sizeof(vendor), 0) != sizeof(vendor))
			break;
		if (vendor == 0xffff ||
		    pread(fd, &cmd, sizeof(cmd), PCI_COMMAND) != sizeof(cmd))
			continue;
		cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
		if (pwrite(fd, &cmd, sizeof(cmd), PCI_COMMAND) != sizeof(cmd))
			break;
		if (pread(fd, &cmd, sizeof(cmd), PCI_COMMAND) == sizeof(cmd) &&
		    (cmd & (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)) ==
		    (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER))
			ret = 0;
	}
	close(fd);
	return ret;
}

/* The first page of BAR0 of edu @bdf, checked to be an edu; NULL on error. */
static inline char *edu_map(const char *bdf)
{
	char path[256], *regs;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource0", bdf);
	fd = open(path, O_RDWR | O_SYNC);
	if (fd < 0)
		return NULL;
	regs = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (regs == MAP_FAILED)
		return NULL;
	if ((mmio_read32(regs + EDU_REG_ID) & 0xff) != EDU_ID_MAGIC) {
		munmap(regs, 4096);
		errno = ENODEV;
		return NULL;
	}
	return regs;
}

static inline uint64_t edu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/*
 * One DMA of @len bytes between bus address @addr and the device's buffer
 * at @off, to memory with @to_ram; returns once the device says it is done
 * (a DMA the SMMU refused completes too: the fault is in the kernel log).
 */
static inline int edu_dma(char *regs, uint64_t addr, uint64_t off, uint64_t len,
			  bool to_ram)
{
	uint64_t deadline = edu_now_ms() + EDU_POLL_MS;

	/* What the device reads is in memory before it is told to. */
	__sync_synchronize();
	mmio_write64(regs + EDU_REG_DMA_SRC, to_ram ? EDU_BUF_ADDR + off : addr);
	mmio_write64(regs + EDU_REG_DMA_DST, to_ram ? addr : EDU_BUF_ADDR + off);
	mmio_write64(regs + EDU_REG_DMA_CNT, len);
	mmio_write64(regs + EDU_REG_DMA_CMD, EDU_DMA_START | (to_ram ? EDU_DMA_TO_RAM : 0));
	while (mmio_read32(regs + EDU_REG_DMA_CMD) & EDU_DMA_START) {
		if (edu_now_ms() > deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		usleep(1000);
	}
	/* What it wrote is read only after it said it is done. */
	__sync_synchronize();
	return 0;
}

#endif /* PKVM_TESTS_GUEST_EDU_H */
