package opaque

import (
	"crypto"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"hash"

	"github.com/cloudflare/circl/group"
	"github.com/cloudflare/circl/oprf"
)

// Suite names the set of primitives of an OPAQUE-3DH configuration (RFC 9807
// §7): the OPRF, the group of the 3DH key exchange, and the hash function
// behind KDF (HKDF), MAC (HMAC) and Hash. The key stretching function and the
// context are chosen separately, in [Config].
type Suite uint8

const (
	// Ristretto255SHA512 is OPRF ristretto255-SHA512 with 3DH over
	// ristretto255 and HKDF/HMAC/SHA-512. It is the suite qpc uses.
	Ristretto255SHA512 Suite = 1
	// P256SHA256 is OPRF P256-SHA256 with 3DH over P-256 (compressed
	// points) and HKDF/HMAC/SHA-256.
	P256SHA256 Suite = 2
)

// Lengths shared by every suite (RFC 9807 §2): nonces and seeds.
const (
	nonceLen = 32 // Nn
	seedLen  = 32 // Nseed
)

// String returns the suite's OPRF identifier, as RFC 9497 spells it.
func (s Suite) String() string {
	if p, ok := suites[s]; ok {
		return p.name
	}
	return fmt.Sprintf("Suite(%d)", uint8(s))
}

// params is everything a suite fixes: primitives and lengths in bytes.
type params struct {
	suite Suite
	name  string
	oprf  oprf.Suite
	group group.Group
	hash  crypto.Hash
	newH  func() hash.Hash

	nh  int // Hash output, also MAC key and masking key length
	npk int // encoded AKE public key
	nsk int // encoded AKE private key
	nm  int // MAC output
	nx  int // KDF Extract output
	noe int // encoded OPRF element
	nok int // OPRF private key
}

var suites = map[Suite]*params{
	Ristretto255SHA512: {
		suite: Ristretto255SHA512, name: "ristretto255-SHA512",
		oprf: oprf.SuiteRistretto255, group: group.Ristretto255,
		hash: crypto.SHA512, newH: sha512.New,
		nh: 64, npk: 32, nsk: 32, nm: 64, nx: 64, noe: 32, nok: 32,
	},
	P256SHA256: {
		suite: P256SHA256, name: "P256-SHA256",
		oprf: oprf.SuiteP256, group: group.P256,
		hash: crypto.SHA256, newH: sha256.New,
		nh: 32, npk: 33, nsk: 32, nm: 32, nx: 32, noe: 33, nok: 32,
	},
}

func lookupSuite(s Suite) (*params, error) {
	p, ok := suites[s]
	if !ok {
		return nil, fmt.Errorf("%w: unknown suite %d", ErrInvalidConfig, uint8(s))
	}
	return p, nil
}

// Domain separation strings of RFC 9807.
const (
	labelOPRFKey        = "OPAQUE-DeriveKeyPair"
	labelDHKeyPair      = "OPAQUE-DeriveDiffieHellmanKeyPair"
	labelOprfKeySeed    = "OprfKey"
	labelMaskingKey     = "MaskingKey"
	labelAuthKey        = "AuthKey"
	labelExportKey      = "ExportKey"
	labelPrivateKey     = "PrivateKey"
	labelResponsePad    = "CredentialResponsePad"
	labelHandshake      = "HandshakeSecret"
	labelSessionKey     = "SessionKey"
	labelServerMAC      = "ServerMAC"
	labelClientMAC      = "ClientMAC"
	labelExpandPrefix   = "OPAQUE-"
	labelPreamblePrefix = "OPAQUEv1-"
)

// extract is the KDF's Extract(salt, ikm); it returns Nx bytes.
func (p *params) extract(salt, ikm []byte) ([]byte, error) {
	prk, err := hkdf.Extract(p.newH, ikm, salt)
	if err != nil {
		return nil, fmt.Errorf("opaque: HKDF-Extract: %w", err)
	}
	return prk, nil
}

// expand is the KDF's Expand(prk, info, length). Every length in this
// package is far below HKDF's 255·Nx limit.
func (p *params) expand(prk, info []byte, length int) ([]byte, error) {
	out, err := hkdf.Expand(p.newH, prk, string(info), length)
	if err != nil {
		return nil, fmt.Errorf("opaque: HKDF-Expand: %w", err)
	}
	return out, nil
}

// expandLabel is Expand-Label of RFC 9807 §6.4.2.1 (TLS 1.3 style).
func (p *params) expandLabel(secret []byte, label string, context []byte, length int) ([]byte, error) {
	full := len(labelExpandPrefix) + len(label)
	info := make([]byte, 0, 2+1+full+1+len(context))
	info = binary.BigEndian.AppendUint16(info, uint16(length))
	info = append(info, byte(full))
	info = append(info, labelExpandPrefix...)
	info = append(info, label...)
	info = append(info, byte(len(context)))
	info = append(info, context...)
	return p.expand(secret, info, length)
}

