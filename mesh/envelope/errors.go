package envelope

import "errors"

// Each check of Verify fails with its own sentinel, wrapped with a message
// that says what was wrong, so that a node can count rejections by reason
// with errors.Is.

// ErrVersionTooOld means an envelope's version is 0: older than any
// release, which is also what a message without the field reads as.
var ErrVersionTooOld = errors.New("envelope version too old")

// ErrVersion means an envelope's version is one this build does not know,
// most likely from a newer node. It is distinct from ErrVersionTooOld: a
// newer node is not broken.
var ErrVersion = errors.New("unknown envelope version")

// ErrOriginKey means an envelope's origin key is not a 32-byte Ed25519
// public key, or Sign got a private key of the wrong size.
var ErrOriginKey = errors.New("bad origin key")

// ErrOriginDomain means the origin domain is not a domain a community CA
// would name a node by.
var ErrOriginDomain = errors.New("bad origin domain")

// ErrRecipient means an envelope's recipient is not "user@domain" with a
// valid user name and a lowercase DNS name.
var ErrRecipient = errors.New("bad recipient")

// ErrPayload means an envelope's payload is empty or larger than
// MaxPayload.
var ErrPayload = errors.New("bad payload size")

// ErrTTL means an envelope's TTL is not a whole number of seconds between
// one second and MaxTTL.
var ErrTTL = errors.New("bad TTL")

// ErrMaxHops means an envelope's max hops is 0 or more than MaxHopsLimit.
var ErrMaxHops = errors.New("bad max hops")

// ErrHopLimit means an envelope has been forwarded more often than its
// max hops allow, or that forwarding it once more would do so. The hop
// count is not signed: a dishonest forwarder can lower it and so grant
// more hops, which is why the seen-ids of each node and the signed TTL,
// not the hop count alone, stop an envelope that circulates.
var ErrHopLimit = errors.New("hop limit reached")

// ErrCreatedInFuture means an envelope claims to have been created more
// than MaxClockSkew after the checking node's clock.
var ErrCreatedInFuture = errors.New("envelope created in the future")

// ErrExpired means an envelope's TTL has run out.
var ErrExpired = errors.New("envelope expired")

// ErrBadSignature means an envelope's signature is not 64 bytes or does
// not verify under its origin key: some signed field was changed, or the
// envelope was never signed by that key.
var ErrBadSignature = errors.New("bad envelope signature")

// ErrMalformed means bytes are not an encoded envelope (truncated,
// oversized, with trailing bytes, too many segments, bad pointers, or a
// field longer than in any valid envelope), or an Envelope holds a value
// its wire form cannot carry (a creation time finer than a millisecond).
var ErrMalformed = errors.New("malformed envelope")
