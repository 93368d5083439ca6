package capnpmsg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"capnproto.org/go/capnp/v3"
)

// The tests use a bare struct of one data word and four pointers, so that
// they depend on no schema.
var testSize = capnp.ObjectSize{DataSize: 8, PointerCount: 4}

func newRoot(s *capnp.Segment) (capnp.Struct, error) { return capnp.NewRootStruct(s, testSize) }

func readRoot(m *capnp.Message) (capnp.Struct, error) {
	p, err := m.Root()
	return p.Struct(), err
}

// fields are what the test struct's pointers hold: three Data, one Text.
type fields struct {
	a, b, c []byte
	text    string
}

func (f fields) fill(s capnp.Struct) error {
	s.SetUint64(0, 42)
	for i, d := range [][]byte{f.a, f.b, f.c} {
		if err := s.SetData(uint16(i), d); err != nil {
			return err
		}
	}
	return s.SetText(3, f.text)
}

// size is what Size should be told of f: an empty Text is a null pointer.
func (f fields) size() int {
	text := len(f.text) + 1
	if f.text == "" {
		text = 0
	}
	return Size(testSize, len(f.a), len(f.b), len(f.c), text)
}

func encode(t *testing.T, f fields) []byte {
	t.Helper()
	b, err := Marshal(f.size(), newRoot, f.fill)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	return b
}

func TestMarshalWritesOneSegmentOfExactlySize(t *testing.T) {
	for _, f := range []fields{
		{},
		{a: []byte{1}, text: "t"},
		{a: make([]byte, 7), b: make([]byte, 8), c: make([]byte, 9), text: "seven.."},
		{a: make([]byte, 100_000), text: "a large field"},
	} {
		size := f.size()
		b := encode(t, f)
		if n := binary.LittleEndian.Uint32(b); n != 0 {
			t.Errorf("fields of %d, %d, %d bytes: %d segments, want 1", len(f.a), len(f.b), len(f.c), n+1)
		}
		if got := len(b) - 8; got != size {
			t.Errorf("fields of %d, %d, %d bytes: segment of %d bytes, Size said %d", len(f.a), len(f.b), len(f.c), got, size)
		}
	}
}

func TestMarshalReturnsTheErrorOfFill(t *testing.T) {
	errFill := errors.New("cannot carry this")
	_, err := Marshal(Size(testSize), newRoot, func(capnp.Struct) error { return errFill })
	if err != errFill {
		t.Errorf("Marshal = %v, want the error of fill itself", err)
	}
}

func TestUnmarshalReadsWhatMarshalWrote(t *testing.T) {
	want := fields{a: []byte("alpha"), b: nil, c: bytes.Repeat([]byte{7}, 300), text: "text"}
	s, err := Unmarshal(encode(t, want), 1<<10, readRoot)
	if err != nil {
		t.Fatal(err)
	}
	var c Copier
	got := fields{
		a:    c.Data("a", dataField(s, 0), 5),
		b:    c.Data("b", dataField(s, 1), 5),
		c:    c.Data("c", dataField(s, 2), 300),
		text: c.Text("text", textField(s, 3), 4),
	}
	if err := c.Err(); err != nil {
		t.Fatal(err)
	}
	if s.Uint64(0) != 42 || !bytes.Equal(got.a, want.a) || got.b != nil || !bytes.Equal(got.c, want.c) || got.text != want.text {
		t.Errorf("read back %+v, want %+v", got, want)
	}
}

func dataField(s capnp.Struct, i uint16) func() ([]byte, error) {
	return func() ([]byte, error) {
		p, err := s.Ptr(i)
		return p.Data(), err
	}
}

func textField(s capnp.Struct, i uint16) func() ([]byte, error) {
	return func() ([]byte, error) {
		p, err := s.Ptr(i)
		return p.TextBytes(), err
	}
}

// inSegments returns the one-segment message b framed as n segments: its
// own and n-1 empty ones after it.
func inSegments(b []byte, n int) []byte {
	hdr := (4 + 4*n + 7) &^ 7
	out := make([]byte, hdr, hdr+len(b)-8)
	binary.LittleEndian.PutUint32(out, uint32(n-1))
	binary.LittleEndian.PutUint32(out[4:], uint32((len(b)-8)/8))
	return append(out, b[8:]...)
}

func TestUnmarshalTakesUpToMaxSegments(t *testing.T) {
	b := inSegments(encode(t, fields{a: []byte("x")}), MaxSegments)
	s, err := Unmarshal(b, 1<<10, readRoot)
	if err != nil {
		t.Fatalf("Unmarshal of %d segments: %v", MaxSegments, err)
	}
	if s.Uint64(0) != 42 {
		t.Error("the root struct did not read back")
	}
}

