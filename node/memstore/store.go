package memstore

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

// Errors of this store for input its contract refuses and node has no
// sentinel for; node/store has one of each, and storetest checks both.
var (
	// ErrInvalidUser means a user name is empty or longer than
	// MaxUserLen.
	ErrInvalidUser = errors.New("invalid user name")
	// ErrEmptyKeyPackage means a key package to store has no bytes.
	ErrEmptyKeyPackage = errors.New("empty key package")
	// ErrBadSuite means key packages to store name the reserved MLS
	// cipher suite 0.
	ErrBadSuite = errors.New("key packages of cipher suite 0")
	// ErrPayloadTooLarge means one message's payload is larger than a
	// mailbox may ever hold; unlike protocol.ErrMailboxFull, retrying cannot
	// help.
	ErrPayloadTooLarge = errors.New("payload is larger than a mailbox holds")
	// ErrInvalidState means Release was given a seen state, or SetStatus
	// a mesh state, that it does not record.
	ErrInvalidState = errors.New("invalid store-and-forward state")
	// ErrOtherReason is the reason a message status reads back with when
	// it was recorded with an error that is none of the reasons a status
	// keeps (see SetStatus).
	ErrOtherReason = errors.New("message dropped for an internal reason")
)

// The bounds of names, as node/store's.
const (
	// MaxUserLen is the longest user name the store accepts.
	MaxUserLen = 1024
	// MaxDomainLen is the longest destination, origin or neighbour domain
	// the store holds envelopes and posts for.
	MaxDomainLen = 253
	// maxOriginIDLen is the longest origin node id of a held envelope.
	maxOriginIDLen = 64
)

// Defaults of Options: node/store's, so that a test on this store meets
// the bounds a node meets.
const (
	defaultMaxMessages        = 10_000
	defaultMaxBytes           = 64 << 20
	defaultTotalBytes         = 64 << 20
	defaultMaxAccounts        = 1000
	defaultMaxKeyPackages     = 100
	defaultMeshMaxBytes       = 16 << 20
	defaultMeshDomainBytes    = 8 << 20
	defaultMeshOriginBytes    = 8 << 20
	defaultMeshNeighbourBytes = 8 << 20
	defaultMeshMaxSeen        = 50_000
	defaultChannelRetain      = 100
	defaultChannelMaxChannels = 256
	defaultChannelMaxBytes    = 4 << 20
	defaultChannelMaxSeen     = 50_000
	defaultNeighbourSeenShare = 2
	defaultMaxGroups          = 2_000
	defaultMaxCommitsPerGroup = 16
)

// Options bound a Store; a zero field means node/store's default.
type Options struct {
	// Limits bound each mailbox and all of them.
	Limits node.MailboxLimits
	// MaxAccounts bounds the accounts.
	MaxAccounts int
	// MaxKeyPackages bounds a user's key packages of one suite, the
	// last-resort one not counted.
	MaxKeyPackages int
	// Mesh bounds the store-and-forward store.
	Mesh protocol.MeshQuota
	// Channels bounds the channel store.
	Channels protocol.ChannelQuota
	// MaxGroups bounds the MLS groups whose commits are ordered.
	MaxGroups int
	// MaxCommitsPerGroup bounds the accepted commits kept per group.
	MaxCommitsPerGroup int
	// Now is the clock Fetch uses to leave out expired messages (default
	// time.Now).
	Now func() time.Time
}

// WithDefaults returns o with every zero field set to its default.
func (o Options) WithDefaults() Options {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def64 := func(v *int64, d int64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.Limits.MaxMessages, defaultMaxMessages)
	def64(&o.Limits.MaxBytes, defaultMaxBytes)
	def64(&o.Limits.TotalBytes, defaultTotalBytes)
	def(&o.MaxAccounts, defaultMaxAccounts)
	def(&o.MaxKeyPackages, defaultMaxKeyPackages)
	def64(&o.Mesh.MaxBytes, defaultMeshMaxBytes)
	def64(&o.Mesh.DomainBytes, defaultMeshDomainBytes)
	def64(&o.Mesh.OriginBytes, defaultMeshOriginBytes)
	def64(&o.Mesh.NeighbourBytes, defaultMeshNeighbourBytes)
	def(&o.Mesh.MaxSeen, defaultMeshMaxSeen)
	def(&o.Mesh.NeighbourSeen, max(1, o.Mesh.MaxSeen/defaultNeighbourSeenShare))
	def(&o.Channels.Retain, defaultChannelRetain)
	def(&o.Channels.MaxChannels, defaultChannelMaxChannels)
	def64(&o.Channels.MaxBytes, defaultChannelMaxBytes)
	def(&o.Channels.MaxSeen, defaultChannelMaxSeen)
	def(&o.Channels.NeighbourSeen, max(1, o.Channels.MaxSeen/defaultNeighbourSeenShare))
	def(&o.MaxGroups, defaultMaxGroups)
	def(&o.MaxCommitsPerGroup, defaultMaxCommitsPerGroup)
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Store is every store of a node, in memory. It is safe for concurrent
// use; every method holds one mutex, so "durable when it returns" is
// trivially true until the process ends.
type Store struct {
	opts Options

	mu     sync.Mutex
	closed bool

	accounts  map[string]*account
	holds     map[string]time.Time // deleted names, held until
	sessions  map[node.TokenHash]node.Session
	mailTotal int64 // payload bytes of all mailboxes

	mesh     meshState
	channels chanState
	groups   groupState
}

// Store also implements forward.MeshStore and flood.ChannelStore, which
// their users declare: TestSemantics, whose storetest.Store has all three,
// does not compile otherwise.
var _ node.Store = (*Store)(nil)

// New returns an empty store with opts (zero fields take node/store's
// defaults).
func New(opts Options) *Store {
	return &Store{
		opts:     opts.WithDefaults(),
		accounts: map[string]*account{},
		holds:    map[string]time.Time{},
		sessions: map[node.TokenHash]node.Session{},
		mesh:     newMeshState(),
		channels: newChanState(),
		groups:   groupState{groups: map[string]*group{}},
	}
}

// Close ends the store: every later call fails with protocol.ErrStoreClosed,
// a second Close too.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("memstore: close: %w", protocol.ErrStoreClosed)
	}
	s.closed = true
	return nil
}

// lock takes the mutex unless the store is closed; the caller unlocks
// when it returns nil.
func (s *Store) lock(op string) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("memstore: %s: %w", op, protocol.ErrStoreClosed)
	}
	return nil
}

// clone copies b, keeping nil nil, so that neither the caller's slices
// nor the store's are shared.
func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}
