package files

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/quicprochat/qpc/protocol"
)

const (
	// KeySize is the length of a file key.
	KeySize = chacha20poly1305.KeySize
	// ChunkSize is the plaintext size of a chunk that this package
	// writes: 128 KiB, the middle of the range the node accepts, so that
	// a 50 MB file is 382 chunks and the node holds a few at a time.
	ChunkSize = 128 << 10
	// MinChunkSize is the smallest chunk size a reference may name.
	MinChunkSize = 1 << 10
	// Overhead is what sealing adds to a chunk.
	Overhead = chacha20poly1305.Overhead
	// MaxFileSize is the largest file this package sends: the seeds'
	// 50 MB.
	MaxFileSize = 50 << 20
)

var chunkAD = []byte("qpc-file-v1")

// NewKey returns a fresh random file key.
func NewKey() ([KeySize]byte, error) {
	var k [KeySize]byte
	_, err := rand.Read(k[:])
	return k, err
}

func nonce(index int, last bool) []byte {
	n := make([]byte, chacha20poly1305.NonceSize)
	binary.BigEndian.PutUint64(n, uint64(index))
	if last {
		n[11] = 1
	}
	return n
}

// SealChunk encrypts chunk index of a file, appending to dst.
func SealChunk(dst []byte, key [KeySize]byte, index int, last bool, plain []byte) []byte {
	a, _ := chacha20poly1305.New(key[:]) // only fails on a key of the wrong length
	return a.Seal(dst, nonce(index, last), plain, chunkAD)
}

// OpenChunk decrypts chunk index, which hashed right, of a file of count
// chunks. A chunk that does not open where it is but would as the last
// one, or the last that would open as another, says the file was cut
// (ErrTruncated); one that opens neither way was sealed under another key
// (ErrWrongKey).
func OpenChunk(dst []byte, key [KeySize]byte, index, count int, sealed []byte) ([]byte, error) {
	a, _ := chacha20poly1305.New(key[:])
	last := index == count-1
	out, err := a.Open(dst, nonce(index, last), sealed, chunkAD)
	if err == nil {
		return out, nil
	}
	if _, err2 := a.Open(nil, nonce(index, !last), sealed, chunkAD); err2 == nil {
		if last {
			return nil, fmt.Errorf("%w: the file goes on after chunk %d, its reference's last", ErrTruncated, index)
		}
		return nil, fmt.Errorf("%w: the file ends at chunk %d of the %d its reference names", ErrTruncated, index, count)
	}
	return nil, fmt.Errorf("%w: chunk %d", ErrWrongKey, index)
}

// chunkCount is the number of chunks of a plaintext of size bytes.
func chunkCount(size uint64, chunk int) int {
	if size == 0 {
		return 1
	}
	return int((size + uint64(chunk) - 1) / uint64(chunk))
}

// checkShape checks that a file of size bytes in chunks of chunk bytes
// fits what nodes accept.
func checkShape(size uint64, chunk int) error {
	if chunk < MinChunkSize || chunk > protocol.MaxBlobChunk-Overhead {
		return fmt.Errorf("%w: chunk size %d", ErrBadReference, chunk)
	}
	if size > MaxFileSize {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, size, MaxFileSize)
	}
	if n := chunkCount(size, chunk); n > protocol.MaxBlobChunks {
		return fmt.Errorf("%w: %d chunks, at most %d", ErrBadReference, n, protocol.MaxBlobChunks)
	}
	return nil
}
