package chatdb

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

func TestPathIsTheLowercasedAddressInTheStateDirectory(t *testing.T) {
	if got, want := Path("/var/qpc", "Alice@A.Example"), filepath.Join("/var/qpc", "alice@a.example.chat.db"); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestOpenCreatesAPrivateFileInAPrivateDirectory(t *testing.T) {
	_, path := newDB(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700", di.Mode().Perm())
	}
}

func TestADatabaseReopensWithItsKey(t *testing.T) {
	db, path := newDB(t)
	update(t, db, func(tx *Tx) error { return tx.PutMeta("greeting", []byte("hello")) })
	db = reopen(t, db, path)
	view(t, db, func(tx *Tx) error {
		v, err := tx.Meta("greeting")
		if string(v) != "hello" {
			t.Errorf("meta after reopen is %q", v)
		}
		return err
	})
}

func TestOpenWithAnotherExportKeyFailsWithErrWrongKey(t *testing.T) {
	db, path := newDB(t)
	db.Close()
	if db, err := Open(path, otherKey); !errors.Is(err, ErrWrongKey) {
		if err == nil {
			db.Close()
		}
		t.Fatalf("got %v, want ErrWrongKey", err)
	}
}

func TestOpenWithAShortExportKeyFailsWithErrShortKey(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "x.chat.db"), exportKey[:MinKeySize-1]); !errors.Is(err, ErrShortKey) {
		t.Fatalf("got %v, want ErrShortKey", err)
	}
}

// bbolt locks the file with flock, which also holds between two opens in
// one process (each has its own open file description), so a second Open
// here stands for a second qpc.
func TestOpenWhileTheFileIsOpenFailsWithErrLocked(t *testing.T) {
	_, path := newDB(t)
	db, err := Open(path, exportKey)
	if err == nil {
		db.Close()
	}
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("got %v, want ErrLocked", err)
	}
}

func TestOpenRejectsFormatVersions(t *testing.T) {
	tests := []struct {
		name    string
		version uint64
		want    error
	}{
		{"newer than this qpc as unknown", formatVersion + 1, ErrVersionUnknown},
		{"older than this qpc reads as too old", minFormatVersion - 1, ErrVersionTooOld},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, path := newDB(t)
			s := db.s
			db.Close()
			rawUpdate(t, path, func(tx *bolt.Tx) error {
				return tx.Bucket(bucketMeta).Put(keyVersion, s.seal(bucketMeta, keyVersion, encodeVersion(&tt.version)))
			})
			if db, err := Open(path, exportKey); !errors.Is(err, tt.want) {
				if err == nil {
					db.Close()
				}
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestOpenRejectsABboltFileOfSomethingElse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "other.db")
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket([]byte("accounts"))
		return err
	})
	if db, err := Open(path, exportKey); !errors.Is(err, ErrNotChatDB) {
		if err == nil {
			db.Close()
		}
		t.Fatalf("got %v, want ErrNotChatDB", err)
	}
}

func TestWriteMethodsFailInAView(t *testing.T) {
	db, _ := newDB(t)
	id := convID(1)
	update(t, db, func(tx *Tx) error {
		c := sampleConversation()
		return tx.PutConversation(&c)
	})
	writes := []struct {
		name string
		fn   func(*Tx) error
	}{
		{"PutConversation", func(tx *Tx) error { c := sampleConversation(); return tx.PutConversation(&c) }},
		{"AppendMessage", func(tx *Tx) error { m := sampleMessage(); return tx.AppendMessage(id, &m) }},
		{"PutGroupState", func(tx *Tx) error { return tx.PutGroupState(id, []byte("state")) }},
		{"PutOutgoing", func(tx *Tx) error { o := sampleOutgoing(); return tx.PutOutgoing(&o) }},
		{"PutContact", func(tx *Tx) error { c := sampleContact(); return tx.PutContact(&c) }},
		{"MarkSeen", func(tx *Tx) error { return tx.MarkSeen(id, "bob@b.example", msgID(1), at(1)) }},
		{"PutKeyPackage", func(tx *Tx) error { return tx.PutKeyPackage([]byte("ref"), []byte("bundle")) }},
		{"PutMeta", func(tx *Tx) error { return tx.PutMeta("x", []byte("y")) }},
		{"DeleteConversation", func(tx *Tx) error { return tx.DeleteConversation(id) }},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			if err := db.View(w.fn); !errors.Is(err, berrors.ErrTxNotWritable) {
				t.Errorf("got %v, want ErrTxNotWritable", err)
			}
		})
	}
}

func TestTheFileHoldsNoneOfThePlaintext(t *testing.T) {
	db, path := newDB(t)
	update(t, db, func(tx *Tx) error {
		c := sampleConversation()
		if err := tx.PutConversation(&c); err != nil {
			return err
		}
		m := sampleMessage()
		if err := tx.AppendMessage(c.ID, &m); err != nil {
			return err
		}
		if err := tx.PutGroupState(c.ID, []byte("ratchet tree of the friends")); err != nil {
			return err
		}
		ct := sampleContact()
		if err := tx.PutContact(&ct); err != nil {
			return err
		}
		o := sampleOutgoing()
		if err := tx.PutOutgoing(&o); err != nil {
			return err
		}
		if err := tx.MarkSeen(c.ID, "erin@e.example", msgID(5), at(1)); err != nil {
			return err
		}
		if err := tx.PutKeyPackage([]byte("keypackage ref frank"), []byte("private init key")); err != nil {
			return err
		}
		return tx.PutMeta("setting", []byte("a secret setting"))
	})
	db.Close()
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"Friends of Carol", "alice@a.example", "bob@b.example", "carol@c.example", "c.example",
		"group id 0123456", "the picnic is at noon", "ratchet tree", "bring the lemonade",
		"dave@d.example", "sealed welcome", "erin@e.example", "keypackage ref frank",
		"private init key", "a secret setting", string(sampleContact().IdentityKey), string(canary),
	} {
		if bytes.Contains(file, []byte(s)) {
			t.Errorf("the file holds %q", s)
		}
	}
	if !bytes.Contains(file, []byte("conversations")) {
		t.Error("the test reads the wrong file: it does not hold the bucket names")
	}
}
