#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make bench: build what is missing, boot the bench topology (eight SMMUs, an edu
# behind each) three times in hVHE mode and write docs/benchmark.md with its plot:
#   1. the hypervisor's SMMUs, QEMU tracing the SMMU commands (the counts);
#   2. the same without tracing (the times);
#   3. the stock driver (pkvm_smmu=off), for the ratios;
# then the native invalidation-array benchmark (tools/testing/pkvm-smmu/invs_bench.c).
. "$(dirname "$0")/common.sh"

need_root
start=$(date +%s)
for step in setup-root prepare-tree build-kernel build-initramfs; do
	bash "$TOP/scripts/$step.sh" || die "$step failed"
done

dir=$OUT/bench-run
rm -rf "$dir"
mkdir -p "$dir"
boot() {	# boot NAME SMMU [run-qemu args]
	local name=$1 smmu=$2
	shift 2
	log "bench boot: $name"
	bash "$TOP/scripts/run-qemu.sh" --quiet --mode hvhe --smmu "$smmu" --topology bench8 \
		--tests smmu-bench --timeout 1800 --log "$dir/$name.log" "$@" ||
		die "the $name boot failed (serial log: $dir/$name.log)"
}
boot counts pkvm --trace "$dir/counts.trace"
boot timing pkvm
boot stock stock
log "bench: invalidation-array read throughput (native)"
in_root make -s -C "$TOP/tools/testing/pkvm-smmu" invs-bench INVS_BENCH_MS=1000 \
	>"$dir/invs.log" 2>&1 || die "invs-bench failed (see $dir/invs.log)"

qemu=$(in_root qemu-system-aarch64 --version | head -n 1)
machine="$(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
machine+=", $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
in_root python3 "$TOP/scripts/bench-report.py" \
	--counts "$dir/counts.log" "$dir/counts.trace" --timing "$dir/timing.log" \
	--stock "$dir/stock.log" --invs "$dir/invs.log" --out "$TOP/docs/benchmark.md" --plot-dir "$TOP/docs" \
	--command "make bench" --qemu "$qemu" --machine "$machine" ||
	die "writing the report failed"
log "docs/benchmark.md and docs/benchmark-unmap.png written in $(( $(date +%s) - start ))s"
