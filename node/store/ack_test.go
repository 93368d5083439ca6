package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

// TestAnAckSharesTheEnqueuesCommitAndItsRefusalIsItsOwn holds an ack and
// enqueues in one group commit (a long BatchWindow gathers them): the ack
// of a queue nobody has fails alone, the good ack and the enqueues commit,
// and the commit is one.
func TestAnAckSharesTheEnqueuesCommitAndItsRefusalIsItsOwn(t *testing.T) {
	var mu sync.Mutex
	var commits, stored int
	opts := benchOptions()
	opts.BatchWindow = 300 * time.Millisecond
	opts.OnCommit = func(n int, _ time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		commits++
		stored += n
	}
	s := openTest(t, opts)
	mustCreate(t, s, "alice", "bob")
	now := time.Now()
	msg := func(to string) []protocol.NewMessage {
		return []protocol.NewMessage{{Recipient: to, Payload: []byte("hi"), Enqueued: now, Expires: now.Add(time.Hour)}}
	}
	for range 3 {
		if rs, err := s.Enqueue(context.Background(), msg("alice")); err != nil || rs[0].Err != nil {
			t.Fatalf("Enqueue: %v %v", err, rs)
		}
	}
	mu.Lock()
	commits, stored = 0, 0
	mu.Unlock()

	var wg sync.WaitGroup
	var enqErr, badErr error
	var removed int
	var ackErr error
	wg.Go(func() {
		rs, err := s.Enqueue(context.Background(), msg("bob"))
		if err == nil {
			err = rs[0].Err
		}
		enqErr = err
	})
	wg.Go(func() { removed, ackErr = s.Ack("alice", 2) })
	wg.Go(func() { _, badErr = s.Ack("nobody", 1) })
	wg.Wait()
	if enqErr != nil || ackErr != nil {
		t.Fatalf("enqueue: %v, ack: %v", enqErr, ackErr)
	}
	if removed != 2 {
		t.Errorf("ack removed %d, want 2", removed)
	}
	if !errors.Is(badErr, protocol.ErrUnknownUser) {
		t.Errorf("ack of an unknown queue: %v, want ErrUnknownUser", badErr)
	}
	mu.Lock()
	if commits != 1 || stored != 1 {
		t.Errorf("%d commits storing %d messages, want 1 storing 1", commits, stored)
	}
	mu.Unlock()
	// An ack alone is a group commit too: it went through the committer,
	// not a transaction of its own.
	if _, err := s.Ack("alice", 3); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if commits != 2 || stored != 1 {
		t.Errorf("after an ack alone: %d commits storing %d messages, want 2 storing 1", commits, stored)
	}
	mu.Unlock()
	if n, b, err := s.Depth("alice"); err != nil || n != 0 || b != 0 {
		t.Errorf("alice holds %d messages, %d bytes (%v), want none", n, b, err)
	}
	if n, _, err := s.Depth("bob"); err != nil || n != 1 {
		t.Errorf("bob holds %d messages (%v), want 1", n, err)
	}
}
