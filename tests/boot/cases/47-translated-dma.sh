#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# smmu: pkvm
# Translated DMA domains for host DMA. The identity domain is only the default: an
# edu whose IOMMU group type is set to DMA (sysfs) gets a hypervisor paging domain as
# its default domain, and the kernel's DMA API maps into it. The in-kernel test
# driver pkvm-edu-dmatest (CONFIG_PKVM_SMMU_V3_DMA_TEST) then moves a page by DMA
# through it, and after dma_unmap_single() a DMA to the stale address reaches
# nothing and the SMMU reports the fault there. Set back to identity, the same test
# sees DMA addresses equal to physical ones. The driver answers iova_to_phys() (which
# iommu-dma asks before every unmap) from its own record: right for a mapped page, 0
# once unmapped. As DMA-FQ (a flush queue), a page of a
# deferred unmap can leave the host only once the SMMUs no longer reach it.
. /tests/lib-edu.sh
V=/sys/kernel/debug/pkvm-smmu/domains
edu_without_driver || exit 1
bdf=$EDU_BDF
d=/sys/bus/pci/devices/$bdf
sid=$(edu_sid "$bdf")
type=$d/iommu_group/type
fail=0

# dmatest: probe the device with pkvm-edu-dmatest and print what it logged.
dmatest() {
	_n=$(dmesg | wc -l)
	echo pkvm-edu-dmatest >"$d/driver_override"
	echo "$bdf" >/sys/bus/pci/drivers_probe
	echo >"$d/driver_override"
	dmesg | tail -n +"$((_n + 1))" | grep "pkvm-edu-dmatest $bdf:" |
		sed 's/^\[[ 0-9.]*\] //' >/tmp/dmatest.log
	cat /tmp/dmatest.log
	[ -s /tmp/dmatest.log ] || { echo "pkvm-edu-dmatest logged nothing"; return 1; }
	! grep -q "not ok" /tmp/dmatest.log
}

# dmabench GRANULE: the kernel's dma_map_benchmark, two threads mapping and
# unmapping at once for a second, through the group's domain. The driver's record
# of the domain must keep up (iommu-dma warns if iova_to_phys() finds nothing to
# unmap), and so must the hypervisor.
dmabench() {
	_w=$(dmesg | grep -c "WARNING:")
	echo dma_map_benchmark >"$d/driver_override"
	echo "$bdf" >/sys/bus/pci/drivers_probe
	_out=$(dma_map_benchmark -t 2 -s 1 -g "$1" -b 64 2>&1)
	_rc=$?
	[ -e "$d/driver" ] && echo "$bdf" >"$d/driver/unbind"
	echo >"$d/driver_override"
	echo "$_out" | grep "average"
	[ "$_rc" = 0 ] || { echo "FAIL: dma_map_benchmark -g $1 ($(cat "$type")): $_out"; return 1; }
	[ "$(dmesg | grep -c "WARNING:")" = "$_w" ] ||
		{ echo "FAIL: a kernel warning during dma_map_benchmark -g $1 ($(cat "$type"))"; return 1; }
	echo "dma_map_benchmark -t 2 -g $1 through $(cat "$type"): no error, no warning"
}

[ "$(cat "$type")" = identity ] || { echo "$bdf: default domain $(cat "$type"), not identity"; fail=1; }
echo DMA >"$type" || { echo "cannot set the group of $bdf to DMA"; exit 1; }
[ "$(cat "$type")" = DMA ] || { echo "$bdf: group type $(cat "$type") after setting DMA"; exit 1; }
echo "$bdf: group type DMA"
if [ -r "$V" ]; then
	cat "$V"
	grep -q "streams 1 " "$V" || { echo "the hypervisor shows no paging domain with the device"; fail=1; }
fi

dmatest || fail=1
grep -q "default domain DMA:" /tmp/dmatest.log || { echo "the test did not run in a DMA domain"; fail=1; }
grep -q "ok 1 - a page moves" /tmp/dmatest.log || { echo "no DMA through the translated domain"; fail=1; }
grep -q "ok 2 - nothing arrives" /tmp/dmatest.log || { echo "the stale address was not checked"; fail=1; }
grep -q "ok [0-9]* - iova_to_phys() finds nothing at the unmapped address" /tmp/dmatest.log ||
	{ echo "the driver's iova_to_phys() was not checked"; fail=1; }
