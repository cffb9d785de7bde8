#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot the pKVM host on the reference topology and return the guest's verdict.
#
# usage: run-qemu.sh [--mode hvhe|nvhe] [--interactive] [--timeout SECONDS]
#                    [--log FILE] [--tests LIST] [--quiet] [--smmu stock|pkvm|refused|cmdqv]
#                    [--trace FILE] [--topology ref|bench8]
#
# --smmu pkvm gives the SMMUs to the hypervisor (the default in protected mode);
# stock leaves them to the host's stock arm-smmu-v3 driver (pkvm_smmu=off); refused gives
# them to the hypervisor but has the host driver treat the third SMMU it probes as refused
# (pkvm_smmu_test_refuse=2) and defer the probe of the second until pKVM has finalised
# (pkvm_smmu_test_defer=1), to show that nothing then drives either; it also describes an
# SMMUv3 PMCG, which QEMU does not model, over the PL031 page (pkvm_smmu_test_pmcg: the
# RTC of UEFI's runtime services, which this boot keeps the host from calling with
# efi=noruntime), to show that the hypervisor takes it; cmdqv gives them to the hypervisor
# but adds an ACPI table that describes a Tegra241 CMDQV (scripts/cmdqv-ssdt.py), which the
# hypervisor cannot take, to show that pKVM then refuses to finalise. Boot tests declare
# which configurations they need.
#
# Topology (README.md): QEMU virt with EL2, GICv3, UEFI/ACPI, 2 vCPUs and four
# SMMUv3: smmu0 on pcie.0 and smmu1..3 on pxb-pcie expander buses, with one edu device
# behind each expander SMMU and a second edu behind smmu1. Every edu has a 64-bit DMA mask.
# --topology bench8 (for make bench) has eight SMMUs instead, each on an expander bus
# with one edu behind it, and no SMMU on pcie.0.
#
# The init script prints "PKVM-VERDICT: PASS" or "PKVM-VERDICT: FAIL" before powering
# off; the exit status is 0 for PASS, 1 for FAIL, 2 for a boot that gave no verdict
# (hang, timeout or crash) and 3 for bad arguments. Unless --quiet, the report (what the
# tests printed, without the kernel's messages) is shown at the end. --trace FILE has QEMU
# record every SMMUv3 command it consumes and every PCI config-space read (markers) in
# FILE, from its own trace events.
. "$(dirname "$0")/common.sh"

MODE=hvhe
INTERACTIVE=0
TIMEOUT=900
LOG=
TESTS=all
QUIET=0
SMMU=stock
TRACE=
TOPOLOGY=ref
usage() {
	echo "usage: $0 [--mode hvhe|nvhe] [--interactive] [--timeout SECONDS] [--log FILE] [--tests LIST] [--quiet] [--smmu stock|pkvm|refused|cmdqv] [--trace FILE] [--topology ref|bench8]" >&2
	exit "${1:-3}"
}
while [ $# -gt 0 ]; do
	case "$1" in
	--mode) MODE=${2:-}; shift 2 || usage ;;
	--interactive) INTERACTIVE=1; shift ;;
	--timeout) TIMEOUT=${2:-}; shift 2 || usage ;;
	--log) LOG=${2:-}; shift 2 || usage ;;
	--tests) TESTS=${2:-}; shift 2 || usage ;;
	--quiet) QUIET=1; shift ;;
	--smmu) SMMU=${2:-}; shift 2 || usage ;;
	--trace) TRACE=${2:-}; shift 2 || usage ;;
	--topology) TOPOLOGY=${2:-}; shift 2 || usage ;;
	-h|--help) sed -n '3,28s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "error: unknown argument '$1'" >&2; usage ;;
	esac
done
case "$MODE" in
hvhe) CPU=max ;;
# Cortex-A72 has no VHE, so pKVM runs in nVHE mode.
nvhe) CPU=cortex-a72 ;;
*) echo "error: unknown mode '$MODE' (hvhe or nvhe)" >&2; exit 3 ;;
esac
case "$SMMU" in
stock|pkvm|refused|cmdqv) ;;
*) echo "error: unknown --smmu '$SMMU' (stock, pkvm, refused or cmdqv)" >&2; exit 3 ;;
esac
case "$TOPOLOGY" in
ref|bench8) ;;
*) echo "error: unknown --topology '$TOPOLOGY' (ref or bench8)" >&2; exit 3 ;;
esac
case "$TIMEOUT" in
''|*[!0-9]*) echo "error: --timeout takes a number of seconds, not '$TIMEOUT'" >&2; exit 3 ;;
esac
case "$TESTS" in
*[!a-z0-9_,-]*|'') echo "error: --tests takes a comma-separated list of test names" >&2; exit 3 ;;
esac

reexec_in_root --mode "$MODE" $([ "$INTERACTIVE" = 1 ] && echo --interactive) \
	$([ "$QUIET" = 1 ] && echo --quiet) --smmu "$SMMU" \
	--timeout "$TIMEOUT" ${LOG:+--log "$LOG"} ${TRACE:+--trace "$TRACE"} --topology "$TOPOLOGY" \
	--tests "$TESTS"

