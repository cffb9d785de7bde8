#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# smmu: pkvm stock
# PCI configuration space is the hypervisor's to mediate (nvhe/pci_cfg.c, patch 0024).
# A stream id is a requester id, which carries the bus number the bridges above a
# device give it: a host that renumbers a bridge or moves a BAR could make a device it
# drives take the stream, or the registers, of a device assigned to a protected VM.
# With the SMMUs the hypervisor's:
# 1. it took every ECAM window and knows every function present at boot;
# 2. loads pass: each function's vendor id, read through configuration space (the
#    hypervisor emulates the load), is the one the PCI core found at boot;
# 3. a store that moves nothing passes: bus mastering of an edu flips and flips back;
# 4. stores that would move routing are dropped: an edu's BAR0 onto its neighbour's,
#    the neighbour's root port's secondary and subordinate bus numbers onto those of
#    the first edu's port, and that port's memory window; each reads back unchanged,
#    and both edus still do DMA through VFIO;
# 5. a load of the hypervisor's own that aborts (a function that does not complete a
#    configuration read) does not take it down: through the accessor the emulation
#    uses, it loads from hypervisor VA that nothing maps (a test knob) and comes back
#    with -EIO, after which configuration space still answers (step 2 runs after it).
# With the stock driver the host owns configuration space: the same stores land (each
# undone at once), which shows that the test sees a store that lands.
. /tests/lib-edu.sh
fail=0

# Two edus behind two root ports of one bus: "PORT_A EDU_A PORT_B EDU_B".
pair=$(for e in $(edu_list); do
	p=$(basename "$(dirname "$(readlink -f "/sys/bus/pci/devices/$e")")")
	echo "${p%:*} $p $e"
done | sort | awk '$1 == bus { print port, edu, $2, $3; exit } { bus = $1; port = $2; edu = $3 }')
# shellcheck disable=SC2086
set -- $pair
[ $# = 4 ] || { echo "no two edus behind root ports of one bus"; exit 1; }
port_a=$1 edu_a=$2 port_b=$3 edu_b=$4
echo "edu $edu_a behind $port_a, edu $edu_b behind $port_b"

# store WHAT BDF OFFSET SIZE VALUE: must land with the stock driver (then undone),
# must be dropped with the hypervisor's.
store() {
	what=$1 bdf=$2 off=$3 size=$4 val=$5
	old=$(pci_cfg "$bdf" "$off" "$size") || { fail=1; return; }
	got=$(pci_cfg "$bdf" "$off" "$size" "$val") || { fail=1; return; }
	echo "$what: $bdf +$off was $old, stored $val, reads $got"
	if [ "$PKVM_SMMU" = stock ]; then
		[ $((got)) = $((val)) ] || { echo "  the store did not land"; fail=1; }
		pci_cfg "$bdf" "$off" "$size" "$old" >/dev/null || fail=1
	elif [ "$got" != "$old" ]; then
		echo "  the hypervisor let the host move it"
		fail=1
		pci_cfg "$bdf" "$off" "$size" "$old" >/dev/null
	fi
}

if [ "$PKVM_SMMU" = pkvm ]; then
	line=$(dmesg | grep 'the hypervisor mediates PCI configuration space')
	echo "${line#*] }"
	nr=$(ls /sys/bus/pci/devices | wc -l)
	case "$line" in
	*": 0 ECAM windows"* | "") echo "no ECAM window taken"; fail=1 ;;
	*", $nr functions") ;;
	*) echo "not all $nr functions registered"; fail=1 ;;
	esac
fi

if [ "$PKVM_SMMU" = pkvm ]; then
	. /tests/lib-hvc.sh
	expect "$EIO" "an abort at EL2 on a load with a fixup is recovered" iommu_bench_knob 2 0
fi

for d in /sys/bus/pci/devices/*; do
	v=$(pci_cfg "${d##*/}" 0 2) || { fail=1; continue; }
	[ "$v" = "$(cat "$d/vendor")" ] ||
		{ echo "${d##*/}: vendor $v through configuration space, $(cat "$d/vendor") at boot"; fail=1; }
done
echo "vendor ids of $(ls /sys/bus/pci/devices | wc -l) functions read through configuration space"

cmd=$(pci_cfg "$edu_b" 4 2) || exit 1
flip=$((cmd ^ 4))
got=$(pci_cfg "$edu_b" 4 2 $flip) || exit 1
echo "bus mastering: $edu_b command was $cmd, stored $(printf 0x%04x $flip), reads $got"
[ $((got)) = $flip ] || { echo "  a store that moves nothing was dropped"; fail=1; }
pci_cfg "$edu_b" 4 2 "$cmd" >/dev/null || fail=1

store "BAR0 onto the neighbour's" "$edu_b" 0x10 4 "$(pci_cfg "$edu_a" 0x10 4)"
store "secondary bus onto the neighbour's" "$port_b" 0x19 1 "$(pci_cfg "$port_a" 0x19 1)"
store "subordinate bus onto the neighbour's" "$port_b" 0x1a 1 "$(pci_cfg "$port_a" 0x1a 1)"
store "memory window emptied" "$port_a" 0x20 4 0x0000fff0

edu_run --api group --devices "$edu_a,$edu_b" || fail=1
exit "$fail"
