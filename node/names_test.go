package node_test

import (
	"errors"
	"testing"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/node/memstore"
	"github.com/quicprochat/qpc/protocol"
)

func TestNameAvailableSaysWhatRegistrationWould(t *testing.T) {
	f := newFixture(t, node.Limits{}, memstore.Options{})
	c := f.conn(t, "192.0.2.1:1000")
	must(t, register(c, "carol"))
	for _, tc := range []struct {
		name string
		user string
		want bool
	}{
		{"a free name is available", "dave", true},
		{"a registered name is taken", "carol", false},
		{"a name in another case is the same name", "Carol", false},
		{"a free name in capitals is available", "DAVE", true},
		{"a name that is not valid is not available", "no spaces", false},
		{"the empty name is not available", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.conn(t, "192.0.2.2:1000").NameAvailable(tc.user)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("NameAvailable(%q) = %v, want %v", tc.user, got, tc.want)
			}
		})
	}
}

func TestNameAvailableIsRateLimitedPerSourceAcrossConnections(t *testing.T) {
	f := newFixture(t, node.Limits{ResolveRate: 0.001, ResolveBurst: 3}, memstore.Options{})
	for i := range 3 {
		// A new connection each time: the per-connection budget alone
		// would never run out.
		if _, err := f.conn(t, "192.0.2.9:1000").NameAvailable("dave"); err != nil {
			t.Fatalf("ask %d: %v", i, err)
		}
	}
	_, err := f.conn(t, "192.0.2.9:2000").NameAvailable("dave")
	if !errors.Is(err, protocol.ErrRateLimited) {
		t.Fatalf("fourth ask from one address: %v, want ErrRateLimited", err)
	}
	if _, err := f.conn(t, "198.51.100.1:1000").NameAvailable("dave"); err != nil {
		t.Fatalf("another address: %v", err)
	}
}
