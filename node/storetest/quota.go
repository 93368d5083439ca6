package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

// Relayed is envelope n for domain, handed over by neighbour from and
// signed by a key of node id originID claiming origin.
func Relayed(n int, domain, origin, originID, from string, size int) protocol.HeldEnvelope {
	e := Envelope(n, domain, origin, size, time.Hour)
	e.OriginID, e.From = originID, from
	return e
}

func testNeighbourQuotaCapsOneNeighboursForgedOriginsAndNotTheOthers(t *testing.T, open Opener) {
	opts := testConfig()
	opts.Mesh = protocol.MeshQuota{MaxBytes: 1000, DomainBytes: 1000, OriginBytes: 500, NeighbourBytes: 300, MaxSeen: 100}
	s := open(t, opts)
	// Ten envelopes of 50 bytes from "evil", each claiming another origin
	// with another key: no origin reaches its quota, the neighbour does
	// after six.
	var forged []protocol.HeldEnvelope
	for i := range 10 {
		forged = append(forged, Relayed(i+1, "n9.example", fmt.Sprintf("forged%d.example", i), fmt.Sprintf("key%d", i), "evil.example", 50))
	}
	refusals := Hold(t, s, forged...)
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
		Relayed(20, "n9.example", "n2.example", "n2id", "good.example", 50),
		Relayed(21, "n9.example", "n2.example", "n2id", "good.example", 250),
	}
	for i, err := range Hold(t, s, good...) {
		if err != nil {
			t.Errorf("honest neighbour's envelope %d: %v", i, err)
		}
	}
	local := Relayed(30, "n9.example", "n1.example", "n1id", "", 300)
	if err := Hold(t, s, local)[0]; err != nil {
		t.Errorf("an envelope made here, past any neighbour's quota: %v", err)
	}
	// Releasing evil's envelopes gives its quota back.
	if err := s.Release("n9.example", []uint64{1, 2}, protocol.SeenForwarded); err != nil {
		t.Fatal(err)
	}
	if err := Hold(t, s, Relayed(40, "n9.example", "forged40.example", "key40", "evil.example", 100))[0]; err != nil {
		t.Errorf("after two were released: %v", err)
	}
	if err := Hold(t, s, Relayed(41, "n9.example", "forged41.example", "key41", "evil.example", 1))[0]; !errors.Is(err, protocol.ErrMeshFull) {
		t.Errorf("at the quota again: %v, want ErrMeshFull", err)
	}
	// The tallies agree with what is held, where the store can check.
	if err := check(s); err != nil {
		t.Fatal(err)
	}
}

func testOriginQuotaKeepsAForgerOfADomainApartFromItsNode(t *testing.T, open Opener) {
	opts := testConfig()
	opts.Mesh = protocol.MeshQuota{MaxBytes: 1000, DomainBytes: 1000, OriginBytes: 200, NeighbourBytes: 1000, MaxSeen: 100}
	s := open(t, opts)
	// A forger signs with its own key and claims n2.example until that
	// origin's quota is full...
	var forged []protocol.HeldEnvelope
	for i := range 5 {
		forged = append(forged, Relayed(i+1, "n9.example", "n2.example", "forgerkey", "n3.example", 50))
	}
	refusals := Hold(t, s, forged...)
	if refusals[3] != nil || !errors.Is(refusals[4], protocol.ErrMeshFull) {
		t.Fatalf("forger's envelopes: %v, want the fifth refused", refusals)
	}
	// ...and the real n2.example, whose key signs its envelopes, still
	// has its whole quota.
	for i, err := range Hold(t, s,
		Relayed(10, "n9.example", "n2.example", "realkey", "n3.example", 100),
		Relayed(11, "n9.example", "n2.example", "realkey", "n3.example", 100)) {
		if err != nil {
			t.Errorf("the real origin's envelope %d: %v", i, err)
		}
	}
}

