# SPDX-License-Identifier: GPL-2.0
# Shell helpers for the boot tests that drive edu devices; sourced from /tests/lib-edu.sh.

# The edu devices (1234:11e8), by PCI address.
edu_list() {
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ] &&
			echo "${d##*/}"
	done
}

# Run edu_dma; a skip ends the test as a skip (edu_dma's last line is the reason).
edu_run() {
	echo "\$ edu_dma $*"
	edu_dma "$@"
	rc=$?
	[ "$rc" = 4 ] && exit 4
	[ "$rc" = 0 ] && return 0
	echo "edu_dma $* failed (exit $rc)"
	return 1
}

# edu_run_broken N TEXT ARGS...: a deliberately broken run must exit 1 with exactly
# N failed checks whose description contains TEXT. Its report is indented.
edu_run_broken() {
	want=$1 text=$2
	shift 2
	echo "\$ edu_dma $*    (must fail)"
	edu_dma "$@" >/tmp/edu-broken.log 2>&1
	rc=$?
	sed 's/^/    /' /tmp/edu-broken.log
	got=$(grep -c "^not ok .*$text" /tmp/edu-broken.log)
	if [ "$rc" != 1 ] || [ "$got" != "$want" ]; then
		echo "the broken run exited $rc with $got failed '$text' check(s); want exit 1 and $want"
		return 1
	fi
	echo "the broken run failed as it must ($got failed '$text' checks)"
}

# edu_all N: the edu devices, comma-separated; the test fails unless there are N.
edu_all() {
	_edus=$(edu_list)
	_n=$(echo $_edus | wc -w)
	if [ "$_n" != "$1" ]; then
		echo "expected $1 edu devices, found $_n" >&2
		exit 1
	fi
	echo $_edus | tr ' ' ,
}

# edu_without_driver: unbind the first edu device from its driver, if any, so that it
# DMAs through the hypervisor's identity domain; its address in EDU_BDF.
edu_without_driver() {
	set -- $(edu_list)
	[ -n "${1:-}" ] || { echo "no edu device"; return 1; }
	d=/sys/bus/pci/devices/$1
	if [ -e "$d/driver" ]; then
		echo "$1" >"$d/driver/unbind"
		echo >"$d/driver_override"
	fi
	EDU_BDF=$1
}

# vfio_bind BDF: bind the device to vfio-pci, unless it is already.
vfio_bind() {
	d=/sys/bus/pci/devices/$1
	if [ "$(basename "$(readlink "$d/driver" 2>/dev/null)")" != vfio-pci ]; then
		[ -e "$d/driver" ] && echo "$1" >"$d/driver/unbind"
		echo vfio-pci >"$d/driver_override"
		echo "$1" >/sys/bus/pci/drivers_probe
	fi
	[ "$(basename "$(readlink "$d/driver")")" = vfio-pci ] ||
		{ echo "$1 did not bind to vfio-pci"; return 1; }
}

# vfio_selftest_device: bind the first edu device to vfio-pci and point the VFIO
# selftests at it (VFIO_SELFTESTS_BDF).
vfio_selftest_device() {
	VFIO_FAIL=0
	set -- $(edu_list)
	[ -n "${1:-}" ] || { echo "no edu device"; return 1; }
	vfio_bind "$1" || return 1
	export VFIO_SELFTESTS_BDF=$1
}

# vfio_selftest_each TEST [ARGS...]: run a VFIO selftest on every edu device in turn
# (each bound to vfio-pci first); anything but exit 0 sets VFIO_FAIL.
vfio_selftest_each() {
	_first=$VFIO_SELFTESTS_BDF
	for _bdf in $(edu_list); do
		vfio_bind "$_bdf" || { VFIO_FAIL=1; continue; }
		VFIO_SELFTESTS_BDF=$_bdf vfio_selftest "$@"
	done
	VFIO_SELFTESTS_BDF=$_first
}

# vfio_selftest TEST [ARGS...]: run a VFIO selftest; anything but exit 0 sets VFIO_FAIL.
vfio_selftest() {
	echo "\$ $* (VFIO_SELFTESTS_BDF=$VFIO_SELFTESTS_BDF)"
	start=$(date +%s)
	"/tests/vfio/$@"
	rc=$?
	echo "$1: exit $rc after $(( $(date +%s) - start )) s"
	[ "$rc" = 0 ] || VFIO_FAIL=1
}

