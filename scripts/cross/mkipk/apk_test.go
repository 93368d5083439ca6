package main

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// sampleMtime is the time stamped on the sample package's files.
var sampleMtime = time.Unix(1796611356, 0)

// samplePackage is a small package that exercises what a real one does
// and a little more: a file with no data, a description over 255 bytes
// (a 16-bit blob), directories that sort differently by component
// ("a-b" before "a/"), modes other than 0644.
func samplePackage() *apkPackage {
	return &apkPackage{
		info: apkInfo{
			name: "qpc", version: "1.2.3-r4",
			description: strings.Repeat("a description long enough for a 16-bit length. ", 7),
			arch:        "mips_24kc", license: "MIT", origin: "feeds/qpc/openwrt",
			maintainer: "quicprochat developers", url: "https://github.com/quicprochat/qpc",
			depends: []string{"libc"}, provides: []string{"qpc-any"},
		},
		files: []file{
			{name: "usr/bin/qpc", mode: 0o755, data: bytes.Repeat([]byte("\x7fELF binary "), 100)},
			{name: "etc/config/qpc", mode: 0o600, data: []byte("config node 'node'\n")},
			{name: "etc/qpc.empty", mode: 0o644},
			{name: "a-b/c", mode: 0o644, data: []byte("c\n")},
			{name: "a/b", mode: 0o640, data: []byte("b\n")},
		},
		scripts: map[int]string{scriptPostInstall: apkPostInstall, scriptPreDeinstall: apkPreDeinstall, scriptPostUpgrade: apkPostUpgrade},
		mtime:   sampleMtime,
	}
}

