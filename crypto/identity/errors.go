package identity

import "errors"

// ErrNoPEM means a key file held no PEM block.
var ErrNoPEM = errors.New("no PEM block found")

// ErrNotEd25519 means a key file held something other than an Ed25519
// private key in PKCS #8.
var ErrNotEd25519 = errors.New("not an Ed25519 private key")

// ErrMalformedKeys means encoded user keys or a public key bundle have the
// wrong size or content.
var ErrMalformedKeys = errors.New("malformed user keys")

// ErrBadSignature means a public key bundle's signature does not verify for
// the address it was checked against.
var ErrBadSignature = errors.New("bad key bundle signature")

// ErrBadAddress means a user address is empty, too long, or holds spaces,
// control characters or invalid UTF-8.
var ErrBadAddress = errors.New("bad user address")

// ErrTooOld means an encoding carries a version older than this build reads.
var ErrTooOld = errors.New("format version too old")

// ErrUnsupportedVersion means an encoding carries a version newer than this
// build knows.
var ErrUnsupportedVersion = errors.New("unsupported format version")
