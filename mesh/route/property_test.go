package route

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// randomMesh links up to 12 nodes at random. Names are shuffled so that
// the lexical tie-break does not follow the order of creation.
func randomMesh(t *testing.T, rng *rand.Rand, async bool) *network {
	size := 2 + rng.IntN(11)
	var names []string
	for _, i := range rng.Perm(size) {
		names = append(names, fmt.Sprintf("node%02d.mesh", i))
	}
	n := newNetwork(t, Options{}, names...)
	n.async = async
	density := 0.1 + 0.5*rng.Float64()
	for i, a := range names {
		for _, b := range names[i+1:] {
			if rng.Float64() < density {
				n.linkUp(a, b)
			}
		}
	}
	return n
}

// TestRandomMeshesConvergeOnLoopFreeShortestPaths brings up random
// topologies, takes links down and up at random, and after each change
// lets the adverts settle and checks every node's routes against a
// breadth-first search of the links that are up: shortest, loop-free, and
// absent exactly for unreachable domains. Half the meshes exchange adverts
// in lockstep rounds, half by triggered updates delivered in random order.
func TestRandomMeshesConvergeOnLoopFreeShortestPaths(t *testing.T) {
	const meshes = 400
	// Counting to infinity after a partition raises hop counts by at
	// least one per round, so it ends within Infinity rounds; a route to
	// a reachable domain is then found within the diameter (< 12).
	roundLimit := int(DefaultInfinity) + 12
	worstRounds, worstLists := 0, 0
	for seed := range uint64(meshes) {
		rng := rand.New(rand.NewPCG(seed, 9))
		async := seed%2 == 1
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			n := randomMesh(t, rng, async)
			settle := func(what string) {
				t.Helper()
				if async {
					worstLists = max(worstLists, n.settle(rng, 200000))
				} else {
					worstRounds = max(worstRounds, n.converge(roundLimit))
				}
				n.checkShortestPaths()
				n.checkSplitHorizon()
				if t.Failed() {
					t.Fatalf("after %s:\n%s", what, n)
				}
			}
			settle("coming up")
			for step := range 4 {
				// Draw in a fixed order so that the seed alone decides.
				var cut []link
				for _, l := range slices.SortedFunc(maps.Keys(n.up), compareLinks) {
					if rng.Float64() < 0.3 {
						cut = append(cut, l)
					}
				}
				for _, l := range cut {
					n.cut(l.a, l.b)
				}
				settle(fmt.Sprintf("step %d: cutting %v", step, cut))
				// Bring some links back, and perhaps new ones.
				var added []link
				for i, a := range n.names {
					for _, b := range n.names[i+1:] {
						if !n.up[link{a, b}] && rng.Float64() < 0.15 {
							n.linkUp(a, b)
							added = append(added, link{a, b})
						}
					}
				}
				settle(fmt.Sprintf("step %d: adding %v", step, added))
			}
		})
	}
	t.Logf("%d meshes: at most %d rounds to converge in lockstep (limit %d), at most %d advert lists with triggered updates",
		meshes, worstRounds, roundLimit, worstLists)
}
