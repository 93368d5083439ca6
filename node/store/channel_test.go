package store

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/node/storetest"
	"github.com/quicprochat/qpc/protocol"
)

func TestConcurrentAddPostsOfTheSameIDsKeepEachOnce(t *testing.T) {
	const callers, perCall = 16, 32
	for _, tc := range []struct {
		name      string
		oneCommit bool
	}{
		{"as the calls come", false},
		{"in one group commit", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := chanOptions(storetest.ChanQuota)
			var commits atomic.Int32
			if tc.oneCommit {
				// The batch is cut once every call is in.
				opts.BatchWindow, opts.BatchSize = time.Hour, callers*perCall
				opts.OnCommit = func(int, time.Duration) { commits.Add(1) }
			}
			s := openTest(t, opts)
			var mu sync.Mutex
			kept := map[int]int{}                     // post number → calls that kept it
			seqs := map[protocol.ChannelID][]uint64{} // seqs given per channel
			var wg sync.WaitGroup
			for range callers {
				wg.Go(func() {
					posts := make([]protocol.StoredPost, perCall)
					for i := range posts {
						posts[i] = storetest.Post(i+1, i%3+1, 10, time.Hour)
					}
					errs, evicted, err := s.AddPosts(context.Background(), posts)
					if err != nil || evicted != 0 {
						t.Errorf("AddPosts: %v, evicted %d", err, evicted)
						return
					}
					mu.Lock()
					defer mu.Unlock()
					for i, err := range errs {
						switch {
						case err == nil:
							kept[i+1]++
							seqs[posts[i].Channel] = append(seqs[posts[i].Channel], posts[i].Seq)
						case !errors.Is(err, protocol.ErrPostSeen):
							t.Errorf("post %d: %v, want kept or ErrPostSeen", i+1, err)
						}
					}
				})
			}
			wg.Wait()
			if tc.oneCommit && commits.Load() != 1 {
				t.Errorf("the calls took %d commits, want 1", commits.Load())
			}
			for n := 1; n <= perCall; n++ {
				if kept[n] != 1 {
					t.Errorf("post %d was kept by %d calls, want exactly 1", n, kept[n])
				}
			}
			for ch, got := range seqs {
				slices.Sort(got)
				if len(slices.Compact(got)) != len(got) {
					t.Errorf("channel %x was given a seq twice: %v", ch[31], got)
				}
			}
			if got := storetest.KeptPosts(t, s); !slices.Equal(got, storetest.Numbers(1, perCall)) {
				t.Errorf("kept posts %v", got)
			}
			if st := storetest.ChanStats(t, s); st.Posts != perCall || st.Seen != perCall {
				t.Errorf("stats %+v, want %d posts and seen ids", st, perCall)
			}
		})
	}
}

func TestPostSeqsIncreaseAndSurviveReopen(t *testing.T) {
	quota := storetest.ChanQuota
	quota.Retain = 2
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, chanOptions(quota))
	if err != nil {
		t.Fatal(err)
	}
	posts := []protocol.StoredPost{
		storetest.Post(1, 1, 1, 5*time.Hour), storetest.Post(2, 1, 1, 5*time.Hour),
		storetest.Post(3, 2, 1, time.Hour),   // a new channel after 2 posts: seq 3
		storetest.Post(4, 1, 1, 5*time.Hour), // evicts post 1 (Retain 2)
	}
	storetest.MustAdd(t, s, posts...)
	if got := storetest.PostSeqs(posts); !slices.Equal(got, []uint64{1, 2, 3, 3}) {
		t.Errorf("seqs %v, want [1 2 3 3]", got)
	}
	// Channel 2 empties and loses its record; its next post still comes
	// after seq 3, above every seq given so far.
	if n, err := s.ExpireChannels(t0.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("ExpireChannels: %d, %v", n, err)
	}
	again := []protocol.StoredPost{storetest.Post(5, 2, 1, 5*time.Hour)}
	storetest.MustAdd(t, s, again...)
	if again[0].Seq != 5 {
		t.Errorf("seq of an emptied channel's next post: %d, want 5", again[0].Seq)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkFile(t, path)
	if s, err = Open(path, chanOptions(quota)); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		checkFile(t, path)
	}()
	after := []protocol.StoredPost{storetest.Post(6, 1, 1, 5*time.Hour), storetest.Post(7, 2, 1, 5*time.Hour), storetest.Post(8, 3, 1, 5*time.Hour)}
	storetest.MustAdd(t, s, after...)
	if got := storetest.PostSeqs(after); !slices.Equal(got, []uint64{4, 6, 8}) {
		t.Errorf("seqs after reopening: %v, want [4 6 8]", got)
	}
	if got := storetest.PostSeqs(storetest.ChannelPosts(t, s, storetest.ChannelID(1), 0, 10)); !slices.Equal(got, []uint64{3, 4}) {
		t.Errorf("channel 1 keeps seqs %v, want [3 4]", got)
	}
	if err := s.CheckIntegrity(); err != nil {
		t.Error(err)
	}
}

