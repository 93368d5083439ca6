package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// One conversation per peer, whichever surface wrote or read it, and the
// delivery state of what one sends, with real nodes: a person who only
// uses the command line (qpc send, qpc recv) and one in the REPL (tmux).

// stopNode ends p with SIGTERM and waits for it, leaving its exit for the
// cleanup of startNodeProcEnv.
func stopNode(t *testing.T, p *nodeProc) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		p.done <- err
	case <-time.After(30 * time.Second):
		t.Fatalf("node did not stop; logs:\n%s", p.logs)
	}
}

// waitState waits until s shows own line text in state: printed so, or
// told so later (a busy node may take a moment, and the line shows
// "(queued)" first).
func waitState(s *tmuxSession, text, state string, timeout time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		screen := s.capture()
		if strings.Contains(screen, " me "+text+" ("+state+")") || strings.Contains(screen, "-- "+state+": "+text+" --") {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: %q is not shown %s within %s; the screen:\n%s", s.name, text, state, timeout, screen)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestACommandLineUserAndAReplUserHaveOneConversationBothWays(t *testing.T) {
	t.Parallel()
	needTmux(t)
	p := startNodeProc(t, qpcBin)
	alice, bob := newChanUser(t, p, "alice"), newChanUser(t, p, "bob")
	aliceAddr, bobAddr := "alice@"+domain1, "bob@"+domain1

	// alice writes first, from the command line: delivered at once (bob
	// is on her node).
	if out := alice.must("", "send", "--to", "bob", "wrote with qpc send"); !strings.Contains(out, "sent to "+bobAddr+" (seq ") || !strings.Contains(out, ": delivered") {
		t.Fatalf("qpc send printed %q; want it sent and delivered", out)
	}

	// bob answers in the REPL, in the conversation that message opened
	// (regression: "wrote with qpc send; /dm … to answer").
	b := startRepl(t, bob)
	b.waitFor("alice: wrote with qpc send", replWait)
	b.expect("/dm alice", "[@"+aliceAddr+"] > ", replWait)
	b.waitFor(" alice wrote with qpc send", replWait)
	b.send("answered in the REPL")
	waitState(b, "answered in the REPL", "delivered", replWait)
	if strings.Contains(b.capture(), "to answer in an encrypted DM") {
		t.Fatalf("the REPL refused to answer a conversation opened by qpc send:\n%s", b.capture())
	}

	// alice reads it with qpc recv, as a message of bob's, not a "group
	// message filed" (regression), and --group with bob's name finds the
	// DM (regression: "no such conversation").
	out, errOut, code := alice.run("", "recv")
	if code != 0 || !strings.Contains(out, bobAddr+": answered in the REPL") || strings.Contains(errOut, "group message") {
		t.Fatalf("alice's recv: exit %d\n%s%s\nwant bob's answer as a message", code, out, errOut)
	}
	if out, errOut, code := alice.run("", "recv", "--group", "bob"); code != 0 || strings.Contains(errOut, "no such conversation") {
		t.Fatalf("alice's recv --group bob: exit %d\n%s%s", code, out, errOut)
	}

	// Now the DM has its group: alice's next send uses it, and bob's REPL
	// shows it in the same conversation.
	var sent sendJSON
	if err := json.Unmarshal([]byte(alice.must("", "send", "--json", "--to", "bob", "second from the command line")), &sent); err != nil || sent.State != "delivered" {
		t.Fatalf("qpc send --json: %+v, %v; want state delivered", sent, err)
	}
	b.waitFor(" alice second from the command line", replWait)
	b.expect("/ls", "dm", replWait)
	if n := b.count("@" + aliceAddr); n < 1 {
		t.Errorf("bob's /ls does not list the DM with alice:\n%s", b.capture())
	}
	b.expect("/quit", "[exited 0]", replWait)

	// alice's REPL shows the whole history, her command-line lines among
	// it, in one conversation.
	a := startRepl(t, alice)
	a.expect("/dm bob", "[@"+bobAddr+"] > ", replWait)
	for _, line := range []string{" me wrote with qpc send (delivered)", " bob answered in the REPL", " me second from the command line (delivered)"} {
		a.waitFor(line, replWait)
	}
	a.send("from alice's REPL")
	waitState(a, "from alice's REPL", "delivered", replWait)
	a.expect("/quit", "[exited 0]", replWait)

	// And bob, on the command line now, reads it there.
	if out := bob.must("", "recv"); !strings.Contains(out, aliceAddr+": from alice's REPL") {
		t.Errorf("bob's recv printed %q; want alice's REPL line", out)
	}
	// The lines read with qpc recv are in bob's REPL history.
	b = startRepl(t, bob)
	b.expect("/dm alice", "[@"+aliceAddr+"] > ", replWait)
	b.waitFor(" alice from alice's REPL", replWait)
}

func TestTheReplToldOfQueuedLinesDeliveredAndOfReadOnlyWithReadReceiptsOn(t *testing.T) {
	t.Parallel()
	needTmux(t)
	dir := t.TempDir()
	p := startNodeProcIn(t, dir, "127.0.0.1:0", qpcBin)
	aliceU, bobU := newChanUser(t, p, "alice"), newChanUser(t, p, "bob")
	a, b := startRepl(t, aliceU), startRepl(t, bobU)
	a.expect("/dm bob", "[@bob@"+domain1+"] > ", replWait)
	b.waitFor("started an end-to-end encrypted DM with you", replWait)
	b.expect("/dm alice", "[@alice@"+domain1+"] > ", replWait)

	// Read receipts are off by default: delivered, never read.
	a.send("before receipts")
	waitState(a, "before receipts", "delivered", replWait)
	b.waitFor(" alice before receipts", replWait)
	a.expect("/receipts", "read receipts are off", replWait)

	// Both turn them on: bob has the DM open, so he reads the next line as
	// it arrives, and alice is told.
	a.expect("/receipts on", "read receipts are on", replWait)
	b.expect("/receipts on", "read receipts are on", replWait)
	a.send("after receipts")
	b.waitFor(" alice after receipts", replWait)
	a.waitFor("-- read: after receipts --", replWait)
	if strings.Contains(a.capture(), "-- read: before receipts") {
		t.Errorf("a line read while receipts were off was told read:\n%s", a.capture())
	}

	// The node goes away: what alice types is queued, and told delivered
	// once the node is back and the REPL reconnected.
	addr := p.addr
	stopNode(t, p)
	a.send("typed while the node is down")
	a.waitFor(" me typed while the node is down (queued)", replWait)
	startNodeProcIn(t, dir, addr, qpcBin)
	a.waitFor("-- delivered: typed while the node is down --", replWait)
	b.waitFor(" alice typed while the node is down", replWait)
}

func TestSendWaitsUntilTheMeshDeliversAndSaysWhenItDidNot(t *testing.T) {
	t.Parallel()
	const d1, d2 = "n1.example.mesh", "n2.example.mesh"
	fp := startFedPair(t)
	n1, n2 := fp.n1, fp.n2
	alice, bob := registerPair(t, n1, n2)
	alice.send("bob@"+d2, "across the federation")
	expectOne(t, bob.recv(), "alice@"+d1, "across the federation")

	// With n2 stopped, a message waits in the mesh: sent, not delivered.
	// A SIGTERM says goodbye, so n1 knows the link is down at once.
	if err := n2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := <-n2.done
	n2.done <- err
	var r cliResult
	for deadline := time.Now().Add(90 * time.Second); ; {
		r = alice.run(45*time.Second, "send", "--wait", "--wait-timeout", "2s", "--to", "bob@"+d2, "while n2 is away")
		if r.code != exitFailure || time.Now().After(deadline) {
			break // a failure is a send on the link n1 had not yet given up
		}
	}
	if r.code != exitNotDelivered || !strings.Contains(r.stdout, "queued in the mesh") ||
		!strings.Contains(r.stderr, "sent; waiting until it is delivered") || !strings.Contains(r.stderr, "not delivered within 2s: the message is sent") {
		t.Fatalf("send --wait with n2 away: %s\nwant exit %d, sent and not delivered", r, exitNotDelivered)
	}

	// A second one waits while n2 comes back: delivered, exit 0.
	cmd := exec.Command(qpcBin, "send", "--password-file", alice.pwFile, "--state-dir", alice.state,
		"--wait", "--wait-timeout", "2m", "--json", "--to", "bob@"+d2, "delivered when n2 is back")
	out, errb := &lockedLog{}, &lockedLog{}
	cmd.Stdout, cmd.Stderr = out, errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done; done <- nil })
	// It is in the mesh and waiting before n2 starts.
	for deadline := time.Now().Add(time.Minute); !strings.Contains(errb.String(), "waiting until it is delivered"); {
		if time.Now().After(deadline) {
			t.Fatalf("send --wait did not say it waits; stderr %q", errb.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	startFedNode(t, d2, fp.dir2, n2.addr, fp.flags[d2]...)
	select {
	case err := <-done:
		done <- err
		var j sendJSON
		if err != nil || json.Unmarshal([]byte(out.String()), &j) != nil || j.State != "delivered" || j.MeshID == "" {
			t.Fatalf("send --wait across n2's restart: %v\nstdout %s\nstderr %s", err, out.String(), errb.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("send --wait did not end after n2 came back; stderr %s", errb.String())
	}
	got := bob.recv()
	var texts []string
	for _, m := range got {
		texts = append(texts, m.Text)
	}
	if strings.Join(texts, "|") != "while n2 is away|delivered when n2 is back" {
		t.Errorf("bob got %q", texts)
	}
}
