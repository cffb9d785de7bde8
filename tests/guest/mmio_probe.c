// SPDX-License-Identifier: GPL-2.0
/*
 * mmio_probe: read or write one 32-bit register at a physical address through
 * /dev/mem, and report whether the access faulted.
 *
 * usage: mmio_probe PHYS [read | write VALUE]
 *
 * Used to show that the host cannot touch an SMMU's MMIO once the hypervisor
 * owns it: pKVM turns the access into an external abort, which the kernel
 * delivers as SIGBUS. The fault is caught and reported, not fatal.
 * Exit status: 0 the access completed (a read prints the value), 2 it faulted
 * (SIGBUS or SIGSEGV), 3 the kernel refused to map the address (open or mmap
 * of /dev/mem failed with EPERM or EACCES), 1 any other error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mmio.h"

#define EXIT_ACCESSED	0
#define EXIT_ERROR	1
#define EXIT_FAULTED	2
#define EXIT_REFUSED	3

static sigjmp_buf fault_jmp;

static void on_fault(int sig)
{
	siglongjmp(fault_jmp, sig);
}

/* Returns 0, or the signal the access raised. */
static int access_reg(void *reg, int write_access, uint32_t value, uint32_t *val)
{
	int sig = sigsetjmp(fault_jmp, 1);

	if (sig)
		return sig;
	if (write_access)
		mmio_write32(reg, value);
	else
		*val = mmio_read32(reg);
	return 0;
}

static int print_help(void)
{
	fprintf(stderr,
		"usage: mmio_probe PHYS [read | write VALUE]\n"
		"  reads (default) or writes the 32-bit register at physical address PHYS\n"
		"exit status: 0 accessed, 2 faulted (SIGBUS/SIGSEGV), 3 mapping refused, 1 error\n");
	return EXIT_ERROR;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || !*s || *end ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_fault };
	uint64_t phys, value = 0, page = sysconf(_SC_PAGESIZE);
	int write_access = 0;
	uint32_t val = 0;
	void *map, *reg;
	int fd, sig;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2 || argc > 4 || parse_u64(argv[1], &phys))
		return print_help();
	if (argc >= 3 && !strcmp(argv[2], "write")) {
		if (argc != 4 || parse_u64(argv[3], &value) || value > UINT32_MAX)
			return print_help();
		write_access = 1;
	} else if (argc >= 3 && (strcmp(argv[2], "read") || argc != 3)) {
		return print_help();
	}
	if (phys & 3) {
		fprintf(stderr, "error: 0x%llx is not 4-byte aligned\n", (unsigned long long)phys);
		return EXIT_ERROR;
	}

	fd = open("/dev/mem", (write_access ? O_RDWR : O_RDONLY) | O_SYNC);
	if (fd < 0) {
		fprintf(stderr, "error: cannot open /dev/mem: %s\n", strerror(errno));
		return errno == EPERM || errno == EACCES ? EXIT_REFUSED : EXIT_ERROR;
	}
	map = mmap(NULL, page, PROT_READ | (write_access ? PROT_WRITE : 0), MAP_SHARED, fd,
		   phys & ~(page - 1));
	if (map == MAP_FAILED) {
		int err = errno;

		fprintf(stderr, "error: mmap of /dev/mem at 0x%llx: %s\n",
			(unsigned long long)(phys & ~(page - 1)), strerror(err));
		return err == EPERM || err == EACCES ? EXIT_REFUSED : EXIT_ERROR;
	}
	reg = (char *)map + (phys & (page - 1));

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) || sigaction(SIGSEGV, &sa, NULL)) {
		fprintf(stderr, "error: sigaction: %s\n", strerror(errno));
		return EXIT_ERROR;
	}
	sig = access_reg(reg, write_access, (uint32_t)value, &val);
	if (sig) {
		printf("0x%llx: %s faulted (%s)\n", (unsigned long long)phys,
		       write_access ? "write" : "read", sig == SIGBUS ? "SIGBUS" : "SIGSEGV");
		return EXIT_FAULTED;
	}
	if (write_access)
		printf("0x%llx: wrote 0x%08x\n", (unsigned long long)phys, (uint32_t)value);
	else
		printf("0x%llx: read 0x%08x\n", (unsigned long long)phys, val);
	munmap(map, page);
	close(fd);
	return EXIT_ACCESSED;
}
