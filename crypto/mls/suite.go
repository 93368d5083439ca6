package mls

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/hpke"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
)

// CipherSuiteID is the registered MLS cipher suite identifier (RFC 9420 §17.1).
type CipherSuiteID uint16

// Supported cipher suites.
const (
	// X25519AES128GCMSHA256Ed25519 is MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519.
	X25519AES128GCMSHA256Ed25519 CipherSuiteID = 0x0001
	// MLKEM768X25519AES256GCMSHA384Ed25519 is
	// MLS_128_MLKEM768X25519_AES256GCM_SHA384_Ed25519 of
	// draft-ietf-mls-pq-ciphersuites-06: the hybrid KEM MLKEM768-X25519
	// (X-Wing, HPKE KEM 0x647A), HKDF-SHA384, AES-256-GCM, SHA-384 and
	// Ed25519. The draft leaves its code point to IANA ("TBD2"); until one
	// is assigned we use 0xF002 from the private-use range of RFC 9420
	// §17.1, the placeholder other implementations of the draft use, so a
	// registered value can never collide with it.
	MLKEM768X25519AES256GCMSHA384Ed25519 CipherSuiteID = 0xF002
)

// PQSuiteKEMID is the HPKE KEM identifier of MLKEM768-X25519 (X-Wing) in
// draft-ietf-hpke-pq, the KEM of MLKEM768X25519AES256GCMSHA384Ed25519.
const PQSuiteKEMID uint16 = 0x647A

// SupportedSuites lists the cipher suites this package implements, the
// post-quantum one first: it is the order of preference of a client that
// picks a suite for a new group.
var SupportedSuites = []CipherSuiteID{MLKEM768X25519AES256GCMSHA384Ed25519, X25519AES128GCMSHA256Ed25519}

// IsPostQuantum reports whether suite id protects its key exchange against
// a quantum computer (its KEM contains ML-KEM). Signatures stay Ed25519 in
// every suite we implement, so authentication is not post-quantum.
func IsPostQuantum(id CipherSuiteID) bool {
	return id == MLKEM768X25519AES256GCMSHA384Ed25519
}

// String returns the suite's registered or draft name.
func (id CipherSuiteID) String() string {
	switch id {
	case X25519AES128GCMSHA256Ed25519:
		return "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519"
	case MLKEM768X25519AES256GCMSHA384Ed25519:
		return "MLS_128_MLKEM768X25519_AES256GCM_SHA384_Ed25519"
	default:
		return fmt.Sprintf("0x%04x", uint16(id))
	}
}

// CipherSuite is the set of primitives one MLS cipher suite provides. All
// protocol code goes through it so that further suites (including
// post-quantum ones) can be added by implementing this interface.
// Keys are passed in their MLS wire form: HPKE keys as SerializePublicKey /
// SerializePrivateKey output, signature keys in the suite's native encoding.
type CipherSuite interface {
	// ID returns the suite's registered identifier.
	ID() CipherSuiteID
	// HashLen returns Nh, the output size of the hash and the KDF.
	HashLen() int
	// Hash returns the hash of data.
	Hash(data []byte) []byte
	// MAC returns the HMAC of data under key.
	MAC(key, data []byte) []byte
	// Extract is KDF.Extract(salt, ikm).
	Extract(salt, ikm []byte) []byte
	// Expand is KDF.Expand(prk, info, length).
	Expand(prk, info []byte, length int) ([]byte, error)
	// AEADKeyLen returns Nk.
	AEADKeyLen() int
	// AEADNonceLen returns Nn.
	AEADNonceLen() int
	// AEAD returns the suite's AEAD keyed with key.
	AEAD(key []byte) (cipher.AEAD, error)
	// HPKESeal encrypts to pub in HPKE base mode.
	HPKESeal(pub, info, aad, plaintext []byte) (kemOutput, ciphertext []byte, err error)
	// HPKEOpen decrypts an HPKE base-mode ciphertext with priv.
	HPKEOpen(priv, info, aad, kemOutput, ciphertext []byte) ([]byte, error)
	// HPKEExportSend sets up an HPKE base-mode sender to pub and exports a
	// secret from its context.
	HPKEExportSend(pub, info []byte, exporterContext string, length int) (kemOutput, secret []byte, err error)
	// HPKEExportReceive sets up the matching receiver and exports the same secret.
	HPKEExportReceive(priv, kemOutput, info []byte, exporterContext string, length int) ([]byte, error)
	// DeriveKeyPair is the HPKE KEM's DeriveKeyPair.
	DeriveKeyPair(ikm []byte) (priv, pub []byte, err error)
	// GenerateKeyPair returns a fresh random HPKE key pair.
	GenerateKeyPair() (priv, pub []byte, err error)
	// HPKEPublicKey returns the public key matching priv.
	HPKEPublicKey(priv []byte) ([]byte, error)
	// Sign signs msg with the signature private key priv.
	Sign(priv, msg []byte) ([]byte, error)
	// Verify reports whether sig is a valid signature of msg under pub.
	Verify(pub, msg, sig []byte) bool
	// GenerateSignatureKey returns a fresh signature key pair.
	GenerateSignatureKey() (priv, pub []byte, err error)
	// SignaturePublicKey returns the public key matching priv.
	SignaturePublicKey(priv []byte) ([]byte, error)
}

