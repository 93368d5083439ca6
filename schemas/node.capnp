# node.capnp: the service a qpc node offers to its clients.
#
# Transport: QUIC v1 with TLS 1.3, ALPN "quicprochat/1". The client opens the
# first bidirectional stream and speaks Cap'n Proto RPC (standard framing,
# not packed) on it; the bootstrap capability is a NodeService.
#
# The message stream: once a session is bound, the client may open a second
# bidirectional stream, the hot data path, framed as transport/msgstream's
# package doc lays out byte by byte: enqueue, receipts, push, credit and ack
# as frames on the same connection and session, with the same bounds and
# ErrorCodes as enqueue, batchEnqueue, subscribe and ack here. Why: over RPC
# a message is two calls (enqueue in, deliver out), each a Call, a Return
# and a Finish sent as datagrams of their own, and a capability dispatch on
# both ends; that, not the disk, held the node's latency at one message in
# flight to twice the bare relay's (issue 26, docs/bench.md round 6). This
# schema stays the control plane, and the calls stay for clients and nodes
# without the stream: a node that predates it refuses the stream (one
# stream per connection), and the client uses the calls.
#
# Sessions: every method but health, registerStart/Finish, loginStart/Finish
# and resumeSession needs a session on the connection: loginFinish or
# resumeSession binds one. A session token works on any connection until
# it expires, so a client that reconnects calls resumeSession instead of
# logging in again.
#
# Errors: a method that fails raises a Cap'n Proto exception whose reason
# starts with "qpc:<code>: " where <code> is the name of an ErrorCode
# enumerant, followed by a human-readable explanation, e.g.
# "qpc:mailboxFull: recipient's mailbox is full". A reason without that
# prefix is an internal or transport failure.
#
# Times are Unix milliseconds (UTC).
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

  # registerStart begins registering the account `user` (the local part of
  # user@domain: 1-64 characters of a-z, 0-9, '.', '_', '-', starting with
  # a letter or digit). request is an OPAQUE RegistrationRequest (RFC 9807
  # §5.1.1); response the RegistrationResponse. Fails with userExists if the
  # name is taken.
  #
  # invite is an invite code made by the node's admin (`qpc admin invite`):
  # a node whose registration policy is "invite" (Health.registration)
  # refuses a registration without one (inviteRequired) or with one that is
  # unknown, used up or expired (inviteInvalid); a "closed" node refuses
  # every registration (registrationClosed). An "open" node ignores it. The
  # code is checked here and used up by registerFinish.
  registerStart @1 (user :Text, request :Data, invite :Text) -> (response :Data);

  # registerFinish stores the OPAQUE RegistrationRecord that the client
  # made from the response, creating the account. The OPAQUE client and
  # server identities are "user@domain" and "domain".
  registerFinish @2 (user :Text, record :Data) -> ();

  # loginStart sends OPAQUE KE1 for `user` and returns KE2 (RFC 9807 §6).
  # An unknown user gets a KE2 indistinguishable from a real one.
  loginStart @3 (user :Text, ke1 :Data) -> (ke2 :Data);

  # loginFinish sends KE3 for the login this connection started last. On
  # success the connection is logged in and the session returned; a wrong
  # password and an unknown user both fail with authFailed.
  loginFinish @4 (ke3 :Data) -> (session :Session);

  # resumeSession binds an existing session to this connection. Fails with
  # invalidToken for a token the node does not know and sessionExpired for
  # one that has expired.
  resumeSession @5 (token :Data) -> (session :Session);

  # publishKeys replaces the caller's public keys in the node's directory.
  # The node stores them as given; clients verify the signature.
  publishKeys @6 (keys :PublishedKeys) -> ();

  # resolveUser returns the public keys of a user of this node. It is
  # rate-limited per connection and takes a fixed minimum time, so that it
  # tells whether a name exists no faster than guessing would.
  #
  # knownSize is the size of the latest tree head of this node's key
  # transparency log that the asking client accepted (0: none); the
  # answer's transparency proof then carries the consistency proof from
  # that size to the head it is included in (docs/kt.md).
  resolveUser @7 (user :Text, knownSize :UInt64) -> (keys :PublishedKeys);

  # uploadKeyPackages adds MLS KeyPackages for the caller; each is handed
  # out once. lastResort, if not empty, replaces the caller's last-resort
  # package, which is handed out when no other is left and is never used
  # up. The node reads only each package's header, for its cipher suite:
  # every package of one upload, lastResort included, must be of one suite
  # (badRequest otherwise), and the node keeps, bounds and hands out each
  # suite's packages, last-resort one included, apart from the others'.
  uploadKeyPackages @8 (packages :List(Data), lastResort :Data) -> ();

  # fetchKeyPackage takes one KeyPackage of `user`.
  # suite is the MLS cipher suite of the package wanted; 0 (what clients
  # from before suites were told apart send) means suite 1. noKeyPackage
  # when the user has none of that suite.
  fetchKeyPackage @9 (user :Text, suite :UInt16) -> (package :Data, lastResort :Bool);

  # enqueue puts a sealed message in a mailbox. It returns once the message
  # is on disk: a receipt means the node holds the message. Calls in flight
  # at the same time run concurrently: a client that needs two messages
  # stored in order waits for the first receipt before sending the second.
  enqueue @10 (envelope :Envelope) -> (receipt :Receipt);

  # batchEnqueue is enqueue for many messages; receipts come in order, each
  # with its own error code.
  batchEnqueue @11 (envelopes :List(Envelope)) -> (receipts :List(Receipt));

  # fetch returns up to `limit` (at most 1000; 0 means 100) messages of the
  # caller's mailbox with sequence numbers above afterSeq, in order.
  fetch @12 (afterSeq :UInt64, limit :UInt32) -> (messages :List(Message));

  # ack deletes the caller's messages up to and including uptoSeq.
  ack @13 (uptoSeq :UInt64) -> (removed :UInt32);

  # subscribe pushes the caller's messages with sequence numbers above
  # afterSeq to listener: first those already waiting, then each new one as
  # it arrives. Pushed messages stay in the mailbox until acked. The
  # subscription ends when the returned capability is released or
  # cancelled, or the connection closes.
  subscribe @14 (listener :MessageListener, afterSeq :UInt64) -> (subscription :Subscription);

  # deleteAccount removes the caller's account with its keys, key packages,
  # messages and sessions, and logs the connection out.
  deleteAccount @15 () -> ();

  # messageStatus reports what became of messages the caller sent that the
  # node put into the mesh (receipts with a meshId): one status per id, in
  # order. An id the node does not know, or that another user sent, has
  # state unknown. Statuses are kept until the message's TTL has passed.
  messageStatus @16 (ids :List(Data)) -> (statuses :List(MessageStatus));

  # meshState describes the node's store-and-forward state: its routing
  # table and its envelope store. Like health it needs no session.
  meshState @17 () -> (routes :List(MeshRoute), store :MeshStoreStats);

  # channelPost publishes an encrypted post to a broadcast channel: the
  # node wraps body (made by the client, see package crypto/channel) in a
  # ChannelPost signed by the node (mesh.capnp), keeps it, pushes it to the
  # channel's followers and floods it across the mesh. ttlSeconds and
  # maxHops of 0 take the node's defaults; more than the node allows is
  # capped. Posting is rate-limited per user (rateLimited). Returns the
  # post's id once the node has it on disk.
  channelPost @18 (channel :Data, body :Data, ttlSeconds :UInt32, maxHops :UInt8) -> (id :Data);

  # channelFetch returns up to limit posts the node keeps of channel with a
  # seq above afterSeq, oldest first: at most the node's last N posts of
  # the channel within its retention time.
  channelFetch @19 (channel :Data, afterSeq :UInt64, limit :UInt32) -> (posts :List(ChannelMessage));

  # channelSubscribe pushes the posts of each channel after its cursor's
  # seq to listener: those kept now, then each new one as it arrives. At
  # most 64 channels per call. The subscription ends like subscribe's.
  channelSubscribe @20 (channels :List(ChannelCursor), listener :ChannelListener) -> (subscription :Subscription);

  # channelState describes the node's channel relay: its store and its
  # counters. Like health it needs no session and names no channel.
  channelState @21 () -> (state :ChannelState);

  # orderCommit asks the node that orders the commits of an MLS group (its
  # home: the domain of the node of the group's creator) to accept commit,
  # opaque to every node, as the commit of epoch. home "" or the callee's
  # own domain is ordered here; another domain is passed on over
  # federation (unknownDomain when no peer serves it). group is the MLS
  # group id (1 to 255 bytes) and commit 1 byte up to the node's payload
  # limit; anything else is a badRequest. Exactly one commit is accepted per
  # epoch: the first claim of an epoch at or above next, and again a claim
  # that is byte for byte the one accepted (a retry after a lost answer).
  # accepted is then true. Another claim of an epoch below next is
  # refused: accepted is false, and missing holds the accepted commits of
  # epochs epoch up to next-1 that the node still keeps, oldest first, at
  # most 16, so that the client can catch up and try again. next is the
  # epoch of the group's next commit as the node knows it. Rate-limited
  # like enqueue.
  #
  # Only members of the claimed epoch can claim (crypto/commitclaim):
  # epochKey is the epoch's sequencer key (an Ed25519 public key whose seed
  # is the MLS exporter value "qpc sequencer key" of the epoch, context the
  # group id), nextEpochKey the key of the epoch the commit creates, and
  # proof the Ed25519 signature by epochKey of ("qpc commit claim v1",
  # group, epoch, SHA-256(commit), nextEpochKey). The node keeps, per
  # group, the key of its next epoch and the key each kept commit was
  # claimed with. A claim is accepted only for exactly the next epoch and
  # only under the kept key; the node then keeps nextEpochKey. A group the
  # node does not know is registered by its first claim. A stale claim
  # (below next) gets missing only when proven with that epoch's key. A
  # proof that does not verify, a wrong key, an epoch above next or older
  # than the kept commits fail with badCommitClaim and change nothing.
  orderCommit @22 (group :Data, home :Text, epoch :UInt64, commit :Data, epochKey :Data, proof :Data, nextEpochKey :Data) -> (accepted :Bool, next :UInt64, missing :List(Data));

  # keyPackageCount says how many of the caller's KeyPackages the node
  # still holds (the last-resort one not counted) and whether it holds a
  # last-resort one, so that the client knows when to upload more.
  # suite is the MLS cipher suite counted; 0 means suite 1.
  keyPackageCount @23 (suite :UInt16) -> (count :UInt32, lastResort :Bool);

  # requestLink asks to make this machine a device of the logged-in
  # account: request holds the new device's certificate fields, unsigned
  # (layout: crypto/identity LinkRequest in the qpc sources), and tag the
  # HMAC that the link code shown on the new device keys, which the
  # approving device checks (the node cannot). The node keeps at most 4
  # pending requests per account, each for 15 minutes (rateLimited when
  # full); a published device list that holds the request's identity key
  # removes it. Returns the request's id.
  requestLink @24 (request :Data, tag :Data) -> (id :UInt64);

  # linkRequests lists the pending link requests of the logged-in account,
  # oldest first, for its devices to approve.
  linkRequests @25 () -> (requests :List(LinkRequest));

  # useDevice binds the connection's session to one device of the
  # account: device is its id, 16 lowercase hex digits. From then on
  # fetch, ack, subscribe, uploadKeyPackages and keyPackageCount act on
  # that device's queue and key packages; without it they act on the
  # primary device's (the first current device of the account's list), as
  # clients from before devices expect. A device that is not current in
  # the account's published list fails with deviceRevoked.
  useDevice @26 (device :Text) -> ();

  # ktConsistency returns the node's key transparency log's latest signed
  # tree head (kt.SignedHead) and the consistency proof (RFC 9162 2.1.4:
  # 32-byte hashes) from tree size `first` to it; with `second` above 0,
  # from `first` to the head of that size instead, if the node still has
  # it (badRequest otherwise). first 0, or equal to the head's size, gives
  # an empty proof. Needs no session (auditors); rate-limited per
  # connection.
  ktConsistency @27 (first :UInt64, second :UInt64) -> (proof :List(Data), head :Data);

  # ktEntries returns the log's entries (kt.Entry encodings) from index
  # `start` on, at most `count` and at most the node's bound per call
  # (fewer at the end of the log). Needs no session; rate-limited per
  # connection. For auditors: `qpc kt audit`.
  ktEntries @28 (start :UInt64, count :UInt32) -> (entries :List(Data));

  # ktGossip hands the node signed tree heads (kt.SignedHead) that the
  # caller holds, of this node's log or of others', so that a log that
  # shows different heads to different clients is caught where the heads
  # meet. The node checks each against what it knows and keeps what
  # contradicts as evidence. Returns every piece of evidence the node
  # holds (bounded), for the client to show.
  ktGossip @29 (heads :List(Data)) -> (evidence :List(KtEvidence));

  # nameAvailable tells whether `user` (a local part) could be registered
  # on this node now: false when it is taken or not a valid name. Needs no
  # session; rate-limited like resolveUser, so that it tells no more than
  # registerStart would.
  nameAvailable @30 (user :Text) -> (available :Bool);

  # Files (docs/files.md). A file travels as a blob: the client encrypts
  # it in chunks and the node stores the ciphertext chunks, each named by
  # its SHA-256, until the blob's TTL runs out. The blob's id is
  # SHA-256("qpc-blob-v1" || count as 4 bytes big-endian || the chunk
  # hashes in order), so the client knows it before it asks and any
  # holder of the hash list can check it.

  # blobCreate declares a blob of `size` bytes (the sum of its chunks'
  # lengths) made of the chunks whose SHA-256 hashes are `chunks`, in
  # order, kept for ttlSeconds (0: the node's default; above its maximum:
  # ttlTooLong). It answers the blob's id, the indexes of the chunks the
  # node does not hold yet, and when the blob expires. Calling it again
  # for a blob that exists (the same chunk hashes) changes nothing and
  # answers what is still missing: that is how an upload resumes. The
  # whole size counts against the caller's quotas from the first call:
  # blobTooLarge (per file), blobQuota (per user), blobStoreFull (the
  # node's); nothing stored is evicted to make room.
  blobCreate @31 (size :UInt64, chunks :List(Data), ttlSeconds :UInt32) -> (id :Data, missing :List(UInt32), expiresMillis :Int64);

  # blobPut stores chunk `index` of blob `id`. data must hash to the
  # hash declared for that index (badChunk otherwise) and be at most the
  # node's chunk bound (payloadTooLarge). Storing a chunk held already is
  # a no-op. Only the blob's creator may put.
  blobPut @32 (id :Data, index :UInt32, data :Data) -> ();

  # blobGet returns chunk `index` of blob `id`. home is the domain of the
  # node that holds the blob (the sender's home node); "" or this node's
  # domain reads it here, another domain is fetched over federation, the
  # node proxying (unknownDomain or peerUnreachable when no route leads
  # there now). noSuchBlob when the blob or the chunk is not held (never
  # uploaded, or expired).
  blobGet @33 (id :Data, index :UInt32, home :Text) -> (data :Data);

  # blobStat describes blob `id` at home (as for blobGet): its size,
  # chunk hashes and how many chunks are held.
  blobStat @34 (id :Data, home :Text) -> (stat :BlobStat);

  # passwordStart begins changing the logged-in account's password: request
  # is an OPAQUE RegistrationRequest made with the new password, under the
  # identities of registerStart; response the RegistrationResponse. The
  # account keeps its name, account key, devices, messages and groups.
  passwordStart @35 (request :Data) -> (response :Data);

  # passwordFinish replaces the account's OPAQUE record with record, made
  # from passwordStart's response. Every other session of the account ends
  # (their devices log in again, with the new password); this connection's
  # session stays.
  passwordFinish @36 (record :Data) -> ();

  # logout ends this connection's session and forgets its token. With
  # everywhere, every session of the account ends, on every connection and
  # device. ended counts the sessions ended.
  logout @37 (everywhere :Bool) -> (ended :UInt32);

  # blockSender adds address ("user@domain") to the logged-in account's
  # deny list on this node (blocked true) or removes it (false): the node
  # then refuses to put messages from that sender in this account's
  # mailboxes where it knows who sent them (docs/blocking.md says where
  # that is). The list is the account's, shared by its devices, bounded.
  blockSender @38 (address :Text, blocked :Bool) -> ();

  # blockedSenders lists the logged-in account's deny list on this node.
  blockedSenders @39 () -> (addresses :List(Text));

  # report hands the node's admin a report of abuse: sealed is an HPKE
  # envelope to the node's report key (Health.reportKey) holding the
  # reported message and the reporter's note; the node cannot read it. The
  # node keeps a bounded number of reports for `qpc admin reports`.
  # Rate-limited per account.
  report @40 (sealed :Data) -> ();
}

