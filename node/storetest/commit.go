package storetest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
	"testing"

	"github.com/quicprochat/qpc/crypto/commitclaim"
	"github.com/quicprochat/qpc/protocol"
)

// MLSConfig is testConfig with small sequencer bounds.
func MLSConfig(maxGroups, maxCommits int) Config {
	o := testConfig()
	o.MaxGroups, o.MaxCommitsPerGroup = maxGroups, maxCommits
	return o
}

// Commit is the test commit of epoch by member.
func Commit(member string, epoch uint64) []byte {
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

// ClaimBy is who's claim of epoch of group for c, proven with who's key of
// epoch and naming who's key of epoch+1.
func ClaimBy(who string, group []byte, epoch uint64, c []byte) protocol.CommitClaim {
	k, nextKey := epochKey(who, group, epoch), commitclaim.Public(epochKey(who, group, epoch+1))
	return protocol.CommitClaim{Group: group, Epoch: epoch, Commit: c,
		Key: commitclaim.Public(k), Proof: commitclaim.Sign(k, group, epoch, c, nextKey), NextKey: nextKey}
}

// Claim is a member's claim of epoch of group for c.
func Claim(group []byte, epoch uint64, c []byte) protocol.CommitClaim {
	return ClaimBy("member", group, epoch, c)
}

// MustOrder orders a member's claim and fails the test if the store fails.
func MustOrder(t testing.TB, s Store, group string, epoch uint64, c []byte) protocol.CommitOrder {
	t.Helper()
	o, err := s.OrderCommit(Claim([]byte(group), epoch, c))
	if err != nil {
		t.Fatalf("OrderCommit(%s, %d): %v", group, epoch, err)
	}
	return o
}

// Commits lists cs, for CommitOrder.Missing.
func Commits(cs ...[]byte) [][]byte { return cs }

func testTheFirstClaimOfAnEpochWinsAndTheLoserGetsWhatItMissed(t *testing.T, open Opener) {
	s := open(t, MLSConfig(10, 10))
	steps := []struct {
		name   string
		epoch  uint64
		commit []byte
		want   protocol.CommitOrder
	}{
		{"a new group accepts epoch 0", 0, Commit("alice", 0), protocol.CommitOrder{Accepted: true, Next: 1}},
		{"another commit for epoch 0 is refused", 0, Commit("bob", 0),
			protocol.CommitOrder{Next: 1, Missing: Commits(Commit("alice", 0))}},
		{"the winner's retry is accepted again", 0, Commit("alice", 0), protocol.CommitOrder{Accepted: true, Next: 1}},
		{"the next epoch is accepted", 1, Commit("alice", 1), protocol.CommitOrder{Accepted: true, Next: 2}},
		{"and the one after", 2, Commit("carol", 2), protocol.CommitOrder{Accepted: true, Next: 3}},
		{"a claim one epoch behind gets the kept commits from it on", 1, Commit("bob", 1),
			protocol.CommitOrder{Next: 3, Missing: Commits(Commit("alice", 1), Commit("carol", 2))}},
		{"a claim two epochs behind gets all three, oldest first", 0, Commit("bob", 0),
			protocol.CommitOrder{Next: 3, Missing: Commits(Commit("alice", 0), Commit("alice", 1), Commit("carol", 2))}},
		{"the retry of an older winner is still accepted", 1, Commit("alice", 1), protocol.CommitOrder{Accepted: true, Next: 3}},
	}
	for _, st := range steps {
		if got := MustOrder(t, s, "g", st.epoch, st.commit); !reflect.DeepEqual(got, st.want) {
			t.Errorf("%s: got %+v, want %+v", st.name, got, st.want)
		}
	}
	if got := MustOrder(t, s, "other group", 3, Commit("dave", 3)); !reflect.DeepEqual(got, protocol.CommitOrder{Accepted: true, Next: 4}) {
		t.Errorf("another group is ordered on its own: %+v", got)
	}
}

func testARefusalReturnsAtMostMaxMissingCommits(t *testing.T, open Opener) {
	s := open(t, MLSConfig(10, 64))
	for e := range uint64(40) {
		MustOrder(t, s, "g", e, Commit("alice", e))
	}
	o := MustOrder(t, s, "g", 3, Commit("bob", 3))
	if o.Accepted || o.Next != 40 || len(o.Missing) != protocol.MaxMissingCommits {
		t.Fatalf("a claim 37 epochs behind: accepted %v, next %d, %d missing; want refused, 40, %d",
			o.Accepted, o.Next, len(o.Missing), protocol.MaxMissingCommits)
	}
	for i, c := range o.Missing {
		if want := Commit("alice", uint64(3+i)); !bytes.Equal(c, want) {
			t.Errorf("missing %d is %q, want %q", i, c, want)
		}
	}
}

func testAGroupKeepsOnlyItsLastCommits(t *testing.T, open Opener) {
	s := open(t, MLSConfig(10, 3))
	for e := range uint64(6) {
		MustOrder(t, s, "g", e, Commit("alice", e))
	}
	// The key a dropped commit was claimed with went with it: a claim of
	// its epoch proves nothing any more.
	if o, err := s.OrderCommit(Claim([]byte("g"), 0, Commit("alice", 0))); !errors.Is(err, protocol.ErrBadCommitClaim) {
		t.Errorf("the retry of a dropped commit: %+v, %v; want ErrBadCommitClaim", o, err)
	}
	o := MustOrder(t, s, "g", 3, Commit("bob", 3))
	want := protocol.CommitOrder{Next: 6, Missing: Commits(Commit("alice", 3), Commit("alice", 4), Commit("alice", 5))}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("a claim of the oldest kept epoch: %+v, want it refused with the 3 kept", o)
	}
	if o := MustOrder(t, s, "g", 4, Commit("alice", 4)); !o.Accepted {
		t.Errorf("the retry of a kept commit: %+v, want accepted", o)
	}
}

