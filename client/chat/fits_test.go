package chat

import (
	"errors"
	"fmt"
	"testing"

	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/mls"
	"github.com/quicprochat/qpc/crypto/sealed"
)

// pqGroupOf returns a post-quantum group of n members seen by its creator,
// all added by one commit, and a KeyPackage of one more.
func pqGroupOf(t *testing.T, n int) (*mls.Group, *mls.KeyPackage) {
	t.Helper()
	cs, err := mls.Suite(mls.MLKEM768X25519AES256GCMSHA384Ed25519)
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
		members int
		fits    bool
	}{{10, true}, {60, false}} {
		g, kp := pqGroupOf(t, tc.members)
		out, err := g.AddMembers(kp)
		if err != nil {
			t.Fatal(err)
		}
		err = fits(c, &change{out: out, welcomeTo: []string{"new@a.example"}})
		t.Logf("post-quantum group of %d inviting one more: commit %d bytes, Welcome %d bytes (limit %d): %v",
			tc.members, len(out.Commit), len(out.Welcome), sealed.MaxBodySize, err)
		if tc.fits && err != nil {
			t.Errorf("%d members: %v", tc.members, err)
		}
		if !tc.fits && !errors.Is(err, ErrTooLarge) {
			t.Errorf("%d members: %v, want ErrTooLarge", tc.members, err)
		}
	}
}
