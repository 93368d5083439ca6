package kt

import (
	"fmt"
	"math/bits"
)

// MaxProof is the most hashes a proof may hold. A tree of 2^64 leaves needs
// at most 64 for inclusion; a consistency proof can need one or two more in
// principle, but never for any size below 2^63.
const MaxProof = 64

// Nodes reads the hash of the perfect subtree at (level, index): it covers
// leaves [index<<level, (index+1)<<level); level 0 is the leaf hashes. A log
// persists every such node (Append returns them), so that a root or proof
// reads O(log n) of them. A node it does not have is an error (wrapping
// ErrRange where that is the cause).
type Nodes interface {
	Node(level uint8, index uint64) (Hash, error)
}

// Node is one perfect subtree's hash, as Append returns it for the caller
// to store.
type Node struct {
	// Level is the subtree's height: 0 for a leaf.
	Level uint8
	// Index is the subtree's position among those of its level.
	Index uint64
	// Hash is the subtree's hash.
	Hash Hash
}

// Append returns the nodes completed by appending leaf as the leaf with
// index size to the tree of size leaves held by n: level 0 itself, then
// each parent that became perfect, lowest first. The caller stores them;
// Append writes nothing. size must be the number of leaves n holds: the
// left siblings it reads are there only then (a missing one is an error).
func Append(n Nodes, size uint64, leaf Hash) ([]Node, error) {
	if size == ^uint64(0) {
		return nil, fmt.Errorf("%w: the tree is full", ErrRange)
	}
	out := make([]Node, 1, 1+bits.TrailingZeros64(^size))
	out[0] = Node{Level: 0, Index: size, Hash: leaf}
	h, idx := leaf, size
	// While the new node is a right child, its left sibling is complete
	// and stored, and their parent became perfect.
	for level := uint8(0); idx&1 == 1; level++ {
		left, err := n.Node(level, idx-1)
		if err != nil {
			return nil, fmt.Errorf("kt: append leaf %d: node (%d, %d): %w", size, level, idx-1, err)
		}
		h = NodeHash(left, h)
		idx >>= 1
		out = append(out, Node{Level: level + 1, Index: idx, Hash: h})
	}
	return out, nil
}

// Root returns the root of the first size leaves held by n (EmptyRoot for
// size 0): the hashes of the perfect subtrees size decomposes into, folded
// from the right. Any size up to the number stored works, so heads of old
// sizes can be signed again.
func Root(n Nodes, size uint64) (Hash, error) {
	if size == 0 {
		return EmptyRoot, nil
	}
	return rangeHash(n, 0, size)
}

// rangeHash returns MTH of leaves [start, start+count), count >= 1, split
// as RFC 9162 §2.1.1 splits it. A perfect, aligned range is one stored
// node; any other splits at the largest power of two below count, which
// the recursion of every proof keeps aligned.
func rangeHash(n Nodes, start, count uint64) (Hash, error) {
	if count&(count-1) == 0 {
		level := uint8(bits.TrailingZeros64(count))
		if start&(count-1) == 0 {
			h, err := n.Node(level, start>>level)
			if err != nil {
				return Hash{}, fmt.Errorf("kt: node (%d, %d): %w", level, start>>level, err)
			}
			return h, nil
		}
	}
	k := splitPoint(count)
	l, err := rangeHash(n, start, k)
	if err != nil {
		return Hash{}, err
	}
	r, err := rangeHash(n, start+k, count-k)
	if err != nil {
		return Hash{}, err
	}
	return NodeHash(l, r), nil
}

// InclusionProof returns the audit path of the leaf at index in the tree
// of the first size leaves held by n, by RFC 9162 §2.1.3.1: the sibling
// hashes from the leaf up to the root. An index at or past size is ErrRange.
func InclusionProof(n Nodes, index, size uint64) ([]Hash, error) {
	if index >= size {
		return nil, fmt.Errorf("%w: leaf %d of a tree of %d", ErrRange, index, size)
	}
	var proof []Hash
	// Walk down from the root, remembering the sibling of each subtree
	// entered; the path is those siblings from the bottom up.
	start, count := uint64(0), size
	for count > 1 {
		k := splitPoint(count)
		var sib Hash
		var err error
		if index-start < k {
			sib, err = rangeHash(n, start+k, count-k)
			count = k
		} else {
			sib, err = rangeHash(n, start, k)
			start += k
			count -= k
		}
		if err != nil {
			return nil, err
		}
		proof = append(proof, sib)
	}
	reverse(proof)
	return proof, nil
}

// ConsistencyProof returns the proof that the tree of the first size1
// leaves held by n is a prefix of the tree of size2, by RFC 9162 §2.1.4.1.
// It is empty when size1 is 0 or equals size2 (nothing to prove); size1
// past size2 is ErrRange.
func ConsistencyProof(n Nodes, size1, size2 uint64) ([]Hash, error) {
	if size1 > size2 {
		return nil, fmt.Errorf("%w: consistency from %d to the smaller %d", ErrRange, size1, size2)
	}
	if size1 == 0 || size1 == size2 {
		return nil, nil
	}
	// SUBPROOF(m, D[start:start+count], b), unrolled: each step either
	// descends left (the right subtree's hash joins the proof) or right
	// (the left subtree's does), until m covers the whole subtree.
	var proof []Hash
	m, start, count, whole := size1, uint64(0), size2, true
	for m != count {
		k := splitPoint(count)
		var sib Hash
		var err error
		if m <= k {
			sib, err = rangeHash(n, start+k, count-k)
			count = k
		} else {
			sib, err = rangeHash(n, start, k)
			m -= k
			start += k
			count -= k
			whole = false
		}
		if err != nil {
			return nil, err
		}
		proof = append(proof, sib)
	}
	if !whole {
		// The old tree's last subtree is not the old root itself, so the
		// verifier needs its hash.
		h, err := rangeHash(n, start, count)
		if err != nil {
			return nil, err
		}
		proof = append(proof, h)
	}
	reverse(proof)
	return proof, nil
}

func reverse(h []Hash) {
	for i, j := 0, len(h)-1; i < j; i, j = i+1, j-1 {
		h[i], h[j] = h[j], h[i]
	}
}
