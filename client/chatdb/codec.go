package chatdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// encoder appends the primitives of the record format (see the package
// doc) to b.
type encoder struct{ b []byte }

func (e *encoder) uint(v uint64)    { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) int(v int64)      { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) byte(v byte)      { e.b = append(e.b, v) }
func (e *encoder) id(v [16]byte)    { e.b = append(e.b, v[:]...) }
func (e *encoder) bytes(v []byte)   { e.uint(uint64(len(v))); e.b = append(e.b, v...) }
func (e *encoder) string(v string)  { e.uint(uint64(len(v))); e.b = append(e.b, v...) }
func (e *encoder) time(t time.Time) { e.int(t.Unix()); e.uint(uint64(t.Nanosecond())) }

func (e *encoder) bool(v bool) {
	if v {
		e.byte(1)
	} else {
		e.byte(0)
	}
}

// decoder reads what encoder wrote. The first error sticks: later reads
// return zero values, and done reports it.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
}

var errTruncated = errors.New("truncated")

func (d *decoder) uint() uint64 { return readVarint(d, binary.Uvarint, binary.PutUvarint) }
func (d *decoder) int() int64   { return readVarint(d, binary.Varint, binary.PutVarint) }

// readVarint reads a varint with read (binary.Uvarint or binary.Varint),
// and checks with put, its encoder, that it is as short as it can be.
func readVarint[T uint64 | int64](d *decoder, read func([]byte) (T, int), put func([]byte, T) int) T {
	if d.err != nil {
		return 0
	}
	v, n := read(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	var min [binary.MaxVarintLen64]byte
	if put(min[:], v) != n {
		d.fail("varint of %d bytes is not minimal", n)
		return 0
	}
	d.b = d.b[n:]
	return v
}

// intN reads a varint that must fit an int (32 bits on some routers).
func (d *decoder) intN() int {
	v := d.int()
	if int64(int(v)) != v {
		d.fail("%d does not fit an int", v)
		return 0
	}
	return int(v)
}

// take returns the next n bytes, aliasing d.b.
func (d *decoder) take(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail("%w: %d bytes wanted, %d left", errTruncated, n, len(d.b))
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if v := d.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (d *decoder) id() (v [16]byte) {
	copy(v[:], d.take(16))
	return v
}

// bytes returns a copy, nil when empty.
func (d *decoder) bytes() []byte {
	v := d.take(d.uint())
	if len(v) == 0 {
		return nil
	}
	return append([]byte(nil), v...)
}

func (d *decoder) string() string { return string(d.take(d.uint())) }

func (d *decoder) bool() bool {
	switch v := d.byte(); v {
	case 0, 1:
		return v == 1
	default:
		d.fail("bool of %d", v)
		return false
	}
}

func (d *decoder) time() time.Time {
	sec, nsec := d.int(), d.uint()
	if nsec >= 1e9 {
		d.fail("%d nanoseconds", nsec)
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

// count reads the length of a list whose entries take at least one byte
// each, so that a corrupt count cannot make the caller allocate more than
// the record holds.
func (d *decoder) count() int {
	n := d.uint()
	if n > uint64(len(d.b)) {
		d.fail("%w: %d entries, %d bytes left", errTruncated, n, len(d.b))
		return 0
	}
	return int(n)
}

// done returns the first error, or an error if bytes are left over.
func (d *decoder) done() error {
	if d.err == nil && len(d.b) > 0 {
		d.err = fmt.Errorf("%d trailing bytes", len(d.b))
	}
	return d.err
}
