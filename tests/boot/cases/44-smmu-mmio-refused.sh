#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# When the hypervisor owns the SMMUs, the host cannot read or write their MMIO frames:
# a /dev/mem access to either register page takes an external abort (SIGBUS). With the
# stock driver the same reads succeed, which shows the probe itself works. The writes
# would disable the SMMU (CR0 = 0); the tests after this one rely on it still running.
fail=0
for d in /sys/class/iommu/smmu3.*; do
	base=${d##*/smmu3.}
	page1=$(printf '0x%x' $((base + 0x10000)))
	cr0=$(printf '0x%x' $((base + 0x20)))
	for access in "$base read" "$page1 read" "$cr0 write 0"; do
		# shellcheck disable=SC2086
		out=$(mmio_probe $access 2>&1)
		rc=$?
		echo "${d##*/}: $access: $out (exit $rc)"
		case "$PKVM_SMMU:$rc:${access##* }" in
		pkvm:2:*) ;;
		stock:0:read) ;;
		stock:*:0) ;;	# no write to a live SMMU under the stock driver
		*) echo "unexpected result for $access"; fail=1 ;;
		esac
		[ "$PKVM_SMMU" = stock ] && break
	done
done
exit "$fail"
