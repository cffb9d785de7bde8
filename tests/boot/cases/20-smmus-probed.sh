#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# All four SMMUv3 instances of the reference topology are registered with the IOMMU
# core: one on pcie.0 and one on each of the three pxb-pcie expander buses.
want=4
n=0
for d in /sys/class/iommu/*; do
	[ -e "$d" ] || continue
	echo "iommu: ${d##*/}"
	n=$((n + 1))
done
if [ "$n" != "$want" ]; then
	echo "expected $want SMMUs, found $n"
	dmesg | grep -i smmu | tail -n 20
	exit 1
fi
