package storetest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

// ChanQuota is the tests' channel bounds: the default Retain, small
// others.
var ChanQuota = protocol.ChannelQuota{Retain: 100, MaxChannels: 3, MaxBytes: 1000, MaxSeen: 200}

// ChanConfig is testConfig with quota.
func ChanConfig(quota protocol.ChannelQuota) Config {
	o := testConfig()
	o.Channels = quota
	return o
}

// ChannelID is the n-th test channel id (never zero).
func ChannelID(n int) protocol.ChannelID {
	return protocol.ChannelID{0: 0xcc, 31: byte(n)}
}

// PostID is the n-th test post id (never zero).
func PostID(n int) protocol.PostID {
	return protocol.PostID{0: 0xaa, 30: byte(n >> 8), 31: byte(n)}
}

// PostNumber is the n of PostID(n).
func PostNumber(id protocol.PostID) int { return int(id[30])<<8 | int(id[31]) }

// Post is post n of channel ch with size bytes of data, expiring ttl after
// t0.
func Post(n, ch, size int, ttl time.Duration) protocol.StoredPost {
	return protocol.StoredPost{
		ID:      PostID(n),
		Channel: ChannelID(ch),
		Expires: t0.Add(ttl),
		Data:    bytes.Repeat([]byte{byte(n)}, size),
	}
}

// AddPosts adds posts and returns the refusals and the evicted count; a
// failure of the store is fatal.
func AddPosts(t *testing.T, s Store, posts ...protocol.StoredPost) ([]error, int) {
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

// MustAdd adds posts, which must all be kept, and returns the evicted
// count.
func MustAdd(t *testing.T, s Store, posts ...protocol.StoredPost) int {
	t.Helper()
	errs, evicted := AddPosts(t, s, posts...)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("AddPosts of post %d: %v", PostNumber(posts[i].ID), err)
		}
	}
	return evicted
}

// KeptPosts returns the numbers of the kept posts of every channel,
// sorted.
func KeptPosts(t *testing.T, s Store) []int {
	t.Helper()
	ids, err := s.ChannelIDs()
	if err != nil {
		t.Fatalf("ChannelIDs: %v", err)
	}
	var kept []int
	for _, ch := range ids {
		for _, p := range ChannelPosts(t, s, ch, 0, 1<<20) {
			kept = append(kept, PostNumber(p.ID))
		}
	}
	slices.Sort(kept)
	return kept
}

// ChannelPosts returns Posts(ch, after, limit).
func ChannelPosts(t *testing.T, s Store, ch protocol.ChannelID, after uint64, limit int) []protocol.StoredPost {
	t.Helper()
	posts, err := s.Posts(ch, after, limit)
	if err != nil {
		t.Fatalf("Posts: %v", err)
	}
	return posts
}

// PostSeqs returns the seqs of posts.
func PostSeqs(posts []protocol.StoredPost) []uint64 {
	var seqs []uint64
	for _, p := range posts {
		seqs = append(seqs, p.Seq)
	}
	return seqs
}

// PostSeen reports whether post n is in the seen-set.
func PostSeen(t *testing.T, s Store, n int) bool {
	t.Helper()
	ok, err := s.PostSeen(PostID(n))
	if err != nil {
		t.Fatalf("PostSeen: %v", err)
	}
	return ok
}

// ChanStats returns ChannelStats and checks the store with its bounds.
func ChanStats(t *testing.T, s Store) protocol.ChannelStoreStats {
	t.Helper()
	st, err := s.ChannelStats()
	if err != nil {
		t.Fatalf("ChannelStats: %v", err)
	}
	if err := check(s); err != nil {
		t.Fatalf("Check: %v", err)
	}
	return st
}

// Numbers returns first, first+1, ..., last.
func Numbers(first, last int) []int {
	var ns []int
	for n := first; n <= last; n++ {
		ns = append(ns, n)
	}
	return ns
}

