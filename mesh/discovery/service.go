package discovery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Port is the mDNS port.
const Port = 5353

// The mDNS multicast groups (RFC 6762 §3).
var (
	group4 = netip.MustParseAddr("224.0.0.251")
	group6 = netip.MustParseAddr("ff02::fb")
)

// maxPacket is the largest mDNS packet read (RFC 6762 §17: 9000 bytes);
// a larger one is dropped as malformed.
const maxPacket = 9000

// Timing of the node's announcements and queries.
const (
	// announceCount unsolicited responses, announceGap apart, at start and
	// when an interface's addresses change (RFC 6762 §8.3: at least two,
	// one second apart).
	announceCount = 2
	announceGap   = time.Second
	// The first query goes out at once, then after 1 s, 2 s, 4 s … up to
	// this fraction of the TTL, so that every peer is asked again (and
	// answers, known-answer suppression permitting) well before its entry
	// lapses.
	maxQueryFraction = 0.4
	// How often interfaces are checked for new, lost and changed addresses.
	watchInterval = 2 * time.Second
	tick          = 250 * time.Millisecond
)

// Config configures a Service.
type Config struct {
	// Interfaces are the names of the interfaces to announce and browse
	// on. Empty: every interface that is up, multicast-capable and not
	// loopback.
	Interfaces []string
	// Self is what the node announces.
	Self Announcement
	// TTL of the announced records; 0 means DefaultTTL.
	TTL time.Duration
}

// Stats counts what discovery has seen. Hostile or broken packets are
// dropped and counted here, never acted on.
type Stats struct {
	Packets          uint64 // mDNS packets read on the discovery interfaces
	Malformed        uint64 // packets that are not DNS messages we can read, or too large
	BadAnnouncements uint64 // qpc TXT records with missing or bad keys, or oversized
	UnknownVersion   uint64 // qpc TXT records with a ver= we do not speak
	TableFull        uint64 // new peers dropped because the table held MaxPeers
	OffLink          uint64 // packets from a source off the local link, ignored
	Answered         uint64 // queries answered (once per family a query came in on)
	RateLimited      uint64 // answers held back (multicast: sent later, once) or dropped (unicast) by the rate limit
	SendErrors       uint64 // packets that could not be sent
	Conflicts        uint64 // another responder claimed this node's instance name
	Renames          uint64 // times this node took a new instance name after a conflict
}

type counters struct {
	packets, malformed, badAnn, unknownVer, offLink, answered, rateLimited, sendErrors atomic.Uint64
	conflicts, renames                                                                 atomic.Uint64
}

// count records the problems of an ingest.
func (c *counters) count(problems []error) {
	for _, err := range problems {
		if errors.Is(err, ErrUnknownVersion) {
			c.unknownVer.Add(1)
		} else {
			c.badAnn.Add(1)
		}
	}
}

// Service announces a node on the local network with mDNS, answers queries
// for it, and browses continuously for other nodes, which it keeps in its
// peer table.
type Service struct {
	cfg   Config
	log   *slog.Logger
	table *Table
	stats counters

	c4 mconn // nil when the host has no IPv4
	c6 mconn // nil when the host has no IPv6

	mu        sync.Mutex
	resp      *responder          // the records announced; replaced on a rename
	ifaces    map[int]*ifaceState // by interface index
	warned    map[string]bool     // configured interfaces reported missing
	lastQuery []byte              // our latest query, to know it when it loops back
	users     groupUsers          // sockets in the mDNS groups per interface, at the last check
	// Probing (probe.go): while probing, the node neither announces nor
	// answers; probesSent counts the probes of the current round.
	probing    bool
	probesSent int
	nextProbe  time.Time
	claimed    bool        // the instance name was announced: stopping says goodbye to it
	nameNumber int         // n of instanceLabel: 1 until the first conflict
	conflictAt []time.Time // recent conflicts, for the rule of 15 in 10 s
	// queryNow asks the run loop for a query out of turn: a responder
	// that is no known peer said it has _quicprochat._udp services.
	queryNow bool

	closeOnce sync.Once
	readers   sync.WaitGroup
}

