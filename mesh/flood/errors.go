package flood

import "errors"

// Each check of Verify fails with its own sentinel, wrapped with a message
// that says what was wrong, so that a node can count rejected posts by
// reason with errors.Is.

// ErrVersionTooOld means a post's version is 0: older than any release,
// which is also what a message without the field reads as.
var ErrVersionTooOld = errors.New("post version too old")

// ErrVersion means a post's version is one this build does not know, most
// likely from a newer node. It is distinct from ErrVersionTooOld: a newer
// node is not broken.
var ErrVersion = errors.New("unknown post version")

// ErrOriginKey means a post's origin key is not a 32-byte Ed25519 public
// key, or Sign got a private key of the wrong size.
var ErrOriginKey = errors.New("bad post origin key")

// ErrOriginDomain means a post's origin domain is not a domain a community
// CA would name a node by.
var ErrOriginDomain = errors.New("bad post origin domain")

// ErrBody means a post's body is empty, not a multiple of Quantum bytes,
// or larger than MaxBody.
var ErrBody = errors.New("bad post body size")

// ErrTTL means a post's TTL is not a whole number of seconds between one
// second and MaxTTL.
var ErrTTL = errors.New("bad post TTL")

// ErrMaxHops means a post's max hops is 0 or more than MaxHopsLimit.
var ErrMaxHops = errors.New("bad post max hops")

// ErrHopLimit means a post has been relayed more often than its max hops
// allow, or that relaying it once more would do so. The hop count is not
// signed: a dishonest relay can lower it and so grant more hops, which is
// why each node's seen ids and the signed TTL, not the hop count alone,
// stop a post that circulates.
var ErrHopLimit = errors.New("post hop limit reached")

// ErrCreatedInFuture means a post claims to have been created more than
// MaxClockSkew after the checking node's clock.
var ErrCreatedInFuture = errors.New("post created in the future")

// ErrExpired means a post's TTL has run out.
var ErrExpired = errors.New("post expired")

// ErrBadSignature means a post's signature is not 64 bytes or does not
// verify under its origin key: some signed field was changed, or the post
// was never signed by that key.
var ErrBadSignature = errors.New("bad post signature")

// ErrMalformed means bytes are not an encoded post (truncated, oversized,
// with trailing bytes, too many segments, bad pointers, a channel id that
// is not 32 bytes, or a field longer than in any valid post), or a Post
// holds a value its wire form cannot carry (a creation time finer than a
// millisecond).
var ErrMalformed = errors.New("malformed post")
