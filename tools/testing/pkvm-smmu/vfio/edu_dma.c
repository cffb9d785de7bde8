// SPDX-License-Identifier: GPL-2.0
/*
 * edu_dma: move data by DMA with QEMU edu devices (1234:11e8) assigned to
 * userspace through VFIO, to prove that the IOMMU translates both directions
 * and that an IOVA faults once it is unmapped (no stale IOTLB entry).
 *
 * usage: edu_dma [--api group|iommufd] [--devices BDF[,BDF...]] [--iova ADDR]
 *                [--timeout-ms N] [--sabotage no-map|no-unmap] [--exec CMD]
 *                [--release BDF [--exec-released CMD]]
 *
 * All the devices share one address space: one VFIO container (type1v2) or one
 * iommufd IOAS, set up by the kernel's VFIO selftest library
 * (tools/testing/selftests/vfio/lib), which also opens the devices, maps
 * their BARs and the buffers. The checks, each printed as an "ok"/"not ok"
 * line:
 *  1. for each device: RAM (IOVA src) -> device buffer -> RAM (IOVA dst), and
 *     dst holds the pattern written at src (a pattern unique to this run and
 *     device, so stale device contents cannot pass);
 *  2. dst is unmapped once; for each device: device buffer -> IOVA dst, and
 *     the memory behind dst (still held here) keeps its guard pattern. Every
 *     device's SMMU has dst cached from step 1, so an invalidation missed on
 *     any of them shows up as data arriving;
 *  3. src is refilled and unmapped; for each device: IOVA src -> device buffer
 *     -> IOVA chk (mapped), and chk holds what a faulted read leaves in the
 *     device buffer: the step 1 pattern, or zeros (QEMU completes a DMA read
 *     that faults with zeros). Never the new src data, and never chk's own
 *     poison: the device still does DMA after a fault, which makes the
 *     "nothing arrived" of step 2 meaningful.
 * --sabotage breaks the test on purpose, to show that the checks can fail:
 * no-map leaves src unmapped, no-unmap keeps every mapping.
 *
 * --release BDF releases that device after step 1 (its BAR unmapped and its
 * VFIO device closed, which detaches it; with the group API its group also
 * leaves the container), repeats step 1 with the other devices, which must
 * still translate through the same address space, and runs steps 2 and 3
 * with them only.
 *
 * A device without a driver is bound to vfio-pci through driver_override; a
 * device bound to another driver is left alone (skip). Exit status: 0 all
 * checks passed, 1 a check or a step failed (the library's assertions exit
 * with 1 too), 4 skip (the environment cannot run the test; the last line
 * says why).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/pci_regs.h>

#include <libvfio.h>

#include "mmio.h"

#define REPORT_PROG "edu_dma"
#include "report.h"
#include "vfio/lib/drivers/edu/registers.h"

#define MAX_DEVICES		16
#define DEFAULT_IOVA		0x1000000ULL
#define IOVA_STRIDE		0x200000ULL	/* a last-level table per buffer */
#define SYS_PCI			"/sys/bus/pci"

enum sabotage { SABOTAGE_NONE, SABOTAGE_NO_MAP, SABOTAGE_NO_UNMAP };
enum buf_id { BUF_SRC, BUF_DST, BUF_CHK, NR_BUFS };

static const char * const buf_name[NR_BUFS] = { "src", "dst", "chk" };

struct edu {
	char bdf[32];
	char smmu[64];
	int group;
	struct vfio_pci_device *device;
	uint8_t *bar;		/* BAR0, mapped by the library */
	uint32_t pattern_seed;	/* what step 1 left in the device buffer */
};

struct buf {
	struct dma_region region;	/* on the library's list while mapped */
	uint8_t *va;
	size_t len;
	uint64_t iova;
	bool mapped;
};

static unsigned int timeout_ms = 5000;
static enum sabotage sabotage;
/* Run while every device is attached and the buffers are mapped: a check. */
static const char *exec_cmd;
/* The device released after step 1, and what to run once it is. */
static char release_bdf[32];
static const char *exec_released_cmd;

