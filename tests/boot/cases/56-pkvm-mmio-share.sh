#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# smmu: pkvm
# Which device MMIO a guest may borrow (tools/testing/selftests/kvm/arm64/
# pkvm_mmio_share_test.c): an edu device's BAR, host-owned, is reachable from the
# guest through a memslot; an SMMU's register page, which the host gave to the
# hypervisor, is refused (KVM_RUN fails with EPERM) even though the VMM could mmap
# it through /dev/mem.
. /tests/lib-edu.sh
edu_without_driver || exit 1
smmu=$(dmesg | sed -n 's/.*SMMUv3 at \(0x[0-9a-f]*\) owned by the hypervisor.*/\1/p' | head -n 1)
[ -n "$smmu" ] || { echo "no hypervisor-owned SMMU in the kernel log"; exit 1; }
exec /tests/kvm-selftest arm64/pkvm_mmio_share_test "$EDU_BDF" "$smmu"