dmabench 1 || fail=1
dmabench 256 || fail=1
stale=$(sed -n 's/.*DMA to the unmapped address \(0x[0-9a-f]*\).*/\1/p' /tmp/dmatest.log)
if [ -n "$stale" ]; then
	edu_fault_reported "sid $sid addr $(printf '0x%016x' $((stale)))" ||
		{ echo "no SMMU fault reported for the unmapped address $stale"; fail=1; }
else
	echo "the test printed no unmapped address"
	fail=1
fi

# DMA-FQ: unmaps deferred to a flush queue, whose 10 ms timer flushes before an
# edu DMA (100 ms) can show the stale translation; the test shows it in a paging
# domain of its own, unmapped as a flush queue does. Each page of a deferred unmap
# is given to the hypervisor, then DMAed to through the stale address: that must
# fault (the hypervisor invalidated before the page left the host), as must the
# DMA after the queue's flush.
echo DMA-FQ >"$type" || { echo "cannot set the group of $bdf to DMA-FQ"; exit 1; }
[ "$(cat "$type")" = DMA-FQ ] || { echo "$bdf: group type $(cat "$type") after DMA-FQ"; exit 1; }
echo "$bdf: group type DMA-FQ"
n0=$(dmesg | wc -l)
dmatest || fail=1
for what in "default domain DMA-FQ:" "ok 1 - a page moves" \
	"iova_to_phys() finds nothing at the unmapped address" \
	"after a deferred unmap the stale translation still reaches the page" \
	"after the flush nothing arrives"; do
	grep -q "$what" /tmp/dmatest.log || { echo "FAIL: DMA-FQ: no '$what'"; fail=1; }
done
[ "$(grep -c ": ok [0-9]* - the page of a deferred unmap can leave the host" /tmp/dmatest.log)" = 2 ] ||
	{ echo "FAIL: DMA-FQ: the pages of deferred unmaps were not both given away"; fail=1; }
# new_faults ADDR: the fault reports at ADDR since the test ran, after up to 2 s.
new_faults() {
	_pat="event 0x10 sid $sid addr $(printf '0x%016x' $(($1)))"
	_i=0
	until dmesg | tail -n +"$((n0 + 1))" | grep -q "$_pat" || [ "$_i" -ge 20 ]; do
		_i=$((_i + 1))
		sleep 0.1
	done
	dmesg | tail -n +"$((n0 + 1))" | grep -c "$_pat"
}
# The test's own domain: one stale DMA each at fixed addresses, after the flush and
# after the page left the host. Through the DMA API, the flush queue may have
# flushed before the DMA before the donation (then both fault): count them.
for stale in $(sed -n 's/.*DMA to \(0x[0-9a-f]*\) after the flush$/\1/p; s/.*DMA to the unmapped address \(0x[0-9a-f]*\) of a page the hypervisor owns$/\1/p' /tmp/dmatest.log); do
	want=1
	case $((stale)) in
	$((0x40000000)) | $((0x40200000))) ;;	# the test's own domain (SZ_1G, + 2M)
	*) grep -q "reached nothing (flushed already)" /tmp/dmatest.log && want=2 ;;
	esac
	got=$(new_faults "$stale")
	if [ "$got" -ge "$want" ]; then
		echo "the stale address $stale faulted ($got report(s), $want wanted)"
	else
		echo "FAIL: $got fault report(s) at $stale, want $want: a stale translation reached the page"
		fail=1
	fi
done
[ "$(grep -c "after the flush$\|of a page the hypervisor owns$" /tmp/dmatest.log)" = 3 ] ||
	{ echo "FAIL: DMA-FQ: the test did not make its three stale DMAs"; fail=1; }
dmabench 256 || fail=1

echo identity >"$type" || { echo "cannot set the group of $bdf back to identity"; exit 1; }
[ "$(cat "$type")" = identity ] || { echo "$bdf: group type $(cat "$type") after identity"; fail=1; }
dmatest || fail=1
grep -q "default domain identity:" /tmp/dmatest.log || { echo "the test did not run in the identity domain"; fail=1; }
grep -q "ok 1 - a page moves" /tmp/dmatest.log || { echo "no DMA through the identity domain"; fail=1; }
exit "$fail"
