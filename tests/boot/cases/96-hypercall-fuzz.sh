#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# smmu: pkvm
# Random SMMU and IOMMU hypercalls with a mix of valid and hostile arguments (fixed
# seeds, so a failure reproduces): every call returns, everything the runs created
# can be detached and freed, and a map/translate/unmap round trip still works after.
# Runs next to last: no-kernel-warnings then checks the log it left.
for seed in 0x9e3779b97f4a7c15 0x243f6a8885a308d3; do
	echo "\$ hvc_fuzz 10000 $seed"
	hvc_fuzz 10000 "$seed" || { echo "hvc_fuzz 10000 $seed failed (exit $?)"; exit 1; }
done