IMAGE=$KOUT/arch/arm64/boot/Image
INITRD=$OUT/initramfs.cpio.gz
FIRMWARE=/usr/share/qemu-efi-aarch64/QEMU_EFI.fd
[ -r "$IMAGE" ] || die "no kernel Image; run 'make kernel'"
[ -r "$INITRD" ] || die "no initramfs; run 'make initramfs'"
[ -r "$FIRMWARE" ] || die "no UEFI firmware at $FIRMWARE"
LOG=${LOG:-$OUT/qemu-$MODE-$SMMU.log}
mkdir -p "$(dirname "$LOG")"

EDU="edu,dma_mask=0xffffffffffffffff"
topology=(
	-device arm-smmuv3,primary-bus=pcie.0,id=smmu0,stage=nested
	-device pxb-pcie,id=pxb1,bus_nr=32,bus=pcie.0
	-device arm-smmuv3,primary-bus=pxb1,id=smmu1,stage=nested
	-device pcie-root-port,id=rp1a,bus=pxb1,chassis=11,slot=0
	-device "$EDU,bus=rp1a,id=edu1a"
	-device pcie-root-port,id=rp1b,bus=pxb1,chassis=12,slot=0
	-device "$EDU,bus=rp1b,id=edu1b"
	-device pxb-pcie,id=pxb2,bus_nr=64,bus=pcie.0
	-device arm-smmuv3,primary-bus=pxb2,id=smmu2,stage=nested
	-device pcie-root-port,id=rp2,bus=pxb2,chassis=21,slot=0
	-device "$EDU,bus=rp2,id=edu2"
	-device pxb-pcie,id=pxb3,bus_nr=96,bus=pcie.0
	-device arm-smmuv3,primary-bus=pxb3,id=smmu3,stage=nested
	-device pcie-root-port,id=rp3,bus=pxb3,chassis=31,slot=0
	-device "$EDU,bus=rp3,id=edu3"
)
if [ "$TOPOLOGY" = bench8 ]; then
	topology=()
	for i in 1 2 3 4 5 6 7 8; do
		topology+=(-device "pxb-pcie,id=pxb$i,bus_nr=$((i * 16)),bus=pcie.0"
			   -device "arm-smmuv3,primary-bus=pxb$i,id=smmu$i,stage=nested"
			   -device "pcie-root-port,id=rp$i,bus=pxb$i,chassis=$((i * 10)),slot=0"
			   -device "$EDU,bus=rp$i,id=edu$i")
	done
fi

append="console=ttyAMA0 acpi=force kvm-arm.mode=protected panic=-1 pkvm_test.mode=$MODE"
append+=" pkvm_test.tests=$TESTS pkvm_test.interactive=$INTERACTIVE pkvm_test.smmu=$SMMU"
# The tests read the boot's own lines (an SMMU's index) from dmesg: keep all of them.
append+=" log_buf_len=4M"
[ "$SMMU" = stock ] && append+=" pkvm_smmu=off"
[ "$SMMU" = refused ] && append+=" pkvm_smmu_test_refuse=2 pkvm_smmu_test_defer=1 pkvm_smmu_test_pmcg=0x9010000 efi=noruntime"

# cmdqv: an ACPI table for the kernel's table upgrade, in a cpio in front of the root.
if [ "$SMMU" = cmdqv ]; then
	ssdt=$(dirname "$LOG")/cmdqv-ssdt.cpio
	python3 "$TOP/scripts/cmdqv-ssdt.py" "$ssdt" || exit 3
	cat "$ssdt" "$INITRD" >"$ssdt.initrd" || exit 3
	INITRD=$ssdt.initrd
fi
qemu=(qemu-system-aarch64
	-machine virt,virtualization=on,gic-version=3
	-cpu "$CPU" -smp 2 -m 2G
	-bios "$FIRMWARE"
	-kernel "$IMAGE" -initrd "$INITRD" -append "$append"
	-no-reboot
	"${topology[@]}")
if [ -n "$TRACE" ]; then
	mkdir -p "$(dirname "$TRACE")"
	qemu+=(-D "$TRACE" -trace "enable=smmuv3_cmdq_*" -trace "enable=pci_cfg_read"
	       -trace "enable=memory_region_ops_write")
fi

if [ "$INTERACTIVE" = 1 ]; then
	"${qemu[@]}" -nographic | tee "$LOG"
	exit "${PIPESTATUS[0]}"
fi

log "booting the pKVM host ($MODE), serial log in $LOG"
rc=0
timeout --foreground -k 10 "$TIMEOUT" "${qemu[@]}" -serial "file:$LOG" -monitor none \
	-display none </dev/null >/dev/null 2>"$LOG.qemu-stderr" || rc=$?
# QEMU's exit status says little (poweroff is 0, so is a guest panic with -no-reboot):
# the verdict line in the serial log is the answer.
tr -d '\r' <"$LOG" >"$LOG.tmp" && mv "$LOG.tmp" "$LOG"
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
	echo "error: QEMU did not finish within ${TIMEOUT}s; killed (serial log: $LOG)" >&2
	exit 2
fi
if [ "$QUIET" = 0 ]; then
	sed -n '/^### /,$p' "$LOG" | grep -av '^\[ *[0-9]*\.[0-9]*\]'
fi
if grep -qx 'PKVM-VERDICT: PASS' "$LOG"; then
	exit 0
elif grep -qx 'PKVM-VERDICT: FAIL' "$LOG"; then
	exit 1
fi
[ -s "$LOG.qemu-stderr" ] && cat "$LOG.qemu-stderr" >&2
echo "error: the guest gave no verdict (QEMU exit $rc; serial log: $LOG)" >&2
exit 2
