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