func writeAPK(t *testing.T, p *apkPackage, compressed bool) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	if compressed {
		err = p.write(&b)
	} else {
		err = p.writeUncompressed(&b)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestAPKRoundTrip writes the sample package and reads it back with the
// test's own reader, compressed (as shipped) and not.
func TestAPKRoundTrip(t *testing.T) {
	for _, compressed := range []bool{true, false} {
		t.Run(fmt.Sprintf("compressed=%v", compressed), func(t *testing.T) {
			p := samplePackage()
			b := writeAPK(t, p, compressed)
			if got := string(b[:4]); compressed && got != "ADBd" || !compressed && got != "ADB." {
				t.Errorf("magic %q", got)
			}
			f, err := readAPK(b, nil)
			if err != nil {
				t.Fatal(err)
			}
			if f.compressed != compressed {
				t.Errorf("read as compressed=%v", f.compressed)
			}
			want := map[int]any{
				piName: "qpc", piVersion: "1.2.3-r4", piDescription: p.info.description, piArch: "mips_24kc",
				piLicense: "MIT", piOrigin: "feeds/qpc/openwrt", piMaintainer: "quicprochat developers",
				piURL: "https://github.com/quicprochat/qpc", piDepends: []string{"libc"}, piProvides: []string{"qpc-any"},
				piInstalledSize: uint64(1200 + 19 + 2 + 2),
			}
			if !reflect.DeepEqual(f.info, want) {
				t.Errorf("info\n got %v\nwant %v", f.info, want)
			}
			var dirs []string
			for _, d := range f.dirs {
				dirs = append(dirs, d.name)
				if d.mode != 0o755 || d.user != "root" || d.group != "root" {
					t.Errorf("directory %q: %o %s:%s", d.name, d.mode, d.user, d.group)
				}
			}
			if want := []string{"", "a", "a-b", "etc", "etc/config", "usr", "usr/bin"}; !reflect.DeepEqual(dirs, want) {
				t.Errorf("paths %q, want %q (strcmp order, the root first)", dirs, want)
			}
			for _, in := range p.files {
				got := f.file(in.name)
				if got == nil {
					t.Errorf("%s missing", in.name)
					continue
				}
				if !bytes.Equal(got.data, in.data) || got.mode != uint64(in.mode) || got.user != "root" || got.group != "root" || got.mtime != uint64(sampleMtime.Unix()) {
					t.Errorf("%s: mode %o %s:%s mtime %d, %d bytes", in.name, got.mode, got.user, got.group, got.mtime, len(got.data))
				}
			}
			if !reflect.DeepEqual(f.scripts, p.scripts) {
				t.Errorf("scripts\n got %v\nwant %v", f.scripts, p.scripts)
			}
			if f.sigBlocks != 0 {
				t.Errorf("%d signature blocks in an unsigned package", f.sigBlocks)
			}
		})
	}
}

// TestAPKIsReproducible: the same input gives the same bytes, and the
// unique id follows the content.
func TestAPKIsReproducible(t *testing.T) {
	a, b := writeAPK(t, samplePackage(), true), writeAPK(t, samplePackage(), true)
	if !bytes.Equal(a, b) {
		t.Error("two writes of the same package differ")
	}
	p := samplePackage()
	p.files[1].data = []byte("config node 'other'\n")
	c := writeAPK(t, p, false)
	u1, u2 := uniqueID(t, writeAPK(t, samplePackage(), false)), uniqueID(t, c)
	if u1 == u2 {
		t.Error("a changed file kept the unique id")
	}
}

func uniqueID(t *testing.T, uncompressed []byte) string {
	t.Helper()
	p := samplePackage()
	adb, _, err := p.metadata()
	if err != nil {
		t.Fatal(err)
	}
	// The ADB payload follows the 8-byte file header and a 4-byte block
	// header; its info object's hashes blob is found through the reader.
	payload := uncompressed[12 : 12+len(adb)]
	v := adbView{payload}
	root, _ := v.obj(adbVal(payload[4]) | adbVal(payload[5])<<8 | adbVal(payload[6])<<16 | adbVal(payload[7])<<24)
	info, _ := v.obj(slot(root, pkgInfo))
	uid, err := v.blob(slot(info, piHashes))
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(uid)
}

func TestAPKWriterRefusesWhatApkWould(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*apkPackage)
	}{
		{"a name starting with a dash", func(p *apkPackage) { p.info.name = "-qpc" }},
		{"a name with a space", func(p *apkPackage) { p.info.name = "q pc" }},
		{"an empty version", func(p *apkPackage) { p.info.version = "" }},
		{"a version with a letter in the middle", func(p *apkPackage) { p.info.version = "1.x.3-r4" }},
		{"a versioned dependency", func(p *apkPackage) { p.info.depends = []string{"libc>=1"} }},
		{"an absolute path", func(p *apkPackage) { p.files[0].name = "/usr/bin/qpc" }},
		{"a path that climbs", func(p *apkPackage) { p.files[0].name = "../qpc" }},
		{"an unclean path", func(p *apkPackage) { p.files[0].name = "usr//bin/qpc" }},
		{"a path twice", func(p *apkPackage) { p.files[1].name = p.files[0].name }},
		{"a file that is also a directory", func(p *apkPackage) { p.files[1].name = "usr/bin" }},
		{"a mode with the file type", func(p *apkPackage) { p.files[0].mode = 0o100755 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := samplePackage()
			c.edit(p)
			var b bytes.Buffer
			if err := p.write(&b); !errors.Is(err, ErrBadPackageField) {
				t.Errorf("write: %v, want ErrBadPackageField", err)
			}
		})
	}
}

// TestAPKTruncationsAreRefused: every prefix of a package is refused by
// the reader with one of its errors, so the reader's checks (which the
// writer's tests rely on) see every byte.
func TestAPKTruncationsAreRefused(t *testing.T) {
	b := writeAPK(t, samplePackage(), false)
	sentinels := []error{errAPKMagic, errAPKTruncated, errAPKBlock, errAPKValue, errAPKSchema, errAPKIntegrity}
	for n := 0; n < len(b); n++ {
		_, err := readAPK(b[:n], nil)
		ok := false
		for _, s := range sentinels {
			ok = ok || errors.Is(err, s)
		}
		if !ok {
			t.Fatalf("a package cut to %d of %d bytes: %v", n, len(b), err)
		}
	}
}

// TestAPKReaderCatchesCorruption flips bytes of the ADB block and of a
// data block: the unique id or a file hash no longer matches.
func TestAPKReaderCatchesCorruption(t *testing.T) {
	b := writeAPK(t, samplePackage(), false)
	adb, _, _ := samplePackage().metadata()
	for _, at := range []int{12 + len(adb) - 1, len(b) - 16} {
		c := append([]byte(nil), b...)
		c[at] ^= 0x20
		if _, err := readAPK(c, nil); err == nil {
			t.Errorf("a flipped byte at %d of %d went unnoticed", at, len(b))
		}
	}
}

