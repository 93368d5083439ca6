package store

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/crypto/commitclaim"
	"github.com/quicprochat/qpc/protocol"
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

// epochKey is the test sequencer key of epoch of group as who derives it:
// the same for every member of the epoch, as the MLS exporter's is
// ("member"), and another for anyone else.
func epochKey(who string, group []byte, epoch uint64) ed25519.PrivateKey {
	seed := sha256.Sum256(binary.BigEndian.AppendUint64(append([]byte(who+" key of "), group...), epoch))
	k, err := commitclaim.Key(seed[:])
	if err != nil {
		panic(err) // a 32-byte seed: cannot fail
	}
	return k
}

// claimBy is who's claim of epoch of group for c, proven with who's key of
// epoch and naming who's key of epoch+1.
func claimBy(who string, group []byte, epoch uint64, c []byte) protocol.CommitClaim {
	k, nextKey := epochKey(who, group, epoch), commitclaim.Public(epochKey(who, group, epoch+1))
	return protocol.CommitClaim{Group: group, Epoch: epoch, Commit: c,
		Key: commitclaim.Public(k), Proof: commitclaim.Sign(k, group, epoch, c, nextKey), NextKey: nextKey}
}

// claim is a member's claim of epoch of group for c.
func claim(group []byte, epoch uint64, c []byte) protocol.CommitClaim {
	return claimBy("member", group, epoch, c)
}

// mustOrder orders a member's claim and fails the test if the store fails.
func mustOrder(t testing.TB, s *Store, group string, epoch uint64, c []byte) protocol.CommitOrder {
	t.Helper()
	o, err := s.OrderCommit(claim([]byte(group), epoch, c))
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
		want   protocol.CommitOrder
	}{
		{"a new group accepts epoch 0", 0, commit("alice", 0), protocol.CommitOrder{Accepted: true, Next: 1}},
		{"another commit for epoch 0 is refused", 0, commit("bob", 0),
			protocol.CommitOrder{Next: 1, Missing: commits(commit("alice", 0))}},
		{"the winner's retry is accepted again", 0, commit("alice", 0), protocol.CommitOrder{Accepted: true, Next: 1}},
		{"the next epoch is accepted", 1, commit("alice", 1), protocol.CommitOrder{Accepted: true, Next: 2}},
		{"and the one after", 2, commit("carol", 2), protocol.CommitOrder{Accepted: true, Next: 3}},
		{"a claim one epoch behind gets the kept commits from it on", 1, commit("bob", 1),
			protocol.CommitOrder{Next: 3, Missing: commits(commit("alice", 1), commit("carol", 2))}},
		{"a claim two epochs behind gets all three, oldest first", 0, commit("bob", 0),
			protocol.CommitOrder{Next: 3, Missing: commits(commit("alice", 0), commit("alice", 1), commit("carol", 2))}},
		{"the retry of an older winner is still accepted", 1, commit("alice", 1), protocol.CommitOrder{Accepted: true, Next: 3}},
	}
	for _, st := range steps {
		if got := mustOrder(t, s, "g", st.epoch, st.commit); !reflect.DeepEqual(got, st.want) {
			t.Errorf("%s: got %+v, want %+v", st.name, got, st.want)
		}
	}
	if got := mustOrder(t, s, "other group", 3, commit("dave", 3)); !reflect.DeepEqual(got, protocol.CommitOrder{Accepted: true, Next: 4}) {
		t.Errorf("another group is ordered on its own: %+v", got)
	}
}

