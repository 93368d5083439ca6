package main

import (
	"bufio"
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// device is qpc device sub with u's account flags, then args.
func (u *chanUser) device(sub string, args ...string) *exec.Cmd {
	return exec.Command(qpcBin, append([]string{"device", sub, "--password-file", u.pw, "--state-dir", u.state}, args...)...)
}

// linkDevice makes a new machine (a state dir of its own) a device of u
// called name, as a person does: qpc device link there, then approve with
// the code it shows on u's machine, which holds the account key (qpc
// device approve when approve is nil).
func linkDevice(t *testing.T, p *nodeProc, u *chanUser, name string, approve func(code string)) *chanUser {
	t.Helper()
	d := &chanUser{t: t, name: u.name + "-" + name, pw: u.pw, state: filepath.Join(t.TempDir(), "state")}
	cmd := d.device("link", "--name", name, "--no-qr", "--server", p.addr, "--pin", p.fp, "--username", u.name)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	codes := make(chan string, 1)
	var rest bytes.Buffer
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if c, ok := strings.CutPrefix(sc.Text(), "link code"); ok {
				codes <- strings.TrimSpace(c)
			}
			rest.WriteString(sc.Text() + "\n")
		}
		done <- cmd.Wait()
	}()
	var code string
	select {
	case code = <-codes:
	case err := <-done:
		done <- err
		t.Fatalf("qpc device link ended before it showed a code: %v\n%s", err, errb.String())
	case <-time.After(replWait):
		t.Fatalf("qpc device link showed no code:\n%s", errb.String())
	}
	if approve != nil {
		approve(code)
	} else if out, err := u.device("approve", code).CombinedOutput(); err != nil {
		t.Fatalf("qpc device approve %s: %v\n%s", code, err, out)
	}
	select {
	case err := <-done:
		done <- err
		if err != nil {
			t.Fatalf("qpc device link: %v\n%s%s", err, rest.String(), errb.String())
		}
	case <-time.After(replWait):
		t.Fatalf("qpc device link did not end after the approval:\n%s", errb.String())
	}
	return d
}

// alice on two machines and bob: a DM is one conversation on all three,
// and what any of them writes shows on the other two (on alice's other
// machine as her own line).
func TestReplTwoDevicesOfOneAccountInOneDM(t *testing.T) {
	t.Parallel()
	needTmux(t)
	p := startNodeProc(t, qpcBin)
	alice, bob := newChanUser(t, p, "alice"), newChanUser(t, p, "bob")
	desk := linkDevice(t, p, alice, "desk", nil)
	a1, a2, b := startRepl(t, alice), startRepl(t, desk), startRepl(t, bob)

	a1.expect("/dm bob", "[@bob@"+domain1+"] > ", replWait)
	a2.waitFor("your other device added this one to the DM with bob", replWait)
	a1.expect("hi from the laptop", " me hi from the laptop", replWait)
	b.waitFor("alice: hi from the laptop", replWait)
	a2.waitFor("me: hi from the laptop", replWait)

	b.expect("/dm alice", "[@alice@"+domain1+"] > ", replWait)
	b.send("hi alice")
	a1.waitFor(" bob hi alice", replWait)
	a2.waitFor("bob: hi alice", replWait)

	a2.expect("/dm bob", "[@bob@"+domain1+"] > ", replWait)
	a2.waitFor(" bob hi alice", replWait) // switching shows the history
	a2.send("and from the desk")
	b.waitFor(" alice and from the desk", replWait)
	a1.waitFor(" me and from the desk", replWait)

	// /device list shows both machines on each.
	a2.send("/device list")
	a2.waitFor("this device", replWait)
	for _, s := range []*tmuxSession{a1, a2} {
		if c := s.capture(); !strings.Contains(c, "desk") {
			t.Errorf("a REPL of alice does not show the desk:\n%s", c)
		}
	}

	// A phone approved in the REPL joins the DM and reads what follows.
	phone := linkDevice(t, p, alice, "phone", func(code string) {
		a1.send("/device approve " + code)
		a1.waitFor(`the device "phone" is in every group and DM of yours`, replWait)
	})
	a3 := startRepl(t, phone)
	// The phone's Welcome to the DM is read by qpc device link or by the
	// REPL, whichever comes first: bob's next line shows either way.
	b.send("now for three")
	for _, s := range []*tmuxSession{a1, a2, a3} {
		s.waitFor("now for three", replWait)
	}
	a3.expect("/dm bob", "[@bob@"+domain1+"] > ", replWait)

	// Removed in the REPL, the desk reads nothing more.
	a1.expect("/device remove desk", `the device "desk" is out of every group`, replWait)
	b.send("not for the desk")
	a1.waitFor(" bob not for the desk", replWait)
	a3.waitFor(" bob not for the desk", replWait)
	if c := a2.capture(); strings.Contains(c, "not for the desk") {
		t.Errorf("the removed desk read a later message:\n%s", c)
	}
}
