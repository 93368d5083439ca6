package flood

import (
	"context"
	"crypto/ed25519"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/quicprochat/qpc/node/memstore"
	"github.com/quicprochat/qpc/protocol"
)

// These tests look at what the engine asks of its channel store and what
// it makes of the answers, on the in-memory store, without links.

func TestKeptPostsAreFetchedInOrderWithTheirBodiesAndOrigins(t *testing.T) {
	var notified []protocol.ChannelID
	e, _ := newTestEngine(t, Config{Notify: func(ch protocol.ChannelID) { notified = append(notified, ch) }}, nil)
	ctx := context.Background()
	var ids []protocol.PostID
	for i := range 3 {
		id, err := e.Publish(ctx, protocol.ChannelOutgoing{Sender: "alice", Channel: engineChannel, Body: body(byte(i))})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	_, key, _ := ed25519.GenerateKey(nil)
	relayed := fromNeighbour(t, key, "n2.example.mesh", body(9), time.Now(), time.Hour)
	if err := e.Receive(ctx, "n2.example.mesh", relayed.OriginID(), []*Post{relayed}); err != nil {
		t.Fatal(err)
	}
	got, err := e.Fetch(engineChannel, 0, 10)
	if err != nil || len(got) != 4 {
		t.Fatalf("Fetch: %d posts, %v", len(got), err)
	}
	for i, m := range got {
		wantBody, wantOrigin := byte(i), "n1.example.mesh"
		if i == 3 {
			wantBody, wantOrigin = 9, "n2.example.mesh"
		}
		if m.Seq != uint64(i+1) || m.Body[0] != wantBody || m.OriginDomain != wantOrigin || m.Channel != engineChannel {
			t.Errorf("post %d: seq %d body %d from %s", i, m.Seq, m.Body[0], m.OriginDomain)
		}
		if i < 3 && m.ID != ids[i] {
			t.Errorf("post %d has id %x, Publish answered %x", i, m.ID, ids[i])
		}
	}
	if after, _ := e.Fetch(engineChannel, 2, 1); len(after) != 1 || after[0].Seq != 3 {
		t.Errorf("Fetch after 2, limit 1: %+v", after)
	}
	if len(notified) != 4 {
		t.Errorf("followers told %d times, want once per kept post (4)", len(notified))
	}
	st, err := e.State()
	if err != nil || st.Store.Posts != 4 || st.Store.Seen != 4 || st.Counters["published"] != 3 {
		t.Errorf("State = %+v, %v", st, err)
	}
}

func TestWantedNamesOnlyThePostsNotSeenHere(t *testing.T) {
	e, _ := newTestEngine(t, Config{}, nil)
	id, err := e.Publish(context.Background(), protocol.ChannelOutgoing{Sender: "alice", Channel: engineChannel, Body: body(1)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.Wanted([]protocol.PostID{{9}, id, {8}})
	if err != nil || !slices.Equal(got, []int{0, 2}) {
		t.Errorf("Wanted = %v, %v; want the two unseen ids 0 and 2", got, err)
	}
}

func TestAUsersPostsAreRefusedPastTheirRateAndAFullSeenSet(t *testing.T) {
	st := memstore.New(memstore.Options{Channels: protocol.ChannelQuota{MaxSeen: 3}})
	t.Cleanup(func() { st.Close() })
	_, key, _ := ed25519.GenerateKey(nil)
	e, err := New(Config{Domain: "n1.example.mesh", Key: key, Store: st, UserRate: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	post := func(user string, b byte) error {
		_, err := e.Publish(ctx, protocol.ChannelOutgoing{Sender: user, Channel: engineChannel, Body: body(b)})
		return err
	}
	for i, err := range []error{post("alice", 1), post("alice", 2), post("alice", 3)} {
		if want := i == 2; errors.Is(err, protocol.ErrRateLimited) != want {
			t.Errorf("alice's post %d: %v, want rate limited %v", i+1, err, want)
		}
	}
	if err := post("bob", 4); err != nil {
		t.Fatalf("bob's first post: %v", err)
	}
	if err := post("bob", 5); !errors.Is(err, protocol.ErrChannelFull) {
		t.Errorf("a post into a full seen-set: %v, want ErrChannelFull", err)
	}
	if got := e.Counters(); got["refused:user-rate"] != 1 || got["refused:seen-full"] != 1 || got["published"] != 3 {
		t.Errorf("counters %v", got)
	}
}

func TestAPostSeenBeforeIsCountedAsADuplicateAndKeptOnce(t *testing.T) {
	e, st := newTestEngine(t, Config{}, nil)
	_, key, _ := ed25519.GenerateKey(nil)
	p := fromNeighbour(t, key, "n2.example.mesh", body(1), time.Now(), time.Hour)
	for range 2 {
		if err := e.Receive(context.Background(), "n2.example.mesh", p.OriginID(), []*Post{p}); err != nil {
			t.Fatal(err)
		}
	}
	if n := keptCount(t, st); n != 1 {
		t.Errorf("kept %d posts, want the one once", n)
	}
	if got := e.Counters()["duplicate"]; got != 1 {
		t.Errorf("duplicate counts %d, want 1", got)
	}
}
