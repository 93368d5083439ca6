package discovery

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// BrowseConfig configures a one-shot Browse.
type BrowseConfig struct {
	// Interfaces to ask on; empty: every interface that is up,
	// multicast-capable and not loopback.
	Interfaces []string
	// Timeout is how long to listen for answers; 0 means 3 s.
	Timeout time.Duration
	// Settle, if positive, ends the browse early: once at least one node
	// answered and no new one came for this long.
	Settle time.Duration
}

// resendInterval is how often a one-shot browse repeats its query, in case
// a packet was lost.
const resendInterval = time.Second

// Browse asks the local network once for qpc nodes and returns those that
// answered within the timeout, with what they announced.
//
// It queries from an ephemeral port, asking for unicast answers: qpc nodes
// and avahi answer such a query by unicast with its id (RFC 6762 §6.7),
// OpenWrt's umdns by unicast with id 0. Some responders (bonjour-service,
// and umdns for a query without the unicast bit) answer any query by
// multicast with id 0 instead, so Browse also listens on UDP 5353, shared
// with any responder on the host as the node's own socket is, and takes
// the multicast responses that carry qpc services. Where 5353 cannot be
// shared, it makes do with the unicast answers.
func Browse(ctx context.Context, cfg BrowseConfig) ([]Peer, Stats, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 3 * time.Second
	}
	ifaces, err := browseInterfaces(cfg.Interfaces)
	if err != nil {
		return nil, Stats{}, err
	}
	c4, err4 := listenMDNS(4, 0, false)
	if err4 == nil {
		defer c4.Close()
	}
	c6, err6 := listenMDNS(6, 0, false)
	if err6 == nil {
		defer c6.Close()
	}
	if err4 != nil && err6 != nil {
		return nil, Stats{}, errors.New("mDNS browse: no UDP socket could be opened")
	}
	// The shared sockets on 5353, for multicast answers; they need the
	// groups joined on each interface, because IP_MULTICAST_ALL is off.
	var shared []mconn
	for _, fam := range []int{4, 6} {
		c, err := listenMDNS(fam, Port, true)
		if err != nil {
			continue
		}
		defer c.Close()
		for _, ifi := range ifaces {
			c.join(&ifi)
		}
		shared = append(shared, c)
	}

	var idb [2]byte
	rand.Read(idb[:])
	q := browseQuery(nil)
	q.ID = binary.BigEndian.Uint16(idb[:])
	// QU: umdns answers a query without it at most once a minute per
	// service, and by multicast; with it, always and by unicast.
	q.Questions[0].QU = true
	query, err := encodeMessage(q)
	if err != nil {
		return nil, Stats{}, err
	}
	send := func() {
		for _, ifi := range ifaces {
			addrs := interfaceAddrs(&ifi)
			if err4 == nil && containsFunc(addrs, netip.Addr.Is4) {
				c4.write(query, ifi.Index, netip.AddrPortFrom(group4, Port))
			}
			if err6 == nil && containsFunc(addrs, netip.Addr.Is6) {
				c6.write(query, ifi.Index, netip.AddrPortFrom(group6.WithZone(ifi.Name), Port))
			}
		}
	}

	type link struct {
		name string
		nets []netip.Prefix
	}
	byIndex := map[int]link{}
	for _, ifi := range ifaces {
		_, nets := interfaceNets(&ifi)
		byIndex[ifi.Index] = link{ifi.Name, nets}
	}
	var st counters
	table := NewTable("", nil)
	type packet struct {
		b      []byte
		iface  string
		src    netip.AddrPort
		shared bool // read on 5353: a multicast response, or one to another querier
	}
	packets := make(chan packet, 64)
	done := make(chan struct{})
	defer close(done)
	read := func(c mconn, shared bool) {
		for {
			buf := make([]byte, maxPacket+1)
			n, idx, src, _, err := c.read(buf)
			if err != nil {
				return
			}
			l, ok := byIndex[idx]
			if !ok {
				continue
			}
			from := src.Addr().Unmap()
			if !onLink(from, l.nets) {
				continue // routed here: not an mDNS answer (RFC 6762 §11)
			}
			select {
			case packets <- packet{b: buf[:n], iface: l.name, src: netip.AddrPortFrom(from, src.Port()), shared: shared}:
			case <-done:
				return
			}
		}
	}
	if err4 == nil {
		go read(c4, false)
	}
	if err6 == nil {
		go read(c6, false)
	}
	for _, c := range shared {
		go read(c, true)
	}

	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	send()
	resend := time.NewTicker(resendInterval)
	defer resend.Stop()
	var settle <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return reachable(table.Peers(), ifaces), st.snapshot(table), nil
		case <-resend.C:
			send()
		case <-settle:
			return reachable(table.Peers(), ifaces), st.snapshot(table), nil
		case p := <-packets:
			st.packets.Add(1)
			if len(p.b) > maxPacket {
				st.malformed.Add(1)
				continue
			}
			m, err := decodeMessage(p.b)
			if err != nil {
				st.malformed.Add(1)
				continue
			}
			if !browseTakes(m, p.shared, p.src.Port(), q.ID) {
				continue
			}
			h := ingest(m, p.src.Addr(), p.iface, time.Now())
			st.count(h.problems)
			for _, sg := range h.sightings {
				_, known := table.Lookup(sg.ann.ID)
				if table.update(sg) && !known && cfg.Settle > 0 {
					settle = time.After(cfg.Settle)
				}
			}
		}
	}
}

