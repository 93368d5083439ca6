package store

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/protocol"
)

// chanQuota is the tests' channel bounds: the default Retain, small
// others.
var chanQuota = protocol.ChannelQuota{Retain: DefaultChannelRetain, MaxChannels: 3, MaxBytes: 1000, MaxSeen: 200}

// chanOptions are testOptions with quota.
func chanOptions(quota protocol.ChannelQuota) Options {
	o := testOptions()
	o.Channels = quota
	return o
}

// channelID is the n-th test channel id (never zero).
func channelID(n int) protocol.ChannelID {
	return protocol.ChannelID{0: 0xcc, 31: byte(n)}
}

// postID is the n-th test post id (never zero).
func postID(n int) protocol.PostID {
	return protocol.PostID{0: 0xaa, 30: byte(n >> 8), 31: byte(n)}
}

// postNumber is the n of postID(n).
func postNumber(id protocol.PostID) int { return int(id[30])<<8 | int(id[31]) }

// post is post n of channel ch with size bytes of data, expiring ttl after
// t0.
func post(n, ch, size int, ttl time.Duration) protocol.StoredPost {
	return protocol.StoredPost{
		ID:      postID(n),
		Channel: channelID(ch),
		Expires: t0.Add(ttl),
		Data:    bytes.Repeat([]byte{byte(n)}, size),
	}
}

// addPosts adds posts and returns the refusals and the evicted count; a
// failure of the store is fatal.
func addPosts(t *testing.T, s *Store, posts ...protocol.StoredPost) ([]error, int) {
	t.Helper()
	errs, evicted, err := s.AddPosts(context.Background(), posts)
	if err != nil {
		t.Fatalf("AddPosts: %v", err)
	}
	if len(errs) != len(posts) {
		t.Fatalf("AddPosts returned %d errors for %d posts", len(errs), len(posts))
	}
	return errs, evicted
}

// mustAdd adds posts, which must all be kept, and returns the evicted
// count.
func mustAdd(t *testing.T, s *Store, posts ...protocol.StoredPost) int {
	t.Helper()
	errs, evicted := addPosts(t, s, posts...)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("AddPosts of post %d: %v", postNumber(posts[i].ID), err)
		}
	}
	return evicted
}

// keptPosts returns the numbers of the kept posts of every channel,
// sorted.
func keptPosts(t *testing.T, s *Store) []int {
	t.Helper()
	ids, err := s.ChannelIDs()
	if err != nil {
		t.Fatalf("ChannelIDs: %v", err)
	}
	var kept []int
	for _, ch := range ids {
		for _, p := range channelPosts(t, s, ch, 0, 1<<20) {
			kept = append(kept, postNumber(p.ID))
		}
	}
	slices.Sort(kept)
	return kept
}

// channelPosts returns Posts(ch, after, limit).
func channelPosts(t *testing.T, s *Store, ch protocol.ChannelID, after uint64, limit int) []protocol.StoredPost {
	t.Helper()
	posts, err := s.Posts(ch, after, limit)
	if err != nil {
		t.Fatalf("Posts: %v", err)
	}
	return posts
}

// postSeqs returns the seqs of posts.
func postSeqs(posts []protocol.StoredPost) []uint64 {
	var seqs []uint64
	for _, p := range posts {
		seqs = append(seqs, p.Seq)
	}
	return seqs
}

// postSeen reports whether post n is in the seen-set.
func postSeen(t *testing.T, s *Store, n int) bool {
	t.Helper()
	ok, err := s.PostSeen(postID(n))
	if err != nil {
		t.Fatalf("PostSeen: %v", err)
	}
	return ok
}

// chanStats returns ChannelStats and checks the store with its bounds.
func chanStats(t *testing.T, s *Store) protocol.ChannelStoreStats {
	t.Helper()
	st, err := s.ChannelStats()
	if err != nil {
		t.Fatalf("ChannelStats: %v", err)
	}
	if err := s.Check(); err != nil {
		t.Fatalf("Check: %v", err)
	}
	return st
}

// numbers returns first, first+1, ..., last.
func numbers(first, last int) []int {
	var ns []int
	for n := first; n <= last; n++ {
		ns = append(ns, n)
	}
	return ns
}

