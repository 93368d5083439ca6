package envelope

import (
	"bytes"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/quicprochat/qpc/mesh/signed/signedtest"
)

// FuzzUnmarshal feeds arbitrary bytes to Unmarshal, as the suite of
// package signedtest says (signedtest.FuzzUnmarshal).
func FuzzUnmarshal(f *testing.F) { signedtest.Fuzz(f, format, &Envelope{}) }

// FuzzSignedBytes checks that the signed layout reads back to the fields it
// was made of, whatever they hold: so no two envelopes share signed bytes
// or an id.
func FuzzSignedBytes(f *testing.F) {
	e := sample(f, 32)
	f.Add(e.Version, []byte(e.OriginKey), e.Recipient, e.OriginDomain, e.Created.UnixMilli(), uint32(e.TTL/time.Second), e.MaxHops, e.Payload)
	f.Add(uint8(0), []byte(nil), "", "", int64(-1), uint32(0), uint8(255), []byte(nil))
	f.Add(uint8(1), []byte("short"), "a@b@c", "\x00\x00\x00\x01", int64(1<<62), ^uint32(0), uint8(1), []byte{0, 0, 0, 4})

	f.Fuzz(func(t *testing.T, version uint8, key []byte, recipient, origin string, ms int64, ttl uint32, maxHops uint8, payload []byte) {
		e := &Envelope{Header: signedtest.HeaderOf(version, key, origin, ms, ttl, maxHops), Recipient: recipient, Payload: payload}
		b := e.SignedBytes()
		got := parseSigned(t, b)
		if !signedtest.SameSigned(&got.Header, &e.Header) || got.Recipient != recipient || !bytes.Equal(got.Payload, payload) {
			t.Fatalf("SignedBytes read back as %+v, want %+v", got, e)
		}
		if e.ID() != sha256.Sum256(b) {
			t.Fatal("ID is not SHA-256 of SignedBytes")
		}
	})
}
