// Package kt is the core of key transparency: the append-only Merkle log a
// node keeps of its key directory, in the shape of RFC 9162 (Certificate
// Transparency v2), with its entries, signed tree heads and proofs. It is
// pure: no network, no storage. A node persists what Append returns
// (node/store), and a client or auditor checks what a node serves with
// the Verify functions; both hold the node to one history that anyone can
// replay, so a key the node hands out for an address is a key it has
// published to everyone who looks.
//
// # Tree
//
// SHA-256 throughout (RFC 9162 §2.1.1): a leaf hashes as SHA-256(0x00 ||
// entry bytes), an interior node as SHA-256(0x01 || left || right), and the
// empty tree's root is SHA-256 of nothing. A list of n > 1 leaves splits at
// k, the largest power of two below n. Sizes and indexes are uint64.
// The tree is kept as its perfect subtrees, (level, index) covering leaves
// [index<<level, (index+1)<<level): they never change once complete, so a
// store writes each once and every root and proof for any size up to the
// current one is O(log n) reads. Proofs are those of RFC 9162 §2.1.3 and
// §2.1.4, at most MaxProof hashes.
//
// # Entry (a leaf's data), version 1
//
// Integers are big-endian. Nothing may follow.
//
//	offset  size  field
//	0       1     version = 1
//	1       1     kind: 1 register, 2 update, 3 reset, 4 delete
//	2       8     seq, u64: 1 for the address's first entry, +1 for each next
//	10      8     time, i64 Unix milliseconds when the node made the entry
//	18      1     a, length of the address, 1..255
//	19      a     address "user@domain", as protocol.ValidAddress has it
//	19+a    1     k, length of the account key, 0 or 32
//	20+a    k     account key (none for an account from before devices)
//	20+a+k  32    keys hash (KeysHash); all zero for delete, and only for delete
//
// KeysHash is SHA-256 over the 14 bytes "qpc kt keys v1", one 0x00, then
// identity key, HPKE key, signature, account key and device list, each as
// a u32 length and its bytes: what a PublishedKeys answer carries that a
// client encrypts to or checks.
//
// # Signed tree head, version 1
//
// The signer signs (Ed25519) the statement
//
//	"qpc kt head v1" (14 bytes) || 0x00 || u8 d || domain (d bytes) ||
//	u64 size || root (32 bytes) || i64 time (Unix milliseconds)
//
// and the head is encoded, integers big-endian, nothing following:
//
//	size  field
//	1     version = 1
//	1     d, length of the domain, 1..253
//	d     domain (protocol.ValidDomain)
//	8     size, u64
//	32    root
//	8     time, i64 Unix milliseconds
//	1     signer kind: 1 node key, 2 federation certificate
//	32    kind 1: the Ed25519 public key that signs
//	2+c   kind 2: u16 c, 1..4096, then the DER certificate whose Ed25519 key signs
//	64    Ed25519 signature over the statement
//
// Verify checks the signature under the key the head names. Which keys may
// sign for a domain (the pinned node key, a certificate of the community
// CA with that domain) is for the caller to decide.
//
// Two verified heads of one log with the same size and different roots
// are a fork (Contradicts); heads of different sizes are checked with a
// consistency proof.
package kt
