#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# smmu: pkvm
# A stream with no domain cannot DMA: an edu device with bus mastering on writes to a
# physical address of host memory, the write does not land, and the SMMU reports the
# fault (an event record with the device's stream id) in the host log.
fail=0
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ] || continue
	bdf=${d##*/}
	edu_raw_dma "$bdf"
	rc=$?
	[ "$rc" = 0 ] || { echo "$bdf: DMA not blocked (exit $rc)"; fail=1; continue; }
	# The stream id is the PCI requester id: bus << 8 | device << 3 | function.
	bus=0x${bdf#*:}; bus=${bus%%:*}
	dev=0x${bdf##*:}; dev=${dev%%.*}
	fn=${bdf##*.}
	sid=$(printf '0x%x' $(( (bus << 8) | (dev << 3) | fn )))
	i=0
	while ! dmesg | grep -q "event 0x[0-9a-f]* sid $sid "; do
		i=$((i + 1))
		[ "$i" -lt 20 ] || break
		sleep 0.1
	done
	if dmesg | grep "event 0x[0-9a-f]* sid $sid "; then
		echo "$bdf: fault reported for sid $sid"
	else
		echo "$bdf: no fault reported for sid $sid"
		fail=1
	fi
done
exit "$fail"