# BlobStat describes a stored blob (blobStat).
struct BlobStat @0xcbbc7d794ba13513 {
  # id is the blob's id.
  id @0 :Data;
  # size is the blob's declared size in bytes.
  size @1 :UInt64;
  # chunks are the SHA-256 hashes of its chunks, in order.
  chunks @2 :List(Data);
  # held is how many of its chunks the node holds; the blob is complete
  # when held equals the length of chunks.
  held @3 :UInt32;
  # expiresMillis is when the node drops the blob.
  expiresMillis @4 :Int64;
}

# KeyProof proves that a key answer is what the node's key transparency
# log holds for the address (docs/kt.md; encodings in package kt).
struct KeyProof @0xdc91b2b6c6b6a679 {
  # entry is the log entry (kt.Entry) of the address's current keys.
  entry @0 :Data;
  # index is the entry's leaf index in the log.
  index @1 :UInt64;
  # inclusion is the entry's inclusion proof (RFC 9162 2.1.3) in head.
  inclusion @2 :List(Data);
  # head is the signed tree head (kt.SignedHead) inclusion leads to.
  head @3 :Data;
  # consistency is the consistency proof from the asker's knownSize to
  # head's size; empty when knownSize was 0 or head's size.
  consistency @4 :List(Data);
}

# KtEvidence is proof that a key transparency log misbehaved: two heads
# signed by the same log that cannot both be true.
struct KtEvidence @0xf7b75c195fa8f2ed {
  # first and second are the two signed heads (kt.SignedHead).
  first @0 :Data;
  second @1 :Data;
  # reason says how they contradict: "fork" (one size, two roots) or
  # "inconsistent" (no consistency proof from the smaller to the larger).
  reason @2 :Text;
  # domain is the domain whose log signed them.
  domain @3 :Text;
  # foundMillis is when the reporting node first saw the contradiction.
  foundMillis @4 :Int64;
  # reportedBy is the domain of the node that found it.
  reportedBy @5 :Text;
}

