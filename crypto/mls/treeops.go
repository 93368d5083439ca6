package mls

import (
	"fmt"
	"slices"
)

// AddLeaf places leaf in the leftmost blank leaf, doubling the tree when
// none is free, and records it as unmerged at every non-blank ancestor
// (RFC 9420 §7.7, Add). It returns the new member's leaf index.
func (t *RatchetTree) AddLeaf(leaf *LeafNode) LeafIndex {
	idx := LeafIndex(t.LeafCount())
	for l := range LeafIndex(t.LeafCount()) {
		if t.nodes[l.Node()] == nil {
			idx = l
			break
		}
	}
	if uint32(idx) >= t.LeafCount() {
		t.resize(2 * t.LeafCount())
	}
	t.setNode(idx.Node(), &Node{Leaf: leaf})
	for _, a := range idx.Node().DirectPath(t.LeafCount()) {
		if n := t.nodes[a]; n != nil {
			p := n.Parent.clone()
			p.UnmergedLeaves = append(p.UnmergedLeaves, idx)
			t.setNode(a, &Node{Parent: p})
		}
	}
	return idx
}

// UpdateLeaf replaces the leaf at l and blanks its direct path (RFC 9420 §7.7, Update).
func (t *RatchetTree) UpdateLeaf(l LeafIndex, leaf *LeafNode) error {
	if uint32(l) >= t.LeafCount() {
		return fmt.Errorf("%w: %d of %d", ErrLeafIndex, l, t.LeafCount())
	}
	if t.nodes[l.Node()] == nil {
		return fmt.Errorf("%w: update of leaf %d", ErrBlankLeaf, l)
	}
	t.setNode(l.Node(), &Node{Leaf: leaf})
	t.blankPath(l)
	return nil
}

// RemoveLeaf blanks leaf l and its direct path, then truncates the tree so
// that its right half holds a non-blank leaf (RFC 9420 §7.7, Remove).
func (t *RatchetTree) RemoveLeaf(l LeafIndex) error {
	if uint32(l) >= t.LeafCount() {
		return fmt.Errorf("%w: %d of %d", ErrLeafIndex, l, t.LeafCount())
	}
	if t.nodes[l.Node()] == nil {
		return fmt.Errorf("%w: removal of leaf %d", ErrBlankLeaf, l)
	}
	t.setNode(l.Node(), nil)
	t.blankPath(l)
	t.truncate()
	return nil
}

// blankPath blanks every node on the direct path of l.
func (t *RatchetTree) blankPath(l LeafIndex) {
	for _, a := range l.Node().DirectPath(t.LeafCount()) {
		t.setNode(a, nil)
	}
}

// truncate shrinks the tree to 2^d leaves, the smallest power of two larger
// than the rightmost non-blank leaf.
func (t *RatchetTree) truncate() {
	last := -1
	for l := int(t.LeafCount()) - 1; l >= 0; l-- {
		if t.nodes[2*l] != nil {
			last = l
			break
		}
	}
	leaves := 1
	for leaves <= last {
		leaves *= 2
	}
	if uint32(leaves) < t.LeafCount() {
		t.resize(uint32(leaves))
	}
}

// ApplyProposal applies an Add, Update or Remove proposal sent by the member
// at sender to the tree. Other proposal types do not change the tree and are
// ignored. For an Add it returns the new leaf's index.
func (t *RatchetTree) ApplyProposal(p *Proposal, sender LeafIndex) (LeafIndex, error) {
	switch p.Type {
	case ProposalAdd:
		if p.Add == nil {
			return 0, fmt.Errorf("%w: add without key package", ErrProposal)
		}
		leaf := p.Add.LeafNode
		return t.AddLeaf(&leaf), nil
	case ProposalUpdate:
		if p.Update == nil {
			return 0, fmt.Errorf("%w: update without leaf node", ErrProposal)
		}
		return sender, t.UpdateLeaf(sender, p.Update)
	case ProposalRemove:
		return p.Remove, t.RemoveLeaf(p.Remove)
	}
	return 0, nil
}

// Members returns the indices of the non-blank leaves.
func (t *RatchetTree) Members() []LeafIndex {
	var out []LeafIndex
	for l := range LeafIndex(t.LeafCount()) {
		if t.nodes[l.Node()] != nil {
			out = append(out, l)
		}
	}
	return out
}

// FindLeaf returns the index of the first leaf for which match is true.
func (t *RatchetTree) FindLeaf(match func(*LeafNode) bool) (LeafIndex, bool) {
	i := slices.IndexFunc(t.Members(), func(l LeafIndex) bool { return match(t.Leaf(l)) })
	if i < 0 {
		return 0, false
	}
	return t.Members()[i], true
}
