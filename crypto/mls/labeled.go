package mls

import (
	"crypto/hmac"
	"encoding/binary"
	"fmt"
)

// labelPrefix is prepended to every label (RFC 9420 §5.1.2, §5.1.3, §5.1.4).
const labelPrefix = "MLS 1.0 "

// RefHash computes Hash(RefHashInput{label, value}) (RFC 9420 §5.2).
func RefHash(cs CipherSuite, label string, value []byte) ([]byte, error) {
	var w writer
	w.opaque([]byte(label))
	w.opaque(value)
	if w.err != nil {
		return nil, w.err
	}
	return cs.Hash(w.b), nil
}

// ExpandWithLabel is KDF.Expand(secret, KDFLabel{length, "MLS 1.0 "+label, context}, length).
func ExpandWithLabel(cs CipherSuite, secret []byte, label string, context []byte, length int) ([]byte, error) {
	if length < 0 || length > 0xffff {
		return nil, fmt.Errorf("%w: %d", ErrKeyLength, length)
	}
	var w writer
	w.u16(uint16(length))
	w.opaque([]byte(labelPrefix + label))
	w.opaque(context)
	if w.err != nil {
		return nil, w.err
	}
	return cs.Expand(secret, w.b, length)
}

// DeriveSecret is ExpandWithLabel(secret, label, "", Nh).
func DeriveSecret(cs CipherSuite, secret []byte, label string) ([]byte, error) {
	return ExpandWithLabel(cs, secret, label, nil, cs.HashLen())
}

// DeriveTreeSecret is ExpandWithLabel(secret, label, uint32 generation, length).
func DeriveTreeSecret(cs CipherSuite, secret []byte, label string, generation uint32, length int) ([]byte, error) {
	return ExpandWithLabel(cs, secret, label, binary.BigEndian.AppendUint32(nil, generation), length)
}

// signContent builds SignContent{"MLS 1.0 "+label, content}.
func signContent(label string, content []byte) ([]byte, error) {
	var w writer
	w.opaque([]byte(labelPrefix + label))
	w.opaque(content)
	return w.b, w.err
}

// SignWithLabel signs SignContent{label, content} with priv (RFC 9420 §5.1.2).
func SignWithLabel(cs CipherSuite, priv []byte, label string, content []byte) ([]byte, error) {
	tbs, err := signContent(label, content)
	if err != nil {
		return nil, err
	}
	return cs.Sign(priv, tbs)
}

// VerifyWithLabel checks a SignWithLabel signature; it returns ErrBadSignature
// when the signature does not verify.
func VerifyWithLabel(cs CipherSuite, pub []byte, label string, content, sig []byte) error {
	tbs, err := signContent(label, content)
	if err != nil {
		return err
	}
	if !cs.Verify(pub, tbs, sig) {
		return fmt.Errorf("%w: label %q", ErrBadSignature, label)
	}
	return nil
}

// encryptContext builds EncryptContext{"MLS 1.0 "+label, context}.
func encryptContext(label string, context []byte) ([]byte, error) {
	var w writer
	w.opaque([]byte(labelPrefix + label))
	w.opaque(context)
	return w.b, w.err
}

// EncryptWithLabel encrypts plaintext to pub with HPKE base mode, using
// EncryptContext{label, context} as the info and an empty AAD (RFC 9420 §5.1.3).
func EncryptWithLabel(cs CipherSuite, pub []byte, label string, context, plaintext []byte) (kemOutput, ciphertext []byte, err error) {
	info, err := encryptContext(label, context)
	if err != nil {
		return nil, nil, err
	}
	return cs.HPKESeal(pub, info, nil, plaintext)
}

// DecryptWithLabel reverses EncryptWithLabel with the private key priv.
func DecryptWithLabel(cs CipherSuite, priv []byte, label string, context, kemOutput, ciphertext []byte) ([]byte, error) {
	info, err := encryptContext(label, context)
	if err != nil {
		return nil, err
	}
	return cs.HPKEOpen(priv, info, nil, kemOutput, ciphertext)
}

// hmacEqual compares MACs in constant time.
func hmacEqual(a, b []byte) bool { return hmac.Equal(a, b) }
