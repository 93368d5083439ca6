package discovery

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

func sightingOf(id, domain string, at time.Time, ttl time.Duration, addrs ...string) sighting {
	s := sighting{
		ann:      Announcement{ID: id, Domain: domain, Port: 7000, Fingerprint: testAnn.Fingerprint},
		instance: domain, iface: "eth0", ttl: ttl, addrTTL: ttl, heardAt: at,
	}
	for _, a := range addrs {
		s.addrs = append(s.addrs, netip.MustParseAddr(a))
	}
	return s
}

const (
	idA = "aaaaaaaaaaaaaaaaaaaaaaaaaa"
	idB = "bbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func TestTheTableListsPeersUntilTheyExpireAndNeverItself(t *testing.T) {
	var events []string
	tab := NewTable(idA, func(ev Event) { events = append(events, ev.Kind.String()+" "+ev.Peer.Domain+" "+ev.Reason) })
	t0 := time.Unix(1000, 0)
	changed := tab.Changed()

	if tab.update(sightingOf(idA, "self.mesh", t0, time.Minute, "192.0.2.1")) {
		t.Error("the table took its own node")
	}
	if !tab.update(sightingOf(idB, "b.mesh", t0, time.Minute, "fe80::2", "192.0.2.2")) {
		t.Fatal("the table refused a peer")
	}
	select {
	case <-changed:
	default:
		t.Error("Changed did not fire on a join")
	}
	peers := tab.Peers()
	if len(peers) != 1 || peers[0].DialAddr() != "192.0.2.2:7000" {
		t.Fatalf("peers = %+v, want b.mesh dialed over IPv4", peers)
	}

	changed = tab.Changed()
	tab.update(sightingOf(idB, "b.mesh", t0.Add(30*time.Second), time.Minute, "fe80::2", "192.0.2.2"))
	select {
	case <-changed:
		t.Error("Changed fired on a mere refresh")
	default:
	}
	tab.expire(t0.Add(80 * time.Second))
	if len(tab.Peers()) != 1 {
		t.Error("a refreshed peer expired on its first TTL")
	}
	tab.expire(t0.Add(91 * time.Second))
	if len(tab.Peers()) != 0 {
		t.Error("a peer outlived its TTL")
	}
	want := []string{"joined b.mesh ", "left b.mesh expired"}
	if fmt.Sprint(events) != fmt.Sprint(want) {
		t.Errorf("events = %q, want %q", events, want)
	}
}

func TestAGoodbyeRemovesAPeerAtOnce(t *testing.T) {
	tab := NewTable("", nil)
	t0 := time.Now()
	tab.update(sightingOf(idA, "a.mesh", t0, time.Minute, "192.0.2.1"))
	tab.update(sightingOf(idB, "b.mesh", t0, time.Minute, "192.0.2.2"))
	tab.goodbye(idA, "")
	tab.goodbye("", "B.MESH")
	if p := tab.Peers(); len(p) != 0 {
		t.Errorf("peers after goodbyes: %+v", p)
	}
}

func TestAFullTableDropsNewPeersAndCountsThem(t *testing.T) {
	tab := NewTable("", nil)
	t0 := time.Now()
	for i := range MaxPeers + 3 {
		id := fmt.Sprintf("%026d", i)
		tab.update(sightingOf(id, "n.mesh", t0, time.Minute, "192.0.2.1"))
	}
	if n := len(tab.Peers()); n != MaxPeers {
		t.Errorf("table holds %d peers, want %d", n, MaxPeers)
	}
	if tab.dropped() != 3 {
		t.Errorf("dropped %d, want 3", tab.dropped())
	}
}

func TestAddressesLapseOnTheirOwn(t *testing.T) {
	tab := NewTable("", nil)
	t0 := time.Unix(1000, 0)
	s := sightingOf(idA, "a.mesh", t0, time.Minute, "192.0.2.1")
	s.addrTTL = 10 * time.Second
	tab.update(s)
	s = sightingOf(idA, "a.mesh", t0.Add(5*time.Second), time.Minute, "fe80::1")
	s.addrTTL = 10 * time.Second
	tab.update(s)
	if p, _ := tab.Lookup(idA); len(p.Addrs) != 2 {
		t.Fatalf("addrs = %v, want both", p.Addrs)
	}
	tab.expire(t0.Add(12 * time.Second))
	if p, _ := tab.Lookup(idA); len(p.Addrs) != 1 || p.Addrs[0].String() != "fe80::1" {
		t.Errorf("addrs = %v, want only the one heard later", p.Addrs)
	}
}

func TestACacheFlushAnnouncementReplacesTheAddressesOfItsLink(t *testing.T) {
	tab := NewTable("", nil)
	t0 := time.Unix(1000, 0)
	s := sightingOf(idA, "a.mesh", t0, time.Minute, "192.0.2.1", "192.0.2.11")
	tab.update(s)
	other := sightingOf(idA, "a.mesh", t0, time.Minute, "198.51.100.1")
	other.iface = "wlan0"
	tab.update(other)
	s = sightingOf(idA, "a.mesh", t0.Add(time.Second), time.Minute, "192.0.2.1")
	s.flush4 = true
	changed := tab.Changed()
	tab.update(s)
	p, _ := tab.Lookup(idA)
	if fmt.Sprint(p.Addrs) != "[192.0.2.1 198.51.100.1]" {
		t.Errorf("addrs = %v, want 192.0.2.11 gone from eth0 and wlan0's address kept", p.Addrs)
	}
	select {
	case <-changed:
	default:
		t.Error("losing an address did not fire Changed")
	}
}

// Avahi sends a node's A and AAAA records in separate packets, each with
// the cache-flush bit: neither may flush the other's family, and records
// heard within the last second stay (RFC 6762 §10.2).
func TestACacheFlushRecordFlushesItsOwnTypeOnly(t *testing.T) {
	var updates []string
	tab := NewTable("", func(ev Event) { updates = append(updates, fmt.Sprint(ev.Kind, ev.Peer.Addrs)) })
	t0 := time.Unix(1000, 0)
	for i := range 10 {
		at := t0.Add(time.Duration(i) * 3 * time.Second)
		s4 := sightingOf(idA, "a.mesh", at, time.Minute, "192.0.2.1")
		s4.flush4 = true
		tab.update(s4)
		s6 := sightingOf(idA, "a.mesh", at.Add(10*time.Millisecond), time.Minute, "fe80::1")
		s6.flush6 = true
		tab.update(s6)
		if p, _ := tab.Lookup(idA); fmt.Sprint(p.Addrs) != "[192.0.2.1 fe80::1]" {
			t.Fatalf("round %d: addrs = %v, want both", i, p.Addrs)
		}
	}
	if fmt.Sprint(updates) != "[joined [192.0.2.1] updated [192.0.2.1 fe80::1]]" {
		t.Errorf("events = %v, want a join and one update, no flapping", updates)
	}
	// Two packets of one announcement within a second: the second does
	// not flush what the first brought.
	a := sightingOf(idB, "b.mesh", t0, time.Minute, "192.0.2.2")
	a.flush4 = true
	tab.update(a)
	b := sightingOf(idB, "b.mesh", t0.Add(300*time.Millisecond), time.Minute, "192.0.2.22")
	b.flush4 = true
	tab.update(b)
	if p, _ := tab.Lookup(idB); len(p.Addrs) != 2 {
		t.Errorf("addrs = %v, want both addresses of one announcement", p.Addrs)
	}
}