// deriveSecret is Derive-Secret of RFC 9807 §6.4.2.1.
func (p *params) deriveSecret(secret []byte, label string, transcriptHash []byte) ([]byte, error) {
	return p.expandLabel(secret, label, transcriptHash, p.nx)
}

// mac is the MAC(key, msg) of the suite: HMAC with the suite's hash.
func (p *params) mac(key []byte, msg ...[]byte) []byte {
	m := hmac.New(p.newH, key)
	for _, b := range msg {
		m.Write(b)
	}
	return m.Sum(nil)
}

// digest is Hash(msg).
func (p *params) digest(msg ...[]byte) []byte {
	h := p.newH()
	for _, b := range msg {
		h.Write(b)
	}
	return h.Sum(nil)
}

// decodeElement is DeserializeElement of RFC 9497 §2.1 with the length
// fixed to Noe: it rejects any other length, encodings that are not a point
// of the group, and the identity.
func (p *params) decodeElement(b []byte) (group.Element, error) {
	if len(b) != p.noe {
		return nil, fmt.Errorf("%w: element of %d bytes, want %d", ErrInvalidElement, len(b), p.noe)
	}
	e := p.group.NewElement()
	if err := e.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("%w: not a %s point", ErrInvalidElement, p.name)
	}
	if e.IsIdentity() {
		return nil, fmt.Errorf("%w: identity element", ErrInvalidElement)
	}
	return e, nil
}

// encodeElement is SerializeElement: the compressed encoding.
func (p *params) encodeElement(e group.Element) ([]byte, error) {
	b, err := e.MarshalBinaryCompress()
	if err != nil || len(b) != p.noe {
		return nil, fmt.Errorf("%w: cannot encode element", ErrInvalidElement)
	}
	return b, nil
}

// decodeScalar parses a private key or blind: exactly Nsk bytes, canonical
// (below the group order) and not zero.
func (p *params) decodeScalar(b []byte) (group.Scalar, error) {
	if len(b) != p.nsk {
		return nil, fmt.Errorf("%w: scalar of %d bytes, want %d", ErrInvalidScalar, len(b), p.nsk)
	}
	s := p.group.NewScalar()
	if err := s.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("%w: not a canonical %s scalar", ErrInvalidScalar, p.name)
	}
	if s.IsZero() {
		return nil, fmt.Errorf("%w: zero scalar", ErrInvalidScalar)
	}
	return s, nil
}

// deriveKeyPair is DeriveKeyPair(seed, info) of RFC 9497 §3.2 in modeOPRF.
// It returns the private key both as circl's OPRF key and as a scalar.
func (p *params) deriveKeyPair(seed []byte, info string) (*oprf.PrivateKey, group.Scalar, error) {
	if len(seed) != seedLen {
		return nil, nil, fmt.Errorf("%w: seed of %d bytes, want %d", ErrInvalidInput, len(seed), seedLen)
	}
	key, err := oprf.DeriveKey(p.oprf, oprf.BaseMode, seed, []byte(info))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrDeriveKeyPair, err)
	}
	raw, err := key.MarshalBinary()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrDeriveKeyPair, err)
	}
	s, err := p.decodeScalar(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrDeriveKeyPair, err)
	}
	return key, s, nil
}

// deriveDHKeyPair is DeriveDiffieHellmanKeyPair (RFC 9807 §6.4.1.1 and
// §6.4.1.2): the private key as a scalar and the encoded public key.
func (p *params) deriveDHKeyPair(seed []byte) (group.Scalar, []byte, error) {
	_, sk, err := p.deriveKeyPair(seed, labelDHKeyPair)
	if err != nil {
		return nil, nil, err
	}
	pk, err := p.encodeElement(p.group.NewElement().MulGen(sk))
	if err != nil {
		return nil, nil, err
	}
	return sk, pk, nil
}

// publicKey returns the encoded public key of private key sk.
func (p *params) publicKey(sk group.Scalar) ([]byte, error) {
	return p.encodeElement(p.group.NewElement().MulGen(sk))
}

// diffieHellman is DiffieHellman(k, B): the encoding of k·B, where B is
// decoded and validated first. A result at the identity is refused
// (RFC 9807 §10.7); in a prime-order group it cannot happen for a valid B
// and a non-zero k, so this is a guard, not a branch on secrets.
func (p *params) diffieHellman(k group.Scalar, pub []byte) ([]byte, error) {
	b, err := p.decodeElement(pub)
	if err != nil {
		return nil, err
	}
	shared := p.group.NewElement().Mul(b, k)
	if shared.IsIdentity() {
		return nil, fmt.Errorf("%w: Diffie-Hellman result is the identity", ErrInvalidElement)
	}
	return p.encodeElement(shared)
}

// xorBytes returns a ⊕ b; callers guarantee equal lengths.
func xorBytes(a, b []byte) []byte {
	out := make([]byte, len(a))
	subtle.XORBytes(out, a, b)
	return out
}
