package route

import (
	"fmt"
	"testing"
)

// benchDomains is the mesh size of the benchmarks: 200 domains, far more
// than a community mesh is expected to have.
const benchDomains = 200

// benchLists returns what three neighbours b, c and d advertise when each
// reaches all benchDomains domains, b being nearest, plus a variant of
// b's list with every hop count one higher.
func benchLists() (lists map[string][]Advert, worse []Advert) {
	lists = map[string][]Advert{}
	for i, n := range []string{"b.mesh", "c.mesh", "d.mesh"} {
		list := []Advert{{n, 0}}
		for j := range benchDomains {
			list = append(list, Advert{fmt.Sprintf("node%03d.mesh", j), uint8(1 + i + j%5)})
		}
		lists[n] = list
	}
	for _, a := range lists["b.mesh"] {
		if a.Hops > 0 {
			a.Hops++
		}
		worse = append(worse, a)
	}
	return lists, worse
}

func benchTable(b *testing.B) (*Table, map[string][]Advert, []Advert) {
	lists, worse := benchLists()
	tb := linked(Options{}, "b.mesh", "c.mesh", "d.mesh")
	for n, list := range lists {
		if _, err := tb.Learn(n, list, epoch); err != nil {
			b.Fatal(err)
		}
	}
	return tb, lists, worse
}

// BenchmarkLearn measures applying one neighbour's full list of 200
// domains: a periodic refresh that changes nothing, and a list that
// changes the hop count, and so the best route, of every domain.
func BenchmarkLearn(b *testing.B) {
	b.Run("refresh", func(b *testing.B) {
		tb, lists, _ := benchTable(b)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := tb.Learn("b.mesh", lists["b.mesh"], epoch); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("every route changes", func(b *testing.B) {
		tb, lists, worse := benchTable(b)
		alternate := [][]Advert{worse, lists["b.mesh"]}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := tb.Learn("b.mesh", alternate[i%2], epoch); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkNext measures a route lookup among 200 domains, each offered by
// three neighbours.
func BenchmarkNext(b *testing.B) {
	tb, _, _ := benchTable(b)
	var names []string
	for j := range benchDomains {
		names = append(names, fmt.Sprintf("node%03d.mesh", j))
	}
	b.Run("one reader", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, ok := tb.Next(names[i%benchDomains], epoch); !ok {
				b.Fatal("no route")
			}
			i++
		}
	})
	b.Run("parallel readers", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, ok := tb.Next(names[i%benchDomains], epoch); !ok {
					b.Fatal("no route")
				}
				i++
			}
		})
	})
}

// BenchmarkAdvertise measures building the list for one neighbour from a
// table of 200 domains.
func BenchmarkAdvertise(b *testing.B) {
	tb, _, _ := benchTable(b)
	b.ReportAllocs()
	for b.Loop() {
		if got := tb.Advertise("c.mesh", epoch); len(got) < benchDomains {
			b.Fatalf("%d adverts", len(got))
		}
	}
}
