package signed

import "errors"

// Error is a reason a signed message fails its checks: a sentinel with a
// short name, the one word that counters, metric labels and logs use for
// it. Formats declare their own reasons (a post's body, an envelope's
// recipient) with NewError, so that Reason knows them too.
type Error struct {
	text   string
	reason string
}

// NewError returns a sentinel that reads as text and counts as reason.
// An empty reason means the failure has no word of its own: Reason then
// names it after the format ("bad-post", "bad-envelope").
func NewError(text, reason string) *Error { return &Error{text: text, reason: reason} }

// Error returns the sentinel's text.
func (e *Error) Error() string { return e.text }

// Reason returns the sentinel's short name, "" if it has none of its own.
func (e *Error) Reason() string { return e.reason }

// Reason returns the short name of why a message of kind ("post",
// "envelope") failed: the reason of the first *Error that err wraps, or
// "bad-"+kind when it wraps none or one without a name of its own. The
// names are metric label values that the docs list: do not rename them.
func Reason(err error, kind string) string {
	var e *Error
	if errors.As(err, &e) && e.reason != "" {
		return e.reason
	}
	return "bad-" + kind
}

// Each check fails with its own sentinel, wrapped with the format's name
// and what was wrong (for example "post: expired: TTL ran out at ..."), so
// that a node can tell reasons apart with errors.Is whichever format
// failed.
var (
	// ErrVersionTooOld means a message's version is 0: older than any
	// release, which is also what a message without the field reads as.
	ErrVersionTooOld = NewError("version too old", "version")
	// ErrVersion means a message's version is one this build does not
	// know, most likely from a newer node. It is distinct from
	// ErrVersionTooOld: a newer node is not broken.
	ErrVersion = NewError("unknown version", "version")
	// ErrOriginKey means a message's origin key is not a 32-byte Ed25519
	// public key, or Sign got a private key of the wrong size.
	ErrOriginKey = NewError("bad origin key", "")
	// ErrOriginDomain means the origin domain is not a domain a community
	// CA would name a node by.
	ErrOriginDomain = NewError("bad origin domain", "")
	// ErrTTL means a message's TTL is not a whole number of seconds from
	// one second to the format's MaxTTL.
	ErrTTL = NewError("bad TTL", "")
	// ErrMaxHops means a message's max hops is 0 or more than the format's
	// MaxHopsLimit.
	ErrMaxHops = NewError("bad max hops", "")
	// ErrHopLimit means a message has been sent on more often than its max
	// hops allow, or that sending it once more would do so. The hop count
	// is not signed: a dishonest relay can lower it and so grant more
	// hops, which is why each node's seen ids and the signed TTL, not the
	// hop count alone, stop a message that circulates.
	ErrHopLimit = NewError("hop limit reached", "hop-limit")
	// ErrCreatedInFuture means a message claims to have been created more
	// than the format's MaxClockSkew after the checking node's clock.
	ErrCreatedInFuture = NewError("created in the future", "future")
	// ErrExpired means a message's TTL has run out.
	ErrExpired = NewError("expired", "expired")
	// ErrBadSignature means a message's signature is not 64 bytes or does
	// not verify under its origin key: some signed field was changed, or
	// the message was never signed by that key.
	ErrBadSignature = NewError("bad signature", "bad-signature")
	// ErrMalformed means bytes are not an encoded message (truncated,
	// oversized, with trailing bytes, too many segments, bad pointers, or
	// a field longer than in any valid message), or a message holds a
	// value its wire form cannot carry (a creation time finer than a
	// millisecond).
	ErrMalformed = NewError("malformed", "malformed")
)
