package channel

import (
	"bytes"
	"crypto/ed25519"
	"testing"
	"time"
)

const alice = "alice@a.example"

// Fixed keys and times, so that failures reproduce.
var (
	aliceKey   = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0xa1}, ed25519.SeedSize))
	malloryKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x3a}, ed25519.SeedSize))
	at         = time.UnixMilli(1_790_000_000_123)
)

// testSecret returns the secret first, first+1, ..., first+31.
func testSecret(first byte) Secret {
	var s Secret
	for i := range s {
		s[i] = first + byte(i)
	}
	return s
}

// Two channels: posts are made in x, and moved to y in some tests.
var (
	chanX = testSecret(0x00).Keys()
	chanY = testSecret(0x40).Keys()
)

// mustSeal seals text by alice in the channel of k.
func mustSeal(t testing.TB, k Keys, text string) []byte {
	t.Helper()
	body, err := Seal(k, alice, aliceKey, text, at)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// mustOpen opens body in the channel of k.
func mustOpen(t testing.TB, k Keys, body []byte) *Message {
	t.Helper()
	m, err := Open(k, body)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// plaintext decrypts body as a member of the channel of k would, and
// returns the plaintext, padding included.
func plaintext(t testing.TB, k Keys, body []byte) []byte {
	t.Helper()
	out, err := decrypt(k, body)
	if err != nil {
		t.Fatal(err)
	}
	return out[prefixSize:]
}

// reencrypt encrypts a hand-made plaintext under k with a fresh nonce, as
// a member holding the secret could.
func reencrypt(t testing.TB, k Keys, pt []byte) []byte {
	t.Helper()
	body, err := encrypt(k, pt)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// fields are a plaintext's fields, for tests that take one apart and put
// it back together changed.
type fields struct {
	author string
	key    []byte
	ms     int64
	text   string
	sig    []byte
}

// split parses a plaintext that Open accepts.
func split(t testing.TB, pt []byte) fields {
	t.Helper()
	m, sig, err := parse(pt)
	if err != nil {
		t.Fatal(err)
	}
	return fields{m.Author, m.AuthorKey, m.Time.UnixMilli(), m.Text, sig}
}

// join lays f out as a padded plaintext, signature as given.
func (f fields) join() []byte {
	pt := appendSigned(nil, [32]byte{}, f.author, f.key, f.ms, f.text)[prefixSize:]
	return pad(append(pt, f.sig...))
}
