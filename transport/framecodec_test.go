package transport

import (
	"bytes"
	"errors"
	"testing"

	"capnproto.org/go/capnp/v3"
)

// countingWriter records every Write it is given.
type countingWriter struct {
	writes [][]byte
	err    error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes = append(c.writes, append([]byte(nil), p...))
	if c.err != nil {
		return 0, c.err
	}
	return len(p), nil
}

// messageWithSegments builds a message whose arena grows into several
// segments: each blob of size bytes that does not fit the current segment
// opens another.
func messageWithSegments(t *testing.T, blobs, size int) *capnp.Message {
	t.Helper()
	msg, seg, err := capnp.NewMessage(capnp.MultiSegment(nil))
	if err != nil {
		t.Fatal(err)
	}
	root, err := capnp.NewRootStruct(seg, capnp.ObjectSize{PointerCount: uint16(blobs)})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < blobs; i++ {
		b := bytes.Repeat([]byte{byte(i + 1)}, size)
		d, err := capnp.NewData(seg, b)
		if err != nil {
			t.Fatal(err)
		}
		if err := root.SetPtr(uint16(i), d.ToPtr()); err != nil {
			t.Fatal(err)
		}
	}
	if err := msg.SetRoot(root.ToPtr()); err != nil {
		t.Fatal(err)
	}
	return msg
}

func TestFrameWriterWritesCapnpsEncodingInOneWrite(t *testing.T) {
	counts := map[int64]bool{}
	// One frameWriter for all, so that its reused buffer (with a larger
	// frame's bytes in it) is exercised too.
	var cw countingWriter
	fw := frameWriter{w: &cw}
	for _, c := range []struct{ blobs, size int }{
		{1, 16}, {8, 100000}, {1, 8}, {3, 40000}, {2, 200000}, {5, 70000}, {0, 0},
	} {
		msg := messageWithSegments(t, c.blobs, c.size)
		counts[msg.NumSegments()] = true
		var want bytes.Buffer
		if err := capnp.NewEncoder(&want).Encode(msg); err != nil {
			t.Fatal(err)
		}
		cw.writes = nil
		// A kept buffer holds the last frame's bytes; fill it with
		// garbage so that every byte of the table must be written.
		fw.buf = bytes.Repeat([]byte{0xff}, 2<<20)[:0]
		if err := fw.Encode(msg); err != nil {
			t.Fatalf("%d blobs of %d: %v", c.blobs, c.size, err)
		}
		if len(cw.writes) != 1 {
			t.Fatalf("%d segments: %d writes, want 1", msg.NumSegments(), len(cw.writes))
		}
		if !bytes.Equal(cw.writes[0], want.Bytes()) {
			t.Fatalf("%d segments: frame differs from capnp's encoding (%d vs %d bytes)",
				msg.NumSegments(), len(cw.writes[0]), want.Len())
		}
		back, err := capnp.Unmarshal(cw.writes[0])
		if err != nil {
			t.Fatalf("%d segments: frame does not decode: %v", msg.NumSegments(), err)
		}
		if back.NumSegments() != msg.NumSegments() {
			t.Fatalf("decoded %d segments, want %d", back.NumSegments(), msg.NumSegments())
		}
	}
	// Both an odd and an even segment count, so both table layouts (with
	// and without the padding word) were compared.
	var odd, even bool
	for n := range counts {
		if n%2 == 1 {
			odd = true
		} else {
			even = true
		}
	}
	if !odd || !even {
		t.Fatalf("segment counts covered %v; want odd and even", counts)
	}
	fw.buf = nil
	if err := fw.Encode(messageWithSegments(t, 2, 200000)); err != nil {
		t.Fatal(err)
	}
	if cap(fw.buf) > maxKeptFrameBuf {
		t.Fatalf("kept a %d-byte buffer after a large frame (at most %d)", cap(fw.buf), maxKeptFrameBuf)
	}
}

func TestFrameWriterReportsTheWritersError(t *testing.T) {
	boom := errors.New("stream reset")
	fw := frameWriter{w: &countingWriter{err: boom}}
	if err := fw.Encode(messageWithSegments(t, 1, 16)); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v wrapped", err, boom)
	}
}
