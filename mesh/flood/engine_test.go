package flood

import (
	"context"
	"crypto/ed25519"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/quicprochat/qpc/node/memstore"
	"github.com/quicprochat/qpc/protocol"
)

// recLinks records what the engine sends to its neighbours. It stands in
// for federation links, which app's tests exercise over real QUIC; here
// the engine's choices (who gets what, with which hop count) are the
// subject.
type recLinks struct {
	mu     sync.Mutex
	posts  map[string][]*Post
	offers map[string][]protocol.PostID
	want   bool // answer inventories with every index
	fail   error
}

func newRecLinks() *recLinks {
	return &recLinks{posts: map[string][]*Post{}, offers: map[string][]protocol.PostID{}}
}

func (l *recLinks) Flood(_ context.Context, n string, posts []*Post) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail != nil {
		return l.fail
	}
	l.posts[n] = append(l.posts[n], posts...)
	return nil
}

func (l *recLinks) Inventory(_ context.Context, n string, ids []protocol.PostID) ([]int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.offers[n] = append(l.offers[n], ids...)
	var out []int
	if l.want {
		for i := range ids {
			out = append(out, i)
		}
	}
	return out, nil
}

// sent polls until neighbour n got want posts and returns them.
func (l *recLinks) sent(t *testing.T, n string, want int) []*Post {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		l.mu.Lock()
		got := append([]*Post(nil), l.posts[n]...)
		l.mu.Unlock()
		if len(got) >= want {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s got %d posts, want %d", n, len(got), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// newTestEngine returns an engine of n1.example.mesh with cfg on an
// in-memory store (node/storetest holds it to node/store's semantics),
// run with links unless they are nil.
func newTestEngine(t *testing.T, cfg Config, links Links) (*Engine, *memstore.Store) {
	t.Helper()
	st := memstore.New(memstore.Options{})
	t.Cleanup(func() { st.Close() })
	if cfg.Key == nil {
		_, cfg.Key, _ = ed25519.GenerateKey(nil)
	}
	cfg.Domain, cfg.Store = "n1.example.mesh", st
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if links != nil {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			e.Run(ctx, links)
		}()
		t.Cleanup(func() {
			cancel()
			<-done
		})
		// Posts relayed before Run has its links go to no queue; the
		// tests' LinkUp and Receive come after it.
		deadline := time.Now().Add(10 * time.Second)
		for running := false; !running; {
			e.mu.Lock()
			running = e.ctx != nil
			e.mu.Unlock()
			if time.Now().After(deadline) {
				t.Fatal("the engine did not start running")
			}
			time.Sleep(time.Millisecond)
		}
	}
	return e, st
}

var engineChannel = protocol.ChannelID{1, 2, 3}

func body(b byte) []byte {
	out := make([]byte, Quantum)
	out[0] = b
	return out
}

// fromNeighbour returns a post made by the node of key and domain, as it
// arrives straight from it.
func fromNeighbour(t *testing.T, key ed25519.PrivateKey, domain string, b []byte, created time.Time, ttl time.Duration) *Post {
	t.Helper()
	p, err := Sign(key, domain, engineChannel, b, created, ttl, 8)
	if err != nil {
		t.Fatal(err)
	}
	p.Hops = 1
	return p
}

func TestPublishCapsTTLAndHopsAtTheNodesAndKeepsThePost(t *testing.T) {
	e, st := newTestEngine(t, Config{Retention: time.Hour, MaxHops: 3}, nil)
	cases := []struct {
		ttl      time.Duration
		hops     uint8
		wantTTL  time.Duration
		wantHops uint8
	}{
		{0, 0, time.Hour, 3},
		{2 * time.Hour, 10, time.Hour, 3},
		{30*time.Minute + 300*time.Millisecond, 2, 30 * time.Minute, 2},
	}
	for i, c := range cases {
		id, err := e.Publish(context.Background(), protocol.ChannelOutgoing{Sender: "alice", Channel: engineChannel, Body: body(byte(i)), TTL: c.ttl, MaxHops: c.hops})
		if err != nil {
			t.Fatal(err)
		}
		kept, err := st.Posts(engineChannel, uint64(i), 1)
		if err != nil || len(kept) != 1 || kept[0].ID != id {
			t.Fatalf("case %d: kept %+v, %v", i, kept, err)
		}
		p, err := Unmarshal(kept[0].Data)
		if err != nil {
			t.Fatal(err)
		}
		if p.TTL != c.wantTTL || p.MaxHops != c.wantHops || p.Hops != 0 {
			t.Errorf("case %d: TTL %s hops %d/%d, want %s and %d", i, p.TTL, p.Hops, p.MaxHops, c.wantTTL, c.wantHops)
		}
	}
	if _, err := e.Publish(context.Background(), protocol.ChannelOutgoing{Sender: "alice", Channel: engineChannel, Body: []byte("short")}); !errors.Is(err, protocol.ErrBadPost) {
		t.Errorf("a body that is no multiple of %d: %v, want ErrBadPost", Quantum, err)
	}
}

func TestReceivedPostsAreRelayedToEveryOtherNeighbourOneHopFurther(t *testing.T) {
	links := newRecLinks()
	e, _ := newTestEngine(t, Config{}, links)
	for _, n := range []string{"n2.example.mesh", "n3.example.mesh", "n4.example.mesh"} {
		e.LinkUp(n)
	}
	_, k2, _ := ed25519.GenerateKey(nil)
	_, k4, _ := ed25519.GenerateKey(nil)
	p := fromNeighbour(t, k2, "n2.example.mesh", body(1), time.Now(), time.Hour)
	if err := e.Receive(context.Background(), "n2.example.mesh", p.OriginID(), []*Post{p}); err != nil {
		t.Fatal(err)
	}
	// q comes from its origin n4 too.
	q := fromNeighbour(t, k4, "n4.example.mesh", body(2), time.Now(), time.Hour)
	if err := e.Receive(context.Background(), "n4.example.mesh", q.OriginID(), []*Post{q}); err != nil {
		t.Fatal(err)
	}
	got := links.sent(t, "n3.example.mesh", 2)
	if got[0].ID() != p.ID() || got[0].Hops != 2 || got[1].ID() != q.ID() || got[1].Hops != 2 {
		t.Errorf("n3 got %+v", got)
	}
	// Neither goes back to where it came from.
	to4 := links.sent(t, "n4.example.mesh", 1)
	to2 := links.sent(t, "n2.example.mesh", 1)
	if len(to4) != 1 || to4[0].ID() != p.ID() || len(to2) != 1 || to2[0].ID() != q.ID() {
		t.Errorf("n4 got %d posts, n2 %d; want only p to n4 and only q to n2", len(to4), len(to2))
	}
}

func TestAFirstHopMustComeFromItsOrigin(t *testing.T) {
	e, _ := newTestEngine(t, Config{}, nil)
	_, k2, _ := ed25519.GenerateKey(nil)
	p := fromNeighbour(t, k2, "n2.example.mesh", body(1), time.Now(), time.Hour)
	if err := e.Receive(context.Background(), "n2.example.mesh", "", []*Post{p}); !errors.Is(err, ErrNotReady) {
		t.Errorf("before the peer's id is known: %v, want ErrNotReady", err)
	}
	if err := e.Receive(context.Background(), "n3.example.mesh", p.OriginID(), []*Post{p}); err != nil {
		t.Fatal(err)
	}
	if err := e.Receive(context.Background(), "n2.example.mesh", "another-node-id", []*Post{p}); err != nil {
		t.Fatal(err)
	}
	if c := e.Counters(); c["rejected:origin"] != 2 || c["received"] != 0 {
		t.Errorf("counters %v, want 2 rejected for their origin", c)
	}
}

func TestPostsPastTheNodesRetentionAreRejected(t *testing.T) {
	e, _ := newTestEngine(t, Config{Retention: time.Hour}, nil)
	_, k2, _ := ed25519.GenerateKey(nil)
	// Within its own TTL of a day, but older than this node keeps posts.
	p := fromNeighbour(t, k2, "n2.example.mesh", body(1), time.Now().Add(-2*time.Hour), 24*time.Hour)
	if err := e.Receive(context.Background(), "n2.example.mesh", p.OriginID(), []*Post{p}); err != nil {
		t.Fatal(err)
	}
	if c := e.Counters(); c["rejected:expired"] != 1 {
		t.Errorf("counters %v, want 1 rejected as expired", c)
	}
}

func TestAPostAtItsHopLimitIsKeptButNotRelayed(t *testing.T) {
	links := newRecLinks()
	e, st := newTestEngine(t, Config{}, links)
	e.LinkUp("n3.example.mesh")
	_, k2, _ := ed25519.GenerateKey(nil)
	p, err := Sign(k2, "n2.example.mesh", engineChannel, body(1), time.Now(), time.Hour, 1)
	if err != nil {
		t.Fatal(err)
	}
	p.Hops = 1
	if err := e.Receive(context.Background(), "n2.example.mesh", p.OriginID(), []*Post{p}); err != nil {
		t.Fatal(err)
	}
	if kept, _ := st.Posts(engineChannel, 0, 10); len(kept) != 1 {
		t.Errorf("kept %d posts, want 1", len(kept))
	}
	if c := e.Counters(); c["hop-limit"] != 1 {
		t.Errorf("counters %v, want hop-limit 1", c)
	}
}

func TestANeighbourThatComesUpIsOfferedTheKeptPosts(t *testing.T) {
	links := newRecLinks()
	links.want = true
	e, _ := newTestEngine(t, Config{}, links)
	var ids []protocol.PostID
	for i := range 3 {
		id, err := e.Publish(context.Background(), protocol.ChannelOutgoing{Sender: "alice", Channel: engineChannel, Body: body(byte(i))})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	e.LinkUp("n2.example.mesh")
	got := links.sent(t, "n2.example.mesh", 3)
	for i, p := range got {
		if p.ID() != ids[i] || p.Hops != 1 {
			t.Errorf("post %d: id %x hops %d, want %x and 1", i, p.ID(), p.Hops, ids[i])
		}
	}
	links.mu.Lock()
	offered := len(links.offers["n2.example.mesh"])
	links.mu.Unlock()
	if offered != 3 {
		t.Errorf("offered %d ids, want 3", offered)
	}
}

func TestAFailingNeighbourCostsItsPostsNotTheOthers(t *testing.T) {
	links := newRecLinks()
	links.fail = errors.New("link broke")
	e, _ := newTestEngine(t, Config{RetryDelay: time.Millisecond}, links)
	e.LinkUp("n2.example.mesh")
	if _, err := e.Publish(context.Background(), protocol.ChannelOutgoing{Sender: "alice", Channel: engineChannel, Body: body(1)}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.Counters()["dropped:link"] != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("counters %v, want dropped:link 1", e.Counters())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestTheLimiterHoldsExactlyAtItsBoundPerKeyAndWindow(t *testing.T) {
	l := newLimiter(3)
	t0 := time.Unix(1000, 0)
	for i := range 5 {
		got := l.allow("a", t0.Add(time.Duration(i)*time.Second))
		if got != (i < 3) {
			t.Errorf("post %d of a: %v", i, got)
		}
	}
	if !l.allow("b", t0) {
		t.Error("another key shares a's window")
	}
	if !l.allow("a", t0.Add(rateWindow)) {
		t.Error("a new window does not start after a minute")
	}
}

func TestTheLimiterRefusesNewKeysWhenFullOfLiveWindows(t *testing.T) {
	l := newLimiter(1)
	t0 := time.Unix(1000, 0)
	for i := range maxRateKeys {
		if !l.allow(string(rune(i+0x100)), t0) {
			t.Fatalf("key %d refused", i)
		}
	}
	if l.allow("one more", t0.Add(time.Second)) {
		t.Error("a new key got a window while every window is live")
	}
	if !l.allow("one more", t0.Add(rateWindow)) {
		t.Error("a new key is refused after the windows ended")
	}
}
