package discovery

import (
	"bytes"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// socketless returns a Service with one interface, eth0, and no sockets:
// what it would send goes nowhere, what it is handed is processed as if
// read from the network.
func socketless(t *testing.T, logs *bytes.Buffer) *Service {
	t.Helper()
	self := testAnn
	self.ID = "selfselfselfselfselfselfse"
	self.Domain = "self.example.mesh"
	s := &Service{
		cfg:  Config{Self: self, TTL: DefaultTTL},
		log:  slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		resp: newResponder(self, DefaultTTL),
		ifaces: map[int]*ifaceState{7: {ifi: net.Interface{Index: 7, Name: "eth0"}, addrs: testAddrs,
			nets: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("fe80::/64")}}},
		warned:     map[string]bool{},
		nameNumber: 1,
		claimed:    true, // past probing: it answers (probe_test.go probes)
	}
	s.table = NewTable(self.ID, s.logEvent)
	return s
}

var from5353 = netip.MustParseAddrPort("192.0.2.1:5353")

func TestHostilePacketsAreCountedAndDiscoveryGoesOn(t *testing.T) {
	var logs bytes.Buffer
	s := socketless(t, &logs)
	good := testAnnouncement(t)

	oversizedTXT := newResponder(testAnn, DefaultTTL).announcement(testAddrs, 120)
	oversizedTXT.Answers[2].Text = append(oversizedTXT.Answers[2].Text, strings.Repeat("x", 255), strings.Repeat("y", 255),
		strings.Repeat("z", 255), strings.Repeat("w", 255), strings.Repeat("v", 255))
	missingKey := newResponder(testAnn, DefaultTTL).announcement(testAddrs, 120)
	missingKey.Answers[2].Text = missingKey.Answers[2].Text[:4] // no fp=
	newer := newResponder(testAnn, DefaultTTL).announcement(testAddrs, 120)
	newer.Answers[2].Text[0] = "ver=2"

	for _, b := range [][]byte{
		[]byte("garbage"),
		good[:len(good)-3],                   // truncated
		make([]byte, maxPacket+1),            // oversized
		append([]byte{}, good[:12]...),       // a header claiming records it lacks
		mustEncode(t, oversizedTXT),          // TXT over 1300 bytes
		mustEncode(t, missingKey),            // no fp=
		mustEncode(t, newer),                 // ver=2
		append(good[:2:2], 0xff, 0xff, 0xff), // flags and nothing else
	} {
		s.handle(b, 7, from5353, true)
	}
	// Packets from an interface discovery does not run on are not looked at.
	s.handle([]byte("garbage"), 99, from5353, true)

	st := s.Stats()
	if st.Packets != 8 || st.Malformed != 5 || st.BadAnnouncements != 2 || st.UnknownVersion != 1 {
		t.Errorf("stats = %+v, want 8 packets: 5 malformed, 2 bad announcements, 1 of an unknown version", st)
	}
	if len(s.Peers()) != 0 {
		t.Fatalf("a broken announcement made it into the table: %+v", s.Peers())
	}
	s.handle(good, 7, from5353, true)
	if p := s.Peers(); len(p) != 1 || p[0].ID != testAnn.ID {
		t.Fatalf("a good announcement after the bad ones: peers %+v", p)
	}
	if !strings.Contains(logs.String(), "mesh peer joined") {
		t.Errorf("no join logged:\n%s", logs.String())
	}
}

func TestTheServiceIgnoresItselfAndHandlesGoodbyes(t *testing.T) {
	var logs bytes.Buffer
	s := socketless(t, &logs)
	own := mustEncode(t, s.resp.announcement(testAddrs, 120))
	s.handle(own, 7, from5353, true)
	if len(s.Peers()) != 0 {
		t.Fatal("the node lists itself")
	}
	s.handle(testAnnouncement(t), 7, from5353, true)
	s.handle(mustEncode(t, newResponder(testAnn, DefaultTTL).announcement(testAddrs, 0)), 7, from5353, true)
	if len(s.Peers()) != 0 {
		t.Fatal("a goodbye did not remove the peer")
	}
	if !strings.Contains(logs.String(), "reason=goodbye") {
		t.Errorf("no goodbye logged:\n%s", logs.String())
	}
	// Responses from a port other than 5353 are not believed.
	s.handle(testAnnouncement(t), 7, netip.MustParseAddrPort("192.0.2.1:40000"), true)
	if len(s.Peers()) != 0 {
		t.Error("a response from a port other than 5353 was believed")
	}
}

func TestAFloodOfQueriesIsAnsweredAtALimitedRate(t *testing.T) {
	s := socketless(t, &bytes.Buffer{})
	q := mustEncode(t, browseQuery(nil))
	for range 5 {
		s.handle(q, 7, from5353, true)
	}
	if st := s.Stats(); st.Answered != 1 || st.RateLimited != 4 {
		t.Errorf("multicast: stats = %+v, want 1 answered and 4 held back", st)
	}
	if s.ifaces[7].deferred[0] == nil {
		t.Error("the held-back answer was dropped instead of deferred")
	}
	s.sendDeferred(time.Now().Add(500 * time.Millisecond))
	if s.ifaces[7].deferred[0] == nil {
		t.Error("the deferred answer went out within a second of the last")
	}
	s.sendDeferred(time.Now().Add(1100 * time.Millisecond))
	if s.ifaces[7].deferred[0] != nil {
		t.Error("the deferred answer did not go out after a second")
	}
	legacy := netip.MustParseAddrPort("192.0.2.1:40000")
	for range 3 * maxUnicastAnswers {
		s.handle(q, 7, legacy, true)
	}
	if st := s.Stats(); st.Answered != 1+maxUnicastAnswers {
		t.Errorf("unicast: stats = %+v, want %d answered", st, 1+maxUnicastAnswers)
	}
}

