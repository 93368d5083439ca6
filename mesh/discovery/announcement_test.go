package discovery

import (
	"errors"
	"strings"
	"testing"
)

func TestAnnouncementTXTRoundTrips(t *testing.T) {
	got, err := parseTXT(testAnn.txt())
	if err != nil || got != testAnn {
		t.Fatalf("parseTXT(txt()) = %+v, %v", got, err)
	}
}

func TestBrokenAnnouncementsAreRejected(t *testing.T) {
	good := testAnn.txt()
	without := func(key string) []string {
		var out []string
		for _, s := range good {
			if !strings.HasPrefix(s, key+"=") {
				out = append(out, s)
			}
		}
		return out
	}
	with := func(kv ...string) []string { return append(kv, good...) }
	tests := []struct {
		name string
		txt  []string
		want error
	}{
		{"no version", without("ver"), ErrBadAnnouncement},
		{"a newer version", append([]string{"ver=2"}, without("ver")...), ErrUnknownVersion},
		{"no id", without("id"), ErrBadAnnouncement},
		{"no domain", without("domain"), ErrBadAnnouncement},
		{"no port", without("port"), ErrBadAnnouncement},
		{"no fingerprint", without("fp"), ErrBadAnnouncement},
		{"port zero", with("port=0"), ErrBadAnnouncement},
		{"port out of range", with("port=70000"), ErrBadAnnouncement},
		{"a short fingerprint", with("fp=abcd"), ErrBadAnnouncement},
		{"an id that is not base32", with("id=VMGTK3NFZHUQNCWYUYUM2CLNC!"), ErrBadAnnouncement},
		{"a domain with a space", with("domain=my node"), ErrBadAnnouncement},
		{"a domain no node can have, an IP address", with("domain=10.0.0.1"), ErrBadAnnouncement},
		{"a boolean port", with("port"), ErrBadAnnouncement},
		{"an oversized record", append(good, strings.Repeat("x", 255), strings.Repeat("y", 255), strings.Repeat("z", 255),
			strings.Repeat("w", 255), strings.Repeat("v", 255)), ErrBadAnnouncement},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseTXT(tt.txt); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestAnnouncementKeysFollowDNSSDRules(t *testing.T) {
	// Keys are case-insensitive, the first occurrence wins, unknown keys
	// and empty keys are ignored (RFC 6763 §6.4-6.5).
	txt := append([]string{"ID=" + testAnn.ID, "=junk", "future=yes"}, testAnn.txt()...)
	txt = append(txt, "port=1")
	got, err := parseTXT(txt)
	if err != nil || got != testAnn {
		t.Fatalf("parseTXT = %+v, %v", got, err)
	}
}
