// SPDX-License-Identifier: GPL-2.0-only
/*
 * smmu_bench: DMA invalidation cost of the hypervisor-owned SMMUs, measured
 * from the host's userspace with the kernel's VFIO selftest library.
 *
 * usage: smmu_bench --devices BDF[,BDF...] [--smmus N[,N...]] [--iters N]
 *                   [--topup N[,N...]] [--per-smmu] [--locked]
 *        smmu_bench --devices BDF --mark ID:CASE:PAGES | --unmark ID
 *
 * Each device must sit behind an SMMU of its own (the bench topology). For
 * each count K of --smmus, the first K devices are attached to one iommufd
 * IOAS, which the hypervisor backs with one domain spanning K SMMUs. Then,
 * for each unmap size, a buffer is mapped and unmapped --iters times and
 * each unmap (IOMMU_IOAS_UNMAP) is timed. Then the devices are released
 * (detached) one by one. With --per-smmu, the same again with each device
 * in a domain of its own (debugfs/pkvm-smmu/share_domains=N): one domain
 * per SMMU, each mapping the buffer, as drivers that cannot share a domain
 * across SMMUs do. Before the unmaps, 1 MiB is mapped once and the pages
 * the hypervisor then holds for the domains are printed:
 *   MEM <strategy> smmus=K mapped_pages=N hyp_pages=P
 * With --locked (test kernels), the shared domain again, the unmaps
 * alternating between the hypervisor reading each invalidation array
 * without a lock and under a per-domain lock (__pkvm_iommu_bench_knob,
 * flipped between two unmaps): strategies "lock-free" and "locked", paired
 * so that drift during the boot cancels out. Then, for each K below the
 * number of devices, the same while another thread attaches and detaches
 * the last device to and from the IOAS without pause ("lock-free+writer",
 * "locked+writer"): each attach and detach publishes a new array. Those
 * unmaps are not marked (the writer's commands would be counted with
 * them); the writer's cycles are printed:
 *   WRITER <strategy> smmus=K cycles=N
 * With --topup, the hypervisor's IOMMU memcache is
 * topped up by N pages through debugfs/pkvm-smmu/hvc, in one call and then
 * in N calls of one page, and given back: each page donated leaves the
 * identity domain, which spans every SMMU with a device in it.
 *
 * Output, one line per measurement, for scripts/bench.sh:
 *   BENCH <strategy>:<case> smmus=K pages=N iters=R min_ns=A median_ns=B max_ns=C
 * and around every measured operation a marker: the first device's edu
 * liveness register (BAR0 + 4) is written with MARK_BEGIN | id before and
 * MARK_END | id after, and a line
 *   MARK <id> <case> smmus=K pages=N ops=R
 * says what the id stands for. QEMU's trace of MMIO writes shows the
 * markers between the SMMU commands it consumed, so that the commands of
 * each case are counted by QEMU itself, per SMMU (scripts/bench-trace.awk).
 *
 * The markers go through the device's sysfs resource0, so that they work
 * whether or not the device is open through VFIO. --mark and --unmark only
 * write one, for a script to count the commands of another program.
 * IDs from 1000 up are the scripts' (smmu_bench's own count from 1).
 */
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/compiler.h>

#include <libvfio.h>

#define MAX_DEVS	16
#define MAX_SIZES	8
#define MAX_ITERS	4096
#define BENCH_IOVA	0x100000000ULL
#define SZ_4K		0x1000UL
#define SZ_2M		0x200000UL

#define MARK_BEGIN	0x5a000000U
#define MARK_END	0xa5000000U
#define EDU_LIVENESS	0x04

static const char *bdfs[MAX_DEVS];
static int nr_devs;
static unsigned int smmu_counts[MAX_DEVS] = { 1, 2, 4, 8 };
static int nr_smmu_counts = 4;
static unsigned long topups[MAX_SIZES];
static int nr_topups;
static int iters = 64;
static bool per_smmu, locked;
static u32 *marker_reg;
static unsigned int next_mark;

/* Unmap sizes, in 4 KiB pages; the 2 MiB one is backed by a huge page. */
static const struct {
	const char	*name;
	unsigned long	size;
	bool		huge;
} unmap_cases[] = {
	{ "unmap-4k",	1 * SZ_4K,	false },
	{ "unmap-64k",	16 * SZ_4K,	false },
	{ "unmap-1m",	256 * SZ_4K,	false },
	{ "unmap-2m",	SZ_2M,		true },
};

