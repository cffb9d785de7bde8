#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# DMA through VFIO's group API (type1 container) with the edu devices: each device
# alone, then all four in one container (one IOMMU domain may span their three
# SMMUs). edu_dma checks that data moves RAM -> device -> RAM through the IOMMU and
# that after unmap a DMA write or read through any of the devices reaches nothing
# (a missed IOTLB invalidation shows as data arriving). Two deliberately broken runs
# (a buffer left unmapped, the unmaps skipped) must fail, which shows that the checks
# can fail. Runs with both SMMU drivers: with the hypervisor owning the SMMUs, the
# container's domains are hypervisor domains and every map/unmap a hypercall.

# The edu devices (1234:11e8), by PCI address.
edu_list() {
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ] &&
			echo "${d##*/}"
	done
}

# Run edu_dma; a skip ends the test as a skip (edu_dma's last line is the reason).
edu_run() {
	echo "\$ edu_dma $*"
	edu_dma "$@"
	rc=$?
	[ "$rc" = 4 ] && exit 4
	[ "$rc" = 0 ] && return 0
	echo "edu_dma $* failed (exit $rc)"
	return 1
}

# edu_run_broken N TEXT ARGS...: a deliberately broken run must exit 1 with exactly
# N failed checks whose description contains TEXT. Its report is indented.
edu_run_broken() {
	want=$1 text=$2
	shift 2
	echo "\$ edu_dma $*    (must fail)"
	edu_dma "$@" >/tmp/edu-broken.log 2>&1
	rc=$?
	sed 's/^/    /' /tmp/edu-broken.log
	got=$(grep -c "^not ok .*$text" /tmp/edu-broken.log)
	if [ "$rc" != 1 ] || [ "$got" != "$want" ]; then
		echo "the broken run exited $rc with $got failed '$text' check(s); want exit 1 and $want"
		return 1
	fi
	echo "the broken run failed as it must ($got failed '$text' checks)"
}

edus=$(edu_list)
n=$(echo $edus | wc -w)
if [ "$n" != 4 ]; then
	echo "expected 4 edu devices, found $n"
	exit 1
fi


for bdf in $edus; do
	edu_run --api group --devices "$bdf" || exit
done
edu_run --api group --devices "$(echo $edus | tr ' ' ,)" || exit

# No source mapping: the first DMA of each device faults, so no data can arrive.
edu_run_broken 4 'RAM -> device -> RAM' --api group --sabotage no-map || exit 1
# No unmap: every device writes and reads the "unmapped" buffers.
edu_run_broken 8 'unmapped iova' --api group --sabotage no-unmap || exit 1
