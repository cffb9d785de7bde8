#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A KVM guest drives an edu device assigned to it (tools/testing/selftests/kvm/arm64/
# vfio_edu_test.c, built with the KVM and VFIO selftest libraries): its memory is
# mapped at IOVA = GPA in an iommufd IOAS, the device's BAR0 is a memslot, and the
# guest programs the device itself. Under pKVM the IOAS is a hypervisor paging domain
# and the hypervisor lets the guest borrow the BAR (host device MMIO). The guest's DMA
# aimed outside its memory must be reported by the SMMU as a translation fault.
. /tests/lib-edu.sh
vfio_selftest_device || exit 1
bdf=$VFIO_SELFTESTS_BDF
sid=$(edu_sid "$bdf")

/tests/kvm-selftest arm64/vfio_edu_test "$bdf" || exit 1

# Only the pKVM host driver logs events in this form. OUTSIDE_GPA in the test; event
# 0x10 is F_TRANSLATION.
[ "$PKVM_SMMU" = pkvm ] || exit 0
edu_fault_reported "event 0x10 sid $sid addr 0x0000000060000000" || {
	echo "no translation fault reported for the DMA outside guest memory"
	exit 1
}
