package main

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The ADB container of apk v3 (apk-tools' doc/apk-v3.5), as far as a
// package needs it. A value is a 32-bit little-endian word: the top 4 bits
// are its type, the low 28 bits either the value itself (null/true/false,
// an integer below 2^28) or the offset, from the start of the ADB block's
// payload, of where it is stored:
//
//	0x0 special  0 null, 1 true, 2 false
//	0x1 int      the value (< 0x10000000)
//	0x2 int32    offset of a little-endian uint32, 4-aligned
//	0x3 int64    offset of a little-endian uint64, 4-aligned
//	0x8 blob8    offset of a uint8 length and the bytes
//	0x9 blob16   offset of a 2-aligned uint16 length and the bytes
//	0xa blob32   offset of a 4-aligned uint32 length and the bytes
//	0xd array    offset of 4-aligned slots: [0] the number of slots, then values
//	0xe object   the same; slot i is field i of the object's schema
//
// The payload starts with an 8-byte header {compat 0, version 0, reserved
// 0, root value}. apk mkpkg writes every array with the object tag (its
// adb_w_obj), drops null slots at the end of an object, and stores equal
// bytes once; this writer does the same, so that its packages match what
// the OpenWrt SDK's `apk mkpkg` writes.

// adbVal is one ADB value word.
type adbVal uint32

// ADB value types.
const (
	adbTypeSpecial adbVal = 0x00000000
	adbTypeInt     adbVal = 0x10000000
	adbTypeInt32   adbVal = 0x20000000
	adbTypeInt64   adbVal = 0x30000000
	adbTypeBlob8   adbVal = 0x80000000
	adbTypeBlob16  adbVal = 0x90000000
	adbTypeBlob32  adbVal = 0xa0000000
	adbTypeArray   adbVal = 0xd0000000
	adbTypeObject  adbVal = 0xe0000000
	adbTypeMask    adbVal = 0xf0000000
	adbValueMask   adbVal = 0x0fffffff

	adbNull adbVal = 0
)

// adbHeaderSize is the size of the payload's header.
const adbHeaderSize = 8

// ErrADBTooLarge is returned when a package's metadata needs offsets
// beyond the 28 bits of an ADB value.
var ErrADBTooLarge = errors.New("package metadata is over the 256 MiB an ADB block can address")

// adbBuilder lays out the payload of one ADB block.
type adbBuilder struct {
	buf  []byte
	seen map[string]int // stored bytes → offset of their latest copy
	err  error
}

func newADB() *adbBuilder {
	return &adbBuilder{buf: make([]byte, adbHeaderSize), seen: map[string]int{}}
}

// raw appends b at the next multiple of align and returns its offset.
func (a *adbBuilder) raw(b []byte, align int) int {
	for len(a.buf)%align != 0 {
		a.buf = append(a.buf, 0)
	}
	off := len(a.buf)
	a.buf = append(a.buf, b...)
	if off > int(adbValueMask) && a.err == nil {
		a.err = ErrADBTooLarge
	}
	return off
}

// data stores b, or returns where the same bytes are already stored at
// the alignment asked for.
func (a *adbBuilder) data(b []byte, align int) int {
	if off, ok := a.seen[string(b)]; ok && off%align == 0 {
		return off
	}
	off := a.raw(b, align)
	a.seen[string(b)] = off
	return off
}

func (a *adbBuilder) val(typ adbVal, off int) adbVal {
	return typ | adbVal(off)&adbValueMask
}

// blob stores b with its length; an empty b is null, as in apk.
func (a *adbBuilder) blob(b []byte) adbVal { return a.blobTo(b, a.data) }

// blobUnshared stores b where no other value points, so that it can be
// overwritten later (the package's unique id).
func (a *adbBuilder) blobUnshared(b []byte) (adbVal, int) {
	v := a.blobTo(b, a.raw)
	return v, int(v&adbValueMask) + 1
}

func (a *adbBuilder) blobTo(b []byte, store func([]byte, int) int) adbVal {
	switch n := len(b); {
	case n == 0:
		return adbNull
	case n <= 0xff:
		return a.val(adbTypeBlob8, store(append([]byte{byte(n)}, b...), 1))
	case n <= 0xffff:
		return a.val(adbTypeBlob16, store(append(binary.LittleEndian.AppendUint16(nil, uint16(n)), b...), 2))
	default:
		return a.val(adbTypeBlob32, store(append(binary.LittleEndian.AppendUint32(nil, uint32(n)), b...), 4))
	}
}

// str stores s as a blob.
func (a *adbBuilder) str(s string) adbVal { return a.blob([]byte(s)) }

// int stores v in the smallest of the three integer forms.
func (a *adbBuilder) int(v uint64) adbVal {
	switch {
	case v >= 1<<32:
		return a.val(adbTypeInt64, a.data(binary.LittleEndian.AppendUint64(nil, v), 4))
	case v >= uint64(adbTypeInt):
		return a.val(adbTypeInt32, a.data(binary.LittleEndian.AppendUint32(nil, uint32(v)), 4))
	default:
		return adbTypeInt | adbVal(v)
	}
}

// obj stores an object (or array) whose field i is slots[i]; slots[0] is
// overwritten with the count. Null slots at the end are dropped; an
// object with nothing left is null.
func (a *adbBuilder) obj(slots []adbVal) adbVal {
	n := len(slots)
	for n > 1 && slots[n-1] == adbNull {
		n--
	}
	if n <= 1 {
		return adbNull
	}
	b := binary.LittleEndian.AppendUint32(nil, uint32(n))
	for _, v := range slots[1:n] {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	return a.val(adbTypeObject, a.data(b, 4))
}

// arr stores an array of items, in their order.
func (a *adbBuilder) arr(items []adbVal) adbVal {
	return a.obj(append([]adbVal{0}, items...))
}

// finish sets the root value and returns the payload.
func (a *adbBuilder) finish(root adbVal) ([]byte, error) {
	if a.err != nil {
		return nil, a.err
	}
	if root == adbNull {
		return nil, fmt.Errorf("adb: empty root")
	}
	binary.LittleEndian.PutUint32(a.buf[4:], uint32(root))
	return a.buf, nil
}
