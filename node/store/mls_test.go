package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/crypto/commitclaim"
	"github.com/quicprochat/qpc/node/storetest"
	"github.com/quicprochat/qpc/protocol"
)

// TestAGroupFromBeforeProofsIsReadAndKeyedByItsNextClaim writes a group
// as a store from before proven claims did (version 1 record, bare
// commits) and checks that it is read, that its bare epochs answer only a
// retry, and that its next claim registers the key, which then holds.
func TestAGroupFromBeforeProofsIsReadAndKeyedByItsNextClaim(t *testing.T) {
	s := openTest(t, mlsOptions(10, 10))
	g := []byte("old")
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(bucketMLSCommits).CreateBucket(g)
		if err != nil {
			return err
		}
		for e := range uint64(2) {
			if err := b.Put(seqKey(e), storetest.Commit("alice", e)); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketMLSGroups).Put(g, encodeCounters(2, 2, 1)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketMLSRecency).Put(mlsRecencyKey(1, g), nil); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keyMLSTotals, encodeMLSTotals(mlsTotals{groups: 1, touches: 1}))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CheckIntegrity(); err != nil {
		t.Fatalf("Check of a version 1 group: %v", err)
	}
	if o := storetest.MustOrder(t, s, "old", 1, storetest.Commit("alice", 1)); !o.Accepted || o.Next != 2 {
		t.Errorf("the retry of a bare commit: %+v, want accepted", o)
	}
	if o, err := s.OrderCommit(storetest.Claim(g, 1, junkCommit)); !errors.Is(err, protocol.ErrBadCommitClaim) {
		t.Errorf("another claim of a bare epoch: %+v, %v; want ErrBadCommitClaim (a bare commit proves no claim)", o, err)
	}
	if o, err := s.OrderCommit(storetest.Claim(g, 3, junkCommit)); !errors.Is(err, protocol.ErrBadCommitClaim) {
		t.Errorf("a claim past next of an old group: %+v, %v; want ErrBadCommitClaim", o, err)
	}
	if o := storetest.MustOrder(t, s, "old", 2, storetest.Commit("bob", 2)); !o.Accepted || o.Next != 3 {
		t.Fatalf("the next claim of an old group: %+v, want accepted", o)
	}
	if o, err := s.OrderCommit(storetest.ClaimBy("mallory", g, 3, junkCommit)); !errors.Is(err, protocol.ErrBadCommitClaim) {
		t.Errorf("a stranger after the group was keyed: %+v, %v; want ErrBadCommitClaim", o, err)
	}
	want := protocol.CommitOrder{Next: 3, Missing: storetest.Commits(storetest.Commit("bob", 2))}
	if o := storetest.MustOrder(t, s, "old", 2, storetest.Commit("carol", 2)); !reflect.DeepEqual(o, want) {
		t.Errorf("a member's stale claim of the keyed epoch: %+v, want %+v", o, want)
	}
	if o := storetest.MustOrder(t, s, "old", 3, storetest.Commit("bob", 3)); !o.Accepted {
		t.Errorf("the group goes on: %+v", o)
	}
}

var junkCommit = []byte("junk")

func TestCommitsSurviveAReopenAndLowerBoundsTrimThem(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, mlsOptions(10, 10))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"a", "b", "c"} {
		for e := range uint64(4) {
			storetest.MustOrder(t, s, g, e, storetest.Commit(g, e))
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, mlsOptions(2, 2))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		checkFile(t, path)
	}()
	if err := s.CheckIntegrity(); err != nil {
		t.Errorf("Check after Open with lower bounds: %v", err)
	}
	if o := storetest.MustOrder(t, s, "c", 2, storetest.Commit("x", 2)); !reflect.DeepEqual(o, protocol.CommitOrder{Next: 4, Missing: storetest.Commits(storetest.Commit("c", 2), storetest.Commit("c", 3))}) {
		t.Errorf("c after the reopen: %+v; want its last 2 commits", o)
	}
	if o := storetest.MustOrder(t, s, "a", 0, storetest.Commit("x", 0)); !o.Accepted || o.Next != 1 {
		t.Errorf("a, claimed longest ago, should have been evicted: %+v", o)
	}
}

