# quicprochat: make run starts a node, make test runs every test.

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X github.com/quicprochat/qpc/version.Version=$(VERSION) -X github.com/quicprochat/qpc/version.Commit=$(COMMIT)
CAPNP_STD = $(shell $(GO) list -m -f '{{.Dir}}' capnproto.org/go/capnp/v3)/std

.PHONY: all build run test lint cross size floor ipk apk schemas clean

all: build

## build: the qpc binary for this machine, in bin/qpc
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/qpc ./cmd/qpc

## run: a node on localhost with embedded defaults and its data under ./.qpc;
## registration limits are raised so that `qpc bench` (two accounts per client) runs against it
run: build
	./bin/qpc node --listen 127.0.0.1:7000 --domain localhost --data-dir ./.qpc \
		--register-rate 100000 --register-rate-node 100000

## test: lint, then every test (cross-arch tests need qemu-user-static; see README), through
## scripts/testprogress: each package as it ends, each test over 5 s, what still runs every 20 s,
## the whole output of what failed; its exit status is go test's. The tag qpc_test_ksf makes
## the tests' password stretching cheap (crypto/opaque/ksf_testbuild.go): two thirds of the
## process tests' CPU went into 64 MiB Argon2id; crypto/opaque still runs the real one
test: lint
	$(GO) build -o bin/testprogress ./scripts/testprogress
	bin/testprogress -go "$(GO)" -- -count=1 -timeout 20m -tags qpc_test_ksf ./...

## lint: gofmt check, go vet, shellcheck
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed on:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	@if command -v shellcheck >/dev/null; then shellcheck .ci/run scripts/cross/*.sh \
		&& shellcheck --shell=dash init.d/qpc openwrt/files/qpc.uci-defaults \
			openwrt/luci-app-qpc/root/usr/libexec/rpcd/qpc; \
	elif [ "$$CI" = true ]; then echo "shellcheck missing: .ci/run must install it"; exit 1; \
	else echo "shellcheck not installed; skipping shell lint"; fi

## cross: static stripped binaries for every router family, in dist/
cross:
	VERSION=$(VERSION) COMMIT=$(COMMIT) scripts/cross/build.sh

## size: build every router package (.ipk and .apk), print the size table and write it into
## docs/openwrt.md; fails when the mips binary or a package is over its flash budget (issue 25)
size:
	$(GO) run ./scripts/cross/mkipk -format ipk,apk -out dist/ipk -apk-out dist/apk -sizes docs/openwrt.md

## floor: the size of what the design mandates (QUIC, TLS, Cap'n Proto RPC, bbolt, slog, ...),
## step by step, built as the mips router binary is: the room left for qpc's own code (issue 25)
floor:
	scripts/cross/floor.sh

## ipk: OpenWrt packages, one per architecture of scripts/cross/openwrt-archs.txt, in dist/ipk
ipk:
	$(GO) run ./scripts/cross/mkipk -out dist/ipk

## apk: OpenWrt 25.12 (apk-tools 3) packages, one per architecture, in dist/apk/<arch>/;
## unsigned (apk add --allow-untrusted) unless APK_KEY names a PEM private key to sign with
APK_KEY ?=
apk:
	$(GO) run ./scripts/cross/mkipk -format apk -apk-out dist/apk $(if $(APK_KEY),-sign-key "$(APK_KEY)")

## schemas: regenerate schemas/*.capnp.go (needs capnp from Debian's capnproto)
schemas:
	$(GO) build -o bin/capnpc-go capnproto.org/go/capnp/v3/capnpc-go
	capnp compile -I "$(CAPNP_STD)" -o"$(CURDIR)/bin/capnpc-go:schemas" --src-prefix=schemas schemas/*.capnp

clean:
	rm -rf bin dist
