package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// End-to-end tests of `qpc repl`: real nodes, real accounts, each REPL in
// a terminal of its own (tmux) with its own state dir and known-nodes
// file. All but the login ones need the conversation engine
// (client/chat).

// replWait bounds waiting for a REPL's screen: logging in stretches the
// password with Argon2id, and a message may take a group commit first.
const replWait = time.Minute

// domain1 is the domain of startNodeProc's node.
const domain1 = "node1.example.mesh"

// startRepl runs the REPL of u in a terminal and waits for its prompt.
func startRepl(t *testing.T, u *chanUser) *tmuxSession {
	t.Helper()
	known := filepath.Join(t.TempDir(), "known_nodes")
	s := startTmux(t, u.name, []string{qpcBin, "repl", "--password-file", u.pw, "--state-dir", u.state, "--known-nodes", known})
	s.waitFor("[no conversation] > ", replWait)
	return s
}

func TestReplDMBothWays(t *testing.T) {
	t.Parallel()
	needTmux(t)
	p := startNodeProc(t, qpcBin)
	a := startRepl(t, newChanUser(t, p, "alice"))
	b := startRepl(t, newChanUser(t, p, "bob"))

	a.expect("/dm bob", "[@bob@"+domain1+"] > ", replWait)
	a.expect("hi bob", " me hi bob", replWait)
	b.waitFor("hi bob", replWait)

	b.expect("/dm alice", "[@alice@"+domain1+"] > ", replWait)
	b.waitFor(" alice hi bob", replWait) // switching shows the history
	b.send("hi alice")
	a.waitFor(" bob hi alice", replWait)
}

func TestReplGroupOfThree(t *testing.T) {
	t.Parallel()
	needTmux(t)
	p := startNodeProc(t, qpcBin)
	a := startRepl(t, newChanUser(t, p, "alice"))
	b := startRepl(t, newChanUser(t, p, "bob"))
	c := startRepl(t, newChanUser(t, p, "carol"))

	a.expect("/cg friends", "[#friends] > ", replWait)
	a.expect("/invite bob", "invited bob to #friends", replWait)
	a.expect("/invite carol", "invited carol to #friends", replWait)
	for _, s := range []*tmuxSession{b, c} {
		s.waitFor("alice invited you to #friends: /join #friends to accept", replWait)
		s.expect("/join", "[#friends] > ", replWait)
	}

	a.send("hello all")
	b.waitFor(" alice hello all", replWait)
	c.waitFor(" alice hello all", replWait)
	b.send("hi from bob")
	a.waitFor(" bob hi from bob", replWait)
	c.waitFor(" bob hi from bob", replWait)

	a.expect("/remove carol", "removed carol from #friends", replWait)
	a.send("after carol left")
	b.waitFor(" alice after carol left", replWait)
	// Alice's messages reach carol's mailbox in order: once the DM sent
	// after it is on carol's screen, the group message would be too.
	a.expect("/dm carol", "[@carol@"+domain1+"] > ", replWait)
	a.send("a marker for carol")
	c.waitFor("a marker for carol", replWait)
	if strings.Contains(c.capture(), "after carol left") {
		t.Fatalf("carol, removed, read a later message of the group:\n%s", c.capture())
	}
}

func TestReplRestartKeepsHistory(t *testing.T) {
	t.Parallel()
	needTmux(t)
	p := startNodeProc(t, qpcBin)
	alice := newChanUser(t, p, "alice")
	a := startRepl(t, alice)
	b := startRepl(t, newChanUser(t, p, "bob"))

	a.expect("/cg club", "[#club] > ", replWait)
	a.expect("/invite bob", "invited bob to #club", replWait)
	b.waitFor("invited you to #club", replWait)
	b.expect("/join #club", "[#club] > ", replWait)
	a.send("before the restart")
	b.waitFor(" alice before the restart", replWait)
	a.expect("/quit", "[exited 0]", replWait)

	a = startRepl(t, alice)
	a.expect("/switch #club", " me before the restart", replWait)
	a.send("after the restart")
	b.waitFor(" alice after the restart", replWait)
}

// newUnregistered returns the flags of an account that exists nowhere: a
// password file, a state dir and a known-nodes file of its own.
func newUnregistered(t *testing.T, p *nodeProc, name string) []string {
	t.Helper()
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("password of "+name+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{qpcBin, "repl", "--server", p.addr, "--pin", p.fp, "--username", name, "--password-file", pw,
		"--state-dir", filepath.Join(dir, "state"), "--known-nodes", filepath.Join(dir, "known_nodes")}
}

func TestReplRegistersAnAccountNeverSeenOnThisMachine(t *testing.T) {
	t.Parallel()
	needTmux(t)
	p := startNodeProc(t, qpcBin)
	s := startTmux(t, "dave", newUnregistered(t, p, "dave"))
	s.waitFor("dave@"+domain1+" is not registered on this machine. Register it on "+p.addr+"? [y/N] ", replWait)
	s.expect("y", "registering dave@"+domain1, replWait)
	s.waitFor("[no conversation] > ", replWait) // needs the engine
	s.expect("/whoami", "node             "+p.addr+" (online)", replWait)
	s.waitFor("key fingerprint  ", replWait)
	if !regexp.MustCompile(`key fingerprint  [0-9a-f]{4}( [0-9a-f]{4}){7}`).MatchString(s.capture()) {
		t.Errorf("/whoami shows no key fingerprint:\n%s", s.capture())
	}
}

func TestReplDoesNotRegisterWhenToldNo(t *testing.T) {
	t.Parallel()
	needTmux(t)
	p := startNodeProc(t, qpcBin)
	s := startTmux(t, "erin", newUnregistered(t, p, "erin"))
	s.waitFor("Register it on "+p.addr+"? [y/N] ", replWait)
	s.expect("n", "qpc repl: login failed: wrong user name or password", replWait)
	s.waitFor("[exited 1]", replWait)
}

func TestReplDoesNotOfferToRegisterAnAccountThisMachineKnows(t *testing.T) {
	t.Parallel()
	needTmux(t)
	p := startNodeProc(t, qpcBin)
	alice := newChanUser(t, p, "alice")
	if err := os.WriteFile(alice.pw, []byte("not alice's password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startTmux(t, "alice", []string{qpcBin, "repl", "--password-file", alice.pw, "--state-dir", alice.state,
		"--known-nodes", filepath.Join(t.TempDir(), "known_nodes")})
	s.waitFor("[exited 1]", replWait)
	screen := s.capture()
	if !strings.Contains(screen, "wrong user name or password") || strings.Contains(screen, "Register it") {
		t.Fatalf("a wrong password for a known account:\n%s", screen)
	}
}
