package chatdb

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

const (
	// MinKeySize is the shortest export key accepted. OPAQUE with SHA-512
	// gives 64 bytes.
	MinKeySize = 32

	sealInfo  = "qpc chat db v1"
	indexInfo = "qpc chat db v1 index"

	// valueVersion is the first byte of every sealed value.
	valueVersion = 1
	valueHeader  = 1 + chacha20poly1305.NonceSizeX
	// valueOverhead is how much longer a sealed value is than its record.
	valueOverhead = valueHeader + chacha20poly1305.Overhead
)

// sealer seals and opens values and computes index keys. It is safe for
// concurrent use.
type sealer struct {
	aead  cipher.AEAD
	index []byte
}

func newSealer(exportKey []byte) (*sealer, error) {
	if len(exportKey) < MinKeySize {
		return nil, fmt.Errorf("chatdb: %w: %d bytes, want at least %d", ErrShortKey, len(exportKey), MinKeySize)
	}
	key, err := hkdf.Key(sha256.New, exportKey, nil, sealInfo, chacha20poly1305.KeySize)
	if err != nil {
		return nil, fmt.Errorf("chatdb: derive key: %w", err)
	}
	index, err := hkdf.Key(sha256.New, exportKey, nil, indexInfo, sha256.Size)
	if err != nil {
		return nil, fmt.Errorf("chatdb: derive index key: %w", err)
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("chatdb: %w", err)
	}
	return &sealer{aead: aead, index: index}, nil
}

// additionalData binds a value to its bucket and key.
func additionalData(bucket, key []byte) []byte {
	ad := make([]byte, 0, 2+len(bucket)+len(key))
	ad = append(ad, valueVersion, byte(len(bucket)))
	ad = append(ad, bucket...)
	return append(ad, key...)
}

// seal returns the value to store for record at key in bucket.
func (s *sealer) seal(bucket, key, record []byte) []byte {
	v := make([]byte, valueHeader, valueOverhead+len(record))
	v[0] = valueVersion
	rand.Read(v[1:valueHeader]) // never fails
	return s.aead.Seal(v, v[1:valueHeader], record, additionalData(bucket, key))
}

var errNotAuthentic = errors.New("does not authenticate (altered, moved from another key, or sealed under another key)")

// open returns the record sealed in the value at key in bucket, or a
// *CorruptError.
func (s *sealer) open(bucket, key, value []byte) ([]byte, error) {
	var err error
	switch {
	case len(value) < valueOverhead:
		err = fmt.Errorf("%w: value of %d bytes, at least %d needed", errTruncated, len(value), valueOverhead)
	case value[0] != valueVersion:
		err = fmt.Errorf("value version %d, want %d", value[0], valueVersion)
	default:
		var record []byte
		record, err = s.aead.Open(nil, value[1:valueHeader], value[valueHeader:], additionalData(bucket, key))
		if err == nil {
			return record, nil
		}
		err = errNotAuthentic
	}
	return nil, corrupt(bucket, key, err)
}

func corrupt(bucket, key []byte, err error) error {
	return &CorruptError{Bucket: string(bucket), Key: append([]byte(nil), key...), Err: err}
}

// indexKey is the key of the record whose natural key is parts in bucket:
// HMAC-SHA256(index key, bucket | 0x00 | parts...). The parts of one
// bucket are fixed-length but for the last, so that their concatenation
// is unambiguous.
func (s *sealer) indexKey(bucket []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, s.index)
	m.Write(bucket)
	m.Write([]byte{0})
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}
