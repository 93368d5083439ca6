// Package capnpmsg encodes and decodes the standalone Cap'n Proto messages
// that hold one struct from another node or from disk (a mesh envelope, a
// channel post), so that every such format gets the same defences:
// Unmarshal bounds the input, its segment table and the bytes the decoder
// may read, and Copier copies a struct's byte fields out under a bound each.
//
// Its errors say what was wrong but are not sentinels: every one means
// "malformed", and the caller wraps it in the sentinel of its own format.
package capnpmsg

import (
	"encoding/binary"
	"fmt"

	"capnproto.org/go/capnp/v3"
)

// MaxSegments bounds the segments of a message Unmarshal takes. Marshal
// writes one; another writer may split a large message into a few. The
// bound keeps a small hostile header from making the decoder allocate a
// table for hundreds of thousands of empty segments.
const MaxSegments = 16

// Size returns the bytes of a one-segment message whose root is a struct of
// size s with the given byte fields, each given by its length in the
// message (a Text's includes its NUL; an empty Text is a null pointer, but
// counting it costs only a word): the segment Marshal should start with so
// that it never grows, which would copy a large field again.
func Size(s capnp.ObjectSize, fields ...int) int {
	n := 8 + int(s.DataSize) + 8*int(s.PointerCount) // root pointer, struct
	for _, f := range fields {
		n += (f + 7) &^ 7
	}
	return n
}

// Marshal encodes one message in the standard unpacked stream framing, in
// a single segment of size bytes to start with (see Size): newRoot makes
// the root struct, fill sets its fields. An error of fill is returned as it
// is.
func Marshal[T any](size int, newRoot func(*capnp.Segment) (T, error), fill func(T) error) ([]byte, error) {
	msg, seg, err := capnp.NewMessage(capnp.SingleSegment(make([]byte, 0, size)))
	if err != nil {
		return nil, err
	}
	root, err := newRoot(seg)
	if err != nil {
		return nil, fmt.Errorf("root: %w", err)
	}
	if err := fill(root); err != nil {
		return nil, err
	}
	return msg.Marshal()
}

// Unmarshal decodes b, exactly one message in the standard unpacked stream
// framing of at most maxBytes bytes and MaxSegments segments whose root is
// a struct, and returns the root as readRoot reads it. It never panics.
//
// The message's traversal limit is len(b): an honest message reads each of
// its bytes at most once, so pointers that overlap to make a small input
// decode large run out of it. The limit covers every read of the returned
// struct; read each of its pointer fields once. The struct shares b.
func Unmarshal[T interface{ IsValid() bool }](b []byte, maxBytes int, readRoot func(*capnp.Message) (T, error)) (T, error) {
	var zero T
	if len(b) > maxBytes {
		return zero, fmt.Errorf("%d bytes, at most %d", len(b), maxBytes)
	}
	if err := checkFraming(b); err != nil {
		return zero, err
	}
	msg, err := capnp.Unmarshal(b)
	if err != nil {
		return zero, err
	}
	msg.ResetReadLimit(uint64(len(b)))
	root, err := readRoot(msg)
	if err != nil {
		return zero, fmt.Errorf("root: %v", err)
	}
	if !root.IsValid() {
		return zero, fmt.Errorf("root is not a struct")
	}
	return root, nil
}

// checkFraming checks the stream framing's segment table against b before
// the decoder sees it: at most MaxSegments segments, and segments that end
// exactly where b does, so that trailing bytes are refused too.
func checkFraming(b []byte) error {
	if len(b) < 8 {
		return fmt.Errorf("%d bytes, shorter than a message header", len(b))
	}
	n := uint64(binary.LittleEndian.Uint32(b)) + 1
	if n > MaxSegments {
		return fmt.Errorf("%d segments, at most %d", n, MaxSegments)
	}
	// The header is the count and one size per segment, in 4-byte words,
	// padded to 8 bytes.
	hdr := (4 + 4*n + 7) &^ 7
	if uint64(len(b)) < hdr {
		return fmt.Errorf("header of %d segments truncated", n)
	}
	total := hdr
	for i := uint64(0); i < n; i++ {
		total += 8 * uint64(binary.LittleEndian.Uint32(b[4+4*i:]))
	}
	if total != uint64(len(b)) {
		return fmt.Errorf("framing says %d bytes, have %d", total, len(b))
	}
	return nil
}
