package flood

import "github.com/quicprochat/qpc/mesh/signed"

// The checks a post shares with every signed mesh message fail with
// package signed's sentinels (signed.ErrExpired, signed.ErrBadSignature,
// ...); ErrBody is the post's own, counted as "body".

// ErrBody means a post's body is empty, not a multiple of Quantum bytes,
// or larger than MaxBody.
var ErrBody = signed.NewError("bad post body size", "body")
