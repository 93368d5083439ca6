package ktwatch

import "errors"

// Errors of the watch; wrapped with detail.
var (
	// ErrUntrustedHead means a head of another domain is not signed with
	// a federation certificate of that domain from the community CA.
	ErrUntrustedHead = errors.New("tree head is not signed by its domain's federation certificate")
	// ErrBadEvidence means evidence handed over does not prove what it
	// says: a head does not parse or verify, or the two do not contradict.
	ErrBadEvidence = errors.New("key transparency evidence does not hold")
)
