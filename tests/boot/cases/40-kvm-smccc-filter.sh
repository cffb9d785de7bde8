#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A KVM guest runs inside the pKVM host: the upstream arm64/smccc_filter selftest.
exec /tests/kvm-selftest arm64/smccc_filter
