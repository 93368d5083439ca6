#!/bin/sh
# Builds static, stripped qpc binaries for every router family into
# $OUT (default dist/): dist/qpc-<target>. Targets are listed in targets.txt.
# They are the router build (-tags router, DESIGN §1): the node and the
# admin's commands, without the laptop's chat client (cmd/qpc/router.go).
# Usage: scripts/cross/build.sh [target...]   (default: all)
# QPC_BUILD_PKG and QPC_BUILD_TAGS build another package, or other tags,
# with the same flags (scripts/cross/floor.sh measures with them).
set -eu

here=$(dirname "$0")
root=$(cd "$here/../.." && pwd)
out=${OUT:-$root/dist}
version=${VERSION:-$(git -C "$root" describe --tags --always --dirty 2>/dev/null || echo dev)}
commit=${COMMIT:-$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)}
ldflags="-s -w -X github.com/quicprochat/qpc/version.Version=$version -X github.com/quicprochat/qpc/version.Commit=$commit"

mkdir -p "$out"
grep -v '^#' "$here/targets.txt" | while read -r target goos goarch goarm gomips _qemu; do
	if [ $# -gt 0 ]; then
		case " $* " in *" $target "*) ;; *) continue ;; esac
	fi
	[ "$goarm" = "-" ] && goarm=
	[ "$gomips" = "-" ] && gomips=
	# On routers flash is what runs out first (DESIGN §8: 10 MiB for the
	# mips binary, 4 MiB for every .ipk; the x86_64 package passed 4 MiB
	# with store-and-forward). So inlining is off except where per-packet CPU time goes: the
	# runtime, crypto, sync, the network and syscall path, the small helpers
	# those call on every packet (time, bytes, strings, slices, binary,
	# math, io, context, errors, os), quic-go, capnp and bbolt. Everything
	# else (fmt, reflect, encoding/json and asn1, log/slog, flag, circl, x/*,
	# qpc itself) runs once per request or at startup. Within crypto, the
	# code qpc's own handshakes never run is cold too: P-256/384/521 and
	# ECDSA, RSA and math/big (qpc certificates are Ed25519 and Go's TLS 1.3
	# key exchange is X25519MLKEM768), and certificate parsing (once per
	# connection), and so is the TLS handshake (QUIC packets are sealed by
	# quic-go with crypto/cipher, not by crypto/tls). Against the default
	# this saved ~576 KiB before store-and-forward (10,289,345 bytes
	# instead of 10,879,169). With store-and-forward mips is 10,682,561
	# bytes, over the budget: inlining is not the lever left (all=-l
	# gives 10,420,417); see the issue 9 note. The size moves in 64 KiB
	# steps (segment alignment): readelf -lW shows how close each segment
	# is to its next step. Measure with make size and qpc bench before
	# changing it.
	hot="runtime/... crypto/... internal/... vendor/... sync/... syscall net net/netip os time context errors io bytes strings slices sort unicode/... math/... encoding/binary github.com/quic-go/... capnproto.org/... go.etcd.io/..."
	cold="crypto/tls crypto/internal/fips140/tls12 crypto/internal/fips140/tls13 crypto/internal/fips140/mlkem crypto/mlkem crypto/internal/fips140/hkdf crypto/hkdf crypto/internal/fips140/nistec/... crypto/internal/fips140/rsa crypto/internal/fips140/bigmod crypto/internal/fips140/ecdsa crypto/rsa crypto/ecdsa crypto/elliptic crypto/x509 math/big"
	# The last pattern that matches a package wins.
	sizeflags=-gcflags=all=-l
	for p in $hot; do sizeflags="$sizeflags -gcflags=$p="; done
	for p in $cold; do sizeflags="$sizeflags -gcflags=$p=-l"; done
	printf 'building %-7s (%s/%s)\n' "$target" "$goos" "$goarch" >&2
	# shellcheck disable=SC2086 # sizeflags is a list of words
	(cd "$root" && CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch GOARM=$goarm GOMIPS=$gomips \
		go build -tags "${QPC_BUILD_TAGS-router}" -trimpath -ldflags "$ldflags" $sizeflags -o "$out/qpc-$target" "${QPC_BUILD_PKG:-./cmd/qpc}")
done
