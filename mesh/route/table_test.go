package route

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fired reports whether ch has been closed.
func fired(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// linked returns a table for a.mesh with links up to neighbours at epoch.
func linked(o Options, neighbours ...string) *Table {
	if o.Self == "" {
		o.Self = "a.mesh"
	}
	t := New(o)
	for _, n := range neighbours {
		t.LinkUp(n, epoch)
	}
	return t
}

func mustLearn(t *testing.T, tb *Table, from string, adverts []Advert, now time.Time) bool {
	t.Helper()
	changed, err := tb.Learn(from, adverts, now)
	if err != nil {
		t.Fatalf("Learn from %s: %v", from, err)
	}
	return changed
}

// summary renders routes as domain/next hop/hops, which is what routing
// decides; the times are checked where they matter.
func summary(routes []Route) string {
	var parts []string
	for _, r := range routes {
		parts = append(parts, fmt.Sprintf("%s/%s/%d", r.Domain, r.NextHop, r.Hops))
	}
	return strings.Join(parts, " ")
}

func TestAnUnrefreshedRouteLapsesAfterRouteTTL(t *testing.T) {
	tb := linked(Options{RouteTTL: time.Minute}, "b.mesh")
	mustLearn(t, tb, "b.mesh", []Advert{{"b.mesh", 0}, {"c.mesh", 1}}, epoch)
	ch := tb.Changed()
	lapse := epoch.Add(time.Minute)

	if r, ok := tb.Next("c.mesh", lapse.Add(-time.Nanosecond)); !ok || !r.Expires.Equal(lapse) || !r.Learned.Equal(epoch) {
		t.Errorf("just before RouteTTL: Next = %+v, %v; want a route learned at %v expiring at %v", r, ok, epoch, lapse)
	}
	if at, ok := tb.NextExpiry(); !ok || at.After(lapse) {
		t.Errorf("NextExpiry = %v, %v; want at or before %v", at, ok, lapse)
	}
	// Readers stop using the route on time even if Expire is late.
	if r, ok := tb.Next("c.mesh", lapse); ok {
		t.Errorf("at RouteTTL, before Expire: Next = %+v", r)
	}
	if got := summary(tb.Routes(lapse)); got != "b.mesh/b.mesh/1" {
		t.Errorf("at RouteTTL, Routes = %s; want only the direct link", got)
	}
	if tb.Expire(lapse.Add(-time.Nanosecond)) || fired(ch) {
		t.Error("Expire before RouteTTL changed something")
	}
	if !tb.Expire(lapse) {
		t.Error("Expire at RouteTTL changed nothing")
	}
	if !fired(ch) {
		t.Error("Changed did not fire when the route lapsed")
	}
	if tb.Expire(lapse) {
		t.Error("a second Expire changed something")
	}
	if _, ok := tb.NextExpiry(); ok {
		t.Error("NextExpiry reports a learned route after all lapsed")
	}
	if _, ok := tb.Next("b.mesh", lapse.Add(24*time.Hour)); !ok {
		t.Error("the direct route lapsed; it should last as long as the link")
	}
}

func TestARefreshedRouteLivesOnWithoutFiringChanged(t *testing.T) {
	tb := linked(Options{RouteTTL: time.Minute}, "b.mesh")
	adverts := []Advert{{"b.mesh", 0}, {"c.mesh", 1}}
	mustLearn(t, tb, "b.mesh", adverts, epoch)
	ch := tb.Changed()
	if mustLearn(t, tb, "b.mesh", adverts, epoch.Add(50*time.Second)) || fired(ch) {
		t.Error("a refresh counted as a change")
	}
	// Before and after the first advert's deadline.
	for _, at := range []time.Duration{55 * time.Second, 100 * time.Second} {
		r, ok := tb.Next("c.mesh", epoch.Add(at))
		if !ok || !r.Learned.Equal(epoch) || !r.Expires.Equal(epoch.Add(110*time.Second)) {
			t.Errorf("at +%v: Next = %+v, %v; want learned at the first advert, expiring RouteTTL after the last", at, r, ok)
		}
		if tb.Expire(epoch.Add(at)) {
			t.Errorf("at +%v: Expire removed a refreshed route", at)
		}
	}
}

func TestNextExpiryIsNeverLaterThanTheFirstLapse(t *testing.T) {
	// Callers read the clock before Learn takes the lock, so calls can
	// arrive slightly out of time order.
	tb := linked(Options{RouteTTL: time.Minute}, "b.mesh", "c.mesh")
	mustLearn(t, tb, "b.mesh", []Advert{{"b.mesh", 0}, {"x.mesh", 1}}, epoch.Add(time.Second))
	mustLearn(t, tb, "c.mesh", []Advert{{"c.mesh", 0}, {"y.mesh", 1}}, epoch)
	first := epoch.Add(time.Minute)
	if at, ok := tb.NextExpiry(); !ok || at.After(first) {
		t.Errorf("NextExpiry = %v, %v; want at or before %v", at, ok, first)
	}
	ch := tb.Changed()
	if !tb.Expire(first) || !fired(ch) {
		t.Error("y.mesh did not lapse at its deadline")
	}
	if at, ok := tb.NextExpiry(); !ok || at.After(first.Add(time.Second)) {
		t.Errorf("NextExpiry = %v, %v; want at or before %v", at, ok, first.Add(time.Second))
	}
}

func TestAWaitingForwarderWakesWhenARouteAppears(t *testing.T) {
	tb := linked(Options{}, "b.mesh")
	got := make(chan Route)
	go func() {
		for {
			ch := tb.Changed()
			if r, ok := tb.Next("c.mesh", epoch); ok {
				got <- r
				return
			}
			<-ch
		}
	}()
	mustLearn(t, tb, "b.mesh", []Advert{{"b.mesh", 0}, {"c.mesh", 1}}, epoch)
	if r := <-got; r.NextHop != "b.mesh" || r.Hops != 2 {
		t.Errorf("the forwarder got %+v", r)
	}
}

func TestAdvertListsOverMaxRoutesAreRefused(t *testing.T) {
	list := func(n int) []Advert {
		out := []Advert{{"b.mesh", 0}}
		for i := 1; i < n; i++ {
			out = append(out, Advert{fmt.Sprintf("d%04d.mesh", i), 1})
		}
		return out
	}
	for _, tt := range []struct {
		name string
		max  int
	}{
		{"a small limit", 8},
		{"the default limit", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tb := linked(Options{MaxRoutes: tt.max}, "b.mesh")
			limit := tt.max
			if limit == 0 {
				limit = DefaultMaxRoutes
			}
			if _, err := tb.Learn("b.mesh", list(limit), epoch); err != nil {
				t.Fatalf("a list of exactly MaxRoutes: %v", err)
			}
			before := tb.Routes(epoch)
			ch := tb.Changed()
			changed, err := tb.Learn("b.mesh", list(limit+1), epoch)
			if !errors.Is(err, ErrTooManyAdverts) || changed || fired(ch) {
				t.Errorf("a list of MaxRoutes+1: changed=%v err=%v fired=%v; want ErrTooManyAdverts and nothing changed", changed, err, fired(ch))
			}
			if after := tb.Routes(epoch); !reflect.DeepEqual(after, before) {
				t.Errorf("the refused list changed the table from %d to %d routes", len(before), len(after))
			}
		})
	}
}

