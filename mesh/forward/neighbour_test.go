package forward

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/quicprochat/qpc/mesh/envelope"
	"github.com/quicprochat/qpc/node/memstore"
	"github.com/quicprochat/qpc/protocol"
)

// relayedEnvelope is an envelope for carol@n9.example.mesh signed by a
// new key that claims origin, as a neighbour hands it over on its second
// hop (so the first-hop check does not apply).
func relayedEnvelope(t *testing.T, origin string, n int) *envelope.Envelope {
	t.Helper()
	_, key, _ := ed25519.GenerateKey(nil)
	env, err := envelope.Sign(key, origin, "carol@n9.example.mesh", fmt.Appendf(nil, "payload %d", n), time.Now(), time.Hour, 8)
	if err != nil {
		t.Fatal(err)
	}
	env.Hops = 2
	return env
}

func TestForgedOriginsFromOneNeighbourAreCappedByItsQuota(t *testing.T) {
	st := memstore.New(memstore.Options{
		Mesh: protocol.MeshQuota{MaxBytes: 64 << 10, DomainBytes: 64 << 10, OriginBytes: 32 << 10, NeighbourBytes: 8 << 10, MaxSeen: 10_000},
	})
	t.Cleanup(func() { st.Close() })
	_, key, _ := ed25519.GenerateKey(nil)
	e, err := New(Config{Domain: "n1.example.mesh", Key: key, Store: st, Local: unusedLocal{t}})
	if err != nil {
		t.Fatal(err)
	}
	// The flooding neighbour hands over 200 envelopes, each claiming
	// another origin, in batches of 50 as a link would.
	var accepted, refused, bytes int
	for b := range 4 {
		var envs []*envelope.Envelope
		for i := range 50 {
			envs = append(envs, relayedEnvelope(t, fmt.Sprintf("forged%d.example.mesh", b*50+i), b*50+i))
		}
		for i, r := range e.Receive(context.Background(), "evil.example.mesh", "evilid", incoming(t, envs...)) {
			switch {
			case r.Outcome == Accepted:
				accepted++
				data, _ := envelope.Marshal(envs[i])
				bytes += len(data)
			case r.Outcome == Refused && errors.Is(r.Err, protocol.ErrNeighbourQuota):
				refused++
			default:
				t.Fatalf("envelope %d of batch %d: %v %v", i, b, r.Outcome, r.Err)
			}
		}
	}
	t.Logf("forged origins from one neighbour: %d accepted (%d bytes, quota %d), %d refused", accepted, bytes, 8<<10, refused)
	if accepted == 0 || refused == 0 || bytes > 8<<10 || accepted+refused != 200 {
		t.Fatalf("%d accepted (%d bytes), %d refused; want the neighbour capped at %d bytes", accepted, bytes, refused, 8<<10)
	}
	if got := e.Counters()["refused:neighbour-quota"]; got != uint64(refused) {
		t.Errorf("counter refused:neighbour-quota = %d, want %d", got, refused)
	}
	// An honest neighbour's envelopes still go in, and the store knows
	// who handed each over and which key signed it.
	honest := relayedEnvelope(t, "n2.example.mesh", 1000)
	if r := e.Receive(context.Background(), "good.example.mesh", "goodid", incoming(t, honest)); r[0].Outcome != Accepted {
		t.Fatalf("honest neighbour's envelope: %v %v", r[0].Outcome, r[0].Err)
	}
	held, err := st.Held("n9.example.mesh", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	last := held[len(held)-1]
	if last.From != "good.example.mesh" || last.OriginID != honest.OriginID() || last.Origin != "n2.example.mesh" {
		t.Errorf("held as from %q, origin %q id %q", last.From, last.Origin, last.OriginID)
	}
	// Envelopes made here count against no neighbour.
	r := e.Send(context.Background(), []protocol.MeshOutgoing{{Sender: "alice", Recipient: "carol@n9.example.mesh", Payload: []byte("hi")}})
	if r[0].Err != nil {
		t.Errorf("a local send during the flood: %v", r[0].Err)
	}
}
