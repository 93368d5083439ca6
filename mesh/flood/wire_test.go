package flood

import (
	"bytes"
	"errors"
	"testing"

	"capnproto.org/go/capnp/v3"

	"github.com/quicprochat/qpc/mesh/signed"
	"github.com/quicprochat/qpc/mesh/signed/signedtest"
	"github.com/quicprochat/qpc/schemas"
)

// TestWireCarriesTheChannelAndBody checks the post's own wire fields; the
// header's are the suite's business.
func TestWireCarriesTheChannelAndBody(t *testing.T) {
	p := sample(t, Quantum)
	w, _ := wire(t, p)
	cw := w.(schemas.ChannelPost)
	if channel, err := cw.Channel(); err != nil || !bytes.Equal(channel, testChannel[:]) {
		t.Errorf("wire channel % x, %v; want % x", channel, err, testChannel[:])
	}
	if body, err := cw.Body(); err != nil || !bytes.Equal(body, p.Body) {
		t.Errorf("wire body of %d bytes, %v; want the post's %d", len(body), err, len(p.Body))
	}
}

// TestAnEmptyStructIsMalformed: a post without a channel cannot be
// read; the malformed inputs any format can meet are the shared checks'.
func TestAnEmptyStructIsMalformed(t *testing.T) {
	if p, err := Unmarshal(emptyStruct(t)); !errors.Is(err, signed.ErrMalformed) {
		t.Errorf("Unmarshal = %+v, %v; want signed.ErrMalformed", p, err)
	}
}

// emptyStruct returns a message whose root is a ChannelPost with no field
// set: what a writer that knows none of the fields sends.
func emptyStruct(t *testing.T) []byte {
	return signedtest.Encode(t, signedtest.NewWire(t, capnp.SingleSegment(nil), schemas.NewRootChannelPost).Message())
}

func TestFromWireRefusesFieldsNoValidPostHas(t *testing.T) {
	cases := []struct {
		name   string
		change func(w schemas.ChannelPost) error
	}{
		{"a missing channel is refused", func(w schemas.ChannelPost) error { return w.SetChannel(nil) }},
		{"a 31-byte channel is refused", func(w schemas.ChannelPost) error { return w.SetChannel(make([]byte, 31)) }},
		{"a 33-byte channel is refused", func(w schemas.ChannelPost) error { return w.SetChannel(make([]byte, 33)) }},
		{"a 33-byte origin key is refused", func(w schemas.ChannelPost) error { return w.SetOriginKey(make([]byte, 33)) }},
		{"an origin domain over 253 bytes is refused", func(w schemas.ChannelPost) error { return w.SetOriginDomain(signedtest.LongDomain(254)) }},
		{"a body over MaxBody is refused", func(w schemas.ChannelPost) error { return w.SetBody(make([]byte, MaxBody+1)) }},
		{"a 65-byte signature is refused", func(w schemas.ChannelPost) error { return w.SetSignature(make([]byte, 65)) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := signedtest.NewWire(t, capnp.SingleSegment(nil), schemas.NewRootChannelPost)
			if err := ToWire(sample(t, Quantum), w); err != nil {
				t.Fatal(err)
			}
			if err := c.change(w); err != nil {
				t.Fatal(err)
			}
			if got, err := FromWire(w); !errors.Is(err, signed.ErrMalformed) {
				t.Errorf("FromWire = %+v, %v; want signed.ErrMalformed", got, err)
			}
		})
	}
}

func TestAPostOfVersion0DecodesAndIsTooOld(t *testing.T) {
	p := sample(t, Quantum)
	p.Version = 0
	got, err := Unmarshal(signedtest.Marshal(t, format, p))
	if err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if err := got.Verify(now); !errors.Is(err, signed.ErrVersionTooOld) {
		t.Errorf("Verify = %v, want signed.ErrVersionTooOld", err)
	}
}

// TestPostOverhead reports what a post adds to its body on the wire and on
// disk, and pins it: the layout of a one-segment message is root pointer
// (8), the struct's data (16) and pointers (5 × 8), then channel (32),
// origin key (32), origin domain with its NUL padded to 8, body, signature
// (64), after an 8-byte segment table: 200 + 16 for "n1.example.mesh".
func TestPostOverhead(t *testing.T) {
	const wantOverhead = 216
	p := sample(t, Quantum)
	if p.OriginDomain != "n1.example.mesh" {
		t.Fatalf("the test's origin is %q", p.OriginDomain)
	}
	n := len(signedtest.Marshal(t, format, p))
	t.Logf("origin %q, body %d bytes: encoded %d bytes, overhead %d bytes (signed layout +%d)",
		p.OriginDomain, len(p.Body), n, n-len(p.Body), len(p.SignedBytes())-len(p.Body))
	if n-len(p.Body) != wantOverhead {
		t.Errorf("overhead %d bytes, want %d: the wire form changed", n-len(p.Body), wantOverhead)
	}
}

// wire writes p into a fresh struct and reads it back.
func wire(t testing.TB, p *Post) (signed.Wire, *Post) {
	w := signedtest.Written(t, capnp.SingleSegment(nil), schemas.NewRootChannelPost, ToWire, p)
	return w, signedtest.ReadBack(t, w, FromWire)
}
