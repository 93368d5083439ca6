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

func newBenchPair(b *testing.B, cs CipherSuite, n int) *benchPair {
	b.Helper()
	creator, err := NewGroup(cs, []byte("bench"), newBundle(b, cs, "m0"), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	if n == 1 {
		return &benchPair{creator: creator, last: creator}
	}
	var kps []*KeyPackage
	var last *KeyPackageBundle
	for i := 1; i < n; i++ {
		last = newBundle(b, cs, fmt.Sprint("m", i))
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
	cs := p.creator.cs
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

// BenchmarkGroup measures, in each suite, at 10, 100 and 1,000 members: creating and
// processing a commit that adds one member, creating and processing a
// self-update commit, and encrypting and decrypting an application message.
// Each size runs on two trees: "fresh", right after all members were added
// by one commit (paths reach every leaf: the costliest case), and
// "populated", with every parent node holding a key (paths reach about
// log2(n) nodes: a group in which members have committed).
func BenchmarkGroup(b *testing.B) {
	for _, id := range SupportedSuites {
		cs, _ := Suite(id)
		for _, n := range benchSizes {
			for _, shape := range []string{"fresh", "populated"} {
				p := newBenchPair(b, cs, n)
				if shape == "populated" {
					p.populate(b)
				}
				benchGroupOps(b, fmt.Sprintf("suite=%04x/members=%d/tree=%s", uint16(id), n, shape), p)
			}
		}
	}
}

// BenchmarkSizes reports, per suite at 2, 10 and 100 members, the bytes on
// the wire: a KeyPackage (as MLSMessage), the commit that adds the last
// member and its Welcome, a self-update commit in a populated tree (a
// running group: about log2(n) path encryptions) and the creator's in a
// fresh one (its path encrypts to every other member: the worst case), and
// the overhead of a PrivateMessage around 256 bytes of
// application data. Sizes do not depend on b.N; the loop only satisfies the
// benchmark harness, and the figures come out as custom metrics.
func BenchmarkSizes(b *testing.B) {
	for _, id := range SupportedSuites {
		cs, _ := Suite(id)
		for _, n := range []int{2, 10, 100} {
			b.Run(fmt.Sprintf("suite=%04x/members=%d", uint16(id), n), func(b *testing.B) {
				kp, err := Marshal(&MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatKeyPackage, KeyPackage: &newBundle(b, cs, "kp").KeyPackage})
				if err != nil {
					b.Fatal(err)
				}
				// A group of n-1 that adds its n-th member: the commit and
				// Welcome a creator sends when inviting.
				pre := newBenchPair(b, cs, max(n-1, 1))
				out, err := pre.creator.AddMembers(&newBundle(b, cs, "newcomer").KeyPackage)
				if err != nil {
					b.Fatal(err)
				}
				fresh := newBenchPair(b, cs, n)
				msg := make([]byte, 256)
				ct, err := fresh.creator.Encrypt(msg, nil)
				if err != nil {
					b.Fatal(err)
				}
				// The creator's path in a fresh tree meets only blank nodes:
				// it encrypts to every other member.
				upFresh, err := fresh.creator.SelfUpdate()
				if err != nil {
					b.Fatal(err)
				}
				populated := newBenchPair(b, cs, n)
				populated.populate(b)
				upPop, err := populated.last.SelfUpdate()
				if err != nil {
					b.Fatal(err)
				}
				for range b.N {
				}
				b.ReportMetric(float64(len(kp)), "keypackage-B")
				b.ReportMetric(float64(len(out.Commit)), "add-commit-B")
				b.ReportMetric(float64(len(out.Welcome)), "welcome-B")
				b.ReportMetric(float64(len(upPop.Commit)), "update-commit-B")
				b.ReportMetric(float64(len(upFresh.Commit)), "update-commit-worst-B")
				b.ReportMetric(float64(len(ct)-len(msg)), "message-overhead-B")
			})
		}
	}
}

func benchGroupOps(b *testing.B, name string, p *benchPair) {
	{
		newcomer := newBundle(b, p.creator.cs, "newcomer")
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
