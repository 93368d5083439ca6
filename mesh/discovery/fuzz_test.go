package discovery

import (
	"bytes"
	"net/netip"
	"testing"
	"time"
)

// FuzzPacket feeds arbitrary packets to the decoder, the announcement
// parser and the responder: they may reject, never panic, and what decodes
// must encode again.
func FuzzPacket(f *testing.F) {
	r := newResponder(testAnn, DefaultTTL)
	for _, m := range []*message{
		r.announcement(testAddrs, 120),
		r.announcement(testAddrs, 0),
		r.addressGoodbye(testAddrs[:1]),
		browseQuery(nil),
		browseQuery([]record{r.ptr(100)}),
		{Questions: []question{{Name: r.instance, Type: typeANY, Class: classIN, QU: true}}},
		{Questions: []question{{Name: r.host, Type: typeA, Class: classIN}}},
		r.probe(),
		umdnsStyle("node-u.mesh", testAnn, 120),
	} {
		b, err := encodeMessage(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	src := netip.MustParseAddr("fe80::1")
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessage(b)
		if err != nil {
			return
		}
		h := ingest(m, src, "eth0", time.Now())
		for _, s := range h.sightings {
			if err := s.ann.Validate(); err != nil {
				t.Fatalf("ingest accepted an invalid announcement %+v: %v", s.ann, err)
			}
		}
		// The conflict checks read any response or probe.
		if theirs := r.conflicting(m.records()); len(theirs) > 0 {
			r.tieBreak(theirs)
		}
		if resp := r.answer(m, testAddrs, true); resp != nil {
			if _, err := encodeMessage(resp); err != nil {
				t.Fatalf("answer does not encode: %v", err)
			}
		}
		if _, err := encodeMessage(m); err != nil {
			t.Fatalf("a decoded message does not encode again: %v", err)
		}
	})
}

// FuzzTXT feeds arbitrary TXT strings to the announcement parser.
func FuzzTXT(f *testing.F) {
	good := testAnn.txt()
	f.Add(good[0], good[1], good[2], good[3], good[4])
	f.Add("ver=2", good[1], good[2], good[3], good[4])
	f.Add("ver=1", "id=", "domain=a", "port=65536", "fp=")
	f.Fuzz(func(t *testing.T, a, b, c, d, e string) {
		ann, err := parseTXT([]string{a, b, c, d, e})
		if err != nil {
			return
		}
		if err := ann.Validate(); err != nil {
			t.Fatalf("parseTXT accepted %+v: %v", ann, err)
		}
		again, err := parseTXT(ann.txt())
		if err != nil || again != ann {
			t.Fatalf("round trip of %+v: %+v, %v", ann, again, err)
		}
	})
}

// FuzzHandle feeds arbitrary packets to a service while it probes and
// after it claimed its name, as if from a host on the link over IPv4 and
// IPv6: whatever conflicts, tie breaks and renames they cause, the service
// never panics and its instance name stays a valid label.
func FuzzHandle(f *testing.F) {
	r := newResponder(testAnn, DefaultTTL)
	rival := r.named("self.example.mesh")
	rival.ann.ID = "zzzzzzzzzzzzzzzzzzzzzzzzzz"
	for _, m := range []*message{
		rival.probe(),
		rival.announcement(testAddrs, 120),
		umdnsStyle("self.example.mesh", rival.ann, 120),
		browseQuery(nil),
	} {
		b, err := encodeMessage(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
		f.Add(b, true)
	}
	f.Fuzz(func(t *testing.T, b []byte, probing bool) {
		s := socketless(t, &bytes.Buffer{})
		if probing {
			s.startProbing(time.Now(), 0)
		}
		s.handle(b, 7, from5353, true)
		s.handle(b, 7, netip.MustParseAddrPort("[fe80::2%eth0]:5353"), true)
		if l := s.Instance(); l == "" || len(l) > maxLabelLen {
			t.Fatalf("instance %q", l)
		}
	})
}
