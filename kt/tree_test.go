package kt

import (
	"encoding/binary"
	"errors"
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
