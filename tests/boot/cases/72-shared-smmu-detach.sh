#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# smmu: pkvm
# Detaching one of two devices behind one SMMU leaves the other on the same domain: the
# two edu devices that share an SMMU go into one iommufd IOAS (then one VFIO type1
# container), both DMA, then one is released. The other must still move data through
# the same domain and fault after unmap (edu_dma --release), and the hypervisor's view
# (debugfs/pkvm-smmu/domains) must show the same domain, page table and VMID on that
# SMMU with two streams before the release and one after; once the second device is
# released too, the domain is gone. A run that skips the unmaps must fail on the
# remaining device alone.
V=/sys/kernel/debug/pkvm-smmu/domains
[ -r "$V" ] || { echo "no $V (CONFIG_PKVM_SMMU_V3_DEBUGFS?)"; exit 1; }

# The edu devices (1234:11e8) as "SMMU BDF" lines, by their iommu link.
: >/tmp/edu-by-smmu
for d in /sys/bus/pci/devices/*; do
	if [ "$(cat "$d/vendor")" != 0x1234 ] || [ "$(cat "$d/device")" != 0x11e8 ]; then
		continue
	fi
	[ -e "$d/iommu" ] || { echo "edu ${d##*/} is not behind an IOMMU"; exit 1; }
	echo "$(basename "$(readlink "$d/iommu")") ${d##*/}" >>/tmp/edu-by-smmu
done
smmu=$(awk '{ print $1 }' /tmp/edu-by-smmu | sort | uniq -d | head -n 1)
[ -n "$smmu" ] || { echo "no SMMU has two edu devices:"; cat /tmp/edu-by-smmu; exit 1; }
# shellcheck disable=SC2046
set -- $(awk -v s="$smmu" '$1 == s { print $2 }' /tmp/edu-by-smmu)
a=$1 b=$2
echo "edu $a and $b share $smmu; $a is released first"

fail=0
# domain_line FILE STREAMS WHEN: FILE holds one line, one domain on one SMMU, with
# STREAMS streams and a VMID other than 0. Prints "ID IDX VMID ROOT" of it.
domain_line() {
	lines=$(wc -l <"$1")
	if [ "$lines" != 1 ]; then
		echo "expected one domain on one SMMU $3, found $lines line(s)" >&2
		return 1
	fi
	# Lines: "domain ID smmu IDX vmid VMID streams N root PHYS".
	awk -v want="$2" -v when="$3" '
		$1 != "domain" || NF != 10 { print "unreadable line " when ": " $0 >"/dev/stderr"; exit 1 }
		$8 != want { print "expected " want " stream(s) " when ", found " $8 >"/dev/stderr"; exit 1 }
		$6 == 0 { print "VMID 0 is reserved but in use " when >"/dev/stderr"; exit 1 }
		{ print $2, $4, $6, $10 }' "$1"
}

# detach_run API: the flow through one API.
detach_run() {
	echo "\$ edu_dma --api $1 --devices $a,$b --release $a ..."
	edu_dma --api "$1" --devices "$a,$b" --exec "cat $V >/tmp/domains-both" \
		--release "$a" --exec-released "cat $V >/tmp/domains-one" ||
		{ echo "edu_dma --api $1 --release $a failed"; fail=1; return; }
	echo "$V with both attached:"
	sed 's/^/    /' /tmp/domains-both
	echo "$V once $a is released:"
	sed 's/^/    /' /tmp/domains-one
	both=$(domain_line /tmp/domains-both 2 "with both attached") || { fail=1; return; }
	one=$(domain_line /tmp/domains-one 1 "once $a is released") || { fail=1; return; }
	# shellcheck disable=SC2086
	set -- $both
	echo "$1 $2 $3 $4 -> $one: domain, SMMU index, VMID and root"
	[ "$one" = "$both" ] ||
		{ echo "once $a is released, $b is not on the same domain, VMID and page table"; fail=1; }
	if [ -s "$V" ]; then
		echo "once $b is released too, the hypervisor still has domains:"
		cat "$V"
		fail=1
	fi
}

detach_run iommufd
detach_run group

# No unmap: after the release only the remaining device writes and reads the
# "unmapped" buffers, so exactly its two checks fail.
echo "\$ edu_dma --api iommufd --devices $a,$b --release $a --sabotage no-unmap    (must fail)"
edu_dma --api iommufd --devices "$a,$b" --release "$a" --sabotage no-unmap \
	>/tmp/edu-broken.log 2>&1
rc=$?
sed 's/^/    /' /tmp/edu-broken.log
got=$(grep -c "^not ok .*$b .*unmapped iova" /tmp/edu-broken.log)
all=$(grep -c "^not ok" /tmp/edu-broken.log)
if [ "$rc" != 1 ] || [ "$got" != 2 ] || [ "$all" != 2 ]; then
	echo "the broken run exited $rc with $all failed check(s), $got of them '$b ... unmapped iova'; want exit 1 and 2"
	fail=1
else
	echo "the broken run failed as it must (2 failed 'unmapped iova' checks, both $b)"
fi
exit "$fail"
