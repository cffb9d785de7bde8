// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-domain invalidation arrays. See nvhe/smmu_invs.h for the protocol and
 * docs/invalidation-array.md for the design notes.
 *
 * Pure data-structure code: no hardware access, no locking of its own, no
 * global state. It is built unmodified at EL2 and in
 * tools/testing/pkvm-smmu/. Every function checks all of its inputs before
 * allocating or writing anything, so an error leaves every array as it was.
 * An empty array is represented by NULL.
 */

#include <linux/errno.h>
#include <linux/limits.h>
#include <linux/overflow.h>
#include <linux/types.h>

#include <nvhe/smmu_invs.h>

static int smmu_cmp_u32(u32 l, u32 r)
{
	return (l > r) - (l < r);
}

/**
 * smmu_inv_cmp() - Order two entries by (SMMU index, type, tag)
 * @l: left entry
 * @r: right entry
 *
 * Users counts are not compared.
 *
 * Return: negative, 0 or positive as @l sorts before, with or after @r.
 */
int smmu_inv_cmp(const struct smmu_inv *l, const struct smmu_inv *r)
{
	if (l->smmu != r->smmu)
		return smmu_cmp_u32(l->smmu, r->smmu);
	if (l->type != r->type)
		return smmu_cmp_u32(l->type, r->type);
	return smmu_cmp_u32(l->tag, r->tag);
}

/**
 * smmu_inv_sort() - Sort an argument list for merge or unref
 * @inv: entries
 * @nr:  number of entries
 *
 * Insertion sort: lists are a few entries long, and lib/sort.c is not linked
 * at EL2. Duplicates are kept; merge and unref reject them.
 */
void smmu_inv_sort(struct smmu_inv *inv, size_t nr)
{
	size_t i, j;

	for (i = 1; i < nr; i++) {
		struct smmu_inv cur = inv[i];

		for (j = i; j > 0 && smmu_inv_cmp(&inv[j - 1], &cur) > 0; j--)
			inv[j] = inv[j - 1];
		inv[j] = cur;
	}
}

/* Argument lists: valid entries with users > 0, strictly increasing. */
static int smmu_invs_check_args(const struct smmu_inv *inv, size_t nr)
{
	size_t i;

	if (nr && !inv)
		return -EINVAL;

	for (i = 0; i < nr; i++) {
		if (inv[i].type >= SMMU_INV_NR_TYPES || !inv[i].tag ||
		    !inv[i].users)
			return -EINVAL;
		if (i && smmu_inv_cmp(&inv[i - 1], &inv[i]) >= 0)
			return -EINVAL;
	}

	return 0;
}

static struct smmu_invs *smmu_invs_alloc_nr(const struct smmu_invs_alloc *a,
					    size_t nr)
{
	struct smmu_invs *invs;
	size_t size;

	size = struct_size(invs, inv, nr);
	if (nr > U32_MAX || size == SIZE_MAX)
		return NULL;

	invs = a->alloc(a->arg, size);
	if (!invs)
		return NULL;

	invs->gp_node.next = NULL;
	invs->gp_node.epoch = 0;
	invs->gp_node.free = NULL;
	invs->nr_trash = 0;
	invs->nr = nr;
	return invs;
}

/*
 * Walk the live entries of @invs and the entries of @add in order. Without
 * @out, count the result and check the users sums; with @out, write it. The
 * second walk sees what the first saw: the domain lock keeps @invs still.
 */
static int smmu_invs_merge_walk(const struct smmu_invs *invs,
				const struct smmu_inv *add, size_t nr_add,
				struct smmu_inv *out, size_t *nr_out)
{
	const struct smmu_inv *cur;
	size_t j = 0, nr = 0;
	u32 i = 0;

	cur = __smmu_invs_next(invs, &i);
	while (cur || j < nr_add) {
		struct smmu_inv next;
		int cmp;

		if (!cur)
			cmp = 1;
		else if (j >= nr_add)
			cmp = -1;
		else
			cmp = smmu_inv_cmp(cur, &add[j]);

		if (cmp < 0) {
			next = *cur;
		} else {
			/* Rebuild rather than copy: padding is zero */
			next = (struct smmu_inv) {
				.smmu	= add[j].smmu,
				.tag	= add[j].tag,
				.type	= add[j].type,
				.users	= add[j].users,
			};
			if (!cmp && check_add_overflow(cur->users, add[j].users,
						       &next.users))
				return -EOVERFLOW;
		}

		if (out)
			out[nr] = next;
		nr++;

		if (cmp <= 0) {
			i++;
			cur = __smmu_invs_next(invs, &i);
		}
		if (cmp >= 0)
			j++;
	}

	*nr_out = nr;
	return 0;
}

/**
 * smmu_invs_merge() - Build a new array with users added (attach)
 * @invs:     the domain's current array, or NULL; not modified
 * @add:      entries to add, strictly sorted by smmu_inv_cmp(), tag != 0,
 *            users = the number of users to add (> 0)
 * @nr_add:   number of entries in @add
 * @a:        allocator for the new array
 * @new_invs: the new array on success (NULL if it would be empty)
 *
 * An entry of @add that matches a live entry of @invs adds its users to it;
 * any other entry is inserted in order. Trash entries of @invs are dropped.
 * The caller holds the domain lock, publishes the result with
 * smmu_invs_publish() and retires @invs.
 *
 * Return: 0, -EINVAL for a malformed @add, -EOVERFLOW if a users count or the
 * array size would overflow, -ENOMEM if @a fails. On error nothing was
 * allocated and @invs is unchanged.
 */