func TestAFileWithOnlyMeshDataGetsChannelBuckets(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, meshOptions())
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "bob")
	storetest.MustHold(t, s, storetest.Envelope(1, "a", "o", 3, time.Hour))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	removeChannelBuckets(t, path) // as schema 1 wrote it before channels
	if s, err = Open(path, meshOptions()); err != nil {
		t.Fatalf("Open of a file without channel buckets: %v", err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		checkFile(t, path)
	}()
	if st := storetest.MeshStats(t, s); st.Envelopes != 1 || st.Seen != 1 {
		t.Errorf("mesh stats: %+v", st)
	}
	if _, err := s.Account("bob"); err != nil {
		t.Errorf("the account is gone: %v", err)
	}
	if st := storetest.ChanStats(t, s); st != (protocol.ChannelStoreStats{MaxBytes: DefaultChannelMaxBytes}) {
		t.Errorf("channel stats of the old file: %+v", st)
	}
	storetest.MustAdd(t, s, storetest.Post(1, 1, 5, time.Hour))
	if st := storetest.ChanStats(t, s); st.Posts != 1 {
		t.Errorf("channel stats after a post: %+v", st)
	}
}

// removeChannelBuckets turns the closed store at path into one that
// schema 1 wrote before channels: no channel buckets, no channel totals.
func removeChannelBuckets(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{
			bucketChanPosts, bucketChanMeta, bucketChanExpiry, bucketChanRecency,
			bucketChanSeen, bucketChanSeenExpiry,
		} {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Delete(keyChanTotals)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpenTrimsKeptPostsToLowerBounds(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, chanOptions(protocol.ChannelQuota{Retain: 10, MaxChannels: 4, MaxBytes: 1000, MaxSeen: 100}))
	if err != nil {
		t.Fatal(err)
	}
	// Channel 1: posts 1 to 5, channel 2: 6 and 7, channel 3: 8; the
	// later the post, the later it expires.
	for n, ch := range []int{1, 1, 1, 1, 1, 2, 2, 3} {
		storetest.MustAdd(t, s, storetest.Post(n+1, ch, 10, time.Duration(n+1)*time.Hour))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Retain 3 leaves posts 3 to 5 of channel 1, 60 bytes in all; 50
	// bytes evicts post 3, which expires first; two channels evict
	// channel 1, whose last post came first. MaxSeen 4 is below the 8
	// ids seen, which stay.
	lower := chanOptions(protocol.ChannelQuota{Retain: 3, MaxChannels: 2, MaxBytes: 50, MaxSeen: 4})
	if s, err = Open(path, lower); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		checkFile(t, path)
	}()
	if got := storetest.KeptPosts(t, s); !slices.Equal(got, []int{6, 7, 8}) {
		t.Errorf("kept after reopening with lower bounds: %v, want [6 7 8]", got)
	}
	for n := 1; n <= 8; n++ {
		if !storetest.PostSeen(t, s, n) {
			t.Errorf("post %d left the seen-set", n)
		}
	}
	if errs, _ := storetest.AddPosts(t, s, storetest.Post(9, 1, 1, time.Hour)); !errors.Is(errs[0], protocol.ErrChannelFull) {
		t.Errorf("a post with the seen-set over MaxSeen: %v, want ErrChannelFull", errs[0])
	}
	if err := s.CheckIntegrity(); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Check of a seen-set over a lowered MaxSeen: %v, want ErrCorrupt", err)
	}
}