// A querier that asks over IPv4 and IPv6 at once, as qpc nodes and avahi
// do, gets one answer on each family: not four, two at once and two a
// second later, as when one family's answer went out on both.
func TestAQueryIsAnsweredOnceOnTheFamilyItCameIn(t *testing.T) {
	s := socketless(t, &bytes.Buffer{})
	q := mustEncode(t, browseQuery(nil))
	s.handle(q, 7, from5353, true)
	s.handle(q, 7, netip.MustParseAddrPort("[fe80::2%eth0]:5353"), true)
	if st := s.Stats(); st.Answered != 2 || st.RateLimited != 0 {
		t.Errorf("stats = %+v, want the IPv4 and the IPv6 query answered at once", st)
	}
	if d := s.ifaces[7].deferred; d[0] != nil || d[1] != nil {
		t.Errorf("answers deferred: %v", d)
	}
	s.handle(q, 7, from5353, true)
	if d := s.ifaces[7].deferred; d[0] == nil || d[1] != nil {
		t.Errorf("a second IPv4 query within the second: deferred %v, want the IPv4 answer only", d)
	}
}

func TestTheNodeDoesNotAnswerItsOwnQuery(t *testing.T) {
	s := socketless(t, &bytes.Buffer{})
	s.lastQuery = mustEncode(t, browseQuery(nil))
	self := netip.AddrPortFrom(netip.AddrFrom16(testAddrs[0].As16()), Port) // v4-in-v6, as a dual-stack socket may give it
	s.handle(s.lastQuery, 7, self, true)
	if st := s.Stats(); st.Answered != 0 || st.RateLimited != 0 {
		t.Errorf("stats = %+v: the node answered its own query", st)
	}
	other := netip.MustParseAddrPort("192.0.2.99:5353")
	s.handle(s.lastQuery, 7, other, true) // the same query from another host
	if s.Stats().Answered != 1 {
		t.Error("another host's query went unanswered")
	}
}

func TestPacketsFromOffTheLinkAreIgnored(t *testing.T) {
	s := socketless(t, &bytes.Buffer{})
	routed := netip.MustParseAddrPort("198.51.100.7:5353")
	s.handle(mustEncode(t, browseQuery(nil)), 7, routed, false)
	s.handle(testAnnouncement(t), 7, routed, false)
	if st := s.Stats(); st.OffLink != 2 || st.Answered != 0 || len(s.Peers()) != 0 {
		t.Errorf("stats %+v, peers %v: a routed query was answered or a routed announcement believed", st, s.Peers())
	}
	linkLocal := netip.MustParseAddrPort("[fe80::99%eth0]:5353")
	s.handle(mustEncode(t, browseQuery(nil)), 7, linkLocal, true)
	if s.Stats().Answered != 1 {
		t.Error("a query from a link-local address went unanswered")
	}
}

func TestALongDomainStillMakesAValidInstanceName(t *testing.T) {
	ann := testAnn
	ann.Domain = strings.Repeat("a", 60) + "." + strings.Repeat("b", 60) + ".mesh"
	b := mustEncode(t, newResponder(ann, DefaultTTL).announcement(testAddrs, 120))
	m, err := decodeMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	h := ingest(m, testAddrs[0], "eth0", time.Now())
	if len(h.sightings) != 1 || h.sightings[0].ann.Domain != ann.Domain {
		t.Errorf("sightings = %+v, want the whole domain from TXT", h.sightings)
	}
}

func TestTheTableExpiresPeersThatFallSilent(t *testing.T) {
	s := socketless(t, &bytes.Buffer{})
	s.handle(testAnnouncement(t), 7, from5353, true)
	s.table.expire(time.Now().Add(DefaultTTL + time.Second))
	if len(s.Peers()) != 0 {
		t.Error("a silent peer outlived its TTL")
	}
}

func mustEncode(t *testing.T, m *message) []byte {
	t.Helper()
	b, err := encodeMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// umdns says at start, in a service enumeration record, which service types
// it has, but announces no service: the node asks out of turn when one that
// is no known peer names qpc's.
func TestAResponderNamingQpcsServiceTypeIsAskedAtOnce(t *testing.T) {
	s := socketless(t, &bytes.Buffer{})
	enum := mustEncode(t, &message{Flags: flagResponse | flagAuth, Answers: []record{
		{Name: enumName, Type: typePTR, Class: classIN, TTL: 4500, Target: serviceName}}})
	s.handle(enum, 7, netip.AddrPortFrom(testAddrs[0], Port), true) // its own answer, looped back
	if s.takeQueryNow() {
		t.Error("the node's own enumeration answer made it query")
	}
	peer := netip.MustParseAddrPort("192.0.2.9:5353")
	s.handle(mustEncode(t, newResponder(testAnn, DefaultTTL).announcement([]netip.Addr{peer.Addr()}, 120)), 7, peer, true)
	if len(s.Peers()) != 1 {
		t.Fatal("the peer was not taken in")
	}
	s.handle(enum, 7, peer, true)
	if s.takeQueryNow() {
		t.Error("a known peer's enumeration answer made it query")
	}
	s.handle(enum, 7, netip.MustParseAddrPort("192.0.2.60:5353"), true)
	if !s.takeQueryNow() {
		t.Error("a new responder with qpc services did not make the node query")
	}
	if s.takeQueryNow() {
		t.Error("one enumeration record asked for two queries")
	}
}
