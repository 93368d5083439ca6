package node

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/commitclaim"
	"github.com/quicprochat/qpc/protocol"
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
		err := protocol.ValidateUserName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateUserName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, protocol.ErrBadRequest) {
			t.Errorf("ValidateUserName(%q) = %v, want ErrBadRequest", tt.name, err)
		}
	}
}

func TestAddressesOfThisDomainAreLocal(t *testing.T) {
	s := &Service{id: protocol.Identity{Domain: "Node1.Example.Mesh"}}
	for addr, want := range map[string]string{"bob": "bob", "Bob@node1.example.mesh": "bob@node1.example.mesh", "bob@NODE1.EXAMPLE.MESH": "bob@node1.example.mesh"} {
		if got, err := s.parseAddress(addr); err != nil || !got.local || got.String() != want {
			t.Errorf("parseAddress(%q) = %+v, %v; want local %s", addr, got, err, want)
		}
	}
}

func TestOtherDomainsNeedFederation(t *testing.T) {
	s := &Service{id: protocol.Identity{Domain: "node1.example.mesh"}}
	if _, err := s.parseAddress("bob@other.mesh"); !errors.Is(err, protocol.ErrUnknownDomain) {
		t.Errorf("a foreign domain without federation: %v, want ErrUnknownDomain", err)
	}
	s.fed = nopFederation{}
	a, err := s.parseAddress("Bob@Other.Mesh")
	if err != nil || a.local || a.String() != "bob@other.mesh" {
		t.Errorf("a foreign domain with federation = %+v, %v; want remote bob@other.mesh", a, err)
	}
	for _, bad := range []string{"bob@", "bob@-x.mesh", "bob@a..b", "bob@a_b.mesh", "bob@" + strings.Repeat("a", 64) + ".mesh"} {
		if _, err := s.parseAddress(bad); !errors.Is(err, protocol.ErrBadRequest) {
			t.Errorf("parseAddress(%q) = %v, want ErrBadRequest", bad, err)
		}
	}
}

// nopFederation is a Federation that reaches nobody; the tests here only
// need one to exist.
type nopFederation struct{}

func (nopFederation) Relay(context.Context, string, []protocol.Outgoing) ([]protocol.Receipt, error) {
	return nil, protocol.ErrPeerUnreachable
}
func (nopFederation) ResolveUser(context.Context, string, uint64) (protocol.PublishedKeys, error) {
	return protocol.PublishedKeys{}, protocol.ErrPeerUnreachable
}
func (nopFederation) FetchKeyPackage(context.Context, string, uint16) ([]byte, bool, error) {
	return nil, false, protocol.ErrPeerUnreachable
}
func (nopFederation) OrderCommit(context.Context, string, protocol.CommitClaim) (protocol.CommitOrder, error) {
	return protocol.CommitOrder{}, protocol.ErrPeerUnreachable
}
func (nopFederation) Links() []protocol.Link { return nil }
func (nopFederation) CommunityCA() [][]byte  { return nil }

// signedClaim is a claim of epoch of group for commit proven with the
// sequencer key of seed.
func signedClaim(seed byte, group []byte, epoch uint64, commit []byte) protocol.CommitClaim {
	k, _ := commitclaim.Key(bytes.Repeat([]byte{seed}, commitclaim.SeedSize))
	next, _ := commitclaim.Key(bytes.Repeat([]byte{seed + 1}, commitclaim.SeedSize))
	nextKey := commitclaim.Public(next)
	return protocol.CommitClaim{Group: group, Epoch: epoch, Commit: commit, Key: commitclaim.Public(k),
		Proof: commitclaim.Sign(k, group, epoch, commit, nextKey), NextKey: nextKey}
}

func TestCommitClaimsOutOfBoundsAreBadRequests(t *testing.T) {
	s := &Service{limits: DefaultLimits()}
	group, commit := []byte("group"), []byte("commit")
	if err := s.checkCommit(signedClaim(1, group, 0, commit)); err != nil {
		t.Errorf("a valid claim: %v", err)
	}
	if err := s.checkCommit(signedClaim(1, make([]byte, protocol.MaxGroupID), math.MaxUint64-1, make([]byte, s.limits.MaxPayload))); err != nil {
		t.Errorf("a claim at every bound: %v", err)
	}
	for _, tc := range []struct {
		name          string
		group, commit []byte
		epoch         uint64
	}{
		{"an empty group id", nil, commit, 0},
		{"a group id of 256 bytes", make([]byte, protocol.MaxGroupID+1), commit, 0},
		{"an empty commit", group, nil, 0},
		{"a commit one byte over the payload limit", group, make([]byte, s.limits.MaxPayload+1), 0},
		{"the last epoch, which has no next", group, commit, math.MaxUint64},
	} {
		if err := s.checkCommit(signedClaim(1, tc.group, tc.epoch, tc.commit)); !errors.Is(err, protocol.ErrBadRequest) {
			t.Errorf("%s: %v, want ErrBadRequest", tc.name, err)
		}
	}
}

// TestCommitClaimsWhoseProofFailsAreRefused checks that the node verifies
// a claim's proof before any store sees it: a proof of another claim, of
// another key, or none, fails with ErrBadCommitClaim.
func TestCommitClaimsWhoseProofFailsAreRefused(t *testing.T) {
	s := &Service{limits: DefaultLimits()}
	good := signedClaim(1, []byte("group"), 5, []byte("commit"))
	for _, tc := range []struct {
		name string
		edit func(c *protocol.CommitClaim)
	}{
		{"another commit under the proof", func(c *protocol.CommitClaim) { c.Commit = []byte("junk") }},
		{"another epoch under the proof", func(c *protocol.CommitClaim) { c.Epoch = math.MaxUint64 - 1 }},
		{"another next key under the proof", func(c *protocol.CommitClaim) { c.NextKey = c.Key }},
		{"another key than the one that signed", func(c *protocol.CommitClaim) { c.Key = signedClaim(9, c.Group, c.Epoch, c.Commit).Key }},
		{"no proof", func(c *protocol.CommitClaim) { c.Proof = nil }},
	} {
		c := good
		tc.edit(&c)
		if err := s.checkCommit(c); !errors.Is(err, protocol.ErrBadCommitClaim) {
			t.Errorf("%s: %v, want ErrBadCommitClaim", tc.name, err)
		}
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

// protocol may not import crypto, so it writes the commit claim's sizes
// as constants; they must stay what crypto/commitclaim makes and checks,
// or the wire would refuse good claims or pass on ones that cannot verify.
func TestTheProtocolsCommitClaimSizesAreCommitclaims(t *testing.T) {
	for _, c := range []struct {
		name           string
		protocol, real int
	}{
		{"the longest group id", protocol.MaxGroupID, commitclaim.MaxGroupID},
		{"a sequencer key", protocol.ClaimKeySize, commitclaim.KeySize},
		{"a proof", protocol.ClaimProofSize, commitclaim.ProofSize},
	} {
		if c.protocol != c.real {
			t.Errorf("%s: protocol says %d bytes, crypto/commitclaim %d", c.name, c.protocol, c.real)
		}
	}
}
