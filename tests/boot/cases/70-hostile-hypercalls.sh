#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# smmu: pkvm
# Play a hostile host: issue the SMMU and IOMMU hypercalls with bad ids, unaligned,
# empty and overflowing ranges, bad flags, and pages the host does not own (hypervisor
# memory, SMMU MMIO, MMIO across memory), through debugfs/pkvm-smmu/hvc. Each must fail with its errno and
# change nothing. Then check the ownership rules on a real page: a DMA-mapped page
# cannot be shared with the hypervisor, a page shared with the hypervisor cannot be
# mapped, and unmap and domain free give pages back. The host keeps running
# (no-kernel-warnings runs after this).
. /tests/lib-hvc.sh
fail=0

# Like expect, for a call that may first ask for memory: the host tops up and repeats
# it, as the driver does, and the repeat must then fail for the real reason.
expect_topup() {	# expect_topup WANT REGISTER DESCRIPTION CALL...
	want=$1 reg=$2 desc=$3
	shift 3
	with_topup "$reg" "$@"
	if [ "$R1" = "$want" ]; then
		echo "ok: $desc: $* -> $R1"
	else
		echo "FAIL: $desc: $* -> $R1 $R2 $R3 (want $want)"
		fail=1
	fi
}

hyp=$(dmesg | sed -n 's/.*kvm \[0\]: Reserved [0-9]* MiB at \(0x[0-9a-f]*\).*/\1/p' | head -n 1)
[ -n "$hyp" ] || { echo "cannot find the hypervisor's memory in the kernel log"; exit 1; }
ram=$(sed -n 's/^ *\([0-9a-f]*\)-[0-9a-f]* : System RAM$/0x\1/p' /proc/iomem | head -n 1)
[ -n "$ram" ] || { echo "no System RAM in /proc/iomem"; exit 1; }
# Any page for the malformed calls below; a page the host owns is picked later.
page=$(printf '0x%x' $((ram + 0x1000000)))

expect $EPERM "registration after pKVM finalised" smmu_register 0x9000000 0x20000 0 0
expect $EINVAL "event queue of an SMMU index out of range" smmu_pop_event 16
expect $EINVAL "event queue of a huge SMMU index" smmu_pop_event 0xffffffffffffffff
expect $EINVAL "event queue of an unregistered SMMU" smmu_pop_event 15
expect $EINVAL "topup of no pages" iommu_topup 0 0
expect $EINVAL "topup with an unaligned list head" iommu_topup 0x1001 1
expect $EINVAL "topup of too many pages" iommu_topup "$page" 0x100000
expect $EINVAL "domain of type 0" iommu_alloc_domain 0
expect $EINVAL "domain of an unknown type" iommu_alloc_domain 0xffffffffffffffff
expect $EINVAL "free of a domain id out of range" iommu_free_domain 1024
expect $EINVAL "free of a huge domain id" iommu_free_domain 0xffffffffffffffff
expect $ENOENT "free of an unused domain id" iommu_free_domain 1023
expect $ENOENT "map into an unused domain id" iommu_map 1023 0x1000 "$page" 0x1000 3
expect $ENOENT "iova_to_phys of an unused domain id" iommu_iova_to_phys 1023 0
expect $EINVAL "domain_info of an SMMU index out of range" iommu_domain_info 0 16

with_topup 2 iommu_alloc_domain 1
dom=$R1
case "$dom" in -*) echo "FAIL: cannot allocate a domain: $dom"; exit 1 ;; esac
echo "domain $dom"

expect $EINVAL "map of an unaligned IOVA" iommu_map "$dom" 0x1001 "$page" 0x1000 3
expect $EINVAL "map of an unaligned address" iommu_map "$dom" 0x1000 $((page + 1)) 0x1000 3
expect $EINVAL "map of nothing" iommu_map "$dom" 0x1000 "$page" 0 3
expect $EINVAL "map of an unaligned size" iommu_map "$dom" 0x1000 "$page" 0x800 3
expect $EINVAL "map with no permission" iommu_map "$dom" 0x1000 "$page" 0x1000 0
expect $EINVAL "map with unknown permission bits" iommu_map "$dom" 0x1000 "$page" 0x1000 7
expect $EINVAL "map of an IOVA range that wraps" iommu_map "$dom" 0xfffffffffffff000 "$page" 0x2000 3
expect $EINVAL "map beyond the domain's input size" iommu_map "$dom" 0x8000000000 "$page" 0x1000 3
expect $EINVAL "map of an address range that wraps" iommu_map "$dom" 0x1000 0xfffffffffffff000 0x2000 3
expect_topup $EPERM 3 "map of hypervisor memory" iommu_map "$dom" 0x1000 "$hyp" 0x1000 3
expect_topup $EPERM 3 "map of SMMU registers" iommu_map "$dom" 0x1000 0xc000000 0x1000 3
expect_topup $EINVAL 3 "map of MMIO and memory in one range" \
	iommu_map "$dom" 0x1000 $((ram - 0x1000)) 0x2000 3
