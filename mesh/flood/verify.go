package flood

import (
	"fmt"
	"time"

	"github.com/quicprochat/qpc/internal/originhdr"
)

// rules checks the origin's header of a post, with the post's limits and
// sentinels.
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

// Verify checks p as a node must before it keeps, relays or hands it to
// clients, at time now. The cheap checks of the fields come first, then the
// clock, then the signature, so that junk costs no signature check. Each
// failure wraps its own sentinel: ErrVersionTooOld, ErrVersion,
// ErrOriginKey, ErrOriginDomain, ErrTTL, ErrMalformed, ErrMaxHops,
// ErrHopLimit, ErrBody, ErrCreatedInFuture, ErrExpired or ErrBadSignature.
func (p *Post) Verify(now time.Time) error {
	if err := p.checkFields(); err != nil {
		return err
	}
	return rules.Verify(p.header(), now, p.SignedBytes, p.Signature)
}

// checkFields is Verify without the clock and the signature: what Sign
// checks too.
func (p *Post) checkFields() error {
	if err := rules.Check(p.header()); err != nil {
		return err
	}
	if n := len(p.Body); n == 0 || n%Quantum != 0 || n > MaxBody {
		return fmt.Errorf("%w: %d bytes, want a multiple of %d from %d to %d", ErrBody, n, Quantum, Quantum, MaxBody)
	}
	return nil
}

// header is p's part that the origin header rules check.
func (p *Post) header() originhdr.Header {
	return originhdr.Header{
		Version:      p.Version,
		OriginKey:    p.OriginKey,
		OriginDomain: p.OriginDomain,
		Created:      p.Created,
		TTL:          p.TTL,
		Hops:         p.Hops,
		MaxHops:      p.MaxHops,
	}
}
