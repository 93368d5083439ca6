package main

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The tests of this file check the packages with apk-tools 3 itself.
// Debian packages no apk-tools, so CI has none and they skip; on a machine
// with apk-tools 3 built from its sources (meson, or its Makefile), point
// QPC_APK at the binary or put it on PATH.

func runTool(name string, args ...string) ([]byte, error) {
	return exec.Command(name, args...).CombinedOutput()
}

// apkTool returns the apk-tools 3 binary, or skips.
func apkTool(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("QPC_APK")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("apk"); err != nil {
			t.Skip("apk-tools 3 not found (Debian has no package: build it from https://gitlab.alpinelinux.org/alpine/apk-tools and set QPC_APK); CI cannot run this check")
		}
	}
	out, err := runTool(bin, "--version")
	if err != nil || !strings.HasPrefix(string(out), "apk-tools 3.") {
		t.Skipf("%s is not apk-tools 3 (%v: %q); CI cannot run this check", bin, err, out)
	}
	return bin
}

// needRoot skips when the files staged for apk would not belong to root
// (the SDK runs apk mkpkg under fakeroot) or apk could not chroot into
// its --root to run the scripts.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: staged files must belong to root, and apk chroots to run scripts")
	}
}

// stage writes p's files into a new directory, with the modes the SDK's
// install commands give them (directories 0755).
func stage(t *testing.T, p *apkPackage) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "root")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range p.files {
		full := filepath.Join(dir, f.name)
		for d := path.Dir(f.name); d != "."; d = path.Dir(d) {
			if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(filepath.Join(dir, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(full, f.data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(full, os.FileMode(f.mode)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestAPKMatchesApkMkpkg runs `apk mkpkg` the way the 25.12 SDK's
// package-pack.mk does on the same files, scripts and info, and compares
// its uncompressed output with the writer's, byte for byte. (The deflate
// streams differ: zlib and Go's compress/flate choose different matches.)
// It does so for the sample package and for the recipe's own package,
// lib/apk/packages files included, around a stand-in binary.
func TestAPKMatchesApkMkpkg(t *testing.T) {
	apk := apkTool(t)
	needRoot(t)
	payload, err := readPayload(testRoot)
	if err != nil {
		t.Fatal(err)
	}
	bin := bytes.Repeat([]byte("a stand-in for the router binary\n"), 1<<15)
	recipePkg, err := recipeFor("mips_24kc", testVersion, bin, payload).apk(sampleMtime)
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]*apkPackage{"the sample": samplePackage(), "the recipe's": recipePkg} {
		t.Run(name, func(t *testing.T) {
			root := stage(t, p)
			scripts := t.TempDir()
			// package-pack.mk's call, with the compression off.
			args := []string{"mkpkg", "--compression", "none",
				"--info", "name:" + p.info.name, "--info", "version:" + p.info.version,
				"--info", "description:" + p.info.description, "--info", "arch:" + p.info.arch,
				"--info", "license:" + p.info.license, "--info", "origin:" + p.info.origin,
				"--info", "url:" + p.info.url, "--info", "maintainer:" + p.info.maintainer,
				"--info", "provides:" + strings.Join(p.info.provides, " ")}
			for name, i := range map[string]int{"post-install": scriptPostInstall, "post-upgrade": scriptPostUpgrade, "pre-deinstall": scriptPreDeinstall} {
				args = append(args, "--script", name+":"+writeFile(t, scripts, name, []byte(p.scripts[i])))
			}
			out := filepath.Join(t.TempDir(), "ref.apk")
			args = append(args, "--info", "depends:"+strings.Join(p.info.depends, " "), "--files", root, "--output", out)
			cmd := exec.Command(apk, args...)
			cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH="+strconv.FormatInt(sampleMtime.Unix(), 10))
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("apk mkpkg: %v\n%s", err, b)
			}
			ref, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			ours := writeAPK(t, p, false)
			if !bytes.Equal(ours, ref) {
				n := 0
				for n < len(ours) && n < len(ref) && ours[n] == ref[n] {
					n++
				}
				t.Fatalf("apk mkpkg wrote %d bytes, the writer %d; first difference at byte %d", len(ref), len(ours), n)
			}
			t.Logf("apk mkpkg and the writer agree on all %d bytes", len(ours))
		})
	}
}

// TestAPKSignatureVerifiesWithApk signs with an ECDSA and an RSA key and
// has `apk verify` check each against the public key in --keys-dir, as
// /etc/apk/keys on the router; unsigned, apk refuses.
func TestAPKSignatureVerifiesWithApk(t *testing.T) {
	apk := apkTool(t)
	for _, k := range testKeys(t) {
		t.Run(fmt.Sprintf("%T", k), func(t *testing.T) {
			keys := t.TempDir()
			der, err := x509.MarshalPKIXPublicKey(k.Public())
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, keys, "qpc.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
			p := samplePackage()
			p.signers = []crypto.Signer{k}
			signed := writeFile(t, t.TempDir(), "signed.apk", writeAPK(t, p, true))
			if out, err := runTool(apk, "--keys-dir", keys, "verify", signed); err != nil {
				t.Errorf("apk verify of the signed package: %v\n%s", err, out)
			}
			unsigned := writeFile(t, t.TempDir(), "unsigned.apk", writeAPK(t, samplePackage(), true))
			if out, err := runTool(apk, "--keys-dir", keys, "verify", unsigned); err == nil {
				t.Errorf("apk verify accepted the unsigned package:\n%s", out)
			}
		})
	}
}

// TestAPKInstallUpgradeRemove installs the x86_64 package into an empty
// root with apk (--allow-untrusted: it is unsigned), upgrades it to a
// new release and removes it. The root has a shell and a functions.sh
// that records what the scripts call, so the test sees apk run
// post-install, post-upgrade (PKG_UPGRADE=1) and pre-deinstall.
func TestAPKInstallUpgradeRemove(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary per target; skipped with -short")
	}
	apk := apkTool(t)
	needRoot(t)
	var pkg built
	for _, p := range packagesOf(t, "apk") {
		if p.arch == "x86_64" {
			pkg = p
		}
	}
	if pkg.path == "" {
		t.Fatal("no x86_64 .apk")
	}
	root := t.TempDir()
	shellRoot(t, root)
	writeFile(t, filepath.Join(root, "lib"), "functions.sh", []byte(recordingFunctions))

	// apk resolves the package's libc dependency: a package that
	// provides it.
	libc := &apkPackage{info: apkInfo{name: "libc", version: "1.2.5-r4", arch: "x86_64", description: "libc for the test"}}
	libcPath := writeFile(t, t.TempDir(), "libc.apk", writeAPK(t, libc, true))

	run := func(args ...string) string {
		t.Helper()
		out, err := runTool(apk, append([]string{"--root", root, "--no-network", "--allow-untrusted"}, args...)...)
		if err != nil || bytes.Contains(out, []byte("ERROR")) {
			t.Fatalf("apk %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	out := run("add", "--initdb", "--arch", "x86_64", libcPath, pkg.path)
	t.Logf("apk add:\n%s", out)
	for _, f := range []string{"usr/bin/qpc", "etc/init.d/qpc", "etc/config/qpc", "lib/apk/packages/qpc.list", "lib/apk/packages/qpc.rusers"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("installed: %v", err)
		}
	}
	if fi, err := os.Stat(filepath.Join(root, "etc/config/qpc")); err == nil && fi.Mode().Perm() != 0o600 {
		t.Errorf("/etc/config/qpc installed %o, want 0600", fi.Mode().Perm())
	}
	wantRecord(t, root, "add_group_and_user pkgname=qpc upgrade=\ndefault_postinst pkgname=qpc upgrade=\n")

	// The next release, from the same files.
	bin, err := os.ReadFile(filepath.Join(root, "usr/bin/qpc"))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := readPayload(testRoot)
	if err != nil {
		t.Fatal(err)
	}
	next, err := recipeFor("x86_64", "1.2.3-r5", bin, payload).apk(sampleMtime)
	if err != nil {
		t.Fatal(err)
	}
	nextPath := writeFile(t, t.TempDir(), "qpc-1.2.3-r5.apk", writeAPK(t, next, true))
	// A setting the user changed survives the upgrade.
	cfg := filepath.Join(root, "etc/config/qpc")
	edited := append(readBytes(t, cfg), []byte("\toption domain 'edited.example'\n")...)
	if err := os.WriteFile(cfg, edited, 0o600); err != nil {
		t.Fatal(err)
	}
	out = run("add", nextPath)
	t.Logf("apk add (upgrade):\n%s", out)
	if !strings.Contains(out, "Upgrading qpc (1.2.3-r4 -> 1.2.3-r5)") {
		t.Errorf("no upgrade reported:\n%s", out)
	}
	if got := readBytes(t, cfg); !bytes.Equal(got, edited) {
		t.Error("the upgrade overwrote the edited /etc/config/qpc")
	}
	if _, err := os.Stat(cfg + ".apk-new"); err != nil {
		t.Errorf("the new default is not beside the edited config: %v", err)
	}
	wantRecord(t, root, "add_group_and_user pkgname=qpc upgrade=\ndefault_postinst pkgname=qpc upgrade=\n"+
		"add_group_and_user pkgname=qpc upgrade=1\ndefault_postinst pkgname=qpc upgrade=1\n")

	out = run("del", "qpc")
	t.Logf("apk del:\n%s", out)
	if _, err := os.Stat(filepath.Join(root, "usr/bin/qpc")); !os.IsNotExist(err) {
		t.Errorf("usr/bin/qpc after removal: %v", err)
	}
	// What the admin changed stays; what apk put beside it goes.
	if got, err := os.ReadFile(cfg); err != nil || !bytes.Equal(got, edited) {
		t.Errorf("the edited config after removal: %v", err)
	}
	if _, err := os.Stat(cfg + ".apk-new"); !os.IsNotExist(err) {
		t.Errorf("qpc.apk-new after removal: %v", err)
	}
	wantRecord(t, root, "add_group_and_user pkgname=qpc upgrade=\ndefault_postinst pkgname=qpc upgrade=\n"+
		"add_group_and_user pkgname=qpc upgrade=1\ndefault_postinst pkgname=qpc upgrade=1\n"+
		"default_prerm pkgname=qpc upgrade=\n")
}

func readBytes(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// recordingFunctions stands in for OpenWrt's /lib/functions.sh in the
// test's root: it records the calls of the package's scripts.
const recordingFunctions = `# STAND-IN for OpenWrt's /lib/functions.sh, written by the qpc tests.
add_group_and_user() { echo "add_group_and_user pkgname=$pkgname upgrade=$PKG_UPGRADE" >>/record; }
default_postinst() { echo "default_postinst pkgname=$pkgname upgrade=$PKG_UPGRADE" >>/record; }
default_prerm() { echo "default_prerm pkgname=$pkgname upgrade=$PKG_UPGRADE" >>/record; }
`

func wantRecord(t *testing.T, root, want string) {
	t.Helper()
	got, _ := os.ReadFile(filepath.Join(root, "record"))
	if string(got) != want {
		t.Errorf("the scripts called\n%s\nwant\n%s", got, want)
	}
}

// shellRoot gives root a /bin/sh (busybox and the libraries ldd names),
// for apk to run the package's scripts in.
func shellRoot(t *testing.T, root string) {
	t.Helper()
	bb := needTool(t, "busybox", "busybox")
	out, err := runTool("ldd", bb)
	libs := regexp.MustCompile(`(/[^ \t\n]+)`).FindAllString(string(out), -1)
	if err != nil && !strings.Contains(string(out), "not a dynamic executable") {
		t.Fatalf("ldd %s: %v\n%s", bb, err, out)
	}
	for _, src := range append(libs, bb) {
		dst := filepath.Join(root, src)
		if src == bb {
			dst = filepath.Join(root, "bin/sh")
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}
