#!/bin/sh
# Prints the package version of the qpc source tree at $1 (default: the
# repository this script is in) as "X.Y.Z N": OpenWrt's PKG_VERSION and
# PKG_RELEASE, so the package version is X.Y.Z-rN. X.Y.Z is the newest tag
# vX.Y.Z (no suffix) before HEAD and N counts from 1 at the tag up by one a
# commit. Without such a tag it is 0.0.0 and N the number of commits, so
# that versions still only grow along a branch; without git, "0.0.0 0".
set -eu

root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
if desc=$(git -C "$root" describe --tags --long --match 'v[0-9]*.[0-9]*.[0-9]*' --exclude 'v*-*' 2>/dev/null); then
	# desc is vX.Y.Z-COMMITS-gHASH
	rest=${desc#v}
	rest=${rest%-g*}
	commits=${rest##*-}
	echo "${rest%-*} $((commits + 1))"
elif commits=$(git -C "$root" rev-list --count HEAD 2>/dev/null); then
	echo "0.0.0 $commits"
else
	echo "0.0.0 0"
fi
