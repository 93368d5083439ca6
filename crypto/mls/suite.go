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
	"fmt"
)

// CipherSuiteID is the registered MLS cipher suite identifier (RFC 9420 §17.1).
type CipherSuiteID uint16

// Supported cipher suites.
const (
	// X25519AES128GCMSHA256Ed25519 is MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519.
	X25519AES128GCMSHA256Ed25519 CipherSuiteID = 0x0001
)

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
	default:
		return nil, fmt.Errorf("%w: 0x%04x", ErrUnsupportedCipherSuite, uint16(id))
	}
}

var suite1 CipherSuite = x25519Suite{kem: hpke.DHKEM(ecdh.X25519())}

// x25519Suite implements MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519.
type x25519Suite struct {
	kem hpke.KEM
}

func (x25519Suite) ID() CipherSuiteID { return X25519AES128GCMSHA256Ed25519 }
func (x25519Suite) HashLen() int      { return sha256.Size }
func (x25519Suite) Hash(data []byte) []byte {
	h := sha256.Sum256(data)
	return h[:]
}

func (x25519Suite) MAC(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}

func (x25519Suite) Extract(salt, ikm []byte) []byte {
	// hkdf.Extract with SHA-256 cannot fail.
	prk, _ := hkdf.Extract(sha256.New, ikm, salt)
	return prk
}

func (x25519Suite) Expand(prk, info []byte, length int) ([]byte, error) {
	if length <= 0 || length > 255*sha256.Size {
		return nil, fmt.Errorf("%w: %d", ErrKeyLength, length)
	}
	return hkdf.Expand(sha256.New, prk, string(info), length)
}

func (x25519Suite) AEADKeyLen() int   { return 16 }
func (x25519Suite) AEADNonceLen() int { return 12 }
func (x25519Suite) AEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != 16 {
		return nil, fmt.Errorf("%w: AES-128 key of %d bytes", ErrInvalidKey, len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func (s x25519Suite) HPKESeal(pub, info, aad, plaintext []byte) ([]byte, []byte, error) {
	pk, err := s.kem.NewPublicKey(pub)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: HPKE public key: %v", ErrInvalidKey, err)
	}
	enc, sender, err := hpke.NewSender(pk, hpke.HKDFSHA256(), hpke.AES128GCM(), info)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	ct, err := sender.Seal(aad, plaintext)
	if err != nil {
		return nil, nil, err
	}
	return enc, ct, nil
}

func (s x25519Suite) HPKEOpen(priv, info, aad, kemOutput, ciphertext []byte) ([]byte, error) {
	sk, err := s.kem.NewPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("%w: HPKE private key: %v", ErrInvalidKey, err)
	}
	rcp, err := hpke.NewRecipient(kemOutput, sk, hpke.HKDFSHA256(), hpke.AES128GCM(), info)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecryption, err)
	}
	pt, err := rcp.Open(aad, ciphertext)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecryption, err)
	}
	return pt, nil
}

func (s x25519Suite) HPKEExportSend(pub, info []byte, exporterContext string, length int) ([]byte, []byte, error) {
	pk, err := s.kem.NewPublicKey(pub)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: HPKE public key: %v", ErrInvalidKey, err)
	}
	enc, sender, err := hpke.NewSender(pk, hpke.HKDFSHA256(), hpke.AES128GCM(), info)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	secret, err := sender.Export(exporterContext, length)
	if err != nil {
		return nil, nil, err
	}
	return enc, secret, nil
}

func (s x25519Suite) HPKEExportReceive(priv, kemOutput, info []byte, exporterContext string, length int) ([]byte, error) {
	sk, err := s.kem.NewPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("%w: HPKE private key: %v", ErrInvalidKey, err)
	}
	rcp, err := hpke.NewRecipient(kemOutput, sk, hpke.HKDFSHA256(), hpke.AES128GCM(), info)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecryption, err)
	}
	return rcp.Export(exporterContext, length)
}

func (s x25519Suite) DeriveKeyPair(ikm []byte) ([]byte, []byte, error) {
	sk, err := s.kem.DeriveKeyPair(ikm)
	if err != nil {
		return nil, nil, err
	}
	return hpkeKeyBytes(sk)
}

func (s x25519Suite) GenerateKeyPair() ([]byte, []byte, error) {
	sk, err := s.kem.GenerateKey()
	if err != nil {
		return nil, nil, err
	}
	return hpkeKeyBytes(sk)
}

func (s x25519Suite) HPKEPublicKey(priv []byte) ([]byte, error) {
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

func (x25519Suite) Sign(priv, msg []byte) ([]byte, error) {
	if len(priv) != ed25519.SeedSize {
		return nil, fmt.Errorf("%w: Ed25519 private key of %d bytes", ErrInvalidKey, len(priv))
	}
	return ed25519.Sign(ed25519.NewKeyFromSeed(priv), msg), nil
}

func (x25519Suite) Verify(pub, msg, sig []byte) bool {
	if len(pub) != ed25519.PublicKeySize {
		return false
	}
	return ed25519.Verify(ed25519.PublicKey(pub), msg, sig)
}

func (x25519Suite) GenerateSignatureKey() ([]byte, []byte, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	return priv.Seed(), pub, nil
}

func (x25519Suite) SignaturePublicKey(priv []byte) ([]byte, error) {
	if len(priv) != ed25519.SeedSize {
		return nil, fmt.Errorf("%w: Ed25519 private key of %d bytes", ErrInvalidKey, len(priv))
	}
	return ed25519.NewKeyFromSeed(priv).Public().(ed25519.PublicKey), nil
}