// equalPost compares posts, times by instant.
func equalPost(a, b protocol.StoredPost) bool {
	return a.ID == b.ID && a.Channel == b.Channel && a.Seq == b.Seq && a.Expires.Equal(b.Expires) && bytes.Equal(a.Data, b.Data)
}

func TestKeptPostsComeBackInOrderWithEveryField(t *testing.T) {
	s := openTest(t, chanOptions(chanQuota))
	// The last post expired before it came; the store keeps it anyway
	// (the engine judges expiry) until ExpireChannels.
	posts := []protocol.StoredPost{post(1, 1, 10, time.Hour), post(2, 2, 20, time.Hour), post(3, 1, 0, 2*time.Hour), post(4, 1, 5, -time.Hour)}
	if evicted := mustAdd(t, s, posts...); evicted != 0 {
		t.Errorf("evicted %d posts below every bound", evicted)
	}
	// Channel 2 is new after one post in all, so it starts above 1.
	if got := postSeqs(posts); !slices.Equal(got, []uint64{1, 2, 2, 3}) {
		t.Errorf("AddPosts set seqs %v, want [1 2 2 3]", got)
	}
	got := channelPosts(t, s, channelID(1), 0, 10)
	want := []protocol.StoredPost{posts[0], posts[2], posts[3]}
	if len(got) != len(want) {
		t.Fatalf("Posts returned %d posts, want %d", len(got), len(want))
	}
	for i := range want {
		if !equalPost(got[i], want[i]) {
			t.Errorf("Posts[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, tc := range []struct {
		name  string
		ch    int
		after uint64
		limit int
		want  []uint64
	}{
		{"a limit of one after seq 1 gives seq 2", 1, 1, 1, []uint64{2}},
		{"after the last seq there is nothing", 1, 3, 10, nil},
		{"after the largest seq there is nothing", 1, ^uint64(0), 10, nil},
		{"a limit of 0 gives nothing", 1, 0, 0, nil},
		{"a channel without posts has none", 9, 0, 10, nil},
	} {
		if got := postSeqs(channelPosts(t, s, channelID(tc.ch), tc.after, tc.limit)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: seqs %v, want %v", tc.name, got, tc.want)
		}
	}
	ids, err := s.ChannelIDs()
	if err != nil || !slices.Equal(ids, []protocol.ChannelID{channelID(1), channelID(2)}) {
		t.Errorf("ChannelIDs = %x, %v", ids, err)
	}
	if !postSeen(t, s, 1) || !postSeen(t, s, 4) || postSeen(t, s, 5) {
		t.Error("PostSeen: want posts 1 and 4 seen, 5 not")
	}
	st := chanStats(t, s)
	if st != (protocol.ChannelStoreStats{Channels: 2, Posts: 4, Bytes: 35, MaxBytes: 1000, Seen: 4}) {
		t.Errorf("ChannelStats = %+v", st)
	}
	// The store copied the data.
	copy(posts[0].Data, "CHANGED!!!")
	if got := channelPosts(t, s, channelID(1), 0, 1); !bytes.Equal(got[0].Data, bytes.Repeat([]byte{1}, 10)) {
		t.Errorf("stored data follows the caller's: %q", got[0].Data)
	}
}

func TestAddPostsKeepsEachBoundExactly(t *testing.T) {
	// chanQuota: Retain 100, MaxChannels 3, MaxBytes 1000, MaxSeen 200.
	threeKinds := []protocol.StoredPost{post(1, 1, 400, 2*time.Hour), post(2, 2, 400, time.Hour), post(3, 1, 200, 3*time.Hour)}
	var hundred []protocol.StoredPost
	for n := 1; n <= 100; n++ {
		hundred = append(hundred, post(n, 1, 1, time.Hour))
	}
	for _, tc := range []struct {
		name        string
		quota       protocol.ChannelQuota
		fill        []protocol.StoredPost // exactly at the bound, evicts nothing
		next        protocol.StoredPost   // past it
		wantErr     error
		wantEvicted int
		wantKept    []int
	}{
		{
			name:        "a channel keeps Retain posts and its 101st evicts its oldest",
			quota:       chanQuota,
			fill:        hundred,
			next:        post(101, 1, 1, time.Hour),
			wantEvicted: 1,
			wantKept:    numbers(2, 101),
		},
		{
			name:        "the store keeps MaxBytes and one byte more evicts the post of another channel that expires first",
			quota:       chanQuota,
			fill:        threeKinds,
			next:        post(4, 3, 1, time.Minute), // expires first itself
			wantEvicted: 1,
			wantKept:    []int{1, 3, 4},
		},
		{
			name:        "a post of MaxBytes evicts every other post",
			quota:       chanQuota,
			fill:        threeKinds,
			next:        post(4, 1, 1000, 4*time.Hour),
			wantEvicted: 3,
			wantKept:    []int{4},
		},
		{
			name:     "a post larger than MaxBytes is refused and evicts nothing",
			quota:    chanQuota,
			fill:     threeKinds,
			next:     post(4, 3, 1001, time.Hour),
			wantErr:  protocol.ErrChannelFull,
			wantKept: []int{1, 2, 3},
		},
		{
			name:  "MaxChannels channels keep posts and a new one evicts the channel whose last post came first",
			quota: chanQuota,
			fill: []protocol.StoredPost{
				post(1, 1, 1, time.Hour), post(2, 2, 1, time.Hour), post(3, 2, 1, time.Hour),
				post(4, 3, 1, time.Hour), post(5, 1, 1, time.Hour),
			},
			next:        post(6, 4, 1, time.Hour),
			wantEvicted: 2,
			wantKept:    []int{1, 4, 5, 6},
		},
		{
			name:     "a seen-set of MaxSeen ids refuses the next post and evicts nothing",
			quota:    protocol.ChannelQuota{Retain: 100, MaxChannels: 3, MaxBytes: 1000, MaxSeen: 5},
			fill:     []protocol.StoredPost{post(1, 1, 1, time.Hour), post(2, 1, 1, time.Hour), post(3, 2, 1, time.Hour), post(4, 2, 1, time.Hour), post(5, 3, 1, time.Hour)},
			next:     post(6, 1, 1, time.Hour),
			wantErr:  protocol.ErrChannelFull,
			wantKept: numbers(1, 5),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t, chanOptions(tc.quota))
			// One call per post, so that each is trimmed on its own.
			for _, p := range tc.fill {
				if evicted := mustAdd(t, s, p); evicted != 0 {
					t.Fatalf("post %d of the fill evicted %d", postNumber(p.ID), evicted)
				}
			}
			before := chanStats(t, s)
			errs, evicted := addPosts(t, s, tc.next)
			switch {
			case tc.wantErr == nil && errs[0] != nil:
				t.Fatalf("the post past the bound: %v, want it kept", errs[0])
			case tc.wantErr != nil && !errors.Is(errs[0], tc.wantErr):
				t.Fatalf("the post past the bound: %v, want %v", errs[0], tc.wantErr)
			}
			if evicted != tc.wantEvicted {
				t.Errorf("evicted %d posts, want %d", evicted, tc.wantEvicted)
			}
			if got := keptPosts(t, s); !slices.Equal(got, tc.wantKept) {
				t.Errorf("kept posts %v, want %v", got, tc.wantKept)
			}
			if postSeen(t, s, postNumber(tc.next.ID)) != (tc.wantErr == nil) {
				t.Errorf("the next post is seen: %t, want %t", !(tc.wantErr == nil), tc.wantErr == nil)
			}
			for _, p := range tc.fill {
				if !postSeen(t, s, postNumber(p.ID)) {
					t.Errorf("post %d left the seen-set", postNumber(p.ID))
				}
			}
			after := chanStats(t, s)
			if tc.wantErr != nil && after != before {
				t.Errorf("a refusal changed the stats: %+v, then %+v", before, after)
			}
			if after.Posts != len(tc.wantKept) {
				t.Errorf("stats count %d posts, %d are kept", after.Posts, len(tc.wantKept))
			}
		})
	}
}

