package node_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/node/memstore"
	"github.com/quicprochat/qpc/protocol"
)

// pipeListener is a node.PipelinedListener whose deliveries finish when
// the test says: each Send is recorded, and its outcome is what the test
// gives finish.
type pipeListener struct {
	mu    sync.Mutex
	sends [][]protocol.Message
	outc  []*outcome
	// done counts deliveries whose wait returned; at[i] is done when
	// delivery i was sent.
	done int
	at   []int
}

// outcome is one delivery's: err once done is closed.
type outcome struct {
	done chan struct{}
	err  error
}

func (l *pipeListener) Deliver(ctx context.Context, msgs []protocol.Message) error {
	_, wait := l.Send(ctx, msgs)
	return wait()
}

func (l *pipeListener) Send(ctx context.Context, msgs []protocol.Message) (<-chan struct{}, func() error) {
	o := &outcome{done: make(chan struct{})}
	l.mu.Lock()
	l.sends = append(l.sends, msgs)
	l.outc = append(l.outc, o)
	l.at = append(l.at, l.done)
	l.mu.Unlock()
	return o.done, func() error {
		<-o.done
		l.mu.Lock()
		l.done++
		l.mu.Unlock()
		return o.err
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
	l.outc[i].err = err
	close(l.outc[i].done)
}

// finishAll answers every delivery not answered yet, so that a
// subscription's end does not wait on the test.
func (l *pipeListener) finishAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, o := range l.outc {
		select {
		case <-o.done:
		default:
			close(o.done)
		}
	}
}

func TestAPushDoesNotWaitForTheDeliveriesInFlightBeforeSendingTheNextMessages(t *testing.T) {
	t.Run("bbolt, handed over per commit", func(t *testing.T) {
		svc, _ := newBoltService(t, node.Limits{})
		nextPushLeavesUnanswered(t, svc)
	})
	t.Run("memstore, handed over per call", func(t *testing.T) {
		ms := memstore.New(memstore.Options{})
		t.Cleanup(func() { ms.Close() })
		nextPushLeavesUnanswered(t, newCountingService(t, node.Limits{}, ms))
	})
}

// nextPushLeavesUnanswered checks that a message stored while the push
// before it is still unanswered by the client goes out at once: a push
// that waited for the answers before sleeping held every commit's
// messages back by a round trip to the client. Then a delivery that fails
// while the push has nothing to send ends the subscription.
func nextPushLeavesUnanswered(t *testing.T, svc *node.Service) {
	alice, bob := boltConn(t, svc, "alice", 1), boltConn(t, svc, "bob", 2)
	l := &pipeListener{}
	sub, err := alice.Subscribe(l, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { l.finishAll(); sub.Cancel() }()
	for i := 1; i <= 3; i++ {
		send(t, bob, "alice", fmt.Sprintf("m%d", i))
		got := l.waitSends(t, i)
		if m := got[i-1]; len(m) != 1 || m[0].Seq != uint64(i) {
			t.Fatalf("delivery %d: %v, want seq %d alone", i, m, i)
		}
	}
	l.mu.Lock()
	done := l.done
	l.mu.Unlock()
	if done != 0 {
		t.Fatalf("%d deliveries answered, want none", done)
	}
	// The subscription ends once the deliveries in flight are answered
	// (they hold messages the client may still be handed).
	boom := errors.New("the client went away")
	l.finish(0, boom)
	l.finish(1, nil)
	l.finish(2, nil)
	select {
	case <-sub.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a delivery that failed while the push was idle did not end the subscription")
	}
	if err := sub.Err(); !errors.Is(err, boom) {
		t.Errorf("subscription ended with %v, want the delivery's error", err)
	}
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
