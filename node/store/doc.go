// Package store is the node's storage: a node.Store on one bbolt file,
// conventionally <store-dir>/qpc.db (FileName), mode 0600.
//
// # Durability
//
// Every method that changes data returns after bbolt has committed and
// synced its transaction. Enqueue is group-committed: one goroutine (the
// committer) collects concurrent calls for up to Options.BatchWindow
// (default 1 ms) from the oldest, or until it holds Options.BatchSize
// (default 256) messages, writes them in one transaction and answers every
// caller after the commit. Each message is checked on its own inside the
// transaction, so an unknown recipient or a full mailbox fails only that
// message's receipt. See Store.Enqueue for what a context that ends early
// means. Close commits what is queued before it closes the file.
//
// bbolt runs with the hashmap freelist and does not write the freelist at
// every commit (as etcd does): commits write fewer pages, and Open rebuilds
// the freelist by scanning the file. Options.OnCommit reports each group
// commit's size and duration, for metrics.
//
// Check verifies a closed store file: bbolt's page and freelist check and
// the invariants across buckets described below (for tests and for a node
// restarted after a crash); Store.Check does the same on an open store.
//
// Nothing accepted is dropped silently: a message leaves its mailbox only
// by Ack, by Expire after its Expires, or by DeleteAccount, and every bound
// (Options.Limits, Options.MaxKeyPackages, Options.QueueSize) answers with a
// typed error or, for the queue, by making the caller wait.
//
// # Bucket layout (schema version 1)
//
// All integers are big endian. A user is the UTF-8 bytes of node.Account's
// User (1 to MaxUserLen bytes). Top-level buckets:
//
//	meta            "schema" → uint32 schema version
//	accounts        user → account record
//	keys            user → keys record
//	keypackages     user → bucket: uint64 upload number → key package (raw bytes)
//	lastresort      user → last-resort key package (raw bytes)
//	mailboxes       user → bucket: uint64 seq → message record
//	mailboxmeta     user → mailbox record
//	msgexpiry       time(expires) | uint64 seq | user → empty
//	sessions        token hash (32 bytes) → session record
//	usersessions    user → bucket: token hash → empty
//	sessionexpiry   time(expires) | token hash → empty
//
// Message keys are big-endian sequence numbers, so cursor order is
// sequence order; the mailbox record holds the last sequence number ever
// used, the count and the payload bytes of the mailbox, and changes in the
// same transaction as the messages. msgexpiry and sessionexpiry are indexes
// in expiry order, so Expire reads only what it removes; they hold exactly
// one entry per message and session. usersessions lets DeleteAccount find a
// user's sessions. Key packages are numbered by the bucket's sequence, so
// the first key is the oldest.
//
// # Record encodings
//
// A time is 12 bytes: the Unix seconds as a uint64 with the sign bit
// flipped (so bytewise order is time order, also before 1970) and the
// nanoseconds as a uint32 below 10⁹.
//
// Every record starts with a version byte, now 1. Decoding a record whose
// version is below the oldest this version reads fails with
// ErrRecordTooOld, above the newest it knows with ErrRecordUnknown; a
// truncated record, trailing bytes or an out-of-range field with
// ErrCorrupt. The schema version in meta works the same way at Open, with
// ErrSchemaTooOld and ErrSchemaUnknown.
//
//	account   version(1) | created(12) | OPAQUE registration record (rest)
//	keys      version(1) | published(12) | len(4) identity key | len(4) HPKE key | len(4) signature
//	message   version(1) | enqueued(12) | expires(12) | payload (rest)
//	mailbox   version(1) | last seq(8) | count(8) | bytes(8)
//	session   version(1) | expires(12) | user (rest, not empty)
//
// Key packages are opaque to the node (MLS KeyPackages, which carry their
// own version) and are stored as given.
package store