int smmu_invs_merge(const struct smmu_invs *invs, const struct smmu_inv *add,
		    size_t nr_add, const struct smmu_invs_alloc *a,
		    struct smmu_invs **new_invs)
{
	struct smmu_invs *new;
	size_t nr, nr_filled;
	int ret;

	if (!a || !new_invs)
		return -EINVAL;
	if (nr_add > U32_MAX)
		return -EOVERFLOW;

	ret = smmu_invs_check_args(add, nr_add);
	if (ret)
		return ret;

	ret = smmu_invs_merge_walk(invs, add, nr_add, NULL, &nr);
	if (ret)
		return ret;

	if (!nr) {
		*new_invs = NULL;
		return 0;
	}

	if (nr > U32_MAX || struct_size(new, inv, nr) == SIZE_MAX)
		return -EOVERFLOW;

	new = smmu_invs_alloc_nr(a, nr);
	if (!new)
		return -ENOMEM;

	/* Same inputs as the counting walk, so it cannot fail or differ. */
	smmu_invs_merge_walk(invs, add, nr_add, new->inv, &nr_filled);

	*new_invs = new;
	return 0;
}

/* Index of the entry equal to @key at or after @from, or @invs->nr. */
static u32 smmu_invs_find(const struct smmu_invs *invs, u32 from,
			  const struct smmu_inv *key)
{
	u32 i;

	for (i = from; i < invs->nr; i++) {
		int cmp = smmu_inv_cmp(&invs->inv[i], key);

		if (!cmp)
			return i;
		if (cmp > 0)
			break;
	}

	return invs->nr;
}

/**
 * smmu_invs_unref() - Drop users in place (detach); never allocates
 * @invs:   the domain's published array
 * @del:    entries to drop users from, strictly sorted by smmu_inv_cmp(),
 *          users = the number of users to drop (> 0)
 * @nr_del: number of entries in @del
 *
 * Lowers users counts with WRITE_ONCE(); concurrent readers see the old or
 * the new count. Entries that reach 0 become trash: readers skip them, and
 * smmu_invs_merge() or smmu_invs_purge() drop them from the next array. The
 * caller holds the domain lock and has already cleared and synced the STEs
 * that used the dropped users.
 *
 * Never fails when the caller's accounting is right: every entry of @del is
 * live in @invs with at least that many users.
 *
 * Return: the number of entries that became trash, or -EINVAL for a
 * malformed @del, or -ENOENT if an entry of @del is missing from @invs,
 * is trash, or has fewer users. On error @invs is unchanged.
 */
int smmu_invs_unref(struct smmu_invs *invs, const struct smmu_inv *del,
		    size_t nr_del)
{
	size_t j;
	int dead = 0;
	u32 i;
	int ret;

	ret = smmu_invs_check_args(del, nr_del);
	if (ret)
		return ret;
	if (!nr_del)
		return 0;
	if (!invs || nr_del > invs->nr)
		return -ENOENT;

	/* Check everything first... */
	for (i = 0, j = 0; j < nr_del; j++) {
		i = smmu_invs_find(invs, i, &del[j]);
		if (i >= invs->nr || invs->inv[i].users < del[j].users)
			return -ENOENT;
	}

	/* ...then commit; @del is strictly sorted, so @i only moves forward. */
	for (i = 0, j = 0; j < nr_del; j++) {
		u32 users;

		i = smmu_invs_find(invs, i, &del[j]);
		users = invs->inv[i].users - del[j].users;
		WRITE_ONCE(invs->inv[i].users, users);
		if (!users)
			dead++;
	}

	invs->nr_trash += dead;
	return dead;
}

/**
 * smmu_invs_purge() - Build a copy of an array without its trash entries
 * @invs:     the domain's current array, or NULL; not modified
 * @a:        allocator for the new array
 * @new_invs: the new array on success (NULL if no live entry is left)
 *
 * The caller holds the domain lock, publishes the result and retires @invs.
 * Purging is an optimisation: if it fails, @invs stays valid and correct
 * (readers skip its trash) and the purge can be retried later. Use
 * smmu_invs_needs_purge() to skip useless copies.
 *
 * Return: 0, -EINVAL if @a or @new_invs is missing, -ENOMEM if @a fails.
 */
int smmu_invs_purge(const struct smmu_invs *invs,
		    const struct smmu_invs_alloc *a,
		    struct smmu_invs **new_invs)
{
	const struct smmu_inv *cur;
	struct smmu_invs *new;
	size_t nr = 0;
	u32 i;

	if (!a || !new_invs)
		return -EINVAL;

	smmu_invs_for_each(invs, i, cur)
		nr++;

	if (!nr) {
		*new_invs = NULL;
		return 0;
	}

	new = smmu_invs_alloc_nr(a, nr);
	if (!new)
		return -ENOMEM;

	nr = 0;
	smmu_invs_for_each(invs, i, cur)
		new->inv[nr++] = *cur;

	*new_invs = new;
	return 0;
}

/**
 * smmu_invs_free() - Free an array that no reader can see
 * @invs: an array that was never published, or whose grace period is over;
 *        NULL is allowed
 * @a:    the allocator it came from
 */
void smmu_invs_free(struct smmu_invs *invs, const struct smmu_invs_alloc *a)
{
	if (invs)
		a->free(a->arg, invs);
}
