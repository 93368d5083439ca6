package envelope

import (
	"fmt"
	"strings"
	"time"

	"github.com/quicprochat/qpc/crypto/ca"
	"github.com/quicprochat/qpc/mesh/signed"
)

// maxUser is the longest user name, the local part of a recipient.
const maxUser = 64

// rules are the envelope's version and limits for the checks the signed
// mesh messages share.
var rules = signed.Rules{
	Kind:         "envelope",
	Version:      Version,
	MaxHopsLimit: MaxHopsLimit,
	MaxTTL:       MaxTTL,
	MaxClockSkew: MaxClockSkew,
}

// Verify checks e as a node must before it stores, forwards or delivers
// it, at time now. The cheap checks of the fields come first, then the
// clock, then the signature, so that junk costs no signature check. Each
// failure wraps its own sentinel: one of package signed's (the header's
// checks), or ErrRecipient or ErrPayload.
func (e *Envelope) Verify(now time.Time) error {
	if err := e.checkFields(); err != nil {
		return err
	}
	return rules.Verify(&e.Header, now, e.SignedBytes)
}

// checkFields is Verify without the clock and the signature: what Sign
// checks too.
func (e *Envelope) checkFields() error {
	if err := rules.Check(&e.Header); err != nil {
		return err
	}
	if err := checkRecipient(e.Recipient); err != nil {
		return err
	}
	if len(e.Payload) == 0 || len(e.Payload) > MaxPayload {
		return fmt.Errorf("envelope: %w: %d bytes, want 1 to %d", ErrPayload, len(e.Payload), MaxPayload)
	}
	return nil
}

// checkRecipient accepts "user@domain": user as for accounts on a node
// (1-64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit), and
// domain a name a community CA would put in a node certificate, since the
// domain is what federation routes by and certificates name nodes by.
func checkRecipient(r string) error {
	if len(r) == 0 || len(r) > MaxRecipient {
		return fmt.Errorf("envelope: %w: %d bytes, want 3 to %d", ErrRecipient, len(r), MaxRecipient)
	}
	user, domain, ok := strings.Cut(r, "@")
	if !ok {
		return fmt.Errorf("envelope: %w: %q is not user@domain", ErrRecipient, r)
	}
	if len(user) == 0 || len(user) > maxUser {
		return fmt.Errorf("envelope: %w: %q: user name must be 1 to %d characters", ErrRecipient, r, maxUser)
	}
	for i := 0; i < len(user); i++ {
		c := user[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '.' || c == '_' || c == '-')
		if !ok {
			return fmt.Errorf("envelope: %w: %q: user name takes a-z, 0-9, '.', '_', '-', starting with a letter or digit", ErrRecipient, r)
		}
	}
	if err := ca.ValidateDomain(domain); err != nil {
		return fmt.Errorf("envelope: %w: %q: %v", ErrRecipient, r, err)
	}
	return nil
}
