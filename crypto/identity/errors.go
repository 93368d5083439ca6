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

// ErrBadDeviceID means a device id's text is not 16 lowercase or uppercase
// hex digits.
var ErrBadDeviceID = errors.New("bad device id")

// ErrBadDeviceName means a device name is empty, longer than MaxDeviceNameLen
// bytes, not UTF-8, or holds control, bidi-override or invisible characters
// that would let one name pass for another.
var ErrBadDeviceName = errors.New("bad device name")

// ErrTooManyDevices means a device list holds more than MaxDevices current
// devices or more than MaxDeviceEntries entries.
var ErrTooManyDevices = errors.New("too many devices")

// ErrDuplicateDevice means a device list holds two entries with one device
// id, or two current devices with one name (names are how people remove
// devices, so they must say which one).
var ErrDuplicateDevice = errors.New("duplicate device")

// ErrNoDevice means a device id or name is not in a device list.
var ErrNoDevice = errors.New("no such device")

// ErrBadLinkCode means a link code's text has the wrong length or a
// character outside Crockford base32.
var ErrBadLinkCode = errors.New("bad link code")

// ErrBadLinkTag means a link request's tag was not made with the link code
// it was checked against: the request did not come from the device that
// showed the code.
var ErrBadLinkTag = errors.New("link request tag does not match the code")

// ErrBadRecoveryCode means a recovery code has the wrong length, a character
// outside Crockford base32, or a checksum that does not match (a typo).
var ErrBadRecoveryCode = errors.New("bad recovery code")