// browseTakes reports whether a one-shot browse that sent a query with id
// qid takes message m, read from a sender's port on the shared 5353 socket
// or on its own ephemeral one.
func browseTakes(m *message, shared bool, port uint16, qid uint16) bool {
	switch {
	case !m.isResponse():
		return false // a query: ours looped back, or someone else's
	case shared:
		// Multicast responses, ours or not, carry id 0; RFC 6762 §11:
		// only one from port 5353 is a multicast DNS response.
		return port == Port
	}
	// Unicast to our port: a legacy answer echoes our id (qpc nodes,
	// avahi); umdns answers a QU question with id 0.
	return m.ID == qid || m.ID == 0
}

func (c *counters) snapshot(t *Table) Stats {
	return Stats{
		Packets:          c.packets.Load(),
		Malformed:        c.malformed.Load(),
		BadAnnouncements: c.badAnn.Load(),
		UnknownVersion:   c.unknownVer.Load(),
		TableFull:        t.dropped(),
	}
}

func containsFunc(addrs []netip.Addr, f func(netip.Addr) bool) bool {
	for _, a := range addrs {
		if f(a) {
			return true
		}
	}
	return false
}

// browseInterfaces resolves names (empty: all usable interfaces).
func browseInterfaces(names []string) ([]net.Interface, error) {
	if len(names) == 0 {
		all, err := net.Interfaces()
		if err != nil {
			return nil, err
		}
		var out []net.Interface
		for _, ifi := range all {
			if ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagMulticast != 0 && ifi.Flags&net.FlagLoopback == 0 {
				out = append(out, ifi)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("%w: none is up and multicast-capable", ErrNoInterface)
		}
		return out, nil
	}
	var out []net.Interface
	for _, n := range names {
		ifi, err := net.InterfaceByName(n)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrNoInterface, n, err)
		}
		out = append(out, *ifi)
	}
	return out, nil
}

// reachable puts first, for each peer, the addresses of a family the
// interface it was heard on has: a laptop without IPv4 on that link dials
// the node's IPv6 address rather than the IPv4 one it announced.
func reachable(peers []Peer, ifaces []net.Interface) []Peer {
	has4 := map[string]bool{}
	for _, ifi := range ifaces {
		has4[ifi.Name] = containsFunc(interfaceAddrs(&ifi), netip.Addr.Is4)
	}
	for i, p := range peers {
		if has4[p.Interface] {
			continue
		}
		var v6, v4 []netip.Addr
		for _, a := range p.Addrs {
			if a.Is4() {
				v4 = append(v4, a)
			} else {
				v6 = append(v6, a)
			}
		}
		peers[i].Addrs = append(v6, v4...)
	}
	return peers
}