# LinkRequest is a pending request to link a new device to an account.
struct LinkRequest @0x9a7d5c3b1e2f4068 {
  # id names the request on this node.
  id @0 :UInt64;
  # request is the new device's unsigned certificate fields, as posted.
  request @1 :Data;
  # tag is the HMAC of request under the link code's key, as posted.
  tag @2 :Data;
  # createdMillis is when the node took the request.
  createdMillis @3 :Int64;
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
  # links are the node's federation links, one per peer it knows of; empty
  # when federation is off.
  links @6 :List(FederationLink);

  # federationCa holds the community CA certificates (DER) the node's
  # federation trusts; empty when federation is off. Clients keep it with
  # their pin of the node (trust on first use, a change refused) and check
  # the answer of every key lookup for a user of another domain against it.
  federationCa @7 :List(Data);

  # mdnsInstance is the DNS-SD instance name the node announces with mDNS
  # now: its domain, or its domain with " (2)" and so on after another
  # responder on the link claimed the name. Empty without mDNS.
  mdnsInstance @8 :Text;

  # ktHead is the node's latest signed key transparency tree head
  # (kt.SignedHead); empty before the first entry.
  ktHead @9 :Data;

  # ktEvidence is the evidence of misbehaving key transparency logs the
  # node holds (its own log's or others'), newest first, at most 8.
  ktEvidence @10 :List(KtEvidence);

