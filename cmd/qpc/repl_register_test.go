//go:build !router

package main

import (
	"path/filepath"
	"testing"
)

// replNewAccount runs qpc repl at a terminal for name, an account nowhere
// yet, without a password file.
func replNewAccount(t *testing.T, p *nodeProc, name string) *tmuxSession {
	dir := t.TempDir()
	return startTmux(t, name, []string{qpcBin, "repl", "--server", p.addr, "--pin", p.fp, "--username", name,
		"--state-dir", filepath.Join(dir, "state"), "--known-nodes", filepath.Join(dir, "known_nodes")})
}

// The REPL's offer to register asks again after a repetition that differs
// or a password too weak for a new account (issue 24: "the passwords
// differ" ended the REPL, and a weak password was taken unchecked).
func TestReplRegisterAsksAgainAfterAMistypedOrWeakPassword(t *testing.T) {
	t.Parallel()
	needTmux(t)
	p := startNodeProc(t, qpcBin)

	s := replNewAccount(t, p, "frank")
	s.waitFor("Password for frank@"+domain1+": ", replWait)
	s.expect("wolke fenster 7 ampel kiez", "Register it on "+p.addr+"? [y/N] ", replWait)
	s.expect("y", "Repeat the password for the new account: ", replWait)
	s.expect("wolke fenster 7 ampel kie", "the passwords differ; type a new password", replWait)
	s.waitFor("New password for frank@"+domain1+": ", replWait)
	s.expect("regen dach 9 fahrrad linde", "Repeat it: ", replWait)
	s.expect("regen dach 9 fahrrad linde", "registering frank@"+domain1, replWait)
	s.waitFor("[no conversation] > ", replWait)

	s = replNewAccount(t, p, "gina")
	s.waitFor("Password for gina@"+domain1+": ", replWait)
	s.expect("abc", "Register it on "+p.addr+"? [y/N] ", replWait)
	s.expect("y", "password too weak: it would be guessed in about", replWait)
	s.waitFor("New password for gina@"+domain1+": ", replWait)
	s.expect("regen dach 9 fahrrad linde", "Repeat it: ", replWait)
	s.expect("regen dach 9 fahrrad linde", "registering gina@"+domain1, replWait)
	s.waitFor("[no conversation] > ", replWait)
}

// Offered to register a name someone else holds, the REPL says the
// password was wrong instead: the name is not free.
func TestReplDoesNotOfferToRegisterANameSomeoneElseHolds(t *testing.T) {
	t.Parallel()
	needTmux(t)
	p := startNodeProc(t, qpcBin)
	newChanUser(t, p, "hanna")
	s := replNewAccount(t, p, "hanna")
	s.waitFor("Password for hanna@"+domain1+": ", replWait)
	s.expect("not hannas password at all", "wrong user name or password", replWait)
	s.waitFor("[exited 1]", replWait)
	if n := s.count("Register it"); n != 0 {
		t.Fatalf("offered to register a taken name:\n%s", s.capture())
	}
}
