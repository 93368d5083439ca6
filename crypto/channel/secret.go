package channel

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// SecretSize is the size of a channel secret in bytes.
const SecretSize = 32

// Secret is a channel's secret: whoever holds it can read and post. It is
// shared out of band, in a Share.
type Secret [SecretSize]byte

// NewSecret returns a fresh random secret from crypto/rand.
func NewSecret() (Secret, error) {
	var s Secret
	if _, err := rand.Read(s[:]); err != nil {
		return Secret{}, fmt.Errorf("channel: read random secret: %w", err)
	}
	return s, nil
}

// HKDF info strings: one per derived value, so that the channel id nodes
// see tells nothing about the encryption key.
const (
	infoID  = "qpc channel v1 id"
	infoKey = "qpc channel v1 key"
)

// Keys are what a secret derives: the channel id that nodes see, and the
// key that encrypts bodies. String and GoString print the id only, so that
// logging Keys does not leak the key.
type Keys struct {
	// ID names the channel to nodes: they store and relay posts by it.
	ID [32]byte
	// key is the XChaCha20-Poly1305 key of the channel's bodies.
	key [32]byte
}

// Keys derives the channel id and encryption key from s with HKDF-SHA256
// (RFC 5869): s is the input keying material, without salt (s is already
// uniformly random), with info "qpc channel v1 id" for ID and
// "qpc channel v1 key" for the key, 32 bytes each.
func (s Secret) Keys() Keys {
	var k Keys
	derive(k.ID[:], s[:], infoID)
	derive(k.key[:], s[:], infoKey)
	return k
}

func derive(out, secret []byte, info string) {
	b, err := hkdf.Key(sha256.New, secret, nil, info, len(out))
	if err != nil {
		// hkdf.Key fails only for an output longer than 255 hash blocks,
		// or in FIPS 140-only mode for a secret under 112 bits; neither
		// applies to 32 bytes from a 32-byte secret.
		panic("channel: HKDF-SHA256 of a 32-byte secret failed: " + err.Error())
	}
	copy(out, b)
}

// String returns "channel " and the channel id in hex.
func (k Keys) String() string { return "channel " + hex.EncodeToString(k.ID[:]) }

// GoString is String, so that %#v does not print the key either.
func (k Keys) GoString() string { return k.String() }
