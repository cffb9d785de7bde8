#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# smmu: pkvm
# The DMA a device can do with each kind of hypervisor domain but paging:
# 1. identity (a device with no driver sits in it by default): DMA to a physical
#    address of host memory lands, with no hypercall per DMA;
# 2. identity, to the hypervisor's own memory: it faults, and the host log reports
#    the fault with the device's stream id and that address;
# 3. blocked (the device claimed through iommufd and attached to nothing): its
#    stream has no STE, DMA to host memory does not land, and the fault is reported.
# The stream id is the PCI requester id: bus << 8 | device << 3 | function.
. /tests/lib-edu.sh
fail=0
hyp=$(dmesg | sed -n 's/.*kvm \[0\]: Reserved [0-9]* MiB at \(0x[0-9a-f]*\).*/\1/p' | head -n 1)
[ -n "$hyp" ] || { echo "cannot find the hypervisor's memory in the kernel log"; exit 1; }
hyp_hex=$(printf '%016x' $((hyp)))

for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ] || continue
	bdf=${d##*/}
	sid=$(edu_sid "$bdf")
	[ ! -e "$d/driver" ] || { echo "$bdf has a driver already; this test needs it free"; exit 1; }

	edu_raw_dma --expect landed "$bdf" || { echo "$bdf: identity DMA did not land"; fail=1; }

	edu_raw_dma --phys "$hyp" "$bdf" || fail=1
	edu_fault_reported "event 0x10 sid $sid addr 0x$hyp_hex" ||
		{ echo "$bdf: no fault reported for DMA to hypervisor memory"; fail=1; }

	echo vfio-pci >"$d/driver_override"
	echo "$bdf" >/sys/bus/pci/drivers_probe
	[ "$(basename "$(readlink "$d/driver")")" = vfio-pci ] ||
		{ echo "$bdf did not bind to vfio-pci"; exit 1; }
	edu_raw_dma --block --expect blocked "$bdf" || { echo "$bdf: blocked DMA landed"; fail=1; }
	edu_fault_reported "event 0x0[24] sid $sid " ||
		{ echo "$bdf: no fault reported for the blocked stream"; fail=1; }
done
exit "$fail"
