/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for the host-kernel types drivers/iommu/arm/arm-smmu-v3/
 * arm-smmu-v3.h names. The EL2 driver uses only that header's register,
 * command and table definitions; the host driver's structures below exist
 * so that the header compiles, and the functions are declared, never
 * defined: EL2 code calling one would not link.
 */
#ifndef __PKVM_EL2_SHIM_LINUX_IOMMU_H__
#define __PKVM_EL2_SHIM_LINUX_IOMMU_H__

#include <linux/types.h>
#include <linux/list.h>
#include <linux/rbtree.h>

#define SMP_CACHE_BYTES			64
#define IOMMU_NO_PASID			0
#define IOMMU_FWSPEC_PCI_RC_CANWBS	(1 << 1)

typedef u64 dma_addr_t;
typedef u32 ioasid_t;
typedef s64 ktime_t;
typedef struct { int unused; } spinlock_t;
typedef struct { int unused; } rwlock_t;

struct device;
struct mutex { int unused; };
struct ida { int unused; };
struct xarray { int unused; };
struct rcu_head { void *next; };
struct mmu_notifier { int unused; };
struct iommu_device { int unused; };
struct iommu_domain { int unused; };
struct iommu_fwspec { u32 flags; };
struct iommufd_viommu { int unused; };
struct iommu_user_data;
struct iommu_user_data_array;
enum iommu_hw_info_type { IOMMU_HW_INFO_TYPE_NONE };
enum iommu_viommu_type { IOMMU_VIOMMU_TYPE_DEFAULT };

void *kzalloc(size_t size, unsigned int flags);
void kfree(const void *ptr);
void rwlock_init(rwlock_t *lock);
struct iommu_fwspec *dev_iommu_fwspec_get(struct device *dev);
#define GFP_KERNEL			0
#define rcu_dereference_protected(p, c)	(p)

#endif /* __PKVM_EL2_SHIM_LINUX_IOMMU_H__ */
