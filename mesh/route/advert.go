package route

import (
	"fmt"

	"github.com/quicprochat/qpc/protocol"
)

// Advert is one line of what a node tells a neighbour: "I reach Domain in
// Hops hops". A node advertises itself with Hops 0; a neighbour that
// learns the line counts one more hop for the link between them.
//
// The table takes hop counts on trust. A claim of 0 hops is checked here
// (only the neighbour itself); a claim of 1 hop, which would tie with or
// beat most real paths, needs proof that the claimed domain is linked to
// the neighbour, which the federation layer checks against the community
// CA before it hands a list to Learn (crypto/attest link statements), so
// that this package needs no certificates.
type Advert struct {
	Domain string
	Hops   uint8
}

// checkAdverts reports whether adverts is a list from neighbour that the
// table may apply, without looking at the table. seen is scratch space for
// the duplicate check and is cleared first.
func checkAdverts(neighbour string, adverts []Advert, maxRoutes int, seen map[string]struct{}) error {
	if len(adverts) == 0 {
		// An honest node always lists itself, so an empty list is a bug
		// on the other side; taking it would withdraw everything.
		return fmt.Errorf("%w: empty list from %s", ErrMalformed, neighbour)
	}
	if len(adverts) > maxRoutes {
		return fmt.Errorf("%w: %s sent %d entries, limit %d", ErrTooManyAdverts, neighbour, len(adverts), maxRoutes)
	}
	clear(seen)
	for i, a := range adverts {
		if !validDomain(a.Domain) {
			return fmt.Errorf("%w: entry %d from %s: %q is not a lowercase domain name", ErrMalformed, i, neighbour, a.Domain)
		}
		if _, dup := seen[a.Domain]; dup {
			return fmt.Errorf("%w: %s lists %s twice", ErrMalformed, neighbour, a.Domain)
		}
		seen[a.Domain] = struct{}{}
		// Hop count 0 means "this is me". Anyone else claiming it would
		// tie with, or beat, the direct link to that domain.
		if (a.Domain == neighbour) != (a.Hops == 0) {
			return fmt.Errorf("%w: %s lists %s at %d hops", ErrMalformed, neighbour, a.Domain, a.Hops)
		}
	}
	return nil
}

// validDomain accepts the domains nodes can have (protocol.ValidDomain):
// lower-case only, because domains are compared byte for byte and
// "A.mesh" and "a.mesh" must not become two destinations.
func validDomain(d string) bool { return protocol.ValidDomain(d) == nil }
