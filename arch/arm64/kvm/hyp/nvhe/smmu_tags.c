// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-SMMU ASID/VMID allocator and per-(domain, SMMU) tag refcount.
 *
 * Pure data-structure code: no hardware access, no locking of its own, no
 * global state. It is built unmodified at EL2 and in
 * tools/testing/pkvm-smmu/. The lib/find_bit.c helpers are not linked at EL2,
 * so the bitmap scan is open-coded on whole words.
 */

#include <linux/bitops.h>
#include <linux/errno.h>
#include <linux/limits.h>
#include <linux/minmax.h>
#include <linux/types.h>

#include <nvhe/smmu_tags.h>

static bool smmu_tag_bits_valid(unsigned int bits)
{
	return bits >= SMMU_TAG_MIN_BITS && bits <= SMMU_TAG_MAX_BITS;
}

static unsigned long smmu_tag_mask(u32 bit)
{
	return 1UL << (bit % BITS_PER_LONG);
}

static bool smmu_tag_test(const struct smmu_tag_space *space, u32 bit)
{
	return space->map[bit / BITS_PER_LONG] & smmu_tag_mask(bit);
}

static void smmu_tag_set(struct smmu_tag_space *space, u32 bit)
{
	space->map[bit / BITS_PER_LONG] |= smmu_tag_mask(bit);
}

static void smmu_tag_clear(struct smmu_tag_space *space, u32 bit)
{
	space->map[bit / BITS_PER_LONG] &= ~smmu_tag_mask(bit);
}

/* First clear bit at or after @start, or @space->nr if there is none. */
static u32 smmu_tag_find_free(const struct smmu_tag_space *space, u32 start)
{
	u32 nr_words = BITS_TO_LONGS(space->nr);
	u32 word_idx = start / BITS_PER_LONG;
	unsigned long word;

	if (start >= space->nr)
		return space->nr;

	word = ~space->map[word_idx] & (~0UL << (start % BITS_PER_LONG));
	while (!word) {
		if (++word_idx >= nr_words)
			return space->nr;
		word = ~space->map[word_idx];
	}

	/* Padding bits past @nr are kept set by init; clamp anyway. */
	return min_t(u32, word_idx * BITS_PER_LONG + __ffs(word), space->nr);
}

/**
 * smmu_tag_space_map_size() - Bytes of bitmap a tag space needs
 * @bits: tag width from the SMMU's ID registers (8 or 16 on real hardware)
 *
 * Return: the size to pass to smmu_tag_space_init(), or 0 if @bits is not
 * within [SMMU_TAG_MIN_BITS, SMMU_TAG_MAX_BITS].
 */
size_t smmu_tag_space_map_size(unsigned int bits)
{
	if (!smmu_tag_bits_valid(bits))
		return 0;

	return BITS_TO_LONGS(1UL << bits) * sizeof(unsigned long);
}

/**
 * smmu_tag_space_init() - Initialise an SMMU's VMID or ASID space
 * @space:    the space
 * @bits:     tag width from the SMMU's ID registers
 * @map:      bitmap memory, at least smmu_tag_space_map_size(@bits) bytes
 * @map_size: size of @map in bytes
 * @lock:     the owning SMMU's lock
 *
 * Tag 0 is reserved and never handed out.
 *
 * Return: 0, or -EINVAL if @bits is out of range or @map is too small.
 */
int smmu_tag_space_init(struct smmu_tag_space *space, unsigned int bits,
			unsigned long *map, size_t map_size,
			hyp_spinlock_t *lock)
{
	size_t need = smmu_tag_space_map_size(bits);
	u32 nr, bit, i;

	if (!space || !map || !lock || !need || map_size < need)
		return -EINVAL;

	nr = 1U << bits;
	for (i = 0; i < need / sizeof(unsigned long); i++)
		map[i] = 0;

	space->map = map;
	space->nr = nr;
	space->lock = lock;

	/* Reserve tag 0, and the padding bits of the last word. */
	smmu_tag_set(space, 0);
	for (bit = nr; bit % BITS_PER_LONG; bit++)
		smmu_tag_set(space, bit);

	space->next = 1;
	space->nr_free = nr - 1;
	return 0;
}

/**
 * smmu_tag_alloc_locked() - Allocate a tag from an SMMU's space
 * @space: the space; the caller holds @space->lock
 * @tag:   the tag, never 0, on success
 *
 * Allocation is next-fit, so a freed tag is reused as late as possible.
 *
 * Return: 0, or -ENOSPC if every tag is in use.
 */
