package discovery

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// probingService is socketless (service_test.go) in its first round of
// probes, as New leaves a Service.
func probingService(t *testing.T, logs *bytes.Buffer) *Service {
	t.Helper()
	s := socketless(t, logs)
	s.claimed = false
	s.startProbing(time.Now(), 0)
	return s
}

// rival is another node that wants the same instance name as s.
func rival(s *Service, id string) *responder {
	ann := testAnn
	ann.ID, ann.Domain = id, s.cfg.Self.Domain
	return newResponder(ann, DefaultTTL)
}

var rivalFrom = netip.MustParseAddrPort("192.0.2.50:5353")

func TestProbingClaimsTheNameAfterThreeQuietProbes(t *testing.T) {
	s := probingService(t, &bytes.Buffer{})
	t0 := time.Now()
	q := mustEncode(t, browseQuery(nil))
	for i := range probeCount {
		s.probeDue(t0.Add(time.Duration(i) * probeGap))
		if s.probesSent != i+1 || !s.probing {
			t.Fatalf("after probe %d: sent %d, probing %v", i+1, s.probesSent, s.probing)
		}
		// While probing the node answers nobody: the name is not its own.
		s.handle(q, 7, from5353, true)
	}
	if st := s.Stats(); st.Answered != 0 {
		t.Errorf("a probing node answered %d queries", st.Answered)
	}
	s.probeDue(t0.Add(probeCount*probeGap - time.Millisecond))
	if !s.probing {
		t.Fatal("the name was claimed before a probe gap passed after the third probe")
	}
	s.probeDue(t0.Add(probeCount * probeGap))
	if s.probing || !s.claimed || s.ifaces[7].announceLeft != announceCount {
		t.Fatalf("probing %v, claimed %v, announcements due %d: the quiet name was not claimed and announced",
			s.probing, s.claimed, s.ifaces[7].announceLeft)
	}
	s.handle(q, 7, from5353, true)
	if s.Stats().Answered != 1 {
		t.Error("the node does not answer once its name is claimed")
	}
}

func TestAProbeCarriesTheProposedRecordsAndAsksForUnicast(t *testing.T) {
	r := newResponder(testAnn, DefaultTTL)
	p := roundTrip(t, r.probe())
	if len(p.Questions) != 1 || !p.Questions[0].Name.equal(r.instance) || p.Questions[0].Type != typeANY || !p.Questions[0].QU {
		t.Errorf("questions = %+v, want one QU question of type ANY for the instance", p.Questions)
	}
	if len(p.Authorities) != 2 || r.tieBreak(p.Authorities) != 0 {
		t.Errorf("authorities = %+v, want the SRV and TXT records the node proposes", p.Authorities)
	}
}

func TestAResponseForTheNameWhileProbingRenamesTheInstance(t *testing.T) {
	var logs bytes.Buffer
	s := probingService(t, &logs)
	other := rival(s, "othrothrothrothrothrothrot")
	s.handle(mustEncode(t, other.announcement([]netip.Addr{rivalFrom.Addr()}, 120)), 7, rivalFrom, true)
	if got, want := s.Instance(), "self.example.mesh (2)"; got != want {
		t.Fatalf("instance = %q, want %q", got, want)
	}
	if st := s.Stats(); st.Conflicts != 1 || st.Renames != 1 || !s.probing || s.probesSent != 0 {
		t.Errorf("stats %+v, probing %v with %d probes sent: want a conflict, a rename and a new round of probes",
			st, s.probing, s.probesSent)
	}
	if !strings.Contains(logs.String(), "renamed") || !strings.Contains(logs.String(), "self.example.mesh (2)") {
		t.Errorf("the rename was not logged:\n%s", logs.String())
	}
	// The rival stays in the table: it is a peer like any other.
	if len(s.Peers()) != 1 {
		t.Errorf("peers = %+v, want the rival", s.Peers())
	}
}

func TestItsOwnRecordsAreNoConflict(t *testing.T) {
	s := probingService(t, &bytes.Buffer{})
	self := netip.AddrPortFrom(testAddrs[0], Port)
	// Its own probe looped back, and its own announcement (one of a
	// previous run, on another port).
	s.handle(mustEncode(t, s.resp.probe()), 7, self, true)
	earlier := *s.resp
	earlier.ann.Port = 7999
	s.handle(mustEncode(t, earlier.announcement(testAddrs, 120)), 7, self, true)
	// A goodbye for the name claims nothing.
	s.handle(mustEncode(t, rival(s, "othrothrothrothrothrothrot").announcement(testAddrs, 0)), 7, rivalFrom, true)
	if st := s.Stats(); st.Conflicts != 0 || s.Instance() != "self.example.mesh" {
		t.Errorf("stats %+v, instance %q: the node took its own records for a rival's", st, s.Instance())
	}
}

