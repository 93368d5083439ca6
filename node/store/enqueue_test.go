package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestABatchIsCutAtBatchSize(t *testing.T) {
	opts := testOptions()
	opts.BatchWindow = time.Hour // only the size can cut
	opts.BatchSize = 4
	var sizes []int
	var mu sync.Mutex
	opts.OnCommit = func(n int, _ time.Duration) {
		mu.Lock()
		sizes = append(sizes, n)
		mu.Unlock()
	}
	s := openTest(t, opts)
	mustCreate(t, s, "bob")
	var wg sync.WaitGroup
	var seqs []uint64
	for i := range 4 {
		wg.Go(func() {
			rs := enqueue(t, s, msg("bob", fmt.Sprint(i), time.Hour))
			mu.Lock()
			seqs = append(seqs, rs[0].Seq)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(seqs)
	if !slices.Equal(sizes, []int{4}) || !slices.Equal(seqs, []uint64{1, 2, 3, 4}) {
		t.Errorf("commits of %v messages, seqs %v; want one commit of 4, seqs 1-4", sizes, seqs)
	}
}

func TestACallLargerThanTheBatchSizeIsNotSplit(t *testing.T) {
	opts := testOptions()
	opts.BatchSize = 2
	var sizes []int
	opts.OnCommit = func(n int, _ time.Duration) { sizes = append(sizes, n) }
	s := openTest(t, opts)
	mustCreate(t, s, "bob")
	rs := enqueue(t, s, msg("bob", "1", time.Hour), msg("bob", "2", time.Hour), msg("bob", "3", time.Hour))
	if rs[2].Seq != 3 || !slices.Equal(sizes, []int{3}) {
		t.Errorf("receipts %+v, commits %v; want one commit of 3", rs, sizes)
	}
}

func TestACallWhoseContextEndsBeforeTheCommitGetsCtxErrAndIsNotStored(t *testing.T) {
	opts := testOptions()
	opts.BatchWindow = time.Hour // nothing commits until Close
	opts.BatchSize = 100
	s := openTest(t, opts)
	mustCreate(t, s, "bob")
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() {
		_, err := s.Enqueue(ctx, []protocol.NewMessage{msg("bob", "cancelled", time.Hour)})
		errc <- err
	}()
	waitFor(t, "the call to queue", func() bool { return s.queued.Load() == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Enqueue = %v, want context.Canceled", err)
	}
	if _, err := s.Enqueue(ctx, []protocol.NewMessage{msg("bob", "x", time.Hour)}); !errors.Is(err, context.Canceled) {
		t.Errorf("Enqueue with a cancelled ctx = %v", err)
	}
	// Close commits the batch, which skips the cancelled call.
	path := s.Path()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if last, err := s.LastSeq("bob"); err != nil || last != 0 {
		t.Errorf("last seq %d, %v; the cancelled message was stored", last, err)
	}
}

func TestCloseCommitsQueuedCalls(t *testing.T) {
	opts := testOptions()
	opts.BatchWindow = time.Hour
	opts.BatchSize = 100
	s := openTest(t, opts)
	mustCreate(t, s, "bob")
	const callers = 5
	var wg sync.WaitGroup
	results := make([]error, callers)
	for i := range callers {
		wg.Go(func() {
			rs, err := s.Enqueue(context.Background(), []protocol.NewMessage{msg("bob", fmt.Sprint(i), time.Hour)})
			if err == nil {
				err = rs[0].Err
			}
			results[i] = err
		})
	}
	waitFor(t, "the calls to queue", func() bool { return s.queued.Load() == callers })
	path := s.Path()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, err := range results {
		if err != nil {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, _, _ := s.Depth("bob"); n != callers {
		t.Errorf("after Close and reopen bob holds %d, want %d", n, callers)
	}
}

func TestAFullQueueMakesCallersWaitAndHonoursTheirContext(t *testing.T) {
	opts := testOptions()
	opts.BatchSize = 1
	opts.QueueSize = 1
	s := openTest(t, opts)
	mustCreate(t, s, "bob")
	// Holding the lock every writer of the log and bbolt takes keeps the
	// committer in its first commit.
	s.foldMu.Lock()
	var wg sync.WaitGroup
	for i := range 2 { // one in the blocked commit, one in the queue
		wg.Go(func() {
			rs, err := s.Enqueue(context.Background(), []protocol.NewMessage{msg("bob", fmt.Sprint(i), time.Hour)})
			if err != nil || rs[0].Err != nil {
				t.Errorf("queued call: %v %v", err, rs)
			}
		})
	}
	waitFor(t, "two calls to queue", func() bool { return s.queued.Load() == 2 && len(s.reqs) == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := s.Enqueue(ctx, []protocol.NewMessage{msg("bob", "waits", time.Hour)}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("call beyond the queue bound: %v, want context.DeadlineExceeded", err)
	}
	s.foldMu.Unlock()
	wg.Wait()
	if last, err := s.LastSeq("bob"); err != nil || last != 2 {
		t.Errorf("last seq %d, %v; want the 2 queued calls stored", last, err)
	}
}

// TestOnCommitCountsEveryStoredMessageUnderLoad keeps the committer's
// count honest when many callers share its batches: the messages OnCommit
// reports add up to the receipts. (The order and uniqueness of the seqs
// under the same load are storetest's ConcurrentEnqueues.)
func TestOnCommitCountsEveryStoredMessageUnderLoad(t *testing.T) {
	opts := testOptions()
	opts.Limits = node.MailboxLimits{MaxMessages: 1 << 20, MaxBytes: 1 << 30}
	var commits, committed atomic.Int64
	opts.OnCommit = func(n int, _ time.Duration) {
		commits.Add(1)
		committed.Add(int64(n))
	}
	s := openTest(t, opts)
	mustCreate(t, s, "u0", "u1")
	var stored atomic.Int64
	var wg sync.WaitGroup
	for p := range 16 {
		wg.Go(func() {
			for c := range 25 {
				msgs := []protocol.NewMessage{msg(fmt.Sprint("u", (p+c)%2), "x", time.Hour)}
				if c%3 == 0 {
					msgs = append(msgs, msg("nobody", "refused", time.Hour))
				}
				rs, err := s.Enqueue(context.Background(), msgs)
				if err != nil {
					t.Error(err)
					return
				}
				for _, r := range rs {
					if r.Err == nil {
						stored.Add(1)
					}
				}
			}
		})
	}
	wg.Wait()
	if committed.Load() != stored.Load() || stored.Load() != 16*25 {
		t.Errorf("OnCommit counted %d messages, receipts say %d stored (want 400)", committed.Load(), stored.Load())
	}
	t.Logf("%d messages in %d commits", stored.Load(), commits.Load())
}
