package store

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/node"
)

// mlsOptions are testOptions with small sequencer bounds.
func mlsOptions(maxGroups, maxCommits int) Options {
	o := testOptions()
	o.MaxGroups, o.MaxCommitsPerGroup = maxGroups, maxCommits
	return o
}

// commit is the test commit of epoch by member.
func commit(member string, epoch uint64) []byte {
	return fmt.Appendf(nil, "commit of epoch %d by %s", epoch, member)
}

// mustOrder orders a claim and fails the test if the store fails.
func mustOrder(t testing.TB, s *Store, group string, epoch uint64, c []byte) node.CommitOrder {
	t.Helper()
	o, err := s.OrderCommit([]byte(group), epoch, c)
	if err != nil {
		t.Fatalf("OrderCommit(%s, %d): %v", group, epoch, err)
	}
	return o
}

func commits(cs ...[]byte) [][]byte { return cs }

func TestTheFirstClaimOfAnEpochWinsAndTheLoserGetsWhatItMissed(t *testing.T) {
	s := openTest(t, mlsOptions(10, 10))
	steps := []struct {
		name   string
		epoch  uint64
		commit []byte
		want   node.CommitOrder
	}{
		{"a new group accepts epoch 0", 0, commit("alice", 0), node.CommitOrder{Accepted: true, Next: 1}},
		{"another commit for epoch 0 is refused", 0, commit("bob", 0),
			node.CommitOrder{Next: 1, Missing: commits(commit("alice", 0))}},
		{"the winner's retry is accepted again", 0, commit("alice", 0), node.CommitOrder{Accepted: true, Next: 1}},
		{"the next epoch is accepted", 1, commit("alice", 1), node.CommitOrder{Accepted: true, Next: 2}},
		{"an epoch ahead of next is accepted and moves next past it", 5, commit("carol", 5), node.CommitOrder{Accepted: true, Next: 6}},
		{"a claim of a skipped epoch gets the kept commits from it on", 2, commit("bob", 2),
			node.CommitOrder{Next: 6, Missing: commits(commit("carol", 5))}},
		{"a claim two epochs behind gets both, oldest first", 0, commit("bob", 0),
			node.CommitOrder{Next: 6, Missing: commits(commit("alice", 0), commit("alice", 1), commit("carol", 5))}},
		{"the retry of an older winner is still accepted", 1, commit("alice", 1), node.CommitOrder{Accepted: true, Next: 6}},
	}
	for _, st := range steps {
		if got := mustOrder(t, s, "g", st.epoch, st.commit); !reflect.DeepEqual(got, st.want) {
			t.Errorf("%s: got %+v, want %+v", st.name, got, st.want)
		}
	}
	if got := mustOrder(t, s, "other group", 3, commit("dave", 3)); !reflect.DeepEqual(got, node.CommitOrder{Accepted: true, Next: 4}) {
		t.Errorf("another group is ordered on its own: %+v", got)
	}
}

func TestARefusalReturnsAtMostMaxMissingCommits(t *testing.T) {
	s := openTest(t, mlsOptions(10, 64))
	for e := range uint64(40) {
		mustOrder(t, s, "g", e, commit("alice", e))
	}
	o := mustOrder(t, s, "g", 3, commit("bob", 3))
	if o.Accepted || o.Next != 40 || len(o.Missing) != node.MaxMissingCommits {
		t.Fatalf("a claim 37 epochs behind: accepted %v, next %d, %d missing; want refused, 40, %d",
			o.Accepted, o.Next, len(o.Missing), node.MaxMissingCommits)
	}
	for i, c := range o.Missing {
		if want := commit("alice", uint64(3+i)); !bytes.Equal(c, want) {
			t.Errorf("missing %d is %q, want %q", i, c, want)
		}
	}
}

func TestAGroupKeepsOnlyItsLastCommits(t *testing.T) {
	s := openTest(t, mlsOptions(10, 3))
	for e := range uint64(6) {
		mustOrder(t, s, "g", e, commit("alice", e))
	}
	o := mustOrder(t, s, "g", 0, commit("alice", 0))
	want := node.CommitOrder{Next: 6, Missing: commits(commit("alice", 3), commit("alice", 4), commit("alice", 5))}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("the retry of a dropped commit: %+v, want it refused with the 3 kept", o)
	}
	if o := mustOrder(t, s, "g", 4, commit("alice", 4)); !o.Accepted {
		t.Errorf("the retry of a kept commit: %+v, want accepted", o)
	}
}

func TestANewGroupBeyondMaxGroupsEvictsTheGroupClaimedLongestAgo(t *testing.T) {
	s := openTest(t, mlsOptions(2, 10))
	mustOrder(t, s, "a", 0, commit("alice", 0))
	mustOrder(t, s, "b", 0, commit("bob", 0))
	// A refused claim touches its group too: a is now the most recent.
	if o := mustOrder(t, s, "a", 0, commit("mallory", 0)); o.Accepted {
		t.Fatalf("a competing claim was accepted: %+v", o)
	}
	mustOrder(t, s, "c", 0, commit("carol", 0)) // evicts b
	if o := mustOrder(t, s, "a", 0, commit("mallory", 0)); o.Accepted {
		t.Errorf("group a was evicted, not b: %+v", o)
	}
	// c was claimed last, so the new b evicts a.
	if o := mustOrder(t, s, "b", 0, commit("mallory", 0)); !o.Accepted || o.Next != 1 {
		t.Errorf("b should be new again after its eviction: %+v", o)
	}
	if o := mustOrder(t, s, "c", 0, commit("carol", 0)); !o.Accepted {
		t.Errorf("c, kept, lost its commit: %+v", o)
	}
}

