/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Per-SMMU ASID/VMID ("tag") spaces, and the per-(domain, SMMU) tag refcount.
 *
 * Each SMMU instance has one VMID space and one ASID space, sized from its ID
 * registers (8 or 16 bits), backed by a bitmap in memory the caller provides
 * (smmu_tag_space_map_size() bytes). Tag 0 is reserved in both spaces and is
 * never handed out: it is what a zeroed STE or CD carries, and it means "no
 * tag" in struct smmu_tag_ref. Tags are always chosen here, never taken from
 * a number the host supplies.
 *
 * Lock: @smmu_tag_space.lock, the owning SMMU's lock, protects the space and
 * every struct smmu_tag_ref drawn from it. The _locked helpers assert it. Lock
 * order: domain lock, then SMMU lock, then the grace-period lock.
 */

#ifndef __ARM64_KVM_NVHE_SMMU_TAGS_H__
#define __ARM64_KVM_NVHE_SMMU_TAGS_H__

#include <linux/types.h>
#include <asm/virt.h>		/* for nvhe/spinlock.h's hyp_assert_lock_held() */

#include <nvhe/spinlock.h>

#define SMMU_TAG_MIN_BITS	1
#define SMMU_TAG_MAX_BITS	16

/**
 * struct smmu_tag_space - One SMMU's VMID or ASID space
 * @map:     bit n set when tag n is allocated; bit 0 always set (reserved).
 *           Caller memory.
 * @nr:      number of tags including the reserved 0 (1 << bits)
 * @next:    where the next search starts, so freed tags are reused late
 * @nr_free: tags that can still be allocated
 * @lock:    the owning SMMU's lock; used here only for assertions
 */
struct smmu_tag_space {
	unsigned long		*map;
	u32			nr;
	u32			next;
	u32			nr_free;
	hyp_spinlock_t		*lock;
};

/**
 * struct smmu_tag_ref - A domain's tag on one SMMU, counted by its users
 * @tag:   the tag, 0 when none is held
 * @users: streams on this SMMU using the domain
 *
 * States: {0, 0} unused; {t, n > 0} live; {t, 0} last user gone, tag to be
 * invalidated, then released with smmu_tag_release_locked().
 * Zero-initialise before first use. Lock: the SMMU's, see above.
 */
struct smmu_tag_ref {
	u16	tag;
	u32	users;
};

size_t smmu_tag_space_map_size(unsigned int bits);
int smmu_tag_space_init(struct smmu_tag_space *space, unsigned int bits,
			unsigned long *map, size_t map_size,
			hyp_spinlock_t *lock);
int smmu_tag_alloc_locked(struct smmu_tag_space *space, u16 *tag);
int smmu_tag_free_locked(struct smmu_tag_space *space, u16 tag);
u32 smmu_tag_nr_free_locked(struct smmu_tag_space *space);

int smmu_tag_get_locked(struct smmu_tag_space *space, struct smmu_tag_ref *ref);
int smmu_tag_put_locked(struct smmu_tag_space *space, struct smmu_tag_ref *ref);
int smmu_tag_release_locked(struct smmu_tag_space *space,
			    struct smmu_tag_ref *ref);

#endif /* __ARM64_KVM_NVHE_SMMU_TAGS_H__ */
