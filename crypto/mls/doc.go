// Package mls implements the core of the Messaging Layer Security protocol
// (RFC 9420) for cipher suite 1, MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519,
// proven byte for byte against the MLS working group's interoperability test
// vectors (read from ../shared/testdata/mls/ by the tests, never copied here).
//
// This package holds every layer below group management: wire structures,
// the ratchet tree and TreeKEM, the key schedule, the secret tree and message
// protection. The group lifecycle (KeyPackage creation, the Group type,
// proposals and commits, persistence) builds on these pieces.
//
// # Layout
//
// Encoding:
//   - codec.go: the TLS presentation language with MLS variable-length
//     integers (§2.1.2), Marshal and Unmarshal. Every wire type implements
//     the unexported codec interface.
//   - types.go, proposals.go, messages.go, tree.go: the wire structures —
//     Credential, Capabilities, LeafNode, KeyPackage, GroupContext,
//     proposals, Commit, UpdatePath, FramedContent, PublicMessage,
//     PrivateMessage, GroupInfo, GroupSecrets, Welcome, MLSMessage, and the
//     ratchet tree as carried in the ratchet_tree extension.
//
// Cryptography:
//   - suite.go: the CipherSuite interface through which all protocol code
//     reaches its primitives, so that more suites (post-quantum ones
//     included) can be added, and suite 1 on the standard library
//     (crypto/hpke, crypto/hkdf, crypto/ed25519, AES-GCM).
//   - labeled.go: RefHash, ExpandWithLabel, DeriveSecret, DeriveTreeSecret,
//     Sign/VerifyWithLabel, Encrypt/DecryptWithLabel (§5).
//   - keyschedule.go: epoch secrets, exporter, external key pair and
//     external init, PSK secret, confirmation tag (§8).
//   - transcript.go: confirmed and interim transcript hashes (§8.2).
//   - secrettree.go: the secret tree, sender-data key and nonce, and the
//     per-leaf handshake and application ratchets (§9).
//
// Tree:
//   - treemath.go: array-based tree math (Appendix C).
//   - treehash.go: resolution, tree hash, parent hash, parent-hash validity
//     and tree validation (§4.1.1, §7.8, §7.9, §12.4.3.1).
//   - treeops.go: Add, Update and Remove applied to the tree (§7.7).
//   - treekem.go: UpdatePath creation and processing, path secrets from a
//     Welcome, the commit secret (§7.4-§7.6).
//
// Messages:
//   - framing.go: signing of FramedContent, PublicMessage membership tags,
//     PrivateMessage encryption with sender data, reuse guard and padding (§6).
//   - welcome.go: GroupSecrets and GroupInfo encryption for a Welcome (§12.4.3.1).
//
// # Wire formats
//
// Every structure is encoded exactly as RFC 9420 §2.1 specifies: integers are
// big-endian; opaque<V> and T<V> vectors carry a varint byte length (1, 2 or 4
// bytes, top two bits 00, 01, 10; 11 is reserved); optional<T> is a presence
// byte 0 or 1 followed by T; select() arms follow their tag with no length.
// Decoding is strict: a varint must use its shortest form, every length is
// checked against the input, enumerations this package cannot parse are
// rejected, and no bytes may follow a structure. As a result every accepted
// input re-encodes to itself, which the fuzz targets check.
//
// # Secrets and state
//
// The ratchet of each sender deletes a key as it hands it out and keeps at
// most Window skipped keys for late messages; SecretTree deletes tree-node
// secrets once their children are derived. TreeKEM operations modify the
// tree they are called on; callers work on a Clone until a commit is accepted.
//
// # Errors
//
// Every rejection wraps a sentinel from errors.go with %w, so callers test
// with errors.Is. Nothing here panics on input from the network.
package mls
