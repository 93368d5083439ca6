package mls

import (
	"fmt"
	"testing"
)

// benchPair is a group of n members built through the API, seen by two of
// them: the creator (leaf 0) and the member at the last leaf. The other
// members exist only in the tree. All of them were added by one commit, so
// the parent nodes off the creator's path are blank and path encryptions
// reach every member's leaf: the costliest shape of a tree.
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

// populate gives every blank parent node a key, as in a group where every
// member has committed once, so that each path encryption reaches about
// log2(n) nodes: the usual shape of a running group. The creator and the
// last member receive the private keys of the new nodes on their paths.
// (The tree is built directly, so these nodes carry no valid parent hashes;
// processing a commit does not look at them.)
func (p *benchPair) populate(b *testing.B) {
	b.Helper()
	cs := suite1
	tree := p.creator.tree
	n := tree.LeafCount()
	onPath := func(g *Group, x NodeIndex) bool { return x.IsAncestorOf(g.priv.Leaf.Node()) }
	for x := NodeIndex(1); int(x) < len(tree.nodes); x += 2 {
		if tree.node(x) != nil {
			continue
		}
		if lo, _ := x.subtreeLeaves(); uint32(lo) >= n {
			continue
		}
		priv, pub, err := cs.GenerateKeyPair()
		if err != nil {
			b.Fatal(err)
		}
		tree.setNode(x, &Node{Parent: &ParentNode{EncryptionKey: pub, ParentHash: []byte{}, UnmergedLeaves: []LeafIndex{}}})
		for _, g := range []*Group{p.creator, p.last} {
			if onPath(g, x) {
				g.priv.keys[x] = nodeKey{priv: priv, pub: pub}
			}
		}
	}
	th, err := tree.TreeHash(cs)
	if err != nil {
		b.Fatal(err)
	}
	p.last.tree = tree.Clone()
	for _, g := range []*Group{p.creator, p.last} {
		g.ctx.TreeHash = th
	}
}

// BenchmarkGroup measures, at 10, 100 and 1,000 members: creating and
// processing a commit that adds one member, creating and processing a
// self-update commit, and encrypting and decrypting an application message.
// Each size runs on two trees: "fresh", right after all members were added
// by one commit (paths reach every leaf: the costliest case), and
// "populated", with every parent node holding a key (paths reach about
// log2(n) nodes: a group in which members have committed).
func BenchmarkGroup(b *testing.B) {
	for _, n := range benchSizes {
		for _, shape := range []string{"fresh", "populated"} {
			p := newBenchPair(b, n)
			if shape == "populated" {
				p.populate(b)
			}
			benchGroupOps(b, fmt.Sprintf("members=%d/tree=%s", n, shape), p)
		}
	}
}

func benchGroupOps(b *testing.B, name string, p *benchPair) {
	{
		newcomer := newBundle(b, "newcomer")
		b.Run(name+"/AddCommitCreate", func(b *testing.B) {
			for range b.N {
				if _, err := p.creator.AddMembers(&newcomer.KeyPackage); err != nil {
					b.Fatal(err)
				}
				p.creator.DiscardPendingCommit()
			}
		})
		b.Run(name+"/AddCommitProcess", func(b *testing.B) {
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
		b.Run(name+"/SelfUpdateCreate", func(b *testing.B) {
			for range b.N {
				if _, err := p.last.SelfUpdate(); err != nil {
					b.Fatal(err)
				}
				p.last.DiscardPendingCommit()
			}
		})
		b.Run(name+"/SelfUpdateProcess", func(b *testing.B) {
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
		b.Run(name+"/Encrypt", func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			// The creator sends here, so that the last member's ratchet stays
			// in step with the creator's view of it for Decrypt.
			for range b.N {
				if _, err := p.creator.Encrypt(msg, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/Decrypt", func(b *testing.B) {
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