func TestARefusalReturnsAtMostMaxMissingCommits(t *testing.T) {
	s := openTest(t, mlsOptions(10, 64))
	for e := range uint64(40) {
		mustOrder(t, s, "g", e, commit("alice", e))
	}
	o := mustOrder(t, s, "g", 3, commit("bob", 3))
	if o.Accepted || o.Next != 40 || len(o.Missing) != protocol.MaxMissingCommits {
		t.Fatalf("a claim 37 epochs behind: accepted %v, next %d, %d missing; want refused, 40, %d",
			o.Accepted, o.Next, len(o.Missing), protocol.MaxMissingCommits)
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
	// The key a dropped commit was claimed with went with it: a claim of
	// its epoch proves nothing any more.
	if o, err := s.OrderCommit(claim([]byte("g"), 0, commit("alice", 0))); !errors.Is(err, protocol.ErrBadCommitClaim) {
		t.Errorf("the retry of a dropped commit: %+v, %v; want ErrBadCommitClaim", o, err)
	}
	o := mustOrder(t, s, "g", 3, commit("bob", 3))
	want := protocol.CommitOrder{Next: 6, Missing: commits(commit("alice", 3), commit("alice", 4), commit("alice", 5))}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("a claim of the oldest kept epoch: %+v, want it refused with the 3 kept", o)
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
		if o, err := s.OrderCommit(claim(tc.group, tc.epoch, tc.commit)); !errors.Is(err, protocol.ErrBadRequest) {
			t.Errorf("%s: %+v, %v; want ErrBadRequest", tc.name, o, err)
		}
	}
	if o := mustOrder(t, s, "g", 0, commit("a", 0)); !o.Accepted || o.Next != 1 {
		t.Errorf("after bad claims the group is new: %+v", o)
	}
	long := bytes.Repeat([]byte{0xff}, protocol.MaxGroupID)
	if o, err := s.OrderCommit(claim(long, math.MaxUint64-1, commit("a", 0))); err != nil || o.Next != math.MaxUint64 {
		t.Errorf("a 255-byte group at the last epoch with a next: %+v, %v", o, err)
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

// TestOnlyAMemberOfTheEpochMovesTheSequencer is the audit's attack: users
// who are not members of the group's current epoch (a stranger, an
// ex-member with an old epoch's key, a node on the path that copied a
// member's proof) claim the next epoch, a stale one and 2^64-2 with junk.
// Every claim fails with ErrBadCommitClaim, gets no commits back and
// changes not a byte; the members then still commit.
func TestOnlyAMemberOfTheEpochMovesTheSequencer(t *testing.T) {
	s := openTest(t, mlsOptions(10, 10))
	g := []byte("g")
	mustOrder(t, s, "g", 0, commit("alice", 0))
	mustOrder(t, s, "g", 1, commit("alice", 1))
	before := mlsSnapshot(t, s)
	junk := []byte("junk")
	// The ex-member knows epoch 1's key (it was removed by commit 1).
	exKey := epochKey("member", g, 1)
	exNext := commitclaim.Public(epochKey("mallory", g, 3))
	// A node on the path saw alice's real claim of epoch 2 and puts its
	// own commit or next key under her proof.
	real := claim(g, 2, commit("alice", 2))
	swapped := real
	swapped.Commit = junk
	redirected := real
	redirected.NextKey = exNext
	forged := claim(g, 2, junk)
	forged.Proof = commitclaim.Sign(epochKey("mallory", g, 2), g, 2, junk, forged.NextKey)
	for _, tc := range []struct {
		name string
		c    protocol.CommitClaim
	}{
		{"a stranger's claim of the next epoch", claimBy("mallory", g, 2, junk)},
		{"a stranger's claim of epoch 2^64-2", claimBy("mallory", g, math.MaxUint64-1, junk)},
		{"a member's key for epoch 2^64-2", claim(g, math.MaxUint64-1, junk)},
		{"a claim of the epoch after next", claim(g, 3, junk)},
		{"a stranger's stale claim, fishing for commits", claimBy("mallory", g, 0, junk)},
		{"the ex-member's old key on the next epoch", protocol.CommitClaim{Group: g, Epoch: 2, Commit: junk,
			Key: commitclaim.Public(exKey), Proof: commitclaim.Sign(exKey, g, 2, junk, exNext), NextKey: exNext}},
		{"a member's proof with another commit", swapped},
		{"a member's proof with another next key", redirected},
		{"the epoch's key with a proof it did not sign", forged},
		{"no proof at all", protocol.CommitClaim{Group: g, Epoch: 2, Commit: junk}},
	} {
		o, err := s.OrderCommit(tc.c)
		if !errors.Is(err, protocol.ErrBadCommitClaim) || o.Accepted || o.Missing != nil {
			t.Errorf("%s: %+v, %v; want ErrBadCommitClaim and nothing", tc.name, o, err)
		}
	}
	if after := mlsSnapshot(t, s); !reflect.DeepEqual(after, before) {
		t.Errorf("refused claims changed the sequencer:\nbefore %q\nafter  %q", before, after)
	}
	if o, err := s.OrderCommit(real); err != nil || !reflect.DeepEqual(o, protocol.CommitOrder{Accepted: true, Next: 3}) {
		t.Fatalf("alice's real claim after the attack: %+v, %v", o, err)
	}
	if o, err := s.OrderCommit(real); err != nil || !o.Accepted {
		t.Errorf("the very claim again (a retry): %+v, %v; want accepted", o, err)
	}
	if o := mustOrder(t, s, "g", 3, commit("bob", 3)); !o.Accepted || o.Next != 4 {
		t.Errorf("the group goes on: %+v", o)
	}
}

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
			if err := b.Put(seqKey(e), commit("alice", e)); err != nil {
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
	if err := s.Check(); err != nil {
		t.Fatalf("Check of a version 1 group: %v", err)
	}
	if o := mustOrder(t, s, "old", 1, commit("alice", 1)); !o.Accepted || o.Next != 2 {
		t.Errorf("the retry of a bare commit: %+v, want accepted", o)
	}
	if o, err := s.OrderCommit(claim(g, 1, junkCommit)); !errors.Is(err, protocol.ErrBadCommitClaim) {
		t.Errorf("another claim of a bare epoch: %+v, %v; want ErrBadCommitClaim (a bare commit proves no claim)", o, err)
	}
	if o, err := s.OrderCommit(claim(g, 3, junkCommit)); !errors.Is(err, protocol.ErrBadCommitClaim) {
		t.Errorf("a claim past next of an old group: %+v, %v; want ErrBadCommitClaim", o, err)
	}
	if o := mustOrder(t, s, "old", 2, commit("bob", 2)); !o.Accepted || o.Next != 3 {
		t.Fatalf("the next claim of an old group: %+v, want accepted", o)
	}
	if o, err := s.OrderCommit(claimBy("mallory", g, 3, junkCommit)); !errors.Is(err, protocol.ErrBadCommitClaim) {
		t.Errorf("a stranger after the group was keyed: %+v, %v; want ErrBadCommitClaim", o, err)
	}
	want := protocol.CommitOrder{Next: 3, Missing: commits(commit("bob", 2))}
	if o := mustOrder(t, s, "old", 2, commit("carol", 2)); !reflect.DeepEqual(o, want) {
		t.Errorf("a member's stale claim of the keyed epoch: %+v, want %+v", o, want)
	}
	if o := mustOrder(t, s, "old", 3, commit("bob", 3)); !o.Accepted {
		t.Errorf("the group goes on: %+v", o)
	}
}

var junkCommit = []byte("junk")

// TestConcurrentClaimsOfOneEpochAcceptExactlyOne races 16 members' claims
// of one epoch with 16 strangers' claims of it and of 2^64-2: exactly one
// member wins, the other members get its commit, every stranger fails
// with ErrBadCommitClaim.
func TestConcurrentClaimsOfOneEpochAcceptExactlyOne(t *testing.T) {
	s := openTest(t, mlsOptions(10, 10))
	mustOrder(t, s, "g", 0, commit("creator", 0))
	const n = 16
	orders := make([]protocol.CommitOrder, n)
	errs, strangers := make([]error, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			orders[i], errs[i] = s.OrderCommit(claim([]byte("g"), 1, commit(fmt.Sprint("member ", i), 1)))
		})
		wg.Go(func() {
			epoch := uint64(1)
			if i%2 == 1 {
				epoch = math.MaxUint64 - 1
			}
			_, strangers[i] = s.OrderCommit(claimBy(fmt.Sprint("stranger ", i), []byte("g"), epoch, junkCommit))
		})
	}
	wg.Wait()
	for i, err := range strangers {
		if !errors.Is(err, protocol.ErrBadCommitClaim) {
			t.Errorf("stranger %d: %v, want ErrBadCommitClaim", i, err)
		}
	}
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
	want := protocol.CommitOrder{Next: 2, Missing: commits(commit(fmt.Sprint("member ", winner), 1))}
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
	if o := mustOrder(t, s, "c", 2, commit("x", 2)); !reflect.DeepEqual(o, protocol.CommitOrder{Next: 4, Missing: commits(commit("c", 2), commit("c", 3))}) {
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
		n, last, err := s.KeyPackageCount("alice", 1)
		if err != nil || n != wantCount || last != wantLast {
			t.Errorf("%s: %d, %v, %v; want %d, %v", when, n, last, err, wantCount, wantLast)
		}
	}
	check("before any upload", 0, false)
	if err := s.AddKeyPackages("alice", 1, [][]byte{[]byte("kp1"), []byte("kp2")}, nil); err != nil {
		t.Fatal(err)
	}
	check("after two uploads", 2, false)
	if err := s.AddKeyPackages("alice", 1, [][]byte{[]byte("kp3")}, []byte("last")); err != nil {
		t.Fatal(err)
	}
	check("after one more and a last resort", 3, true)
	for range 4 {
		if _, _, err := s.TakeKeyPackage("alice", 1); err != nil {
			t.Fatal(err)
		}
	}
	check("after every package was taken and the last resort once", 0, true)
	if _, _, err := s.KeyPackageCount("ghost", 1); !errors.Is(err, protocol.ErrUnknownUser) {
		t.Errorf("count of a missing user: %v, want ErrUnknownUser", err)
	}
}
