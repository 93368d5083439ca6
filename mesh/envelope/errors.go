package envelope

import "github.com/quicprochat/qpc/mesh/signed"

// The checks an envelope shares with every signed mesh message fail with
// package signed's sentinels (signed.ErrExpired, signed.ErrBadSignature,
// ...); these are the envelope's own. Each has the empty reason: a node
// counts them as "bad-envelope", the reason the wire carries for them.

// ErrRecipient means an envelope's recipient is not "user@domain" with a
// valid user name and a lowercase DNS name.
var ErrRecipient = signed.NewError("bad recipient", "")

// ErrPayload means an envelope's payload is empty or larger than
// MaxPayload.
var ErrPayload = signed.NewError("bad payload size", "")
