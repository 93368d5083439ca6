// Package mls implements the core of the Messaging Layer Security protocol
// (RFC 9420) for cipher suite 1, MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519,
// and is proven byte for byte against the MLS working group's test vectors.
//
// This package holds every layer below group management; the group lifecycle
// (KeyPackages, Group, commits) builds on it.
//
// # Layout
//
//   - codec.go: the TLS presentation language with MLS variable-length
//     integers (RFC 9420 §2.1.2). Decoding is strict: only minimal varints,
//     every length checked against the input, no trailing bytes. Every wire
//     structure implements the unexported codec interface and is read and
//     written with Marshal and Unmarshal.
//   - treemath.go: array-based tree math (Appendix C).
//   - suite.go: the CipherSuite interface and cipher suite 1 on the standard
//     library (crypto/hpke, crypto/hkdf, crypto/ed25519, AES-GCM).
//   - labeled.go: RefHash, ExpandWithLabel, DeriveSecret, DeriveTreeSecret,
//     Sign/VerifyWithLabel, Encrypt/DecryptWithLabel (§5).
//
// # Wire formats
//
// Every structure is encoded exactly as RFC 9420 §2.1 specifies: integers are
// big-endian; opaque<V> and T<V> vectors carry a varint byte length (1, 2 or 4
// bytes, top two bits 00, 01, 10); optional<T> is a presence byte 0 or 1
// followed by T; select() arms follow their tag with no length.
//
// # Errors
//
// Every rejection wraps a sentinel from errors.go with %w; no function panics
// on input from the network.
package mls
