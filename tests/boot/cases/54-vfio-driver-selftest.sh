#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The kernel's vfio_pci_driver_test, unchanged, on an edu device through the VFIO
# selftest library's edu driver (patch 0008): data moved by DMA through the IOMMU,
# and an MSI. Each fixture maps a 1 GiB buffer (25 to 60 s under QEMU's TCG), so make
# check runs two tests in the iommufd mode only.
# The driver enables the device's MSI in its init; with the hypervisor owning the
# SMMUs, the IOMMU core maps the GIC ITS doorbell into the hypervisor paging domain
# at the software MSI window, which the hypervisor allows for registered doorbells
# only (write-only device memory), and send_msi's MSI reaches the ITS through it.
. /tests/lib-edu.sh
vfio_selftest_device || exit 1
vfio_selftest vfio_pci_driver_test \
	-r vfio_pci_driver_test.iommufd.memcpy_success \
	-r vfio_pci_driver_test.iommufd.send_msi
exit "$VFIO_FAIL"
