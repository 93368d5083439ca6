package main

// Issue 20, items 5, 7 and 10, against a real `qpc node` process set up as
// an admin would (flags and QPC_ environment twins): a deleted account is
// cut off everywhere and its name held, storage and registration are
// bounded, and guessing and lookups reveal nothing. The attackers are Go
// clients in the test process and `qpc` commands; app/accounts_test.go has
// the same attacks against an in-process node.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/opaque"
	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

const acctDomain = "node1.example.mesh"

// acctKSF skips password stretching on the Go clients' side (the node
// never sees the difference), so that the guessing loops stay fast.
var acctKSF = opaque.Config{KSF: opaque.Identity{}}

func acctPassword(user string) []byte { return []byte("correct horse battery staple " + user) }

// acctNode is a `qpc node` process on 127.0.0.1:0.
type acctNode struct {
	*logProc
	addr, fp string
}

// startAcctNode runs `qpc node` with env added to its environment and
// flags on its command line, and waits until it serves.
func startAcctNode(t *testing.T, env []string, flags ...string) *acctNode {
	t.Helper()
	args := append([]string{"node", "--listen", "127.0.0.1:0", "--domain", acctDomain,
		"--data-dir", t.TempDir(), "--log-format", "json"}, flags...)
	cmd := exec.Command(qpcBin, args...)
	cmd.Env = append(os.Environ(), env...)
	n := &acctNode{logProc: startLogProc(t, cmd)}
	rec, ok := n.waitLog(30*time.Second, func(r map[string]any) bool { return r["msg"] == "node serving" })
	if !ok {
		t.Fatalf("node did not start; logs:\n%s", n.Logs())
	}
	n.addr, n.fp = rec["addr"].(string), rec["fingerprint"].(string)
	return n
}

// dial opens a client connection to n, closed in cleanup.
func (n *acctNode) dial(t *testing.T) *client.Client {
	t.Helper()
	c := dialPinned(t, n.addr, n.fp)
	t.Cleanup(func() { c.Close() })
	return c
}

// account registers user on a connection of its own, logs in (the
// session is returned) and, unless noKeys, publishes fresh keys.
func (n *acctNode) account(t *testing.T, ctx context.Context, user string, noKeys bool) (*client.Account, client.Session) {
	t.Helper()
	c := n.dial(t)
	if _, err := c.Register(ctx, acctKSF, acctDomain, user, acctPassword(user)); err != nil {
		t.Fatalf("register %s: %v", user, err)
	}
	s, _, err := c.Login(ctx, acctKSF, acctDomain, user, acctPassword(user))
	if err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	keys, err := identity.GenerateUserKeys()
	if err != nil {
		t.Fatal(err)
	}
	a := &client.Account{Client: c, Domain: acctDomain, User: user, Keys: keys}
	if !noKeys {
		if err := a.Publish(ctx); err != nil {
			t.Fatalf("publish %s: %v", user, err)
		}
	}
	return a, s
}

// proc returns n as a nodeProc, for cliUsers.
func (n *acctNode) proc() *nodeProc { return &nodeProc{addr: n.addr, fp: n.fp} }

func acctContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestADeletedAccountIsCutOffEverywhereAndItsNameHeldByANodeProcess: alice
// has two connections and deletes her account from one. The node closes
// the other, her tokens never resume, her name is refused within
// --name-hold, and once a new owner has it (same password), nothing alice
// kept (the deleting connection, her tokens) reads the new owner's mail or
// replaces the new owner's keys.
func TestADeletedAccountIsCutOffEverywhereAndItsNameHeldByANodeProcess(t *testing.T) {
	t.Parallel()
	const hold = 4 * time.Second
	// Polling for the end of the hold registers many times.
	n := startAcctNode(t, nil, "--name-hold", hold.String(), "--register-rate", "1000")
	ctx := acctContext(t)
	alice, firstSess := n.account(t, ctx, "alice", false)
	bob, _ := n.account(t, ctx, "bob", false)
	second := n.dial(t)
	secondSess, _, err := second.Login(ctx, acctKSF, acctDomain, "alice", acctPassword("alice"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := second.Fetch(ctx, 0, 10); err != nil {
		t.Fatalf("alice's second connection before the deletion: %v", err)
	}

	deleted := time.Now()
	if err := alice.Client.DeleteAccount(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-second.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the node did not close alice's second connection")
	}
	cutAfter := time.Since(deleted)
	rec, ok := n.waitLog(10*time.Second, func(r map[string]any) bool { return r["msg"] == "account deleted" })
	if !ok || rec["other_connections_ended"] != float64(1) {
		t.Errorf("the node's record of the deletion: %v; want other_connections_ended 1", rec)
	}
	if _, err := second.Fetch(ctx, 0, 10); err == nil {
		t.Error("fetch on the cut connection succeeded")
	}
	if err := (&client.Account{Client: second, Domain: acctDomain, User: "alice", Keys: alice.Keys}).Publish(ctx); err == nil {
		t.Error("publishKeys on the cut connection succeeded")
	}
	if _, err := alice.Client.Fetch(ctx, 0, 10); !errors.Is(err, protocol.ErrUnauthenticated) {
		t.Errorf("fetch on the deleting connection: %v, want ErrUnauthenticated", err)
	}
	for i, tok := range [][]byte{firstSess.Token, secondSess.Token} {
		if _, err := n.dial(t).Resume(ctx, tok); !errors.Is(err, protocol.ErrInvalidToken) {
			t.Errorf("alice's token %d on a new connection: %v, want ErrInvalidToken", i+1, err)
		}
	}
	_, err = n.dial(t).Register(ctx, acctKSF, acctDomain, "alice", []byte("mallory's password"))
	since := time.Since(deleted)
	if !errors.Is(err, protocol.ErrUserExists) || !strings.Contains(err.Error(), "held until") {
		t.Errorf("registering alice %s after the deletion (--name-hold %s): %v, want ErrUserExists (held)", since, hold, err)
	}
	t.Logf("second connection closed %s after the deletion; re-registration %s after it: %v", cutAfter.Round(time.Millisecond), since.Round(time.Millisecond), err)

	// The new owner takes the name once the hold ends, with alice's
	// password: only the account binding tells the two apart.
	// Each attempt on a connection of its own: one that has not logged in
	// is closed at --login-timeout.
	var owner *client.Client
	attempts := 0
	for {
		attempts++
		c := dialPinned(t, n.addr, n.fp)
		_, err := c.Register(ctx, acctKSF, acctDomain, "alice", acctPassword("alice"))
		if err == nil {
			owner = c
			t.Cleanup(func() { c.Close() })
			break
		}
		c.Close()
		if !errors.Is(err, protocol.ErrUserExists) || attempts >= 200 || time.Since(deleted) > hold+30*time.Second {
			t.Fatalf("registering alice again, attempt %d, %s after the deletion: %v", attempts, time.Since(deleted), err)
		}
		time.Sleep(100 * time.Millisecond) // poll until the hold ends
	}
	taken := time.Since(deleted)
	if taken < hold {
		t.Errorf("the name was registered again %s after the deletion, within --name-hold %s", taken, hold)
	}
	t.Logf("the new owner registered alice at attempt %d, %s after the deletion", attempts, taken.Round(time.Millisecond))
	if _, _, err := owner.Login(ctx, acctKSF, acctDomain, "alice", acctPassword("alice")); err != nil {
		t.Fatalf("the new owner's login: %v", err)
	}
	newKeys, err := identity.GenerateUserKeys()
	if err != nil {
		t.Fatal(err)
	}
	newAlice := &client.Account{Client: owner, Domain: acctDomain, User: "alice", Keys: newKeys}
	if err := newAlice.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	if r, err := bob.SendText(ctx, "alice", "for the new alice"); err != nil || r.Err != nil {
		t.Fatalf("bob to the new alice: %v %v", err, r.Err)
	}

	// What the old alice kept: the deleting connection, and each token on a
	// connection of its own.
	kept := map[string]*client.Client{"the deleting connection": alice.Client}
	for i, tok := range [][]byte{firstSess.Token, secondSess.Token} {
		c := n.dial(t)
		if _, err := c.Resume(ctx, tok); !errors.Is(err, protocol.ErrInvalidToken) {
			t.Errorf("alice's old token %d on the new owner's account: %v, want ErrInvalidToken", i+1, err)
		}
		kept[fmt.Sprintf("a connection that tried old token %d", i+1)] = c
	}
	for what, c := range kept {
		if msgs, err := c.Fetch(ctx, 0, 10); !errors.Is(err, protocol.ErrUnauthenticated) {
			t.Errorf("fetch on %s: %d messages, %v; want ErrUnauthenticated", what, len(msgs), err)
		}
		old := &client.Account{Client: c, Domain: acctDomain, User: "alice", Keys: alice.Keys}
		if err := old.Publish(ctx); !errors.Is(err, protocol.ErrUnauthenticated) {
			t.Errorf("publishing the old keys on %s: %v, want ErrUnauthenticated", what, err)
		}
	}
	got, err := bob.Client.ResolveUser(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.IdentityKey, newKeys.IdentityPublic()) || !bytes.Equal(got.HPKEKey, newKeys.HPKEPublic()) {
		t.Errorf("alice's keys in the directory are not the new owner's (old alice's: %v)", bytes.Equal(got.IdentityKey, alice.Keys.IdentityPublic()))
	}
	msgs, err := owner.Fetch(ctx, 0, 10)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("the new owner's mailbox: %d messages, %v; want bob's one", len(msgs), err)
	}
	if m := newAlice.Open(ctx, msgs[0]); string(m.Body) != "for the new alice" || !m.Verified {
		t.Errorf("the new owner reads %q (verified %v)", m.Body, m.Verified)
	}
}

// recvTexts runs `qpc recv --json` as user and returns the texts received.
func recvTexts(t *testing.T, qpc func(user string, args ...string) (string, string, error), user string) []string {
	t.Helper()
	out, errOut, err := qpc(user, "recv", "--json")
	if err != nil {
		t.Fatalf("qpc recv as %s: %v\n%s%s", user, err, out, errOut)
	}
	var texts []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var m recvJSON
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("qpc recv printed %q: %v", line, err)
		}
		if !m.Verified {
			t.Errorf("%s received an unverified message: %+v", user, m)
		}
		texts = append(texts, m.Text)
	}
	return texts
}

