/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Raw pKVM SMMU hypercalls from a test program, through
 * debugfs/pkvm-smmu/hvc: write "NAME a1 ...", read back "x1 x2 x3". Each open
 * file keeps its own result, so threads each with their own calls do not mix
 * them. Include report.h first.
 */
#ifndef PKVM_TESTS_GUEST_HVC_H
#define PKVM_TESTS_GUEST_HVC_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define HVC_FILE		"/sys/kernel/debug/pkvm-smmu/hvc"
/* Top-ups one call may ask for before the test gives up on it. */
#define ENOMEM_TRIES		4

/* One raw hypercall through debugfs: write "NAME a1 ...", read back x1 x2 x3. */
static inline int hvc(long *r, const char *fmt, ...)
{
	char cmd[160], out[80];
	va_list ap;
	ssize_t n;
	int fd;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fd = open(HVC_FILE, O_RDWR);
	if (fd < 0)
		return error("cannot open %s: %s (CONFIG_PKVM_SMMU_V3_DEBUGFS, pkvm_smmu=on?)",
			     HVC_FILE, strerror(errno));
	if (write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd)) {
		error("writing '%s' to %s: %s", cmd, HVC_FILE, strerror(errno));
		close(fd);
		return KSFT_FAIL;
	}
	n = pread(fd, out, sizeof(out) - 1, 0);
	close(fd);
	if (n <= 0)
		return error("reading the result of '%s' from %s: %s", cmd, HVC_FILE,
			     n ? strerror(errno) : "empty");
	out[n] = '\0';
	if (sscanf(out, "%ld %li %li", &r[0], &r[1], &r[2]) != 3)
		return error("cannot parse '%s' from %s", out, HVC_FILE);
	return 0;
}

/*
 * A call that may first ask for memory: on -ENOMEM, donate the pages it
 * names in r[@reg] (x2 for alloc, x3 for map) and repeat it, as the host
 * driver does.
 */
static inline int hvc_topup(long *r, int reg, const char *fmt, ...)
{
	char cmd[160];
	long t[3];
	va_list ap;
	int i, ret;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	for (i = 0; i < ENOMEM_TRIES; i++) {
		ret = hvc(r, "%s", cmd);
		if (ret || r[0] != -ENOMEM || !r[reg])
			return ret;
		ret = hvc(t, "topup %ld", r[reg]);
		if (ret)
			return ret;
		if (t[0])
			return error("topup %ld for '%s' failed: %ld", r[reg], cmd, t[0]);
	}
	return 0;
}

/*
 * The physical address of the page at @va, from /proc/self/pagemap (root
 * only), to name it in a hypercall.
 */
static inline int virt_to_phys(const void *va, uint64_t *pa)
{
	const uint64_t page = 4096;
	uint64_t ent, pfn;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return error("cannot open /proc/self/pagemap: %s", strerror(errno));
	if (pread(fd, &ent, sizeof(ent), (uintptr_t)va / page * sizeof(ent)) != sizeof(ent)) {
		close(fd);
		return error("reading /proc/self/pagemap: %s", strerror(errno));
	}
	close(fd);
	pfn = ent & ((1ULL << 55) - 1);
	if (!(ent & (1ULL << 63)) || !pfn)
		return error("no physical address for %p in pagemap (entry 0x%llx; not root?)",
			     va, (unsigned long long)ent);
	*pa = pfn * page;
	return 0;
}

#endif /* PKVM_TESTS_GUEST_HVC_H */
