#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run every test: the userspace unit tests and the EL2 mutants, then the boot tests in
# hVHE and nVHE mode, with the SMMUs owned by the hypervisor and with the stock host
# driver, once per mode with one SMMU refused by the hypervisor (a few tests only), and
# once per mode with a Tegra241 CMDQV described, which keeps pKVM from finalising.
# Each result is one TAP-style line; the last line is "N passed, N failed, N skipped".
# Exit status: 0 when nothing failed. CHECK_TESTS (default all) names the boot tests,
# CHECK_UNIT=0 leaves out the unit tests and mutants (make check-long sets both).
. "$(dirname "$0")/common.sh"

MODES=${MODES:-hvhe nvhe}
SMMUS=${SMMUS:-pkvm stock refused cmdqv}
for m in $MODES; do
	case "$m" in hvhe|nvhe) ;; *) die "MODES: unknown mode '$m' (hvhe, nvhe)";; esac
done
for m in $SMMUS; do
	case "$m" in pkvm|stock|refused|cmdqv) ;; *) die "SMMUS: unknown SMMU configuration '$m' (pkvm, stock, refused, cmdqv)";; esac
done
pass=0
fail=0
skip=0

result() {	# result ok|fail|skip NAME [REASON]
	case "$1" in
	ok) pass=$((pass + 1)); echo "ok - $2" ;;
	skip) skip=$((skip + 1)); echo "ok - $2 # SKIP ${3:-}" ;;
	*) fail=$((fail + 1)); echo "not ok - $2${3:+ ($3)}" ;;
	esac
}

# Count the TAP lines of one suite: "ok N - name", "ok N - name # SKIP why", "not ok ...".
tally() {	# tally PREFIX FILE
	local line name
	while IFS= read -r line; do
		case "$line" in
		"not ok "*) name=${line#not ok }; result fail "$1: ${name#* - }" ;;
		"ok "*"# SKIP"*) name=${line#ok }; name=${name#* - }
			result skip "$1: ${name%% # SKIP*}" "${name#* # SKIP }" ;;
		"ok "*) name=${line#ok }; result ok "$1: ${name#* - }" ;;
		esac
	done <"$2"
}

finish() {
	echo "$pass passed, $fail failed, $skip skipped"
	[ "$fail" = 0 ]
	exit $?
}

need_root
start=$(date +%s)
# Building is a test too: a step that fails ends the run with that failure.
for step in setup-root prepare-tree build-kernel build-initramfs; do
	if ! bash "$TOP/scripts/$step.sh"; then
		result fail "build: $step"
		finish
	fi
done
echo "# build ready after $(( $(date +%s) - start ))s"

mkdir -p "$OUT/results"
unit=$OUT/results/unit.tap
if [ "${CHECK_UNIT:-1}" = 1 ] && [ -e "$TOP/tools/testing/pkvm-smmu/Makefile" ]; then
	in_root make -s -C "$TOP/tools/testing/pkvm-smmu" check KSRC="$KSRC" KBUILD="$KOUT" \
		>"$unit" 2>&1 ||
		echo "not ok - make check exited with an error (see $unit)" >>"$unit"
	grep -E '^(not )?ok ' "$unit" | grep -q . ||
		echo "not ok - the unit tests printed no result (see $unit)" >>"$unit"
	tally unit "$unit"

	# A bounded slice of the mutation tests: every mutant of the EL2 files that
	# the el2 scenario, the TSan stress or the shim test must catch (about 6
	# minutes). The full set (with the fuzzer's and the pure-logic mutants):
	# make -C tools/testing/pkvm-smmu mutate.
	mut=$OUT/results/mutants.tap
	in_root env KSRC="$KSRC" KBUILD="$KOUT" "$TOP/tools/testing/pkvm-smmu/mutate.sh" el2 \
		>"$mut" 2>&1 ||
		echo "not ok - mutate.sh exited with an error (see $mut)" >>"$mut"
	grep -E '^(not )?ok ' "$mut" | grep -q . ||
		echo "not ok - mutate.sh printed no result (see $mut)" >>"$mut"
	tally mutant "$mut"
fi

# Each boot: a hypervisor mode and who drives the SMMUs (pkvm: the hypervisor).
for smmu in $SMMUS; do
	for mode in $MODES; do
		cfg=$mode-$smmu
		log="$OUT/results/boot-$cfg.log"
		rc=0
		bash "$TOP/scripts/run-qemu.sh" --quiet --mode "$mode" --smmu "$smmu" \
			--tests "${CHECK_TESTS:-all}" --log "$log" \
			--timeout "${BOOT_TIMEOUT:-1200}" || rc=$?
		sed -n 's/^PKVM-TAP: //p' "$log" >"$OUT/results/boot-$cfg.tap"
		tally "$cfg" "$OUT/results/boot-$cfg.tap"
		case "$rc" in
		0|1) ;;
		*) result fail "$cfg: boot" "no verdict (exit $rc); serial log $log" ;;
		esac
		grep -q . "$OUT/results/boot-$cfg.tap" ||
			result fail "$cfg: boot" "no test ran; serial log $log"
	done
done
echo "# finished after $(( $(date +%s) - start ))s"
finish
