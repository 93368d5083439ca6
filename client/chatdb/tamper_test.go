package chatdb

import (
	"bytes"
	"errors"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// fill stores two conversations with two messages each, group state,
// contacts and an outbox of two.
func fill(t *testing.T, db *DB) {
	t.Helper()
	update(t, db, func(tx *Tx) error {
		for _, id := range []ConvID{convID(1), convID(2)} {
			c := sampleConversation()
			c.ID = id
			if err := tx.PutConversation(&c); err != nil {
				return err
			}
			for range 2 {
				m := sampleMessage()
				if err := tx.AppendMessage(id, &m); err != nil {
					return err
				}
			}
			if err := tx.PutGroupState(id, []byte("state")); err != nil {
				return err
			}
			o := sampleOutgoing()
			if err := tx.PutOutgoing(&o); err != nil {
				return err
			}
		}
		ct := sampleContact()
		return tx.PutContact(&ct)
	})
}

func TestTamperedValuesAreCorrupt(t *testing.T) {
	flip := func(bucket, key []byte, at func(v []byte) int) func(*bolt.Tx, *sealer) error {
		return func(tx *bolt.Tx, _ *sealer) error {
			b := tx.Bucket(bucket)
			v := bytes.Clone(b.Get(key))
			v[at(v)] ^= 0x01
			return b.Put(key, v)
		}
	}
	swap := func(bucket, k1, k2 []byte) func(*bolt.Tx, *sealer) error {
		return func(tx *bolt.Tx, _ *sealer) error {
			b := tx.Bucket(bucket)
			v1, v2 := bytes.Clone(b.Get(k1)), bytes.Clone(b.Get(k2))
			if err := b.Put(k1, v2); err != nil {
				return err
			}
			return b.Put(k2, v1)
		}
	}
	c1, c2 := convID(1), convID(2)
	readConv := func(tx *Tx) error { _, _, err := tx.Conversation(c1); return err }
	tests := []struct {
		name   string
		tamper func(*bolt.Tx, *sealer) error
		read   func(*Tx) error
		bucket []byte
		key    []byte
	}{
		{
			"a flipped ciphertext byte",
			flip(bucketConversations, c1[:], func(v []byte) int { return valueHeader + 3 }),
			readConv, bucketConversations, c1[:],
		},
		{
			"a flipped tag byte",
			flip(bucketConversations, c1[:], func(v []byte) int { return len(v) - 1 }),
			readConv, bucketConversations, c1[:],
		},
		{
			"a flipped nonce byte",
			flip(bucketConversations, c1[:], func(v []byte) int { return 5 }),
			readConv, bucketConversations, c1[:],
		},
		{
			"a changed value version",
			flip(bucketConversations, c1[:], func(v []byte) int { return 0 }),
			readConv, bucketConversations, c1[:],
		},
		{
			"a truncated value",
			func(tx *bolt.Tx, _ *sealer) error {
				return tx.Bucket(bucketConversations).Put(c1[:], []byte{valueVersion, 1, 2})
			},
			readConv, bucketConversations, c1[:],
		},
		{
			"two conversations swapped",
			swap(bucketConversations, c1[:], c2[:]),
			func(tx *Tx) error { _, err := tx.Conversations(); return err },
			bucketConversations, c1[:],
		},
		{
			"two messages of a conversation swapped",
			swap(bucketMessages, messageKey(c1, 1), messageKey(c1, 2)),
			func(tx *Tx) error { _, err := tx.Messages(c1, 1); return err },
			bucketMessages, messageKey(c1, 2),
		},
		{
			"a message moved to another conversation",
			swap(bucketMessages, messageKey(c1, 1), messageKey(c2, 1)),
			func(tx *Tx) error { _, err := tx.Messages(c2, 0); return err },
			bucketMessages, messageKey(c2, 1),
		},
		{
			"two outbox entries swapped",
			swap(bucketOutbox, outboxKey(1), outboxKey(2)),
			func(tx *Tx) error { _, err := tx.Outbox(); return err },
			bucketOutbox, outboxKey(1),
		},
		{
			"a conversation moved into the group state bucket",
			func(tx *bolt.Tx, _ *sealer) error {
				return tx.Bucket(bucketGroupState).Put(c1[:], bytes.Clone(tx.Bucket(bucketConversations).Get(c1[:])))
			},
			func(tx *Tx) error { _, err := tx.GroupState(c1); return err },
			bucketGroupState, c1[:],
		},
		{
			"a record sealed under the right key that does not decode",
			func(tx *bolt.Tx, s *sealer) error {
				return tx.Bucket(bucketConversations).Put(c1[:], s.seal(bucketConversations, c1[:], []byte{byte(KindDM), 200}))
			},
			readConv, bucketConversations, c1[:],
		},
		{
			"a contact with trailing bytes",
			func(tx *bolt.Tx, s *sealer) error {
				ct := sampleContact()
				k := (&Tx{s: s}).contactKey(ct.Address)
				return tx.Bucket(bucketContacts).Put(k, s.seal(bucketContacts, k, append(encodeContact(&ct), 0)))
			},
			func(tx *Tx) error { _, err := tx.Contacts(); return err },
			bucketContacts, nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, path := newDB(t)
			fill(t, db)
			s := db.s
			db.Close()
			rawUpdate(t, path, func(tx *bolt.Tx) error { return tt.tamper(tx, s) })
			db = reopen(t, db, path)
			err := db.View(tt.read)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got %v, want ErrCorrupt", err)
			}
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("%v is not a *CorruptError", err)
			}
			if ce.Bucket != string(tt.bucket) || (tt.key != nil && !bytes.Equal(ce.Key, tt.key)) {
				t.Errorf("names %s %x, want %s %x", ce.Bucket, ce.Key, tt.bucket, tt.key)
			}
		})
	}
}

func TestATamperedCanaryIsAWrongKey(t *testing.T) {
	db, path := newDB(t)
	db.Close()
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		v := bytes.Clone(b.Get(keyCanary))
		v[len(v)-1] ^= 0x80
		return b.Put(keyCanary, v)
	})
	if db, err := Open(path, exportKey); !errors.Is(err, ErrWrongKey) {
		if err == nil {
			db.Close()
		}
		t.Fatalf("got %v, want ErrWrongKey", err)
	}
}