expect $EINVAL "attach through an SMMU index out of range" iommu_attach "$dom" 16 0
expect $EINVAL "attach of a stream id out of range" iommu_attach "$dom" 0 0xffffffff
expect $ENOENT "attach to an unused domain id" iommu_attach 1023 0 0
expect $ENOENT "detach of a stream that is not attached" iommu_detach "$dom" 0 0x10
expect $EINVAL "unmap of an unaligned IOVA" iommu_unmap "$dom" 0x1001 0x1000
expect $EINVAL "unmap of nothing" iommu_unmap "$dom" 0x1000 0
expect $EINVAL "unmap of an IOVA range that wraps" iommu_unmap "$dom" 0xfffffffffffff000 0x2000
expect $EINVAL "iova_to_phys beyond the input size" iommu_iova_to_phys "$dom" 0x8000000000

# The identity domain (host DMA by default): the same id every time, never
# mapped, unmapped or freed by the host, and it maps host memory 1:1 but not
# the hypervisor's.
with_topup 2 iommu_alloc_domain 2
idn=$R1
case "$idn" in -*) echo "FAIL: no identity domain: $idn"; exit 1 ;; esac
expect "$idn" "identity domain again" iommu_alloc_domain 2
expect $EPERM "map into the identity domain" iommu_map "$idn" 0x1000 "$page" 0x1000 3
expect $EPERM "unmap from the identity domain" iommu_unmap "$idn" "$page" 0x1000
expect $EPERM "free of the identity domain" iommu_free_domain "$idn"
expect $ENOENT "identity translation of hypervisor memory" iommu_iova_to_phys "$idn" "$hyp"

# 512 pages the host owns now, for the batch below: the identity domain maps
# exactly those, 1:1. Pages the host gave the hypervisor (its IOMMU memory, say)
# are not, so a range with one of them is skipped.
host_range() {	# host_range START: all 512 pages of [START, START + 2 MiB) the host's?
	for j in $(seq 0 511); do
		a=$(printf '0x%x' $(($1 + j * 0x1000)))
		hvc iommu_iova_to_phys "$idn" "$a"
		[ "$R1" = 0 ] || return 1
		[ "$R2" = "$a" ] || { echo "FAIL: identity maps $a to $R2"; fail=1; }
	done
}
page=
for i in $(seq 0 63); do
	cand=$(printf '0x%x' $((ram + 0x1000000 + i * 0x400000)))
	if host_range "$cand"; then
		page=$cand
		break
	fi
done
[ -n "$page" ] || { echo "FAIL: no host page in the identity domain"; exit 1; }
pfn=$(printf '0x%x' $((page >> 12)))
echo "hypervisor memory at $hyp, host page $page"

# MSI doorbells: the host named them before pKVM finalised. A domain maps them one
# page at a time and write-only, and the identity domain 1:1. Other host MMIO (the
# rest of the ITS frame here; a peer's BAR for peer-to-peer DMA) a domain may map.
db=$(dmesg | sed -n 's/.*MSI doorbell at \(0x[0-9a-f]*\) registered.*/\1/p' | head -n 1)
if [ -z "$db" ]; then
	echo "FAIL: no MSI doorbell registered with the hypervisor"
	fail=1
