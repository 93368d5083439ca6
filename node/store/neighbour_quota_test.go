package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/protocol"
)

// relayed is envelope n for domain, handed over by neighbour from and
// signed by a key of node id originID claiming origin.
func relayed(n int, domain, origin, originID, from string, size int) protocol.HeldEnvelope {
	e := envelope(n, domain, origin, size, time.Hour)
	e.OriginID, e.From = originID, from
	return e
}

func TestNeighbourQuotaCapsOneNeighboursForgedOriginsAndNotTheOthers(t *testing.T) {
	opts := testOptions()
	opts.Mesh = protocol.MeshQuota{MaxBytes: 1000, DomainBytes: 1000, OriginBytes: 500, NeighbourBytes: 300, MaxSeen: 100}
	s := openTest(t, opts)
	// Ten envelopes of 50 bytes from "evil", each claiming another origin
	// with another key: no origin reaches its quota, the neighbour does
	// after six.
	var forged []protocol.HeldEnvelope
	for i := range 10 {
		forged = append(forged, relayed(i+1, "n9.example", fmt.Sprintf("forged%d.example", i), fmt.Sprintf("key%d", i), "evil.example", 50))
	}
	refusals := hold(t, s, forged...)
	for i, err := range refusals {
		switch {
		case i < 6 && err != nil:
			t.Errorf("forged envelope %d within the neighbour's quota: %v", i, err)
		case i >= 6 && (!errors.Is(err, protocol.ErrMeshFull) || !strings.Contains(fmt.Sprint(err), "neighbour evil.example")):
			t.Errorf("forged envelope %d past the neighbour's quota: %v, want ErrMeshFull naming the neighbour", i, err)
		}
	}
	// Another neighbour's envelopes and this node's own still fit.
	good := []protocol.HeldEnvelope{
		relayed(20, "n9.example", "n2.example", "n2id", "good.example", 50),
		relayed(21, "n9.example", "n2.example", "n2id", "good.example", 250),
	}
	for i, err := range hold(t, s, good...) {
		if err != nil {
			t.Errorf("honest neighbour's envelope %d: %v", i, err)
		}
	}
	local := relayed(30, "n9.example", "n1.example", "n1id", "", 300)
	if err := hold(t, s, local)[0]; err != nil {
		t.Errorf("an envelope made here, past any neighbour's quota: %v", err)
	}
	// Releasing evil's envelopes gives its quota back.
	if err := s.Release("n9.example", []uint64{1, 2}, protocol.SeenForwarded); err != nil {
		t.Fatal(err)
	}
	if err := hold(t, s, relayed(40, "n9.example", "forged40.example", "key40", "evil.example", 100))[0]; err != nil {
		t.Errorf("after two were released: %v", err)
	}
	if err := hold(t, s, relayed(41, "n9.example", "forged41.example", "key41", "evil.example", 1))[0]; !errors.Is(err, protocol.ErrMeshFull) {
		t.Errorf("at the quota again: %v, want ErrMeshFull", err)
	}
	// The tallies survive a reopen and are what Check recounts.
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestOriginQuotaKeepsAForgerOfADomainApartFromItsNode(t *testing.T) {
	opts := testOptions()
	opts.Mesh = protocol.MeshQuota{MaxBytes: 1000, DomainBytes: 1000, OriginBytes: 200, NeighbourBytes: 1000, MaxSeen: 100}
	s := openTest(t, opts)
	// A forger signs with its own key and claims n2.example until that
	// origin's quota is full...
	var forged []protocol.HeldEnvelope
	for i := range 5 {
		forged = append(forged, relayed(i+1, "n9.example", "n2.example", "forgerkey", "n3.example", 50))
	}
	refusals := hold(t, s, forged...)
	if refusals[3] != nil || !errors.Is(refusals[4], protocol.ErrMeshFull) {
		t.Fatalf("forger's envelopes: %v, want the fifth refused", refusals)
	}
	// ...and the real n2.example, whose key signs its envelopes, still
	// has its whole quota.
	for i, err := range hold(t, s,
		relayed(10, "n9.example", "n2.example", "realkey", "n3.example", 100),
		relayed(11, "n9.example", "n2.example", "realkey", "n3.example", 100)) {
		if err != nil {
			t.Errorf("the real origin's envelope %d: %v", i, err)
		}
	}
}

func TestHeldRecordsOfVersion1StayReadableReleasableAndChecked(t *testing.T) {
	s := openTest(t, meshOptions())
	// An envelope held before neighbours were kept: hold one without From
	// and OriginID (which counts as version 1 did) and write its record
	// back as version 1 wrote it.
	old := envelope(1, "n2.example", "n1.example", 10, time.Hour)
	held := mustHold(t, s, old)
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeshHeld).Bucket([]byte("n2.example")).Put(seqKey(held[0].Seq), encodeHeldV1(held[0]))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err != nil {
		t.Fatalf("Check with a version 1 record: %v", err)
	}
	got, err := s.Held("n2.example", 0, 10)
	if err != nil || len(got) != 1 || got[0].Origin != "n1.example" || got[0].From != "" || got[0].OriginID != "" {
		t.Fatalf("Held: %+v, %v", got, err)
	}
	// A new envelope of the same origin, now with a neighbour, counts
	// apart; both are released cleanly.
	mustHold(t, s, relayed(2, "n2.example", "n1.example", "n1id", "n3.example", 10))
	if err := s.Release("n2.example", []uint64{1, 2}, protocol.SeenForwarded); err != nil {
		t.Fatal(err)
	}
	if st := meshStats(t, s); st.Envelopes != 0 || st.Bytes != 0 {
		t.Errorf("after release: %+v", st)
	}
}

