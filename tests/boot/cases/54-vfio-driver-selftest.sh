#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The kernel's vfio_pci_driver_test, unchanged, on an edu device through the VFIO
# selftest library's edu driver (patch 0008): data moved by DMA through the IOMMU,
# DMA to and from unmapped IOVAs, a storm of copies, and an MSI. Each fixture maps a
# 1 GiB buffer (about 25 s under QEMU's TCG), so make check runs the iommufd mode only.
# The driver enables the device's MSI in its init. With the hypervisor owning the
# SMMUs, a device in a paging domain cannot reach the GIC ITS doorbell yet (no MSI
# doorbell mapping, issue 9), so VFIO cannot enable its MSI and the test cannot run:
# it is skipped there, with that reason.
. /tests/lib-edu.sh
if [ "$PKVM_SMMU" = pkvm ]; then
	echo "MSIs need the ITS doorbell mapped in hypervisor paging domains (not yet: issue 9)"
	exit 4
fi
vfio_selftest_device || exit 1
vfio_selftest vfio_pci_driver_test \
	-r vfio_pci_driver_test.iommufd.memcpy_success \
	-r vfio_pci_driver_test.iommufd.memcpy_from_unmapped_iova \
	-r vfio_pci_driver_test.iommufd.memcpy_storm \
	-r vfio_pci_driver_test.iommufd.send_msi
exit "$VFIO_FAIL"
