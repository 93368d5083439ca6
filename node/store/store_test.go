package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

func TestOptionsDefaultsAndValidation(t *testing.T) {
	var nilOpts *Options
	d := nilOpts.WithDefaults()
	if d.Limits.MaxMessages != 10_000 || d.Limits.MaxBytes != 64<<20 || d.MaxKeyPackages != DefaultMaxKeyPackages ||
		d.BatchWindow != DefaultBatchWindow || d.BatchSize != 256 || d.QueueSize != DefaultQueueSize ||
		d.LockTimeout != DefaultLockTimeout || d.Now == nil ||
		d.Mesh != (protocol.MeshQuota{MaxBytes: 16 << 20, DomainBytes: 8 << 20, OriginBytes: 8 << 20, NeighbourBytes: 8 << 20, MaxSeen: 50_000, NeighbourSeen: 25_000}) ||
		d.Channels != (protocol.ChannelQuota{Retain: 100, MaxChannels: 256, MaxBytes: 4 << 20, MaxSeen: 50_000, NeighbourSeen: 25_000}) {
		t.Errorf("defaults of nil Options: %+v", d)
	}
	if err := d.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
	kept := (&Options{BatchSize: 7}).WithDefaults()
	if kept.BatchSize != 7 {
		t.Errorf("WithDefaults replaced a set field: %d", kept.BatchSize)
	}
	for name, o := range map[string]Options{
		"negative max messages":       {Limits: node.MailboxLimits{MaxMessages: -1}},
		"negative max bytes":          {Limits: node.MailboxLimits{MaxBytes: -1}},
		"negative key packages":       {MaxKeyPackages: -1},
		"negative batch window":       {BatchWindow: -time.Millisecond},
		"negative batch size":         {BatchSize: -1},
		"negative queue size":         {QueueSize: -1},
		"negative lock timeout":       {LockTimeout: -1},
		"negative mesh bytes":         {Mesh: protocol.MeshQuota{MaxBytes: -1}},
		"negative domain bytes":       {Mesh: protocol.MeshQuota{DomainBytes: -1}},
		"negative origin bytes":       {Mesh: protocol.MeshQuota{OriginBytes: -1}},
		"negative seen ids":           {Mesh: protocol.MeshQuota{MaxSeen: -1}},
		"negative neighbour bytes":    {Mesh: protocol.MeshQuota{NeighbourBytes: -1}},
		"negative neighbour post ids": {Channels: protocol.ChannelQuota{NeighbourSeen: -1}},
		"negative neighbour seen ids": {Mesh: protocol.MeshQuota{NeighbourSeen: -1}},
		"negative retain":             {Channels: protocol.ChannelQuota{Retain: -1}},
		"negative channels":           {Channels: protocol.ChannelQuota{MaxChannels: -1}},
		"negative channel bytes":      {Channels: protocol.ChannelQuota{MaxBytes: -1}},
		"negative post ids":           {Channels: protocol.ChannelQuota{MaxSeen: -1}},
	} {
		o = o.WithDefaults()
		if err := o.Validate(); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("%s: Validate = %v, want ErrInvalidOptions", name, err)
		}
		if _, err := Open(filepath.Join(t.TempDir(), FileName), o); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("%s: Open = %v, want ErrInvalidOptions", name, err)
		}
	}
	if err := (Options{}).Validate(); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("zero Options without defaults validate: %v", err)
	}
}

func TestOpenCreatesAPrivateFile(t *testing.T) {
	s := openTest(t, testOptions())
	fi, err := os.Stat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestReopenAfterCloseKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "alice", "bob")
	if err := s.PutKeys("alice", sampleKeys, node.Devices{}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddKeyPackages("alice", 1, [][]byte{[]byte("kp1"), []byte("kp2")}, []byte("last")); err != nil {
		t.Fatal(err)
	}
	h := node.TokenHash{7}
	if err := s.PutSession(h, node.Session{User: "bob", Expires: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	rs, err := s.Enqueue(context.Background(), []protocol.NewMessage{msg("bob", "one", time.Hour), msg("bob", "two", time.Hour)})
	if err != nil || rs[1].Seq != 2 {
		t.Fatalf("Enqueue: %+v, %v", rs, err)
	}
	if _, err := s.Ack("bob", 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkFile(t, path)

	s = openTest(t, testOptions())
	s.Close()
	s, err = Open(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		s.Close()
		checkFile(t, path)
	}()
	if a, err := s.Account("alice"); err != nil || string(a.Record) != "record of alice" {
		t.Errorf("account after reopen: %+v, %v", a, err)
	}
	if k, err := s.Keys("alice"); err != nil || string(k.HPKEKey) != string(sampleKeys.HPKEKey) {
		t.Errorf("keys after reopen: %v", err)
	}
	if p, last, err := s.TakeKeyPackage("alice", 1); err != nil || string(p) != "kp1" || last {
		t.Errorf("key package after reopen: %q %v %v", p, last, err)
	}
	if sess, err := s.Session(h); err != nil || sess.User != "bob" {
		t.Errorf("session after reopen: %+v, %v", sess, err)
	}
	msgs, err := s.Fetch("bob", 0, 10)
	if err != nil || len(msgs) != 1 || msgs[0].Seq != 2 || string(msgs[0].Payload) != "two" {
		t.Errorf("mailbox after reopen: %+v, %v", msgs, err)
	}
	rs, err = s.Enqueue(context.Background(), []protocol.NewMessage{msg("bob", "three", time.Hour)})
	if err != nil || rs[0].Seq != 3 {
		t.Errorf("sequence after reopen: %+v, %v; want 3", rs, err)
	}
}

func TestOpenRefusesSchemasItDoesNotRead(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version uint32
		want    error
	}{
		{"an older schema is too old", minSchemaVersion - 1, ErrSchemaTooOld},
		{"a newer schema is unknown", schemaVersion + 1, ErrSchemaUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), FileName)
			s, err := Open(path, testOptions())
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = db.Update(func(tx *bolt.Tx) error {
				return tx.Bucket(bucketMeta).Put(keySchema, encodeSchema(tc.version))
			})
			db.Close()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Open(path, testOptions()); !errors.Is(err, tc.want) {
				t.Errorf("Open = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestOpenRefusesAnotherBboltFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "other.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket([]byte("something"))
		return err
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, testOptions()); !errors.Is(err, ErrNotAStore) {
		t.Errorf("Open = %v, want ErrNotAStore", err)
	}
}

func TestOpenFailsWhileAnotherHolderHasTheFile(t *testing.T) {
	s := openTest(t, testOptions())
	opts := testOptions()
	opts.LockTimeout = 50 * time.Millisecond
	if _, err := Open(s.Path(), opts); !errors.Is(err, ErrLocked) {
		t.Errorf("second Open = %v, want ErrLocked", err)
	}
}