  # filesBytes is what the files the node holds take against its bound
  # for files, filesLimit (--file-store-size); files is how many it holds
  # (docs/files.md). All 0 on a node without a file store.
  filesBytes @11 :UInt64;
  filesLimit @12 :UInt64;
  files @13 :UInt32;

  # registration is the node's registration policy: "open" (anyone who
  # reaches the node may register), "invite" (registerStart needs an
  # invite code) or "closed". Empty from nodes older than the policy: open.
  registration @14 :Text;

  # reportKey is the public key (HPKE, X-Wing) that reports to this node's
  # admin are sealed to (NodeService.report); empty when the node takes no
  # reports.
  reportKey @15 :Data;
}

# FederationLink is the state of a node's link to one federation peer.
struct FederationLink @0xf0a3b1c2d4e5f607 {
  # domain is the peer's mail domain (its certificate's SAN); empty while a
  # configured peer has never been reached.
  domain @0 :Text;
  # address is the peer's "host:port" as dialed or as seen.
  address @1 :Text;
  # state is whether the link is up.
  state @2 :LinkState;
  # sinceMillis is when the link entered its state.
  sinceMillis @3 :Int64;
  # relayedOut and relayedIn count messages sent to and received from the
  # peer over the link since the node started.
  relayedOut @4 :UInt64;
  relayedIn @5 :UInt64;
  # errors counts failed attempts and calls since the node started.
  errors @6 :UInt64;
  # lastError says why the last attempt or call failed; empty if none.
  lastError @7 :Text;
}

