#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# smmu: pkvm
# Retired invalidation arrays are freed after a grace period, even with a CPU off.
# A CPU that left the hypervisor without returning to the host (PSCI CPU_OFF never
# returns) must not hold grace periods back: the readers of the arrays bracket their
# reads, and a CPU outside a bracket holds nothing.
# With cpu1 offline, a domain is attached to and detached from a stream on SMMU 0
# (each first attach and last detach publishes a new array and retires the old one),
# then freed: every page topped up for it must come back to the host through reclaim,
# retired arrays included. Then cpu1 comes back and the same holds.
. /tests/lib-hvc.sh
CPU1=/sys/devices/system/cpu/cpu1/online
PAGES=16
# A stream no device uses, on SMMU 0.
SID=0xfff8
fail=0
[ -w "$CPU1" ] || { echo "cpu1 cannot go offline (CONFIG_HOTPLUG_CPU?)"; exit 1; }

# Take every unused page back from the hypervisor; RECLAIMED says how many.
drain() {
	RECLAIMED=0
	while :; do
		hvc iommu_reclaim 1024
		[ "$R1" -gt 0 ] 2>/dev/null || break
		RECLAIMED=$((RECLAIMED + R1))
	done
}

# One round: PAGES pages in, domain life with CYCLES attach/detach, all pages out.
round() {	# round LABEL CYCLES
	drain
	hvc topup "$PAGES"
	[ "$R1" = 0 ] || { echo "FAIL: $1: topup of $PAGES pages: $R1"; fail=1; return; }
	hvc iommu_alloc_domain 1
	[ "$R1" -ge 0 ] 2>/dev/null || { echo "FAIL: $1: alloc: $R1 $R2"; fail=1; return; }
	dom=$R1
	i=0
	while [ "$i" -lt "$2" ]; do
		hvc iommu_attach "$dom" 0 "$SID"
		[ "$R1" = 0 ] || { echo "FAIL: $1: attach $i: $R1 $R2"; fail=1; break; }
		hvc iommu_detach "$dom" 0 "$SID"
		[ "$R1" = 0 ] || { echo "FAIL: $1: detach $i: $R1"; fail=1; break; }
		i=$((i + 1))
	done
	free_domain "$dom"
	[ "$R1" = 0 ] || { echo "FAIL: $1: free: $R1"; fail=1; }
	drain
	echo "$1: $2 attach/detach cycles, $RECLAIMED of $PAGES pages back"
	[ "$RECLAIMED" = "$PAGES" ] ||
		{ echo "FAIL: $1: $((PAGES - RECLAIMED)) pages held by the hypervisor"; fail=1; }
}

# Warm up: the stream's level-2 stream table stays with the hypervisor for good.
round warm-up 1 >/dev/null
fail=0
round "all CPUs online" 4
echo 0 >"$CPU1" || { echo "cannot take cpu1 offline"; exit 1; }
[ "$(cat "$CPU1")" = 0 ] || { echo "cpu1 still online"; exit 1; }
round "cpu1 off" 4
round "cpu1 off, again" 4
echo 1 >"$CPU1" || { echo "cannot bring cpu1 back"; exit 1; }
round "cpu1 back" 4
exit "$fail"
