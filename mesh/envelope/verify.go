package envelope

import (
	"fmt"
	"time"

	"github.com/quicprochat/qpc/mesh/signed"
	"github.com/quicprochat/qpc/protocol"
)

// rules are the envelope's version and limits for the checks the signed
// mesh messages share.
var rules = signed.Rules{Kind: "envelope", Version: Version, MaxHopsLimit: MaxHopsLimit, MaxTTL: MaxTTL, MaxClockSkew: MaxClockSkew}

// Verify checks e as a node must before it stores, forwards or delivers
// it, at time now (signed.Rules.VerifyMessage): fields, then the clock,
// then the signature. Each failure wraps its own sentinel: one of package
// signed's (the header's checks), or ErrRecipient or ErrPayload.
func (e *Envelope) Verify(now time.Time) error { return rules.VerifyMessage(e, now) }

// CheckFields checks the envelope's own fields, recipient and payload:
// what Sign and Verify check after the header's.
func (e *Envelope) CheckFields() error {
	if err := checkRecipient(e.Recipient); err != nil {
		return err
	}
	if len(e.Payload) == 0 || len(e.Payload) > MaxPayload {
		return fmt.Errorf("envelope: %w: %d bytes, want 1 to %d", ErrPayload, len(e.Payload), MaxPayload)
	}
	return nil
}

// checkRecipient accepts "user@domain", and a device's
// "user#device@domain", as protocol.ValidRecipient does:
// the user as for accounts on a node, the domain by the one domain rule
// (what federation routes by and certificates name nodes by), both in
// lower case, since the recipient is signed as it is.
func checkRecipient(r string) error {
	if len(r) == 0 || len(r) > MaxRecipient {
		return fmt.Errorf("envelope: %w: %d bytes, want 3 to %d", ErrRecipient, len(r), MaxRecipient)
	}
	if err := protocol.ValidRecipient(r); err != nil {
		return fmt.Errorf("envelope: %w: %w", ErrRecipient, err)
	}
	return nil
}
