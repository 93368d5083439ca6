package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// luciCeiling bounds luci-app-qpc: a few views and a shell script, on a
// router whose flash the node already fills.
const luciCeiling = 64 << 10

// luciSources are the files of openwrt/luci-app-qpc and where the
// package installs them, with their modes.
var luciSources = []struct {
	src, dst string
	mode     int64
}{
	{"root/usr/libexec/rpcd/qpc", "usr/libexec/rpcd/qpc", 0o755},
	{"root/usr/share/luci/menu.d/luci-app-qpc.json", "usr/share/luci/menu.d/luci-app-qpc.json", 0o644},
	{"root/usr/share/rpcd/acl.d/luci-app-qpc.json", "usr/share/rpcd/acl.d/luci-app-qpc.json", 0o644},
	{"htdocs/luci-static/resources/view/qpc/invites.js", "www/luci-static/resources/view/qpc/invites.js", 0o644},
	{"htdocs/luci-static/resources/view/qpc/settings.js", "www/luci-static/resources/view/qpc/settings.js", 0o644},
	{"htdocs/luci-static/resources/view/qpc/status.js", "www/luci-static/resources/view/qpc/status.js", 0o644},
	{"htdocs/luci-static/resources/view/qpc/users.js", "www/luci-static/resources/view/qpc/users.js", 0o644},
}

// buildLuciForTest writes luci-app-qpc in both formats into a temporary
// directory; it needs no cross build.
func buildLuciForTest(t *testing.T) (ipkPath, apkPath string) {
	t.Helper()
	root, err := filepath.Abs(testRoot)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pkgs, err := buildLuci(options{root: root, out: filepath.Join(dir, "ipk"), apkOut: filepath.Join(dir, "apk")},
		[]string{"ipk", "apk"}, testVersion, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 2 {
		t.Fatalf("buildLuci made %d packages, want an .ipk and an .apk", len(pkgs))
	}
	for _, p := range pkgs {
		if p.size > luciCeiling {
			t.Errorf("%s is %d bytes, over its ceiling of %d", p.path, p.size, luciCeiling)
		}
		t.Logf("%s: %d bytes", filepath.Base(p.path), p.size)
	}
	return pkgs[0].path, pkgs[1].path
}

func TestLuciIPKCarriesTheAppForAllArchitectures(t *testing.T) {
	ipkPath, _ := buildLuciForTest(t)
	if want := "luci-app-qpc_" + testVersion + "_all.ipk"; filepath.Base(ipkPath) != want {
		t.Errorf("file name %s, want %s", filepath.Base(ipkPath), want)
	}
	b, err := os.ReadFile(ipkPath)
	if err != nil {
		t.Fatal(err)
	}
	outer := readTar(t, "outer", gunzip(t, "the .ipk", b))
	if len(outer) != 3 {
		t.Fatalf("%d members in the .ipk, want 3", len(outer))
	}
	ctl := readTar(t, "control.tar", gunzip(t, "control.tar.gz", outer[2].data))
	wantMembers(t, "control.tar", ctl, []member{
		{"./", 0o755, true},
		{"./control", 0o644, false},
		{"./postinst", 0o755, false},
		{"./prerm", 0o755, false},
	})
	control := string(ctl[1].data)
	for _, want := range []string{"Package: luci-app-qpc\n", "Version: " + testVersion + "\n", "Architecture: all\n",
		"Depends: libc, qpc, luci-base, rpcd\n", "Section: luci\n"} {
		if !strings.Contains(control, want) {
			t.Errorf("control lacks %q:\n%s", want, control)
		}
	}
	data := readTar(t, "data.tar", gunzip(t, "data.tar.gz", outer[1].data))
	got := map[string]entry{}
	for _, e := range data {
		if !strings.HasSuffix(e.name, "/") {
			got[strings.TrimPrefix(e.name, "./")] = e
		}
	}
	if len(got) != len(luciSources) {
		t.Errorf("%d files in data.tar, want %d: %v", len(got), len(luciSources), reflect.ValueOf(got).MapKeys())
	}
	for _, s := range luciSources {
		e, ok := got[s.dst]
		if !ok {
			t.Errorf("%s is missing", s.dst)
			continue
		}
		if e.mode != s.mode {
			t.Errorf("%s mode %o, want %o", s.dst, e.mode, s.mode)
		}
		if want := readFile(t, testRoot, filepath.Join(luciSrcDir, s.src)); string(e.data) != want {
			t.Errorf("%s differs from %s", s.dst, s.src)
		}
	}
}

func TestLuciAPKCarriesTheAppAsNoarch(t *testing.T) {
	_, apkPath := buildLuciForTest(t)
	if want := filepath.Join("noarch", "luci-app-qpc-"+testVersion+".apk"); !strings.HasSuffix(apkPath, string(filepath.Separator)+want) {
		t.Errorf("path %s, want …/%s", apkPath, want)
	}
	b, err := os.ReadFile(apkPath)
	if err != nil {
		t.Fatal(err)
	}
	f, err := readAPK(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range map[int]any{
		piName: "luci-app-qpc", piVersion: testVersion, piArch: "noarch",
		piDepends: []string{"libc", "luci-base", "qpc", "rpcd"}, piProvides: []string{"luci-app-qpc-any"}, // apk sorts them,
	} {
		if !reflect.DeepEqual(f.info[i], want) {
			t.Errorf("info field %d = %q, want %q", i, f.info[i], want)
		}
	}
	for _, s := range luciSources {
		e := f.file(s.dst)
		if e == nil {
			t.Errorf("%s is missing", s.dst)
			continue
		}
		if int64(e.mode) != s.mode || string(e.data) != readFile(t, testRoot, filepath.Join(luciSrcDir, s.src)) {
			t.Errorf("%s: mode %o or content differs from %s", s.dst, e.mode, s.src)
		}
	}
	if l := f.file("lib/apk/packages/luci-app-qpc.list"); l == nil || !strings.Contains(string(l.data), "/usr/libexec/rpcd/qpc\n") {
		t.Errorf("the file list does not name the plugin")
	}
	if f.scripts[scriptPostInstall] != luciPostinst {
		t.Errorf("post-install script %q, want luciPostinst", f.scripts[scriptPostInstall])
	}
}

// TestLuciScriptsPassShellcheck lints luci-app-qpc's maintainer scripts as
// busybox ash runs them.
func TestLuciScriptsPassShellcheck(t *testing.T) {
	sc := needTool(t, "shellcheck", "shellcheck")
	dir := t.TempDir()
	for name, body := range map[string]string{"postinst": luciPostinst, "prerm": luciPrerm} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(sc, "--shell=dash", p).CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", name, err, out)
		}
	}
}
