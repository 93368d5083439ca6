package store

import (
	"context"
	"errors"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/node"
)

func TestCheckPassesOnAnOpenStore(t *testing.T) {
	s := openTest(t, testOptions())
	mustCreate(t, s, "bob")
	enqueue(t, s, msg("bob", "x", time.Hour))
	if err := s.PutSession(node.TokenHash{1}, node.Session{User: "bob", Expires: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
}

func TestCheckFindsBrokenInvariants(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(tx *bolt.Tx) error
	}{
		{"a mailbox record that miscounts", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMailboxMeta).Put([]byte("bob"), encodeMailboxMeta(mailboxMeta{lastSeq: 1, count: 0}))
		}},
		{"a message without expiry entry", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMsgExpiry).Delete(seqExpiryKey(t0.Add(time.Hour), 1, "bob"))
		}},
		{"a stray expiry entry", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMsgExpiry).Put(seqExpiryKey(t0, 9, "bob"), nil)
		}},
		{"a session without index entries", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketSessions).Put(make([]byte, 32), encodeSession(node.Session{User: "bob"}))
		}},
		{"keys of a missing account", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketKeys).Put([]byte("ghost"), encodeKeys(sampleKeys))
		}},
		{"a record of an unknown version", func(tx *bolt.Tx) error {
			rec := encodeAccount(node.Account{User: "bob"})
			rec[0] = recordVersion + 1
			return tx.Bucket(bucketAccounts).Put([]byte("bob"), rec)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := t.TempDir() + "/" + FileName
			s, err := Open(path, testOptions())
			if err != nil {
				t.Fatal(err)
			}
			mustCreate(t, s, "bob")
			if _, err := s.Enqueue(context.Background(), []node.NewMessage{msg("bob", "x", time.Hour)}); err != nil {
				t.Fatal(err)
			}
			s.Close()
			if err := Check(path); err != nil {
				t.Fatalf("Check before breaking: %v", err)
			}
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = db.Update(tc.damage)
			db.Close()
			if err != nil {
				t.Fatal(err)
			}
			if err := Check(path); !errors.Is(err, ErrCorrupt) {
				t.Errorf("Check = %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestCheckOfAFileInUseFailsWithErrLocked(t *testing.T) {
	s := openTest(t, testOptions())
	if err := Check(s.Path()); !errors.Is(err, ErrLocked) {
		t.Errorf("Check of an open store's file = %v, want ErrLocked", err)
	}
}
