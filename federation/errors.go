package federation

import (
	"errors"
	"fmt"
)

// Reasons a peer is refused, as logged and counted
// (qpc_federation_refused_total{reason}).
const (
	ReasonNoCertificate  = "no-certificate"  // the peer presented none
	ReasonUnknownCA      = "unknown-ca"      // it does not chain to the community CA
	ReasonExpired        = "expired"         // it is expired or not yet valid
	ReasonBadUsage       = "bad-usage"       // it is not for client or server authentication
	ReasonInvalid        = "invalid"         // any other chain failure
	ReasonBadSAN         = "bad-san"         // it does not name exactly one valid domain
	ReasonDenied         = "denied"          // its fingerprint is on --federation-deny
	ReasonSelf           = "self"            // it is this node's own (or names this node's domain)
	ReasonDomainMismatch = "domain-mismatch" // the peer claims another domain than its certificate names
	ReasonNoFederation   = "no-federation"   // the peer does not speak the federation protocol
)

// RefusedError says why a peer was refused.
type RefusedError struct {
	// Reason is one of the Reason constants.
	Reason string
	// Err is the underlying failure.
	Err error
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("peer refused (%s): %v", e.Reason, e.Err)
}

func (e *RefusedError) Unwrap() error { return e.Err }

func refused(reason string, format string, args ...any) *RefusedError {
	return &RefusedError{Reason: reason, Err: fmt.Errorf(format, args...)}
}

// ErrClosed means the manager has stopped.
var ErrClosed = errors.New("federation stopped")
