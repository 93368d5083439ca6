# mesh.capnp: the store-and-forward envelope that carries a message across
# the mesh to a user whose home node is not linked directly.
#
# A MeshEnvelope is made and signed by the origin node (the node of the
# sender's client), then travels hop by hop over federation links and waits
# on disk at nodes that have no route onward yet. Every node that receives
# one checks it in full before it stores, forwards or delivers it: known
# version, field bounds, hop count within maxHops, not created in the future
# (beyond a small clock skew), not expired, and the origin's signature.
#
# What is signed: every field but hopCount and signature, in the canonical
# byte layout documented in the qpc sources (package mesh/envelope), which
# starts with the domain-separation prefix "qpc mesh envelope v1" and a NUL
# byte. That layout, not this struct's encoding, is what the signature
# covers, so a re-encoded envelope still verifies.
#
# The envelope's id is SHA-256 over that same layout. It is not sent: each
# hop recomputes it, so a forwarder can neither choose nor forge it, and it
# is the same at every hop. Nodes remember ids they have seen until the
# envelope expires, to deliver and forward each envelope at most once.
#
# hopCount is the only field a forwarding node changes (it adds one), which
# is why it is outside the signature. A forwarder can therefore lower or
# raise it; raising only shortens the envelope's path, and lowering is
# bounded by the seen-ids that stop an envelope from circulating and by the
# TTL.
#
# Times are Unix milliseconds (UTC). Evolution: only by adding fields with
# new ordinals; a field added later is signed only if a new version says
# so.
@0x88d620e2c875af8b;

using Go = import "/go.capnp";
$Go.package("schemas");
$Go.import("github.com/quicprochat/qpc/schemas");

# MeshEnvelope is a sealed message in transit between nodes.
struct MeshEnvelope @0xd25c250778c918a8 {
  # version is the envelope format: 1. A node rejects 0 (older than any
  # release) and versions it does not know, as distinct errors.
  version @0 :UInt8;

  # originKey is the Ed25519 public key (32 bytes) of the node that made
  # and signed the envelope. The origin's node id is derived from it (see
  # Health.nodeId in node.capnp).
  originKey @1 :Data;

  # recipient is "user@domain": user is 1-64 characters of a-z, 0-9, '.',
  # '_', '-', starting with a letter or digit; domain is the lowercase DNS
  # name of the recipient's home node. At most 318 bytes.
  recipient @2 :Text;

  # createdMillis is when the origin made the envelope. Nodes reject an
  # envelope created more than 10 minutes in their future.
  createdMillis @3 :Int64;

  # ttlSeconds is how long after createdMillis the envelope may still be
  # forwarded or delivered: 1 to 2592000 (30 days). A node drops it when
  # createdMillis + ttlSeconds has passed.
  ttlSeconds @4 :UInt32;

  # hopCount is how many hops the envelope has taken: 0 as the origin
  # makes it; each node raises it by one as it sends the envelope on, so it
  # arrives with 1 from its origin. Not signed (see above).
  hopCount @5 :UInt8;

  # maxHops is the most hops the origin allows: 1 to 32. A node never
  # forwards an envelope whose hopCount would then exceed it, and rejects
  # one whose hopCount already does.
  maxHops @6 :UInt8;

  # payload is the sealed message, opaque to every node: 1 byte to 4 MiB.
  payload @7 :Data;

  # signature is the origin key's Ed25519 signature (64 bytes) over the
  # canonical layout of every other field but hopCount.
  signature @8 :Data;

  # originDomain is the domain of the origin node (its certificate's SAN),
  # where reports about the envelope go. Signed. A node that gets an
  # envelope with hopCount 1 (straight from its origin) checks it against
  # the sending peer's certificate.
  originDomain @9 :Text;
}

# ChannelPost is a post to an encrypted broadcast channel as nodes carry
# it: flooded to every federation neighbour, kept for late joiners, and
# pushed to the clients that follow the channel. Nodes hold no channel key:
# they see the channel id and the encrypted body, never the topic name,
# the text or the author (all inside the body; package crypto/channel
# documents the body's layout).
#
# The node of the posting client (the origin) signs the post, so that a
# node can rate-limit posts per origin and check, at the first hop, that
# the origin is the neighbour it came from. What is signed: every field but
# hopCount and signature, in the canonical byte layout documented in
# package mesh/flood, which starts with "qpc channel post v1" and a NUL.
#
# The post's id is SHA-256 over "qpc channel post id v1", a NUL byte, the
# channel id and the body: not over the origin's fields, so the same body
# wrapped again by another origin (a replay) has the same id. Nodes
# remember ids until the post expires and relay each id at most once.
struct ChannelPost @0xf298b8318c758122 {
  # version is the post format: 1. 0 and unknown versions are rejected,
  # as distinct errors.
  version @0 :UInt8;

  # channel is the channel id (32 bytes), derived from the channel secret.
  channel @1 :Data;

  # originKey is the Ed25519 public key (32 bytes) of the origin node.
  originKey @2 :Data;

  # originDomain is the origin node's domain (its certificate's SAN).
  originDomain @3 :Text;

  # createdMillis is when the origin made the post; nodes reject one
  # created more than 10 minutes in their future.
  createdMillis @4 :Int64;

  # ttlSeconds is how long after createdMillis nodes relay and keep the
  # post: 1 to 2592000 (30 days); each node keeps it at most its own
  # retention time.
  ttlSeconds @5 :UInt32;

  # hopCount is how many hops the post has taken; each node raises it by
  # one as it sends the post on, so it arrives with 1 from its origin. Not
  # signed.
  hopCount @6 :UInt8;

  # maxHops is the most hops the origin allows: 1 to 32.
  maxHops @7 :UInt8;

  # body is the encrypted post: a multiple of 256 bytes, 256 to 8192.
  body @8 :Data;

  # signature is the origin key's Ed25519 signature (64 bytes) over the
  # canonical layout of every other field but hopCount.
  signature @9 :Data;
}
