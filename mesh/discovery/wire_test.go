package discovery

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

var testAnn = Announcement{
	ID:          "vmgtk3nfzhuqncwyuyum2clncv",
	Domain:      "node1.example.mesh",
	Port:        7000,
	Fingerprint: "879c6f710dcbd7a1e115dc04474382b5c18afb7209b2e2275e0d3b795a1d3422",
}

var testAddrs = []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("fe80::1")}

func testAnnouncement(t testing.TB) []byte {
	t.Helper()
	b, err := encodeMessage(newResponder(testAnn, DefaultTTL).announcement(testAddrs, 120))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAnAnnouncementSurvivesEncodingAndDecoding(t *testing.T) {
	b := testAnnouncement(t)
	m, err := decodeMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	if !m.isResponse() || len(m.Answers) != 5 {
		t.Fatalf("decoded %d answers, response=%v", len(m.Answers), m.isResponse())
	}
	ptr := m.Answers[0]
	if ptr.Type != typePTR || !ptr.Name.equal(serviceName) || len(ptr.Target) != 4 || ptr.Target[0] != "node1.example.mesh" {
		t.Errorf("PTR = %+v; the instance label must keep its dots", ptr)
	}
	srv := m.Answers[1]
	if srv.Type != typeSRV || srv.Port != 7000 || !srv.Flush || srv.Target.String() != "qpc-vmgtk3nfzhuq.local." {
		t.Errorf("SRV = %+v", srv)
	}
	if a := m.Answers[3]; a.Type != typeA || a.Addr != testAddrs[0] {
		t.Errorf("A = %+v", a)
	}
	h := ingest(m, netip.MustParseAddr("192.0.2.1"), "eth0", time.Now())
	if len(h.sightings) != 1 || len(h.problems) != 0 {
		t.Fatalf("ingest = %+v", h)
	}
	s := h.sightings[0]
	if s.ann != testAnn || s.ttl != 120*time.Second {
		t.Errorf("sighting = %+v", s)
	}
	if len(s.addrs) != 2 || s.addrs[1].Zone() != "eth0" {
		t.Errorf("addrs = %v, want the link-local one zoned with eth0", s.addrs)
	}
	// Compression must have shrunk the repeated names.
	if len(b) > 400 {
		t.Errorf("announcement is %d bytes; names are not compressed", len(b))
	}
}

func TestEveryTruncationOfAPacketIsRejectedNotPanicked(t *testing.T) {
	b := testAnnouncement(t)
	for n := 0; n < len(b); n++ {
		if _, err := decodeMessage(b[:n]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("a packet cut to %d of %d bytes: err = %v, want ErrMalformed", n, len(b), err)
		}
	}
}

func TestHostilePacketsAreMalformed(t *testing.T) {
	header := func(qd, an uint16) []byte {
		return []byte{0, 0, 0x84, 0, byte(qd >> 8), byte(qd), byte(an >> 8), byte(an), 0, 0, 0, 0}
	}
	tests := []struct {
		name string
		b    []byte
	}{
		{"a compression pointer to itself", append(header(1, 0), 0xc0, 12, 0, 12, 0, 1)},
		{"a compression pointer forwards", append(header(1, 0), 0xc0, 20, 0, 12, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0)},
		{"a reserved label type", append(header(1, 0), 0x80, 0, 12, 0, 1)},
		{"more records claimed than bytes", header(0, 60000)},
		{"an A record of 5 bytes", append(header(0, 1), 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 5, 1, 2, 3, 4, 5)},
		{"a TXT string running past its record", append(header(0, 1), 0, 0, 16, 0, 1, 0, 0, 0, 1, 0, 2, 9, 'a')},
		{"a name longer than 255 bytes", func() []byte {
			b := header(1, 0)
			for range 5 {
				b = append(b, 63)
				b = append(b, make([]byte, 63)...)
			}
			return append(b, 0, 0, 12, 0, 1)
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodeMessage(tt.b); !errors.Is(err, ErrMalformed) {
				t.Errorf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestNamesCompareCaseInsensitively(t *testing.T) {
	if !parseName("_QuicProChat._UDP.local.").equal(serviceName) {
		t.Error("service name compared case-sensitively")
	}
	if parseName("_quicprochat._tcp.local").equal(serviceName) {
		t.Error("different names compared equal")
	}
}