static void print_usage(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: smmu_bench --devices BDF[,BDF...] [--smmus N[,N...]] [--iters N]\n"
		"                  [--topup N[,N...]] [--per-smmu] [--locked]\n"
		"       smmu_bench --devices BDF --mark ID:CASE:PAGES | --unmark ID\n");
	exit(status);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* How the IOAS's devices behind K SMMUs are backed by hypervisor domains. */
enum strategy {
	SHARED,		/* one domain spanning the K SMMUs (the default) */
	PER_SMMU,	/* one domain per SMMU (debugfs share_domains=N) */
	LOCKED,		/* shared, arrays read without or under a lock at EL2 */
	LOCKED_WRITER,	/* the same, another thread attaching and detaching */
};

static const char * const strategy_name[] = {
	[SHARED]	= "shared",
	[PER_SMMU]	= "per-smmu",
	[LOCKED]	= "locked",
	[LOCKED_WRITER]	= "locked+writer",
};

static enum strategy cur_strategy;

static void __report(const char *strategy, const char *name, unsigned int smmus,
		     unsigned long pages, uint64_t *ns, int n)
{
	qsort(ns, n, sizeof(*ns), cmp_u64);
	printf("BENCH %s:%s smmus=%u pages=%lu iters=%d min_ns=%llu median_ns=%llu max_ns=%llu\n",
	       strategy, name, smmus, pages, n, (unsigned long long)ns[0],
	       (unsigned long long)ns[n / 2], (unsigned long long)ns[n - 1]);
	fflush(stdout);
}

static void report(const char *name, unsigned int smmus, unsigned long pages,
		   uint64_t *ns, int n)
{
	__report(strategy_name[cur_strategy], name, smmus, pages, ns, n);
}

/* The first device's BAR0 through sysfs, memory decoding enabled. */
static void marker_open(const char *bdf)
{
	char path[128];
	uint16_t cmd;
	void *bar;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	fd = open(path, O_RDWR);
	VFIO_ASSERT_GE(fd, 0, "%s\n", path);
	VFIO_ASSERT_EQ(pread(fd, &cmd, 2, PCI_COMMAND), 2);
	cmd |= PCI_COMMAND_MEMORY;
	VFIO_ASSERT_EQ(pwrite(fd, &cmd, 2, PCI_COMMAND), 2);
	close(fd);

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource0", bdf);
	fd = open(path, O_RDWR | O_SYNC);
	VFIO_ASSERT_GE(fd, 0, "%s\n", path);
	bar = mmap(NULL, SZ_4K, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	VFIO_ASSERT_NE(bar, MAP_FAILED, "mmap %s\n", path);
	close(fd);
	marker_reg = (u32 *)((char *)bar + EDU_LIVENESS);
}

static bool with_writer(void)
{
	return cur_strategy == LOCKED_WRITER;
}

/* With a writer, nothing is marked: its commands would count (id 0). */
static unsigned int mark_begin(const char *name, unsigned int smmus,
			       unsigned long pages, int ops)
{
	unsigned int id;

	if (with_writer())
		return 0;
	id = ++next_mark;

	printf("MARK %u %s:%s smmus=%u pages=%lu ops=%d\n", id, strategy_name[cur_strategy],
	       name, smmus, pages, ops);
	fflush(stdout);
	WRITE_ONCE(*marker_reg, MARK_BEGIN | id);
	/* The device write completes before what it marks begins. */
	(void)READ_ONCE(*marker_reg);
	return id;
}

/* Mark @id again: one more operation of the same case. */
static void mark_again(unsigned int id)
{
	if (!id)
		return;
	WRITE_ONCE(*marker_reg, MARK_BEGIN | id);
	(void)READ_ONCE(*marker_reg);
}

static void mark_end(unsigned int id)
{
	if (!id)
		return;
	WRITE_ONCE(*marker_reg, MARK_END | id);
	(void)READ_ONCE(*marker_reg);
}

static void *alloc_buf(unsigned long size, bool huge)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE;
	void *p;

	if (huge)
		flags |= MAP_HUGETLB;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "smmu_bench: cannot allocate %lu bytes%s (nr_hugepages?)\n",
			size, huge ? " of huge pages" : "");
		exit(KSFT_FAIL);
	}
	return p;
}

/* Map and unmap each size @iters times in @iommu; time the unmaps. */
static long debugfs_hvc(const char *cmd);

/* With --locked: odd unmaps under a lock at EL2, even ones without. */
static bool alternate_locks(void)
{
	return cur_strategy == LOCKED || cur_strategy == LOCKED_WRITER;
}

