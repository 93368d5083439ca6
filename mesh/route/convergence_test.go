package route

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestAChainCarriesRoutesThroughTheMiddleNode(t *testing.T) {
	n := newNetwork(t, Options{}, "a", "b", "c")
	n.linkUp("a", "b")
	n.linkUp("b", "c")
	rounds := n.converge(10)
	t.Logf("chain of 3 converged in %d rounds", rounds)

	for _, tt := range []struct{ at, to, via string }{
		{"a", "c", "b"},
		{"c", "a", "b"},
	} {
		r, ok := n.nodes[tt.at].Next(tt.to, n.now)
		if !ok || r.NextHop != tt.via || r.Hops != 2 || r.Domain != tt.to {
			t.Errorf("%s: Next(%s) = %+v, %v; want via %s in 2 hops", tt.at, tt.to, r, ok, tt.via)
		}
	}
	n.checkShortestPaths()
}

// ring builds a ring of size nodes, n0—n1—…—n(size-1)—n0.
func ring(t *testing.T, size int, async bool) *network {
	var names []string
	for i := range size {
		names = append(names, fmt.Sprintf("n%d", i))
	}
	n := newNetwork(t, Options{}, names...)
	n.async = async
	for i := range size {
		n.linkUp(names[i], names[(i+1)%size])
	}
	return n
}

func TestARingFailsOverToTheOtherSideWithoutCountingToInfinity(t *testing.T) {
	for _, size := range []int{4, 5, 6, 9} {
		t.Run(fmt.Sprintf("a ring of %d in rounds", size), func(t *testing.T) {
			n := ring(t, size, false)
			rounds := n.converge(3 * size)
			n.checkShortestPaths()
			if longest := uint8(size / 2); n.maxHops != longest {
				t.Errorf("longest route %d hops, want %d: the shorter side", n.maxHops, longest)
			}

			n.cut("n0", "n1")
			n.maxHops = 0
			failover := n.converge(3 * size)
			t.Logf("ring of %d: up in %d rounds, failed over in %d", size, rounds, failover)
			n.checkShortestPaths()
			// After the cut the ring is a chain of size nodes: no route
			// may ever have been longer than that chain, and the rounds
			// are bounded by its length, not by Infinity.
			if n.maxHops > uint8(size-1) {
				t.Errorf("a route reached %d hops during failover: counting to infinity", n.maxHops)
			}
			if failover > size {
				t.Errorf("failover took %d rounds, more than the ring's %d nodes", failover, size)
			}
			if r, _ := n.nodes["n0"].Next("n1", n.now); r.NextHop != fmt.Sprintf("n%d", size-1) || int(r.Hops) != size-1 {
				t.Errorf("n0 reaches n1 by %+v, want the long way round", r)
			}
		})
		t.Run(fmt.Sprintf("a ring of %d with triggered updates", size), func(t *testing.T) {
			n := ring(t, size, true)
			rng := rand.New(rand.NewPCG(uint64(size), 1))
			up := n.settle(rng, 100*size*size)
			n.checkShortestPaths()
			n.cut("n0", "n1")
			down := n.settle(rng, 100*size*size)
			t.Logf("ring of %d: %d advert lists to come up, %d to fail over", size, up, down)
			n.checkShortestPaths()
			for _, name := range n.names {
				for _, r := range n.nodes[name].Routes(n.now) {
					if int(r.Hops) >= size {
						t.Errorf("%s holds %+v, longer than any path", name, r)
					}
				}
			}
		})
	}
}

func TestSplitHorizonKeepsRoutesFromGoingBackWhereTheyCameFrom(t *testing.T) {
	// x—a—b—c: b learns a and x from a, and c from c.
	n := newNetwork(t, Options{}, "a", "b", "c", "x")
	n.linkUp("x", "a")
	n.linkUp("a", "b")
	n.linkUp("b", "c")
	n.converge(10)

	for _, tt := range []struct {
		to   string
		want []Advert
	}{
		{"a", []Advert{{"b", 0}, {"c", 1}}},
		{"c", []Advert{{"a", 1}, {"b", 0}, {"x", 2}}},
	} {
		got := n.nodes["b"].Advertise(tt.to, n.now)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("b.Advertise(%s) = %v, want %v", tt.to, got, tt.want)
		}
	}
	n.checkSplitHorizon()
}

func TestAFullMeshOfFiveRoutesEverythingInOneHop(t *testing.T) {
	names := []string{"e.mesh", "d.mesh", "c.mesh", "b.mesh", "a.mesh"}
	n := newNetwork(t, Options{}, names...)
	for i, a := range names {
		for _, b := range names[i+1:] {
			n.linkUp(a, b)
		}
	}
	rounds := n.converge(10)
	t.Logf("full mesh of 5 converged in %d rounds", rounds)
	for _, a := range names {
		routes := n.nodes[a].Routes(n.now)
		if len(routes) != 4 {
			t.Errorf("%s has %d routes, want 4", a, len(routes))
		}
		for _, r := range routes {
			if r.Hops != 1 || r.NextHop != r.Domain || !r.Expires.IsZero() {
				t.Errorf("%s: %+v, want a direct 1-hop route", a, r)
			}
		}
		// Everything else is direct, so the only thing worth saying to a
		// neighbour is oneself.
		if got := n.nodes[a].Advertise("a.mesh", n.now); a != "a.mesh" && len(got) != 4 {
			t.Errorf("%s.Advertise(a.mesh) = %v, want itself and the 3 others", a, got)
		}
	}
	n.checkShortestPaths()
	n.checkSplitHorizon()
}
