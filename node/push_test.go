package node_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/node/memstore"
	"github.com/quicprochat/qpc/protocol"
)

// pipeListener is a node.PipelinedListener whose deliveries finish when
// the test says: each Send is recorded, and its wait returns what the
// test sends on its channel.
type pipeListener struct {
	mu    sync.Mutex
	sends [][]protocol.Message
	outc  []chan error
	// done counts deliveries whose wait returned; at[i] is done when
	// delivery i was sent.
	done int
	at   []int
}

func (l *pipeListener) Deliver(ctx context.Context, msgs []protocol.Message) error {
	return l.Send(ctx, msgs)()
}

func (l *pipeListener) Send(ctx context.Context, msgs []protocol.Message) func() error {
	c := make(chan error, 1)
	l.mu.Lock()
	l.sends = append(l.sends, msgs)
	l.outc = append(l.outc, c)
	l.at = append(l.at, l.done)
	l.mu.Unlock()
	return func() error {
		err := <-c
		l.mu.Lock()
		l.done++
		l.mu.Unlock()
		return err
	}
}

// waitSends polls until n deliveries were sent.
func (l *pipeListener) waitSends(t *testing.T, n int) [][]protocol.Message {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		l.mu.Lock()
		if len(l.sends) >= n {
			out := append([][]protocol.Message(nil), l.sends...)
			l.mu.Unlock()
			return out
		}
		l.mu.Unlock()
	}
	t.Fatalf("fewer than %d deliveries sent", n)
	return nil
}

func (l *pipeListener) finish(i int, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.outc[i] <- err
}

func TestPushesToAPipelinedListenerGoInOrderSeveralInFlightAndAFailureEndsThem(t *testing.T) {
	f := newFixture(t, node.Limits{MaxFetch: 1}, memstore.Options{})
	alice, bob := loggedIn(t, f, "alice"), loggedIn(t, f, "bob")
	for _, text := range []string{"one", "two", "three"} {
		send(t, bob, "alice", text)
	}
	l := &pipeListener{}
	sub, err := alice.Subscribe(l, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Cancel()
	// Three deliveries of one message each leave before the first is
	// answered: the push does not wait a round trip per batch.
	got := l.waitSends(t, 3)
	for i, want := range []string{"one", "two", "three"} {
		if len(got[i]) != 1 || string(got[i][0].Payload) != want {
			t.Fatalf("delivery %d: %v, want %q", i, got[i], want)
		}
	}
	boom := errors.New("the client went away")
	l.finish(0, nil)
	l.finish(1, boom)
	l.finish(2, nil)
	select {
	case <-sub.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a failed delivery did not end the subscription")
	}
	if err := sub.Err(); !errors.Is(err, boom) {
		t.Errorf("subscription ended with %v, want the delivery's error", err)
	}
}

func TestPushesInFlightHoldABoundedNumberOfBytes(t *testing.T) {
	f := newFixture(t, node.Limits{MaxFetch: 1, MaxPayload: 200 << 10}, memstore.Options{})
	alice, bob := loggedIn(t, f, "alice"), loggedIn(t, f, "bob")
	big := string(make([]byte, 100<<10))
	for range 3 {
		send(t, bob, "alice", big)
	}
	l := &pipeListener{}
	sub, err := alice.Subscribe(l, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Cancel()
	// Two deliveries of 100 KiB fit the bound together; the third waits
	// for the first to be answered.
	l.waitSends(t, 2)
	l.finish(0, nil)
	l.waitSends(t, 3)
	l.mu.Lock()
	at := l.at[2]
	l.mu.Unlock()
	if at < 1 {
		t.Errorf("the third 100 KiB delivery left with %d answered: 300 KiB in flight", at)
	}
	l.finish(1, nil)
	l.finish(2, nil)
}