func TestMalformedAdvertListsAreRefusedAndChangeNothing(t *testing.T) {
	tests := []struct {
		name    string
		adverts []Advert
	}{
		{"an empty list", nil},
		{"an empty domain", []Advert{{"", 1}}},
		{"an upper-case domain", []Advert{{"C.mesh", 1}}},
		{"a trailing dot", []Advert{{"c.mesh.", 1}}},
		{"an empty label", []Advert{{"c..mesh", 1}}},
		{"a label starting with a hyphen", []Advert{{"-c.mesh", 1}}},
		{"a label ending with a hyphen", []Advert{{"c-.mesh", 1}}},
		{"a label of 64 bytes", []Advert{{strings.Repeat("c", 64) + ".mesh", 1}}},
		{"a name of 254 bytes", []Advert{{strings.Repeat("c.", 126) + "cc", 1}}},
		{"an underscore", []Advert{{"c_d.mesh", 1}}},
		{"a space", []Advert{{"c d.mesh", 1}}},
		{"a non-ASCII letter", []Advert{{"bücher.mesh", 1}}},
		{"a domain listed twice", []Advert{{"c.mesh", 1}, {"c.mesh", 2}}},
		{"the sender at 1 hop", []Advert{{"b.mesh", 1}}},
		{"another domain at 0 hops", []Advert{{"c.mesh", 0}}},
		{"this node at 0 hops", []Advert{{"a.mesh", 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := linked(Options{}, "b.mesh")
			mustLearn(t, tb, "b.mesh", []Advert{{"b.mesh", 0}, {"c.mesh", 1}, {"d.mesh", 2}}, epoch)
			before := tb.Routes(epoch)
			ch := tb.Changed()
			// The sender's own entry is there, so only the bad one is at
			// fault.
			adverts := tt.adverts
			if adverts != nil && adverts[0].Domain != "b.mesh" {
				adverts = append([]Advert{{"b.mesh", 0}}, adverts...)
			}
			changed, err := tb.Learn("b.mesh", adverts, epoch.Add(time.Second))
			if !errors.Is(err, ErrMalformed) || changed {
				t.Errorf("Learn = %v, %v; want ErrMalformed and no change", changed, err)
			}
			if fired(ch) {
				t.Error("Changed fired")
			}
			if after := tb.Routes(epoch.Add(time.Second)); !reflect.DeepEqual(after, before) {
				t.Errorf("the table changed: %s, was %s", summary(after), summary(before))
			}
		})
	}
}

func TestValidDomainAcceptsLowercaseDNSNamesOnly(t *testing.T) {
	for _, tt := range []struct {
		domain string
		valid  bool
	}{
		{"mesh", true},
		{"a.mesh", true},
		{"node-1.village.example", true},
		{"0.mesh", true},
		{strings.Repeat("c", 63) + ".mesh", true},
		{strings.Repeat("c.", 126) + "c", true}, // 253 bytes
		{"", false},
		{".", false},
		{".mesh", false},
		{"mesh.", false},
		{"A.mesh", false},
		{"a..mesh", false},
		{"-a.mesh", false},
		{"a-.mesh", false},
		{strings.Repeat("c", 64) + ".mesh", false},
		{strings.Repeat("c.", 126) + "cc", false}, // 254 bytes
		{"a_b.mesh", false},
		{"a b", false},
		{"a/b", false},
		{"bücher.mesh", false},
		{"a\x00.mesh", false},
		{"10.0.0.1", false}, // no node can have it: it reads as an IP address
		{"mesh.123", false},
	} {
		if got := validDomain(tt.domain); got != tt.valid {
			t.Errorf("validDomain(%q) = %v, want %v", tt.domain, got, tt.valid)
		}
	}
}

func TestAdvertsFromANeighbourWithoutALinkAreRefused(t *testing.T) {
	tb := linked(Options{}, "b.mesh", "c.mesh")
	mustLearn(t, tb, "b.mesh", []Advert{{"b.mesh", 0}, {"d.mesh", 1}}, epoch)
	tb.LinkDown("c.mesh", epoch)
	before := tb.Routes(epoch)
	ch := tb.Changed()
	for _, from := range []string{"x.mesh", "c.mesh", "a.mesh"} {
		changed, err := tb.Learn(from, []Advert{{from, 0}, {"e.mesh", 1}}, epoch)
		if !errors.Is(err, ErrNoLink) || changed {
			t.Errorf("Learn from %s = %v, %v; want ErrNoLink", from, changed, err)
		}
	}
	if after := tb.Routes(epoch); !reflect.DeepEqual(after, before) || fired(ch) {
		t.Errorf("the table changed: %s, was %s", summary(after), summary(before))
	}
}

func TestThisNodeIsNeverRouted(t *testing.T) {
	tb := linked(Options{Self: "a.mesh"}, "b.mesh")
	if tb.LinkUp("a.mesh", epoch) {
		t.Error("LinkUp to itself changed the table")
	}
	mustLearn(t, tb, "b.mesh", []Advert{{"a.mesh", 1}, {"b.mesh", 0}, {"c.mesh", 1}}, epoch)
	if r, ok := tb.Next("a.mesh", epoch); ok {
		t.Errorf("Next(self) = %+v", r)
	}
	if got := summary(tb.Routes(epoch)); got != "b.mesh/b.mesh/1 c.mesh/b.mesh/2" {
		t.Errorf("Routes = %s", got)
	}
	want := []Advert{{"a.mesh", 0}, {"b.mesh", 1}, {"c.mesh", 2}}
	if got := tb.Advertise("z.mesh", epoch); !reflect.DeepEqual(got, want) {
		t.Errorf("Advertise = %v, want %v: itself once, at 0 hops", got, want)
	}
}

func TestLinksToBadNamesAreIgnored(t *testing.T) {
	tb := linked(Options{})
	for _, name := range []string{"", "B.mesh", "b.mesh.", "b_c"} {
		if tb.LinkUp(name, epoch) {
			t.Errorf("LinkUp(%q) changed the table", name)
		}
	}
	if got := tb.Routes(epoch); len(got) != 0 {
		t.Errorf("Routes = %s", summary(got))
	}
}

func TestHopCountsThatWouldReachInfinityAreIgnored(t *testing.T) {
	for _, tt := range []struct {
		name     string
		infinity uint8
	}{
		{"the default infinity", 0},
		{"an infinity of 4", 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			inf := tt.infinity
			if inf == 0 {
				inf = DefaultInfinity
			}
			tb := linked(Options{Infinity: tt.infinity}, "b.mesh")
			mustLearn(t, tb, "b.mesh", []Advert{{"b.mesh", 0}, {"far.mesh", inf - 2}, {"gone.mesh", inf - 1}, {"poisoned.mesh", inf}, {"max.mesh", 255}}, epoch)
			if got, want := summary(tb.Routes(epoch)), fmt.Sprintf("b.mesh/b.mesh/1 far.mesh/b.mesh/%d", inf-1); got != want {
				t.Errorf("Routes = %s, want %s", got, want)
			}
			// Advertising a known route at infinity withdraws it.
			if !mustLearn(t, tb, "b.mesh", []Advert{{"b.mesh", 0}, {"far.mesh", inf}}, epoch) {
				t.Error("poisoning a route changed nothing")
			}
			if r, ok := tb.Next("far.mesh", epoch); ok {
				t.Errorf("the poisoned route is still there: %+v", r)
			}
		})
	}
}

