package kt

import (
	"errors"
	"sync"
	"testing"
)

// fuzzTree is the tree the verify fuzzers check proofs against: 300 known
// leaves and the root of every prefix.
var fuzzTree = sync.OnceValues(func() (*Memory, []Hash) {
	leaves := leavesOf(fuzzLeaves)
	m := NewMemory()
	for _, l := range leaves {
		if _, err := m.Append(l); err != nil {
			panic(err) // a Memory appends without error; only a test helper
		}
	}
	return m, leaves
})

const fuzzLeaves = 300

// hashesOf cuts b into whole hashes; a tail shorter than a hash is dropped.
func hashesOf(b []byte) []Hash {
	out := make([]Hash, len(b)/32)
	for i := range out {
		copy(out[i][:], b[i*32:])
	}
	return out
}

func bytesOf(h []Hash) []byte {
	var b []byte
	for _, x := range h {
		b = append(b, x[:]...)
	}
	return b
}

// FuzzVerifyInclusion feeds VerifyInclusion a leaf, claimed index and size,
// the root of some size, and any proof. It must never panic, must refuse
// with a typed error, and may accept only the true path of a leaf the
// root's tree holds, at its true index when the size is the root's: anything
// else it accepts would be a SHA-256 collision.
func FuzzVerifyInclusion(f *testing.F) {
	m, _ := fuzzTree()
	for _, c := range [][2]uint64{{0, 1}, {3, 7}, {6, 7}, {100, 300}, {255, 256}} {
		p, err := InclusionProof(m, c[0], c[1])
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint16(c[0]), c[0], c[1], uint16(c[1]-1), bytesOf(p))
	}
	// Leaf 0 claimed in a tree of 3 with the proof and root of 4: the
	// shapes agree, so it verifies, and it is true of the tree of 4.
	p4, err := InclusionProof(m, 0, 4)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(uint16(0), uint64(0), uint64(3), uint16(3), bytesOf(p4))
	// rootOf picks the root of the tree of rootOf%300+1 leaves.
	f.Fuzz(func(t *testing.T, leafAt uint16, index, size uint64, rootOf uint16, proof []byte) {
		m, leaves := fuzzTree()
		leaf := int(leafAt) % fuzzLeaves
		rootSize := uint64(rootOf)%fuzzLeaves + 1
		root, err := Root(m, rootSize)
		if err != nil {
			t.Fatal(err)
		}
		p := hashesOf(proof)
		err = VerifyInclusion(leaves[leaf], index, size, p, root)
		if err != nil {
			if !errors.Is(err, ErrProof) && !errors.Is(err, ErrRange) {
				t.Fatalf("untyped refusal: %v", err)
			}
			return
		}
		// The RFC's verifier binds the leaf to the root; the index only
		// together with the true size, which the signed head binds: sizes
		// whose paths have the same shape share proofs (leaf 0 of 3 and of
		// 4; leaf 6 of 7 reads as leaf 5 of 6). So an acceptance may claim
		// only what is true of the real tree: the leaf is in it, by its
		// true path, and at the claimed index when the size is the real one.
		if uint64(leaf) >= rootSize || size == rootSize && uint64(leaf) != index {
			t.Fatalf("accepted leaf %d at index %d (size %d) against the root of %d", leaf, index, size, rootSize)
		}
		want, err := InclusionProof(m, uint64(leaf), rootSize)
		if err != nil || !equalHashes(p, want) {
			t.Fatalf("accepted a proof for leaf %d against the root of %d that is not the true one", leaf, rootSize)
		}
	})
}

// FuzzVerifyConsistency feeds VerifyConsistency two claimed sizes, the
// roots of two sizes and any proof. It must never panic, must refuse with
// a typed error, and may accept only when the first root's tree is a
// prefix of the second's, and with the true proof where the claimed sizes
// are the real ones.
func FuzzVerifyConsistency(f *testing.F) {
	m, _ := fuzzTree()
	for _, c := range [][2]uint64{{3, 7}, {4, 7}, {6, 7}, {1, 300}, {128, 300}, {5, 5}, {0, 9}} {
		p, err := ConsistencyProof(m, c[0], c[1])
		if err != nil {
			f.Fatal(err)
		}
		f.Add(c[0], c[1], uint16(c[0]), uint16(c[1]), bytesOf(p))
	}
	f.Fuzz(func(t *testing.T, size1, size2 uint64, rootOf1, rootOf2 uint16, proof []byte) {
		m, _ := fuzzTree()
		r1, r2 := uint64(rootOf1)%(fuzzLeaves+1), uint64(rootOf2)%(fuzzLeaves+1)
		root1, err := Root(m, r1)
		if err != nil {
			t.Fatal(err)
		}
		root2, err := Root(m, r2)
		if err != nil {
			t.Fatal(err)
		}
		p := hashesOf(proof)
		err = VerifyConsistency(size1, size2, root1, root2, p)
		if err != nil {
			if !errors.Is(err, ErrProof) && !errors.Is(err, ErrRange) {
				t.Fatalf("untyped refusal: %v", err)
			}
			return
		}
		// As for inclusion, the claimed sizes may differ from the real ones
		// where the proof's shape is the same (128 to 260 and 128 to 300):
		// what must hold is that the first root is a prefix of the second.
		if r1 > r2 {
			t.Fatalf("accepted %d to %d with the roots of %d and %d: not a prefix", size1, size2, r1, r2)
		}
		if size1 == 0 && (r1 != 0 || len(p) != 0) {
			t.Fatalf("accepted from the empty tree with the root of %d and %d hashes", r1, len(p))
		}
		if size1 == r1 && size2 == r2 {
			want, err := ConsistencyProof(m, size1, size2)
			if err != nil || !equalHashes(p, want) {
				t.Fatalf("accepted a proof from %d to %d that is not the true one", size1, size2)
			}
		}
	})
}
