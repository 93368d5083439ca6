package kt

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/binary"
	"fmt"

	"github.com/quicprochat/qpc/protocol"
)

// HeadVersion is the version byte of an encoded SignedHead.
const HeadVersion = 1

// headLabel starts the statement a head's signer signs, so that the
// signature cannot be taken for one over anything else the key signs.
const headLabel = "qpc kt head v1"

// SignerKind says what key signed a head. Its values are on the wire.
type SignerKind uint8

// The kinds of signer.
const (
	// SignerNodeKey is the node's own Ed25519 key, carried in the head.
	SignerNodeKey SignerKind = 1
	// SignerCertificate is the key of the node's federation certificate,
	// carried (DER) in the head.
	SignerCertificate SignerKind = 2
)

// Bounds of a signed head's fields.
const (
	// MaxDomain is the longest domain a head names, in bytes.
	MaxDomain = 253
	// MaxCert is the longest certificate a head carries, in bytes.
	MaxCert = 4096
)

// Head is a tree head: the size and root of a node's log at a time.
type Head struct {
	// Domain is the domain of the node whose log it is (protocol.ValidDomain).
	Domain string
	// Size is the number of leaves.
	Size uint64
	// Root is the tree's root over those leaves.
	Root Hash
	// TimeMillis is when the node signed the head, Unix milliseconds.
	TimeMillis int64
}

// Statement returns the bytes a head's signer signs: "qpc kt head v1",
// 0x00, u8 length and domain, u64 size, the root, i64 time.
func (h Head) Statement() []byte {
	b := make([]byte, 0, len(headLabel)+1+1+len(h.Domain)+8+32+8)
	b = append(b, headLabel...)
	b = append(b, 0, byte(len(h.Domain)))
	b = append(b, h.Domain...)
	b = binary.BigEndian.AppendUint64(b, h.Size)
	b = append(b, h.Root[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(h.TimeMillis))
	return b
}

// validate checks the head's domain; its errors wrap ErrEncoding.
func (h Head) validate() error {
	if len(h.Domain) == 0 || len(h.Domain) > MaxDomain {
		return fmt.Errorf("%w: head domain of %d bytes (want 1..%d)", ErrEncoding, len(h.Domain), MaxDomain)
	}
	if err := protocol.ValidDomain(h.Domain); err != nil {
		return fmt.Errorf("%w: head domain: %v", ErrEncoding, err)
	}
	return nil
}

// SignedHead is a Head with its signer and signature. Its encoding is in
// the package doc. Verify checks the signature under the key the head
// names; whether that key may sign for the domain is the caller's check.
type SignedHead struct {
	Head
	// Kind says which of Key and Cert names the signer.
	Kind SignerKind
	// Key is the signer's public key when Kind is SignerNodeKey.
	Key ed25519.PublicKey
	// Cert is the signer's DER certificate when Kind is SignerCertificate.
	Cert []byte
	// Signature is Ed25519 over Head.Statement.
	Signature []byte
}

// SignHead signs h with key. With cert nil the head names key's public key
// (SignerNodeKey); otherwise it carries cert (SignerCertificate), whose
// Ed25519 key must be key's. Its errors wrap ErrEncoding (a bad domain or
// certificate) or ErrSignature (a certificate of another key).
func SignHead(h Head, key ed25519.PrivateKey, cert []byte) (SignedHead, error) {
	if err := h.validate(); err != nil {
		return SignedHead{}, err
	}
	if len(key) != ed25519.PrivateKeySize {
		return SignedHead{}, fmt.Errorf("%w: private key of %d bytes", ErrSignature, len(key))
	}
	pub := key.Public().(ed25519.PublicKey)
	s := SignedHead{Head: h}
	if cert == nil {
		s.Kind = SignerNodeKey
		s.Key = pub
	} else {
		s.Kind = SignerCertificate
		s.Cert = append([]byte(nil), cert...)
		certKey, err := s.PublicKey()
		if err != nil {
			return SignedHead{}, err
		}
		if !certKey.Equal(pub) {
			return SignedHead{}, fmt.Errorf("%w: the certificate is for another key than the one signing", ErrSignature)
		}
	}
	s.Signature = ed25519.Sign(key, h.Statement())
	return s, nil
}

// PublicKey returns the key that signs the head: Key, or the Ed25519 key
// of Cert parsed with crypto/x509. It does not check the certificate's
// chain or names. Its errors wrap ErrEncoding (kind, key length, DER) or
// ErrSignature (a certificate whose key is not Ed25519).
func (s SignedHead) PublicKey() (ed25519.PublicKey, error) {
	switch s.Kind {
	case SignerNodeKey:
		if len(s.Key) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: head signer key of %d bytes", ErrEncoding, len(s.Key))
		}
		return s.Key, nil
	case SignerCertificate:
		if len(s.Cert) == 0 || len(s.Cert) > MaxCert {
			return nil, fmt.Errorf("%w: head certificate of %d bytes (want 1..%d)", ErrEncoding, len(s.Cert), MaxCert)
		}
		c, err := x509.ParseCertificate(s.Cert)
		if err != nil {
			return nil, fmt.Errorf("%w: head certificate: %v", ErrEncoding, err)
		}
		k, ok := c.PublicKey.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("%w: head certificate's key is %T, not Ed25519", ErrSignature, c.PublicKey)
		}
		return k, nil
	}
	return nil, fmt.Errorf("%w: head signer kind %d unknown", ErrEncoding, s.Kind)
}

