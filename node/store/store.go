package store

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

// FileName is the name of the database file in a node's store directory.
const FileName = "qpc.db"

// fileMode is the mode of a database file the store creates: it holds
// OPAQUE records and session hashes, for the node's user only.
const fileMode = 0o600

// Bucket names; the layout is in the package doc.
var (
	bucketMeta         = []byte("meta")
	bucketAccounts     = []byte("accounts")
	bucketKeys         = []byte("keys")
	bucketKeyPackages  = []byte("keypackages")
	bucketLastResort   = []byte("lastresort")
	bucketMailboxes    = []byte("mailboxes")
	bucketMailboxMeta  = []byte("mailboxmeta")
	bucketMsgExpiry    = []byte("msgexpiry")
	bucketSessions     = []byte("sessions")
	bucketUserSessions = []byte("usersessions")
	bucketSessExpiry   = []byte("sessionexpiry")
	bucketMeshHeld     = []byte("meshheld")
	bucketMeshQueues   = []byte("meshqueues")
	bucketMeshExpiry   = []byte("meshexpiry")
	bucketMeshOrigins  = []byte("meshorigins")
	// bucketMeshNeighbours came with the per-neighbour quota; Open adds
	// it empty to older files, whose held records name no neighbour.
	bucketMeshNeighbours = []byte("meshneighbours")
	bucketMeshSeen       = []byte("meshseen")
	bucketSeenExpiry     = []byte("meshseenexpiry")
	bucketMeshStatus     = []byte("meshstatus")
	bucketStatusExpiry   = []byte("meshstatusexpiry")

	bucketChanPosts      = []byte("chanposts")
	bucketChanMeta       = []byte("chanmeta")
	bucketChanExpiry     = []byte("chanexpiry")
	bucketChanRecency    = []byte("chanrecency")
	bucketChanSeen       = []byte("chanseen")
	bucketChanSeenExpiry = []byte("chanseenexpiry")
	// bucketChanNeighbours came with the per-neighbour seen share; Open
	// adds it empty to older files, whose seen records name no neighbour.
	bucketChanNeighbours = []byte("channeighbours")

	bucketMLSGroups  = []byte("mlsgroups")
	bucketMLSCommits = []byte("mlscommits")
	bucketMLSRecency = []byte("mlsrecency")

	bucketNameHolds = []byte("nameholds")

	// bucketKeyPackagesBySuite and bucketLastResortBySuite came with MLS
	// cipher suites other than 1; Open adds them empty to older files,
	// whose key packages are all of suite 1 and stay where they were.
	bucketKeyPackagesBySuite = []byte("keypackagessuite")
	bucketLastResortBySuite  = []byte("lastresortsuite")

	// bucketDevices came with accounts of many devices; Open adds it
	// empty to older files, whose accounts have no device list.
	bucketDevices = []byte("devices")

	// bucketInvites and bucketAudit came with the admin socket (issue
	// 27); Open adds them empty to older files.
	bucketInvites = []byte("invites")
	bucketAudit   = []byte("audit")

	allBuckets = [][]byte{
		bucketMeta, bucketAccounts, bucketKeys, bucketKeyPackages, bucketLastResort,
		bucketMailboxes, bucketMailboxMeta, bucketMsgExpiry,
		bucketSessions, bucketUserSessions, bucketSessExpiry,
		bucketMeshHeld, bucketMeshQueues, bucketMeshExpiry, bucketMeshOrigins,
		bucketMeshSeen, bucketSeenExpiry, bucketMeshStatus, bucketStatusExpiry,
		bucketChanPosts, bucketChanMeta, bucketChanExpiry, bucketChanRecency,
		bucketChanSeen, bucketChanSeenExpiry,
		bucketMeshNeighbours, bucketChanNeighbours,
		bucketMLSGroups, bucketMLSCommits, bucketMLSRecency,
		bucketNameHolds, bucketDevices,
		bucketKeyPackagesBySuite, bucketLastResortBySuite,
		bucketKTLeaves, bucketKTNodes, bucketKTAddrs, bucketKTMeta, bucketKTEvidence,
		bucketDenyLists, bucketReports,
		bucketInvites, bucketAudit,
	}

	keySchema     = []byte("schema")
	keyMeshTotals = []byte("mesh")
	keyChanTotals = []byte("channels")
	keyMLSTotals  = []byte("mls")
)

