// Package store is the node's storage: a node.Store on one bbolt file,
// conventionally <store-dir>/qpc.db (FileName), mode 0600.
//
// # Durability
//
// Every method that changes data returns after bbolt has committed and
// synced its transaction, or, for the enqueues and acks of the mailbox
// hot path, after the write-ahead log has synced their record (below). Enqueue, Hold, AddPosts and Ack are
// group-committed: one goroutine (the committer) takes the calls queued
// while it synced the previous batch, waiting up to Options.BatchWindow
// (default none) from the oldest for more, or until it holds
// Options.BatchSize (default 256) messages, envelopes and posts, writes
// them in one transaction and answers every caller after the commit. No
// wait is the right default: under load the calls that arrive during one
// sync fill the next batch by themselves, and a lone call is not held
// back for company that is not coming. Each
// message, envelope and post is checked on its own inside the transaction,
// so an unknown recipient or a full mailbox fails only that message's
// receipt. See Store.Enqueue and Store.Hold for what a context that ends
// early means. Close commits what is queued before it closes the file.
//
// # Write-ahead log
//
// Unless Options.NoWAL is set, a group of only Enqueue calls (of messages
// that did not come through the mesh) and Acks does not become a bbolt
// transaction: the committer appends its changes (each stored message's
// queue, seq and record; each ack's queue and seq) as one frame to the
// write-ahead log beside the bbolt file (its path plus WALSuffix), with
// one write and one fdatasync, and answers the callers after that sync,
// as it does after a commit. A bbolt commit writes a leaf and a root page
// per queue it touches, the expiry index and the buckets above, and syncs
// twice; the log writes the messages once and syncs once
// (BenchmarkCommitPagesWindow1).
//
// The log's changes stay in memory, per queue, until a checkpoint: the
// queue's record as bbolt has it (its base), the record with the changes,
// the highest seq acked and the messages only the log holds. Fetch, Depth,
// LastSeq, Totals and the bounds of Enqueue read bbolt and this overlay
// together. A checkpoint writes the overlay into bbolt in one transaction,
// in the layout below (messages acked before it never reach bbolt), with
// the log's generation as folded in meta ("wal"), then starts the log
// again, empty, at the next generation. The committer checkpoints when the
// log reaches Options.WALMaxBytes (default 4 MiB, which bounds the
// overlay's memory) or Options.WALMaxAge (default 1 s) after its first
// record, and Close checkpoints last. Every other write transaction (a
// group with held envelopes, posts or mesh messages, and every method
// that writes outside the committer: Expire, DeleteAccount, PutKeys, ...)
// folds the overlay into itself first, so that it reads every message and
// no later checkpoint writes under what it changed (a deleted account, a
// cleared queue). One lock (foldMu) orders all writers of bbolt and the
// log; readers hold the overlay's read lock across their bbolt read
// transaction, so they see both before or both after a checkpoint.
//
// Open replays a log of a generation above the folded one into the
// overlay and folds it in its own first transaction, before anything reads
// the store: after a crash every acknowledged group is in bbolt before the
// first call, and an ack in the log removes messages a checkpoint wrote
// earlier. A crash can tear only the last frame, the one whose sync did
// not return, so no caller was answered for it: replay cuts a frame that
// runs past the end of the file, fails its CRC-32C and ends the file, or
// is zeros to the end, and refuses (ErrCorrupt) a frame damaged anywhere
// else rather than drop the acknowledged groups after it. A log of the
// folded generation or older (a crash between a checkpoint's commit and
// the log's restart) is not replayed; a record whose seq bbolt already
// holds is skipped, so replaying twice changes nothing. A log that cannot
// be written (a failed write or sync is cut off again) makes the committer
// go on with bbolt transactions.
//
//	log header  magic "qpcwal1\n"(8) | generation(8) | CRC-32C of the first 16 bytes(4)
//	frame       body length(4) | CRC-32C of type and body(4) | type(1, 1 = group) | body
//	group body  count(4) | count × entry
//	entry       kind(1: 1 enqueue, 2 ack) | queue length(2) | queue (owner key) | seq(8)
//	            | an enqueue's message record length(4) | message record (as in bbolt)
//
// bbolt runs with the hashmap freelist and does not write the freelist at
// every commit (as etcd does): commits write fewer pages, and Open rebuilds
// the freelist by scanning the file. Options.OnCommit reports each group
// commit's size and duration, for metrics. HandOffCommits gives the node
// each commit's stored messages, per queue, before the callers are
// answered, so that it pushes them to subscribers without reading them
// back.
//
// Message buckets split full (bbolt's FillPercent 1.0), not half: messages
// are put at the end of their queue, so a half-empty page left by a split
// is never filled and only makes later commits write more pages
// (BenchmarkCommitPages).
//
// Check verifies a closed store file: bbolt's page and freelist check and
// the invariants across buckets described below (for tests and for a node
// restarted after a crash); Store.CheckIntegrity does the same on an open store,
// and also checks the channel store's bounds, which only it knows.
//
// Nothing accepted is dropped silently: a message leaves its mailbox only
// by Ack, by Expire after its Expires, or by DeleteAccount, a held
// envelope its queue only by Release or by ExpireMesh after its Expires,
// and every bound (Options.Limits, Options.MaxKeyPackages,
// Options.QueueSize, Options.Mesh, the seen-set of Options.Channels)
// answers with a typed error or, for the queue, by making the caller wait.
// Kept channel posts are the exception by design: they are a cache for
// late joiners, and the bounds on them evict, counted in AddPosts's
// answer.
//
// # Store-and-forward
//
// Envelopes that wait for a route (DESIGN §7) are held in one queue per
// destination domain, numbered like a mailbox. Hold goes through the
// group committer: the engine's callers (local senders, federation links)
// hold concurrently, and one sync for all of them is also fewer writes to a
// router's flash. The seen-set remembers every envelope id this node held or delivered until
// the envelope expires, so that no id is forwarded or delivered twice;
// Enqueue checks and fills it in the group commit that stores a message
// from the mesh. Totals per destination, per origin and of the whole
// store are kept in records, so that the quota checks of Options.Mesh read
// three records instead of scanning.
//
// # Broadcast channels
//
// Posts of broadcast channels (DESIGN §7) are kept per channel, numbered
// like a mailbox, for clients that join late or were away; AddPosts goes
// through the group committer, since the flood engine adds what every link
// brings. The channel seen-set remembers every post id added until the
// post expires, also after the post itself was evicted, so that no post
// circulates twice. Totals of the channel store (posts, bytes, channels,
// seen ids, posts ever added) are kept in one record, so that the bounds
// of Options.Channels are checked without scanning; the expiry index
// gives both ExpireChannels and the MaxBytes eviction (earliest expiry
// first) their next post, the recency index gives MaxChannels the channel
// whose last post came longest ago.
//
// A channel has a record and a bucket only while it keeps posts, so that
// channels that come and go leave nothing behind. Seqs are still never
// reused: a channel's seqs go up by one while it keeps posts, and a
// channel that keeps none starts above the number of posts ever added to
// the store, which no seq of any channel exceeds.
//
// # Commit sequencer
//
// The node orders the commits of MLS groups whose home it is (DESIGN §5,
// node.CommitSequencer): OrderCommit runs in one write transaction of its
// own, so that of concurrent claims of one epoch exactly one wins. Each
// group keeps its last Options.MaxCommitsPerGroup accepted commits, for
// members that are behind, and at most Options.MaxGroups groups are kept:
// a new group evicts the group claimed longest ago. "Longest ago" is by a
// counter of claims kept in the totals, not by a clock, which on a router
// may jump at boot.
//
// Only members move the sequencer (crypto/commitclaim): a group's record
// holds the sequencer key of its next epoch, and each kept commit the key
// it was claimed with, so that a claim of the next epoch and a stale one
// (which gets commits back) are both checked against the epoch's key. A
// refused claim fails before anything is written. A group the store does
// not know is registered by its first claim, at whatever epoch: after
// MaxGroups evicted a group, whoever claims it first (a member, or an
// ex-member or node on the path that knows its id) holds it; members
// that cannot claim then report the group as broken.
//
// # Bucket layout (schema version 1)
//
// All integers are big endian. A user is the UTF-8 bytes of node.Account's
// User (1 to MaxUserLen bytes). Top-level buckets:
//
//	meta              "schema" → uint32 schema version
//	accounts          user → account record
//	keys              user → keys record
//	keypackages       user → bucket: uint64 upload number → key package (raw bytes), MLS cipher suite 1
//	lastresort        user → last-resort key package (raw bytes), suite 1
//	keypackagessuite  uint16 suite | user → bucket: uint64 upload number → key package, other suites
//	lastresortsuite   uint16 suite | user → last-resort key package, other suites
//	mailboxes         user → bucket: uint64 seq → message record
//	mailboxmeta       user → queue record
//	msgexpiry         time(expires) | uint64 seq | user → empty
//	sessions          token hash (32 bytes) → session record
//	usersessions      user → bucket: token hash → time(created) of the account the session is bound to (empty before the binding)
//	sessionexpiry     time(expires) | token hash → empty
//	meshheld          domain → bucket: uint64 seq → held record
//	meshqueues        domain → queue record
//	meshexpiry        time(expires) | uint64 seq | domain → empty
//	meshorigins       origin domain "/" origin node id → origin record (domain alone for version 1 held records)
//	meshneighbours    neighbour domain → neighbour record
//	meshseen          envelope id (32 bytes) → seen record
//	meshseenexpiry    time(expires) | envelope id → empty
//	meshstatus        envelope id → status record
//	meshstatusexpiry  time(expires) | envelope id → empty
//	chanposts         channel id (32 bytes) → bucket: uint64 seq → post record
//	chanmeta          channel id → channel record
//	chanexpiry        time(expires) | channel id | uint64 seq → empty
//	chanrecency       uint64 newest | channel id → empty
//	chanseen          post id (32 bytes) → channel seen record
//	chanseenexpiry    time(expires) | post id → empty
//	channeighbours    neighbour domain → channel neighbour record
//	mlsgroups         group id (1 to 255 bytes) → group record
//	mlscommits        group id → bucket: uint64 epoch → commit entry
//	mlsrecency        uint64 touched | group id → empty
//	nameholds         user → name hold record (a deleted account's name, held until a time)
//	devices           user → devices record (an account with a device list)
//	ktleaves          uint64 index → key transparency entry (kt.Entry encoding)
//	ktnodes           uint8 level | uint64 index → 32-byte hash of that perfect subtree
//	ktaddrs           user → kt address record (the address's latest entry)
//	ktmeta            "head" → the log's latest signed head (kt.SignedHead encoding)
//	ktevidence        int64 found millis | 8 bytes of the heads' hash → evidence record
//
// meta also holds "mesh" → mesh totals record, "channels" → channel
// totals record, "mls" → group totals record and "wal" → uint64
// generation of the last write-ahead log folded into bbolt (absent until
// the first; readers of bbolt need not know it).
//
// Devices: an account's mailbox and key packages are one queue and one
// set per device. They are filed under an owner key: the bare user name
// for the account's legacy device, "user#device" (device: 16 lowercase hex
// digits; '#' is in no user name) for every other device, in mailboxes,
// mailboxmeta, msgexpiry, keypackages, lastresort and the suite buckets
// alike. An account without a devices record has only the bare name's. The
// legacy device is the primary of the first device list the account
// published: it takes over what the account had before, so a file from
// before devices needs no migration and the old mailbox's seqs go on. A
// device's queue is made by the first message for it. When a device leaves
// the list, its queue and key packages are deleted (the bare name's queue
// stays, empty, with its last seq). The bounds of Options.Limits hold for
// the sum of an account's queues, read from their queue records in the
// transaction that enqueues. The devices bucket came after schema 1 was
// released; Open adds it, empty, as it does the others.
//
// Key transparency (issue 23, docs/kt.md): with Options.KT the store keeps
// the append-only Merkle log of package kt. An entry is appended, and the
// head re-signed, in the very transaction that changes the directory
// (PutKeys with keys that differ from the address's latest entry,
// DeleteAccount), so that a crash leaves both or neither; Check recomputes
// the tree from the leaves and compares it with the stored nodes, the
// head and the directory. An address gets at most MaxKTEntriesPerDay
// entries per UTC day, so that a client in a loop cannot fill a router's
// flash. A file without a head, from before the log or opened without
// Options.KT, gets one register entry per account with keys when it is
// opened with it. Every node of every perfect subtree is stored, so a
// proof reads O(log n) records and no leaf is ever rehashed.
//
// Message keys are big-endian sequence numbers, so cursor order is
// sequence order; the queue record of a mailbox holds the last sequence number ever
// used, the count and the payload bytes of the mailbox, and changes in the
// same transaction as the messages. msgexpiry and sessionexpiry are indexes
// in expiry order, so Expire reads only what it removes; they hold exactly
// one entry per message and session. usersessions lets DeleteAccount find a
// user's sessions, and binds each to its account's creation time, so that a
// session never serves a later account of the same name. nameholds keeps a
// deleted name from being registered again until its hold ends; Expire reads
// it whole, as holds are few. Key packages are numbered by the bucket's sequence, so
// the first key is the oldest.
//
// Store-and-forward: a domain is a destination's or an origin's domain (1
// to MaxDomainLen bytes). meshheld and meshqueues are the queues, like
// mailboxes and mailboxmeta, except that a queue has a bucket only while
// it holds envelopes (its record stays, with the last seq). meshorigins
// has a record for each origin with held envelopes, and meshneighbours one
// for each neighbour whose envelopes are held or whose ids are still in
// meshseen (the seen record names the neighbour; envelopes made or
// delivered here count for none): the envelopes and bytes held and the
// seen ids. The mesh totals count
// all held envelopes, their bytes and the ids in meshseen. The three
// expiry indexes hold exactly one entry per held envelope, seen id and
// status, under the envelope's expiry; a seen id of a held envelope has
// state held and the envelope's expiry. A status is kept for a day after
// its envelope expired. These buckets came after schema 1 was released;
// Open adds them, empty, to a file without them, which is all the change
// there is, so the schema version stayed 1.
//
// Channels: chanposts and chanmeta hold exactly the channels with kept
// posts. chanexpiry holds one entry per kept post and chanseenexpiry one
// per seen id, under its expiry; a kept post's id is in chanseen with the
// post's expiry. chanrecency holds one entry per channel, under its
// newest: the number, counted by the channel totals' "added", of its last
// post. channeighbours counts, per neighbour, the seen ids of the posts it
// relayed (the neighbour is in the seen record). The channel buckets came
// after schema 1 was released too, and Open adds them the same way;
// meshneighbours and channeighbours came later still, and older records
// (held version 1, channel seen version 1) name no neighbour, so an empty
// bucket is what such a file holds.
//
// Commit sequencer: mlsgroups and mlscommits hold exactly the same
// groups, and every group keeps at least its newest commit, the one of
// epoch next-1; a group's kept commits all have epochs below next.
// mlsrecency holds one entry per group, under touched: the number,
// counted by the group totals' "touches", of the group's last claim. The
// sequencer's buckets came after schema 1 was released too, and Open adds
// them the same way.
//
// # Record encodings
//
// A time is 12 bytes: the Unix seconds as a uint64 with the sign bit
// flipped (so bytewise order is time order, also before 1970) and the
// nanoseconds as a uint32 below 10⁹.
//
// Every record starts with a version byte, now 1, but for held, seen,
// chan seen and keys records, which have versions of their own (now 2)
// because only they changed; their version 1 is still read. Decoding a record whose
// version is below the oldest this version reads fails with
// ErrRecordTooOld, above the newest it knows with ErrRecordUnknown; a
// truncated record, trailing bytes or an out-of-range field with
// ErrCorrupt. The schema version in meta works the same way at Open, with
// ErrSchemaTooOld and ErrSchemaUnknown.
//
//	account      version(1) | created(12) | OPAQUE registration record (rest)
//	keys         version(2) | published(12) | field identity key | field HPKE key | field signature | field account key | field device list
//	             (version 1, still written for keys without a device list: without the last two)
//	devices      version(1) | legacy device(8) | primary device(8) | count(1) | count × current device(8)
//	message      version(1) | enqueued(12) | expires(12) | payload (rest)
//	queue        version(1) | last seq(8) | count(8) | bytes(8)
//	session      version(1) | expires(12) | user (rest, not empty)
//	held         version(2) | held(12) | expires(12) | id(32) | field origin | field sender | field recipient | field from | field origin id | data (rest)
//	             (version 1: without from and origin id)
//	origin       version(1) | envelopes(8) | bytes(8)
//	neighbour    version(1) | envelopes(8) | bytes(8) | seen ids(8)
//	mesh totals  version(1) | envelopes(8) | bytes(8) | seen ids(8)
//	seen         version(2) | state(1) | expires(12) | neighbour (rest, empty for one made or delivered here)
//	             (version 1: without the neighbour)
//	status       version(1) | state(1) | reason(1) | updated(12) | expires(12) | field sender | field at | recipient (rest)
//	post         version(1) | expires(12) | id(32) | data (rest)
//	channel      version(1) | last seq(8) | count(8) | bytes(8) | newest(8)
//	chan totals  version(1) | posts(8) | bytes(8) | channels(8) | seen ids(8) | added(8)
//	chan seen    version(2) | expires(12) | neighbour (rest, empty for a local post)
//	             (version 1: expires alone)
//	chan neighb. version(1) | seen ids(8)
//	group        version(1) | next epoch(8) | commits kept(8) | touched(8) | keyed from(8) | next key(32)
//	commit entry key(32) | commit (rest, not empty)
//	group totals version(1) | groups(8) | touches(8)
//	name hold    version(1) | held until(12)
//	kt address   version(1) | latest index(8) | seq(8) | day(4, days since 1970 UTC) | entries that day(1)
//	kt evidence  version(1) | found millis(8) | field first head | field second head | field reason | field domain | field reported by
//
// A field is a 4-byte length and that many bytes. The queue record is the
// mailbox record (mailboxmeta) and a destination's (meshqueues); its bytes
// are payload or Data bytes. A seen state is protocol.SeenState (1 held, 2
// forwarded, 3 delivered, 4 dropped), a status state protocol.MeshState (1
// queued to 5 dropped). A reason is a code: 0 none, 1 protocol.ErrExpired, 2
// protocol.ErrHopLimit, 3 protocol.ErrUnknownUser, 4 protocol.ErrBadEnvelope, 5
// protocol.ErrMeshFull, 6 protocol.ErrMailboxFull, 7 protocol.ErrUnknownDomain, 8 any
// other error (ErrOtherReason).
//
// Key packages and commits are opaque to the node (MLS KeyPackages and
// PrivateMessages, which carry their own version) and are stored as given.
//
// A group record without its last two fields was written before claims
// were proven: it is read as a group without keys, whose commits are bare
// (the commit alone, no key). Its next accepted claim writes the full
// record with "keyed from" at that claim's epoch: the commits of epochs
// from there on are commit entries, older ones stay bare. No migration
// runs at Open; a bare epoch only answers the retry of its very commit.
package store
