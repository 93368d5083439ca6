package federation

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/ca"
	"github.com/quicprochat/qpc/protocol"
)

// These tests look at the manager's and the link's own logic, the
// coalescing of relays and the bookkeeping of peers, without QUIC:
// federation_test.go runs the real links.

// waitUntil polls cond until it holds or a deadline passes.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// numbered is a message whose payload is its number, and receiptOf the
// receipt a fake peer gives it: its number as Seq, so that a caller can
// tell its own receipts from another's.
func numbered(n int) protocol.Outgoing {
	return protocol.Outgoing{Recipient: "bob", Payload: []byte(strconv.Itoa(n))}
}

func receiptOf(m protocol.Outgoing) protocol.Receipt {
	n, _ := strconv.Atoi(string(m.Payload))
	return protocol.Receipt{Seq: uint64(n)}
}

// gatedPeer answers relays once its gate opens, counting the calls and
// their sizes.
type gatedPeer struct {
	gate     chan struct{}
	inFlight atomic.Int32 // calls waiting at the gate
	msgsIn   atomic.Int32 // messages of those calls
	mu       sync.Mutex
	sizes    []int
	fail     error
	short    bool // answer one receipt too few
}

func (p *gatedPeer) relay(ctx context.Context, msgs []protocol.Outgoing) ([]protocol.Receipt, error) {
	p.inFlight.Add(1)
	p.msgsIn.Add(int32(len(msgs)))
	defer func() {
		p.inFlight.Add(-1)
		p.msgsIn.Add(-int32(len(msgs)))
	}()
	select {
	case <-p.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.mu.Lock()
	p.sizes = append(p.sizes, len(msgs))
	p.mu.Unlock()
	if p.fail != nil {
		return nil, p.fail
	}
	out := make([]protocol.Receipt, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, receiptOf(m))
	}
	if p.short {
		out = out[1:]
	}
	return out, nil
}

// newRelayLink is a link to "peer.mesh" whose relays go to p; its senders
// stop at the test's end.
func newRelayLink(t *testing.T, p *gatedPeer) *link {
	l := &link{domain: "peer.mesh", done: make(chan struct{})}
	l.runRelays(context.Background(), 5*time.Second, p.relay)
	t.Cleanup(func() { close(l.done) })
	return l
}

func TestRelaysWaitingForABusyLinkGoOutTogetherAndEachCallerGetsItsOwnReceipts(t *testing.T) {
	p := &gatedPeer{gate: make(chan struct{})}
	l := newRelayLink(t, p)
	const early, late = relaysInFlight, 20
	var wg sync.WaitGroup
	results := make([][]protocol.Receipt, early+late)
	errs := make([]error, early+late)
	call := func(i int) {
		wg.Go(func() { results[i], errs[i] = l.enqueueRelay(context.Background(), []protocol.Outgoing{numbered(i)}) })
	}
	// One at a time, so that each sender takes one caller alone and then
	// waits at the gate.
	for i := range early {
		call(i)
		waitUntil(t, "a sender to take the caller", func() bool { return p.inFlight.Load() == int32(i+1) })
	}
	for i := early; i < early+late; i++ {
		call(i)
	}
	waitUntil(t, "the late callers to queue", func() bool { return len(l.relays) == late })
	close(p.gate)
	wg.Wait()
	for i := range early + late {
		if errs[i] != nil || len(results[i]) != 1 || results[i][0].Seq != uint64(i) {
			t.Errorf("caller %d: %+v, %v; want its own receipt", i, results[i], errs[i])
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if calls := len(p.sizes) - early; calls > relaysInFlight {
		t.Errorf("%d queued messages went out in %d calls %v, want at most %d (one per sender)", late, calls, p.sizes, relaysInFlight)
	}
}

func TestAFailedRelayFailsEveryCallerOfItsBatchAndShortAnswersAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		peer *gatedPeer
		want error
	}{
		{"the call fails", &gatedPeer{gate: make(chan struct{}), fail: &linkError{domain: "peer.mesh", err: errLinkClosed}}, errLinkClosed},
		{"the peer answers too few receipts", &gatedPeer{gate: make(chan struct{}), short: true}, protocol.ErrPeerUnreachable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			close(tc.peer.gate)
			l := newRelayLink(t, tc.peer)
			if _, err := l.enqueueRelay(context.Background(), []protocol.Outgoing{numbered(1), numbered(2)}); !errors.Is(err, tc.want) || !errors.Is(err, protocol.ErrPeerUnreachable) {
				t.Errorf("enqueueRelay = %v, want %v (and ErrPeerUnreachable)", err, tc.want)
			}
		})
	}
}

