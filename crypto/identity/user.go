package identity

// This file holds a user's keys. The identity key (Ed25519) names the user
// to other people and signs; the HPKE key (X-Wing, the MLKEM768-X25519 KEM of
// draft-ietf-hpke-pq as implemented by crypto/hpke) receives sealed messages.
// Only the public halves leave the client, in a PublicBundle signed by the
// identity key. Both binary formats here start with a version byte: version 0
// is reserved and reported as ErrTooOld, versions above the current one as
// ErrUnsupportedVersion.

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hpke"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"
)

const (
	// IdentityKeySize is the size of a user's Ed25519 identity public key.
	IdentityKeySize = ed25519.PublicKeySize

	// HPKEPublicKeySize is the size of an X-Wing public key.
	HPKEPublicKeySize = 1216

	// HPKEPrivateKeySize is the size of a serialized X-Wing private key: the
	// 32-byte seed from which both component keys are expanded.
	HPKEPrivateKeySize = 32

	// SignatureSize is the size of an Ed25519 signature.
	SignatureSize = ed25519.SignatureSize

	// MaxAddressLen is the longest user address, in bytes, that the signed
	// formats accept; lengths are encoded in one byte.
	MaxAddressLen = 255

	// UserKeysVersion is the version byte written by UserKeys.MarshalBinary.
	UserKeysVersion = 1

	// UserKeysSize is the length of UserKeys.MarshalBinary's output.
	UserKeysSize = 1 + ed25519.SeedSize + HPKEPrivateKeySize

	// BundleVersion is the version byte written by PublicBundle.MarshalBinary.
	BundleVersion = 1

	// BundleSize is the length of PublicBundle.MarshalBinary's output.
	BundleSize = 1 + IdentityKeySize + HPKEPublicKeySize + SignatureSize
)

// bundleContext separates bundle signatures from every other use of the
// identity key.
const bundleContext = "qpc/1 publish-keys"

// HPKEKEM is the KEM of user HPKE keys: X-Wing (MLKEM768-X25519).
func HPKEKEM() hpke.KEM { return hpke.MLKEM768X25519() }

// UserKeys is a user's private key material.
//
// MarshalBinary encodes it in 65 bytes, meant for the client's encrypted
// keystore only:
//
//	offset  size  field
//	0       1     version (UserKeysVersion = 1)
//	1       32    Ed25519 private key seed (RFC 8032)
//	33      32    X-Wing private key seed (SerializePrivateKey of the KEM)
type UserKeys struct {
	// Identity is the Ed25519 identity key; it signs.
	Identity ed25519.PrivateKey
	// HPKE is the X-Wing key that sealed messages are encrypted to.
	HPKE hpke.PrivateKey
}

// GenerateUserKeys makes a new random identity key and HPKE key.
func GenerateUserKeys() (*UserKeys, error) {
	_, id, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate identity key: %w", err)
	}
	kem, err := HPKEKEM().GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("generate HPKE key: %w", err)
	}
	return &UserKeys{Identity: id, HPKE: kem}, nil
}

// IdentityPublic returns the public half of the identity key.
func (k *UserKeys) IdentityPublic() ed25519.PublicKey {
	return k.Identity.Public().(ed25519.PublicKey)
}

// HPKEPublic returns the serialized X-Wing public key (HPKEPublicKeySize
// bytes).
func (k *UserKeys) HPKEPublic() []byte { return k.HPKE.PublicKey().Bytes() }

// Fingerprint returns the safety number of k's identity key; see Fingerprint.
func (k *UserKeys) Fingerprint() string { return Fingerprint(k.IdentityPublic()) }

// MarshalBinary encodes the private keys in the 65-byte layout given in the
// UserKeys doc. The result is secret: store it only encrypted.
func (k *UserKeys) MarshalBinary() ([]byte, error) {
	if len(k.Identity) != ed25519.PrivateKeySize || k.HPKE == nil {
		return nil, fmt.Errorf("%w: incomplete user keys", ErrMalformedKeys)
	}
	seed, err := k.HPKE.Bytes()
	if err != nil {
		return nil, fmt.Errorf("serialize HPKE key: %w", err)
	}
	if len(seed) != HPKEPrivateKeySize {
		return nil, fmt.Errorf("%w: HPKE private key is %d bytes", ErrMalformedKeys, len(seed))
	}
	out := make([]byte, 0, UserKeysSize)
	out = append(out, UserKeysVersion)
	out = append(out, k.Identity.Seed()...)
	out = append(out, seed...)
	return out, nil
}

