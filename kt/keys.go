package kt

import (
	"crypto/sha256"
	"encoding/binary"
)

// keysLabel separates the keys hash from every other SHA-256 the protocol
// computes.
const keysLabel = "qpc kt keys v1"

// KeysHash returns the hash an entry holds for what a PublishedKeys answer
// carries that a client encrypts to or checks: SHA-256 over "qpc kt keys
// v1", 0x00, then each of identityKey, hpkeKey, signature, accountKey and
// deviceList as a u32 big-endian length and its bytes, in that order. The
// lengths keep one field's bytes from being read as the next one's.
func KeysHash(identityKey, hpkeKey, signature, accountKey, deviceList []byte) Hash {
	h := sha256.New()
	h.Write([]byte(keysLabel))
	h.Write([]byte{0})
	var n [4]byte
	for _, f := range [][]byte{identityKey, hpkeKey, signature, accountKey, deviceList} {
		binary.BigEndian.PutUint32(n[:], uint32(len(f)))
		h.Write(n[:])
		h.Write(f)
	}
	var out Hash
	h.Sum(out[:0])
	return out
}
