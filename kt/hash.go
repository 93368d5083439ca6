package kt

import (
	"crypto/sha256"
	"encoding/hex"
	"math/bits"
)

// Hash is a SHA-256 value: a leaf hash, an interior node or a tree's root.
type Hash [32]byte

// String returns the hash in lower-case hex, for logs and audit output.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether every byte of h is zero: the keys hash of a
// delete entry.
func (h Hash) IsZero() bool { return h == Hash{} }

// Domain-separation prefixes of RFC 9162 §2.1.1: a leaf can never be read as
// an interior node and the other way round.
const (
	leafPrefix = 0x00
	nodePrefix = 0x01
)

// EmptyRoot is the root of the tree of no leaves: SHA-256 of the empty string.
var EmptyRoot = Hash(sha256.Sum256(nil))

// LeafHash returns the hash of a leaf whose data is entry (an encoded
// Entry): SHA-256(0x00 || entry).
func LeafHash(entry []byte) Hash {
	h := sha256.New()
	h.Write([]byte{leafPrefix})
	h.Write(entry)
	var out Hash
	h.Sum(out[:0])
	return out
}

// NodeHash returns the hash of the interior node over l and r:
// SHA-256(0x01 || l || r).
func NodeHash(l, r Hash) Hash {
	var buf [1 + 2*len(Hash{})]byte
	buf[0] = nodePrefix
	copy(buf[1:], l[:])
	copy(buf[33:], r[:])
	return sha256.Sum256(buf[:])
}

// RootOf computes the root over leaves the naive way, by the recursion of
// RFC 9162 §2.1.1. It stores nothing and reads every leaf, so it is the
// reference the tree functions are tested against, and what an auditor
// that holds all the leaves may use.
func RootOf(leaves []Hash) Hash {
	switch len(leaves) {
	case 0:
		return EmptyRoot
	case 1:
		return leaves[0]
	}
	k := splitPoint(uint64(len(leaves)))
	return NodeHash(RootOf(leaves[:k]), RootOf(leaves[k:]))
}

// splitPoint returns the largest power of two smaller than n (n >= 2): where
// RFC 9162 splits a list of n leaves into two subtrees.
func splitPoint(n uint64) uint64 {
	return 1 << (bits.Len64(n-1) - 1)
}
