package envelope

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"capnproto.org/go/capnp/v3"

	"github.com/quicprochat/qpc/schemas"
)

// MaxEncoded is the most bytes Unmarshal takes: a maximal payload plus
// room for the other fields and the framing, which need less than 1 KiB.
const MaxEncoded = MaxPayload + 4<<10

// maxSegments bounds the segments of a stored envelope. Marshal writes one;
// another writer may split a large message into a few. The bound keeps a
// small hostile header from making the decoder allocate a table for
// hundreds of thousands of empty segments.
const maxSegments = 16

// ToWire writes e into w, hop count included. It does not verify e (a node
// that forwards has done so); it fails with ErrMalformed only for values
// the wire cannot carry: a negative TTL or one of more than 2^32-1 seconds
// or not whole seconds, or a creation time finer than a millisecond.
func ToWire(e *Envelope, w schemas.MeshEnvelope) error {
	if e.TTL < 0 || e.TTL%time.Second != 0 || e.TTL/time.Second > math.MaxUint32 {
		return fmt.Errorf("%w: TTL %s is not a whole number of seconds that fits 32 bits", ErrMalformed, e.TTL)
	}
	if e.Created.Nanosecond()%int(time.Millisecond) != 0 {
		return fmt.Errorf("%w: creation time %s is finer than a millisecond", ErrMalformed, e.Created.Format(time.RFC3339Nano))
	}
	w.SetVersion(e.Version)
	w.SetCreatedMillis(e.Created.UnixMilli())
	w.SetTtlSeconds(uint32(e.TTL / time.Second))
	w.SetHopCount(e.Hops)
	w.SetMaxHops(e.MaxHops)
	if err := w.SetOriginKey(e.OriginKey); err != nil {
		return fmt.Errorf("envelope to wire: origin key: %w", err)
	}
	if err := w.SetRecipient(e.Recipient); err != nil {
		return fmt.Errorf("envelope to wire: recipient: %w", err)
	}
	if err := w.SetOriginDomain(e.OriginDomain); err != nil {
		return fmt.Errorf("envelope to wire: origin domain: %w", err)
	}
	if err := w.SetPayload(e.Payload); err != nil {
		return fmt.Errorf("envelope to wire: payload: %w", err)
	}
	if err := w.SetSignature(e.Signature); err != nil {
		return fmt.Errorf("envelope to wire: signature: %w", err)
	}
	return nil
}