static void report_alternating(const char *name, unsigned int smmus,
			       unsigned long pages, uint64_t *ns, int n)
{
	static uint64_t half[2][MAX_ITERS / 2];
	int r;

	for (r = 0; r + 1 < n; r += 2) {
		half[0][r / 2] = ns[r];
		half[1][r / 2] = ns[r + 1];
	}
	__report(with_writer() ? "lock-free+writer" : "lock-free", name, smmus, pages,
		 half[0], n / 2);
	__report(strategy_name[cur_strategy], name, smmus, pages, half[1], n / 2);
}

static void bench_unmaps(struct iommu *iommu, unsigned int smmus)
{
	static uint64_t ns[MAX_ITERS];
	unsigned int i, id;
	int r;

	for (i = 0; i < ARRAY_SIZE(unmap_cases); i++) {
		struct dma_region region = {
			.iova	= BENCH_IOVA,
			.size	= unmap_cases[i].size,
		};
		unsigned long pages = region.size / SZ_4K;
		u64 unmapped;

		region.vaddr = alloc_buf(region.size, unmap_cases[i].huge);
		/* Only the unmaps are marked: a map may top the memcache up. */
		id = 0;
		for (r = 0; r < iters; r++) {
			uint64_t t;

			iommu_map(iommu, &region);
			if (alternate_locks())
				VFIO_ASSERT_EQ(debugfs_hvc(r & 1 ? "iommu_bench_knob 1 1" :
							   "iommu_bench_knob 1 0"), 0,
					       "the locked strategy needs a test kernel\n");
			if (!r)
				id = mark_begin(unmap_cases[i].name, smmus, pages, iters);
			else
				mark_again(id);
			t = now_ns();
			VFIO_ASSERT_EQ(__iommu_unmap(iommu, &region, &unmapped), 0);
			ns[r] = now_ns() - t;
			mark_end(id);
			VFIO_ASSERT_EQ(unmapped, region.size);
		}
		if (alternate_locks())
			report_alternating(unmap_cases[i].name, smmus, pages, ns, iters);
		else
			report(unmap_cases[i].name, smmus, pages, ns, iters);
		munmap(region.vaddr, region.size);
	}
}

static int debugfs_read_long(const char *name, long *val)
{
	char path[96], buf[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/debug/pkvm-smmu/%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	*val = strtol(buf, NULL, 0);
	return 0;
}

static void debugfs_write(const char *name, const char *val)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/debug/pkvm-smmu/%s", name);
	fd = open(path, O_WRONLY);
	VFIO_ASSERT_GE(fd, 0, "%s\n", path);
	VFIO_ASSERT_EQ(write(fd, val, strlen(val)), (ssize_t)strlen(val), "%s\n", path);
	close(fd);
}

static void reclaim_all(const char *what, unsigned long pages);

/*
 * Pages the hypervisor holds for the IOMMU beyond its free memcache: the
 * memcache is given back first. -1 without the driver's debugfs (stock).
 */
static long hyp_pages_in_use(void)
{
	long pages;

	if (debugfs_read_long("donated_pages", &pages))
		return -1;
	reclaim_all("memory", 0);
	VFIO_ASSERT_EQ(debugfs_read_long("donated_pages", &pages), 0);
	return pages;
}

/* The writer: the last device attached to and detached from the IOAS, again and again. */
struct writer {
	pthread_t	thread;
	struct iommu	*iommu;
	const char	*bdf;
	bool		stop;
	unsigned long	cycles;
};

static void *writer_run(void *arg)
{
	struct writer *w = arg;
	struct vfio_pci_device *dev;

	while (!READ_ONCE(w->stop)) {
		dev = vfio_pci_device_init(w->bdf, w->iommu);
		vfio_pci_device_cleanup(dev);
		w->cycles++;
	}
	return NULL;
}

