package route

import (
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// network is an in-memory mesh of tables that carries each node's
// Advertise output to its neighbours' Learn, as federation links would,
// so that tests can watch the protocol converge.
//
// It runs in one of two ways. In rounds (round, converge), every node
// sends a full advert list to every neighbour, all computed before any
// is delivered, like a periodic exchange in lockstep. Asynchronously
// (settle), a node sends to all its neighbours only when its best routes
// change (a triggered update), and the links deliver in a random order.
// A newer list replaces one still waiting on its link, as a sender that
// always sends its latest state would do; without that, stale lists pile
// up and a partition costs tens of times more adverts.
type network struct {
	t     testing.TB
	now   time.Time
	nodes map[string]*Table
	names []string          // sorted
	up    map[link]bool     // the links that are up
	async bool              // link changes queue triggered updates
	queue map[link][]Advert // async: the list waiting to go from link.a to link.b
	// maxHops is the largest hop count any route had after a round.
	maxHops uint8
}

// link is a directed pair of nodes; an undirected link is stored with
// a < b.
type link struct{ a, b string }

func compareLinks(x, y link) int {
	return cmp.Or(cmp.Compare(x.a, y.a), cmp.Compare(x.b, y.b))
}

func undirected(a, b string) link {
	if b < a {
		a, b = b, a
	}
	return link{a, b}
}

var epoch = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func newNetwork(t testing.TB, o Options, names ...string) *network {
	n := &network{t: t, now: epoch, nodes: map[string]*Table{}, up: map[link]bool{}, queue: map[link][]Advert{}}
	for _, name := range names {
		o.Self = name
		n.nodes[name] = New(o)
	}
	n.names = slices.Sorted(maps.Keys(n.nodes))
	return n
}

// linkUp brings up the link a—b at both ends.
func (n *network) linkUp(a, b string) {
	n.up[undirected(a, b)] = true
	for _, p := range [][2]string{{a, b}, {b, a}} {
		if !n.nodes[p[0]].LinkUp(p[1], n.now) {
			n.t.Fatalf("%s: LinkUp(%s) changed nothing", p[0], p[1])
		}
		if n.async {
			n.send(p[0])
		}
	}
}

// cut takes down the link a—b at both ends, losing what was in flight.
func (n *network) cut(a, b string) {
	delete(n.up, undirected(a, b))
	delete(n.queue, link{a, b})
	delete(n.queue, link{b, a})
	for _, p := range [][2]string{{a, b}, {b, a}} {
		if !n.nodes[p[0]].LinkDown(p[1], n.now) {
			n.t.Fatalf("%s: LinkDown(%s) changed nothing", p[0], p[1])
		}
		if n.async {
			n.send(p[0])
		}
	}
}

func (n *network) neighbours(a string) []string {
	var out []string
	for _, b := range n.names {
		if n.up[undirected(a, b)] {
			out = append(out, b)
		}
	}
	return out
}

// deliver hands adverts from one node to another and checks that Learn
// accepts them and that Changed fires exactly when Learn says so.
func (n *network) deliver(from, to string, adverts []Advert) bool {
	tb := n.nodes[to]
	ch := tb.Changed()
	changed, err := tb.Learn(from, adverts, n.now)
	if err != nil {
		n.t.Fatalf("%s: Learn from %s: %v", to, from, err)
	}
	fired := false
	select {
	case <-ch:
		fired = true
	default:
	}
	if fired != changed {
		n.t.Fatalf("%s: Learn from %s returned changed=%v but Changed fired=%v", to, from, changed, fired)
	}
	return changed
}

// round has every node send its adverts to every neighbour, and reports
// whether any best route changed.
func (n *network) round() bool {
	type msg struct {
		from, to string
		adverts  []Advert
	}
	var msgs []msg
	for _, a := range n.names {
		for _, b := range n.neighbours(a) {
			msgs = append(msgs, msg{a, b, n.nodes[a].Advertise(b, n.now)})
		}
	}
	changed := false
	for _, m := range msgs {
		changed = n.deliver(m.from, m.to, m.adverts) || changed
	}
	for _, name := range n.names {
		for _, r := range n.nodes[name].Routes(n.now) {
			n.maxHops = max(n.maxHops, r.Hops)
		}
	}
	n.now = n.now.Add(time.Second)
	return changed
}

// converge runs rounds until one changes nothing, and returns how many
// rounds changed something. It fails the test after limit rounds.
func (n *network) converge(limit int) int {
	for rounds := 0; ; rounds++ {
		if !n.round() {
			return rounds
		}
		if rounds >= limit {
			n.t.Fatalf("no convergence after %d rounds", limit)
		}
	}
}

// send queues a's current adverts to each of its neighbours, in place of
// any list not delivered yet.
func (n *network) send(a string) {
	for _, b := range n.neighbours(a) {
		n.queue[link{a, b}] = n.nodes[a].Advertise(b, n.now)
	}
}

// settle delivers queued adverts, one link at a time in random order,
// with a triggered update from every node whose routes changed, until
// nothing is in flight. It returns the number of lists delivered and
// fails the test after limit.
func (n *network) settle(rng *rand.Rand, limit int) int {
	for delivered := 0; ; delivered++ {
		busy := slices.Collect(maps.Keys(n.queue))
		if len(busy) == 0 {
			return delivered
		}
		if delivered >= limit {
			n.t.Fatalf("still %d links busy after %d deliveries", len(busy), limit)
		}
		// Map order is random; sort so that the seed alone decides.
		slices.SortFunc(busy, compareLinks)
		l := busy[rng.IntN(len(busy))]
		adverts := n.queue[l]
		delete(n.queue, l)
		n.now = n.now.Add(time.Millisecond)
		if n.deliver(l.a, l.b, adverts) {
			n.send(l.b)
		}
	}
}

// distances returns the hop counts from src to every node it reaches over
// the links that are up, by breadth-first search.
func (n *network) distances(src string) map[string]int {
	dist := map[string]int{src: 0}
	frontier := []string{src}
	for len(frontier) > 0 {
		var next []string
		for _, a := range frontier {
			for _, b := range n.neighbours(a) {
				if _, seen := dist[b]; !seen {
					dist[b] = dist[a] + 1
					next = append(next, b)
				}
			}
		}
		frontier = next
	}
	return dist
}

// checkShortestPaths checks every node's table against the topology: each
// reachable destination has a route that, followed hop by hop over links
// that are up, gets there in the fewest hops without a loop; no other
// domain has a route; and no node routes to itself.
func (n *network) checkShortestPaths() {
	n.t.Helper()
	for _, src := range n.names {
		dist := n.distances(src)
		for _, dst := range n.names {
			r, ok := n.nodes[src].Next(dst, n.now)
			want, reachable := dist[dst]
			switch {
			case src == dst:
				if ok {
					n.t.Errorf("%s routes to itself: %+v", src, r)
				}
				continue
			case !reachable:
				if ok {
					n.t.Errorf("%s has a route to unreachable %s: %+v", src, dst, r)
				}
				continue
			case !ok:
				n.t.Errorf("%s has no route to %s, %d hops away", src, dst, want)
				continue
			case int(r.Hops) != want:
				n.t.Errorf("%s reaches %s in %d hops, shortest is %d", src, dst, r.Hops, want)
			}
			n.follow(src, dst, want)
		}
		if got, want := len(n.nodes[src].Routes(n.now)), len(dist)-1; got != want {
			n.t.Errorf("%s lists %d routes, %d domains are reachable", src, got, want)
		}
	}
}

// follow walks from src towards dst by each node's Next, and checks it
// arrives in exactly hops steps, over links that are up, with the hop
// count dropping by one at each node.
func (n *network) follow(src, dst string, hops int) {
	n.t.Helper()
	path := []string{src}
	at := src
	for step := 0; at != dst; step++ {
		if step == hops {
			n.t.Errorf("%s→%s: not there after %d hops: %v", src, dst, hops, path)
			return
		}
		r, ok := n.nodes[at].Next(dst, n.now)
		if !ok {
			n.t.Errorf("%s→%s: %s has no route: %v", src, dst, at, path)
			return
		}
		if int(r.Hops) != hops-step {
			n.t.Errorf("%s→%s: %s says %d hops with %d to go: %v", src, dst, at, r.Hops, hops-step, path)
		}
		if !n.up[undirected(at, r.NextHop)] {
			n.t.Errorf("%s→%s: %s's next hop %s is not linked: %v", src, dst, at, r.NextHop, path)
			return
		}
		if slices.Contains(path, r.NextHop) {
			n.t.Errorf("%s→%s: loop at %s: %v", src, dst, r.NextHop, append(path, r.NextHop))
			return
		}
		at = r.NextHop
		path = append(path, at)
	}
}

// checkSplitHorizon checks that no node advertises to a neighbour a route
// that goes through that neighbour.
func (n *network) checkSplitHorizon() {
	n.t.Helper()
	for _, a := range n.names {
		for _, b := range n.neighbours(a) {
			for _, ad := range n.nodes[a].Advertise(b, n.now) {
				if r, ok := n.nodes[a].Next(ad.Domain, n.now); ok && r.NextHop == b {
					n.t.Errorf("%s advertises %s to %s, its next hop for it", a, ad.Domain, b)
				}
			}
		}
	}
}

func (n *network) String() string {
	s := ""
	for _, a := range n.names {
		s += a + ":"
		for _, r := range n.nodes[a].Routes(n.now) {
			s += fmt.Sprintf(" %s/%s/%d", r.Domain, r.NextHop, r.Hops)
		}
		s += "\n"
	}
	return s
}
