// SPDX-License-Identifier: GPL-2.0
/*
 * edu_raw_dma: make an edu device DMA straight to a physical address, and
 * report whether the data reached memory.
 *
 * usage: edu_raw_dma [--expect blocked|landed] [--block] [--phys ADDR] BDF
 *
 * The device writes 64 bytes of its internal buffer to a locked page of this
 * process, addressed by its physical address, or to ADDR with --phys (then
 * nothing can be checked here: the caller looks for the fault report). Bus
 * mastering is enabled through the configuration space in sysfs. Without a
 * driver, the device is in its default domain (the hypervisor's identity
 * domain). With --block, the device (bound to vfio-pci by the caller) is
 * first bound to an iommufd and attached to nothing, which puts its streams
 * in the blocking domain: no STE, so they abort.
 *
 * Exit status: 0 if the outcome is the expected one (default: blocked), 1 if
 * not, 2 on a usage or environment error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <sys/ioctl.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "edu.h"

#define DMA_LEN			64

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

/* Claim the device through iommufd and attach nothing: the blocking domain. */
static void block_through_iommufd(int *iommufd, int *devfd)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	char path[320], dev[256];
	struct dirent *ent = NULL;
	DIR *dir;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	dir = opendir(path);
	while (dir && (ent = readdir(dir))) {
		if (!strncmp(ent->d_name, "vfio", 4))
			break;
	}
	if (!dir || !ent) {
		errno = ENODEV;
		die("no VFIO cdev (bind the device to vfio-pci first)");
	}
	snprintf(dev, sizeof(dev), "%s", ent->d_name);
	closedir(dir);
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", dev);
	*iommufd = open("/dev/iommu", O_RDWR);
	if (*iommufd < 0)
		die("open /dev/iommu");
	*devfd = open(path, O_RDWR);
	if (*devfd < 0)
		die("open the VFIO cdev");
	bind.iommufd = *iommufd;
	if (ioctl(*devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		die("VFIO_DEVICE_BIND_IOMMUFD");
	printf("edu %s: bound to an iommufd, attached to nothing (blocking domain)\n", bdf);
}

int main(int argc, char **argv)
{
	int expect_landed = 0, block = 0, iommufd = -1, devfd = -1;
	uint64_t phys = 0, target = 0;
	unsigned char *buf;
	char *regs;
	int i, landed;

	for (i = 1; i < argc - 1; i++) {
		if (!strcmp(argv[i], "--expect") && i + 1 < argc - 1) {
			i++;
			if (!strcmp(argv[i], "landed"))
				expect_landed = 1;
			else if (strcmp(argv[i], "blocked"))
				break;
		} else if (!strcmp(argv[i], "--block")) {
			block = 1;
		} else if (!strcmp(argv[i], "--phys") && i + 1 < argc - 1) {
			target = strtoull(argv[++i], NULL, 0);
		} else {
			break;
		}
	}
	if (argc < 2 || i != argc - 1 || argv[argc - 1][0] == '-') {
		fprintf(stderr, "usage: %s [--expect blocked|landed] [--block] [--phys ADDR] BDF\n",
			argv[0]);
		return 2;
	}
	bdf = argv[argc - 1];
	if (block)
		block_through_iommufd(&iommufd, &devfd);
	/* Memory decoding first: a device with no driver may have it off. */
	if (edu_enable(bdf))
		die("enable memory decoding and bus mastering in config space");
	regs = edu_map(bdf);
	if (!regs)
		die("map BAR0 of an edu device");

	buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
	if (buf == MAP_FAILED)
		die("mmap the buffer");
	memset(buf, 0x5a, 4096);
	phys = virt_to_phys(buf);
	if (!target)
		target = phys;

	printf("edu %s: DMA of %d bytes from the device to physical 0x%llx\n",
	       bdf, DMA_LEN, (unsigned long long)target);
	if (edu_dma(regs, target, 0, DMA_LEN, true))
		die("the DMA did not complete");
	if (iommufd >= 0) {
		close(devfd);
		close(iommufd);
	}
	if (target != phys) {
		printf("edu %s: DMA to 0x%llx done; the caller checks the fault report\n",
		       bdf, (unsigned long long)target);
		return 0;
	}

	landed = 0;
	for (i = 0; i < 4096; i++) {
		if (buf[i] != 0x5a) {
			printf("edu %s: DMA reached memory (byte %d is 0x%02x)\n",
			       bdf, i, buf[i]);
			landed = 1;
			break;
		}
	}
	if (!landed)
		printf("edu %s: memory unchanged, the DMA was blocked\n", bdf);
	return landed == expect_landed ? 0 : 1;
}
