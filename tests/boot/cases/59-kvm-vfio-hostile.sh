#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A hostile guest and a hostile VMM around an assigned edu device
# (tools/testing/selftests/kvm/arm64/vfio_edu_hostile_test.c): garbage in every
# register and DMAs to random IOVAs; memory unmapped from the IOAS, the device detached
# from it and its VFIO file closed under an in-flight DMA. Nothing may land where it
# must not; the SMMU must report each random DMA and the one after the unmap (pKVM: the
# host driver logs the events); no-kernel-warnings runs after this.
. /tests/lib-edu.sh
vfio_selftest_device || exit 1
/tests/kvm-selftest arm64/vfio_edu_hostile_test "$VFIO_SELFTESTS_BDF" >/tmp/hostile.log 2>&1
rc=$?
cat /tmp/hostile.log
[ "$rc" = 0 ] || exit 1
[ "$PKVM_SMMU" = pkvm ] || exit 0
edu_faults_reported /tmp/hostile.log 17
