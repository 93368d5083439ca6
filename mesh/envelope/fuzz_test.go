package envelope

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/quicprochat/qpc/mesh/signed"
)

// FuzzUnmarshal feeds arbitrary bytes to Unmarshal: it may reject them,
// only with signed.ErrMalformed, and never panics; whatever it accepts must pass
// through Verify without panicking and marshal again to the same envelope.
func FuzzUnmarshal(f *testing.F) {
	seeds := []*Envelope{sample(f, 1), sample(f, 1024)}
	hopped, err := sample(f, 100).Forwarded()
	if err != nil {
		f.Fatal(err)
	}
	newer := sample(f, 16)
	newer.Version = 2
	unsigned := sample(f, 16)
	unsigned.Signature = nil
	seeds = append(seeds, hopped, newer, unsigned, &Envelope{})
	for _, e := range seeds {
		f.Add(marshalled(f, e))
	}
	f.Add(inSegments(marshalled(f, sample(f, 8)), 3))

	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Unmarshal(b)
		if err != nil {
			if !errors.Is(err, signed.ErrMalformed) {
				t.Fatalf("Unmarshal failed with %v, not signed.ErrMalformed", err)
			}
			return
		}
		_ = e.Verify(now)
		id := e.ID()
		again, err := Marshal(e)
		if err != nil {
			t.Fatalf("a decoded envelope does not marshal again: %v", err)
		}
		back, err := Unmarshal(again)
		if err != nil {
			t.Fatalf("a re-marshalled envelope does not decode: %v", err)
		}
		if !reflect.DeepEqual(back, e) {
			t.Fatalf("re-marshalled envelope differs:\n%+v\n%+v", back, e)
		}
		if back.ID() != id {
			t.Fatal("the id changed through Marshal and Unmarshal")
		}
	})
}

// FuzzSignedBytes checks that the signed layout reads back to the fields it
// was made of, whatever they hold: so no two envelopes share signed bytes
// or an id.
func FuzzSignedBytes(f *testing.F) {
	e := sample(f, 32)
	f.Add(e.Version, []byte(e.OriginKey), e.Recipient, e.OriginDomain, e.Created.UnixMilli(), uint32(e.TTL/time.Second), e.MaxHops, e.Payload)
	f.Add(uint8(0), []byte(nil), "", "", int64(-1), uint32(0), uint8(255), []byte(nil))
	f.Add(uint8(1), []byte("short"), "a@b@c", "\x00\x00\x00\x01", int64(1<<62), ^uint32(0), uint8(1), []byte{0, 0, 0, 4})

	f.Fuzz(func(t *testing.T, version uint8, key []byte, recipient, origin string, ms int64, ttl uint32, maxHops uint8, payload []byte) {
		e := &Envelope{
			Header: signed.Header{
				Version:      version,
				OriginKey:    key,
				OriginDomain: origin,
				Created:      time.UnixMilli(ms).UTC(),
				TTL:          time.Duration(ttl) * time.Second,
				MaxHops:      maxHops,
			},
			Recipient: recipient,
			Payload:   payload,
		}
		b := e.SignedBytes()
		got := parseSigned(t, b)
		if got.Version != version || !bytes.Equal(got.OriginKey, key) || got.Recipient != recipient || got.OriginDomain != origin ||
			got.Created.UnixMilli() != ms || got.TTL != e.TTL || got.MaxHops != maxHops || !bytes.Equal(got.Payload, payload) {
			t.Fatalf("SignedBytes read back as %+v, want %+v", got, e)
		}
		if e.ID() != sha256.Sum256(b) {
			t.Fatal("ID is not SHA-256 of SignedBytes")
		}
	})
}
