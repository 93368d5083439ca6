package flood

import (
	"fmt"
	"time"

	"github.com/quicprochat/qpc/mesh/signed"
)

// rules are the post's version and limits for the checks the signed
// mesh messages share.
var rules = signed.Rules{
	Kind:         "post",
	Version:      Version,
	MaxHopsLimit: MaxHopsLimit,
	MaxTTL:       MaxTTL,
	MaxClockSkew: MaxClockSkew,
}

// Verify checks p as a node must before it keeps, relays or hands it to
// clients, at time now. The cheap checks of the fields come first, then the
// clock, then the signature, so that junk costs no signature check. Each
// failure wraps its own sentinel: one of package signed's (the header's
// checks), or ErrBody.
func (p *Post) Verify(now time.Time) error {
	if err := p.checkFields(); err != nil {
		return err
	}
	return rules.Verify(&p.Header, now, p.SignedBytes)
}

// checkFields is Verify without the clock and the signature: what Sign
// checks too.
func (p *Post) checkFields() error {
	if err := rules.Check(&p.Header); err != nil {
		return err
	}
	if n := len(p.Body); n == 0 || n%Quantum != 0 || n > MaxBody {
		return fmt.Errorf("post: %w: %d bytes, want a multiple of %d from %d to %d", ErrBody, n, Quantum, Quantum, MaxBody)
	}
	return nil
}