func TestBadClaimsAreRefusedWithErrBadRequestAndChangeNothing(t *testing.T) {
	s := openTest(t, mlsOptions(10, 10))
	for _, tc := range []struct {
		name   string
		group  []byte
		epoch  uint64
		commit []byte
	}{
		{"an empty group id", nil, 0, commit("a", 0)},
		{"a group id of 256 bytes", make([]byte, 256), 0, commit("a", 0)},
		{"an empty commit", []byte("g"), 0, nil},
		{"the epoch 2^64-1", []byte("g"), math.MaxUint64, commit("a", 0)},
	} {
		if o, err := s.OrderCommit(tc.group, tc.epoch, tc.commit); !errors.Is(err, node.ErrBadRequest) {
			t.Errorf("%s: %+v, %v; want ErrBadRequest", tc.name, o, err)
		}
	}
	if o := mustOrder(t, s, "g", 0, commit("a", 0)); !o.Accepted || o.Next != 1 {
		t.Errorf("after bad claims the group is new: %+v", o)
	}
	long := bytes.Repeat([]byte{0xff}, node.MaxGroupID)
	if o, err := s.OrderCommit(long, math.MaxUint64-1, commit("a", 0)); err != nil || o.Next != math.MaxUint64 {
		t.Errorf("a 255-byte group at the last epoch with a next: %+v, %v", o, err)
	}
}

func TestConcurrentClaimsOfOneEpochAcceptExactlyOne(t *testing.T) {
	s := openTest(t, mlsOptions(10, 10))
	mustOrder(t, s, "g", 0, commit("creator", 0))
	const n = 16
	orders := make([]node.CommitOrder, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			orders[i], errs[i] = s.OrderCommit([]byte("g"), 1, commit(fmt.Sprint("member ", i), 1))
		})
	}
	wg.Wait()
	winner := -1
	for i, o := range orders {
		if errs[i] != nil {
			t.Fatalf("claim %d: %v", i, errs[i])
		}
		if o.Accepted {
			if winner >= 0 {
				t.Fatalf("claims %d and %d were both accepted", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatal("no claim was accepted")
	}
	want := node.CommitOrder{Next: 2, Missing: commits(commit(fmt.Sprint("member ", winner), 1))}
	for i, o := range orders {
		if i != winner && !reflect.DeepEqual(o, want) {
			t.Errorf("loser %d got %+v, want %+v", i, o, want)
		}
	}
}

func TestCommitsSurviveAReopenAndLowerBoundsTrimThem(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, mlsOptions(10, 10))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"a", "b", "c"} {
		for e := range uint64(4) {
			mustOrder(t, s, g, e, commit(g, e))
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
	if err := s.Check(); err != nil {
		t.Errorf("Check after Open with lower bounds: %v", err)
	}
	if o := mustOrder(t, s, "c", 0, commit("x", 0)); !reflect.DeepEqual(o, node.CommitOrder{Next: 4, Missing: commits(commit("c", 2), commit("c", 3))}) {
		t.Errorf("c after the reopen: %+v; want its last 2 commits", o)
	}
	if o := mustOrder(t, s, "a", 0, commit("x", 0)); !o.Accepted || o.Next != 1 {
		t.Errorf("a, claimed longest ago, should have been evicted: %+v", o)
	}
}

func TestCheckFindsBrokenSequencerInvariants(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(tx *bolt.Tx) error
	}{
		{"a group record that miscounts its commits", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMLSGroups).Put([]byte("g"), encodeMLSGroup(mlsGroup{next: 2, kept: 1, touched: 2}))
		}},
		{"a group whose next is not after its newest commit", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMLSGroups).Put([]byte("g"), encodeMLSGroup(mlsGroup{next: 3, kept: 2, touched: 2}))
		}},
		{"a group touched after the last claim", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMLSGroups).Put([]byte("g"), encodeMLSGroup(mlsGroup{next: 2, kept: 2, touched: 9}))
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
			mustOrder(t, s, "g", 0, commit("a", 0))
			mustOrder(t, s, "g", 1, commit("a", 1))
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
		mustOrder(t, s, g, 0, commit(g, 0))
		mustOrder(t, s, g, 1, commit(g, 1))
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

func TestKeyPackageCountCountsAllButTheLastResort(t *testing.T) {
	s := openTest(t, testOptions())
	mustCreate(t, s, "alice")
	check := func(when string, wantCount int, wantLast bool) {
		t.Helper()
		n, last, err := s.KeyPackageCount("alice")
		if err != nil || n != wantCount || last != wantLast {
			t.Errorf("%s: %d, %v, %v; want %d, %v", when, n, last, err, wantCount, wantLast)
		}
	}
	check("before any upload", 0, false)
	if err := s.AddKeyPackages("alice", [][]byte{[]byte("kp1"), []byte("kp2")}, nil); err != nil {
		t.Fatal(err)
	}
	check("after two uploads", 2, false)
	if err := s.AddKeyPackages("alice", [][]byte{[]byte("kp3")}, []byte("last")); err != nil {
		t.Fatal(err)
	}
	check("after one more and a last resort", 3, true)
	for range 4 {
		if _, _, err := s.TakeKeyPackage("alice"); err != nil {
			t.Fatal(err)
		}
	}
	check("after every package was taken and the last resort once", 0, true)
	if _, _, err := s.KeyPackageCount("ghost"); !errors.Is(err, node.ErrUnknownUser) {
		t.Errorf("count of a missing user: %v, want ErrUnknownUser", err)
	}
}
