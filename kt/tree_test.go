package kt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
)

// leavesOf returns n distinct leaf hashes.
func leavesOf(n int) []Hash {
	out := make([]Hash, n)
	for i := range out {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(i))
		out[i] = LeafHash(b[:])
	}
	return out
}

// memoryOf returns a Memory holding leaves, failing t on any error.
func memoryOf(t testing.TB, leaves []Hash) *Memory {
	t.Helper()
	m := NewMemory()
	for i, l := range leaves {
		idx, err := m.Append(l)
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		if idx != uint64(i) {
			t.Fatalf("append %d: index %d", i, idx)
		}
	}
	return m
}

func TestInclusionProofsOfEverySizeUpTo300VerifyAgainstTheNaiveRoot(t *testing.T) {
	const max = 300
	leaves := leavesOf(max)
	m := memoryOf(t, leaves)
	for size := uint64(1); size <= max; size++ {
		root := RootOf(leaves[:size])
		got, err := Root(m, size)
		if err != nil || got != root {
			t.Fatalf("Root(%d) = %v, %v; naive %v", size, got, err, root)
		}
		for i := uint64(0); i < size; i++ {
			p, err := InclusionProof(m, i, size)
			if err != nil {
				t.Fatalf("InclusionProof(%d, %d): %v", i, size, err)
			}
			if err := VerifyInclusion(leaves[i], i, size, p, root); err != nil {
				t.Fatalf("VerifyInclusion(%d, %d): %v", i, size, err)
			}
		}
	}
}

func TestConsistencyProofsOfEveryPairUpTo300VerifyAgainstTheNaiveRoots(t *testing.T) {
	const max = 300
	leaves := leavesOf(max)
	m := memoryOf(t, leaves)
	roots := make([]Hash, max+1)
	for s := range roots {
		roots[s] = RootOf(leaves[:s])
	}
	for s2 := uint64(0); s2 <= max; s2++ {
		for s1 := uint64(0); s1 <= s2; s1++ {
			p, err := ConsistencyProof(m, s1, s2)
			if err != nil {
				t.Fatalf("ConsistencyProof(%d, %d): %v", s1, s2, err)
			}
			if err := VerifyConsistency(s1, s2, roots[s1], roots[s2], p); err != nil {
				t.Fatalf("VerifyConsistency(%d, %d): %v", s1, s2, err)
			}
		}
	}
}

func TestAProofForAnotherLeafIsRefused(t *testing.T) {
	leaves := leavesOf(7)
	m := memoryOf(t, leaves)
	p, _ := InclusionProof(m, 3, 7)
	err := VerifyInclusion(leaves[4], 3, 7, p, RootOf(leaves))
	if !errors.Is(err, ErrProof) {
		t.Fatalf("got %v, want ErrProof", err)
	}
}

// rfcTree is the seven-leaf tree of RFC 9162 §2.1.5, named as the RFC names
// its nodes: leaves a..f and j (d0..d6), then g=(a,b), h=(c,d), i=(e,f),
// k=(g,h), l=(i,j) and the root (k,l).
type rfcTree struct {
	d                             []Hash
	a, b, c, d4, e, f, j, g, h, i Hash
	k, l, root                    Hash
}

func newRFCTree() rfcTree {
	var t rfcTree
	for i := 0; i < 7; i++ {
		t.d = append(t.d, LeafHash([]byte{'d', byte('0' + i)}))
	}
	t.a, t.b, t.c, t.d4, t.e, t.f, t.j = t.d[0], t.d[1], t.d[2], t.d[3], t.d[4], t.d[5], t.d[6]
	t.g, t.h, t.i = NodeHash(t.a, t.b), NodeHash(t.c, t.d4), NodeHash(t.e, t.f)
	t.k, t.l = NodeHash(t.g, t.h), NodeHash(t.i, t.j)
	t.root = NodeHash(t.k, t.l)
	return t
}