// Store is a node.Store on one bbolt file. It is safe for concurrent use.
type Store struct {
	db   *bolt.DB
	opts Options

	// mu guards closed. Methods hold it for reading while they use db or
	// hand a request to the committer, so Close, which takes it for
	// writing, knows that nothing starts after it.
	mu     sync.RWMutex
	closed bool

	// queued counts Enqueue, Hold and AddPosts calls handed to the
	// committer and not yet answered.
	queued atomic.Int64

	// mailBytes is the payload bytes all mailboxes hold, for the
	// node-wide bound Options.Limits.TotalBytes. It is counted at Open and
	// changed after each commit that changes it; the committer, the only
	// writer that adds, runs one commit at a time, so it never counts low.
	mailBytes atomic.Int64

	// expireChunk is expireChunk; tests lower it.
	expireChunk int

	// handOff, if set (HandOffCommits), is given each commit's stored
	// messages.
	handOff atomic.Pointer[func(queue string, msgs []protocol.Message)]

	// wal is the write-ahead log of the mailbox hot path, nil with
	// Options.NoWAL. foldMu is held by whoever writes the log or bbolt
	// (the committer for a group, a write transaction, a checkpoint), so
	// that the overlay and bbolt change in step; ovMu guards the
	// overlay's queues for readers.
	wal      *walLog
	foldMu   sync.Mutex
	ovMu     sync.RWMutex
	walTimer *time.Timer // checkpoints the log Options.WALMaxAge after its first record
	// walMaxBytes and walMaxAge are Options.WALMaxBytes and WALMaxAge.
	walMaxBytes int64
	walMaxAge   time.Duration

	reqs     chan *commitReq // to the committer
	stop     chan struct{}   // closed by Close
	loopDone chan struct{}   // closed when the committer has returned
}

// Store also implements forward.MeshStore and flood.ChannelStore, which
// their users declare: TestSemantics, whose storetest.Store has all three,
// does not compile otherwise.
var _ node.Store = (*Store)(nil)

