package route

import (
	"fmt"
	"sort"
	"sync"
	"time"
)

// Defaults for the zero values of Options.
const (
	// DefaultRouteTTL is three times a 30 s advert period: a route
	// survives two late or lost adverts, and a vanished neighbour's routes
	// still go within a minute and a half even if nobody notices the link
	// is dead.
	DefaultRouteTTL = 90 * time.Second
	// DefaultInfinity is RIP's: up to 15 hops, far more than a community
	// mesh spans, while counting to infinity after a partition (see the
	// package doc) still ends within about that many rounds of adverts.
	DefaultInfinity uint8 = 16
	// DefaultMaxRoutes bounds what one peer can make a router hold. A
	// full table takes about 330 KiB, plus about 130 KiB for each further
	// neighbour that offers every domain (measured on amd64), which a
	// router with 64 MB can spare.
	DefaultMaxRoutes = 1024
)

// Options configures a Table. Every field but Self has a default for its
// zero value.
type Options struct {
	// Self is this node's domain, lowercase. It is advertised with 0 hops
	// and never routed. New cannot report a bad Self; callers pass a
	// domain their configuration has validated.
	Self string
	// RouteTTL is how long a learned route lives unless the neighbour's
	// next advert lists it again (DefaultRouteTTL if 0 or less). Senders
	// should advertise every RouteTTL/3 or so, and at once on Changed.
	RouteTTL time.Duration
	// Infinity is the hop count that means unreachable (DefaultInfinity
	// if below 2, since a direct link is 1 hop). All nodes of a mesh
	// should use the same value.
	Infinity uint8
	// MaxRoutes bounds an advert list, which is refused beyond it, and the
	// number of destinations learned from adverts (DefaultMaxRoutes if 0
	// or less). Direct links are always taken in, so the table may hold a
	// few more.
	MaxRoutes int
}

// Route is the way to a destination domain.
type Route struct {
	// Domain is the destination.
	Domain string
	// NextHop is the neighbour to hand a message for Domain to.
	NextHop string
	// Hops counts links from this node: 1 for a neighbour's own domain.
	Hops uint8
	// Learned is when this node first had this route, through NextHop
	// with this hop count: the link's coming up for a direct route, else
	// the first advert that gave it. Refreshing keeps it, so the age shows
	// how stable a route is.
	Learned time.Time
	// Expires is when the route lapses unless refreshed; it is zero for a
	// direct route, which lasts as long as its link.
	Expires time.Time
}

// Table is a distance-vector routing table over federation links: what
// this node's neighbours advertise, and the best route to each domain
// that follows from it. It does no I/O and reads no clock; every method
// takes the time it should act at. It is safe for concurrent use.
//
// A forwarding engine waits for a route like this:
//
//	for {
//		changed := t.Changed()
//		if r, ok := t.Next(domain, clock.Now()); ok {
//			return r
//		}
//		<-changed // or ctx.Done()
//	}
type Table struct {
	self     string
	ttl      time.Duration
	infinity uint8
	max      int

	mu sync.RWMutex
	// links holds the neighbours with a link up, and since when.
	links map[string]time.Time
	// dests holds every domain with a direct link or a learned route.
	dests map[string]*dest
	// learned indexes, per linked neighbour, the domains its last advert
	// gave a route to, each with the epoch of the Learn that listed it;
	// Learn withdraws the domains left with an older epoch.
	learned map[string]map[string]uint64
	epoch   uint64
	// soonest is at or before the earliest expiry of any learned route
	// (zero if there is none), so most calls skip the expiry scan. It can
	// lag behind refreshes, which only costs an idle scan.
	soonest time.Time
	// seen is Learn's scratch space for its duplicate check.
	seen    map[string]struct{}
	changed chan struct{} // closed and replaced when a best route changes
}

// dest is what the table knows about one destination.
type dest struct {
	// via holds the route each neighbour's last advert gave, kept even
	// when it is not the best so that losing the best fails over at once.
	// A slice, in no order: a domain has an offer from a few neighbours
	// at most, and a map for each of a thousand domains would cost a
	// router several times the memory.
	via []offer
	// best is the best route over the link and every offer in via, as
	// of the last change; ok says whether there is one.
	best Route
	ok   bool
}

