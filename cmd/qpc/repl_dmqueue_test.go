//go:build !router

package main

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// With the node down, a line typed into a DM that has no MLS group yet is
// queued like any other (issue 24: "starting a DM with bob: offline"):
// the DM that only bob's qpc send made (bob has never run the REPL, so he
// has no key packages and gets the line sealed), and a DM opened with
// /dm carol offline (carol has run it, so the DM gets its group when the
// node is back). Both arrive once the node appears.
func TestReplQueuesLinesForDMsWithoutAGroupWhileTheNodeIsDown(t *testing.T) {
	t.Parallel()
	needTmux(t)
	dataDir := t.TempDir()
	p := startNodeProcIn(t, dataDir, "127.0.0.1:0", qpcBin)
	alice := newChanUser(t, p, "alice")
	bob := newChanUser(t, p, "bob")
	carol := newChanUser(t, p, "carol")
	known := filepath.Join(t.TempDir(), "known_nodes")

	bob.must("", "send", "--to", "alice", "sealed from bob")
	// carol's REPL uploads her key packages; alice's, online once, files
	// bob's line and keeps the key that opens the account offline.
	c := startRepl(t, carol)
	c.expect("/quit", "[exited 0]", replWait)
	a := startRepl(t, alice)
	a.waitFor("bob: sealed from bob", replWait)
	a.expect("/switch @bob", " bob sealed from bob", replWait)
	a.expect("/quit", "[exited 0]", replWait)
	signalNode(t, p, syscall.SIGTERM)

	a = startTmux(t, "alice-offline", []string{qpcBin, "repl", "--password-file", alice.pw, "--state-dir", alice.state, "--known-nodes", known})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("alice's screen:\n%s", a.capture())
		}
	})
	a.waitFor("[no conversation] (offline) > ", replWait)
	a.expect("/switch @bob", " bob sealed from bob", replWait)
	waitPrompt(t, a, "[@bob@"+domain1+"] (offline) > ")
	a.expect("to bob offline", "to bob offline (queued)", replWait)
	a.send("/dm carol")
	waitPrompt(t, a, "[@carol@"+domain1+"] (offline) > ")
	a.expect("to carol offline", "to carol offline (queued)", replWait)
	if screen := a.capture(); strings.Contains(screen, "starting a DM") {
		t.Fatalf("a line typed offline was refused:\n%s", screen)
	}

	p = startNodeProcIn(t, dataDir, p.addr, qpcBin)
	a.waitFor("-- delivered: to carol offline --", replWait)
	waitPrompt(t, a, "[@carol@"+domain1+"] > ")

	b := startRepl(t, bob)
	b.waitFor("alice: to bob offline", replWait)
	assertInOrderOnce(t, b.capture(), "alice: to bob offline")
	c = startRepl(t, carol)
	c.waitFor("alice: to carol offline", replWait)
	assertInOrderOnce(t, c.capture(), "alice: to carol offline")
}
