// Command mkipk builds the qpc packages for OpenWrt, one .ipk (opkg,
// OpenWrt 24.10 and earlier) and one .apk (apk-tools 3, OpenWrt 25.12 and
// later) per architecture of scripts/cross/openwrt-archs.txt, without the
// OpenWrt SDK and from the same recipe data:
//
//	go run ./scripts/cross/mkipk [-format ipk,apk] [-out dist/ipk] [-apk-out dist/apk]
//		[-sign-key key.pem] [-arch mips_24kc,...] [-version 1.2.3-r4] [-commit abc1234]
//
// The .ipk is dist/ipk/qpc_<version>_<arch>.ipk; the .apk is
// dist/apk/<arch>/qpc-<version>.apk, the name and per-architecture
// directory the 25.12 SDK gives it (bin/packages/<arch>/<feed>/). An .apk
// is unsigned unless -sign-key names an ECDSA (OpenWrt's own choice,
// prime256v1) or RSA private key in PEM; apk installs an unsigned package
// only with --allow-untrusted.
//
// The binaries come from scripts/cross/build.sh (static, stripped), one per
// build target of targets.txt that some architecture needs. The version is
// OpenWrt's X.Y.Z-rN, from git through scripts/cross/version.sh unless
// given; the binary reports the same version. Each package installs what
// the feed recipe openwrt/Makefile installs:
//
//	/usr/bin/qpc                 0755
//	/etc/init.d/qpc              0755  procd init script (init.d/qpc)
//	/etc/config/qpc              0600  conffile (uci/qpc)
//	/etc/uci-defaults/90-qpc     0644  first install: domain from the host name
//	/etc/sysctl.d/50-qpc.conf    0644  conffile: UDP buffer maximums for quic-go
//	/lib/upgrade/keep.d/qpc      0644  sysupgrade keeps /etc/qpc, the node key
//
// It also writes luci-app-qpc, the node's LuCI pages, for all
// architectures (luci.go).
package main