// offer is a route through one neighbour.
type offer struct {
	neighbour        string
	hops             uint8
	learned, expires time.Time
}

// find returns the index of neighbour's offer in d.via, or -1.
func (d *dest) find(neighbour string) int {
	for i := range d.via {
		if d.via[i].neighbour == neighbour {
			return i
		}
	}
	return -1
}

// drop removes the offer at index i of d.via.
func (d *dest) drop(i int) {
	last := len(d.via) - 1
	d.via[i] = d.via[last]
	d.via[last] = offer{} // let go of the strings
	d.via = d.via[:last]
}

// New returns an empty table for the node o.Self.
func New(o Options) *Table {
	if o.RouteTTL <= 0 {
		o.RouteTTL = DefaultRouteTTL
	}
	if o.Infinity < 2 {
		o.Infinity = DefaultInfinity
	}
	if o.MaxRoutes <= 0 {
		o.MaxRoutes = DefaultMaxRoutes
	}
	return &Table{
		self:     o.Self,
		ttl:      o.RouteTTL,
		infinity: o.Infinity,
		max:      o.MaxRoutes,
		links:    map[string]time.Time{},
		dests:    map[string]*dest{},
		learned:  map[string]map[string]uint64{},
		seen:     map[string]struct{}{},
		changed:  make(chan struct{}),
	}
}

