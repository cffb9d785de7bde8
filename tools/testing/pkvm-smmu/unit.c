// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for the EL2 invalidation array, tag allocator and grace-period
 * code, built unmodified from arch/arm64/kvm/hyp/nvhe/ against ./shim.
 */

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/container_of.h>
#include <linux/errno.h>
#include <linux/limits.h>
#include <nvhe/hyp_gp.h>
#include <nvhe/smmu_invs.h>
#include <nvhe/smmu_tags.h>

#include "tap.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Allocator with accounting and failure injection. */
struct test_alloc {
	int	nr_alloc;
	int	nr_free;
	int	fail;		/* fail every allocation while set */
	size_t	last_size;
};

static void *test_alloc_fn(void *arg, size_t size)
{
	struct test_alloc *ta = arg;
	void *p;

	if (ta->fail)
		return NULL;
	p = malloc(size);
	if (!p)
		abort();
	memset(p, 0xa5, size);	/* catch fields left uninitialised */
	ta->nr_alloc++;
	ta->last_size = size;
	return p;
}

static void test_free_fn(void *arg, void *ptr)
{
	struct test_alloc *ta = arg;

	ta->nr_free++;
	free(ptr);
}

static struct test_alloc ta;
static const struct smmu_invs_alloc test_a = {
	.alloc	= test_alloc_fn,
	.free	= test_free_fn,
	.arg	= &ta,
};

static void test_alloc_reset(void)
{
	memset(&ta, 0, sizeof(ta));
}

#define S2	SMMU_INV_S2_VMID
#define S1	SMMU_INV_S1_ASID
#define E(s, t, g, u)	{ .smmu = (s), .type = (t), .tag = (g), .users = (u) }

/*
 * Check every entry of @invs, trash included, against @exp, and the number of
 * trash entries. @invs == NULL stands for the empty array.
 */
static void invs_verify(int step, const struct smmu_invs *invs,
			const struct smmu_inv *exp, size_t nr_exp,
			u32 nr_trash)
{
	size_t i;

	if (!invs) {
		if (nr_exp) {
			printf("# step %d: NULL array, expected %zu entries\n",
			       step, nr_exp);
			tap_cur_failed = 1;
		}
		return;
	}

	if (invs->nr != nr_exp || invs->nr_trash != nr_trash) {
		printf("# step %d: nr %u trash %u, expected %zu/%u\n", step,
		       invs->nr, invs->nr_trash, nr_exp, nr_trash);
		tap_cur_failed = 1;
		return;
	}

	for (i = 0; i < nr_exp; i++) {
		const struct smmu_inv *g = &invs->inv[i], *e = &exp[i];

		if (g->smmu != e->smmu || g->type != e->type ||
		    g->tag != e->tag || g->users != e->users ||
		    g->__pad[0] || g->__pad[1] || g->__pad[2]) {
			printf("# step %d: entry %zu is {%u,%u,%u,%u}, expected {%u,%u,%u,%u}\n",
			       step, i, g->smmu, g->type, g->tag, g->users,
			       e->smmu, e->type, e->tag, e->users);
			tap_cur_failed = 1;
		}
		if (i && smmu_inv_cmp(&invs->inv[i - 1], g) >= 0) {
			printf("# step %d: entries %zu and %zu out of order\n",
			       step, i - 1, i);
			tap_cur_failed = 1;
		}
	}
}

/* Replace *@cur by @next, freeing the old one (no readers in unit tests). */
static void invs_replace(struct smmu_invs **cur, struct smmu_invs *next)
{
	smmu_invs_free(*cur, &test_a);
	*cur = next;
}

static const struct smmu_inv invs_a[] = {
	E(0, S2, 1, 1), E(1, S2, 5, 1), E(2, S1, 3, 1),
};

static const struct smmu_inv invs_b[] = {
	E(0, S2, 1, 1),			/* duplicate of invs_a[0] */
	E(1, S1, 7, 1),			/* same SMMU, S1 sorts after S2 */
	E(3, S2, 2, 1),
};

static const struct smmu_inv invs_c[] = {
	E(1, S1, 7, 1),			/* revives a trash entry */
	E(3, S2, 9, 1),
};

static const struct smmu_inv invs_d[] = {
	E(2, S2, 4, 3),			/* several users at once */
};

static const struct smmu_inv invs_d2[] = {
	E(2, S2, 4, 2),
};

