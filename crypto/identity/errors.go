package identity

import "errors"

// ErrNoPEM means a key file held no PEM block.
var ErrNoPEM = errors.New("no PEM block found")

// ErrNotEd25519 means a key file held something other than an Ed25519
// private key in PKCS #8.
var ErrNotEd25519 = errors.New("not an Ed25519 private key")
