package store

import (
	"context"
	"errors"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/node/storetest"
	"github.com/quicprochat/qpc/protocol"
)

func TestCheckPassesOnAnOpenStore(t *testing.T) {
	s := openTest(t, testOptions())
	mustCreate(t, s, "bob")
	enqueue(t, s, msg("bob", "x", time.Hour))
	if err := s.PutSession(node.TokenHash{1}, node.Session{User: "bob", Expires: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckIntegrity(); err != nil {
		t.Errorf("Check: %v", err)
	}
}

func TestCheckFindsBrokenInvariants(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(tx *bolt.Tx) error
	}{
		{"a mailbox record that miscounts", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMailboxMeta).Put([]byte("bob"), encodeQueueMeta(queueMeta{lastSeq: 1, count: 0}))
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
		{"mesh totals that miscount bytes", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(keyMeshTotals, encodeMeshTotals(meshTotals{meshTally{2, 4}, 2}))
		}},
		{"mesh totals that miscount seen ids", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(keyMeshTotals, encodeMeshTotals(meshTotals{meshTally{2, 5}, 3}))
		}},
		{"an origin record that miscounts", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeshOrigins).Put([]byte("o"), encodeMeshTally(meshTally{2, 4}))
		}},
		{"a stray origin record", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeshOrigins).Put([]byte("p"), encodeMeshTally(meshTally{1, 1}))
		}},
		{"a queue record that miscounts", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeshQueues).Put([]byte("a"), encodeQueueMeta(queueMeta{lastSeq: 2, count: 1, bytes: 3}))
		}},
		{"envelopes without a queue record", func(tx *bolt.Tx) error {
			_, err := tx.Bucket(bucketMeshHeld).CreateBucket([]byte("z"))
			return err
		}},
		{"a held envelope without expiry entry", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeshExpiry).Delete(seqExpiryKey(t0.Add(time.Hour), 1, "a"))
		}},
		{"a held envelope whose id is seen as forwarded", func(tx *bolt.Tx) error {
			id := storetest.MeshID(1)
			return tx.Bucket(bucketMeshSeen).Put(id[:], encodeSeen(protocol.SeenForwarded, t0.Add(time.Hour), ""))
		}},
		{"an id seen as held without an envelope", func(tx *bolt.Tx) error {
			id := storetest.MeshID(9)
			if err := tx.Bucket(bucketMeshSeen).Put(id[:], encodeSeen(protocol.SeenHeld, t0, "")); err != nil {
				return err
			}
			if err := tx.Bucket(bucketSeenExpiry).Put(idExpiryKey(t0, id), nil); err != nil {
				return err
			}
			return tx.Bucket(bucketMeta).Put(keyMeshTotals, encodeMeshTotals(meshTotals{meshTally{2, 5}, 3}))
		}},
		{"a seen id without expiry entry", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketSeenExpiry).Delete(idExpiryKey(t0.Add(time.Hour), storetest.MeshID(2)))
		}},
		{"a status without expiry entry", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketStatusExpiry).Delete(idExpiryKey(t0.Add(time.Hour), storetest.MeshID(1)))
		}},
		{"a stray status expiry entry", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketStatusExpiry).Put(idExpiryKey(t0, storetest.MeshID(7)), nil)
		}},
		// Channel 1 keeps posts 1 (3 bytes) and 2 (2 bytes) as seqs 2
		// and 3, channel 2 post 3 (1 byte) as seq 4, all expiring after
		// an hour; post 4 was evicted, its id is still seen.
		{"channel totals that miscount bytes", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(keyChanTotals, encodeChanTotals(chanTotals{posts: 3, bytes: 7, channels: 2, seen: 4, added: 4}))
		}},
		{"channel totals that miscount seen ids", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(keyChanTotals, encodeChanTotals(chanTotals{posts: 3, bytes: 6, channels: 2, seen: 3, added: 4}))
		}},
		{"channel totals with fewer posts added than seqs given", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(keyChanTotals, encodeChanTotals(chanTotals{posts: 3, bytes: 6, channels: 2, seen: 4, added: 3}))
		}},
		{"a channel record that miscounts", func(tx *bolt.Tx) error {
			id := storetest.ChannelID(1)
			return tx.Bucket(bucketChanMeta).Put(id[:], encodeChanMeta(chanMeta{lastSeq: 3, count: 1, bytes: 5, newest: 3}))
		}},
		{"posts of a channel without record", func(tx *bolt.Tx) error {
			id := storetest.ChannelID(9)
			_, err := tx.Bucket(bucketChanPosts).CreateBucket(id[:])
			return err
		}},
		{"a channel record without posts", func(tx *bolt.Tx) error {
			id := storetest.ChannelID(2)
			return tx.Bucket(bucketChanPosts).DeleteBucket(id[:])
		}},
		{"a kept post without expiry entry", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketChanExpiry).Delete(postExpiryKey(t0.Add(time.Hour), storetest.ChannelID(1), 3))
		}},
		{"a stray post expiry entry", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketChanExpiry).Put(postExpiryKey(t0, storetest.ChannelID(1), 9), nil)
		}},
		{"a channel without recency entry", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketChanRecency).Delete(recencyKey(4, storetest.ChannelID(2)))
		}},
		{"a kept post whose id is not seen", func(tx *bolt.Tx) error {
			id := storetest.PostID(3)
			if err := tx.Bucket(bucketChanSeen).Delete(id[:]); err != nil {
				return err
			}
			if err := tx.Bucket(bucketChanSeenExpiry).Delete(idExpiryKey(t0.Add(time.Hour), id)); err != nil {
				return err
			}
			return tx.Bucket(bucketMeta).Put(keyChanTotals, encodeChanTotals(chanTotals{posts: 3, bytes: 6, channels: 2, seen: 3, added: 4}))
		}},
		{"a kept post seen until another time", func(tx *bolt.Tx) error {
			id := storetest.PostID(1)
			if err := tx.Bucket(bucketChanSeenExpiry).Delete(idExpiryKey(t0.Add(time.Hour), id)); err != nil {
				return err
			}
			if err := tx.Bucket(bucketChanSeenExpiry).Put(idExpiryKey(t0, id), nil); err != nil {
				return err
			}
			return tx.Bucket(bucketChanSeen).Put(id[:], encodeChanSeen(t0, ""))
		}},
		{"a seen post id without expiry entry", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketChanSeenExpiry).Delete(idExpiryKey(t0.Add(time.Hour), storetest.PostID(4)))
		}},
		{"a post record of an unknown version", func(tx *bolt.Tx) error {
			id := storetest.ChannelID(2)
			rec := encodePost(storetest.Post(3, 2, 1, time.Hour))
			rec[0] = recordVersion + 1
			return tx.Bucket(bucketChanPosts).Bucket(id[:]).Put(seqKey(4), rec)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := t.TempDir() + "/" + FileName
			opts := testOptions()
			opts.Channels.MaxChannels = 2
			s, err := Open(path, opts)
			if err != nil {
				t.Fatal(err)
			}
			mustCreate(t, s, "bob")
			if _, err := s.Enqueue(context.Background(), []protocol.NewMessage{msg("bob", "x", time.Hour)}); err != nil {
				t.Fatal(err)
			}
			sent := storetest.Envelope(1, "a", "o", 3, time.Hour)
			sent.Sender = "bob"
			storetest.MustHold(t, s, sent, storetest.Envelope(2, "a", "o", 2, time.Hour))
			// Channel 2 passes MaxChannels and evicts channel 3.
			if evicted := storetest.MustAdd(t, s, storetest.Post(4, 3, 1, time.Hour), storetest.Post(1, 1, 3, time.Hour), storetest.Post(2, 1, 2, time.Hour),
				storetest.Post(3, 2, 1, time.Hour)); evicted != 1 {
				t.Fatalf("evicted %d posts, want post 4", evicted)
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
