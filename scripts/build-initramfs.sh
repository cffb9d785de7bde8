#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the arm64 userspace the boot tests run (statically linked: the kernel's KVM
# and VFIO selftests and the project's own test programs) and pack it with busybox
# and the test scripts into $OUT/initramfs.cpio.gz.
. "$(dirname "$0")/common.sh"
reexec_in_root "$@"

# KVM selftests: upstream ones as smoke tests inside the pKVM host, and the
# project's own device-assignment tests (tools/testing/selftests/kvm/arm64).
KVM_SELFTESTS="arm64/smccc_filter arm64/hypercalls arm64/vfio_edu_test
	arm64/vfio_edu_multi_test arm64/vfio_edu_hostile_test arm64/vfio_edu_unmap_perf_test
	arm64/pkvm_mmio_share_test arm64/pvm_edu_test"
# Upstream VFIO selftests, with the edu driver of the VFIO selftest library (patch 0008).
VFIO_SELFTESTS="vfio_pci_device_test vfio_dma_mapping_test vfio_dma_mapping_mmio_test
	vfio_pci_driver_test vfio_edu_p2p_test"
CROSS=aarch64-linux-gnu-

[ -e "$KOUT/usr/include/linux/kvm.h" ] || die "no UAPI headers; run 'make kernel'"
mkdir -p "$OUT/kvm-selftests" "$OUT/vfio-selftests" "$OUT/guest-bin"

# build_selftests SUITE "TESTS" MAKE-VARIABLES...: upstream selftests, statically linked.
build_selftests() {
	local suite=$1 tests=$2 t targets=()
	shift 2
	log "building ${suite^^} selftests: $tests"
	for t in $tests; do
		targets+=("$OUT/$suite-selftests/$t")
	done
	make -C "$KSRC/tools/testing/selftests/$suite" -j"$(nproc)" ARCH=arm64 \
		CROSS_COMPILE=$CROSS KHDR_INCLUDES="-isystem $KOUT/usr/include" "$@" \
		OUTPUT="$OUT/$suite-selftests" "${targets[@]}" >"$OUT/$suite-selftests.log" 2>&1 ||
		die "building the ${suite^^} selftests failed (see $OUT/$suite-selftests.log)"
}

build_selftests kvm "$KVM_SELFTESTS" USERLDFLAGS=-static
# Each fixture of vfio_pci_driver_test maps 1 GiB: under TCG that takes longer than the
# harness's default 30 s (patch 0010 lets the build raise it).
build_selftests vfio "$VFIO_SELFTESTS" LDFLAGS="-static -pthread" \
	EXTRA_CFLAGS=-DTEST_TIMEOUT_DEFAULT=300

# The project's own guest programs: tests/guest/*.c, one program each.
for src in "$TOP"/tests/guest/*.c; do
	[ -e "$src" ] || continue
	bin=$OUT/guest-bin/$(basename "$src" .c)
	[ "$bin" -nt "$src" ] && [ "$bin" -nt "$KOUT/usr/include/linux/kvm.h" ] && continue
	${CROSS}gcc -static -O2 -Wall -Wextra -Werror -isystem "$KOUT/usr/include" \
		-I "$TOP/tests/guest" -o "$bin.tmp" "$src" ||
		die "building $src failed"
	mv "$bin.tmp" "$bin"
done
# A program whose source went (moved elsewhere) must not be packed.
for bin in "$OUT"/guest-bin/*; do
	[ -e "$bin" ] || continue
	name=${bin##*/}
	[ "$name" = dma_map_benchmark ] || [ -e "$TOP/tests/guest/$name.c" ] || rm -f "$bin"
done

# The kernel's own DMA API benchmark (make bench), unchanged.
bin=$OUT/guest-bin/dma_map_benchmark
src=$KSRC/tools/dma/dma_map_benchmark.c
if ! [ "$bin" -nt "$src" ] || ! [ "$bin" -nt "$KOUT/usr/include/linux/map_benchmark.h" ]; then
	${CROSS}gcc -static -O2 -Wall -isystem "$KOUT/usr/include" -o "$bin.tmp" "$src" ||
		die "building $src failed"
	mv "$bin.tmp" "$bin"
fi

# The programs on the VFIO selftest library: edu_dma (boot tests), smmu_bench (make bench).
make -s -C "$TOP/tools/testing/pkvm-smmu/vfio" KSRC="$KSRC" KHDR="$KOUT/usr/include" \
	OUTPUT="$OUT/vfio-bin" CROSS_COMPILE=$CROSS >"$OUT/vfio-bin.log" 2>&1 ||
	die "building edu_dma and smmu_bench failed (see $OUT/vfio-bin.log)"

log "packing the initramfs"
stage=$(mktemp -d "$OUT/initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,root,etc,tests/kvm/arm64,tests/bin,tests/vfio}
cp /bin/busybox "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"
file -b "$stage/bin/busybox" 2>/dev/null | grep -q aarch64 ||
	readelf -h "$stage/bin/busybox" 2>/dev/null | grep -q AArch64 ||
	die "/bin/busybox in the root is not the arm64 build (busybox-static:arm64)"
cp "$TOP/tests/boot/init" "$stage/init"
cp "$TOP/tests/boot/run-tests" "$TOP/tests/boot/kvm-selftest" "$TOP/tests/boot/lib-edu.sh" \
	"$TOP/tests/boot/lib-hvc.sh" "$stage/tests/"
cp -r "$TOP/tests/boot/cases" "$TOP/tests/boot/bench" "$TOP/tests/boot/long" "$stage/tests/"
for t in $KVM_SELFTESTS; do
	cp "$OUT/kvm-selftests/$t" "$stage/tests/kvm/$t"
done
for t in $VFIO_SELFTESTS; do
	cp "$OUT/vfio-selftests/$t" "$stage/tests/vfio/$t"
done
cp "$OUT"/guest-bin/* "$stage/tests/bin/" 2>/dev/null || true
cp "$OUT/vfio-bin/edu_dma" "$OUT/vfio-bin/smmu_bench" "$stage/tests/bin/"
echo "root:x:0:0:root:/root:/bin/sh" >"$stage/etc/passwd"
echo "root:x:0:" >"$stage/etc/group"
(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -1) \
	>"$OUT/initramfs.cpio.gz.tmp"
mv "$OUT/initramfs.cpio.gz.tmp" "$OUT/initramfs.cpio.gz"
log "initramfs ready: $OUT/initramfs.cpio.gz"