// LinkUp records a federation link to neighbour: a 1-hop route to its
// domain that lasts until LinkDown. It reports whether the best route of
// any domain changed, which is false if the link was already up. A link
// to Self or to a name that is not a lowercase domain is ignored, since
// no peer would accept it in an advert.
func (t *Table) LinkUp(neighbour string, now time.Time) (changed bool) {
	if neighbour == t.self || !validDomain(neighbour) {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	changed = t.expire(now)
	if _, up := t.links[neighbour]; !up {
		t.links[neighbour] = now
		t.learned[neighbour] = map[string]uint64{}
		d := t.dests[neighbour]
		if d == nil {
			d = &dest{}
			t.dests[neighbour] = d
		}
		changed = t.update(neighbour, d, now) || changed
	}
	if changed {
		t.signal()
	}
	return changed
}

// LinkDown withdraws the link to neighbour: its direct route and every
// route learned through it. Where another neighbour's last advert offered
// a way to the same domain, that route takes over at once. It reports
// whether the best route of any domain changed.
func (t *Table) LinkDown(neighbour string, now time.Time) (changed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	changed = t.expire(now)
	if _, up := t.links[neighbour]; up {
		delete(t.links, neighbour)
		for domain := range t.learned[neighbour] {
			changed = t.withdraw(domain, neighbour, now) || changed
		}
		delete(t.learned, neighbour)
		changed = t.settle(neighbour, t.dests[neighbour], now) || changed
	}
	if changed {
		t.signal()
	}
	return changed
}

// Learn applies a full advert list from neighbour, which replaces its
// previous one: domains it lists get a route through neighbour with one
// hop more than advertised, expiring RouteTTL after now; domains it no
// longer lists lose their route through it. Entries for Self and for the
// neighbour itself (which its link covers) are skipped, and so are
// entries of Infinity-1 hops or more, which would be unreachable here; a
// neighbour withdraws a route by omitting it or by advertising it at
// Infinity.
//
// A list from a neighbour without a link (ErrNoLink), a malformed one
// (ErrMalformed) or one over MaxRoutes entries (ErrTooManyAdverts) is
// refused and changes nothing. If the table cannot take in all new
// domains, the rest is applied and the error wraps ErrTableFull.
//
// Learn reports whether the best route of any domain changed, in which
// case the caller should send triggered adverts to its neighbours.
func (t *Table) Learn(neighbour string, adverts []Advert, now time.Time) (changed bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, up := t.links[neighbour]; !up {
		return false, fmt.Errorf("%w: %s", ErrNoLink, neighbour)
	}
	if err := checkAdverts(neighbour, adverts, t.max, t.seen); err != nil {
		return false, err
	}
	changed = t.expire(now)

	t.epoch++
	mine := t.learned[neighbour]
	expires := now.Add(t.ttl)
	var fresh []Advert // domains the table has never heard of
	for _, a := range adverts {
		if a.Domain == t.self || a.Domain == neighbour || a.Hops >= t.infinity-1 {
			continue
		}
		d := t.dests[a.Domain]
		if d == nil {
			fresh = append(fresh, a)
			continue
		}
		mine[a.Domain] = t.epoch
		hops := a.Hops + 1
		i := d.find(neighbour)
		if i >= 0 && d.via[i].hops == hops {
			// A refresh: the route stays, only its life is extended.
			d.via[i].expires = expires
			if d.ok && d.best.NextHop == neighbour {
				d.best.Expires = expires
			}
			continue
		}
		o := offer{neighbour: neighbour, hops: hops, learned: now, expires: expires}
		if i >= 0 {
			d.via[i] = o
		} else {
			d.via = append(d.via, o)
		}
		changed = t.update(a.Domain, d, now) || changed
	}
	for domain, epoch := range mine {
		if epoch != t.epoch {
			changed = t.withdraw(domain, neighbour, now) || changed
		}
	}

	// New domains come last, once withdrawals have made room.
	if room := max(t.max-len(t.dests), 0); len(fresh) > room {
		// Keep the nearest, which matter most here, and decide by
		// content so the list's order makes no difference.
		sort.Slice(fresh, func(i, j int) bool {
			if fresh[i].Hops != fresh[j].Hops {
				return fresh[i].Hops < fresh[j].Hops
			}
			return fresh[i].Domain < fresh[j].Domain
		})
		err = fmt.Errorf("%w: %d new domains from %s not taken in", ErrTableFull, len(fresh)-room, neighbour)
		fresh = fresh[:room]
	}
	for _, a := range fresh {
		d := &dest{via: []offer{{neighbour: neighbour, hops: a.Hops + 1, learned: now, expires: expires}}}
		t.dests[a.Domain] = d
		mine[a.Domain] = t.epoch
		changed = t.update(a.Domain, d, now) || changed
	}
	if len(mine) > 0 && (t.soonest.IsZero() || expires.Before(t.soonest)) {
		t.soonest = expires
	}
	if changed {
		t.signal()
	}
	return changed, err
}

// Next returns the best route to domain at now: the fewest hops, ties
// going to the lexically smallest next hop so that every node decides
// alike. Expired routes are ignored even before Expire removes them.
func (t *Table) Next(domain string, now time.Time) (Route, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	d := t.dests[domain]
	if d == nil {
		return Route{}, false
	}
	return t.bestAt(domain, d, now)
}

// Advertise returns the advert list to send to neighbour to: Self with 0
// hops, then every domain this node reaches with its best hop count,
// sorted by domain.
//
// It uses plain split horizon: a route whose next hop is to is left out
// rather than sent back at Infinity (poisoned reverse). Lists are full
// and replace the previous one, so leaving a domain out already withdraws
// it at the neighbour on the next advert, which is all poisoning would
// achieve; poisoned entries would only make every advert longer, on
// links that may be slow radio.
//
// The list never has more than MaxRoutes entries, so a peer with the
// same limit never refuses it; if the table holds more destinations (it
// can, by its direct links), the farthest are left out.
func (t *Table) Advertise(to string, now time.Time) []Advert {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]Advert, 0, len(t.dests)+1)
	out = append(out, Advert{Domain: t.self, Hops: 0})
	for domain, d := range t.dests {
		if r, ok := t.bestAt(domain, d, now); ok && r.NextHop != to {
			out = append(out, Advert{Domain: domain, Hops: r.Hops})
		}
	}
	if len(out) > t.max {
		sort.Slice(out, func(i, j int) bool {
			if out[i].Hops != out[j].Hops {
				return out[i].Hops < out[j].Hops
			}
			return out[i].Domain < out[j].Domain
		})
		out = out[:t.max]
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Domain < out[j].Domain })
	return out
}

// Expire removes the learned routes that have lapsed at now and reports
// whether the best route of any domain changed. The owner calls it on a
// timer (see NextExpiry), so that Changed fires for lapsed routes; Next
// and the other readers already ignore them.
func (t *Table) Expire(now time.Time) (changed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if changed = t.expire(now); changed {
		t.signal()
	}
	return changed
}

