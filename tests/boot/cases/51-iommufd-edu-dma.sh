#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# DMA through iommufd and the VFIO device cdev with the edu devices: all four bound
# to one iommufd and attached to one IOAS (the kernel picks the hwpts: one domain may
# span their three SMMUs), at a low IOVA and at one above 4 GiB. The same checks as
# vfio-edu-dma: data moves RAM -> device -> RAM through the IOMMU, and after
# IOMMU_IOAS_UNMAP a DMA through any of the devices reaches nothing. A run that skips
# the unmaps must fail. Runs with both SMMU drivers: with the hypervisor owning the
# SMMUs, the IOAS's domain is a hypervisor domain and every map/unmap a hypercall.

. /tests/lib-edu.sh

all=$(edu_all 4) || exit 1

edu_run --api iommufd --devices "$all" || exit
# High IOVAs, above 4 GiB: near the top of the smallest aperture either driver
# reports (the hypervisor's domains take 39-bit IOVAs, PKVM_IOMMU_IAS).
edu_run --api iommufd --devices "$all" --iova 0x7f00000000 || exit
edu_run_broken 8 'unmapped iova' --api iommufd --devices "$all" --sabotage no-unmap || exit 1
