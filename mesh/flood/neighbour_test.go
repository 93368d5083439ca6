package flood

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/quicprochat/qpc/node/memstore"
	"github.com/quicprochat/qpc/protocol"
)

// engineWithStore is newTestEngine with the store's channel bounds set,
// not run.
func engineWithStore(t *testing.T, cfg Config, quota protocol.ChannelQuota) (*Engine, *memstore.Store) {
	t.Helper()
	st := memstore.New(memstore.Options{Channels: quota})
	t.Cleanup(func() { st.Close() })
	_, cfg.Key, _ = ed25519.GenerateKey(nil)
	cfg.Domain, cfg.Store = "n1.example.mesh", st
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e, st
}

// forgedPost is post n signed by a new key claiming origin, as relayed
// on its second hop, created at created with a TTL of ttl.
func forgedPost(t *testing.T, origin string, n int, created time.Time, ttl time.Duration) *Post {
	t.Helper()
	_, key, _ := ed25519.GenerateKey(nil)
	b := make([]byte, Quantum)
	binary.BigEndian.PutUint64(b, uint64(n))
	p, err := Sign(key, origin, engineChannel, b, created, ttl, 8)
	if err != nil {
		t.Fatal(err)
	}
	p.Hops = 2
	return p
}

// receiveAll hands posts to e from neighbour in batches of DefaultBatch,
// as a link would.
func receiveAll(t *testing.T, e *Engine, from string, posts []*Post) {
	t.Helper()
	for len(posts) > 0 {
		n := min(len(posts), DefaultBatch)
		if err := e.Receive(context.Background(), from, from+"-id", posts[:n]); err != nil {
			t.Fatal(err)
		}
		posts = posts[n:]
	}
}

// keptCount counts the kept posts of engineChannel.
func keptCount(t *testing.T, st *memstore.Store) int {
	t.Helper()
	kept, err := st.Posts(engineChannel, 0, 100_000)
	if err != nil {
		t.Fatal(err)
	}
	return len(kept)
}

func TestForgedOriginsFromOneNeighbourAreCappedByItsRate(t *testing.T) {
	now := time.Now()
	e, st := engineWithStore(t, Config{NeighbourRate: 50, Now: func() time.Time { return now }},
		protocol.ChannelQuota{Retain: 10_000, MaxBytes: 64 << 20})
	// 2,000 posts, each claiming another origin with another key, in one
	// minute: once an origin each, so only the neighbour's rate holds.
	var flood []*Post
	for i := range 2000 {
		flood = append(flood, forgedPost(t, fmt.Sprintf("forged%d.example.mesh", i), i, now, time.Hour))
	}
	receiveAll(t, e, "evil.example.mesh", flood)
	c := e.Counters()
	t.Logf("2000 forged posts from one neighbour: %d received, %d refused:neighbour-rate", c["received"], c["refused:neighbour-rate"])
	if c["received"] != 50 || c["refused:neighbour-rate"] != 1950 || keptCount(t, st) != 50 {
		t.Fatalf("counters %v, kept %d; want 50 received, 1950 refused for the neighbour's rate", c, keptCount(t, st))
	}
	// Another neighbour's posts, and this node's users', still go in.
	var honest []*Post
	for i := range 20 {
		honest = append(honest, forgedPost(t, "n2.example.mesh", 10_000+i, now, time.Hour))
	}
	receiveAll(t, e, "good.example.mesh", honest)
	if _, err := e.Publish(context.Background(), protocol.ChannelOutgoing{Sender: "alice", Channel: engineChannel, Body: body(7)}); err != nil {
		t.Fatalf("a local post during the flood: %v", err)
	}
	if got := keptCount(t, st); got != 50+20+1 {
		t.Errorf("kept %d posts, want 71", got)
	}
	// A minute later the neighbour has a new window.
	now = now.Add(rateWindow)
	receiveAll(t, e, "evil.example.mesh", []*Post{forgedPost(t, "late.example.mesh", 20_000, now, time.Hour)})
	if got := e.Counters()["received"]; got != 50+20+1 {
		t.Errorf("received %d, want 71 after the neighbour's window ended", got)
	}
}

func TestAFullOriginTableDoesNotRefuseAnotherNeighboursNewOrigin(t *testing.T) {
	now := time.Now()
	e, st := engineWithStore(t, Config{NeighbourRate: 1 << 20, Now: func() time.Time { return now }},
		protocol.ChannelQuota{Retain: 10_000, MaxBytes: 64 << 20, MaxSeen: 50_000, NeighbourSeen: 50_000})
	// More forged origins than the old shared table of maxRateKeys held.
	n := maxRateKeys + 100
	var flood []*Post
	for i := range n {
		flood = append(flood, forgedPost(t, fmt.Sprintf("forged%d.example.mesh", i), i, now, time.Hour))
	}
	receiveAll(t, e, "evil.example.mesh", flood)
	c := e.Counters()
	t.Logf("%d forged origins from one neighbour: %d received, %d refused:origin-table", n, c["received"], c["refused:origin-table"])
	if c["received"] != maxOriginsPerNeighbour || c["refused:origin-table"] != uint64(n-maxOriginsPerNeighbour) {
		t.Fatalf("counters %v; want the neighbour's own table (%d) to fill", c, maxOriginsPerNeighbour)
	}
	// A new, honest origin through another neighbour gets its window.
	honest := forgedPost(t, "n2.example.mesh", 1<<30, now, time.Hour)
	receiveAll(t, e, "good.example.mesh", []*Post{honest})
	if got := e.Counters()["received"]; got != maxOriginsPerNeighbour+1 {
		t.Errorf("the honest neighbour's new origin was refused: counters %v", e.Counters())
	}
	if ok, _ := st.PostSeen(honest.ID()); !ok {
		t.Error("the honest post was not kept")
	}
}

