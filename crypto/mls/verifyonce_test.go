package mls

import (
	"errors"
	"testing"
	"time"
)

// TestAnAddedKeyPackageIsVerifiedAtCommitAndNotAgainAtMerge holds the two
// halves of verifying once: Commit refuses a KeyPackage with a bad
// signature, and MergePendingCommit trusts what Commit verified — shown by
// a KeyPackage that expires between the two, which a second validation
// would refuse.
func TestAnAddedKeyPackageIsVerifiedAtCommitAndNotAgainAtMerge(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs CipherSuite) {
		now := time.Unix(1_800_000_000, 0)
		clock := now
		newGroup := func() *Group {
			g, err := NewGroup(cs, []byte("g"), newBundle(t, cs, "a"), nil, &Config{Now: func() time.Time { return clock }})
			if err != nil {
				t.Fatal(err)
			}
			return g
		}
		kp := func() *KeyPackageBundle {
			kpb, err := NewKeyPackage(cs, KeyPackageParams{Identity: []byte("b"), Now: now, Lifetime: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			return kpb
		}

		t.Run("a bad signature is refused at Commit", func(t *testing.T) {
			clock = now
			g := newGroup()
			bad := kp()
			bad.KeyPackage.Signature[0] ^= 1
			if _, err := g.Commit(&CommitOptions{Add: []*KeyPackage{&bad.KeyPackage}}); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("Commit with a forged KeyPackage: %v, want ErrBadSignature", err)
			}
			if g.pending != nil {
				t.Fatal("a refused Commit left a pending commit")
			}
		})

		t.Run("the merge does not verify again", func(t *testing.T) {
			clock = now
			g := newGroup()
			good := kp()
			if _, err := g.Commit(&CommitOptions{Add: []*KeyPackage{&good.KeyPackage}}); err != nil {
				t.Fatal(err)
			}
			epoch := g.ctx.Epoch
			clock = now.Add(2 * time.Hour) // the KeyPackage has expired since
			if err := good.KeyPackage.validate(cs, clock, nil); !errors.Is(err, ErrLifetime) {
				t.Fatalf("the KeyPackage is still valid two hours on (%v): the test proves nothing", err)
			}
			if err := g.MergePendingCommit(); err != nil {
				t.Fatalf("merging our own verified commit: %v", err)
			}
			if g.ctx.Epoch != epoch+1 || g.tree.Leaf(1) == nil {
				t.Fatalf("epoch %d, leaf 1 %v after the merge", g.ctx.Epoch, g.tree.Leaf(1))
			}
		})
	})
}
