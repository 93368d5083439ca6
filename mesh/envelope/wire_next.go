package envelope

import (
	"fmt"

	"capnproto.org/go/capnp/v3"

	"github.com/quicprochat/qpc/internal/capnpmsg"
	"github.com/quicprochat/qpc/mesh/signed"
	"github.com/quicprochat/qpc/schemas"
)

// A held envelope is stored as the same Cap'n Proto struct that crosses
// the wire, and a forwarding node changes only its hop count. So it goes
// to the next hop in that form: NextHop reads the stored bytes without
// copying a field out, and Next.ToWire copies the struct into the call
// as it is, hop count raised. The receiver copies the struct out of the
// call in the same stored form (ReadIncoming in incoming.go) and decodes
// it only to verify it.

// pointers is the number of pointer fields of schemas.MeshEnvelope (origin
// key, recipient, payload, signature, origin domain), all bytes.
const pointers = 5

// Next is a held envelope on its way to the next hop, still in the form
// it is stored in (what Marshal wrote), with the hop count it leaves with.
type Next struct {
	w    schemas.MeshEnvelope
	hops uint8
	size int // of the stored bytes: each copy may read that much
}

// NextHop reads stored, an envelope as Marshal encoded it and this node
// verified it before holding it, for the next hop: it fails with
// signed.ErrMalformed for bytes that are not one envelope (as Unmarshal),
// and with signed.ErrHopLimit when the envelope has used its max hops.
// The result refers to stored, which must not change until it is sent.
func NextHop(stored []byte) (Next, error) {
	w, err := capnpmsg.Unmarshal(stored, MaxEncoded, schemas.ReadRootMeshEnvelope)
	if err != nil {
		return Next{}, rules.Malformed(err)
	}
	// Every field of an envelope is bytes: a pointer that does not lead to
	// bytes would fail the copy into the call (and with it the whole
	// call), so it fails here, where the envelope alone is dropped.
	st := capnp.Struct(w)
	for i := range min(st.Size().PointerCount, pointers) {
		p, err := st.Ptr(i)
		if err != nil {
			return Next{}, rules.Malformed(fmt.Errorf("field pointer %d: %v", i, err))
		}
		if p.IsValid() && p.DataDefault(nil) == nil {
			return Next{}, rules.Malformed(fmt.Errorf("field pointer %d does not lead to bytes", i))
		}
	}
	hops, max := w.HopCount(), w.MaxHops()
	if hops >= max {
		return Next{}, fmt.Errorf("%w: %d of %d hops used", signed.ErrHopLimit, hops, max)
	}
	return Next{w: w, hops: hops + 1, size: len(stored)}, nil
}

// Hops is the hop count n leaves with.
func (n Next) Hops() uint8 { return n.hops }

// ToWire copies n into w, field by field as stored, with the raised hop
// count: what ToWire of the decoded envelope's Forwarded would write.
func (n Next) ToWire(w schemas.MeshEnvelope) error {
	// The copy reads every field again (NextHop has read them once),
	// under a fresh limit of the stored size.
	if msg := capnp.Struct(n.w).Message(); msg != nil {
		msg.ResetReadLimit(uint64(n.size))
	}
	if err := capnp.Struct(w).CopyFrom(capnp.Struct(n.w)); err != nil {
		return fmt.Errorf("envelope to wire: %w", err)
	}
	w.SetHopCount(n.hops)
	return nil
}

// NextOf returns e as it goes to the next hop with the hop count it has
// (the caller counts its hop): for an envelope this node does not hold,
// such as one a test or a tool makes. It fails as Marshal does.
func NextOf(e *Envelope) (Next, error) {
	b, err := Marshal(e)
	if err != nil {
		return Next{}, err
	}
	w, err := capnpmsg.Unmarshal(b, len(b), schemas.ReadRootMeshEnvelope)
	if err != nil {
		// Marshal wrote it: this is a bug, not bad input.
		return Next{}, fmt.Errorf("envelope: reading what Marshal wrote: %w", err)
	}
	return Next{w: w, hops: e.Hops, size: len(b)}, nil
}

// Decode returns n as the next hop reads it: what FromWire makes of the
// copy ToWire writes. Forwarding does not need it; tests and tools that
// look at what is sent do.
func (n Next) Decode() (*Envelope, error) {
	msg, seg, err := capnp.NewMessage(capnp.SingleSegment(nil))
	if err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	defer msg.Release()
	w, err := schemas.NewRootMeshEnvelope(seg)
	if err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	if err := n.ToWire(w); err != nil {
		return nil, err
	}
	return FromWire(w)
}