func FuzzReadAPK(f *testing.F) {
	p := samplePackage()
	var raw, z bytes.Buffer
	if err := p.writeUncompressed(&raw); err != nil {
		f.Fatal(err)
	}
	if err := p.write(&z); err != nil {
		f.Fatal(err)
	}
	f.Add(raw.Bytes())
	f.Add(z.Bytes())
	f.Add([]byte("ADB.pckg"))
	f.Fuzz(func(t *testing.T, b []byte) {
		// No panic, and what is accepted is consistent enough to print.
		if pkg, err := readAPK(b, nil); err == nil {
			_ = fmt.Sprint(pkg.info, len(pkg.dirs))
		}
	})
}

// testKeys makes an ECDSA P-256 key (what OpenWrt's build generates for
// apk) and an RSA key.
func testKeys(t *testing.T) []crypto.Signer {
	t.Helper()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return []crypto.Signer{ec, rk}
}

func TestAPKSignatures(t *testing.T) {
	keys := testKeys(t)
	other := testKeys(t)
	for _, k := range keys {
		t.Run(fmt.Sprintf("%T", k), func(t *testing.T) {
			p := samplePackage()
			p.signers = []crypto.Signer{k}
			b := writeAPK(t, p, false)
			f, err := readAPK(b, []crypto.PublicKey{other[0].Public(), other[1].Public(), k.Public()})
			if err != nil {
				t.Fatal(err)
			}
			id, _ := apkKeyID(k.Public())
			if f.sigBlocks != 1 || len(f.signedBy) != 1 || f.signedBy[0] != id {
				t.Errorf("%d signature blocks, verified by %x, want one by %x", f.sigBlocks, f.signedBy, id)
			}
			if f, err := readAPK(b, []crypto.PublicKey{other[0].Public()}); err != nil || len(f.signedBy) != 0 {
				t.Errorf("with another key: %v, verified by %x", err, f.signedBy)
			}
			// A changed file list (a byte of the ADB block) breaks the
			// signature.
			c := append([]byte(nil), b...)
			c[40] ^= 1
			if _, err := readAPK(c, []crypto.PublicKey{k.Public()}); !errors.Is(err, errAPKSignature) {
				t.Errorf("tampered metadata: %v, want errAPKSignature", err)
			}
		})
	}
}