func testEnvelopeSeenSetHasAShareForEachNeighbourAndRoomForLocalEnvelopes(t *testing.T, open Opener) {
	opts := testConfig()
	opts.Mesh = protocol.MeshQuota{MaxBytes: 1 << 20, DomainBytes: 1 << 20, OriginBytes: 1 << 20, NeighbourBytes: 1 << 20, MaxSeen: 20, NeighbourSeen: 10}
	s := open(t, opts)
	// One neighbour's envelopes are forwarded at once, so they free their
	// bytes; their ids stay until they expire.
	var flood []protocol.HeldEnvelope
	for i := range 15 {
		flood = append(flood, Relayed(i+1, "n9.example", fmt.Sprintf("forged%d.example", i), fmt.Sprintf("key%d", i), "evil.example", 10))
	}
	refusals := Hold(t, s, flood...)
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
	if err := Hold(t, s, Relayed(50, "n9.example", "forged50.example", "key50", "evil.example", 10))[0]; !errors.Is(err, protocol.ErrNeighbourQuota) {
		t.Errorf("after its envelopes were forwarded, their ids still count: %v, want ErrNeighbourQuota", err)
	}
	// Another neighbour gets 8: neighbours leave a tenth (2) to this node.
	var other []protocol.HeldEnvelope
	for i := range 10 {
		other = append(other, Relayed(100+i, "n9.example", "n2.example", "n2id", "good.example", 10))
	}
	for i, err := range Hold(t, s, other...) {
		if (i < 8) != (err == nil) {
			t.Errorf("honest neighbour's envelope %d: %v", i, err)
		}
	}
	MustHold(t, s, Relayed(200, "n9.example", "n1.example", "n1id", "", 10), Relayed(201, "n9.example", "n1.example", "n1id", "", 10))
	if err := Hold(t, s, Relayed(202, "n9.example", "n1.example", "n1id", "", 10))[0]; !errors.Is(err, protocol.ErrMeshFull) {
		t.Errorf("a local envelope past MaxSeen: %v", err)
	}
	// When the flood's ids expire, the share is free again.
	if _, err := s.ExpireMesh(t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	e := Relayed(300, "n9.example", "forged300.example", "key300", "evil.example", 10)
	e.Expires = t0.Add(2 * time.Hour)
	MustHold(t, s, e)
}

// RelayedPost is post n of channel ch relayed by neighbour from ("" for a
// local post), expiring after ttl.
func RelayedPost(n, ch int, from string, ttl time.Duration) protocol.StoredPost {
	p := Post(n, ch, 10, ttl)
	p.From = from
	return p
}

func testChannelSeenSetHasAShareForEachNeighbourAndRoomForLocalPosts(t *testing.T, open Opener) {
	quota := ChanQuota
	quota.MaxSeen, quota.NeighbourSeen, quota.MaxBytes = 20, 10, 1<<20
	s := open(t, ChanConfig(quota))
	// One neighbour floods 15 posts: 10 enter the seen-set.
	var flood []protocol.StoredPost
	for n := 1; n <= 15; n++ {
		flood = append(flood, RelayedPost(n, 1, "evil.example", time.Hour))
	}
	errs, _ := AddPosts(t, s, flood...)
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
		other = append(other, RelayedPost(n, 2, "good.example", 2*time.Hour))
	}
	errs, _ = AddPosts(t, s, other...)
	for i, err := range errs {
		if (i < 8) != (err == nil) {
			t.Errorf("honest neighbour's post %d: %v", i, err)
		}
	}
	// The local users' posts still go in.
	MustAdd(t, s, RelayedPost(200, 3, "", time.Hour), RelayedPost(201, 3, "", time.Hour))
	if errs, _ := AddPosts(t, s, RelayedPost(202, 3, "", time.Hour)); !errors.Is(errs[0], protocol.ErrChannelFull) {
		t.Errorf("a local post past MaxSeen: %v", errs[0])
	}
	// When the flood's ids expire, the neighbour's share is free again.
	if _, err := s.ExpireChannels(t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	MustAdd(t, s, RelayedPost(300, 1, "evil.example", 3*time.Hour))
	if err := check(s); err != nil {
		t.Fatal(err)
	}
}

func testMessagesDeliveredFromTheMeshCountAgainstTheNeighboursSeenShare(t *testing.T, open Opener) {
	opts := MeshConfig()
	opts.Mesh.MaxSeen, opts.Mesh.NeighbourSeen = 20, 3
	s := open(t, opts)
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
	if st := MeshStats(t, s); st.Seen != 5 {
		t.Errorf("seen ids %d, want 5", st.Seen)
	}
}
