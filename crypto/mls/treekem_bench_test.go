package mls

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// member is a test client: its leaf and the private keys behind it.
type member struct {
	leaf    *LeafNode
	encPriv []byte
	sigPriv []byte
}

// newMember returns a client with a fresh leaf from a KeyPackage.
func newMember(tb testing.TB, cs CipherSuite, name string) *member {
	tb.Helper()
	encPriv, encPub, err := cs.GenerateKeyPair()
	if err != nil {
		tb.Fatal(err)
	}
	sigPriv, sigPub, err := cs.GenerateSignatureKey()
	if err != nil {
		tb.Fatal(err)
	}
	leaf := &LeafNode{
		EncryptionKey: encPub, SignatureKey: sigPub,
		Credential:   Credential{Type: CredentialBasic, Identity: []byte(name)},
		Capabilities: Capabilities{Versions: []ProtocolVersion{ProtocolVersionMLS10}, CipherSuites: []CipherSuiteID{cs.ID()}},
		Source:       LeafNodeSourceKeyPackage, Lifetime: &Lifetime{NotAfter: 1 << 62},
		Extensions: []Extension{},
	}
	if err := leaf.Sign(cs, sigPriv, nil, 0); err != nil {
		tb.Fatal(err)
	}
	return &member{leaf: leaf, encPriv: encPriv, sigPriv: sigPriv}
}

var testGroupID = []byte("test group")

func testContext(cs CipherSuite) *GroupContext {
	return &GroupContext{Version: ProtocolVersionMLS10, CipherSuite: cs.ID(), GroupID: testGroupID, Epoch: 1,
		ConfirmedTranscriptHash: []byte{}, Extensions: []Extension{}}
}

// smallGroup builds a valid 4-member tree in which leaf 0 has committed.
func smallGroup(t *testing.T) (*RatchetTree, []*member, *UpdatePath, []*TreePrivateKey) {
	t.Helper()
	cs := suite1
	var members []*member
	var tree *RatchetTree
	for i := range 4 {
		m := newMember(t, cs, fmt.Sprint("member ", i))
		members = append(members, m)
		if tree == nil {
			tree = NewRatchetTree(m.leaf)
		} else {
			tree.AddLeaf(m.leaf)
		}
	}
	before := tree.Clone()
	up, _, _, err := tree.CreateUpdatePath(cs, 0, &UpdatePathParams{
		Leaf: *members[0].leaf, SignaturePriv: members[0].sigPriv, GroupID: testGroupID, Context: testContext(cs),
	})
	if err != nil {
		t.Fatal(err)
	}
	var privs []*TreePrivateKey
	for i, m := range members {
		k, err := NewTreePrivateKey(cs, LeafIndex(i), m.encPriv)
		if err != nil {
			t.Fatal(err)
		}
		privs = append(privs, k)
	}
	return before, members, up, privs
}

