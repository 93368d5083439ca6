// Package commitclaim proves to the node that orders an MLS group's commits
// (its home node, the commit sequencer) that a claim comes from a member of
// the epoch it claims, without telling the node anything about the group's
// keys or messages.
//
// Every epoch e of a group has a sequencer key: an Ed25519 key pair whose
// seed is the MLS exporter value Export(ExportLabel, group id, 32) of epoch
// e (RFC 9420 §8.5). Every member of epoch e can derive it; a member removed
// before e cannot, and the exporter is one-way, so the public key reveals
// nothing of the epoch's other secrets. The sequencer stores, per group,
// the public key of the group's next epoch. A claim of epoch e carries that
// public key, the public key of epoch e+1 (which the committer derives from
// its pending commit, see mls.Group.PendingExport) and a signature by the
// key of e over Message. The signature binds the claim to its commit and to
// the next key, so a node that relays a claim (or records it) cannot reuse
// it for another commit: a plain secret token would let every node on the
// path claim the epoch in the member's place.
//
// Message layout, all integers big-endian:
//
//	"qpc commit claim v1" (19 bytes) | len(group) (1) | group | epoch (8) |
//	SHA-256(commit) (32) | next key (32)
package commitclaim

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// ExportLabel is the MLS exporter label of the sequencer key's seed; the
// exporter's context is the group id.
const ExportLabel = "qpc sequencer key"

// SeedSize is the length of the exported seed.
const SeedSize = ed25519.SeedSize

// KeySize and ProofSize are the lengths of a sequencer key and a proof.
const (
	KeySize   = ed25519.PublicKeySize
	ProofSize = ed25519.SignatureSize
)

// MaxGroupID is the longest group id a message can carry (its length is
// one byte).
const MaxGroupID = 255

// messagePrefix versions the signed message: a new layout gets a new one.
const messagePrefix = "qpc commit claim v1"

// Errors of Verify and Key.
var (
	// ErrBadProof means a claim's signature does not verify under the key
	// it names, or a key or proof has the wrong length.
	ErrBadProof = errors.New("commit claim proof does not verify")
	// ErrBadSeed means an exported seed is not SeedSize bytes.
	ErrBadSeed = errors.New("sequencer key seed of the wrong length")
)

// Key is the sequencer key pair of an epoch whose exporter gave seed.
func Key(seed []byte) (ed25519.PrivateKey, error) {
	if len(seed) != SeedSize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrBadSeed, len(seed), SeedSize)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// Public returns the public half of a sequencer key.
func Public(k ed25519.PrivateKey) []byte {
	return append([]byte(nil), k.Public().(ed25519.PublicKey)...)
}

// Message is what a claim of epoch of group for commit, naming nextKey as
// the key of the epoch the commit creates, signs. group is cut at
// MaxGroupID bytes (longer ids are refused before anyone signs or checks).
func Message(group []byte, epoch uint64, commit, nextKey []byte) []byte {
	if len(group) > MaxGroupID {
		group = group[:MaxGroupID]
	}
	h := sha256.Sum256(commit)
	m := make([]byte, 0, len(messagePrefix)+1+len(group)+8+len(h)+len(nextKey))
	m = append(m, messagePrefix...)
	m = append(m, byte(len(group)))
	m = append(m, group...)
	m = binary.BigEndian.AppendUint64(m, epoch)
	m = append(m, h[:]...)
	return append(m, nextKey...)
}

// Sign proves a claim with the sequencer key k of the claimed epoch.
func Sign(k ed25519.PrivateKey, group []byte, epoch uint64, commit, nextKey []byte) []byte {
	return ed25519.Sign(k, Message(group, epoch, commit, nextKey))
}

// Verify checks that proof signs the claim under key, and that key and
// nextKey have the length of a key; it fails with ErrBadProof.
func Verify(key, proof, group []byte, epoch uint64, commit, nextKey []byte) error {
	switch {
	case len(key) != KeySize:
		return fmt.Errorf("%w: key of %d bytes, want %d", ErrBadProof, len(key), KeySize)
	case len(nextKey) != KeySize:
		return fmt.Errorf("%w: next key of %d bytes, want %d", ErrBadProof, len(nextKey), KeySize)
	case len(proof) != ProofSize:
		return fmt.Errorf("%w: proof of %d bytes, want %d", ErrBadProof, len(proof), ProofSize)
	case !ed25519.Verify(key, Message(group, epoch, commit, nextKey), proof):
		return ErrBadProof
	}
	return nil
}
