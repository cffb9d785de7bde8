// SPDX-License-Identifier: GPL-2.0
/*
 * hvc_race: the IOMMU hypercalls from every CPU at once.
 *
 * usage: hvc_race [ITERATIONS]
 *
 * One thread per online CPU, each pinned to its CPU, runs a mix of calls on
 * one shared paging domain and on domains of its own: attach and detach of a
 * stream no device uses (each first attach and last detach on an SMMU
 * publishes a new invalidation array while the other threads unmap through
 * the old one), map and unmap of its own pages in the shared domain, a
 * domain of its own allocated, mapped and freed with its mappings, and
 * top-up and reclaim of the hypervisor's IOMMU memory. Every call must give
 * the result it would give alone. Afterwards the shared domain is freed, and
 * every page the threads mapped must be the host's alone again: the
 * hypervisor lets the host share each one with it (a page still DMA-mapped
 * could not be).
 *
 * Exit status: kselftest codes (0 pass, 1 fail).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define REPORT_PROG	"hvc_race"
#include "report.h"
#include "hvc.h"

#define PAGE		4096UL
#define PAGES_PER_CPU	16
#define MAX_CPUS	8
/* Top-ups a call may need while other threads reclaim. */
#define TOPUP_TRIES	64
/* The SMMU and the streams (one per thread) no device uses. */
#define RACE_SMMU	0
#define RACE_SID	0xfff0

static int shared_dom;
static uint64_t phys[MAX_CPUS][PAGES_PER_CPU];
static unsigned long iterations = 500;
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;

struct worker {
	int		cpu;
	pthread_t	thread;
	unsigned long	calls;
	unsigned long	bad;
};

static void bad(struct worker *w, const char *fmt, ...)
{
	va_list ap;

	w->bad++;
	pthread_mutex_lock(&report_lock);
	printf("# cpu%d: ", w->cpu);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	pthread_mutex_unlock(&report_lock);
}

/* A call that may ask for memory (x@reg pages); top up and repeat it. */
static int call(struct worker *w, long *r, int reg, const char *fmt, ...)
{
	char cmd[160];
	long t[3];
	va_list ap;
	int i;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	for (i = 0; i < TOPUP_TRIES; i++) {
		w->calls++;
		if (hvc(r, "%s", cmd))
			return -1;
		if (r[0] != -ENOMEM || !reg || !r[reg])
			return 0;
		if (hvc(t, "topup %ld", r[reg]))
			return -1;
	}
	return 0;
}

static void one_round(struct worker *w, unsigned long i)
{
	uint64_t iova = ((uint64_t)w->cpu << 30) + (i % PAGES_PER_CPU) * PAGE;
	uint64_t pa = phys[w->cpu][i % PAGES_PER_CPU];
	long r[3];
	int dom;

	switch (i % 4) {
	case 0:
		if (call(w, r, 2, "iommu_attach %d %d 0x%x", shared_dom, RACE_SMMU,
			 RACE_SID + w->cpu) || r[0]) {
			bad(w, "attach: %ld", r[0]);
			return;
		}
		if (call(w, r, 0, "iommu_detach %d %d 0x%x", shared_dom, RACE_SMMU,
			 RACE_SID + w->cpu) || r[0]) {
			bad(w, "detach: %ld", r[0]);
			return;
		}
		break;
	case 1:
		if (call(w, r, 2, "iommu_map %d 0x%llx 0x%llx 0x1000 3", shared_dom,
			 (unsigned long long)iova, (unsigned long long)pa) ||
		    r[0] || r[1] != (long)PAGE) {
			bad(w, "map of 0x%llx: %ld %ld", (unsigned long long)iova,
			    r[0], r[1]);
			return;
		}
		if (call(w, r, 0, "iommu_iova_to_phys %d 0x%llx", shared_dom,
			 (unsigned long long)iova) || r[0] || (uint64_t)r[1] != pa) {
			bad(w, "iova_to_phys of 0x%llx: %ld", (unsigned long long)iova,
			    r[0]);
			return;
		}
		if (call(w, r, 0, "iommu_unmap %d 0x%llx 0x1000", shared_dom,
			 (unsigned long long)iova) || r[0] || r[1] != (long)PAGE) {
			bad(w, "unmap of 0x%llx: %ld %ld", (unsigned long long)iova,
			    r[0], r[1]);
			return;
		}
		break;
	case 2:
		if (call(w, r, 1, "iommu_alloc_domain 1") || r[0] < 0) {
			bad(w, "alloc: %ld", r[0]);
			return;
		}
		dom = r[0];
		if (call(w, r, 2, "iommu_map %d 0x%llx 0x%llx 0x1000 3", dom,
			 (unsigned long long)iova, (unsigned long long)pa) || r[0])
			bad(w, "map into domain %d: %ld", dom, r[0]);
		do {
			if (call(w, r, 0, "iommu_free_domain %d", dom)) {
				bad(w, "free of domain %d", dom);
				return;
			}
		} while (r[0] == -EAGAIN);
		if (r[0])
			bad(w, "free of domain %d: %ld", dom, r[0]);
		break;
	case 3:
		if (call(w, r, 0, "topup 2") || r[0]) {
			bad(w, "topup: %ld", r[0]);
			return;
		}
		if (call(w, r, 0, "iommu_reclaim 2") || r[0] < 0) {
			bad(w, "reclaim: %ld", r[0]);
			return;
		}
		break;
	}
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	cpu_set_t set;
	unsigned long i;

	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		bad(w, "cannot pin to cpu%d: %s", w->cpu, strerror(errno));
		return NULL;
	}
	for (i = 0; i < iterations; i++)
		one_round(w, i);
	return NULL;
}

