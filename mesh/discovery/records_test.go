package discovery

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

func roundTrip(t *testing.T, m *message) *message {
	t.Helper()
	b, err := encodeMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	d, err := decodeMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestTheResponderAnswersABrowseWithEverythingNeededToDial(t *testing.T) {
	r := newResponder(testAnn, DefaultTTL)
	resp := r.answer(roundTrip(t, browseQuery(nil)), testAddrs, false)
	if resp == nil {
		t.Fatal("no answer to a browse")
	}
	resp = roundTrip(t, resp)
	if len(resp.Answers) != 1 || resp.Answers[0].Type != typePTR {
		t.Errorf("answers = %+v, want the PTR", resp.Answers)
	}
	if len(resp.Additionals) != 4 {
		t.Errorf("additionals = %d records, want SRV, TXT, A, AAAA", len(resp.Additionals))
	}
	if resp.ID != 0 || len(resp.Questions) != 0 {
		t.Errorf("a multicast answer carries id %d and %d questions, want neither", resp.ID, len(resp.Questions))
	}
}

func TestALegacyQueryGetsItsIDQuestionAndShortTTLsBack(t *testing.T) {
	r := newResponder(testAnn, DefaultTTL)
	q := browseQuery(nil)
	q.ID = 4242
	resp := roundTrip(t, r.answer(roundTrip(t, q), testAddrs, true))
	if resp.ID != 4242 || len(resp.Questions) != 1 {
		t.Fatalf("id %d, %d questions; want 4242 and the question echoed", resp.ID, len(resp.Questions))
	}
	for _, rec := range resp.records() {
		if rec.TTL > legacyTTL || rec.Flush {
			t.Errorf("record %v has TTL %d, flush %v; want at most %d and no flush", rec.Type, rec.TTL, rec.Flush, legacyTTL)
		}
	}
}

func TestKnownAnswersAreNotRepeated(t *testing.T) {
	r := newResponder(testAnn, DefaultTTL)
	fresh := browseQuery([]record{r.ptr(100)})
	if resp := r.answer(roundTrip(t, fresh), testAddrs, false); resp != nil {
		t.Errorf("answered a querier that knows the PTR with 100 s left: %+v", resp.Answers)
	}
	stale := browseQuery([]record{r.ptr(30)})
	if resp := r.answer(roundTrip(t, stale), testAddrs, false); resp == nil {
		t.Error("did not refresh a querier whose PTR has less than half its TTL left")
	}
}

func TestTheResponderAnswersForItsInstanceAndHostAndStaysQuietOtherwise(t *testing.T) {
	r := newResponder(testAnn, DefaultTTL)
	ask := func(n name, typ uint16) *message {
		return r.answer(&message{Questions: []question{{Name: n, Type: typ, Class: classIN}}}, testAddrs, false)
	}
	if m := ask(r.instance, typeTXT); m == nil || m.Answers[0].Type != typeTXT {
		t.Errorf("TXT query: %+v", m)
	}
	if m := ask(r.instance, typeANY); m == nil || len(m.Answers) != 2 {
		t.Errorf("ANY query on the instance: %+v", m)
	}
	if m := ask(r.host, typeAAAA); m == nil || len(m.Answers) != 1 || m.Answers[0].Addr != testAddrs[1] {
		t.Errorf("AAAA query: %+v", m)
	}
	if m := ask(enumName, typePTR); m == nil || !m.Answers[0].Target.equal(serviceName) {
		t.Errorf("service enumeration: %+v", m)
	}
	if m := ask(parseName("_http._tcp.local"), typePTR); m != nil {
		t.Errorf("answered for another service: %+v", m)
	}
	resp := r.answer(&message{Flags: flagResponse, Questions: []question{{Name: serviceName, Type: typePTR, Class: classIN}}}, testAddrs, false)
	if resp != nil {
		t.Error("answered a response")
	}
}

func TestAGoodbyeNamesTheNodeThatLeaves(t *testing.T) {
	r := newResponder(testAnn, DefaultTTL)
	h := ingest(roundTrip(t, r.announcement(testAddrs, 0)), testAddrs[0], "eth0", time.Now())
	if len(h.goodbyes) != 1 || h.goodbyes[0].id != testAnn.ID || len(h.sightings) != 0 {
		t.Fatalf("ingest of a goodbye = %+v", h)
	}
	// A responder that withdraws only the PTR is understood by instance.
	h = ingest(roundTrip(t, &message{Flags: flagResponse, Answers: []record{r.ptr(0)}}), testAddrs[0], "eth0", time.Now())
	if len(h.goodbyes) != 1 || h.goodbyes[0].instance != testAnn.Domain {
		t.Fatalf("ingest of a PTR goodbye = %+v", h)
	}
}

func TestBrokenAnnouncementsInAResponseAreReportedAndSkipped(t *testing.T) {
	r := newResponder(testAnn, DefaultTTL)
	m := r.announcement(testAddrs, 120)
	other := *r
	other.instance = append(name{"evil"}, serviceName...)
	bad := other.txt(120)
	bad.Text = []string{"ver=1", "id=nope"}
	newer := other.txt(120)
	newer.Name = append(name{"future"}, serviceName...)
	newer.Text = []string{"ver=9"}
	m.Answers = append(m.Answers, bad, newer)
	h := ingest(roundTrip(t, m), testAddrs[0], "eth0", time.Now())
	if len(h.sightings) != 1 || len(h.problems) != 2 {
		t.Fatalf("sightings %d, problems %v; want the good one and two problems", len(h.sightings), h.problems)
	}
	var c counters
	c.count(h.problems)
	if c.badAnn.Load() != 1 || c.unknownVer.Load() != 1 {
		t.Errorf("counted %d bad, %d unknown version", c.badAnn.Load(), c.unknownVer.Load())
	}
	if !errors.Is(h.problems[0], ErrBadAnnouncement) {
		t.Errorf("problem = %v", h.problems[0])
	}
}

func TestWithoutAddressRecordsTheSenderIsTheNode(t *testing.T) {
	r := newResponder(testAnn, DefaultTTL)
	m := &message{Flags: flagResponse, Answers: []record{r.ptr(120), r.txt(120)}}
	src := netip.MustParseAddr("fe80::99")
	h := ingest(roundTrip(t, m), src, "wlan0", time.Now())
	if len(h.sightings) != 1 || len(h.sightings[0].addrs) != 1 || h.sightings[0].addrs[0] != src.WithZone("wlan0") {
		t.Fatalf("sightings = %+v", h.sightings)
	}
}

// umdnsStyle is a response the way OpenWrt's umdns sends one: id 0, the
// PTR, SRV and TXT of an instance whose dots it split into labels, and no
// address records.
func umdnsStyle(instance string, ann Announcement, ttl uint32) *message {
	inst := append(parseName(instance), serviceName...)
	host := name{"router", "local"}
	return &message{Flags: flagResponse | flagAuth, Answers: []record{
		{Name: serviceName, Type: typePTR, Class: classIN, TTL: ttl, Target: inst},
		{Name: inst, Type: typeSRV, Class: classIN, TTL: ttl, Target: host, Port: ann.Port},
		{Name: inst, Type: typeTXT, Class: classIN, TTL: ttl, Text: ann.txt()},
	}}
}

func TestAnInstanceSplitAtItsDotsIsFoundWhole(t *testing.T) {
	src := netip.MustParseAddr("192.0.2.7")
	h := ingest(roundTrip(t, umdnsStyle("node-u.mesh", testAnn, 120)), src, "br-lan", time.Now())
	if len(h.sightings) != 1 || h.sightings[0].instance != "node-u.mesh" || h.sightings[0].ann != testAnn {
		t.Fatalf("sightings = %+v, want node-u.mesh with the TXT's announcement", h.sightings)
	}
	if a := h.sightings[0].addrs; len(a) != 1 || a[0] != src {
		t.Errorf("addrs = %v, want the sender's", a)
	}
	h = ingest(roundTrip(t, umdnsStyle("node-u.mesh", testAnn, 0)), src, "br-lan", time.Now())
	if len(h.goodbyes) != 1 || h.goodbyes[0].instance != "node-u.mesh" {
		t.Errorf("goodbyes = %+v, want node-u.mesh's", h.goodbyes)
	}
	// Names that only end like the service, or are the service itself,
	// are no instance.
	for _, n := range []string{"_quicprochat._udp.local", "_udp.local", "x._quicprochat._tcp.local"} {
		if got, ok := instanceOf(parseName(n)); ok {
			t.Errorf("instanceOf(%s) = %q, want none", n, got)
		}
	}
	// The responder answers a question for its instance in split form.
	r := newResponder(testAnn, DefaultTTL)
	q := &message{Questions: []question{{Name: append(parseName(testAnn.Domain), serviceName...), Type: typeTXT, Class: classIN}}}
	if resp := r.answer(roundTrip(t, q), testAddrs, false); resp == nil || len(resp.Answers) != 1 || resp.Answers[0].Type != typeTXT {
		t.Errorf("answer to a split-name TXT question = %+v", resp)
	}
}

// umdns answers over IPv4 and IPv6 separately, without address records:
// the node keeps the sender's address of each family.
func TestTheSendersAddressOfEachFamilyIsKept(t *testing.T) {
	tab := NewTable("", nil)
	now := time.Now()
	for _, src := range []string{"192.0.2.7", "fe80::7"} {
		h := ingest(roundTrip(t, umdnsStyle("node-u.mesh", testAnn, 120)), netip.MustParseAddr(src), "br-lan", now)
		tab.update(h.sightings[0])
	}
	if p, _ := tab.Lookup(testAnn.ID); len(p.Addrs) != 2 || p.Addrs[0].String() != "192.0.2.7" || p.Addrs[1].String() != "fe80::7%br-lan" {
		t.Errorf("addrs = %v, want the IPv4 and the IPv6 sender", p.Addrs)
	}
}

func TestAPacketOfOneFamilyFlushesOnlyThatFamily(t *testing.T) {
	r := newResponder(testAnn, DefaultTTL)
	v4 := r.announcement(testAddrs[:1], 120) // A only, as avahi sends over IPv4
	v6 := r.announcement(testAddrs[1:], 120) // AAAA only, over IPv6
	h4 := ingest(roundTrip(t, v4), testAddrs[0], "eth0", time.Now())
	h6 := ingest(roundTrip(t, v6), testAddrs[1], "eth0", time.Now())
	if s := h4.sightings[0]; !s.flush4 || s.flush6 {
		t.Errorf("an A-only packet flushes IPv4 %v, IPv6 %v; want IPv4 only", s.flush4, s.flush6)
	}
	if s := h6.sightings[0]; s.flush4 || !s.flush6 {
		t.Errorf("an AAAA-only packet flushes IPv4 %v, IPv6 %v; want IPv6 only", s.flush4, s.flush6)
	}
}
