# node.capnp: the service a qpc node offers to its clients.
#
# Transport: QUIC v1 with TLS 1.3, ALPN "quicprochat/1". The client opens the
# first bidirectional stream and speaks Cap'n Proto RPC (standard framing,
# not packed) on it; the bootstrap capability is a NodeService.
#
# Evolution: only by adding fields and methods with new ordinals. Never
# renumber, retype or remove anything; a client must cope with a node that
# lacks fields it knows (they read as their defaults).
@0xdc9f34f722196f68;

using Go = import "/go.capnp";
$Go.package("schemas");
$Go.import("github.com/quicprochat/qpc/schemas");

# NodeService is the bootstrap capability of a node's client connection.
interface NodeService @0xb7f1c0e5a2d3c4f1 {
  # health reports who the node is and that it is alive. It needs no
  # session and reveals nothing that the node's mDNS announcement and TLS
  # certificate do not already show.
  health @0 () -> (health :Health);
}

# Health is a node's answer to NodeService.health.
struct Health @0xe3a9d6b4c8f2a1d7 {
  # version is the node's release, e.g. "0.1.0", or "dev" for an unstamped
  # build.
  version @0 :Text;

  # commit is the source revision the node was built from, or "unknown".
  commit @1 :Text;

  # platform is the node's "goos/goarch", e.g. "linux/mips".
  platform @2 :Text;

  # nodeId identifies the node: the first 26 characters of the lowercase,
  # unpadded base32 encoding of SHA-256 over its Ed25519 public key.
  nodeId @3 :Text;

  # domain is the node's mail domain: its users are "name@domain".
  domain @4 :Text;

  # uptimeMillis is the time since the node started serving, in
  # milliseconds.
  uptimeMillis @5 :UInt64;
}
