// Package channel is the client side of encrypted broadcast channels
// (DESIGN §7): deriving a channel's keys from its secret, passing the
// secret around as a share string, and sealing and opening posts.
//
// A channel is a topic and a 32-byte random Secret. Members share both out
// of band as a Share ("qpc://channel/kiez-news#<secret>", as text or a QR
// code). Whoever holds the secret can read and post; nodes hold no secret:
// they store and flood each post's body under the channel id, which the
// secret derives and which tells nothing about the topic or the key.
//
// # Keys
//
// Secret.Keys derives two 32-byte values with HKDF-SHA256 (RFC 5869), the
// secret as input keying material and no salt:
//
//	channel id      = HKDF(secret, info "qpc channel v1 id")
//	encryption key  = HKDF(secret, info "qpc channel v1 key")
//
// # Body (what nodes relay)
//
// All integers are big-endian.
//
//	offset  size   field
//	0       1      version (Version = 1)
//	1       24     nonce, random
//	25      n+16   XChaCha20-Poly1305 encryption of the n-byte plaintext,
//	               with its 16-byte tag
//
// The AEAD's additional data is the version byte followed by the channel id
// (33 bytes), so a body opened under another channel's keys, or with its
// version byte changed, fails as ErrDecrypt.
//
// # Plaintext (inside the encryption)
//
//	size  field
//	2     A, length of the author address
//	A     author, "user@domain" as identity.CheckAddress accepts it
//	32    author's Ed25519 identity public key
//	8     time, Unix milliseconds, signed
//	4     T, length of the text, 1..MaxText (4096)
//	T     text, UTF-8
//	64    Ed25519 signature by the identity key over the signed bytes
//	p     zero bytes, the fewest that make the body a multiple of Quantum
//
// A body is therefore 151 + A + T + p bytes: from 256 to 4608 bytes for
// what Seal writes, and Open accepts multiples of Quantum (256) up to
// MaxBody (8192). A text's length shows only to within 256 bytes: from
// alice@a.example (15 bytes), texts of 1 to 90 bytes give a 256-byte body,
// 91 to 346 bytes a 512-byte body.
//
// # Signed bytes
//
//	"qpc channel message v1" | 0x00 | channel id (32) |
//	A (2) | author | identity key (32) | time (8) | T (4) | text
//
// that is, the context string and the channel id followed by the plaintext
// up to the signature. The context keeps the signature from being valid for
// anything else the identity key signs. The channel id keeps a member of one
// channel from re-posting a message into another channel as if its author
// had posted it there. Everything else is covered so that someone who holds
// the secret but not the author's identity key can decrypt a post but not
// change its author, time or text and encrypt it again: Open reports
// ErrBadSignature.
//
// What the signature cannot stop is a member encrypting a signed post again
// unchanged, under a new nonce: a new body, so nodes relay it as a new
// post. Message.Digest, SHA-256 of the signed bytes, is the same for every
// such copy; readers drop a post whose Digest they have already shown.
//
// Open decodes strictly: lengths that overrun, padding that is not zero or
// not the fewest bytes needed, and an author or a text that Seal would
// refuse are ErrMalformed. Only someone holding the secret can make such a
// body, but a reader must still not trust it.
//
// Open proves that the holder of Message.AuthorKey wrote the post for this
// channel. Whether that key is Author's is for the caller to check against
// the key the author's home node publishes; a post whose key differs must be
// shown as unverified. Message.Time is what the author claims.
//
// # Why XChaCha20-Poly1305
//
// Every member encrypts under the one channel key, with no coordination
// between them, so nonces cannot be counters: they must be random. With
// ChaCha20-Poly1305's 96-bit nonce, random nonces are safe only up to
// about 2^32 posts under one key (a collision leaks the XOR of two texts
// and allows forgeries), a bound nobody can track across a mesh; with
// XChaCha20-Poly1305's 192-bit nonce the risk stays negligible for any
// number of posts a channel can see. XChaCha20-
// Poly1305 is ChaCha20-Poly1305 under a subkey derived (HChaCha20) from the
// key and the first 16 nonce bytes, so it is the "ChaCha20-Poly1305 with a
// unique nonce per post" the design asks for, with a nonce large enough to
// draw at random. ChaCha20 rather than AES because clients and nodes run on
// ARM and MIPS without AES instructions, as in package sealed.
//
// # Versions
//
// Version 0 is reserved and reported as ErrVersionTooOld; a version above
// Version as ErrVersion, so a client can tell "the author's client is
// broken or ancient" from "upgrade me". The version is checked before the
// size, since a later version may size its bodies differently.
//
// # What a channel does not give
//
// No forward secrecy and no removal of members: whoever learns the secret,
// now or later, reads every post still kept by nodes and can post. To leave
// someone out, members move to a new secret.
package channel