static void print_help(FILE *f)
{
	fprintf(f,
		"usage: edu_dma [--api group|iommufd] [--devices BDF[,BDF...]] [--iova ADDR]\n"
		"               [--timeout-ms N] [--sabotage no-map|no-unmap] [--exec CMD]\n"
		"               [--release BDF [--exec-released CMD]]\n"
		"  --api         group: VFIO group and type1v2 container (default);\n"
		"                iommufd: /dev/iommu IOAS and VFIO device cdev\n"
		"  --devices     edu devices, all in one address space (default: every edu)\n"
		"  --iova        IOVA of the first of three buffers, 2 MiB apart (default 0x%llx)\n"
		"  --timeout-ms  how long one DMA may take (default %u)\n"
		"  --sabotage    break the test on purpose, the run must then fail: no-map\n"
		"                leaves the source unmapped, no-unmap keeps every mapping\n"
		"  --exec        run CMD with sh while the devices are attached and the\n"
		"                buffers mapped; its exit status is one more check\n"
		"  --release     after the first DMA through every device, release BDF\n"
		"                (close it, detaching it) and run the checks again with\n"
		"                the other devices only\n"
		"  --exec-released  run CMD with sh once BDF is released, while the other\n"
		"                devices are attached; its exit status is one more check\n"
		"exit status: 0 pass, 1 fail, 4 skip\n",
		(unsigned long long)DEFAULT_IOVA, timeout_ms);
}

static int skip(const char *fmt, ...)
{
	va_list ap;

	printf("SKIP: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return KSFT_SKIP;
}

/* Format a path; a path too long for the buffer is a bug, not an input. */
static void pathf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		printf("error: path too long: %s...\n", buf);
		exit(KSFT_FAIL);
	}
}

/*
 * Orders CPU accesses to the buffers against the MMIO accesses that start a
 * DMA and that see it finished: the device reads what was written before,
 * and the CPU reads what the device wrote.
 */
static inline void dma_barrier(void)
{
#ifdef __aarch64__
	__asm__ __volatile__("dsb sy" ::: "memory");
#else
	__sync_synchronize();
#endif
}

static uint32_t rd32(struct edu *e, unsigned int reg)
{
	return mmio_read32(e->bar + reg);
}

static void wr32(struct edu *e, unsigned int reg, uint32_t val)
{
	mmio_write32(e->bar + reg, val);
}

static void wr64(struct edu *e, unsigned int reg, uint64_t val)
{
	mmio_write64(e->bar + reg, val);
}

