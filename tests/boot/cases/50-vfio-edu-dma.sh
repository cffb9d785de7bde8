#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# DMA through VFIO's group API (type1 container) with the edu devices: each device
# alone, then all four in one container (one IOMMU domain may span their three
# SMMUs). edu_dma checks that data moves RAM -> device -> RAM through the IOMMU and
# that after unmap a DMA write or read through any of the devices reaches nothing
# (a missed IOTLB invalidation shows as data arriving). Two deliberately broken runs
# (a buffer left unmapped, the unmaps skipped) must fail, which shows that the checks
# can fail. Runs with both SMMU drivers: with the hypervisor owning the SMMUs, the
# container's domains are hypervisor domains and every map/unmap a hypercall.

. /tests/lib-edu.sh

all=$(edu_all 4) || exit 1
edus=$(echo "$all" | tr , ' ')


for bdf in $edus; do
	edu_run --api group --devices "$bdf" || exit
done
edu_run --api group --devices "$all" || exit

# No source mapping: the first DMA of each device faults, so no data can arrive.
edu_run_broken 4 'RAM -> device -> RAM' --api group --sabotage no-map || exit 1
# No unmap: every device writes and reads the "unmapped" buffers.
edu_run_broken 8 'unmapped iova' --api group --sabotage no-unmap || exit 1
