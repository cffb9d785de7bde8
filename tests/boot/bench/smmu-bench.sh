#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# smmu: pkvm stock
# The DMA invalidation benchmark (make bench, on the bench8 topology): smmu_bench on
# one edu per SMMU, for domains spanning 1, 2, 4 and 8 SMMUs, then (pkvm only) the same
# with one domain per SMMU, memcache top-ups, a KVM guest's VMM unmapping its memory
# from the IOAS (vfio_edu_unmap_perf_test), the kernel's dma_map_benchmark, a
# protected guest faulting its memory in (pvm_dma --bench), and a protected VM whose
# stage-2 changes under its assigned devices (pvm_dma --reclaim-bench). Their BENCH,
# MARK, MEM and DMABENCH lines are what scripts/bench.sh reads, with the SMMU commands
# QEMU traced between the markers.
. /tests/lib-edu.sh
edus=$(edu_list)
n=$(echo $edus | wc -w)
[ "$n" -ge 1 ] || { echo "no edu device"; exit 1; }
for e in $edus; do
	vfio_bind "$e" || exit 1
done
smmus=
for k in 1 2 4 8; do
	[ "$k" -le "$n" ] && smmus=$smmus${smmus:+,}$k
done
echo 8 >/proc/sys/vm/nr_hugepages
topup=
[ "$PKVM_SMMU" = pkvm ] && topup="--topup 1,16,256,1024 --per-smmu --locked"
echo "\$ smmu_bench --devices $(echo $edus | tr ' ' ,) --smmus $smmus --iters 256 $topup"
smmu_bench --devices "$(echo $edus | tr ' ' ,)" --smmus "$smmus" --iters 256 $topup || exit 1

# A VMM unmapping its guest's memory (every page shared with the guest) from the IOAS
# of devices assigned to it, behind 1, 2, 4 and 8 SMMUs (case 2c); marker ids from
# 2000, away from smmu_bench's and the protected guest's below.
echo "\$ vfio_edu_unmap_perf_test -i 128 -m 2000 $edus"
/tests/kvm-selftest arm64/vfio_edu_unmap_perf_test -i 128 -m 2000 $edus || exit 1

# The kernel's DMA API benchmark (tools/dma) on the first edu, through its default
# domain: the hypervisor's identity domain (pkvm) or the stock driver's translated,
# strict one; with pkvm, then through a translated domain of the hypervisor's too
# (the group's type set to DMA); then, with either driver, through a translated
# domain with a flush queue (DMA-FQ). Map and unmap of 4 KiB and 1 MiB, one and two
# threads.
set -- $edus
first=$1
d=/sys/bus/pci/devices/$first
echo "$first" >"$d/driver/unbind"
dma_bench() {
	echo dma_map_benchmark >"$d/driver_override"
	echo "$first" >/sys/bus/pci/drivers_probe
	[ "$(basename "$(readlink "$d/driver")")" = dma_map_benchmark ] ||
		{ echo "$first did not bind to dma_map_benchmark"; return 1; }
	dom=$(cat "$d/iommu_group/type")
	for granule in 1 256; do
		for threads in 1 2; do
			out=$(dma_map_benchmark -t "$threads" -s 3 -g "$granule" -b 64) ||
				{ echo "dma_map_benchmark -t $threads -g $granule failed"; return 1; }
			echo "$out"
			map=$(echo "$out" | sed -n 's/^average map latency(us):\([0-9.]*\).*/\1/p')
			unmap=$(echo "$out" | sed -n 's/^average unmap latency(us):\([0-9.]*\).*/\1/p')
			echo "DMABENCH domain=$dom granule=$granule threads=$threads map_us=$map unmap_us=$unmap"
		done
	done
	echo "$first" >"$d/driver/unbind"
	echo >"$d/driver_override"
}
default_type=$(cat "$d/iommu_group/type")
dma_bench || exit 1
if [ "$PKVM_SMMU" = pkvm ]; then
	echo DMA >"$d/iommu_group/type" || { echo "cannot set $first to a DMA domain"; exit 1; }
	dma_bench || exit 1
fi
echo DMA-FQ >"$d/iommu_group/type" || { echo "cannot set $first to a DMA-FQ domain"; exit 1; }
dma_bench || exit 1
echo "$default_type" >"$d/iommu_group/type" ||
	{ echo "cannot set $first back to $default_type"; exit 1; }
[ "$PKVM_SMMU" = pkvm ] || exit 0

# A protected guest faulting in N pages, each donated to it and so taken out of the
# identity domain (all eight SMMUs): runs of 1 and of 257 pages, so that the
# difference is 256 faults, without the VM's own creation and teardown.
id=1000
for pages in 1 257; do
	smmu_bench --devices "$first" --mark "$id:pvm-fault:$pages" || exit 1
	pvm_dma --bench "$pages" || exit 1
	smmu_bench --devices "$first" --unmark "$id" || exit 1
	id=$((id + 1))
done

# A protected VM's stage-2 changing under its assigned devices (issue 11): the host
# takes guest pages back (pvm_dma --reclaim-bench) while the VM's streams are on
# one SMMU, then on two (the second and third edus: the first one marks). Runs of
# 0 and 256 pages, the same VM otherwise: the difference is 256 stage-2 changes,
# each invalidating every SMMU of the VM's domain.
set -- $edus
shift
assign= smmus_used=
for k in 1 2; do
	[ $# -ge 1 ] || { echo "no edu left for a protected VM's domain on $k SMMU(s)"; exit 1; }
	b=$1
	shift
	idx=$(edu_smmu_idx "$b")
	sid=$(edu_sid "$b")
	[ -n "$idx" ] && [ -n "$sid" ] || { echo "edu $b: no SMMU index or stream id"; exit 1; }
	case " $smmus_used " in
	*" $idx "*) echo "edu $b: SMMU $idx again, the domain would not span $k SMMUs"; exit 1 ;;
	esac
	smmus_used="$smmus_used $idx"
	d=/sys/bus/pci/devices/$b
	if [ -e "$d/driver" ]; then
		echo "$b" >"$d/driver/unbind" || { echo "cannot unbind edu $b"; exit 1; }
		echo >"$d/driver_override"
	fi
	assign="$assign --assign $b,$idx,$sid"
	for pages in 0 256; do
		smmu_bench --devices "$first" --mark "$id:pvm-reclaim-$k:$pages" || exit 1
		echo "\$ pvm_dma --dma$assign --reclaim-bench $pages"
		# shellcheck disable=SC2086
		pvm_dma --dma $assign --reclaim-bench "$pages" || exit 1
		smmu_bench --devices "$first" --unmark "$id" || exit 1
		id=$((id + 1))
	done
done