/* xorshift32: a reproducible stream of non-zero words for one seed. */
static uint32_t next_word(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

static void fill(struct buf *b, uint32_t seed)
{
	uint32_t *w = (uint32_t *)b->va, state = seed ? seed : 1;
	size_t i;

	for (i = 0; i < EDU_BUF_SIZE / 4; i++)
		w[i] = next_word(&state);
	dma_barrier();
}

/* The number of words of @b that differ from the stream of @seed. */
static size_t differs(const struct buf *b, uint32_t seed, size_t *first)
{
	const uint32_t *w = (const uint32_t *)b->va;
	uint32_t state = seed ? seed : 1;
	size_t i, n = 0;

	for (i = 0; i < EDU_BUF_SIZE / 4; i++) {
		if (w[i] != next_word(&state) && n++ == 0 && first)
			*first = i * 4;
	}
	return n;
}

static int sysfs_read(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");

	if (!f)
		return -errno;
	if (!fgets(out, len, f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

static int sysfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* The last component of the target of the symbolic link @dir/@name, or "". */
static void link_name(const char *dir, const char *name, char *out, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t n;

	pathf(path, sizeof(path), "%s/%s", dir, name);
	n = readlink(path, target, sizeof(target) - 1);
	out[0] = '\0';
	if (n < 0)
		return;
	target[n] = '\0';
	base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	pathf(out, len, "%s", base);
}

static bool is_edu(const char *bdf)
{
	char path[PATH_MAX], val[32];

	pathf(path, sizeof(path), SYS_PCI "/devices/%s/vendor", bdf);
	if (sysfs_read(path, val, sizeof(val)) || strtoul(val, NULL, 16) != EDU_VENDOR_ID)
		return false;
	pathf(path, sizeof(path), SYS_PCI "/devices/%s/device", bdf);
	return !sysfs_read(path, val, sizeof(val)) && strtoul(val, NULL, 16) == EDU_DEVICE_ID;
}

static int find_edus(struct edu *edus)
{
	struct dirent **names;
	int i, n, nr = 0;

	n = scandir(SYS_PCI "/devices", &names, NULL, alphasort);
	if (n < 0)
		return 0;
	for (i = 0; i < n; i++) {
		const char *name = names[i]->d_name;

		if (name[0] != '.' && nr < MAX_DEVICES && is_edu(name))
			pathf(edus[nr++].bdf, sizeof(edus[0].bdf), "%s", name);
		free(names[i]);
	}
	free(names);
	return nr;
}

/* Bind @e to vfio-pci unless it already is; never unbind another driver. */
static int bind_vfio_pci(struct edu *e)
{
	char dir[PATH_MAX], path[PATH_MAX], drv[64];
	struct stat st;
	int ret;

	pathf(dir, sizeof(dir), SYS_PCI "/devices/%s", e->bdf);
	link_name(dir, "driver", drv, sizeof(drv));
	if (!strcmp(drv, "vfio-pci"))
		return 0;
	if (drv[0])
		return skip("edu %s is bound to %s, not vfio-pci; unbind it first", e->bdf, drv);
	if (stat(SYS_PCI "/drivers/vfio-pci", &st))
		return skip("no vfio-pci driver in " SYS_PCI "/drivers (CONFIG_VFIO_PCI)");
	pathf(path, sizeof(path), "%s/driver_override", dir);
	ret = sysfs_write(path, "vfio-pci");
	if (ret)
		return error("cannot write vfio-pci to %s: %s", path, strerror(-ret));
	ret = sysfs_write(SYS_PCI "/drivers_probe", e->bdf);
	if (ret)
		return error("probing %s with vfio-pci failed: %s", e->bdf, strerror(-ret));
	link_name(dir, "driver", drv, sizeof(drv));
	if (strcmp(drv, "vfio-pci"))
		return error("edu %s did not bind to vfio-pci (driver '%s'; see dmesg)", e->bdf,
			     drv);
	printf("# bound %s to vfio-pci\n", e->bdf);
	return 0;
}

static int describe(struct edu *e)
{
	char dir[PATH_MAX], grp[32];

	pathf(dir, sizeof(dir), SYS_PCI "/devices/%s", e->bdf);
	link_name(dir, "iommu", e->smmu, sizeof(e->smmu));
	link_name(dir, "iommu_group", grp, sizeof(grp));
	if (!e->smmu[0] || !grp[0])
		return skip("edu %s is not behind an IOMMU (no iommu or iommu_group link)",
			    e->bdf);
	e->group = atoi(grp);
	return 0;
}

static void space_map(struct iommu *iommu, struct buf *b)
{
	b->region = (struct dma_region) { .vaddr = b->va, .iova = b->iova, .size = b->len };
	iommu_map(iommu, &b->region);
	b->mapped = true;
}

static void space_unmap(struct iommu *iommu, struct buf *b)
{
	iommu_unmap(iommu, &b->region);
	b->mapped = false;
}

/* Open the device in @iommu, enable memory decoding and bus mastering, check that it is an edu. */
static int edu_setup(struct iommu *iommu, struct edu *e)
{
	uint32_t id, live;
	uint16_t cmd;

	e->device = vfio_pci_device_init(e->bdf, iommu);
	e->bar = e->device->bars[0].vaddr;
	if (!e->bar || e->device->bars[0].info.size < 0x100)
		return error("BAR0 of %s cannot be mmapped", e->bdf);
	cmd = vfio_pci_config_readw(e->device, PCI_COMMAND);
	vfio_pci_config_writew(e->device, PCI_COMMAND,
			       cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);

	id = rd32(e, EDU_REG_ID);
	wr32(e, EDU_REG_LIVENESS, 0x5a5aa5a5);
	live = rd32(e, EDU_REG_LIVENESS);
	if ((id & 0xff) != EDU_ID_MAGIC || live != ~0x5a5aa5a5u)
		return error("%s does not answer as an edu (id 0x%08x, liveness 0x%08x)",
			     e->bdf, id, live);
	printf("# %s: edu v%u.%u behind %s, IOMMU group %d\n", e->bdf, id >> 24,
	       (id >> 16) & 0xff, e->smmu, e->group);
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/* Move the whole device buffer from (@to_ram false) or to (@to_ram true) @iova. */
static int edu_dma(struct edu *e, uint64_t iova, bool to_ram)
{
	struct timespec pause = { .tv_nsec = 1000000 };
	uint64_t deadline;

	if (rd32(e, EDU_REG_DMA_CMD) & EDU_DMA_START)
		return error("%s: a DMA is already running", e->bdf);
	dma_barrier();
	wr64(e, EDU_REG_DMA_SRC, to_ram ? EDU_BUF_ADDR : iova);
	wr64(e, EDU_REG_DMA_DST, to_ram ? iova : EDU_BUF_ADDR);
	wr64(e, EDU_REG_DMA_COUNT, EDU_BUF_SIZE);
	wr64(e, EDU_REG_DMA_CMD, EDU_DMA_START | (to_ram ? EDU_DMA_TO_RAM : 0));
	deadline = now_ms() + timeout_ms;
	while (rd32(e, EDU_REG_DMA_CMD) & EDU_DMA_START) {
		if (now_ms() > deadline)
			return error("%s: DMA %s iova 0x%llx still running after %u ms", e->bdf,
				     to_ram ? "to" : "from", (unsigned long long)iova,
				     timeout_ms);
		nanosleep(&pause, NULL);
	}
	dma_barrier();
	return 0;
}

/* Say what @b holds instead of the stream of @want, naming a known stream if it is one. */
static void explain(const struct buf *b, uint32_t want, const char *what,
		    const uint32_t *seeds, const char * const *seed_names, int nr_seeds)
{
	size_t first = 0, n = differs(b, want, &first);
	int i;

	if (!n)
		return;
	for (i = 0; i < nr_seeds; i++) {
		if (!differs(b, seeds[i], NULL)) {
			printf("#   %s holds %s\n", what, seed_names[i]);
			return;
		}
	}
	printf("#   %s: %zu of %d words differ, the first at offset 0x%zx (0x%08x)\n", what,
	       n, EDU_BUF_SIZE / 4, first, ((const uint32_t *)b->va)[first / 4]);
}

static int alloc_bufs(struct iommu *s, struct buf *bufs, uint64_t iova)
{
	size_t page = sysconf(_SC_PAGESIZE);
	size_t len = page > EDU_BUF_SIZE ? page : EDU_BUF_SIZE;
	int i;

	for (i = 0; i < NR_BUFS; i++) {
		bufs[i].len = len;
		bufs[i].iova = iova + i * IOVA_STRIDE;
		bufs[i].mapped = false;
		bufs[i].va = mmap(NULL, len, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (bufs[i].va == MAP_FAILED)
			return error("cannot allocate a %zu-byte buffer: %s", len,
				     strerror(errno));
		/* Keep the page where a stale translation would still point. */
		if (mlock(bufs[i].va, len))
			return error("mlock of a %zu-byte buffer: %s", len, strerror(errno));
		if (i == BUF_SRC && sabotage == SABOTAGE_NO_MAP) {
			printf("# sabotage: src (iova 0x%llx) left unmapped\n",
			       (unsigned long long)bufs[i].iova);
			continue;
		}
		space_map(s, &bufs[i]);
		printf("# mapped %s: iova 0x%llx -> va %p, 0x%zx bytes\n", buf_name[i],
		       (unsigned long long)bufs[i].iova, (void *)bufs[i].va, len);
	}
	return 0;
}

/* 1. Translation works both ways through every device. */
static int check_translation(struct edu *edus, int nr, struct buf *bufs, uint32_t run_seed,
			     uint32_t poison_seed)
{
	static const char * const names[] = { "its poison: nothing arrived" };
	struct buf *src = &bufs[BUF_SRC], *dst = &bufs[BUF_DST];
	int i, ret;

	for (i = 0; i < nr; i++) {
		struct edu *e = &edus[i];
		uint32_t seed = run_seed ^ (0x9e3779b9u * (i + 1));

		fill(src, seed);
		fill(dst, poison_seed);
		ret = edu_dma(e, src->iova, false);
		if (!ret)
			ret = edu_dma(e, dst->iova, true);
		if (ret)
			return ret;
		e->pattern_seed = seed;
		check(!differs(dst, seed, NULL),
		      "%s (%s): RAM -> device -> RAM through iova 0x%llx and 0x%llx", e->bdf,
		      e->smmu, (unsigned long long)src->iova, (unsigned long long)dst->iova);
		explain(dst, seed, "dst", &poison_seed, names, 1);
	}
	return 0;
}

/* 2. Every device writes to dst after dst was unmapped: nothing arrives. */
static int check_unmapped_write(struct iommu *s, struct edu *edus, int nr, struct buf *bufs,
				uint32_t guard_seed)
{
	static const char * const names[] = { "this device's pattern: the write went through" };
	struct buf *dst = &bufs[BUF_DST];
	int i, ret;

	fill(dst, guard_seed);
	if (sabotage == SABOTAGE_NO_UNMAP) {
		printf("# sabotage: dst and src stay mapped\n");
	} else {
		space_unmap(s, dst);
		printf("# unmapped dst (iova 0x%llx)\n", (unsigned long long)dst->iova);
	}
	for (i = 0; i < nr; i++) {
		struct edu *e = &edus[i];

		ret = edu_dma(e, dst->iova, true);
		if (ret)
			return ret;
		check(!differs(dst, guard_seed, NULL),
		      "%s (%s): DMA write to unmapped iova 0x%llx did not reach memory", e->bdf,
		      e->smmu, (unsigned long long)dst->iova);
		explain(dst, guard_seed, "dst", &e->pattern_seed, names, 1);
		fill(dst, guard_seed);
	}
	return 0;
}

static bool all_zero(const struct buf *b)
{
	size_t i;

	for (i = 0; i < EDU_BUF_SIZE; i++)
		if (b->va[i])
			return false;
	return true;
}

/* 3. Reads from unmapped src fetch nothing, and every device still does DMA. */
static int check_unmapped_read(struct iommu *s, struct edu *edus, int nr, struct buf *bufs,
			       uint32_t refill_seed, uint32_t poison_seed)
{
	static const char * const names[] = {
		"what src holds now: the read from unmapped src went through",
		"its poison: the device did no DMA after the fault",
	};
	struct buf *src = &bufs[BUF_SRC], *chk = &bufs[BUF_CHK];
	const uint32_t seeds[] = { refill_seed, poison_seed };
	int i, ret;
	bool ok;

	fill(src, refill_seed);
	if (sabotage != SABOTAGE_NO_UNMAP && src->mapped) {
		space_unmap(s, src);
		printf("# unmapped src (iova 0x%llx) after refilling it\n",
		       (unsigned long long)src->iova);
	}
	for (i = 0; i < nr; i++) {
		struct edu *e = &edus[i];

		fill(chk, poison_seed);
		ret = edu_dma(e, src->iova, false);
		if (!ret)
			ret = edu_dma(e, chk->iova, true);
		if (ret)
			return ret;
		ok = !differs(chk, e->pattern_seed, NULL) || all_zero(chk);
		check(ok,
		      "%s (%s): DMA read from unmapped iova 0x%llx fetched nothing; DMA to iova 0x%llx still works",
		      e->bdf, e->smmu, (unsigned long long)src->iova,
		      (unsigned long long)chk->iova);
		if (!ok)
			explain(chk, e->pattern_seed, "chk", seeds, names, 2);
	}
	return 0;
}

/*
 * Release the device @release_bdf: close it (its BAR unmapped, its VFIO file
 * and, with the group API, its group closed, which takes the group out of
 * the container), which detaches it from the address space. It is dropped
 * from @edus.
 */
static int release_device(struct iommu *s, struct edu *edus, int *nr)
{
	struct edu *e;
	int i, j;

	for (i = 0; i < *nr && strcmp(edus[i].bdf, release_bdf); i++)
		;
	if (i == *nr)
		return error("--release %s: not one of the devices", release_bdf);
	if (*nr < 2)
		return error("--release %s: no other device would be left", release_bdf);
	e = &edus[i];
	vfio_pci_device_cleanup(e->device);
	e->device = NULL;
	printf("# released %s (%s)%s\n", e->bdf, e->smmu,
	       s->iommufd ? "" : ", its group out of the container");
	for (j = i; j < *nr - 1; j++)
		edus[j] = edus[j + 1];
	(*nr)--;
	return 0;
}

static int run(struct iommu *s, struct edu *edus, int *nr_edus, uint64_t iova)
{
	/* Patterns unique to this run: nothing left over from an earlier run matches. */
	uint32_t run_seed = (uint32_t)time(NULL) * 2654435761u ^ (uint32_t)getpid() << 16;
	uint32_t guard_seed = run_seed ^ 0x6a09e667;
	uint32_t refill_seed = run_seed ^ 0xbb67ae85;
	uint32_t poison_seed = run_seed ^ 0x3c6ef372;
	struct buf bufs[NR_BUFS];
	int i, ret, nr = *nr_edus;

	ret = alloc_bufs(s, bufs, iova);
	if (!ret)
		ret = check_translation(edus, nr, bufs, run_seed, poison_seed);
	if (!ret && exec_cmd) {
		int status = system(exec_cmd);

		check(status == 0, "'%s' while the devices are attached (status %d)",
		      exec_cmd, status);
	}
	if (!ret && release_bdf[0]) {
		ret = release_device(s, edus, nr_edus);
		nr = *nr_edus;
		if (!ret)
			ret = check_translation(edus, nr, bufs, run_seed ^ 0x510e527f,
						poison_seed);
	}
	if (!ret && exec_released_cmd) {
		int status = system(exec_released_cmd);

		check(status == 0, "'%s' once %s is released (status %d)", exec_released_cmd,
		      release_bdf, status);
	}
	if (!ret)
		ret = check_unmapped_write(s, edus, nr, bufs, guard_seed);
	if (!ret)
		ret = check_unmapped_read(s, edus, nr, bufs, refill_seed, poison_seed);
	for (i = 0; !ret && i < NR_BUFS; i++) {
		if (bufs[i].mapped)
			space_unmap(s, &bufs[i]);
	}
	return ret;
}

static int parse_devices(char *list, struct edu *edus)
{
	char *tok, *save = NULL;
	int nr = 0;

	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		/* Accept a BDF without its PCI domain, as lspci prints it. */
		const char *domain = strchr(tok, ':') == strrchr(tok, ':') ? "0000:" : "";

		if (nr == MAX_DEVICES)
			return error("more than %d devices", MAX_DEVICES), -1;
		if (strlen(domain) + strlen(tok) >= sizeof(edus[nr].bdf))
			return error("'%s' is not a PCI address", tok), -1;
		pathf(edus[nr].bdf, sizeof(edus[nr].bdf), "%s%s", domain, tok);
		if (!is_edu(edus[nr].bdf))
			return error("%s is not an edu device (1234:11e8) in " SYS_PCI "/devices",
				     edus[nr].bdf), -1;
		nr++;
	}
	return nr;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "api", required_argument, NULL, 'a' },
		{ "devices", required_argument, NULL, 'd' },
		{ "iova", required_argument, NULL, 'i' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "sabotage", required_argument, NULL, 's' },
		{ "exec", required_argument, NULL, 'x' },
		{ "release", required_argument, NULL, 'r' },
		{ "exec-released", required_argument, NULL, 'X' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	static struct edu edus[MAX_DEVICES];
	const char *mode = MODE_VFIO_TYPE1V2_IOMMU;
	uint64_t iova = DEFAULT_IOVA;
	char *devices = NULL, *end;
	struct iommu *space;
	int c, i, nr, ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (!strcmp(optarg, "group"))
				mode = MODE_VFIO_TYPE1V2_IOMMU;
			else if (!strcmp(optarg, "iommufd"))
				mode = MODE_IOMMUFD;
			else
				return error("--api takes group or iommufd, not '%s'", optarg);
			break;
		case 'd':
			devices = optarg;
			break;
		case 'i':
			errno = 0;
			iova = strtoull(optarg, &end, 0);
			if (errno || *end || !iova || iova % IOVA_STRIDE)
				return error("--iova takes a non-zero multiple of 2 MiB, not '%s'",
					     optarg);
			break;
		case 't':
			timeout_ms = strtoul(optarg, &end, 0);
			if (*end || !timeout_ms)
				return error("--timeout-ms takes a positive number, not '%s'",
					     optarg);
			break;
		case 's':
			if (!strcmp(optarg, "no-map"))
				sabotage = SABOTAGE_NO_MAP;
			else if (!strcmp(optarg, "no-unmap"))
				sabotage = SABOTAGE_NO_UNMAP;
			else
				return error("--sabotage takes no-map or no-unmap, not '%s'",
					     optarg);
			break;
		case 'x':
			exec_cmd = optarg;
			break;
		case 'r':
			/* A BDF without its PCI domain, as lspci prints it, is in 0000. */
			if (strlen(optarg) + 5 >= sizeof(release_bdf))
				return error("--release takes a PCI address, not '%s'", optarg);
			pathf(release_bdf, sizeof(release_bdf), "%s%s",
			      strchr(optarg, ':') == strrchr(optarg, ':') ? "0000:" : "", optarg);
			break;
		case 'X':
			exec_released_cmd = optarg;
			break;
		case 'h':
			print_help(stdout);
			return KSFT_PASS;
		default:
			print_help(stderr);
			return KSFT_FAIL;
		}
	}
	if (optind != argc) {
		print_help(stderr);
		return error("unexpected argument '%s'", argv[optind]);
	}
	if (exec_released_cmd && !release_bdf[0])
		return error("--exec-released needs --release");

	if (devices) {
		nr = parse_devices(devices, edus);
		if (nr < 0)
			return KSFT_FAIL;
	} else {
		nr = find_edus(edus);
		if (!nr)
			return skip("no edu device (1234:11e8) in " SYS_PCI "/devices");
	}
	printf("# edu_dma: %d device(s), %s, iova 0x%llx\n", nr,
	       strcmp(mode, MODE_IOMMUFD) ? "VFIO group API (type1v2)" : "iommufd + VFIO cdev",
	       (unsigned long long)iova);

	for (i = 0; i < nr; i++) {
		ret = describe(&edus[i]);
		if (!ret)
			ret = bind_vfio_pci(&edus[i]);
		if (ret)
			return ret;
	}
	space = iommu_init(mode);
	for (i = 0; i < nr; i++) {
		ret = edu_setup(space, &edus[i]);
		if (ret)
			return ret;
	}

	ret = run(space, edus, &nr, iova);
	for (i = 0; i < nr; i++)
		vfio_pci_device_cleanup(edus[i].device);
	iommu_cleanup(space);
	if (ret)
		return ret;
	printf("# %d check(s), %d failed%s\n", nr_checks, nr_failed,
	       sabotage ? " (sabotaged on purpose: failures expected)" : "");
	return nr_failed ? KSFT_FAIL : KSFT_PASS;
}
