// Package envelope is the signed store-and-forward envelope that carries a
// sealed message across the mesh (DESIGN §7) to a user whose home node is
// not linked directly.
//
// The origin node (the node of the sender's client) makes an envelope with
// Sign. Every node that receives one, whether to store, forward or deliver
// it, calls Verify first: that checks the fields' bounds, the hop count,
// the creation time against the local clock, expiry, and the origin's
// Ed25519 signature. A forwarding node sends Forwarded, which only adds one
// to the hop count. ID names an envelope the same way at every hop, for the
// seen-set that keeps a node from delivering or forwarding it twice.
//
// # What is signed
//
// The origin signs SignedBytes: every field but the hop count and the
// signature, in the layout below. Integers are big-endian; the lengths make
// the layout unambiguous even for envelopes that fail Verify, so that no two
// different envelopes share an id. For an envelope that passes Verify,
// K = 32, R ≤ MaxRecipient and D ≤ 253.
//
//	offset     size  meaning
//	0          21    "qpc mesh envelope v1\x00": domain separation, so that no
//	                 other signature by a node key can pass for an envelope's
//	                 (and vice versa); a new layout gets a new prefix
//	21         1     version (Version)
//	22         1     max hops
//	23         4     TTL in seconds (uint32)
//	27         8     creation time in Unix milliseconds (int64, two's complement)
//	35         4     K, length of the origin key (uint32)
//	39         K     origin key: Ed25519 public key
//	39+K       4     R, length of the recipient (uint32)
//	43+K       R     recipient "user@domain", ASCII
//	43+K+R     4     D, length of the origin domain (uint32)
//	47+K+R     D     origin domain: the signing node's domain, ASCII
//	47+K+R+D   4     P, length of the payload (uint32)
//	51+K+R+D   P     payload
//
// The signature is Ed25519 over these bytes as they are (not prehashed).
// The id is SHA-256 over them: it covers the origin key, so an envelope
// re-signed by another node has another id, and it is not sent, so a
// forwarder cannot choose it. The hop count is left out because it is the
// one field a forwarder changes; see signed.ErrHopLimit for what bounds it.
//
// A node's signature proves only which key made an envelope; it does not
// make the key a member of the community. Whoever consumes envelopes
// decides which origins it accepts (OriginID).
//
// # On the wire and on disk
//
// Between nodes an envelope is the Cap'n Proto struct schemas.MeshEnvelope
// (schemas/mesh.capnp), converted by ToWire and FromWire. On disk it is that
// struct, hop count and signature included, as a standalone message in the
// standard unpacked stream framing (Marshal, Unmarshal); Marshal writes one
// segment. Unmarshal takes at most MaxEncoded bytes and 16 segments, refuses
// trailing bytes, and reads each field once under a traversal limit of the
// input's size, so a stored envelope costs at most its own size in memory
// to decode.
//
// Because the stored form is the wire form, a forwarding node does not
// decode what it holds: NextHop reads the stored bytes in place (checking
// the framing, that every field leads to bytes, and the hop limit), and
// Next.ToWire copies the struct into the forward call with the hop count
// raised. The receiver copies the struct out of the call into the same
// stored form, field bytes as they are and in Marshal's layout
// (ReadIncoming), decodes it only to verify it, and holds the copy
// (Incoming.Stored): an envelope is encoded once, by its origin.
package envelope
