package mls

import (
	"encoding/binary"
	"fmt"
)

// maxVarint is the largest value an MLS variable-length integer can hold
// (RFC 9420 §2.1.2: 30 bits, since the 0b11 prefix is reserved).
const maxVarint = 1<<30 - 1

// codec is implemented by every structure with a TLS presentation encoding.
// The methods are unexported so that only this package defines wire types.
type codec interface {
	encode(w *writer)
	decode(r *reader)
}

// Marshal returns the TLS presentation encoding of v.
func Marshal(v codec) ([]byte, error) {
	var w writer
	v.encode(&w)
	if w.err != nil {
		return nil, w.err
	}
	return w.b, nil
}

// Unmarshal decodes data into v. It rejects truncated input, non-minimal
// varints, unknown enumeration values and trailing bytes.
func Unmarshal(data []byte, v codec) error {
	r := reader{b: data}
	v.decode(&r)
	return r.finish()
}

// writer appends TLS-encoded values. Errors (only vectors too long to encode)
// are sticky and surface from Marshal.
type writer struct {
	b   []byte
	err error
}

func (w *writer) u8(v uint8) { w.b = append(w.b, v) }
func (w *writer) u16(v uint16) {
	w.b = binary.BigEndian.AppendUint16(w.b, v)
}
func (w *writer) u32(v uint32) {
	w.b = binary.BigEndian.AppendUint32(w.b, v)
}
func (w *writer) u64(v uint64) {
	w.b = binary.BigEndian.AppendUint64(w.b, v)
}
func (w *writer) raw(b []byte) { w.b = append(w.b, b...) }

func (w *writer) boolean(v bool) {
	if v {
		w.u8(1)
	} else {
		w.u8(0)
	}
}

// varint writes n with the shortest MLS variable-length encoding.
func (w *writer) varint(n int) {
	switch {
	case n < 0 || n > maxVarint:
		if w.err == nil {
			w.err = fmt.Errorf("%w: %d bytes", ErrTooLong, n)
		}
	case n < 1<<6:
		w.u8(uint8(n))
	case n < 1<<14:
		w.u16(uint16(n) | 0x4000)
	default:
		w.u32(uint32(n) | 0x80000000)
	}
}

// opaque writes a variable-length byte vector.
func (w *writer) opaque(b []byte) {
	w.varint(len(b))
	w.raw(b)
}

// vector writes a variable-length vector whose body is produced by body.
func (w *writer) vector(body func(w *writer)) {
	start := len(w.b)
	body(w)
	n := len(w.b) - start
	var hdr [4]byte
	h := writer{b: hdr[:0]}
	h.varint(n)
	if h.err != nil && w.err == nil {
		w.err = h.err
	}
	w.b = append(w.b, h.b...)
	copy(w.b[start+len(h.b):], w.b[start:start+n])
	copy(w.b[start:], h.b)
}

// reader consumes TLS-encoded values. The first error is sticky: later reads
// return zero values, and finish reports it.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *reader) failf(format string, args ...any) {
	r.fail(fmt.Errorf(format, args...))
}

