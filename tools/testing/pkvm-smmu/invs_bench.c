// SPDX-License-Identifier: GPL-2.0-only
/*
 * Read throughput of a domain's invalidation array, as unmap reads it, with
 * and without a concurrent writer (attach/detach publishing new arrays): the
 * lock-free scheme of nvhe/smmu_invs.c and nvhe/hyp_gp.c, built unmodified,
 * against the same walk under a pthread rwlock. make bench runs it; it is a
 * measurement, not a test, and prints one line per configuration:
 *
 *   INVS <scheme> readers=N writer=none|tight|paced reads_per_s=R writes_per_s=W
 *        reads_per_cpu_s=C
 *
 * R is reads per second of wall-clock time, C per second of CPU time the
 * readers got (CLOCK_THREAD_CPUTIME_ID): with more threads than cores the
 * writer takes CPU time from the readers, which lowers R but not C; C moves
 * only with what each read costs (the cache lines a writer takes away).
 *
 * usage: invs_bench [MILLISECONDS per configuration, default 500]
 *
 * A reader loops: enter the grace period (hyp_gp_enter(), as every hypercall
 * does on entry), smmu_invs_deref_for_inv() and walk every entry, leave
 * (hyp_gp_quiescent()); with the rwlock, read-lock, load, walk, unlock. The
 * writer (tight: back to back; paced: 100 us apart, a busy attach and
 * detach rate) loops: attach (smmu_invs_merge() of an entry for a ninth SMMU,
 * publish, retire the old array to the grace period) then detach (unref in
 * place, purge, publish, retire), reclaiming as it goes; with the rwlock, it
 * builds the new array, write-locks, swaps, unlocks and frees the old one.
 * The array starts with one entry per SMMU on eight SMMUs.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <linux/container_of.h>

#include <nvhe/hyp_gp.h>
#include <nvhe/smmu_invs.h>

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#define MAX_READERS	8
#define NR_CPUS_GP	(MAX_READERS + 1)
#define NR_SMMUS	8

enum scheme { LOCK_FREE, RWLOCK };

static struct smmu_invs __rcu *invs_slot;
static hyp_spinlock_t gp_lock, domain_lock;
static struct hyp_gp gp;
static struct hyp_gp_cpu gp_cpus[NR_CPUS_GP];
static pthread_rwlock_t rwlock = PTHREAD_RWLOCK_INITIALIZER;
static int stop;
static enum scheme scheme;
static long writer_pause_us;
static u64 writes;

struct reader {
	pthread_t	thread;
	unsigned int	id;
	u64		reads;
	u64		cpu_ns;		/* the thread's CPU time */
	u64		sum;		/* keeps the walk from being optimised out */
} __aligned(64);

static struct reader readers[MAX_READERS];

static void *bench_alloc(void *arg, size_t size)
{
	return malloc(size);
}

static void bench_free(void *arg, void *ptr)
{
	free(ptr);
}

static const struct smmu_invs_alloc allocator = {
	.alloc	= bench_alloc,
	.free	= bench_free,
};

static void invs_free_cb(struct hyp_gp_node *node, void *arg)
{
	smmu_invs_free(container_of(node, struct smmu_invs, gp_node), &allocator);
}

static u64 walk(struct smmu_invs *invs)
{
	const struct smmu_inv *inv;
	u64 sum = 0;
	u32 i;

	smmu_invs_for_each(invs, i, inv)
		sum += inv->smmu + inv->tag;
	return sum;
}

