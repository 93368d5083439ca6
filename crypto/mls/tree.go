package mls

import (
	"fmt"
	"slices"
)

// ParentNode is an interior node of the ratchet tree (RFC 9420 §7.1).
type ParentNode struct {
	EncryptionKey  []byte
	ParentHash     []byte
	UnmergedLeaves []LeafIndex
}

func (p *ParentNode) encode(w *writer) {
	w.opaque(p.EncryptionKey)
	w.opaque(p.ParentHash)
	w.vector(func(w *writer) {
		for _, l := range p.UnmergedLeaves {
			w.u32(uint32(l))
		}
	})
}

func (p *ParentNode) decode(r *reader) {
	p.EncryptionKey = r.opaque()
	p.ParentHash = r.opaque()
	p.UnmergedLeaves = []LeafIndex{}
	r.vector(func(r *reader) { p.UnmergedLeaves = append(p.UnmergedLeaves, LeafIndex(r.u32())) })
}

func (p *ParentNode) clone() *ParentNode {
	return &ParentNode{
		EncryptionKey:  slices.Clone(p.EncryptionKey),
		ParentHash:     slices.Clone(p.ParentHash),
		UnmergedLeaves: slices.Clone(p.UnmergedLeaves),
	}
}

// NodeType distinguishes leaf and parent nodes on the wire.
type NodeType uint8

// Node types.
const (
	// NodeTypeLeaf marks a leaf node.
	NodeTypeLeaf NodeType = 1
	// NodeTypeParent marks a parent node.
	NodeTypeParent NodeType = 2
)

// Node is a non-blank node of the ratchet tree: exactly one field is set.
type Node struct {
	Leaf   *LeafNode
	Parent *ParentNode
}

func (n *Node) encode(w *writer) {
	switch {
	case n.Leaf != nil:
		w.u8(uint8(NodeTypeLeaf))
		n.Leaf.encode(w)
	case n.Parent != nil:
		w.u8(uint8(NodeTypeParent))
		n.Parent.encode(w)
	default:
		if w.err == nil {
			w.err = fmt.Errorf("%w: empty node", ErrTreeShape)
		}
	}
}

func (n *Node) decode(r *reader) {
	switch t := NodeType(r.u8()); t {
	case NodeTypeLeaf:
		n.Leaf = new(LeafNode)
		n.Leaf.decode(r)
	case NodeTypeParent:
		n.Parent = new(ParentNode)
		n.Parent.decode(r)
	default:
		r.failf("%w: node type %d", ErrUnknownValue, t)
	}
}

// encryptionKey returns the node's HPKE public key.
func (n *Node) encryptionKey() []byte {
	if n.Leaf != nil {
		return n.Leaf.EncryptionKey
	}
	return n.Parent.EncryptionKey
}

// parentHash returns the parent_hash the node carries (nil for leaves not from a commit).
func (n *Node) parentHash() []byte {
	if n.Leaf != nil {
		if n.Leaf.Source == LeafNodeSourceCommit {
			return n.Leaf.ParentHash
		}
		return nil
	}
	return n.Parent.ParentHash
}

// RatchetTree is the public state of a group's ratchet tree (RFC 9420 §7).
// Nodes are stored in array order; a nil entry is a blank node. The number
// of leaves is always a power of two.
//
// Nodes are immutable once placed in a tree: every change installs a new
// node through setNode, which also drops the cached tree hashes above it.
// Callers must not modify the nodes that Leaf and ParentNode return.
type RatchetTree struct {
	nodes []*Node
	// hashes caches the tree hash of each node; nil means unknown.
	hashes [][]byte
}

// setNode installs n (nil for blank) at x and invalidates the cached tree
// hashes of x and its ancestors.
func (t *RatchetTree) setNode(x NodeIndex, n *Node) {
	t.nodes[x] = n
	leaves := t.LeafCount()
	for {
		if int(x) < len(t.hashes) {
			t.hashes[x] = nil
		}
		p, ok := x.Parent(leaves)
		if !ok {
			return
		}
		x = p
	}
}

