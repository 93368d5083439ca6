package signedtest

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"capnproto.org/go/capnp/v3"

	"github.com/quicprochat/qpc/mesh/signed"
)

// The sample messages' origin, TTL and max hops.
const (
	Origin  = "n1.example.mesh"
	TTL     = 7 * 24 * time.Hour
	MaxHops = 8
)

// Fixed keys and times keep failures reproducible; the formats' tests make
// their messages from them.
var (
	// OriginKey signs the formats' sample messages.
	OriginKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	// OtherKey is another node's.
	OtherKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, ed25519.SeedSize))
	// Created is when sample messages are made.
	Created = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	// Now is when they are checked: a minute after they were made.
	Now = Created.Add(time.Minute)
)

// Filler returns n bytes of a fixed pattern: a payload or body that is not
// all zeros, so that a field read from the wrong place shows.
func Filler(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}

// NewWire returns an empty struct made by newRoot as the root of a new
// message in arena, released when the test ends.
func NewWire[W any](t testing.TB, arena capnp.Arena, newRoot func(*capnp.Segment) (W, error)) W {
	t.Helper()
	msg, seg, err := capnp.NewMessage(arena)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(msg.Release)
	w, err := newRoot(seg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// Encode returns msg in the standard framing, failing the test if it
// cannot.
func Encode(t testing.TB, msg *capnp.Message) []byte {
	t.Helper()
	b, err := msg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Refused checks that err, a format's refusal of one bad field, wraps want
// and none of others, and says the format's kind, the reason and what was
// wrong, in that order ("post: bad post body size: 1 bytes, ...").
func Refused(t testing.TB, err, want error, kind string, others []error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
	if prefix := kind + ": " + want.Error() + ": "; !strings.HasPrefix(err.Error(), prefix) || len(err.Error()) == len(prefix) {
		t.Errorf("error %q does not say what was wrong after %q", err, prefix)
	}
	for _, other := range others {
		if other != want && errors.Is(err, other) {
			t.Errorf("error %q also matches %q", err, other)
		}
	}
}

// SignedReader reads a format's signed bytes by the layout its package
// documents, independently of the code that writes them, failing the test
// where they do not follow it.
type SignedReader struct {
	t    testing.TB
	b    []byte
	rest []byte
}

// ReadSigned reads the start that every format's signed bytes share:
// prefix, version (1 byte), max hops (1), TTL in seconds (4), creation time
// in Unix milliseconds (8) and the origin key after its length (4),
// integers big-endian. The reader goes on with the format's own fields.
func ReadSigned(t testing.TB, b []byte, prefix string) (*SignedReader, signed.Header) {
	t.Helper()
	r := &SignedReader{t: t, b: b, rest: b}
	if p := r.Fixed(len(prefix), "prefix"); string(p) != prefix {
		t.Fatalf("signed bytes start with %q, want %q", p, prefix)
	}
	var h signed.Header
	h.Version = r.Fixed(1, "version")[0]
	h.MaxHops = r.Fixed(1, "max hops")[0]
	h.TTL = time.Duration(binary.BigEndian.Uint32(r.Fixed(4, "TTL"))) * time.Second
	h.Created = time.UnixMilli(int64(binary.BigEndian.Uint64(r.Fixed(8, "creation time")))).UTC()
	h.OriginKey = r.Field("origin key")
	return r, h
}

// Fixed reads the next n bytes.
func (r *SignedReader) Fixed(n int, what string) []byte {
	r.t.Helper()
	if len(r.rest) < n {
		r.t.Fatalf("signed bytes do not follow the documented layout: %s cut short in % x", what, r.b)
	}
	f := r.rest[:n]
	r.rest = r.rest[n:]
	return f
}

// Field reads the next field of variable length: its length (uint32) and
// then its bytes.
func (r *SignedReader) Field(what string) []byte {
	r.t.Helper()
	n := binary.BigEndian.Uint32(r.Fixed(4, what+" length"))
	if uint64(len(r.rest)) < uint64(n) {
		r.t.Fatalf("signed bytes do not follow the documented layout: %s cut short in % x", what, r.b)
	}
	return r.Fixed(int(n), what)
}

// End fails the test if bytes are left.
func (r *SignedReader) End() {
	r.t.Helper()
	if len(r.rest) != 0 {
		r.t.Fatalf("signed bytes do not follow the documented layout: %d trailing bytes in % x", len(r.rest), r.b)
	}
}

// LongDomain returns a domain of n characters, valid up to 253 (the
// longest DNS name): labels of 62 and a last one of 1 to 63.
func LongDomain(n int) string {
	var labels []string
	for n > 63 {
		labels = append(labels, strings.Repeat("d", 62))
		n -= 63
	}
	return strings.Join(append(labels, strings.Repeat("d", n)), ".")
}

// Written returns m written by toWire (a format's ToWire) into a new
// struct made by newRoot in arena, released when the test ends.
func Written[M any, W any](t testing.TB, arena capnp.Arena, newRoot func(*capnp.Segment) (W, error), toWire func(M, W) error, m M) W {
	t.Helper()
	w := NewWire(t, arena, newRoot)
	if err := toWire(m, w); err != nil {
		t.Fatal(err)
	}
	return w
}

// ReadBack returns what fromWire (a format's FromWire) reads out of w,
// failing the test if it cannot.
func ReadBack[M any, W any](t testing.TB, w W, fromWire func(W) (M, error)) M {
	t.Helper()
	m, err := fromWire(w)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
