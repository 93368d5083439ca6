package mls

import (
	"bytes"
	"fmt"
	"slices"
)

// Resolution returns the resolution of node x (RFC 9420 §4.1.1): the
// smallest set of non-blank nodes that covers every non-blank leaf under x,
// in left-to-right order with each parent's unmerged leaves after it.
func (t *RatchetTree) Resolution(x NodeIndex) []NodeIndex {
	return t.resolution(x, nil, nil)
}

// resolution appends the resolution of x to out, treating leaves in exclude
// as blank (and dropping them from unmerged lists).
func (t *RatchetTree) resolution(x NodeIndex, exclude map[LeafIndex]bool, out []NodeIndex) []NodeIndex {
	n := t.node(x)
	if x.IsLeaf() {
		if n != nil && !exclude[x.Leaf()] {
			out = append(out, x)
		}
		return out
	}
	if n != nil {
		out = append(out, x)
		for _, l := range n.Parent.UnmergedLeaves {
			if !exclude[l] {
				out = append(out, l.Node())
			}
		}
		return out
	}
	l, _ := x.Left()
	r, _ := x.Right()
	out = t.resolution(l, exclude, out)
	return t.resolution(r, exclude, out)
}

// TreeHash returns the tree hash of the whole tree (RFC 9420 §7.8).
func (t *RatchetTree) TreeHash(cs CipherSuite) ([]byte, error) {
	if len(t.nodes) == 0 {
		return nil, fmt.Errorf("%w: empty tree", ErrTreeShape)
	}
	return t.treeHash(cs, Root(t.LeafCount()), nil, nil)
}

// TreeHashes returns the tree hash of every node, indexed by node.
func (t *RatchetTree) TreeHashes(cs CipherSuite) ([][]byte, error) {
	if len(t.nodes) == 0 {
		return nil, fmt.Errorf("%w: empty tree", ErrTreeShape)
	}
	all := make([][]byte, len(t.nodes))
	if _, err := t.treeHash(cs, Root(t.LeafCount()), nil, all); err != nil {
		return nil, err
	}
	return all, nil
}

// treeHash computes the tree hash of the subtree at x with the leaves in
// exclude blanked and removed from unmerged lists; if all is not nil, every
// node's hash is stored in it.
func (t *RatchetTree) treeHash(cs CipherSuite, x NodeIndex, exclude map[LeafIndex]bool, all [][]byte) ([]byte, error) {
	// Hashes with leaves excluded (original sibling tree hashes) are not
	// cached: they differ from the tree's own hashes.
	cacheable := len(exclude) == 0 && len(t.hashes) == len(t.nodes)
	if cacheable && all == nil && t.hashes[x] != nil {
		return t.hashes[x], nil
	}
	var w writer
	n := t.node(x)
	if x.IsLeaf() {
		w.u8(uint8(NodeTypeLeaf))
		w.u32(uint32(x.Leaf()))
		if n == nil || exclude[x.Leaf()] {
			w.u8(0)
		} else {
			w.u8(1)
			n.Leaf.encode(&w)
		}
	} else {
		l, _ := x.Left()
		r, _ := x.Right()
		lh, err := t.treeHash(cs, l, exclude, all)
		if err != nil {
			return nil, err
		}
		rh, err := t.treeHash(cs, r, exclude, all)
		if err != nil {
			return nil, err
		}
		w.u8(uint8(NodeTypeParent))
		if n == nil {
			w.u8(0)
		} else {
			w.u8(1)
			p := n.Parent
			if len(exclude) > 0 {
				p = &ParentNode{EncryptionKey: p.EncryptionKey, ParentHash: p.ParentHash,
					UnmergedLeaves: slices.DeleteFunc(slices.Clone(p.UnmergedLeaves), func(l LeafIndex) bool { return exclude[l] })}
			}
			p.encode(&w)
		}
		w.opaque(lh)
		w.opaque(rh)
	}
	if w.err != nil {
		return nil, w.err
	}
	h := cs.Hash(w.b)
	if all != nil {
		all[x] = h
	}
	if cacheable {
		t.hashes[x] = h
	}
	return h, nil
}

// parentHash computes Hash(ParentHashInput) of parent node p as seen from its
// child on the side opposite sibling (RFC 9420 §7.9): the original sibling
// tree hash leaves out p's unmerged leaves.
func (t *RatchetTree) parentHash(cs CipherSuite, p, sibling NodeIndex) ([]byte, error) {
	pn := t.ParentNode(p)
	if pn == nil {
		return nil, fmt.Errorf("%w: parent hash of blank node %d", ErrParentHash, p)
	}
	var exclude map[LeafIndex]bool
	if len(pn.UnmergedLeaves) > 0 {
		exclude = make(map[LeafIndex]bool, len(pn.UnmergedLeaves))
		for _, l := range pn.UnmergedLeaves {
			exclude[l] = true
		}
	}
	sh, err := t.treeHash(cs, sibling, exclude, nil)
	if err != nil {
		return nil, err
	}
	var w writer
	w.opaque(pn.EncryptionKey)
	w.opaque(pn.ParentHash)
	w.opaque(sh)
	if w.err != nil {
		return nil, w.err
	}
	return cs.Hash(w.b), nil
}

