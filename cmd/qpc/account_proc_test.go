package main

// Issue 27, item 3, against a real `qpc node` process with real `qpc`
// commands (and a Go client where a second session only has to be held
// open): qpc account password, logout and delete.

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/protocol"
)

// heldSession logs u in from this process with the CLI's OPAQUE
// configuration and password, as a second session of u's account: the
// connection and the session's token.
func heldSession(t *testing.T, p *nodeProc, user, password string) (*client.Client, client.Session) {
	t.Helper()
	c := dialPinned(t, p.addr, p.fp)
	t.Cleanup(func() { c.Close() })
	s, _, err := c.Login(context.Background(), opaqueConfig(), domain1, user, []byte(password))
	if err != nil {
		t.Fatalf("second session of %s: %v", user, err)
	}
	return c, s
}

// waitClosedByNode waits until the node closed c and returns why.
func waitClosedByNode(t *testing.T, c *client.Client, what string) error {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(replWait):
		t.Fatalf("%s: the node did not close the connection", what)
	}
	_, err := c.Fetch(context.Background(), 0, 1)
	return err
}

// tokenRefused checks that the node no longer takes token, on a new
// connection.
func tokenRefused(t *testing.T, p *nodeProc, token []byte, what string) {
	t.Helper()
	c := dialPinned(t, p.addr, p.fp)
	defer c.Close()
	if _, err := c.Resume(context.Background(), token); !errors.Is(err, protocol.ErrInvalidToken) {
		t.Errorf("%s: resuming its token gave %v, want invalidToken", what, err)
	}
}

func TestAccountPasswordKeepsMessagesAndGroupsAndEndsOtherSessions(t *testing.T) {
	t.Parallel()
	needTmux(t)
	p := startNodeProc(t, qpcBin)
	alice, bob := newChanUser(t, p, "alice"), newChanUser(t, p, "bob")

	// A group, made in alice's REPL (which also keeps her offline key).
	a := startRepl(t, alice)
	a.expect("/cg ops", "[#ops] > ", replWait)
	a.expect("/invite bob", "invited bob to #ops", replWait)
	a.expect("/quit", "[exited 0]", replWait)
	if out := bob.must("", "recv", "--group", "ops"); !strings.Contains(out, "invited you to #ops") {
		t.Fatalf("bob's recv --group: %q", out)
	}
	// A message waits in alice's mailbox, and a second session of hers
	// is open.
	bob.must("", "send", "--to", "alice", "waiting through the change")
	other, otherSess := heldSession(t, p, "alice", "password of alice")

	newPW := filepath.Join(t.TempDir(), "new.pw")
	if err := os.WriteFile(newPW, []byte("a new password of alice, long enough\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out := alice.must("", "account", "password", "--new-password-file", newPW)
	if !strings.Contains(out, "password of alice@"+domain1+" changed") {
		t.Errorf("qpc account password said %q", out)
	}
	t.Logf("qpc account password took %s", time.Since(start).Round(time.Millisecond))

	// The other session ended: its connection closed, saying to log in
	// again, and its token is refused.
	if err := waitClosedByNode(t, other, "alice's second session"); err == nil || !strings.Contains(err.Error(), "log in again") {
		t.Errorf("alice's second session after the change: %v, want it closed saying to log in again", err)
	}
	tokenRefused(t, p, otherSess.Token, "alice's second session")

	// The old password is refused; the new one opens everything.
	if _, errOut, code := alice.run("", "recv"); code == 0 || !strings.Contains(errOut, "wrong user name or password") {
		t.Errorf("recv with the old password: exit %d, %q", code, errOut)
	}
	alice.pw = newPW
	if out := alice.must("", "recv"); !strings.Contains(out, "bob@"+domain1+": waiting through the change") {
		t.Errorf("alice's mailbox after the change: %q", out)
	}
	if out := alice.must("", "send", "--group", "ops", "after the change"); !strings.Contains(out, "sent to #ops") {
		t.Errorf("alice's group send after the change: %q", out)
	}
	if out := bob.must("", "recv", "--group", "ops"); !strings.Contains(out, "alice@"+domain1+": after the change") {
		t.Errorf("bob's group after alice's change: %q", out)
	}
	// The second session logs in again with the new password.
	heldSession(t, p, "alice", "a new password of alice, long enough")

	// A weak new password is refused before anything changes.
	weak := filepath.Join(t.TempDir(), "weak.pw")
	if err := os.WriteFile(weak, []byte("alice123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := alice.run("", "account", "password", "--new-password-file", weak); code == 0 || !strings.Contains(errOut, "password") {
		t.Errorf("a weak new password: exit %d, %q", code, errOut)
	}
	alice.must("", "recv") // still the new password
	if _, errOut, code := alice.run("", "account", "password"); code != exitUsage || !strings.Contains(errOut, "--new-password-file") {
		t.Errorf("no new password and no terminal: exit %d, %q", code, errOut)
	}
}

// lineWatcher collects a process's output lines for polling.
type lineWatcher struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (w *lineWatcher) scan(sc *bufio.Scanner) {
	for sc.Scan() {
		w.mu.Lock()
		w.buf.WriteString(sc.Text() + "\n")
		w.mu.Unlock()
	}
}

func (w *lineWatcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// waitFor polls until the output holds substr.
func (w *lineWatcher) waitFor(t *testing.T, substr, what string) {
	t.Helper()
	deadline := time.Now().Add(replWait)
	for !strings.Contains(w.String(), substr) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never showed %q:\n%s", what, substr, w.String())
		}
		time.Sleep(20 * time.Millisecond) // polling a pipe's output, not waiting for readiness
	}
}

// follow runs `qpc recv --follow` as u and watches its stdout and stderr.
func follow(t *testing.T, u *chanUser) (stdout, stderr *lineWatcher) {
	t.Helper()
	cmd := u.command("recv", "--follow")
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stdout, stderr = &lineWatcher{}, &lineWatcher{}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); stdout.scan(bufio.NewScanner(outPipe)) }()
	go func() { defer wg.Done(); stderr.scan(bufio.NewScanner(errPipe)) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		wg.Wait()
		cmd.Wait()
	})
	return stdout, stderr
}