# LinkState is the state of a federation link.
enum LinkState @0xc3d4e5f60718293a {
  down @0;        # no link; the node retries with backoff
  connecting @1;  # a dial or handshake is under way
  up @2;          # linked: messages flow
}

# Session is a logged-in session.
struct Session @0xb5bca7e4a6367ae6 {
  # token is 32 random bytes that resumeSession accepts until expiresMillis.
  # Keep it secret: it stands for the password until it expires.
  token @0 :Data;

  # user is the local part of the logged-in user's address.
  user @1 :Text;

  # expiresMillis is when the session ends (Unix milliseconds).
  expiresMillis @2 :Int64;
}

# PublishedKeys are a user's public keys in the node's key directory.
struct PublishedKeys @0xc55554f7f80f0f3c {
  # identityKey is the user's Ed25519 public key (32 bytes).
  identityKey @0 :Data;

  # hpkeKey is the user's X-Wing public key (1216 bytes) that 1:1 messages
  # are sealed to.
  hpkeKey @1 :Data;

  # signature is the identity key's signature over the user's address and
  # hpkeKey (layout: crypto/identity in the qpc sources).
  signature @2 :Data;

  # publishedMillis is when the node accepted the keys; ignored on publish.
  publishedMillis @3 :Int64;

  # answer is the user's home node's signature over this answer (a key
  # answer proof; layout and checks in crypto/attest of the qpc sources):
  # signed with the key of the home node's federation certificate, it
  # carries that certificate, so any node on the path and the asking
  # client can check against the community CA that the keys are what the
  # node of the user's domain answered. Set for users of other domains,
  # which every node refuses to pass on without a valid one (error
  # forgedKeys); empty for the answering node's own users to its own
  # clients, and ignored on publish.
  answer @4 :Data;

