// SPDX-License-Identifier: GPL-2.0
/*
 * edu_raw_dma: make an edu device DMA straight to a physical address, with no
 * IOMMU domain set up for it, and report whether the data reached memory.
 *
 * usage: edu_raw_dma BDF
 *
 * The device (bound to no driver) writes 64 bytes of its internal buffer to
 * a locked page of this process, addressed by its physical address. Bus
 * mastering is enabled through the configuration space in sysfs.
 *
 * Exit status: 0 if memory is unchanged (the DMA was blocked), 1 if the DMA
 * reached memory, 2 on a usage or environment error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

#define PCI_COMMAND		0x04
#define PCI_COMMAND_MEMORY	0x2
#define PCI_COMMAND_MASTER	0x4

#define DMA_LEN			64
#define POLL_MS			3000

static const char *bdf;

static void die(const char *what)
{
	fprintf(stderr, "edu_raw_dma %s: %s: %s\n", bdf, what, strerror(errno));
	exit(2);
}

static uint64_t virt_to_phys(void *p)
{
	uint64_t ent, va = (uint64_t)p;
	long psz = sysconf(_SC_PAGESIZE);
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		die("open /proc/self/pagemap");
	if (pread(fd, &ent, sizeof(ent), va / psz * sizeof(ent)) != sizeof(ent))
		die("read /proc/self/pagemap");
	close(fd);
	if (!(ent & (1ULL << 63)) || !(ent & ((1ULL << 55) - 1))) {
		errno = EPERM;
		die("no physical address for the buffer (not root?)");
	}
	return (ent & ((1ULL << 55) - 1)) * psz + va % psz;
}

static void enable_bus_master(void)
{
	char path[256];
	uint16_t cmd;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	fd = open(path, O_RDWR);
	if (fd < 0)
		die("open config space");
	if (pread(fd, &cmd, sizeof(cmd), PCI_COMMAND) != sizeof(cmd))
		die("read the command register");
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	if (pwrite(fd, &cmd, sizeof(cmd), PCI_COMMAND) != sizeof(cmd))
		die("write the command register");
	close(fd);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	uint64_t phys, deadline;
	char *regs;
	unsigned char *buf;
	char path[256];
	int fd, i;

	if (argc != 2) {
		fprintf(stderr, "usage: %s BDF\n", argv[0]);
		return 2;
	}
	bdf = argv[1];
	/* Memory decoding first: a device with no driver may have it off. */
	enable_bus_master();

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource0", bdf);
	fd = open(path, O_RDWR | O_SYNC);
	if (fd < 0)
		die("open BAR0");
	regs = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (regs == MAP_FAILED)
		die("mmap BAR0");
	if ((mmio_read32(regs + EDU_REG_ID) & 0xff) != EDU_ID_MAGIC) {
		errno = ENODEV;
		die("not an edu device");
	}

	buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
	if (buf == MAP_FAILED)
		die("mmap the buffer");
	memset(buf, 0x5a, 4096);
	phys = virt_to_phys(buf);

	printf("edu %s: DMA of %d bytes from the device to physical 0x%llx\n",
	       bdf, DMA_LEN, (unsigned long long)phys);
	/* The pattern is in memory before the device is told to write there. */
	__sync_synchronize();
	mmio_write64(regs + EDU_REG_DMA_SRC, EDU_BUF_ADDR);
	mmio_write64(regs + EDU_REG_DMA_DST, phys);
	mmio_write64(regs + EDU_REG_DMA_CNT, DMA_LEN);
	mmio_write64(regs + EDU_REG_DMA_CMD, EDU_DMA_START | EDU_DMA_TO_RAM);

	deadline = now_ms() + POLL_MS;
	while (mmio_read32(regs + EDU_REG_DMA_CMD) & EDU_DMA_START) {
		if (now_ms() > deadline) {
			errno = ETIMEDOUT;
			die("the DMA did not complete");
		}
		usleep(1000);
	}
	/* Read the buffer only after seeing the DMA complete. */
	__sync_synchronize();

	for (i = 0; i < 4096; i++) {
		if (buf[i] != 0x5a) {
			printf("edu %s: DMA reached memory (byte %d is 0x%02x)\n",
			       bdf, i, buf[i]);
			return 1;
		}
	}
	printf("edu %s: memory unchanged, the DMA was blocked\n", bdf);
	return 0;
}
