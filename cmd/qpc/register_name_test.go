//go:build !router

package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A taken name is said before the password is asked (issue 24: it was said
// only after the password had been typed twice), in any case of the name.
func TestRegisterSaysANameIsTakenBeforeAskingForThePassword(t *testing.T) {
	t.Parallel()
	needTmux(t)
	p := startNodeProc(t, qpcBin)
	cliUsers(t, p, "carol")
	state := filepath.Join(t.TempDir(), "state")
	s := startTmux(t, "register-taken", []string{qpcBin, "register", "--state-dir", state, "--server", p.addr, "--pin", p.fp, "--username", "Carol"})
	s.waitFor("[exited 1]", 30*time.Second)
	screen := s.capture()
	if !strings.Contains(screen, "qpc register: that user name is taken on this node") || strings.Contains(screen, "password") {
		t.Fatalf("register of a taken name:\n%s", screen)
	}

	// A free name goes on to the password.
	s = startTmux(t, "register-free", []string{qpcBin, "register", "--state-dir", state, "--server", p.addr, "--pin", p.fp, "--username", "dave"})
	s.waitFor("New password for dave@node1.example.mesh: ", 30*time.Second)
}