func TestOneNeighbourFillsOnlyItsShareOfTheSeenSet(t *testing.T) {
	now := time.Now()
	e, st := engineWithStore(t, Config{NeighbourRate: 1 << 20, Now: func() time.Time { return now }},
		protocol.ChannelQuota{Retain: 10_000, MaxBytes: 64 << 20, MaxSeen: 100, NeighbourSeen: 25})
	var flood []*Post
	for i := range 200 {
		flood = append(flood, forgedPost(t, "evil.example.mesh", i, now, time.Hour))
	}
	receiveAll(t, e, "evil.example.mesh", flood)
	c := e.Counters()
	if c["received"] != 25 || c["refused:neighbour-seen"] != 175 {
		t.Fatalf("counters %v; want 25 received and 175 refused for the neighbour's share", c)
	}
	var honest []*Post
	for i := range 25 {
		honest = append(honest, forgedPost(t, "n2.example.mesh", 1000+i, now, time.Hour))
	}
	receiveAll(t, e, "good.example.mesh", honest)
	if got := e.Counters()["received"]; got != 50 {
		t.Errorf("received %d, want the honest neighbour's 25 too", got)
	}
	for i := range 5 {
		if _, err := e.Publish(context.Background(), protocol.ChannelOutgoing{Sender: "alice", Channel: engineChannel, Body: body(byte(100 + i))}); err != nil {
			t.Fatalf("local post %d during the flood: %v", i, err)
		}
	}
	if st, _ := st.ChannelStats(); st.Seen != 55 {
		t.Errorf("seen-set holds %d ids, want 55", st.Seen)
	}
}

func TestRelayedPostsAreRememberedAtMostTheRelayRetention(t *testing.T) {
	now := time.Now().Truncate(time.Millisecond)
	e, st := engineWithStore(t, Config{Retention: 7 * 24 * time.Hour, RelayRetention: time.Hour, Now: func() time.Time { return now }},
		protocol.ChannelQuota{})
	relayed := forgedPost(t, "n2.example.mesh", 1, now, 7*24*time.Hour)
	old := forgedPost(t, "n2.example.mesh", 2, now.Add(-time.Hour), 7*24*time.Hour)
	receiveAll(t, e, "good.example.mesh", []*Post{relayed, old})
	if c := e.Counters(); c["received"] != 1 || c["rejected:expired"] != 1 {
		t.Fatalf("counters %v; want the post older than the relay retention rejected", c)
	}
	if _, err := e.Publish(context.Background(), protocol.ChannelOutgoing{Sender: "alice", Channel: engineChannel, Body: body(9)}); err != nil {
		t.Fatal(err)
	}
	kept, err := st.Posts(engineChannel, 0, 10)
	if err != nil || len(kept) != 2 {
		t.Fatalf("kept %d, %v", len(kept), err)
	}
	if !kept[0].Expires.Equal(now.Add(time.Hour)) {
		t.Errorf("relayed post kept until %v, want %v", kept[0].Expires, now.Add(time.Hour))
	}
	if !kept[1].Expires.Equal(now.Add(7 * 24 * time.Hour)) {
		t.Errorf("local post kept until %v, want the whole retention", kept[1].Expires)
	}
}

func TestTheOriginLimiterKeepsATableForEachNeighbour(t *testing.T) {
	o := newOriginLimiter(1)
	t0 := time.Unix(1000, 0)
	for i := range maxOriginsPerNeighbour {
		if ok, _ := o.allow("evil", fmt.Sprint(i), t0); !ok {
			t.Fatalf("origin %d refused", i)
		}
	}
	if ok, full := o.allow("evil", "one more", t0); ok || !full {
		t.Errorf("a new origin past the neighbour's table: %v, full %v", ok, full)
	}
	if ok, full := o.allow("evil", "0", t0); ok || full {
		t.Errorf("a known origin over its rate: %v, full %v; want refused for the rate", ok, full)
	}
	if ok, _ := o.allow("good", "one more", t0); !ok {
		t.Error("another neighbour's new origin is refused")
	}
	if ok, _ := o.allow("", "self", t0); !ok {
		t.Error("this node's own origin is refused")
	}
	if ok, _ := o.allow("evil", "one more", t0.Add(rateWindow)); !ok {
		t.Error("the neighbour's new origin is refused after its windows ended")
	}
}