type ifaceState struct {
	ifi          net.Interface
	addrs        []netip.Addr
	nets         []netip.Prefix // the prefixes of addrs: the local link
	joined4      bool
	joined6      bool
	announceLeft int
	nextAnnounce time.Time
	// Answers are rate limited per interface, so a flood of queries cannot
	// make the node flood the link (RFC 6762 §6: a record is multicast at
	// most once a second on an interface).
	// Per family ([0] IPv4, [1] IPv6): a query is answered on the family
	// it came in on, so a querier that asks over both gets one answer on
	// each, not one on each for each query.
	lastMulticast [2]time.Time
	deferred      [2]*message // a multicast answer waiting for the rate limit
	unicastWindow time.Time
	unicastSent   int
}

// maxUnicastAnswers is how many unicast answers an interface gets a second.
const maxUnicastAnswers = 10

// allowAnswer reports whether an answer on family fam (0 IPv4, 1 IPv6)
// may be sent now, and counts it.
func (st *ifaceState) allowAnswer(now time.Time, unicast bool, fam int) bool {
	if !unicast {
		if now.Sub(st.lastMulticast[fam]) < time.Second {
			return false
		}
		st.lastMulticast[fam] = now
		return true
	}
	if now.Sub(st.unicastWindow) >= time.Second {
		st.unicastWindow, st.unicastSent = now, 0
	}
	if st.unicastSent >= maxUnicastAnswers {
		return false
	}
	st.unicastSent++
	return true
}

func (st *ifaceState) has4() bool { return slices.ContainsFunc(st.addrs, netip.Addr.Is4) }
func (st *ifaceState) has6() bool { return slices.ContainsFunc(st.addrs, netip.Addr.Is6) }

// family returns the index of a's family in the per-family state.
func family(a netip.Addr) int {
	if a.Unmap().Is4() {
		return 0
	}
	return 1
}

// New opens the mDNS sockets (sharing UDP 5353 with any other responder on
// the host) and joins the multicast groups on the configured interfaces.
// Announcing and browsing start with Run. The peer table logs joins and
// leaves at info level.
func New(cfg Config, log *slog.Logger) (*Service, error) {
	if err := cfg.Self.Validate(); err != nil {
		return nil, err
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		cfg:        cfg,
		log:        log,
		resp:       newResponder(cfg.Self, cfg.TTL),
		ifaces:     map[int]*ifaceState{},
		warned:     map[string]bool{},
		nameNumber: 1,
	}
	s.table = NewTable(cfg.Self.ID, s.logEvent)
	for _, n := range cfg.Interfaces {
		if _, err := net.InterfaceByName(n); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrNoInterface, n, err)
		}
	}
	var err4, err6 error
	s.c4, err4 = listenMDNS(4, Port, true)
	s.c6, err6 = listenMDNS(6, Port, true)
	if err4 != nil && err6 != nil {
		return nil, fmt.Errorf("mDNS sockets on port %d: %w", Port, errors.Join(err4, err6))
	}
	if err4 != nil {
		log.Warn("mDNS over IPv4 unavailable", "err", err4)
	}
	if err6 != nil {
		log.Warn("mDNS over IPv6 unavailable", "err", err6)
	}
	now := time.Now()
	s.refreshInterfaces(now)
	s.startProbing(now, randDuration(probeJitter))
	return s, nil
}

// randDuration returns a random duration in [0, d).
func randDuration(d time.Duration) time.Duration {
	return time.Duration(rand.Int64N(int64(d)))
}

// Instance returns the DNS-SD instance name the node announces now: its
// domain, or "domain (2)" and so on after another responder on the link
// turned out to hold the name (RFC 6762 §9).
func (s *Service) Instance() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.resp.label()
}

