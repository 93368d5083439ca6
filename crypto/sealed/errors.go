package sealed

import "errors"

// ErrDecrypt means an envelope could not be decrypted: it was sealed to
// another key or another address, or it was altered on the way.
var ErrDecrypt = errors.New("sealed: cannot decrypt (not for this recipient, or tampered)")

// ErrBadSignature means an envelope decrypted but the sender's signature over
// its content does not verify with the identity key it carries.
var ErrBadSignature = errors.New("sealed: bad sender signature")

// ErrUnsupportedVersion means an envelope, or its decrypted content, carries
// a version newer than this build knows.
var ErrUnsupportedVersion = errors.New("sealed: unsupported version")

// ErrTooOld means an envelope, or its decrypted content, carries a version
// older than this build accepts.
var ErrTooOld = errors.New("sealed: version too old")

// ErrMalformed means an envelope, or its decrypted content, does not follow
// the layout: wrong size, bad length field, nonzero padding, invalid sender
// address or key.
var ErrMalformed = errors.New("sealed: malformed envelope")

// ErrTooLarge means a message body is longer than MaxBodySize.
var ErrTooLarge = errors.New("sealed: message too large")

// ErrBadRecipientKey means the recipient's HPKE key is not an X-Wing public
// key.
var ErrBadRecipientKey = errors.New("sealed: bad recipient HPKE key")

// ErrSenderKeyMismatch means a correctly signed message came from an
// identity key other than the one the key directory publishes for its sender
// address. The client must show such a message as unverified.
var ErrSenderKeyMismatch = errors.New("sealed: sender identity key differs from the published key")
