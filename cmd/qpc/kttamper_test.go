package main

import (
	"encoding/binary"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// The hooks of issue 23's process tests for "a node whose store is
// modified behind its back": they open the bbolt file of a STOPPED node
// (it holds the file's lock while it runs) and change it as an attacker
// with the router's flash in hand would, without going through the
// node, so that the key directory and the key transparency log disagree.
// Bucket names and keys are node/store's layout (its doc.go).

// tamperKeys makes the node serve source's published keys as victim's:
// the directory record of victim (a local part) is replaced by source's,
// and the log is left alone, so victim's log entry no longer holds the
// keys served for victim. A client that checks the transparency proof
// refuses them.
func tamperKeys(t *testing.T, storeDir, victim, source string) {
	t.Helper()
	tamperStore(t, storeDir, func(tx *bolt.Tx) error {
		keys := tx.Bucket([]byte("keys"))
		rec := keys.Get([]byte(source))
		if rec == nil {
			t.Fatalf("tamperKeys: %s has published no keys", source)
		}
		return keys.Put([]byte(victim), append([]byte(nil), rec...))
	})
}

// tamperLogEntry flips one bit of the keys hash of the log's entry at
// index (its last byte), leaving the tree's stored hashes as they were:
// the node goes on signing heads over the old tree, and an auditor who
// recomputes the tree from the entries finds the changed one.
func tamperLogEntry(t *testing.T, storeDir string, index uint64) {
	t.Helper()
	tamperStore(t, storeDir, func(tx *bolt.Tx) error {
		leaves := tx.Bucket([]byte("ktleaves"))
		key := binary.BigEndian.AppendUint64(nil, index)
		e := leaves.Get(key)
		if len(e) == 0 {
			t.Fatalf("tamperLogEntry: the log has no entry %d", index)
		}
		changed := append([]byte(nil), e...)
		changed[len(changed)-1] ^= 1
		return leaves.Put(key, changed)
	})
}

// tamperStore runs change in a write transaction on the store file in
// storeDir.
func tamperStore(t *testing.T, storeDir string, change func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(storeDir, "qpc.db"), 0o600, nil)
	if err != nil {
		t.Fatalf("open the stopped node's store: %v", err)
	}
	defer db.Close()
	if err := db.Update(change); err != nil {
		t.Fatalf("tamper with the store: %v", err)
	}
}
