// SPDX-License-Identifier: GPL-2.0-only
/*
 * Concurrency stress test of the EL2 invalidation-array protocol, built
 * unmodified from arch/arm64/kvm/hyp/nvhe/ against ./shim. Threads play CPUs
 * that enter the hypervisor, do one operation and leave:
 *
 *  - unmap: bump the domain's fake page-table generation (the PTE store),
 *    smmu_invs_deref_for_inv() (full barrier + acquire load), then record one
 *    invalidation {SMMU, tag} per live entry, for that generation;
 *  - attach/detach of one stream, under the domain lock, in the EL2 order:
 *    attach = tag get, merge, publish, retire old, barrier, install STE;
 *    detach = clear STE (+ sync), unref, tag put / invalidate / release,
 *    sometimes purge + publish + retire;
 *  - reclaim of retired arrays.
 *
 * Checks, after the run:
 *  - no missed invalidation: an SMMU whose first STE was installed before an
 *    unmap's page-table store, and whose last STE was cleared after the unmap
 *    had finished reading the array, got an invalidation for that unmap with
 *    its current tag. "Before"/"after" come from a seq_cst clock read around
 *    the events, so only certain orderings are checked, never ambiguous ones;
 *  - no use after free: freed arrays are poisoned and kept in a quarantine;
 *    readers check the allocation magic and every entry (ThreadSanitizer also
 *    reports the poisoning write racing with the read; ASan reports accesses
 *    after the quarantine really frees);
 *  - a tag is never owned by two domains on one SMMU, never 0;
 *  - with every CPU out of the hypervisor, one reclaim frees everything.
 *
 * Usage: stress [iterations-per-cpu [seed]]
 */

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/container_of.h>
#include <linux/bitops.h>
#include <linux/errno.h>
#include <nvhe/hyp_gp.h>
#include <nvhe/smmu_invs.h>
#include <nvhe/smmu_tags.h>

#include "tap.h"

#define NR_HYP_CPUS		4
#define NR_SMMUS	4
#define NR_DOMAINS	2
#define NR_STREAMS	2	/* per (domain, SMMU) */
#define VMID_BITS	3	/* tiny, so tags are reused often */
#define NR_TAGS		BIT(VMID_BITS)
#define MAX_INVS	(NR_SMMUS * SMMU_INV_NR_TYPES)

#define OBJ_LIVE	0x4c495645a110c8edULL
#define OBJ_DEAD	0xdeadbeefdeadbeefULL
#define POISON		0x6b
#define QUARANTINE	512

/* Lock order: domain -> SMMU -> gp -> quarantine. */
static hyp_spinlock_t gp_lock;
static struct hyp_gp gp;
static struct hyp_gp_cpu gp_cpus[NR_HYP_CPUS];

struct smmu {
	hyp_spinlock_t		lock;
	struct smmu_tag_space	vmids;
	unsigned long		map[1];
	int			tag_owner[NR_TAGS];	/* domain + 1; lock */
};

struct interval {
	u64	start;		/* clock after the first STE install */
	u64	end;		/* clock before the last STE clear */
	u16	tag;
};

struct domain {
	hyp_spinlock_t		lock;
	struct smmu_invs __rcu	*invs;
	u64			pt_gen;		/* fake page table, atomic */
	struct smmu_tag_ref	ref[NR_SMMUS];	/* SMMU lock */
	int			ste[NR_SMMUS][NR_STREAMS];	/* lock */
	int			nr_ste[NR_SMMUS];		/* lock */
	struct interval		*iv[NR_SMMUS];			/* lock */
	size_t			nr_iv[NR_SMMUS];
	size_t			max_iv;
};

struct unmap_rec {
	u64	t0, t1;
	u8	domain;
	u8	nr;
	struct {
		u16	smmu;
		u16	tag;
	} inv[MAX_INVS];
};

struct cpu {
	pthread_t		thread;
	unsigned int		id;
	u64			rng;
	struct unmap_rec	*recs;
	size_t			nr_recs;
};

static struct smmu smmus[NR_SMMUS];
static struct domain domains[NR_DOMAINS];
static struct cpu cpus[NR_HYP_CPUS];
static u64 sim_clock;
static long iterations = 200000;