func testANewGroupBeyondMaxGroupsEvictsTheGroupClaimedLongestAgo(t *testing.T, open Opener) {
	s := open(t, MLSConfig(2, 10))
	MustOrder(t, s, "a", 0, Commit("alice", 0))
	MustOrder(t, s, "b", 0, Commit("bob", 0))
	// A refused claim touches its group too: a is now the most recent.
	if o := MustOrder(t, s, "a", 0, Commit("mallory", 0)); o.Accepted {
		t.Fatalf("a competing claim was accepted: %+v", o)
	}
	MustOrder(t, s, "c", 0, Commit("carol", 0)) // evicts b
	if o := MustOrder(t, s, "a", 0, Commit("mallory", 0)); o.Accepted {
		t.Errorf("group a was evicted, not b: %+v", o)
	}
	// c was claimed last, so the new b evicts a.
	if o := MustOrder(t, s, "b", 0, Commit("mallory", 0)); !o.Accepted || o.Next != 1 {
		t.Errorf("b should be new again after its eviction: %+v", o)
	}
	if o := MustOrder(t, s, "c", 0, Commit("carol", 0)); !o.Accepted {
		t.Errorf("c, kept, lost its commit: %+v", o)
	}
}

func testBadClaimsAreRefusedWithErrBadRequestAndChangeNothing(t *testing.T, open Opener) {
	s := open(t, MLSConfig(10, 10))
	for _, tc := range []struct {
		name   string
		group  []byte
		epoch  uint64
		commit []byte
	}{
		{"an empty group id", nil, 0, Commit("a", 0)},
		{"a group id of 256 bytes", make([]byte, 256), 0, Commit("a", 0)},
		{"an empty commit", []byte("g"), 0, nil},
		{"the epoch 2^64-1", []byte("g"), math.MaxUint64, Commit("a", 0)},
	} {
		if o, err := s.OrderCommit(Claim(tc.group, tc.epoch, tc.commit)); !errors.Is(err, protocol.ErrBadRequest) {
			t.Errorf("%s: %+v, %v; want ErrBadRequest", tc.name, o, err)
		}
	}
	if o := MustOrder(t, s, "g", 0, Commit("a", 0)); !o.Accepted || o.Next != 1 {
		t.Errorf("after bad claims the group is new: %+v", o)
	}
	long := bytes.Repeat([]byte{0xff}, protocol.MaxGroupID)
	if o, err := s.OrderCommit(Claim(long, math.MaxUint64-1, Commit("a", 0))); err != nil || o.Next != math.MaxUint64 {
		t.Errorf("a 255-byte group at the last epoch with a next: %+v, %v", o, err)
	}
}

// mlsSnapshot is what the sequencer knows of group "g" as a member's
// probe shows it: a claim of epoch 0 with a commit never accepted is
// refused with the group's next epoch and every kept commit, and changes
// nothing, so comparing two probes shows whether anything between them
// moved the sequencer.
func mlsSnapshot(t testing.TB, s Store) string {
	t.Helper()
	o, err := s.OrderCommit(Claim([]byte("g"), 0, []byte("probe")))
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	return fmt.Sprintf("%+v", o)
}