func TestAddPostsRefusesSeenIDs(t *testing.T) {
	quota := chanQuota
	quota.Retain = 2
	s := openTest(t, chanOptions(quota))
	for _, step := range []struct {
		name        string
		posts       []protocol.StoredPost
		wantSeen    []bool // per post: refused as seen, else kept
		wantEvicted int
	}{
		{"the same id twice in one call is kept once",
			[]protocol.StoredPost{post(1, 1, 1, time.Hour), post(2, 1, 1, time.Hour), post(1, 2, 1, time.Hour)},
			[]bool{false, false, true}, 0},
		{"an id of an earlier call is refused",
			[]protocol.StoredPost{post(2, 1, 1, time.Hour), post(3, 1, 1, time.Hour)},
			[]bool{true, false}, 1},
		{"the id of an evicted post is still refused",
			[]protocol.StoredPost{post(1, 1, 1, time.Hour)},
			[]bool{true}, 0},
	} {
		errs, evicted := addPosts(t, s, step.posts...)
		for i, want := range step.wantSeen {
			if got := errors.Is(errs[i], protocol.ErrPostSeen); got != want || (!want && errs[i] != nil) {
				t.Errorf("%s: post %d: %v, want seen %t", step.name, i, errs[i], want)
			}
		}
		if evicted != step.wantEvicted {
			t.Errorf("%s: evicted %d, want %d", step.name, evicted, step.wantEvicted)
		}
	}
	if got := keptPosts(t, s); !slices.Equal(got, []int{2, 3}) {
		t.Errorf("kept posts %v, want [2 3]", got)
	}
	if ids, _ := s.ChannelIDs(); len(ids) != 1 {
		t.Errorf("the refused copy in channel 2 made a channel: %x", ids)
	}
	if _, err := s.ExpireChannels(t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if evicted := mustAdd(t, s, post(1, 1, 1, 2*time.Hour)); evicted != 0 {
		t.Errorf("a post whose id expired evicted %d", evicted)
	}
}

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
			opts := chanOptions(chanQuota)
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
						posts[i] = post(i+1, i%3+1, 10, time.Hour)
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
			if got := keptPosts(t, s); !slices.Equal(got, numbers(1, perCall)) {
				t.Errorf("kept posts %v", got)
			}
			if st := chanStats(t, s); st.Posts != perCall || st.Seen != perCall {
				t.Errorf("stats %+v, want %d posts and seen ids", st, perCall)
			}
		})
	}
}