// startProbing starts a round of probes for the current instance name,
// the first after wait; s.mu must be held or s not yet shared.
func (s *Service) startProbing(now time.Time, wait time.Duration) {
	s.probing, s.probesSent, s.nextProbe = true, 0, now.Add(wait)
	for _, st := range s.ifaces {
		st.announceLeft = 0
	}
}

// probeDue sends the next probe when it is due, or claims the name when
// probeGap passed after the last probe without a conflict.
func (s *Service) probeDue(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.probing || now.Before(s.nextProbe) {
		return
	}
	if s.probesSent < probeCount {
		p := s.resp.probe()
		for _, st := range s.ifaces {
			s.sendMulticast(st, p)
		}
		s.probesSent++
		s.nextProbe = now.Add(probeGap)
		return
	}
	s.probing, s.claimed = false, true
	for _, st := range s.ifaces {
		st.announceLeft, st.nextAnnounce = announceCount, now
	}
	s.log.Debug("mDNS instance name claimed", "instance", s.resp.label())
}

// nextWake returns how long the run loop may sleep: a tick, or less when
// a probe is due sooner.
func (s *Service) nextWake(now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.probing {
		return max(min(tick, s.nextProbe.Sub(now)), time.Millisecond)
	}
	return tick
}

// conflict handles records another responder sent for this node's
// instance name (RFC 6762 §8.1, §9); s.mu must be held. While probing,
// the node gives the name up. Once it announced the name, the records are
// compared as in a simultaneous probe (§8.2) and only the loser takes a
// new name, the winner announcing again: two qpc nodes that meet after
// both claimed one name end with one rename between them, not two.
func (s *Service) conflict(now time.Time, theirs []record, from netip.AddrPort) {
	s.stats.conflicts.Add(1)
	if !s.probing && s.resp.tieBreak(theirs) > 0 {
		s.log.Info("mDNS: another responder claims this node's instance name; defending it",
			"instance", s.resp.label(), "from", from)
		for _, st := range s.ifaces {
			// At most once a second: a responder that never renames
			// must not make the node announce on each of its packets.
			if st.announceLeft == 0 && now.Sub(st.lastMulticast[0]) >= time.Second && now.Sub(st.lastMulticast[1]) >= time.Second {
				st.announceLeft, st.nextAnnounce = 1, now
			}
		}
		return
	}
	s.rename(now, from)
}

// rename gives up the instance name for the next one and probes for it;
// s.mu must be held. It says no goodbye for the old name: the goodbye's
// TXT record names this node, so peers would drop it from their tables
// (and federation its link) until the new name is announced, a second or
// more later; the other holder's cache-flush records replace this node's
// old ones in every cache instead, and the peers' entries, kept by node
// id, take the new name when it is announced.
func (s *Service) rename(now time.Time, from netip.AddrPort) {
	old := s.resp
	s.claimed = false
	s.nameNumber++
	s.resp = old.named(instanceLabel(s.cfg.Self.Domain, s.nameNumber))
	s.stats.renames.Add(1)
	recent := s.conflictAt[:0]
	for _, at := range s.conflictAt {
		if now.Sub(at) < conflictWindow {
			recent = append(recent, at)
		}
	}
	s.conflictAt = append(recent, now)
	wait := time.Duration(0)
	if len(s.conflictAt) >= conflictBurst {
		wait = conflictWait
	}
	s.startProbing(now, wait)
	s.log.Warn("mDNS instance name taken on the link; renamed",
		"old", old.label(), "instance", s.resp.label(), "from", from)
}

func (s *Service) closeConn4() {
	if s.c4 != nil {
		s.c4.Close()
		s.c4 = nil
	}
}

func (s *Service) closeConn6() {
	if s.c6 != nil {
		s.c6.Close()
		s.c6 = nil
	}
}

// Table returns the peer table.
func (s *Service) Table() *Table { return s.table }

// Peers returns the nodes heard recently; see Table.Peers.
func (s *Service) Peers() []Peer { return s.table.Peers() }