func TestAClosedLinkAnswersItsWaitingAndNewCallers(t *testing.T) {
	p := &gatedPeer{gate: make(chan struct{})}
	l := &link{domain: "peer.mesh", done: make(chan struct{})}
	l.runRelays(context.Background(), 5*time.Second, p.relay)
	var wg sync.WaitGroup
	errs := make([]error, relaysInFlight+3)
	for i := range errs {
		wg.Go(func() { _, errs[i] = l.enqueueRelay(context.Background(), []protocol.Outgoing{numbered(i)}) })
	}
	waitUntil(t, "the callers to be taken or queued", func() bool {
		return int(p.msgsIn.Load())+len(l.relays) == len(errs)
	})
	close(l.done)
	wg.Wait()
	close(p.gate) // let the senders' calls end, as a closed connection ends them
	for i, err := range errs {
		if !errors.Is(err, errLinkClosed) || !errors.Is(err, protocol.ErrPeerUnreachable) {
			t.Errorf("caller %d: %v, want the link closed (ErrPeerUnreachable)", i, err)
		}
	}
	if _, err := l.enqueueRelay(context.Background(), []protocol.Outgoing{numbered(9)}); !errors.Is(err, errLinkClosed) {
		t.Errorf("a relay after the close: %v, want the link closed", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	open := &link{domain: "peer.mesh", done: make(chan struct{}), relays: make(chan *relayRequest)}
	if _, err := open.enqueueRelay(ctx, []protocol.Outgoing{numbered(1)}); !errors.Is(err, context.Canceled) {
		t.Errorf("a caller that gave up: %v, want its context's error", err)
	}
}

// newBareManager is a Manager of n1.example.mesh with peers configured,
// never run.
func newBareManager(t *testing.T, peers ...string) *Manager {
	t.Helper()
	community := newCA(t)
	m, err := New(Config{
		Domain:  "n1.example.mesh",
		Cert:    issue(t, community, ca.IssueOptions{Domain: "n1.example.mesh"}),
		Roots:   community.Pool(),
		Inbound: func(string) Inbound { return nil },
		Peers:   peers,
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAPeerIsReportedByAddressUntilItsDomainIsKnownThenByDomain(t *testing.T) {
	m := newBareManager(t, "192.0.2.7:7000", "192.0.2.8:7000")
	if got := m.Links(); len(got) != 2 || got[0].Address != "192.0.2.7:7000" || got[0].State != protocol.LinkDown {
		t.Fatalf("configured peers: %+v", got)
	}
	m.setState("192.0.2.7:7000", "", protocol.LinkConnecting, "connection refused")
	m.setState("192.0.2.7:7000", "", protocol.LinkDown, "connection refused")
	m.setState("192.0.2.7:7000", "zz.example.mesh", protocol.LinkConnecting, "")
	m.count("zz.example.mesh", 3, 1, nil)
	m.count("zz.example.mesh", 0, 0, errors.New("timeout"))
	got := m.Links()
	if len(got) != 2 {
		t.Fatalf("Links: %+v, want the address entry taken over by its domain", got)
	}
	// Sorted by domain: the peer whose domain is unknown ("") first.
	zz := got[1]
	if got[0].Address != "192.0.2.8:7000" || zz.Domain != "zz.example.mesh" || zz.Address != "192.0.2.7:7000" {
		t.Errorf("Links order: %+v", got)
	}
	if zz.Errors != 3 || zz.LastError != "timeout" || zz.RelayedOut != 3 || zz.RelayedIn != 1 || zz.State != protocol.LinkConnecting {
		t.Errorf("the peer's entry: %+v; want 3 errors (2 dials, 1 relay), 3 out, 1 in, connecting", zz)
	}
	m.forget("192.0.2.8:7000")
	m.forget("192.0.2.7:7000") // known by its domain now: kept
	if got := m.Links(); len(got) != 1 || got[0].Domain != "zz.example.mesh" {
		t.Errorf("after forgetting both addresses: %+v, want only the peer whose domain is known", got)
	}
}

func TestARelayWithoutALinkSaysWhetherThePeerIsKnown(t *testing.T) {
	m := newBareManager(t)
	m.setState("192.0.2.7:7000", "n2.example.mesh", protocol.LinkDown, "handshake timeout")
	for _, tc := range []struct {
		domain string
		want   error
	}{
		{"n2.example.mesh", protocol.ErrPeerUnreachable},
		{"n9.example.mesh", protocol.ErrUnknownDomain},
	} {
		_, err := m.Relay(context.Background(), tc.domain, []protocol.Outgoing{numbered(1)})
		if !errors.Is(err, tc.want) || !errors.Is(err, protocol.ErrNoLink) {
			t.Errorf("Relay to %s: %v, want %v with ErrNoLink (so the message may go into the mesh)", tc.domain, err, tc.want)
		}
	}
	if _, err := m.ResolveUser(context.Background(), "bob@n9.example.mesh", 0); !errors.Is(err, protocol.ErrUnknownDomain) {
		t.Errorf("ResolveUser without a link: %v, want ErrUnknownDomain", err)
	}
}

// A peer that restarts is unlinked a moment before its new link is up; a
// lookup in that gap waits for the new link, as one on the broken link
// would, while a peer lost long ago or never linked costs no wait.
func TestALookupInTheGapOfAPeersRestartWaitsForItsNewLink(t *testing.T) {
	m := newBareManager(t)
	ctx := context.Background()
	const peer = "n2.example.mesh"
	if m.justDown(peer) != 0 {
		t.Fatal("a peer never linked is waited for")
	}
	// closeErr stands for the QUIC connection these links lack.
	first := &link{domain: peer, addr: "192.0.2.7:7000", done: make(chan struct{}), closeErr: errors.New("peer restarted")}
	if err := m.register(ctx, first); err != nil {
		t.Fatal(err)
	}
	m.unregister(first)
	if m.justDown(peer) <= 0 {
		t.Fatal("a link lost just now is not waited for")
	}

	// The new link comes up once the lookup has asked how long ago the
	// old one was lost (the first clock reading from here on), so that
	// the lookup is in the gap; the fallback is for a lookup that never
	// asks, which must then fail below.
	asked := make(chan struct{})
	var once sync.Once
	m.cfg.Now = func() time.Time {
		once.Do(func() { close(asked) })
		return time.Now()
	}
	second := &link{domain: peer, addr: "192.0.2.7:7000", done: make(chan struct{}), closeErr: errors.New("peer stopped")}
	registered := make(chan error, 1)
	go func() {
		select {
		case <-asked:
		case <-time.After(5 * time.Second):
		}
		registered <- m.register(ctx, second)
	}()
	via, err := lookup(ctx, m, peer, func(l *link) (*link, error) { return l, nil })
	if err != nil || via != second {
		t.Fatalf("lookup in the gap: via %p, %v; want the new link %p", via, err, second)
	}
	if err := <-registered; err != nil {
		t.Fatal(err)
	}

	// Lost long ago: the lookup fails at once, for the mesh to take over.
	m.unregister(second)
	later := time.Now().Add(time.Hour)
	m.cfg.Now = func() time.Time { return later }
	if w := m.justDown(peer); w != 0 {
		t.Fatalf("a link lost an hour ago is waited for (%v)", w)
	}
	if _, err := lookup(ctx, m, peer, func(l *link) (*link, error) { return l, nil }); !errors.Is(err, protocol.ErrPeerUnreachable) || !errors.Is(err, protocol.ErrNoLink) {
		t.Fatalf("lookup of a peer lost long ago: %v, want ErrPeerUnreachable with ErrNoLink", err)
	}
}