func TestPostSeqsIncreaseAndSurviveReopen(t *testing.T) {
	quota := chanQuota
	quota.Retain = 2
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, chanOptions(quota))
	if err != nil {
		t.Fatal(err)
	}
	posts := []protocol.StoredPost{
		post(1, 1, 1, 5*time.Hour), post(2, 1, 1, 5*time.Hour),
		post(3, 2, 1, time.Hour),   // a new channel after 2 posts: seq 3
		post(4, 1, 1, 5*time.Hour), // evicts post 1 (Retain 2)
	}
	mustAdd(t, s, posts...)
	if got := postSeqs(posts); !slices.Equal(got, []uint64{1, 2, 3, 3}) {
		t.Errorf("seqs %v, want [1 2 3 3]", got)
	}
	// Channel 2 empties and loses its record; its next post still comes
	// after seq 3, above every seq given so far.
	if n, err := s.ExpireChannels(t0.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("ExpireChannels: %d, %v", n, err)
	}
	again := []protocol.StoredPost{post(5, 2, 1, 5*time.Hour)}
	mustAdd(t, s, again...)
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
	after := []protocol.StoredPost{post(6, 1, 1, 5*time.Hour), post(7, 2, 1, 5*time.Hour), post(8, 3, 1, 5*time.Hour)}
	mustAdd(t, s, after...)
	if got := postSeqs(after); !slices.Equal(got, []uint64{4, 6, 8}) {
		t.Errorf("seqs after reopening: %v, want [4 6 8]", got)
	}
	if got := postSeqs(channelPosts(t, s, channelID(1), 0, 10)); !slices.Equal(got, []uint64{3, 4}) {
		t.Errorf("channel 1 keeps seqs %v, want [3 4]", got)
	}
	if err := s.Check(); err != nil {
		t.Error(err)
	}
}