static void test_invs_table(void)
{
	const struct smmu_inv res1[] = {
		E(0, S2, 1, 1), E(1, S2, 5, 1), E(2, S1, 3, 1),
	};
	const struct smmu_inv res2[] = {
		E(0, S2, 1, 2), E(1, S2, 5, 1), E(1, S1, 7, 1),
		E(2, S1, 3, 1), E(3, S2, 2, 1),
	};
	const struct smmu_inv res3[] = {
		E(0, S2, 1, 1), E(1, S2, 5, 1), E(1, S1, 7, 0),
		E(2, S1, 3, 1), E(3, S2, 2, 0),
	};
	const struct smmu_inv res4[] = {
		E(0, S2, 1, 1), E(1, S2, 5, 1), E(1, S1, 7, 1),
		E(2, S1, 3, 1), E(3, S2, 9, 1),
	};
	const struct smmu_inv res5[] = {
		E(0, S2, 1, 0), E(1, S2, 5, 0), E(1, S1, 7, 1),
		E(2, S1, 3, 0), E(3, S2, 9, 1),
	};
	const struct smmu_inv res6[] = {
		E(1, S1, 7, 1), E(3, S2, 9, 1),
	};
	const struct smmu_inv res9[] = { E(2, S2, 4, 3) };
	const struct smmu_inv res10[] = { E(2, S2, 4, 1) };
	struct smmu_invs *cur = NULL, *next;

	test_alloc_reset();

	/* Step 1: merge into the empty array */
	CHECK_EQ(smmu_invs_merge(cur, invs_a, ARRAY_SIZE(invs_a), &test_a,
				 &next), 0);
	invs_replace(&cur, next);
	invs_verify(1, cur, res1, ARRAY_SIZE(res1), 0);
	CHECK_EQ(ta.last_size, sizeof(*cur) + 3 * sizeof(cur->inv[0]));

	/* Step 2: merge with a duplicate and S2/S1 on the same SMMU */
	CHECK_EQ(smmu_invs_merge(cur, invs_b, ARRAY_SIZE(invs_b), &test_a,
				 &next), 0);
	invs_replace(&cur, next);
	invs_verify(2, cur, res2, ARRAY_SIZE(res2), 0);

	/* Step 3: unref in place, two entries become trash */
	CHECK_EQ(smmu_invs_unref(cur, invs_b, ARRAY_SIZE(invs_b)), 2);
	invs_verify(3, cur, res3, ARRAY_SIZE(res3), 2);
	CHECK(smmu_invs_needs_purge(cur));

	/* Step 4: merge drops the trash and revives (1, S1, 7) */
	CHECK_EQ(smmu_invs_merge(cur, invs_c, ARRAY_SIZE(invs_c), &test_a,
				 &next), 0);
	invs_replace(&cur, next);
	invs_verify(4, cur, res4, ARRAY_SIZE(res4), 0);
	CHECK(!smmu_invs_needs_purge(cur));

	/* Step 5: unref invs_a, trash at the head and in the middle */
	CHECK_EQ(smmu_invs_unref(cur, invs_a, ARRAY_SIZE(invs_a)), 3);
	invs_verify(5, cur, res5, ARRAY_SIZE(res5), 3);

	/* Step 6: purge */
	CHECK_EQ(smmu_invs_purge(cur, &test_a, &next), 0);
	invs_replace(&cur, next);
	invs_verify(6, cur, res6, ARRAY_SIZE(res6), 0);

	/* Step 7: unref everything; the array is all trash */
	CHECK_EQ(smmu_invs_unref(cur, invs_c, ARRAY_SIZE(invs_c)), 2);
	CHECK_EQ(cur->nr_trash, 2);

	/* Step 8: purging an all-trash array gives the empty (NULL) array */
	CHECK_EQ(smmu_invs_purge(cur, &test_a, &next), 0);
	CHECK(!next);
	invs_replace(&cur, next);

	/* Step 9: several users in one merge */
	CHECK_EQ(smmu_invs_merge(cur, invs_d, ARRAY_SIZE(invs_d), &test_a,
				 &next), 0);
	invs_replace(&cur, next);
	invs_verify(9, cur, res9, ARRAY_SIZE(res9), 0);

	/* Step 10: dropping some users leaves the entry live */
	CHECK_EQ(smmu_invs_unref(cur, invs_d2, ARRAY_SIZE(invs_d2)), 0);
	invs_verify(10, cur, res10, ARRAY_SIZE(res10), 0);

	/* Step 11: merging nothing into a live array copies it */
	CHECK_EQ(smmu_invs_merge(cur, NULL, 0, &test_a, &next), 0);
	invs_replace(&cur, next);
	invs_verify(11, cur, res10, ARRAY_SIZE(res10), 0);

	/* Step 12: merging nothing into nothing allocates nothing */
	invs_replace(&cur, NULL);
	CHECK_EQ(smmu_invs_merge(NULL, NULL, 0, &test_a, &next), 0);
	CHECK(!next);

	CHECK_EQ(ta.nr_alloc, ta.nr_free);
}

