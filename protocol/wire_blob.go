package protocol

import (
	"fmt"

	"capnproto.org/go/capnp/v3"
	"github.com/quicprochat/qpc/schemas"
)

// BlobStatToWire fills w from s.
func BlobStatToWire(s BlobStat, w schemas.BlobStat) error {
	if err := w.SetId(s.ID[:]); err != nil {
		return err
	}
	w.SetSize(s.Size)
	w.SetHeld(uint32(s.Held))
	w.SetExpiresMillis(s.ExpiresMillis)
	l, err := w.NewChunks(int32(len(s.Chunks)))
	if err != nil {
		return err
	}
	for i := range s.Chunks {
		if err := l.Set(i, s.Chunks[i][:]); err != nil {
			return err
		}
	}
	return nil
}

// BlobStatFromWire reads a BlobStat, checking what the schema promises:
// 32-byte hashes, a chunk count within MaxBlobChunks, held at most the
// count, and an id that is BlobID of the hashes (ErrMalformedAnswer
// otherwise: the answer is a node's).
func BlobStatFromWire(w schemas.BlobStat) (BlobStat, error) {
	var s BlobStat
	id, err := w.Id()
	if err != nil {
		return s, err
	}
	if len(id) != BlobIDSize {
		return s, fmt.Errorf("%w: blob id of %d bytes", ErrMalformedAnswer, len(id))
	}
	copy(s.ID[:], id)
	l, err := w.Chunks()
	if err != nil {
		return s, err
	}
	if l.Len() < 1 || l.Len() > MaxBlobChunks {
		return s, fmt.Errorf("%w: blob of %d chunks", ErrMalformedAnswer, l.Len())
	}
	s.Chunks = make([][BlobIDSize]byte, l.Len())
	for i := range s.Chunks {
		b, err := l.At(i)
		if err != nil {
			return s, err
		}
		if len(b) != BlobIDSize {
			return s, fmt.Errorf("%w: chunk hash of %d bytes", ErrMalformedAnswer, len(b))
		}
		copy(s.Chunks[i][:], b)
	}
	if BlobID(s.Chunks) != s.ID {
		return s, fmt.Errorf("%w: the chunk hashes do not make the blob's id", ErrMalformedAnswer)
	}
	s.Size = w.Size()
	if held := w.Held(); held > uint32(len(s.Chunks)) {
		return s, fmt.Errorf("%w: %d of %d chunks held", ErrMalformedAnswer, held, len(s.Chunks))
	} else {
		s.Held = int(held)
	}
	s.ExpiresMillis = w.ExpiresMillis()
	return s, nil
}

// BlobHashesFromWire reads the chunk hashes of a blobCreate.
func BlobHashesFromWire(l capnp.DataList) ([][BlobIDSize]byte, error) {
	if l.Len() < 1 || l.Len() > MaxBlobChunks {
		return nil, fmt.Errorf("%w: a file has %d chunks (1-%d)", ErrBadRequest, l.Len(), MaxBlobChunks)
	}
	out := make([][BlobIDSize]byte, l.Len())
	for i := range out {
		b, err := l.At(i)
		if err != nil {
			return nil, BadRequest(err)
		}
		if out[i], err = BlobHash(b); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// AllocData makes the Data field at pointer index ptr of st n bytes long
// and returns those bytes, in the message, to be filled: a chunk read from
// disk goes straight into the answer, with no copy to collect later.
func AllocData(st capnp.Struct, ptr uint16, n int) ([]byte, error) {
	l, err := capnp.NewUInt8List(st.Segment(), int32(n))
	if err != nil {
		return nil, err
	}
	if err := st.SetPtr(ptr, l.ToPtr()); err != nil {
		return nil, err
	}
	return l.ToPtr().Data(), nil
}

// BlobArgsFromWire reads the id and home arguments of a blobGet or
// blobStat call, of a client or of a peer.
func BlobArgsFromWire(idf func() ([]byte, error), homef func() (string, error)) ([BlobIDSize]byte, string, error) {
	raw, err := idf()
	if err != nil {
		return [BlobIDSize]byte{}, "", BadRequest(err)
	}
	id, err := BlobHash(raw)
	if err != nil {
		return id, "", err
	}
	home, err := homef()
	if err != nil {
		return id, "", BadRequest(err)
	}
	return id, home, nil
}