/* Failure counters, atomics. */
static long bad_obj, bad_entry, tag_conflicts, unref_failures, bad_errors;
static long nr_tlbi_all, nr_alloc_fail;

static __thread u64 *tls_rng;

static u64 rnd(u64 *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static void count(long *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

static u64 clock_now(void)
{
	return __atomic_add_fetch(&sim_clock, 1, __ATOMIC_SEQ_CST);
}

/* Widen race windows now and then. */
static void jitter(void)
{
	u64 r = rnd(tls_rng);

	if (r % 8)
		return;
	if (r % 64 == 0) {
		sched_yield();
		return;
	}
	for (int i = (r >> 8) % 300; i > 0; i--)
		__atomic_signal_fence(__ATOMIC_SEQ_CST);	/* keep the loop */
}

/* Allocator: header with magic, poison and quarantine on free. */
struct obj_hdr {
	u64	magic;
	size_t	size;
} __aligned(16);

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static struct obj_hdr *quarantine[QUARANTINE];
static size_t q_head;
static long nr_live_objs;

static void *q_alloc(void *arg, size_t size)
{
	struct obj_hdr *h;

	if (tls_rng && rnd(tls_rng) % 32 == 0) {
		count(&nr_alloc_fail);
		return NULL;
	}
	h = malloc(sizeof(*h) + size);
	if (!h)
		abort();
	h->magic = OBJ_LIVE;
	h->size = size;
	count(&nr_live_objs);
	return h + 1;
}

static void q_free(void *arg, void *ptr)
{
	struct obj_hdr *h = (struct obj_hdr *)ptr - 1;

	if (h->magic != OBJ_LIVE) {
		count(&bad_obj);
		return;
	}
	memset(ptr, POISON, h->size);
	h->magic = OBJ_DEAD;
	__atomic_sub_fetch(&nr_live_objs, 1, __ATOMIC_RELAXED);

	pthread_mutex_lock(&q_lock);
	free(quarantine[q_head]);
	quarantine[q_head] = h;
	q_head = (q_head + 1) % QUARANTINE;
	pthread_mutex_unlock(&q_lock);
}

static const struct smmu_invs_alloc q_a = {
	.alloc	= q_alloc,
	.free	= q_free,
};

static bool obj_check(const void *ptr)
{
	if (ptr && ((const struct obj_hdr *)ptr - 1)->magic != OBJ_LIVE) {
		count(&bad_obj);
		return false;
	}
	return true;
}

static void invs_free_cb(struct hyp_gp_node *node, void *arg)
{
	smmu_invs_free(container_of(node, struct smmu_invs, gp_node), &q_a);
}

static void retire(struct smmu_invs *old)
{
	if (!old)
		return;
	hyp_spin_lock(&gp_lock);
	hyp_gp_retire_locked(&gp, &old->gp_node, invs_free_cb);
	hyp_spin_unlock(&gp_lock);
}

static void reclaim(void)
{
	hyp_spin_lock(&gp_lock);
	hyp_gp_reclaim_locked(&gp, NULL);
	hyp_spin_unlock(&gp_lock);
}

static void do_unmap(struct cpu *c, unsigned int d_idx)
{
	struct domain *d = &domains[d_idx];
	struct unmap_rec *r = &c->recs[c->nr_recs];
	const struct smmu_inv *inv;
	struct smmu_invs *invs;
	u32 i;

	r->domain = d_idx;
	r->nr = 0;
	r->t0 = clock_now();

	/* Clear the PTE: a new page-table generation */
	__atomic_add_fetch(&d->pt_gen, 1, __ATOMIC_RELAXED);
	jitter();

	invs = smmu_invs_deref_for_inv(&d->invs);
	if (!obj_check(invs))
		invs = NULL;	/* counted; do not walk a freed array */
	smmu_invs_for_each(invs, i, inv) {
		if (inv->smmu >= NR_SMMUS || inv->type != SMMU_INV_S2_VMID ||
		    !inv->tag || inv->tag >= NR_TAGS || r->nr >= MAX_INVS) {
			count(&bad_entry);
			break;
		}
		r->inv[r->nr].smmu = inv->smmu;
		r->inv[r->nr].tag = inv->tag;
		r->nr++;
		jitter();
	}
	obj_check(invs);

	r->t1 = clock_now();
	c->nr_recs++;
}

static void interval_open(struct domain *d, unsigned int s, u16 tag)
{
	struct interval *iv;

	if (d->nr_iv[s] == d->max_iv) {
		d->max_iv = d->max_iv ? 2 * d->max_iv : 1024;
		for (unsigned int i = 0; i < NR_SMMUS; i++) {
			d->iv[i] = realloc(d->iv[i], d->max_iv * sizeof(*iv));
			if (!d->iv[i])
				abort();
		}
	}
	iv = &d->iv[s][d->nr_iv[s]++];
	iv->tag = tag;
	iv->end = UINT64_MAX;
	iv->start = clock_now();
}

static void interval_close(struct domain *d, unsigned int s)
{
	d->iv[s][d->nr_iv[s] - 1].end = clock_now();
}

/* Drop one tag user; the last one invalidates and frees the tag. */
static int tag_put(struct domain *d, unsigned int d_idx, unsigned int s)
{
	struct smmu *sm = &smmus[s];
	u16 tag = d->ref[s].tag;
	int last;

	hyp_spin_lock(&sm->lock);
	last = smmu_tag_put_locked(&sm->vmids, &d->ref[s]);
	if (last == 1) {
		count(&nr_tlbi_all);	/* CMD_TLBI_S12_VMALL + CMD_SYNC */
		if (sm->tag_owner[tag] != (int)d_idx + 1)
			count(&tag_conflicts);
		sm->tag_owner[tag] = 0;
		if (smmu_tag_release_locked(&sm->vmids, &d->ref[s]))
			count(&bad_errors);
	} else if (last) {
		count(&bad_errors);
	}
	hyp_spin_unlock(&sm->lock);
	return last;
}

static void attach(struct domain *d, unsigned int d_idx, unsigned int s,
		   unsigned int k)
{
	struct smmu_inv add = { .smmu = s, .type = SMMU_INV_S2_VMID, .users = 1 };
	struct smmu *sm = &smmus[s];
	struct smmu_invs *old, *new;
	int ret;

	/* 1. Tag: a new one is invalidated before first use */
	hyp_spin_lock(&sm->lock);
	ret = smmu_tag_get_locked(&sm->vmids, &d->ref[s]);
	if (ret == 1) {
		count(&nr_tlbi_all);
		if (sm->tag_owner[d->ref[s].tag] || !d->ref[s].tag)
			count(&tag_conflicts);
		sm->tag_owner[d->ref[s].tag] = d_idx + 1;
	}
	add.tag = d->ref[s].tag;
	hyp_spin_unlock(&sm->lock);
	if (ret < 0) {
		count(&bad_errors);	/* the space is large enough */
		return;
	}

	/* 2. New array; on failure nothing was published */
	old = smmu_invs_deref_locked(&d->invs);
	ret = smmu_invs_merge(old, &add, 1, &q_a, &new);
	if (ret) {
		if (ret != -ENOMEM)
			count(&bad_errors);
		tag_put(d, d_idx, s);
		return;
	}
	jitter();

	/* 3. Publish, retire the old array */
	smmu_invs_publish(&d->invs, new);
	retire(old);
	jitter();

	/* 4. The STE write path's dsb, then install the STE */
	smp_mb();	/* pairs with smp_mb() in smmu_invs_deref_for_inv() */
	d->ste[s][k] = 1;
	if (!d->nr_ste[s]++)
		interval_open(d, s, add.tag);
}

static void detach(struct domain *d, unsigned int d_idx, unsigned int s,
		   unsigned int k)
{
	struct smmu_inv del = {
		.smmu = s, .type = SMMU_INV_S2_VMID, .tag = d->ref[s].tag,
		.users = 1,
	};
	struct smmu_invs *cur, *new;
	int dead, last, ret;

	/* 1. Clear the STE, CFGI_STE + CMD_SYNC */
	if (!--d->nr_ste[s])
		interval_close(d, s);
	d->ste[s][k] = 0;
	smp_mb();	/* CMD_SYNC completion, before the unref below */
	jitter();

	/* 2. Drop the array entry in place: cannot fail */
	cur = smmu_invs_deref_locked(&d->invs);
	dead = smmu_invs_unref(cur, &del, 1);
	if (dead < 0)
		count(&unref_failures);
	jitter();

	/* 3. Last user: invalidate and free the tag */
	last = tag_put(d, d_idx, s);
	if (dead >= 0 && dead != last)
		count(&bad_errors);

	/* 4. Sometimes compact; failure keeps the old, valid array */
	if (smmu_invs_needs_purge(cur) && rnd(tls_rng) % 2) {
		ret = smmu_invs_purge(cur, &q_a, &new);
		if (!ret) {
			smmu_invs_publish(&d->invs, new);
			retire(cur);
		} else if (ret != -ENOMEM) {
			count(&bad_errors);
		}
	}
}

static void do_toggle(struct cpu *c)
{
	u64 r = rnd(&c->rng);
	unsigned int d_idx = r % NR_DOMAINS;
	unsigned int s = (r >> 8) % NR_SMMUS;
	unsigned int k = (r >> 16) % NR_STREAMS;
	struct domain *d = &domains[d_idx];

	hyp_spin_lock(&d->lock);
	if (d->ste[s][k])
		detach(d, d_idx, s, k);
	else
		attach(d, d_idx, s, k);
	hyp_spin_unlock(&d->lock);
}

/*
 * Operation mix per CPU, in percent (the rest is reclaim). CPU 0 only reads:
 * it takes no lock, so the only happens-before edges from its reads to a
 * free are the grace-period ones, which TSan then checks on their own.
 */
static const struct {
	unsigned int unmap, toggle;
} mix[NR_HYP_CPUS] = {
	{ 100, 0 }, { 70, 30 }, { 30, 60 }, { 20, 30 },
};

static void *cpu_thread(void *arg)
{
	struct cpu *c = arg;
	long it;

	tls_rng = &c->rng;
	for (it = 0; it < iterations; it++) {
		u64 r;

		hyp_gp_enter(&gp, c->id);
		r = rnd(&c->rng) % 100;
		if (r < mix[c->id].unmap)
			do_unmap(c, rnd(&c->rng) % NR_DOMAINS);
		else if (r < mix[c->id].unmap + mix[c->id].toggle)
			do_toggle(c);
		else
			reclaim();
		hyp_gp_quiescent(&gp, c->id);

		/* The last CPU idles in the host now and then */
		if (c->id == NR_HYP_CPUS - 1 && rnd(&c->rng) % 256 == 0)
			usleep(200);
		else if (rnd(&c->rng) % 16 == 0)
			sched_yield();
	}
	tls_rng = NULL;
	return NULL;
}

static int find_iv(const struct interval *iv, size_t n, u64 t)
{
	/* Index of the last interval starting before @t, or -1. */
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (iv[mid].start < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (int)lo - 1;
}

static long nr_checked, nr_missed;

static void check_unmaps(void)
{
	for (unsigned int cpu = 0; cpu < NR_HYP_CPUS; cpu++) {
		for (size_t i = 0; i < cpus[cpu].nr_recs; i++) {
			const struct unmap_rec *r = &cpus[cpu].recs[i];
			struct domain *d = &domains[r->domain];

			for (unsigned int s = 0; s < NR_SMMUS; s++) {
				const struct interval *iv;
				int found = 0, j;

				j = find_iv(d->iv[s], d->nr_iv[s], r->t0);
				if (j < 0)
					continue;
				iv = &d->iv[s][j];
				if (iv->end <= r->t1)
					continue;	/* not certainly live */

				nr_checked++;
				for (unsigned int n = 0; n < r->nr; n++)
					if (r->inv[n].smmu == s &&
					    r->inv[n].tag == iv->tag)
						found = 1;
				if (found || nr_missed++ >= 5)
					continue;
				printf("# missed: domain %u smmu %u tag %u ",
				       r->domain, s, iv->tag);
				printf("unmap [%llu,%llu] live [%llu,%llu]\n",
				       r->t0, r->t1, iv->start, iv->end);
			}
		}
	}
}

static void test_no_missed(void)
{
	check_unmaps();
	printf("# %ld certain (unmap, live SMMU) pairs checked, %ld missed\n",
	       nr_checked, nr_missed);
	CHECK_EQ(nr_missed, 0);
	CHECK(nr_checked > iterations / 10);	/* the check did something */
}

static void test_no_uaf(void)
{
	CHECK_EQ(bad_obj, 0);
	CHECK_EQ(bad_entry, 0);
}

static void test_tags(void)
{
	CHECK_EQ(tag_conflicts, 0);
	printf("# %ld whole-tag invalidations\n", nr_tlbi_all);
}

static void test_detach_never_fails(void)
{
	CHECK_EQ(unref_failures, 0);
	CHECK_EQ(bad_errors, 0);
	printf("# %ld injected allocation failures\n", nr_alloc_fail);
}

static void test_reclaim_all(void)
{
	unsigned long pending;

	/* Every CPU is outside EL2: one reclaim must free everything */
	hyp_spin_lock(&gp_lock);
	hyp_gp_reclaim_locked(&gp, NULL);
	pending = hyp_gp_pending_locked(&gp);
	hyp_spin_unlock(&gp_lock);
	CHECK_EQ(pending, 0);

	for (unsigned int d = 0; d < NR_DOMAINS; d++) {
		smmu_invs_free(smmu_invs_deref_locked(&domains[d].invs), &q_a);
		domains[d].invs = NULL;
	}
	CHECK_EQ(nr_live_objs, 0);
}

int main(int argc, char **argv)
{
	u64 seed = 0x9e3779b97f4a7c15ULL;
	unsigned int i;

	if (argc > 1)
		iterations = strtol(argv[1], NULL, 0);
	if (argc > 2)
		seed = strtoull(argv[2], NULL, 0) | 1;
	printf("# %d CPUs, %d SMMUs, %d domains, %ld iterations per CPU, seed %#llx\n",
	       NR_HYP_CPUS, NR_SMMUS, NR_DOMAINS, iterations, seed);

	hyp_spin_lock_init(&gp_lock);
	if (hyp_gp_init(&gp, gp_cpus, NR_HYP_CPUS, &gp_lock))
		abort();
	for (i = 0; i < NR_SMMUS; i++) {
		hyp_spin_lock_init(&smmus[i].lock);
		if (smmu_tag_space_init(&smmus[i].vmids, VMID_BITS,
					smmus[i].map, sizeof(smmus[i].map),
					&smmus[i].lock))
			abort();
	}
	for (i = 0; i < NR_DOMAINS; i++)
		hyp_spin_lock_init(&domains[i].lock);

	for (i = 0; i < NR_HYP_CPUS; i++) {
		cpus[i].id = i;
		cpus[i].rng = seed * (i + 1);
		cpus[i].recs = calloc(iterations, sizeof(*cpus[i].recs));
		if (!cpus[i].recs)
			abort();
	}
	for (i = 0; i < NR_HYP_CPUS; i++)
		pthread_create(&cpus[i].thread, NULL, cpu_thread, &cpus[i]);
	for (i = 0; i < NR_HYP_CPUS; i++)
		pthread_join(cpus[i].thread, NULL);

	tap_plan(5);
	tap_run("stress_no_missed_invalidation", test_no_missed);
	tap_run("stress_no_use_after_free", test_no_uaf);
	tap_run("stress_tags_never_shared", test_tags);
	tap_run("stress_detach_never_fails", test_detach_never_fails);
	tap_run("stress_idle_cpus_do_not_block_reclaim", test_reclaim_all);

	for (i = 0; i < QUARANTINE; i++)
		free(quarantine[i]);
	for (i = 0; i < NR_HYP_CPUS; i++)
		free(cpus[i].recs);
	for (i = 0; i < NR_DOMAINS; i++)
		for (unsigned int s = 0; s < NR_SMMUS; s++)
			free(domains[i].iv[s]);
	return tap_exit();
}
