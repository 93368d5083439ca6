package envelope

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"capnproto.org/go/capnp/v3"

	"github.com/quicprochat/qpc/internal/capnpmsg"
	"github.com/quicprochat/qpc/mesh/signed"
	"github.com/quicprochat/qpc/mesh/signed/signedtest"
	"github.com/quicprochat/qpc/schemas"
)

// sent returns held envelopes as a sender puts them in a forward call: read
// from the sender's store (NextHop) and copied into a list of a new
// message, hop count raised, in arena.
func sent(t *testing.T, arena capnp.Arena, held ...*Envelope) schemas.MeshEnvelope_List {
	t.Helper()
	msg, seg, err := capnp.NewMessage(arena)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(msg.Release)
	list, err := schemas.NewMeshEnvelope_List(seg, int32(len(held)))
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range held {
		n, err := NextHop(signedtest.Marshal(t, format, e))
		if err != nil {
			t.Fatal(err)
		}
		if err := n.ToWire(list.At(i)); err != nil {
			t.Fatal(err)
		}
	}
	return list
}

func TestAReceivedEnvelopeIsStoredAsTheSenderHeldItOneHopOn(t *testing.T) {
	for _, arena := range []struct {
		name string
		new  func() capnp.Arena
	}{
		{"in one segment", func() capnp.Arena { return capnp.SingleSegment(nil) }},
		{"in many segments", func() capnp.Arena { return capnp.MultiSegment(nil) }},
	} {
		t.Run(arena.name, func(t *testing.T) {
			held := []*Envelope{sample(t, 1), sample(t, 1024), sample(t, MaxPayload), sample(t, 64)}
			held[3].Hops = 3
			list := sent(t, arena.new(), held...)
			for i, e := range held {
				in, err := ReadIncoming(list.At(i))
				if err != nil {
					t.Fatalf("envelope %d: %v", i, err)
				}
				if err := in.Verify(now); err != nil {
					t.Fatalf("envelope %d: %v", i, err)
				}
				next, err := e.Forwarded()
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(in.Envelope, next) {
					t.Errorf("envelope %d: received\n%+v\nwant\n%+v", i, in.Envelope, next)
				}
				if got, want := in.Stored(), signedtest.Marshal(t, format, next); !bytes.Equal(got, want) {
					t.Errorf("envelope %d: stored %d bytes, not Marshal's %d bytes of the envelope one hop on", i, len(got), len(want))
				}
			}
		})
	}
}

// TestReadIncomingCopiesOutOfTheCall: the stored form does not refer to
// the call's message, which is released when the call ends.
func TestReadIncomingCopiesOutOfTheCall(t *testing.T) {
	e := sample(t, 4096)
	list := sent(t, capnp.SingleSegment(nil), e)
	in, err := ReadIncoming(list.At(0))
	if err != nil {
		t.Fatal(err)
	}
	before := append([]byte(nil), in.Stored()...)
	seg, err := list.Message().Segment(0)
	if err != nil {
		t.Fatal(err)
	}
	clear(seg.Data())
	if !bytes.Equal(in.Stored(), before) {
		t.Error("clearing the call's message changed the stored form")
	}
	if err := in.Verify(now); err != nil {
		t.Errorf("clearing the call's message broke the decoded envelope: %v", err)
	}
}

func TestReadIncomingRefusesWhatFromWireRefuses(t *testing.T) {
	cases := []struct {
		name   string
		change func(w schemas.MeshEnvelope) error
	}{
		{"a 65-byte signature is refused", func(w schemas.MeshEnvelope) error { return w.SetSignature(make([]byte, 65)) }},
		{"a 33-byte origin key is refused", func(w schemas.MeshEnvelope) error { return w.SetOriginKey(make([]byte, 33)) }},
		{"a payload over MaxPayload is refused", func(w schemas.MeshEnvelope) error { return w.SetPayload(make([]byte, MaxPayload+1)) }},
		{"a recipient over MaxRecipient is refused", func(w schemas.MeshEnvelope) error {
			return w.SetRecipient(string(make([]byte, MaxRecipient+1)))
		}},
		{"an origin domain over 253 bytes is refused", func(w schemas.MeshEnvelope) error {
			return w.SetOriginDomain(signedtest.LongDomain(254))
		}},
		{"a field that is a struct, not bytes, is refused", func(w schemas.MeshEnvelope) error {
			inner, err := schemas.NewMeshEnvelope(w.Segment())
			if err != nil {
				return err
			}
			return capnp.Struct(w).SetPtr(2, capnp.Struct(inner).ToPtr())
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := signedtest.NewWire(t, capnp.SingleSegment(nil), schemas.NewRootMeshEnvelope)
			if err := ToWire(sample(t, 8), w); err != nil {
				t.Fatal(err)
			}
			if err := c.change(w); err != nil {
				t.Fatal(err)
			}
			if in, err := ReadIncoming(w); !errors.Is(err, signed.ErrMalformed) || in != nil {
				t.Errorf("ReadIncoming = %+v, %v; want signed.ErrMalformed", in, err)
			}
		})
	}
}

// FuzzReadIncoming feeds arbitrary messages to ReadIncoming as a forward
// call's struct: it may refuse them, only with signed.ErrMalformed, and
// never panics; what it accepts is stored in a form that reads back as the
// envelope it decoded.
func FuzzReadIncoming(f *testing.F) {
	for _, b := range signedtest.Seeds(f, format, &Envelope{}) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := capnpmsg.Unmarshal(b, MaxEncoded, schemas.ReadRootMeshEnvelope)
		if err != nil {
			return
		}
		in, err := ReadIncoming(w)
		if err != nil {
			if !errors.Is(err, signed.ErrMalformed) {
				t.Fatalf("ReadIncoming failed with %v, not signed.ErrMalformed", err)
			}
			return
		}
		_ = in.Verify(now)
		back, err := Unmarshal(in.Stored())
		if err != nil {
			t.Fatalf("the stored form does not decode: %v", err)
		}
		if !reflect.DeepEqual(back, in.Envelope) {
			t.Fatalf("the stored form reads back as\n%+v\nnot\n%+v", back, in.Envelope)
		}
	})
}
