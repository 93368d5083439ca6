// Package originhdr is the header that the mesh's origin-signed messages
// (mesh/envelope, mesh/flood) share: which node made a message and when,
// how long it lives and how many hops it may take. Rules checks a header as
// Sign and Verify must, checks the clock and the origin's signature, and
// moves the header to and from the wire, each format with its own limits
// and its own sentinel errors, so that the formats keep their documented
// errors while the checks behind them are written once.
package originhdr

import (
	"crypto/ed25519"
	"fmt"
	"math"
	"time"

	"github.com/quicprochat/qpc/crypto/ca"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/internal/capnpmsg"
)

// maxDomain is the longest DNS name.
const maxDomain = 253

// Header is the origin's part of a signed mesh message. Every field but
// Hops is signed.
type Header struct {
	// Version is the message format.
	Version uint8
	// OriginKey is the Ed25519 public key of the node that signed it.
	OriginKey ed25519.PublicKey
	// OriginDomain is the domain of the node that signed it.
	OriginDomain string
	// Created is when the origin made the message, to the millisecond.
	Created time.Time
	// TTL is how long after Created the message lives, in whole seconds.
	TTL time.Duration
	// Hops is how often the message has been sent on; it is not signed.
	Hops uint8
	// MaxHops is the most hops the origin allows.
	MaxHops uint8
}

// Errors are the sentinels a format wraps each failure in, one a reason.
type Errors struct {
	VersionTooOld   error // version 0
	Version         error // a version other than Rules.Version
	OriginKey       error // not a 32-byte Ed25519 key
	OriginDomain    error // not a domain a community CA would name a node by
	TTL             error // not whole seconds from 1s to Rules.MaxTTL
	Malformed       error // what the wire cannot carry
	MaxHops         error // 0 or more than Rules.MaxHopsLimit
	HopLimit        error // more hops taken than allowed
	CreatedInFuture error // more than Rules.MaxClockSkew ahead
	Expired         error // the TTL has run out
	BadSignature    error // not the origin's signature over the signed bytes
}

// Rules are a format's version and limits and the errors it reports.
type Rules struct {
	Version      uint8
	MaxHopsLimit uint8
	MaxTTL       time.Duration
	MaxClockSkew time.Duration
	Err          Errors
}

// Check checks h's fields, not the clock: what Sign and Verify both check.
// Each failure wraps its sentinel with what was wrong.
func (r *Rules) Check(h Header) error {
	switch {
	case h.Version == 0:
		return fmt.Errorf("%w: version 0, this node reads version %d", r.Err.VersionTooOld, r.Version)
	case h.Version != r.Version:
		return fmt.Errorf("%w: version %d, this node reads version %d", r.Err.Version, h.Version, r.Version)
	}
	if len(h.OriginKey) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: %d bytes, want %d", r.Err.OriginKey, len(h.OriginKey), ed25519.PublicKeySize)
	}
	if err := ca.ValidateDomain(h.OriginDomain); err != nil {
		return fmt.Errorf("%w: origin domain %q: %v", r.Err.OriginDomain, h.OriginDomain, err)
	}
	if h.TTL <= 0 || h.TTL > r.MaxTTL || h.TTL%time.Second != 0 {
		return fmt.Errorf("%w: %s, want whole seconds from 1s to %s", r.Err.TTL, h.TTL, r.MaxTTL)
	}
	// The signature covers milliseconds; a finer time would mean something
	// the origin did not sign and the wire cannot carry.
	if h.Created.Nanosecond()%int(time.Millisecond) != 0 {
		return fmt.Errorf("%w: creation time %s is finer than a millisecond", r.Err.Malformed, h.Created.Format(time.RFC3339Nano))
	}
	if h.MaxHops == 0 || h.MaxHops > r.MaxHopsLimit {
		return fmt.Errorf("%w: %d, want 1 to %d", r.Err.MaxHops, h.MaxHops, r.MaxHopsLimit)
	}
	if h.Hops > h.MaxHops {
		return fmt.Errorf("%w: forwarded %d times, at most %d allowed", r.Err.HopLimit, h.Hops, h.MaxHops)
	}
	return nil
}

// Verify checks what Check leaves to the receiver, at time now: the
// creation time against the clock, expiry, and then, the most costly, sig
// as the origin's signature over signed(). It does not call Check.
func (r *Rules) Verify(h Header, now time.Time, signed func() []byte, sig []byte) error {
	if h.Created.After(now.Add(r.MaxClockSkew)) {
		return fmt.Errorf("%w: created %s, %s after this node's clock (at most %s allowed)",
			r.Err.CreatedInFuture, h.Created.Format(time.RFC3339Nano), h.Created.Sub(now), r.MaxClockSkew)
	}
	if exp := h.Created.Add(h.TTL); !now.Before(exp) {
		return fmt.Errorf("%w: TTL ran out at %s, %s ago", r.Err.Expired, exp.Format(time.RFC3339Nano), now.Sub(exp))
	}
	if len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: %d bytes, want %d", r.Err.BadSignature, len(sig), ed25519.SignatureSize)
	}
	if !ed25519.Verify(h.OriginKey, signed(), sig) {
		return fmt.Errorf("%w: not made by origin %s over these fields", r.Err.BadSignature, identity.NodeID(h.OriginKey))
	}
	return nil
}

// Wire is the header's part of a generated struct (schemas.MeshEnvelope,
// schemas.ChannelPost), whose fields are named alike.
type Wire interface {
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
}

// ToWire writes h into w, hop count included, without checking it (a node
// that forwards has done so). It fails with an error wrapping r's Malformed
// only for values the wire cannot carry: a negative TTL or one of more than
// 2^32-1 seconds or not whole seconds, or a creation time finer than a
// millisecond. (A function, not a method of Rules, because it is generic:
// an interface argument would move w to the heap.)
func ToWire[W Wire](r *Rules, h Header, w W) error {
	if h.TTL < 0 || h.TTL%time.Second != 0 || h.TTL/time.Second > math.MaxUint32 {
		return fmt.Errorf("%w: TTL %s is not a whole number of seconds that fits 32 bits", r.Err.Malformed, h.TTL)
	}
	if h.Created.Nanosecond()%int(time.Millisecond) != 0 {
		return fmt.Errorf("%w: creation time %s is finer than a millisecond", r.Err.Malformed, h.Created.Format(time.RFC3339Nano))
	}
	w.SetVersion(h.Version)
	w.SetCreatedMillis(h.Created.UnixMilli())
	w.SetTtlSeconds(uint32(h.TTL / time.Second))
	w.SetHopCount(h.Hops)
	w.SetMaxHops(h.MaxHops)
	if err := w.SetOriginKey(h.OriginKey); err != nil {
		return fmt.Errorf("origin key: %w", err)
	}
	if err := w.SetOriginDomain(h.OriginDomain); err != nil {
		return fmt.Errorf("origin domain: %w", err)
	}
	return nil
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
		TTL:     time.Duration(w.TtlSeconds()) * time.Second,
		Hops:    w.HopCount(),
		MaxHops: w.MaxHops(),
	}
}
