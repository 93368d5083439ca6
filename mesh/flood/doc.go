// Package flood carries the posts of encrypted broadcast channels across
// the mesh (DESIGN §7): every node relays each post to its federation
// neighbours once, keeps the last posts of each channel for late joiners,
// and never holds a channel key.
//
// A Post is the node-level wrapper around a client's encrypted body. The
// node of the posting client (the origin) makes it with Sign; every node
// that receives one, to keep, relay or hand it to clients, calls Verify
// first: that checks the fields' bounds, the hop count, the creation time
// against the local clock, expiry, and the origin's Ed25519 signature. The
// origin signs so that nodes can rate-limit posts per origin (OriginID) and
// check at the first hop that the origin is the neighbour a post came from.
//
// # Limits keyed by what cannot be forged
//
// Past the first hop a node cannot tell whether a post's origin is real:
// the post carries the key that signed it, and anyone can make keys and
// claim any domain. What a node can be sure of is the neighbour that
// handed a post over (its domain, from the link's certificate). So a
// relayed post is counted against that neighbour: a rate per neighbour
// (Config.NeighbourRate); the per-origin rate kept in a small table of
// each neighbour's own (an origin is its node id, the key whose signature
// was verified), so a neighbour that forges origins fills its own table
// and not the others'; and a share of the seen-set per neighbour
// (protocol.ChannelQuota.NeighbourSeen), checked in the same transaction that
// would add the id. Relayed posts are remembered for at most
// Config.RelayRetention, and posts of this node's users have a part of the
// seen-set that relayed posts cannot take, so they can post during a
// flood. Each refusal has its own counter: refused:neighbour-rate,
// refused:origin-table, refused:origin-rate, refused:neighbour-seen.
// A node that sends a post on sends Forwarded, which only adds one to the
// hop count, so a post arrives from its origin with hop count 1.
//
// # What is signed
//
// The origin signs SignedBytes: every field but the hop count and the
// signature, in the layout below. Integers are big-endian; the lengths make
// the layout unambiguous even for posts that fail Verify. For a post that
// passes Verify, K = 32, D ≤ 253 and B is a multiple of Quantum from
// Quantum to MaxBody.
//
//	offset     size  meaning
//	0          20    "qpc channel post v1\x00": domain separation, so that no
//	                 other signature by a node key (a mesh envelope's, say)
//	                 can pass for a post's, and vice versa; a new layout gets
//	                 a new prefix
//	20         1     version (Version)
//	21         1     max hops
//	22         4     TTL in seconds (uint32)
//	26         8     creation time in Unix milliseconds (int64, two's complement)
//	34         4     K, length of the origin key (uint32)
//	38         K     origin key: Ed25519 public key
//	38+K       4     D, length of the origin domain (uint32)
//	42+K       D     origin domain: the signing node's domain, ASCII
//	42+K+D     32    channel id
//	74+K+D     4     B, length of the body (uint32)
//	78+K+D     B     body
//
// The signature is Ed25519 over these bytes as they are (not prehashed).
// The hop count is left out because it is the one field a relay changes;
// see signed.ErrHopLimit for what bounds it.
//
// # The id
//
// ID is SHA-256 over "qpc channel post id v1\x00" (23 bytes), the channel
// id (32 bytes) and the body (the rest). Unlike a mesh envelope's id it
// does not cover the origin's fields: the body is what a client encrypted
// and its author signed inside it, so the same body wrapped again by
// another origin, or by the same one at another time, is a replay and
// must be a duplicate. Nodes remember ids until the post expires and relay
// each id at most once.
//
// A node's signature proves only which node key made a post; it does not
// make the key a member of the community. Whoever consumes posts decides
// which origins it accepts.
//
// # On the wire and on disk
//
// Between nodes a post is the Cap'n Proto struct schemas.ChannelPost
// (schemas/mesh.capnp), converted by ToWire and FromWire. On disk it is
// that struct, hop count and signature included, as a standalone message
// in the standard unpacked stream framing (Marshal, Unmarshal); Marshal
// writes one segment, so that a post with a body of B bytes from an origin
// domain of D bytes takes B + 200 + (D+1 rounded up to 8) bytes. Unmarshal
// takes at most MaxEncoded bytes and 16 segments, refuses trailing bytes,
// and reads each field once under a traversal limit of the input's size
// (package internal/capnpmsg), so a stored post costs at most its own size
// in memory to decode.
package flood