// testOnlyAMemberOfTheEpochMovesTheSequencer is the audit's attack: users
// who are not members of the group's current epoch (a stranger, an
// ex-member with an old epoch's key, a node on the path that copied a
// member's proof) claim the next epoch, a stale one and 2^64-2 with junk.
// Every claim fails with ErrBadCommitClaim, gets no commits back and
// changes nothing; the members then still commit.
func testOnlyAMemberOfTheEpochMovesTheSequencer(t *testing.T, open Opener) {
	s := open(t, MLSConfig(10, 10))
	g := []byte("g")
	MustOrder(t, s, "g", 0, Commit("alice", 0))
	MustOrder(t, s, "g", 1, Commit("alice", 1))
	before := mlsSnapshot(t, s)
	junk := []byte("junk")
	// The ex-member knows epoch 1's key (it was removed by commit 1).
	exKey := epochKey("member", g, 1)
	exNext := commitclaim.Public(epochKey("mallory", g, 3))
	// A node on the path saw alice's real claim of epoch 2 and puts its
	// own commit or next key under her proof.
	real := Claim(g, 2, Commit("alice", 2))
	swapped := real
	swapped.Commit = junk
	redirected := real
	redirected.NextKey = exNext
	forged := Claim(g, 2, junk)
	forged.Proof = commitclaim.Sign(epochKey("mallory", g, 2), g, 2, junk, forged.NextKey)
	for _, tc := range []struct {
		name string
		c    protocol.CommitClaim
	}{
		{"a stranger's claim of the next epoch", ClaimBy("mallory", g, 2, junk)},
		{"a stranger's claim of epoch 2^64-2", ClaimBy("mallory", g, math.MaxUint64-1, junk)},
		{"a member's key for epoch 2^64-2", Claim(g, math.MaxUint64-1, junk)},
		{"a claim of the epoch after next", Claim(g, 3, junk)},
		{"a stranger's stale Claim, fishing for commits", ClaimBy("mallory", g, 0, junk)},
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
	if after := mlsSnapshot(t, s); after != before {
		t.Errorf("refused claims changed the sequencer:\nbefore %q\nafter  %q", before, after)
	}
	if o, err := s.OrderCommit(real); err != nil || !reflect.DeepEqual(o, protocol.CommitOrder{Accepted: true, Next: 3}) {
		t.Fatalf("alice's real claim after the attack: %+v, %v", o, err)
	}
	if o, err := s.OrderCommit(real); err != nil || !o.Accepted {
		t.Errorf("the very claim again (a retry): %+v, %v; want accepted", o, err)
	}
	if o := MustOrder(t, s, "g", 3, Commit("bob", 3)); !o.Accepted || o.Next != 4 {
		t.Errorf("the group goes on: %+v", o)
	}
}

// testConcurrentClaimsOfOneEpochAcceptExactlyOne races 16 members' claims
// of one epoch with 16 strangers' claims of it and of 2^64-2: exactly one
// member wins, the other members get its commit, every stranger fails
// with ErrBadCommitClaim.
func testConcurrentClaimsOfOneEpochAcceptExactlyOne(t *testing.T, open Opener) {
	s := open(t, MLSConfig(10, 10))
	MustOrder(t, s, "g", 0, Commit("creator", 0))
	const n = 16
	orders := make([]protocol.CommitOrder, n)
	errs, strangers := make([]error, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			orders[i], errs[i] = s.OrderCommit(Claim([]byte("g"), 1, Commit(fmt.Sprint("member ", i), 1)))
		})
		wg.Go(func() {
			epoch := uint64(1)
			if i%2 == 1 {
				epoch = math.MaxUint64 - 1
			}
			_, strangers[i] = s.OrderCommit(ClaimBy(fmt.Sprint("stranger ", i), []byte("g"), epoch, []byte("junk")))
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
	want := protocol.CommitOrder{Next: 2, Missing: Commits(Commit(fmt.Sprint("member ", winner), 1))}
	for i, o := range orders {
		if i != winner && !reflect.DeepEqual(o, want) {
			t.Errorf("loser %d got %+v, want %+v", i, o, want)
		}
	}
}

func testKeyPackageCountCountsAllButTheLastResort(t *testing.T, open Opener) {
	s := open(t, testConfig())
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
