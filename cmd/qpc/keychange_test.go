package main

// Issue 22 against real `qpc node` and `qpc` processes: a login on a
// machine that is not a device of the account changes nothing of it, and
// a contact's key change is shown on every surface and, for a verified
// contact, refuses sending until the user confirms the new number.

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/crypto/channel"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/opaque"
	"github.com/quicprochat/qpc/crypto/sealed"
	"github.com/quicprochat/qpc/protocol"
)

// publishedKeys logs a throwaway Go client in on p (registered on first
// use as "probe") and returns what the node's directory holds for user.
func publishedKeys(t *testing.T, ctx context.Context, p *nodeProc, user string) protocol.PublishedKeys {
	t.Helper()
	c := dialPinned(t, p.addr, p.fp)
	defer c.Close()
	pw := []byte("password of the probe")
	if _, err := c.Register(ctx, acctKSF, domain1, "probe", pw); err != nil && !strings.Contains(err.Error(), "taken") {
		t.Fatalf("register the probe: %v", err)
	}
	if _, _, err := c.Login(ctx, acctKSF, domain1, "probe", pw); err != nil {
		t.Fatalf("log the probe in: %v", err)
	}
	k, err := c.ResolveUser(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// resetKeys logs user (registered with the qpc binary, so with qpc's
// OPAQUE configuration and "password of USER") in with a Go client and
// publishes new keys for the account, as an account reset does; it
// returns the account with the new keys.
func resetKeys(t *testing.T, ctx context.Context, p *nodeProc, user string) *client.Account {
	t.Helper()
	c := dialPinned(t, p.addr, p.fp)
	t.Cleanup(func() { c.Close() })
	if _, _, err := c.Login(ctx, opaque.DefaultConfig(), domain1, user, []byte("password of "+user)); err != nil {
		t.Fatalf("log %s in: %v", user, err)
	}
	keys, err := identity.GenerateUserKeys()
	if err != nil {
		t.Fatal(err)
	}
	// A reset: a new account key, and a list of one new device.
	acct, err := identity.GenerateAccountKey()
	if err != nil {
		t.Fatal(err)
	}
	a := &client.Account{Client: c, Domain: domain1, User: user, Keys: keys, AccountKey: &acct}
	l := &identity.DeviceList{Address: a.Address()}
	if _, err := l.Add(acct, "reset", keys, time.Now()); err != nil {
		t.Fatal(err)
	}
	signed, err := l.Sign(acct)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.PublishList(ctx, signed); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestQpcLoginOnAMachineThatIsNotADeviceChangesNoKeysAndTheFirstMachineReadsOn(t *testing.T) {
	t.Parallel()
	needTmux(t)
	p := startNodeProc(t, qpcBin)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	alice, carol := newChanUser(t, p, "alice"), newChanUser(t, p, "carol")
	b := startRepl(t, newChanUser(t, p, "bob"))
	b.expect("/cg ops", "[#ops] > ", replWait)
	b.expect("/invite alice", "invited alice to #ops", replWait)
	if out := alice.must("", "recv", "--group", "ops"); !strings.Contains(out, "bob@"+domain1+" invited you to #ops") {
		t.Fatalf("alice's recv --group: %q", out)
	}
	alice.must("", "send", "--group", "ops", "joined")
	b.waitFor(" alice joined", replWait)
	before := publishedKeys(t, ctx, p, "alice")

	// Alice types her password on a second machine.
	other := t.TempDir()
	cmd := exec.Command(qpcBin, "login", "--password-file", alice.pw, "--state-dir", other,
		"--server", p.addr, "--pin", p.fp, "--username", "alice")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if err == nil {
		t.Fatalf("qpc login on a machine that is not a device succeeded:\n%s%s", out.String(), errOut.String())
	}
	for _, want := range []string{"this machine is not a device of alice@" + domain1 + " yet",
		"run `qpc device link` here and approve it on one of your devices (`qpc device approve CODE`)",
		"`qpc account recover` with your recovery code"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("qpc login said %q; want it to say %q", errOut.String(), want)
		}
	}
	after := publishedKeys(t, ctx, p, "alice")
	if !bytes.Equal(before.IdentityKey, after.IdentityKey) || !bytes.Equal(before.HPKEKey, after.HPKEKey) ||
		!bytes.Equal(before.Signature, after.Signature) || !before.Published.Equal(after.Published) ||
		!bytes.Equal(before.AccountKey, after.AccountKey) || !bytes.Equal(before.DeviceList, after.DeviceList) || len(after.DeviceList) == 0 {
		t.Fatal("qpc login on a machine that is not a device changed alice's published keys")
	}

	// The first machine reads a DM and the group, sent after that login.
	carol.must("", "send", "--to", "alice", "a DM after the other login")
	b.send("the group after the other login")
	var got recvJSON
	if o := alice.must("", "recv", "--json"); json.Unmarshal([]byte(strings.Split(o, "\n")[0]), &got) != nil ||
		got.Text != "a DM after the other login" || !got.Verified || got.KeyChanged {
		t.Fatalf("alice's first machine reads %q", o)
	}
	deadline := time.Now().Add(replWait)
	for o := ""; !strings.Contains(o, "bob@"+domain1+": the group after the other login"); {
		if time.Now().After(deadline) {
			t.Fatalf("alice's first machine never read the group message; last recv --group: %q", o)
		}
		o = alice.must("", "recv", "--group", "ops")
	}
}

// safetyNumberLines matches a safety number as every surface prints it:
// three lines of four groups of five digits.
var safetyNumberLines = regexp.MustCompile(`(?m)^  \d{5} \d{5} \d{5} \d{5}\n  \d{5} \d{5} \d{5} \d{5}\n  \d{5} \d{5} \d{5} \d{5}\n`)

// twelveGroups matches a safety number on one line: twelve groups of five.
var twelveGroups = regexp.MustCompile(`^\d{5}( \d{5}){11}$`)

func TestAKeyChangeIsShownOnTheCommandLineAndAVerifiedContactIsRefusedUntilConfirmed(t *testing.T) {
	t.Parallel()
	p := startNodeProc(t, qpcBin)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	qpc, _ := cliUsers(t, p, "alice", "bob", "carol")
	run := func(user string, args ...string) (string, string) {
		t.Helper()
		out, errOut, err := qpc(user, args...)
		if err != nil {
			t.Fatalf("%s: qpc %s: %v\n%s%s", user, strings.Join(args, " "), err, out, errOut)
		}
		return out, errOut
	}
	recvOne := func(user string) recvJSON {
		t.Helper()
		out, _ := run(user, "recv", "--json")
		var m recvJSON
		if strings.Count(out, "\n") != 1 || json.Unmarshal([]byte(out), &m) != nil {
			t.Fatalf("%s's recv --json printed %q, want one message", user, out)
		}
		return m
	}
	verifyJSONOf := func(user string, args ...string) verifyJSON {
		t.Helper()
		out, _ := run(user, append([]string{"verify", "alice", "--json"}, args...)...)
		var v verifyJSON
		if err := json.Unmarshal([]byte(out), &v); err != nil || !twelveGroups.MatchString(v.SafetyNumber) {
			t.Fatalf("%s's verify --json printed %q (%v)", user, out, err)
		}
		return v
	}
	alice := "alice@" + domain1

	for _, to := range []string{"bob", "carol"} {
		run("alice", "send", "--to", to, "from the old key")
		if m := recvOne(to); m.Text != "from the old key" || !m.Verified || m.KeyChanged {
			t.Fatalf("%s received %+v", to, m)
		}
	}
	out, _ := run("bob", "verify", "alice")
	if !safetyNumberLines.MatchString(out) || !strings.Contains(out, "not verified: compare the number with "+alice) {
		t.Fatalf("bob's qpc verify alice printed:\n%s", out)
	}
	if out, _ = run("bob", "verify", "alice", "--confirm"); !strings.Contains(out, alice+" is verified") {
		t.Fatalf("bob's qpc verify alice --confirm printed:\n%s", out)
	}
	old := verifyJSONOf("bob")
	if !old.Verified || old.KeyChanged {
		t.Fatalf("bob's verify --json after confirming: %+v", old)
	}
	carolOld := verifyJSONOf("carol")
	if carolOld.Verified || carolOld.SafetyNumber == old.SafetyNumber {
		t.Fatalf("carol's verify --json: %+v (bob's %+v)", carolOld, old)
	}

	// Alice's account gets new keys, and they write to bob and carol.
	newAlice := resetKeys(t, ctx, p, "alice")
	for _, to := range []string{"bob", "carol"} {
		if _, err := newAlice.SendText(ctx, to, "from the new key"); err != nil {
			t.Fatal(err)
		}
	}

	m := recvOne("bob")
	if m.Text != "from the new key" || !m.Verified || !m.KeyChanged || !m.VerifiedContact ||
		m.OldSafetyNumber != old.SafetyNumber || !twelveGroups.MatchString(m.NewSafetyNumber) || m.NewSafetyNumber == old.SafetyNumber {
		t.Fatalf("bob's recv --json of the new key's message: %+v (the number he verified: %s)", m, old.SafetyNumber)
	}
	// Text output: the change comes first, then the message.
	out, _ = run("carol", "recv")
	change := strings.Index(out, "!! the account key of "+alice+" CHANGED: safety number was "+carolOld.SafetyNumber)
	if change < 0 || strings.Index(out, alice+": from the new key") < change {
		t.Fatalf("carol's recv printed:\n%s\nwant the key change, with the old number, before the message", out)
	}

	// Bob verified the old key: nothing is sent, until he confirms.
	sout, serr, err := qpc("bob", "send", "--to", "alice", "refused")
	if err == nil || !strings.Contains(serr, "not sent: the account key of "+alice+" changed since you verified it") ||
		!strings.Contains(serr, "qpc verify "+alice+" --confirm") || !strings.Contains(serr, m.NewSafetyNumber) {
		t.Fatalf("bob's send to alice after her key changed: %v\n%s%s", err, sout, serr)
	}
	sout, _, err = qpc("bob", "send", "--to", "alice", "--json", "refused again")
	var sj sendJSON
	if err == nil || json.Unmarshal([]byte(sout), &sj) != nil || !sj.KeyChanged || sj.Refused == "" || sj.Seq != 0 ||
		sj.NewSafetyNumber != m.NewSafetyNumber {
		t.Fatalf("bob's send --json after her key changed: %v %q", err, sout)
	}
	out, _ = run("bob", "verify", "alice")
	if !strings.Contains(out, "WARNING: THE ACCOUNT KEY OF "+strings.ToUpper(alice)+" HAS CHANGED SINCE YOU VERIFIED IT") ||
		!strings.Contains(out, "qpc verify "+alice+" --confirm") || strings.Contains(out, "\nverified\n") {
		t.Fatalf("bob's qpc verify alice after the change printed:\n%s", out)
	}
	if v := verifyJSONOf("bob"); v.Verified || !v.KeyChanged || v.SafetyNumber != m.NewSafetyNumber {
		t.Fatalf("bob's verify --json after the change: %+v", v)
	}

	// Carol had not verified alice: her next send shows the change once
	// more, and goes.
	sout, _ = run("carol", "send", "--to", "alice", "--json", "first after the change")
	if json.Unmarshal([]byte(sout), &sj) != nil || !sj.KeyChanged || sj.OldSafetyNumber != carolOld.SafetyNumber || sj.Seq == 0 {
		t.Fatalf("carol's first send after the change printed %q", sout)
	}
	sout, serr = run("carol", "send", "--to", "alice", "second after the change")
	if !strings.Contains(sout, "sent to "+alice) || strings.Contains(serr, "CHANGED") {
		t.Fatalf("carol's second send: %q %q; want it sent with no notice", sout, serr)
	}

	run("bob", "verify", "alice", "--confirm")
	if sout, serr = run("bob", "send", "--to", "alice", "--json", "confirmed"); json.Unmarshal([]byte(sout), &sj) != nil || sj.KeyChanged || sj.Seq == 0 {
		t.Fatalf("bob's send after confirming: %q %q", sout, serr)
	}

	msgs, err := newAlice.Client.Fetch(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, msg := range msgs {
		r := newAlice.Open(ctx, msg)
		if !r.Verified {
			t.Errorf("alice's new keys read an unverified message: %+v", r)
		}
		texts = append(texts, string(r.Body))
	}
	if got := strings.Join(texts, "|"); got != "first after the change|second after the change|confirmed" {
		t.Errorf("alice's new keys read %q; the refused sends must not be among them", got)
	}
}

// TestTheReplShowsAKeyChangeRefusesAVerifiedContactUntilConfirmedAndMarksAForgery
// runs qpc repl in a terminal: bob verified alice in their DM; alice's
// account gets new keys. The REPL looks her keys up again rather than
// dropping her message (it compared with the keys it kept), shows the
// change with both safety numbers, refuses to send to her until
// /verify alice confirm, and shows a message signed by a key alice never
// published, marked, with the reason.
func TestTheReplShowsAKeyChangeRefusesAVerifiedContactUntilConfirmedAndMarksAForgery(t *testing.T) {
	t.Parallel()
	needTmux(t)
	p := startNodeProc(t, qpcBin)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	alice := "alice@" + domain1
	newChanUser(t, p, "alice")
	b := startRepl(t, newChanUser(t, p, "bob"))
	b.expect("/dm alice", "[@"+alice+"] > ", replWait)
	b.expect("before the change", " me before the change", replWait)
	b.expect("/verify alice confirm", "alice is verified", replWait)

	newAlice := resetKeys(t, ctx, p, "alice")
	if _, err := newAlice.SendText(ctx, "bob", "from the new key"); err != nil {
		t.Fatal(err)
	}
	b.waitFor("!! the account key of "+alice+" CHANGED: safety number was ", replWait)
	b.waitFor(" alice from the new key", replWait)
	if strings.Contains(b.capture(), "was dropped") {
		t.Fatalf("the REPL dropped a message:\n%s", b.capture())
	}

	b.expect("are you still you", "not sent: the account key of "+alice+" changed since you verified it", replWait)
	b.expect("/verify alice", "WARNING: THE ACCOUNT KEY OF "+strings.ToUpper(alice)+" HAS CHANGED SINCE YOU VERIFIED IT", replWait)

	forger, err := identity.GenerateUserKeys()
	if err != nil {
		t.Fatal(err)
	}
	bobKeys, err := newAlice.ResolvePeer(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	forged, err := sealed.Seal("bob@"+domain1, bobKeys.Bundle.HPKEKey, forger, alice,
		sealed.Message{ID: sealed.NewID(), ContentType: sealed.ContentText, Body: []byte("send the money to me")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newAlice.Client.Enqueue(ctx, client.Outgoing{Recipient: "bob@" + domain1, Payload: forged}); err != nil {
		t.Fatal(err)
	}
	b.waitFor("!! NOT VERIFIED: a message claiming to be from "+alice, replWait)
	b.waitFor("it may not be from them: send the money to me", replWait)

	b.expect("/verify alice confirm", "alice is verified", replWait)
	b.expect("after confirming", " me after confirming", replWait)
	if n := b.count(" me are you still you"); n != 0 {
		t.Errorf("the refused message is shown as sent %d times:\n%s", n, b.capture())
	}
	if strings.Contains(b.capture(), " alice send the money to me") {
		t.Errorf("the forged message is shown as alice's:\n%s", b.capture())
	}
}

// TestAKeyChangeIsShownByChannelRecvAndRecvFollowFromOneRecordOfContacts:
// dave reads alice's channel posts and her DMs with `qpc recv --follow`
// running all along. Her account gets new keys twice: channel recv shows
// the first change, the follower the second, each with the safety number
// of the key before it, because both compare with the one record of
// contacts; and dave's `qpc send` works while the follower runs.
func TestAKeyChangeIsShownByChannelRecvAndRecvFollowFromOneRecordOfContacts(t *testing.T) {
	t.Parallel()
	p := startNodeProc(t, qpcBin)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	alice, dave := newChanUser(t, p, "alice"), newChanUser(t, p, "dave")
	aliceAddr := "alice@" + domain1
	share := strings.TrimSpace(alice.must("", "channel", "create", "kiez"))
	sh, err := channel.ParseShare(share)
	if err != nil {
		t.Fatal(err)
	}
	dave.must("", "channel", "join", share)
	alice.must("", "channel", "send", "kiez", "the old key's post")
	posts := func() []channelPostJSON {
		t.Helper()
		var ps []channelPostJSON
		for _, l := range strings.Split(strings.TrimSpace(dave.must("", "channel", "recv", "kiez", "--json")), "\n") {
			var j channelPostJSON
			if err := json.Unmarshal([]byte(l), &j); err != nil {
				t.Fatalf("channel recv --json printed %q", l)
			}
			ps = append(ps, j)
		}
		return ps
	}
	if ps := posts(); len(ps) != 1 || ps[0].Status != "verified" || ps[0].KeyChanged {
		t.Fatalf("dave's channel recv: %+v", ps)
	}
	number := func() string {
		t.Helper()
		var v verifyJSON
		if err := json.Unmarshal([]byte(dave.must("", "verify", "alice", "--json")), &v); err != nil {
			t.Fatal(err)
		}
		return v.SafetyNumber
	}
	first := number()

	cmd := dave.command("recv", "--follow", "--json")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var followErr bytes.Buffer
	cmd.Stderr = &followErr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := readLines(stdout)
	next := func(what string) recvJSON {
		t.Helper()
		var m recvJSON
		if l := nextLine(t, lines, what); json.Unmarshal([]byte(l), &m) != nil {
			t.Fatalf("%s: recv --follow printed %q; stderr:\n%s", what, l, followErr.String())
		}
		return m
	}
	alice.must("", "send", "--to", "dave", "the old key's DM")
	if m := next("the old key's DM"); m.Text != "the old key's DM" || !m.Verified || m.KeyChanged {
		t.Fatalf("the follower printed %+v", m)
	}

	// New keys: the channel shows the change.
	second := resetKeys(t, ctx, p, "alice")
	if _, err := second.PostToChannel(ctx, sh.Secret.Keys(), "the second key's post", 0, 0); err != nil {
		t.Fatal(err)
	}
	ps := posts()
	if len(ps) != 2 || ps[0].Status != "mismatch" || ps[1].Text != "the second key's post" || ps[1].Status != "verified" ||
		!ps[1].KeyChanged || ps[1].OldSafetyNumber != first || ps[1].NewSafetyNumber != number() {
		t.Fatalf("dave's channel recv after alice's new keys: %+v (first number %s)", ps, first)
	}
	// Shown once: the change is recorded now.
	if out := dave.must("", "channel", "recv", "kiez"); strings.Contains(out, "!! the account key of "+aliceAddr+" CHANGED") {
		t.Errorf("the change was shown again by a second channel recv:\n%s", out)
	}
	secondNumber := number()
	// qpc send works while the follower runs.
	dave.must("", "send", "--to", "alice", "dave writes while following")

	// New keys again: the follower shows this change.
	third := resetKeys(t, ctx, p, "alice")
	if _, err := third.SendText(ctx, "dave", "the third key's DM"); err != nil {
		t.Fatal(err)
	}
	m := next("the third key's DM")
	if m.Text != "the third key's DM" || !m.Verified || !m.KeyChanged || m.OldSafetyNumber != secondNumber || m.NewSafetyNumber == secondNumber {
		t.Fatalf("the follower printed %+v; want the change from %s", m, secondNumber)
	}
	if m.NewSafetyNumber != number() {
		t.Errorf("the follower's new number %s is not qpc verify's", m.NewSafetyNumber)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for l := range lines {
		t.Errorf("printed after SIGINT: %q", l)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("recv --follow ended with %v; stderr:\n%s", err, followErr.String())
	}
}
