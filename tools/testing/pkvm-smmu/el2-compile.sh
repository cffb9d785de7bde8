#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Compile smmu_invs.c, smmu_tags.c and hyp_gp.c as nVHE hyp objects, with the
# exact command line kbuild used for arch/arm64/kvm/hyp/nvhe/page_alloc.c in
# an existing arm64 build, and list their undefined symbols. The cross
# compiler lives in a Debian root; run it there in a private mount namespace
# so that no bind mount outlives this script. Needs root.
#
# Usage: el2-compile.sh   (env: KSRC, KBUILD, ROOTFS, OUT)

set -eu

: "${KSRC:=/var/cache/pkvm-smmu/linux}"
: "${KBUILD:=/var/cache/pkvm-smmu/build}"
: "${ROOTFS:=/var/cache/pkvm-smmu/rootfs}"
: "${OUT:=$(mktemp -d)}"
here=$(cd "$(dirname "$0")" && pwd)
main=$(cd "$here/../../.." && pwd)
export KSRC KBUILD ROOTFS OUT main

exec unshare -m /bin/bash -eu -c '
mount --make-rprivate /
for d in "$KSRC" "$KBUILD"; do
	mkdir -p "$ROOTFS$d"
	mount --bind "$d" "$ROOTFS$d"
done
mkdir -p "$ROOTFS/mnt/main" "$ROOTFS/mnt/out"
mount --bind "$main" "$ROOTFS/mnt/main"
mount --bind "$OUT" "$ROOTFS/mnt/out"
mount --bind /dev "$ROOTFS/dev"
cmd=$(sed -n "s/^savedcmd_arch\/arm64\/kvm\/hyp\/nvhe\/page_alloc.nvhe.o := //p" \
	"$KBUILD/arch/arm64/kvm/hyp/nvhe/.page_alloc.nvhe.o.cmd" |
	sed -e "s/-Wp,-MMD,[^ ]*//" -e "s| -c -o .*||" -e "s/page_alloc/OBJ/g" \
	    -e "s|-I$KSRC/arch/arm64/kvm/hyp/include|-I/mnt/main/arch/arm64/kvm/hyp/include &|")
[ -n "$cmd" ] || { echo "no page_alloc command line in $KBUILD" >&2; exit 1; }
for f in smmu_invs smmu_tags hyp_gp; do
	c=${cmd//OBJ/$f}
	chroot "$ROOTFS" /bin/sh -c "cd $KBUILD && $c -c -o /mnt/out/$f.nvhe.o /mnt/main/arch/arm64/kvm/hyp/nvhe/$f.c"
	echo "ok - $f.nvhe.o; undefined: $(chroot "$ROOTFS" aarch64-linux-gnu-nm -u /mnt/out/$f.nvhe.o | awk "{print \$2}" | tr "\n" " ")"
done
'
