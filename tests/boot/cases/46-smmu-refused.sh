#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# smmu: refused
# An SMMU the hypervisor refuses is driven by nobody. The host driver is told to
# treat the third SMMU it probes as refused (pkvm_smmu_test_refuse=2); then:
# 1. every SMMUv3 platform device is bound to the pKVM driver, none to the stock one,
#    and exactly one has no IOMMU device registered (the refused one);
# 2. the hypervisor took its frame anyway: the host's reads of both register pages
#    fault, as for the SMMUs it drives;
# 3. its edu devices have no IOMMU group, and their DMA to host memory does not land
#    (the SMMU is disabled with GBPA aborting), while an edu behind a live SMMU's
#    identity domain still lands.
fail=0
refused=0
for d in /sys/bus/platform/devices/arm-smmu-v3*; do
	[ -e "$d" ] || continue
	drv=$(basename "$(readlink "$d/driver" 2>/dev/null)")
	echo "${d##*/}: driver ${drv:-none}"
	[ "$drv" = arm-smmu-v3-pkvm ] || { echo "${d##*/} is not bound to the pKVM driver"; fail=1; }
	registered=0
	for i in /sys/class/iommu/smmu3.*; do
		[ "$(readlink -f "$i/device")" = "$(readlink -f "$d")" ] && registered=1
	done
	[ "$registered" = 1 ] || refused=$((refused + 1))
done
[ "$refused" = 1 ] || { echo "$refused SMMUs without an IOMMU device; want 1"; fail=1; }

line=$(dmesg | grep "refused by the hypervisor" | tail -n 1)
echo "log: $line"
case "$line" in
*"taken and stopped by it"*) ;;
*) echo "no report of a refused SMMU taken by the hypervisor"; exit 1 ;;
esac
base=$(echo "$line" | sed -n 's/.*SMMUv3 at \(0x[0-9a-f]*\) refused.*/\1/p')
[ -n "$base" ] || { echo "cannot read the refused SMMU's address"; exit 1; }
for a in "$base" "$(printf '0x%x' $((base + 0x10000)))"; do
	out=$(mmio_probe "$a" read 2>&1)
	rc=$?
	echo "read of $a: $out (exit $rc)"
	[ "$rc" = 2 ] || { echo "the host can read the refused SMMU at $a"; fail=1; }
done

behind=0
live=0
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ] || continue
	bdf=${d##*/}
	if [ -e "$d/iommu_group" ]; then
		[ "$live" = 0 ] || continue
		live=1
		edu_raw_dma --expect landed "$bdf" ||
			{ echo "$bdf: DMA behind a live SMMU did not land"; fail=1; }
		continue
	fi
	behind=$((behind + 1))
	edu_raw_dma --expect blocked "$bdf" ||
		{ echo "$bdf: DMA behind the refused SMMU landed"; fail=1; }
done
[ "$behind" -ge 1 ] || { echo "no edu device behind the refused SMMU"; fail=1; }
[ "$live" = 1 ] || { echo "no edu device behind a live SMMU"; fail=1; }
exit "$fail"
