package flood

import (
	"fmt"
	"time"

	"github.com/quicprochat/qpc/mesh/signed"
)

// rules are the post's version and limits for the checks the signed mesh
// messages share.
var rules = signed.Rules{
	Kind: "post", Version: Version,
	MaxHopsLimit: signed.MaxHopsLimit, MaxTTL: signed.MaxTTL, MaxClockSkew: signed.MaxClockSkew,
}

// Verify checks p as a node must before it keeps, relays or hands it to
// clients, at time now (signed.Rules.VerifyMessage): fields, then the
// clock, then the signature. Each failure wraps its own sentinel: one of
// package signed's (the header's checks), or ErrBody.
func (p *Post) Verify(now time.Time) error { return rules.VerifyMessage(p, now) }

// CheckFields checks the post's own field, its body: what Sign and Verify
// check after the header's.
func (p *Post) CheckFields() error {
	if n := len(p.Body); n == 0 || n%Quantum != 0 || n > MaxBody {
		return fmt.Errorf("post: %w: %d bytes, want a multiple of %d from %d to %d", ErrBody, n, Quantum, Quantum, MaxBody)
	}
	return nil
}
