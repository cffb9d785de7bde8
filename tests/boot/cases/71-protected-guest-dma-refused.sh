#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# smmu: pkvm
# A page that pKVM donated to a protected guest cannot be DMA-mapped: pvm_dma runs a
# protected VM whose guest stores to a few pages (each fault donates the page to it),
# then asks the hypervisor to map those pages into an IOMMU domain through
# debugfs/pkvm-smmu/hvc, as a hostile host would. Each map must fail with -EPERM,
# while a page of the same buffer the guest never touched maps, and a guest page maps
# again once the VM is destroyed. The identity domain (host DMA by default) follows
# the same ownership: the guest's pages leave it and come back after the VM. A run that never starts the guest must fail: its
# pages stay the host's, so they map. A host that cannot run a protected guest fails
# the test with the reason (pvm_dma's last line).
echo "\$ pvm_dma"
pvm_dma || { echo "pvm_dma failed (exit $?)"; exit 1; }

# The same with a protected VM whose stage-2 the SMMUs can walk
# (KVM_VM_TYPE_ARM_PROTECTED_DMA: its own IPA size, no FWB encoding); first
# what KVM accepts of that type.
echo "\$ pvm_dma --dma"
pvm_dma --dma || { echo "pvm_dma --dma failed (exit $?)"; exit 1; }

echo "\$ pvm_dma --sabotage no-guest    (must fail)"
pvm_dma --sabotage no-guest >/tmp/pvm-broken.log 2>&1
rc=$?
sed 's/^/    /' /tmp/pvm-broken.log
got=$(grep -c '^not ok .*guest page [0-9]* (pa [0-9a-fx]*) refused' /tmp/pvm-broken.log)
# The code page and the pages the guest would have stored to.
if [ "$rc" != 1 ] || [ "$got" != 5 ]; then
	echo "the broken run exited $rc with $got failed 'refused' check(s); want exit 1 and 5"
	exit 1
fi
echo "the broken run failed as it must ($got failed 'refused' checks)"
