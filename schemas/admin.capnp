# admin.capnp: the service a qpc node offers its admin on a local socket.
#
# Transport: a Unix stream socket, by default DATA_DIR/admin.sock
# (`qpc node --admin-socket`), mode 0600 and owned by the node's user: the
# file's permissions are the authentication, and the node also refuses a
# peer whose uid (SO_PEERCRED) is neither its own nor 0. Cap'n Proto RPC,
# standard framing, not packed, as on the client protocol; the bootstrap
# capability is an AdminService.
#
# Results: every method answers with one JSON object (result :Text), the
# object that `qpc admin CMD --json` prints and that docs/admin.md
# specifies key by key (snake_case keys, times in Unix seconds, sizes in
# bytes). LuCI's rpcd plugin and scripts code against those objects, so
# the socket carries exactly them: one contract, not a second shape to
# keep in step with the first.
#
# Errors: as on node.capnp, a failed call raises an exception whose reason
# starts with "qpc:<code>: " (ErrorCode of node.capnp), then a sentence
# for the admin, e.g. "qpc:unknownUser: no such user: alice".
#
# Every call that changes something (deleteUser, resetUser, createInvite,
# revokeInvite, drain) is written to the node's audit log (method log).
#
# Evolution: only by adding methods and parameters with new ordinals.
@0xc77ae0d77ecfc275;

using Go = import "/go.capnp";
$Go.package("schemas");
$Go.import("github.com/quicprochat/qpc/schemas");

# AdminService is the bootstrap capability of the admin socket.
interface AdminService @0xd98eab3829d93d0b {
  # status is the node at a glance: who it is, its registration policy,
  # whether it is draining, clients, accounts, links, nodes nearby, queues,
  # channels, files and a summary of its metrics.
  status @0 () -> (result :Text);

  # users lists the accounts: name, devices, last seen, mailbox size.
  users @1 () -> (result :Text);

  # deleteUser deletes the account name and everything of it, as the user's
  # own deleteAccount would (the name is held for --name-hold); its
  # sessions end at once.
  deleteUser @2 (name :Text) -> (result :Text);

  # resetUser forces the account name to register again: its OPAQUE record
  # and published keys are removed, its sessions end, and the key
  # transparency log records a reset, so that contacts see a key change.
  # The name stays the user's: only a registration with the same name (any
  # password, under the registration policy) takes it back.
  resetUser @3 (name :Text) -> (result :Text);

  # createInvite makes an invite code for registerStart: uses is how many
  # registrations it allows (0: 1), expiresSeconds how long it is valid
  # from now (0: 7 days). The code is shown once: the node keeps only its
  # SHA-256.
  createInvite @4 (uses :UInt32, expiresSeconds :UInt64) -> (result :Text);

  # invites lists the invites not used up, revoked or expired, by id (the
  # first 8 hex digits of the code's SHA-256, not the code).
  invites @5 () -> (result :Text);

  # revokeInvite ends the invite with this id.
  revokeInvite @6 (id :Text) -> (result :Text);

  # quota is the node's per-user bounds and what each user takes of them.
  quota @7 () -> (result :Text);

  # links are the federation links, as status has them.
  links @8 () -> (result :Text);

  # mesh is the routing table and the store-and-forward store.
  mesh @9 () -> (result :Text);

  # drain, when on, refuses new client connections and logins with
  # shuttingDown, for maintenance; federation and the sessions already
  # open go on. Off takes clients again. Not kept across a restart.
  drain @10 (on :Bool) -> (result :Text);

  # log returns the newest limit entries of the audit log (0: all it
  # keeps, at most 1000), newest first.
  log @11 (limit :UInt32) -> (result :Text);

  # reports returns the reports users sent to the admin (NodeService.report),
  # opened with the node's report key.
  reports @12 () -> (result :Text);
}