// Verify checks the signature over the head's statement under PublicKey.
// It returns an error wrapping ErrSignature or ErrEncoding.
func (s SignedHead) Verify() error {
	if err := s.Head.validate(); err != nil {
		return err
	}
	pub, err := s.PublicKey()
	if err != nil {
		return err
	}
	if len(s.Signature) != ed25519.SignatureSize {
		return fmt.Errorf("%w: signature of %d bytes", ErrSignature, len(s.Signature))
	}
	if !ed25519.Verify(pub, s.Head.Statement(), s.Signature) {
		return fmt.Errorf("%w: head of %s at size %d", ErrSignature, s.Domain, s.Size)
	}
	return nil
}

// Marshal encodes s as the package doc lays out. A head whose fields are
// out of bounds (domain, kind, key or certificate length, signature
// length) encodes to nil, which ParseSignedHead refuses.
func (s SignedHead) Marshal() []byte {
	if s.validateFields() != nil {
		return nil
	}
	b := make([]byte, 0, 2+len(s.Domain)+8+32+8+1+2+len(s.Key)+len(s.Cert)+len(s.Signature))
	b = append(b, HeadVersion, byte(len(s.Domain)))
	b = append(b, s.Domain...)
	b = binary.BigEndian.AppendUint64(b, s.Size)
	b = append(b, s.Root[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(s.TimeMillis))
	b = append(b, byte(s.Kind))
	if s.Kind == SignerNodeKey {
		b = append(b, s.Key...)
	} else {
		b = binary.BigEndian.AppendUint16(b, uint16(len(s.Cert)))
		b = append(b, s.Cert...)
	}
	b = append(b, s.Signature...)
	return b
}

// validateFields checks what the encoding bounds, without parsing the
// certificate or checking the signature.
func (s SignedHead) validateFields() error {
	if err := s.Head.validate(); err != nil {
		return err
	}
	switch s.Kind {
	case SignerNodeKey:
		if len(s.Key) != ed25519.PublicKeySize {
			return fmt.Errorf("%w: head signer key of %d bytes", ErrEncoding, len(s.Key))
		}
		if len(s.Cert) != 0 {
			return fmt.Errorf("%w: node-key head with a certificate", ErrEncoding)
		}
	case SignerCertificate:
		if len(s.Cert) == 0 || len(s.Cert) > MaxCert {
			return fmt.Errorf("%w: head certificate of %d bytes (want 1..%d)", ErrEncoding, len(s.Cert), MaxCert)
		}
		if len(s.Key) != 0 {
			return fmt.Errorf("%w: certificate head with a bare key", ErrEncoding)
		}
	default:
		return fmt.Errorf("%w: head signer kind %d unknown", ErrEncoding, s.Kind)
	}
	if len(s.Signature) != ed25519.SignatureSize {
		return fmt.Errorf("%w: head signature of %d bytes", ErrEncoding, len(s.Signature))
	}
	return nil
}

// ParseSignedHead decodes a head that Marshal made. It checks the layout
// and bounds, not the signature (Verify does). Nothing may follow it. Its
// errors wrap ErrEncoding.
func ParseSignedHead(b []byte) (SignedHead, error) {
	r := reader{b: b, what: "tree head"}
	ver := r.u8()
	if r.err == nil && ver != HeadVersion {
		return SignedHead{}, fmt.Errorf("%w: tree head version %d unknown (want %d)", ErrEncoding, ver, HeadVersion)
	}
	var s SignedHead
	s.Domain = string(r.bytes(int(r.u8())))
	s.Size = r.u64()
	copy(s.Root[:], r.bytes(32))
	s.TimeMillis = int64(r.u64())
	s.Kind = SignerKind(r.u8())
	if r.err == nil {
		switch s.Kind {
		case SignerNodeKey:
			s.Key = ed25519.PublicKey(bytes.Clone(r.bytes(ed25519.PublicKeySize)))
		case SignerCertificate:
			n := int(r.u16())
			if r.err == nil && (n == 0 || n > MaxCert) {
				return SignedHead{}, fmt.Errorf("%w: head certificate of %d bytes (want 1..%d)", ErrEncoding, n, MaxCert)
			}
			s.Cert = bytes.Clone(r.bytes(n))
		default:
			return SignedHead{}, fmt.Errorf("%w: head signer kind %d unknown", ErrEncoding, s.Kind)
		}
	}
	s.Signature = bytes.Clone(r.bytes(ed25519.SignatureSize))
	if err := r.end(); err != nil {
		return SignedHead{}, err
	}
	if err := s.validateFields(); err != nil {
		return SignedHead{}, err
	}
	return s, nil
}

// Reasons a pair of heads is evidence against a log (KtEvidence.reason).
const (
	// ReasonFork: two heads of one log for the same size with different roots.
	ReasonFork = "fork"
	// ReasonInconsistent: a consistency proof between two heads of one log
	// failed, so the later does not extend the earlier.
	ReasonInconsistent = "inconsistent"
)

// SameLog reports whether a and b are heads of the same log: their
// domains are equal.
func SameLog(a, b SignedHead) bool { return a.Domain == b.Domain }

// Contradicts reports whether a and b, on their own, prove that their log
// is not append-only: heads of the same log and size with different
// roots (ReasonFork). Heads of different sizes need a consistency proof
// to judge (VerifyConsistency; ReasonInconsistent when it fails). It does
// not check signatures: the caller verifies both heads first, or the
// "evidence" proves nothing.
func Contradicts(a, b SignedHead) (reason string, ok bool) {
	if SameLog(a, b) && a.Size == b.Size && a.Root != b.Root {
		return ReasonFork, true
	}
	return "", false
}
