package kt

import "fmt"

// VerifyInclusion checks that leaf is the leaf at index of the tree of size
// leaves whose root is root, given its audit path, by RFC 9162 §2.1.3.2.
// A proof that does not verify is ErrProof; an index at or past size or a
// proof longer than MaxProof is ErrRange.
//
// The proof binds the leaf to root, and its index only together with the
// true size: sizes whose paths have the same shape share proofs (the path
// of leaf 6 of 7 reads as that of leaf 5 of 6), as the RFC's algorithm has
// it. Take size and root from one verified SignedHead, never from elsewhere.
func VerifyInclusion(leaf Hash, index, size uint64, proof []Hash, root Hash) error {
	if index >= size {
		return fmt.Errorf("%w: leaf %d of a tree of %d", ErrRange, index, size)
	}
	if len(proof) > MaxProof {
		return fmt.Errorf("%w: inclusion proof of %d hashes (at most %d)", ErrRange, len(proof), MaxProof)
	}
	fn, sn := index, size-1
	r := leaf
	for _, p := range proof {
		if sn == 0 {
			return fmt.Errorf("%w: inclusion of leaf %d in %d: proof too long", ErrProof, index, size)
		}
		if fn&1 == 1 || fn == sn {
			r = NodeHash(p, r)
			// A left child with no right sibling in this tree: its level
			// is skipped, climb until it is a right child again.
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			r = NodeHash(r, p)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 {
		return fmt.Errorf("%w: inclusion of leaf %d in %d: proof too short", ErrProof, index, size)
	}
	if r != root {
		return fmt.Errorf("%w: inclusion of leaf %d in %d: root differs", ErrProof, index, size)
	}
	return nil
}

// VerifyConsistency checks that the tree of size1 leaves with root1 is a
// prefix of the tree of size2 leaves with root2, given the proof, by RFC
// 9162 §2.1.4.2. Equal sizes need an empty proof and equal roots; size1 0
// needs an empty proof and root1 EmptyRoot (the empty tree is a prefix of
// every tree). A proof that does not verify is ErrProof; size1 past size2
// or a proof longer than MaxProof is ErrRange.
//
// As with VerifyInclusion, the sizes are bound by the signed heads that
// carry the roots, not by the proof: take each size with its root from one
// verified SignedHead.
func VerifyConsistency(size1, size2 uint64, root1, root2 Hash, proof []Hash) error {
	if size1 > size2 {
		return fmt.Errorf("%w: consistency from %d to the smaller %d", ErrRange, size1, size2)
	}
	if len(proof) > MaxProof {
		return fmt.Errorf("%w: consistency proof of %d hashes (at most %d)", ErrRange, len(proof), MaxProof)
	}
	if size1 == 0 || size1 == size2 {
		switch {
		case len(proof) != 0:
			return fmt.Errorf("%w: consistency from %d to %d needs no proof, got %d hashes", ErrProof, size1, size2, len(proof))
		case size1 == 0 && root1 != EmptyRoot:
			return fmt.Errorf("%w: the root of the empty tree differs", ErrProof)
		case size1 == size2 && root1 != root2:
			return fmt.Errorf("%w: two roots for size %d", ErrProof, size1)
		}
		return nil
	}
	if len(proof) == 0 {
		return fmt.Errorf("%w: consistency from %d to %d: empty proof", ErrProof, size1, size2)
	}
	// The old tree is a perfect subtree of the new one when size1 is a
	// power of two: the proof leaves its root out, the verifier adds it.
	path := proof
	if size1&(size1-1) == 0 {
		path = append([]Hash{root1}, proof...)
	}
	fn, sn := size1-1, size2-1
	for fn&1 == 1 {
		fn >>= 1
		sn >>= 1
	}
	fr, sr := path[0], path[0]
	for _, c := range path[1:] {
		if sn == 0 {
			return fmt.Errorf("%w: consistency from %d to %d: proof too long", ErrProof, size1, size2)
		}
		if fn&1 == 1 || fn == sn {
			fr = NodeHash(c, fr)
			sr = NodeHash(c, sr)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			sr = NodeHash(sr, c)
		}
		fn >>= 1
		sn >>= 1
	}
	switch {
	case sn != 0:
		return fmt.Errorf("%w: consistency from %d to %d: proof too short", ErrProof, size1, size2)
	case fr != root1:
		return fmt.Errorf("%w: consistency from %d to %d: the old root differs", ErrProof, size1, size2)
	case sr != root2:
		return fmt.Errorf("%w: consistency from %d to %d: the new root differs", ErrProof, size1, size2)
	}
	return nil
}
