#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# DMA through iommufd and the VFIO device cdev with the edu devices: all four bound
# to one iommufd and attached to one IOAS (the kernel picks the hwpts: one domain may
# span their three SMMUs), at a low IOVA and at one above 4 GiB. The same checks as
# vfio-edu-dma: data moves RAM -> device -> RAM through the IOMMU, and after
# IOMMU_IOAS_UNMAP a DMA through any of the devices reaches nothing. A run that skips
# the unmaps must fail. Runs with both SMMU drivers: with the hypervisor owning the
# SMMUs, the IOAS's domain is a hypervisor domain and every map/unmap a hypercall.

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

all=$(echo $edus | tr ' ' ,)

edu_run --api iommufd --devices "$all" || exit
# High IOVAs, above 4 GiB: near the top of the smallest aperture either driver
# reports (the hypervisor's domains take 39-bit IOVAs, PKVM_IOMMU_IAS).
edu_run --api iommufd --devices "$all" --iova 0x7f00000000 || exit
edu_run_broken 8 'unmapped iova' --api iommufd --devices "$all" --sabotage no-unmap || exit 1
