package store

import (
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

// Defaults of Options; a zero field means its default.
const (
	// DefaultMaxMessages is the default bound on messages per mailbox.
	DefaultMaxMessages = 10_000
	// DefaultMaxBytes is the default bound on payload bytes per mailbox.
	DefaultMaxBytes = 64 << 20
	// DefaultTotalBytes is the default bound on payload bytes of all
	// mailboxes together: what a router with the store on tmpfs can spare
	// of its RAM.
	DefaultTotalBytes = 64 << 20
	// DefaultMaxAccounts is the default bound on accounts, sized for a
	// community router.
	DefaultMaxAccounts = 1000
	// DefaultMaxKeyPackages is the default bound on key packages per user
	// (not counting the last-resort one).
	DefaultMaxKeyPackages = 100
	// DefaultBatchWindow is how long a group commit waits for more calls
	// after the first one it holds: not at all, because the calls that
	// arrive during a commit's sync make the next batch (see the package
	// doc), and a wait only added its length to every lone call's latency.
	DefaultBatchWindow = 0
	// DefaultBatchSize is how many messages, envelopes and posts make a
	// group commit cut its batch at once.
	DefaultBatchSize = 256
	// DefaultQueueSize is how many Enqueue, Hold and AddPosts calls may
	// wait for the committer before further callers block.
	DefaultQueueSize = 4096
	// DefaultLockTimeout is how long Open waits for another process to
	// release the database file.
	DefaultLockTimeout = time.Second
)

// Defaults of Options.Mesh, the bounds of the store-and-forward store. They
// are sized for the smallest node we run, a router with 64 to 128 MB of RAM
// and little flash: bbolt maps the file, so what the store holds competes
// with everything else for page cache and, worse, for flash that wears.
// One destination or one origin may take half of the store, so that a
// single dead node or a single flooding one cannot lock out the others.
const (
	// DefaultMeshMaxBytes bounds the Data bytes of all held envelopes.
	DefaultMeshMaxBytes = 16 << 20
	// DefaultMeshDomainBytes bounds the bytes held for one destination
	// domain.
	DefaultMeshDomainBytes = 8 << 20
	// DefaultMeshOriginBytes bounds the bytes held from one origin domain.
	DefaultMeshOriginBytes = 8 << 20
	// DefaultMeshNeighbourBytes bounds the bytes held that one federation
	// neighbour handed over: half the store, like an origin, because a
	// relay cannot check the origins a neighbour's envelopes claim, so a
	// neighbour that forges them must still leave room for the others.
	DefaultMeshNeighbourBytes = 8 << 20
	// DefaultMeshMaxSeen bounds the ids in the seen-set. An id costs about
	// 150 bytes of file (record and expiry index entry), so 50,000 take
	// some 7 MB.
	DefaultMeshMaxSeen = 50_000
)

// Defaults of Options.Channels, the bounds of the channel store. Kept posts
// are a cache for late joiners, so the numbers favour a small file: 100
// posts of a few hundred channels, in at most 4 MiB. The seen-set stops
// posts from circulating; its bound is the mesh's, some 7 MB of file.
const (
	// DefaultChannelRetain is how many posts each channel keeps.
	DefaultChannelRetain = 100
	// DefaultChannelMaxChannels bounds the channels with kept posts.
	DefaultChannelMaxChannels = 256
	// DefaultChannelMaxBytes bounds the Data bytes of all kept posts.
	DefaultChannelMaxBytes = 4 << 20
	// DefaultChannelMaxSeen bounds the post ids in the seen-set.
	DefaultChannelMaxSeen = 50_000
	// DefaultNeighbourSeenShare sets the defaults of
	// Channels.NeighbourSeen and Mesh.NeighbourSeen to MaxSeen divided by
	// it: half, like the byte quotas of one origin or destination, so
	// that one neighbour flooding posts or envelopes cannot fill the
	// seen-set that stops everyone's from circulating, while a node with
	// a single neighbour still takes half its capacity through it.
	DefaultNeighbourSeenShare = 2
)

// Defaults of the commit sequencer's bounds (Options.MaxGroups,
// Options.MaxCommitsPerGroup).
const (
	// DefaultMaxGroups bounds the MLS groups whose commits the store
	// orders. Commits of small groups are about 0.5-1 KiB, so the default
	// bounds keep some 16-32 MiB at most in practice.
	DefaultMaxGroups = 2_000
	// DefaultMaxCommitsPerGroup bounds the commits kept per group, for
	// members that are behind: as many as one refusal hands back
	// (protocol.MaxMissingCommits), since more are never read.
	DefaultMaxCommitsPerGroup = 16
)

// MaxUserLen is the longest user name the store accepts (bbolt's key
// bound less the room the indexes need).
const MaxUserLen = 1024

// Options configure a Store. The zero value is valid and means every
// default.
type Options struct {
	// Limits bound each mailbox (default DefaultMaxMessages,
	// DefaultMaxBytes) and all of them (default DefaultTotalBytes).
	Limits node.MailboxLimits
	// MaxAccounts bounds the accounts (default DefaultMaxAccounts).
	MaxAccounts int
	// MaxKeyPackages bounds the key packages a user holds, besides the
	// last-resort one (default DefaultMaxKeyPackages).
	MaxKeyPackages int
	// BatchWindow is how long the group committer waits, from the arrival
	// of the oldest Enqueue, Hold or AddPosts call it holds, for more
	// before it commits (default DefaultBatchWindow: it commits what is
	// queued at once).
	BatchWindow time.Duration
	// BatchSize is the number of messages, envelopes and posts at which
	// the group committer commits without waiting out the window (default
	// DefaultBatchSize). A call is never split, so a batch may hold more.
	BatchSize int
	// QueueSize bounds the Enqueue, Hold and AddPosts calls that wait
	// while the committer is busy with a commit; beyond it callers wait to
	// be queued, honouring their context (default DefaultQueueSize).
	QueueSize int
	// LockTimeout is how long Open waits for the file lock before it fails
	// with ErrLocked (default DefaultLockTimeout).
	LockTimeout time.Duration
	// Mesh bounds the store-and-forward store (default DefaultMeshMaxBytes,
	// DefaultMeshDomainBytes, DefaultMeshOriginBytes,
	// DefaultMeshNeighbourBytes, DefaultMeshMaxSeen, MaxSeen /
	// DefaultNeighbourSeenShare).
	Mesh protocol.MeshQuota
	// Channels bounds the channel store (default DefaultChannelRetain,
	// DefaultChannelMaxChannels, DefaultChannelMaxBytes,
	// DefaultChannelMaxSeen, MaxSeen / DefaultNeighbourSeenShare).
	Channels protocol.ChannelQuota
	// MaxGroups bounds the MLS groups whose commits the store orders; a
	// new group beyond it evicts the group claimed longest ago (default
	// DefaultMaxGroups).
	MaxGroups int
	// MaxCommitsPerGroup bounds the accepted commits kept per group, the
	// oldest dropped first (default DefaultMaxCommitsPerGroup).
	MaxCommitsPerGroup int
	// OnCommit, if not nil, is called by the committer after each group
	// commit with the number of messages it stored (held envelopes and
	// channel posts not counted) and how long the transaction took, including the sync (for
	// metrics). It runs before the callers are answered, so it must be
	// quick.
	OnCommit func(messages int, took time.Duration)
	// NoWAL turns the write-ahead log off: every group commit is then a
	// bbolt transaction, as before the log (for comparison in benchmarks).
	// A log left by an earlier run is still replayed at Open, then
	// removed.
	NoWAL bool
	// WALMaxBytes is the log's size at which the committer checkpoints
	// (default DefaultWALMaxBytes); it bounds the memory of messages only
	// the log holds.
	WALMaxBytes int64
	// WALMaxAge is how long after the first record since the last
	// checkpoint the committer checkpoints (default DefaultWALMaxAge).
	WALMaxAge time.Duration
	// Now is the clock Fetch uses to leave out expired messages (default
	// time.Now), and the key transparency log's for its entries and heads.
	Now func() time.Time
	// KT, when its Domain is set, keeps the key transparency log
	// (issue 23): PutKeys and DeleteAccount append to it in their
	// transaction and sign its head with KT.Key.
	KT KTLog
}

// WithDefaults returns a copy of o, or of the zero Options when o is nil,
// with every zero field set to its default. Negative values are kept, for
// Validate to refuse.
func (o *Options) WithDefaults() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.Limits.MaxMessages == 0 {
		c.Limits.MaxMessages = DefaultMaxMessages
	}
	if c.Limits.MaxBytes == 0 {
		c.Limits.MaxBytes = DefaultMaxBytes
	}
	if c.Limits.TotalBytes == 0 {
		c.Limits.TotalBytes = DefaultTotalBytes
	}
	if c.MaxAccounts == 0 {
		c.MaxAccounts = DefaultMaxAccounts
	}
	if c.MaxKeyPackages == 0 {
		c.MaxKeyPackages = DefaultMaxKeyPackages
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.QueueSize == 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.LockTimeout == 0 {
		c.LockTimeout = DefaultLockTimeout
	}
	if c.Mesh.MaxBytes == 0 {
		c.Mesh.MaxBytes = DefaultMeshMaxBytes
	}
	if c.Mesh.DomainBytes == 0 {
		c.Mesh.DomainBytes = DefaultMeshDomainBytes
	}
	if c.Mesh.OriginBytes == 0 {
		c.Mesh.OriginBytes = DefaultMeshOriginBytes
	}
	if c.Mesh.NeighbourBytes == 0 {
		c.Mesh.NeighbourBytes = DefaultMeshNeighbourBytes
	}
	if c.Mesh.MaxSeen == 0 {
		c.Mesh.MaxSeen = DefaultMeshMaxSeen
	}
	if c.Mesh.NeighbourSeen == 0 {
		c.Mesh.NeighbourSeen = max(1, c.Mesh.MaxSeen/DefaultNeighbourSeenShare)
	}
	if c.Channels.Retain == 0 {
		c.Channels.Retain = DefaultChannelRetain
	}
	if c.Channels.MaxChannels == 0 {
		c.Channels.MaxChannels = DefaultChannelMaxChannels
	}
	if c.Channels.MaxBytes == 0 {
		c.Channels.MaxBytes = DefaultChannelMaxBytes
	}
	if c.Channels.MaxSeen == 0 {
		c.Channels.MaxSeen = DefaultChannelMaxSeen
	}
	if c.Channels.NeighbourSeen == 0 {
		c.Channels.NeighbourSeen = max(1, c.Channels.MaxSeen/DefaultNeighbourSeenShare)
	}
	if c.MaxGroups == 0 {
		c.MaxGroups = DefaultMaxGroups
	}
	if c.MaxCommitsPerGroup == 0 {
		c.MaxCommitsPerGroup = DefaultMaxCommitsPerGroup
	}
	if c.WALMaxBytes == 0 {
		c.WALMaxBytes = DefaultWALMaxBytes
	}
	if c.WALMaxAge == 0 {
		c.WALMaxAge = DefaultWALMaxAge
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports the first field of o (after WithDefaults) that is out of
// range, wrapping ErrInvalidOptions.
func (o Options) Validate() error {
	bad := func(field string, v any) error {
		return fmt.Errorf("%w: %s must be positive, is %v", ErrInvalidOptions, field, v)
	}
	switch {
	case o.Limits.MaxMessages <= 0:
		return bad("Limits.MaxMessages", o.Limits.MaxMessages)
	case o.Limits.MaxBytes <= 0:
		return bad("Limits.MaxBytes", o.Limits.MaxBytes)
	case o.Limits.TotalBytes <= 0:
		return bad("Limits.TotalBytes", o.Limits.TotalBytes)
	case o.MaxAccounts <= 0:
		return bad("MaxAccounts", o.MaxAccounts)
	case o.MaxKeyPackages <= 0:
		return bad("MaxKeyPackages", o.MaxKeyPackages)
	case o.BatchWindow < 0:
		return fmt.Errorf("%w: BatchWindow must not be negative, is %v", ErrInvalidOptions, o.BatchWindow)
	case o.WALMaxBytes < 0:
		return fmt.Errorf("%w: WALMaxBytes must not be negative, is %d", ErrInvalidOptions, o.WALMaxBytes)
	case o.WALMaxAge < 0:
		return fmt.Errorf("%w: WALMaxAge must not be negative, is %v", ErrInvalidOptions, o.WALMaxAge)
	case o.BatchSize <= 0:
		return bad("BatchSize", o.BatchSize)
	case o.QueueSize <= 0:
		return bad("QueueSize", o.QueueSize)
	case o.LockTimeout <= 0:
		return bad("LockTimeout", o.LockTimeout)
	case o.Mesh.MaxBytes <= 0:
		return bad("Mesh.MaxBytes", o.Mesh.MaxBytes)
	case o.Mesh.DomainBytes <= 0:
		return bad("Mesh.DomainBytes", o.Mesh.DomainBytes)
	case o.Mesh.OriginBytes <= 0:
		return bad("Mesh.OriginBytes", o.Mesh.OriginBytes)
	case o.Mesh.NeighbourBytes <= 0:
		return bad("Mesh.NeighbourBytes", o.Mesh.NeighbourBytes)
	case o.Mesh.MaxSeen <= 0:
		return bad("Mesh.MaxSeen", o.Mesh.MaxSeen)
	case o.Mesh.NeighbourSeen <= 0:
		return bad("Mesh.NeighbourSeen", o.Mesh.NeighbourSeen)
	case o.Channels.Retain <= 0:
		return bad("Channels.Retain", o.Channels.Retain)
	case o.Channels.MaxChannels <= 0:
		return bad("Channels.MaxChannels", o.Channels.MaxChannels)
	case o.Channels.MaxBytes <= 0:
		return bad("Channels.MaxBytes", o.Channels.MaxBytes)
	case o.Channels.MaxSeen <= 0:
		return bad("Channels.MaxSeen", o.Channels.MaxSeen)
	case o.Channels.NeighbourSeen <= 0:
		return bad("Channels.NeighbourSeen", o.Channels.NeighbourSeen)
	case o.MaxGroups <= 0:
		return bad("MaxGroups", o.MaxGroups)
	case o.MaxCommitsPerGroup <= 0:
		return bad("MaxCommitsPerGroup", o.MaxCommitsPerGroup)
	case o.Now == nil:
		return fmt.Errorf("%w: Now is nil", ErrInvalidOptions)
	case o.KT.on() && len(o.KT.Key) != ed25519.PrivateKeySize:
		return fmt.Errorf("%w: KT.Key has %d bytes, want %d", ErrInvalidOptions, len(o.KT.Key), ed25519.PrivateKeySize)
	case o.KT.on() && protocol.ValidDomain(o.KT.Domain) != nil:
		return fmt.Errorf("%w: KT.Domain %q: %w", ErrInvalidOptions, o.KT.Domain, protocol.ValidDomain(o.KT.Domain))
	}
	return nil
}
