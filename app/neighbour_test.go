package app

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/config"
	"github.com/quicprochat/qpc/mesh/envelope"
	"github.com/quicprochat/qpc/mesh/flood"
	"github.com/quicprochat/qpc/mesh/forward"
	"github.com/quicprochat/qpc/protocol"
)

// floodCount is how many forged envelopes and forged posts the flooding
// neighbour sends; floodBatch how many go in one call.
const floodCount, floodBatch = 5000, 250

// The audit's case (issue 20, item 6): a neighbour floods envelopes and
// channel posts, each signed by a new key claiming another origin. Past
// the first hop no node can tell those origins from real ones, so what
// the neighbour gets accepted must be capped by what is keyed to its
// certificate, and an honest neighbour and the node's own users must
// still get through.
func TestAFloodingNeighboursForgedOriginsAreCappedAndTheOthersGetThrough(t *testing.T) {
	const neighbourBytes, neighbourRate = 128 << 10, 100
	// n1 is the node under attack, n2 the flooding neighbour, n3 an
	// honest one.
	m := newMesh(t, 3, [][2]int{{1, 2}, {1, 3}}, func(i int, cfg *config.Node) {
		cfg.MeshStoreBytes = 1 << 20
		cfg.MeshDomainBytes = 1 << 20
		cfg.MeshOriginBytes = 512 << 10
		cfg.MeshNeighbourBytes = neighbourBytes
		cfg.ChannelNeighbourRate = neighbourRate
		cfg.ChannelSeenMax = 2000
		// The federation link's own inbound rate is not what is tested.
		cfg.FederationRate = 1 << 20
	})
	n1, n2, n3 := m.n(1), m.n(2), m.n(3)
	ctx := ctxT(t)
	started := time.Now()

	// Store-and-forward: 5,000 envelopes for a domain without a route,
	// so n1 would hold them all.
	var held, refused int
	var heldBytes int
	for b := 0; b < floodCount; b += floodBatch {
		envs := make([]*envelope.Envelope, floodBatch)
		for i := range envs {
			_, key, _ := ed25519.GenerateKey(nil)
			env, err := envelope.Sign(key, fmt.Sprintf("forged%d.example.mesh", b+i), "zoe@n9.example.mesh",
				make([]byte, 200), time.Now(), time.Hour, 8)
			if err != nil {
				t.Fatal(err)
			}
			env.Hops = 2 // "relayed": the first-hop check does not apply
			envs[i] = env
		}
		results, err := n2.Federation().Forward(ctx, meshDomain(1), nextOf(t, envs...))
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range results {
			switch {
			case r.Outcome == forward.Accepted:
				held++
				data, _ := envelope.Marshal(envs[i])
				heldBytes += len(data)
			case r.Outcome == forward.Refused && errors.Is(r.Err, protocol.ErrMeshFull):
				refused++
			default:
				t.Fatalf("forged envelope %d: %s (%v)", b+i, r.Outcome, r.Err)
			}
		}
	}
	t.Logf("store-and-forward: %d forged envelopes, %d held (%d bytes, neighbour quota %d), %d refused",
		floodCount, held, heldBytes, neighbourBytes, refused)
	if held == 0 || heldBytes > neighbourBytes || held+refused != floodCount {
		t.Fatalf("%d held (%d bytes), %d refused; want the neighbour capped at %d bytes", held, heldBytes, refused, neighbourBytes)
	}
	if c := n1.mesh.Counters(); c["refused:neighbour-quota"] != uint64(refused) {
		t.Errorf("n1 counts %d refused:neighbour-quota, want %d", c["refused:neighbour-quota"], refused)
	}
	if st, _ := n1.store.MeshStats(); st.Bytes > neighbourBytes {
		t.Errorf("n1 holds %d bytes, more than the flooding neighbour's quota", st.Bytes)
	}
	// The honest neighbour's envelopes are still held, and its users'
	// messages delivered; so are n1's own users' messages.
	honest := make([]*envelope.Envelope, 20)
	for i := range honest {
		payload := make([]byte, 200)
		payload[0] = byte(i)
		env, err := envelope.Sign(n3.key.Private, meshDomain(3), "zoe@n9.example.mesh", payload, time.Now(), time.Hour, 8)
		if err != nil {
			t.Fatal(err)
		}
		env.Hops = 1
		honest[i] = env
	}
	results, err := n3.Federation().Forward(ctx, meshDomain(1), nextOf(t, honest...))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if r.Outcome != forward.Accepted {
			t.Errorf("honest neighbour's envelope %d: %s (%v)", i, r.Outcome, r.Err)
		}
	}
	carol := newAccount(t, n1, "carol")
	dave := newAccount(t, n3, "dave")
	if _, err := dave.Client.Enqueue(ctx, client.Outgoing{Recipient: carol.Address(), Payload: []byte("sealed for carol")}); err != nil {
		t.Fatalf("a message from the honest neighbour's user: %v", err)
	}
	pollMailbox(t, n1, "carol", 1)
	if r, err := carol.Client.Enqueue(ctx, client.Outgoing{Recipient: "zoe@n9.example.mesh", Payload: []byte("sealed for zoe")}); err != nil || r.Err != nil {
		t.Fatalf("a local user's message into the mesh during the flood: %+v, %v", r, err)
	}

	// Channels: 5,000 posts, each claiming another origin with another
	// key, relayed by n2.
	ch := newTestChannel(t, "flooded")
	for b := 0; b < floodCount; b += floodBatch {
		posts := make([]*flood.Post, floodBatch)
		for i := range posts {
			_, key, _ := ed25519.GenerateKey(nil)
			body := make([]byte, flood.Quantum)
			rand.Read(body)
			p, err := flood.Sign(key, fmt.Sprintf("forged%d.example.mesh", b+i), ch.id(), body, time.Now(), 7*24*time.Hour, 8)
			if err != nil {
				t.Fatal(err)
			}
			p.Hops = 2
			posts[i] = p
		}
		if err := n2.Federation().Flood(ctx, meshDomain(1), posts); err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(started)
	c := n1.channels.Counters()
	// The rate holds per minute: a slow machine may see a second window.
	windows := uint64(elapsed/time.Minute) + 1
	t.Logf("channels: %d forged posts in %s, %d accepted (neighbour rate %d/min), %d refused:neighbour-rate",
		floodCount, elapsed.Round(time.Millisecond), c["received"], neighbourRate, c["refused:neighbour-rate"])
	if c["received"] == 0 || c["received"] > neighbourRate*windows || c["received"]+c["refused:neighbour-rate"] != floodCount {
		t.Fatalf("n1 channel counters %v; want at most %d of %d accepted", c, neighbourRate*windows, floodCount)
	}
	// What n1 accepted it relays on, and no more: n3 sees at most that.
	waitCounters(t, m, 1, func(int, map[string]uint64) bool {
		n3c := n3.channels.Counters()
		return n3c["received"]+n3c["refused:neighbour-rate"] == c["received"]
	})
	// The honest neighbour's user and n1's own user still post, and
	// n1's reader gets both.
	reader := newAccount(t, n1, "reader")
	f := ch.follow(t, reader)
	if _, err := ch.publish(dave, "from the honest side"); err != nil {
		t.Fatalf("the honest neighbour's user: %v", err)
	}
	if _, err := ch.publish(carol, "from n1 itself"); err != nil {
		t.Fatalf("n1's own user during the flood: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		from := map[string]int{}
		f.mu.Lock()
		for _, msg := range f.posts {
			from[msg.OriginDomain]++
		}
		f.mu.Unlock()
		if from[meshDomain(1)] == 1 && from[meshDomain(3)] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("n1's reader got posts from %v, want one from n1 and one from n3", from)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := n1.channels.Counters()["received"]; got != c["received"]+1 {
		t.Errorf("n1 received %d posts, want the %d of the flood and n3's", got, c["received"])
	}
}

// pollMailbox polls n's store until user's mailbox holds n messages.
func pollMailbox(t *testing.T, n *running, user string, want int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		msgs, err := n.store.Fetch(user, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's mailbox holds %d messages, want %d", user, len(msgs), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
