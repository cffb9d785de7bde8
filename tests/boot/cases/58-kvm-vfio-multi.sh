#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Several assigned devices (tools/testing/selftests/kvm/arm64/vfio_edu_multi_test.c):
# the edu devices behind SMMUs 1, 2 and 3 go to one VM, in one iommufd IOAS (under
# pKVM one hypervisor domain, one page table, a VMID on each SMMU); the second edu
# behind SMMU 1 goes to a second VM, which cannot reach the first VM's memory; a
# memslot moved and then deleted takes its DMA mapping with it. Each DMA that must
# fault has to be reported by the SMMU (pKVM: the host driver logs the event).
. /tests/lib-edu.sh
set -- $(edu_list)
[ "$#" = 4 ] || { echo "expected 4 edu devices, found $#"; exit 1; }
# Bus order: two behind SMMU 1 (21:00.0, 22:00.0), then SMMU 2, then SMMU 3.
vm1="$1 $3 $4"
vm2=$2
for d in $vm1 $vm2; do
	vfio_bind "$d" || exit 1
done
/tests/kvm-selftest arm64/vfio_edu_multi_test $vm1 $vm2 >/tmp/multi.log 2>&1
rc=$?
cat /tmp/multi.log
[ "$rc" = 0 ] || exit 1
[ "$PKVM_SMMU" = pkvm ] || exit 0
edu_faults_reported /tmp/multi.log 3