/* Collect the entries smmu_invs_for_each() visits. */
static size_t invs_walk(const struct smmu_invs *invs, u16 *tags, size_t max)
{
	const struct smmu_inv *inv;
	size_t n = 0;
	u32 i, steps = 0;

	smmu_invs_for_each(invs, i, inv) {
		CHECK(inv->users);
		if (n < max)
			tags[n] = inv->tag;
		n++;
		if (++steps > 1000) {	/* must always advance */
			CHECK(!"iterator does not advance");
			break;
		}
	}
	return n;
}

static void test_invs_iter(void)
{
	const struct smmu_inv all[] = {
		E(0, S2, 1, 1), E(0, S2, 2, 1), E(1, S2, 3, 1), E(2, S2, 4, 1),
		E(3, S2, 5, 1),
	};
	const struct smmu_inv head_tail[] = {
		E(0, S2, 1, 1), E(0, S2, 2, 1), E(3, S2, 5, 1),
	};
	const struct smmu_inv middle[] = { E(1, S2, 3, 1), E(2, S2, 4, 1) };
	struct smmu_invs *invs;
	u16 tags[8];

	test_alloc_reset();
	CHECK_EQ(invs_walk(NULL, tags, 8), 0);

	CHECK_EQ(smmu_invs_merge(NULL, all, ARRAY_SIZE(all), &test_a, &invs),
		 0);
	CHECK_EQ(invs_walk(invs, tags, 8), 5);

	/* Trash at head and tail */
	CHECK_EQ(smmu_invs_unref(invs, head_tail, ARRAY_SIZE(head_tail)), 3);
	CHECK_EQ(invs_walk(invs, tags, 8), 2);
	CHECK_EQ(tags[0], 3);
	CHECK_EQ(tags[1], 4);

	/* All trash: no entry visited, walk still terminates */
	CHECK_EQ(smmu_invs_unref(invs, middle, ARRAY_SIZE(middle)), 2);
	CHECK_EQ(invs_walk(invs, tags, 8), 0);

	smmu_invs_free(invs, &test_a);
	CHECK_EQ(ta.nr_alloc, ta.nr_free);
}

static void test_invs_bad_args(void)
{
	const struct smmu_inv unsorted[] = { E(1, S2, 1, 1), E(0, S2, 1, 1) };
	const struct smmu_inv dup[] = { E(0, S2, 1, 1), E(0, S2, 1, 1) };
	const struct smmu_inv tag0[] = { E(0, S2, 0, 1) };
	const struct smmu_inv type[] = { E(0, SMMU_INV_NR_TYPES, 1, 1) };
	const struct smmu_inv users0[] = { E(0, S2, 1, 0) };
	const struct smmu_inv ok[] = { E(0, S2, 1, 1) };
	struct smmu_invs *next = (void *)1;

	test_alloc_reset();
	CHECK_EQ(smmu_invs_merge(NULL, unsorted, 2, &test_a, &next), -EINVAL);
	CHECK_EQ(smmu_invs_merge(NULL, dup, 2, &test_a, &next), -EINVAL);
	CHECK_EQ(smmu_invs_merge(NULL, tag0, 1, &test_a, &next), -EINVAL);
	CHECK_EQ(smmu_invs_merge(NULL, type, 1, &test_a, &next), -EINVAL);
	CHECK_EQ(smmu_invs_merge(NULL, users0, 1, &test_a, &next), -EINVAL);
	CHECK_EQ(smmu_invs_merge(NULL, NULL, 1, &test_a, &next), -EINVAL);
	CHECK_EQ(smmu_invs_merge(NULL, ok, 1, NULL, &next), -EINVAL);
	CHECK_EQ(smmu_invs_merge(NULL, ok, 1, &test_a, NULL), -EINVAL);
	/* Length overflow is caught before @add is read */
	CHECK_EQ(smmu_invs_merge(NULL, ok, (size_t)U32_MAX + 1, &test_a,
				 &next), -EOVERFLOW);
	CHECK(next == (void *)1);
	CHECK_EQ(smmu_invs_purge(NULL, NULL, &next), -EINVAL);
	CHECK_EQ(ta.nr_alloc, 0);
}