func TestReadSigningKey(t *testing.T) {
	dir := t.TempDir()
	keys := testKeys(t)
	ecDER, _ := x509.MarshalECPrivateKey(keys[0].(*ecdsa.PrivateKey))
	p8, _ := x509.MarshalPKCS8PrivateKey(keys[0])
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	ed8, _ := x509.MarshalPKCS8PrivateKey(edKey)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	pemOf := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	for _, c := range []struct {
		name string
		pem  []byte
		ok   bool
	}{
		// `openssl ecparam -name prime256v1 -genkey` writes the
		// parameters before the key.
		{"an EC key after its parameters", append(pemOf("EC PARAMETERS", []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}), pemOf("EC PRIVATE KEY", ecDER)...), true},
		{"a PKCS #8 EC key", pemOf("PRIVATE KEY", p8), true},
		{"a PKCS #1 RSA key", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(keys[1].(*rsa.PrivateKey))), true},
		{"an Ed25519 key", pemOf("PRIVATE KEY", ed8), false},
		{"a 1024-bit RSA key", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(small)), false},
		{"a public key", pemOf("PUBLIC KEY", []byte{1, 2, 3}), false},
		{"no PEM", []byte("not a key"), false},
		{"a broken EC key", pemOf("EC PRIVATE KEY", []byte{1, 2, 3}), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := writeFile(t, dir, strings.ReplaceAll(c.name, " ", "_"), c.pem)
			k, err := readSigningKey(p)
			if c.ok && (err != nil || k == nil) {
				t.Fatalf("readSigningKey: %v", err)
			}
			if !c.ok && !errors.Is(err, ErrSigningKey) {
				t.Fatalf("readSigningKey: %v, want ErrSigningKey", err)
			}
		})
	}
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAPKsCarryTheRecipe takes apart the .apk of every architecture: the
// name and place the SDK gives it, the info apk-tools indexes, every file
// with its mode, the /lib/apk/packages files OpenWrt's scripts read, the
// scripts, and the same binary as the architecture's .ipk.
func TestAPKsCarryTheRecipe(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary per target; skipped with -short")
	}
	ipkBin := map[string][]byte{}
	for _, p := range packagesOf(t, "ipk") {
		ipkBin[p.arch] = ipkBinary(t, p.path)
	}
	src := map[string]string{
		"etc/init.d/qpc":            readFile(t, testRoot, "init.d/qpc"),
		"etc/config/qpc":            readFile(t, testRoot, "uci/qpc"),
		"etc/uci-defaults/90-qpc":   readFile(t, testRoot, "openwrt/files/qpc.uci-defaults"),
		"etc/sysctl.d/50-qpc.conf":  readFile(t, testRoot, "openwrt/files/qpc.sysctl"),
		"lib/upgrade/keep.d/qpc":    readFile(t, testRoot, "openwrt/files/qpc.keep"),
		"lib/apk/packages/qpc.list": "",
	}
	apks := packagesOf(t, "apk")
	if len(apks) != len(ipkBin) {
		t.Errorf("%d .apk for %d .ipk", len(apks), len(ipkBin))
	}
	for _, pkg := range apks {
		t.Run(pkg.arch, func(t *testing.T) {
			if want := filepath.Join(pkg.arch, "qpc-"+testVersion+".apk"); !strings.HasSuffix(pkg.path, string(filepath.Separator)+want) {
				t.Errorf("path %s, want …/%s", pkg.path, want)
			}
			b, err := os.ReadFile(pkg.path)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(b)) != pkg.size {
				t.Errorf("%d bytes, build said %d", len(b), pkg.size)
			}
			f, err := readAPK(b, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !f.compressed || f.sigBlocks != 0 {
				t.Errorf("compressed %v, %d signatures: want deflated and unsigned", f.compressed, f.sigBlocks)
			}
			for i, want := range map[int]any{
				piName: "qpc", piVersion: testVersion, piArch: pkg.arch, piLicense: pkgLicense, piOrigin: pkgSource,
				piMaintainer: pkgMaintainer, piURL: pkgURL, piDepends: []string{"libc"}, piProvides: []string{"qpc-any"},
				piDescription: strings.Join(strings.Fields(pkgDesc), " "),
			} {
				if !reflect.DeepEqual(f.info[i], want) {
					t.Errorf("info field %d = %q, want %q", i, f.info[i], want)
				}
			}
			var names []string
			modes := map[string]uint64{}
			for _, d := range f.dirs {
				for _, fl := range d.files {
					n := strings.TrimPrefix(d.name+"/"+fl.name, "/")
					names = append(names, n)
					modes[n] = fl.mode
				}
			}
			wantModes := map[string]uint64{
				"usr/bin/qpc": 0o755, "etc/init.d/qpc": 0o755, "etc/config/qpc": 0o600,
				"etc/uci-defaults/90-qpc": 0o644, "etc/sysctl.d/50-qpc.conf": 0o644, "lib/upgrade/keep.d/qpc": 0o644,
				"lib/apk/packages/qpc.rusers": 0o644, "lib/apk/packages/qpc.list": 0o644,
				"lib/apk/packages/qpc.conffiles": 0o644, "lib/apk/packages/qpc.conffiles_static": 0o644,
			}
			if !reflect.DeepEqual(modes, wantModes) {
				t.Errorf("files and modes\n got %v\nwant %v", modes, wantModes)
			}
			for name, want := range src {
				if name == "lib/apk/packages/qpc.list" {
					continue
				}
				if got := f.file(name); got == nil || string(got.data) != want {
					t.Errorf("%s is not the source tree's", name)
				}
			}
			if got := f.file("usr/bin/qpc"); got == nil || !bytes.Equal(got.data, ipkBin[pkg.arch]) {
				t.Errorf("usr/bin/qpc is not the binary of the %s .ipk", pkg.arch)
			}
			// What OpenWrt's functions.sh and sysupgrade read.
			var list []string
			for _, n := range names {
				if n != "lib/apk/packages/qpc.list" && n != "lib/apk/packages/qpc.conffiles" && n != "lib/apk/packages/qpc.conffiles_static" {
					list = append(list, "/"+n)
				}
			}
			sort.Strings(list)
			wantText := map[string]string{
				"lib/apk/packages/qpc.rusers":    "qpc=427:qpc=427\n",
				"lib/apk/packages/qpc.list":      strings.Join(list, "\n") + "\n",
				"lib/apk/packages/qpc.conffiles": "/etc/config/qpc\n/etc/sysctl.d/50-qpc.conf\n",
				"lib/apk/packages/qpc.conffiles_static": fmt.Sprintf("/etc/config/qpc %x\n/etc/sysctl.d/50-qpc.conf %x\n",
					sha256.Sum256([]byte(src["etc/config/qpc"])), sha256.Sum256([]byte(src["etc/sysctl.d/50-qpc.conf"]))),
			}
			for name, want := range wantText {
				if got := f.file(name); got == nil || string(got.data) != want {
					t.Errorf("%s =\n%s\nwant\n%s", name, got.data, want)
				}
			}
			if !strings.Contains(wantText["lib/apk/packages/qpc.list"], "/etc/init.d/qpc\n") {
				t.Error("the list lacks the init script, which default_postinst enables from it")
			}
			wantScripts := map[int]string{scriptPostInstall: apkPostInstall, scriptPreDeinstall: apkPreDeinstall, scriptPostUpgrade: apkPostUpgrade}
			if !reflect.DeepEqual(f.scripts, wantScripts) {
				t.Errorf("scripts = %v", f.scripts)
			}
		})
	}
}

