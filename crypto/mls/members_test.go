package mls

import (
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
func smallGroup(t *testing.T, cs CipherSuite) (*RatchetTree, []*member, *UpdatePath, []*TreePrivateKey) {
	t.Helper()
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
