package protocol

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// Errors of the node's file (blob) store, each with its wire code.
var (
	// ErrBlobTooLarge means a blob is larger than the node's per-file
	// bound; nothing was stored.
	ErrBlobTooLarge = errors.New("file is larger than the node allows")
	// ErrBlobQuota means a blob would take the uploader past their quota
	// of stored files; nothing held was evicted.
	ErrBlobQuota = errors.New("your quota for stored files is used up")
	// ErrBlobStoreFull means the node's file store is at its bound;
	// nothing held was evicted.
	ErrBlobStoreFull = errors.New("node's file store is full")
	// ErrNoSuchBlob means a node holds no such blob or chunk: never
	// uploaded, not uploaded yet, or expired.
	ErrNoSuchBlob = errors.New("no such file on the node (never uploaded, or expired)")
	// ErrBadChunk means a chunk's bytes do not hash to what its blob
	// declared.
	ErrBadChunk = errors.New("file chunk does not match its declared hash")
)

const (
	// BlobIDSize is the length of a blob id and of a chunk hash.
	BlobIDSize = sha256.Size
	// MaxBlobChunk is the most bytes one chunk of a blob may hold: the
	// client core's 128 KiB of plaintext and its AEAD tag fit with room.
	MaxBlobChunk = 256 << 10
	// MaxBlobChunks bounds the chunks of one blob (a 50 MB file in
	// 128 KiB chunks has 382).
	MaxBlobChunks = 4096
)

// blobIDLabel separates blob ids from every other SHA-256 of qpc.
const blobIDLabel = "qpc-blob-v1"

// BlobID returns the id of the blob whose chunks hash to hashes, in order
// (schemas/node.capnp): SHA-256 of a label, the count and the hashes.
func BlobID(hashes [][BlobIDSize]byte) [BlobIDSize]byte {
	h := sha256.New()
	h.Write([]byte(blobIDLabel))
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(hashes)))
	h.Write(n[:])
	for i := range hashes {
		h.Write(hashes[i][:])
	}
	var id [BlobIDSize]byte
	h.Sum(id[:0])
	return id
}

// BlobStat describes a stored blob (schemas.BlobStat).
type BlobStat struct {
	// ID is the blob's id, BlobID(Chunks).
	ID [BlobIDSize]byte
	// Size is the sum of the chunks' lengths, as declared.
	Size uint64
	// Chunks are the chunks' SHA-256 hashes in order.
	Chunks [][BlobIDSize]byte
	// Held is how many chunks the node holds.
	Held int
	// ExpiresMillis is when the node drops the blob (Unix ms).
	ExpiresMillis int64
}

// Complete reports whether the node holds every chunk.
func (s BlobStat) Complete() bool { return s.Held == len(s.Chunks) }

// BlobHash reads a 32-byte id or chunk hash from the wire.
func BlobHash(b []byte) ([BlobIDSize]byte, error) {
	var h [BlobIDSize]byte
	if len(b) != BlobIDSize {
		return h, fmt.Errorf("%w: a blob id or chunk hash has %d bytes, not %d", ErrBadRequest, len(b), BlobIDSize)
	}
	copy(h[:], b)
	return h, nil
}

// CheckBlobShape checks a blob's declaration before anything is stored:
// 1 to MaxBlobChunks chunks, a size that the chunks can hold.
func CheckBlobShape(size uint64, chunks int) error {
	if chunks < 1 || chunks > MaxBlobChunks {
		return fmt.Errorf("%w: a file has %d chunks (1-%d)", ErrBadRequest, chunks, MaxBlobChunks)
	}
	if size > uint64(chunks)*MaxBlobChunk {
		return fmt.Errorf("%w: %d bytes do not fit in %d chunks of at most %d", ErrBadRequest, size, chunks, MaxBlobChunk)
	}
	return nil
}