func TestAccountLogoutEverywhereEndsOtherSessionsAndDeleteRemovesTheAccount(t *testing.T) {
	t.Parallel()
	p := startNodeProcEnv(t, []string{"QPC_NAME_HOLD=100ms"}, t.TempDir(), "127.0.0.1:0", qpcBin)
	alice, bob := newChanUser(t, p, "alice"), newChanUser(t, p, "bob")
	start := time.Now()
	step := func(what string) { t.Logf("%6s %s", time.Since(start).Round(time.Millisecond), what) }
	followOut, followErr := follow(t, alice)
	bob.must("", "send", "--to", "alice", "first")
	followOut.waitFor(t, "first", "alice's recv --follow")
	other, otherSess := heldSession(t, p, "alice", "password of alice")
	step("set up")

	// Logging out here ends one session only.
	if out := alice.must("", "account", "logout"); !strings.Contains(out, "logged out of alice@"+domain1+" on this machine") {
		t.Errorf("qpc account logout said %q", out)
	}
	if _, err := other.Fetch(context.Background(), 0, 1); err != nil {
		t.Errorf("the second session after a logout elsewhere: %v", err)
	}

	out := alice.must("", "account", "logout", "--everywhere")
	if !strings.Contains(out, "logged out of alice@"+domain1+" everywhere") || strings.Contains(out, ": 0 session") || strings.Contains(out, ": 1 session") {
		t.Errorf("qpc account logout --everywhere said %q; want the follower's, the second and its own session ended", out)
	}
	if err := waitClosedByNode(t, other, "alice's second session"); err == nil || !strings.Contains(err.Error(), "log in again") {
		t.Errorf("the second session after logout everywhere: %v, want it closed saying to log in again", err)
	}
	tokenRefused(t, p, otherSess.Token, "the second session")
	step("logged out everywhere")
	// The follower was told, and (holding the password) logs in again.
	followErr.waitFor(t, "log in again", "alice's recv --follow")
	bob.must("", "send", "--to", "alice", "second")
	followOut.waitFor(t, "second", "alice's recv --follow after logging in again")

	step("the follower is back")
	// Deleting asks to type the address; without a terminal it needs --yes.
	if _, errOut, code := alice.run("", "account", "delete"); code == 0 || !strings.Contains(errOut, "--yes") {
		t.Errorf("delete without a terminal or --yes: exit %d, %q", code, errOut)
	}
	if !client.HasState(alice.state, "alice", domain1) {
		t.Fatal("alice's state went without --yes")
	}
	if out := alice.must("", "account", "delete", "--yes"); !strings.Contains(out, "deleted alice@"+domain1) {
		t.Errorf("qpc account delete said %q", out)
	}
	left, err := filepath.Glob(filepath.Join(alice.state, "alice@*"))
	if err != nil || len(left) != 0 {
		t.Errorf("alice's files after delete: %v, %v", left, err)
	}
	if _, err := os.Stat(filepath.Join(alice.state, "current")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the current account after delete: %v", err)
	}
	if _, errOut, code := bob.run("", "send", "--to", "alice", "anyone there?"); code == 0 || !strings.Contains(errOut, "no such user") {
		t.Errorf("sending to the deleted alice: exit %d, %q", code, errOut)
	}
	step("deleted")
	// The name is free again once its hold (100 ms here) is over.
	deadline := time.Now().Add(replWait)
	for {
		_, errOut, code := alice.run("", "register", "--server", p.addr, "--pin", p.fp, "--username", "alice")
		if code == 0 {
			break
		}
		if !strings.Contains(errOut, "taken") || time.Now().After(deadline) {
			t.Fatalf("registering alice again: exit %d, %q", code, errOut)
		}
	}
	alice.must("", "recv")
	step("registered again")
}