// Changed returns a channel closed at the next change of the peer table.
func (s *Service) Changed() <-chan struct{} { return s.table.Changed() }

// Stats returns the counters of what discovery has seen and dropped.
func (s *Service) Stats() Stats {
	return Stats{
		Packets:          s.stats.packets.Load(),
		Malformed:        s.stats.malformed.Load(),
		BadAnnouncements: s.stats.badAnn.Load(),
		UnknownVersion:   s.stats.unknownVer.Load(),
		TableFull:        s.table.dropped(),
		OffLink:          s.stats.offLink.Load(),
		Answered:         s.stats.answered.Load(),
		RateLimited:      s.stats.rateLimited.Load(),
		SendErrors:       s.stats.sendErrors.Load(),
		Conflicts:        s.stats.conflicts.Load(),
		Renames:          s.stats.renames.Load(),
	}
}

func (s *Service) logEvent(ev Event) {
	p := ev.Peer
	attrs := []any{"node_id", p.ID, "domain", p.Domain, "addr", p.DialAddr(), "addrs", p.Addrs,
		"iface", p.Interface, "fingerprint", p.Fingerprint}
	switch ev.Kind {
	case PeerJoined:
		s.log.Info("mesh peer joined", attrs...)
	case PeerUpdated:
		s.log.Info("mesh peer updated", attrs...)
	case PeerLeft:
		s.log.Info("mesh peer left", append(attrs, "reason", ev.Reason)...)
	}
}

// Run announces the node, answers queries and browses until ctx is
// cancelled; then it says goodbye on every interface and closes the
// sockets. It returns nil after a stop on cancel.
func (s *Service) Run(ctx context.Context) error {
	if s.c4 != nil {
		s.readers.Add(1)
		go s.read(s.c4)
	}
	if s.c6 != nil {
		s.readers.Add(1)
		go s.read(s.c6)
	}
	s.mu.Lock()
	names := make([]string, 0, len(s.ifaces))
	for _, st := range s.ifaces {
		names = append(names, st.ifi.Name)
	}
	instance := s.resp.label()
	s.mu.Unlock()
	slices.Sort(names)
	s.log.Info("mDNS discovery running", "service", ServiceName, "instance", instance,
		"interfaces", names, "ttl", s.cfg.TTL)

	t := time.NewTimer(0)
	defer t.Stop()
	<-t.C
	now := time.Now()
	nextQuery, queryGap := now, time.Second
	maxGap := time.Duration(float64(s.cfg.TTL) * maxQueryFraction)
	nextWatch := now.Add(watchInterval)
	var lastQuery time.Time
	for {
		s.probeDue(now)
		s.announceDue(now)
		if !now.Before(nextQuery) {
			s.query()
			lastQuery = now
			nextQuery = now.Add(queryGap)
			queryGap = min(queryGap*2, maxGap)
		} else if now.Sub(lastQuery) >= time.Second && s.takeQueryNow() {
			// Out of turn, at most once a second; the schedule of the
			// regular queries stays as it was.
			s.query()
			lastQuery = now
		}
		if !now.Before(nextWatch) {
			if s.refreshInterfaces(now) {
				// A new or renumbered interface: ask around there soon.
				nextQuery, queryGap = now, time.Second
			}
			nextWatch = now.Add(watchInterval)
		}
		s.sendDeferred(now)
		s.table.expire(now)
		t.Reset(s.nextWake(now))
		select {
		case <-ctx.Done():
			s.sayGoodbye()
			s.Close()
			return nil
		case now = <-t.C:
		}
	}
}

// Close closes the sockets and waits for the readers to stop. Run calls
// it; call it yourself only when Run was never called.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.closeConn4()
		s.closeConn6()
	})
	s.readers.Wait()
	return nil
}

