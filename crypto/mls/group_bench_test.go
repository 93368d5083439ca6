package mls

import (
	"fmt"
	"testing"
)

// benchPair is a group of n members built through the API, seen by two of
// them: the creator (leaf 0) and the member at the last leaf. The other
// members exist only in the tree. All of them were added by one commit, so
// the parent nodes off the creator's path are blank and each path
// encryption reaches every member's leaf: the costliest shape of a tree.
type benchPair struct {
	creator, last *Group
}

func newBenchPair(b *testing.B, n int) *benchPair {
	b.Helper()
	creator, err := NewGroup(suite1, []byte("bench"), newBundle(b, "m0"), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	var kps []*KeyPackage
	var last *KeyPackageBundle
	for i := 1; i < n; i++ {
		last = newBundle(b, fmt.Sprint("m", i))
		kps = append(kps, &last.KeyPackage)
	}
	out, err := creator.AddMembers(kps...)
	if err != nil {
		b.Fatal(err)
	}
	if err := creator.MergePendingCommit(); err != nil {
		b.Fatal(err)
	}
	lastGroup, err := JoinGroup(out.Welcome, last, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	return &benchPair{creator: creator, last: lastGroup}
}

// BenchmarkGroup measures, at 10, 100 and 1,000 members: creating and
// processing a commit that adds one member, creating and processing a
// self-update commit, and encrypting and decrypting an application message.
func BenchmarkGroup(b *testing.B) {
	for _, n := range benchSizes {
		p := newBenchPair(b, n)
		newcomer := newBundle(b, "newcomer")
		b.Run(fmt.Sprintf("members=%d/AddCommitCreate", n), func(b *testing.B) {
			for range b.N {
				if _, err := p.creator.AddMembers(&newcomer.KeyPackage); err != nil {
					b.Fatal(err)
				}
				p.creator.DiscardPendingCommit()
			}
		})
		b.Run(fmt.Sprintf("members=%d/AddCommitProcess", n), func(b *testing.B) {
			out, err := p.creator.AddMembers(&newcomer.KeyPackage)
			if err != nil {
				b.Fatal(err)
			}
			p.creator.DiscardPendingCommit()
			b.ResetTimer()
			for range b.N {
				if _, err := p.last.clone().ProcessMessage(out.Commit); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("members=%d/SelfUpdateCreate", n), func(b *testing.B) {
			for range b.N {
				if _, err := p.last.SelfUpdate(); err != nil {
					b.Fatal(err)
				}
				p.last.DiscardPendingCommit()
			}
		})
		b.Run(fmt.Sprintf("members=%d/SelfUpdateProcess", n), func(b *testing.B) {
			out, err := p.last.SelfUpdate()
			if err != nil {
				b.Fatal(err)
			}
			p.last.DiscardPendingCommit()
			b.ResetTimer()
			for range b.N {
				if _, err := p.creator.clone().ProcessMessage(out.Commit); err != nil {
					b.Fatal(err)
				}
			}
		})
		msg := make([]byte, 256)
		b.Run(fmt.Sprintf("members=%d/Encrypt", n), func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			for range b.N {
				if _, err := p.last.Encrypt(msg, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("members=%d/Decrypt", n), func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			for range b.N {
				b.StopTimer()
				ct, err := p.last.Encrypt(msg, nil)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := p.creator.ProcessMessage(ct); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
