package forward

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"capnproto.org/go/capnp/v3"

	"github.com/quicprochat/qpc/mesh/envelope"
	"github.com/quicprochat/qpc/schemas"
)

// incoming returns envs as Receive gets them from a forward call: each
// written into a list of one call message with the hop count it has, and
// read back with envelope.ReadIncoming. A nil entry stays nil, as one that
// did not decode.
func incoming(t testing.TB, envs ...*envelope.Envelope) []*envelope.Incoming {
	t.Helper()
	msg, seg, err := capnp.NewMessage(capnp.MultiSegment(nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(msg.Release)
	list, err := schemas.NewMeshEnvelope_List(seg, int32(len(envs)))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*envelope.Incoming, len(envs))
	for i, env := range envs {
		if env == nil {
			continue
		}
		n, err := envelope.NextOf(env)
		if err != nil {
			t.Fatal(err)
		}
		if err := n.ToWire(list.At(i)); err != nil {
			t.Fatal(err)
		}
		if out[i], err = envelope.ReadIncoming(list.At(i)); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestAReceivedEnvelopeIsHeldInTheSendersFormOneHopOn: the bytes a node
// holds for an envelope it received are the bytes its neighbour held,
// with the hop count the neighbour raised; nothing is encoded again.
func TestAReceivedEnvelopeIsHeldInTheSendersFormOneHopOn(t *testing.T) {
	e, st := newEngine(t, Config{})
	_, key, _ := ed25519.GenerateKey(nil)
	env, err := envelope.Sign(key, "n0.example.mesh", "carol@n3.example.mesh", []byte("sealed for carol"), time.Now(), time.Hour, 8)
	if err != nil {
		t.Fatal(err)
	}
	env.Hops = 1 // held by n2, one hop from its origin
	atSender, err := envelope.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	next, err := envelope.NextHop(atSender)
	if err != nil {
		t.Fatal(err)
	}
	msg, seg, err := capnp.NewMessage(capnp.SingleSegment(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer msg.Release()
	list, err := schemas.NewMeshEnvelope_List(seg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := next.ToWire(list.At(0)); err != nil {
		t.Fatal(err)
	}
	in, err := envelope.ReadIncoming(list.At(0))
	if err != nil {
		t.Fatal(err)
	}
	if r := e.Receive(context.Background(), "n2.example.mesh", "n2id", []*envelope.Incoming{in}); r[0].Outcome != Accepted {
		t.Fatalf("result %+v, want accepted", r[0])
	}
	held, err := st.Held("n3.example.mesh", 0, 10)
	if err != nil || len(held) != 1 {
		t.Fatalf("held %d envelopes, %v; want 1", len(held), err)
	}
	onHop, err := env.Forwarded()
	if err != nil {
		t.Fatal(err)
	}
	want, err := envelope.Marshal(onHop)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(held[0].Data, want) {
		t.Errorf("held %d bytes, not Marshal's %d bytes of the envelope one hop on", len(held[0].Data), len(want))
	}
	if held[0].ID != env.ID() {
		t.Error("the held envelope's id is not the sender's")
	}
}