static void test_invs_users_overflow(void)
{
	const struct smmu_inv big[] = { E(0, S2, 1, U32_MAX - 1) };
	const struct smmu_inv one[] = { E(0, S2, 1, 1) };
	const struct smmu_inv two[] = { E(0, S2, 1, 2) };
	struct smmu_invs *invs, *next;
	int nr_alloc;

	test_alloc_reset();
	CHECK_EQ(smmu_invs_merge(NULL, big, 1, &test_a, &invs), 0);
	nr_alloc = ta.nr_alloc;

	/* U32_MAX - 1 + 2 overflows: refused without allocating */
	CHECK_EQ(smmu_invs_merge(invs, two, 1, &test_a, &next), -EOVERFLOW);
	CHECK_EQ(ta.nr_alloc, nr_alloc);
	CHECK_EQ(invs->inv[0].users, U32_MAX - 1);

	/* U32_MAX - 1 + 1 fits */
	CHECK_EQ(smmu_invs_merge(invs, one, 1, &test_a, &next), 0);
	CHECK_EQ(next->inv[0].users, U32_MAX);
	smmu_invs_free(invs, &test_a);
	smmu_invs_free(next, &test_a);
	CHECK_EQ(ta.nr_alloc, ta.nr_free);
}

static void test_invs_unref_bad(void)
{
	const struct smmu_inv base[] = { E(0, S2, 1, 1), E(1, S2, 2, 1) };
	const struct smmu_inv missing[] = { E(0, S2, 1, 1), E(0, S2, 7, 1) };
	const struct smmu_inv under[] = { E(1, S2, 2, 2) };
	const struct smmu_inv unsorted[] = { E(1, S2, 2, 1), E(0, S2, 1, 1) };
	const struct smmu_inv first[] = { E(0, S2, 1, 1) };
	const struct smmu_inv too_many[] = {
		E(0, S2, 1, 1), E(1, S2, 2, 1), E(2, S2, 3, 1),
	};
	struct smmu_invs *invs;
	unsigned char before[64];
	size_t size;

	test_alloc_reset();
	CHECK_EQ(smmu_invs_merge(NULL, base, 2, &test_a, &invs), 0);
	size = sizeof(*invs) + invs->nr * sizeof(invs->inv[0]);
	CHECK(size <= sizeof(before));
	memcpy(before, invs, size);

	/* Each failure leaves the array byte-for-byte unchanged */
	CHECK_EQ(smmu_invs_unref(invs, missing, 2), -ENOENT);
	CHECK_EQ(smmu_invs_unref(invs, under, 1), -ENOENT);
	CHECK_EQ(smmu_invs_unref(invs, unsorted, 2), -EINVAL);
	CHECK_EQ(smmu_invs_unref(invs, too_many, 3), -ENOENT);
	CHECK_EQ(smmu_invs_unref(NULL, first, 1), -ENOENT);
	CHECK(!memcmp(before, invs, size));

	/* Unref of a trash entry fails too */
	CHECK_EQ(smmu_invs_unref(invs, first, 1), 1);
	CHECK_EQ(smmu_invs_unref(invs, first, 1), -ENOENT);
	CHECK_EQ(invs->nr_trash, 1);
	CHECK_EQ(smmu_invs_unref(invs, NULL, 0), 0);

	smmu_invs_free(invs, &test_a);
	CHECK_EQ(ta.nr_alloc, ta.nr_free);
}

static void test_invs_alloc_failure(void)
{
	const struct smmu_inv base[] = {
		E(0, S2, 1, 1), E(1, S2, 2, 1), E(2, S2, 3, 1),
	};
	const struct smmu_inv mid[] = { E(1, S2, 2, 1) };
	const struct smmu_inv add[] = { E(3, S2, 4, 1) };
	const struct smmu_inv after_unref[] = {
		E(0, S2, 1, 1), E(1, S2, 2, 0), E(2, S2, 3, 1),
	};
	const struct smmu_inv purged[] = { E(0, S2, 1, 1), E(2, S2, 3, 1) };
	struct smmu_invs *invs, *next = NULL;
	u16 tags[4];

	test_alloc_reset();
	CHECK_EQ(smmu_invs_merge(NULL, base, 3, &test_a, &invs), 0);

	/* Step 1: attach cannot allocate: old array untouched */
	ta.fail = 1;
	CHECK_EQ(smmu_invs_merge(invs, add, 1, &test_a, &next), -ENOMEM);
	CHECK(!next);
	invs_verify(1, invs, base, 3, 0);

	/* Step 2: detach needs no allocation */
	CHECK_EQ(smmu_invs_unref(invs, mid, 1), 1);
	invs_verify(2, invs, after_unref, 3, 1);

	/* Step 3: purge cannot allocate: old array still valid and correct */
	CHECK_EQ(smmu_invs_purge(invs, &test_a, &next), -ENOMEM);
	CHECK(!next);
	invs_verify(3, invs, after_unref, 3, 1);
	CHECK_EQ(invs_walk(invs, tags, 4), 2);
	CHECK_EQ(tags[0], 1);
	CHECK_EQ(tags[1], 3);

	/* Step 4: retry once memory is back */
	ta.fail = 0;
	CHECK_EQ(smmu_invs_purge(invs, &test_a, &next), 0);
	invs_verify(4, next, purged, 2, 0);
	smmu_invs_free(invs, &test_a);
	smmu_invs_free(next, &test_a);
	CHECK_EQ(ta.nr_alloc, ta.nr_free);
}

