package store

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/node/storetest"
	"github.com/quicprochat/qpc/protocol"
)

func TestSeqsAreNeverReusedAfterReleaseOrReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, meshOptions())
	if err != nil {
		t.Fatal(err)
	}
	envs := storetest.MustHold(t, s, storetest.Envelope(1, "a", "o", 1, time.Hour), storetest.Envelope(2, "a", "o", 1, time.Hour), storetest.Envelope(3, "a", "o", 1, time.Hour))
	if err := s.Release("a", []uint64{1, 2, 3}, protocol.SeenForwarded); err != nil {
		t.Fatal(err)
	}
	if domains, _ := s.HeldDomains(); len(domains) != 0 {
		t.Errorf("HeldDomains after releasing everything: %v", domains)
	}
	envs = storetest.MustHold(t, s, storetest.Envelope(4, "a", "o", 1, time.Hour))
	if envs[0].Seq != 4 {
		t.Errorf("seq after releasing 1 to 3: %d, want 4", envs[0].Seq)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(path, meshOptions()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Release("a", []uint64{4}, protocol.SeenDelivered); err != nil {
		t.Fatal(err)
	}
	envs = storetest.MustHold(t, s, storetest.Envelope(5, "a", "o", 1, time.Hour))
	if envs[0].Seq != 5 {
		t.Errorf("seq after reopening and releasing the queue: %d, want 5", envs[0].Seq)
	}
	if got := storetest.HeldSeqs(t, s, "a"); !slices.Equal(got, []uint64{5}) {
		t.Errorf("held after all that: %v, want [5]", got)
	}
	if err := s.CheckIntegrity(); err != nil {
		t.Error(err)
	}
}

func TestMeshStoreSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, meshOptions())
	if err != nil {
		t.Fatal(err)
	}
	e := storetest.Envelope(1, "a", "o", 7, time.Hour)
	e.Sender, e.Recipient, e.At = "alice", "bob@a", "here"
	storetest.MustHold(t, s, e, storetest.Envelope(2, "b", "o", 3, time.Hour))
	if err := s.Release("b", []uint64{1}, protocol.SeenForwarded); err != nil {
		t.Fatal(err)
	}
	if err := s.SetStatus(e.ID, protocol.MeshForwarded, "next", t0.Add(time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	before := storetest.MeshStats(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkFile(t, path)
	if s, err = Open(path, meshOptions()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	after := storetest.MeshStats(t, s)
	if after.Envelopes != 1 || after.Bytes != 7 || after.Seen != 2 || !after.Oldest.Equal(t0) ||
		len(after.Domains) != 1 || after.Domains[0] != before.Domains[0] {
		t.Errorf("stats after reopening: %+v, before %+v", after, before)
	}
	if got := storetest.HeldSeqs(t, s, "a"); !slices.Equal(got, []uint64{1}) {
		t.Errorf("held after reopening: %v", got)
	}
	if storetest.SeenState(t, s, storetest.MeshID(2)) != protocol.SeenForwarded {
		t.Error("the released id's state is lost")
	}
	sts, err := s.Statuses("alice", []protocol.MeshID{e.ID})
	if err != nil || sts[0].State != protocol.MeshForwarded || sts[0].At != "next" {
		t.Errorf("status after reopening: %+v, %v", sts, err)
	}
}

func TestAFileWithoutMeshBucketsGetsThem(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, meshOptions())
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "bob")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	removeMeshBuckets(t, path) // as schema 1 wrote it before store-and-forward
	if s, err = Open(path, meshOptions()); err != nil {
		t.Fatalf("Open of a file without mesh buckets: %v", err)
	}
	defer s.Close()
	storetest.MustHold(t, s, storetest.Envelope(1, "a", "o", 1, time.Hour))
	if st := storetest.MeshStats(t, s); st.Envelopes != 1 {
		t.Errorf("stats: %+v", st)
	}
	if _, err := s.Account("bob"); err != nil {
		t.Errorf("the account is gone: %v", err)
	}
}

// removeMeshBuckets turns the closed store at path into one that schema 1
// wrote before store-and-forward: no mesh buckets, no mesh totals.
func removeMeshBuckets(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{
			bucketMeshHeld, bucketMeshQueues, bucketMeshExpiry, bucketMeshOrigins,
			bucketMeshSeen, bucketSeenExpiry, bucketMeshStatus, bucketStatusExpiry,
		} {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Delete(keyMeshTotals)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAHoldWhoseContextEndsWhileQueuedStoresNothing(t *testing.T) {
	opts := meshOptions()
	opts.BatchWindow = time.Hour // nothing commits until Close
	opts.BatchSize = 100
	s := openTest(t, opts)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() {
		_, err := s.Hold(ctx, []protocol.HeldEnvelope{storetest.Envelope(1, "a", "o", 1, time.Hour)})
		errc <- err
	}()
	waitFor(t, "the call to queue", func() bool { return s.queued.Load() == 1 })
	cancel()
	if _, err := s.Hold(ctx, []protocol.HeldEnvelope{storetest.Envelope(2, "a", "o", 1, time.Hour)}); !errors.Is(err, context.Canceled) {
		t.Errorf("Hold with a cancelled ctx = %v, want context.Canceled", err)
	}
	path := s.Path()
	if err := s.Close(); err != nil { // commits the batch, which skips the call
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Hold = %v, want context.Canceled", err)
	}
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if st := storetest.MeshStats(t, s); st.Envelopes != 0 || st.Seen != 0 {
		t.Errorf("the cancelled call stored something: %+v", st)
	}
}
