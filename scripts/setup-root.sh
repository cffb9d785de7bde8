#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Create the Debian 13 (trixie) root with trixie-backports that holds QEMU, the arm64
# cross compiler, linux-source and busybox. Idempotent: a finished root is left alone.
. "$(dirname "$0")/common.sh"

PACKAGES_BACKPORTS="qemu-system-arm linux-source-$KERNEL_SERIES"
PACKAGES="qemu-efi-aarch64 gcc-aarch64-linux-gnu libc6-dev-arm64-cross busybox-static:arm64
	bc bison flex libssl-dev libelf-dev cpio make gcc libc6-dev xz-utils kmod perl python3
	rsync patch quilt git ca-certificates clang llvm libclang-rt-dev spin gnuplot-nox
	sparse uuid-dev:arm64"
# The stamp holds a digest of the package lists: a root made before a package was
# added gets just the missing ones.
STAMP=$ROOTFS/.pkvm-root-complete
PACKAGES=$(echo $PACKAGES)
WANT=$(echo "$PACKAGES / $PACKAGES_BACKPORTS" | sha256sum | cut -c1-16)

install_packages() {	# install_packages ROOT
	ROOTFS=$1 in_root /bin/sh -c "
		set -e
		export DEBIAN_FRONTEND=noninteractive
		dpkg --add-architecture arm64
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
		apt-get install -y -qq --no-install-recommends -t trixie-backports $PACKAGES_BACKPORTS >/dev/null
		apt-get clean
	" >"$PKVM_CACHE/packages.log" 2>&1 ||
		die "installing packages into the root failed (see $PKVM_CACHE/packages.log)"
}

need_root
if [ -e "$STAMP" ]; then
	[ "$(cat "$STAMP")" = "$WANT" ] && exit 0
	log "installing the packages added since the Debian 13 root was made"
	install_packages "$ROOTFS"
	echo "$WANT" >"$STAMP"
	exit 0
fi

mirror=$(debian_mirror) || die "no Debian archive found in this machine's apt configuration"
mkdir -p "$PKVM_CACHE"
tmp=$PKVM_CACHE/rootfs.tmp
# A half-made root from an interrupted run: its mounts died with their namespace, so
# removing it is safe. Refuse if anything is still mounted below it.
if [ -e "$tmp" ]; then
	if grep -q " $tmp/" /proc/self/mountinfo; then
		die "$tmp still has mounts below it; unmount them first"
	fi
	rm -rf "$tmp"
fi

if ! command -v debootstrap >/dev/null; then
	log "installing debootstrap"
	apt-get update -qq || die "apt-get update failed (no network to the package mirror?)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null ||
		die "cannot install debootstrap"
fi

log "debootstrap trixie into $tmp (several minutes)"
debootstrap --variant=minbase trixie "$tmp" "$mirror" >"$PKVM_CACHE/debootstrap.log" 2>&1 ||
	die "debootstrap failed (see $PKVM_CACHE/debootstrap.log)"

cat >"$tmp/etc/apt/sources.list" <<EOS
deb $mirror trixie main
deb $mirror trixie-updates main
deb $mirror trixie-backports main
EOS
echo "pkvm-smmu" >"$tmp/etc/hostname"

log "installing packages into the root"
install_packages "$tmp"

[ -e "$tmp/usr/src/linux-source-$KERNEL_SERIES.tar.xz" ] ||
	die "linux-source-$KERNEL_SERIES is not in trixie-backports; the patches are pinned to $KERNEL_SERIES"

echo "$WANT" >"$tmp/.pkvm-root-complete"
rm -rf "$ROOTFS"
mv "$tmp" "$ROOTFS"
log "Debian 13 root ready in $ROOTFS"