func TestAnAddPostsWhoseContextEndsWhileQueuedKeepsNothing(t *testing.T) {
	opts := chanOptions(storetest.ChanQuota)
	opts.BatchWindow = time.Hour // nothing commits until Close
	opts.BatchSize = 100
	s := openTest(t, opts)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() {
		_, _, err := s.AddPosts(ctx, []protocol.StoredPost{storetest.Post(1, 1, 1, time.Hour)})
		errc <- err
	}()
	waitFor(t, "the call to queue", func() bool { return s.queued.Load() == 1 })
	cancel()
	path := s.Path()
	if err := s.Close(); err != nil { // commits the batch, which skips the call
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("AddPosts = %v, want context.Canceled", err)
	}
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if st := storetest.ChanStats(t, s); st.Posts != 0 || st.Seen != 0 {
		t.Errorf("the cancelled call kept something: %+v", st)
	}
}

func TestStoreCheckFindsAChannelStoreOverItsBounds(t *testing.T) {
	s := openTest(t, chanOptions(storetest.ChanQuota))
	storetest.MustAdd(t, s, storetest.Post(1, 1, 10, time.Hour), storetest.Post(2, 1, 10, time.Hour), storetest.Post(3, 2, 10, time.Hour))
	for _, tc := range []struct {
		name  string
		quota protocol.ChannelQuota
	}{
		{"a channel over Retain", protocol.ChannelQuota{Retain: 1, MaxChannels: 2, MaxBytes: 30, MaxSeen: 3}},
		{"more channels than MaxChannels", protocol.ChannelQuota{Retain: 2, MaxChannels: 1, MaxBytes: 30, MaxSeen: 3}},
		{"more bytes than MaxBytes", protocol.ChannelQuota{Retain: 2, MaxChannels: 2, MaxBytes: 29, MaxSeen: 3}},
		{"more seen ids than MaxSeen", protocol.ChannelQuota{Retain: 2, MaxChannels: 2, MaxBytes: 30, MaxSeen: 2}},
	} {
		o := s.opts
		o.Channels = tc.quota
		if err := checkDB(s.db, &o); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: Check = %v, want ErrCorrupt", tc.name, err)
		}
	}
	exact := s.opts
	exact.Channels = protocol.ChannelQuota{Retain: 2, MaxChannels: 2, MaxBytes: 30, MaxSeen: 3}
	if err := checkDB(s.db, &exact); err != nil {
		t.Errorf("Check of a store exactly at its bounds: %v", err)
	}
}

func TestOpenOfAChannelRecordWithoutPostsFailsWithErrCorrupt(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, chanOptions(storetest.ChanQuota))
	if err != nil {
		t.Fatal(err)
	}
	storetest.MustAdd(t, s, storetest.Post(1, 1, 1, time.Hour), storetest.Post(2, 1, 1, time.Hour))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		id := storetest.ChannelID(1)
		return tx.Bucket(bucketChanPosts).DeleteBucket(id[:])
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	// Retain 1 makes Open trim the channel, whose posts are gone.
	quota := storetest.ChanQuota
	quota.Retain = 1
	if s, err := Open(path, chanOptions(quota)); !errors.Is(err, ErrCorrupt) {
		if err == nil {
			s.Close()
		}
		t.Errorf("Open = %v, want ErrCorrupt", err)
	}
}