# edu_sid BDF: the device's stream id, its PCI requester id (bus << 8 | device << 3 |
# function).
edu_sid() {
	_bus=0x${1#*:}; _bus=${_bus%%:*}
	_dev=0x${1##*:}; _dev=${_dev%%.*}
	printf '0x%x' $(( (_bus << 8) | (_dev << 3) | ${1##*.} ))
}

# edu_smmu_idx BDF: the hypervisor's index of the SMMU in front of the device, from
# the pKVM host driver's "SMMUv3 at ADDR owned by the hypervisor (index N" line.
edu_smmu_idx() {
	_iommu=$(basename "$(readlink "/sys/bus/pci/devices/$1/iommu")")
	dmesg | sed -n "s/.*SMMUv3 at ${_iommu#smmu3.} owned by the hypervisor (index \([0-9]*\),.*/\1/p" |
		tail -n 1
}

# edu_pvm_pair: "BDF,SMMU,SID BDF,SMMU,SID" for an edu behind SMMU 1 and one behind
# another SMMU (the hypervisor's indexes), each unbound from its driver, for the
# protected-VM assignment tests; returns 1 (and says so) without such a pair.
edu_pvm_pair() {
	_first= _other= _pair=
	for _b in $(edu_list); do
		_idx=$(edu_smmu_idx "$_b")
		if [ "$_idx" = 1 ] && [ -z "$_first" ]; then
			_first=$_b
		elif [ -n "$_idx" ] && [ "$_idx" != 1 ] && [ -z "$_other" ]; then
			_other=$_b
		else
			continue
		fi
		_d=/sys/bus/pci/devices/$_b
		if [ -e "$_d/driver" ]; then
			echo "$_b" >"$_d/driver/unbind"
			echo >"$_d/driver_override"
		fi
		_pair="$_pair${_pair:+ }$_b,$_idx,$(edu_sid "$_b")"
	done
	if [ -z "$_first" ] || [ -z "$_other" ]; then
		echo "need edu devices behind SMMU 1 and another SMMU" >&2
		return 1
	fi
	echo "$_pair"
}

# edu_fault_reported PATTERN: wait up to 2 s for an SMMU event in the kernel log that
# matches PATTERN (the pKVM host driver's "event 0xNN sid 0xS addr 0xA" lines); print it.
edu_fault_reported() {
	_i=0
	until dmesg | grep -q "$1"; do
		_i=$((_i + 1))
		[ "$_i" -lt 20 ] || return 1
		sleep 0.1
	done
	dmesg | grep "$1" | tail -n 1
}

# edu_faults_reported LOG N: each "# fault expected: BDF iova 0xADDR" line of a
# test's output LOG must have its SMMU report in the kernel log (event 0x10,
# F_TRANSLATION, for the device's stream at that address), and there must be N
# such lines. A "# fault expected, address hidden: BDF iova 0xADDR" line (a
# protected VM's device) must have its report with address 0 and none with
# ADDR. Prints each; returns 1 if one is missing.
edu_faults_reported() {
	_fail=0
	for _f in $(sed -n 's/^# fault expected: \([^ ]*\) iova 0x\([0-9a-f]*\)$/\1,\2/p' "$1"); do
		_sid=$(edu_sid "${_f%,*}")
		_addr=$(printf '0x%016x' "0x${_f#*,}")
		if edu_fault_reported "event 0x10 sid $_sid addr $_addr" >/dev/null; then
			echo "reported: ${_f%,*} at $_addr"
		else
			echo "no translation fault reported for ${_f%,*} (sid $_sid) at $_addr"
			_fail=1
		fi
	done
	_hidden='s/^# fault expected, address hidden: \([^ ]*\) iova 0x\([0-9a-f]*\)$/\1,\2/p'
	for _f in $(sed -n "$_hidden" "$1"); do
		_sid=$(edu_sid "${_f%,*}")
		_addr=$(printf '0x%016x' "0x${_f#*,}")
		_zero=0x0000000000000000
		if ! edu_fault_reported "event 0x10 sid $_sid addr $_zero" >/dev/null; then
			echo "no translation fault reported for ${_f%,*} (sid $_sid)"
			_fail=1
		elif dmesg | grep -q "event 0x10 sid $_sid addr $_addr"; then
			echo "the host learnt the address of ${_f%,*}'s fault: $_addr"
			_fail=1
		else
			echo "reported without its address: ${_f%,*} (not $_addr)"
		fi
	done
	_n=$(grep -c '^# fault expected' "$1")
	[ "$_n" = "$2" ] || { echo "expected $2 faulting DMAs in the test's output, found $_n"; _fail=1; }
	return "$_fail"
}
