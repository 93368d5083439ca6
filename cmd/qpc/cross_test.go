package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

type crossTarget struct {
	name, goos, goarch, qemu string
}

// crossTargets reads scripts/cross/targets.txt, the list the release build
// uses, and returns the targets that run under a qemu-user emulator.
func crossTargets(t *testing.T) []crossTarget {
	t.Helper()
	f, err := os.Open("../../scripts/cross/targets.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []crossTarget
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 6 || strings.HasPrefix(fields[0], "#") || fields[5] == "-" {
			continue
		}
		out = append(out, crossTarget{name: fields[0], goos: fields[1], goarch: fields[2], qemu: fields[5]})
	}
	if len(out) == 0 {
		t.Fatal("targets.txt lists no emulated targets")
	}
	return out
}

// needQemu returns the path of an emulator, skipping outside CI when it is
// missing and failing in CI, whose .ci/run installs qemu-user-static.
func needQemu(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not found: .ci/run must install qemu-user-static", name)
	}
	t.Skipf("%s not found (apt-get install qemu-user-static); skipping the cross-arch test outside CI", name)
	return ""
}

// TestCrossBinariesRunUnderQemu builds every router binary with the release
// script and runs each under qemu-user; then a mips node (big-endian, soft
// float) answers health to this machine's native qpc status.
func TestCrossBinariesRunUnderQemu(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("cross builds take a while; skipped with -short")
	}
	targets := crossTargets(t)
	for _, tg := range targets {
		needQemu(t, tg.qemu)
	}
	out := t.TempDir()
	names := []string{"scripts/cross/build.sh"}
	for _, tg := range targets {
		names = append(names, tg.name)
	}
	build := exec.Command("sh", names...)
	build.Dir = "../.."
	build.Env = append(os.Environ(), "OUT="+out, "VERSION=crosstest", "COMMIT=0000000")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("cross build: %v\n%s", err, b)
	}

	for _, tg := range targets {
		t.Run(tg.name+" prints its own platform", func(t *testing.T) {
			bin := filepath.Join(out, "qpc-"+tg.name)
			got, err := exec.Command(needQemu(t, tg.qemu), bin, "version").CombinedOutput()
			if err != nil {
				t.Fatalf("%s %s version: %v\n%s", tg.qemu, bin, err, got)
			}
			want := "qpc crosstest (0000000) " + tg.goos + "/" + tg.goarch + "\n"
			if string(got) != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}

	t.Run("a mips node answers a native status", func(t *testing.T) {
		p := startNodeProc(t, needQemu(t, "qemu-mips-static"), filepath.Join(out, "qpc-mips"))
		got, err := exec.Command(qpcBin, "status", "--server", p.addr, "--pin", p.fp, "--json", "--timeout", "30s").CombinedOutput()
		if err != nil {
			t.Fatalf("native status against the mips node: %v\n%s\nnode logs:\n%s", err, got, p.logs)
		}
		var st statusJSON
		if err := json.Unmarshal(got, &st); err != nil {
			t.Fatalf("%v: %s", err, got)
		}
		if st.Platform != "linux/mips" || st.Version != "crosstest" || st.Domain != "node1.example.mesh" || len(st.NodeID) != 26 {
			t.Errorf("status = %+v, want a linux/mips crosstest node", st)
		}
	})
}
