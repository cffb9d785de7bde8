#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# smmu: cmdqv
# A Tegra241 CMDQV holds command queues of an SMMU that the host could drive on its
# own; the hypervisor does not take it, so pKVM must not finalise when firmware
# describes one. QEMU models none: this boot adds an ACPI table naming one
# (\_SB.CMDQ, _HID NVDA200C, scripts/cmdqv-ssdt.py). Then:
# 1. the host finds the device in its ACPI namespace;
# 2. the pKVM driver says it cannot take it, and pKVM does not finalise;
# 3. so the host was never deprived of anything: it still reads an SMMU's registers,
#    which a finalised pKVM refuses it (smmu-mmio-refused).
fail=0
found=0
for d in /sys/bus/acpi/devices/NVDA200C:*; do
	[ -e "$d" ] && found=1 && echo "ACPI device ${d##*/}"
done
[ "$found" = 1 ] || { echo "no NVDA200C device in the ACPI namespace: the table did not load"; exit 1; }

line=$(dmesg | grep "Tegra241 CMDQV" | tail -n 1)
echo "log: $line"
case "$line" in
*"pKVM will not finalise"*) ;;
*) echo "no refusal of the CMDQV"; fail=1 ;;
esac
line=$(dmesg | grep "Not finalizing Hyp protection" | tail -n 1)
echo "log: $line"
[ -n "$line" ] || { echo "pKVM finalised all the same"; fail=1; }

smmu=
for d in /sys/class/iommu/smmu3.*; do
	[ -e "$d" ] && smmu=$d && break
done
[ -n "$smmu" ] || { echo "no SMMU registered with the IOMMU core"; exit 1; }
base=${smmu##*/smmu3.}
out=$(mmio_probe "$base" read 2>&1)
rc=$?
echo "read of $base: $out (exit $rc)"
[ "$rc" = 0 ] || { echo "the host cannot read the SMMU: was pKVM finalised after all?"; fail=1; }
exit "$fail"
