package main

import (
	"crypto/ed25519"
	"encoding/binary"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/kt"
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

// tamperKeysAndLog is tamperKeys by an attacker who also rewrites the
// log to match: victim's latest entry takes source's keys hash and
// account key, the tree is recomputed over the changed entries, and the
// head is replaced by one of the same size and the new root signed with a
// throwaway key, which the node, finding a head of another signer when it
// opens its store, signs again with its own. The node then serves a log
// whose head has the size of one it showed before and another root: a
// fork, for whoever holds the earlier head.
func tamperKeysAndLog(t *testing.T, storeDir, victim, source string) {
	t.Helper()
	tamperStore(t, storeDir, func(tx *bolt.Tx) error {
		keys := tx.Bucket([]byte("keys"))
		rec := keys.Get([]byte(source))
		if rec == nil {
			t.Fatalf("tamperKeysAndLog: %s has published no keys", source)
		}
		if err := keys.Put([]byte(victim), append([]byte(nil), rec...)); err != nil {
			return err
		}
		leaves := tx.Bucket([]byte("ktleaves"))
		latest := func(user string) ([]byte, kt.Entry) {
			a := tx.Bucket([]byte("ktaddrs")).Get([]byte(user))
			if len(a) != 22 {
				t.Fatalf("tamperKeysAndLog: %s has no log entry", user)
			}
			key := append([]byte(nil), a[1:9]...)
			e, err := kt.ParseEntry(leaves.Get(key))
			if err != nil {
				t.Fatal(err)
			}
			return key, e
		}
		_, src := latest(source)
		key, e := latest(victim)
		e.Keys, e.AccountKey = src.Keys, src.AccountKey
		if err := leaves.Put(key, e.Marshal()); err != nil {
			return err
		}
		mem := kt.NewMemory()
		var hashes []kt.Hash
		if err := leaves.ForEach(func(_, v []byte) error {
			h := kt.LeafHash(v)
			hashes = append(hashes, h)
			_, err := mem.Append(h)
			return err
		}); err != nil {
			return err
		}
		nodes := tx.Bucket([]byte("ktnodes"))
		size := uint64(len(hashes))
		for level := uint8(0); size>>level > 0; level++ {
			for i := uint64(0); i < size>>level; i++ {
				h, err := mem.Node(level, i)
				if err != nil {
					return err
				}
				if err := nodes.Put(binary.BigEndian.AppendUint64([]byte{level}, i), h[:]); err != nil {
					return err
				}
			}
		}
		old, err := kt.ParseSignedHead(tx.Bucket([]byte("ktmeta")).Get([]byte("head")))
		if err != nil {
			t.Fatal(err)
		}
		_, throwaway, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		sh, err := kt.SignHead(kt.Head{Domain: old.Domain, Size: size, Root: mem.Root(), TimeMillis: time.Now().UnixMilli()}, throwaway, nil)
		if err != nil {
			t.Fatal(err)
		}
		return tx.Bucket([]byte("ktmeta")).Put([]byte("head"), sh.Marshal())
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
