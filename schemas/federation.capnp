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
using Mesh = import "mesh.capnp";
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
  #
  # A user of a domain the callee does not serve is looked up in turn by
  # the callee, through its link to that domain or its next hop towards it
  # (store-and-forward routes), so that keys can be found across nodes that
  # are not linked directly; hops counts the nodes a lookup has passed, and
  # one that has passed 8 fails with unknownDomain.
  #
  # The node serving the user signs its answer (keys.answer); every node
  # that passes an answer on checks that signature first and fails with
  # forgedKeys when it is missing or does not check out.
  # knownSize is passed on from the asking client (NodeService.resolveUser)
  # for the home node's key transparency proof.
  resolveUser @2 (user :Text, hops :UInt8, knownSize :UInt64) -> (keys :Node.PublishedKeys);

  # fetchKeyPackage takes one MLS KeyPackage of "user@domain", a user of
  # the callee, or of one device of theirs, "user#<device id>@domain" (see
  # NodeService.fetchKeyPackage), passed on like resolveUser. suite is the MLS cipher suite wanted; 0 (what nodes from
  # before suites were told apart send) means suite 1.
  fetchKeyPackage @3 (user :Text, hops :UInt8, suite :UInt16) -> (package :Data, lastResort :Bool);

  # forward hands store-and-forward envelopes to the callee, one hop on
  # their way, each with hopCount already raised by the caller. The callee
  # verifies each in full and answers one result per envelope, in order,
  # once it has acted on it: delivered into its own user's mailbox, or
  # accepted onto its disk to be forwarded on. The caller keeps an envelope
  # until a result tells it to let go (every outcome but refused and
  # looped).
  forward @4 (envelopes :List(Mesh.MeshEnvelope)) -> (results :List(ForwardResult));

  # routes tells the callee which domains the caller reaches and at what
  # distance (the caller's own domain at 0 hops), leaving out the routes it
  # learned from the callee (split horizon). Each list replaces the
  # caller's previous one; the caller repeats it every 30 seconds and at
  # once when it changes, and the callee forgets it after 90 seconds.
  routes @5 (adverts :List(RouteAdvert)) -> ();

  # report carries news about envelopes back towards their origin node,
  # hop by hop along the routing table. Reports are advisory and not
  # stored: one without a route onward is dropped.
  report @6 (reports :List(MeshReport)) -> ();

  # flood hands broadcast channel posts to the callee, each with hopCount
  # already raised by the caller. The callee verifies each, drops ids it
  # has seen, keeps and relays the rest to its other neighbours; it
  # answers once it has them on disk. Posts are best effort: a post the
  # callee refuses (rate limit, bounds) is dropped and counted there.
  flood @7 (posts :List(Mesh.ChannelPost)) -> ();

  # inventory offers the callee the ids of channel posts the caller keeps
  # (at most 1024), when a link comes up, so that posts made while the two
  # were apart cross over. The callee answers the indexes (into ids) of
  # those it has not seen; the caller then floods those.
  inventory @8 (ids :List(Data)) -> (wanted :List(UInt32));

  # orderCommit claims epoch of an MLS group whose home is "domain" for
  # commit, on behalf of a client of the caller (see
  # NodeService.orderCommit, whose answer this is). A home the callee
  # does not serve is passed on like resolveUser, hops counting the
  # nodes the claim has passed; home must not be empty. Rate-limited per
  # peer like relayEnqueue. epochKey, proof and nextEpochKey prove the
  # claim as in NodeService.orderCommit; a relaying node passes them on
  # unchanged (it cannot make them: they are signed by the member).
  orderCommit @9 (group :Data, home :Text, epoch :UInt64, commit :Data, hops :UInt8, epochKey :Data, proof :Data, nextEpochKey :Data) -> (accepted :Bool, next :UInt64, missing :List(Data));

  # linkStatement returns the callee's link statement naming the caller:
  # signed with the callee's federation key, it says that the two are
  # linked, for a short while (at most 15 minutes). The caller attaches
  # it to its route adverts of the callee's domain at 1 hop
  # (RouteAdvert.link) and asks again before it runs out.
  linkStatement @10 () -> (statement :Data);

  # ktGossip exchanges signed key transparency tree heads (kt.SignedHead,
  # signed with the federation key so that any node can check them
  # against the community CA): the caller hands the heads it holds, its
  # own latest first; the callee answers with the heads it holds and the
  # evidence of misbehaving logs it has found (docs/kt.md).
  ktGossip @11 (heads :List(Data)) -> (heads :List(Data), evidence :List(Node.KtEvidence));

  # ktConsistency returns the callee's latest signed tree head and the
  # consistency proof from tree size `first` to `second` (0: to that
  # head), for a node that holds two heads of the callee's log and checks
  # that they belong to one append-only log (docs/kt.md).
  ktConsistency @12 (first :UInt64, second :UInt64) -> (proof :List(Data), head :Data);

  # blobGet returns chunk `index` of blob `id` (node.capnp blobGet) held
  # by the node serving domain `home`: the callee answers from its own
  # store when home is its domain, else passes the call on towards home
  # (hops counts the nodes passed, as for resolveUser). A recipient's node
  # proxies its user's downloads this way (docs/files.md).
  blobGet @13 (id :Data, index :UInt32, home :Text, hops :UInt8) -> (data :Data);

  # blobStat describes blob `id` held by the node serving `home`, passed
  # on like blobGet.
  blobStat @14 (id :Data, home :Text, hops :UInt8) -> (stat :Node.BlobStat);
}

# ForwardOutcome is what the callee of forward did with an envelope.
enum ForwardOutcome @0xb7c8d9eaf0a1b2c3 {
  delivered @0;  # stored in the mailbox of one of the callee's users
  accepted @1;   # on the callee's disk, to be forwarded on
  duplicate @2;  # the callee already holds or delivered it
  looped @3;     # the callee forwarded it before: a routing loop; keep it
  rejected @4;   # refused for good (error says why): drop it
  refused @5;    # refused for now (store or mailbox full): keep it, retry
}

struct ForwardResult @0xc8d9eaf0a1b2c3d4 {
  outcome @0 :ForwardOutcome;
  # error says why for rejected and refused.
  error @1 :Node.ErrorCode;
  # detail is a human-readable explanation, for logs.
  detail @2 :Text;
}

# RouteAdvert says the caller reaches domain over hops federation links.
struct RouteAdvert @0xd9eaf0a1b2c3d4e5 {
  domain @0 :Text;
  hops @1 :UInt8;
  # link is required with hops 1 (a direct link to domain): domain's link
  # statement naming the caller (see linkStatement; layout in crypto/attest
  # of the qpc sources). The callee checks it against the community CA and
  # drops a 1-hop entry without a valid one, so that a node cannot put
  # itself next to a domain it has no link to. Empty for other entries.
  link @2 :Data;
}

# MeshReport is news about one envelope for its origin node.
struct MeshReport @0xeaf0a1b2c3d4e5f6 {
  # id is the envelope's id.
  id @0 :Data;
  # originDomain is the domain of the envelope's origin node, where the
  # report goes.
  originDomain @1 :Text;
  state @2 :Node.MeshState;
  # at is the domain of the node the news is about.
  at @3 :Text;
  atMillis @4 :Int64;
  reason @5 :Node.ErrorCode;
  # hops counts the report's own hops; a report is dropped after 32.
  hops @6 :UInt8;
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
