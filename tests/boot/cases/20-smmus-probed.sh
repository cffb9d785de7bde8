#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# All four SMMUv3 instances of the reference topology are registered with the IOMMU
# core (one on pcie.0, one on each of the three pxb-pcie expander buses), each by the
# driver of this boot's configuration: the pKVM host driver when the hypervisor owns
# the SMMUs, the stock driver otherwise.
want=4
case "$PKVM_SMMU" in
pkvm) driver=arm-smmu-v3-pkvm ;;
*) driver=arm-smmu-v3 ;;
esac
n=0
for d in /sys/class/iommu/*; do
	[ -e "$d" ] || continue
	bound=$(basename "$(readlink "$d/device/driver")")
	echo "iommu: ${d##*/} (driver $bound)"
	if [ "$bound" != "$driver" ]; then
		echo "expected driver $driver"
		exit 1
	fi
	n=$((n + 1))
done
if [ "$n" != "$want" ]; then
	echo "expected $want SMMUs, found $n"
	dmesg | grep -i smmu | tail -n 20
	exit 1
fi
