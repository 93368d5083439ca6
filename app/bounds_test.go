package app

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/node/noderpc"
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
	if !errors.Is(noderpc.FromException(err), node.ErrRateLimited) {
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
	if _, err := c.TryBegin(); !errors.Is(err, ErrBusy) || !errors.Is(err, node.ErrRateLimited) {
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
	var anon []*client.Client
	for range 2 {
		c, err := dial(t, n.Addr().String(), trust)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		health(t, c)
		anon = append(anon, c)
	}
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
	for range 2 {
		c, err := dial(t, n.Addr().String(), trust)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		health(t, c)
	}
	third, err := dial(t, n.Addr().String(), trust)
	if err == nil {
		defer third.Close()
		if _, err = third.Health(ctxT(t)); err == nil {
			t.Fatal("a third connection from 127.0.0.1 was served beyond --max-connections-per-source 2")
		}
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
