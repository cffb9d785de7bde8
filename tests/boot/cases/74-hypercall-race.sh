#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# smmu: pkvm
# The IOMMU hypercalls from every CPU at once (hvc_race: attach/detach, map/unmap,
# alloc/map/free, topup/reclaim, threads pinned one per CPU), each giving the result
# it gives alone; afterwards every page is the host's alone again. Then the
# hypervisor still works for real DMA: the edu devices move data through iommufd
# and a hypervisor paging domain, and fault after unmap.
. /tests/lib-edu.sh

hvc_race 400 || { echo "hvc_race failed"; exit 1; }
all=$(edu_all 4) || exit 1
edu_run --api iommufd --devices "$all" || exit
