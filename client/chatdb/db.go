package chatdb

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

const (
	// formatVersion is the layout of buckets, keys and records this
	// version writes and reads; minFormatVersion the oldest it reads.
	formatVersion    = 1
	minFormatVersion = 1

	fileMode = 0o600
	dirMode  = 0o700

	// lockTimeout is how long Open waits for another process to close the
	// file.
	lockTimeout = time.Second
)

// Bucket names; the layout is in the package doc.
var (
	bucketMeta          = []byte("meta")
	bucketConversations = []byte("conversations")
	bucketMessages      = []byte("messages")
	bucketGroupState    = []byte("groupstate")
	bucketContacts      = []byte("contacts")
	bucketSeen          = []byte("seen")
	bucketKeyPackages   = []byte("keypackages")
	bucketOutbox        = []byte("outbox")

	allBuckets = [][]byte{
		bucketMeta, bucketConversations, bucketMessages, bucketGroupState,
		bucketContacts, bucketSeen, bucketKeyPackages, bucketOutbox,
	}

	keyVersion = []byte("version")
	keyCanary  = []byte("canary")
	canary     = []byte("qpc chat db canary")
)

// DB is an open chat database. It is safe for concurrent use; bbolt runs
// one write transaction at a time.
type DB struct {
	bolt *bolt.DB
	s    *sealer
}

// Path returns the conventional path of address's chat database in the
// client state directory dir: <dir>/<address lowercased>.chat.db. The
// address must have passed identity.CheckAddress and hold no path
// separator.
func Path(dir, address string) string {
	return filepath.Join(dir, strings.ToLower(address)+".chat.db")
}

// Open opens the chat database at path, sealed under a key derived from
// the account's OPAQUE export key, creating it (mode 0600, in a directory
// created with mode 0700) if it does not exist. It fails with ErrShortKey,
// ErrLocked when another process has the file open (after waiting a
// second), ErrWrongKey when the file was created with another export key,
// ErrVersionTooOld or ErrVersionUnknown for a format this version does not
// read, and ErrNotChatDB for a bbolt file of something else.
func Open(path string, exportKey []byte) (*DB, error) {
	s, err := newSealer(exportKey)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), dirMode); err != nil {
		return nil, fmt.Errorf("chatdb: open %s: %w", path, err)
	}
	b, err := bolt.Open(path, fileMode, &bolt.Options{Timeout: lockTimeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("chatdb: open %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("chatdb: open %s: %w", path, err)
	}
	db := &DB{bolt: b, s: s}
	if err := b.Update(db.init); err != nil {
		b.Close()
		return nil, fmt.Errorf("chatdb: open %s: %w", path, err)
	}
	return db, nil
}

// init writes the canary, the format version and the buckets into a new
// file, and checks the key and the version of an existing one.
func (db *DB) init(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		if k, _ := tx.Cursor().First(); k != nil {
			return ErrNotChatDB
		}
		var err error
		if meta, err = tx.CreateBucket(bucketMeta); err != nil {
			return err
		}
		v := uint64(formatVersion)
		for _, r := range []struct{ key, record []byte }{
			{keyCanary, canary},
			{keyVersion, encodeVersion(&v)},
		} {
			if err := meta.Put(r.key, db.s.seal(bucketMeta, r.key, r.record)); err != nil {
				return err
			}
		}
	}
	sealed := meta.Get(keyCanary)
	if sealed == nil {
		return ErrNotChatDB
	}
	if c, err := db.s.open(bucketMeta, keyCanary, sealed); err != nil || !bytes.Equal(c, canary) {
		return ErrWrongKey
	}
	v, ok, err := load(&Tx{tx: tx, s: db.s}, bucketMeta, keyVersion, decodeVersion)
	if err != nil {
		return err
	}
	if !ok {
		return corrupt(bucketMeta, keyVersion, errors.New("no format version"))
	}
	switch {
	case v < minFormatVersion:
		return fmt.Errorf("%w: version %d, the oldest read is %d", ErrVersionTooOld, v, minFormatVersion)
	case v > formatVersion:
		return fmt.Errorf("%w: version %d, the newest known is %d", ErrVersionUnknown, v, formatVersion)
	}
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

// Close closes the file.
func (db *DB) Close() error {
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("chatdb: close: %w", err)
	}
	return nil
}

// Update runs fn in a write transaction, committed if fn returns nil and
// rolled back otherwise; fn's error is returned as it is. The Tx must not
// be used after fn returns.
func (db *DB) Update(fn func(*Tx) error) error {
	return db.bolt.Update(func(tx *bolt.Tx) error { return fn(&Tx{tx: tx, s: db.s}) })
}

// View runs fn in a read transaction. Tx's write methods fail in it with
// bbolt's error (berrors.ErrTxNotWritable).
func (db *DB) View(fn func(*Tx) error) error {
	return db.bolt.View(func(tx *bolt.Tx) error { return fn(&Tx{tx: tx, s: db.s}) })
}
