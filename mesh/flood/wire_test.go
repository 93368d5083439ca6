package flood

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"capnproto.org/go/capnp/v3"

	"github.com/quicprochat/qpc/mesh/signed"
	"github.com/quicprochat/qpc/mesh/signed/signedtest"
	"github.com/quicprochat/qpc/schemas"
)

func TestWireCarriesEveryField(t *testing.T) {
	p := sample(t, Quantum)
	p.Hops = 5
	w := signedtest.NewWire(t, capnp.SingleSegment(nil), schemas.NewRootChannelPost)
	if err := ToWire(p, w); err != nil {
		t.Fatal(err)
	}
	channel, _ := w.Channel()
	key, _ := w.OriginKey()
	origin, _ := w.OriginDomain()
	body, _ := w.Body()
	sig, _ := w.Signature()
	got := []any{w.Version(), string(channel), string(key), origin, w.CreatedMillis(), w.TtlSeconds(), w.HopCount(), w.MaxHops(), string(body), string(sig)}
	want := []any{uint8(Version), string(testChannel[:]), string(p.OriginKey), testOrigin, created.UnixMilli(), uint32(testTTL / time.Second), uint8(5), uint8(testMaxHops), string(p.Body), string(p.Signature)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("wire fields\n%v\nwant\n%v", got, want)
	}
	back, err := FromWire(w)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, p) {
		t.Errorf("FromWire(ToWire(p))\n%+v\nwant\n%+v", back, p)
	}
	if back.ID() != p.ID() {
		t.Error("the id changed through ToWire and FromWire")
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
		{"an origin domain over 253 bytes is refused", func(w schemas.ChannelPost) error { return w.SetOriginDomain(strings.Repeat("n", 254)) }},
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