// Suite returns the implementation of the cipher suite id.
func Suite(id CipherSuiteID) (CipherSuite, error) {
	switch id {
	case X25519AES128GCMSHA256Ed25519:
		return suite1, nil
	case MLKEM768X25519AES256GCMSHA384Ed25519:
		return suitePQ, nil
	default:
		return nil, fmt.Errorf("%w: 0x%04x", ErrUnsupportedCipherSuite, uint16(id))
	}
}

var suite1 CipherSuite = hpkeSuite{
	id: X25519AES128GCMSHA256Ed25519, kem: hpke.DHKEM(ecdh.X25519()),
	kdf: hpke.HKDFSHA256(), aead: hpke.AES128GCM(), hash: sha256.New, nh: sha256.Size, nk: 16,
}

var suitePQ CipherSuite = hpkeSuite{
	id: MLKEM768X25519AES256GCMSHA384Ed25519, kem: hpke.MLKEM768X25519(),
	kdf: hpke.HKDFSHA384(), aead: hpke.AES256GCM(), hash: sha512.New384, nh: sha512.Size384, nk: 32,
}

// hpkeSuite is an MLS cipher suite built from an HPKE KEM, KDF and AEAD on
// the standard library, a SHA-2 hash (whose HKDF is also the MLS KDF) and
// Ed25519 signatures. Both suites we implement have this shape; they differ
// only in the parameters.
type hpkeSuite struct {
	id   CipherSuiteID
	kem  hpke.KEM
	kdf  hpke.KDF
	aead hpke.AEAD
	hash func() hash.Hash
	nh   int // hash output size
	nk   int // AES key size
}

func (s hpkeSuite) ID() CipherSuiteID { return s.id }
func (s hpkeSuite) HashLen() int      { return s.nh }
func (s hpkeSuite) Hash(data []byte) []byte {
	h := s.hash()
	h.Write(data)
	return h.Sum(nil)
}

func (s hpkeSuite) MAC(key, data []byte) []byte {
	m := hmac.New(s.hash, key)
	m.Write(data)
	return m.Sum(nil)
}

func (s hpkeSuite) Extract(salt, ikm []byte) []byte {
	// hkdf.Extract with a SHA-2 hash cannot fail.
	prk, _ := hkdf.Extract(s.hash, ikm, salt)
	return prk
}

func (s hpkeSuite) Expand(prk, info []byte, length int) ([]byte, error) {
	if length <= 0 || length > 255*s.nh {
		return nil, fmt.Errorf("%w: %d", ErrKeyLength, length)
	}
	return hkdf.Expand(s.hash, prk, string(info), length)
}

