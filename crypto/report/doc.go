// Package report seals reports of abuse to a node's admin (issue 30,
// docs/blocking.md): a user who reports a message seals what they saw, with
// a note, to the report key the node publishes (Health.reportKey); the node
// keeps the sealed report and cannot read it; the admin opens it with the
// private key in the node's data directory (qpc admin reports).
//
// # Cipher suite
//
// HPKE (RFC 9180) base mode, the suite of crypto/sealed: the X-Wing KEM
// (MLKEM768-X25519), HKDF-SHA256 and ChaCha20-Poly1305, with
//
//	info = "qpc/1 report"
//
// and the sealed report's version byte as the AEAD's additional data.
//
// # Sealed report (what the node keeps)
//
//	offset  size  field
//	0       1     version (Version = 1)
//	1       1120  enc: the X-Wing encapsulated key
//	1121    n+16  AEAD ciphertext of the content, with its 16-byte tag
//
// # Content (inside the ciphertext; integers big-endian)
//
//	1   version (Version = 1)
//	8   when the report was made, Unix milliseconds
//	16  the reported message's id
//	8   the reported message's time, Unix milliseconds
//	1   length r of the reporter's address, then r bytes
//	1   length s of the sender's address, then s bytes
//	4   length t of the message text (at most MaxText), then t bytes
//	2   length n of the note (at most MaxNote), then n bytes
//
// Addresses pass identity.CheckAddress; text and note are UTF-8. Nothing
// may follow the note. The content is what the reporter says they saw: it
// carries no signature of the sender, so the admin weighs it as a
// reporter's word (the node names the reporter's account beside it).
package report