static void bench_domain(unsigned int smmus, enum strategy strategy)
{
	struct writer writer = { .bdf = bdfs[nr_devs - 1] };
	struct vfio_pci_device *devs[MAX_DEVS];
	struct dma_region region = {
		.iova	= BENCH_IOVA,
		.size	= 256 * SZ_4K,
	};
	long before, after;
	struct iommu *iommu;
	uint64_t ns;
	unsigned int i, id;

	cur_strategy = strategy;
	if (strategy == PER_SMMU)
		debugfs_write("share_domains", "N");
	before = hyp_pages_in_use();
	/*
	 * The memcache refilled ahead, so that the attaches and unmaps below
	 * do not count top-ups (which invalidate the identity domain).
	 */
	if (before >= 0)
		VFIO_ASSERT_EQ(debugfs_hvc("topup 256"), 0);
	iommu = iommu_init("iommufd");
	for (i = 0; i < smmus; i++) {
		id = mark_begin("attach", i + 1, 0, 1);
		ns = now_ns();
		devs[i] = vfio_pci_device_init(bdfs[i], iommu);
		ns = now_ns() - ns;
		mark_end(id);
		report("attach", i + 1, 0, &ns, 1);
	}
	/* What the domains cost the hypervisor, with 1 MiB of 4 KiB pages mapped. */
	region.vaddr = alloc_buf(region.size, false);
	iommu_map(iommu, &region);
	after = hyp_pages_in_use();
	if (before >= 0)
		printf("MEM %s smmus=%u mapped_pages=%lu hyp_pages=%ld\n",
		       strategy_name[strategy], smmus, region.size / SZ_4K, after - before);
	iommu_unmap(iommu, &region);
	munmap(region.vaddr, region.size);
	if (before >= 0)
		VFIO_ASSERT_EQ(debugfs_hvc("topup 256"), 0);

	if (with_writer()) {
		writer.iommu = iommu;
		VFIO_ASSERT_EQ(pthread_create(&writer.thread, NULL, writer_run, &writer), 0);
	}
	bench_unmaps(iommu, smmus);
	if (with_writer()) {
		WRITE_ONCE(writer.stop, true);
		VFIO_ASSERT_EQ(pthread_join(writer.thread, NULL), 0);
		printf("WRITER %s smmus=%u cycles=%lu\n", strategy_name[strategy], smmus,
		       writer.cycles);
	}
	for (i = smmus; i-- > 0;) {
		id = mark_begin("detach", i + 1, 0, 1);
		ns = now_ns();
		vfio_pci_device_cleanup(devs[i]);
		ns = now_ns() - ns;
		mark_end(id);
		report("detach", i + 1, 0, &ns, 1);
	}
	iommu_cleanup(iommu);
	if (strategy == PER_SMMU)
		debugfs_write("share_domains", "Y");
	if (strategy == LOCKED || strategy == LOCKED_WRITER)
		VFIO_ASSERT_EQ(debugfs_hvc("iommu_bench_knob 1 0"), 0);
	cur_strategy = SHARED;
}

/* Write @cmd to debugfs/pkvm-smmu/hvc and read back the result. */
static long debugfs_hvc(const char *cmd)
{
	char buf[80];
	long ret;
	int fd;

	fd = open("/sys/kernel/debug/pkvm-smmu/hvc", O_RDWR);
	VFIO_ASSERT_GE(fd, 0, "debugfs/pkvm-smmu/hvc (CONFIG_PKVM_SMMU_V3_DEBUGFS?)\n");
	VFIO_ASSERT_EQ(write(fd, cmd, strlen(cmd)), (ssize_t)strlen(cmd), "%s\n", cmd);
	memset(buf, 0, sizeof(buf));
	VFIO_ASSERT_GT(pread(fd, buf, sizeof(buf) - 1, 0), 0);
	close(fd);
	ret = strtol(buf, NULL, 0);
	return ret;
}

/* Give back what the memcache holds, so that each measure starts alike. */
static void reclaim_all(const char *what, unsigned long pages)
{
	unsigned long back = 0;
	long ret;

	do {
		ret = debugfs_hvc("iommu_reclaim 1024");
		VFIO_ASSERT_GE(ret, 0, "iommu_reclaim\n");
		back += ret;
	} while (ret > 0);
	if (pages)
		printf("# %s %lu: %lu pages back to the host\n", what, pages, back);
}

/*
 * Top the IOMMU memcache up by @pages in one call, timed and marked, then
 * by as many calls of one page each (what a donation costs page by page);
 * each time give them back.
 */
static void bench_topup(unsigned long pages)
{
	char cmd[64];
	uint64_t ns;
	unsigned int id;
	unsigned long i;

	reclaim_all("before topup", pages);
	snprintf(cmd, sizeof(cmd), "topup %lu", pages);
	id = mark_begin("topup", 0, pages, 1);
	ns = now_ns();
	VFIO_ASSERT_EQ(debugfs_hvc(cmd), 0, "%s\n", cmd);
	ns = now_ns() - ns;
	mark_end(id);
	report("topup", 0, pages, &ns, 1);
	reclaim_all("topup", pages);

	id = mark_begin("topup-by-page", 0, pages, 1);
	ns = now_ns();
	for (i = 0; i < pages; i++)
		VFIO_ASSERT_EQ(debugfs_hvc("topup 1"), 0, "topup 1\n");
	ns = now_ns() - ns;
	mark_end(id);
	report("topup-by-page", 0, pages, &ns, 1);
	reclaim_all("topup-by-page", pages);
}