// empty reports whether all input has been consumed (or an error occurred).
func (r *reader) empty() bool { return r.err != nil || len(r.b) == 0 }

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.failf("%w: need %d bytes, have %d", ErrTruncated, n, len(r.b))
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() uint8 {
	b := r.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (r *reader) u16() uint16 {
	b := r.take(2)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint16(b)
}

func (r *reader) u32() uint32 {
	b := r.take(4)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

func (r *reader) u64() uint64 {
	b := r.take(8)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func (r *reader) boolean() bool {
	switch v := r.u8(); v {
	case 0:
		return false
	case 1:
		return true
	default:
		r.failf("%w: %d", ErrInvalidOptional, v)
		return false
	}
}

// fixed returns a copy of the next n bytes.
func (r *reader) fixed(n int) []byte {
	b := r.take(n)
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

// varint reads an MLS variable-length integer and insists on the minimal encoding.
func (r *reader) varint() int {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.failf("%w: varint", ErrTruncated)
		return 0
	}
	switch r.b[0] >> 6 {
	case 0:
		return int(r.u8())
	case 1:
		v := int(r.u16() & 0x3fff)
		if r.err == nil && v < 1<<6 {
			r.failf("%w: %d in 2 bytes", ErrNonMinimalVarint, v)
		}
		return v
	case 2:
		v := int(r.u32() & 0x3fffffff)
		if r.err == nil && v < 1<<14 {
			r.failf("%w: %d in 4 bytes", ErrNonMinimalVarint, v)
		}
		return v
	default:
		r.failf("%w: 0x%02x", ErrVarintReserved, r.b[0])
		return 0
	}
}

// opaque reads a variable-length byte vector and returns a copy. An empty
// vector decodes as a non-nil empty slice so that re-encoding is exact.
func (r *reader) opaque() []byte {
	n := r.varint()
	b := r.take(n)
	if r.err != nil {
		return nil
	}
	return append([]byte{}, b...)
}

// vector reads a variable-length vector and calls item until its body is
// consumed; an item that overruns the body is a truncation error.
func (r *reader) vector(item func(r *reader)) {
	n := r.varint()
	body := r.take(n)
	if r.err != nil {
		return
	}
	sub := reader{b: body}
	for !sub.empty() {
		before := len(sub.b)
		item(&sub)
		if sub.err == nil && len(sub.b) == before {
			sub.failf("%w: vector item consumed no bytes", ErrTruncated)
		}
	}
	if sub.err != nil {
		r.fail(sub.err)
	}
}

// finish reports the sticky error, or ErrTrailingData if input remains.
func (r *reader) finish() error {
	if r.err != nil {
		return r.err
	}
	if len(r.b) != 0 {
		return fmt.Errorf("%w: %d bytes", ErrTrailingData, len(r.b))
	}
	return nil
}

// Bytes is a byte string with a variable-length vector encoding (opaque<V>).
type Bytes []byte

func (b *Bytes) encode(w *writer) { w.opaque(*b) }
func (b *Bytes) decode(r *reader) { *b = r.opaque() }

// encodeOpaques writes a vector of opaque<V> values.
func encodeOpaques(w *writer, items [][]byte) {
	w.vector(func(w *writer) {
		for _, it := range items {
			w.opaque(it)
		}
	})
}

func decodeOpaques(r *reader) [][]byte {
	out := [][]byte{}
	r.vector(func(r *reader) { out = append(out, r.opaque()) })
	return out
}

// encodeVec writes a vector of codec values.
func encodeVec[T any, P interface {
	*T
	codec
}](w *writer, items []T) {
	w.vector(func(w *writer) {
		for i := range items {
			P(&items[i]).encode(w)
		}
	})
}

// decodeVec reads a vector of codec values.
func decodeVec[T any, P interface {
	*T
	codec
}](r *reader) []T {
	out := []T{}
	r.vector(func(r *reader) {
		var v T
		P(&v).decode(r)
		out = append(out, v)
	})
	return out
}

// encodeOptional writes optional<T>.
func encodeOptional[T any, P interface {
	*T
	codec
}](w *writer, v *T) {
	if v == nil {
		w.u8(0)
		return
	}
	w.u8(1)
	P(v).encode(w)
}

// decodeOptional reads optional<T>.
func decodeOptional[T any, P interface {
	*T
	codec
}](r *reader) *T {
	if !r.boolean() {
		return nil
	}
	v := new(T)
	P(v).decode(r)
	if r.err != nil {
		return nil
	}
	return v
}

// ReadVarintHeader decodes an MLS variable-length vector header at the start
// of b and returns the length it announces and the header size.
func ReadVarintHeader(b []byte) (length, headerLen int, err error) {
	r := reader{b: b}
	n := r.varint()
	if r.err != nil {
		return 0, 0, r.err
	}
	return n, len(b) - len(r.b), nil
}

// AppendVarintHeader appends the minimal MLS variable-length vector header for n.
func AppendVarintHeader(b []byte, n int) ([]byte, error) {
	w := writer{b: b}
	w.varint(n)
	return w.b, w.err
}
