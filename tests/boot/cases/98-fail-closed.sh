#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# smmu: pkvm
# The hypervisor fails closed when an SMMU does not confirm an invalidation. The
# debug knob __pkvm_smmu_inject_fault (CONFIG_PKVM_SMMU_V3_FAULT_INJECT) makes the
# next command batch of an SMMU fail: a rejected command before it (a real CMDQ_ERR,
# handled by the error path) or a CMD_SYNC reported as timed out.
# 1. Unmap from a paging domain attached through that SMMU fails, and the page stays
#    borrowed: the host can no longer share it, let alone give it away, and the IOVA
#    cannot be mapped again; a second unmap, the SMMU answering again, invalidates
#    again and gives the page back.
# 2. A page leaving the host (a top-up donates it to the hypervisor) while every SMMU
#    fails its invalidation: the identity domain drops it all the same, and every
#    SMMU of the identity domain is stopped. A device whose DMA landed a moment
#    before no longer reaches memory, and the SMMUs are no longer usable.
# This stops every SMMU: it runs last (before no-kernel-warnings).
. /tests/lib-hvc.sh
fail=0

expect $EINVAL "injection on an SMMU index out of range" smmu_inject_fault 16 0 1
expect $EINVAL "injection of an unknown kind" smmu_inject_fault 1 0 3
expect $EINVAL "injection after too many batches" smmu_inject_fault 1 0x200000 1

ram=$(sed -n 's/^ *\([0-9a-f]*\)-[0-9a-f]* : System RAM$/0x\1/p' /proc/iomem | head -n 1)
[ -n "$ram" ] || { echo "no System RAM in /proc/iomem"; exit 1; }
host_page_after $((ram + 0x1000000)) || { echo "no host page found"; exit 1; }
p1=$PAGE
host_page_after $((p1 + 0x1000)) 0x1000 || { echo "no second host page found"; exit 1; }
p2=$PAGE
echo "host pages $p1 and $p2"

# 1. A paging domain on SMMU 1 (a stream no device uses).
with_topup 2 iommu_alloc_domain 1
dom=$R1
with_topup 2 iommu_attach "$dom" 1 0xfff8
[ "$R1" = 0 ] || { echo "FAIL: attach: $R1"; exit 1; }
for kind in "$EIO:2:a rejected command" "$ETIMEDOUT:1:a timed-out CMD_SYNC"; do
	# expect() sets want and desc: these must be other names.
	errno=${kind%%:*} k=${kind#*:}; k=${k%%:*} what=${kind##*:}
	[ "$k" = 2 ] && p=$p1 || p=$p2
	with_topup 3 iommu_map "$dom" 0x1000 "$p" 0x1000 3
	[ "$R1" = 0 ] || { echo "FAIL: map of $p: $R1"; fail=1; continue; }
	expect 0 "arming $what on SMMU 1" smmu_inject_fault 1 0 "$k"
	expect "$errno" "unmap through $what" iommu_unmap "$dom" 0x1000 0x1000
	expect $ENOENT "the IOVA is unmapped all the same" iommu_iova_to_phys "$dom" 0x1000
	expect $EPERM "the page stays borrowed: the host cannot share it" \
		host_share_hyp $((p >> 12))
	expect $EEXIST "the IOVA cannot be mapped again before an unmap succeeds" \
		iommu_map "$dom" 0x1000 "$p" 0x1000 3
	expect 0 "a second unmap invalidates again" iommu_unmap "$dom" 0x1000 0x1000
	expect 0 "the page is the host's again: it can share it" host_share_hyp $((p >> 12))
	expect 0 "and take it back" host_unshare_hyp $((p >> 12))
done
expect 0 "detach" iommu_detach "$dom" 1 0xfff8
free_domain "$dom"
[ "$R1" = 0 ] || { echo "FAIL: free: $R1"; fail=1; }

# 2. The identity domain: an edu device with no driver DMAs through it.
. /tests/lib-edu.sh
edu_without_driver || exit 1
bdf=$EDU_BDF
edu_raw_dma --expect landed "$bdf" || { echo "FAIL: $bdf: DMA did not land before"; exit 1; }
for i in 0 1 2 3; do
	expect 0 "arming a timed-out CMD_SYNC on SMMU $i" smmu_inject_fault "$i" 0 1
done
hvc topup 1
echo "top-up of one page (it leaves the identity domain): $R1"
edu_raw_dma --expect blocked "$bdf" ||
	{ echo "FAIL: $bdf: DMA still lands after the SMMUs failed an invalidation"; fail=1; }
for i in 0 1 2 3; do
	expect $EINVAL "SMMU $i is stopped for good" smmu_inject_fault "$i" 0 0
done
exit "$fail"
