package node_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/opaque"
	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/node/memstore"
	"github.com/quicprochat/qpc/protocol"
)

// These tests drive node.Service as noderpc does, on the in-memory twin of
// the store (node/storetest holds it to node/store's semantics) and real
// OPAQUE messages, with a clock the test moves.

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fastClient skips Argon2id, which only the client runs.
var fastClient = opaque.Config{KSF: opaque.Identity{}}

const domain = "node1.example.mesh"

type fixture struct {
	svc   *node.Service
	st    *memstore.Store
	clock *clock
}

// newFixture starts a service with lim (zero fields: defaults) on a store
// with opts.
func newFixture(t *testing.T, lim node.Limits, opts memstore.Options) *fixture {
	t.Helper()
	cfg := opaque.DefaultConfig()
	secrets, err := opaque.GenerateServerSecrets(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := opaque.NewServer(cfg, secrets)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC)}
	if opts.Now == nil {
		opts.Now = clk.now // the store leaves out messages expired by the service's clock
	}
	st := memstore.New(opts)
	t.Cleanup(func() { st.Close() })
	if lim.ResolveMinTime == 0 {
		lim.ResolveMinTime = time.Nanosecond // the floor is not what these tests look at
	}
	svc, err := node.New(node.Config{
		Identity: protocol.Identity{Domain: domain},
		Limits:   lim,
		Store:    st,
		OPAQUE:   srv,
		Now:      clk.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{svc: svc, st: st, clock: clk}
}

// conn opens a connection from remote.
func (f *fixture) conn(t *testing.T, remote string) *node.Conn {
	c := f.svc.NewConn(remote)
	t.Cleanup(c.Close)
	return c
}

func password(user string) []byte { return []byte("password of " + user) }

// register runs an OPAQUE registration of user on c.
func register(c *node.Conn, user string) error {
	oc, err := opaque.NewClient(fastClient)
	if err != nil {
		return err
	}
	req, err := oc.CreateRegistrationRequest(password(user))
	if err != nil {
		return err
	}
	respBytes, err := c.RegisterStart(user, req.Encode())
	if err != nil {
		return err
	}
	resp, err := opaque.DecodeRegistrationResponse(oc.Suite(), respBytes)
	if err != nil {
		return err
	}
	rec, _, err := oc.FinalizeRegistrationRequest(resp, []byte(domain), []byte(user+"@"+domain))
	if err != nil {
		return err
	}
	return c.RegisterFinish(user, rec.Encode())
}

// errWrongPassword is what the client side of loginStart concludes from a
// KE2 that does not open with the password.
var errWrongPassword = errors.New("wrong password")

// loginStart runs the client's half of a login up to KE3, which it
// returns; a KE2 that does not open with pw is errWrongPassword, as a
// real client tells without calling loginFinish.
func loginStart(c *node.Conn, user string, pw []byte) ([]byte, error) {
	oc, err := opaque.NewClient(fastClient)
	if err != nil {
		return nil, err
	}
	ke1, err := oc.GenerateKE1(pw)
	if err != nil {
		return nil, err
	}
	ke2Bytes, err := c.LoginStart(user, ke1.Encode())
	if err != nil {
		return nil, err
	}
	ke2, err := opaque.DecodeKE2(oc.Suite(), ke2Bytes)
	if err != nil {
		return nil, err
	}
	ke3, _, _, err := oc.GenerateKE3([]byte(user+"@"+domain), []byte(domain), ke2)
	if err != nil {
		return nil, errWrongPassword
	}
	return ke3.Encode(), nil
}

// login logs user in on c with the right password and returns the token.
func login(c *node.Conn, user string) ([]byte, error) {
	ke3, err := loginStart(c, user, password(user))
	if err != nil {
		return nil, err
	}
	tok, _, err := c.LoginFinish(ke3)
	return tok, err
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func keys(b byte) protocol.PublishedKeys {
	return protocol.PublishedKeys{IdentityKey: []byte{b}, HPKEKey: []byte{b}, Signature: []byte{b}}
}

// closed reports whether ch is closed.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestDeletingAnAccountRevokesEveryConnectionOfItAndOnlyThose(t *testing.T) {
	f := newFixture(t, node.Limits{}, memstore.Options{})
	c1, c2, c3 := f.conn(t, "192.0.2.1:1000"), f.conn(t, "192.0.2.2:1000"), f.conn(t, "192.0.2.3:1000")
	must(t, register(c1, "alice"))
	must(t, register(c3, "bob"))
	tok, err := login(c1, "alice")
	must(t, err)
	if _, err := c2.ResumeSession(tok); err != nil {
		t.Fatalf("alice's second connection: %v", err)
	}
	_, err = login(c3, "bob")
	must(t, err)
	sub, err := c2.Subscribe(nopListener{}, 0)
	must(t, err)

	must(t, c1.DeleteAccount())

	if !closed(c2.Revoked()) {
		t.Fatal("alice's other connection was not revoked")
	}
	if closed(c1.Revoked()) || closed(c3.Revoked()) {
		t.Error("the deleting connection or bob's was revoked; want only alice's other one")
	}
	select {
	case <-sub.Done():
	case <-time.After(10 * time.Second):
		t.Error("the revoked connection's subscription still runs")
	}
	ctx := context.Background()
	calls := map[string]func() error{
		"PublishKeys": func() error { return c2.PublishKeys(keys(1)) },
		"ResolveUser": func() error { _, err := c2.ResolveUser(ctx, "bob", 0); return err },
		"Enqueue": func() error {
			_, _, err := c2.Enqueue(ctx, []protocol.Outgoing{{Recipient: "bob", Payload: []byte("x")}})
			return err
		},
		"Fetch":             func() error { _, err := c2.Fetch(0, 10); return err },
		"Ack":               func() error { _, err := c2.Ack(1); return err },
		"Subscribe":         func() error { _, err := c2.Subscribe(nopListener{}, 0); return err },
		"UploadKeyPackages": func() error { return c2.UploadKeyPackages([][]byte{{1}}, nil) },
		"FetchKeyPackage":   func() error { _, _, err := c2.FetchKeyPackage(ctx, "bob", 0); return err },
		"KeyPackageCount":   func() error { _, _, err := c2.KeyPackageCount(0); return err },
		"UseDevice":         func() error { return c2.UseDevice("0123456789abcdef") },
		"RequestLink":       func() error { _, err := c2.RequestLink([]byte{1}, make([]byte, 32)); return err },
		"LinkRequests":      func() error { _, err := c2.LinkRequests(); return err },
		"DeleteAccount":     c2.DeleteAccount,
		"ResumeSession":     func() error { _, err := c2.ResumeSession(tok); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, protocol.ErrInvalidToken) {
			t.Errorf("%s on the revoked connection: %v, want ErrInvalidToken", name, err)
		}
	}
	if err := c1.PublishKeys(keys(1)); !errors.Is(err, protocol.ErrUnauthenticated) {
		t.Errorf("the deleting connection after the deletion: %v, want ErrUnauthenticated", err)
	}
	if err := c3.PublishKeys(keys(3)); err != nil {
		t.Errorf("bob's connection: %v", err)
	}
	if _, err := f.conn(t, "192.0.2.4:1").ResumeSession(tok); !errors.Is(err, protocol.ErrInvalidToken) {
		t.Errorf("alice's token on a new connection: %v, want ErrInvalidToken", err)
	}
}

type nopListener struct{}

func (nopListener) Deliver(context.Context, []protocol.Message) error { return nil }

func TestADeletedNameIsHeldThenAnOldTokenNeverWorksForTheNewAccount(t *testing.T) {
	hold := 48 * time.Hour
	f := newFixture(t, node.Limits{NameHold: hold}, memstore.Options{})
	c := f.conn(t, "192.0.2.1:1")
	must(t, register(c, "alice"))
	tok, err := login(c, "alice")
	must(t, err)
	old := f.conn(t, "192.0.2.9:1")
	_, err = old.ResumeSession(tok)
	must(t, err)
	must(t, c.DeleteAccount())

	f.clock.add(hold - time.Second)
	if err := register(f.conn(t, "192.0.2.2:1"), "alice"); !errors.Is(err, protocol.ErrUserExists) {
		t.Fatalf("re-registering within the hold: %v, want ErrUserExists", err)
	}
	f.clock.add(time.Second)
	if _, err := f.st.Expire(f.clock.now()); err != nil {
		t.Fatal(err)
	}
	eve := f.conn(t, "192.0.2.3:1")
	if err := register(eve, "alice"); err != nil {
		t.Fatalf("registering the name after its hold: %v", err)
	}
	if _, err := f.conn(t, "192.0.2.4:1").ResumeSession(tok); !errors.Is(err, protocol.ErrInvalidToken) {
		t.Errorf("the old account's token on the new one: %v, want ErrInvalidToken", err)
	}
	_, err = login(eve, "alice")
	must(t, err)
	must(t, eve.PublishKeys(keys(7)))
	if err := old.PublishKeys(keys(6)); !errors.Is(err, protocol.ErrInvalidToken) {
		t.Errorf("the old account's connection: %v, want ErrInvalidToken", err)
	}
	got, err := f.st.Keys("alice")
	must(t, err)
	if got.IdentityKey[0] != 7 {
		t.Errorf("the new account's keys were replaced: %v", got.IdentityKey)
	}
}

func TestALoginStartedOnADeletedAccountDoesNotGrantTheNewOne(t *testing.T) {
	hold := time.Hour
	f := newFixture(t, node.Limits{NameHold: hold}, memstore.Options{})
	c := f.conn(t, "192.0.2.1:1")
	must(t, register(c, "alice"))
	_, err := login(c, "alice")
	must(t, err)
	slow := f.conn(t, "192.0.2.2:1")
	ke3, err := loginStart(slow, "alice", password("alice"))
	must(t, err)

	must(t, c.DeleteAccount())
	f.clock.add(hold)
	if _, err := f.st.Expire(f.clock.now()); err != nil {
		t.Fatal(err)
	}
	// The new owner picks the same password: only the account binding
	// tells the two apart.
	must(t, register(f.conn(t, "192.0.2.3:1"), "alice"))

	if _, _, err := slow.LoginFinish(ke3); !errors.Is(err, protocol.ErrAuthFailed) {
		t.Errorf("finishing a login of the deleted account: %v, want ErrAuthFailed", err)
	}
	if err := slow.PublishKeys(keys(1)); !errors.Is(err, protocol.ErrUnauthenticated) {
		t.Errorf("after the refused login: %v, want ErrUnauthenticated", err)
	}
}

func TestRegistrationIsThrottledPerSourceAndPerNode(t *testing.T) {
	// A registration makes two calls, so a burst of 4 is two accounts.
	f := newFixture(t, node.Limits{RegisterSourceBurst: 4, RegisterSourceRate: 1e-9, RegisterNodeBurst: 5, RegisterNodeRate: 1e-9}, memstore.Options{})
	for i := range 2 {
		if err := register(f.conn(t, fmt.Sprintf("198.51.100.7:%d", 4000+i)), fmt.Sprintf("a%d", i)); err != nil {
			t.Fatalf("registration %d from one address: %v", i+1, err)
		}
	}
	// Another port, and another address of the same IPv6 /64, are the same
	// source.
	if err := register(f.conn(t, "198.51.100.7:5000"), "a2"); !errors.Is(err, protocol.ErrRateLimited) {
		t.Errorf("a third registration from the address: %v, want ErrRateLimited", err)
	}
	for i := range 2 {
		if err := register(f.conn(t, fmt.Sprintf("[2001:db8::%d]:1", i+1)), fmt.Sprintf("b%d", i)); err != nil {
			t.Fatalf("registration %d from a /64: %v", i+1, err)
		}
	}
	if err := register(f.conn(t, "[2001:db8::ffff:1]:1"), "b2"); !errors.Is(err, protocol.ErrRateLimited) {
		t.Errorf("a third registration from the /64: %v, want ErrRateLimited", err)
	}
	// The node's budget of 5 accounts: one more from a fresh address, then
	// none.
	if err := register(f.conn(t, "203.0.113.1:1"), "c0"); err != nil {
		t.Fatalf("the fifth account: %v", err)
	}
	if err := register(f.conn(t, "203.0.113.2:1"), "c1"); !errors.Is(err, protocol.ErrRateLimited) {
		t.Errorf("a sixth account on the node: %v, want ErrRateLimited", err)
	}
	// "Is this name taken?" costs a token too.
	probe := f.conn(t, "203.0.113.3:1")
	taken := 0
	for range 10 {
		_, err := probe.RegisterStart("a0", validRegistrationRequest(t))
		if errors.Is(err, protocol.ErrRateLimited) {
			break
		}
		if !errors.Is(err, protocol.ErrUserExists) {
			t.Fatalf("probing a taken name: %v", err)
		}
		taken++
	}
	if taken != 4 {
		t.Errorf("one address learnt %d times that a name is taken, want 4 (its burst)", taken)
	}
}

func validRegistrationRequest(t *testing.T) []byte {
	oc, err := opaque.NewClient(fastClient)
	must(t, err)
	req, err := oc.CreateRegistrationRequest([]byte("pw"))
	must(t, err)
	return req.Encode()
}

func TestAccountsBeyondTheCapAreRefused(t *testing.T) {
	f := newFixture(t, node.Limits{}, memstore.Options{MaxAccounts: 2})
	must(t, register(f.conn(t, "192.0.2.1:1"), "a"))
	must(t, register(f.conn(t, "192.0.2.2:1"), "b"))
	if err := register(f.conn(t, "192.0.2.3:1"), "c"); !errors.Is(err, protocol.ErrAccountsFull) {
		t.Fatalf("a third account with a cap of 2: %v, want ErrAccountsFull", err)
	}
	c := f.conn(t, "192.0.2.1:2")
	_, err := login(c, "a")
	must(t, err)
	must(t, c.DeleteAccount())
	if err := register(f.conn(t, "192.0.2.3:2"), "c"); err != nil {
		t.Errorf("registering after a deletion made room: %v", err)
	}
}

func TestLoginGuessesAreThrottledPerNameAlikeForUnknownNames(t *testing.T) {
	const budget = 3
	f := newFixture(t, node.Limits{LoginUserBurst: budget, LoginUserRate: 1.0 / 60}, memstore.Options{})
	must(t, register(f.conn(t, "192.0.2.1:1"), "alice"))

	// Right passwords give their token back: more logins than the budget.
	c := f.conn(t, "192.0.2.1:2")
	for i := range budget + 2 {
		if _, err := login(c, "alice"); err != nil {
			t.Fatalf("good login %d: %v", i+1, err)
		}
	}
	for _, name := range []string{"alice", "nobody"} {
		guesses := 0
		for i := range budget + 2 { // guesses from many addresses: the budget is the name's
			_, err := loginStart(f.conn(t, fmt.Sprintf("198.51.100.%d:1", i)), name, []byte("guess"))
			if errors.Is(err, protocol.ErrRateLimited) {
				break
			}
			if !errors.Is(err, errWrongPassword) {
				t.Fatalf("guess %d for %s: %v", i+1, name, err)
			}
			guesses++
		}
		if guesses != budget {
			t.Errorf("%s: %d guesses before the throttle, want %d", name, guesses, budget)
		}
	}
	if _, err := login(c, "alice"); !errors.Is(err, protocol.ErrRateLimited) {
		t.Errorf("a login with the budget spent: %v, want ErrRateLimited", err)
	}
	f.clock.add(time.Minute)
	if _, err := login(c, "alice"); err != nil {
		t.Errorf("a login a minute later, when one token is back: %v", err)
	}
}

func TestLoginsAreThrottledPerSource(t *testing.T) {
	f := newFixture(t, node.Limits{LoginSourceBurst: 4, LoginSourceRate: 1e-9}, memstore.Options{})
	must(t, register(f.conn(t, "192.0.2.1:1"), "alice"))
	c := f.conn(t, "192.0.2.1:2")
	n := 0
	for range 10 {
		if _, err := login(c, "alice"); errors.Is(err, protocol.ErrRateLimited) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 4 {
		t.Errorf("%d logins from one address, want 4", n)
	}
	if _, err := login(f.conn(t, "192.0.2.2:1"), "alice"); err != nil {
		t.Errorf("a login from another address: %v", err)
	}
}

func TestResolveAnswersAlikeForNoSuchUserAndNoKeys(t *testing.T) {
	f := newFixture(t, node.Limits{}, memstore.Options{})
	c := f.conn(t, "192.0.2.1:1")
	must(t, register(c, "alice"))
	must(t, register(c, "carol"))
	_, err := login(c, "alice")
	must(t, err)
	must(t, c.PublishKeys(keys(1)))
	ctx := context.Background()
	_, noKeys := c.ResolveUser(ctx, "carol", 0)
	_, noUser := c.ResolveUser(ctx, "nobody", 0)
	if !errors.Is(noKeys, protocol.ErrNoSuchKeys) || !errors.Is(noUser, protocol.ErrNoSuchKeys) {
		t.Fatalf("no keys: %v; no user: %v; want ErrNoSuchKeys for both", noKeys, noUser)
	}
	if noKeys.Error() != noUser.Error() || errors.Is(noKeys, protocol.ErrNoKeys) {
		t.Errorf("the answers differ: %q vs %q", noKeys, noUser)
	}
	if _, err := c.ResolveUser(ctx, "alice", 0); err != nil {
		t.Errorf("a user with keys: %v", err)
	}
}

func TestRefusedRegistrationsDoNotSpendTheNodesBudget(t *testing.T) {
	f := newFixture(t, node.Limits{RegisterNodeBurst: 2, RegisterNodeRate: 1e-9}, memstore.Options{})
	must(t, register(f.conn(t, "192.0.2.1:1"), "alice"))
	// A valid record, made for a name nobody registers.
	oc, err := opaque.NewClient(fastClient)
	must(t, err)
	req, err := oc.CreateRegistrationRequest([]byte("pw"))
	must(t, err)
	resp, err := f.conn(t, "192.0.2.2:1").RegisterStart("zz", req.Encode())
	must(t, err)
	r, err := opaque.DecodeRegistrationResponse(oc.Suite(), resp)
	must(t, err)
	rec, _, err := oc.FinalizeRegistrationRequest(r, []byte(domain), []byte("zz@"+domain))
	must(t, err)
	for i := range 5 {
		if err := f.conn(t, fmt.Sprintf("198.51.100.%d:1", i)).RegisterFinish("alice", rec.Encode()); !errors.Is(err, protocol.ErrUserExists) {
			t.Fatalf("finishing a registration of a taken name: %v, want ErrUserExists", err)
		}
	}
	if err := register(f.conn(t, "192.0.2.3:1"), "bob"); err != nil {
		t.Errorf("the node's second account after five refusals: %v", err)
	}
	if err := register(f.conn(t, "192.0.2.4:1"), "carol"); !errors.Is(err, protocol.ErrRateLimited) {
		t.Errorf("a third account with a node budget of 2: %v, want ErrRateLimited", err)
	}
}

func TestNoConnectionStaysBoundWhenResumesRaceTheDeletion(t *testing.T) {
	f := newFixture(t, node.Limits{}, memstore.Options{})
	c := f.conn(t, "192.0.2.1:1")
	must(t, register(c, "alice"))
	tok, err := login(c, "alice")
	must(t, err)
	const n = 20
	conns := make([]*node.Conn, n)
	for i := range conns {
		conns[i] = f.conn(t, fmt.Sprintf("192.0.2.2:%d", i))
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, cn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range 500 { // resume until refused
				if _, err := cn.ResumeSession(tok); err != nil {
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-start
		if err := c.DeleteAccount(); err != nil {
			t.Error(err)
		}
	}()
	close(start)
	wg.Wait()
	for i, cn := range conns {
		if u := cn.User(); u != "" {
			t.Errorf("connection %d is still logged in as %q after the deletion", i, u)
		}
		if err := cn.PublishKeys(keys(1)); err == nil {
			t.Errorf("connection %d published keys for a deleted account", i)
		}
	}
}

// pausingStore holds the first Session read after it is armed until the
// test lets it go: the session is read before a deletion and bound after
// it. (Binding reads the session again, which goes through.)
type pausingStore struct {
	*memstore.Store
	armed        atomic.Bool
	read, resume chan struct{}
}

func (p *pausingStore) Session(h node.TokenHash) (node.Session, error) {
	s, err := p.Store.Session(h)
	if p.armed.CompareAndSwap(true, false) {
		close(p.read)
		<-p.resume
	}
	return s, err
}

func TestAResumeThatReadTheSessionBeforeTheDeletionDoesNotBind(t *testing.T) {
	st := memstore.New(memstore.Options{})
	t.Cleanup(func() { st.Close() })
	cfg := opaque.DefaultConfig()
	secrets, err := opaque.GenerateServerSecrets(cfg)
	must(t, err)
	srv, err := opaque.NewServer(cfg, secrets)
	must(t, err)
	ps := &pausingStore{Store: st, read: make(chan struct{}), resume: make(chan struct{})}
	svc, err := node.New(node.Config{Identity: protocol.Identity{Domain: domain}, Store: ps, OPAQUE: srv})
	must(t, err)
	c := svc.NewConn("192.0.2.1:1")
	defer c.Close()
	must(t, register(c, "alice"))
	ke3, err := loginStart(c, "alice", password("alice"))
	must(t, err)
	tok, _, err := c.LoginFinish(ke3)
	must(t, err)

	late := svc.NewConn("192.0.2.2:1")
	defer late.Close()
	ps.armed.Store(true)
	done := make(chan error, 1)
	go func() {
		_, err := late.ResumeSession(tok)
		done <- err
	}()
	<-ps.read
	must(t, c.DeleteAccount())
	close(ps.resume)
	if err := <-done; !errors.Is(err, protocol.ErrInvalidToken) {
		t.Errorf("a resume that read the session before the deletion: %v, want ErrInvalidToken", err)
	}
	if u := late.User(); u != "" {
		t.Errorf("the connection is logged in as %q after the deletion", u)
	}
}
