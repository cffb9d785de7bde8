#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Lay the overlay and the patch series over the pinned Linux tree in the cache.
#
# The pristine tree is unpacked once. Each run builds a staging copy of just the files the
# project provides or patches, then copies into the build tree only those whose content
# changed, so the kernel build recompiles only what changed.
. "$(dirname "$0")/common.sh"

reexec_in_root "$@"
PRISTINE=$PKVM_CACHE/linux-pristine
TARBALL=/usr/src/linux-source-$KERNEL_SERIES.tar.xz
# The overlay: every tracked file below these paths is a kernel file.
OVERLAY_DIRS="arch drivers include tools Documentation"

[ -r "$TARBALL" ] || die "$TARBALL missing; run 'make setup'"

if [ ! -e "$PRISTINE/.pkvm-complete" ]; then
	log "unpacking linux-source-$KERNEL_SERIES"
	rm -rf "$PRISTINE.tmp"
	mkdir -p "$PRISTINE.tmp"
	tar -C "$PRISTINE.tmp" --strip-components=1 -xJf "$TARBALL" ||
		die "cannot unpack $TARBALL"
	version=$(make -s -C "$PRISTINE.tmp" kernelversion)
	case "$version" in
	"$KERNEL_SERIES".*) ;;
	*) rm -rf "$PRISTINE.tmp"; die "linux-source reports version $version, expected $KERNEL_SERIES.x";;
	esac
	touch "$PRISTINE.tmp/.pkvm-complete"
	rm -rf "$PRISTINE"
	mv "$PRISTINE.tmp" "$PRISTINE"
fi

if [ ! -e "$KSRC/.pkvm-complete" ]; then
	log "copying the pristine tree to $KSRC"
	rm -rf "$KSRC.tmp" "$KSRC"
	cp -a "$PRISTINE" "$KSRC.tmp"
	: >"$KSRC.tmp/.pkvm-patched-files"
	mv "$KSRC.tmp" "$KSRC"
fi

stage=$(mktemp -d "$PKVM_CACHE/stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT

# 1. Patched upstream files: pristine copies, then the series applied in order.
patched=$stage/.patched-files
: >"$patched"
: >"$stage/.overlay-files"
if [ -s "$TOP/patches/series" ]; then
	grep -v '^[[:space:]]*\(#\|$\)' "$TOP/patches/series" | while read -r p; do
		[ -r "$TOP/patches/$p" ] || die "patches/series names $p, which does not exist"
		grep '^+++ ' "$TOP/patches/$p" | sed -e 's/^+++ [^/]*\///' -e 's/[[:space:]].*//'
	done | sort -u >"$patched"
	while read -r f; do
		mkdir -p "$stage/$(dirname "$f")"
		[ -e "$PRISTINE/$f" ] && cp -p "$PRISTINE/$f" "$stage/$f"
	done <"$patched"
	grep -v '^[[:space:]]*\(#\|$\)' "$TOP/patches/series" | while read -r p; do
		patch -d "$stage" -p1 -s --no-backup-if-mismatch -r - -F0 <"$TOP/patches/$p" ||
			die "patch $p does not apply to linux-source-$KERNEL_SERIES"
	done
fi

# 2. The overlay: new files at their kernel paths.
(cd "$TOP" && git ls-files --cached --others --exclude-standard -- $OVERLAY_DIRS) |
while read -r f; do
	[ -e "$TOP/$f" ] || continue
	if [ -e "$PRISTINE/$f" ] && ! grep -qx "$f" "$patched"; then
		die "overlay file $f replaces an upstream file; change it with a patch instead"
	fi
	mkdir -p "$stage/$(dirname "$f")"
	cp -p "$TOP/$f" "$stage/$f"
	echo "$f" >>"$stage/.overlay-files"
done

# The project's top-level Kconfig is the one overlay file that does not sit at its
# kernel path (the kernel has a top-level Kconfig of its own).
if [ -e "$TOP/Kconfig" ]; then
	mkdir -p "$stage/arch/arm64/kvm"
	cp -p "$TOP/Kconfig" "$stage/arch/arm64/kvm/Kconfig.pkvm"
	echo arch/arm64/kvm/Kconfig.pkvm >>"$stage/.overlay-files"
fi

# 3. Files the previous run provided that this run does not: back to pristine, or removed.
cat "$patched" "$stage/.overlay-files" | sort -u >"$stage/.now"
sort -u "$KSRC/.pkvm-patched-files" | comm -23 - "$stage/.now" | while read -r f; do
	if [ -e "$PRISTINE/$f" ]; then
		cp -p "$PRISTINE/$f" "$KSRC/$f"
	else
		rm -f "$KSRC/$f"
	fi
done

# 4. Copy what changed (by content) into the build tree.
rsync -rc --exclude='/.patched-files' --exclude='/.overlay-files' --exclude='/.now' \
	"$stage/" "$KSRC/"
cp "$stage/.now" "$KSRC/.pkvm-patched-files"