static void test_invs_sort(void)
{
	struct smmu_inv inv[] = {
		E(3, S1, 1, 1), E(0, S1, 9, 1), E(0, S2, 9, 1), E(3, S2, 2, 1),
		E(0, S2, 4, 1), E(1, S2, 1, 1), E(3, S2, 1, 1),
	};
	const struct smmu_inv exp[] = {
		E(0, S2, 4, 1), E(0, S2, 9, 1), E(0, S1, 9, 1), E(1, S2, 1, 1),
		E(3, S2, 1, 1), E(3, S2, 2, 1), E(3, S1, 1, 1),
	};
	size_t i;

	smmu_inv_sort(inv, ARRAY_SIZE(inv));
	for (i = 0; i < ARRAY_SIZE(inv); i++)
		CHECK(!smmu_inv_cmp(&inv[i], &exp[i]));
	/* Stage 2 before stage 1 on one SMMU; SMMU index first */
	CHECK(smmu_inv_cmp(&exp[1], &exp[2]) < 0);
	CHECK(smmu_inv_cmp(&exp[2], &exp[3]) < 0);
}

/* Tag allocator */

static hyp_spinlock_t smmu_lock;
static unsigned long tag_map[(1 << 16) / (8 * sizeof(long))];

static void test_tags_exhaust(unsigned int bits)
{
	static unsigned char seen[1 << 16];
	struct smmu_tag_space space;
	u32 nr = 1U << bits, i;
	u16 tag;

	memset(seen, 0, sizeof(seen));
	CHECK_EQ(smmu_tag_space_map_size(bits),
		 (nr + 8 * sizeof(long) - 1) / (8 * sizeof(long)) * sizeof(long));
	CHECK_EQ(smmu_tag_space_init(&space, bits, tag_map,
				     smmu_tag_space_map_size(bits),
				     &smmu_lock), 0);

	hyp_spin_lock(&smmu_lock);
	CHECK_EQ(smmu_tag_nr_free_locked(&space), nr - 1);
	for (i = 1; i < nr; i++) {
		if (smmu_tag_alloc_locked(&space, &tag)) {
			CHECK(!"allocation failed early");
			break;
		}
		if (!tag || tag >= nr || seen[tag]) {
			printf("# bad or repeated tag %u\n", tag);
			tap_cur_failed = 1;
			break;
		}
		seen[tag] = 1;
	}
	CHECK_EQ(smmu_tag_alloc_locked(&space, &tag), -ENOSPC);
	CHECK_EQ(smmu_tag_nr_free_locked(&space), 0);
	CHECK(!seen[0]);

	/* A freed tag is the only one left to hand out */
	CHECK_EQ(smmu_tag_free_locked(&space, nr / 2), 0);
	CHECK_EQ(smmu_tag_alloc_locked(&space, &tag), 0);
	CHECK_EQ(tag, nr / 2);
	CHECK_EQ(smmu_tag_alloc_locked(&space, &tag), -ENOSPC);
	hyp_spin_unlock(&smmu_lock);
}

static void test_tags_vmid8(void)
{
	test_tags_exhaust(8);
}

static void test_tags_vmid16(void)
{
	test_tags_exhaust(16);
}

static void test_tags_small(void)
{
	struct smmu_tag_space space;
	unsigned long map[1];
	u16 tag;

	/* 1 bit: tag 1 is the only usable one */
	CHECK_EQ(smmu_tag_space_init(&space, 1, map, sizeof(map), &smmu_lock),
		 0);
	hyp_spin_lock(&smmu_lock);
	CHECK_EQ(smmu_tag_alloc_locked(&space, &tag), 0);
	CHECK_EQ(tag, 1);
	CHECK_EQ(smmu_tag_alloc_locked(&space, &tag), -ENOSPC);
	hyp_spin_unlock(&smmu_lock);

	/* 3 bits: padding bits of the word are never handed out */
	CHECK_EQ(smmu_tag_space_init(&space, 3, map, sizeof(map), &smmu_lock),
		 0);
	hyp_spin_lock(&smmu_lock);
	for (int i = 1; i < 8; i++) {
		CHECK_EQ(smmu_tag_alloc_locked(&space, &tag), 0);
		CHECK(tag >= 1 && tag < 8);
	}
	CHECK_EQ(smmu_tag_alloc_locked(&space, &tag), -ENOSPC);
	hyp_spin_unlock(&smmu_lock);
}

