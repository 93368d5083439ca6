# federation.capnp: the service nodes of one community offer each other.
#
# Transport: QUIC v1 with TLS 1.3 on the node's one UDP port, ALPN
# "quicprochat/federation/1", mutual TLS. Both ends present a certificate
# issued by the community CA (qpc ca issue) that carries exactly one DNS
# subjectAltName: the node's mail domain. That SAN, not anything said over
# RPC, is the peer's identity. The dialing node opens the first
# bidirectional stream and both ends speak Cap'n Proto RPC (standard
# framing, not packed) on it; each end's bootstrap capability is its own
# FederationService, so one link carries calls both ways.
#
# A node serves every call of a link on behalf of the peer named by the
# link's certificate: it delivers only to its own users (recipients in its
# own domain), applies the same bounds as to its own clients, and limits
# each peer's rate.
#
# Errors: as in node.capnp, a failed call raises an exception whose reason
# starts with "qpc:<code>: " where <code> names an ErrorCode enumerant of
# node.capnp; per-message failures of relayEnqueue come in the receipts.
#
# Times are Unix milliseconds (UTC). Evolution: only by adding fields and
# methods with new ordinals.
@0xd286802247bbdf2f;

using Go = import "/go.capnp";
using Node = import "node.capnp";
$Go.package("schemas");
$Go.import("github.com/quicprochat/qpc/schemas");

# FederationService is the bootstrap capability of each end of a
# federation link.
interface FederationService @0xa4c6f1e2b3d59871 {
  # health says who the node is. Its domain must equal the SAN of the
  # certificate the node presented; a node whose answer differs is
  # disconnected.
  health @0 () -> (health :PeerHealth);

  # relayEnqueue puts sealed messages from the caller's users into
  # mailboxes of the callee's users. Each envelope's recipient is
  # "user@domain" with the callee's domain; any other domain gets the
  # receipt error unknownDomain. Receipts come in order, once the stored
  # messages are on the callee's disk: a receipt without error means the
  # recipient's home node holds the message. The payload and TTL bounds are
  # the callee's, as for its own clients; a peer that sends faster than the
  # callee's per-peer rate fails with rateLimited.
  relayEnqueue @1 (envelopes :List(Node.Envelope)) -> (receipts :List(Node.Receipt));

  # resolveUser returns the published keys of "user@domain", a user of the
  # callee, so that the caller's clients can seal messages to them. It is
  # rate-limited per peer.
  resolveUser @2 (user :Text) -> (keys :Node.PublishedKeys);

  # fetchKeyPackage takes one MLS KeyPackage of "user@domain", a user of
  # the callee (see NodeService.fetchKeyPackage).
  fetchKeyPackage @3 (user :Text) -> (package :Data, lastResort :Bool);
}

# PeerHealth is a node's answer to FederationService.health.
struct PeerHealth @0xe1b7d2c94a3f6508 {
  # domain is the node's mail domain; it equals its certificate's SAN.
  domain @0 :Text;
  # nodeId is the node's id (see Node.Health.nodeId).
  nodeId @1 :Text;
  # version is the node's release, e.g. "0.1.0" or "dev".
  version @2 :Text;
}