func TestAFullListReplacesTheNeighboursPreviousOne(t *testing.T) {
	tb := linked(Options{}, "b.mesh")
	mustLearn(t, tb, "b.mesh", []Advert{{"b.mesh", 0}, {"x.mesh", 1}, {"y.mesh", 3}}, epoch)
	if !mustLearn(t, tb, "b.mesh", []Advert{{"b.mesh", 0}, {"x.mesh", 2}, {"z.mesh", 1}}, epoch) {
		t.Error("the new list changed nothing")
	}
	if got, want := summary(tb.Routes(epoch)), "b.mesh/b.mesh/1 x.mesh/b.mesh/3 z.mesh/b.mesh/2"; got != want {
		t.Errorf("Routes = %s, want %s", got, want)
	}
}

func TestLosingTheBestRouteFailsOverToAKeptAlternativeAtOnce(t *testing.T) {
	tests := []struct {
		name string
		lose func(*testing.T, *Table) bool
	}{
		{"when the link goes down", func(_ *testing.T, tb *Table) bool { return tb.LinkDown("b.mesh", epoch) }},
		{"when the neighbour withdraws it", func(t *testing.T, tb *Table) bool {
			return mustLearn(t, tb, "b.mesh", []Advert{{"b.mesh", 0}, {"only-b.mesh", 1}}, epoch)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := linked(Options{}, "b.mesh", "c.mesh")
			mustLearn(t, tb, "b.mesh", []Advert{{"b.mesh", 0}, {"d.mesh", 1}, {"only-b.mesh", 1}}, epoch)
			mustLearn(t, tb, "c.mesh", []Advert{{"c.mesh", 0}, {"d.mesh", 2}}, epoch)
			if r, _ := tb.Next("d.mesh", epoch); r.NextHop != "b.mesh" {
				t.Fatalf("before: d.mesh via %s, want b.mesh", r.NextHop)
			}
			ch := tb.Changed()
			if !tt.lose(t, tb) || !fired(ch) {
				t.Error("losing the best route was not reported as a change")
			}
			if r, ok := tb.Next("d.mesh", epoch); !ok || r.NextHop != "c.mesh" || r.Hops != 3 {
				t.Errorf("after: Next(d.mesh) = %+v, %v; want via c.mesh in 3 hops", r, ok)
			}
		})
	}
}

