package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
)

func TestTarOrderIsADepthFirstWalkByName(t *testing.T) {
	names := []string{"usr/bin/qpc", "etc", "etc-x", ".", "etc/init.d/qpc", "etc/init.d", "usr/bin", "usr", "etc/config/qpc", "etc/config"}
	sort.Slice(names, func(i, j int) bool { return lessByComponent(names[i], names[j]) })
	want := []string{".", "etc", "etc/config", "etc/config/qpc", "etc/init.d", "etc/init.d/qpc", "etc-x", "usr", "usr/bin", "usr/bin/qpc"}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("order %q, want %q", names, want)
		}
	}
}

func TestInstalledSizeGoesBeforeDescription(t *testing.T) {
	got := controlText(insertInstalledSize([]field{{"Package", "qpc"}, {"Description", "one\ntwo\n\nfour"}}, 42))
	want := "Package: qpc\nInstalled-Size: 42\nDescription: one\n two\n .\n four\n"
	if got != want {
		t.Errorf("control\n%s\nwant\n%s", got, want)
	}
}

// TestMaintainerScriptsPassShellcheck lints the postinst and prerm every
// package carries, as the ash of busybox reads them. The functions.sh they
// source exists only on the router (SC1091).
func TestMaintainerScriptsPassShellcheck(t *testing.T) {
	sc := needTool(t, "shellcheck", "shellcheck")
	dir := t.TempDir()
	for name, body := range map[string]string{"postinst": postinst, "prerm": prerm} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(sc, "--shell=dash", "--exclude=SC1091", p).CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", name, err, out)
		}
	}
}