// VerifyParentHashes checks that every non-blank parent node is
// parent-hash valid (RFC 9420 §7.9.2): some node D in the resolution of one
// of its children C carries the parent hash computed over the other child,
// and the rest of C's resolution is exactly P's unmerged leaves under C.
func (t *RatchetTree) VerifyParentHashes(cs CipherSuite) error {
	for i := 1; i < len(t.nodes); i += 2 {
		x := NodeIndex(i)
		pn := t.ParentNode(x)
		if pn == nil {
			continue
		}
		l, _ := x.Left()
		r, _ := x.Right()
		valid := false
		for _, side := range [][2]NodeIndex{{l, r}, {r, l}} {
			ok, err := t.parentHashValidVia(cs, x, pn, side[0], side[1])
			if err != nil {
				return err
			}
			if ok {
				valid = true
				break
			}
		}
		if !valid {
			return fmt.Errorf("%w: node %d is not chained to a leaf", ErrParentHash, x)
		}
	}
	return nil
}

func (t *RatchetTree) parentHashValidVia(cs CipherSuite, p NodeIndex, pn *ParentNode, child, sibling NodeIndex) (bool, error) {
	want, err := t.parentHash(cs, p, sibling)
	if err != nil {
		return false, err
	}
	lo, hi := child.subtreeLeaves()
	var unmerged []NodeIndex
	for _, l := range pn.UnmergedLeaves {
		if l >= lo && l < hi {
			unmerged = append(unmerged, l.Node())
		}
	}
	slices.Sort(unmerged)
	res := t.Resolution(child)
	for i, d := range res {
		n := t.node(d)
		if n == nil || !bytes.Equal(n.parentHash(), want) {
			continue
		}
		rest := append(slices.Clone(res[:i]), res[i+1:]...)
		slices.Sort(rest)
		if slices.Equal(rest, unmerged) {
			return true, nil
		}
	}
	return false, nil
}

// Validate checks the public tree a new member receives (RFC 9420 §12.4.3.1,
// without the checks that need the group's policy): parent hashes, leaf
// signatures (groupID binds update and commit leaves), unmerged leaves, and
// uniqueness of encryption and signature keys. The caller compares the tree
// hash with the GroupContext.
func (t *RatchetTree) Validate(cs CipherSuite, groupID []byte) error {
	for i := 1; i < len(t.nodes); i += 2 {
		if pn := t.ParentNode(NodeIndex(i)); pn != nil {
			if err := t.checkUnmerged(NodeIndex(i), pn); err != nil {
				return err
			}
		}
	}
	encKeys := map[string]NodeIndex{}
	sigKeys := map[string]LeafIndex{}
	for i, n := range t.nodes {
		if n == nil {
			continue
		}
		x := NodeIndex(i)
		if prev, dup := encKeys[string(n.encryptionKey())]; dup {
			return fmt.Errorf("%w: encryption key of nodes %d and %d", ErrDuplicateKey, prev, x)
		}
		encKeys[string(n.encryptionKey())] = x
		if n.Leaf != nil {
			leaf := x.Leaf()
			if prev, dup := sigKeys[string(n.Leaf.SignatureKey)]; dup {
				return fmt.Errorf("%w: signature key of leaves %d and %d", ErrDuplicateKey, prev, leaf)
			}
			sigKeys[string(n.Leaf.SignatureKey)] = leaf
			if err := n.Leaf.VerifySignature(cs, groupID, leaf); err != nil {
				return err
			}
		}
	}
	return t.VerifyParentHashes(cs)
}

// checkUnmerged verifies that each unmerged leaf of p is a non-blank leaf
// below p and is also listed by every non-blank node between it and p.
func (t *RatchetTree) checkUnmerged(p NodeIndex, pn *ParentNode) error {
	seen := map[LeafIndex]bool{}
	for _, l := range pn.UnmergedLeaves {
		if seen[l] {
			return fmt.Errorf("%w: leaf %d listed twice at node %d", ErrUnmergedLeaves, l, p)
		}
		seen[l] = true
		if uint32(l) >= t.LeafCount() || !p.IsAncestorOf(l.Node()) {
			return fmt.Errorf("%w: leaf %d is not below node %d", ErrUnmergedLeaves, l, p)
		}
		if t.Leaf(l) == nil {
			return fmt.Errorf("%w: leaf %d at node %d is blank", ErrUnmergedLeaves, l, p)
		}
		for _, a := range l.Node().DirectPath(t.LeafCount()) {
			if a == p {
				break
			}
			if an := t.ParentNode(a); an != nil && !slices.Contains(an.UnmergedLeaves, l) {
				return fmt.Errorf("%w: leaf %d unmerged at node %d but not at node %d", ErrUnmergedLeaves, l, p, a)
			}
		}
	}
	return nil
}
