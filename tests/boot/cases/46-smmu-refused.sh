#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# smmu: refused
# SMMUs the hypervisor does not drive are driven by nobody. The host driver is told to
# treat the third SMMU it probes as refused (pkvm_smmu_test_refuse=2) and to defer the
# probe of the second until pKVM has finalised (pkvm_smmu_test_defer=1), as a probe
# waiting for a resource could; then:
# 1. every SMMUv3 platform device is bound to the pKVM driver, none to the stock one,
#    and exactly two have no IOMMU device registered;
# 2. the hypervisor took their frames anyway, the refused one when it was refused, the
#    deferred one when pKVM finalised (pkvm_smmu_finalize(), patch 0016): the host's
#    reads of both register pages of each fault, as for the SMMUs it drives;
# 3. their edu devices have no IOMMU group, and their DMA to host memory does not land
#    (the SMMUs are disabled with GBPA aborting), while an edu behind a live SMMU's
#    identity domain still lands.
fail=0
unregistered=0
for d in /sys/bus/platform/devices/arm-smmu-v3.*; do
	[ -e "$d" ] || continue
	drv=$(basename "$(readlink "$d/driver" 2>/dev/null)")
	echo "${d##*/}: driver ${drv:-none}"
	[ "$drv" = arm-smmu-v3-pkvm ] || { echo "${d##*/} is not bound to the pKVM driver"; fail=1; }
	registered=0
	for i in /sys/class/iommu/smmu3.*; do
		[ "$(readlink -f "$i/device")" = "$(readlink -f "$d")" ] && registered=1
	done
	[ "$registered" = 1 ] || unregistered=$((unregistered + 1))
done
[ "$unregistered" = 2 ] || { echo "$unregistered SMMUs without an IOMMU device; want 2"; fail=1; }

# taken BASE WHAT: the host can no longer read either register page of the SMMU at BASE.
taken() {
	for a in "$1" "$(printf '0x%x' $(($1 + 0x10000)))"; do
		out=$(mmio_probe "$a" read 2>&1)
		rc=$?
		echo "read of $a ($2): $out (exit $rc)"
		[ "$rc" = 2 ] || { echo "the host can read the $2 SMMU at $a"; fail=1; }
	done
}

line=$(dmesg | grep "refused by the hypervisor" | tail -n 1)
echo "log: $line"
case "$line" in
*"taken and stopped by it"*) ;;
*) echo "no report of a refused SMMU taken by the hypervisor"; exit 1 ;;
esac
base=$(echo "$line" | sed -n 's/.*SMMUv3 at \(0x[0-9a-f]*\) refused.*/\1/p')
[ -n "$base" ] || { echo "cannot read the refused SMMU's address"; exit 1; }
taken "$base" refused

# The deferred SMMU's probe runs once pKVM has finalised, and says whether it was taken.
line=$(dmesg | grep "probed after pKVM finalised" | tail -n 1)
echo "log: $line"
late=$(echo "$line" | sed -n 's/.*SMMUv3 at \(0x[0-9a-f]*\) probed after.*/\1/p')
[ -n "$late" ] || { echo "no SMMU was probed after pKVM finalised"; exit 1; }
case "$line" in
*"taken and stopped by the hypervisor then"*) ;;
*) echo "the deferred SMMU was not taken when pKVM finalised"; fail=1 ;;
esac
line=$(dmesg | grep "SMMUv3 at $late not probed when pKVM finalises" | tail -n 1)
echo "log: $line"
case "$line" in
*"taken and stopped by it"*) ;;
*) echo "no report of the deferred SMMU taken when pKVM finalised"; fail=1 ;;
esac
taken "$late" deferred

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
		{ echo "$bdf: DMA behind an SMMU the host driver did not register landed"; fail=1; }
done
[ "$behind" -ge 2 ] || { echo "fewer than 2 edu devices behind the two SMMUs"; fail=1; }
[ "$live" = 1 ] || { echo "no edu device behind a live SMMU"; fail=1; }
exit "$fail"
