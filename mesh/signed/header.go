package signed

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/protocol"
)

// maxDomain is the longest DNS name.
const maxDomain = 253

// Header is the origin's part of a signed mesh message: which node made
// it and when, how long it lives, how many hops it may take, and the
// origin's signature. Every field but Hops and Signature is signed.
// Formats embed it, so its fields and methods are theirs.
type Header struct {
	// Version is the message format.
	Version uint8
	// OriginKey is the Ed25519 public key of the node that signed it.
	OriginKey ed25519.PublicKey
	// OriginDomain is the domain of the node that signed it, where reports
	// about it go.
	OriginDomain string
	// Created is when the origin made the message, to the millisecond.
	Created time.Time
	// TTL is how long after Created the message may be sent on, kept or
	// delivered, in whole seconds.
	TTL time.Duration
	// Hops is how often the message has been sent on; it is not signed.
	Hops uint8
	// MaxHops is the most hops the origin allows.
	MaxHops uint8
	// Signature is the origin key's Ed25519 signature over the format's
	// signed bytes.
	Signature []byte
}

// OriginID returns the node id of the message's origin (see
// identity.NodeID).
func (h *Header) OriginID() string { return identity.NodeID(h.OriginKey) }

// Expires returns when the message's TTL runs out: from then on it is
// neither sent on nor delivered.
func (h *Header) Expires() time.Time { return h.Created.Add(h.TTL) }

// Hop raises the hop count by one, as the next hop receives the message,
// or fails with ErrHopLimit if that would exceed MaxHops. A format's
// Forwarded calls it on a copy.
func (h *Header) Hop() error {
	if h.Hops >= h.MaxHops {
		return fmt.Errorf("%w: %d of %d hops used", ErrHopLimit, h.Hops, h.MaxHops)
	}
	h.Hops++
	return nil
}

// AppendSigned appends the start of a format's signed bytes that every
// format shares: prefix (the format's domain separation), version, max
// hops, TTL in seconds (uint32), creation time in Unix milliseconds
// (int64), and the origin key with its length (uint32), integers
// big-endian. The format appends its own fields after it.
func (h *Header) AppendSigned(b []byte, prefix string) []byte {
	b = append(b, prefix...)
	b = append(b, h.Version, h.MaxHops)
	// A TTL that is not whole seconds or does not fit fails Verify before
	// the signature is checked, so truncating it here is harmless.
	b = binary.BigEndian.AppendUint32(b, uint32(h.TTL/time.Second))
	b = binary.BigEndian.AppendUint64(b, uint64(h.Created.UnixMilli()))
	return AppendField(b, h.OriginKey)
}

// SignedLen is the size of what AppendSigned appends for prefix and an
// origin key of keyLen bytes.
func SignedLen(prefix string, keyLen int) int { return len(prefix) + 1 + 1 + 4 + 8 + 4 + keyLen }

// AppendField appends f preceded by its length as a big-endian uint32,
// the way signed bytes carry a variable field unambiguously.
func AppendField[F ~string | ~[]byte](b []byte, f F) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
	return append(b, f...)
}

// Rules are a format's name, version and limits.
type Rules struct {
	// Kind names the format in errors ("envelope", "post").
	Kind string
	// Version is the format version this build makes and reads.
	Version uint8
	// MaxHopsLimit is the largest max hops a message may ask for.
	MaxHopsLimit uint8
	// MaxTTL is the longest TTL.
	MaxTTL time.Duration
	// MaxClockSkew is how far after the checking node's clock a message
	// may claim to have been created.
	MaxClockSkew time.Duration
}

// New returns a header for a message signed now by key for originDomain,
// with hop count 0 and no signature yet. created is cut to the
// millisecond (what the wire carries). It fails with ErrOriginKey for a
// key of the wrong size (ed25519.Sign would panic on it); the other
// fields are the format's Sign to check, with Check.
func (r *Rules) New(key ed25519.PrivateKey, originDomain string, created time.Time, ttl time.Duration, maxHops uint8) (Header, error) {
	if len(key) != ed25519.PrivateKeySize {
		return Header{}, r.errorf(ErrOriginKey, "private key is %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	return Header{
		Version:      r.Version,
		OriginKey:    key.Public().(ed25519.PublicKey),
		OriginDomain: originDomain,
		Created:      time.UnixMilli(created.UnixMilli()).UTC(),
		TTL:          ttl,
		MaxHops:      maxHops,
	}, nil
}

// errorf wraps sentinel with the format's name and what was wrong.
func (r *Rules) errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%s: %w: %s", r.Kind, sentinel, fmt.Sprintf(format, args...))
}

