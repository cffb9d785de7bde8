#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# smmu: refused
# An SMMUv3 PMCG (performance monitor counter group) that firmware describes is taken
# from the host before pKVM finalises: programmed by an untrusted host, its overflow MSI
# could write anywhere. QEMU models no PMCG, so this boot describes one as IORT would
# (pkvm_smmu_test_pmcg=0x9010000: a platform device "arm-smmu-v3-pmcg" over the PL031
# page, UEFI's runtime RTC, which this boot keeps the host from calling with
# efi=noruntime). The kernel has the stock PMCG driver (arm_smmuv3_pmu), which binds to a
# device of that name when it has an interrupt (this one has SPI 200, unused). Then:
# 1. the log says the hypervisor took and stopped it;
# 2. the stock driver is there, yet bound to no PMCG: protected mode gives each one a
#    driver_override no driver has as it is added;
# 3. the host's read and write of its page fault (exit 2 from mmio_probe), where
#    without the take they would reach the device.
# No PMU event is counted either: perf is not in the root, and the driver never bound.
PMCG=0x9010000
fail=0

line=$(dmesg | grep "SMMUv3 PMCG at" | tail -n 1)
echo "log: $line"
case "$line" in
*"taken and stopped by the hypervisor (0)"*) ;;
*) echo "no report of the PMCG taken by the hypervisor"; fail=1 ;;
esac

# The stock driver is there: without the override it would bind to the device by name.
[ -d /sys/bus/platform/drivers/arm-smmu-v3-pmcg ] ||
	{ echo "no arm-smmu-v3-pmcg driver registered: this test cannot show anything"; exit 1; }
found=0
for d in /sys/bus/platform/devices/arm-smmu-v3-pmcg*; do
	[ -e "$d" ] || continue
	found=1
	drv=$(basename "$(readlink "$d/driver" 2>/dev/null)")
	override=$(cat "$d/driver_override" 2>/dev/null)
	echo "${d##*/}: driver ${drv:-none}, driver_override ${override:-none}"
	[ -z "$drv" ] || { echo "${d##*/} is bound to $drv"; fail=1; }
	[ "$override" = pkvm-smmu-taken ] || { echo "${d##*/} has no driver_override"; fail=1; }
	[ -e "/sys/bus/platform/drivers/arm-smmu-v3-pmcg/${d##*/}" ] &&
		{ echo "the PMCG driver lists ${d##*/}"; fail=1; }
done
[ "$found" = 1 ] || { echo "no arm-smmu-v3-pmcg platform device"; exit 1; }
# Never bound, not even before pKVM finalised (where it would have been unbound).
line=$(dmesg | grep "Registered PMU @ 0x0*9010000")
[ -z "$line" ] || { echo "the stock driver bound to it: $line"; fail=1; }

for access in "$PMCG read" "$(printf '0x%x' $((PMCG + 0xe04))) write 1"; do
	# shellcheck disable=SC2086
	out=$(mmio_probe $access 2>&1)
	rc=$?
	echo "$access: $out (exit $rc)"
	[ "$rc" = 2 ] || { echo "the host reached the PMCG's page ($access)"; fail=1; }
done
exit "$fail"
