// Package keystore encrypts the client's state at rest under a key derived
// from the OPAQUE export key, so that only the user's password (through a
// login) opens it and the node, which never learns the export key, cannot.
//
// # File format
//
//	offset  size  field
//	0       5     magic "QPCKS"
//	5       1     version (Version = 1)
//	6       32    salt, random for every Seal
//	38      12    nonce, random for every Seal
//	50      n+16  ChaCha20-Poly1305 ciphertext of the n-byte plaintext, with tag
//
// The AEAD key is HKDF-SHA256(secret = export key, salt = salt,
// info = "qpc/1 keystore", 32 bytes); the 50-byte header is the additional
// data, so no header byte can be changed unnoticed. A fresh salt gives every
// file its own key, which makes the random nonce belt and braces. The
// plaintext is whatever the client stores; this package does not look in it.
//
// ChaCha20-Poly1305 is used for the same reason as in crypto/sealed: fast
// and free of table lookups on routers without AES instructions.
package keystore

import (
	"bytes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

const (
	// Magic starts every keystore file.
	Magic = "QPCKS"

	// Version is the format version Seal writes.
	Version = 1

	// SaltSize is the size of the HKDF salt in the header.
	SaltSize = 32

	// HeaderSize is the size of everything before the ciphertext.
	HeaderSize = len(Magic) + 1 + SaltSize + chacha20poly1305.NonceSize

	// Overhead is how much longer a keystore file is than its plaintext.
	Overhead = HeaderSize + chacha20poly1305.Overhead

	// MinKeySize is the shortest export key accepted. OPAQUE with SHA-512
	// gives 64 bytes.
	MinKeySize = 32

	keyInfo = "qpc/1 keystore"
)

// Seal encrypts plaintext under exportKey and returns the whole file.
func Seal(exportKey, plaintext []byte) ([]byte, error) {
	if len(exportKey) < MinKeySize {
		return nil, fmt.Errorf("%w: %d bytes, want at least %d", ErrShortKey, len(exportKey), MinKeySize)
	}
	out := make([]byte, HeaderSize, Overhead+len(plaintext))
	copy(out, Magic)
	out[len(Magic)] = Version
	rand.Read(out[len(Magic)+1 : HeaderSize]) // salt and nonce; never fails
	header := out[:HeaderSize:HeaderSize]
	aead, err := newAEAD(exportKey, header)
	if err != nil {
		return nil, err
	}
	// The ciphertext goes after the header in out; the header, read as nonce
	// and additional data, is not written to.
	return aead.Seal(out, header[HeaderSize-chacha20poly1305.NonceSize:], plaintext, header), nil
}

// Open decrypts a file written by Seal with the same exportKey. Errors:
// ErrNotKeystore, ErrTooOld, ErrUnsupportedVersion, ErrTruncated,
// ErrWrongKey, ErrShortKey.
func Open(exportKey, file []byte) ([]byte, error) {
	if len(exportKey) < MinKeySize {
		return nil, fmt.Errorf("%w: %d bytes, want at least %d", ErrShortKey, len(exportKey), MinKeySize)
	}
	if !bytes.HasPrefix(file, []byte(Magic)) {
		return nil, ErrNotKeystore
	}
	if len(file) == len(Magic) {
		return nil, fmt.Errorf("%w: no version", ErrTruncated)
	}
	switch v := file[len(Magic)]; {
	case v < Version:
		return nil, fmt.Errorf("%w: version %d", ErrTooOld, v)
	case v > Version:
		return nil, fmt.Errorf("%w: version %d", ErrUnsupportedVersion, v)
	}
	if len(file) < Overhead {
		return nil, fmt.Errorf("%w: %d bytes, at least %d needed", ErrTruncated, len(file), Overhead)
	}
	header := file[:HeaderSize]
	aead, err := newAEAD(exportKey, header)
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, header[HeaderSize-chacha20poly1305.NonceSize:], file[HeaderSize:], header)
	if err != nil {
		return nil, ErrWrongKey
	}
	return plain, nil
}

// newAEAD derives the file key from exportKey and the salt in header.
func newAEAD(exportKey, header []byte) (cipher.AEAD, error) {
	salt := header[len(Magic)+1 : len(Magic)+1+SaltSize]
	key, err := hkdf.Key(sha256.New, exportKey, salt, keyInfo, chacha20poly1305.KeySize)
	if err != nil {
		return nil, fmt.Errorf("keystore: derive key: %w", err)
	}
	return chacha20poly1305.New(key)
}