// targetInterfaces returns the interfaces discovery should run on now.
func (s *Service) targetInterfaces() []net.Interface {
	if len(s.cfg.Interfaces) == 0 {
		all, err := net.Interfaces()
		if err != nil {
			s.log.Warn("listing interfaces", "err", err)
			return nil
		}
		var out []net.Interface
		for _, ifi := range all {
			if ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagMulticast != 0 && ifi.Flags&net.FlagLoopback == 0 {
				out = append(out, ifi)
			}
		}
		return out
	}
	var out []net.Interface
	for _, n := range s.cfg.Interfaces {
		ifi, err := net.InterfaceByName(n)
		if err != nil {
			if !s.warned[n] {
				s.log.Warn("mDNS interface is gone; waiting for it to come back", "iface", n, "err", err)
				s.warned[n] = true
			}
			continue
		}
		delete(s.warned, n)
		if ifi.Flags&net.FlagUp != 0 {
			out = append(out, *ifi)
		}
	}
	return out
}

func interfaceAddrs(ifi *net.Interface) []netip.Addr {
	addrs, _ := interfaceNets(ifi)
	return addrs
}

// interfaceNets returns the addresses mDNS announces for ifi, sorted, and
// the prefixes they belong to.
func interfaceNets(ifi *net.Interface) ([]netip.Addr, []netip.Prefix) {
	list, err := ifi.Addrs()
	if err != nil {
		return nil, nil
	}
	var addrs []netip.Addr
	var nets []netip.Prefix
	for _, a := range list {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		addr, ok := netip.AddrFromSlice(ipn.IP)
		if !ok {
			continue
		}
		addr = addr.Unmap()
		if addr.IsLoopback() || addr.IsMulticast() || addr.IsUnspecified() {
			continue
		}
		addrs = append(addrs, addr)
		if ones, _ := ipn.Mask.Size(); ones > 0 {
			nets = append(nets, netip.PrefixFrom(addr, ones).Masked())
		}
	}
	sort.Slice(addrs, func(i, j int) bool { return addrs[i].Less(addrs[j]) })
	return addrs, nets
}

// onLink reports whether a packet from a may come from the local link of
// an interface with prefixes nets: link-local addresses and those in nets
// do. Anything else was routed here, and mDNS must not answer or believe it
// (RFC 6762 §11).
func onLink(a netip.Addr, nets []netip.Prefix) bool {
	if a.IsLinkLocalUnicast() {
		return true
	}
	for _, n := range nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// refreshInterfaces joins the multicast groups on new interfaces, notes
// address changes (withdrawing lost addresses and scheduling announcements)
// and forgets interfaces that went away. It reports whether anything
// changed.
func (s *Service) refreshInterfaces(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := false
	seen := map[int]bool{}
	for _, ifi := range s.targetInterfaces() {
		seen[ifi.Index] = true
		addrs, nets := interfaceNets(&ifi)
		st, ok := s.ifaces[ifi.Index]
		if !ok {
			st = &ifaceState{ifi: ifi}
			s.ifaces[ifi.Index] = st
		}
		st.ifi, st.nets = ifi, nets
		s.join(st)
		if ok && slices.Equal(st.addrs, addrs) {
			continue
		}
		changed = true
		if ok {
			var gone []netip.Addr
			for _, a := range st.addrs {
				if !slices.Contains(addrs, a) {
					gone = append(gone, a)
				}
			}
			if len(gone) > 0 {
				s.sendMulticast(st, s.resp.addressGoodbye(gone))
			}
			s.log.Info("mDNS interface addresses changed; announcing again", "iface", ifi.Name, "addrs", addrs)
		} else {
			s.log.Debug("mDNS on interface", "iface", ifi.Name, "addrs", addrs)
		}
		st.addrs = addrs
		st.announceLeft, st.nextAnnounce = announceCount, now
	}
	for idx, st := range s.ifaces {
		if !seen[idx] {
			s.log.Info("mDNS interface gone", "iface", st.ifi.Name)
			s.leave(st)
			delete(s.ifaces, idx)
			changed = true
		}
	}
	s.watchGroups(now)
	return changed
}

// takeQueryNow reports and clears a request for a query out of turn.
func (s *Service) takeQueryNow() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queryNow
	s.queryNow = false
	return q
}