func (s hpkeSuite) AEADKeyLen() int { return s.nk }
func (hpkeSuite) AEADNonceLen() int { return 12 }
func (s hpkeSuite) AEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != s.nk {
		return nil, fmt.Errorf("%w: AES-%d key of %d bytes", ErrInvalidKey, 8*s.nk, len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func (s hpkeSuite) HPKESeal(pub, info, aad, plaintext []byte) ([]byte, []byte, error) {
	pk, err := s.kem.NewPublicKey(pub)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: HPKE public key: %v", ErrInvalidKey, err)
	}
	enc, sender, err := hpke.NewSender(pk, s.kdf, s.aead, info)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	ct, err := sender.Seal(aad, plaintext)
	if err != nil {
		return nil, nil, err
	}
	return enc, ct, nil
}

func (s hpkeSuite) HPKEOpen(priv, info, aad, kemOutput, ciphertext []byte) ([]byte, error) {
	sk, err := s.kem.NewPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("%w: HPKE private key: %v", ErrInvalidKey, err)
	}
	rcp, err := hpke.NewRecipient(kemOutput, sk, s.kdf, s.aead, info)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecryption, err)
	}
	pt, err := rcp.Open(aad, ciphertext)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecryption, err)
	}
	return pt, nil
}

func (s hpkeSuite) HPKEExportSend(pub, info []byte, exporterContext string, length int) ([]byte, []byte, error) {
	pk, err := s.kem.NewPublicKey(pub)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: HPKE public key: %v", ErrInvalidKey, err)
	}
	enc, sender, err := hpke.NewSender(pk, s.kdf, s.aead, info)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	secret, err := sender.Export(exporterContext, length)
	if err != nil {
		return nil, nil, err
	}
	return enc, secret, nil
}

func (s hpkeSuite) HPKEExportReceive(priv, kemOutput, info []byte, exporterContext string, length int) ([]byte, error) {
	sk, err := s.kem.NewPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("%w: HPKE private key: %v", ErrInvalidKey, err)
	}
	rcp, err := hpke.NewRecipient(kemOutput, sk, s.kdf, s.aead, info)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecryption, err)
	}
	return rcp.Export(exporterContext, length)
}

func (s hpkeSuite) DeriveKeyPair(ikm []byte) ([]byte, []byte, error) {
	sk, err := s.kem.DeriveKeyPair(ikm)
	if err != nil {
		return nil, nil, err
	}
	return hpkeKeyBytes(sk)
}

func (s hpkeSuite) GenerateKeyPair() ([]byte, []byte, error) {
	sk, err := s.kem.GenerateKey()
	if err != nil {
		return nil, nil, err
	}
	return hpkeKeyBytes(sk)
}

func (s hpkeSuite) HPKEPublicKey(priv []byte) ([]byte, error) {
	sk, err := s.kem.NewPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("%w: HPKE private key: %v", ErrInvalidKey, err)
	}
	return sk.PublicKey().Bytes(), nil
}

func hpkeKeyBytes(sk hpke.PrivateKey) ([]byte, []byte, error) {
	priv, err := sk.Bytes()
	if err != nil {
		return nil, nil, err
	}
	return priv, sk.PublicKey().Bytes(), nil
}

func (hpkeSuite) Sign(priv, msg []byte) ([]byte, error) {
	if len(priv) != ed25519.SeedSize {
		return nil, fmt.Errorf("%w: Ed25519 private key of %d bytes", ErrInvalidKey, len(priv))
	}
	return ed25519.Sign(ed25519.NewKeyFromSeed(priv), msg), nil
}

func (hpkeSuite) Verify(pub, msg, sig []byte) bool {
	if len(pub) != ed25519.PublicKeySize {
		return false
	}
	return ed25519.Verify(ed25519.PublicKey(pub), msg, sig)
}

func (hpkeSuite) GenerateSignatureKey() ([]byte, []byte, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	return priv.Seed(), pub, nil
}

func (hpkeSuite) SignaturePublicKey(priv []byte) ([]byte, error) {
	if len(priv) != ed25519.SeedSize {
		return nil, fmt.Errorf("%w: Ed25519 private key of %d bytes", ErrInvalidKey, len(priv))
	}
	return ed25519.NewKeyFromSeed(priv).Public().(ed25519.PublicKey), nil
}
