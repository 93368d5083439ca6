package app

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/transport"
)

// waitClosed polls c with health calls until the node has closed it, or
// fails the test after d.
func waitClosed(t *testing.T, c *client.Client, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := c.Health(ctx)
		cancel()
		if err != nil {
			return
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not a readiness wait
	}
	t.Fatalf("the connection is still open after %s", d)
}

// servedClients dials k clients to n, each answered a health call, and
// closes them when the test ends.
func servedClients(t *testing.T, n *running, k int) []*client.Client {
	t.Helper()
	var cs []*client.Client
	for range k {
		c, err := dial(t, n.Addr().String(), transport.Trust{Pin: n.Fingerprint()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		health(t, c)
		cs = append(cs, c)
	}
	return cs
}

func TestCallsOverTheNodeBoundAreRefusedAsBusy(t *testing.T) {
	checkLeaks(t)
	n := start(t, testConfig(t))
	var busy atomic.Int32
	n.calls.max = 2
	n.calls.onBusy = func() { busy.Add(1) }
	c, err := dial(t, n.Addr().String(), transport.Trust{Pin: n.Fingerprint()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	health(t, c)

	// Two calls of federation peers hold the node's two slots.
	end1, end2 := n.calls.Begin(), n.calls.Begin()
	ctx := ctxT(t)
	_, err = c.Health(ctx)
	end1()
	end2()
	if !errors.Is(protocol.FromException(err), protocol.ErrRateLimited) {
		t.Fatalf("health with the node's calls all running = %v, want ErrRateLimited", err)
	}
	if got := busy.Load(); got != 1 {
		t.Errorf("onBusy told %d times, want 1", got)
	}
	health(t, c)
}

func TestTryBeginRefusesAtItsBoundAndCountsNothing(t *testing.T) {
	c := newCalls()
	c.max = 1
	end, err := c.TryBegin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.TryBegin(); !errors.Is(err, ErrBusy) || !errors.Is(err, protocol.ErrRateLimited) {
		t.Fatalf("second TryBegin = %v, want ErrBusy wrapping ErrRateLimited", err)
	}
	if c.Running() != 1 {
		t.Errorf("running = %d after a refused call, want 1", c.Running())
	}
	end()
	if c.Running() != 0 {
		t.Errorf("running = %d after the call ended", c.Running())
	}
}

func TestALoginMovesAConnectionOutOfTheUnauthenticatedPool(t *testing.T) {
	checkLeaks(t)
	cfg := testConfig(t)
	cfg.MaxUnauthenticated = 2
	n := start(t, cfg)
	trust := transport.Trust{Pin: n.Fingerprint()}
	ctx := ctxT(t)
	anon := servedClients(t, n, 2)
	third, err := dial(t, n.Addr().String(), trust)
	if err == nil {
		defer third.Close()
		if _, err = third.Health(ctx); err == nil {
			t.Fatal("a third connection not logged in was served beyond --max-unauthenticated 2")
		}
	}
	// One of the two logs in: its slot in the pool is free again.
	if _, err := anon[0].Register(ctx, fastOPAQUE, cfg.Domain, "alice", []byte("pw")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := anon[0].Login(ctx, fastOPAQUE, cfg.Domain, "alice", []byte("pw")); err != nil {
		t.Fatal(err)
	}
	fourth, err := dial(t, n.Addr().String(), trust)
	if err != nil {
		t.Fatal(err)
	}
	defer fourth.Close()
	health(t, fourth)
	if got := n.metrics.refused.With("unauthenticated").Value(); got != 1 {
		t.Errorf("refused{reason=unauthenticated} = %v, want 1", got)
	}
}

func TestConnectionsPerSourceAreBounded(t *testing.T) {
	checkLeaks(t)
	cfg := testConfig(t)
	cfg.MaxConnectionsPerSource = 2
	n := start(t, cfg)
	trust := transport.Trust{Pin: n.Fingerprint()}
	servedClients(t, n, 2)
	third, err := dial(t, n.Addr().String(), trust)
	if err == nil {
		defer third.Close()
		if _, err = third.Health(ctxT(t)); err == nil {
			t.Fatal("a third connection from 127.0.0.1 was served beyond --max-connections-per-source 2")
		}
	}
	// Whether the refusal cut the dial or the first call, the client says
	// why, as the node said it.
	var closed *client.ClosedByNodeError
	if !errors.As(err, &closed) || !errors.Is(err, client.ErrClosedByNode) ||
		!strings.Contains(err.Error(), "too many connections from this address (--max-connections-per-source 2)") {
		t.Errorf("the refused client's error = %v, want the node's reason", err)
	}
	if got := n.metrics.refused.With("per_source").Value(); got != 1 {
		t.Errorf("refused{reason=per_source} = %v, want 1", got)
	}
}

func TestAConnectionThatDoesNotLogInIsClosedAtTheDeadline(t *testing.T) {
	checkLeaks(t)
	cfg := testConfig(t)
	cfg.LoginTimeout = 500 * time.Millisecond
	n := start(t, cfg)
	trust := transport.Trust{Pin: n.Fingerprint()}
	ctx := ctxT(t)
	// alice connects first and logs in; her deadline passes before the
	// idle connection's does.
	alice, err := dial(t, n.Addr().String(), trust)
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	if _, err := alice.Register(ctx, fastOPAQUE, cfg.Domain, "alice", []byte("pw")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := alice.Login(ctx, fastOPAQUE, cfg.Domain, "alice", []byte("pw")); err != nil {
		t.Fatal(err)
	}
	idle, err := dial(t, n.Addr().String(), trust)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	health(t, idle) // calls before a login are served
	waitClosed(t, idle, 20*time.Second)
	health(t, alice)
	if got := n.metrics.loginTimeouts.Value(); got < 1 {
		t.Errorf("login timeouts = %v, want at least 1", got)
	}
}

func TestSourcesAreAddressesOrIPv6Slash64s(t *testing.T) {
	tests := []struct {
		name string
		addr string
		want string
	}{
		{"an IPv4 address is its own source", "192.0.2.7:7000", "192.0.2.7/32"},
		{"an IPv4-mapped IPv6 address counts as IPv4", "[::ffff:192.0.2.7]:7000", "192.0.2.7/32"},
		{"an IPv6 address counts as its /64", "[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:7000", "2001:db8:1:2::/64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ua, err := net.ResolveUDPAddr("udp", tt.addr)
			if err != nil {
				t.Fatal(err)
			}
			if got := sourceOf(ua); got != netip.MustParsePrefix(tt.want) {
				t.Errorf("sourceOf(%s) = %s, want %s", tt.addr, got, tt.want)
			}
		})
	}
}

func TestABatchLargerThanAFrameIsSentInSeveralCalls(t *testing.T) {
	checkLeaks(t)
	n := start(t, testConfig(t))
	alice := newAccount(t, n, "alice")
	newAccount(t, n, "bob")
	// Ten messages of 60 KiB are 600 KiB, above the 320 KiB frame bound
	// of the default --max-payload: one call would cut the connection.
	var batch []client.Outgoing
	for i := range 10 {
		p := make([]byte, 60<<10)
		p[0] = byte(i)
		batch = append(batch, client.Outgoing{Recipient: "bob", Payload: p})
	}
	rs, err := alice.Client.EnqueueBatch(ctxT(t), batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != len(batch) {
		t.Fatalf("%d receipts for %d messages", len(rs), len(batch))
	}
	for i, r := range rs {
		if r.Err != nil || r.Seq == 0 {
			t.Errorf("message %d: %+v", i, r)
		}
	}
	if got := n.metrics.framesRefused.Value(); got != 0 {
		t.Errorf("%v connections cut for their frames", got)
	}
}

// dialFrom opens a QUIC connection to n from its own UDP socket on the
// loopback address from (127.0.0.2 is another source than 127.0.0.1), and
// keeps it alive: only the node can end it.
func dialFrom(t *testing.T, from string, n *Node) *quic.Conn {
	t.Helper()
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(from)})
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("binding %s (CI runs on Linux, whose lo has the whole 127.0.0.0/8): %v", from, err)
		}
		t.Skipf("binding %s (needs the whole 127.0.0.0/8 on lo, as Linux has): %v", from, err)
	}
	tr := &quic.Transport{Conn: udp}
	t.Cleanup(func() { tr.Close(); udp.Close() })
	conf, err := transport.ClientTLS("127.0.0.1", transport.Trust{Pin: n.Fingerprint()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := tr.Dial(ctx, n.Addr().(*net.UDPAddr), conf, &quic.Config{MaxIdleTimeout: time.Minute, KeepAlivePeriod: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseWithError(0, "") })
	return c
}

func TestANewcomerTakesThePlaceOfTheLargestHolderOfTheUnauthenticatedPool(t *testing.T) {
	checkLeaks(t)
	cfg := testConfig(t)
	cfg.MaxUnauthenticated = 4
	n := start(t, cfg)
	var flood []*quic.Conn
	for range 4 {
		flood = append(flood, dialFrom(t, "127.0.0.2", n.Node))
	}
	waitFor(t, "the flood's 4 connections tracked", func() bool { return n.tracker.open() == 4 })

	// The pool is full of 127.0.0.2; a user from 127.0.0.1 still gets in,
	// and one of the flood's connections is closed for it.
	c, err := dial(t, n.Addr().String(), transport.Trust{Pin: n.Fingerprint()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	health(t, c)
	closed := 0
	for _, fc := range flood {
		select {
		case <-fc.Context().Done():
			closed++
		case <-time.After(100 * time.Millisecond):
		}
	}
	if closed != 1 {
		t.Errorf("%d of the flood's connections closed, want exactly the one that gave its place", closed)
	}
	if got := n.metrics.evicted.Value(); got != 1 {
		t.Errorf("qpc_connections_evicted_total = %v, want 1", got)
	}

	// The flood's source still holds the most places: its next
	// connection is refused rather than taking the user's.
	more := dialFrom(t, "127.0.0.2", n.Node)
	select {
	case <-more.Context().Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a connection from the largest holder of a full pool was kept")
	}
	if got := n.metrics.refused.With("unauthenticated").Value(); got != 1 {
		t.Errorf("refused{reason=unauthenticated} = %v, want 1", got)
	}
	ctx := ctxT(t)
	if _, err := c.Register(ctx, fastOPAQUE, cfg.Domain, "alice", []byte("pw")); err != nil {
		t.Fatalf("register with the pool full of another address: %v", err)
	}
	if _, _, err := c.Login(ctx, fastOPAQUE, cfg.Domain, "alice", []byte("pw")); err != nil {
		t.Fatal(err)
	}
}

// An evicted connection is closed at once but stays tracked until its
// goroutine runs; on a loaded machine that can be long enough for a
// burst of evictions to fill --max-connections with connections that are
// already gone. They must not keep a newcomer out.
func TestEvictedConnectionsDoNotCountAgainstTheTotal(t *testing.T) {
	checkLeaks(t)
	cfg := testConfig(t)
	cfg.MaxConnections = 4
	cfg.MaxConnectionsPerSource = 4
	cfg.MaxUnauthenticated = 4
	n := start(t, cfg)
	// Stand-ins for evicted connections whose goroutines have not run
	// yet: as many as the total allows.
	var gone []*quic.Conn
	n.tracker.mu.Lock()
	for range cfg.MaxConnections {
		c := new(quic.Conn)
		gone = append(gone, c)
		n.tracker.conns[c] = &connEntry{source: netip.MustParsePrefix("127.0.0.2/32"), evicted: true}
		n.tracker.perSource[netip.MustParsePrefix("127.0.0.2/32")]++
		n.tracker.evicting++
	}
	n.tracker.mu.Unlock()
	defer func() { // before the node's shutdown closes what it tracks
		n.tracker.mu.Lock()
		defer n.tracker.mu.Unlock()
		for _, c := range gone {
			delete(n.tracker.conns, c)
			n.tracker.evicting--
		}
		delete(n.tracker.perSource, netip.MustParsePrefix("127.0.0.2/32"))
	}()

	c, err := dial(t, n.Addr().String(), transport.Trust{Pin: n.Fingerprint()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	health(t, c)
	if got := n.metrics.refused.With("total").Value(); got != 0 {
		t.Errorf("refused{reason=total} = %v with only evicted connections tracked, want 0", got)
	}
}