func TestCheckFindsBrokenSequencerInvariants(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(tx *bolt.Tx) error
	}{
		{"a group record that miscounts its commits", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMLSGroups).Put([]byte("g"), encodeMLSGroup(mlsGroup{next: 2, kept: 1, touched: 2, keyed: true}))
		}},
		{"a group whose next is not after its newest commit", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMLSGroups).Put([]byte("g"), encodeMLSGroup(mlsGroup{next: 3, kept: 2, touched: 2, keyed: true}))
		}},
		{"a group touched after the last claim", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMLSGroups).Put([]byte("g"), encodeMLSGroup(mlsGroup{next: 2, kept: 2, touched: 9, keyed: true}))
		}},
		{"a group without recency entry", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMLSRecency).Delete(mlsRecencyKey(2, []byte("g")))
		}},
		{"a stray recency entry", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMLSRecency).Put(mlsRecencyKey(1, []byte("h")), nil)
		}},
		{"commits of a group without record", func(tx *bolt.Tx) error {
			_, err := tx.Bucket(bucketMLSCommits).CreateBucket([]byte("h"))
			return err
		}},
		{"a group record without commits", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMLSCommits).DeleteBucket([]byte("g"))
		}},
		{"an empty commit", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMLSCommits).Bucket([]byte("g")).Put(seqKey(0), []byte{})
		}},
		{"a keyed epoch's commit without its key", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMLSCommits).Bucket([]byte("g")).Put(seqKey(0), make([]byte, commitclaim.KeySize))
		}},
		{"a group keyed from its next epoch", func(tx *bolt.Tx) error {
			raw := bytes.Clone(tx.Bucket(bucketMLSGroups).Get([]byte("g")))
			binary.BigEndian.PutUint64(raw[1+3*8:], 2)
			return tx.Bucket(bucketMLSGroups).Put([]byte("g"), raw)
		}},
		{"totals that miscount the groups", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(keyMLSTotals, encodeMLSTotals(mlsTotals{groups: 2, touches: 2}))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), FileName)
			s, err := Open(path, mlsOptions(10, 10))
			if err != nil {
				t.Fatal(err)
			}
			storetest.MustOrder(t, s, "g", 0, storetest.Commit("a", 0))
			storetest.MustOrder(t, s, "g", 1, storetest.Commit("a", 1))
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			checkFile(t, path)
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Update(tc.damage); err != nil {
				t.Fatal(err)
			}
			db.Close()
			if err := Check(path); !errors.Is(err, ErrCorrupt) {
				t.Errorf("Check = %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestStoreCheckFindsASequencerOverItsBounds(t *testing.T) {
	s := openTest(t, mlsOptions(10, 10))
	for _, g := range []string{"a", "b"} {
		storetest.MustOrder(t, s, g, 0, storetest.Commit(g, 0))
		storetest.MustOrder(t, s, g, 1, storetest.Commit(g, 1))
	}
	for _, tc := range []struct {
		name                  string
		maxGroups, maxCommits int
	}{
		{"more groups than MaxGroups", 1, 2},
		{"a group over MaxCommitsPerGroup", 2, 1},
	} {
		o := s.opts
		o.MaxGroups, o.MaxCommitsPerGroup = tc.maxGroups, tc.maxCommits
		if err := checkDB(s.db, &o); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: Check = %v, want ErrCorrupt", tc.name, err)
		}
	}
	exact := s.opts
	exact.MaxGroups, exact.MaxCommitsPerGroup = 2, 2
	if err := checkDB(s.db, &exact); err != nil {
		t.Errorf("Check of a sequencer exactly at its bounds: %v", err)
	}
}

// TestRefusedClaimsChangeNotAByte keeps the file-level half of storetest's
// OnlyAMemberOfTheEpochMovesTheSequencer: the claims it refuses leave
// every record of the sequencer as it was, its recency order and totals
// included (the suite can only see what a probe answers).
func TestRefusedClaimsChangeNotAByte(t *testing.T) {
	s := openTest(t, mlsOptions(10, 10))
	g := []byte("g")
	storetest.MustOrder(t, s, "g", 0, storetest.Commit("alice", 0))
	storetest.MustOrder(t, s, "g", 1, storetest.Commit("alice", 1))
	storetest.MustOrder(t, s, "h", 0, storetest.Commit("bob", 0))
	before := mlsSnapshot(t, s)
	junk := []byte("junk")
	for _, c := range []protocol.CommitClaim{
		storetest.ClaimBy("mallory", g, 2, junk),
		storetest.ClaimBy("mallory", g, 0, junk),
		storetest.Claim(g, 3, junk),
		{Group: g, Epoch: 2, Commit: junk},
	} {
		if _, err := s.OrderCommit(c); !errors.Is(err, protocol.ErrBadCommitClaim) {
			t.Fatalf("claim of epoch %d: %v, want ErrBadCommitClaim", c.Epoch, err)
		}
	}
	if after := mlsSnapshot(t, s); !reflect.DeepEqual(after, before) {
		t.Errorf("refused claims changed the sequencer's records:\nbefore %q\nafter  %q", before, after)
	}
}

// mlsSnapshot is every key and value of the sequencer's buckets and
// totals, to show that a refused claim changed nothing.
func mlsSnapshot(t testing.TB, s *Store) map[string]string {
	t.Helper()
	snap := map[string]string{}
	var walk func(prefix string, b *bolt.Bucket) error
	walk = func(prefix string, b *bolt.Bucket) error {
		return b.ForEach(func(k, v []byte) error {
			if v == nil {
				return walk(prefix+string(k)+"/", b.Bucket(k))
			}
			snap[prefix+string(k)] = string(v)
			return nil
		})
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		snap["totals"] = string(tx.Bucket(bucketMeta).Get(keyMLSTotals))
		for _, name := range [][]byte{bucketMLSGroups, bucketMLSCommits, bucketMLSRecency} {
			if err := walk(string(name)+"/", tx.Bucket(name)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}
