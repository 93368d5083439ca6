package app

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/config"
	"github.com/quicprochat/qpc/crypto/channel"
	"github.com/quicprochat/qpc/mesh/flood"
	"github.com/quicprochat/qpc/protocol"
)

// testChannel is a channel with its secret, as clients hold it.
type testChannel struct {
	topic string
	keys  channel.Keys
}

func newTestChannel(t testing.TB, topic string) testChannel {
	t.Helper()
	s, err := channel.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return testChannel{topic: topic, keys: s.Keys()}
}

func (c testChannel) id() protocol.ChannelID { return protocol.ChannelID(c.keys.ID) }

// post seals text as a's post and publishes it on a's node.
func (c testChannel) post(t testing.TB, a *client.Account, text string) protocol.PostID {
	t.Helper()
	id, err := c.publish(a, text)
	if err != nil {
		t.Fatalf("%s posts %q: %v", a.Address(), text, err)
	}
	return id
}

func (c testChannel) publish(a *client.Account, text string) (protocol.PostID, error) {
	body, err := channel.Seal(c.keys, a.Address(), a.Keys.Identity, text, time.Now())
	if err != nil {
		return protocol.PostID{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return a.Client.ChannelPost(ctx, c.id(), body, 0, 0)
}

// follower collects the posts pushed to one client.
type follower struct {
	mu    sync.Mutex
	posts []protocol.ChannelMessage
}

func (c testChannel) follow(t testing.TB, a *client.Account) *follower {
	t.Helper()
	f := &follower{}
	sub, err := a.Client.ChannelSubscribe(ctxT(t), []protocol.ChannelCursor{{Channel: c.id()}},
		func(_ context.Context, posts []protocol.ChannelMessage) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.posts = append(f.posts, posts...)
			return nil
		})
	if err != nil {
		t.Fatalf("%s follows %s: %v", a.Address(), c.topic, err)
	}
	t.Cleanup(func() { sub.Cancel(context.Background()) })
	return f
}

// wait polls until f has n posts and returns them.
func (f *follower) wait(t testing.TB, who string, n int) []protocol.ChannelMessage {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		f.mu.Lock()
		got := append([]protocol.ChannelMessage(nil), f.posts...)
		f.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has %d posts, want %d", who, len(got), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// open opens m and checks that a wrote text.
func (c testChannel) open(t testing.TB, m protocol.ChannelMessage, a *client.Account, text string) {
	t.Helper()
	msg, err := channel.Open(c.keys, m.Body)
	if err != nil {
		t.Fatalf("open post %d: %v", m.Seq, err)
	}
	if msg.Author != a.Address() || msg.Text != text || !msg.AuthorKey.Equal(a.Keys.Identity.Public()) {
		t.Errorf("post reads %+v, want %q by %s", msg, text, a.Address())
	}
}

// tap records the posts and ids each node hands to its neighbours.
type tap struct {
	mu    sync.Mutex
	bytes [][]byte
}

type tappedLinks struct {
	flood.Links
	t *tap
}

func (l tappedLinks) Flood(ctx context.Context, n string, posts []*flood.Post) error {
	for _, p := range posts {
		b, err := flood.Marshal(p)
		if err != nil {
			return err
		}
		l.t.mu.Lock()
		l.t.bytes = append(l.t.bytes, b)
		l.t.mu.Unlock()
	}
	return l.Links.Flood(ctx, n, posts)
}

func (l tappedLinks) Inventory(ctx context.Context, n string, ids []protocol.PostID) ([]int, error) {
	l.t.mu.Lock()
	for _, id := range ids {
		l.t.bytes = append(l.t.bytes, id[:])
	}
	l.t.mu.Unlock()
	return l.Links.Inventory(ctx, n, ids)
}

func tapLinks(t testing.TB) *tap {
	tp := &tap{}
	tapChannelLinks = func(_ string, l flood.Links) flood.Links { return tappedLinks{l, tp} }
	t.Cleanup(func() { tapChannelLinks = nil })
	return tp
}

func ring(n int) [][2]int { return append(chain(n), [2]int{1, n}) }

func TestAPostReachesEveryNodeOfARingOnceAndLateJoinersGetTheKeptPosts(t *testing.T) {
	tp := tapLinks(t)
	m := newMesh(t, 4, ring(4), nil)
	ch := newTestChannel(t, "kiez-news")
	alice := newAccount(t, m.n(1), "alice")
	var followers []*follower
	for i := 1; i <= 4; i++ {
		followers = append(followers, ch.follow(t, newAccount(t, m.n(i), "reader")))
	}
	const text = "the well on Linden Street is dry until Friday"
	id := ch.post(t, alice, text)

	for i, f := range followers {
		got := f.wait(t, meshDomain(i+1), 1)
		if len(got) != 1 || got[0].ID != id {
			t.Fatalf("the reader on %s got %d posts: %+v", meshDomain(i+1), len(got), got)
		}
		ch.open(t, got[0], alice, text)
	}
	// Every node has it; let the flood settle, then count.
	waitCounters(t, m, 4, func(i int, c map[string]uint64) bool {
		if i == 1 {
			return c["published"] == 1
		}
		return c["received"] == 1
	})
	for i, f := range followers {
		if got := f.wait(t, meshDomain(i+1), 1); len(got) != 1 {
			t.Errorf("the reader on %s got the post %d times", meshDomain(i+1), len(got))
		}
	}

	late := newAccount(t, m.n(3), "late")
	got := ch.follow(t, late).wait(t, "a late joiner on n3", 1)
	ch.open(t, got[0], alice, text)
	fetched, err := late.Client.ChannelFetch(ctxT(t), ch.id(), 0, 10)
	if err != nil || len(fetched) != 1 || fetched[0].ID != id {
		t.Errorf("fetch on n3: %v, %+v", err, fetched)
	}

	m.noPlaintext(ch.topic, text)
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if len(tp.bytes) == 0 {
		t.Fatal("nothing was relayed")
	}
	for _, b := range tp.bytes {
		for _, s := range []string{ch.topic, text, "alice@"} {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("relayed bytes hold %q", s)
			}
		}
	}
}

// waitCounters polls until ok accepts the channel counters of nodes
// 1..n.
func waitCounters(t testing.TB, m *mesh, n int, ok func(i int, c map[string]uint64) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for i := 1; i <= n; i++ {
		for !ok(i, m.n(i).channels.Counters()) {
			if time.Now().After(deadline) {
				t.Fatalf("%s's channel counters: %v", meshDomain(i), m.n(i).channels.Counters())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func TestBadPostsAreRejectedOrDeduplicatedAndCounted(t *testing.T) {
	m := newMesh(t, 2, chain(2), func(i int, cfg *config.Node) { cfg.MetricsListen = "127.0.0.1:0" })
	n1, n2 := m.n(1), m.n(2)
	ch := newTestChannel(t, "board")
	alice := newAccount(t, n2, "alice")
	reader := newAccount(t, n1, "reader")
	ctx := ctxT(t)
	now := time.Now()
	wrapAt := func(key ed25519.PrivateKey, body []byte, at time.Time) *flood.Post {
		p, err := flood.Sign(key, meshDomain(2), ch.id(), body, at, time.Hour, 8)
		if err != nil {
			t.Fatal(err)
		}
		p.Hops = 1
		return p
	}
	wrap := func(key ed25519.PrivateKey, body []byte) *flood.Post { return wrapAt(key, body, now) }
	seal := func(id ed25519.PrivateKey, text string) []byte {
		b, err := channel.Seal(ch.keys, alice.Address(), id, text, now)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := wrap(n2.key.Private, seal(alice.Keys.Identity, "honest"))

	tampered := *good // body changed after the node signed it
	tampered.Body = seal(alice.Keys.Identity, "changed")
	_, mallory, _ := ed25519.GenerateKey(nil)
	forged := wrap(n2.key.Private, seal(mallory, "forged in alice's name"))
	rewrapped := wrapAt(n2.key.Private, good.Body, now.Add(time.Second)) // a replay under a new wrapper
	junk := bytes.Repeat([]byte{0xa5}, 256)                              // version 1, then noise
	junk[0] = channel.Version
	garbage := wrap(n2.key.Private, junk)
	unsigned := *garbage
	unsigned.Signature = bytes.Repeat([]byte{1}, 64)
	odd := *good
	odd.Body = good.Body[:len(good.Body)-1]

	batch := []*flood.Post{good, &tampered, forged, good, rewrapped, garbage, &unsigned, &odd}
	if err := n2.Federation().Flood(ctx, meshDomain(1), batch); err != nil {
		t.Fatal(err)
	}
	c := n1.channels.Counters()
	want := map[string]uint64{"received": 3, "duplicate": 2, "rejected:bad-signature": 2, "rejected:body": 1}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("n1 counter %s = %d, want %d (all: %v)", k, c[k], v, c)
		}
	}

	// The node cannot tell a forged author or garbage under a valid node
	// signature; the reader can.
	posts, err := reader.Client.ChannelFetch(ctx, ch.id(), 0, 10)
	if err != nil || len(posts) != 3 {
		t.Fatalf("fetch: %v, %d posts", err, len(posts))
	}
	ch.open(t, posts[0], alice, "honest")
	msg, err := channel.Open(ch.keys, posts[1].Body)
	if err != nil {
		t.Fatalf("the forged post does not open: %v", err)
	}
	published, err := reader.ResolvePeer(ctx, alice.Address())
	if err != nil {
		t.Fatal(err)
	}
	if msg.AuthorKey.Equal(published.Bundle.IdentityKey) {
		t.Error("a post signed by mallory carries alice's published key")
	}
	if _, err := channel.Open(ch.keys, posts[2].Body); !errors.Is(err, channel.ErrDecrypt) {
		t.Errorf("garbage opens with %v, want ErrDecrypt", err)
	}
	text := waitMetrics(t, n1, func(s string) bool {
		return bytes.Contains([]byte(s), []byte(`qpc_channel_rejected_total{reason="bad-signature"} 2`))
	})
	for _, line := range []string{`qpc_channel_posts_total{event="duplicate"} 2`, `qpc_channel_rejected_total{reason="body"} 1`} {
		if !bytes.Contains([]byte(text), []byte(line)) {
			t.Errorf("metrics lack %s:\n%s", line, grep(text, "qpc_channel"))
		}
	}
}

func TestTheRateLimitsHoldAtTheirBounds(t *testing.T) {
	const originRate, userRate = 5, 3
	m := newMesh(t, 2, chain(2), func(i int, cfg *config.Node) {
		cfg.ChannelOriginRate = originRate
		cfg.ChannelUserRate = userRate
	})
	n1, n2 := m.n(1), m.n(2)
	ch := newTestChannel(t, "busy")
	alice := newAccount(t, n2, "alice")

	// A neighbour floods more posts of one origin than the bound.
	var posts []*flood.Post
	for i := range originRate + 4 {
		body, err := channel.Seal(ch.keys, alice.Address(), alice.Keys.Identity, fmt.Sprintf("post %d", i), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		p, err := flood.Sign(n2.key.Private, meshDomain(2), ch.id(), body, time.Now(), time.Hour, 8)
		if err != nil {
			t.Fatal(err)
		}
		p.Hops = 1
		posts = append(posts, p)
	}
	if err := n2.Federation().Flood(ctxT(t), meshDomain(1), posts); err != nil {
		t.Fatal(err)
	}
	if c := n1.channels.Counters(); c["received"] != originRate || c["refused:origin-rate"] != 4 {
		t.Errorf("n1 counters %v, want %d received and 4 refused", c, originRate)
	}

	// A user publishes more than theirs.
	bob := newAccount(t, n1, "bob")
	ok := 0
	for i := range userRate + 2 {
		_, err := ch.publish(bob, fmt.Sprintf("bob %d", i))
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, protocol.ErrRateLimited):
			t.Fatalf("post %d: %v, want ErrRateLimited", i, err)
		}
	}
	if ok != userRate {
		t.Errorf("%d posts accepted, want %d", ok, userRate)
	}
	if c := n1.channels.Counters(); c["refused:user-rate"] != 2 {
		t.Errorf("n1 counters %v, want 2 refused for the user's rate", c)
	}
}

// BenchmarkChannelRelay measures how many posts per second cross a node:
// n1 publishes b.N posts (256-byte bodies, 16 at a time), n2 relays them,
// and the clock stops when n3 has kept them all. Every hop verifies,
// dedups and commits each post to disk.
func BenchmarkChannelRelay(b *testing.B) {
	m := newMesh(b, 3, chain(3), func(i int, cfg *config.Node) {
		cfg.ChannelOriginRate = 1 << 30
		cfg.ChannelUserRate = 1 << 30
		cfg.ChannelSeenMax = 1 << 30
	})
	ch := newTestChannel(b, "bench")
	alice := newAccount(b, m.n(1), "alice")
	body, err := channel.Seal(ch.keys, alice.Address(), alice.Keys.Identity, "a post of a few words", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	work := make(chan int)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				// Distinct bodies: the same body twice is one post.
				bd := append([]byte(nil), body...)
				bd[len(bd)-1] ^= byte(i)
				bd[len(bd)-2] ^= byte(i >> 8)
				bd[len(bd)-3] ^= byte(i >> 16)
				if _, err := m.n(1).channels.Publish(ctx, protocol.ChannelOutgoing{Sender: "alice", Channel: ch.id(), Body: bd}); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for i := range b.N {
		work <- i
	}
	close(work)
	wg.Wait()
	deadline := time.Now().Add(5 * time.Minute)
	for m.n(3).channels.Counters()["received"] < uint64(b.N) {
		if time.Now().After(deadline) {
			b.Fatalf("n3 counters %v, want %d received", m.n(3).channels.Counters(), b.N)
		}
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "posts/s")
}
