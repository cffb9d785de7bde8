# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the build scripts. Sourced, never executed.
#
# PKVM_CACHE holds everything that is not in the clone: the Debian 13 root, the unpacked
# kernel tree, the build outputs and the initramfs. Every step writes into a temporary
# name and renames it into place only when it succeeded, so an interrupted run leaves
# nothing that a later run would mistake for a finished step.

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PKVM_CACHE=${PKVM_CACHE:-/var/cache/pkvm-smmu}
ROOTFS=$PKVM_CACHE/rootfs
KSRC=$PKVM_CACHE/linux
KOUT=$PKVM_CACHE/build
OUT=$PKVM_CACHE/out

# The kernel the patches are written against. Debian names the package after the
# major.minor version; the exact upstream version is checked after unpacking.
KERNEL_SERIES=7.2

die() {
	echo "error: $*" >&2
	exit 1
}

log() {
	echo "==> $*" >&2
}

need_root() {
	[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, mount namespaces and chroot need it)"
}

# Print the Debian archive URI this machine's apt is configured with. Both the one-line
# and the deb822 formats are read; security and third-party archives are skipped by
# taking the first source that serves the main suite of a Debian release.
debian_mirror() {
	local f uri
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		uri=$(awk '$1 == "deb" && $0 !~ /security/ {
				for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {
					if ($(i + 1) ~ /^(bookworm|trixie|forky|sid|stable|testing|unstable)$/) {
						print $i; exit
					}
				}
			}' "$f")
		[ -n "$uri" ] && { echo "$uri"; return 0; }
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		uri=$(awk 'BEGIN { RS = ""; FS = "\n" }
			{
				u = ""; s = ""
				for (i = 1; i <= NF; i++) {
					if ($i ~ /^URIs:/) u = $i
					if ($i ~ /^Suites:/) s = $i
				}
				sub(/^URIs:[ \t]*/, "", u); sub(/[ \t].*/, "", u)
				if (u != "" && u !~ /security/ &&
				    s ~ /(bookworm|trixie|forky|sid|stable|testing|unstable)( |$)/) {
					print u; exit
				}
			}' "$f")
		[ -n "$uri" ] && { echo "$uri"; return 0; }
	done
	return 1
}

# Run a command inside the Debian 13 root, in a private mount namespace: the bind
# mounts exist only for the life of the command and vanish with the namespace, so no
# mount outlives it (and the cache can be removed safely afterwards). The clone and the
# cache are bound at their own paths, so scripts see the same paths inside and out.
# Variables named in PASS_ENV are passed through; everything else is reset.
in_root() {
	local envs=() v
	[ -x "$ROOTFS/bin/sh" ] || die "the Debian 13 root is missing; run 'make setup'"
	for v in PKVM_CACHE ${PASS_ENV:-}; do
		[ -n "${!v+x}" ] && envs+=("$v=${!v}")
	done
	unshare -m --propagation private -- /bin/bash -c '
		set -e
		root=$1; top=$2; cache=$3; shift 3
		mount --rbind /dev "$root/dev"
		mount -t proc proc "$root/proc"
		mount -t sysfs sys "$root/sys"
		mount -t tmpfs tmp "$root/tmp"
		for d in "$top" "$cache"; do
			mkdir -p "$root$d"
			mount --bind "$d" "$root$d"
		done
		exec chroot "$root" /usr/bin/env -i -C "$top" HOME=/root TERM=${TERM:-dumb} \
			PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 PKVM_IN_ROOT=1 "$@"
	' in_root "$ROOTFS" "$TOP" "$PKVM_CACHE" "${envs[@]}" "$@"
}

# Re-run the calling script inside the root unless it already runs there.
reexec_in_root() {
	if [ -z "${PKVM_IN_ROOT:-}" ]; then
		need_root
		in_root /bin/bash "$TOP/scripts/${0##*/}" "$@"
		exit $?
	fi
}