  # accountKey is the account's Ed25519 public key (32 bytes), which signs
  # the device list; the safety number is made from it. Empty for an
  # account published before devices existed.
  accountKey @5 :Data;

  # deviceList is the account's device list signed by accountKey (layout:
  # crypto/identity DeviceList in the qpc sources). identityKey, hpkeKey
  # and signature above are then its primary device's: the first current
  # device of the list. On publish the node checks the list's signatures
  # and address, that the keys above are the primary device's, and that
  # its seq is above the stored list's when the account key is the same
  # (badRequest otherwise); clients verify everything again. Empty for an
  # account published before devices existed.
  deviceList @6 :Data;

  # transparency proves that these keys are what the home node's key
  # transparency log holds for the address; set in resolveUser answers
  # (local and across federation), ignored on publish.
  transparency @7 :KeyProof;
}

# Envelope is a message on its way into a mailbox.
struct Envelope @0xcf371ae8f8112efc {
  # recipient is "user" or "user@domain" for a user of this node, or
  # either with "#" and a device id (16 lowercase hex digits) after the
  # user, "alice#0123456789abcdef@domain", for one device's queue. A plain
  # recipient goes to the primary device's queue. Nodes on the way pass
  # the text as it is; only the user's home node reads the device.
  recipient @0 :Text;

  # payload is the sealed message (at most the node's payload limit, by
  # default 64 KiB). The node never looks inside.
  payload @1 :Data;

  # ttlSeconds is how long the node keeps the message undelivered; 0 means
  # the node's default. More than the node's maximum fails with ttlTooLong.
  ttlSeconds @2 :UInt32;

  # maxHops bounds the federation hops a message to another domain may
  # take when it travels through the mesh; 0 means the node's default, and
  # more is capped at it.
  maxHops @3 :UInt8;
}

# Receipt acknowledges one enqueued message.
struct Receipt @0x82d594ed22afdb7f {
  # seq is the message's sequence number in the recipient's mailbox; 0 when
  # error is not none.
  seq @0 :UInt64;