func TestExpireChannelsRemovesWhatExpiredAndNothingElse(t *testing.T) {
	quota := chanQuota
	quota.Retain, quota.MaxChannels = 3, 4
	s := openTest(t, chanOptions(quota))
	s.expireChunk = 2 // several transactions
	// Posts 1 to 9: channel n%3+1 expires after n%3+1 hours, so channel
	// 1 holds only posts of the first hour.
	var posts []protocol.StoredPost
	for n := 1; n <= 9; n++ {
		posts = append(posts, post(n, n%3+1, 10, time.Duration(n%3+1)*time.Hour))
	}
	// Channel 4: post 10 expires first and is evicted by the next three
	// (Retain 3); its id stays seen until it expires. Post 14 came
	// expired.
	posts = append(posts, post(10, 4, 1, time.Hour), post(11, 4, 1, 3*time.Hour), post(12, 4, 1, 3*time.Hour),
		post(13, 4, 1, 3*time.Hour), post(14, 4, 1, 0))
	for _, p := range posts {
		mustAdd(t, s, p)
	}
	if n, err := s.ExpireChannels(t0.Add(-time.Nanosecond)); err != nil || n != 0 {
		t.Fatalf("ExpireChannels before anything expired: %d, %v", n, err)
	}
	// Post 14 evicted post 11, keeping 12, 13 and itself.
	if n, err := s.ExpireChannels(t0); err != nil || n != 1 {
		t.Fatalf("ExpireChannels of the post that came expired: %d, %v", n, err)
	}
	if postSeen(t, s, 14) {
		t.Error("the expired post's id is still seen")
	}
	if n, err := s.ExpireChannels(t0.Add(time.Hour - time.Nanosecond)); err != nil || n != 0 {
		t.Fatalf("ExpireChannels a nanosecond before the first hour: %d, %v", n, err)
	}
	n, err := s.ExpireChannels(t0.Add(time.Hour))
	if err != nil || n != 3 {
		t.Fatalf("ExpireChannels after the first hour: %d, %v; want posts 3, 6 and 9", n, err)
	}
	if got := keptPosts(t, s); !slices.Equal(got, []int{1, 2, 4, 5, 7, 8, 12, 13}) {
		t.Errorf("kept after the first hour: %v", got)
	}
	for n, want := range map[int]bool{3: false, 6: false, 9: false, 10: false, 11: true, 1: true, 2: true, 12: true} {
		if postSeen(t, s, n) != want {
			t.Errorf("post %d seen after the first hour: %t, want %t", n, !want, want)
		}
	}
	ids, err := s.ChannelIDs()
	if err != nil || slices.Contains(ids, channelID(1)) || len(ids) != 3 {
		t.Errorf("ChannelIDs after channel 1 expired: %x, %v", ids, err)
	}
	if st := chanStats(t, s); st != (protocol.ChannelStoreStats{Channels: 3, Posts: 8, Bytes: 62, MaxBytes: 1000, Seen: 9}) {
		t.Errorf("stats after the first hour: %+v", st)
	}
	if n, err := s.ExpireChannels(t0.Add(3 * time.Hour)); err != nil || n != 8 {
		t.Fatalf("ExpireChannels after the third hour: %d, %v", n, err)
	}
	if st := chanStats(t, s); st != (protocol.ChannelStoreStats{MaxBytes: 1000}) {
		t.Errorf("stats once everything expired: %+v", st)
	}
}