// EqualPost compares posts, times by instant.
func EqualPost(a, b protocol.StoredPost) bool {
	return a.ID == b.ID && a.Channel == b.Channel && a.Seq == b.Seq && a.Expires.Equal(b.Expires) && bytes.Equal(a.Data, b.Data)
}

func testKeptPostsComeBackInOrderWithEveryField(t *testing.T, open Opener) {
	s := open(t, ChanConfig(ChanQuota))
	// The last post expired before it came; the store keeps it anyway
	// (the engine judges expiry) until ExpireChannels.
	posts := []protocol.StoredPost{Post(1, 1, 10, time.Hour), Post(2, 2, 20, time.Hour), Post(3, 1, 0, 2*time.Hour), Post(4, 1, 5, -time.Hour)}
	if evicted := MustAdd(t, s, posts...); evicted != 0 {
		t.Errorf("evicted %d posts below every bound", evicted)
	}
	// Channel 2 is new after one post in all, so it starts above 1.
	if got := PostSeqs(posts); !slices.Equal(got, []uint64{1, 2, 2, 3}) {
		t.Errorf("AddPosts set seqs %v, want [1 2 2 3]", got)
	}
	got := ChannelPosts(t, s, ChannelID(1), 0, 10)
	want := []protocol.StoredPost{posts[0], posts[2], posts[3]}
	if len(got) != len(want) {
		t.Fatalf("Posts returned %d posts, want %d", len(got), len(want))
	}
	for i := range want {
		if !EqualPost(got[i], want[i]) {
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
		if got := PostSeqs(ChannelPosts(t, s, ChannelID(tc.ch), tc.after, tc.limit)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: seqs %v, want %v", tc.name, got, tc.want)
		}
	}
	ids, err := s.ChannelIDs()
	if err != nil || !slices.Equal(ids, []protocol.ChannelID{ChannelID(1), ChannelID(2)}) {
		t.Errorf("ChannelIDs = %x, %v", ids, err)
	}
	if !PostSeen(t, s, 1) || !PostSeen(t, s, 4) || PostSeen(t, s, 5) {
		t.Error("PostSeen: want posts 1 and 4 seen, 5 not")
	}
	st := ChanStats(t, s)
	if st != (protocol.ChannelStoreStats{Channels: 2, Posts: 4, Bytes: 35, MaxBytes: 1000, Seen: 4}) {
		t.Errorf("ChannelStats = %+v", st)
	}
	// The store copied the data.
	copy(posts[0].Data, "CHANGED!!!")
	if got := ChannelPosts(t, s, ChannelID(1), 0, 1); !bytes.Equal(got[0].Data, bytes.Repeat([]byte{1}, 10)) {
		t.Errorf("stored data follows the caller's: %q", got[0].Data)
	}
}

func testAddPostsKeepsEachBoundExactly(t *testing.T, open Opener) {
	// ChanQuota: Retain 100, MaxChannels 3, MaxBytes 1000, MaxSeen 200.
	threeKinds := []protocol.StoredPost{Post(1, 1, 400, 2*time.Hour), Post(2, 2, 400, time.Hour), Post(3, 1, 200, 3*time.Hour)}
	var hundred []protocol.StoredPost
	for n := 1; n <= 100; n++ {
		hundred = append(hundred, Post(n, 1, 1, time.Hour))
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
			quota:       ChanQuota,
			fill:        hundred,
			next:        Post(101, 1, 1, time.Hour),
			wantEvicted: 1,
			wantKept:    Numbers(2, 101),
		},
		{
			name:        "the store keeps MaxBytes and one byte more evicts the post of another channel that expires first",
			quota:       ChanQuota,
			fill:        threeKinds,
			next:        Post(4, 3, 1, time.Minute), // expires first itself
			wantEvicted: 1,
			wantKept:    []int{1, 3, 4},
		},
		{
			name:        "a post of MaxBytes evicts every other post",
			quota:       ChanQuota,
			fill:        threeKinds,
			next:        Post(4, 1, 1000, 4*time.Hour),
			wantEvicted: 3,
			wantKept:    []int{4},
		},
		{
			name:     "a post larger than MaxBytes is refused and evicts nothing",
			quota:    ChanQuota,
			fill:     threeKinds,
			next:     Post(4, 3, 1001, time.Hour),
			wantErr:  protocol.ErrChannelFull,
			wantKept: []int{1, 2, 3},
		},
		{
			name:  "MaxChannels channels keep posts and a new one evicts the channel whose last post came first",
			quota: ChanQuota,
			fill: []protocol.StoredPost{
				Post(1, 1, 1, time.Hour), Post(2, 2, 1, time.Hour), Post(3, 2, 1, time.Hour),
				Post(4, 3, 1, time.Hour), Post(5, 1, 1, time.Hour),
			},
			next:        Post(6, 4, 1, time.Hour),
			wantEvicted: 2,
			wantKept:    []int{1, 4, 5, 6},
		},
		{
			name:     "a seen-set of MaxSeen ids refuses the next post and evicts nothing",
			quota:    protocol.ChannelQuota{Retain: 100, MaxChannels: 3, MaxBytes: 1000, MaxSeen: 5},
			fill:     []protocol.StoredPost{Post(1, 1, 1, time.Hour), Post(2, 1, 1, time.Hour), Post(3, 2, 1, time.Hour), Post(4, 2, 1, time.Hour), Post(5, 3, 1, time.Hour)},
			next:     Post(6, 1, 1, time.Hour),
			wantErr:  protocol.ErrChannelFull,
			wantKept: Numbers(1, 5),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, ChanConfig(tc.quota))
			// One call per post, so that each is trimmed on its own.
			for _, p := range tc.fill {
				if evicted := MustAdd(t, s, p); evicted != 0 {
					t.Fatalf("post %d of the fill evicted %d", PostNumber(p.ID), evicted)
				}
			}
			before := ChanStats(t, s)
			errs, evicted := AddPosts(t, s, tc.next)
			switch {
			case tc.wantErr == nil && errs[0] != nil:
				t.Fatalf("the post past the bound: %v, want it kept", errs[0])
			case tc.wantErr != nil && !errors.Is(errs[0], tc.wantErr):
				t.Fatalf("the post past the bound: %v, want %v", errs[0], tc.wantErr)
			}
			if evicted != tc.wantEvicted {
				t.Errorf("evicted %d posts, want %d", evicted, tc.wantEvicted)
			}
			if got := KeptPosts(t, s); !slices.Equal(got, tc.wantKept) {
				t.Errorf("kept posts %v, want %v", got, tc.wantKept)
			}
			if PostSeen(t, s, PostNumber(tc.next.ID)) != (tc.wantErr == nil) {
				t.Errorf("the next post is seen: %t, want %t", !(tc.wantErr == nil), tc.wantErr == nil)
			}
			for _, p := range tc.fill {
				if !PostSeen(t, s, PostNumber(p.ID)) {
					t.Errorf("post %d left the seen-set", PostNumber(p.ID))
				}
			}
			after := ChanStats(t, s)
			if tc.wantErr != nil && after != before {
				t.Errorf("a refusal changed the stats: %+v, then %+v", before, after)
			}
			if after.Posts != len(tc.wantKept) {
				t.Errorf("stats count %d posts, %d are kept", after.Posts, len(tc.wantKept))
			}
		})
	}
}

