// Package mls implements the Messaging Layer Security protocol (RFC 9420)
// for cipher suite 1, MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, proven
// against the MLS working group's interoperability test vectors (read from
// ../shared/testdata/mls/ by the tests, never copied here): byte for byte
// for every layer, and as a passive client that joins from a Welcome and
// follows other implementations' groups through hundreds of epochs.
//
// # The post-quantum suite
//
// It also implements MLS_128_MLKEM768X25519_AES256GCM_SHA384_Ed25519 of
// draft-ietf-mls-pq-ciphersuites-06 ("ML-KEM and Hybrid Cipher Suites for
// Messaging Layer Security"): HPKE with the hybrid KEM MLKEM768-X25519 of
// draft-ietf-hpke-pq (KEM id 0x647A, the construction known as X-Wing;
// public keys 1216 bytes, private keys a 32-byte seed, encapsulations 1120
// bytes), HKDF-SHA384 as HPKE KDF and MLS KDF, AES-256-GCM, SHA-384
// (Nh = 48) and Ed25519 signatures. The draft keeps every label and rule of
// RFC 9420; only the primitives change. It leaves the code point to IANA
// ("TBD2"), so until one is assigned the suite goes on the wire as 0xF002,
// in the private-use range of RFC 9420 §17.1 (where other implementations
// of the draft put it too); a registered value will be a new constant, and
// groups on 0xF002 keep working. All key material of a group in this suite
// (init keys, tree keys, path secrets and Welcome secrets) is protected
// against a future quantum computer as long as either ML-KEM-768 or X25519
// holds. Authentication is not: signatures stay Ed25519. The draft also
// defines ML-DSA suites, but none pairs ML-DSA with this KEM and Ed25519
// identity keys (the nearest, MLKEM768X25519 with ML-DSA-44, needs a
// second identity key and 2.4 KB signatures on every message); recorded
// traffic, the threat this suite answers, is a confidentiality threat, and
// forging a signature needs the quantum computer at the time of the
// conversation, so we keep Ed25519 for now. There are no official test
// vectors for the suite: its tests derive known answers from the drafts'
// definitions (identifiers and sizes) and run every protocol test of this
// package in both suites.
//
// # Groups
//
// A client publishes KeyPackages made by NewKeyPackage and keeps each
// KeyPackageBundle until a Welcome uses it. A Group is one member's state:
//
//   - NewGroup creates a one-member group; JoinGroup joins from a Welcome,
//     with the ratchet tree from the ratchet_tree extension or supplied.
//   - ProposeAdd, ProposeRemove and ProposeUpdate send proposals, which
//     every member caches; Commit (and AddMembers, RemoveMembers,
//     SelfUpdate) commits the cached proposals by reference and new ones by
//     value, refreshing the committer's path by default.
//   - A new commit stays pending: MergePendingCommit (or processing the
//     commit echoed by the delivery service) enters the new epoch;
//     DiscardPendingCommit drops it, and a commit of another member that
//     wins the epoch discards it automatically.
//   - ProcessMessage handles proposals, commits and application messages
//     (PublicMessage or PrivateMessage); Encrypt sends application data.
//     Proposals and commits go out as PublicMessages, or as PrivateMessages
//     under Config.PrivateHandshake.
//   - Export, EpochAuthenticator and Roster read the current epoch;
//     PendingExport exports from the epoch a pending commit creates.
//   - MarshalState and LoadGroup persist a group.
//
// Validation follows RFC 9420: signatures, membership and confirmation
// tags, parent hashes and tree validity, KeyPackages (§10.1) and leaf nodes
// (§7.3: source, signature, lifetime, credential policy, capabilities
// against the group's required capabilities and the other members'
// credential types, keys not used elsewhere in the tree), proposal lists
// (§12.2: no duplicate Updates or Removes of a leaf, no Update or Remove of
// the committer, no Update by value, one GroupContextExtensions, unique
// PSKs, paths where required), epochs and ratchet generations, and, when
// Config.Policy is set, the application's policy on every proposal (group
// roles: RolesPolicy). Proposals
// apply in the order GroupContextExtensions, Update, Remove, Add, PSK.
// Every operation works on a copy and installs it only on success, so a
// rejected message leaves the group as it was.
//
// Not supported (rejected with ErrUnsupported or ErrSenderType): ReInit,
// external senders and external joins (ExternalInit, new-member senders),
// and resumption PSKs in a Welcome (the joiner cannot hold them). Leaves
// already in a tree a client joins are not checked against their lifetime,
// as members may have been added long ago.
//
// Secrets of past epochs: the previous Config.PastEpochs epochs (default 3)
// keep their sender-data secret, secret tree, resumption PSK and the
// members' signature keys and credentials, so that late application
// messages can still be read; older ones are deleted when the group moves
// on (and when a state is loaded under a smaller retention).
//
// # Layout
//
// Encoding:
//   - codec.go: the TLS presentation language with MLS variable-length
//     integers (§2.1.2), Marshal and Unmarshal. Every wire type implements
//     the unexported codec interface.
//   - types.go, proposals.go, messages.go, tree.go: the wire structures —
//     Credential, Capabilities, LeafNode, KeyPackage, GroupContext,
//     proposals, Commit, UpdatePath, FramedContent, PublicMessage,
//     PrivateMessage, GroupInfo, GroupSecrets, Welcome, MLSMessage, and the
//     ratchet tree as carried in the ratchet_tree extension.
//
// Cryptography:
//   - suite.go: the CipherSuite interface through which all protocol code
//     reaches its primitives, so that more suites (post-quantum ones
//     included) can be added, and both suites on the standard library
//     (crypto/hpke, crypto/hkdf, crypto/ed25519, AES-GCM).
//   - labeled.go: RefHash, ExpandWithLabel, DeriveSecret, DeriveTreeSecret,
//     Sign/VerifyWithLabel, Encrypt/DecryptWithLabel (§5).
//   - keyschedule.go: epoch secrets, exporter, external key pair and
//     external init, PSK secret, confirmation tag (§8).
//   - transcript.go: confirmed and interim transcript hashes (§8.2).
//   - secrettree.go: the secret tree, sender-data key and nonce, and the
//     per-leaf handshake and application ratchets (§9).
//
// Tree:
//   - treemath.go: array-based tree math (Appendix C).
//   - treehash.go: resolution, tree hash, parent hash, parent-hash validity
//     and tree validation (§4.1.1, §7.8, §7.9, §12.4.3.1).
//   - treeops.go: Add, Update and Remove applied to the tree (§7.7).
//   - treekem.go: UpdatePath creation and processing, path secrets from a
//     Welcome, the commit secret (§7.4-§7.6).
//
// Messages:
//   - framing.go: signing of FramedContent, PublicMessage membership tags,
//     PrivateMessage encryption with sender data, reuse guard and padding (§6).
//   - welcome.go: GroupSecrets and GroupInfo encryption for a Welcome (§12.4.3.1).
//
// Group lifecycle:
//   - keypackage.go: KeyPackage creation and validation, leaf node policy
//     checks, required capabilities.
//   - group.go: Config, the Group type, creation, accessors, application
//     messages and ProcessMessage.
//   - commit.go: proposals, commit creation with its Welcome, commit
//     processing, pending commits, epoch transitions.
//   - join.go: joining from a Welcome.
//   - state.go: group state serialization.
//   - roles.go: group roles, an application's rule of who may change the
//     group: the group_roles group context extension (private use 0xF0A0,
//     the admins by account) and the proposal policy hook that enforces
//     it on every proposal and commit (Config.Policy, RolesPolicy).
//
// # Wire formats
//
// Every structure is encoded exactly as RFC 9420 §2.1 specifies: integers are
// big-endian; opaque<V> and T<V> vectors carry a varint byte length (1, 2 or 4
// bytes, top two bits 00, 01, 10; 11 is reserved); optional<T> is a presence
// byte 0 or 1 followed by T; select() arms follow their tag with no length.
// Decoding is strict: a varint must use its shortest form, every length is
// checked against the input, enumerations this package cannot parse are
// rejected, and no bytes may follow a structure. As a result every accepted
// input re-encodes to itself, which the fuzz targets check.
//
// # Group state format
//
// MarshalState writes, in the same encoding: the magic "QMLS", a uint16
// format version (1; LoadGroup tells a newer version, ErrStateVersion,
// from one too old to read, ErrStateTooOld), the cipher suite, the
// GroupContext, the ratchet tree as in the ratchet_tree extension, the
// member's private tree keys ({node, optional path secret, private key,
// public key}, by node), its signature key, the twelve epoch secrets, the
// interim transcript hash and confirmation tag, the secret tree (leaf
// count, unconsumed node secrets, and per started leaf its two ratchets with
// their skipped keys), the cached proposals, the pending commit if any, the
// retained past epochs and a removed flag. state.go details the layout.
// LoadGroup is strict like the wire decoders and also checks consistency
// (tree hash against the GroupContext, lengths of secrets, leaf ranges).
//
// # Secrets and state
//
// The ratchet of each sender deletes a key as it hands it out and keeps at
// most Window skipped keys for late messages; SecretTree deletes tree-node
// secrets once their children are derived. TreeKEM operations modify the
// tree they are called on; callers work on a Clone until a commit is accepted.
//
// # Errors
//
// Every rejection wraps a sentinel from errors.go with %w, so callers test
// with errors.Is. Nothing here panics on input from the network.
package mls
