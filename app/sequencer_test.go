package app

import (
	"crypto/sha256"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/commitclaim"
	"github.com/quicprochat/qpc/crypto/mls"
	"github.com/quicprochat/qpc/protocol"
)

// These tests are audit item 3 of issue 20 against real nodes: a commit
// sequencer that only the members of a group's current epoch can move.

// groupState reopens c's chat database to read its MLS state of group as
// the account holds it, as an attacker owning that account would, and
// returns the chatter with its engine running again.
func groupState(t *testing.T, c *chatter, group string) (*chatter, *mls.Group) {
	t.Helper()
	conv := c.find(group)
	if err := c.e.Close(); err != nil {
		t.Fatal(err)
	}
	key := sha256.Sum256([]byte("export key of " + c.a.Address()))
	db, err := chatdb.Open(chatdb.Path(c.dir, strings.ToLower(c.a.Address())), key[:])
	if err != nil {
		t.Fatal(err)
	}
	var g *mls.Group
	err = db.View(func(tx *chatdb.Tx) error {
		st, err := tx.GroupState(conv.ID)
		if err != nil {
			return err
		}
		g, err = mls.LoadGroup(st, nil)
		return err
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	again := openChatter(t, c.a, c.dir)
	again.after = c.after
	return again, g
}

// junkClaim is a claim of epoch of group for junk, proven with k and
// naming a next key that only its maker knows.
func junkClaim(k []byte, group []byte, epoch uint64) client.CommitClaim {
	priv, _ := commitclaim.Key(k)
	nextSeed := sha256.Sum256(append([]byte("next of "), k...))
	next, _ := commitclaim.Key(nextSeed[:])
	junk, nextKey := []byte("junk commit"), commitclaim.Public(next)
	return client.CommitClaim{Group: group, Epoch: epoch, Commit: junk,
		Key: commitclaim.Public(priv), Proof: commitclaim.Sign(priv, group, epoch, junk, nextKey), NextKey: nextKey}
}

// TestStrangersAndExMembersCannotFreezeAGroup is the audit's attack: a
// logged-in user who is not in the group and a member removed from it
// claim the group's next epoch and epoch 2^64-2 with junk at its home
// node. Every claim is refused with ErrBadCommitClaim, and the group then
// still commits (removes a member) and its members converge.
func TestStrangersAndExMembersCannotFreezeAGroup(t *testing.T) {
	checkLeaks(t)
	n := start(t, testConfig(t))
	alice, bob, carol, dave := newChatter(t, n, "alice"), newChatter(t, n, "bob"), newChatter(t, n, "carol"), newChatter(t, n, "dave")
	mallory := newAccount(t, n, "mallory")
	ctx := ctxT(t)
	team, err := alice.e.CreateGroup(ctx, "team")
	if err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"bob", "carol", "dave"} {
		if err := alice.e.Invite(ctx, team.ID, who); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []*chatter{bob, carol, dave} {
		m.sync()
		if err := m.e.Join(ctx, m.find("#team").ID); err != nil {
			t.Fatal(err)
		}
	}
	sameEpoch(t, "#team", alice, bob, carol, dave)

	// dave keeps what a member knows: the group's state, its keys.
	dave, daveState := groupState(t, dave, "#team")
	daveKey, err := chat.EpochKey(daveState)
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.e.Remove(ctx, team.ID, "dave"); err != nil {
		t.Fatalf("alice removes dave: %v", err)
	}
	for _, m := range []*chatter{bob, carol, dave} {
		m.sync()
	}
	next := sameEpoch(t, "#team", alice, bob, carol)
	if next != daveState.Epoch()+1 {
		t.Fatalf("the group is at epoch %d after removing dave at %d", next, daveState.Epoch())
	}
	group := alice.find("#team").GroupID

	malloryKey := sha256.Sum256([]byte("mallory's own key"))
	for _, tc := range []struct {
		name  string
		who   *client.Client
		claim client.CommitClaim
	}{
		{"mallory, not a member, claims the next epoch", mallory.Client, junkClaim(malloryKey[:], group, next)},
		{"mallory claims epoch 2^64-2", mallory.Client, junkClaim(malloryKey[:], group, math.MaxUint64-1)},
		{"mallory fishes for the kept commits with a stale claim", mallory.Client, junkClaim(malloryKey[:], group, 0)},
		{"dave, removed, claims the next epoch with his last key", dave.a.Client, junkClaim(daveKey.Seed(), group, next)},
		{"dave claims epoch 2^64-2 with his last key", dave.a.Client, junkClaim(daveKey.Seed(), group, math.MaxUint64-1)},
	} {
		o, err := tc.who.OrderCommit(ctx, "", tc.claim)
		if !errors.Is(err, protocol.ErrBadCommitClaim) || o.Accepted || len(o.Missing) > 0 {
			t.Errorf("%s: %+v, %v; want ErrBadCommitClaim and no commits", tc.name, o, err)
		}
	}

	// The group is not frozen: alice (its admin: group roles) removes
	// carol, and the rest follow.
	if err := alice.e.Remove(ctx, team.ID, "carol"); err != nil {
		t.Fatalf("alice removes carol after the attack: %v", err)
	}
	bob.sync()
	carol.sync()
	if got := sameEpoch(t, "#team", alice, bob); got != next+1 {
		t.Fatalf("the group is at epoch %d after removing carol, want %d", got, next+1)
	}
	if _, _, err := carol.e.GroupEpoch(carol.find("#team").ID); !errors.Is(err, chat.ErrLeft) {
		t.Errorf("carol after her removal: %v, want ErrLeft", err)
	}
	if got := alice.find("#team").Members; !slices.Equal(got, []string{"alice@node1.example.mesh", "bob@node1.example.mesh"}) {
		t.Errorf("alice's members after both removals: %v", got)
	}
	alice.send(team.ID, "just us now")
	bob.sync()
	if got := bob.texts(bob.find("#team").ID); !slices.Contains(got, "alice: just us now") {
		t.Errorf("bob reads %q", got)
	}
}

// TestAClientBehindTheKeptCommitsReportsAndThenRecovers has bob fall
// further behind than the home node keeps commits (16): his claim is
// refused (his epoch's key went with its commit), which the engine
// reports as ErrGroupBroken with a status line instead of retrying in a
// loop; once bob's mailbox brings the commits, his change goes through:
// he did not give up for good.
func TestAClientBehindTheKeptCommitsReportsAndThenRecovers(t *testing.T) {
	checkLeaks(t)
	n := start(t, testConfig(t))
	alice, bob := newChatter(t, n, "alice"), newChatter(t, n, "bob")
	ctx := ctxT(t)
	g, err := alice.e.CreateGroup(ctx, "lag")
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.e.Invite(ctx, g.ID, "bob"); err != nil {
		t.Fatal(err)
	}
	bob.sync()
	if err := bob.e.Join(ctx, bob.find("#lag").ID); err != nil {
		t.Fatal(err)
	}
	const ahead = 20 // more than the node's default 16 kept commits
	for range ahead {
		if err := alice.e.UpdateKey(ctx, g.ID); err != nil {
			t.Fatal(err)
		}
	}
	err = bob.e.UpdateKey(ctx, bob.find("#lag").ID)
	if !errors.Is(err, chat.ErrGroupBroken) || !errors.Is(err, protocol.ErrBadCommitClaim) {
		t.Fatalf("bob's change %d epochs behind: %v; want ErrGroupBroken wrapping ErrBadCommitClaim", ahead, err)
	}
	waitFor(t, "bob's status line about #lag", func() bool {
		return slices.ContainsFunc(bob.statuses(), func(s string) bool { return strings.Contains(s, "#lag cannot change now") })
	})
	bob.sync()
	if err := bob.e.UpdateKey(ctx, bob.find("#lag").ID); err != nil {
		t.Fatalf("bob's change after catching up: %v", err)
	}
	alice.sync()
	sameEpoch(t, "#lag", alice, bob)
}

// TestAMemberWhoCommitsJunkIsReportedNotLoopedOn is what the sequencer
// cannot prevent: dave, still a member, knows the current epoch's key and
// claims the epoch with junk before alice's commit removing him. Alice's
// engine gets the junk back as the epoch's commit, cannot apply it, and
// says so (ErrGroupBroken, a status line) at once instead of retrying.
func TestAMemberWhoCommitsJunkIsReportedNotLoopedOn(t *testing.T) {
	checkLeaks(t)
	n := start(t, testConfig(t))
	alice, dave := newChatter(t, n, "alice"), newChatter(t, n, "dave")
	ctx := ctxT(t)
	g, err := alice.e.CreateGroup(ctx, "trust")
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.e.Invite(ctx, g.ID, "dave"); err != nil {
		t.Fatal(err)
	}
	dave.sync()
	dave, st := groupState(t, dave, "#trust")
	k, err := chat.EpochKey(st)
	if err != nil {
		t.Fatal(err)
	}
	if o, err := dave.a.Client.OrderCommit(ctx, "", junkClaim(k.Seed(), st.GroupID(), st.Epoch())); err != nil || !o.Accepted {
		t.Fatalf("dave's junk claim as a member: %+v, %v; a member's claim should be accepted", o, err)
	}
	err = alice.e.Remove(ctx, g.ID, "dave")
	if !errors.Is(err, chat.ErrGroupBroken) {
		t.Fatalf("alice removing dave after his junk commit: %v, want ErrGroupBroken", err)
	}
	waitFor(t, "alice's status line about #trust", func() bool {
		return slices.ContainsFunc(alice.statuses(), func(s string) bool { return strings.Contains(s, "#trust cannot change now") })
	})
	// Messages still go out; the group just cannot change.
	alice.send(g.ID, "still readable")
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 10 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
