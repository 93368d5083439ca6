package main

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestSendAndRecvGroupFromScripts(t *testing.T) {
	t.Parallel()
	needTmux(t)
	p := startNodeProc(t, qpcBin)
	a := startRepl(t, newChanUser(t, p, "alice"))
	bob := newChanUser(t, p, "bob")

	a.expect("/cg ops", "[#ops] > ", replWait)
	a.expect("/invite bob", "invited bob to #ops", replWait)
	if out := bob.must("", "recv", "--group", "ops"); !strings.Contains(out, "alice@"+domain1+" invited you to #ops") {
		t.Fatalf("bob's recv --group: %q", out)
	}
	if out := bob.must("", "send", "--group", "#ops", "from a script"); !strings.Contains(out, "sent to #ops (2 members)") {
		t.Fatalf("bob's send --group: %q", out)
	}
	a.waitFor(" bob from a script", replWait)
	a.send("hello script")
	out := ""
	deadline := time.Now().Add(replWait)
	for !strings.Contains(out, "alice@"+domain1+": hello script") {
		if time.Now().After(deadline) {
			t.Fatalf("bob's recv --group never showed alice's reply: %q", out)
		}
		out = bob.must("", "recv", "--group", "ops")
	}
	// Read once: the next recv has nothing new.
	if _, errOut, code := bob.run("", "recv", "--group", "ops"); code != 0 || !strings.Contains(errOut, "no new messages in #ops") {
		t.Fatalf("second recv: exit %d, %q", code, errOut)
	}
	// Mistakes are explained.
	if _, errOut, code := bob.run("", "send", "--group", "nope", "x"); code == 0 || !strings.Contains(errOut, "no such conversation") {
		t.Fatalf("unknown group: exit %d, %q", code, errOut)
	}
	if _, errOut, code := bob.run("", "send", "--group", "ops", "--to", "alice", "x"); code != exitUsage || !strings.Contains(errOut, "not both") {
		t.Fatalf("--to and --group: exit %d, %q", code, errOut)
	}
	if _, errOut, code := bob.run("", "recv", "--group", "ops", "--follow"); code != exitUsage || !strings.Contains(errOut, "--group does not --follow") {
		t.Fatalf("--follow with --group: exit %d, %q", code, errOut)
	}
}

func TestReplMessagesTypedWhileTheNodeIsDownArriveOnceAfterItReturns(t *testing.T) {
	t.Parallel()
	needTmux(t)
	dataDir := t.TempDir()
	p := startNodeProcIn(t, dataDir, "127.0.0.1:0", qpcBin)
	a := startRepl(t, newChanUser(t, p, "alice"))
	b := startRepl(t, newChanUser(t, p, "bob"))
	a.expect("/dm bob", "[@bob@"+domain1+"] > ", replWait)
	a.expect("first", " me first", replWait)
	b.waitFor("alice: first (1 unread)", replWait)
	b.expect("/dm alice", " alice first", replWait)

	// The node goes down; alice keeps typing.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := <-p.done
	p.done <- err // for the cleanup, which waits on it too
	a.waitFor("offline", replWait)
	a.expect("typed while the node was down", "typed while the node was down (queued)", replWait)
	a.expect("and another one", "and another one (queued)", replWait)

	// It comes back on the same address with the same data.
	startNodeProcIn(t, dataDir, p.addr, qpcBin)
	b.waitFor(" alice and another one", 60*time.Second)
	screen := b.capture()
	for _, line := range []string{"typed while the node was down", "and another one"} {
		if n := strings.Count(screen, line); n != 1 {
			t.Fatalf("bob sees %q %d times:\n%s", line, n, screen)
		}
	}
}