// FromWire copies an envelope out of w, so that the result outlives w's
// message. It fails with ErrMalformed when a field cannot be read (a bad
// pointer, or the message's traversal limit is spent) or is longer than in
// any valid envelope; otherwise it does not verify: call Verify.
func FromWire(w schemas.MeshEnvelope) (*Envelope, error) {
	// Each pointer field is read exactly once: reads count against the
	// message's traversal limit, which Unmarshal sets to the input size.
	// Lengths are checked before copying, so that a message whose fields
	// all point at one large payload (as an RPC message under a generous
	// limit may) cannot make us copy it four times.
	key, err := w.OriginKey()
	if err == nil && len(key) > ed25519.PublicKeySize {
		err = fmt.Errorf("%d bytes", len(key))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: origin key: %v", ErrMalformed, err)
	}
	recipient, err := w.RecipientBytes()
	if err == nil && len(recipient) > MaxRecipient {
		err = fmt.Errorf("%d bytes", len(recipient))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: recipient: %v", ErrMalformed, err)
	}
	origin, err := w.OriginDomainBytes()
	if err == nil && len(origin) > maxDomain {
		err = fmt.Errorf("%d bytes", len(origin))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: origin domain: %v", ErrMalformed, err)
	}
	payload, err := w.Payload()
	if err == nil && len(payload) > MaxPayload {
		err = fmt.Errorf("%d bytes", len(payload))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	sig, err := w.Signature()
	if err == nil && len(sig) > ed25519.SignatureSize {
		err = fmt.Errorf("%d bytes", len(sig))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: signature: %v", ErrMalformed, err)
	}
	return &Envelope{
		Version:      w.Version(),
		OriginKey:    clone(key),
		Recipient:    string(recipient),
		OriginDomain: string(origin),
		Created:      time.UnixMilli(w.CreatedMillis()).UTC(),
		// At most 2^32-1 seconds, which fits a Duration.
		TTL:       time.Duration(w.TtlSeconds()) * time.Second,
		Hops:      w.HopCount(),
		MaxHops:   w.MaxHops(),
		Payload:   clone(payload),
		Signature: clone(sig),
	}, nil
}

// clone copies b; an absent field stays nil.
func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

// Marshal encodes e as a standalone Cap'n Proto message holding one
// schemas.MeshEnvelope, the form envelopes are stored in. Like ToWire it
// does not verify e.
func Marshal(e *Envelope) ([]byte, error) {
	// One segment sized for the whole envelope, so that a large payload is
	// not copied while the segment grows.
	size := 8 * (1 + 2 + 5) // root pointer, data words, pointers
	for _, n := range []int{len(e.OriginKey), len(e.Recipient) + 1, len(e.OriginDomain) + 1, len(e.Payload), len(e.Signature)} {
		size += (n + 7) &^ 7
	}
	msg, seg, err := capnp.NewMessage(capnp.SingleSegment(make([]byte, 0, size)))
	if err != nil {
		return nil, fmt.Errorf("marshal envelope: %w", err)
	}
	w, err := schemas.NewRootMeshEnvelope(seg)
	if err != nil {
		return nil, fmt.Errorf("marshal envelope: %w", err)
	}
	if err := ToWire(e, w); err != nil {
		return nil, err
	}
	b, err := msg.Marshal()
	if err != nil {
		return nil, fmt.Errorf("marshal envelope: %w", err)
	}
	return b, nil
}

// Unmarshal decodes what Marshal wrote. It never panics, takes at most
// MaxEncoded bytes and fails with ErrMalformed for anything that is not
// exactly one well-formed message. The envelope does not share memory with
// b. It does not verify: call Verify.
func Unmarshal(b []byte) (*Envelope, error) {
	if len(b) > MaxEncoded {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrMalformed, len(b), MaxEncoded)
	}
	if err := checkFraming(b); err != nil {
		return nil, err
	}
	msg, err := capnp.Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	// An honest message reads each of its bytes at most once; more means
	// pointers that overlap to make a small input decode large.
	msg.ResetReadLimit(uint64(len(b)))
	w, err := schemas.ReadRootMeshEnvelope(msg)
	if err != nil {
		return nil, fmt.Errorf("%w: root: %v", ErrMalformed, err)
	}
	if !w.IsValid() {
		return nil, fmt.Errorf("%w: root is not a struct", ErrMalformed)
	}
	return FromWire(w)
}

// checkFraming checks the stream framing's segment table against b before
// the decoder sees it: at most maxSegments segments, and segments that end
// exactly where b does.
func checkFraming(b []byte) error {
	if len(b) < 8 {
		return fmt.Errorf("%w: %d bytes, shorter than a message header", ErrMalformed, len(b))
	}
	n := uint64(binary.LittleEndian.Uint32(b)) + 1
	if n > maxSegments {
		return fmt.Errorf("%w: %d segments, at most %d", ErrMalformed, n, maxSegments)
	}
	// The header is the count and one size per segment, in 4-byte words,
	// padded to 8 bytes.
	hdr := (4 + 4*n + 7) &^ 7
	if uint64(len(b)) < hdr {
		return fmt.Errorf("%w: header of %d segments truncated", ErrMalformed, n)
	}
	total := hdr
	for i := uint64(0); i < n; i++ {
		total += 8 * uint64(binary.LittleEndian.Uint32(b[4+4*i:]))
	}
	if total != uint64(len(b)) {
		return fmt.Errorf("%w: framing says %d bytes, have %d", ErrMalformed, total, len(b))
	}
	return nil
}
