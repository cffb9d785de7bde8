#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# smmu: pkvm
# The KVM selftest of device assignment to a protected VM
# (tools/testing/selftests/kvm/arm64/pvm_edu_test.c, built with the KVM selftest
# library and the VFIO selftest library): a protected VM, created by the library,
# drives an edu device behind SMMU 1 and one behind another SMMU, which the VMM gave
# it as a VMM does (VFIO device files, iommufd, KVM_DEV_VFIO_FILE_ASSIGN_PROTECTED on
# the KVM-VFIO device), by DMA into and out of its private memory; the host can
# neither map that memory, take the streams, read the BARs nor reprogram the devices,
# no device DMA reaches host memory, each device's DMA completion MSI reaches the
# guest (the host cannot aim it at the VM's memory), and after the VM its pages
# come back zeroed, its BARs, configuration space and streams to the host.
. /tests/lib-edu.sh
pair=$(edu_pvm_pair) || exit 1
for d in $pair; do
	vfio_bind "${d%%,*}" || exit 1
done
echo "\$ pvm_edu_test $pair"
# shellcheck disable=SC2086
exec /tests/kvm-selftest arm64/pvm_edu_test $pair
