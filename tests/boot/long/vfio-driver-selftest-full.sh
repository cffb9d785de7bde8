#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# smmu: pkvm stock
# The kernel's vfio_pci_driver_test, unchanged and whole: every fixture in every IOMMU
# mode the VFIO selftest library iterates, on an edu device through the library's edu
# driver. Each fixture maps a 1 GiB buffer, which takes 25 to 60 s under QEMU's TCG:
# about 15 minutes a boot, so make check runs two of its tests (vfio-driver-selftest)
# and make check-long this.
. /tests/lib-edu.sh
vfio_selftest_device || exit 1
vfio_selftest vfio_pci_driver_test
exit "$VFIO_FAIL"
