package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// laptopOnlyPackages are what only a person at a keyboard uses: the router
// build (issue 25) may not even import them.
var laptopOnlyPackages = []string{
	"github.com/quicprochat/qpc/client/chat",
	"github.com/quicprochat/qpc/client/chatdb",
	// The file core detects media types with net/http (issue 28); the
	// node's file store (node/blob) is in the router build, this is not.
	"github.com/quicprochat/qpc/client/files",
	"github.com/quicprochat/qpc/client/session",
	// Backups and transcript archives (issue 30) are a person's files.
	"github.com/quicprochat/qpc/client/backup",
	"github.com/quicprochat/qpc/client/archive",
	"github.com/quicprochat/qpc/crypto/sealedfile",
	"github.com/quicprochat/qpc/cmd/qpc/internal/repl",
	"github.com/quicprochat/qpc/crypto/mls",
	"github.com/quicprochat/qpc/bench",
	"github.com/quicprochat/qpc/internal/msgtext",
	// internal/qrterm and rsc.io/qr are in the router build since
	// `qpc admin invite` (issue 27) shows the invite's QR code, on the
	// terminal and as SVG for LuCI.
}

// importedNotLinked are packages the router build imports through a
// package it needs (crypto/opaque holds the client's Argon2id, client the
// client's sealing and keys at rest) but whose code the node never runs:
// the linker must leave their functions out.
var importedNotLinked = []string{
	"golang.org/x/crypto/argon2",
	"github.com/quicprochat/qpc/crypto/sealed",
	"github.com/quicprochat/qpc/crypto/keystore",
	"github.com/quicprochat/qpc/crypto/channel",
}

// notLinkedFunctions are functions of packages the router build needs in
// part whose other part it must not carry: log/slog links encoding/json's
// encoder, but its decoder (about 100 KB of mips flash with what it
// brings) was read by datadir and client only, which read their files
// with internal/jsontree instead (issue 25).
var notLinkedFunctions = map[string][]string{
	"encoding/json": {"Unmarshal", "(*decodeState).unmarshal", "(*Decoder).Decode"},
}

// linkedCode maps each package to the functions of it in the output of
// go tool nm, leaving out package initialisers, which run for every
// imported package and are a few bytes each.
func linkedCode(nm string) map[string][]string {
	out := map[string][]string{}
	for _, line := range strings.Split(nm, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || (f[1] != "T" && f[1] != "t") {
			continue
		}
		name := strings.Join(f[2:], " ") // a type parameter may hold spaces
		// The package path ends at the first dot after the last slash
		// before any type parameter or receiver, which may hold slashes.
		head := name
		if i := strings.IndexAny(head, "[("); i >= 0 {
			head = head[:i]
		}
		slash := strings.LastIndex(head, "/")
		dot := strings.Index(name[slash+1:], ".")
		if dot < 0 {
			continue
		}
		pkg, fn := name[:slash+1+dot], name[slash+1+dot+1:]
		if fn == "init" || strings.HasPrefix(fn, "init.") {
			continue
		}
		out[pkg] = append(out[pkg], fn)
	}
	return out
}