int smmu_tag_alloc_locked(struct smmu_tag_space *space, u16 *tag)
{
	u32 bit;

	hyp_assert_lock_held(space->lock);

	if (!space->nr_free)
		return -ENOSPC;

	bit = smmu_tag_find_free(space, space->next);
	if (bit >= space->nr)
		bit = smmu_tag_find_free(space, 1);
	if (bit >= space->nr || !bit)
		return -ENOSPC;	/* @nr_free disagrees with @map */

	smmu_tag_set(space, bit);
	space->nr_free--;
	space->next = bit + 1 < space->nr ? bit + 1 : 1;
	*tag = bit;
	return 0;
}

/**
 * smmu_tag_free_locked() - Return a tag to an SMMU's space
 * @space: the space; the caller holds @space->lock
 * @tag:   a tag from smmu_tag_alloc_locked(), already invalidated
 *
 * Return: 0, -EINVAL for tag 0 or a tag outside the space, -ENOENT for a tag
 * that is not allocated. The space is unchanged on error.
 */
int smmu_tag_free_locked(struct smmu_tag_space *space, u16 tag)
{
	hyp_assert_lock_held(space->lock);

	if (!tag || tag >= space->nr)
		return -EINVAL;
	if (!smmu_tag_test(space, tag))
		return -ENOENT;

	smmu_tag_clear(space, tag);
	space->nr_free++;
	return 0;
}

/**
 * smmu_tag_nr_free_locked() - Count the tags that can still be allocated
 * @space: the space; the caller holds @space->lock
 *
 * Return: the number of free tags.
 */
u32 smmu_tag_nr_free_locked(struct smmu_tag_space *space)
{
	hyp_assert_lock_held(space->lock);

	return space->nr_free;
}

/**
 * smmu_tag_get_locked() - Take a user of a domain's tag on one SMMU
 * @space: the SMMU's space; the caller holds @space->lock
 * @ref:   the domain's reference for this SMMU
 *
 * The first user allocates the tag. The caller must then invalidate the whole
 * tag on the SMMU (and CMD_SYNC) before any STE or CD uses it, because the
 * previous owner of the number may have left TLB entries behind.
 *
 * Return: 1 if a new tag was allocated and must be invalidated before first
 * use, 0 if the existing tag gained a user, -ENOSPC if the space is full,
 * -EOVERFLOW if the user count is saturated, -EBUSY if the last user is gone
 * and smmu_tag_release_locked() has not been called yet. @ref is unchanged
 * on error.
 */
int smmu_tag_get_locked(struct smmu_tag_space *space, struct smmu_tag_ref *ref)
{
	u16 tag;
	int ret;

	hyp_assert_lock_held(space->lock);

	if (ref->users) {
		if (ref->users == U32_MAX)
			return -EOVERFLOW;
		ref->users++;
		return 0;
	}

	if (ref->tag)
		return -EBUSY;

	ret = smmu_tag_alloc_locked(space, &tag);
	if (ret)
		return ret;

	ref->tag = tag;
	ref->users = 1;
	return 1;
}

/**
 * smmu_tag_put_locked() - Drop a user of a domain's tag on one SMMU
 * @space: the SMMU's space; the caller holds @space->lock
 * @ref:   the domain's reference for this SMMU
 *
 * When the last user goes, the tag stays allocated: the caller removes it from
 * the domain's invalidation array, invalidates the whole tag on the SMMU, and
 * then calls smmu_tag_release_locked(). Never fails for a reference with
 * users, so detach can use it.
 *
 * Return: 1 if that was the last user, 0 if users remain, -EINVAL if @ref has
 * no users (the caller's accounting is broken; @ref is unchanged).
 */
int smmu_tag_put_locked(struct smmu_tag_space *space, struct smmu_tag_ref *ref)
{
	hyp_assert_lock_held(space->lock);

	if (!ref->users || !ref->tag)
		return -EINVAL;

	return --ref->users ? 0 : 1;
}

/**
 * smmu_tag_release_locked() - Free a domain's tag after its last user
 * @space: the SMMU's space; the caller holds @space->lock
 * @ref:   a reference whose last user was dropped and whose tag has been
 *         invalidated on the SMMU
 *
 * Return: 0 with @ref back to unused, -EINVAL if @ref still has users or no
 * tag, or the error of smmu_tag_free_locked().
 */
int smmu_tag_release_locked(struct smmu_tag_space *space,
			    struct smmu_tag_ref *ref)
{
	int ret;

	hyp_assert_lock_held(space->lock);

	if (ref->users || !ref->tag)
		return -EINVAL;

	ret = smmu_tag_free_locked(space, ref->tag);
	if (ret)
		return ret;

	ref->tag = 0;
	return 0;
}
