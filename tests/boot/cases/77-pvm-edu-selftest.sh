#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# smmu: pkvm
# The KVM selftest of device assignment to a protected VM
# (tools/testing/selftests/kvm/arm64/pvm_edu_test.c, built with the KVM selftest
# library): a protected VM, created by the library, drives an edu device behind
# SMMU 1 and one behind another SMMU, whose streams and BARs the VMM assigned to
# it (test kernels only), by DMA into and out of its private memory; the host can
# neither map that memory, take the streams nor read the BARs, no device DMA reaches
# host memory, and after the VM its pages come back zeroed, its BARs and streams to
# the host.
. /tests/lib-edu.sh
pair=$(edu_pvm_pair) || exit 1
echo "\$ pvm_edu_test $pair"
# shellcheck disable=SC2086
exec /tests/kvm-selftest arm64/pvm_edu_test $pair
