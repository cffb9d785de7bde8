#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Edit the patch series against upstream files as git commits.
#
#   scripts/patch-workspace.sh create DIR [FILE...]
#                                           pristine copies of every file the series
#                                           touches (and of FILEs, for a new patch),
#                                           one commit per patch on top
#   scripts/patch-workspace.sh export DIR   write the commits back as patches/NNNN-*.patch
#                                           and patches/series
#
# In DIR, change a file and fold it into the right commit (git commit --fixup,
# git rebase -i --autosquash), or add a commit for a new patch. Needs the unpacked
# pristine tree ('make tree').
. "$(dirname "$0")/common.sh"

PRISTINE=$PKVM_CACHE/linux-pristine
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: $0 create DIR [FILE...] | export DIR"
shift 2 || true
command -v git >/dev/null || die "git is needed"
GIT=(git -C "$dir" -c user.name="pKVM SMMUv3 developers" -c user.email=pkvm-smmu@localhost)

case "$cmd" in
create)
	[ -e "$PRISTINE/.pkvm-complete" ] || die "no pristine tree in $PRISTINE; run 'make tree'"
	[ -e "$dir" ] && die "$dir exists; give a new directory"
	mkdir -p "$dir"
	series=$(grep -v '^[[:space:]]*\(#\|$\)' "$TOP/patches/series")
	for f in "$@"; do
		[ -f "$PRISTINE/$f" ] || { rm -rf "$dir"; die "$f is not a file of the pristine tree"; }
	done
	{
		for p in $series; do
			grep '^+++ ' "$TOP/patches/$p" | sed -e 's/^+++ [^/]*\///' -e 's/[[:space:]].*//'
		done
		printf '%s\n' "$@"
	} | grep . | sort -u | while read -r f; do
		mkdir -p "$dir/$(dirname "$f")"
		cp "$PRISTINE/$f" "$dir/$f"
	done
	"${GIT[@]}" init -q
	"${GIT[@]}" add -A
	"${GIT[@]}" commit -qm "pristine linux-source-$KERNEL_SERIES"
	"${GIT[@]}" tag pristine
	for p in $series; do
		"${GIT[@]}" am -q --keep-cr "$TOP/patches/$p" 2>/dev/null ||
		{ "${GIT[@]}" am --abort 2>/dev/null; rm -rf "$dir"; die "patch $p does not apply"; }
	done
	log "workspace ready in $dir ($(echo "$series" | wc -w) commits on tag 'pristine')"
	;;
export)
	"${GIT[@]}" rev-parse -q --verify pristine >/dev/null || die "$dir is not a patch workspace"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	"${GIT[@]}" format-patch -q --zero-commit --no-signature --no-numbered \
		-o "$tmp" pristine..HEAD
	ls "$tmp" | grep -q . || die "no commits on top of 'pristine' in $dir"
	rm -f "$TOP"/patches/*.patch
	for f in "$tmp"/*.patch; do
		name=$(basename "$f")
		cp "$f" "$TOP/patches/$name"
		echo "$name"
	done >"$TOP/patches/series"
	log "exported $(wc -l <"$TOP/patches/series") patches to patches/"
	;;
*)
	die "unknown command '$cmd' (create or export)"
	;;
esac