// newServiceType reports whether response m from from says, in a service
// enumeration record (RFC 6763 §9), that its sender has _quicprochat._udp
// services while the sender is none of the peers known. umdns sends such
// records when it starts, but never the services themselves: a query out
// of turn finds them in a second instead of at the next regular query, up
// to 48 s later.
func (s *Service) newServiceType(m *message, from netip.Addr, own []netip.Addr) bool {
	if slices.Contains(own, from.WithZone("")) {
		return false // our own answer to an enumeration query
	}
	found := false
	for _, rec := range m.records() {
		if rec.Type == typePTR && rec.TTL > 0 && rec.Name.equal(enumName) && rec.Target.equal(serviceName) {
			found = true
		}
	}
	if !found {
		return false
	}
	for _, p := range s.table.Peers() {
		for _, a := range p.Addrs {
			if a.WithZone("") == from.WithZone("") {
				return false
			}
		}
	}
	return true
}

// watchGroups announces again on an interface where another socket joined
// the mDNS group since the last check (groups.go); s.mu must be held.
func (s *Service) watchGroups(now time.Time) {
	if users := readGroupUsers(); users != nil {
		s.noteGroups(users, now)
	}
}

// noteGroups takes the group memberships read at now; s.mu must be held.
func (s *Service) noteGroups(users groupUsers, now time.Time) {
	before := s.users
	s.users = users
	if before == nil || s.probing {
		return // a baseline; or the name is not ours to announce yet
	}
	for idx, st := range s.ifaces {
		was, known := before[idx]
		if known && joinedMore(was, users[idx]) && st.announceLeft == 0 {
			s.log.Debug("another socket joined the mDNS group; announcing again", "iface", st.ifi.Name)
			st.announceLeft, st.nextAnnounce = 1, now
		}
	}
}

func (s *Service) join(st *ifaceState) {
	if s.c4 != nil && !st.joined4 {
		if err := s.c4.join(&st.ifi); err == nil {
			st.joined4 = true
		} else {
			s.log.Debug("joining the IPv4 mDNS group", "iface", st.ifi.Name, "err", err)
		}
	}
	if s.c6 != nil && !st.joined6 {
		if err := s.c6.join(&st.ifi); err == nil {
			st.joined6 = true
		} else {
			s.log.Debug("joining the IPv6 mDNS group", "iface", st.ifi.Name, "err", err)
		}
	}
}

func (s *Service) leave(st *ifaceState) {
	if s.c4 != nil && st.joined4 {
		s.c4.leave(&st.ifi)
	}
	if s.c6 != nil && st.joined6 {
		s.c6.leave(&st.ifi)
	}
}

func (s *Service) announceDue(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.probing {
		return // the name is not ours yet
	}
	for _, st := range s.ifaces {
		if st.announceLeft > 0 && !now.Before(st.nextAnnounce) {
			s.sendMulticast(st, s.resp.announcement(st.addrs, s.resp.ttl))
			st.lastMulticast = [2]time.Time{now, now}
			st.announceLeft--
			st.nextAnnounce = now.Add(announceGap)
		}
	}
}

// query asks every interface for qpc services, listing the peers already
// known there with more than half their TTL left (known-answer
// suppression, RFC 6762 §7.1).
func (s *Service) query() {
	now := time.Now()
	var known []record
	for _, p := range s.table.Peers() {
		left := p.Expires.Sub(now)
		if left > s.cfg.TTL/2 {
			known = append(known, record{Name: serviceName, Type: typePTR, Class: classIN,
				TTL: uint32(left / time.Second), Target: append(name{p.Instance}, serviceName...)})
		}
	}
	q := browseQuery(known)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastQuery, _ = encodeMessage(q)
	for _, st := range s.ifaces {
		s.sendMulticast(st, q)
	}
}

