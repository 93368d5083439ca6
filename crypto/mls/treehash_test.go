package mls

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

func TestTreeValidationVectors(t *testing.T) {
	var cases []struct {
		CipherSuite CipherSuiteID `json:"cipher_suite"`
		Tree        hexBytes      `json:"tree"`
		GroupID     hexBytes      `json:"group_id"`
		TreeHashes  []hexBytes    `json:"tree_hashes"`
		Resolutions [][]uint32    `json:"resolutions"`
	}
	loadVectors(t, "tree-validation.json", &cases)
	checked := 0
	for i, c := range cases {
		cs, err := Suite(c.CipherSuite)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		var tree RatchetTree
		if err := Unmarshal(c.Tree, &tree); err != nil {
			t.Errorf("case %d: decode tree: %v", i, err)
			continue
		}
		ok := true
		hashes, err := tree.TreeHashes(cs)
		if err != nil {
			t.Fatal(err)
		}
		if len(hashes) != len(c.TreeHashes) {
			t.Errorf("case %d: %d nodes, want %d", i, len(hashes), len(c.TreeHashes))
			continue
		}
		for x := range hashes {
			if !bytes.Equal(hashes[x], c.TreeHashes[x]) {
				t.Errorf("case %d: tree hash of node %d differs", i, x)
				ok = false
			}
			res := tree.Resolution(NodeIndex(x))
			want := make([]NodeIndex, len(c.Resolutions[x]))
			for j, v := range c.Resolutions[x] {
				want[j] = NodeIndex(v)
			}
			if !slices.Equal(res, want) {
				t.Errorf("case %d: resolution of node %d = %v, want %v", i, x, res, want)
				ok = false
			}
		}
		if err := tree.Validate(cs, c.GroupID); err != nil {
			t.Errorf("case %d: %v", i, err)
			ok = false
		}
		if ok {
			checked++
		}
	}
	reportCases(t, "tree-validation.json", checked)
}

func TestTreeDecodeRejections(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"an empty tree is rejected", []byte{0x00}, ErrTreeShape},
		{"a trailing blank node is rejected", []byte{0x01, 0x00}, ErrTreeShape},
		{"a bad presence byte is rejected", []byte{0x01, 0x02}, ErrInvalidOptional},
		{"an unknown node type is rejected", []byte{0x02, 0x01, 0x07}, ErrUnknownValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var tree RatchetTree
			if err := Unmarshal(tc.in, &tree); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestTreeValidationRejections(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs CipherSuite) {
		before, _, up, privs := smallGroup(t, cs)
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
	})
}
