package envelope

import (
	"capnproto.org/go/capnp/v3"

	"github.com/quicprochat/qpc/internal/capnpmsg"
	"github.com/quicprochat/qpc/mesh/signed"
	"github.com/quicprochat/qpc/schemas"
)

// ToWire writes e into w, hop count included. It does not verify e (a node
// that forwards has done so); it fails with signed.ErrMalformed only for
// values the wire cannot carry: a negative TTL or one of more than 2^32-1
// seconds or not whole seconds, or a creation time finer than a
// millisecond.
func ToWire(e *Envelope, w schemas.MeshEnvelope) error {
	return signed.ToWire(&rules, &e.Header, w,
		signed.Set("recipient", w.SetRecipient, e.Recipient),
		signed.Set("payload", w.SetPayload, e.Payload))
}

// FromWire copies an envelope out of w, so that the result outlives w's
// message. It fails with signed.ErrMalformed when a field cannot be read
// (a bad pointer, or the message's traversal limit is spent) or is longer
// than in any valid envelope; otherwise it does not verify: call Verify.
func FromWire(w schemas.MeshEnvelope) (*Envelope, error) {
	var c capnpmsg.Copier
	e := &Envelope{
		Header:    signed.FromWire(w, &c),
		Recipient: c.Text("recipient", w.RecipientBytes, MaxRecipient),
		Payload:   c.Data("payload", w.Payload, MaxPayload),
	}
	if err := c.Err(); err != nil {
		return nil, rules.Malformed(err)
	}
	return e, nil
}

// Marshal encodes e as a standalone Cap'n Proto message holding one
// schemas.MeshEnvelope, the form envelopes are stored in. Like ToWire it
// does not verify e.
func Marshal(e *Envelope) ([]byte, error) {
	return signed.Marshal(&rules, marshalSize(e), schemas.NewRootMeshEnvelope, func(w schemas.MeshEnvelope) error { return ToWire(e, w) })
}

// Unmarshal decodes what Marshal wrote. It never panics, takes at most
// MaxEncoded bytes and fails with signed.ErrMalformed for anything that is
// not exactly one well-formed message (see capnpmsg.Unmarshal). The
// envelope does not share memory with b. It does not verify: call Verify.
func Unmarshal(b []byte) (*Envelope, error) {
	return signed.Unmarshal(&rules, b, MaxEncoded, schemas.ReadRootMeshEnvelope, FromWire)
}

// marshalSize is the size of the message Marshal writes for e.
func marshalSize(e *Envelope) int {
	return capnpmsg.Size(capnp.ObjectSize{DataSize: 16, PointerCount: pointers},
		len(e.OriginKey), len(e.Recipient)+1, len(e.OriginDomain)+1, len(e.Payload), len(e.Signature))
}
