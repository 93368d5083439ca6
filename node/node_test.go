package node

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestUserNames(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"alice", true},
		{"a", true},
		{"bob.smith-2_x", true},
		{"7of9", true},
		{strings.Repeat("a", 64), true},
		{"", false},
		{strings.Repeat("a", 65), false},
		{"Alice", false},
		{".alice", false},
		{"-alice", false},
		{"al ice", false},
		{"alice@node", false},
		{"ålice", false},
	}
	for _, tt := range tests {
		err := ValidateUserName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateUserName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrBadRequest) {
			t.Errorf("ValidateUserName(%q) = %v, want ErrBadRequest", tt.name, err)
		}
	}
}

func TestLocalAddressesMustBeOfThisDomain(t *testing.T) {
	s := &Service{id: Identity{Domain: "Node1.Example.Mesh"}}
	for addr, want := range map[string]string{"bob": "bob", "Bob@node1.example.mesh": "bob", "bob@NODE1.EXAMPLE.MESH": "bob"} {
		if got, err := s.localUser(addr); err != nil || got != want {
			t.Errorf("localUser(%q) = %q, %v", addr, got, err)
		}
	}
	if _, err := s.localUser("bob@other.mesh"); !errors.Is(err, ErrUnknownDomain) {
		t.Errorf("foreign domain: %v", err)
	}
}

func TestTokenBucketRefillsAtItsRate(t *testing.T) {
	t0 := time.Unix(0, 0)
	b := newBucket(10, 5, t0)
	if !b.take(5, t0) || b.take(1, t0) {
		t.Fatal("a full bucket of 5 should give 5 and then nothing")
	}
	if !b.take(1, t0.Add(100*time.Millisecond)) || b.take(1, t0.Add(100*time.Millisecond)) {
		t.Error("after 100 ms at 10/s exactly one token should be back")
	}
	if b.take(6, t0.Add(time.Hour)) {
		t.Error("a request larger than the burst was granted")
	}
}

func TestLimitsDefaultsAndValidation(t *testing.T) {
	l := Limits{}.withDefaults()
	if l != DefaultLimits() {
		t.Errorf("zero limits with defaults = %+v", l)
	}
	if err := (Limits{DefaultTTL: 2 * time.Hour, MaxTTL: time.Hour}).withDefaults().validate(); err == nil {
		t.Error("a default TTL above the maximum was accepted")
	}
	if err := (Limits{MaxPayload: -1}).withDefaults().validate(); err == nil {
		t.Error("a negative limit was accepted")
	}
}
