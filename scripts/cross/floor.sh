#!/bin/sh
# Prints the size of each step of scripts/cross/floor built for a target
# (default mips) exactly as build.sh builds the router binary: what the
# parts qpc's design mandates cost before any of qpc's own code (issue 25).
# Usage: scripts/cross/floor.sh [target]
set -eu

here=$(dirname "$0")
target=${1:-mips}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

printf '%-8s %12s  %s\n' step bytes what
for step in a b c d e; do
	case $step in
	a) tags='' what="quic-go server+client, TLS 1.3, mutual X.509 (Ed25519)" ;;
	b) tags=floor_b what="+ Cap'n Proto RPC, one method over a QUIC stream" ;;
	c) tags=floor_c what="+ bbolt, one update" ;;
	d) tags=floor_d what="+ log/slog text and JSON handlers" ;;
	e) tags=floor_e what="+ flag, fmt, JSON encoding, TCP listener (metrics), os/signal" ;;
	esac
	OUT=$tmp QPC_BUILD_PKG=./scripts/cross/floor QPC_BUILD_TAGS=$tags \
		VERSION=floor COMMIT=floor "$here/build.sh" "$target" 2>/dev/null
	printf '%-8s %12s  %s\n' "$step" "$(wc -c <"$tmp/qpc-$target" | tr -d ' ')" "$what"
done
