package app

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/crypto/ca"
	"github.com/quicprochat/qpc/crypto/mls"
)

// classicOnly is a client from before the post-quantum suite: it publishes
// suite-1 KeyPackages only.
var classicOnly = []mls.CipherSuiteID{mls.X25519AES128GCMSHA256Ed25519}

// TestChatAGroupWithAMemberLackingPQIsClassic checks, over two federated
// nodes, that a group whose first invitee has only suite-1 KeyPackages is
// made classic before the invitation, works for every member (one of whom
// could have had the post-quantum suite), and stays classic; that a
// post-quantum group refuses such an invitee instead of falling back; and
// that a DM with such a user is classic.
func TestChatAGroupWithAMemberLackingPQIsClassic(t *testing.T) {
	c := newCommunity(t)
	n1 := start(t, c.federated("n1.example.mesh", ca.IssueOptions{}))
	n2 := start(t, c.federated("n2.example.mesh", ca.IssueOptions{}, n1.Addr().String()))
	waitLinks(t, n1, "n2.example.mesh")
	waitLinks(t, n2, "n1.example.mesh")
	alice, bob := newChatter(t, n1, "alice"), newChatter(t, n1, "bob")
	dave := openChatterOpts(t, newAccount(t, n2, "dave"), chat.Options{Dir: t.TempDir(), Log: testLogger(t), Suites: classicOnly})
	ctx := ctxT(t)

	g, err := alice.e.CreateGroup(ctx, "mixed")
	if err != nil {
		t.Fatal(err)
	}
	if id, err := alice.e.GroupSuite(g.ID); err != nil || id != mls.MLKEM768X25519AES256GCMSHA384Ed25519 {
		t.Fatalf("a new group of one: suite %v, %v; want the post-quantum one", id, err)
	}
	for _, who := range []string{"dave@n2.example.mesh", "bob"} {
		if err := alice.e.Invite(ctx, g.ID, who); err != nil {
			t.Fatalf("invite %s: %v", who, err)
		}
	}
	for _, m := range []*chatter{bob, dave} {
		m.sync()
		if err := m.e.Join(ctx, m.find("#mixed").ID); err != nil {
			t.Fatal(err)
		}
	}
	alice.send(alice.find("#mixed").ID, "one classic member makes a classic group")
	dave.send(dave.find("#mixed").ID, "dave here")
	if err := bob.e.UpdateKey(ctx, bob.find("#mixed").ID); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*chatter{alice, bob, dave} {
		m.sync()
	}
	for _, m := range []*chatter{alice, bob, dave} {
		got := m.texts(m.find("#mixed").ID)
		if !slices.Contains(got, "alice: one classic member makes a classic group") || !slices.Contains(got, "dave: dave here") {
			t.Errorf("%s reads %q", m.a.Address(), got)
		}
	}
	sameEpoch(t, "#mixed", alice, bob, dave)
	sameSuite(t, "#mixed", mls.X25519AES128GCMSHA256Ed25519, alice, bob, dave)
	hist, err := alice.e.History(alice.find("#mixed").ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	said := false
	for _, m := range hist {
		said = said || m.System && strings.Contains(m.Text, "no post-quantum key package")
	}
	if !said {
		t.Error("alice's history does not say why #mixed is classic")
	}

	// A post-quantum group with a second member does not fall back.
	pq, err := alice.e.CreateGroup(ctx, "pq")
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.e.Invite(ctx, pq.ID, "bob"); err != nil {
		t.Fatal(err)
	}
	if err := alice.e.Invite(ctx, pq.ID, "dave@n2.example.mesh"); !errors.Is(err, chat.ErrNoPQKeyPackage) {
		t.Errorf("inviting dave into a post-quantum group: %v, want ErrNoPQKeyPackage", err)
	}
	if id, _ := alice.e.GroupSuite(pq.ID); id != mls.MLKEM768X25519AES256GCMSHA384Ed25519 {
		t.Errorf("#pq after the refused invitation: suite %v", id)
	}

	// A DM follows the peer: classic with dave, post-quantum with bob.
	for _, tc := range []struct {
		peer string
		want mls.CipherSuiteID
	}{{"dave@n2.example.mesh", mls.X25519AES128GCMSHA256Ed25519}, {"bob", mls.MLKEM768X25519AES256GCMSHA384Ed25519}} {
		dm, err := alice.e.DM(ctx, tc.peer)
		if err != nil {
			t.Fatal(err)
		}
		if id, err := alice.e.GroupSuite(dm.ID); err != nil || id != tc.want {
			t.Errorf("DM with %s: suite %v, %v; want %v", tc.peer, id, err, tc.want)
		}
	}
}

// TestChatPQOnlyRefusesClassicGroups checks the post-quantum-only setting:
// it uploads no suite-1 KeyPackage, so a classic inviter cannot add it;
// it refuses to make a group or DM classic for a user without the
// post-quantum suite; and a classic Welcome that still reaches it (made
// from a KeyPackage it uploaded before the setting) is refused without
// joining.
func TestChatPQOnlyRefusesClassicGroups(t *testing.T) {
	n := start(t, testConfig(t))
	dave := openChatterOpts(t, newAccount(t, n, "dave"), chat.Options{Dir: t.TempDir(), Log: testLogger(t), Suites: classicOnly})
	erinAcct := newAccount(t, n, "erin")
	erinDir := t.TempDir()
	// Before --pq-only, erin's client published both suites.
	before := openChatterOpts(t, erinAcct, chat.Options{Dir: erinDir, Log: testLogger(t)})
	before.e.Close()
	erin := openChatterOpts(t, erinAcct, chat.Options{Dir: erinDir, Log: testLogger(t), PQOnly: true})
	ctx := ctxT(t)

	g, err := erin.e.CreateGroup(ctx, "pqonly")
	if err != nil {
		t.Fatal(err)
	}
	if err := erin.e.Invite(ctx, g.ID, "dave"); !errors.Is(err, chat.ErrClassicRefused) {
		t.Errorf("erin invites classic dave: %v, want ErrClassicRefused", err)
	}
	if id, _ := erin.e.GroupSuite(g.ID); id != mls.MLKEM768X25519AES256GCMSHA384Ed25519 {
		t.Errorf("erin's group after the refusal: suite %v", id)
	}
	if _, err := erin.e.DM(ctx, "dave"); !errors.Is(err, chat.ErrClassicRefused) {
		t.Errorf("erin starts a DM with classic dave: %v, want ErrClassicRefused", err)
	}

	// Dave's classic group takes erin's one suite-1 KeyPackage left from
	// before (--pq-only uploads no new ones), and
	// erin refuses the Welcome.
	dg, err := dave.e.CreateGroup(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	if err := dave.e.Invite(ctx, dg.ID, "erin"); err != nil {
		t.Fatalf("dave invites erin with a KeyPackage from before --pq-only: %v", err)
	}
	erin.sync()
	if _, err := erin.e.Find("#old"); !errors.Is(err, chat.ErrNoConversation) {
		t.Errorf("erin has #old after a classic Welcome under --pq-only: %v", err)
	}
	refused := false
	for _, s := range erin.statuses() {
		refused = refused || strings.Contains(s, "refused") && strings.Contains(s, "dave@")
	}
	if !refused {
		t.Errorf("erin was not told of the refused invitation: %q", erin.statuses())
	}
	// A PQ-capable inviter still reaches erin.
	frank := newChatter(t, n, "frank")
	fg, err := frank.e.CreateGroup(ctx, "new")
	if err != nil {
		t.Fatal(err)
	}
	if err := frank.e.Invite(ctx, fg.ID, "erin"); err != nil {
		t.Fatal(err)
	}
	erin.sync()
	if err := erin.e.Join(ctx, erin.find("#new").ID); err != nil {
		t.Fatal(err)
	}
	sameSuite(t, "#new", mls.MLKEM768X25519AES256GCMSHA384Ed25519, frank, erin)
}