// UnmarshalUserKeys decodes the output of UserKeys.MarshalBinary.
func UnmarshalUserKeys(b []byte) (*UserKeys, error) {
	if err := checkVersion(b, UserKeysVersion); err != nil {
		return nil, fmt.Errorf("user keys: %w", err)
	}
	if len(b) != UserKeysSize {
		return nil, fmt.Errorf("%w: user keys are %d bytes, want %d", ErrMalformedKeys, len(b), UserKeysSize)
	}
	id := ed25519.NewKeyFromSeed(b[1 : 1+ed25519.SeedSize])
	kem, err := HPKEKEM().NewPrivateKey(b[1+ed25519.SeedSize:])
	if err != nil {
		return nil, fmt.Errorf("%w: HPKE key: %v", ErrMalformedKeys, err)
	}
	return &UserKeys{Identity: id, HPKE: kem}, nil
}

// checkVersion looks at the version byte that starts every format here.
func checkVersion(b []byte, current byte) error {
	switch {
	case len(b) == 0:
		return fmt.Errorf("%w: empty", ErrMalformedKeys)
	case b[0] < current:
		return fmt.Errorf("%w: version %d", ErrTooOld, b[0])
	case b[0] > current:
		return fmt.Errorf("%w: version %d", ErrUnsupportedVersion, b[0])
	}
	return nil
}

// CheckAddress reports whether addr can be signed over: 1 to MaxAddressLen
// bytes of UTF-8 without spaces or control characters. It does not decide
// what a valid user name is; the node does. Signatures cover the exact bytes,
// so callers must pass addresses in the node's canonical form.
func CheckAddress(addr string) error {
	if addr == "" || len(addr) > MaxAddressLen {
		return fmt.Errorf("%w: %d bytes, want 1 to %d", ErrBadAddress, len(addr), MaxAddressLen)
	}
	if !utf8.ValidString(addr) {
		return fmt.Errorf("%w: not UTF-8", ErrBadAddress)
	}
	if i := strings.IndexFunc(addr, func(r rune) bool { return r <= ' ' || r == 0x7f }); i >= 0 {
		return fmt.Errorf("%w: space or control character at byte %d", ErrBadAddress, i)
	}
	return nil
}

// PublicBundle is what a user publishes to the key directory: the public
// halves of their keys, signed by the identity key for one address.
//
// MarshalBinary encodes it in BundleSize (1313) bytes:
//
//	offset  size  field
//	0       1     version (BundleVersion = 1)
//	1       32    Ed25519 identity public key
//	33      1216  X-Wing public key
//	1249    64    Ed25519 signature by the identity key
//
// The signature covers, byte for byte:
//
//	"qpc/1 publish-keys" | 0x00 | len(address) (1 byte) | address |
//	identity public key (32) | X-Wing public key (1216)
//
// so a bundle signed for alice@a.example cannot be replayed as
// bob@b.example's, and a signature the key made for another purpose (such
// as a sealed message) never verifies as a bundle.
type PublicBundle struct {
	// IdentityKey is the Ed25519 identity public key (IdentityKeySize bytes).
	IdentityKey ed25519.PublicKey
	// HPKEKey is the X-Wing public key (HPKEPublicKeySize bytes).
	HPKEKey []byte
	// Signature is the identity key's signature over the bundle and address.
	Signature []byte
}

// Bundle returns k's public keys signed for address.
func (k *UserKeys) Bundle(address string) (*PublicBundle, error) {
	b := &PublicBundle{IdentityKey: k.IdentityPublic(), HPKEKey: k.HPKEPublic()}
	if err := b.Sign(k.Identity, address); err != nil {
		return nil, err
	}
	return b, nil
}

// Sign sets b.Signature to priv's signature over b's keys and address. priv
// must be the private half of b.IdentityKey, or Verify will fail.
func (b *PublicBundle) Sign(priv ed25519.PrivateKey, address string) error {
	if len(priv) != ed25519.PrivateKeySize {
		return fmt.Errorf("%w: identity private key is %d bytes", ErrMalformedKeys, len(priv))
	}
	msg, err := b.signedMessage(address)
	if err != nil {
		return err
	}
	b.Signature = ed25519.Sign(priv, msg)
	return nil
}

