package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/opaque"
)

// qpcBin is a qpc binary built for this machine by TestMain, for tests that
// need a real process (signals, exit codes, cross-arch peers).
var qpcBin string

func TestMain(m *testing.M) {
	if os.Getenv(fakeReplEnv) != "" {
		os.Exit(runFakeRepl())
	}
	if os.Getenv(evilNodeEnv) != "" {
		os.Exit(runEvilNode())
	}
	if os.Getenv(mdnsHelperEnv) != "" {
		os.Exit(runMDNSHelper())
	}
	dir, err := os.MkdirTemp("", "qpc-test-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	parallelProcessTests()
	qpcBin = filepath.Join(dir, "qpc")
	args := []string{"build", "-o", qpcBin}
	if opaque.CheapForTests {
		// The tests' qpc stretches passwords as cheaply as the tests
		// themselves do (crypto/opaque/ksf_testbuild.go), so that an
		// account made by either logs in with the other.
		args = append(args, "-tags", "qpc_test_ksf")
	}
	build := exec.Command("go", append(args, ".")...)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building qpc: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func runQPC(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestVersionPrintsVersionCommitAndPlatform(t *testing.T) {
	code, out, _ := runQPC("version")
	want := fmt.Sprintf("qpc dev (unknown) %s/%s\n", runtime.GOOS, runtime.GOARCH)
	if code != exitOK || out != want {
		t.Errorf("qpc version = %d %q, want 0 %q", code, out, want)
	}
}

func TestVersionIsStampedByLinkerFlags(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "qpc")
	build := exec.Command("go", "build", "-ldflags",
		"-X github.com/quicprochat/qpc/version.Version=1.2.3 -X github.com/quicprochat/qpc/version.Commit=abc1234", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("qpc 1.2.3 (abc1234) %s/%s\n", runtime.GOOS, runtime.GOARCH); string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

func TestCommandLineMistakesExitWithUsageCode(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		mention string
	}{
		{"no command at all", nil, "usage"},
		{"an unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"a node port out of range", []string{"node", "--listen", "127.0.0.1:99999"}, "--listen"},
		{"an unknown node flag", []string{"node", "--colour"}, "colour"},
		// A node could not sign envelopes or channel posts with these
		// domains; it used to start anyway.
		{"a node domain that is an IP address", []string{"node", "--domain", "10.0.0.1"}, `--domain: bad domain: "10.0.0.1" ends in a numeric label`},
		{"a node domain in upper case", []string{"node", "--domain", "Node1.Mesh"}, `upper-case letters (use "node1.mesh")`},
		{"an unknown log level", []string{"node", "--log-level", "loud"}, "--log-level"},
		{"production with a self-signed certificate", []string{"node", "--production"}, "--production"},
		{"a channel retention beyond 30 days", []string{"node", "--channel-retention", "721h"}, "--channel-retention"},
		{"a channel rate of zero, which does not turn the limit off", []string{"node", "--channel-user-rate=0"}, "--channel-user-rate"},
		{"status without a server", []string{"status"}, "--server is required"},
		{"status with both pin and CA", []string{"status", "--server", "h:1", "--pin", strings.Repeat("a", 64), "--ca-cert", "x"}, "not both"},
		{"status with a malformed pin", []string{"status", "--server", "h:1", "--pin", "abc"}, "--pin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runQPC(tt.args...)
			if code != exitUsage {
				t.Errorf("exit code %d, want %d", code, exitUsage)
			}
			if !strings.Contains(stderr, tt.mention) {
				t.Errorf("stderr %q does not mention %q", stderr, tt.mention)
			}
		})
	}
}

func TestHelpExitsZeroAndListsCommands(t *testing.T) {
	code, out, _ := runQPC("--help")
	if code != exitOK || !strings.Contains(out, "node") || !strings.Contains(out, "status") {
		t.Errorf("qpc --help = %d %q", code, out)
	}
	code, _, errOut := runQPC("node", "--help")
	if code != exitOK || !strings.Contains(errOut, "QPC_LISTEN") {
		t.Errorf("qpc node --help = %d %q", code, errOut)
	}
}

// nodeProc is a `qpc node` process.
type nodeProc struct {
	cmd  *exec.Cmd
	addr string
	fp   string
	done chan error
	logs *lockedLog
}

// lockedLog is a process's log, written by the goroutine that reads its
// stderr while the test reads it.
type lockedLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// warnings returns the node's log records at warn level or above.
func (p *nodeProc) warnings() string {
	var out strings.Builder
	for line := range strings.Lines(p.logs.String()) {
		var rec struct{ Level string }
		if json.Unmarshal([]byte(line), &rec) == nil && (rec.Level == "WARN" || rec.Level == "ERROR") {
			out.WriteString(line)
		}
	}
	return out.String()
}

// startNodeProc runs cmdline (a qpc binary, possibly behind qemu) as a node
// on 127.0.0.1:0 and waits until it logs that it serves.
func startNodeProc(t *testing.T, cmdline ...string) *nodeProc {
	t.Helper()
	return startNodeProcIn(t, t.TempDir(), "127.0.0.1:0", cmdline...)
}

// startNodeProcIn is startNodeProc with a given data dir and address.
func startNodeProcIn(t *testing.T, dataDir, listen string, cmdline ...string) *nodeProc {
	t.Helper()
	return startNodeProcEnv(t, nil, dataDir, listen, cmdline...)
}

// startNodeProcEnv is startNodeProcIn with env ("QPC_X=v") added to the
// node's environment: the process's own, not the test's (t.Setenv would
// forbid t.Parallel and reach every node started meanwhile).
func startNodeProcEnv(t *testing.T, env []string, dataDir, listen string, cmdline ...string) *nodeProc {
	t.Helper()
	args := append(cmdline, "node", "--listen", listen, "--domain", "node1.example.mesh",
		"--data-dir", dataDir, "--log-format", "json")
	cmd := exec.Command(args[0], args[1:]...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &nodeProc{cmd: cmd, done: make(chan error, 1), logs: &lockedLog{}}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.logs.Write(append(sc.Bytes(), '\n'))
			var rec struct{ Msg, Addr, Fingerprint string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "node serving" && p.addr == "" {
				p.addr, p.fp = rec.Addr, rec.Fingerprint
				close(ready)
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	select {
	case <-ready:
	case <-time.After(60 * time.Second): // qemu on a busy machine can be slow to start
		t.Fatalf("node did not start serving; logs:\n%s", p.logs)
	}
	return p
}

func TestNodeStopsOnSIGTERMWithAClientConnectedAndExitsZero(t *testing.T) {
	t.Parallel()
	p := startNodeProc(t, qpcBin)

	// A client that holds its connection open while the node stops:
	// `qpc status` is too quick, so keep a QUIC connection from this process.
	c := dialPinned(t, p.addr, p.fp)
	defer c.Close()

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		if err != nil {
			t.Fatalf("node exited with %v; logs:\n%s", err, p.logs)
		}
	case <-time.After(15 * time.Second): // far past the 5 s grace period
		t.Fatalf("node did not exit after SIGTERM; logs:\n%s", p.logs)
	}
	if !strings.Contains(p.logs.String(), "node stopped") {
		t.Errorf("node did not log its stop:\n%s", p.logs)
	}
}

func TestStatusAgainstARunningNode(t *testing.T) {
	t.Parallel()
	p := startNodeProc(t, qpcBin)
	known := filepath.Join(t.TempDir(), "known_nodes")

	code, out, stderr := runQPC("status", "--server", p.addr, "--pin", p.fp)
	if code != exitOK || !strings.Contains(out, "node1.example.mesh") {
		t.Fatalf("status with the right pin: %d %q %q", code, out, stderr)
	}

	code, out, stderr = runQPC("status", "--server", p.addr, "--known-nodes", known, "--json")
	var st statusJSON
	if code != exitOK || json.Unmarshal([]byte(out), &st) != nil || st.Fingerprint != p.fp || st.Domain != "node1.example.mesh" {
		t.Fatalf("status --json on first use: %d %q %q", code, out, stderr)
	}
	if !strings.Contains(stderr, "WARNING: first contact") {
		t.Errorf("first contact gave no warning: %q", stderr)
	}

	wrong := strings.Repeat("0", 64)
	code, _, stderr = runQPC("status", "--server", p.addr, "--pin", wrong)
	if code != exitFailure || !strings.Contains(stderr, "does not match the pin") {
		t.Errorf("status with a wrong pin: %d %q", code, stderr)
	}
}

func TestStatusGivesUpOnAnUnreachableNodeWithinTheTimeout(t *testing.T) {
	start := time.Now()
	// Port 9 (discard) on loopback: nothing answers QUIC there.
	code, _, stderr := runQPC("status", "--server", "127.0.0.1:9", "--pin", strings.Repeat("a", 64), "--timeout", "300ms")
	if code != exitFailure || !strings.Contains(stderr, "no answer") {
		t.Errorf("status against nothing: %d %q", code, stderr)
	}
	t.Logf("gave up after %s", time.Since(start).Round(time.Millisecond))
}

// cliUsers registers users on the node process p with the qpc binary,
// each with a password file and a state dir of its own, and returns a
// function that runs a qpc subcommand as one of them (args[0] is the
// subcommand; its flags go before the positional text, which ends flag
// parsing; it returns stdout, stderr and the error of the run), and the
// directory that holds user's state in dir/user.
func cliUsers(t *testing.T, p *nodeProc, users ...string) (qpc func(user string, args ...string) (string, string, error), dir string) {
	t.Helper()
	dir = t.TempDir()
	qpc = func(user string, args ...string) (string, string, error) {
		t.Helper()
		full := append([]string{args[0], "--password-file", filepath.Join(dir, user+".pw"), "--state-dir", filepath.Join(dir, user)}, args[1:]...)
		cmd := exec.Command(qpcBin, full...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		return out.String(), errb.String(), err
	}
	for _, u := range users {
		if err := os.WriteFile(filepath.Join(dir, u+".pw"), []byte("password of "+u+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, errOut, err := qpc(u, "register", "--server", p.addr, "--pin", p.fp, "--username", u); err != nil {
			t.Fatalf("register %s: %v\n%s%s", u, err, out, errOut)
		}
	}
	return qpc, dir
}

func TestRegisterSendAndReceiveFromTheCommandLine(t *testing.T) {
	t.Parallel()
	p := startNodeProc(t, qpcBin)
	qpc, dir := cliUsers(t, p, "alice", "bob")
	if out, errOut, err := qpc("alice", "send", "--to", "bob", "hello", "bob"); err != nil || !strings.Contains(out, "seq 1") {
		t.Fatalf("send: %v\n%s%s", err, out, errOut)
	}
	out, errOut, err := qpc("bob", "recv", "--json")
	var got recvJSON
	if err != nil || json.Unmarshal([]byte(out), &got) != nil {
		t.Fatalf("recv: %v\n%s%s", err, out, errOut)
	}
	if got.From != "alice@node1.example.mesh" || got.Text != "hello bob" || !got.Verified || got.Seq != 1 {
		t.Errorf("recv = %+v", got)
	}
	if out, _, _ := qpc("bob", "recv", "--json"); out != "" {
		t.Errorf("a second recv printed %q; the first one should have acked", out)
	}
	// The wrong password opens nothing.
	if _, errOut, err := qpc("alice", "recv", "--state-dir", filepath.Join(dir, "bob")); err == nil || !strings.Contains(errOut, "wrong user name or password") {
		t.Errorf("recv with alice's password on bob's account: %v %q", err, errOut)
	}
	if out, err := exec.Command(qpcBin, "whoami", "--state-dir", filepath.Join(dir, "bob")).Output(); err != nil || !strings.HasPrefix(string(out), "bob@node1.example.mesh") {
		t.Errorf("whoami: %v %q", err, out)
	}
}
