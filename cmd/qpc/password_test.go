//go:build !router

package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNewPasswordsThatWouldBeGuessedSoonAreRefusedWithTheReason(t *testing.T) {
	for _, tt := range []struct {
		pw, user string
		weak     bool
	}{
		{"abc", "carol", true},
		{"password1", "carol", true},
		{"carol2026", "carol", true},
		{"qwertzuiop", "carol", true},
		{"hunter2", "carol", true},
		{"P@ssw0rd!", "carol", true},
		{"Passwort2026", "carol", true},
		{strings.Repeat("a", 20), "carol", true},
		{"1234567890qwertz", "carol", true},
		{"carolcarolcarol", "carol", true},
		{"password of carol", "carol", false}, // what the tests of cmd/qpc use
		{"password of bob", "bob", false},
		{"correct horse battery staple", "carol", false},
		{"wolke fenster 7 ampel kiez", "carol", false},
	} {
		err := checkNewPassword([]byte(tt.pw), tt.user)
		if tt.weak != (err != nil) || err != nil && (!errors.Is(err, ErrWeakPassword) || !strings.Contains(err.Error(), "guessed in about")) {
			t.Errorf("checkNewPassword(%q, %q) = %v; want weak %v, with the reason", tt.pw, tt.user, err, tt.weak)
		}
	}
}

func TestRegisterRefusesAWeakPasswordAndMakesNoAccount(t *testing.T) {
	t.Parallel()
	p := startNodeProc(t, qpcBin)
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	out, err := exec.Command(qpcBin, "register", "--password-file", pw, "--state-dir", state,
		"--server", p.addr, "--pin", p.fp, "--username", "carol").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitUsage || !strings.Contains(string(out), "qpc register: password too weak: it would be guessed in about") {
		t.Fatalf("register with \"abc\": %v\n%s", err, out)
	}
	if out, err := exec.Command(qpcBin, "whoami", "--state-dir", state).CombinedOutput(); err == nil {
		t.Errorf("whoami after a refused register: %s", out)
	}
	// The name is still free: the refusal happened before the node
	// was asked to register it.
	if err := os.WriteFile(pw, []byte("wolke fenster 7 ampel kiez\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(qpcBin, "register", "--password-file", pw, "--state-dir", state,
		"--server", p.addr, "--pin", p.fp, "--username", "carol").CombinedOutput(); err != nil {
		t.Fatalf("register with a strong password: %v\n%s", err, out)
	}
}

// At a terminal a refused new password, or a repetition that differs,
// asks again instead of ending register (it ended the command).
func TestRegisterAtATerminalAsksAgainAfterAWeakOrMistypedPassword(t *testing.T) {
	t.Parallel()
	needTmux(t)
	p := startNodeProc(t, qpcBin)
	state := filepath.Join(t.TempDir(), "state")
	s := startTmux(t, "register", []string{qpcBin, "register", "--state-dir", state, "--server", p.addr, "--pin", p.fp, "--username", "Dave"})
	s.waitFor("New password for dave@node1.example.mesh: ", 30*time.Second)
	s.expect("abc", "password too weak: it would be guessed in about", 10*time.Second)
	s.waitFor("try another", time.Second)
	s.expect("wolke fenster 7 ampel kiez", "Repeat it: ", 10*time.Second)
	s.expect("wolke fenster 7 ampel kie", "the passwords differ; type it again", 10*time.Second)
	s.expect("wolke fenster 7 ampel kiez", "Repeat it: ", 10*time.Second)
	if n := s.count("Repeat it: "); n != 2 {
		t.Fatalf("%d prompts to repeat, want 2:\n%s", n, s.capture())
	}
	s.expect("wolke fenster 7 ampel kiez", "registered dave@node1.example.mesh", cliTimeout)
	s.waitFor("[exited 0]", 30*time.Second)
}

// FuzzPasswordBits checks that the estimate takes any input, any user
// name, without a panic (it indexes three rune slices in step) and gives
// a reason.
func FuzzPasswordBits(f *testing.F) {
	for _, seed := range []string{"", "abc", "password of alice", "P@ssw0rd!", "\xff\xfe", "ßüñ😀"} {
		f.Add(seed, "alice")
	}
	f.Fuzz(func(t *testing.T, pw, user string) {
		bits, why := passwordBits(pw, user)
		if bits < 0 || why == "" {
			t.Fatalf("passwordBits(%q, %q) = %v, %q", pw, user, bits, why)
		}
	})
}
