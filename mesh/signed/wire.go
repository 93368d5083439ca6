package signed

import (
	"crypto/ed25519"
	"fmt"
	"math"
	"time"

	"capnproto.org/go/capnp/v3"

	"github.com/quicprochat/qpc/internal/capnpmsg"
)

// Wire is the header's part of a generated struct (schemas.MeshEnvelope,
// schemas.ChannelPost), whose fields are named alike.
type Wire interface {
	IsValid() bool
	Version() uint8
	SetVersion(uint8)
	OriginKey() ([]byte, error)
	SetOriginKey([]byte) error
	OriginDomainBytes() ([]byte, error)
	SetOriginDomain(string) error
	CreatedMillis() int64
	SetCreatedMillis(int64)
	TtlSeconds() uint32
	SetTtlSeconds(uint32)
	HopCount() uint8
	SetHopCount(uint8)
	MaxHops() uint8
	SetMaxHops(uint8)
	Signature() ([]byte, error)
	SetSignature([]byte) error
}

// ToWire writes h into w, hop count and signature included, without
// checking it (a node that sends on has done so). It fails with
// ErrMalformed only for values the wire cannot carry: a negative TTL or
// one of more than 2^32-1 seconds or not whole seconds, or a creation time
// finer than a millisecond. (A function, not a method of Rules, because it
// is generic: an interface argument would move w to the heap.)
//
// fields are the format's own, written after the header; a failure to
// write one is returned with its name.
func ToWire[W Wire](r *Rules, h *Header, w W, fields ...Field) error {
	if h.TTL < 0 || h.TTL%time.Second != 0 || h.TTL/time.Second > math.MaxUint32 {
		return r.errorf(ErrMalformed, "TTL %s is not a whole number of seconds that fits 32 bits", h.TTL)
	}
	if h.Created.Nanosecond()%int(time.Millisecond) != 0 {
		return r.errorf(ErrMalformed, "creation time %s is finer than a millisecond", h.Created.Format(time.RFC3339Nano))
	}
	w.SetVersion(h.Version)
	w.SetCreatedMillis(h.Created.UnixMilli())
	w.SetTtlSeconds(uint32(h.TTL / time.Second))
	w.SetHopCount(h.Hops)
	w.SetMaxHops(h.MaxHops)
	if err := w.SetOriginKey(h.OriginKey); err != nil {
		return fmt.Errorf("%s to wire: origin key: %w", r.Kind, err)
	}
	if err := w.SetOriginDomain(h.OriginDomain); err != nil {
		return fmt.Errorf("%s to wire: origin domain: %w", r.Kind, err)
	}
	if err := w.SetSignature(h.Signature); err != nil {
		return fmt.Errorf("%s to wire: signature: %w", r.Kind, err)
	}
	for _, f := range fields {
		if err := f.set(); err != nil {
			return fmt.Errorf("%s to wire: %s: %w", r.Kind, f.name, err)
		}
	}
	return nil
}

// Field is one of a format's own fields for ToWire: its name and how to
// write it.
type Field struct {
	name string
	set  func() error
}

// Set returns the field name that set writes with v.
func Set[V any](name string, set func(V) error, v V) Field {
	return Field{name: name, set: func() error { return set(v) }}
}

// Marshal encodes a standalone message of r's format, the form its
// messages are stored in: a root made by newRoot in a segment of size
// bytes (capnpmsg.Size), filled by fill (the format's ToWire).
func Marshal[W any](r *Rules, size int, newRoot func(*capnp.Segment) (W, error), fill func(W) error) ([]byte, error) {
	b, err := capnpmsg.Marshal(size, newRoot, fill)
	if err != nil {
		return nil, fmt.Errorf("marshal %s: %w", r.Kind, err)
	}
	return b, nil
}

// FromWire reads the header out of w, copying its byte fields with c
// (whose Err says whether they could be read and were no longer than in
// any valid header). It does not check the header: Check does.
func FromWire[W Wire](w W, c *capnpmsg.Copier) Header {
	return Header{
		Version:      w.Version(),
		OriginKey:    c.Data("origin key", w.OriginKey, ed25519.PublicKeySize),
		OriginDomain: c.Text("origin domain", w.OriginDomainBytes, maxDomain),
		Created:      time.UnixMilli(w.CreatedMillis()).UTC(),
		// At most 2^32-1 seconds, which fits a Duration.
		TTL:       time.Duration(w.TtlSeconds()) * time.Second,
		Hops:      w.HopCount(),
		MaxHops:   w.MaxHops(),
		Signature: c.Data("signature", w.Signature, ed25519.SignatureSize),
	}
}

// Malformed wraps err, why the fields of a message could not be read
// (what capnpmsg.Copier.Err says), in ErrMalformed with the format's name.
func (r *Rules) Malformed(err error) error { return r.errorf(ErrMalformed, "%v", err) }

// Unmarshal decodes one stored message of the format: b must be exactly
// one well-formed Cap'n Proto message of at most maxBytes (see
// capnpmsg.Unmarshal) whose root readRoot reads, and decode copies the
// message out of it. It never panics, fails with ErrMalformed, and the
// result does not share memory with b.
func Unmarshal[W Wire, T any](r *Rules, b []byte, maxBytes int, readRoot func(*capnp.Message) (W, error), decode func(W) (T, error)) (T, error) {
	w, err := capnpmsg.Unmarshal(b, maxBytes, readRoot)
	if err != nil {
		var zero T
		return zero, r.errorf(ErrMalformed, "%v", err)
	}
	return decode(w)
}