// ipkBinary returns /usr/bin/qpc of an .ipk.
func ipkBinary(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	outer := readTar(t, "outer", gunzip(t, path, b))
	for _, m := range outer {
		if m.name != "./data.tar.gz" {
			continue
		}
		for _, e := range readTar(t, "data.tar", gunzip(t, "data.tar.gz", m.data)) {
			if e.name == "./usr/bin/qpc" {
				return e.data
			}
		}
	}
	t.Fatalf("%s has no ./usr/bin/qpc", path)
	return nil
}

// TestAPKScriptsAreTheSDKs checks the scripts against how package-pack.mk
// derives them: post-upgrade is post-install with PKG_UPGRADE=1 in front,
// and each sources functions.sh and names the package for the functions.
func TestAPKScriptsAreTheSDKs(t *testing.T) {
	body := strings.TrimPrefix(apkPostInstall, "#!/bin/sh\n")
	if apkPostUpgrade != "#!/bin/sh\nexport PKG_UPGRADE=1\n"+body {
		t.Errorf("post-upgrade is not post-install after PKG_UPGRADE=1:\n%s", apkPostUpgrade)
	}
	for name, s := range map[string]string{"post-install": apkPostInstall, "pre-deinstall": apkPreDeinstall} {
		for _, want := range []string{"#!/bin/sh\n", ". ${IPKG_INSTROOT}/lib/functions.sh\n", "export pkgname=\"qpc\"\n"} {
			if !strings.Contains(s, want) {
				t.Errorf("%s lacks %q", name, want)
			}
		}
	}
	if !strings.HasSuffix(apkPostInstall, "add_group_and_user\ndefault_postinst\n") || !strings.HasSuffix(apkPreDeinstall, "default_prerm\n") {
		t.Error("the scripts do not end with the calls package-pack.mk writes")
	}
	sc := needTool(t, "shellcheck", "shellcheck")
	dir := t.TempDir()
	for name, s := range map[string]string{"post-install": apkPostInstall, "post-upgrade": apkPostUpgrade, "pre-deinstall": apkPreDeinstall} {
		p := writeFile(t, dir, name, []byte(s))
		// SC2086: ${IPKG_INSTROOT} unquoted, as the SDK writes it (it
		// is empty or a path without spaces).
		if out, err := runTool(sc, "--shell=dash", "--exclude=SC1091,SC2086", p); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", name, err, out)
		}
	}
}