else
	db=$(printf '0x%x' $((db)))
	expect $EPERM "doorbell registration after pKVM finalised" iommu_register_doorbell "$db"
	expect_topup $EPERM 3 "read-write map of a doorbell" iommu_map "$dom" 0x8000000 "$db" 0x1000 3
	expect_topup $EPERM 3 "map of a doorbell and the page after it" \
		iommu_map "$dom" 0x8000000 "$db" 0x2000 2
	expect_topup $EPERM 3 "map of the page before a doorbell and the doorbell" \
		iommu_map "$dom" 0x8000000 $((db - 0x1000)) 0x2000 2
	expect_topup 0 3 "map of the page after a doorbell (host MMIO)" \
		iommu_map "$dom" 0x8001000 $((db + 0x1000)) 0x1000 3
	expect 0 "its unmap" iommu_unmap "$dom" 0x8001000 0x1000
	expect_topup 0 3 "write-only map of a doorbell" iommu_map "$dom" 0x8000000 "$db" 0x1000 2
	expect 0 "its translation" iommu_iova_to_phys "$dom" 0x8000000
	[ "$R2" = "$db" ] || { echo "FAIL: the doorbell IOVA translates to $R2"; fail=1; }
	expect 0 "its unmap" iommu_unmap "$dom" 0x8000000 0x1000
	expect 0 "the identity domain's doorbell" iommu_iova_to_phys "$idn" "$db"
	[ "$R2" = "$db" ] || { echo "FAIL: the identity domain maps the doorbell to $R2"; fail=1; }
fi

# Ownership on a real host page.
with_topup 3 iommu_map "$dom" 0x1000 "$page" 0x1000 3
[ "$R1" = 0 ] && [ "$R2" = 0x1000 ] || { echo "FAIL: map of a host page: $R1 $R2"; fail=1; }
expect_topup $EEXIST 3 "map over a mapped IOVA" iommu_map "$dom" 0x1000 "$page" 0x1000 3
expect 0 "iova_to_phys of a mapped IOVA" iommu_iova_to_phys "$dom" 0x1234
[ "$R2" = "$(printf '0x%x' $((page + 0x234)))" ] || { echo "FAIL: iova_to_phys gave $R2"; fail=1; }
expect $EPERM "sharing a DMA-mapped page with the hypervisor" host_share_hyp "$pfn"
expect 0 "unmap" iommu_unmap "$dom" 0x1000 0x1000
expect $ENOENT "iova_to_phys after unmap" iommu_iova_to_phys "$dom" 0x1000
expect 0 "sharing the page with the hypervisor once unmapped" host_share_hyp "$pfn"
expect_topup $EPERM 3 "map of a page shared with the hypervisor" iommu_map "$dom" 0x1000 "$page" 0x1000 3
expect 0 "unsharing it" host_unshare_hyp "$pfn"

# A whole batch, then free the domain with it still mapped: the pages come back.
with_topup 3 iommu_map "$dom" 0x200000 "$page" 0x200000 3
[ "$R1" = 0 ] && [ "$R2" = 0x200000 ] || { echo "FAIL: map of 512 pages: $R1 $R2"; fail=1; }
expect $EPERM "sharing a page of the batch" host_share_hyp $((pfn + 0x100))
free_domain "$dom"
[ "$R1" = 0 ] || { echo "FAIL: free of a domain with mappings: $R1 after $FREE_CALLS calls"; fail=1; }
expect 0 "sharing a page of the batch after the free" host_share_hyp $((pfn + 0x100))
expect 0 "unsharing it" host_unshare_hyp $((pfn + 0x100))
expect $ENOENT "free of a freed domain" iommu_free_domain "$dom"

# Freeing is bounded work per call: a domain with one page in each of eight 1 GiB
# slots (a level-2 and a level-3 table each) takes several calls; from the first
# one on, the domain is dying and no other call can name it.
with_topup 2 iommu_alloc_domain 1
dom=$R1
for i in 0 1 2 3 4 5 6 7; do
	with_topup 3 iommu_map "$dom" $((i << 30)) $((page + i * 0x1000)) 0x1000 3
	[ "$R1" = 0 ] || { echo "FAIL: sparse map $i: $R1"; fail=1; }
done
expect $EAGAIN "first step of freeing a sparse domain" iommu_free_domain "$dom"
expect_topup $ENOENT 3 "map into a dying domain" iommu_map "$dom" 0x1000 "$page" 0x1000 3
expect $ENOENT "unmap from a dying domain" iommu_unmap "$dom" 0 0x1000
expect $ENOENT "iova_to_phys in a dying domain" iommu_iova_to_phys "$dom" 0
expect $EPERM "sharing a page still mapped by the dying domain" host_share_hyp $((pfn + 7))
free_domain "$dom"
[ "$R1" = 0 ] && [ "$FREE_CALLS" -ge 3 ] ||
	{ echo "FAIL: free of a sparse domain: $R1 after $FREE_CALLS calls (want 0, 3 calls or more)"; fail=1; }
echo "sparse domain freed in $FREE_CALLS calls"
expect 0 "sharing its last page after the free" host_share_hyp $((pfn + 7))
expect 0 "unsharing it" host_unshare_hyp $((pfn + 7))
exit "$fail"