// sendDeferred sends the multicast answers the rate limit held back, once
// their interface may multicast again.
func (s *Service) sendDeferred(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.ifaces {
		for fam, m := range st.deferred {
			if m != nil && st.allowAnswer(now, false, fam) {
				s.sendMulticastFamily(st, m, fam)
				st.deferred[fam] = nil
			}
		}
	}
}

func (s *Service) sayGoodbye() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.claimed {
		return // nothing was announced under this name
	}
	for _, st := range s.ifaces {
		s.sendMulticast(st, s.resp.announcement(st.addrs, 0))
	}
}

// sendMulticast sends m to the mDNS groups on one interface, over each
// family the interface has an address of. s.mu must be held.
func (s *Service) sendMulticast(st *ifaceState, m *message) {
	b, err := encodeMessage(m)
	if err != nil {
		s.log.Error("encoding an mDNS message", "err", err)
		return
	}
	s.sendToGroup(st, b, 0)
	s.sendToGroup(st, b, 1)
}

// sendMulticastFamily sends m to the mDNS group of family fam (0 IPv4, 1
// IPv6) on one interface, if it has an address of that family. s.mu must
// be held.
func (s *Service) sendMulticastFamily(st *ifaceState, m *message, fam int) {
	b, err := encodeMessage(m)
	if err != nil {
		s.log.Error("encoding an mDNS message", "err", err)
		return
	}
	s.sendToGroup(st, b, fam)
}

func (s *Service) sendToGroup(st *ifaceState, b []byte, fam int) {
	if fam == 0 && s.c4 != nil && st.has4() {
		if err := s.c4.write(b, st.ifi.Index, netip.AddrPortFrom(group4, Port)); err != nil {
			s.sendFailed(st.ifi.Name, err)
		}
	}
	if fam == 1 && s.c6 != nil && st.has6() {
		if err := s.c6.write(b, st.ifi.Index, netip.AddrPortFrom(group6.WithZone(st.ifi.Name), Port)); err != nil {
			s.sendFailed(st.ifi.Name, err)
		}
	}
}

func (s *Service) sendFailed(iface string, err error) {
	s.stats.sendErrors.Add(1)
	s.log.Debug("sending an mDNS packet", "iface", iface, "err", err)
}

func (s *Service) read(c mconn) {
	defer s.readers.Done()
	buf := make([]byte, maxPacket+1)
	for {
		n, ifIndex, src, multicast, err := c.read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Debug("reading mDNS", "err", err)
			continue
		}
		s.handle(buf[:n], ifIndex, src, multicast)
	}
}

// handle processes one packet received on interface ifIndex from src.
func (s *Service) handle(b []byte, ifIndex int, src netip.AddrPort, multicast bool) {
	s.mu.Lock()
	st, ok := s.ifaces[ifIndex]
	var addrs []netip.Addr
	var nets []netip.Prefix
	var iface string
	if ok {
		addrs, nets, iface = st.addrs, st.nets, st.ifi.Name
	}
	s.mu.Unlock()
	if !ok {
		return // not one of ours
	}
	s.stats.packets.Add(1)
	from := netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	if !onLink(from.Addr(), nets) {
		s.stats.offLink.Add(1)
		return
	}
	if len(b) > maxPacket {
		s.stats.malformed.Add(1)
		s.log.Debug("dropping an oversized mDNS packet", "from", from, "iface", iface, "len", len(b))
		return
	}
	m, err := decodeMessage(b)
	if err != nil {
		s.stats.malformed.Add(1)
		s.log.Debug("dropping an mDNS packet", "from", from, "iface", iface, "err", err)
		return
	}
	if !m.isResponse() {
		s.handleQuery(m, b, ifIndex, from, src, addrs, multicast)
		return
	}
	// A response is only believed from the local link: RFC 6762 §11 asks
	// to ignore responses to port 5353 from other ports.
	if from.Port() != Port {
		return
	}
	newType := s.newServiceType(m, from.Addr(), addrs)
	s.mu.Lock()
	if theirs := s.resp.conflicting(m.records()); len(theirs) > 0 {
		s.conflict(time.Now(), theirs, from)
	}
	if newType {
		s.queryNow = true
	}
	s.mu.Unlock()
	h := ingest(m, from.Addr(), iface, time.Now())
	s.stats.count(h.problems)
	for _, err := range h.problems {
		s.log.Debug("ignoring a qpc announcement", "from", from, "iface", iface, "err", err)
	}
	for _, g := range h.goodbyes {
		if g.id != s.cfg.Self.ID {
			s.table.goodbye(g.id, g.instance)
		}
	}
	for _, sg := range h.sightings {
		_, known := s.table.Lookup(sg.ann.ID)
		if s.table.update(sg) && !known && sg.ann.Domain == s.cfg.Self.Domain {
			s.log.Warn("another node announces this node's domain", "node_id", sg.ann.ID, "from", from)
		}
	}
}

