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
