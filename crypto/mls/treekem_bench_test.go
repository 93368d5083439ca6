package mls

import (
	"fmt"
	"testing"
)

// benchGroup is a tree of n members in which every parent node holds a key,
// as after every member has committed once, seen by the member at leaf n-1.
type benchGroup struct {
	tree      *RatchetTree
	committer *member
	receiver  *TreePrivateKey
}

func newBenchGroup(b *testing.B, n int) *benchGroup {
	b.Helper()
	cs := suite1
	committer := newMember(b, cs, "committer")
	tree := NewRatchetTree(committer.leaf)
	var last []byte
	for i := 1; i < n; i++ {
		priv, pub, err := cs.GenerateKeyPair()
		if err != nil {
			b.Fatal(err)
		}
		sig := make([]byte, 32)
		copy(sig, fmt.Sprint(i))
		tree.AddLeaf(&LeafNode{EncryptionKey: pub, SignatureKey: sig, Source: LeafNodeSourceKeyPackage,
			Lifetime: &Lifetime{}, Credential: Credential{Type: CredentialBasic, Identity: sig}})
		last = priv
	}
	recvLeaf := LeafIndex(n - 1)
	receiver, err := NewTreePrivateKey(cs, recvLeaf, last)
	if err != nil {
		b.Fatal(err)
	}
	onPath := map[NodeIndex]bool{}
	for _, x := range recvLeaf.Node().DirectPath(tree.LeafCount()) {
		onPath[x] = true
	}
	for x := NodeIndex(1); int(x) < len(tree.nodes); x += 2 {
		if lo, _ := x.subtreeLeaves(); uint32(lo) >= uint32(n) {
			continue
		}
		priv, pub, err := cs.GenerateKeyPair()
		if err != nil {
			b.Fatal(err)
		}
		tree.setNode(x, &Node{Parent: &ParentNode{EncryptionKey: pub, ParentHash: []byte{}, UnmergedLeaves: []LeafIndex{}}})
		if onPath[x] {
			receiver.keys[x] = nodeKey{priv: priv, pub: pub}
		}
	}
	// A running group has computed its tree hash for the GroupContext.
	if _, err := tree.TreeHash(cs); err != nil {
		b.Fatal(err)
	}
	return &benchGroup{tree: tree, committer: committer, receiver: receiver}
}

func (g *benchGroup) params(cs CipherSuite) *UpdatePathParams {
	return &UpdatePathParams{Leaf: *g.committer.leaf, SignaturePriv: g.committer.sigPriv, GroupID: testGroupID, Context: testContext(cs)}
}

var benchSizes = []int{10, 100, 1000}

func BenchmarkCreateUpdatePath(b *testing.B) {
	cs := suite1
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n, "_leaves"), func(b *testing.B) {
			g := newBenchGroup(b, n)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, _, err := g.tree.Clone().CreateUpdatePath(cs, 0, g.params(cs)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkProcessUpdatePath(b *testing.B) {
	cs := suite1
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n, "_leaves"), func(b *testing.B) {
			g := newBenchGroup(b, n)
			up, _, _, err := g.tree.Clone().CreateUpdatePath(cs, 0, g.params(cs))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := g.tree.Clone().ApplyUpdatePath(cs, 0, up, testGroupID, testContext(cs), nil, g.receiver.Clone()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