// Open opens the store in the bbolt file at path (conventionally
// filepath.Join(storeDir, FileName)), creating it with mode 0600 if it does
// not exist. Zero fields of opts take their defaults (Options.WithDefaults).
// Kept channel posts beyond opts.Channels (lowered since the file was
// written) are evicted as AddPosts would evict them; the channel seen-set
// is left as it is, and refuses new posts until enough ids expire. Groups
// and commits of the commit sequencer beyond opts.MaxGroups and
// opts.MaxCommitsPerGroup are evicted as OrderCommit would evict them. It
// fails with ErrInvalidOptions, ErrLocked when another process has the
// file open, ErrSchemaTooOld or ErrSchemaUnknown when the file holds a
// layout this version does not read, ErrNotAStore for a bbolt file of
// something else, and ErrCorrupt when the channel records it trims by do
// not match the posts.
func Open(path string, opts Options) (*Store, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	db, err := bolt.Open(path, fileMode, &bolt.Options{
		Timeout:        opts.LockTimeout,
		FreelistType:   bolt.FreelistMapType,
		NoFreelistSync: true,
	})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("store: open %s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	var mailBytes int64
	s := &Store{
		db:          db,
		opts:        opts,
		expireChunk: expireChunk,
		walMaxBytes: opts.WALMaxBytes,
		walMaxAge:   opts.WALMaxAge,
		reqs:        make(chan *commitReq, opts.QueueSize),
		stop:        make(chan struct{}),
		loopDone:    make(chan struct{}),
	}
	walPath := path + WALSuffix
	var wal *walLog
	err = db.Update(func(tx *bolt.Tx) error {
		if err := initSchema(tx); err != nil {
			return err
		}
		// The log's records are folded into bbolt before anything
		// reads it, in this transaction.
		var err error
		if wal, err = openWAL(tx, walPath, opts.Limits); err != nil {
			return err
		}
		s.wal = wal
		if err := s.fold(tx); err != nil {
			return err
		}
		if mailBytes, err = sumMailboxBytes(tx); err != nil {
			return err
		}
		if err := trimChannels(tx, opts.Channels); err != nil {
			return err
		}
		if err := trimMLS(tx, opts); err != nil {
			return err
		}
		// A store from before key transparency, or run without a log
		// until now, starts its log with the accounts it has.
		return s.ktMigrate(tx)
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	wal.queues = map[string]*walQueue{}
	if opts.NoWAL {
		if err := os.Remove(walPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			db.Close()
			return nil, fmt.Errorf("store: open %s: write-ahead log: %w", path, err)
		}
		wal = nil
	} else {
		f, err := os.OpenFile(walPath, os.O_RDWR|os.O_CREATE, fileMode)
		if err == nil {
			wal.f = f
			if err = wal.restart(wal.gen + 1); err != nil {
				f.Close()
			}
		}
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("store: open %s: write-ahead log: %w", path, err)
		}
	}
	s.wal = wal
	s.walTimer = time.NewTimer(time.Hour)
	s.walTimer.Stop()
	s.mailBytes.Store(mailBytes)
	go s.commitLoop()
	return s, nil
}

// initSchema writes the schema version and the buckets into a new file and
// checks the version of an existing one.
func initSchema(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		empty := true
		_ = tx.ForEach(func([]byte, *bolt.Bucket) error {
			empty = false
			return nil
		})
		if !empty {
			return ErrNotAStore
		}
		var err error
		if meta, err = tx.CreateBucket(bucketMeta); err != nil {
			return err
		}
		if err := meta.Put(keySchema, encodeSchema(schemaVersion)); err != nil {
			return err
		}
	}
	raw := meta.Get(keySchema)
	if raw == nil {
		return ErrNotAStore
	}
	v, err := decodeSchema(raw)
	if err != nil {
		return err
	}
	switch {
	case v < minSchemaVersion:
		return fmt.Errorf("%w: version %d, oldest read is %d", ErrSchemaTooOld, v, minSchemaVersion)
	case v > schemaVersion:
		return fmt.Errorf("%w: version %d, newest known is %d", ErrSchemaUnknown, v, schemaVersion)
	}
	// A file from before store-and-forward, channels or the commit
	// sequencer lacks their
	// buckets and totals: they are added empty, which is what that file
	// holds.
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	for _, t := range []struct {
		key, empty []byte
	}{
		{keyMeshTotals, encodeMeshTotals(meshTotals{})},
		{keyChanTotals, encodeChanTotals(chanTotals{})},
		{keyMLSTotals, encodeMLSTotals(mlsTotals{})},
	} {
		if meta.Get(t.key) == nil {
			if err := meta.Put(t.key, t.empty); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close commits every Enqueue, Hold and AddPosts already queued, stops the
// committer and closes the file. Calls after Close fail with
// protocol.ErrStoreClosed; so does a second Close.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("store: close: %w", protocol.ErrStoreClosed)
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.loopDone
	// The committer has committed everything queued; what the log holds
	// goes into bbolt now, so that a closed store is one file.
	errs := []error{s.checkpoint()}
	if s.wal != nil {
		if err := s.wal.f.Close(); !errors.Is(err, os.ErrClosed) { // a broken log may be closed already
			errs = append(errs, err)
		}
	}
	errs = append(errs, s.db.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.db.Path() }

// checkOpen fails with protocol.ErrStoreClosed after Close; for calls that
// have nothing to write.
func (s *Store) checkOpen(op string) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return fmt.Errorf("store: %s: %w", op, protocol.ErrStoreClosed)
	}
	return nil
}

// view runs fn in a read transaction unless the store is closed.
func (s *Store) view(op string, fn func(tx *bolt.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return fmt.Errorf("store: %s: %w", op, protocol.ErrStoreClosed)
	}
	if err := s.db.View(fn); err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	return nil
}

// update runs fn in a write transaction, which bbolt commits and syncs,
// unless the store is closed.
func (s *Store) update(op string, fn func(tx *bolt.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return fmt.Errorf("store: %s: %w", op, protocol.ErrStoreClosed)
	}
	if err := s.writeTx(fn); err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	return nil
}

// checkUser refuses names that cannot be keys.
func checkUser(user string) error {
	if user == "" || len(user) > MaxUserLen {
		return fmt.Errorf("%w: %d bytes", ErrInvalidUser, len(user))
	}
	return nil
}

// hasAccount reports whether user has an account, as an error for the
// methods that need one.
func hasAccount(tx *bolt.Tx, user string) error {
	if user == "" || len(user) > MaxUserLen || tx.Bucket(bucketAccounts).Get([]byte(user)) == nil {
		return fmt.Errorf("%w: %q", protocol.ErrUnknownUser, user)
	}
	return nil
}

func isUnknownUser(err error) bool { return errors.Is(err, protocol.ErrUnknownUser) }