func TestCheckFindsAWrongNeighbourRecord(t *testing.T) {
	s := openTest(t, meshOptions())
	mustHold(t, s, relayed(1, "n2.example", "n1.example", "n1id", "n3.example", 10))
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeshNeighbours).Put([]byte("n3.example"), encodeNeighbourTally(neighbourTally{meshTally{1, 11}, 1}))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err == nil || !strings.Contains(err.Error(), "neighbour") {
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

func TestEnvelopeSeenSetHasAShareForEachNeighbourAndRoomForLocalEnvelopes(t *testing.T) {
	opts := testOptions()
	opts.Mesh = protocol.MeshQuota{MaxBytes: 1 << 20, DomainBytes: 1 << 20, OriginBytes: 1 << 20, NeighbourBytes: 1 << 20, MaxSeen: 20, NeighbourSeen: 10}
	s := openTest(t, opts)
	// One neighbour's envelopes are forwarded at once, so they free their
	// bytes; their ids stay until they expire.
	var flood []protocol.HeldEnvelope
	for i := range 15 {
		flood = append(flood, relayed(i+1, "n9.example", fmt.Sprintf("forged%d.example", i), fmt.Sprintf("key%d", i), "evil.example", 10))
	}
	refusals := hold(t, s, flood...)
	var seqs []uint64
	for i, err := range refusals {
		switch {
		case i < 10 && err != nil:
			t.Errorf("envelope %d within the neighbour's share: %v", i, err)
		case i >= 10 && (!errors.Is(err, protocol.ErrNeighbourQuota) || !strings.Contains(err.Error(), "evil.example")):
			t.Errorf("envelope %d past the neighbour's share: %v, want ErrNeighbourQuota", i, err)
		case err == nil:
			seqs = append(seqs, flood[i].Seq)
		}
	}
	if err := s.Release("n9.example", seqs, protocol.SeenForwarded); err != nil {
		t.Fatal(err)
	}
	if err := hold(t, s, relayed(50, "n9.example", "forged50.example", "key50", "evil.example", 10))[0]; !errors.Is(err, protocol.ErrNeighbourQuota) {
		t.Errorf("after its envelopes were forwarded, their ids still count: %v, want ErrNeighbourQuota", err)
	}
	// Another neighbour gets 8: neighbours leave a tenth (2) to this node.
	var other []protocol.HeldEnvelope
	for i := range 10 {
		other = append(other, relayed(100+i, "n9.example", "n2.example", "n2id", "good.example", 10))
	}
	for i, err := range hold(t, s, other...) {
		if (i < 8) != (err == nil) {
			t.Errorf("honest neighbour's envelope %d: %v", i, err)
		}
	}
	mustHold(t, s, relayed(200, "n9.example", "n1.example", "n1id", "", 10), relayed(201, "n9.example", "n1.example", "n1id", "", 10))
	if err := hold(t, s, relayed(202, "n9.example", "n1.example", "n1id", "", 10))[0]; !errors.Is(err, protocol.ErrMeshFull) {
		t.Errorf("a local envelope past MaxSeen: %v", err)
	}
	// When the flood's ids expire, the share is free again.
	if _, err := s.ExpireMesh(t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	e := relayed(300, "n9.example", "forged300.example", "key300", "evil.example", 10)
	e.Expires = t0.Add(2 * time.Hour)
	mustHold(t, s, e)
}

func TestSeenRecordsOfVersion1StayReadable(t *testing.T) {
	s := openTest(t, meshOptions())
	held := mustHold(t, s, envelope(1, "n2.example", "n1.example", 10, time.Hour))
	v1 := encodeSeen(protocol.SeenHeld, held[0].Expires, "")
	v1[0] = 1
	id := held[0].ID
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeshSeen).Put(id[:], v1) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err != nil {
		t.Fatalf("Check with a version 1 seen record: %v", err)
	}
	if err := s.Release("n2.example", []uint64{held[0].Seq}, protocol.SeenDelivered); err != nil {
		t.Fatal(err)
	}
	if state := seenState(t, s, id); state != protocol.SeenDelivered {
		t.Errorf("seen state %v after release", state)
	}
	if _, err := s.ExpireMesh(t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
}

// relayedPost is post n of channel ch relayed by neighbour from ("" for a
// local post), expiring after ttl.
func relayedPost(n, ch int, from string, ttl time.Duration) protocol.StoredPost {
	p := post(n, ch, 10, ttl)
	p.From = from
	return p
}

func TestChannelSeenSetHasAShareForEachNeighbourAndRoomForLocalPosts(t *testing.T) {
	quota := chanQuota
	quota.MaxSeen, quota.NeighbourSeen, quota.MaxBytes = 20, 10, 1<<20
	s := openTest(t, chanOptions(quota))
	// One neighbour floods 15 posts: 10 enter the seen-set.
	var flood []protocol.StoredPost
	for n := 1; n <= 15; n++ {
		flood = append(flood, relayedPost(n, 1, "evil.example", time.Hour))
	}
	errs, _ := addPosts(t, s, flood...)
	for i, err := range errs {
		switch {
		case i < 10 && err != nil:
			t.Errorf("post %d within the neighbour's share: %v", i+1, err)
		case i >= 10 && (!errors.Is(err, protocol.ErrChannelFull) || !strings.Contains(err.Error(), "evil.example")):
			t.Errorf("post %d past the neighbour's share: %v, want ErrChannelFull naming it", i+1, err)
		}
	}
	// Another neighbour gets 8: relayed posts leave a tenth (2) of the
	// seen-set to local posts.
	var other []protocol.StoredPost
	for n := 100; n < 110; n++ {
		other = append(other, relayedPost(n, 2, "good.example", 2*time.Hour))
	}
	errs, _ = addPosts(t, s, other...)
	for i, err := range errs {
		if (i < 8) != (err == nil) {
			t.Errorf("honest neighbour's post %d: %v", i, err)
		}
	}
	// The local users' posts still go in.
	mustAdd(t, s, relayedPost(200, 3, "", time.Hour), relayedPost(201, 3, "", time.Hour))
	if errs, _ := addPosts(t, s, relayedPost(202, 3, "", time.Hour)); !errors.Is(errs[0], protocol.ErrChannelFull) {
		t.Errorf("a local post past MaxSeen: %v", errs[0])
	}
	// When the flood's ids expire, the neighbour's share is free again.
	if _, err := s.ExpireChannels(t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	mustAdd(t, s, relayedPost(300, 1, "evil.example", 3*time.Hour))
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestChannelSeenRecordsOfVersion1StayReadable(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, chanOptions(chanQuota))
	if err != nil {
		t.Fatal(err)
	}
	mustAdd(t, s, relayedPost(1, 1, "", time.Hour))
	v1 := encodeChanSeen(t0.Add(time.Hour), "")
	v1[0] = 1
	id := postID(1)
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketChanSeen).Put(id[:], v1) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err != nil {
		t.Fatalf("Check with a version 1 seen record: %v", err)
	}
	if !postSeen(t, s, 1) {
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

func TestMessagesDeliveredFromTheMeshCountAgainstTheNeighboursSeenShare(t *testing.T) {
	opts := meshOptions()
	opts.Mesh.MaxSeen, opts.Mesh.NeighbourSeen = 20, 3
	s := openTest(t, opts)
	mustCreate(t, s, "bob")
	var msgs []protocol.NewMessage
	for n := 1; n <= 5; n++ {
		m := meshMsg("bob", n)
		m.MeshFrom = "evil.example"
		msgs = append(msgs, m)
	}
	rs := enqueue(t, s, msgs...)
	for i, r := range rs {
		if (i < 3) != (r.Err == nil) || i >= 3 && !errors.Is(r.Err, protocol.ErrNeighbourQuota) {
			t.Errorf("message %d from the flooding neighbour: %v", i, r.Err)
		}
	}
	if n, _, _ := s.Depth("bob"); n != 3 {
		t.Errorf("mailbox holds %d messages, want the 3 within the share", n)
	}
	// Another neighbour's, and one with no neighbour, still go in; the
	// refused ones left nothing behind.
	other := meshMsg("bob", 10)
	other.MeshFrom = "good.example"
	if rs := enqueue(t, s, other, meshMsg("bob", 11)); rs[0].Err != nil || rs[1].Err != nil {
		t.Errorf("receipts %+v", rs)
	}
	if st := meshStats(t, s); st.Seen != 5 {
		t.Errorf("seen ids %d, want 5", st.Seen)
	}
}