func TestUnmarshalRejectsAnythingButOneMessage(t *testing.T) {
	good := encode(t, fields{a: []byte("x"), text: "t"})
	cases := []struct {
		name string
		b    []byte
	}{
		{"nothing is refused", nil},
		{"less than a header is refused", good[:7]},
		{"a truncated segment is refused", good[:len(good)-8]},
		{"trailing bytes are refused", append(append([]byte(nil), good...), make([]byte, 8)...)},
		{"input over the limit is refused", append(append([]byte(nil), good...), make([]byte, 1<<10)...)},
		{"more than MaxSegments segments are refused", inSegments(good, MaxSegments+1)},
		{"a segment count that overflows is refused", []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}},
		{"a truncated segment table is refused", []byte{3, 0, 0, 0, 0, 0, 0, 0}},
		{"an empty segment with no root is refused", []byte{0, 0, 0, 0, 0, 0, 0, 0}},
		{"a null root pointer is refused", []byte{0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"a list as root is refused", []byte{0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0}},
		{"a root pointer out of the segment is refused", []byte{0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 2, 0, 4, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if s, err := Unmarshal(c.b, len(good)+8, readRoot); err == nil {
				t.Errorf("Unmarshal = %v, nil; want an error", s)
			}
		})
	}
}

func TestUnmarshalRejectsEveryTruncation(t *testing.T) {
	b := encode(t, fields{a: make([]byte, 100), text: "t"})
	for n := range len(b) {
		if _, err := Unmarshal(b[:n], len(b), readRoot); err == nil {
			t.Fatalf("the first %d of %d bytes decoded", n, len(b))
		}
	}
}

// TestOverlappingFieldsRunOutOfTheTraversalLimit forges a message whose
// four pointers all point at one large field: valid pointers, but reading
// them all reads more bytes than the input holds. The limit must stop that,
// and Copier must stop before it copies an over-long field.
func TestOverlappingFieldsRunOutOfTheTraversalLimit(t *testing.T) {
	b := encode(t, fields{a: make([]byte, 4<<10)})
	seg := b[8:]
	// Word 0 is the root pointer, 1 the data word, 2-5 the pointers.
	const first = 2
	p := binary.LittleEndian.Uint64(seg[8*first:])
	if p&3 != 1 || p>>32&7 != 2 {
		t.Fatalf("word %d is %#x, not a byte list pointer; the layout assumption is wrong", first, p)
	}
	target := first + 1 + int(int32(uint32(p))>>2)
	for at := first + 1; at < first+4; at++ {
		off := uint32(int32(target-(at+1))<<2) | 1
		binary.LittleEndian.PutUint64(seg[8*at:], 4<<10<<35|2<<32|uint64(off))
	}

	s, err := Unmarshal(b, len(b), readRoot)
	if err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	var c Copier
	for i := range uint16(3) {
		c.Data("field", dataField(s, i), 4<<10)
	}
	if c.Err() == nil {
		t.Error("three reads of one 4 KiB field from a message of 4 KiB and a little passed the traversal limit")
	}

	// Without the limit the forgery decodes: only the limit rejects it.
	msg, err := capnp.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	s, err = readRoot(msg)
	if err != nil {
		t.Fatal(err)
	}
	var unlimited Copier
	for i := range uint16(3) {
		if got := unlimited.Data("field", dataField(s, i), 4<<10); len(got) != 4<<10 {
			t.Fatalf("field %d is %d bytes without a limit; the forgery is wrong", i, len(got))
		}
	}
}

func TestCopier(t *testing.T) {
	src := []byte("abcd")
	get := func() ([]byte, error) { return src, nil }

	var c Copier
	got := c.Data("d", get, 4)
	src[0] = 'X'
	if string(got) != "abcd" {
		t.Errorf("Data = %q, want a copy of abcd", got)
	}
	if got := c.Data("empty", func() ([]byte, error) { return []byte{}, nil }, 4); got != nil {
		t.Errorf("Data of an empty field = %#v, want nil", got)
	}
	if got := c.Text("t", get, 4); got != "Xbcd" {
		t.Errorf("Text = %q", got)
	}
	var fixed [4]byte
	c.Fixed("f", get, fixed[:])
	if string(fixed[:]) != "Xbcd" {
		t.Errorf("Fixed copied %q", fixed)
	}
	if err := c.Err(); err != nil {
		t.Fatalf("Err = %v after fields that fit", err)
	}

	errRead := errors.New("bad pointer")
	cases := []struct {
		name string
		copy func(*Copier)
	}{
		{"a field over its bound fails", func(c *Copier) { c.Data("field", get, 3) }},
		{"a text over its bound fails", func(c *Copier) { c.Text("field", get, 3) }},
		{"a field that cannot be read fails", func(c *Copier) { c.Data("field", func() ([]byte, error) { return nil, errRead }, 3) }},
		{"a fixed field too short fails", func(c *Copier) { var d [5]byte; c.Fixed("field", get, d[:]) }},
		{"a fixed field too long fails", func(c *Copier) { var d [3]byte; c.Fixed("field", get, d[:]) }},
		{"an absent fixed field fails", func(c *Copier) {
			var d [3]byte
			c.Fixed("field", func() ([]byte, error) { return nil, nil }, d[:])
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c Copier
			tc.copy(&c)
			err := c.Err()
			if err == nil || !bytes.HasPrefix([]byte(err.Error()), []byte("field: ")) {
				t.Fatalf("Err = %v, want an error naming the field", err)
			}
			// Nothing is read or copied after the first failure.
			called := false
			if got := c.Data("later", func() ([]byte, error) { called = true; return src, nil }, 4); got != nil || called {
				t.Errorf("after a failure Data read the field (%v) and returned %q", called, got)
			}
			if c.Err() != err {
				t.Errorf("Err changed from %v to %v", err, c.Err())
			}
		})
	}
}