// NextExpiry returns when to call Expire next: at or before the time the
// first learned route lapses. It may be earlier, after a refresh or a
// withdrawal, and Expire then finds nothing to do. False means no learned
// route is held.
func (t *Table) NextExpiry() (time.Time, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.soonest, !t.soonest.IsZero()
}

// Routes returns the best route to every reachable domain at now, sorted
// by domain.
func (t *Table) Routes(now time.Time) []Route {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]Route, 0, len(t.dests))
	for domain, d := range t.dests {
		if r, ok := t.bestAt(domain, d, now); ok {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Domain < out[j].Domain })
	return out
}

// Changed returns a channel that is closed when the best route of any
// domain next changes: one appears, goes, or gets another next hop or
// hop count. Refreshes that only extend a route's life do not count.
// Take the channel before reading the table, or a change in between is
// missed.
func (t *Table) Changed() <-chan struct{} {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.changed
}

// signal wakes the waiters of Changed; t.mu must be held for writing.
func (t *Table) signal() {
	close(t.changed)
	t.changed = make(chan struct{})
}

// bestAt returns the best route to domain among those not lapsed at now.
// The cached best is the best of all routes held, so if it has not
// lapsed nothing can beat it: time only ever takes routes away.
func (t *Table) bestAt(domain string, d *dest, now time.Time) (Route, bool) {
	if !d.ok {
		return Route{}, false
	}
	if d.best.Expires.IsZero() || now.Before(d.best.Expires) {
		return d.best, true
	}
	return t.pick(domain, d, now)
}

// pick computes the best route to domain among the direct link, if any,
// and the offers not lapsed at now.
func (t *Table) pick(domain string, d *dest, now time.Time) (best Route, ok bool) {
	if since, up := t.links[domain]; up {
		// No offer can tie a direct link: only the domain itself may
		// advertise 0 hops, and its own entries are skipped.
		return Route{Domain: domain, NextHop: domain, Hops: 1, Learned: since}, true
	}
	for _, o := range d.via {
		if !now.Before(o.expires) {
			continue
		}
		if !ok || o.hops < best.Hops || o.hops == best.Hops && o.neighbour < best.NextHop {
			best = Route{Domain: domain, NextHop: o.neighbour, Hops: o.hops, Learned: o.learned, Expires: o.expires}
			ok = true
		}
	}
	return best, ok
}

// update recomputes the cached best route of domain after its offers or
// link changed, and reports whether it is another route now.
func (t *Table) update(domain string, d *dest, now time.Time) bool {
	was, wasOK := d.best, d.ok
	d.best, d.ok = t.pick(domain, d, now)
	return d.ok != wasOK || d.ok && (d.best.NextHop != was.NextHop || d.best.Hops != was.Hops)
}

// withdraw removes the route to domain through neighbour.
func (t *Table) withdraw(domain, neighbour string, now time.Time) bool {
	delete(t.learned[neighbour], domain)
	d := t.dests[domain]
	if d == nil {
		return false // cannot happen: learned only names held offers
	}
	if i := d.find(neighbour); i >= 0 {
		d.drop(i)
	}
	return t.settle(domain, d, now)
}

// settle recomputes domain's best route after a route to it went, and
// forgets the domain once nothing leads there, so that it no longer
// counts against MaxRoutes.
func (t *Table) settle(domain string, d *dest, now time.Time) bool {
	if _, up := t.links[domain]; !up && len(d.via) == 0 {
		delete(t.dests, domain)
		return d.ok
	}
	return t.update(domain, d, now)
}

// expire removes the offers lapsed at now and reports whether a best
// route changed; t.mu must be held for writing.
func (t *Table) expire(now time.Time) (changed bool) {
	if t.soonest.IsZero() || now.Before(t.soonest) {
		return false
	}
	var soonest time.Time
	for domain, d := range t.dests {
		lapsed := false
		for i := 0; i < len(d.via); {
			o := d.via[i]
			if now.Before(o.expires) {
				if soonest.IsZero() || o.expires.Before(soonest) {
					soonest = o.expires
				}
				i++
				continue
			}
			delete(t.learned[o.neighbour], domain)
			d.drop(i)
			lapsed = true
		}
		if lapsed {
			changed = t.settle(domain, d, now) || changed
		}
	}
	t.soonest = soonest
	return changed
}
