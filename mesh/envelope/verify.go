package envelope

import (
	"fmt"
	"time"

	"github.com/quicprochat/qpc/internal/originhdr"
	"github.com/quicprochat/qpc/protocol"
)

// rules checks the origin's header of an envelope, with the envelope's
// limits and sentinels.
var rules = originhdr.Rules{
	Version:      Version,
	MaxHopsLimit: MaxHopsLimit,
	MaxTTL:       MaxTTL,
	MaxClockSkew: MaxClockSkew,
	Err: originhdr.Errors{
		VersionTooOld:   ErrVersionTooOld,
		Version:         ErrVersion,
		OriginKey:       ErrOriginKey,
		OriginDomain:    ErrOriginDomain,
		TTL:             ErrTTL,
		Malformed:       ErrMalformed,
		MaxHops:         ErrMaxHops,
		HopLimit:        ErrHopLimit,
		CreatedInFuture: ErrCreatedInFuture,
		Expired:         ErrExpired,
		BadSignature:    ErrBadSignature,
	},
}

// Verify checks e as a node must before it stores, forwards or delivers
// it, at time now. The cheap checks of the fields come first, then the
// clock, then the signature, so that junk costs no signature check. Each
// failure wraps its own sentinel: ErrVersionTooOld, ErrVersion,
// ErrOriginKey, ErrOriginDomain, ErrTTL, ErrMalformed, ErrMaxHops,
// ErrHopLimit, ErrRecipient, ErrPayload, ErrCreatedInFuture, ErrExpired or
// ErrBadSignature.
func (e *Envelope) Verify(now time.Time) error {
	if err := e.checkFields(); err != nil {
		return err
	}
	return rules.Verify(e.header(), now, e.SignedBytes, e.Signature)
}

// checkFields is Verify without the clock and the signature: what Sign
// checks too.
func (e *Envelope) checkFields() error {
	if err := rules.Check(e.header()); err != nil {
		return err
	}
	if err := checkRecipient(e.Recipient); err != nil {
		return err
	}
	if len(e.Payload) == 0 || len(e.Payload) > MaxPayload {
		return fmt.Errorf("%w: %d bytes, want 1 to %d", ErrPayload, len(e.Payload), MaxPayload)
	}
	return nil
}

// header is e's part that the origin header rules check.
func (e *Envelope) header() originhdr.Header {
	return originhdr.Header{
		Version:      e.Version,
		OriginKey:    e.OriginKey,
		OriginDomain: e.OriginDomain,
		Created:      e.Created,
		TTL:          e.TTL,
		Hops:         e.Hops,
		MaxHops:      e.MaxHops,
	}
}

// checkRecipient accepts "user@domain" as protocol.ValidAddress does:
// the user as for accounts on a node, the domain by the one domain rule
// (what federation routes by and certificates name nodes by), both in
// lower case, since the recipient is signed as it is.
func checkRecipient(r string) error {
	if len(r) == 0 || len(r) > MaxRecipient {
		return fmt.Errorf("%w: %d bytes, want 3 to %d", ErrRecipient, len(r), MaxRecipient)
	}
	if err := protocol.ValidAddress(r); err != nil {
		return fmt.Errorf("%w: %w", ErrRecipient, err)
	}
	return nil
}
