package kt

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// mapStore is a log's node store the way a node keeps one: a key-value map
// written only with what Append returns.
type mapStore map[[2]uint64]Hash

func (s mapStore) Node(level uint8, index uint64) (Hash, error) {
	h, ok := s[[2]uint64{uint64(level), index}]
	if !ok {
		return Hash{}, fmt.Errorf("%w: no node (%d, %d)", ErrRange, level, index)
	}
	return h, nil
}

func TestAppendOverAStoreEqualsMemoryEqualsTheNaiveRoot(t *testing.T) {
	for seed := uint64(1); seed <= 12; seed++ {
		rng := rand.New(rand.NewPCG(seed, 23))
		n := 1 + rng.IntN(500)
		store := mapStore{}
		mem := NewMemory()
		var leaves []Hash
		for i := 0; i < n; i++ {
			var leaf Hash
			for j := range leaf {
				leaf[j] = byte(rng.Uint32())
			}
			nodes, err := Append(store, uint64(i), leaf)
			if err != nil {
				t.Fatalf("seed %d: append %d: %v", seed, i, err)
			}
			if nodes[0] != (Node{0, uint64(i), leaf}) {
				t.Fatalf("seed %d: append %d: first node %+v is not the leaf", seed, i, nodes[0])
			}
			for _, nd := range nodes {
				k := [2]uint64{uint64(nd.Level), nd.Index}
				if _, dup := store[k]; dup {
					t.Fatalf("seed %d: append %d wrote node (%d, %d) again", seed, i, nd.Level, nd.Index)
				}
				store[k] = nd.Hash
			}
			if _, err := mem.Append(leaf); err != nil {
				t.Fatal(err)
			}
			leaves = append(leaves, leaf)

			size := uint64(i + 1)
			want := RootOf(leaves)
			got, err := Root(store, size)
			if err != nil || got != want || mem.Root() != want || mem.Size() != size {
				t.Fatalf("seed %d, size %d: store root %v (%v), memory %v (size %d), naive %v",
					seed, size, got, err, mem.Root(), mem.Size(), want)
			}
			// An older size's root, read again from the grown store.
			old := uint64(rng.IntN(i + 1))
			if r, err := Root(store, old); err != nil || r != RootOf(leaves[:old]) {
				t.Fatalf("seed %d: root of %d after %d appends: %v, %v", seed, old, size, r, err)
			}
		}
		// Every perfect subtree is stored exactly once: level l of n
		// leaves has floor(n / 2^l) of them.
		want := 0
		for l := 0; n>>l > 0; l++ {
			want += n >> l
		}
		if len(store) != want {
			t.Fatalf("seed %d: %d nodes stored for %d leaves, want %d", seed, len(store), n, want)
		}
		for k, h := range store {
			if got, err := mem.Node(uint8(k[0]), k[1]); err != nil || got != h {
				t.Fatalf("seed %d: node %v differs between the store and Memory", seed, k)
			}
		}
	}
}

func TestAppendOverAStoreThatLostANodeFails(t *testing.T) {
	store := mapStore{}
	for i := uint64(0); i < 3; i++ {
		nodes, err := Append(store, i, LeafHash([]byte{byte(i)}))
		if err != nil {
			t.Fatal(err)
		}
		for _, nd := range nodes {
			store[[2]uint64{uint64(nd.Level), nd.Index}] = nd.Hash
		}
	}
	delete(store, [2]uint64{1, 0})
	if _, err := Append(store, 3, LeafHash([]byte{3})); !errors.Is(err, ErrRange) {
		t.Fatalf("append over a store without node (1, 0): %v", err)
	}
}

func TestMemoryHoldsAHundredThousandLeaves(t *testing.T) {
	const n = 100_000
	leaves := leavesOf(n)
	m := memoryOf(t, leaves)
	if m.Size() != n || m.Root() != RootOf(leaves) {
		t.Fatalf("size %d, root %v; naive %v", m.Size(), m.Root(), RootOf(leaves))
	}
	rng := rand.New(rand.NewPCG(100, 23))
	for _, s := range []uint64{1, 2, 3, 4096, 65535, 65536, 65537, 99_999} {
		if r, err := Root(m, s); err != nil || r != RootOf(leaves[:s]) {
			t.Fatalf("root of %d differs from the naive one: %v", s, err)
		}
	}
	for range 200 {
		i := rng.Uint64N(n)
		p, err := InclusionProof(m, i, n)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyInclusion(leaves[i], i, n, p, m.Root()); err != nil {
			t.Fatalf("leaf %d: %v", i, err)
		}
		s1 := rng.Uint64N(n) + 1
		c, err := ConsistencyProof(m, s1, n)
		if err != nil {
			t.Fatal(err)
		}
		// The naive root of a large prefix is slow: the old root comes
		// from the tree, held to the naive one for a few sizes below.
		root1, err := Root(m, s1)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyConsistency(s1, n, root1, m.Root(), c); err != nil {
			t.Fatalf("%d to %d: %v", s1, n, err)
		}
	}
}

func BenchmarkAppend(b *testing.B) {
	m := memoryOf(b, leavesOf(100_000))
	leaf := LeafHash([]byte("next"))
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.Append(leaf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInclusionProof(b *testing.B) {
	const n = 100_000
	m := memoryOf(b, leavesOf(n))
	var i uint64
	for b.Loop() {
		if _, err := InclusionProof(m, i%n, n); err != nil {
			b.Fatal(err)
		}
		i += 7919
	}
}

func BenchmarkConsistencyProof(b *testing.B) {
	const n = 100_000
	m := memoryOf(b, leavesOf(n))
	var i uint64
	for b.Loop() {
		if _, err := ConsistencyProof(m, 1+i%(n-1), n); err != nil {
			b.Fatal(err)
		}
		i += 7919
	}
}

func BenchmarkVerifyInclusion(b *testing.B) {
	const n = 100_000
	leaves := leavesOf(n)
	m := memoryOf(b, leaves)
	p, _ := InclusionProof(m, 12345, n)
	root := m.Root()
	for b.Loop() {
		if err := VerifyInclusion(leaves[12345], 12345, n, p, root); err != nil {
			b.Fatal(err)
		}
	}
}

// Memory says it is safe for concurrent use: an auditor may serve proofs
// while it appends. Run with -race to make this test mean it.
func TestMemoryServesProofsWhileItAppends(t *testing.T) {
	leaves := leavesOf(2000)
	m := memoryOf(t, leaves[:1])
	done := make(chan error, 1)
	go func() {
		for _, l := range leaves[1:] {
			if _, err := m.Append(l); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for finished := false; !finished; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			finished = true
		default:
		}
		size := m.Size()
		// The root and the proof read at a size the tree has reached are
		// those of that size, however far the tree has grown since.
		root, err := Root(m, size)
		if err != nil {
			t.Fatal(err)
		}
		i := size / 2
		p, err := InclusionProof(m, i, size)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyInclusion(leaves[i], i, size, p, root); err != nil {
			t.Fatalf("leaf %d of %d: %v", i, size, err)
		}
	}
	if m.Root() != RootOf(leaves) {
		t.Fatal("root after concurrent reads differs from the naive one")
	}
}