func TestUpdatePathRejections(t *testing.T) {
	cs := suite1
	before, _, up, privs := smallGroup(t)
	tests := []struct {
		name   string
		mutate func(up *UpdatePath, priv *TreePrivateKey) *TreePrivateKey
		want   error
	}{
		{"an intact path is accepted", func(up *UpdatePath, k *TreePrivateKey) *TreePrivateKey { return k }, nil},
		{"a path with a node missing is refused", func(up *UpdatePath, k *TreePrivateKey) *TreePrivateKey {
			up.Nodes = up.Nodes[:len(up.Nodes)-1]
			return k
		}, ErrUpdatePath},
		{"a path whose keys do not match the leaf's parent hash is refused", func(up *UpdatePath, k *TreePrivateKey) *TreePrivateKey {
			up.Nodes[1].EncryptionKey = bytes.Clone(up.Nodes[0].EncryptionKey)
			return k
		}, ErrParentHash},
		{"a path with a forged leaf signature is refused", func(up *UpdatePath, k *TreePrivateKey) *TreePrivateKey {
			up.LeafNode.Signature = bytes.Clone(up.LeafNode.Signature)
			up.LeafNode.Signature[0] ^= 1
			return k
		}, ErrBadSignature},
		{"a tampered path secret ciphertext does not decrypt", func(up *UpdatePath, k *TreePrivateKey) *TreePrivateKey {
			for i := range up.Nodes[1].EncryptedPathSecret {
				ct := &up.Nodes[1].EncryptedPathSecret[i]
				ct.Ciphertext = bytes.Clone(ct.Ciphertext)
				ct.Ciphertext[0] ^= 1
			}
			return k
		}, ErrDecryption},
		{"a member without the right private key cannot process the path", func(up *UpdatePath, k *TreePrivateKey) *TreePrivateKey {
			other, _ := NewTreePrivateKey(cs, k.Leaf, newMember(t, cs, "stranger").encPriv)
			return other
		}, ErrNoPrivateKey},
		{"a member's own path is refused", func(up *UpdatePath, k *TreePrivateKey) *TreePrivateKey {
			return &TreePrivateKey{Leaf: 0, keys: k.keys}
		}, ErrUpdatePath},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := *up
			u.Nodes = append([]UpdatePathNode(nil), up.Nodes...)
			for i := range u.Nodes {
				u.Nodes[i].EncryptedPathSecret = append([]HPKECiphertext(nil), up.Nodes[i].EncryptedPathSecret...)
			}
			k := tc.mutate(&u, privs[3].Clone())
			_, err := before.Clone().ApplyUpdatePath(cs, 0, &u, testGroupID, testContext(cs), nil, k)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestWelcomePathSecret(t *testing.T) {
	cs := suite1
	before, members, _, privs := smallGroup(t)
	// The committer at leaf 0 adds a fifth member and sends it the path
	// secret of their lowest common ancestor, as a Welcome would.
	joiner := newMember(t, cs, "joiner")
	tree := before.Clone()
	newLeaf := tree.AddLeaf(joiner.leaf)
	up, committerPriv, commit, err := tree.CreateUpdatePath(cs, 0, &UpdatePathParams{
		Leaf: *members[0].leaf, SignaturePriv: members[0].sigPriv, GroupID: testGroupID,
		Context: testContext(cs), Exclude: []LeafIndex{newLeaf},
	})
	if err != nil {
		t.Fatal(err)
	}
	lca := lowestCommonAncestor(0, newLeaf)
	ps, ok := committerPriv.PathSecret(lca)
	if !ok {
		t.Fatalf("committer holds no path secret for node %d", lca)
	}
	jk, err := NewTreePrivateKey(cs, newLeaf, joiner.encPriv)
	if err != nil {
		t.Fatal(err)
	}
	got, err := jk.ImplantPathSecret(cs, tree, 0, ps)
	if err != nil || !bytes.Equal(got, commit) {
		t.Fatalf("joiner's commit secret differs (%v)", err)
	}
	// An existing member processes the same path, skipping the joiner.
	receiver := before.Clone()
	receiver.AddLeaf(joiner.leaf)
	got, err = receiver.ApplyUpdatePath(cs, 0, up, testGroupID, testContext(cs), []LeafIndex{newLeaf}, privs[2].Clone())
	if err != nil || !bytes.Equal(got, commit) {
		t.Fatalf("member's commit secret differs (%v)", err)
	}
	if _, err := jk.ImplantPathSecret(cs, tree, 0, make([]byte, 32)); !errors.Is(err, ErrUpdatePath) {
		t.Fatalf("wrong path secret: got %v", err)
	}

	committerPriv.ForgetPathSecrets()
	if _, ok := committerPriv.PathSecret(lca); ok {
		t.Fatalf("path secret kept after ForgetPathSecrets")
	}
	if _, ok := committerPriv.privateKey(tree, lca); !ok {
		t.Fatalf("node key lost with the path secrets")
	}
	// A later commit by another member replaces the keys above leaf 0.
	m2 := members[2]
	if _, _, _, err := tree.CreateUpdatePath(cs, 2, &UpdatePathParams{
		Leaf: *m2.leaf, SignaturePriv: m2.sigPriv, GroupID: testGroupID, Context: testContext(cs)}); err != nil {
		t.Fatal(err)
	}
	committerPriv.Prune(tree)
	if _, ok := committerPriv.keys[Root(tree.LeafCount())]; ok {
		t.Fatalf("stale root key kept after Prune")
	}
	if _, ok := committerPriv.keys[LeafIndex(0).Node()]; !ok {
		t.Fatalf("own leaf key dropped by Prune")
	}
}

func TestTreeValidationRejections(t *testing.T) {
	cs := suite1
	before, _, up, privs := smallGroup(t)
	valid := before.Clone()
	if _, err := valid.ApplyUpdatePath(cs, 0, up, testGroupID, testContext(cs), nil, privs[1].Clone()); err != nil {
		t.Fatal(err)
	}
	if err := valid.Validate(cs, testGroupID); err != nil {
		t.Fatalf("valid tree: %v", err)
	}
	tests := []struct {
		name   string
		mutate func(tr *RatchetTree)
		want   error
	}{
		{"a parent node with a forged parent hash is refused", func(tr *RatchetTree) {
			p := tr.nodes[1].Parent.clone()
			p.ParentHash = []byte{1, 2, 3}
			tr.setNode(1, &Node{Parent: p})
		}, ErrParentHash},
		{"a parent node whose key was swapped is refused", func(tr *RatchetTree) {
			p := tr.nodes[3].Parent.clone()
			p.EncryptionKey = newMember(t, cs, "other").leaf.EncryptionKey
			tr.setNode(3, &Node{Parent: p})
		}, ErrParentHash},
		{"an unmerged leaf outside the subtree is refused", func(tr *RatchetTree) {
			p := tr.nodes[1].Parent.clone()
			p.UnmergedLeaves = []LeafIndex{3}
			tr.setNode(1, &Node{Parent: p})
		}, ErrUnmergedLeaves},
		{"a leaf with a forged signature is refused", func(tr *RatchetTree) {
			l := *tr.nodes[4].Leaf
			l.Signature = bytes.Clone(l.Signature)
			l.Signature[0] ^= 1
			tr.setNode(4, &Node{Leaf: &l})
		}, ErrBadSignature},
		{"two leaves with the same encryption key are refused", func(tr *RatchetTree) {
			l := *tr.nodes[6].Leaf
			l.EncryptionKey = tr.nodes[4].Leaf.EncryptionKey
			tr.setNode(6, &Node{Leaf: &l})
		}, ErrDuplicateKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := valid.Clone()
			tc.mutate(tr)
			if err := tr.Validate(cs, testGroupID); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

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