func TestAFileWithOnlyMeshDataGetsChannelBuckets(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, meshOptions())
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "bob")
	mustHold(t, s, envelope(1, "a", "o", 3, time.Hour))
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
	if st := meshStats(t, s); st.Envelopes != 1 || st.Seen != 1 {
		t.Errorf("mesh stats: %+v", st)
	}
	if _, err := s.Account("bob"); err != nil {
		t.Errorf("the account is gone: %v", err)
	}
	if st := chanStats(t, s); st != (protocol.ChannelStoreStats{MaxBytes: DefaultChannelMaxBytes}) {
		t.Errorf("channel stats of the old file: %+v", st)
	}
	mustAdd(t, s, post(1, 1, 5, time.Hour))
	if st := chanStats(t, s); st.Posts != 1 {
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
		mustAdd(t, s, post(n+1, ch, 10, time.Duration(n+1)*time.Hour))
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
	if got := keptPosts(t, s); !slices.Equal(got, []int{6, 7, 8}) {
		t.Errorf("kept after reopening with lower bounds: %v, want [6 7 8]", got)
	}
	for n := 1; n <= 8; n++ {
		if !postSeen(t, s, n) {
			t.Errorf("post %d left the seen-set", n)
		}
	}
	if errs, _ := addPosts(t, s, post(9, 1, 1, time.Hour)); !errors.Is(errs[0], protocol.ErrChannelFull) {
		t.Errorf("a post with the seen-set over MaxSeen: %v, want ErrChannelFull", errs[0])
	}
	if err := s.Check(); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Check of a seen-set over a lowered MaxSeen: %v, want ErrCorrupt", err)
	}
}

func TestChannelMethodsOfNothingAfterCancelAndAfterClose(t *testing.T) {
	s := openTest(t, chanOptions(chanQuota))
	if errs, evicted, err := s.AddPosts(context.Background(), nil); err != nil || errs == nil || len(errs) != 0 || evicted != 0 {
		t.Errorf("AddPosts(nil) = %v, %d, %v", errs, evicted, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s.AddPosts(ctx, []protocol.StoredPost{post(1, 1, 1, time.Hour)}); !errors.Is(err, context.Canceled) {
		t.Errorf("AddPosts with a cancelled ctx = %v, want context.Canceled", err)
	}
	if postSeen(t, s, 1) {
		t.Error("the cancelled call's post is seen")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, _, errAdd := s.AddPosts(context.Background(), []protocol.StoredPost{post(1, 1, 1, time.Hour)})
	_, _, errAddNone := s.AddPosts(context.Background(), nil)
	_, errPosts := s.Posts(channelID(1), 0, 1)
	_, errIDs := s.ChannelIDs()
	_, errSeen := s.PostSeen(postID(1))
	_, errExpire := s.ExpireChannels(t0)
	_, errStats := s.ChannelStats()
	for name, err := range map[string]error{
		"AddPosts":       errAdd,
		"empty AddPosts": errAddNone,
		"Posts":          errPosts,
		"ChannelIDs":     errIDs,
		"PostSeen":       errSeen,
		"ExpireChannels": errExpire,
		"ChannelStats":   errStats,
	} {
		if !errors.Is(err, protocol.ErrStoreClosed) {
			t.Errorf("%s after Close: %v, want ErrStoreClosed", name, err)
		}
	}
}

func TestAnAddPostsWhoseContextEndsWhileQueuedKeepsNothing(t *testing.T) {
	opts := chanOptions(chanQuota)
	opts.BatchWindow = time.Hour // nothing commits until Close
	opts.BatchSize = 100
	s := openTest(t, opts)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() {
		_, _, err := s.AddPosts(ctx, []protocol.StoredPost{post(1, 1, 1, time.Hour)})
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
	if st := chanStats(t, s); st.Posts != 0 || st.Seen != 0 {
		t.Errorf("the cancelled call kept something: %+v", st)
	}
}

func TestStoreCheckFindsAChannelStoreOverItsBounds(t *testing.T) {
	s := openTest(t, chanOptions(chanQuota))
	mustAdd(t, s, post(1, 1, 10, time.Hour), post(2, 1, 10, time.Hour), post(3, 2, 10, time.Hour))
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
	s, err := Open(path, chanOptions(chanQuota))
	if err != nil {
		t.Fatal(err)
	}
	mustAdd(t, s, post(1, 1, 1, time.Hour), post(2, 1, 1, time.Hour))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		id := channelID(1)
		return tx.Bucket(bucketChanPosts).DeleteBucket(id[:])
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	// Retain 1 makes Open trim the channel, whose posts are gone.
	quota := chanQuota
	quota.Retain = 1
	if s, err := Open(path, chanOptions(quota)); !errors.Is(err, ErrCorrupt) {
		if err == nil {
			s.Close()
		}
		t.Errorf("Open = %v, want ErrCorrupt", err)
	}
}
