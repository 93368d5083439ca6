package ca

import "errors"

// ErrExists means a file that datadir.InitCA or datadir.IssueCAFiles
// would write is already there. It lives here, with the CA's other
// refusals, because an admin meets it as a CA error. Nothing is overwritten: a CA key replaced by accident would cut
// every node of the community off from the others.
var ErrExists = errors.New("ca: file exists, not overwriting it")

// ErrBadDomain means a domain is not a lowercase DNS name that a node
// certificate can carry as its only DNS SAN.
var ErrBadDomain = errors.New("ca: bad domain")

// ErrBadName means a CA name is unusable as a certificate common name: too
// long, or holding control characters or invalid UTF-8.
var ErrBadName = errors.New("ca: bad CA name")

// ErrBadValidity means a validity period is empty or negative.
var ErrBadValidity = errors.New("ca: bad validity period")

// ErrOutlivesCA means a node certificate would stay valid after the CA's
// own certificate expires; peers would reject it from that day on, so it is
// refused up front.
var ErrOutlivesCA = errors.New("ca: certificate would outlive the CA")

// ErrCAExpired means the CA's certificate is no longer valid, so nothing it
// issues would be accepted.
var ErrCAExpired = errors.New("ca: the CA certificate has expired")

// ErrNotCA means a certificate loaded as the CA is not a CA certificate
// (no basic constraints with CA set, or no permission to sign
// certificates).
var ErrNotCA = errors.New("ca: not a CA certificate")

// ErrKeyMismatch means the CA key is not the key of the CA certificate:
// the two files come from different CAs.
var ErrKeyMismatch = errors.New("ca: key does not match the certificate")

// ErrNotEd25519 means a CA certificate or key is of another algorithm than
// Ed25519, the only one this package makes and reads.
var ErrNotEd25519 = errors.New("ca: not an Ed25519 key")

// ErrKeyPermissions means the CA key file can be read or written by users
// other than its owner. Load refuses it, as ssh does for private keys: a
// CA key that others could read must be treated as leaked.
var ErrKeyPermissions = errors.New("ca: key file is accessible to group or others")

// ErrNoCertificate means a PEM file holds no CERTIFICATE block.
var ErrNoCertificate = errors.New("ca: no certificate in file")

// ErrMalformed means a PEM file holds a block that does not decode, or a
// CERTIFICATE block that is not a valid X.509 certificate.
var ErrMalformed = errors.New("ca: malformed PEM or certificate")
