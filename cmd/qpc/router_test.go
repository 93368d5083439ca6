package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTheRouterBuildLeavesTheLaptopClientOut builds qpc with the router
// tag, as scripts/cross/build.sh does for the .ipk, and checks that the
// laptop's chat client is not linked in and that its commands say which
// build has them.
func TestTheRouterBuildLeavesTheLaptopClientOut(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-tags", "router", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -tags router -deps: %v", err)
	}
	deps := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		deps[p] = true
	}
	if !deps["github.com/quicprochat/qpc/app"] {
		t.Fatal("the router build has no node (app): the deps list is not what it seems")
	}
	for _, p := range []string{
		"github.com/quicprochat/qpc/client/chat",
		"github.com/quicprochat/qpc/client/chatdb",
		"github.com/quicprochat/qpc/client/session",
		"github.com/quicprochat/qpc/cmd/qpc/internal/repl",
		"github.com/quicprochat/qpc/crypto/mls",
		"github.com/quicprochat/qpc/bench",
		"github.com/quicprochat/qpc/internal/qrterm",
		"rsc.io/qr",
	} {
		if deps[p] {
			t.Errorf("the router build links %s, which only the laptop build needs", p)
		}
	}

	bin := filepath.Join(t.TempDir(), "qpc-router")
	if b, err := exec.Command("go", "build", "-tags", "router", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build -tags router: %v\n%s", err, b)
	}
	for _, args := range [][]string{{"register"}, {"repl"}, {"bench"}, {"mesh", "track", "00"}} {
		cmd := exec.Command(bin, args...)
		b, err := cmd.CombinedOutput()
		name := strings.Join(args[:min(2, len(args))], " ")
		if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != exitUsage {
			t.Errorf("router qpc %s: %v, want exit %d", name, err, exitUsage)
		}
		if !strings.Contains(string(b), "qpc "+name+": not in this build") || !strings.Contains(string(b), "laptop build") {
			t.Errorf("router qpc %s said %q, want that it is in the laptop build", name, b)
		}
	}
	help, _ := exec.Command(bin, "help").Output()
	if !strings.Contains(string(help), "repl     (laptop build only)") || strings.Contains(string(help), "node     (laptop") {
		t.Errorf("router qpc help does not mark the laptop commands:\n%s", help)
	}
	if b, err := exec.Command(bin, "node", "--help").CombinedOutput(); err != nil || !strings.Contains(string(b), "-listen ") {
		t.Errorf("router qpc node --help: %v\n%s", err, b)
	}
}
