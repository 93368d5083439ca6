package envelope

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"capnproto.org/go/capnp/v3"

	"github.com/quicprochat/qpc/mesh/signed"
	"github.com/quicprochat/qpc/mesh/signed/signedtest"
	"github.com/quicprochat/qpc/schemas"
)

// TestWireCarriesTheRecipientAndPayload checks the envelope's own wire
// fields; the header's are the suite's business.
func TestWireCarriesTheRecipientAndPayload(t *testing.T) {
	e := sample(t, 16)
	w, _ := wire(t, e)
	mw := w.(schemas.MeshEnvelope)
	rcpt, err := mw.Recipient()
	if err != nil || rcpt != testRecipient {
		t.Errorf("wire recipient %q, %v; want %q", rcpt, err, testRecipient)
	}
	if payload, err := mw.Payload(); err != nil || !bytes.Equal(payload, e.Payload) {
		t.Errorf("wire payload % x, %v; want % x", payload, err, e.Payload)
	}
}

// TestUnmarshalRefusesOverlappingFields checks the traversal limit on a
// message that only a forger writes; the malformed inputs any format can
// meet are the shared checks'.
func TestUnmarshalRefusesOverlappingFields(t *testing.T) {
	if e, err := Unmarshal(overlappingFields(t)); !errors.Is(err, signed.ErrMalformed) {
		t.Errorf("Unmarshal = %+v, %v; want signed.ErrMalformed", e, err)
	}
}

// overlappingFields returns a message whose origin key and signature
// point into the payload's bytes: valid pointers and lengths, but decoding
// it reads more bytes than the input holds, which only overlapping objects
// do. Unchecked, such pointers let a small input decode large.
func overlappingFields(t *testing.T) []byte {
	e := sample(t, 64<<10)
	e.OriginKey, e.Signature = nil, nil
	b := signedtest.Marshal(t, format, e)
	seg := b[8:] // one segment: header is the count and one size
	word := func(i int) uint64 { return binary.LittleEndian.Uint64(seg[8*i:]) }
	// Root pointer at word 0, the struct's 2 data words at 1-2, its
	// pointers at 3-6: origin key, recipient, payload, signature.
	const keyPtr, payloadPtr, sigPtr = 3, 5, 6
	p := word(payloadPtr)
	if p&3 != 1 || p>>32&7 != 2 {
		t.Fatalf("word %d is %#x, not a byte list pointer; the layout assumption is wrong", payloadPtr, p)
	}
	target := payloadPtr + 1 + int(int32(uint32(p))>>2)
	for _, f := range []struct{ at, count int }{{keyPtr, 32}, {sigPtr, 64}} {
		off := uint32(int32(target-(f.at+1))<<2) | 1
		binary.LittleEndian.PutUint64(seg[8*f.at:], uint64(f.count)<<35|2<<32|uint64(off))
	}
	// Without the traversal limit this message decodes: prove the forgery
	// is well formed, so that only the limit can reject it.
	msg, err := capnp.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	w, err := schemas.ReadRootMeshEnvelope(msg)
	if err != nil {
		t.Fatal(err)
	}
	if e, err := FromWire(w); err != nil || !bytes.Equal(e.OriginKey, e.Payload[:32]) || !bytes.Equal(e.Signature, e.Payload[:64]) {
		t.Fatalf("the overlapping message does not decode without a limit: %v", err)
	}
	return b
}

func TestFromWireRefusesFieldsLongerThanAnyValidEnvelopes(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Envelope)
	}{
		{"a 33-byte origin key is refused", func(e *Envelope) { e.OriginKey = make([]byte, 33) }},
		{"a recipient over MaxRecipient is refused", func(e *Envelope) { e.Recipient = strings.Repeat("c", MaxRecipient+1) }},
		{"a payload over MaxPayload is refused", func(e *Envelope) { e.Payload = make([]byte, MaxPayload+1) }},
		{"a 65-byte signature is refused", func(e *Envelope) { e.Signature = make([]byte, 65) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := sample(t, 8)
			c.change(e)
			w := signedtest.NewWire(t, capnp.SingleSegment(nil), schemas.NewRootMeshEnvelope)
			if err := ToWire(e, w); err != nil {
				t.Fatal(err)
			}
			if got, err := FromWire(w); !errors.Is(err, signed.ErrMalformed) {
				t.Errorf("FromWire = %+v, %v; want signed.ErrMalformed", got, err)
			}
		})
	}
}

func TestAnEmptyStructDecodesAsVersionZero(t *testing.T) {
	w := signedtest.NewWire(t, capnp.SingleSegment(nil), schemas.NewRootMeshEnvelope)
	e, err := Unmarshal(signedtest.Encode(t, w.Message()))
	if err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if err := e.Verify(now); !errors.Is(err, signed.ErrVersionTooOld) {
		t.Errorf("Verify = %v, want signed.ErrVersionTooOld", err)
	}
}

// TestEnvelopeOverhead reports what an envelope adds to its payload, for
// the note; it fails only if the overhead grows past a bound that a
// change of layout would have to justify.
func TestEnvelopeOverhead(t *testing.T) {
	for _, n := range []int{1, 256, 1024} {
		e := sample(t, n)
		wire := len(signedtest.Marshal(t, format, e)) - n
		signedLen := len(e.SignedBytes()) - n
		t.Logf("recipient %q, payload %d bytes: capnp message +%d bytes, signed layout +%d bytes (+%d with hop count and signature)",
			testRecipient, n, wire, signedLen, signedLen+1+64)
		if wire > 256 {
			t.Errorf("capnp overhead %d bytes, more than 256", wire)
		}
	}
}

// multiSegment encodes e as a writer that grows its message in segments
// does.
func multiSegment(t testing.TB, e *Envelope) []byte {
	return signedtest.Encode(t, signedtest.Written(t, capnp.MultiSegment(nil), schemas.NewRootMeshEnvelope, ToWire, e).Message())
}

// wire writes e into a fresh struct and reads it back.
func wire(t testing.TB, e *Envelope) (signed.Wire, *Envelope) {
	w := signedtest.Written(t, capnp.SingleSegment(nil), schemas.NewRootMeshEnvelope, ToWire, e)
	return w, signedtest.ReadBack(t, w, FromWire)
}
