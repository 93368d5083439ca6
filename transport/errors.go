package transport

import (
	"errors"
	"fmt"
)

// ErrBadFingerprint means a pin is not a hex SHA-256.
var ErrBadFingerprint = errors.New("bad certificate fingerprint")

// ErrNoCertificates means a CA file held no PEM certificate.
var ErrNoCertificates = errors.New("no PEM certificates found")

// ErrNoTrust means a client was given no way to check a node's certificate.
var ErrNoTrust = errors.New("no pin, CA or trust-on-first-use given")

// ErrNoRPCStream means a connection never opened the stream that carries
// RPC.
var ErrNoRPCStream = errors.New("peer opened no RPC stream")

// PinMismatchError means a node presented a certificate other than the
// pinned one.
type PinMismatchError struct {
	Want, Got string
}

func (e *PinMismatchError) Error() string {
	return fmt.Sprintf("certificate fingerprint %s does not match the pin %s", e.Got, e.Want)
}
