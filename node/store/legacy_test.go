package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

// The layout of a store written before accounts had devices (schema 1 as
// the package doc had it then), written here byte by byte with raw bbolt
// rather than through this package's encoders, so that the test keeps
// reading what those nodes left on disk whatever the encoders become.

func legacyTime(t time.Time) []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(t.Unix())^(1<<63))
	return binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))
}

func legacyField(b, f []byte) []byte {
	return append(binary.BigEndian.AppendUint32(b, uint32(len(f))), f...)
}

// writeLegacyStore writes a database with account user, its keys (no
// device list) and messages with seqs 1..len(payloads), the first acked
// (gone), as a node of before devices left it.
func writeLegacyStore(t *testing.T, path, user string, payloads []string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		bk := map[string]*bolt.Bucket{}
		for _, name := range []string{"meta", "accounts", "keys", "keypackages", "lastresort", "mailboxes", "mailboxmeta", "msgexpiry",
			"sessions", "usersessions", "sessionexpiry", "nameholds"} {
			b, err := tx.CreateBucket([]byte(name))
			if err != nil {
				return err
			}
			bk[name] = b
		}
		must := func(err error) {
			if err != nil {
				t.Fatal(err)
			}
		}
		must(bk["meta"].Put([]byte("schema"), binary.BigEndian.AppendUint32(nil, 1)))
		must(bk["accounts"].Put([]byte(user), append(append([]byte{1}, legacyTime(t0)...), "opaque record"...)))
		keys := append([]byte{1}, legacyTime(t0)...)
		for _, f := range [][]byte{bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 1216), bytes.Repeat([]byte{3}, 64)} {
			keys = legacyField(keys, f)
		}
		must(bk["keys"].Put([]byte(user), keys))
		box, err := bk["mailboxes"].CreateBucket([]byte(user))
		must(err)
		expires := t0.Add(time.Hour)
		var count, size uint64
		for i, p := range payloads {
			seq := uint64(i + 1)
			if seq == 1 {
				continue // acked
			}
			rec := append(append(append([]byte{1}, legacyTime(t0)...), legacyTime(expires)...), p...)
			must(box.Put(binary.BigEndian.AppendUint64(nil, seq), rec))
			must(bk["msgexpiry"].Put(append(binary.BigEndian.AppendUint64(legacyTime(expires), seq), user...), nil))
			count++
			size += uint64(len(p))
		}
		meta := binary.BigEndian.AppendUint64([]byte{1}, uint64(len(payloads)))
		meta = binary.BigEndian.AppendUint64(meta, count)
		meta = binary.BigEndian.AppendUint64(meta, size)
		return bk["mailboxmeta"].Put([]byte(user), meta)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAStoreFromBeforeDevicesKeepsEveryMessageForTheFirstPrimary(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	writeLegacyStore(t, path, "alice", []string{"m1", "m2", "m3"})
	if err := Check(path); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "bucket (a file of an older version") {
		t.Errorf("Check of a file that lacks newer buckets: %v, want ErrCorrupt naming the bucket", err)
	}
	s, err := Open(path, testOptions())
	if err != nil {
		t.Fatalf("Open of a store from before devices: %v", err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		checkFile(t, path)
	}()
	// As it was: today's clients, which name no device, see their mailbox.
	k, err := s.Keys("alice")
	if err != nil || len(k.IdentityKey) != 32 || len(k.AccountKey) != 0 || len(k.DeviceList) != 0 {
		t.Fatalf("Keys from before devices: %+v, %v", k, err)
	}
	if got, err := s.Fetch("alice", 0, 10); err != nil || seqs(got) != "2 3" {
		t.Fatalf("Fetch before a device list = %s, %v; want 2 3", seqs(got), err)
	}
	// The first device list: its primary holds the old messages, and its
	// seqs go on from the old mailbox's.
	const primary, second = "1111111111111111", "2222222222222222"
	k.AccountKey, k.DeviceList = k.IdentityKey, []byte("list")
	if err := s.PutKeys("alice", k, node.Devices{Primary: primary, Current: []string{primary, second}}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Fetch("alice#"+primary, 0, 10); err != nil || seqs(got) != "2 3" || string(got[0].Payload) != "m2" {
		t.Errorf("the first primary's queue = %s, %v; want the old 2 3", seqs(got), err)
	}
	rs, err := s.Enqueue(t.Context(), []protocol.NewMessage{msg("alice", "m4", time.Hour), msg("alice#"+second, "to the second", time.Hour)})
	if err != nil || rs[0].Err != nil || rs[0].Seq != 4 || rs[1].Err != nil || rs[1].Seq != 1 {
		t.Errorf("after the list: receipts %+v, %v; want seq 4 for the primary, 1 for the second device", rs, err)
	}
	if err := s.CheckIntegrity(); err != nil {
		t.Error(err)
	}
}

// seqs returns the seqs of msgs, space-separated.
func seqs(msgs []protocol.Message) string {
	var b strings.Builder
	for i, m := range msgs {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprint(&b, m.Seq)
	}
	return b.String()
}
