#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The kernel's own VFIO selftests (tools/testing/selftests/vfio), unchanged, on every
# edu device (four, behind three SMMUs): vfio_pci_device_test (config space, BARs,
# reset, MSI eventfds) and vfio_dma_mapping_test (map, unmap, limits) in every IOMMU
# mode the VFIO selftest library iterates (type1, type1v2, both iommufd compat modes,
# iommufd). With the hypervisor owning the SMMUs, every mapping is a hypervisor
# domain's.
. /tests/lib-edu.sh
vfio_selftest_device || exit 1
vfio_selftest_each vfio_pci_device_test
vfio_selftest_each vfio_dma_mapping_test
exit "$VFIO_FAIL"
