package chatdb

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	exportKey = bytes.Repeat([]byte{0x42}, 64)
	otherKey  = bytes.Repeat([]byte{0x43}, 64)
)

// newDB opens a new database in t.TempDir() and, when the test ends,
// closes it and checks the file's bbolt consistency.
func newDB(t *testing.T) (*DB, string) {
	t.Helper()
	path := Path(filepath.Join(t.TempDir(), "state"), "Alice@A.example")
	db, err := Open(path, exportKey)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		checkFile(t, path)
	})
	return db, path
}

// checkFile runs bbolt's consistency check on the closed file at path.
func checkFile(t *testing.T, path string) {
	t.Helper()
	b, err := bolt.Open(path, fileMode, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Errorf("check %s: %v", path, err)
		return
	}
	defer b.Close()
	err = b.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			t.Errorf("check %s: %v", path, err)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

// reopen closes db and opens its file again with the same key.
func reopen(t *testing.T, db *DB, path string) *DB {
	t.Helper()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path, exportKey)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func update(t *testing.T, db *DB, fn func(*Tx) error) {
	t.Helper()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func view(t *testing.T, db *DB, fn func(*Tx) error) {
	t.Helper()
	if err := db.View(fn); err != nil {
		t.Fatal(err)
	}
}

// rawUpdate changes the closed file at path with bbolt alone, as someone
// who has the file but not the key could.
func rawUpdate(t *testing.T, path string, fn func(*bolt.Tx) error) {
	t.Helper()
	b, err := bolt.Open(path, fileMode, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func convID(b byte) ConvID { return ConvID(bytes.Repeat([]byte{b}, 16)) }
func msgID(b byte) MsgID   { return MsgID(bytes.Repeat([]byte{b}, 16)) }

// at returns a time as decoded: UTC, no monotonic reading.
func at(sec int64) time.Time { return time.Unix(sec, 123456789).UTC() }

func sampleConversation() Conversation {
	return Conversation{
		ID:        convID(1),
		Kind:      KindGroup,
		Name:      "Friends of Carol",
		Peer:      "",
		GroupID:   []byte("group id 0123456"),
		Home:      "c.example",
		Members:   []string{"alice@a.example", "bob@b.example", "carol@c.example"},
		Invited:   true,
		InvitedBy: "carol@c.example",
		Left:      false,
		Unread:    3,
		Senders:   map[string]uint64{"bob@b.example": 7, "carol@c.example": 12},
		SentSeq:   4,
		Created:   at(1_700_000_000),
		Updated:   at(1_700_000_100),
	}
}

func sampleMessage() Message {
	return Message{
		ID:       msgID(9),
		From:     "bob@b.example",
		Time:     at(1_700_000_200),
		Received: at(1_700_000_201),
		Text:     "the picnic is at noon by the old oak",
		Status:   StatusNone,
	}
}

func sampleContact() Contact {
	return Contact{
		Address:      "bob@b.example",
		IdentityKey:  bytes.Repeat([]byte{0xb0}, 32),
		Verified:     true,
		VerifiedKey:  bytes.Repeat([]byte{0xb1}, 32),
		KeyChanged:   true,
		Updated:      at(1_700_000_300),
		PreviousKey:  bytes.Repeat([]byte{0xb2}, 32),
		NoticeOnSend: true,
	}
}

func sampleOutgoing() Outgoing {
	return Outgoing{
		Conv:      convID(1),
		MsgID:     msgID(8),
		Text:      "bring the lemonade",
		ChatSeq:   7,
		Recipient: "dave@d.example",
		Payload:   []byte("sealed welcome for dave"),
		Created:   at(1_700_000_400),
		Attempts:  2,
	}
}