import (
	"bufio"
	"bytes"
	"crypto"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

func main() {
	var o options
	var archs string
	flag.StringVar(&o.root, "root", ".", "the qpc source tree")
	flag.StringVar(&o.out, "out", "dist/ipk", "directory for the .ipk files")
	flag.StringVar(&o.apkOut, "apk-out", "dist/apk", "directory for the .apk files, one subdirectory per architecture")
	formats := flag.String("format", "ipk", "package formats to write: ipk, apk or ipk,apk")
	signKey := flag.String("sign-key", "", "PEM private key (ECDSA or RSA) to sign the .apk files with (default: unsigned)")
	flag.StringVar(&archs, "arch", "", "comma-separated OpenWrt architectures (default: all of openwrt-archs.txt)")
	flag.StringVar(&o.version, "version", "", "package version X.Y.Z-rN (default: from git, scripts/cross/version.sh)")
	flag.StringVar(&o.commit, "commit", "", "source revision the binary reports (default: git rev-parse --short HEAD)")
	sizes := flag.String("sizes", "", "also write the size table into this Markdown file, between its size markers (make size: docs/openwrt.md)")
	flag.Parse()
	if archs != "" {
		o.archs = strings.Split(archs, ",")
	}
	o.formats = strings.Split(*formats, ",")
	if *signKey != "" {
		k, err := readSigningKey(*signKey)
		if err != nil {
			fmt.Fprintf(os.Stderr, "mkipk: %v\n", err)
			os.Exit(1)
		}
		o.signers = append(o.signers, k)
	}
	o.log = os.Stderr
	pkgs, err := build(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mkipk: %v\n", err)
		os.Exit(1)
	}
	fmt.Print(sizeTable(pkgs))
	if *sizes != "" {
		if err := writeSizeTable(*sizes, pkgs); err != nil {
			fmt.Fprintf(os.Stderr, "mkipk: %v\n", err)
			os.Exit(1)
		}
	}
	over := overBudget(pkgs, budgets)
	for _, err := range over {
		fmt.Fprintf(os.Stderr, "mkipk: %v\n", err)
	}
	if len(over) > 0 {
		os.Exit(1)
	}
}

// options say what build makes.
type options struct {
	root, out       string
	apkOut          string          // empty: apk next to the ipks, in out/<arch>
	formats         []string        // "ipk", "apk"; empty: ipk
	signers         []crypto.Signer // keys for the .apk; none: unsigned
	archs           []string        // empty: all
	version, commit string          // empty: from git
	log             io.Writer       // build progress; nil: kept for the error
}

// built is one package written.
type built struct {
	arch, target, path string
	format             string // "ipk" or "apk"
	size               int64  // of the package
	binSize            int64  // of /usr/bin/qpc in it
}

// ErrUnknownFormat is returned for a -format that is neither ipk nor apk.
var ErrUnknownFormat = errors.New("unknown package format (want ipk or apk)")

// Package metadata, as openwrt/Makefile states it (TestFeedRecipeMatchesThePackage
// in openwrt/ compares them). The user and group have fixed ids, so that
// the node's files keep their owner across a reinstall.
const (
	pkgName       = "qpc"
	pkgUser       = "qpc=427:qpc=427"
	pkgLicense    = "MIT"
	pkgURL        = "https://github.com/quicprochat/qpc"
	pkgMaintainer = "quicprochat developers"
	pkgDesc       = `quicprochat node: end-to-end encrypted messaging for community mesh
networks (Freifunk). The router relays ciphertext between its users and
the nodes nearby (mDNS, federation), with no internet uplink needed.`
)

var versionRE = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+-r[0-9]+$`)

// build writes one package per architecture and format and returns them.
func build(o options) ([]built, error) {
	want := map[string]bool{}
	for _, f := range o.formats {
		if f != "ipk" && f != "apk" {
			return nil, fmt.Errorf("%q: %w", f, ErrUnknownFormat)
		}
		want[f] = true
	}
	if len(want) == 0 {
		want["ipk"] = true
	}
	if o.apkOut == "" {
		o.apkOut = o.out
	}
	root, err := filepath.Abs(o.root)
	if err != nil {
		return nil, err
	}
	o.root = root
	table, err := readArchs(filepath.Join(o.root, "scripts/cross/openwrt-archs.txt"))
	if err != nil {
		return nil, err
	}
	known, err := readTargets(filepath.Join(o.root, "scripts/cross/targets.txt"))
	if err != nil {
		return nil, err
	}
	archs := o.archs
	if len(archs) == 0 {
		for _, a := range table {
			archs = append(archs, a.arch)
		}
	}
	targetOf := map[string]string{}
	for _, a := range table {
		targetOf[a.arch] = a.target
	}
	var targets []string
	seen := map[string]bool{}
	for _, a := range archs {
		t, ok := targetOf[a]
		if !ok {
			return nil, fmt.Errorf("architecture %q is not in openwrt-archs.txt", a)
		}
		if !known[t] {
			return nil, fmt.Errorf("architecture %s needs target %q, which targets.txt does not list", a, t)
		}
		if !seen[t] {
			seen[t] = true
			targets = append(targets, t)
		}
	}

	version := o.version
	if version == "" {
		if version, err = gitVersion(o.root); err != nil {
			return nil, err
		}
	}
	if !versionRE.MatchString(version) {
		return nil, fmt.Errorf("version %q is not X.Y.Z-rN", version)
	}
	commit := o.commit
	if commit == "" {
		commit = gitOutput(o.root, "unknown", "rev-parse", "--short", "HEAD")
	}
	mtime := sourceTime(o.root)

	payload, err := readPayload(o.root)
	if err != nil {
		return nil, err
	}

	bins, err := os.MkdirTemp("", "mkipk-bin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(bins)
	cmd := exec.Command("sh", append([]string{filepath.Join(o.root, "scripts/cross/build.sh")}, targets...)...)
	cmd.Dir = o.root
	cmd.Env = append(os.Environ(), "OUT="+bins, "VERSION="+version, "COMMIT="+commit)
	var buildLog bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buildLog, &buildLog
	if o.log != nil {
		cmd.Stdout, cmd.Stderr = o.log, o.log
	}
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("scripts/cross/build.sh: %w\n%s", err, buildLog.Bytes())
	}

	if want["ipk"] {
		if err := os.MkdirAll(o.out, 0o755); err != nil {
			return nil, err
		}
	}
	var out []built
	for _, a := range archs {
		bin, err := os.ReadFile(filepath.Join(bins, "qpc-"+targetOf[a]))
		if err != nil {
			return nil, err
		}
		r := recipeFor(a, version, bin, payload)
		if want["ipk"] {
			var buf bytes.Buffer
			if err := r.ipk(mtime).write(&buf); err != nil {
				return nil, fmt.Errorf("%s: %w", a, err)
			}
			name := filepath.Join(o.out, fmt.Sprintf("%s_%s_%s.ipk", pkgName, version, a))
			if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
				return nil, err
			}
			out = append(out, built{arch: a, target: targetOf[a], path: name, format: "ipk", size: int64(buf.Len()), binSize: int64(len(bin))})
		}
		if want["apk"] {
			p, err := r.apk(mtime)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", a, err)
			}
			p.signers = o.signers
			var buf bytes.Buffer
			if err := p.write(&buf); err != nil {
				return nil, fmt.Errorf("%s: %w", a, err)
			}
			dir := filepath.Join(o.apkOut, a)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, err
			}
			name := filepath.Join(dir, fmt.Sprintf("%s-%s.apk", pkgName, version))
			if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
				return nil, err
			}
			out = append(out, built{arch: a, target: targetOf[a], path: name, format: "apk", size: int64(buf.Len()), binSize: int64(len(bin))})
		}
	}
	// The LuCI pages, one package for all architectures (luci.go).
	var formats []string
	for _, f := range []string{"ipk", "apk"} {
		if want[f] {
			formats = append(formats, f)
		}
	}
	luci, err := buildLuci(o, formats, version, mtime)
	if err != nil {
		return nil, err
	}
	return append(out, luci...), nil
}

// postinst and prerm do what the OpenWrt SDK's do: default_postinst creates
// the user of Require-User, runs the uci-defaults script, applies the
// sysctl file, then enables and starts every init script of the package;
// default_prerm stops and disables them.
const postinst = `#!/bin/sh
[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0
[ -s "${IPKG_INSTROOT}/lib/functions.sh" ] || exit 0
. "${IPKG_INSTROOT}/lib/functions.sh"
default_postinst "$0" "$@"
`

const prerm = `#!/bin/sh
[ -s "${IPKG_INSTROOT}/lib/functions.sh" ] || exit 0
. "${IPKG_INSTROOT}/lib/functions.sh"
default_prerm "$0" "$@"
`

// readPayload reads the files besides the binary from the source tree.
func readPayload(root string) ([]file, error) {
	var files []file
	for _, f := range []struct {
		src, dst string
		mode     int64
	}{
		{"init.d/qpc", "etc/init.d/qpc", 0o755},
		{"uci/qpc", "etc/config/qpc", 0o600}, // INSTALL_CONF
		{"openwrt/files/qpc.uci-defaults", "etc/uci-defaults/90-qpc", 0o644},
		{"openwrt/files/qpc.sysctl", "etc/sysctl.d/50-qpc.conf", 0o644},
		// sysupgrade keeps the node key.
		{"openwrt/files/qpc.keep", "lib/upgrade/keep.d/qpc", 0o644},
	} {
		b, err := os.ReadFile(filepath.Join(root, f.src))
		if err != nil {
			return nil, err
		}
		files = append(files, file{name: f.dst, mode: f.mode, data: b})
	}
	return files, nil
}

// arch is one line of openwrt-archs.txt.
type arch struct{ arch, target string }

func readArchs(path string) ([]arch, error) {
	var out []arch
	err := eachLine(path, func(fields []string) error {
		if len(fields) != 2 {
			return fmt.Errorf("want 2 fields (architecture, target), got %d", len(fields))
		}
		out = append(out, arch{fields[0], fields[1]})
		return nil
	})
	if err == nil && len(out) == 0 {
		err = fmt.Errorf("%s lists no architecture", path)
	}
	return out, err
}

// readTargets returns the target names of targets.txt.
func readTargets(path string) (map[string]bool, error) {
	out := map[string]bool{}
	err := eachLine(path, func(fields []string) error {
		if len(fields) != 6 {
			return fmt.Errorf("want 6 fields, got %d", len(fields))
		}
		out[fields[0]] = true
		return nil
	})
	return out, err
}

// eachLine calls fn with the fields of each line that is neither empty nor
// a comment.
func eachLine(path string, fn func([]string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if err := fn(fields); err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	return sc.Err()
}

// gitVersion runs version.sh and returns X.Y.Z-rN.
func gitVersion(root string) (string, error) {
	out, err := exec.Command("sh", filepath.Join(root, "scripts/cross/version.sh"), root).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("version.sh: %v: %s", err, ee.Stderr)
		}
		return "", fmt.Errorf("version.sh: %w", err)
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		return "", fmt.Errorf("version.sh printed %q, want \"X.Y.Z N\"", out)
	}
	return f[0] + "-r" + f[1], nil
}

// sourceTime is the time stamped on every file: $SOURCE_DATE_EPOCH, else
// the time of the last commit, else the epoch, so that the same source
// gives the same package.
func sourceTime(root string) time.Time {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		s = gitOutput(root, "0", "log", "-1", "--format=%ct")
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		sec = 0
	}
	return time.Unix(sec, 0).UTC()
}

// gitOutput returns the trimmed output of a git command in root, or def
// when git fails.
func gitOutput(root, def string, args ...string) string {
	out, err := exec.Command("git", append([]string{"-C", root}, args...)...).Output()
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		return def
	}
	return string(bytes.TrimSpace(out))
}
