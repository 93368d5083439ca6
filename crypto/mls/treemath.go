package mls

// Array-based tree math (RFC 9420 Appendix C). Nodes are numbered left to
// right; leaves have even indices, parents odd. A tree with n leaves has
// 2n-1 nodes. Functions here assume n is a power of two, as MLS trees are.

// NodeIndex is the position of a node in the array representation of the tree.
type NodeIndex uint32

// LeafIndex is the position of a leaf among the leaves of the tree.
type LeafIndex uint32

// Node returns the node index of leaf l.
func (l LeafIndex) Node() NodeIndex { return NodeIndex(2 * l) }

// IsLeaf reports whether x is a leaf node.
func (x NodeIndex) IsLeaf() bool { return x&1 == 0 }

// Leaf returns the leaf index of leaf node x.
func (x NodeIndex) Leaf() LeafIndex { return LeafIndex(x >> 1) }

func log2(x uint32) uint32 {
	if x == 0 {
		return 0
	}
	k := uint32(0)
	for x>>k > 0 {
		k++
	}
	return k - 1
}

// Level returns the height of x above the leaves (0 for leaves).
func (x NodeIndex) Level() uint32 {
	if x&1 == 0 {
		return 0
	}
	k := uint32(0)
	for (x>>k)&1 == 1 {
		k++
	}
	return k
}

// NodeWidth returns the number of nodes in a tree with n leaves.
func NodeWidth(n uint32) uint32 {
	if n == 0 {
		return 0
	}
	return 2*(n-1) + 1
}

// Root returns the root node of a tree with n leaves.
func Root(n uint32) NodeIndex {
	w := NodeWidth(n)
	return NodeIndex((uint32(1) << log2(w)) - 1)
}

// Left returns the left child of parent node x. ok is false for leaves.
func (x NodeIndex) Left() (NodeIndex, bool) {
	k := x.Level()
	if k == 0 {
		return 0, false
	}
	return x ^ (1 << (k - 1)), true
}

// Right returns the right child of parent node x. ok is false for leaves.
func (x NodeIndex) Right() (NodeIndex, bool) {
	k := x.Level()
	if k == 0 {
		return 0, false
	}
	return x ^ (3 << (k - 1)), true
}

// Parent returns the parent of x in a tree with n leaves. ok is false for the root.
func (x NodeIndex) Parent(n uint32) (NodeIndex, bool) {
	if x == Root(n) || uint32(x) >= NodeWidth(n) {
		return 0, false
	}
	k := x.Level()
	b := (x >> (k + 1)) & 1
	return (x | (1 << k)) ^ (b << (k + 1)), true
}

// Sibling returns the other child of x's parent. ok is false for the root.
func (x NodeIndex) Sibling(n uint32) (NodeIndex, bool) {
	p, ok := x.Parent(n)
	if !ok {
		return 0, false
	}
	if x < p {
		r, _ := p.Right()
		return r, true
	}
	l, _ := p.Left()
	return l, true
}

// DirectPath returns the ancestors of x from its parent up to the root.
func (x NodeIndex) DirectPath(n uint32) []NodeIndex {
	var d []NodeIndex
	for {
		p, ok := x.Parent(n)
		if !ok {
			return d
		}
		d = append(d, p)
		x = p
	}
}

// Copath returns the siblings of x and of each of its ancestors below the root.
func (x NodeIndex) Copath(n uint32) []NodeIndex {
	var c []NodeIndex
	for {
		s, ok := x.Sibling(n)
		if !ok {
			return c
		}
		c = append(c, s)
		x, _ = x.Parent(n)
	}
}

// IsAncestorOf reports whether a is an ancestor of (or equal to) x.
func (a NodeIndex) IsAncestorOf(x NodeIndex) bool {
	span := NodeIndex(1)<<a.Level() - 1
	return x >= a-span && x <= a+span
}

// subtreeLeaves returns the range [lo, hi) of leaf indices under node x.
func (x NodeIndex) subtreeLeaves() (lo, hi LeafIndex) {
	k := x.Level()
	first := uint32(x) - (uint32(1) << k) + 1
	return LeafIndex(first / 2), LeafIndex(first/2 + (uint32(1) << k))
}