// handleQuery answers query m, b on the wire, received on interface
// ifIndex from src, on the family it came in on; while probing it only
// looks for a simultaneous probe of the same name.
func (s *Service) handleQuery(m *message, b []byte, ifIndex int, from, src netip.AddrPort, addrs []netip.Addr, multicast bool) {
	if s.ownQuery(b, from, addrs) {
		return // our own query, looped back: nothing to tell ourselves
	}
	legacy := from.Port() != Port
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.probing {
		// RFC 6762 §8.2: another host probing for the same name at the
		// same time; the lexicographically later records win. Our own
		// probe, looped back, compares equal.
		if theirs := s.resp.conflicting(m.Authorities); len(theirs) > 0 && s.resp.tieBreak(theirs) < 0 {
			s.stats.conflicts.Add(1)
			s.log.Debug("mDNS: lost a simultaneous probe; probing again", "instance", s.resp.label(), "from", from)
			s.startProbing(now, lostTieWait)
		}
		return
	}
	resp := s.resp.answer(m, addrs, legacy)
	if resp == nil {
		return
	}
	unicast := legacy || !multicast || slices.ContainsFunc(m.Questions, func(q question) bool { return q.QU })
	st, ok := s.ifaces[ifIndex]
	if !ok {
		return
	}
	fam := family(from.Addr())
	if !st.allowAnswer(now, unicast, fam) {
		s.stats.rateLimited.Add(1)
		if !unicast {
			// Answered as soon as the interface may multicast again
			// on this family (RFC 6762 §6: at most once a second), so
			// a querier waits at most a second, not until its next
			// query.
			if st.deferred[fam] == nil {
				wait := time.Until(st.lastMulticast[fam].Add(time.Second))
				time.AfterFunc(wait, func() { s.sendDeferred(time.Now()) })
			}
			st.deferred[fam] = resp
		}
		return
	}
	s.stats.answered.Add(1)
	if unicast {
		s.sendUnicast(st, resp, src)
	} else {
		s.sendMulticastFamily(st, resp, fam)
	}
}

// ownQuery reports whether query b from from is the one this node sent last,
// looped back to it.
func (s *Service) ownQuery(b []byte, from netip.AddrPort, addrs []netip.Addr) bool {
	if from.Port() != Port || !slices.Contains(addrs, from.Addr().WithZone("")) {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Equal(b, s.lastQuery)
}

func (s *Service) sendUnicast(st *ifaceState, m *message, dst netip.AddrPort) {
	b, err := encodeMessage(m)
	if err != nil {
		s.log.Error("encoding an mDNS message", "err", err)
		return
	}
	c := s.c6
	if dst.Addr().Unmap().Is4() {
		c = s.c4
	}
	if c == nil {
		return
	}
	if err := c.write(b, st.ifi.Index, dst); err != nil {
		s.sendFailed(st.ifi.Name, err)
	}
}