// The command's help is true to what it does.
func TestAccountCommandsHaveHelp(t *testing.T) {
	for _, sub := range []string{"password", "logout", "delete", "forget"} {
		out, err := exec.Command(qpcBin, "account", sub, "--help").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "qpc account "+sub) {
			t.Errorf("qpc account %s --help: %v\n%s", sub, err, out)
		}
	}
	out, err := exec.Command(qpcBin, "account", "--help").CombinedOutput()
	for _, sub := range []string{"password", "logout", "delete", "forget", "recover"} {
		if err != nil || !strings.Contains(string(out), sub) {
			t.Errorf("qpc account --help lacks %s: %v\n%s", sub, err, out)
		}
	}
}

// runEnv runs qpc as u with env added to its environment.
func (u *chanUser) runEnv(env []string, args ...string) (string, int) {
	u.t.Helper()
	cmd := u.command(args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	case err != nil:
		u.t.Fatal(err)
	}
	return string(out), 0
}

func TestAnotherDeviceReopensItsDataAfterAPasswordChangeWithTheOldPassword(t *testing.T) {
	t.Parallel()
	needTmux(t)
	p := startNodeProc(t, qpcBin)
	alice, bob := newChanUser(t, p, "alice"), newChanUser(t, p, "bob")
	laptop := linkDevice(t, p, alice, "laptop", nil)
	scripts := linkDevice(t, p, alice, "scripts", nil)
	// The laptop ran the REPL once, which keeps the offline key; the
	// scripts machine never did.
	l := startRepl(t, laptop)
	l.expect("/quit", "[exited 0]", replWait)

	newPW := filepath.Join(t.TempDir(), "new.pw")
	if err := os.WriteFile(newPW, []byte("a new password of alice, long enough\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	alice.must("", "account", "password", "--new-password-file", newPW)
	bob.must("", "send", "--to", "alice", "after the change")
	laptop.pw, scripts.pw = newPW, newPW

	// Without the old password the laptop cannot open its data, and says
	// how to.
	if out, code := laptop.runEnv(nil, "recv"); code == 0 || !strings.Contains(out, "QPC_OLD_PASSWORD") {
		t.Errorf("the laptop's recv without the old password: exit %d, %q", code, out)
	}
	if out, code := laptop.runEnv([]string{"QPC_OLD_PASSWORD=not it"}, "recv"); code == 0 || !strings.Contains(out, "wrong user name or password") {
		t.Errorf("the laptop's recv with a wrong old password: exit %d, %q", code, out)
	}
	if out, code := laptop.runEnv([]string{"QPC_OLD_PASSWORD=password of alice"}, "recv"); code != 0 || !strings.Contains(out, "after the change") {
		t.Errorf("the laptop's recv with the old password: exit %d, %q", code, out)
	}
	// From then on the new password alone opens it.
	bob.must("", "send", "--to", "alice", "once more")
	if out, code := laptop.runEnv(nil, "recv"); code != 0 || !strings.Contains(out, "once more") {
		t.Errorf("the laptop's next recv: exit %d, %q", code, out)
	}

	// The scripts machine keeps nothing the old password opens: it is
	// told to forget the account and link again.
	out, code := scripts.runEnv([]string{"QPC_OLD_PASSWORD=password of alice"}, "recv")
	if code == 0 || !strings.Contains(out, "qpc account forget") {
		t.Errorf("the scripts machine's recv: exit %d, %q", code, out)
	}
	if out, code := scripts.runEnv(nil, "account", "forget"); code != 0 || !strings.Contains(out, "no longer keeps alice@") {
		t.Errorf("qpc account forget: exit %d, %q", code, out)
	}
	if client.HasState(scripts.state, "alice", domain1) {
		t.Error("the scripts machine still keeps alice's state")
	}
}

func TestAccountDeleteOnATerminalAsksToTypeTheAddress(t *testing.T) {
	t.Parallel()
	needTmux(t)
	p := startNodeProc(t, qpcBin)
	alice := newChanUser(t, p, "alice")
	argv := func() []string { return append([]string{qpcBin}, alice.command("account", "delete").Args[1:]...) }

	s := startTmux(t, "wrong", argv())
	s.waitFor("Type the address to confirm: ", replWait)
	s.send("bob@" + domain1)
	s.waitFor("[exited 1]", replWait)
	if !strings.Contains(s.capture(), "nothing was deleted") {
		t.Errorf("a wrong address typed:\n%s", s.capture())
	}
	if !client.HasState(alice.state, "alice", domain1) {
		t.Fatal("alice's state went after a wrong address")
	}

	s = startTmux(t, "right", argv())
	s.waitFor("Type the address to confirm: ", replWait)
	s.send("alice@" + domain1)
	s.waitFor("[exited 0]", replWait)
	if !strings.Contains(s.capture(), "deleted alice@"+domain1) {
		t.Errorf("the address typed:\n%s", s.capture())
	}
	if client.HasState(alice.state, "alice", domain1) {
		t.Error("alice's state stays after the deletion")
	}
}

func TestReplPasswordChangesItAndTheReplLogsInAgainWithTheNewOne(t *testing.T) {
	t.Parallel()
	needTmux(t)
	p := startNodeProc(t, qpcBin)
	alice, bob := newChanUser(t, p, "alice"), newChanUser(t, p, "bob")
	a := startRepl(t, alice)

	a.expect("/password", "Current password: ", replWait)
	a.send("password of alice")
	a.waitFor("New password: ", replWait)
	a.send("alice123")
	a.waitFor("Repeat it: ", replWait)
	a.send("alice123")
	a.waitFor("password too weak", replWait) // refused as at qpc register

	const newPW = "the REPL's new password for alice"
	a.expect("/password", "Current password: ", replWait)
	a.send("password of alice")
	a.waitFor("New password: ", replWait)
	a.send(newPW)
	a.waitFor("Repeat it: ", replWait)
	a.send(newPW)
	a.waitFor("password changed", replWait)
	if strings.Contains(a.capture(), newPW) {
		t.Errorf("the new password shows on the screen:\n%s", a.capture())
	}
	// The REPL's own connection ended with the other sessions and logged
	// in again with the new password: bob's message arrives.
	bob.must("", "send", "--to", "alice", "after the REPL's change")
	a.waitFor("bob: after the REPL's change", replWait)

	if _, errOut, code := alice.run("", "recv"); code == 0 || !strings.Contains(errOut, "wrong user name or password") {
		t.Errorf("the old password after /password: exit %d, %q", code, errOut)
	}
}
