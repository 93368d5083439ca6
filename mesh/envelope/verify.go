package envelope

import (
	"crypto/ed25519"
	"fmt"
	"strings"
	"time"

	"github.com/quicprochat/qpc/crypto/ca"
)

// maxUser is the longest user name, the local part of a recipient.
const maxUser = 64

// maxDomain is the longest DNS name.
const maxDomain = 253

// Verify checks e as a node must before it stores, forwards or delivers
// it, at time now. The cheap checks of the fields come first, then the
// clock, then the signature, so that junk costs no signature check. Each
// failure wraps its own sentinel: ErrVersionTooOld, ErrVersion,
// ErrOriginKey, ErrRecipient, ErrOriginDomain, ErrPayload, ErrTTL, ErrMalformed,
// ErrMaxHops, ErrHopLimit, ErrCreatedInFuture, ErrExpired or
// ErrBadSignature.
func (e *Envelope) Verify(now time.Time) error {
	if err := e.checkFields(); err != nil {
		return err
	}
	if e.Created.After(now.Add(MaxClockSkew)) {
		return fmt.Errorf("%w: created %s, %s after this node's clock (at most %s allowed)",
			ErrCreatedInFuture, e.Created.Format(time.RFC3339Nano), e.Created.Sub(now), MaxClockSkew)
	}
	if exp := e.Expires(); !now.Before(exp) {
		return fmt.Errorf("%w: TTL ran out at %s, %s ago", ErrExpired, exp.Format(time.RFC3339Nano), now.Sub(exp))
	}
	if len(e.Signature) != ed25519.SignatureSize {
		return fmt.Errorf("%w: %d bytes, want %d", ErrBadSignature, len(e.Signature), ed25519.SignatureSize)
	}
	if !ed25519.Verify(e.OriginKey, e.SignedBytes(), e.Signature) {
		return fmt.Errorf("%w: not made by origin %s over these fields", ErrBadSignature, e.OriginID())
	}
	return nil
}

// checkFields is Verify without the clock and the signature: what Sign
// checks too.
func (e *Envelope) checkFields() error {
	switch {
	case e.Version == 0:
		return fmt.Errorf("%w: version 0, this node reads version %d", ErrVersionTooOld, Version)
	case e.Version != Version:
		return fmt.Errorf("%w: version %d, this node reads version %d", ErrVersion, e.Version, Version)
	}
	if len(e.OriginKey) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: %d bytes, want %d", ErrOriginKey, len(e.OriginKey), ed25519.PublicKeySize)
	}
	if err := checkRecipient(e.Recipient); err != nil {
		return err
	}
	if err := ca.ValidateDomain(e.OriginDomain); err != nil {
		return fmt.Errorf("%w: origin domain %q: %v", ErrOriginDomain, e.OriginDomain, err)
	}
	if len(e.Payload) == 0 || len(e.Payload) > MaxPayload {
		return fmt.Errorf("%w: %d bytes, want 1 to %d", ErrPayload, len(e.Payload), MaxPayload)
	}
	if e.TTL <= 0 || e.TTL > MaxTTL || e.TTL%time.Second != 0 {
		return fmt.Errorf("%w: %s, want whole seconds from 1s to %s", ErrTTL, e.TTL, MaxTTL)
	}
	// The signature covers milliseconds; a finer time would mean something
	// the origin did not sign and the wire cannot carry.
	if e.Created.Nanosecond()%int(time.Millisecond) != 0 {
		return fmt.Errorf("%w: creation time %s is finer than a millisecond", ErrMalformed, e.Created.Format(time.RFC3339Nano))
	}
	if e.MaxHops == 0 || e.MaxHops > MaxHopsLimit {
		return fmt.Errorf("%w: %d, want 1 to %d", ErrMaxHops, e.MaxHops, MaxHopsLimit)
	}
	if e.Hops > e.MaxHops {
		return fmt.Errorf("%w: forwarded %d times, at most %d allowed", ErrHopLimit, e.Hops, e.MaxHops)
	}
	return nil
}

// checkRecipient accepts "user@domain": user as for accounts on a node
// (1-64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit), and
// domain a name a community CA would put in a node certificate, since the
// domain is what federation routes by and certificates name nodes by.
func checkRecipient(r string) error {
	if len(r) == 0 || len(r) > MaxRecipient {
		return fmt.Errorf("%w: %d bytes, want 3 to %d", ErrRecipient, len(r), MaxRecipient)
	}
	user, domain, ok := strings.Cut(r, "@")
	if !ok {
		return fmt.Errorf("%w: %q is not user@domain", ErrRecipient, r)
	}
	if len(user) == 0 || len(user) > maxUser {
		return fmt.Errorf("%w: %q: user name must be 1 to %d characters", ErrRecipient, r, maxUser)
	}
	for i := 0; i < len(user); i++ {
		c := user[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '.' || c == '_' || c == '-')
		if !ok {
			return fmt.Errorf("%w: %q: user name takes a-z, 0-9, '.', '_', '-', starting with a letter or digit", ErrRecipient, r)
		}
	}
	if err := ca.ValidateDomain(domain); err != nil {
		return fmt.Errorf("%w: %q: %v", ErrRecipient, r, err)
	}
	return nil
}
