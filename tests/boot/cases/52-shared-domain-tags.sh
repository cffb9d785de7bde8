#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# smmu: pkvm
# One iommufd IOAS with the four edu devices behind three SMMUs is one hypervisor
# domain: one page table, and on each of the three SMMUs a tag (VMID) of that SMMU's
# own, used by as many streams as the SMMU has devices in the IOAS (two behind one).
# DMA works through all three SMMUs and faults after unmap (edu_dma's checks), and
# the hypervisor's view is read from debugfs/pkvm-smmu/domains while it runs.
V=/sys/kernel/debug/pkvm-smmu/domains
[ -r "$V" ] || { echo "no $V (CONFIG_PKVM_SMMU_V3_DEBUGFS?)"; exit 1; }
. /tests/lib-edu.sh
edus=$(edu_list | tr '\n' ,)
edus=${edus%,}
edu_dma --api iommufd --devices "$edus" --exec "cat $V >/tmp/domains" || exit 1
cat /tmp/domains

# Lines: "domain ID smmu IDX vmid VMID streams N root PHYS".
ndom=$(awk '{ print $2 }' /tmp/domains | sort -u | wc -l)
nroot=$(awk '{ print $10 }' /tmp/domains | sort -u | wc -l)
nsmmu=$(awk '{ print $4 }' /tmp/domains | sort -u | wc -l)
streams=$(awk '{ s += $8 } END { print s }' /tmp/domains)
two=$(awk '$8 == 2' /tmp/domains | wc -l)
zero=$(awk '$6 == 0' /tmp/domains | wc -l)
fail=0
[ "$ndom" = 1 ] || { echo "expected one domain, found $ndom"; fail=1; }
[ "$nroot" = 1 ] || { echo "expected one page table, found $nroot"; fail=1; }
[ "$nsmmu" = 3 ] || { echo "expected tags on 3 SMMUs, found $nsmmu"; fail=1; }
[ "$streams" = 4 ] || { echo "expected 4 streams, found $streams"; fail=1; }
[ "$two" = 1 ] || { echo "expected one SMMU with 2 streams on one tag, found $two"; fail=1; }
[ "$zero" = 0 ] || { echo "VMID 0 is reserved but in use"; fail=1; }
# The host log says so too: one line per attach, the same page table on each SMMU.
dom=$(awk '{ print $2; exit }' /tmp/domains)
root=$(awk '{ print $10; exit }' /tmp/domains)
nlog=$(dmesg | grep "domain $dom: page table $root, on SMMU" | sed 's/.*on SMMU \([0-9]*\).*/\1/' | sort -u | wc -l)
dmesg | grep "domain $dom: page table $root, on SMMU" | tail -n 4 | sed "s/^/host log: /"
[ "$nlog" = 3 ] || { echo "expected the host log to show the domain on 3 SMMUs, found $nlog"; fail=1; }
# Once the devices are released the domain is gone, with its tags.
[ ! -s "$V" ] || { echo "the hypervisor still has domains:"; cat "$V"; fail=1; }
exit "$fail"
