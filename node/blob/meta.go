package blob

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

// MetaVersion is the version of the meta record this package writes.
const MetaVersion = 1

var metaMagic = [4]byte{'Q', 'P', 'C', 'B'}

// ErrBadMeta means a blob's meta record is malformed.
var ErrBadMeta = errors.New("malformed blob meta record")

// ErrMetaVersion means a meta record is of a version this build does not
// know (written by a newer qpc).
var ErrMetaVersion = errors.New("blob meta record of an unknown version")

// Meta is what a blob's meta record holds.
type Meta struct {
	// Owner is the user name of the blob's uploader, who alone may put.
	Owner string
	// Size is the declared size in bytes.
	Size uint64
	// Expires is when the blob is dropped.
	Expires time.Time
	// Hashes are the chunks' SHA-256 hashes in order.
	Hashes [][protocol.BlobIDSize]byte
}

const maxOwner = 64

// MarshalMeta encodes m in the layout of the package doc.
func MarshalMeta(m Meta) ([]byte, error) {
	if len(m.Owner) == 0 || len(m.Owner) > maxOwner {
		return nil, fmt.Errorf("%w: owner of %d bytes", ErrBadMeta, len(m.Owner))
	}
	if len(m.Hashes) < 1 || len(m.Hashes) > protocol.MaxBlobChunks {
		return nil, fmt.Errorf("%w: %d chunks", ErrBadMeta, len(m.Hashes))
	}
	b := make([]byte, 0, 4+1+1+len(m.Owner)+8+8+4+len(m.Hashes)*protocol.BlobIDSize)
	b = append(b, metaMagic[:]...)
	b = append(b, MetaVersion, byte(len(m.Owner)))
	b = append(b, m.Owner...)
	b = binary.BigEndian.AppendUint64(b, m.Size)
	b = binary.BigEndian.AppendUint64(b, uint64(m.Expires.UnixMilli()))
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.Hashes)))
	for i := range m.Hashes {
		b = append(b, m.Hashes[i][:]...)
	}
	return b, nil
}

// ParseMeta decodes a meta record, bounds-checked.
func ParseMeta(b []byte) (Meta, error) {
	var m Meta
	if len(b) < 6 || [4]byte(b[:4]) != metaMagic {
		return m, fmt.Errorf("%w: no magic", ErrBadMeta)
	}
	if b[4] != MetaVersion {
		return m, fmt.Errorf("%w: version %d", ErrMetaVersion, b[4])
	}
	n := int(b[5])
	b = b[6:]
	if n == 0 || n > maxOwner || len(b) < n+20 {
		return m, fmt.Errorf("%w: truncated or bad owner", ErrBadMeta)
	}
	m.Owner = string(b[:n])
	b = b[n:]
	m.Size = binary.BigEndian.Uint64(b)
	m.Expires = time.UnixMilli(int64(binary.BigEndian.Uint64(b[8:])))
	count := binary.BigEndian.Uint32(b[16:])
	b = b[20:]
	if count < 1 || count > protocol.MaxBlobChunks {
		return m, fmt.Errorf("%w: %d chunks", ErrBadMeta, count)
	}
	if len(b) != int(count)*protocol.BlobIDSize {
		return m, fmt.Errorf("%w: %d bytes of hashes for %d chunks", ErrBadMeta, len(b), count)
	}
	m.Hashes = make([][protocol.BlobIDSize]byte, count)
	for i := range m.Hashes {
		copy(m.Hashes[i][:], b[i*protocol.BlobIDSize:])
	}
	if err := protocol.CheckBlobShape(m.Size, len(m.Hashes)); err != nil {
		return m, fmt.Errorf("%w: %v", ErrBadMeta, err)
	}
	return m, nil
}
