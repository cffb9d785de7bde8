#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# smmu: pkvm stock
# The kernel's vfio_pci_driver_test, unchanged, through the VFIO selftest library's edu
# driver: on the first edu device every fixture in every IOMMU mode the library
# iterates, and on every other edu device (behind each SMMU) a copy and an MSI through
# iommufd. Each fixture maps a 1 GiB buffer, which takes 25 to 60 s under QEMU's TCG:
# about 25 minutes a boot, so make check runs two of its tests on one device
# (vfio-driver-selftest) and make check-long this.
. /tests/lib-edu.sh
vfio_selftest_device || exit 1
first=$VFIO_SELFTESTS_BDF
vfio_selftest vfio_pci_driver_test
for bdf in $(edu_list); do
	[ "$bdf" = "$first" ] && continue
	vfio_bind "$bdf" || { VFIO_FAIL=1; continue; }
	VFIO_SELFTESTS_BDF=$bdf vfio_selftest vfio_pci_driver_test \
		-r vfio_pci_driver_test.iommufd.memcpy_success \
		-r vfio_pci_driver_test.iommufd.send_msi
done
exit "$VFIO_FAIL"
