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
