# SPDX-License-Identifier: GPL-2.0
# Shell helpers for the boot tests that issue raw hypercalls through
# debugfs/pkvm-smmu/hvc (CONFIG_PKVM_SMMU_V3_DEBUGFS); sourced from /tests/lib-hvc.sh.

HVC_FILE=/sys/kernel/debug/pkvm-smmu/hvc
EPERM=-1 ENOENT=-2 EIO=-5 EAGAIN=-11 ENOMEM=-12 EBUSY=-16 EEXIST=-17 EINVAL=-22
ETIMEDOUT=-110
[ -w "$HVC_FILE" ] || { echo "no $HVC_FILE (CONFIG_PKVM_SMMU_V3_DEBUGFS?)"; exit 1; }

# hvc NAME ARGS...: one hypercall; its x1, x2, x3 in R1, R2, R3.
hvc() {
	echo "$*" >"$HVC_FILE" || { echo "writing '$*' to $HVC_FILE failed"; exit 1; }
	# shellcheck disable=SC2046
	set -- $(cat "$HVC_FILE")
	R1=$1 R2=$2 R3=$3
}

# expect WANT DESCRIPTION CALL...: the call's x1 must be WANT; sets fail=1 if not.
expect() {
	want=$1 desc=$2
	shift 2
	hvc "$@"
	if [ "$R1" = "$want" ]; then
		echo "ok: $desc: $* -> $R1"
	else
		echo "FAIL: $desc: $* -> $R1 $R2 $R3 (want $want)"
		fail=1
	fi
}

# with_topup REGISTER CALL...: repeat a call that asks for memory (-ENOMEM with the
# page count in R2, or R3 for map), topping up as the driver does.
with_topup() {
	reg=$1
	shift
	for _ in 1 2 3 4; do
		hvc "$@"
		[ "$R1" = "$ENOMEM" ] || return 0
		[ "$reg" = 3 ] && pages=$R3 || pages=$R2
		hvc topup "$pages"
	done
}

# free_domain DOMAIN: free in as many bounded calls as the hypervisor asks for
# (-EAGAIN); FREE_CALLS says how many it took.
free_domain() {
	FREE_CALLS=0
	while [ "$FREE_CALLS" -lt 100000 ]; do
		hvc iommu_free_domain "$1"
		FREE_CALLS=$((FREE_CALLS + 1))
		[ "$R1" = "$EAGAIN" ] || return 0
	done
}

# host_page_after ADDR [STEP]: set PAGE to the first of 256 pages from ADDR, STEP
# apart (default 1 MiB), that the host owns now, as the hypervisor sees it (it lets
# the host share it).
host_page_after() {
	PAGE=
	a=$(($1))
	for _ in $(seq 1 256); do
		hvc host_share_hyp $((a >> 12))
		if [ "$R1" = 0 ]; then
			hvc host_unshare_hyp $((a >> 12))
			PAGE=$(printf '0x%x' "$a")
			return 0
		fi
		a=$((a + ${2:-0x100000}))
	done
	return 1
}