func TestLinkDownWithdrawsEveryRouteThroughTheNeighbour(t *testing.T) {
	tb := linked(Options{}, "b.mesh", "c.mesh")
	mustLearn(t, tb, "b.mesh", []Advert{{"b.mesh", 0}, {"x.mesh", 1}, {"y.mesh", 2}}, epoch)
	mustLearn(t, tb, "c.mesh", []Advert{{"c.mesh", 0}, {"z.mesh", 1}}, epoch)
	if !tb.LinkDown("b.mesh", epoch) {
		t.Error("LinkDown changed nothing")
	}
	if got := summary(tb.Routes(epoch)); got != "c.mesh/c.mesh/1 z.mesh/c.mesh/2" {
		t.Errorf("Routes = %s; want only what c.mesh gave", got)
	}
	if tb.LinkDown("b.mesh", epoch) {
		t.Error("a second LinkDown changed something")
	}
	// A link that comes back starts from nothing: the old routes through
	// it do not return without a new advert.
	tb.LinkUp("b.mesh", epoch)
	if r, ok := tb.Next("x.mesh", epoch); ok {
		t.Errorf("a route through b.mesh came back without an advert: %+v", r)
	}
}

func TestTiesGoToTheLexicallySmallestNextHop(t *testing.T) {
	for _, order := range [][]string{{"b.mesh", "c.mesh"}, {"c.mesh", "b.mesh"}} {
		t.Run("learning from "+strings.Join(order, " then "), func(t *testing.T) {
			tb := linked(Options{}, order...)
			for _, n := range order {
				mustLearn(t, tb, n, []Advert{{n, 0}, {"d.mesh", 1}}, epoch)
			}
			if r, _ := tb.Next("d.mesh", epoch); r.NextHop != "b.mesh" {
				t.Errorf("a tie went to %s, want b.mesh", r.NextHop)
			}
			// Fewer hops beat the name.
			mustLearn(t, tb, "b.mesh", []Advert{{"b.mesh", 0}, {"d.mesh", 2}}, epoch)
			if r, _ := tb.Next("d.mesh", epoch); r.NextHop != "c.mesh" || r.Hops != 2 {
				t.Errorf("Next = %+v, want via c.mesh in 2 hops", r)
			}
		})
	}
}