// TestAFullStoreAndARegistrationFloodAreRefusedByANodeProcess: with a
// small QPC_STORE_MAX_BYTES, a flood fills the node's store; `qpc send`
// beyond it exits non-zero and says the store is full, and every message
// the node accepted is read back whole. Registrations from one address
// beyond QPC_REGISTER_RATE are refused, from Go and from `qpc register`.
func TestAFullStoreAndARegistrationFloodAreRefusedByANodeProcess(t *testing.T) {
	t.Parallel()
	const (
		storeMax = 256 << 10
		size     = 16 << 10 // the flood's payloads; storeMax is a multiple
		rate     = 10       // registration calls per hour from one address: 5 accounts
	)
	n := startAcctNode(t, []string{fmt.Sprintf("QPC_STORE_MAX_BYTES=%d", storeMax), fmt.Sprintf("QPC_REGISTER_RATE=%d", rate)})
	ctx := acctContext(t)
	qpc, dir := cliUsers(t, n.proc(), "bob", "carol")
	if out, errOut, err := qpc("carol", "send", "--to", "bob", "before the flood"); err != nil {
		t.Fatalf("qpc send before the flood: %v\n%s%s", err, out, errOut)
	}
	alice, _ := n.account(t, ctx, "alice", true)
	dave, _ := n.account(t, ctx, "dave", true)

	var sent [][]byte
	accepted := 0
	enqueue := func(n int) error {
		p := bytes.Repeat([]byte{byte(len(sent) + 1)}, n)
		r, err := alice.Client.Enqueue(ctx, client.Outgoing{Recipient: "dave", Payload: p})
		if err == nil {
			err = r.Err
		}
		if err == nil {
			sent = append(sent, p)
			accepted += n
		}
		return err
	}
	var err error
	for range 2 * storeMax / size {
		if err = enqueue(size); err != nil {
			break
		}
	}
	if !errors.Is(err, protocol.ErrStoreFull) {
		t.Fatalf("after %d messages of %d bytes under a cap of %d: %v, want ErrStoreFull", len(sent), size, storeMax, err)
	}
	// carol's message (more than 0, less than size bytes) takes the room
	// of one.
	if len(sent) != storeMax/size-1 {
		t.Errorf("the flood stored %d messages of %d bytes beside carol's under a cap of %d, want %d", len(sent), size, storeMax, storeMax/size-1)
	}
	t.Logf("QPC_STORE_MAX_BYTES=%d: %d messages of %d bytes stored beside one from qpc send, then %v", storeMax, len(sent), size, err)
	// Fill the rest to the byte: once a message of sz bytes is refused,
	// less than sz is left, so at most one of sz/2 fits.
	for sz := size / 2; sz >= 1; sz /= 2 {
		for range 2 {
			if err = enqueue(sz); err != nil {
				break
			}
		}
		if !errors.Is(err, protocol.ErrStoreFull) {
			t.Fatalf("topping up with %d bytes: %v, want ErrStoreFull", sz, err)
		}
	}
	if carols := storeMax - accepted; carols <= 0 || carols >= size {
		t.Errorf("the node took %d bytes of the flood under a cap of %d beside carol's message; want it to leave carol's (0 < %d < %d)", accepted, storeMax, carols, size)
	}
	t.Logf("filled to the byte: %d messages, %d bytes of the flood; carol's message counts %d; one byte more is refused", len(sent), accepted, storeMax-accepted)

	out, errOut, err := qpc("carol", "send", "--to", "bob", "into a full store")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitFailure || !strings.Contains(errOut, "store is full") {
		t.Errorf("qpc send into the full store: %v, stdout %q, stderr %q; want exit %d and \"store is full\"", err, out, errOut, exitFailure)
	}
	t.Logf("qpc send into the full store: %v: %s", err, strings.TrimSpace(errOut))

	got, err := dave.Client.Fetch(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(sent) {
		t.Fatalf("dave has %d messages, %d were accepted", len(got), len(sent))
	}
	for i, m := range got {
		if !bytes.Equal(m.Payload, sent[i]) {
			t.Errorf("message %d changed", i+1)
		}
	}
	if texts := recvTexts(t, qpc, "bob"); len(texts) != 1 || texts[0] != "before the flood" {
		t.Errorf("bob received %q, want only \"before the flood\"", texts)
	}
	// Room again once dave has read his: the refusal was the store's bound.
	if _, err := dave.Client.Ack(ctx, got[len(got)-1].Seq); err != nil {
		t.Fatal(err)
	}
	if out, errOut, err := qpc("carol", "send", "--to", "bob", "after the flood"); err != nil {
		t.Errorf("qpc send once dave acknowledged: %v\n%s%s", err, out, errOut)
	}
	if texts := recvTexts(t, qpc, "bob"); len(texts) != 1 || texts[0] != "after the flood" {
		t.Errorf("bob received %q, want only \"after the flood\"", texts)
	}

	// Four accounts so far took 8 of the 10 registration calls.
	made := 0
	for i := range 5 {
		if _, err = n.dial(t).Register(ctx, acctKSF, acctDomain, fmt.Sprintf("flood%d", i), acctPassword("flood")); err != nil {
			break
		}
		made++
	}
	if made != 1 || !errors.Is(err, protocol.ErrRateLimited) {
		t.Errorf("QPC_REGISTER_RATE=%d after 4 accounts: %d more, then %v; want 1, then ErrRateLimited", rate, made, err)
	}
	pw := dir + "/mallory.pw"
	if err := os.WriteFile(pw, []byte("password of mallory\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(qpcBin, "register", "--password-file", pw, "--state-dir", dir+"/mallory",
		"--server", n.addr, "--pin", n.fp, "--username", "mallory")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	if !errors.As(err, &exit) || !strings.Contains(stderr.String(), "rate limited") {
		t.Errorf("qpc register beyond the rate: %v, stderr %q; want a failure saying \"rate limited\"", err, stderr.String())
	}
	t.Logf("qpc register beyond the rate: %v: %s", err, strings.TrimSpace(stderr.String()))
}

// TestGuessesAndLookupsTellAnAttackerNothingOnANodeProcess: against a node
// with the shipped defaults, password guesses for a name beyond its budget
// are refused alike for a known and an unknown name (and then the right
// password waits too), while another name from the same address still
// logs in; resolveUser answers a name without keys and no name at all
// with one and the same error.
func TestGuessesAndLookupsTellAnAttackerNothingOnANodeProcess(t *testing.T) {
	t.Parallel()
	n := startAcctNode(t, nil)
	ctx := acctContext(t)
	alice, _ := n.account(t, ctx, "alice", false)
	n.account(t, ctx, "carol", true)
	budget := node.DefaultLimits().LoginUserBurst
	for _, name := range []string{"alice", "nobody"} {
		c := n.dial(t)
		guesses := 0
		var err error
		for range budget + 5 {
			if _, _, err = c.Login(ctx, acctKSF, acctDomain, name, []byte("guess")); !errors.Is(err, client.ErrWrongPassword) {
				break
			}
			guesses++
		}
		if guesses != budget || !errors.Is(err, protocol.ErrRateLimited) {
			t.Errorf("%s: %d wrong guesses answered, then %v; want %d, then ErrRateLimited", name, guesses, err, budget)
		}
		t.Logf("%s: %d guesses answered, then %v", name, guesses, err)
	}
	if _, _, err := n.dial(t).Login(ctx, acctKSF, acctDomain, "alice", acctPassword("alice")); !errors.Is(err, protocol.ErrRateLimited) {
		t.Errorf("alice's right password with her budget spent: %v, want ErrRateLimited", err)
	}
	if _, err := alice.Client.Fetch(ctx, 0, 10); err != nil {
		t.Errorf("alice's session from before the guessing: %v", err)
	}
	if _, _, err := n.dial(t).Login(ctx, acctKSF, acctDomain, "carol", acctPassword("carol")); err != nil {
		t.Errorf("carol's login from the guessers' address: %v; the budget spent was alice's and nobody's", err)
	}

	var answers []*protocol.RemoteError
	for _, who := range []string{"carol", "nobody"} {
		_, err := alice.Client.ResolveUser(ctx, who)
		var re *protocol.RemoteError
		if !errors.As(err, &re) {
			t.Fatalf("resolving %s: %v, want the node's error", who, err)
		}
		answers = append(answers, re)
	}
	if *answers[0] != *answers[1] {
		t.Errorf("resolveUser of a name without keys: %+v; of no such name: %+v; want the same answer", *answers[0], *answers[1])
	}
	if !errors.Is(answers[0], protocol.ErrUnknownUser) {
		t.Errorf("resolveUser answers %v, want ErrUnknownUser", answers[0])
	}
	t.Logf("resolveUser of carol (no keys) and nobody: %+v and %+v", *answers[0], *answers[1])

	// What `qpc send` tells its user is the same for both, but for the name.
	qpc, _ := cliUsers(t, n.proc(), "erin")
	var said []string
	for _, who := range []string{"carol", "nobody"} {
		out, errOut, err := qpc("erin", "send", "--to", who, "are you there?")
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != exitFailure || out != "" {
			t.Errorf("qpc send to %s: %v, stdout %q; want exit %d and nothing sent", who, err, out, exitFailure)
		}
		said = append(said, strings.ReplaceAll(errOut, who, "NAME"))
	}
	if said[0] != said[1] {
		t.Errorf("qpc send to a name without keys says %q; to no such name %q; want the same", said[0], said[1])
	}
	t.Logf("qpc send to either: %s", strings.TrimSpace(said[0]))
}