func TestTheSevenLeafTreeOfRFC9162HasTheProofsTheRFCNames(t *testing.T) {
	r := newRFCTree()
	m := memoryOf(t, r.d)
	if got := m.Root(); got != r.root || RootOf(r.d) != r.root {
		t.Fatalf("root %v, naive %v; want (k, l) %v", got, RootOf(r.d), r.root)
	}
	// The RFC names the tree as the nodes of its own drawing; the hashes
	// of those nodes must be what the store holds.
	for _, n := range []struct {
		level uint8
		index uint64
		want  Hash
		name  string
	}{{1, 0, r.g, "g"}, {1, 1, r.h, "h"}, {1, 2, r.i, "i"}, {2, 0, r.k, "k"}, {0, 6, r.j, "j"}} {
		if got, err := m.Node(n.level, n.index); err != nil || got != n.want {
			t.Errorf("node %s (%d, %d) = %v, %v", n.name, n.level, n.index, got, err)
		}
	}
	if _, err := m.Node(2, 1); !errors.Is(err, ErrRange) {
		t.Errorf("node (2, 1) of seven leaves is not perfect, got %v", err)
	}

	incl := []struct {
		index uint64
		want  []Hash
		names string
	}{
		{0, []Hash{r.b, r.h, r.l}, "b h l"},
		{3, []Hash{r.c, r.g, r.l}, "c g l"},
		{4, []Hash{r.f, r.j, r.k}, "f j k"},
		{6, []Hash{r.i, r.k}, "i k"},
	}
	for _, c := range incl {
		p, err := InclusionProof(m, c.index, 7)
		if err != nil {
			t.Fatal(err)
		}
		if !equalHashes(p, c.want) {
			t.Errorf("inclusion proof for d%d is %d hashes, not [%s]", c.index, len(p), c.names)
		}
		if err := VerifyInclusion(r.d[c.index], c.index, 7, c.want, r.root); err != nil {
			t.Errorf("the RFC's proof for d%d: %v", c.index, err)
		}
	}

	cons := []struct {
		size1 uint64
		want  []Hash
		names string
	}{
		{3, []Hash{r.c, r.d4, r.g, r.l}, "c d g l"},
		{4, []Hash{r.l}, "l"},
		{6, []Hash{r.i, r.j, r.k}, "i j k"},
	}
	for _, c := range cons {
		p, err := ConsistencyProof(m, c.size1, 7)
		if err != nil {
			t.Fatal(err)
		}
		if !equalHashes(p, c.want) {
			t.Errorf("consistency proof %d to 7 is %d hashes, not [%s]", c.size1, len(p), c.names)
		}
		root1 := RootOf(r.d[:c.size1])
		if err := VerifyConsistency(c.size1, 7, root1, r.root, c.want); err != nil {
			t.Errorf("the RFC's proof %d to 7: %v", c.size1, err)
		}
	}
	// The old roots the RFC draws: size 3 is (g, c), size 4 is k, size 6 is (k, i).
	for size, want := range map[int]Hash{3: NodeHash(r.g, r.c), 4: r.k, 6: NodeHash(r.k, r.i)} {
		if got, _ := Root(m, uint64(size)); got != want {
			t.Errorf("root of %d leaves differs from the RFC's drawing", size)
		}
	}
}

