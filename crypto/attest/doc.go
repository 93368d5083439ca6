// Package attest holds the statements a node signs with the key of its
// federation certificate, so that what it says can be checked by anyone
// who holds the community CA, however many nodes passed it on: answers to
// key lookups, and link statements that back route adverts.
//
// Without them, every node on the path of a lookup could answer for a
// user of another domain with keys of its own, and any member node could
// claim to be one hop from a domain and so put itself on that path. The
// federation certificate (crypto/ca: Ed25519, one DNS SAN = the node's
// domain) is the only key the community vouches for, so it signs both.
//
// # Key answers
//
// A node answering for "user@domain", one of its own users, signs this
// statement (integers big-endian, lengths in bytes):
//
//	"qpc key answer v1" 0x00          18 bytes: domain separation and version
//	u16 len, address                  "user@domain", lowercase
//	u16 len, identity key             the user's published Ed25519 key
//	u16 len, HPKE key                 the user's published X-Wing key
//	u16 len, signature                the user's own signature over both
//	i64 published                     Unix ms the node accepted the keys
//	i64 answered                      Unix ms the node signed the answer
//
// The answer travels as the proof below, beside the keys; the statement
// itself is rebuilt by whoever verifies, from the keys it was handed.
//
//	offset  size  field
//	0       1     version, 1 (0 is refused as too old, >1 as unknown)
//	1       8     answered, i64 Unix ms
//	9       64    Ed25519 signature over the statement
//	73      2     n, u16: length of the certificate (1..MaxCert)
//	75      n     the signer's federation certificate, DER
//
// Nothing may follow. VerifyAnswer accepts a proof when the certificate
// chains to the community CA at the time of checking, names exactly one
// DNS SAN equal to the address's domain, holds an Ed25519 key whose
// signature over the statement is valid, and answered lies within
// AnswerMaxAge before now (AnswerMaxSkew after, for clocks that differ).
//
// # Link statements
//
// A node signs, for each neighbour it has a federation link to, "I,
// signer, am linked to neighbour from issued until expires", and hands it
// to that neighbour, which attaches it when it advertises the signer's
// domain at one hop. Statement:
//
//	"qpc link statement v1" 0x00      22 bytes
//	u8 len, signer domain
//	u8 len, neighbour domain
//	i64 issued                        Unix ms
//	i64 expires                       Unix ms
//
// Encoded as:
//
//	offset  size  field
//	0       1     version, 1
//	1       8     issued, i64 Unix ms
//	9       8     expires, i64 Unix ms
//	17      1     m, u8: length of the neighbour domain (1..253)
//	18      m     neighbour domain
//	18+m    64    Ed25519 signature over the statement
//	82+m    2     n, u16: length of the certificate (1..MaxCert)
//	84+m    n     the signer's federation certificate, DER
//
// The signer's domain is not sent: it is the certificate's SAN, and the
// receiver checks it against the domain advertised. VerifyLink accepts a
// statement whose certificate chains to the community CA, whose SAN is the
// advertised domain, whose neighbour is the node that advertised it, whose
// lifetime is at most LinkMaxValidity and holds now (with AnswerMaxSkew of
// slack at the start), and whose signature is valid.
//
// This package imports only the standard library.
package attest
