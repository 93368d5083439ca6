package discovery

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Browse on loopback, which has no address mDNS would use, so nothing is
// sent anywhere: it must give up at its timeout and leave nothing behind.
func TestBrowseEndsAtItsTimeoutAndLeavesNoGoroutines(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	peers, _, err := Browse(context.Background(), BrowseConfig{Interfaces: []string{"lo"}, Timeout: 100 * time.Millisecond})
	if err != nil || len(peers) != 0 {
		t.Fatalf("Browse = %v, %v", peers, err)
	}
	goleak.VerifyNone(t, ignore)
}

func TestBrowseRefusesAnInterfaceThatDoesNotExist(t *testing.T) {
	_, _, err := Browse(context.Background(), BrowseConfig{Interfaces: []string{"nope0"}})
	if !errors.Is(err, ErrNoInterface) {
		t.Errorf("err = %v, want ErrNoInterface", err)
	}
}

func TestServiceRefusesABadAnnouncementBeforeOpeningSockets(t *testing.T) {
	bad := testAnn
	bad.Fingerprint = "nope"
	if _, err := New(Config{Self: bad}, nil); !errors.Is(err, ErrBadAnnouncement) {
		t.Errorf("err = %v, want ErrBadAnnouncement", err)
	}
	if _, err := New(Config{Self: testAnn, Interfaces: []string{"nope0"}}, nil); !errors.Is(err, ErrNoInterface) {
		t.Errorf("err = %v, want ErrNoInterface", err)
	}
}

func TestBrowseTakesUnicastAnswersWithItsIDOrZeroAndMulticastOnesFrom5353(t *testing.T) {
	resp := func(id uint16) *message { return &message{ID: id, Flags: flagResponse | flagAuth} }
	for _, tt := range []struct {
		name   string
		m      *message
		shared bool
		port   uint16
		want   bool
	}{
		{"a legacy answer that echoes the query's id", resp(0x1234), false, Port, true},
		{"a umdns answer to the QU question, id 0", resp(0), false, Port, true},
		{"an answer to another query", resp(0x4321), false, Port, false},
		{"a multicast answer from port 5353", resp(0), true, Port, true},
		{"a response to 5353 from another port", resp(0), true, 40000, false},
		{"a query heard on 5353", &message{}, true, Port, false},
		{"a query sent to our port", &message{ID: 0x1234}, false, Port, false},
	} {
		if got := browseTakes(tt.m, tt.shared, tt.port, 0x1234); got != tt.want {
			t.Errorf("%s: taken %v, want %v", tt.name, got, tt.want)
		}
	}
}
