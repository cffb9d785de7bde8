#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# smmu: pkvm stock refused
# Last test: the host kernel log has no WARN, BUG, Oops or lockdep splat from the run.
pattern='WARNING:|BUG:|Oops|Internal error|Kernel panic|Call trace:|possible circular locking|inconsistent lock state'
if dmesg | grep -E "$pattern"; then
	echo "the kernel log has warnings or errors:"
	dmesg | grep -E -A 20 "$pattern" | head -n 80
	exit 1
fi
echo "kernel log clean ($(dmesg | wc -l) lines)"