static int parse_list(char *s, unsigned long *out, int max, const char *what)
{
	char *tok, *end;
	int n = 0;

	for (tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		if (n == max) {
			fprintf(stderr, "smmu_bench: too many values for %s\n", what);
			exit(KSFT_FAIL);
		}
		out[n] = strtoul(tok, &end, 0);
		if (*end || !out[n]) {
			fprintf(stderr, "smmu_bench: bad value '%s' for %s\n", tok, what);
			exit(KSFT_FAIL);
		}
		n++;
	}
	return n;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "devices",	required_argument, NULL, 'd' },
		{ "smmus",	required_argument, NULL, 's' },
		{ "iters",	required_argument, NULL, 'i' },
		{ "topup",	required_argument, NULL, 't' },
		{ "per-smmu",	no_argument, NULL, 'p' },
		{ "locked",	no_argument, NULL, 'l' },
		{ "mark",	required_argument, NULL, 'm' },
		{ "unmark",	required_argument, NULL, 'u' },
		{ "help",	no_argument, NULL, 'h' },
		{}
	};
	unsigned long vals[MAX_DEVS], mark_pages = 0;
	unsigned int mark = 0, unmark = 0;
	char mark_case[32];
	char *tok, *end;
	int c, i;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			for (tok = strtok(optarg, ","); tok; tok = strtok(NULL, ",")) {
				if (nr_devs == MAX_DEVS)
					print_usage(KSFT_FAIL);
				bdfs[nr_devs++] = tok;
			}
			break;
		case 's':
			nr_smmu_counts = parse_list(optarg, vals, MAX_DEVS, "--smmus");
			for (i = 0; i < nr_smmu_counts; i++)
				smmu_counts[i] = vals[i];
			break;
		case 'i':
			iters = strtol(optarg, &end, 0);
			if (*end || iters < 1 || iters > MAX_ITERS) {
				fprintf(stderr, "smmu_bench: --iters takes 1 to %d\n", MAX_ITERS);
				return KSFT_FAIL;
			}
			break;
		case 't':
			nr_topups = parse_list(optarg, topups, MAX_SIZES, "--topup");
			break;
		case 'p':
			per_smmu = true;
			break;
		case 'l':
			locked = true;
			break;
		case 'm':
			if (sscanf(optarg, "%u:%31[a-z0-9-]:%lu", &mark, mark_case,
				   &mark_pages) != 3 || mark < 1000 || mark > 0xffffff) {
				fprintf(stderr, "smmu_bench: %s, ID 1000 to %u\n",
					"--mark takes ID:CASE:PAGES", 0xffffff);
				return KSFT_FAIL;
			}
			break;
		case 'u':
			unmark = strtoul(optarg, &end, 0);
			if (*end || unmark < 1000 || unmark > 0xffffff) {
				fprintf(stderr, "smmu_bench: --unmark takes an ID, 1000 to %u\n",
					0xffffff);
				return KSFT_FAIL;
			}
			break;
		case 'h':
			print_usage(0);
		default:
			print_usage(KSFT_FAIL);
		}
	}
	if (optind != argc || !nr_devs)
		print_usage(KSFT_FAIL);
	for (i = 0; i < nr_smmu_counts && !mark && !unmark; i++) {
		if (smmu_counts[i] > (unsigned int)nr_devs) {
			fprintf(stderr, "smmu_bench: --smmus %u needs as many devices, %d given\n",
				smmu_counts[i], nr_devs);
			return KSFT_FAIL;
		}
	}

	marker_open(bdfs[0]);
	if (mark || unmark) {
		if (mark) {
			printf("MARK %u %s smmus=0 pages=%lu ops=1\n", mark, mark_case,
			       mark_pages);
			fflush(stdout);
			mark_again(mark);
		}
		if (unmark)
			mark_end(unmark);
		return KSFT_PASS;
	}
	for (i = 0; i < nr_smmu_counts; i++)
		bench_domain(smmu_counts[i], SHARED);
	/* Only the pKVM driver can be told not to share (debugfs). */
	if (per_smmu)
		for (i = 0; i < nr_smmu_counts; i++)
			bench_domain(smmu_counts[i], PER_SMMU);
	if (locked) {
		for (i = 0; i < nr_smmu_counts; i++)
			bench_domain(smmu_counts[i], LOCKED);
		/* The writer needs a device of its own: the last one. */
		for (i = 0; i < nr_smmu_counts; i++) {
			if (smmu_counts[i] >= (unsigned int)nr_devs)
				continue;
			bench_domain(smmu_counts[i], LOCKED_WRITER);
		}
	}
	for (i = 0; i < nr_topups; i++)
		bench_topup(topups[i]);
	return KSFT_PASS;
}
