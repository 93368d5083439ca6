package chat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/mls"
	"github.com/quicprochat/qpc/crypto/sealed"
)

// pqGroupOf returns a post-quantum group of n members seen by its creator,
// all added by one commit, and a KeyPackage of one more.
func pqGroupOf(t *testing.T, n int) (*mls.Group, *mls.KeyPackage) {
	t.Helper()
	return groupOf(t, mls.MLKEM768X25519AES256GCMSHA384Ed25519, n)
}

// groupOf returns a group of suite of n members seen by its creator, all
// added by one commit, and a KeyPackage of one more.
func groupOf(t *testing.T, suite mls.CipherSuiteID, n int) (*mls.Group, *mls.KeyPackage) {
	t.Helper()
	cs, err := mls.Suite(suite)
	if err != nil {
		t.Fatal(err)
	}
	bundle := func(i int) *mls.KeyPackageBundle {
		kpb, err := mls.NewKeyPackage(cs, mls.KeyPackageParams{Identity: fmt.Appendf(nil, "m%d@a.example", i)})
		if err != nil {
			t.Fatal(err)
		}
		return kpb
	}
	g, err := mls.NewGroup(cs, []byte("big"), bundle(0), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var kps []*mls.KeyPackage
	for i := 1; i < n; i++ {
		kps = append(kps, &bundle(i).KeyPackage)
	}
	if len(kps) > 0 {
		if _, err := g.AddMembers(kps...); err != nil {
			t.Fatal(err)
		}
		if err := g.MergePendingCommit(); err != nil {
			t.Fatal(err)
		}
	}
	return g, &bundle(n).KeyPackage
}

// TestAChangeTooLargeForAMessageIsRefusedBeforeItIsOrdered checks the
// guard commitChange applies before a commit goes to the home node: the
// invitation into a post-quantum group of 10 fits in a sealed message, the
// one into a group of 60 does not (its Welcome carries 60 X-Wing leaf
// keys) and is refused with ErrTooLarge, naming its size.
func TestAChangeTooLargeForAMessageIsRefusedBeforeItIsOrdered(t *testing.T) {
	c := &chatdb.Conversation{Kind: chatdb.KindGroup, Name: "big", Home: "a.example", GroupID: []byte("big")}
	for _, tc := range []struct {
		suite   mls.CipherSuiteID
		members int
		fits    bool
	}{
		{mls.MLKEM768X25519AES256GCMSHA384Ed25519, 10, true},
		{mls.MLKEM768X25519AES256GCMSHA384Ed25519, 60, false},
		{mls.X25519AES128GCMSHA256Ed25519, 60, true}, // what /cg NAME classic is for
	} {
		g, kp := groupOf(t, tc.suite, tc.members)
		out, err := g.AddMembers(kp)
		if err != nil {
			t.Fatal(err)
		}
		err = fits(c, tc.suite, &change{out: out, welcomeTo: []target{{account: "new@a.example"}}})
		t.Logf("suite %#04x, group of %d inviting one more: commit %d bytes, Welcome %d bytes (limit %d): %v",
			uint16(tc.suite), tc.members, len(out.Commit), len(out.Welcome), sealed.MaxBodySize, err)
		if tc.fits && err != nil {
			t.Errorf("%d members: %v", tc.members, err)
		}
		if !tc.fits && !errors.Is(err, ErrTooLarge) {
			t.Errorf("%d members: %v, want ErrTooLarge", tc.members, err)
		}
		if !tc.fits && !strings.Contains(err.Error(), "/cg NAME classic") {
			t.Errorf("the refusal does not say how to have a larger group: %v", err)
		}
	}
}

// TestAClassicGroupCanBeAskedForUnlessPostQuantumOnly checks the way out
// of the post-quantum group's size: CreateClassicGroup makes a suite-1
// group, and PQOnly refuses it.
func TestAClassicGroupCanBeAskedForUnlessPostQuantumOnly(t *testing.T) {
	ctx := context.Background()
	e := offlineEngine(t)
	pq, err := e.CreateGroup(ctx, "small")
	if err != nil {
		t.Fatal(err)
	}
	big, err := e.CreateClassicGroup(ctx, "#big")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		c    chatdb.Conversation
		want mls.CipherSuiteID
	}{{pq, mls.MLKEM768X25519AES256GCMSHA384Ed25519}, {big, mls.X25519AES128GCMSHA256Ed25519}} {
		if got, err := e.GroupSuite(tc.c.ID); err != nil || got != tc.want {
			t.Errorf("#%s has suite %#04x, %v; want %#04x", tc.c.Name, uint16(got), err, uint16(tc.want))
		}
	}
	if _, err := e.CreateClassicGroup(ctx, "bad name!"); !errors.Is(err, ErrBadName) {
		t.Errorf("a classic group with a bad name: %v, want ErrBadName", err)
	}

	e.pqOnly = true
	if _, err := e.CreateClassicGroup(ctx, "refused"); !errors.Is(err, ErrClassicRefused) {
		t.Errorf("a classic group under PQOnly: %v, want ErrClassicRefused", err)
	}
}
