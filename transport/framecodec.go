package transport

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"capnproto.org/go/capnp/v3"
	"capnproto.org/go/capnp/v3/rpc/transport"
)

// maxKeptFrameBuf is the largest write buffer a frameWriter keeps between
// frames; a larger one (a batch of big payloads) is dropped after its
// write so that an idle connection does not hold it.
const maxKeptFrameBuf = 64 << 10

// errNoSegments means the RPC library handed over a message with no
// segments; capnp's own encoder refuses it too.
var errNoSegments = errors.New("encode: message has no segments")

// frameWriter writes each Cap'n Proto frame, segment table and segments,
// with a single Write. capnp's Encoder writes the table and every segment
// as separate Writes (net.Buffers on a plain io.Writer); on a QUIC stream
// each Write takes the stream's lock and wakes the connection's send loop,
// which may send the 8-byte table in a packet of its own. One Write per
// frame is one wake-up and, for a small message, one STREAM frame.
type frameWriter struct {
	w   io.Writer
	buf []byte
}

// Encode writes m as one stream frame. Only the RPC connection's send
// goroutine calls it, so buf needs no lock.
func (f *frameWriter) Encode(m *capnp.Message) error {
	nsegs := m.NumSegments()
	if nsegs == 0 {
		return errNoSegments
	}
	if nsegs > maxFrameSegments {
		// Our peer refuses such a frame (frameSize); do not send it.
		return fmt.Errorf("%w: %d segments (at most %d)", ErrBadFrame, nsegs, maxFrameSegments)
	}
	table := 4 + 4*int(nsegs)
	table += table % 8
	size := table
	for i := int64(0); i < nsegs; i++ {
		s, err := m.Segment(capnp.SegmentID(i))
		if err != nil {
			return fmt.Errorf("encode: %w", err)
		}
		size += len(s.Data())
	}
	if cap(f.buf) < size {
		f.buf = make([]byte, 0, size)
	}
	b := f.buf[:table]
	binary.LittleEndian.PutUint32(b, uint32(nsegs-1))
	for i := int64(0); i < nsegs; i++ {
		s, _ := m.Segment(capnp.SegmentID(i)) // read above without error
		binary.LittleEndian.PutUint32(b[4+4*i:], uint32(len(s.Data())/8))
		b = append(b, s.Data()...)
	}
	if (4+4*int(nsegs))%8 != 0 {
		// The padding word of an even segment count is zero.
		binary.LittleEndian.PutUint32(b[table-4:], 0)
	}
	_, err := f.w.Write(b)
	if cap(f.buf) > maxKeptFrameBuf {
		f.buf = nil
	}
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	return nil
}

// streamCodec is the codec of an RPC connection whose peer is trusted (the
// client's side, a federation link, an unbounded server): one Write per
// frame out, a buffered reader in, so that a frame's table and segments
// are usually one Read of the stream rather than two.
type streamCodec struct {
	frameWriter
	dec *capnp.Decoder
	c   io.Closer
}

func newStreamTransport(rwc io.ReadWriteCloser) transport.Transport {
	return transport.New(&streamCodec{
		frameWriter: frameWriter{w: rwc},
		dec:         capnp.NewDecoder(bufio.NewReaderSize(rwc, 4096)),
		c:           rwc,
	})
}

// Decode implements transport.Codec.
func (s *streamCodec) Decode() (*capnp.Message, error) { return s.dec.Decode() }

// Close implements transport.Codec.
func (s *streamCodec) Close() error { return s.c.Close() }