func testAddPostsRefusesSeenIDs(t *testing.T, open Opener) {
	quota := ChanQuota
	quota.Retain = 2
	s := open(t, ChanConfig(quota))
	for _, step := range []struct {
		name        string
		posts       []protocol.StoredPost
		wantSeen    []bool // per post: refused as seen, else kept
		wantEvicted int
	}{
		{"the same id twice in one call is kept once",
			[]protocol.StoredPost{Post(1, 1, 1, time.Hour), Post(2, 1, 1, time.Hour), Post(1, 2, 1, time.Hour)},
			[]bool{false, false, true}, 0},
		{"an id of an earlier call is refused",
			[]protocol.StoredPost{Post(2, 1, 1, time.Hour), Post(3, 1, 1, time.Hour)},
			[]bool{true, false}, 1},
		{"the id of an evicted post is still refused",
			[]protocol.StoredPost{Post(1, 1, 1, time.Hour)},
			[]bool{true}, 0},
	} {
		errs, evicted := AddPosts(t, s, step.posts...)
		for i, want := range step.wantSeen {
			if got := errors.Is(errs[i], protocol.ErrPostSeen); got != want || (!want && errs[i] != nil) {
				t.Errorf("%s: post %d: %v, want seen %t", step.name, i, errs[i], want)
			}
		}
		if evicted != step.wantEvicted {
			t.Errorf("%s: evicted %d, want %d", step.name, evicted, step.wantEvicted)
		}
	}
	if got := KeptPosts(t, s); !slices.Equal(got, []int{2, 3}) {
		t.Errorf("kept posts %v, want [2 3]", got)
	}
	if ids, _ := s.ChannelIDs(); len(ids) != 1 {
		t.Errorf("the refused copy in channel 2 made a channel: %x", ids)
	}
	if _, err := s.ExpireChannels(t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if evicted := MustAdd(t, s, Post(1, 1, 1, 2*time.Hour)); evicted != 0 {
		t.Errorf("a post whose id expired evicted %d", evicted)
	}
}

func testExpireChannelsRemovesWhatExpiredAndNothingElse(t *testing.T, open Opener) {
	quota := ChanQuota
	quota.Retain, quota.MaxChannels = 3, 4
	s := open(t, ChanConfig(quota))
	// Posts 1 to 9: channel n%3+1 expires after n%3+1 hours, so channel
	// 1 holds only posts of the first hour.
	var posts []protocol.StoredPost
	for n := 1; n <= 9; n++ {
		posts = append(posts, Post(n, n%3+1, 10, time.Duration(n%3+1)*time.Hour))
	}
	// Channel 4: post 10 expires first and is evicted by the next three
	// (Retain 3); its id stays seen until it expires. post 14 came
	// expired.
	posts = append(posts, Post(10, 4, 1, time.Hour), Post(11, 4, 1, 3*time.Hour), Post(12, 4, 1, 3*time.Hour),
		Post(13, 4, 1, 3*time.Hour), Post(14, 4, 1, 0))
	for _, p := range posts {
		MustAdd(t, s, p)
	}
	if n, err := s.ExpireChannels(t0.Add(-time.Nanosecond)); err != nil || n != 0 {
		t.Fatalf("ExpireChannels before anything expired: %d, %v", n, err)
	}
	// post 14 evicted post 11, keeping 12, 13 and itself.
	if n, err := s.ExpireChannels(t0); err != nil || n != 1 {
		t.Fatalf("ExpireChannels of the post that came expired: %d, %v", n, err)
	}
	if PostSeen(t, s, 14) {
		t.Error("the expired post's id is still seen")
	}
	if n, err := s.ExpireChannels(t0.Add(time.Hour - time.Nanosecond)); err != nil || n != 0 {
		t.Fatalf("ExpireChannels a nanosecond before the first hour: %d, %v", n, err)
	}
	n, err := s.ExpireChannels(t0.Add(time.Hour))
	if err != nil || n != 3 {
		t.Fatalf("ExpireChannels after the first hour: %d, %v; want posts 3, 6 and 9", n, err)
	}
	if got := KeptPosts(t, s); !slices.Equal(got, []int{1, 2, 4, 5, 7, 8, 12, 13}) {
		t.Errorf("kept after the first hour: %v", got)
	}
	for n, want := range map[int]bool{3: false, 6: false, 9: false, 10: false, 11: true, 1: true, 2: true, 12: true} {
		if PostSeen(t, s, n) != want {
			t.Errorf("post %d seen after the first hour: %t, want %t", n, !want, want)
		}
	}
	ids, err := s.ChannelIDs()
	if err != nil || slices.Contains(ids, ChannelID(1)) || len(ids) != 3 {
		t.Errorf("ChannelIDs after channel 1 expired: %x, %v", ids, err)
	}
	if st := ChanStats(t, s); st != (protocol.ChannelStoreStats{Channels: 3, Posts: 8, Bytes: 62, MaxBytes: 1000, Seen: 9}) {
		t.Errorf("stats after the first hour: %+v", st)
	}
	if n, err := s.ExpireChannels(t0.Add(3 * time.Hour)); err != nil || n != 8 {
		t.Fatalf("ExpireChannels after the third hour: %d, %v", n, err)
	}
	if st := ChanStats(t, s); st != (protocol.ChannelStoreStats{MaxBytes: 1000}) {
		t.Errorf("stats once everything expired: %+v", st)
	}
}

func testChannelMethodsOfNothingAfterCancelAndAfterClose(t *testing.T, open Opener) {
	s := open(t, ChanConfig(ChanQuota))
	if errs, evicted, err := s.AddPosts(context.Background(), nil); err != nil || errs == nil || len(errs) != 0 || evicted != 0 {
		t.Errorf("AddPosts(nil) = %v, %d, %v", errs, evicted, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s.AddPosts(ctx, []protocol.StoredPost{Post(1, 1, 1, time.Hour)}); !errors.Is(err, context.Canceled) {
		t.Errorf("AddPosts with a cancelled ctx = %v, want context.Canceled", err)
	}
	if PostSeen(t, s, 1) {
		t.Error("the cancelled call's post is seen")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, _, errAdd := s.AddPosts(context.Background(), []protocol.StoredPost{Post(1, 1, 1, time.Hour)})
	_, _, errAddNone := s.AddPosts(context.Background(), nil)
	_, errPosts := s.Posts(ChannelID(1), 0, 1)
	_, errIDs := s.ChannelIDs()
	_, errSeen := s.PostSeen(PostID(1))
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

// testPostSeqsIncreaseAndAreNeverReused numbers posts across channels:
// a post gets a seq above every seq given before, also in a channel that
// its eviction or expiry emptied.
func testPostSeqsIncreaseAndAreNeverReused(t *testing.T, open Opener) {
	quota := ChanQuota
	quota.Retain = 2
	s := open(t, ChanConfig(quota))
	posts := []protocol.StoredPost{
		Post(1, 1, 1, 5*time.Hour), Post(2, 1, 1, 5*time.Hour),
		Post(3, 2, 1, time.Hour),   // a new channel after 2 posts: seq 3
		Post(4, 1, 1, 5*time.Hour), // evicts post 1 (Retain 2)
	}
	MustAdd(t, s, posts...)
	if got := PostSeqs(posts); !slices.Equal(got, []uint64{1, 2, 3, 3}) {
		t.Errorf("seqs %v, want [1 2 3 3]", got)
	}
	if n, err := s.ExpireChannels(t0.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("ExpireChannels: %d, %v", n, err)
	}
	again := []protocol.StoredPost{Post(5, 2, 1, 5*time.Hour)}
	MustAdd(t, s, again...)
	if again[0].Seq != 5 {
		t.Errorf("seq of an emptied channel's next post: %d, want 5", again[0].Seq)
	}
	if got := PostSeqs(ChannelPosts(t, s, ChannelID(1), 0, 10)); !slices.Equal(got, []uint64{2, 3}) {
		t.Errorf("channel 1 keeps seqs %v, want [2 3]", got)
	}
	if err := check(s); err != nil {
		t.Error(err)
	}
}
