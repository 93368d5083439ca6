package discovery

import (
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// MaxPeers bounds the peer table, so a flood of forged announcements cannot
// exhaust a router's memory. Announcements of new peers beyond it are
// dropped and counted in Stats.TableFull.
const MaxPeers = 256

// maxPeerAddrs bounds the addresses kept for one peer.
const maxPeerAddrs = 16

// Peer is a qpc node found on the local network.
type Peer struct {
	Announcement
	// Instance is the DNS-SD instance name the node announced.
	Instance string
	// Addrs are the node's addresses, best to dial first (see DialAddr).
	// Link-local IPv6 addresses carry the interface as their zone.
	Addrs []netip.Addr
	// Interface is the local interface the node was last heard on.
	Interface string
	// LastSeen is when the node was last heard.
	LastSeen time.Time
	// Expires is when the entry lapses unless the node is heard again.
	Expires time.Time
}

// DialAddr returns the address to reach the node's QUIC listener at,
// "host:port", or "" if the node announced no address. IPv4 is preferred,
// then global IPv6, then link-local IPv6 with its zone.
func (p Peer) DialAddr() string {
	if len(p.Addrs) == 0 {
		return ""
	}
	return netip.AddrPortFrom(p.Addrs[0], p.Port).String()
}

// addrRank orders addresses for dialing: lower is better.
func addrRank(a netip.Addr) int {
	switch {
	case a.Is4() && !a.IsLinkLocalUnicast():
		return 0
	case a.Is4():
		return 1
	case !a.IsLinkLocalUnicast():
		return 2
	}
	return 3
}

func sortAddrs(addrs []netip.Addr) {
	// sort.Slice rather than slices.SortFunc: one generic sort
	// instantiation per element type costs ~10 KiB on a router.
	sort.Slice(addrs, func(i, j int) bool {
		if ri, rj := addrRank(addrs[i]), addrRank(addrs[j]); ri != rj {
			return ri < rj
		}
		return addrs[i].Less(addrs[j])
	})
}

// EventKind says what happened to a peer.
type EventKind int

// Kinds of peer table events.
const (
	PeerJoined  EventKind = iota // a node was heard for the first time
	PeerUpdated                  // its domain, port, fingerprint or addresses changed
	PeerLeft                     // it said goodbye, or its entry expired
)

func (k EventKind) String() string {
	switch k {
	case PeerJoined:
		return "joined"
	case PeerUpdated:
		return "updated"
	}
	return "left"
}

// Event is a change of the peer table.
type Event struct {
	Kind EventKind
	Peer Peer
	// Reason says why a peer left: "goodbye" or "expired".
	Reason string
}

// Table is the peer table: the nodes heard recently, each until its
// announcement's TTL runs out or it says goodbye. It never holds the node
// that owns it. It is safe for concurrent use.
//
// A consumer such as federation takes a snapshot with Peers and waits on
// Changed for the next change:
//
//	for {
//		changed := t.Changed()
//		use(t.Peers())
//		<-changed
//	}
type Table struct {
	self string // own node id, never listed
	// onEvent, if set, is told about every change, outside the lock.
	onEvent func(Event)

	mu      sync.Mutex
	entries map[string]*entry // by node id
	changed chan struct{}     // closed and replaced on every change
	full    uint64            // new peers dropped because the table was full
}

type entry struct {
	peer  Peer
	addrs map[netip.Addr]addrSeen
}

type addrSeen struct {
	heard time.Time // when it was last heard
	until time.Time // when it lapses
	iface string    // where it was heard
}

// NewTable returns an empty table for the node with id self ("" for a
// client, which has no id of its own). onEvent, if not nil, is told about
// every change.
func NewTable(self string, onEvent func(Event)) *Table {
	return &Table{self: self, onEvent: onEvent, entries: map[string]*entry{}, changed: make(chan struct{})}
}

// Peers returns the peers in the table, ordered by domain then id.
func (t *Table) Peers() []Peer {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Peer, 0, len(t.entries))
	for _, e := range t.entries {
		p := e.peer
		p.Addrs = slices.Clone(p.Addrs)
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Domain != out[j].Domain {
			return out[i].Domain < out[j].Domain
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Lookup returns the peer with node id id.
func (t *Table) Lookup(id string) (Peer, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.entries[id]
	if !ok {
		return Peer{}, false
	}
	p := e.peer
	p.Addrs = slices.Clone(p.Addrs)
	return p, true
}

// Changed returns a channel that is closed at the next change of the
// table: a peer joining, leaving, or changing what it announces.
func (t *Table) Changed() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.changed
}

// signal wakes the waiters of Changed; t.mu must be held.
func (t *Table) signal() {
	close(t.changed)
	t.changed = make(chan struct{})
}

func (t *Table) emit(evs []Event) {
	if t.onEvent == nil {
		return
	}
	for _, ev := range evs {
		t.onEvent(ev)
	}
}

// sighting is one hearing of a node: its announcement and the addresses
// that came with it.
type sighting struct {
	ann      Announcement
	instance string
	addrs    []netip.Addr
	iface    string
	ttl      time.Duration
	addrTTL  time.Duration
	heardAt  time.Time
	// flush4, flush6: the A (AAAA) records had the cache-flush bit, so
	// they are all the IPv4 (IPv6) addresses the node has on this link
	// (RFC 6762 §10.2), and any other of that family heard on iface
	// before the last second is gone. A record type flushes only its own
	// type: avahi may send the A and the AAAA records in separate packets.
	flush4, flush6 bool
}

// flushAge is how old a cached record must be for a cache-flush record to
// remove it (RFC 6762 §10.2): records heard within the last second may
// belong to the same announcement, sent in several packets.
const flushAge = time.Second

// update records a sighting. It reports false when the sighting was
// dropped: the node itself, or a new peer while the table is full.
func (t *Table) update(s sighting) bool {
	if s.ann.ID == t.self {
		return false
	}
	var evs []Event
	defer func() { t.emit(evs) }()
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.entries[s.ann.ID]
	if !ok {
		if len(t.entries) >= MaxPeers {
			t.full++
			return false
		}
		e = &entry{addrs: map[netip.Addr]addrSeen{}}
		t.entries[s.ann.ID] = e
	}
	before := e.peer
	for a, seen := range e.addrs {
		flush := s.flush4
		if a.Is6() {
			flush = s.flush6
		}
		if flush && seen.iface == s.iface && !slices.Contains(s.addrs, a) && s.heardAt.Sub(seen.heard) >= flushAge {
			delete(e.addrs, a)
		}
	}
	for _, a := range s.addrs {
		if _, ok := e.addrs[a]; ok || len(e.addrs) < maxPeerAddrs {
			e.addrs[a] = addrSeen{heard: s.heardAt, until: s.heardAt.Add(s.addrTTL), iface: s.iface}
		}
	}
	e.peer = Peer{
		Announcement: s.ann,
		Instance:     s.instance,
		Interface:    s.iface,
		LastSeen:     s.heardAt,
		Expires:      s.heardAt.Add(s.ttl),
		Addrs:        e.liveAddrs(s.heardAt),
	}
	switch {
	case !ok:
		evs = append(evs, Event{Kind: PeerJoined, Peer: e.peer})
		t.signal()
	case before.Announcement != e.peer.Announcement || before.Instance != e.peer.Instance || !slices.Equal(before.Addrs, e.peer.Addrs):
		evs = append(evs, Event{Kind: PeerUpdated, Peer: e.peer})
		t.signal()
	}
	return true
}

func (e *entry) liveAddrs(now time.Time) []netip.Addr {
	out := make([]netip.Addr, 0, len(e.addrs))
	for a, seen := range e.addrs {
		if now.After(seen.until) {
			delete(e.addrs, a)
			continue
		}
		out = append(out, a)
	}
	sortAddrs(out)
	return out
}

// goodbye removes the peer with node id id, or, when id is empty, the one
// that announced instance.
func (t *Table) goodbye(id, instance string) {
	var evs []Event
	defer func() { t.emit(evs) }()
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, e := range t.entries {
		if (id != "" && k == id) || (id == "" && strings.EqualFold(e.peer.Instance, instance)) {
			delete(t.entries, k)
			evs = append(evs, Event{Kind: PeerLeft, Peer: e.peer, Reason: "goodbye"})
		}
	}
	if len(evs) > 0 {
		t.signal()
	}
}

// expire removes the peers whose entries lapsed before now, and the
// addresses that did.
func (t *Table) expire(now time.Time) {
	var evs []Event
	defer func() { t.emit(evs) }()
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, e := range t.entries {
		if now.After(e.peer.Expires) {
			delete(t.entries, k)
			evs = append(evs, Event{Kind: PeerLeft, Peer: e.peer, Reason: "expired"})
			continue
		}
		if live := e.liveAddrs(now); !slices.Equal(live, e.peer.Addrs) {
			e.peer.Addrs = live
			evs = append(evs, Event{Kind: PeerUpdated, Peer: e.peer})
		}
	}
	if len(evs) > 0 {
		t.signal()
	}
}

// dropped returns how many new peers were dropped because the table was
// full.
func (t *Table) dropped() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.full
}