static void test_tags_init_bad(void)
{
	struct smmu_tag_space space;

	CHECK_EQ(smmu_tag_space_map_size(0), 0);
	CHECK_EQ(smmu_tag_space_map_size(17), 0);
	CHECK_EQ(smmu_tag_space_init(&space, 0, tag_map, sizeof(tag_map),
				     &smmu_lock), -EINVAL);
	CHECK_EQ(smmu_tag_space_init(&space, 17, tag_map, sizeof(tag_map),
				     &smmu_lock), -EINVAL);
	CHECK_EQ(smmu_tag_space_init(&space, 16, tag_map,
				     smmu_tag_space_map_size(16) - 1,
				     &smmu_lock), -EINVAL);
	CHECK_EQ(smmu_tag_space_init(&space, 8, NULL, sizeof(tag_map),
				     &smmu_lock), -EINVAL);
	CHECK_EQ(smmu_tag_space_init(&space, 8, tag_map, sizeof(tag_map),
				     NULL), -EINVAL);
}

static void test_tags_free_bad(void)
{
	struct smmu_tag_space space;
	u16 tag;

	CHECK_EQ(smmu_tag_space_init(&space, 8, tag_map, sizeof(tag_map),
				     &smmu_lock), 0);
	hyp_spin_lock(&smmu_lock);
	CHECK_EQ(smmu_tag_alloc_locked(&space, &tag), 0);
	CHECK_EQ(smmu_tag_free_locked(&space, 0), -EINVAL);
	CHECK_EQ(smmu_tag_free_locked(&space, 256), -EINVAL);
	CHECK_EQ(smmu_tag_free_locked(&space, U16_MAX), -EINVAL);
	CHECK_EQ(smmu_tag_free_locked(&space, tag + 1), -ENOENT);
	CHECK_EQ(smmu_tag_nr_free_locked(&space), 254);
	CHECK_EQ(smmu_tag_free_locked(&space, tag), 0);
	CHECK_EQ(smmu_tag_free_locked(&space, tag), -ENOENT);	/* double */
	CHECK_EQ(smmu_tag_nr_free_locked(&space), 255);
	hyp_spin_unlock(&smmu_lock);
}

static void test_tags_next_fit(void)
{
	struct smmu_tag_space space;
	u16 a, b, c;

	CHECK_EQ(smmu_tag_space_init(&space, 8, tag_map, sizeof(tag_map),
				     &smmu_lock), 0);
	hyp_spin_lock(&smmu_lock);
	CHECK_EQ(smmu_tag_alloc_locked(&space, &a), 0);
	CHECK_EQ(smmu_tag_alloc_locked(&space, &b), 0);
	CHECK_EQ(smmu_tag_free_locked(&space, a), 0);
	CHECK_EQ(smmu_tag_alloc_locked(&space, &c), 0);
	CHECK(c != a);		/* a freed tag is not reused straight away */
	hyp_spin_unlock(&smmu_lock);
}

static void test_tags_ref(void)
{
	struct smmu_tag_ref ref = {}, other = {};
	struct smmu_tag_space space;
	unsigned long map[1];
	u16 tag;

	CHECK_EQ(smmu_tag_space_init(&space, 2, map, sizeof(map), &smmu_lock),
		 0);
	hyp_spin_lock(&smmu_lock);

	/* Step 1: first user allocates: "invalidate before first use" */
	CHECK_EQ(smmu_tag_get_locked(&space, &ref), 1);
	CHECK(ref.tag);
	CHECK_EQ(ref.users, 1);
	tag = ref.tag;

	/* Step 2: second user shares the tag */
	CHECK_EQ(smmu_tag_get_locked(&space, &ref), 0);
	CHECK_EQ(ref.tag, tag);
	CHECK_EQ(ref.users, 2);

	/* Step 3: puts; only the last reports "invalidate then free" */
	CHECK_EQ(smmu_tag_put_locked(&space, &ref), 0);
	CHECK_EQ(smmu_tag_put_locked(&space, &ref), 1);
	CHECK_EQ(ref.tag, tag);			/* still allocated */
	CHECK_EQ(smmu_tag_nr_free_locked(&space), 2);

	/* Step 4: pending release: no get, no put, no double release */
	CHECK_EQ(smmu_tag_get_locked(&space, &ref), -EBUSY);
	CHECK_EQ(smmu_tag_put_locked(&space, &ref), -EINVAL);
	CHECK_EQ(smmu_tag_release_locked(&space, &ref), 0);
	CHECK_EQ(ref.tag, 0);
	CHECK_EQ(smmu_tag_nr_free_locked(&space), 3);
	CHECK_EQ(smmu_tag_release_locked(&space, &ref), -EINVAL);
	CHECK_EQ(smmu_tag_put_locked(&space, &ref), -EINVAL);

	/* Step 5: release with users left is refused */
	CHECK_EQ(smmu_tag_get_locked(&space, &ref), 1);
	CHECK_EQ(smmu_tag_release_locked(&space, &ref), -EINVAL);

	/* Step 6: exhaustion leaves the reference unused */
	CHECK_EQ(smmu_tag_get_locked(&space, &other), 1);
	memset(&other, 0, sizeof(other));
	CHECK_EQ(smmu_tag_get_locked(&space, &other), 1);
	memset(&other, 0, sizeof(other));
	CHECK_EQ(smmu_tag_get_locked(&space, &other), -ENOSPC);
	CHECK_EQ(other.tag, 0);
	CHECK_EQ(other.users, 0);

	/* Step 7: user count saturation */
	ref.users = U32_MAX;
	CHECK_EQ(smmu_tag_get_locked(&space, &ref), -EOVERFLOW);
	CHECK_EQ(ref.users, U32_MAX);

	hyp_spin_unlock(&smmu_lock);
}