// Verify checks that b is well formed, that its HPKE key parses, and that it
// is signed by its identity key for address. It returns ErrBadAddress, ErrMalformedKeys or ErrBadSignature.
func (b *PublicBundle) Verify(address string) error {
	msg, err := b.signedMessage(address)
	if err != nil {
		return err
	}
	if len(b.Signature) != SignatureSize {
		return fmt.Errorf("%w: signature is %d bytes", ErrMalformedKeys, len(b.Signature))
	}
	if !ed25519.Verify(b.IdentityKey, msg, b.Signature) {
		return fmt.Errorf("%w: key bundle for %q", ErrBadSignature, address)
	}
	if _, err := HPKEKEM().NewPublicKey(b.HPKEKey); err != nil {
		return fmt.Errorf("%w: HPKE key: %v", ErrMalformedKeys, err)
	}
	return nil
}

// signedMessage checks the key sizes and encodes what the signature covers.
func (b *PublicBundle) signedMessage(address string) ([]byte, error) {
	if err := CheckAddress(address); err != nil {
		return nil, err
	}
	if len(b.IdentityKey) != IdentityKeySize {
		return nil, fmt.Errorf("%w: identity key is %d bytes", ErrMalformedKeys, len(b.IdentityKey))
	}
	if len(b.HPKEKey) != HPKEPublicKeySize {
		return nil, fmt.Errorf("%w: HPKE key is %d bytes", ErrMalformedKeys, len(b.HPKEKey))
	}
	msg := make([]byte, 0, len(bundleContext)+2+len(address)+IdentityKeySize+HPKEPublicKeySize)
	msg = append(msg, bundleContext...)
	msg = append(msg, 0, byte(len(address)))
	msg = append(msg, address...)
	msg = append(msg, b.IdentityKey...)
	msg = append(msg, b.HPKEKey...)
	return msg, nil
}

// MarshalBinary encodes b in the layout given in the PublicBundle
// doc. It does not check the signature.
func (b *PublicBundle) MarshalBinary() ([]byte, error) {
	if len(b.IdentityKey) != IdentityKeySize || len(b.HPKEKey) != HPKEPublicKeySize || len(b.Signature) != SignatureSize {
		return nil, fmt.Errorf("%w: bundle field sizes %d/%d/%d", ErrMalformedKeys,
			len(b.IdentityKey), len(b.HPKEKey), len(b.Signature))
	}
	out := make([]byte, 0, BundleSize)
	out = append(out, BundleVersion)
	out = append(out, b.IdentityKey...)
	out = append(out, b.HPKEKey...)
	out = append(out, b.Signature...)
	return out, nil
}

// UnmarshalPublicBundle decodes the output of PublicBundle.MarshalBinary. It
// checks that the X-Wing key parses but not the signature: call Verify with
// the address the bundle was published for.
func UnmarshalPublicBundle(data []byte) (*PublicBundle, error) {
	if err := checkVersion(data, BundleVersion); err != nil {
		return nil, fmt.Errorf("public bundle: %w", err)
	}
	if len(data) != BundleSize {
		return nil, fmt.Errorf("%w: public bundle is %d bytes, want %d", ErrMalformedKeys, len(data), BundleSize)
	}
	rest := data[1:]
	b := &PublicBundle{
		IdentityKey: bytes.Clone(rest[:IdentityKeySize]),
		HPKEKey:     bytes.Clone(rest[IdentityKeySize : IdentityKeySize+HPKEPublicKeySize]),
		Signature:   bytes.Clone(rest[IdentityKeySize+HPKEPublicKeySize:]),
	}
	if _, err := HPKEKEM().NewPublicKey(b.HPKEKey); err != nil {
		return nil, fmt.Errorf("%w: HPKE key: %v", ErrMalformedKeys, err)
	}
	return b, nil
}

// fingerprintContext separates safety numbers from other hashes of the key.
const fingerprintContext = "qpc/1 safety-number\x00"

// Fingerprint returns a safety number for humans to compare out of band: the
// first 128 bits of SHA-256("qpc/1 safety-number" | 0x00 | identity key),
// as 32 lowercase hex digits in eight groups of four separated by spaces,
// e.g. "3f2a 9c01 ...". Two people who read the same string hold the same
// identity key.
func Fingerprint(identityKey ed25519.PublicKey) string {
	h := sha256.New()
	h.Write([]byte(fingerprintContext))
	h.Write(identityKey)
	digits := hex.EncodeToString(h.Sum(nil)[:16])
	var sb strings.Builder
	for i := 0; i < len(digits); i += 4 {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(digits[i : i+4])
	}
	return sb.String()
}