func equalHashes(a, b []Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestTheEmptyTreeHasTheHashOfNothing(t *testing.T) {
	// SHA-256 of the empty string, as published for SHA-256 itself.
	const want = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	if EmptyRoot.String() != want || RootOf(nil).String() != want {
		t.Fatalf("empty root %v", EmptyRoot)
	}
	r, err := Root(NewMemory(), 0)
	if err != nil || r != EmptyRoot {
		t.Fatalf("Root of 0 = %v, %v", r, err)
	}
	if NewMemory().Root() != EmptyRoot {
		t.Fatal("an empty Memory's root is not the empty root")
	}
}

// tamperings returns variants of proof that must not verify: each hash
// with one bit flipped, each hash dropped, a hash added at either end and
// a hash repeated.
func tamperings(proof []Hash) map[string][]Hash {
	out := map[string][]Hash{}
	for i := range proof {
		for _, bit := range []int{0, 7, 255} {
			p := append([]Hash(nil), proof...)
			p[i][bit/8] ^= 1 << (bit % 8)
			out[fmt.Sprintf("bit %d of hash %d flipped", bit, i)] = p
		}
		p := append(append([]Hash(nil), proof[:i]...), proof[i+1:]...)
		out[fmt.Sprintf("hash %d dropped", i)] = p
		out[fmt.Sprintf("hash %d repeated", i)] = append(append(append([]Hash(nil), proof[:i+1]...), proof[i]), proof[i+1:]...)
	}
	extra := LeafHash([]byte("extra"))
	out["a hash added at the end"] = append(append([]Hash(nil), proof...), extra)
	out["a hash added at the start"] = append([]Hash{extra}, proof...)
	return out
}

func TestTamperedInclusionProofsAreRefused(t *testing.T) {
	const max = 64
	leaves := leavesOf(max + 1)
	m := memoryOf(t, leaves)
	roots := make([]Hash, max+2)
	for s := range roots {
		roots[s] = RootOf(leaves[:s])
	}
	for size := uint64(1); size <= max; size++ {
		for i := uint64(0); i < size; i++ {
			p, err := InclusionProof(m, i, size)
			if err != nil {
				t.Fatal(err)
			}
			for name, bad := range tamperings(p) {
				if err := VerifyInclusion(leaves[i], i, size, bad, roots[size]); !errors.Is(err, ErrProof) {
					t.Fatalf("leaf %d of %d, %s: got %v, want ErrProof", i, size, name, err)
				}
			}
			if i+1 < size {
				if err := VerifyInclusion(leaves[i], i+1, size, p, roots[size]); !errors.Is(err, ErrProof) {
					t.Fatalf("leaf %d of %d claimed at %d: got %v, want ErrProof", i, size, i+1, err)
				}
			}
			if i > 0 {
				if err := VerifyInclusion(leaves[i], i-1, size, p, roots[size]); !errors.Is(err, ErrProof) {
					t.Fatalf("leaf %d of %d claimed at %d: got %v, want ErrProof", i, size, i-1, err)
				}
			}
			// Another size, checked against that size's own root, as a
			// node that lies about its tree would present it.
			if err := VerifyInclusion(leaves[i], i, size+1, p, roots[size+1]); !errors.Is(err, ErrProof) {
				t.Fatalf("leaf %d of %d claimed in %d: got %v, want ErrProof", i, size, size+1, err)
			}
			if size-1 > i {
				if err := VerifyInclusion(leaves[i], i, size-1, p, roots[size-1]); !errors.Is(err, ErrProof) {
					t.Fatalf("leaf %d of %d claimed in %d: got %v, want ErrProof", i, size, size-1, err)
				}
			}
			if err := VerifyInclusion(leaves[i], size, size, p, roots[size]); !errors.Is(err, ErrRange) {
				t.Fatalf("index %d of %d: got %v, want ErrRange", size, size, err)
			}
		}
	}
}

func TestTamperedConsistencyProofsAreRefused(t *testing.T) {
	const max = 64
	leaves := leavesOf(max + 1)
	m := memoryOf(t, leaves)
	roots := make([]Hash, max+2)
	for s := range roots {
		roots[s] = RootOf(leaves[:s])
	}
	for s2 := uint64(1); s2 <= max; s2++ {
		for s1 := uint64(1); s1 < s2; s1++ {
			p, err := ConsistencyProof(m, s1, s2)
			if err != nil {
				t.Fatal(err)
			}
			for name, bad := range tamperings(p) {
				if err := VerifyConsistency(s1, s2, roots[s1], roots[s2], bad); !errors.Is(err, ErrProof) {
					t.Fatalf("%d to %d, %s: got %v, want ErrProof", s1, s2, name, err)
				}
			}
			if err := VerifyConsistency(s1, s2, roots[s1], roots[s2], nil); !errors.Is(err, ErrProof) {
				t.Fatalf("%d to %d with no proof: got %v, want ErrProof", s1, s2, err)
			}
			// Other sizes, each with its own true root.
			for _, c := range [][2]uint64{{s1 - 1, s2}, {s1 + 1, s2}, {s1, s2 + 1}, {s1, s2 - 1}} {
				if c[0] > c[1] {
					continue
				}
				if err := VerifyConsistency(c[0], c[1], roots[c[0]], roots[c[1]], p); !errors.Is(err, ErrProof) {
					t.Fatalf("proof %d to %d claimed for %d to %d: got %v, want ErrProof", s1, s2, c[0], c[1], err)
				}
			}
			// A log that rewrote history: a different old root.
			forged := roots[s1]
			forged[0] ^= 1
			if err := VerifyConsistency(s1, s2, forged, roots[s2], p); !errors.Is(err, ErrProof) {
				t.Fatalf("%d to %d with another old root: got %v", s1, s2, err)
			}
			if err := VerifyConsistency(s2, s1, roots[s2], roots[s1], p); !errors.Is(err, ErrRange) {
				t.Fatalf("%d to the smaller %d: got %v, want ErrRange", s2, s1, err)
			}
		}
	}
}

func TestConsistencyOfEqualSizesAndOfTheEmptyTree(t *testing.T) {
	leaves := leavesOf(5)
	r5, r4 := RootOf(leaves), RootOf(leaves[:4])
	extra := []Hash{r4}
	for _, c := range []struct {
		name         string
		s1, s2       uint64
		root1, root2 Hash
		proof        []Hash
		want         error
	}{
		{"equal sizes, equal roots, no proof", 5, 5, r5, r5, nil, nil},
		{"equal sizes, different roots: a fork", 5, 5, r5, r4, nil, ErrProof},
		{"equal sizes with a proof", 5, 5, r5, r5, extra, ErrProof},
		{"the empty tree before any tree", 0, 5, EmptyRoot, r5, nil, nil},
		{"the empty tree with another root", 0, 5, r4, r5, nil, ErrProof},
		{"the empty tree with a proof", 0, 5, EmptyRoot, r5, extra, ErrProof},
		{"a proof longer than MaxProof", 3, 5, r4, r5, make([]Hash, MaxProof+1), ErrRange},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := VerifyConsistency(c.s1, c.s2, c.root1, c.root2, c.proof)
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	if err := VerifyInclusion(leaves[0], 0, 5, make([]Hash, MaxProof+1), r5); !errors.Is(err, ErrRange) {
		t.Fatalf("an inclusion proof longer than MaxProof: %v", err)
	}
}

func TestProofsOutOfRangeAreRefusedByTheProver(t *testing.T) {
	m := memoryOf(t, leavesOf(10))
	if _, err := InclusionProof(m, 10, 10); !errors.Is(err, ErrRange) {
		t.Errorf("inclusion of leaf 10 of 10: %v", err)
	}
	if _, err := InclusionProof(m, 0, 11); !errors.Is(err, ErrRange) {
		t.Errorf("inclusion in a tree larger than the store: %v", err)
	}
	if _, err := ConsistencyProof(m, 6, 5); !errors.Is(err, ErrRange) {
		t.Errorf("consistency 6 to 5: %v", err)
	}
	if _, err := ConsistencyProof(m, 5, 11); !errors.Is(err, ErrRange) {
		t.Errorf("consistency to a size larger than the store: %v", err)
	}
	if _, err := Root(m, 11); !errors.Is(err, ErrRange) {
		t.Errorf("root of a size larger than the store: %v", err)
	}
}

// The RFC's verifiers bind a leaf (or an old tree) to a root; the tree's
// size is bound by the signed head that carries the root. Sizes whose
// paths have the same shape share proofs. This pins that down, so that no
// caller takes a proof's size for checked: it must come from a head.
func TestProofsBindTheRootNotTheSize(t *testing.T) {
	leaves := leavesOf(300)
	m := memoryOf(t, leaves)
	p4, _ := InclusionProof(m, 0, 4)
	if err := VerifyInclusion(leaves[0], 0, 3, p4, RootOf(leaves[:4])); err != nil {
		t.Fatalf("leaf 0 claimed in 3 with the proof and root of 4: %v", err)
	}
	c, _ := ConsistencyProof(m, 128, 300)
	if err := VerifyConsistency(128, 260, RootOf(leaves[:128]), RootOf(leaves), c); err != nil {
		t.Fatalf("128 to 260 with the proof and root of 300: %v", err)
	}
	// With a wrong size, not even the index is bound: leaf 6 of 7 verifies
	// as leaf 5 of 6 against the root of 7.
	p7, _ := InclusionProof(m, 6, 7)
	if err := VerifyInclusion(leaves[6], 5, 6, p7, RootOf(leaves[:7])); err != nil {
		t.Fatalf("leaf 6 of 7 claimed as 5 of 6: %v", err)
	}
	// With the true size, the index is bound.
	if err := VerifyInclusion(leaves[6], 5, 7, p7, RootOf(leaves[:7])); !errors.Is(err, ErrProof) {
		t.Fatalf("leaf 6 of 7 claimed as 5 of 7: %v", err)
	}
	// Where the shapes differ the claim is refused.
	if err := VerifyInclusion(leaves[0], 0, 5, p4, RootOf(leaves[:4])); !errors.Is(err, ErrProof) {
		t.Fatalf("leaf 0 claimed in 5 with the proof of 4: %v", err)
	}
}
