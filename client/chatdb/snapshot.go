package chatdb

import (
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"
)

// Snapshot is the whole database file as it is at one moment, read while
// the database stays open for writing: a backup made by the qpc that
// holds it (the REPL's /backup) cannot open the file a second time, since
// bbolt locks it. It is one read-only transaction, which writers do not
// wait for, except one that must grow the file: it waits until Close, so
// a snapshot is closed as soon as it is copied.
type Snapshot struct {
	tx *bolt.Tx
}

// Snapshot begins a Snapshot of the database.
func (db *DB) Snapshot() (*Snapshot, error) {
	tx, err := db.bolt.Begin(false)
	if err != nil {
		return nil, fmt.Errorf("chatdb: snapshot: %w", err)
	}
	return &Snapshot{tx: tx}, nil
}

// Size is the size in bytes of the file WriteTo writes.
func (s *Snapshot) Size() int64 { return s.tx.Size() }

// WriteTo writes the database file as of the snapshot to w: still sealed
// record by record, as it lies on disk.
func (s *Snapshot) WriteTo(w io.Writer) (int64, error) { return s.tx.WriteTo(w) }

// Close ends the snapshot.
func (s *Snapshot) Close() error { return s.tx.Rollback() }
