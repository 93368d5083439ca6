package mls

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestTreeOperationsVectors(t *testing.T) {
	var cases []struct {
		CipherSuite    CipherSuiteID `json:"cipher_suite"`
		TreeBefore     hexBytes      `json:"tree_before"`
		Proposal       hexBytes      `json:"proposal"`
		ProposalSender uint32        `json:"proposal_sender"`
		TreeHashBefore hexBytes      `json:"tree_hash_before"`
		TreeAfter      hexBytes      `json:"tree_after"`
		TreeHashAfter  hexBytes      `json:"tree_hash_after"`
	}
	loadVectors(t, "tree-operations.json", &cases)
	checked := 0
	for i, c := range cases {
		cs, err := Suite(c.CipherSuite)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		var tree RatchetTree
		var prop Proposal
		if err := Unmarshal(c.TreeBefore, &tree); err != nil {
			t.Errorf("case %d: tree: %v", i, err)
			continue
		}
		if err := Unmarshal(c.Proposal, &prop); err != nil {
			t.Errorf("case %d: proposal: %v", i, err)
			continue
		}
		if h, err := tree.TreeHash(cs); err != nil || !bytes.Equal(h, c.TreeHashBefore) {
			t.Errorf("case %d: tree hash before = %x (%v)", i, h, err)
			continue
		}
		if _, err := tree.ApplyProposal(&prop, LeafIndex(c.ProposalSender)); err != nil {
			t.Errorf("case %d: apply proposal type %d: %v", i, prop.Type, err)
			continue
		}
		if h, err := tree.TreeHash(cs); err != nil || !bytes.Equal(h, c.TreeHashAfter) {
			t.Errorf("case %d (proposal type %d): tree hash after = %x (%v)", i, prop.Type, h, err)
			continue
		}
		if enc, err := Marshal(&tree); err != nil || !bytes.Equal(enc, c.TreeAfter) {
			t.Errorf("case %d (proposal type %d): tree after differs (%v)", i, prop.Type, err)
			continue
		}
		checked++
	}
	reportCases(t, "tree-operations.json", checked)
}

func TestTreeOperationRejections(t *testing.T) {
	tree := NewRatchetTree(&LeafNode{EncryptionKey: []byte{1}})
	tree.AddLeaf(&LeafNode{EncryptionKey: []byte{2}})
	if err := tree.RemoveLeaf(5); !errors.Is(err, ErrLeafIndex) {
		t.Errorf("remove out of range: got %v", err)
	}
	if err := tree.RemoveLeaf(1); err != nil {
		t.Fatal(err)
	}
	if tree.LeafCount() != 1 {
		t.Errorf("after removing the last leaf the tree has %d leaves, want 1", tree.LeafCount())
	}
	if err := tree.UpdateLeaf(0, &LeafNode{}); err != nil {
		t.Errorf("update: %v", err)
	}
	tree.AddLeaf(&LeafNode{EncryptionKey: []byte{3}})
	tree.AddLeaf(&LeafNode{EncryptionKey: []byte{4}})
	if err := tree.RemoveLeaf(1); err != nil {
		t.Fatal(err)
	}
	if err := tree.UpdateLeaf(1, &LeafNode{}); !errors.Is(err, ErrBlankLeaf) {
		t.Errorf("update of blank leaf: got %v", err)
	}
	if l := tree.AddLeaf(&LeafNode{EncryptionKey: []byte{5}}); l != 1 {
		t.Errorf("add fills leaf %d, want the leftmost blank leaf 1", l)
	}
}

// TestTreeHashCacheStaysFresh applies a long deterministic sequence of adds,
// removes, updates and commits and compares the cached tree hash with the
// hash of a freshly decoded copy after every step.
func TestTreeHashCacheStaysFresh(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs CipherSuite) {
		first := newMember(t, cs, "m0")
		tree := NewRatchetTree(first.leaf)
		members := map[LeafIndex]*member{0: first}
		fresh := func(step string) {
			t.Helper()
			got, err := tree.TreeHash(cs)
			if err != nil {
				t.Fatal(err)
			}
			enc, err := Marshal(tree)
			if err != nil {
				t.Fatal(err)
			}
			var copyTree RatchetTree
			if err := Unmarshal(enc, &copyTree); err != nil {
				t.Fatalf("%s: %v", step, err)
			}
			want, _ := copyTree.TreeHash(cs)
			if !bytes.Equal(got, want) {
				t.Fatalf("%s: cached tree hash is stale", step)
			}
		}
		seed := uint32(1)
		next := func(n int) int {
			seed = seed*1664525 + 1013904223
			return int(seed>>8) % n
		}
		for step := range 60 {
			ids := tree.Members()
			switch op := next(4); {
			case op == 0 || len(ids) < 3:
				m := newMember(t, cs, "m")
				members[tree.AddLeaf(m.leaf)] = m
			case op == 1:
				l := ids[1+next(len(ids)-1)]
				if err := tree.RemoveLeaf(l); err != nil {
					t.Fatal(err)
				}
				delete(members, l)
			case op == 2:
				l := ids[next(len(ids))]
				m := newMember(t, cs, "m")
				if err := tree.UpdateLeaf(l, m.leaf); err != nil {
					t.Fatal(err)
				}
				members[l] = m
			default:
				l := ids[next(len(ids))]
				m := members[l]
				_, _, _, err := tree.CreateUpdatePath(cs, l, &UpdatePathParams{
					Leaf: *m.leaf, SignaturePriv: m.sigPriv, GroupID: testGroupID, Context: testContext(cs)})
				if err != nil {
					t.Fatal(err)
				}
				if err := tree.VerifyParentHashes(cs); err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
			}
			fresh(fmt.Sprint("step ", step))
		}
	})
}
