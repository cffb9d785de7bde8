#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# smmu: pkvm
# An SMMU walks a protected VM's own stage-2 (docs/pvm-device-assignment.md, steps
# 1 and 2): pvm_dma --dma --assign creates a protected VM whose stage-2 the SMMUs can
# walk (KVM_VM_TYPE_ARM_PROTECTED_DMA), lets its guest store to its pages, assigns
# the stream of an edu device behind SMMU 1 to it (test kernels only:
# CONFIG_PKVM_SMMU_V3_PVM_ASSIGN_TEST, the host still drives the device), and has
# the device copy a word from guest page 1 to guest page 2 by IPA, which the guest
# then reads back; a read of an IPA the VM never touched must fault, with its report
# in the kernel log. Once the VM is destroyed, a DMA to its IPA reaches nothing and
# the stream goes back to the identity domain.
. /tests/lib-edu.sh
bdf=
for b in $(edu_list); do
	idx=$(edu_smmu_idx "$b")
	[ "$idx" = 1 ] && { bdf=$b; break; }
done
[ -n "$bdf" ] || { echo "no edu device behind SMMU 1"; exit 1; }
sid=$(edu_sid "$bdf")
d=/sys/bus/pci/devices/$bdf
if [ -e "$d/driver" ]; then
	echo "$bdf" >"$d/driver/unbind"
	echo >"$d/driver_override"
fi
echo "edu $bdf: SMMU $idx, stream $sid"

echo "\$ pvm_dma --dma --assign $bdf,$idx,$sid"
pvm_dma --dma --assign "$bdf,$idx,$sid" >/tmp/pvm-assign.log 2>&1
rc=$?
cat /tmp/pvm-assign.log
[ "$rc" = 0 ] || { echo "pvm_dma --dma --assign failed (exit $rc)"; exit 1; }
edu_faults_reported /tmp/pvm-assign.log 1 || exit 1
