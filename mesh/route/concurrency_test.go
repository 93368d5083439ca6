package route

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"
)

// TestConcurrentUseIsSafe has writers learn, flap a link and expire while
// readers route and advertise and a waiter follows Changed. Run with
// -race; without it, it still checks what readers see and that waiters
// are woken.
func TestConcurrentUseIsSafe(t *testing.T) {
	tb := linked(Options{RouteTTL: 50 * time.Millisecond}, "b.mesh", "c.mesh")
	const iterations = 2000
	at := func(i int) time.Time { return epoch.Add(time.Duration(i) * time.Millisecond) }
	lists := [][]Advert{
		{{"b.mesh", 0}, {"d.mesh", 1}, {"e.mesh", 2}},
		{{"b.mesh", 0}, {"e.mesh", 1}, {"f.mesh", 3}},
	}

	var writers, readers sync.WaitGroup
	stop := make(chan struct{})
	// The waiter holds its first Changed channel before any writer
	// starts: on a busy machine the writers could otherwise finish before
	// the waiter first runs, and no change would be left to wake it.
	wakes := 0
	first := tb.Changed()
	readers.Go(func() {
		for ch := first; ; ch = tb.Changed() {
			select {
			case <-ch:
				wakes++
			case <-stop:
				return
			}
		}
	})
	writers.Go(func() {
		for i := range iterations {
			if _, err := tb.Learn("b.mesh", lists[i%2], at(i)); err != nil {
				t.Errorf("Learn from b.mesh: %v", err)
				return
			}
		}
	})
	writers.Go(func() {
		for i := range iterations {
			if i%10 == 0 {
				tb.LinkDown("c.mesh", at(i))
				tb.LinkUp("c.mesh", at(i))
			}
			// c.mesh may be down for a moment; ErrNoLink is fine then.
			tb.Learn("c.mesh", []Advert{{"c.mesh", 0}, {"d.mesh", uint8(i % 4)}}, at(i))
		}
	})
	writers.Go(func() {
		for i := range iterations {
			tb.Expire(at(i))
		}
	})
	for range 3 {
		readers.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := sane(tb, at(i%iterations)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	writers.Wait()
	close(stop)
	readers.Wait()
	if wakes == 0 {
		t.Error("the waiter on Changed was never woken")
	}
}

// sane checks what a reader sees at now: routes sorted, each through a
// neighbour of a.mesh with a hop count below Infinity, never to a.mesh;
// and an advert list that a peer would accept.
func sane(tb *Table, now time.Time) error {
	routes := tb.Routes(now)
	if !sort.SliceIsSorted(routes, func(i, j int) bool { return routes[i].Domain < routes[j].Domain }) {
		return fmt.Errorf("Routes not sorted: %s", summary(routes))
	}
	for _, r := range routes {
		if r.Domain == tb.self || r.NextHop != "b.mesh" && r.NextHop != "c.mesh" || r.Hops == 0 || r.Hops >= tb.infinity {
			return fmt.Errorf("bad route %+v", r)
		}
	}
	adverts := tb.Advertise("b.mesh", now)
	if err := checkAdverts(tb.self, adverts, tb.max, map[string]struct{}{}); err != nil {
		return fmt.Errorf("Advertise gave a list a peer would refuse: %v", err)
	}
	return nil
}
