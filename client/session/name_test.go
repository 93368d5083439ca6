package session_test

import (
	"testing"
)

// nameAvailable over QUIC against a real node, before any login: a
// registered name is taken in any case, a free one is free, and a name
// registration would refuse is not available.
func TestANodeSaysWhetherANameIsFreeBeforeAnyLogin(t *testing.T) {
	n := startNode(t)
	newPerson(t, n, "carol").register()
	p := newPerson(t, n, "dave")
	c, err := p.config().Dial(ctxT(t), n.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct {
		user string
		want bool
	}{
		{"carol", false},
		{"CAROL", false},
		{"dave", true},
		{"Dave", true},
		{"-dave", false},
	} {
		got, err := c.NameAvailable(ctxT(t), tc.user)
		if err != nil {
			t.Fatalf("NameAvailable(%q): %v", tc.user, err)
		}
		if got != tc.want {
			t.Errorf("NameAvailable(%q) = %v, want %v", tc.user, got, tc.want)
		}
	}
}
