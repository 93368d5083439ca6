package protocol

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBadDomain means a string is not a domain a node can have: see
// ValidDomain. It is also ErrBadRequest, for the wire.
var ErrBadDomain = Mark(ErrBadRequest, errors.New("bad domain"))

// Bounds of a domain name (RFC 1035 §2.3.4).
const (
	MaxDomain      = 253
	maxDomainLabel = 63
)

// ValidDomain returns nil if d can be a node's domain: a lower-case DNS
// name of dot-separated labels of a-z, 0-9 and '-', each 1 to 63
// characters that neither start nor end with '-', at most 253 in all,
// whose last label is not all digits. Otherwise its error wraps
// ErrBadDomain and names the rule d breaks.
//
// It is the one rule for every domain of the protocol: the node's own
// (--domain), the SAN of a federation certificate (crypto/ca applies the
// same rule, held equal by a test), the origin of signed envelopes and
// channel posts, mDNS announcements and route adverts. Domains are
// compared byte for byte, so upper case is refused here rather than
// folded (ParseDomain folds); a last label of digits reads as an IP
// address, which a certificate's DNS name must not be.
func ValidDomain(d string) error {
	switch {
	case d == "":
		return fmt.Errorf("%w: empty", ErrBadDomain)
	case len(d) > MaxDomain:
		return fmt.Errorf("%w: %d characters, more than %d", ErrBadDomain, len(d), MaxDomain)
	}
	if lower := strings.ToLower(d); lower != d {
		return fmt.Errorf("%w: %q has upper-case letters (use %q)", ErrBadDomain, d, lower)
	}
	labels := strings.Split(d, ".")
	for _, l := range labels {
		switch {
		case l == "":
			return fmt.Errorf("%w: %q has an empty label (a leading, trailing or double dot)", ErrBadDomain, d)
		case len(l) > maxDomainLabel:
			return fmt.Errorf("%w: %q has a label longer than %d characters", ErrBadDomain, d, maxDomainLabel)
		case l[0] == '-' || l[len(l)-1] == '-':
			return fmt.Errorf("%w: %q has a label that starts or ends with '-'", ErrBadDomain, d)
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("%w: %q holds %q (allowed: a-z, 0-9, '-' and '.')", ErrBadDomain, d, rune(c))
			}
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return fmt.Errorf("%w: %q ends in a numeric label, like an IP address; a node's domain must be a DNS name", ErrBadDomain, d)
	}
	return nil
}

// ParseDomain lower-cases s and checks it with ValidDomain: for domains a
// person typed, where "Node1.Mesh" means "node1.mesh".
func ParseDomain(s string) (string, error) {
	d := strings.ToLower(s)
	if err := ValidDomain(d); err != nil {
		return "", err
	}
	return d, nil
}
