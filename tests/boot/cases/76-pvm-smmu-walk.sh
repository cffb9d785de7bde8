#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# smmu: pkvm
# Two SMMUs walk one protected VM's own stage-2 (docs/pvm-device-assignment.md):
# pvm_dma --dma --assign creates a protected VM whose stage-2 the SMMUs can walk
# (KVM_VM_TYPE_ARM_PROTECTED_DMA), lets its guest store to its pages, assigns the
# streams of an edu device behind SMMU 1 and of one behind another SMMU to it (test
# kernels only: CONFIG_PKVM_SMMU_V3_PVM_ASSIGN_TEST) and gives it their BARs, which
# the host can then neither lend, map nor read. The guest drives each device to
# copy a word from guest page 1 to a page of its own by IPA and reads it back; a
# read of an IPA the VM never touched must fault, reported in the kernel log
# without its address. Once the VM is destroyed, the host drives the devices
# again: a DMA to the VM's IPA reaches nothing and the streams go back to the
# identity domain.
. /tests/lib-edu.sh
args= first= other= n=0
for b in $(edu_list); do
	idx=$(edu_smmu_idx "$b")
	if [ "$idx" = 1 ] && [ -z "$first" ]; then
		first=$b
	elif [ -n "$idx" ] && [ "$idx" != 1 ] && [ -z "$other" ]; then
		other=$b
	else
		continue
	fi
	d=/sys/bus/pci/devices/$b
	if [ -e "$d/driver" ]; then
		echo "$b" >"$d/driver/unbind"
		echo >"$d/driver_override"
	fi
	echo "edu $b: SMMU $idx, stream $(edu_sid "$b")"
	args="$args --assign $b,$idx,$(edu_sid "$b")"
	n=$((n + 1))
done
[ -n "$first" ] && [ -n "$other" ] || { echo "need edu devices behind SMMU 1 and another SMMU"; exit 1; }

echo "\$ pvm_dma --dma$args"
# shellcheck disable=SC2086
pvm_dma --dma $args >/tmp/pvm-assign.log 2>&1
rc=$?
cat /tmp/pvm-assign.log
[ "$rc" = 0 ] || { echo "pvm_dma --dma$args failed (exit $rc)"; exit 1; }
edu_faults_reported /tmp/pvm-assign.log "$n" || exit 1
