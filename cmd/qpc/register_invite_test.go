//go:build !router

package main

import (
	"path/filepath"
	"testing"

	"github.com/quicprochat/qpc/protocol"
)

// inviteNode starts a node that registers by invite and makes a code.
func inviteNode(t *testing.T) (*nodeProc, string) {
	t.Helper()
	data := t.TempDir()
	p := startNodeProcEnv(t, []string{"QPC_REGISTRATION=invite"}, data, "127.0.0.1:0", qpcBin)
	var inv protocol.AdminInvite
	adminJSON(t, data, &inv, "invite")
	return p, inv.Code
}

// On a node that registers by invite, qpc register asks for the code on
// the terminal, before the password.
func TestRegisterAsksForTheInviteOnATerminal(t *testing.T) {
	t.Parallel()
	needTmux(t)
	p, code := inviteNode(t)
	s := startTmux(t, "reg", []string{qpcBin, "register", "--server", p.addr, "--pin", p.fp, "--username", "ivan",
		"--state-dir", filepath.Join(t.TempDir(), "ivan")})
	s.waitFor("Invite code (from its admin): ", replWait)
	s.expect(code, "New password for ivan@"+domain1+": ", replWait)
	s.expect("regen dach 9 fahrrad linde", "Repeat it: ", replWait)
	s.expect("regen dach 9 fahrrad linde", "registered ivan@"+domain1, replWait)
}

// The REPL's offer to register asks for the code too.
func TestReplRegisterAsksForTheInvite(t *testing.T) {
	t.Parallel()
	needTmux(t)
	p, code := inviteNode(t)
	s := replNewAccount(t, p, "jana")
	s.waitFor("Password for jana@"+domain1+": ", replWait)
	s.expect("wolke fenster 7 ampel kiez", "Register it on "+p.addr+"? [y/N] ", replWait)
	s.expect("y", "Invite code (from its admin): ", replWait)
	s.expect(code, "Repeat the password for the new account: ", replWait)
	s.expect("wolke fenster 7 ampel kiez", "registering jana@"+domain1, replWait)
	s.waitFor("[no conversation] > ", replWait)
}
