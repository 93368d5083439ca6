package signedtest

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"capnproto.org/go/capnp/v3"
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

// The sample messages' origin, TTL and max hops.
const (
	Origin  = "n1.example.mesh"
	TTL     = 7 * 24 * time.Hour
	MaxHops = 8
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
