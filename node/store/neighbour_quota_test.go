package store

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/node/storetest"
	"github.com/quicprochat/qpc/protocol"
)

func TestHeldRecordsOfVersion1StayReadableReleasableAndChecked(t *testing.T) {
	s := openTest(t, meshOptions())
	// An envelope held before neighbours were kept: hold one without From
	// and OriginID (which counts as version 1 did) and write its record
	// back as version 1 wrote it.
	old := storetest.Envelope(1, "n2.example", "n1.example", 10, time.Hour)
	held := storetest.MustHold(t, s, old)
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeshHeld).Bucket([]byte("n2.example")).Put(seqKey(held[0].Seq), encodeHeldV1(held[0]))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CheckIntegrity(); err != nil {
		t.Fatalf("Check with a version 1 record: %v", err)
	}
	got, err := s.Held("n2.example", 0, 10)
	if err != nil || len(got) != 1 || got[0].Origin != "n1.example" || got[0].From != "" || got[0].OriginID != "" {
		t.Fatalf("Held: %+v, %v", got, err)
	}
	// A new envelope of the same origin, now with a neighbour, counts
	// apart; both are released cleanly.
	storetest.MustHold(t, s, storetest.Relayed(2, "n2.example", "n1.example", "n1id", "n3.example", 10))
	if err := s.Release("n2.example", []uint64{1, 2}, protocol.SeenForwarded); err != nil {
		t.Fatal(err)
	}
	if st := storetest.MeshStats(t, s); st.Envelopes != 0 || st.Bytes != 0 {
		t.Errorf("after release: %+v", st)
	}
}

func TestCheckFindsAWrongNeighbourRecord(t *testing.T) {
	s := openTest(t, meshOptions())
	storetest.MustHold(t, s, storetest.Relayed(1, "n2.example", "n1.example", "n1id", "n3.example", 10))
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeshNeighbours).Put([]byte("n3.example"), encodeNeighbourTally(neighbourTally{meshTally{1, 11}, 1}))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CheckIntegrity(); err == nil || !strings.Contains(err.Error(), "neighbour") {
		t.Errorf("Check of a neighbour record off by a byte: %v", err)
	}
	// Put it right so that the cleanup's Check passes.
	err = s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeshNeighbours).Put([]byte("n3.example"), encodeNeighbourTally(neighbourTally{meshTally{1, 10}, 1}))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSeenRecordsOfVersion1StayReadable(t *testing.T) {
	s := openTest(t, meshOptions())
	held := storetest.MustHold(t, s, storetest.Envelope(1, "n2.example", "n1.example", 10, time.Hour))
	v1 := encodeSeen(protocol.SeenHeld, held[0].Expires, "")
	v1[0] = 1
	id := held[0].ID
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeshSeen).Put(id[:], v1) }); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckIntegrity(); err != nil {
		t.Fatalf("Check with a version 1 seen record: %v", err)
	}
	if err := s.Release("n2.example", []uint64{held[0].Seq}, protocol.SeenDelivered); err != nil {
		t.Fatal(err)
	}
	if state := storetest.SeenState(t, s, id); state != protocol.SeenDelivered {
		t.Errorf("seen state %v after release", state)
	}
	if _, err := s.ExpireMesh(t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
}

func TestChannelSeenRecordsOfVersion1StayReadable(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, chanOptions(storetest.ChanQuota))
	if err != nil {
		t.Fatal(err)
	}
	storetest.MustAdd(t, s, storetest.RelayedPost(1, 1, "", time.Hour))
	v1 := encodeChanSeen(t0.Add(time.Hour), "")
	v1[0] = 1
	id := storetest.PostID(1)
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketChanSeen).Put(id[:], v1) }); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckIntegrity(); err != nil {
		t.Fatalf("Check with a version 1 seen record: %v", err)
	}
	if !storetest.PostSeen(t, s, 1) {
		t.Error("the version 1 id is not seen")
	}
	if n, err := s.ExpireChannels(t0.Add(time.Hour)); err != nil || n != 1 {
		t.Errorf("ExpireChannels: %d, %v", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkFile(t, path)
}
