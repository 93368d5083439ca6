package app

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/transport"
)

// Issue 20, items 5, 7 and 10, against a real node over QUIC with its
// bbolt store: sessions die with their account, storage is bounded, and
// guessing is throttled.

// dialN dials n and closes the client in cleanup.
func dialN(t *testing.T, n *running) *client.Client {
	t.Helper()
	c, err := dial(t, n.Addr().String(), transport.Trust{Pin: n.Fingerprint()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func pwOf(user string) []byte { return []byte("correct horse battery staple " + user) }

func TestDeletingAnAccountCutsItsOtherConnectionsAndHoldsTheName(t *testing.T) {
	n := start(t, testConfig(t))
	ctx := ctxT(t)
	alice := newAccount(t, n, "alice")
	bob := newAccount(t, n, "bob")
	second := dialN(t, n)
	sess, _, err := second.Login(ctx, fastOPAQUE, n.cfg.Domain, "alice", pwOf("alice"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := second.Fetch(ctx, 0, 10); err != nil {
		t.Fatalf("alice's second connection before the deletion: %v", err)
	}

	if err := alice.Client.DeleteAccount(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-second.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the node did not close alice's second connection")
	}
	if _, err := second.Fetch(ctx, 0, 10); err == nil {
		t.Error("Fetch on the cut connection succeeded")
	}
	if err := second.PublishKeys(ctx, protocol.PublishedKeys{IdentityKey: []byte{1}, HPKEKey: []byte{1}, Signature: []byte{1}}); err == nil {
		t.Error("PublishKeys on the cut connection succeeded")
	}
	if _, err := alice.Client.Fetch(ctx, 0, 10); !errors.Is(err, protocol.ErrUnauthenticated) {
		t.Errorf("the deleting connection afterwards: %v, want ErrUnauthenticated", err)
	}
	if _, err := dialN(t, n).Resume(ctx, sess.Token); !errors.Is(err, protocol.ErrInvalidToken) {
		t.Errorf("alice's token on a new connection: %v, want ErrInvalidToken", err)
	}
	_, err = dialN(t, n).Register(ctx, fastOPAQUE, n.cfg.Domain, "alice", []byte("mallory's password"))
	if !errors.Is(err, protocol.ErrUserExists) || !strings.Contains(err.Error(), "held until") {
		t.Errorf("re-registering the name at once: %v, want ErrUserExists (held)", err)
	}
	if _, err := bob.Client.Fetch(ctx, 0, 10); err != nil {
		t.Errorf("bob's connection: %v", err)
	}
}

func TestAnOldTokenNeverResumesOnAReRegisteredName(t *testing.T) {
	cfg := testConfig(t)
	cfg.NameHold = time.Second
	cfg.RegisterRate = 1000 // the polling below registers many times
	n := start(t, cfg)
	ctx := ctxT(t)
	alice := newAccount(t, n, "alice")
	second := dialN(t, n)
	old, _, err := second.Login(ctx, fastOPAQUE, n.cfg.Domain, "alice", pwOf("alice"))
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.Client.DeleteAccount(ctx); err != nil {
		t.Fatal(err)
	}
	// The new owner takes the name once its hold of a second ends, with the
	// same password: only the account binding tells the two apart.
	owner := dialN(t, n)
	deadline := time.Now().Add(30 * time.Second)
	for attempts := 0; ; attempts++ {
		_, err := owner.Register(ctx, fastOPAQUE, n.cfg.Domain, "alice", pwOf("alice"))
		if err == nil {
			break
		}
		if !errors.Is(err, protocol.ErrUserExists) || attempts > 300 || time.Now().After(deadline) {
			t.Fatalf("re-registering after the hold, attempt %d: %v", attempts+1, err)
		}
		time.Sleep(100 * time.Millisecond) // poll until the hold ends
	}
	if _, err := dialN(t, n).Resume(ctx, old.Token); !errors.Is(err, protocol.ErrInvalidToken) {
		t.Errorf("the old account's token on the new account: %v, want ErrInvalidToken", err)
	}
	if _, _, err := owner.Login(ctx, fastOPAQUE, n.cfg.Domain, "alice", pwOf("alice")); err != nil {
		t.Errorf("the new owner's login: %v", err)
	}
}

func TestRegistrationsBeyondTheSourceRateAndTheAccountCapAreRefused(t *testing.T) {
	ctx := ctxT(t)
	cfg := testConfig(t)
	cfg.RegisterRate = 6 // three registrations of two calls each per hour
	n := start(t, cfg)
	c := dialN(t, n)
	var err error
	made := 0
	for i := range 10 {
		if _, err = c.Register(ctx, fastOPAQUE, cfg.Domain, fmt.Sprintf("u%d", i), pwOf("u")); err != nil {
			break
		}
		made++
	}
	if !errors.Is(err, protocol.ErrRateLimited) || made != 3 {
		t.Errorf("from one address: %d accounts, then %v; want 3, then ErrRateLimited", made, err)
	}
	t.Logf("per-source rate 6 calls/hour: %d registrations, then %v", made, err)

	cfg = testConfig(t)
	cfg.MaxAccounts = 2
	n = start(t, cfg)
	c = dialN(t, n)
	made = 0
	for i := range 10 {
		if _, err = c.Register(ctx, fastOPAQUE, cfg.Domain, fmt.Sprintf("u%d", i), pwOf("u")); err != nil {
			break
		}
		made++
	}
	var re *protocol.RemoteError
	if !errors.Is(err, protocol.ErrAccountsFull) || made != 2 || !errors.As(err, &re) {
		t.Fatalf("with --max-accounts 2: %d accounts, then %v; want 2, then ErrAccountsFull", made, err)
	}
	if !strings.Contains(re.Message, "account limit") {
		t.Errorf("the client's message %q does not say what is wrong", re.Message)
	}
}

func TestAStoreAtItsNodeWideCapRefusesWithStoreFullAndLosesNothing(t *testing.T) {
	ctx := ctxT(t)
	cfg := testConfig(t)
	cfg.StoreMaxBytes = 256 << 10
	n := start(t, cfg)
	alice, bob := newAccount(t, n, "alice"), newAccount(t, n, "bob")
	const size = 16 << 10
	var sent [][]byte
	var err error
	for i := range 64 {
		p := bytes.Repeat([]byte{byte(i + 1)}, size)
		if _, err = alice.Client.Enqueue(ctx, client.Outgoing{Recipient: "bob", Payload: p}); err != nil {
			break
		}
		sent = append(sent, p)
	}
	if !errors.Is(err, protocol.ErrStoreFull) {
		t.Fatalf("after %d messages of %d bytes under a cap of %d: %v, want ErrStoreFull", len(sent), size, cfg.StoreMaxBytes, err)
	}
	if len(sent) != int(cfg.StoreMaxBytes/size) {
		t.Errorf("%d messages stored, want %d", len(sent), cfg.StoreMaxBytes/size)
	}
	t.Logf("node-wide cap %d bytes: %d messages of %d bytes stored, then %v", cfg.StoreMaxBytes, len(sent), size, err)
	got, err := bob.Client.Fetch(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(sent) {
		t.Fatalf("bob has %d messages, %d were acknowledged", len(got), len(sent))
	}
	for i, m := range got {
		if !bytes.Equal(m.Payload, sent[i]) {
			t.Errorf("message %d changed", i+1)
		}
	}
	if _, err := bob.Client.Ack(ctx, got[len(got)-1].Seq); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Client.Enqueue(ctx, client.Outgoing{Recipient: "bob", Payload: sent[0]}); err != nil {
		t.Errorf("after bob acknowledged everything: %v", err)
	}
}

func TestLoginGuessesBeyondTheNamesBudgetAreRefused(t *testing.T) {
	ctx := ctxT(t)
	n := start(t, testConfig(t))
	newAccount(t, n, "alice")
	budget := node.DefaultLimits().LoginUserBurst
	for _, name := range []string{"alice", "nobody"} {
		c := dialN(t, n)
		guesses := 0
		var err error
		for range budget + 5 {
			if _, _, err = c.Login(ctx, fastOPAQUE, n.cfg.Domain, name, []byte("guess")); !errors.Is(err, client.ErrWrongPassword) {
				break
			}
			guesses++
		}
		if !errors.Is(err, protocol.ErrRateLimited) || guesses != budget {
			t.Errorf("%s: %d wrong guesses, then %v; want %d, then ErrRateLimited", name, guesses, err, budget)
		}
		t.Logf("%s: %d guesses answered, then %v", name, guesses, err)
	}
	// The budget is the name's: the right password waits too (a session
	// alice already has keeps working).
	if _, _, err := dialN(t, n).Login(ctx, fastOPAQUE, n.cfg.Domain, "alice", pwOf("alice")); !errors.Is(err, protocol.ErrRateLimited) {
		t.Errorf("the right password with the budget spent: %v, want ErrRateLimited", err)
	}
}

func TestResolveAnswersAlikeForNoSuchUserAndNoKeys(t *testing.T) {
	ctx := ctxT(t)
	n := start(t, testConfig(t))
	alice := newAccount(t, n, "alice")
	if _, err := dialN(t, n).Register(ctx, fastOPAQUE, n.cfg.Domain, "carol", pwOf("carol")); err != nil {
		t.Fatal(err)
	}
	var answers []*protocol.RemoteError
	for _, who := range []string{"carol", "nobody"} {
		_, err := alice.Client.ResolveUser(ctx, who)
		var re *protocol.RemoteError
		if !errors.As(err, &re) {
			t.Fatalf("resolving %s: %v, want a node error", who, err)
		}
		answers = append(answers, re)
	}
	if *answers[0] != *answers[1] {
		t.Errorf("no keys: %+v; no such user: %+v; want the same answer", *answers[0], *answers[1])
	}
	if !errors.Is(answers[0], protocol.ErrUnknownUser) {
		t.Errorf("the answer %v is not ErrUnknownUser", answers[0])
	}
}
