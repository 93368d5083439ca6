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
