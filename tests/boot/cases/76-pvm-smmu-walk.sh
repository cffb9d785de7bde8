#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# smmu: pkvm
# Two SMMUs walk one protected VM's own stage-2 (docs/pvm-device-assignment.md):
# pvm_dma --dma --assign creates a protected VM whose stage-2 the SMMUs can walk
# (KVM_VM_TYPE_ARM_PROTECTED_DMA), lets its guest store to its pages, gives it the
# BARs of an edu device behind SMMU 1 and of one behind another SMMU and then their
# streams (each refused, -EPERM, before its BAR, then -EAGAIN while the hypervisor
# resets the device); the host can then neither lend, map nor read the BARs. The
# guest drives each device to
# copy a word from guest page 1 to a page of its own by IPA and reads it back; a
# read of an IPA the VM never touched must fault, reported in the kernel log
# without its address. Once the VM is destroyed, the host drives the devices
# again: a DMA to the VM's IPA reaches nothing and the streams go back to the
# identity domain.
. /tests/lib-edu.sh
pair=$(edu_pvm_pair) || exit 1
args= n=0
for a in $pair; do
	echo "edu ${a%%,*}: SMMU $(echo "$a" | cut -d, -f2), stream ${a##*,}"
	args="$args --assign $a"
	n=$((n + 1))
done

echo "\$ pvm_dma --dma$args"
# shellcheck disable=SC2086
pvm_dma --dma $args >/tmp/pvm-assign.log 2>&1
rc=$?
cat /tmp/pvm-assign.log
[ "$rc" = 0 ] || { echo "pvm_dma --dma$args failed (exit $rc)"; exit 1; }
edu_faults_reported /tmp/pvm-assign.log "$n" || exit 1
