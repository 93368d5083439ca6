package mls

import "testing"

func TestTreeMathVectors(t *testing.T) {
	var cases []struct {
		NLeaves uint32    `json:"n_leaves"`
		NNodes  uint32    `json:"n_nodes"`
		Root    uint32    `json:"root"`
		Left    []*uint32 `json:"left"`
		Right   []*uint32 `json:"right"`
		Parent  []*uint32 `json:"parent"`
		Sibling []*uint32 `json:"sibling"`
	}
	loadVectors(t, "tree-math.json", &cases)
	checked := 0
	for _, c := range cases {
		n := c.NLeaves
		if got := NodeWidth(n); got != c.NNodes {
			t.Errorf("n=%d: width %d, want %d", n, got, c.NNodes)
		}
		if got := Root(n); uint32(got) != c.Root {
			t.Errorf("n=%d: root %d, want %d", n, got, c.Root)
		}
		check := func(what string, i int, got NodeIndex, ok bool, want *uint32) {
			switch {
			case want == nil && ok:
				t.Errorf("n=%d: %s(%d) = %d, want none", n, what, i, got)
			case want != nil && !ok:
				t.Errorf("n=%d: %s(%d) = none, want %d", n, what, i, *want)
			case want != nil && uint32(got) != *want:
				t.Errorf("n=%d: %s(%d) = %d, want %d", n, what, i, got, *want)
			}
		}
		for i := range c.NNodes {
			x := NodeIndex(i)
			l, ok := x.Left()
			check("left", int(i), l, ok, c.Left[i])
			r, ok := x.Right()
			check("right", int(i), r, ok, c.Right[i])
			p, ok := x.Parent(n)
			check("parent", int(i), p, ok, c.Parent[i])
			s, ok := x.Sibling(n)
			check("sibling", int(i), s, ok, c.Sibling[i])
		}
		checked++
	}
	reportCases(t, "tree-math.json", checked)
}

func TestIsAncestorOf(t *testing.T) {
	tests := []struct {
		a, x NodeIndex
		want bool
	}{
		{3, 0, true}, {3, 6, true}, {3, 7, false}, {7, 14, true}, {1, 2, true}, {1, 3, false}, {4, 4, true},
	}
	for _, tc := range tests {
		if got := tc.a.IsAncestorOf(tc.x); got != tc.want {
			t.Errorf("%d.IsAncestorOf(%d) = %v, want %v", tc.a, tc.x, got, tc.want)
		}
	}
}