func TestChangedFiresExactlyWhenABestRouteChanges(t *testing.T) {
	learn := func(from string, adverts ...Advert) func(*Table) bool {
		return func(tb *Table) bool { return mustLearn(t, tb, from, adverts, epoch) }
	}
	steps := []struct {
		name string
		do   func(*Table) bool
		want bool
	}{
		{"a new link", func(tb *Table) bool { return tb.LinkUp("b.mesh", epoch) }, true},
		{"a new route", learn("b.mesh", Advert{"b.mesh", 0}, Advert{"d.mesh", 1}), true},
		{"the same list again", learn("b.mesh", Advert{"b.mesh", 0}, Advert{"d.mesh", 1}), false},
		{"a second link", func(tb *Table) bool { return tb.LinkUp("c.mesh", epoch) }, true},
		{"a worse alternative", learn("c.mesh", Advert{"c.mesh", 0}, Advert{"d.mesh", 2}), false},
		{"an alternative that loses the tie", learn("c.mesh", Advert{"c.mesh", 0}, Advert{"d.mesh", 1}), false},
		{"the best getting worse than the alternative", learn("b.mesh", Advert{"b.mesh", 0}, Advert{"d.mesh", 3}), true},
		{"the best getting longer", learn("c.mesh", Advert{"c.mesh", 0}, Advert{"d.mesh", 2}), true},
		{"the best going, with an alternative", learn("c.mesh", Advert{"c.mesh", 0}), true},
		{"the last route going", learn("b.mesh", Advert{"b.mesh", 0}), true},
		{"a link going down", func(tb *Table) bool { return tb.LinkDown("c.mesh", epoch) }, true},
		{"a link that is already down going down", func(tb *Table) bool { return tb.LinkDown("c.mesh", epoch) }, false},
		{"a link that is already up coming up", func(tb *Table) bool { return tb.LinkUp("b.mesh", epoch) }, false},
		{"an expiry with nothing lapsed", func(tb *Table) bool { return tb.Expire(epoch) }, false},
	}
	tb := linked(Options{})
	for _, s := range steps {
		ch := tb.Changed()
		got := s.do(tb)
		if got != s.want || fired(ch) != s.want {
			t.Errorf("%s: changed=%v, Changed fired=%v; want %v", s.name, got, fired(ch), s.want)
		}
	}
}

