package files

import (
	"encoding/binary"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/quicprochat/qpc/protocol"
)

// ReferenceVersion is the version of the references this package writes.
const ReferenceVersion = 1

// MaxThumbnail bounds a reference's thumbnail, so that a reference fits a
// message.
const MaxThumbnail = 16 << 10

var refMagic = [4]byte{'Q', 'P', 'C', 'F'}

// Reference is what a recipient needs to fetch and open a file; it
// travels in an end-to-end encrypted message (layout in the package doc).
type Reference struct {
	// Name is the file's name as the sender had it (no directories; the
	// receiver sanitises it again before saving).
	Name string
	// MIME is the media type detected from the content, "" if unknown.
	MIME string
	// Size is the plaintext's length.
	Size uint64
	// ChunkSize is the plaintext size of each chunk but the last.
	ChunkSize int
	// Key is the file's key.
	Key [KeySize]byte
	// ID is the blob's id on the home node.
	ID [protocol.BlobIDSize]byte
	// Home is the domain of the sender's home node, which holds the blob.
	Home string
	// Expires is when the home node drops the blob.
	Expires time.Time
	// Thumbnail is an optional small preview (an image's), or nil.
	Thumbnail []byte
}

// Chunks is the number of chunks of the file.
func (r Reference) Chunks() int { return chunkCount(r.Size, r.ChunkSize) }

func (r Reference) check() error {
	if len(r.Name) == 0 || len(r.Name) > 255 || !utf8.ValidString(r.Name) {
		return fmt.Errorf("%w: name of %d bytes", ErrBadReference, len(r.Name))
	}
	for _, c := range r.Name {
		if unicode.IsControl(c) {
			return fmt.Errorf("%w: control character in the name", ErrBadReference)
		}
	}
	if len(r.MIME) > 127 {
		return fmt.Errorf("%w: media type of %d bytes", ErrBadReference, len(r.MIME))
	}
	for i := 0; i < len(r.MIME); i++ {
		if r.MIME[i] < 0x20 || r.MIME[i] > 0x7e {
			return fmt.Errorf("%w: media type not printable ASCII", ErrBadReference)
		}
	}
	if err := checkShape(r.Size, r.ChunkSize); err != nil {
		return err
	}
	if _, err := protocol.ParseDomain(r.Home); err != nil || len(r.Home) > 253 {
		return fmt.Errorf("%w: home %q", ErrBadReference, r.Home)
	}
	if len(r.Thumbnail) > MaxThumbnail {
		return fmt.Errorf("%w: thumbnail of %d bytes, at most %d", ErrBadReference, len(r.Thumbnail), MaxThumbnail)
	}
	return nil
}

// MarshalReference encodes r.
func MarshalReference(r Reference) ([]byte, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, 128+len(r.Name)+len(r.MIME)+len(r.Home)+len(r.Thumbnail))
	b = append(b, refMagic[:]...)
	b = append(b, ReferenceVersion, byte(len(r.Name)))
	b = append(b, r.Name...)
	b = append(b, byte(len(r.MIME)))
	b = append(b, r.MIME...)
	b = binary.BigEndian.AppendUint64(b, r.Size)
	b = binary.BigEndian.AppendUint32(b, uint32(r.ChunkSize))
	b = append(b, r.Key[:]...)
	b = append(b, r.ID[:]...)
	b = append(b, byte(len(r.Home)))
	b = append(b, r.Home...)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Expires.UnixMilli()))
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.Thumbnail)))
	b = append(b, r.Thumbnail...)
	return b, nil
}

// reader takes bytes off the front of a buffer; a read past its end sets
// short and yields zeros.
type reader struct {
	b     []byte
	short bool
}

func (r *reader) take(n int) []byte {
	if n > len(r.b) {
		r.short = true
		r.b = nil
		return make([]byte, n)
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u8() int          { return int(r.take(1)[0]) }
func (r *reader) u16() int         { return int(binary.BigEndian.Uint16(r.take(2))) }
func (r *reader) u32() uint32      { return binary.BigEndian.Uint32(r.take(4)) }
func (r *reader) u64() uint64      { return binary.BigEndian.Uint64(r.take(8)) }
func (r *reader) str(n int) string { return string(r.take(n)) }

// ParseReference decodes a reference, bounds-checked.
func ParseReference(b []byte) (Reference, error) {
	var ref Reference
	if len(b) < 5 || [4]byte(b[:4]) != refMagic {
		return ref, fmt.Errorf("%w: not a file reference", ErrBadReference)
	}
	if b[4] != ReferenceVersion {
		return ref, fmt.Errorf("%w: version %d", ErrReferenceVersion, b[4])
	}
	r := &reader{b: b[5:]}
	ref.Name = r.str(r.u8())
	ref.MIME = r.str(r.u8())
	ref.Size = r.u64()
	cs := r.u32()
	copy(ref.Key[:], r.take(KeySize))
	copy(ref.ID[:], r.take(protocol.BlobIDSize))
	ref.Home = r.str(r.u8())
	ref.Expires = time.UnixMilli(int64(r.u64()))
	if n := r.u16(); n > 0 {
		ref.Thumbnail = append([]byte(nil), r.take(n)...)
	}
	if r.short {
		return Reference{}, fmt.Errorf("%w: truncated", ErrBadReference)
	}
	if len(r.b) != 0 {
		return Reference{}, fmt.Errorf("%w: %d bytes after its end", ErrBadReference, len(r.b))
	}
	if cs > protocol.MaxBlobChunk {
		return Reference{}, fmt.Errorf("%w: chunk size %d", ErrBadReference, cs)
	}
	ref.ChunkSize = int(cs)
	if err := ref.check(); err != nil {
		return Reference{}, err
	}
	return ref, nil
}
