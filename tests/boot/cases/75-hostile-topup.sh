#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# smmu: pkvm
# Hostile page lists for __pkvm_iommu_topup (topup_hostile): a cycle, hypervisor
# memory as head and as link, a DMA-mapped page, a page shared with the hypervisor,
# a list longer than its pages, pages full of fake bypass STEs. The hypervisor takes
# exactly the pages it may, stops at the first other one, and reclaim gives every
# page taken back to the host, zeroed. An edu device with no driver writes into one
# of the pages: its DMA lands while the host owns the page, and faults (reported)
# from the moment the page is donated.
hyp=$(dmesg | sed -n 's/.*kvm \[0\]: Reserved [0-9]* MiB at \(0x[0-9a-f]*\).*/\1/p' | head -n 1)
[ -n "$hyp" ] || { echo "cannot find the hypervisor's memory in the kernel log"; exit 1; }
. /tests/lib-edu.sh
edu_without_driver || exit 1
topup_hostile "$hyp" "$EDU_BDF"
