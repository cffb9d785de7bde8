#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# smmu: pkvm stock refused
# pKVM finalised in the requested hypervisor mode (hVHE or nVHE).
case "$PKVM_MODE" in
hvhe) want="Protected hVHE mode initialized successfully" ;;
nvhe) want="Protected nVHE mode initialized successfully" ;;
*) echo "unknown mode '$PKVM_MODE'"; exit 1 ;;
esac
if dmesg | grep -q "$want"; then
	dmesg | grep "$want"
	exit 0
fi
echo "kernel log lacks '$want':"
dmesg | grep -i 'kvm' | tail -n 20
exit 1