/* Run @fn in a child; true if it died with SIGABRT. */
static int dies_with_abort(void (*fn)(void))
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (!pid) {
		/* Keep the child's abort report off the TAP stream. */
		if (!freopen("/dev/null", "w", stderr))
			_exit(2);
		fn();
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 0;
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void tags_alloc_unlocked(void)
{
	struct smmu_tag_space space;
	u16 tag;

	smmu_tag_space_init(&space, 8, tag_map, sizeof(tag_map), &smmu_lock);
	smmu_tag_alloc_locked(&space, &tag);
}

static void test_tags_lock_asserted(void)
{
	CHECK(dies_with_abort(tags_alloc_unlocked));
}

/* Grace periods */

#define GP_CPUS	4

static hyp_spinlock_t gp_lock;
static struct hyp_gp_cpu gp_cpus[GP_CPUS];
static struct hyp_gp gp;

struct gp_obj {
	struct hyp_gp_node	node;
	int			freed;
};

static void gp_obj_free(struct hyp_gp_node *node, void *arg)
{
	struct gp_obj *obj = container_of(node, struct gp_obj, node);
	int *nr_freed = arg;

	obj->freed++;
	(*nr_freed)++;
}

static int gp_reclaim(void)
{
	int nr_freed = 0;
	unsigned long ret;

	hyp_spin_lock(&gp_lock);
	ret = hyp_gp_reclaim_locked(&gp, &nr_freed);
	hyp_spin_unlock(&gp_lock);
	CHECK_EQ(ret, nr_freed);
	return nr_freed;
}

static void gp_retire(struct gp_obj *obj)
{
	hyp_spin_lock(&gp_lock);
	hyp_gp_retire_locked(&gp, &obj->node, gp_obj_free);
	hyp_spin_unlock(&gp_lock);
}

static unsigned long gp_pending(void)
{
	unsigned long n;

	hyp_spin_lock(&gp_lock);
	n = hyp_gp_pending_locked(&gp);
	hyp_spin_unlock(&gp_lock);
	return n;
}

static void gp_setup(void)
{
	CHECK_EQ(hyp_gp_init(&gp, gp_cpus, GP_CPUS, &gp_lock), 0);
}

static void test_gp_reader_blocks(void)
{
	struct gp_obj obj = {};

	gp_setup();
	/* CPU 0 enters before the retirement and may hold the object */
	hyp_gp_enter(&gp, 0);
	hyp_gp_enter(&gp, 1);
	gp_retire(&obj);
	hyp_gp_quiescent(&gp, 1);

	CHECK_EQ(gp_reclaim(), 0);
	CHECK_EQ(obj.freed, 0);
	CHECK_EQ(gp_pending(), 1);

	/* Other CPUs coming and going do not help */
	hyp_gp_enter(&gp, 2);
	hyp_gp_quiescent(&gp, 2);
	CHECK_EQ(gp_reclaim(), 0);

	/* CPU 0 leaves: freed exactly once */
	hyp_gp_quiescent(&gp, 0);
	CHECK_EQ(gp_reclaim(), 1);
	CHECK_EQ(obj.freed, 1);
	CHECK_EQ(gp_reclaim(), 0);
	CHECK_EQ(gp_pending(), 0);
}

static void test_gp_retirer_inside(void)
{
	struct gp_obj obj = {};

	gp_setup();
	/* CPU 3 retires and reclaims from inside EL2 */
	hyp_gp_enter(&gp, 3);
	gp_retire(&obj);
	CHECK_EQ(gp_reclaim(), 0);
	hyp_gp_quiescent(&gp, 3);

	/* At its next hypercall the object goes */
	hyp_gp_enter(&gp, 3);
	CHECK_EQ(gp_reclaim(), 1);
	hyp_gp_quiescent(&gp, 3);
	CHECK_EQ(obj.freed, 1);
}

static void test_gp_idle_cpus(void)
{
	struct gp_obj obj = {};

	gp_setup();
	/* CPUs 0-2 never enter; CPU 3 entered and left long ago */
	hyp_gp_enter(&gp, 3);
	hyp_gp_quiescent(&gp, 3);
	gp_retire(&obj);
	CHECK_EQ(gp_reclaim(), 1);
	CHECK_EQ(obj.freed, 1);
}

static void test_gp_later_entry(void)
{
	struct gp_obj a = {}, b = {}, c = {};

	gp_setup();
	gp_retire(&a);
	/* CPU 0 enters after a's retirement: it cannot hold a */
	hyp_gp_enter(&gp, 0);
	gp_retire(&b);
	hyp_gp_enter(&gp, 1);
	gp_retire(&c);

	CHECK_EQ(gp_reclaim(), 1);
	CHECK(a.freed && !b.freed && !c.freed);

	/* CPU 1 entered after b: only CPU 0 held b back */
	hyp_gp_quiescent(&gp, 0);
	CHECK_EQ(gp_reclaim(), 1);
	CHECK(b.freed && !c.freed);

	hyp_gp_quiescent(&gp, 1);
	CHECK_EQ(gp_reclaim(), 1);
	CHECK(c.freed);
	CHECK_EQ(a.freed + b.freed + c.freed, 3);
}

static void test_gp_reenter(void)
{
	struct gp_obj obj = {};

	gp_setup();
	/* A CPU that left and came back after the retirement does not block */
	hyp_gp_enter(&gp, 0);
	gp_retire(&obj);
	hyp_gp_quiescent(&gp, 0);
	hyp_gp_enter(&gp, 0);
	CHECK_EQ(gp_reclaim(), 1);
	hyp_gp_quiescent(&gp, 0);
}

static void test_gp_init_bad(void)
{
	struct hyp_gp g;

	CHECK_EQ(hyp_gp_init(&g, NULL, 1, &gp_lock), -EINVAL);
	CHECK_EQ(hyp_gp_init(&g, gp_cpus, 0, &gp_lock), -EINVAL);
	CHECK_EQ(hyp_gp_init(&g, gp_cpus, 1, NULL), -EINVAL);
	CHECK_EQ(hyp_gp_init(NULL, gp_cpus, 1, &gp_lock), -EINVAL);
}

static void gp_reclaim_unlocked(void)
{
	gp_setup();
	hyp_gp_reclaim_locked(&gp, NULL);
}

static void test_gp_lock_asserted(void)
{
	CHECK(dies_with_abort(gp_reclaim_unlocked));
}

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	{ "invs_table_merge_unref_purge", test_invs_table },
	{ "invs_iter_skips_trash_and_advances", test_invs_iter },
	{ "invs_merge_rejects_bad_args", test_invs_bad_args },
	{ "invs_users_overflow", test_invs_users_overflow },
	{ "invs_unref_rejects_and_leaves_array", test_invs_unref_bad },
	{ "invs_alloc_failure_keeps_old_array", test_invs_alloc_failure },
	{ "invs_sort_order_s2_before_s1", test_invs_sort },
	{ "tags_vmid8_exhaustion", test_tags_vmid8 },
	{ "tags_vmid16_exhaustion", test_tags_vmid16 },
	{ "tags_small_spaces", test_tags_small },
	{ "tags_init_rejects_bad_args", test_tags_init_bad },
	{ "tags_free_bad_tags", test_tags_free_bad },
	{ "tags_next_fit", test_tags_next_fit },
	{ "tags_ref_get_put_first_last", test_tags_ref },
	{ "tags_lock_asserted", test_tags_lock_asserted },
	{ "gp_reader_inside_blocks_until_exit", test_gp_reader_blocks },
	{ "gp_retirer_inside_hyp", test_gp_retirer_inside },
	{ "gp_idle_cpus_do_not_block", test_gp_idle_cpus },
	{ "gp_later_entries_do_not_block", test_gp_later_entry },
	{ "gp_reentry_after_retire", test_gp_reenter },
	{ "gp_init_rejects_bad_args", test_gp_init_bad },
	{ "gp_lock_asserted", test_gp_lock_asserted },
};

int main(void)
{
	size_t i;

	hyp_spin_lock_init(&smmu_lock);
	hyp_spin_lock_init(&gp_lock);

	tap_plan(ARRAY_SIZE(tests));
	for (i = 0; i < ARRAY_SIZE(tests); i++)
		tap_run(tests[i].name, tests[i].fn);
	return tap_exit();
}