static void *reader_thread(void *arg)
{
	struct reader *r = arg;
	struct timespec cpu;

	while (!READ_ONCE(stop)) {
		if (scheme == LOCK_FREE) {
			hyp_gp_enter(&gp, r->id);
			r->sum += walk(smmu_invs_deref_for_inv(&invs_slot));
			hyp_gp_quiescent(&gp, r->id);
		} else {
			pthread_rwlock_rdlock(&rwlock);
			r->sum += walk(READ_ONCE(invs_slot));
			pthread_rwlock_unlock(&rwlock);
		}
		r->reads++;
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
	r->cpu_ns = cpu.tv_sec * 1000000000ULL + cpu.tv_nsec;
	return NULL;
}

/* Replace the array by @new: publish and retire, or swap under the rwlock. */
static void replace_locked(struct smmu_invs *old, struct smmu_invs *new)
{
	if (scheme == LOCK_FREE) {
		smmu_invs_publish(&invs_slot, new);
		hyp_spin_lock(&gp_lock);
		hyp_gp_retire_locked(&gp, &old->gp_node, invs_free_cb);
		hyp_gp_reclaim_locked(&gp, NULL);
		hyp_spin_unlock(&gp_lock);
	} else {
		pthread_rwlock_wrlock(&rwlock);
		WRITE_ONCE(invs_slot, new);
		pthread_rwlock_unlock(&rwlock);
		smmu_invs_free(old, &allocator);
	}
}

static void *writer_thread(void *arg)
{
	struct smmu_inv extra = {
		.smmu = NR_SMMUS, .type = SMMU_INV_S2_VMID, .tag = 1, .users = 1,
	};
	struct smmu_invs *cur, *new;

	hyp_gp_enter(&gp, MAX_READERS);
	while (!READ_ONCE(stop)) {
		hyp_spin_lock(&domain_lock);
		cur = smmu_invs_deref_locked(&invs_slot);
		if (smmu_invs_merge(cur, &extra, 1, &allocator, &new))
			abort();
		replace_locked(cur, new);
		cur = new;
		/* In place: readers see it at once (with the rwlock, none reads). */
		if (scheme == RWLOCK)
			pthread_rwlock_wrlock(&rwlock);
		if (smmu_invs_unref(cur, &extra, 1) < 0)
			abort();
		if (scheme == RWLOCK)
			pthread_rwlock_unlock(&rwlock);
		if (smmu_invs_purge(cur, &allocator, &new))
			abort();
		replace_locked(cur, new);
		hyp_spin_unlock(&domain_lock);
		writes++;
		/* A hypercall ends: this CPU leaves EL2, then enters again. */
		hyp_gp_quiescent(&gp, MAX_READERS);
		if (writer_pause_us)
			usleep(writer_pause_us);
		hyp_gp_enter(&gp, MAX_READERS);
	}
	hyp_gp_quiescent(&gp, MAX_READERS);
	return NULL;
}

static double run(enum scheme s, unsigned int nr_readers, bool writer, long ms,
		  double *writes_per_s, double *reads_per_cpu_s)
{
	struct timespec t0, t1, nap = { ms / 1000, (ms % 1000) * 1000000L };
	pthread_t wthread;
	double secs;
	u64 reads = 0, cpu_ns = 0;
	unsigned int i;

	scheme = s;
	writes = 0;
	WRITE_ONCE(stop, 0);
	for (i = 0; i < nr_readers; i++) {
		readers[i].id = i;
		readers[i].reads = 0;
		pthread_create(&readers[i].thread, NULL, reader_thread, &readers[i]);
	}
	if (writer)
		pthread_create(&wthread, NULL, writer_thread, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	nanosleep(&nap, NULL);
	WRITE_ONCE(stop, 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (i = 0; i < nr_readers; i++) {
		pthread_join(readers[i].thread, NULL);
		reads += readers[i].reads;
		cpu_ns += readers[i].cpu_ns;
	}
	if (writer)
		pthread_join(wthread, NULL);
	/* Everything retired is freed once every CPU is out. */
	hyp_spin_lock(&gp_lock);
	hyp_gp_reclaim_locked(&gp, NULL);
	hyp_spin_unlock(&gp_lock);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	*writes_per_s = writes / secs;
	*reads_per_cpu_s = cpu_ns ? reads / (cpu_ns / 1e9) : 0;
	return reads / secs;
}

int main(int argc, char **argv)
{
	static const unsigned int counts[] = { 1, 2, 4, 8 };
	static const char * const wname[] = { "none", "tight", "paced" };
	static const long wpause[] = { 0, 0, 100 };
	double reads_per_s, writes_per_s, reads_per_cpu_s;
	struct smmu_inv init[NR_SMMUS];
	long ms = argc > 1 ? strtol(argv[1], NULL, 0) : 500;
	struct smmu_invs *invs;
	unsigned int i, w;
	int s;

	if (argc > 2 || ms < 10 || ms > 60000) {
		fprintf(stderr, "usage: %s [milliseconds per configuration, 10 to 60000]\n",
			argv[0]);
		return 1;
	}
	hyp_spin_lock_init(&gp_lock);
	hyp_spin_lock_init(&domain_lock);
	if (hyp_gp_init(&gp, gp_cpus, NR_CPUS_GP, &gp_lock))
		abort();
	for (i = 0; i < NR_SMMUS; i++)
		init[i] = (struct smmu_inv) {
			.smmu = i, .type = SMMU_INV_S2_VMID, .tag = 1 + i, .users = 1,
		};
	if (smmu_invs_merge(NULL, init, NR_SMMUS, &allocator, &invs))
		abort();
	smmu_invs_publish(&invs_slot, invs);

	printf("# %ld ms per configuration, %ld CPUs online\n", ms,
	       sysconf(_SC_NPROCESSORS_ONLN));
	for (s = LOCK_FREE; s <= RWLOCK; s++) {
		for (i = 0; i < ARRAY_SIZE(counts); i++) {
			for (w = 0; w < ARRAY_SIZE(wname); w++) {
				writer_pause_us = wpause[w];
				reads_per_s = run(s, counts[i], w, ms, &writes_per_s,
						  &reads_per_cpu_s);
				printf("INVS %s readers=%u writer=%s ",
				       s == LOCK_FREE ? "lock-free" : "rwlock", counts[i],
				       wname[w]);
				printf("reads_per_s=%.0f writes_per_s=%.0f reads_per_cpu_s=%.0f\n",
				       reads_per_s, writes_per_s, reads_per_cpu_s);
			}
		}
	}
	smmu_invs_free(smmu_invs_deref_locked(&invs_slot), &allocator);
	return 0;
}
