package node_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/opaque"
	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/node/memstore"
	"github.com/quicprochat/qpc/node/store"
	"github.com/quicprochat/qpc/protocol"
)

// countingStore is the bbolt store that counts Fetch calls, to tell a
// push of a hand-off from a push read back from the store.
type countingStore struct {
	*store.Store
	fetches atomic.Int64
}

func (s *countingStore) Fetch(queue string, afterSeq uint64, limit int) ([]protocol.Message, error) {
	s.fetches.Add(1)
	return s.Store.Fetch(queue, afterSeq, limit)
}

// countingMemstore is the in-memory store that counts Fetch calls. It
// hands over no commits (node.CommitHandOff), so the node hands over what
// each Enqueue call stored.
type countingMemstore struct {
	*memstore.Store
	fetches atomic.Int64
}

func (s *countingMemstore) Fetch(queue string, afterSeq uint64, limit int) ([]protocol.Message, error) {
	s.fetches.Add(1)
	return s.Store.Fetch(queue, afterSeq, limit)
}

// newBoltService is a service on a real bbolt file whose Fetch calls are
// counted.
func newBoltService(t *testing.T, lim node.Limits) (*node.Service, *countingStore) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cs := &countingStore{Store: st}
	t.Cleanup(func() { st.Close() })
	return newCountingService(t, lim, cs), cs
}

func newCountingService(t *testing.T, lim node.Limits, st node.Store) *node.Service {
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
	lim.EnqueueRate, lim.EnqueueBurst = 1e9, 1e9
	svc, err := node.New(node.Config{Identity: protocol.Identity{Domain: domain}, Limits: lim, Store: st, OPAQUE: srv})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func boltConn(t *testing.T, svc *node.Service, user string, i int) *node.Conn {
	t.Helper()
	c := svc.NewConn(fmt.Sprintf("192.0.2.%d:1", i))
	t.Cleanup(c.Close)
	must(t, register(c, user))
	if _, err := login(c, user); err != nil {
		t.Fatal(err)
	}
	return c
}

// checkSeqs fails unless msgs are seqs 1 to n, in order, with the payloads
// "m<seq>".
func checkSeqs(t *testing.T, msgs []protocol.Message, n int) {
	t.Helper()
	if len(msgs) != n {
		t.Fatalf("%d messages pushed, want %d", len(msgs), n)
	}
	for i, m := range msgs {
		if m.Seq != uint64(i+1) || string(m.Payload) != fmt.Sprintf("m%d", m.Seq) {
			t.Fatalf("push %d: seq %d %q, want seq %d", i, m.Seq, m.Payload, i+1)
		}
	}
}

func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

func TestMessagesStoredForASubscriberArePushedFromTheCommitWithoutReadingTheStore(t *testing.T) {
	t.Run("bbolt, handed over per commit", func(t *testing.T) {
		svc, st := newBoltService(t, node.Limits{})
		pushedWithoutFetches(t, svc, &st.fetches)
	})
	t.Run("memstore, handed over per call", func(t *testing.T) {
		ms := &countingMemstore{Store: memstore.New(memstore.Options{})}
		t.Cleanup(func() { ms.Close() })
		pushedWithoutFetches(t, newCountingService(t, node.Limits{}, ms), &ms.fetches)
	})
}

// pushedWithoutFetches checks that messages sent one at a time to a
// subscriber are pushed in order with no fetch after the first.
func pushedWithoutFetches(t *testing.T, svc *node.Service, fetches *atomic.Int64) {
	alice, bob := boltConn(t, svc, "alice", 1), boltConn(t, svc, "bob", 2)
	l := newRecorder()
	sub, err := alice.Subscribe(l, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Cancel()
	// The backlog is read once, at the start.
	pollUntil(t, "the subscription read its backlog", func() bool { return fetches.Load() == 1 })
	const n = 40
	for i := 1; i <= n; i++ {
		send(t, bob, "alice", fmt.Sprintf("m%d", i))
	}
	checkSeqs(t, l.waitFor(t, n), n)
	if got := fetches.Load(); got != 1 {
		t.Errorf("%d fetches for %d messages pushed one commit at a time, want the first one only", got, n)
	}
}

// gate is a listener whose deliveries wait until it is opened.
type gate struct {
	open chan struct{}
	mu   sync.Mutex
	msgs []protocol.Message
	max  int // the largest delivery
}

func (g *gate) Deliver(ctx context.Context, msgs []protocol.Message) error {
	select {
	case <-g.open:
	case <-ctx.Done():
		return ctx.Err()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.msgs = append(g.msgs, msgs...)
	g.max = max(g.max, len(msgs))
	return nil
}

func (g *gate) pushed() []protocol.Message {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]protocol.Message(nil), g.msgs...)
}

func TestAHandOffThatDoesNotFitIsReadFromTheStoreInOrderAndNothingIsLost(t *testing.T) {
	const maxFetch = 100
	svc, st := newBoltService(t, node.Limits{MaxFetch: maxFetch})
	alice := boltConn(t, svc, "alice", 1)
	g := &gate{open: make(chan struct{})}
	sub, err := alice.Subscribe(g, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Cancel()
	pollUntil(t, "the subscription read its backlog", func() bool { return st.fetches.Load() == 1 })
	// Senders on several connections commit concurrently, so hand-offs
	// arrive out of order, and 1 KiB payloads overflow what a
	// subscription holds handed over (256 KiB) while the first delivery
	// waits.
	const senders, each = 4, 200
	pad := string(make([]byte, 1024))
	var wg sync.WaitGroup
	for i := range senders {
		c := boltConn(t, svc, fmt.Sprintf("s%d", i), 10+i)
		wg.Go(func() {
			for range each {
				rs, _, err := c.Enqueue(context.Background(), []protocol.Outgoing{{Recipient: "alice", Payload: []byte(pad)}})
				if err != nil || rs[0].Err != nil {
					t.Errorf("Enqueue: %v %v", err, rs)
					return
				}
			}
		})
	}
	wg.Wait()
	close(g.open)
	pollUntil(t, "every message was pushed", func() bool { return len(g.pushed()) >= senders*each })
	got := g.pushed()
	if len(got) != senders*each {
		t.Fatalf("%d messages pushed, want %d", len(got), senders*each)
	}
	for i, m := range got {
		if m.Seq != uint64(i+1) || len(m.Payload) != len(pad) {
			t.Fatalf("push %d: seq %d, %d bytes; want seq %d, %d bytes", i, m.Seq, len(m.Payload), i+1, len(pad))
		}
	}
	if g.max > maxFetch {
		t.Errorf("a delivery of %d messages, more than MaxFetch %d", g.max, maxFetch)
	}
	if st.fetches.Load() < 2 {
		t.Errorf("%d fetches: what did not fit was not read from the store", st.fetches.Load())
	}
}
