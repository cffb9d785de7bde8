// SPDX-License-Identifier: GPL-2.0
/*
 * pci_cfg: read, or store and read back, one register of a PCI function's
 * configuration space through sysfs (/sys/bus/pci/devices/BDF/config), as the
 * host kernel's own accessors do it (one access of SIZE bytes).
 *
 * usage: pci_cfg BDF OFFSET SIZE [VALUE]
 *   SIZE is 1, 2 or 4 and OFFSET a multiple of it. Prints the register (hex)
 *   after the store, if any.
 *
 * Used to show which stores the hypervisor lets through once it mediates
 * configuration space (nvhe/pci_cfg.c). Exit status: 0 done, 1 any error
 * (with its reason on stderr), 2 bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int usage(const char *why)
{
	fprintf(stderr, "pci_cfg: %s\nusage: pci_cfg BDF OFFSET SIZE [VALUE]\n", why);
	return 2;
}

static int parse(const char *s, unsigned long long max, unsigned long long *val)
{
	char *end;

	errno = 0;
	*val = strtoull(s, &end, 0);
	return errno || end == s || *end || *val > max ? -1 : 0;
}

int main(int argc, char **argv)
{
	unsigned long long off, size, val = 0;
	char path[256];
	uint8_t buf[4];
	int fd, i;

	if (argc != 4 && argc != 5)
		return usage("wrong number of arguments");
	if (strchr(argv[1], '/') || strlen(argv[1]) > 64)
		return usage("BDF is a PCI address such as 0000:21:00.0");
	if (parse(argv[3], 4, &size) || (size != 1 && size != 2 && size != 4))
		return usage("SIZE is 1, 2 or 4");
	if (parse(argv[2], 4095, &off) || off % size)
		return usage("OFFSET is below 4096 and a multiple of SIZE");
	if (argc == 5 && parse(argv[4], (1ULL << (8 * size)) - 1, &val))
		return usage("VALUE does not fit in SIZE bytes");

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", argv[1]);
	fd = open(path, argc == 5 ? O_RDWR : O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "pci_cfg: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (argc == 5) {
		for (i = 0; i < (int)size; i++)
			buf[i] = val >> (8 * i);
		if (pwrite(fd, buf, size, off) != (ssize_t)size) {
			fprintf(stderr, "pci_cfg: store to %s at 0x%llx: %s\n", path, off,
				strerror(errno));
			close(fd);
			return 1;
		}
	}
	if (pread(fd, buf, size, off) != (ssize_t)size) {
		fprintf(stderr, "pci_cfg: load from %s at 0x%llx: %s (not root?)\n", path, off,
			strerror(errno));
		close(fd);
		return 1;
	}
	close(fd);
	for (val = 0, i = size - 1; i >= 0; i--)
		val = val << 8 | buf[i];
	printf("0x%0*llx\n", (int)(2 * size), val);
	return 0;
}
