package identity

// This file holds the account key, device ids and device names. An account
// key names a person (it is what safety numbers are made from); it signs the
// certificates of the person's devices, each of which has its own UserKeys.
// Keeping the two apart lets devices come and go without contacts seeing a
// key change, and lets a device that does not hold the account key still
// send and read.

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// AccountKeySeedSize is the size of an account key's seed, the 32 bytes from
// which the Ed25519 key is expanded (RFC 8032) and what a recovery code
// carries.
const AccountKeySeedSize = ed25519.SeedSize

// AccountKey is the private half of an account's long-term Ed25519 key. It
// signs device certificates and device lists, nothing else. The zero value
// holds no key: Sign methods given one return ErrMalformedKeys.
type AccountKey struct {
	priv ed25519.PrivateKey
}

// GenerateAccountKey makes a new random account key.
func GenerateAccountKey() (AccountKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return AccountKey{}, fmt.Errorf("generate account key: %w", err)
	}
	return AccountKey{priv: priv}, nil
}

// AccountKeyFromSeed rebuilds an account key from its 32-byte seed. A legacy
// account's identity key becomes its account key this way:
// AccountKeyFromSeed(keys.Identity.Seed()).
func AccountKeyFromSeed(seed []byte) (AccountKey, error) {
	if len(seed) != AccountKeySeedSize {
		return AccountKey{}, fmt.Errorf("%w: account key seed is %d bytes, want %d", ErrMalformedKeys, len(seed), AccountKeySeedSize)
	}
	return AccountKey{priv: ed25519.NewKeyFromSeed(seed)}, nil
}

// IsZero reports whether k holds no key.
func (k AccountKey) IsZero() bool { return len(k.priv) != ed25519.PrivateKeySize }

// Public returns the account's public key, or nil for the zero AccountKey.
func (k AccountKey) Public() ed25519.PublicKey {
	if k.IsZero() {
		return nil
	}
	return k.priv.Public().(ed25519.PublicKey)
}

// Seed returns a copy of the 32-byte seed. It is secret: store it only
// encrypted, or show it to the user as a recovery code.
func (k AccountKey) Seed() []byte {
	if k.IsZero() {
		return nil
	}
	return k.priv.Seed()
}

// sign signs msg, refusing the zero key so that a forgotten key is an error
// and not a panic inside ed25519.
func (k AccountKey) sign(msg []byte) ([]byte, error) {
	if k.IsZero() {
		return nil, fmt.Errorf("%w: no account key", ErrMalformedKeys)
	}
	return ed25519.Sign(k.priv, msg), nil
}

// DeviceIDSize is the size of a DeviceID.
const DeviceIDSize = 8

// deviceIDContext separates device ids from every other hash of the key.
const deviceIDContext = "qpc/1 device-id\x00"

// DeviceID names one device of an account: the first 8 bytes of
// SHA-256("qpc/1 device-id" | 0x00 | device identity public key). It is
// derived, never stored apart from the key, so it cannot disagree with it.
// Its text form (String) is 16 lowercase hex digits, as in the recipient
// "alice#0123456789abcdef@domain".
type DeviceID [DeviceIDSize]byte

// DeviceIDOf returns the id of the device whose identity public key is
// identityPub.
func DeviceIDOf(identityPub ed25519.PublicKey) DeviceID {
	h := sha256.New()
	h.Write([]byte(deviceIDContext))
	h.Write(identityPub)
	var id DeviceID
	copy(id[:], h.Sum(nil))
	return id
}

// String returns id as 16 lowercase hex digits.
func (id DeviceID) String() string { return hex.EncodeToString(id[:]) }

// ParseDeviceID parses the 16 hex digits of DeviceID.String; upper case is
// accepted. It returns ErrBadDeviceID.
func ParseDeviceID(s string) (DeviceID, error) {
	var id DeviceID
	if len(s) != 2*DeviceIDSize {
		return id, fmt.Errorf("%w: %d characters, want %d hex digits", ErrBadDeviceID, len(s), 2*DeviceIDSize)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return DeviceID{}, fmt.Errorf("%w: %v", ErrBadDeviceID, err)
	}
	return id, nil
}

// MaxDeviceNameLen is the longest device name in bytes; lengths are encoded
// in one byte, and a name is shown on one line next to others.
const MaxDeviceNameLen = 32

// CheckDeviceName reports whether name can name a device: 1 to
// MaxDeviceNameLen bytes of UTF-8 without leading or trailing white space,
// control characters, bidi controls or invisible characters. Names are shown
// to contacts ("alice added a device 'desk'"), so a name must not be able to
// reorder or hide the text around it.
func CheckDeviceName(name string) error {
	if name == "" || len(name) > MaxDeviceNameLen {
		return fmt.Errorf("%w: %d bytes, want 1 to %d", ErrBadDeviceName, len(name), MaxDeviceNameLen)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("%w: not UTF-8", ErrBadDeviceName)
	}
	if strings.TrimSpace(name) != name {
		return fmt.Errorf("%w: leading or trailing space", ErrBadDeviceName)
	}
	for i, r := range name {
		if unicode.IsControl(r) || hiddenRune(r) {
			return fmt.Errorf("%w: character %U at byte %d", ErrBadDeviceName, r, i)
		}
	}
	return nil
}

// hiddenRune reports the bidi controls (which reorder the text shown around
// them) and the invisible characters that would let two names look alike.
func hiddenRune(r rune) bool {
	switch {
	case r == 0x061c, // arabic letter mark
		r >= 0x200b && r <= 0x200f, // zero-width space, non-joiner, joiner, LRM, RLM
		r >= 0x202a && r <= 0x202e, // embeddings and overrides
		r >= 0x2060 && r <= 0x2069, // word joiner, invisible operators, isolates
		r == 0xfeff:                // zero-width no-break space
		return true
	}
	return false
}