func TestSimultaneousProbesAreSettledByTheirRecords(t *testing.T) {
	s := probingService(t, &bytes.Buffer{})
	// The TXT records differ first at id=: "a…" sorts before "self…",
	// "z…" after it.
	lesser, greater := rival(s, "aaaaaaaaaaaaaaaaaaaaaaaaaa"), rival(s, "zzzzzzzzzzzzzzzzzzzzzzzzzz")
	if s.resp.tieBreak([]record{lesser.srv(120), lesser.txt(120)}) <= 0 || s.resp.tieBreak([]record{greater.srv(120), greater.txt(120)}) >= 0 {
		t.Fatal("the test's rivals do not sort around the node")
	}
	now := time.Now()
	s.probeDue(now)
	s.handle(mustEncode(t, lesser.probe()), 7, rivalFrom, true)
	if s.probesSent != 1 || s.Stats().Conflicts != 0 {
		t.Errorf("a probe the node wins against disturbed it: %d probes sent, stats %+v", s.probesSent, s.Stats())
	}
	s.handle(mustEncode(t, greater.probe()), 7, rivalFrom, true)
	if s.probesSent != 0 || s.nextProbe.Sub(now) < lostTieWait-time.Second/10 || s.Instance() != "self.example.mesh" {
		t.Errorf("a probe the node loses: %d probes sent, next in %s, instance %q; want a new round after %s under the same name",
			s.probesSent, s.nextProbe.Sub(now), s.Instance(), lostTieWait)
	}
}

func TestAfterAnnouncingOnlyTheLoserOfAConflictRenames(t *testing.T) {
	var logs bytes.Buffer
	s := socketless(t, &logs)
	lesser, greater := rival(s, "aaaaaaaaaaaaaaaaaaaaaaaaaa"), rival(s, "zzzzzzzzzzzzzzzzzzzzzzzzzz")
	s.handle(mustEncode(t, lesser.announcement(testAddrs[:1], 120)), 7, rivalFrom, true)
	if s.Instance() != "self.example.mesh" || s.ifaces[7].announceLeft == 0 {
		t.Errorf("instance %q, announcements due %d: the winner should keep its name and announce it again",
			s.Instance(), s.ifaces[7].announceLeft)
	}
	// It defends the name at most once a second.
	s.ifaces[7].announceLeft = 0
	s.ifaces[7].lastMulticast = [2]time.Time{time.Now(), time.Now()}
	s.handle(mustEncode(t, lesser.announcement(testAddrs[:1], 120)), 7, rivalFrom, true)
	if s.ifaces[7].announceLeft != 0 {
		t.Error("the node announced again within a second of its last announcement")
	}
	s.handle(mustEncode(t, greater.announcement(testAddrs[:1], 120)), 7, rivalFrom, true)
	if s.Instance() != "self.example.mesh (2)" || !s.probing {
		t.Errorf("instance %q, probing %v: the loser should probe for a new name", s.Instance(), s.probing)
	}
	if st := s.Stats(); st.Conflicts != 3 || st.Renames != 1 {
		t.Errorf("stats = %+v, want 3 conflicts and 1 rename", st)
	}
}

func TestInstanceNamesStayWithinALabel(t *testing.T) {
	long := strings.Repeat("a", 70)
	for _, tt := range []struct {
		domain string
		n      int
		want   string
	}{
		{"node1.mesh", 1, "node1.mesh"},
		{"node1.mesh", 2, "node1.mesh (2)"},
		{"node1.mesh", 12, "node1.mesh (12)"},
		{long, 1, long[:63]},
		{long, 2, long[:59] + " (2)"},
	} {
		if got := instanceLabel(tt.domain, tt.n); got != tt.want || len(got) > maxLabelLen {
			t.Errorf("instanceLabel(%q, %d) = %q, want %q", tt.domain, tt.n, got, tt.want)
		}
	}
}

func TestManyConflictsSlowTheProbesDown(t *testing.T) {
	s := probingService(t, &bytes.Buffer{})
	now := time.Now()
	s.mu.Lock()
	for i := range conflictBurst - 1 {
		s.rename(now.Add(time.Duration(i)*time.Millisecond), rivalFrom)
		if s.nextProbe.After(now.Add(time.Second)) {
			t.Fatalf("conflict %d already delayed the probes", i+1)
		}
	}
	s.rename(now.Add(conflictBurst*time.Millisecond), rivalFrom)
	s.mu.Unlock()
	if wait := s.nextProbe.Sub(now); wait < conflictWait {
		t.Errorf("after %d conflicts in a burst the next probe is %s away, want at least %s", conflictBurst, wait, conflictWait)
	}
}
