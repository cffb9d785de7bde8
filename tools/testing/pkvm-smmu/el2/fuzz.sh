#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Run the libFuzzer target $O/el2-fuzz (el2/fuzz.mk sets the variables).
#
#   fuzz.sh check   TAP: replay el2/fuzz-corpus and el2/fuzz-regressions,
#                   then FUZZ_CHECK_RUNS executions from the seeds (seed 1)
#   fuzz.sh run     fuzz for FUZZ_SECONDS on $O/fuzz-corpus, then cover
#   fuzz.sh cover   line/function coverage of FUZZ_SRCS replaying the corpus
#
# A crashing input is copied to el2/fuzz-regressions/, to be committed: the
# check replays every file there from then on.

set -u

here=$(cd "$(dirname "$0")" && pwd)
seeds=$here/fuzz-corpus
regress=$here/fuzz-regressions
bin=$O/el2-fuzz
opts=(-max_len=512 -timeout=20 -print_final_stats=1)

# The inputs of a directory, without its README.
inputs()
{
	find "$@" -maxdepth 1 -type f ! -name README 2>/dev/null | sort
}

# Copy libFuzzer's crash files from $1 to the regressions; say so.
save_crashes()
{
	local f name saved=0

	for f in "$1"/crash-* "$1"/timeout-* "$1"/oom-* "$1"/leak-*; do
		[ -f "$f" ] || continue
		name=$(basename "$f")
		cp "$f" "$regress/$name"
		echo "# saved $regress/$name: commit it (make check replays it)"
		saved=1
	done
	return $saved
}

# The final figures of a libFuzzer log.
summary()
{
	local runs cov ft rate

	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$1" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$1" | tail -1)
	cov=$(grep -Eo 'cov: [0-9]+' "$1" | tail -1)
	ft=$(grep -Eo 'ft: [0-9]+' "$1" | tail -1)
	echo "# $2: ${runs:-?} executions, ${rate:-?}/s, $cov, $ft"
}

check()
{
	local log=$O/fuzz-check.log art=$O/fuzz-check-artifacts/ work=$O/fuzz-check
	local fail=0 start end

	echo "TAP version 13"
	echo "1..2"
	rm -rf "$art" "$work"
	mkdir -p "$art" "$work"
	# shellcheck disable=SC2046
	if "$bin" "${opts[@]}" -artifact_prefix="$art" $(inputs "$seeds" "$regress") \
		>"$log" 2>&1; then
		echo "# $(inputs "$seeds" "$regress" | wc -l) inputs replayed"
		echo "ok 1 - el2_fuzz_corpus"
	else
		grep -E '^fuzz oracle|^#  |ERROR|runtime error|SUMMARY|Running:' "$log" |
			tail -60 | sed 's/^/# /'
		save_crashes "$art"
		echo "not ok 1 - el2_fuzz_corpus"
		fail=1
	fi
	start=$(date +%s)
	if "$bin" "${opts[@]}" -seed=1 -runs="$FUZZ_CHECK_RUNS" -artifact_prefix="$art" \
		"$work" "$seeds" >"$log" 2>&1; then
		end=$(date +%s)
		summary "$log" "bounded run, $((end - start)) s"
		echo "ok 2 - el2_fuzz_bounded"
	else
		grep -E '^fuzz oracle|^#  |ERROR|runtime error|SUMMARY' "$log" |
			tail -60 | sed 's/^/# /'
		save_crashes "$art"
		echo "not ok 2 - el2_fuzz_bounded"
		fail=1
	fi
	return $fail
}

cover()
{
	local corpus=$O/fuzz-corpus data=$O/fuzz-cov.profdata

	[ -d "$corpus" ] || corpus=$seeds
	# One profile per process: fault-injection children write theirs.
	rm -rf "$O/fuzz-cov"
	mkdir -p "$O/fuzz-cov"
	LLVM_PROFILE_FILE=$O/fuzz-cov/%p.profraw "$O/el2-fuzz-cov" -runs=0 "$corpus" \
		"$seeds" >"$O/fuzz-cov.log" 2>&1 || { echo "coverage replay failed"; return 1; }
	"$FUZZ_PROFDATA" merge -sparse "$O"/fuzz-cov/*.profraw -o "$data" || return 1
	# shellcheck disable=SC2086
	"$FUZZ_COV" report "$O/el2-fuzz-cov" -instr-profile="$data" $FUZZ_SRCS
}

run()
{
	local corpus=$O/fuzz-corpus log=$O/fuzz.log art=$O/fuzz-artifacts/ ret

	mkdir -p "$corpus" "$art"
	cp -n "$seeds"/* "$corpus"/ 2>/dev/null
	echo "# fuzzing for $FUZZ_SECONDS s; corpus $corpus, log $log"
	"$bin" "${opts[@]}" -max_total_time="$FUZZ_SECONDS" -artifact_prefix="$art" \
		"$corpus" "$seeds" 2>&1 | tee "$log" | grep -E '(pulse|REDUCE|NEW|DONE|oracle)' |
		grep -E 'pulse|DONE|oracle' 
	ret=${PIPESTATUS[0]}
	summary "$log" "fuzz"
	echo "# corpus: $(inputs "$corpus" | wc -l) inputs"
	if [ "$ret" -ne 0 ]; then
		grep -E '^fuzz oracle|^#  |ERROR|runtime error|SUMMARY' "$log" | tail -60
		save_crashes "$art"
	fi
	cover
	return "$ret"
}

case ${1:-} in
check) check ;;
run) run ;;
cover) cover ;;
*) echo "usage: $0 check|run|cover" >&2; exit 2 ;;
esac