// TestTheRouterBuildLeavesTheLaptopClientOut builds qpc with the router
// tag, as scripts/cross/build.sh does for the .ipk, and checks that the
// laptop's chat client is neither imported nor linked in (like tailscale's
// deps tests) and that its commands say which build has them.
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
	for _, p := range laptopOnlyPackages {
		if deps[p] {
			t.Errorf("the router build links %s, which only the laptop build needs", p)
		}
	}

	// Unstripped, so that the symbol table says what the linker kept.
	bin := filepath.Join(t.TempDir(), "qpc-router")
	if b, err := exec.Command("go", "build", "-tags", "router", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build -tags router: %v\n%s", err, b)
	}
	nm, err := exec.Command("go", "tool", "nm", bin).Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}
	linked := linkedCode(string(nm))
	if len(linked["github.com/quicprochat/qpc/node"]) == 0 || len(linked["github.com/quic-go/quic-go"]) == 0 {
		t.Fatal("no code of node or quic-go in the router binary: the symbol table is not what it seems")
	}
	for _, p := range importedNotLinked {
		if fns := linked[p]; len(fns) > 0 {
			t.Errorf("the router binary carries code of %s, which the node never runs: %s", p, strings.Join(fns[:min(5, len(fns))], ", "))
		}
	}
	for p, fns := range notLinkedFunctions {
		for _, fn := range fns {
			if slices.Contains(linked[p], fn) {
				t.Errorf("the router binary carries %s.%s, which it need not (see notLinkedFunctions)", p, fn)
			}
		}
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
	// --check looks at types only, so that the init script may run it
	// before the interfaces are up: a good line passes silently, and so
	// does an interface this machine lacks, which the node itself reports.
	for _, args := range [][]string{
		{"node", "--check", "--max-payload=5000", "--listen=127.0.0.1:0"},
		{"node", "--check", "--mdns", "--mdns-iface=qpc-no-such-if0"},
	} {
		if b, err := exec.Command(bin, args...).CombinedOutput(); err != nil || len(b) != 0 {
			t.Errorf("qpc %q: %v, printed %q; want status 0 and nothing", args, err, b)
		}
	}
	if b, err := exec.Command(bin, "node", "--mdns", "--mdns-iface=qpc-no-such-if0", "--data-dir", t.TempDir()).CombinedOutput(); err == nil || !strings.Contains(string(b), "qpc-no-such-if0") {
		t.Errorf("qpc node without --check started with a missing interface: %v, %q", err, b)
	}
	help, _ := exec.Command(bin, "help").Output()
	if !strings.Contains(string(help), "repl     (laptop build only)") || strings.Contains(string(help), "node     (laptop") {
		t.Errorf("router qpc help does not mark the laptop commands:\n%s", help)
	}
	if b, err := exec.Command(bin, "node", "--help").CombinedOutput(); err != nil || !strings.Contains(string(b), "-listen ") {
		t.Errorf("router qpc node --help: %v\n%s", err, b)
	}

	// A bad value, on the command line or in the environment (as the
	// init script and procd pass them), is one line that names the flag,
	// not the usage text once per respawn in logd.
	for _, bad := range []struct {
		args []string
		env  string
		want []string
	}{
		{[]string{"node", "--max-payload=lots"}, "", []string{"-max-payload", `"lots"`}},
		{[]string{"node", "--no-such-flag"}, "", []string{"-no-such-flag"}},
		{[]string{"node"}, "QPC_MAX_PAYLOAD=lots", []string{"--max-payload", "QPC_MAX_PAYLOAD"}},
		{[]string{"node", "--domain=a b"}, "", []string{"--domain", `"a b"`}},
		{[]string{"node", "--check", "--max-payload=lots"}, "", []string{"-max-payload", `"lots"`}},
		{[]string{"node", "--check", "--log-level=loud"}, "", []string{"--log-level", `"loud"`}},
	} {
		cmd := exec.Command(bin, bad.args...)
		cmd.Env = os.Environ()
		if bad.env != "" {
			cmd.Env = append(cmd.Env, bad.env)
		}
		b, _ := cmd.CombinedOutput()
		out := string(b)
		if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != exitUsage {
			t.Errorf("qpc %q (%s): exit %v, want %d", bad.args, bad.env, cmd.ProcessState, exitUsage)
		}
		if strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "qpc node: ") || strings.Contains(out, "usage:") {
			t.Errorf("qpc %q (%s) printed %q, want one line", bad.args, bad.env, out)
		}
		for _, w := range bad.want {
			if !strings.Contains(out, w) {
				t.Errorf("qpc %q (%s) printed %q, which does not name %s", bad.args, bad.env, out, w)
			}
		}
	}
}

// TestLinkedCode checks the reading of go tool nm that the router test's
// "not linked" verdicts rest on.
func TestLinkedCode(t *testing.T) {
	nm := ` 5f2e10 T golang.org/x/crypto/argon2.IDKey
  4a0000 T golang.org/x/crypto/argon2.init.0
  4a0010 t github.com/quicprochat/qpc/crypto/sealed.(*Box).open
  4a0020 D github.com/quicprochat/qpc/crypto/keystore.table
  4a0030 T internal/sync.(*HashTrieMap[go.shape.interface {},github.com/x/y.T]).Load
  4a0040 T main.main
`
	got := linkedCode(nm)
	want := map[string][]string{
		"golang.org/x/crypto/argon2":               {"IDKey"},
		"github.com/quicprochat/qpc/crypto/sealed": {"(*Box).open"},
		"internal/sync":                            {"(*HashTrieMap[go.shape.interface {},github.com/x/y.T]).Load"},
		"main":                                     {"main"},
	}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for p, fns := range want {
		if strings.Join(got[p], " ") != strings.Join(fns, " ") {
			t.Errorf("%s: got %q, want %q", p, got[p], fns)
		}
	}
}