// Check checks h's fields, not the clock and not the signature: what Sign
// and Verify both check. Each failure wraps its sentinel with what was
// wrong.
func (r *Rules) Check(h *Header) error {
	switch {
	case h.Version == 0:
		return r.errorf(ErrVersionTooOld, "version 0, this node reads version %d", r.Version)
	case h.Version != r.Version:
		return r.errorf(ErrVersion, "version %d, this node reads version %d", h.Version, r.Version)
	}
	if len(h.OriginKey) != ed25519.PublicKeySize {
		return r.errorf(ErrOriginKey, "%d bytes, want %d", len(h.OriginKey), ed25519.PublicKeySize)
	}
	if err := protocol.ValidDomain(h.OriginDomain); err != nil {
		return r.errorf(ErrOriginDomain, "origin domain %q: %v", h.OriginDomain, err)
	}
	if h.TTL <= 0 || h.TTL > r.MaxTTL || h.TTL%time.Second != 0 {
		return r.errorf(ErrTTL, "%s, want whole seconds from 1s to %s", h.TTL, r.MaxTTL)
	}
	// The signature covers milliseconds; a finer time would mean something
	// the origin did not sign and the wire cannot carry.
	if h.Created.Nanosecond()%int(time.Millisecond) != 0 {
		return r.errorf(ErrMalformed, "creation time %s is finer than a millisecond", h.Created.Format(time.RFC3339Nano))
	}
	if h.MaxHops == 0 || h.MaxHops > r.MaxHopsLimit {
		return r.errorf(ErrMaxHops, "%d, want 1 to %d", h.MaxHops, r.MaxHopsLimit)
	}
	if h.Hops > h.MaxHops {
		return r.errorf(ErrHopLimit, "sent on %d times, at most %d allowed", h.Hops, h.MaxHops)
	}
	return nil
}

// Verify checks what Check leaves to the receiver, at time now: the
// creation time against the clock, expiry, and then, the most costly, the
// signature as the origin's over signed(). It does not call Check.
func (r *Rules) Verify(h *Header, now time.Time, signed func() []byte) error {
	if h.Created.After(now.Add(r.MaxClockSkew)) {
		return r.errorf(ErrCreatedInFuture, "created %s, %s after this node's clock (at most %s allowed)",
			h.Created.Format(time.RFC3339Nano), h.Created.Sub(now), r.MaxClockSkew)
	}
	if exp := h.Expires(); !now.Before(exp) {
		return r.errorf(ErrExpired, "TTL ran out at %s, %s ago", exp.Format(time.RFC3339Nano), now.Sub(exp))
	}
	if len(h.Signature) != ed25519.SignatureSize {
		return r.errorf(ErrBadSignature, "%d bytes, want %d", len(h.Signature), ed25519.SignatureSize)
	}
	if !ed25519.Verify(h.OriginKey, signed(), h.Signature) {
		return r.errorf(ErrBadSignature, "not made by origin %s over these fields", h.OriginID())
	}
	return nil
}

// Sign sets h's signature: key's over signed. key is the one New checked.
func (h *Header) Sign(key ed25519.PrivateKey, signed []byte) {
	h.Signature = ed25519.Sign(key, signed)
}

// The limits the mesh's formats share: a format may choose its own, but
// envelopes and posts cross the same links and wait on the same routers.
const (
	// MaxHopsLimit is the largest max hops a message may ask for. A
	// community mesh that needs more than 32 hops between two nodes is
	// better served by more links.
	MaxHopsLimit = 32
	// MaxTTL is the longest TTL. Messages wait on routers with little
	// storage, and ids stay in the seen-sets until the TTL passes.
	MaxTTL = 30 * 24 * time.Hour
	// MaxClockSkew is how far after the checking node's clock a message
	// may claim to have been created. Routers without a battery-backed
	// clock are often a few minutes off.
	MaxClockSkew = 10 * time.Minute
)

// Message is a format's message as the kit sees it: its header (which
// embedding Header provides), the check of the format's own fields, and
// the bytes the origin signs.
type Message interface {
	// SignedHeader returns the message's header, which the kit checks,
	// signs and changes in place.
	SignedHeader() *Header
	// CheckFields checks the format's own fields (not the header's):
	// what Sign and Verify both check after Rules.Check.
	CheckFields() error
	// SignedBytes returns the bytes the origin signs, in the layout the
	// format documents.
	SignedBytes() []byte
}

// SignedHeader returns h: a format that embeds Header is a Message's
// header through it.
func (h *Header) SignedHeader() *Header { return h }

// Sign makes and signs a message of r's format: New's header for key and
// originDomain, made into a message by wrap, its fields checked (Check,
// then the message's CheckFields) and signed over its SignedBytes. It
// returns the zero M and the first error instead.
func Sign[M Message](r *Rules, key ed25519.PrivateKey, originDomain string, created time.Time, ttl time.Duration, maxHops uint8, wrap func(Header) M) (M, error) {
	var zero M
	h, err := r.New(key, originDomain, created, ttl, maxHops)
	if err != nil {
		return zero, err
	}
	m := wrap(h)
	if err := r.checkFields(m); err != nil {
		return zero, err
	}
	m.SignedHeader().Sign(key, m.SignedBytes())
	return m, nil
}

// VerifyMessage checks m as a node must before it keeps, sends on or
// delivers it, at time now: the header's fields and the message's own
// first, then the clock, then the signature, so that junk costs no
// signature check. Each failure wraps its own sentinel.
func (r *Rules) VerifyMessage(m Message, now time.Time) error {
	if err := r.checkFields(m); err != nil {
		return err
	}
	return r.Verify(m.SignedHeader(), now, m.SignedBytes)
}

// checkFields is what Sign and VerifyMessage both check.
func (r *Rules) checkFields(m Message) error {
	if err := r.Check(m.SignedHeader()); err != nil {
		return err
	}
	return m.CheckFields()
}

// Forwarded returns a copy of m with the hop count raised by one, as the
// next hop receives it, or ErrHopLimit if that would exceed max hops. The
// copy shares m's byte slices.
func Forwarded[T any, P interface {
	*T
	Hop() error
}](m P) (P, error) {
	f := *m
	if err := P(&f).Hop(); err != nil {
		return nil, err
	}
	return &f, nil
}
