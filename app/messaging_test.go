package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/opaque"
	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/node/store"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/transport"
)

// fastOPAQUE skips Argon2id, which takes a third of a second per login and
// is covered by crypto/opaque's own tests; everything else is qpc's real
// configuration.
var fastOPAQUE = opaque.Config{KSF: opaque.Identity{}}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newAccount registers user on n, logs in on a fresh connection, and
// publishes fresh keys.
func newAccount(t testing.TB, n *running, user string) *client.Account {
	t.Helper()
	ctx := ctxT(t)
	c, err := dial(t, n.Addr().String(), transport.Trust{Pin: n.Fingerprint()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	pw := []byte("correct horse battery staple " + user)
	if _, err := c.Register(ctx, fastOPAQUE, n.cfg.Domain, user, pw); err != nil {
		t.Fatalf("register %s: %v", user, err)
	}
	if _, _, err := c.Login(ctx, fastOPAQUE, n.cfg.Domain, user, pw); err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	keys, err := identity.GenerateUserKeys()
	if err != nil {
		t.Fatal(err)
	}
	a := &client.Account{Client: c, Domain: n.cfg.Domain, User: user, Keys: keys}
	if err := a.Publish(ctx); err != nil {
		t.Fatalf("publish %s: %v", user, err)
	}
	return a
}

// inbox collects pushed messages, opened.
type inbox struct {
	a   *client.Account
	mu  sync.Mutex
	got []client.Received
	ch  chan struct{}
}

func subscribe(t testing.TB, a *client.Account, after uint64) *inbox {
	t.Helper()
	in := &inbox{a: a, ch: make(chan struct{}, 1)}
	_, err := a.Client.Subscribe(ctxT(t), after, func(msgs []protocol.Message) {
		in.mu.Lock()
		for _, m := range msgs {
			in.got = append(in.got, a.Open(context.Background(), m))
		}
		in.mu.Unlock()
		select {
		case in.ch <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// wait returns once n messages have arrived, or fails the test.
func (in *inbox) wait(t testing.TB, n int) []client.Received {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		in.mu.Lock()
		got := append([]client.Received(nil), in.got...)
		in.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-in.ch:
		case <-deadline:
			t.Fatalf("%s got %d of %d messages", in.a.User, len(got), n)
		}
	}
}

func TestTwoUsersExchangeEncryptedMessagesByPushAndTheNodeStoresNoPlaintext(t *testing.T) {
	checkLeaks(t)
	n := start(t, testConfig(t))
	alice, bob := newAccount(t, n, "alice"), newAccount(t, n, "bob")
	aliceIn, bobIn := subscribe(t, alice, 0), subscribe(t, bob, 0)
	ctx := ctxT(t)

	secretA := "meet at the water tower at nine, alice"
	secretB := "bring the spare antenna, bob"
	if _, err := alice.SendText(ctx, "bob", secretA); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.SendText(ctx, "alice@node1.example.mesh", secretB); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in         *inbox
		from, text string
	}{{bobIn, "alice@node1.example.mesh", secretA}, {aliceIn, "bob@node1.example.mesh", secretB}} {
		got := tc.in.wait(t, 1)[0]
		if !got.Verified || got.Problem != nil {
			t.Errorf("%s: message not verified: %v", tc.in.a.User, got.Problem)
		}
		if got.From != tc.from || string(got.Body) != tc.text || got.Seq != 1 {
			t.Errorf("%s got %+v", tc.in.a.User, got)
		}
	}

	n.wait(t) // flush and close the database
	db, err := os.ReadFile(filepath.Join(n.cfg.StorePath(), store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{secretA, secretB, "water tower", "antenna"} {
		if bytes.Contains(db, []byte(s)) {
			t.Errorf("the node's database contains the plaintext %q", s)
		}
	}
}

func TestAThousandMessagesArriveInOrderWithConsecutiveSequenceNumbers(t *testing.T) {
	n := start(t, testConfig(t))
	alice, bob := newAccount(t, n, "alice"), newAccount(t, n, "bob")
	bobIn := subscribe(t, bob, 0)
	ctx := ctxT(t)
	const total = 1000
	var batch []client.Outgoing
	for i := range total {
		out, _, err := alice.Seal(ctx, "bob", 1, []byte(fmt.Sprintf("message %d", i)))
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, out)
		if len(batch) == 100 {
			rs, err := alice.Client.EnqueueBatch(ctx, batch)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				if r.Err != nil {
					t.Fatal(r.Err)
				}
			}
			batch = batch[:0]
		}
	}
	got := bobIn.wait(t, total)
	for i, r := range got {
		if r.Seq != uint64(i+1) || string(r.Body) != fmt.Sprintf("message %d", i) || !r.Verified {
			t.Fatalf("message %d: seq %d body %q verified %v", i, r.Seq, r.Body, r.Verified)
		}
	}
	if removed, err := bob.Client.Ack(ctx, total); err != nil || removed != total {
		t.Errorf("ack: removed %d, %v", removed, err)
	}
	if left, _ := bob.Client.Fetch(ctx, 0, 10); len(left) != 0 {
		t.Errorf("%d messages left after ack", len(left))
	}
}

func TestSeveralClientsSendAndReceiveConcurrently(t *testing.T) {
	n := start(t, testConfig(t))
	const users, each = 4, 50
	accts := make([]*client.Account, users)
	ins := make([]*inbox, users)
	for i := range accts {
		accts[i] = newAccount(t, n, fmt.Sprintf("user%d", i))
		ins[i] = subscribe(t, accts[i], 0)
	}
	var wg sync.WaitGroup
	errs := make(chan error, users*each)
	for i, a := range accts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			to := accts[(i+1)%users].User
			for j := range each {
				if _, err := a.SendText(context.Background(), to, fmt.Sprintf("%s %d", a.User, j)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i, in := range ins {
		from := accts[(i+users-1)%users].User
		for j, r := range in.wait(t, each) {
			if want := fmt.Sprintf("%s %d", from, j); string(r.Body) != want || r.Seq != uint64(j+1) {
				t.Fatalf("%s message %d = %q seq %d, want %q", in.a.User, j, r.Body, r.Seq, want)
			}
		}
	}
}

func TestAuthenticationFailuresAreDistinctErrors(t *testing.T) {
	n := start(t, testConfig(t))
	newAccount(t, n, "carol")
	ctx := ctxT(t)
	c, err := dial(t, n.Addr().String(), transport.Trust{Pin: n.Fingerprint()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	domain := n.cfg.Domain

	_, _, err = c.Login(ctx, fastOPAQUE, domain, "carol", []byte("wrong password"))
	if !errors.Is(err, client.ErrWrongPassword) {
		t.Errorf("wrong password: %v", err)
	}
	_, _, errUnknown := c.Login(ctx, fastOPAQUE, domain, "nobody", []byte("whatever"))
	if !errors.Is(errUnknown, client.ErrWrongPassword) || errUnknown.Error() != err.Error() {
		t.Errorf("unknown user: %v; want the same as a wrong password: %v", errUnknown, err)
	}
	if _, err := c.Fetch(ctx, 0, 10); !errors.Is(err, protocol.ErrUnauthenticated) {
		t.Errorf("fetch without login: %v", err)
	}
	forged := bytes.Repeat([]byte{7}, node.TokenLen)
	if _, err := c.Resume(ctx, forged); !errors.Is(err, protocol.ErrInvalidToken) {
		t.Errorf("forged token: %v", err)
	}
	if _, err := c.Register(ctx, fastOPAQUE, domain, "carol", []byte("x")); !errors.Is(err, protocol.ErrUserExists) {
		t.Errorf("taken name: %v", err)
	}
	if _, err := c.Register(ctx, fastOPAQUE, domain, "Bad Name!", []byte("x")); !errors.Is(err, protocol.ErrBadRequest) {
		t.Errorf("bad name: %v", err)
	}
}

func TestAnExpiredSessionIsRefused(t *testing.T) {
	cfg := testConfig(t)
	cfg.SessionTTL = time.Millisecond
	n := start(t, cfg)
	a := newAccountNoPublish(t, n, "dave")
	time.Sleep(5 * time.Millisecond) // let the 1 ms session lapse; this is the condition under test, not a wait for readiness
	if _, err := a.Fetch(ctxT(t), 0, 1); !errors.Is(err, protocol.ErrSessionExpired) {
		t.Errorf("fetch on an expired session: %v", err)
	}
}

// newAccountNoPublish registers and logs in, returning the client; for
// tests whose sessions cannot publish.
func newAccountNoPublish(t testing.TB, n *running, user string) *client.Client {
	t.Helper()
	ctx := ctxT(t)
	c, err := dial(t, n.Addr().String(), transport.Trust{Pin: n.Fingerprint()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Register(ctx, fastOPAQUE, n.cfg.Domain, user, []byte("pw")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Login(ctx, fastOPAQUE, n.cfg.Domain, user, []byte("pw")); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBoundsGiveClearErrorsAndDropNothingAccepted(t *testing.T) {
	cfg := testConfig(t)
	cfg.MailboxMaxMessages = 3
	cfg.MaxPayload = 4096
	cfg.EnqueueRate = 5 // bursts of 10
	n := start(t, cfg)
	alice, bob := newAccount(t, n, "alice"), newAccount(t, n, "bob")
	ctx := ctxT(t)

	big := client.Outgoing{Recipient: "bob", Payload: make([]byte, 4097)}
	if _, err := alice.Client.Enqueue(ctx, big); !errors.Is(err, protocol.ErrPayloadTooLarge) {
		t.Errorf("oversized payload: %v", err)
	}
	for i := range 3 {
		if _, err := alice.SendText(ctx, "bob", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := alice.SendText(ctx, "bob", "one too many"); !errors.Is(err, protocol.ErrMailboxFull) {
		t.Errorf("full mailbox: %v", err)
	}
	msgs, err := bob.Client.Fetch(ctx, 0, 10)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("bob has %d messages (%v), want the 3 accepted", len(msgs), err)
	}
	var limited error
	for range 20 {
		if _, err := alice.Client.Enqueue(ctx, client.Outgoing{Recipient: "nobody", Payload: []byte{1}}); errors.Is(err, protocol.ErrRateLimited) {
			limited = err
			break
		}
	}
	if limited == nil {
		t.Error("20 quick enqueues at a rate limit of 5/s were never limited")
	}
}

func TestKeyPackagesRunOutToTheLastResortThenFail(t *testing.T) {
	n := start(t, testConfig(t))
	alice, bob := newAccount(t, n, "alice"), newAccount(t, n, "bob")
	ctx := ctxT(t)
	if _, _, err := alice.Client.FetchKeyPackage(ctx, "bob", 1); !errors.Is(err, protocol.ErrNoKeyPackage) {
		t.Errorf("no packages yet: %v", err)
	}
	if err := bob.Client.UploadKeyPackages(ctx, [][]byte{kp(1, "kp1"), kp(1, "kp2")}, kp(1, "last")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		pkg  string
		last bool
	}{{"kp1", false}, {"kp2", false}, {"last", true}, {"last", true}} {
		pkg, last, err := alice.Client.FetchKeyPackage(ctx, "bob", 1)
		if err != nil || !bytes.Equal(pkg, kp(1, want.pkg)) || last != want.last {
			t.Errorf("got %q last=%v err=%v, want %q last=%v", pkg, last, err, want.pkg, want.last)
		}
	}
}

func TestMessagesSurviveARestartAndASessionResumes(t *testing.T) {
	cfg := testConfig(t)
	n := start(t, cfg)
	alice, bob := newAccount(t, n, "alice"), newAccount(t, n, "bob")
	ctx := ctxT(t)
	tok := loginToken(t, n, "bob")
	for i := range 10 {
		if _, err := alice.SendText(ctx, "bob", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	n.wait(t)

	cfg.Listen = n.Addr().String()
	m := start(t, cfg)
	c, err := dial(t, m.Addr().String(), transport.Trust{Pin: m.Fingerprint()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Resume(ctx, tok); err != nil {
		t.Fatalf("resume after restart: %v", err)
	}
	bob.Client = c
	msgs, err := c.Fetch(ctx, 0, 100)
	if err != nil || len(msgs) != 10 {
		t.Fatalf("after restart bob has %d messages (%v), want 10", len(msgs), err)
	}
	for i, msg := range msgs {
		if r := bob.Open(ctx, msg); string(r.Body) != fmt.Sprint(i) || !r.Verified {
			t.Errorf("message %d after restart: %+v", i, r)
		}
	}
}

// loginToken logs user in on a separate connection and returns the token.
func loginToken(t testing.TB, n *running, user string) []byte {
	c, err := dial(t, n.Addr().String(), transport.Trust{Pin: n.Fingerprint()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, _, err := c.Login(ctxT(t), fastOPAQUE, n.cfg.Domain, user, []byte("correct horse battery staple "+user))
	if err != nil {
		t.Fatal(err)
	}
	return s.Token
}

func TestAFollowingClientReconnectsByItselfAfterTheNodeRestarts(t *testing.T) {
	cfg := testConfig(t)
	n := start(t, cfg)
	alice := newAccount(t, n, "alice")
	newAccount(t, n, "bob")
	ctx := ctxT(t)
	addr, fp := n.Addr().String(), n.Fingerprint()

	var mu sync.Mutex
	seen := map[uint64]string{}
	var connects int
	fctx, stop := context.WithCancel(ctx)
	followDone := make(chan error, 1)
	go func() {
		followDone <- client.Follow(fctx, client.FollowOptions{
			Dial: func(ctx context.Context) (*client.Client, error) {
				return client.Dial(ctx, addr, transport.Trust{Pin: fp}, nil)
			},
			Token:      loginToken(t, n, "bob"),
			MinBackoff: 20 * time.Millisecond,
			MaxBackoff: 200 * time.Millisecond,
			Connected: func(c *client.Client) {
				mu.Lock()
				connects++
				mu.Unlock()
			},
			Handler: func(c *client.Client, msgs []protocol.Message) uint64 {
				mu.Lock()
				defer mu.Unlock()
				for _, m := range msgs {
					seen[m.Seq] = string(m.Payload)
				}
				return msgs[len(msgs)-1].Seq
			},
		})
	}()
	waitFor := func(n int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			mu.Lock()
			got := len(seen)
			mu.Unlock()
			if got >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("follower saw %d of %d messages", got, n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for i := range 5 {
		if _, err := alice.SendText(ctx, "bob", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(5)

	n.wait(t)
	cfg.Listen = addr
	m := start(t, cfg)
	alice = newAccountOn(t, m, alice)
	for i := 5; i < 10; i++ {
		if _, err := alice.SendText(ctx, "bob", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(10)
	stop()
	if err := <-followDone; err != nil {
		t.Errorf("Follow: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if connects < 2 {
		t.Errorf("connected %d times, want a reconnect", connects)
	}
	for seq := uint64(1); seq <= 10; seq++ {
		if _, ok := seen[seq]; !ok {
			t.Errorf("message %d never arrived", seq)
		}
	}
}

// newAccountOn moves an account to a restarted node: a new connection,
// logged in again.
func newAccountOn(t testing.TB, n *running, a *client.Account) *client.Account {
	t.Helper()
	c, err := dial(t, n.Addr().String(), transport.Trust{Pin: n.Fingerprint()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, _, err := c.Login(ctxT(t), fastOPAQUE, n.cfg.Domain, a.User, []byte("correct horse battery staple "+a.User)); err != nil {
		t.Fatal(err)
	}
	return &client.Account{Client: c, Domain: a.Domain, User: a.User, Keys: a.Keys}
}
