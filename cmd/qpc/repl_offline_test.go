//go:build !router

package main

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// signalNode ends the node process p with sig and waits for it.
func signalNode(t *testing.T, p *nodeProc, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	err := <-p.done
	p.done <- err // for the cleanup, which waits on it too
}

// With the node down, qpc repl asks for the password, opens the history
// and takes messages into the outbox (issue 24: it exited "no answer from
// node within 10s" before it asked for the password); when the node
// appears it connects and sends them, in order, once. A node killed
// mid-session is the same: offline, and back.
func TestReplStartsOfflineAndSendsWhatWasTypedWhenTheNodeAppears(t *testing.T) {
	t.Parallel()
	needTmux(t)
	dataDir := t.TempDir()
	p := startNodeProcIn(t, dataDir, "127.0.0.1:0", qpcBin)
	alice := newChanUser(t, p, "alice")
	bob := newChanUser(t, p, "bob")
	known := filepath.Join(t.TempDir(), "known_nodes")

	// Once online, so that the DM exists and this machine keeps the key
	// that opens the account without the node.
	a := startRepl(t, alice)
	a.expect("/dm bob", "[@bob@"+domain1+"] > ", replWait)
	a.expect("before the outage", " me before the outage", replWait)
	a.expect("/quit", "[exited 0]", replWait)
	signalNode(t, p, syscall.SIGTERM)

	// The node is down: the password is asked at once, typed at the
	// terminal.
	a = startTmux(t, "alice-offline", []string{qpcBin, "repl", "--state-dir", alice.state, "--known-nodes", known})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("alice's screen:\n%s", a.capture())
		}
	})
	a.waitFor("Password for alice@"+domain1+": ", 10*time.Second)
	a.send("password of alice")
	a.waitFor("[no conversation] (offline) > ", replWait)
	a.expect("/switch @bob", " me before the outage", replWait)
	waitPrompt(t, a, "[@bob@"+domain1+"] (offline) > ")
	a.expect("typed offline one", "typed offline one (queued)", replWait)
	a.expect("typed offline two", "typed offline two (queued)", replWait)
	a.expect("/whoami", "node             "+p.addr+" (offline)", replWait)
	a.waitFor("-- offline: no answer from node: it may be down", replWait) // the first attempt failed, and said why

	// The node appears on the same address with the same data.
	p = startNodeProcIn(t, dataDir, p.addr, qpcBin)
	a.waitFor("-- online --", replWait)
	waitPrompt(t, a, "[@bob@"+domain1+"] > ")
	// Bob reads the notices of new lines ("alice: text"), without
	// opening the DM, which would be a test of DMs.
	b := startRepl(t, bob)
	b.waitFor("alice: typed offline two", replWait)
	assertInOrderOnce(t, b.capture(), "alice: before the outage", "alice: typed offline one", "alice: typed offline two")

	// Killed mid-session: offline again, and back.
	signalNode(t, p, syscall.SIGKILL)
	// A killed node sends no close; the line typed waits --timeout for
	// it, stays queued, and the prompt says offline.
	a.expect("typed while it was killed", "typed while it was killed (queued)", replWait)
	waitPrompt(t, a, "[@bob@"+domain1+"] (offline) > ")
	b.waitFor("offline", replWait) // bob's REPL lost the node too
	p = startNodeProcIn(t, dataDir, p.addr, qpcBin)
	waitPrompt(t, a, "[@bob@"+domain1+"] > ")
	b.waitFor("alice: typed while it was killed", replWait)
	assertInOrderOnce(t, b.capture(), "alice: before the outage", "alice: typed offline one", "alice: typed offline two", "alice: typed while it was killed")
}

// assertInOrderOnce fails unless each of lines is on screen once, in the
// order given.
func assertInOrderOnce(t *testing.T, screen string, lines ...string) {
	t.Helper()
	at := -1
	for _, l := range lines {
		if n := strings.Count(screen, l); n != 1 {
			t.Fatalf("%q is on screen %d times, want once:\n%s", l, n, screen)
		}
		i := strings.Index(screen, l)
		if i < at {
			t.Fatalf("%q is out of order:\n%s", l, screen)
		}
		at = i
	}
}

// waitPrompt waits until the last line of s's screen, the prompt, is
// prompt: the scrollback holds earlier prompts.
func waitPrompt(t *testing.T, s *tmuxSession, prompt string) {
	t.Helper()
	deadline := time.Now().Add(replWait)
	for strings.TrimSpace(s.lastLine()) != strings.TrimSpace(prompt) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: the prompt is not %q within %s:\n%s", s.name, prompt, replWait, s.capture())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// An account of this machine that no REPL has kept the offline key of
// (registered with qpc register, never opened in the REPL) cannot start
// offline: the REPL says how to make it able to.
func TestReplWithoutAnOfflineKeySaysHowToGetOne(t *testing.T) {
	t.Parallel()
	needTmux(t)
	p := startNodeProc(t, qpcBin)
	alice := newChanUser(t, p, "alice")
	signalNode(t, p, syscall.SIGTERM)
	s := startTmux(t, "alice", []string{qpcBin, "repl", "--password-file", alice.pw, "--state-dir", alice.state,
		"--known-nodes", filepath.Join(t.TempDir(), "known_nodes"), "--timeout", "1s"})
	s.waitFor("[exited 1]", replWait)
	if screen := s.capture(); !strings.Contains(screen, "qpc repl: the node is not reachable, and this machine cannot open the account without it yet: start qpc repl once with the node reachable") {
		t.Fatalf("the REPL without an offline key and without its node:\n%s", screen)
	}
}