  # serverTimeMillis is when the node stored the message.
  serverTimeMillis @1 :Int64;

  # error is none when the message was stored, else why it was not.
  error @2 :ErrorCode;

  # meshId is set when the recipient's node was not linked and the message
  # went into the mesh instead (see MessageStatus): the 32-byte id of its
  # store-and-forward envelope. seq is 0 then; the message is safe on this
  # node's disk, not yet in the recipient's mailbox.
  meshId @3 :Data;

  # queuedAt is the domain of the node that holds the message when meshId
  # is set: this node's.
  queuedAt @4 :Text;
}

# Message is a message in a mailbox.
struct Message @0xd874455196bd8ff9 {
  # seq numbers the messages of one mailbox: consecutive from 1, never
  # reused.
  seq @0 :UInt64;

  # payload is the sealed message as the sender enqueued it.
  payload @1 :Data;

  # enqueuedMillis is when the node stored it.
  enqueuedMillis @2 :Int64;

  # expiresMillis is when the node drops it if it is still not acked.
  expiresMillis @3 :Int64;
}

# MessageListener is implemented by a client to receive pushed messages.
interface MessageListener @0x847f356e61e9ef4a {
  # deliver hands the client messages in sequence order. The node sends
  # the next batch only after this call returns.
  deliver @0 (messages :List(Message)) -> ();
}

# ChannelListener is implemented by a client to receive channel posts.
interface ChannelListener @0xa05409bac02cc08d {
  # deliver hands the client posts, each channel's in seq order. The node
  # sends the next batch only after this call returns.
  deliver @0 (posts :List(ChannelMessage)) -> ();
}

# ChannelMessage is a channel post as a node hands it to a client.
struct ChannelMessage @0xeb14ceae27e3280a {
  # channel is the channel id.
  channel @0 :Data;
  # seq numbers the node's posts of the channel: increasing, never reused
  # on this node (another node numbers its own).
  seq @1 :UInt64;
  # id is the post's id (see mesh.capnp ChannelPost).
  id @2 :Data;
  # body is the encrypted post, for the client to open.
  body @3 :Data;
  # createdMillis is when the origin node made the post.
  createdMillis @4 :Int64;
  # originDomain is the domain of the node that made it (where the author
  # posted, as that node claims; the author's own signature is inside).
  originDomain @5 :Text;
}

# ChannelCursor names a channel to follow and the last seq the client has
# of it (0: everything the node keeps).
struct ChannelCursor @0x8c439caca683d406 {
  channel @0 :Data;
  afterSeq @1 :UInt64;
}

# ChannelState describes a node's channel relay.
struct ChannelState @0xbc8c11351b5c7294 {
  channels @0 :UInt32;      # channels with kept posts
  posts @1 :UInt32;         # posts kept
  bytes @2 :UInt64;         # bytes of the posts kept
  maxBytes @3 :UInt64;      # the bound of the posts kept
  seen @4 :UInt32;          # post ids remembered for dedup
  # counters are the relay's counts since start, by name ("relayed",
  # "duplicate", "rejected:bad-signature", ...).
  counters @5 :List(MeshCounter);
}

# Subscription stands for an active subscribe; releasing it ends it too.
interface Subscription @0xe66055b5919ae095 {
  # cancel ends the subscription.
  cancel @0 () -> ();
}

