#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Configure and build the arm64 kernel Image out of tree, plus the UAPI headers the
# userspace tests compile against. Incremental: .config is regenerated only when the
# fragment changed, and kbuild recompiles only what changed.
. "$(dirname "$0")/common.sh"
reexec_in_root "$@"

FRAGMENT=$TOP/configs/pkvm-smmu.config
KMAKE=(make -C "$KSRC" O="$KOUT" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-
       -j"$(nproc)" ${KBUILD_EXTRA:+$KBUILD_EXTRA})

[ -e "$KSRC/.pkvm-complete" ] || die "kernel tree missing; run scripts/prepare-tree.sh"
mkdir -p "$KOUT"

sum=$(cat "$FRAGMENT" "$TOP/scripts/build-kernel.sh" | sha256sum | cut -d' ' -f1)
if [ ! -e "$KOUT/.config" ] || [ "$(cat "$KOUT/.pkvm-config-sum" 2>/dev/null)" != "$sum" ]; then
	log "configuring: allnoconfig + configs/pkvm-smmu.config"
	rm -f "$KOUT/.pkvm-config-sum"
	"${KMAKE[@]}" -s allnoconfig
	KCONFIG_CONFIG=$KOUT/.config "$KSRC/scripts/kconfig/merge_config.sh" -m -O "$KOUT" \
		"$KOUT/.config" "$FRAGMENT" >/dev/null
	"${KMAKE[@]}" -s olddefconfig
	# Every option the fragment asks for must have survived dependency resolution.
	bad=0
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=n) opt=${line%%=*}
			grep -q "^$opt=" "$KOUT/.config" && { echo "error: $opt is set, fragment says n" >&2; bad=1; } ;;
		CONFIG_*=*) grep -qx "$line" "$KOUT/.config" ||
			{ echo "error: fragment asks for $line, .config has: $(grep "^${line%%=*}=\|${line%%=*} is not set" "$KOUT/.config")" >&2; bad=1; } ;;
		esac
	done <"$FRAGMENT"
	[ "$bad" = 0 ] || die "the config fragment does not apply to linux-source-$KERNEL_SERIES"
	echo "$sum" >"$KOUT/.pkvm-config-sum"
fi

log "building the kernel Image (a first build takes about 10 minutes)"
"${KMAKE[@]}" Image >"$KOUT/build.log" 2>&1 || {
	grep -E 'error|Error' "$KOUT/build.log" | head -20 >&2
	die "kernel build failed (see $KOUT/build.log)"
}
if grep -E '(warning|error):' "$KOUT/build.log" >"$KOUT/warnings.log"; then
	cat "$KOUT/warnings.log" >&2
	die "the kernel build has warnings (see $KOUT/build.log)"
fi
"${KMAKE[@]}" -s headers_install INSTALL_HDR_PATH="$KOUT/usr" >/dev/null
log "kernel ready: $KOUT/arch/arm64/boot/Image"
