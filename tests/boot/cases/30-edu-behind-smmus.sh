#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The four edu devices (1234:11e8) are enumerated, each sits in an IOMMU group behind
# an SMMU, they spread over three different SMMUs, and one SMMU has two of them.
n=0
: >/tmp/edu-smmus
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ] || continue
	n=$((n + 1))
	if [ ! -e "$d/iommu_group" ] || [ ! -e "$d/iommu" ]; then
		echo "edu ${d##*/} is not behind an IOMMU"
		exit 1
	fi
	smmu=$(basename "$(readlink "$d/iommu")")
	group=$(basename "$(readlink "$d/iommu_group")")
	echo "edu ${d##*/}: group $group, $smmu"
	echo "$smmu" >>/tmp/edu-smmus
done
[ "$n" = 4 ] || { echo "expected 4 edu devices, found $n"; exit 1; }
distinct=$(sort -u /tmp/edu-smmus | wc -l)
[ "$distinct" = 3 ] || { echo "expected edu devices behind 3 SMMUs, found $distinct"; exit 1; }
shared=$(sort /tmp/edu-smmus | uniq -d | wc -l)
[ "$shared" = 1 ] || { echo "expected one SMMU with two edu devices, found $shared"; exit 1; }