# ErrorCode says why a call or an enqueued message failed.
enum ErrorCode @0xdfbc1a87f421b42c {
  none @0;               # no error
  internal @1;           # the node failed; try again later
  badRequest @2;         # malformed arguments
  unauthenticated @3;    # the method needs a session on this connection
  sessionExpired @4;     # the session token has expired: log in again
  invalidToken @5;       # the node does not know the session token
  authFailed @6;         # wrong password or unknown user (deliberately alike)
  userExists @7;         # the user name is taken
  unknownUser @8;        # no such user on this node
  noKeys @9;             # the user has published no keys
  noKeyPackage @10;      # the user has no key package left
  tooManyKeyPackages @11; # the upload exceeds the node's bound
  mailboxFull @12;       # the recipient's mailbox is at its bound
  payloadTooLarge @13;   # the message exceeds the node's payload limit
  rateLimited @14;       # too many requests; slow down
  ttlTooLong @15;        # the requested TTL exceeds the node's maximum
  unknownDomain @16;     # the recipient's domain is not served here
  shuttingDown @17;      # the node is stopping
  peerUnreachable @18;   # the recipient's node is known but not linked now
  meshFull @19;          # the node's store-and-forward store is at a bound
  expired @20;           # the message's TTL ran out before delivery
  hopLimit @21;          # the message would have exceeded its max hops
  badEnvelope @22;       # a mesh envelope failed verification
  badPost @23;           # a channel post failed verification
  channelFull @24;       # the node's channel relay is at a bound
  badCommitClaim @25;    # a commit claim not proven by a member of its epoch, or for an epoch the node cannot order
  forgedKeys @26;        # a key answer was not signed by the user's home node
  storeFull @27;         # the node's mailboxes together are at the node-wide bound
  accountsFull @28;      # the node has as many accounts as it allows
  deviceRevoked @29;     # the device is not a current device of its account
  blobTooLarge @30;      # the blob exceeds the node's per-file bound
  blobQuota @31;         # the blob would exceed the user's storage quota for files
  blobStoreFull @32;     # the node's file store is at its bound
  noSuchBlob @33;        # the node holds no such blob or chunk (never uploaded, or expired)
  badChunk @34;          # a chunk does not hash to what its blob declared
  inviteRequired @35;    # the node registers only with an invite code
  inviteInvalid @36;     # the invite code is unknown, used up or expired
  registrationClosed @37; # the node takes no new registrations
}

# MeshState is what is known of a message in the mesh.
enum MeshState @0xb0e6c5d4a3f2e1d0 {
  unknown @0;    # no such message of the caller's
  queued @1;     # held at node `at`, waiting for a route to the recipient
  forwarded @2;  # handed on by node `at` towards the recipient's node
  delivered @3;  # in the recipient's mailbox at their home node `at`
  expired @4;    # its TTL ran out at node `at`
  dropped @5;    # node `at` refused it for good; reason says why
}

# MessageStatus is the last known state of a message sent into the mesh.
# Nodes on the way report back to the origin; the reports are advisory (a
# node on the path could lie, as it could drop the message).
struct MessageStatus @0xc1d2e3f4a5b6c7d8 {
  id @0 :Data;
  state @1 :MeshState;
  # at is the domain of the node that reported the state.
  at @2 :Text;
  # updatedMillis is when that node reported it.
  updatedMillis @3 :Int64;
  # recipient is "user@domain" as sent.
  recipient @4 :Text;
  # expiresMillis is when the message's TTL runs out.
  expiresMillis @5 :Int64;
  # reason says why when state is dropped or expired.
  reason @6 :ErrorCode;
}

# MeshRoute is one entry of a node's routing table.
struct MeshRoute @0xd2e3f4a5b6c7d8e9 {
  # domain is the destination; via is the neighbour (a linked peer's
  # domain) that envelopes for it are forwarded to.
  domain @0 :Text;
  via @1 :Text;
  # hops is the distance in federation links (1: a neighbour).
  hops @2 :UInt8;
  # expiresMillis is when the route lapses unless the neighbour repeats it;
  # 0 for a route over a link (it lasts as long as the link).
  expiresMillis @3 :Int64;
}

# MeshStoreStats describes a node's store of envelopes waiting for a route.
struct MeshStoreStats @0xe3f4a5b6c7d8e9fa {
  envelopes @0 :UInt64;
  bytes @1 :UInt64;
  # maxBytes is the store's bound (--mesh-store-size).
  maxBytes @2 :UInt64;
  # oldestMillis is when the oldest held envelope was stored; 0 if none.
  oldestMillis @3 :Int64;
  # seen is how many envelope ids the node remembers (until they expire).
  seen @4 :UInt64;
  # domains lists held envelopes per destination domain.
  domains @5 :List(MeshStoreDomain);
  # counters are the node's store-and-forward counters since it started:
  # "forwarded", "delivered", "held", "duplicate", and "dropped:<reason>",
  # "refused:<reason>".
  counters @6 :List(MeshCounter);
}

struct MeshStoreDomain @0xf4a5b6c7d8e9fa0b {
  domain @0 :Text;
  envelopes @1 :UInt64;
  bytes @2 :UInt64;
}

struct MeshCounter @0xa5b6c7d8e9fa0b1c {
  name @0 :Text;
  value @1 :UInt64;
}