func TestAFullTableKeepsTheNearestNewDomains(t *testing.T) {
	// Two links leave room for two of the three new domains.
	tb := linked(Options{MaxRoutes: 4}, "b.mesh", "c.mesh")
	ch := tb.Changed()
	changed, err := tb.Learn("b.mesh", []Advert{{"b.mesh", 0}, {"e.mesh", 2}, {"f.mesh", 1}, {"d.mesh", 1}}, epoch)
	if !errors.Is(err, ErrTableFull) || !changed || !fired(ch) {
		t.Errorf("Learn = %v, %v (fired %v); want the list applied in part and ErrTableFull", changed, err, fired(ch))
	}
	if got, want := summary(tb.Routes(epoch)), "b.mesh/b.mesh/1 c.mesh/c.mesh/1 d.mesh/b.mesh/2 f.mesh/b.mesh/2"; got != want {
		t.Errorf("Routes = %s, want %s", got, want)
	}
	// A withdrawal makes room in the same list.
	changed, err = tb.Learn("b.mesh", []Advert{{"b.mesh", 0}, {"e.mesh", 2}, {"f.mesh", 1}}, epoch)
	if err != nil || !changed {
		t.Errorf("Learn = %v, %v; want e.mesh in d.mesh's place", changed, err)
	}
	if got, want := summary(tb.Routes(epoch)), "b.mesh/b.mesh/1 c.mesh/c.mesh/1 e.mesh/b.mesh/3 f.mesh/b.mesh/2"; got != want {
		t.Errorf("Routes = %s, want %s", got, want)
	}
}

func TestAdvertiseNeverListsMoreThanMaxRoutes(t *testing.T) {
	// Direct links are always taken in, so four of them overfill a table
	// of three.
	tb := linked(Options{MaxRoutes: 3}, "e.mesh", "d.mesh", "c.mesh", "b.mesh")
	got := tb.Advertise("x.mesh", epoch)
	want := []Advert{{"a.mesh", 0}, {"b.mesh", 1}, {"c.mesh", 1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Advertise = %v, want %v", got, want)
	}
	peer := linked(Options{Self: "x.mesh", MaxRoutes: 3}, "a.mesh")
	if _, err := peer.Learn("a.mesh", got, epoch); err != nil {
		t.Errorf("a peer with the same limit refused it: %v", err)
	}
}

func TestRoutesAreSortedAndDirectOnesNeverExpire(t *testing.T) {
	tb := New(Options{Self: "a.mesh", RouteTTL: time.Minute})
	tb.LinkUp("c.mesh", epoch)
	tb.LinkUp("b.mesh", epoch.Add(time.Second))
	mustLearn(t, tb, "c.mesh", []Advert{{"c.mesh", 0}, {"z.mesh", 1}, {"m.mesh", 2}}, epoch.Add(2*time.Second))
	want := []Route{
		{Domain: "b.mesh", NextHop: "b.mesh", Hops: 1, Learned: epoch.Add(time.Second)},
		{Domain: "c.mesh", NextHop: "c.mesh", Hops: 1, Learned: epoch},
		{Domain: "m.mesh", NextHop: "c.mesh", Hops: 3, Learned: epoch.Add(2 * time.Second), Expires: epoch.Add(62 * time.Second)},
		{Domain: "z.mesh", NextHop: "c.mesh", Hops: 2, Learned: epoch.Add(2 * time.Second), Expires: epoch.Add(62 * time.Second)},
	}
	if got := tb.Routes(epoch.Add(3 * time.Second)); !reflect.DeepEqual(got, want) {
		t.Errorf("Routes =\n%+v\nwant\n%+v", got, want)
	}
}

func TestZeroOptionsMeanTheDefaults(t *testing.T) {
	tb := linked(Options{Infinity: 1}, "b.mesh")
	adverts := []Advert{{"b.mesh", 0}, {"near.mesh", DefaultInfinity - 2}, {"far.mesh", DefaultInfinity - 1}}
	mustLearn(t, tb, "b.mesh", adverts, epoch)
	r, ok := tb.Next("near.mesh", epoch)
	if !ok || !r.Expires.Equal(epoch.Add(DefaultRouteTTL)) {
		t.Errorf("Next(near.mesh) = %+v, %v; want a route expiring after DefaultRouteTTL", r, ok)
	}
	if _, ok := tb.Next("far.mesh", epoch); ok {
		t.Error("a route of DefaultInfinity hops was taken")
	}
}
