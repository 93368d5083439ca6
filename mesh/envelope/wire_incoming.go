package envelope

import (
	"fmt"

	"capnproto.org/go/capnp/v3"

	"github.com/quicprochat/qpc/internal/capnpmsg"
	"github.com/quicprochat/qpc/schemas"
)

// An envelope that a node receives is stored in the form it came in. The
// receiver copies the struct of the forward call into a standalone
// message first (ReadIncoming), each field's bytes as they are, and
// decodes the envelope to verify from that copy; what it stores is the
// copy (Incoming.Stored), not the decoded fields encoded again. The copy
// takes the fields in the order Marshal writes them, so the stored bytes
// are Marshal's bytes of the envelope as received: one form from store to
// wire and back, whichever node held it. Reading the call's message once
// also keeps its traversal limit charged once per field.

// Incoming is an envelope as a neighbour's forward call brought it:
// decoded, to be verified, and in the standalone form a node stores, made
// from the received struct. It does not refer to the call's message.
type Incoming struct {
	*Envelope
	stored []byte
}

// storedOrder is the order Marshal (through ToWire) writes
// schemas.MeshEnvelope's pointer fields in, by pointer index: origin key,
// origin domain, signature, recipient, payload. Copying them in this order
// lays the objects out as Marshal does.
var storedOrder = [pointers]uint16{0, 4, 3, 1, 2}

// fieldMax bounds each pointer field's bytes, by pointer index, as
// FromWire does (a Text's bound includes its NUL): nothing longer than in
// a valid envelope is copied.
var fieldMax = [pointers]int{32, MaxRecipient + 1, MaxPayload, 64, maxOriginDomain + 1}

// maxOriginDomain is the longest origin domain, the longest DNS name.
const maxOriginDomain = 253

// ReadIncoming copies w into a standalone message in Marshal's layout and
// decodes the envelope from the copy. It fails with signed.ErrMalformed
// where FromWire would: a field that cannot be read, is not bytes, or is
// longer than in any valid envelope. It does not verify: call Verify
// before storing.
func ReadIncoming(w schemas.MeshEnvelope) (*Incoming, error) {
	src := capnp.Struct(w)
	var fields [pointers]capnp.Ptr
	size := capnpmsg.Size(capnp.ObjectSize{DataSize: 16, PointerCount: pointers})
	for i := range fields {
		p, err := src.Ptr(uint16(i))
		if err != nil {
			return nil, rules.Malformed(fmt.Errorf("field pointer %d: %v", i, err))
		}
		if p.IsValid() {
			b := p.DataDefault(nil)
			if b == nil {
				return nil, rules.Malformed(fmt.Errorf("field pointer %d does not lead to bytes", i))
			}
			if len(b) > fieldMax[i] {
				return nil, rules.Malformed(fmt.Errorf("field pointer %d: %d bytes, at most %d", i, len(b), fieldMax[i]))
			}
			size += (len(b) + 7) &^ 7
		}
		fields[i] = p
	}
	b, err := capnpmsg.Marshal(size, schemas.NewRootMeshEnvelope, func(dst schemas.MeshEnvelope) error {
		dst.SetVersion(w.Version())
		dst.SetCreatedMillis(w.CreatedMillis())
		dst.SetTtlSeconds(w.TtlSeconds())
		dst.SetHopCount(w.HopCount())
		dst.SetMaxHops(w.MaxHops())
		for _, i := range storedOrder {
			if err := capnp.Struct(dst).SetPtr(i, fields[i]); err != nil {
				return fmt.Errorf("field pointer %d: %w", i, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, rules.Malformed(err)
	}
	e, err := Unmarshal(b)
	if err != nil {
		return nil, err
	}
	return &Incoming{Envelope: e, stored: b}, nil
}

// Stored returns the envelope as a node stores it: the received struct
// copied as it came, which for a sender that encodes the schema as capnp
// does is exactly what Marshal writes for the envelope. It checks nothing:
// store it only once Verify has passed.
func (in *Incoming) Stored() []byte { return in.stored }
