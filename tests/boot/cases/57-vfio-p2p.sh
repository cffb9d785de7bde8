#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Peer-to-peer DMA: the kernel's vfio_dma_mapping_mmio_test on every edu device (a BAR
# mmap mapped in every IOMMU mode: type1 must take it, iommufd refuse it) and the project's
# vfio_edu_p2p_test, in which one edu device writes another's register through an
# IOMMU mapping of its BAR. The two devices sit behind different SMMUs; with the
# hypervisor owning them, the BAR is host MMIO that a hypervisor paging domain
# maps as device memory.
. /tests/lib-edu.sh
vfio_selftest_device || exit 1
vfio_selftest_each vfio_dma_mapping_mmio_test

set -- $(edu_list)
first=$1
shift $(($# - 1))
last=$1
[ "$first" != "$last" ] || { echo "needs two edu devices"; exit 1; }
vfio_bind "$last" || exit 1
vfio_selftest vfio_edu_p2p_test "$first" "$last"
exit "$VFIO_FAIL"
