package discovery

import (
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Names of the DNS-SD service and of the service enumeration meta-query
// (RFC 6763 §9).
var (
	serviceName = name{"_quicprochat", "_udp", "local"}
	enumName    = name{"_services", "_dns-sd", "_udp", "local"}
)

// ServiceName is the DNS-SD service qpc nodes announce (DESIGN §7).
const ServiceName = "_quicprochat._udp.local."

// DefaultTTL is the TTL of every record a node announces. RFC 6762 §10
// suggests 120 s for records naming hosts and 75 min for the others; a mesh
// loses routers without a goodbye (power cuts), so all of ours use 120 s and
// a vanished node leaves peer tables within two minutes.
const DefaultTTL = 120 * time.Second

// legacyTTL caps the TTLs of answers to legacy unicast queries (RFC 6762
// §6.7).
const legacyTTL = 10

// responder knows the records of one node's service and answers queries
// for them. It is pure: sockets are elsewhere.
type responder struct {
	ann      Announcement
	instance name // <domain>._quicprochat._udp.local.
	host     name // qpc-<id prefix>.local.
	ttl      uint32
}

func newResponder(ann Announcement, ttl time.Duration) *responder {
	return &responder{
		ann: ann,
		// The instance name is the domain, dots and all: an instance label
		// may hold any UTF-8 (RFC 6763 §4.3). A label holds 63 bytes; the
		// TXT record always carries the whole domain.
		instance: append(name{ann.Domain[:min(len(ann.Domain), maxLabelLen)]}, serviceName...),
		// The SRV target is a host name of the node's own, derived from its
		// id, so it never clashes with the host's name that avahi or umdns
		// announce, nor with another node's.
		host: name{"qpc-" + ann.ID[:12], "local"},
		ttl:  uint32(ttl / time.Second),
	}
}

// label returns r's instance name as one string, the way DNS-SD browsers
// show it.
func (r *responder) label() string { return r.instance[0] }

// named returns a copy of r that announces the instance label instead.
func (r *responder) named(label string) *responder {
	c := *r
	c.instance = append(name{label}, serviceName...)
	return &c
}

func (r *responder) ptr(ttl uint32) record {
	return record{Name: serviceName, Type: typePTR, Class: classIN, TTL: ttl, Target: r.instance}
}

func (r *responder) srv(ttl uint32) record {
	return record{Name: r.instance, Type: typeSRV, Class: classIN, Flush: true, TTL: ttl, Target: r.host, Port: r.ann.Port}
}

func (r *responder) txt(ttl uint32) record {
	return record{Name: r.instance, Type: typeTXT, Class: classIN, Flush: true, TTL: ttl, Text: r.ann.txt()}
}

func (r *responder) addrRecords(addrs []netip.Addr, ttl uint32, want uint16) []record {
	var out []record
	for _, a := range addrs {
		t := typeAAAA
		if a.Is4() {
			t = typeA
		}
		if want != typeANY && want != t {
			continue
		}
		out = append(out, record{Name: r.host, Type: t, Class: classIN, Flush: true, TTL: ttl, Addr: a.WithZone("")})
	}
	return out
}

// announcement returns the unsolicited response that announces every
// record with the addresses of one interface; ttl 0 makes it a goodbye.
func (r *responder) announcement(addrs []netip.Addr, ttl uint32) *message {
	m := &message{Flags: flagResponse | flagAuth}
	m.Answers = append(m.Answers, r.ptr(ttl), r.srv(ttl), r.txt(ttl))
	m.Answers = append(m.Answers, r.addrRecords(addrs, ttl, typeANY)...)
	return m
}

// addressGoodbye returns the response that withdraws addresses an
// interface lost.
func (r *responder) addressGoodbye(gone []netip.Addr) *message {
	return &message{Flags: flagResponse | flagAuth, Answers: r.addrRecords(gone, 0, typeANY)}
}

// answer returns the response to query q received on an interface with
// addrs, or nil when there is nothing to say. legacy marks a query from a
// port other than 5353 (RFC 6762 §6.7): the answer then echoes the id and
// the questions, and caps TTLs.
func (r *responder) answer(q *message, addrs []netip.Addr, legacy bool) *message {
	if q.isResponse() || q.Flags&opcodeMask != 0 || q.Flags&rcodeMask != 0 {
		return nil // RFC 6762 §18.3, §18.11: ignore other opcodes and rcodes
	}
	var ans, extra []record
	add := func(dst *[]record, rs ...record) {
		for _, rec := range rs {
			for _, have := range ans {
				if sameRecord(have, rec) {
					goto next
				}
			}
			for _, have := range extra {
				if sameRecord(have, rec) {
					goto next
				}
			}
			*dst = append(*dst, rec)
		next:
		}
	}
	for _, qu := range q.Questions {
		if qu.Class != classIN && qu.Class != classANY {
			continue
		}
		switch {
		case qu.Name.equal(serviceName) && (qu.Type == typePTR || qu.Type == typeANY):
			if !r.knownAnswer(q, r.ptr(r.ttl)) {
				add(&ans, r.ptr(r.ttl))
				add(&extra, r.srv(r.ttl), r.txt(r.ttl))
				add(&extra, r.addrRecords(addrs, r.ttl, typeANY)...)
			}
		case qu.Name.equal(enumName) && (qu.Type == typePTR || qu.Type == typeANY):
			enum := record{Name: enumName, Type: typePTR, Class: classIN, TTL: r.ttl, Target: serviceName}
			if !r.knownAnswer(q, enum) {
				add(&ans, enum)
			}
		case qu.Name.equal(r.instance) || isInstance(qu.Name, r.label()):
			// A querier such as umdns asks for the instance with
			// its dots split into labels.
			if qu.Type == typeSRV || qu.Type == typeANY {
				add(&ans, r.srv(r.ttl))
				add(&extra, r.addrRecords(addrs, r.ttl, typeANY)...)
			}
			if qu.Type == typeTXT || qu.Type == typeANY {
				add(&ans, r.txt(r.ttl))
			}
		case qu.Name.equal(r.host):
			if qu.Type == typeA || qu.Type == typeAAAA || qu.Type == typeANY {
				add(&ans, r.addrRecords(addrs, r.ttl, qu.Type)...)
			}
		}
	}
	// Records the querier already holds need not be repeated.
	ans = r.dropKnown(q, ans)
	if len(ans) == 0 {
		return nil
	}
	resp := &message{Flags: flagResponse | flagAuth, Answers: ans, Additionals: extra}
	if legacy {
		resp.ID = q.ID
		resp.Questions = q.Questions
		for _, sec := range [][]record{resp.Answers, resp.Additionals} {
			for i := range sec {
				sec[i].TTL = min(sec[i].TTL, legacyTTL)
				sec[i].Flush = false
			}
		}
		for i := range resp.Questions {
			resp.Questions[i].QU = false
		}
	}
	return resp
}

// knownAnswer reports whether q lists rec among its known answers with at
// least half its TTL left (RFC 6762 §7.1), so rec need not be sent.
func (r *responder) knownAnswer(q *message, rec record) bool {
	for _, k := range q.Answers {
		if sameRecord(k, rec) && k.TTL >= rec.TTL/2 {
			return true
		}
	}
	return false
}

func (r *responder) dropKnown(q *message, rs []record) []record {
	out := rs[:0]
	for _, rec := range rs {
		if !r.knownAnswer(q, rec) {
			out = append(out, rec)
		}
	}
	return out
}

// sameRecord reports whether a and b are the same record, TTL aside.
func sameRecord(a, b record) bool {
	if a.Type != b.Type || a.Class != b.Class || !a.Name.equal(b.Name) {
		return false
	}
	switch a.Type {
	case typePTR:
		return a.Target.equal(b.Target)
	case typeSRV:
		return a.Target.equal(b.Target) && a.Port == b.Port && a.Priority == b.Priority && a.Weight == b.Weight
	case typeTXT:
		return strings.Join(a.Text, "\x00") == strings.Join(b.Text, "\x00") && len(a.Text) == len(b.Text)
	case typeA, typeAAAA:
		return a.Addr == b.Addr
	}
	return string(a.Raw) == string(b.Raw)
}

// query returns a query for the service's PTR records, with known lists
// the records the querier holds that have more than half their TTL left.
func browseQuery(known []record) *message {
	return &message{
		Questions: []question{{Name: serviceName, Type: typePTR, Class: classIN}},
		Answers:   known,
	}
}

// heard is what one response packet says about qpc services.
type heard struct {
	sightings []sighting
	goodbyes  []goodbye
	problems  []error // announcements that failed to parse
}

type goodbye struct {
	id       string // node id, when the goodbye carried the TXT record
	instance string
}

// instanceOf returns the instance part of a service instance name,
// <instance>._quicprochat._udp.local., as one string. The instance is
// normally one label that may hold dots (RFC 6763 §4.3), but OpenWrt's
// umdns splits an instance such as node-u.mesh at its dots into labels of
// their own: any labels before the service name are the instance, joined
// with dots again.
func instanceOf(n name) (string, bool) {
	if len(n) <= len(serviceName) || !n[len(n)-len(serviceName):].equal(serviceName) {
		return "", false
	}
	return strings.Join(n[:len(n)-len(serviceName)], "."), true
}

// isInstance reports whether n names instance of the service, in either
// form instanceOf accepts.
func isInstance(n name, instance string) bool {
	got, ok := instanceOf(n)
	return ok && strings.EqualFold(got, instance)
}

// ingest reads the qpc services out of a response received from src on
// iface at now.
func ingest(m *message, src netip.Addr, iface string, now time.Time) heard {
	var h heard
	if !m.isResponse() || m.Flags&opcodeMask != 0 || m.Flags&rcodeMask != 0 {
		return h
	}
	type inst struct {
		label         string
		ptr, srv, txt *record
	}
	instances := map[string]*inst{}
	var order []string
	// Instances are keyed by their joined, lowercased form, so that one
	// named in one label and the same named in dot-split labels meet.
	get := func(label string) *inst {
		k := strings.ToLower(label)
		in, ok := instances[k]
		if !ok {
			in = &inst{label: label}
			instances[k] = in
			order = append(order, k)
		}
		return in
	}
	hosts := map[string][]record{}
	all := m.records()
	for i := range all {
		rec := &all[i]
		if rec.Class != classIN {
			continue
		}
		switch {
		case rec.Type == typePTR && rec.Name.equal(serviceName):
			if label, ok := instanceOf(rec.Target); ok {
				get(label).ptr = rec
			}
		case rec.Type == typeSRV || rec.Type == typeTXT:
			label, ok := instanceOf(rec.Name)
			if !ok {
				continue
			}
			if rec.Type == typeSRV {
				get(label).srv = rec
			} else {
				get(label).txt = rec
			}
		case rec.Type == typeA || rec.Type == typeAAAA:
			k := rec.Name.key()
			hosts[k] = append(hosts[k], *rec)
		}
	}
	for _, k := range order {
		in := instances[k]
		label := in.label
		if (in.ptr != nil && in.ptr.TTL == 0) || (in.srv != nil && in.srv.TTL == 0) || (in.txt != nil && in.txt.TTL == 0) {
			g := goodbye{instance: label}
			if in.txt != nil {
				if ann, err := parseTXT(in.txt.Text); err == nil {
					g.id = ann.ID
				}
			}
			h.goodbyes = append(h.goodbyes, g)
			continue
		}
		if in.txt == nil {
			continue // a PTR or SRV alone does not say which node it is
		}
		ann, err := parseTXT(in.txt.Text)
		if err != nil {
			h.problems = append(h.problems, err)
			continue
		}
		ttl := in.txt.TTL
		for _, rec := range []*record{in.ptr, in.srv} {
			if rec != nil {
				ttl = min(ttl, rec.TTL)
			}
		}
		s := sighting{
			ann:      ann,
			instance: label,
			iface:    iface,
			ttl:      time.Duration(ttl) * time.Second,
			addrTTL:  time.Duration(ttl) * time.Second,
			heardAt:  now,
		}
		if in.srv != nil {
			for _, a := range hosts[in.srv.Target.key()] {
				if !usable(a.Addr) || a.TTL == 0 || len(s.addrs) >= maxPeerAddrs {
					continue
				}
				s.addrs = append(s.addrs, withZone(a.Addr, iface))
				// RFC 6762 §10.2: a cache-flush record replaces the
				// records of its own name, type and class: an A
				// record flushes the IPv4 addresses, never the IPv6
				// ones that avahi sends in another packet.
				if a.Type == typeA {
					s.flush4 = s.flush4 || a.Flush
				} else {
					s.flush6 = s.flush6 || a.Flush
				}
			}
		}
		if usable(src) && !slices.ContainsFunc(s.addrs, func(a netip.Addr) bool { return a.Is4() == src.Unmap().Is4() }) {
			// No address of the sender's family came along (umdns
			// sends none with its PTR, SRV and TXT): the sender is the
			// node, on this family.
			s.addrs = append(s.addrs, withZone(src, iface))
		}
		h.sightings = append(h.sightings, s)
	}
	return h
}

func usable(a netip.Addr) bool {
	return a.IsValid() && !a.IsUnspecified() && !a.IsMulticast()
}

// withZone gives link-local IPv6 addresses the interface they were heard
// on, without which they cannot be dialed.
func withZone(a netip.Addr, iface string) netip.Addr {
	a = a.Unmap()
	if a.Is6() && a.IsLinkLocalUnicast() {
		return a.WithZone(iface)
	}
	return a.WithZone("")
}
