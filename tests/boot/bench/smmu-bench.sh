#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# smmu: pkvm stock
# The DMA invalidation benchmark (make bench, on the bench8 topology): smmu_bench on
# one edu per SMMU, for domains spanning 1, 2, 4 and 8 SMMUs, then (pkvm only) the same
# with one domain per SMMU, memcache top-ups, and a protected guest faulting its
# memory in (pvm_dma --bench). Their BENCH, MARK and MEM lines are
# what scripts/bench.sh reads, with the SMMU commands QEMU traced between the markers.
. /tests/lib-edu.sh
edus=$(edu_list)
n=$(echo $edus | wc -w)
[ "$n" -ge 1 ] || { echo "no edu device"; exit 1; }
for e in $edus; do
	d=/sys/bus/pci/devices/$e
	if [ "$(basename "$(readlink "$d/driver" 2>/dev/null)")" != vfio-pci ]; then
		[ -e "$d/driver" ] && echo "$e" >"$d/driver/unbind"
		echo vfio-pci >"$d/driver_override"
		echo "$e" >/sys/bus/pci/drivers_probe
	fi
done
smmus=
for k in 1 2 4 8; do
	[ "$k" -le "$n" ] && smmus=$smmus${smmus:+,}$k
done
echo 8 >/proc/sys/vm/nr_hugepages
topup=
[ "$PKVM_SMMU" = pkvm ] && topup="--topup 1,16,256,1024 --per-smmu"
echo "\$ smmu_bench --devices $(echo $edus | tr ' ' ,) --smmus $smmus --iters 256 $topup"
smmu_bench --devices "$(echo $edus | tr ' ' ,)" --smmus "$smmus" --iters 256 $topup || exit 1
[ "$PKVM_SMMU" = pkvm ] || exit 0

# A protected guest faulting in N pages, each donated to it and so taken out of the
# identity domain (all eight SMMUs): runs of 1 and of 257 pages, so that the
# difference is 256 faults, without the VM's own creation and teardown.
set -- $edus
first=$1
id=1000
for pages in 1 257; do
	smmu_bench --devices "$first" --mark "$id:pvm-fault:$pages" || exit 1
	pvm_dma --bench "$pages" || exit 1
	smmu_bench --devices "$first" --unmark "$id" || exit 1
	id=$((id + 1))
done
