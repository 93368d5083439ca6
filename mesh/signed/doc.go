// Package signed is the kit that the mesh's origin-signed messages share:
// store-and-forward envelopes (mesh/envelope) and channel posts
// (mesh/flood). Both are made and signed by one node (the origin), carry
// a hop count that each relay raises, live for a signed TTL, and are
// checked by every node that receives them. What they share is written
// here once, so that the two formats differ only where they really do
// (an envelope's recipient and payload, a post's channel and body):
//
//   - Header, the origin's fields, which each format embeds: version,
//     origin key and domain, creation time, TTL, hop count and max hops,
//     signature; OriginID, Expires and Hop (raise the hop count within
//     max hops).
//   - Rules, a format's name, version and limits (MaxHopsLimit, MaxTTL
//     and MaxClockSkew are the ones both formats use): New starts a
//     header, Check checks its fields, Verify the clock, the expiry and
//     then, the most costly, the signature.
//   - Message, what a format's message is to the kit (its header, the
//     check of its own fields, its signed bytes): Sign makes and signs
//     one, Rules.VerifyMessage runs every check in order, Forwarded
//     raises the hop count of a copy.
//   - The start of the signed bytes (AppendSigned, AppendField): prefix,
//     version, max hops, TTL, creation time, origin key. Each format
//     documents its whole layout in its package doc; the bytes are the
//     ones the formats signed before this package existed.
//   - The wire: ToWire and FromWire move the header to and from the
//     generated struct (whose fields are named alike in both schemas),
//     ToWire then the format's own fields (Set), FromWire copying each
//     byte field under a bound; Marshal encodes a stored message and
//     Unmarshal decodes one under a size bound (package internal/capnpmsg).
//   - One set of sentinel errors, and one reason word per error (Reason),
//     which the relays use as metric labels and in logs. A format's own
//     errors are made with NewError and so carry a reason too.
//
// It sits in mesh/, beside the formats that use it, rather than under
// internal/ or crypto/: it is the mesh's message layer, and it imports
// crypto/* (identity, the CA's domain rule) and never the other way round.
package signed