int main(int argc, char **argv)
{
	struct worker workers[MAX_CPUS] = {};
	int nr = sysconf(_SC_NPROCESSORS_ONLN), c, i;
	unsigned long calls = 0;
	char *buf;
	long r[3];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2)
		iterations = strtoul(argv[1], NULL, 0);
	if (argc > 2 || !iterations) {
		printf("usage: %s [ITERATIONS]\n", argv[0]);
		return KSFT_FAIL;
	}
	if (nr < 2)
		return error("%d CPU online: a race needs two", nr);
	if (nr > MAX_CPUS)
		nr = MAX_CPUS;

	buf = mmap(NULL, nr * PAGES_PER_CPU * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED)
		return error("mmap: %s", strerror(errno));
	for (c = 0; c < nr; c++)
		for (i = 0; i < PAGES_PER_CPU; i++)
			if (virt_to_phys(buf + (c * PAGES_PER_CPU + i) * PAGE, &phys[c][i]))
				return KSFT_FAIL;

	if (hvc_topup(r, 1, "iommu_alloc_domain 1") || r[0] < 0)
		return error("cannot allocate the shared domain: %ld", r[0]);
	shared_dom = r[0];
	printf("# %d CPUs, %lu iterations each, shared domain %d\n", nr, iterations,
	       shared_dom);

	for (c = 0; c < nr; c++) {
		workers[c].cpu = c;
		if (pthread_create(&workers[c].thread, NULL, worker_fn, &workers[c]))
			return error("pthread_create failed");
	}
	for (c = 0; c < nr; c++) {
		pthread_join(workers[c].thread, NULL);
		calls += workers[c].calls;
		check(!workers[c].bad, "cpu%d: %lu calls, %lu unexpected results", c,
		      workers[c].calls, workers[c].bad);
	}
	printf("# %lu hypercalls in all\n", calls);

	do {
		if (hvc(r, "iommu_free_domain %d", shared_dom))
			return KSFT_FAIL;
	} while (r[0] == -EAGAIN);
	check(!r[0], "free of the shared domain: %ld", r[0]);

	/* No page is DMA-mapped any more: each can be shared with the hypervisor. */
	for (c = 0; c < nr; c++) {
		for (i = 0; i < PAGES_PER_CPU; i++) {
			unsigned long long pfn = phys[c][i] / PAGE;

			if (hvc(r, "host_share_hyp 0x%llx", pfn))
				return KSFT_FAIL;
			check(!r[0], "page 0x%llx of cpu%d the host's alone again: %ld",
			      pfn * PAGE, c, r[0]);
			if (!r[0] && (hvc(r, "host_unshare_hyp 0x%llx", pfn) || r[0]))
				check(false, "unsharing page 0x%llx: %ld", pfn * PAGE, r[0]);
		}
	}
	printf("# %d check(s), %d failed\n", nr_checks, nr_failed);
	return nr_failed ? KSFT_FAIL : KSFT_PASS;
}