// resize grows or shrinks the node array to the width of a tree with the
// given number of leaves. Cached hashes of the nodes that remain stay valid:
// resizing only adds or drops right subtrees and changes the root.
func (t *RatchetTree) resize(leaves uint32) {
	w := int(NodeWidth(leaves))
	if w <= len(t.nodes) {
		clear(t.nodes[w:])
		t.nodes = t.nodes[:w]
	} else {
		t.nodes = append(t.nodes, make([]*Node, w-len(t.nodes))...)
	}
	hashes := make([][]byte, w)
	copy(hashes, t.hashes)
	t.hashes = hashes
	t.hashes[Root(leaves)] = nil
}

// NewRatchetTree returns a one-member tree holding leaf.
func NewRatchetTree(leaf *LeafNode) *RatchetTree {
	return &RatchetTree{nodes: []*Node{{Leaf: leaf}}, hashes: make([][]byte, 1)}
}

// LeafCount returns the number of leaves (blank or not).
func (t *RatchetTree) LeafCount() uint32 { return uint32(len(t.nodes)+1) / 2 }

// node returns the node at x, or nil if x is blank or out of range.
func (t *RatchetTree) node(x NodeIndex) *Node {
	if int(x) >= len(t.nodes) {
		return nil
	}
	return t.nodes[x]
}

// Leaf returns the leaf node at l, or nil if it is blank or out of range.
func (t *RatchetTree) Leaf(l LeafIndex) *LeafNode {
	n := t.node(l.Node())
	if n == nil {
		return nil
	}
	return n.Leaf
}

// ParentNode returns the parent node at x, or nil if it is blank.
func (t *RatchetTree) ParentNode(x NodeIndex) *ParentNode {
	n := t.node(x)
	if n == nil {
		return nil
	}
	return n.Parent
}

// Clone returns an independent copy of the tree. Nodes are shared, as they
// are never modified in place.
func (t *RatchetTree) Clone() *RatchetTree {
	return &RatchetTree{nodes: slices.Clone(t.nodes), hashes: slices.Clone(t.hashes)}
}

// encode writes optional<Node> ratchet_tree<V> without trailing blank nodes.
func (t *RatchetTree) encode(w *writer) {
	end := len(t.nodes)
	for end > 0 && t.nodes[end-1] == nil {
		end--
	}
	w.vector(func(w *writer) {
		for _, n := range t.nodes[:end] {
			encodeOptional(w, n)
		}
	})
}

// decode reads a ratchet_tree extension value and checks its shape: leaves at
// even and parents at odd positions, a non-blank last node, and padding to a
// full tree.
func (t *RatchetTree) decode(r *reader) {
	var nodes []*Node
	r.vector(func(r *reader) { nodes = append(nodes, decodeOptional[Node](r)) })
	if r.err != nil {
		return
	}
	if len(nodes) == 0 {
		r.failf("%w: empty tree", ErrTreeShape)
		return
	}
	if nodes[len(nodes)-1] == nil {
		r.failf("%w: trailing blank node", ErrTreeShape)
		return
	}
	for i, n := range nodes {
		if n == nil {
			continue
		}
		if NodeIndex(i).IsLeaf() != (n.Leaf != nil) {
			r.failf("%w: node %d has the wrong type", ErrTreeShape, i)
			return
		}
	}
	leaves := uint32(1)
	for NodeWidth(leaves) < uint32(len(nodes)) {
		if leaves >= 1<<30 {
			r.failf("%w: tree too large", ErrTreeShape)
			return
		}
		leaves *= 2
	}
	full := make([]*Node, NodeWidth(leaves))
	copy(full, nodes)
	t.nodes = full
	t.hashes = make([][]byte, len(full))
}
