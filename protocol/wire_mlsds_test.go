package protocol

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"capnproto.org/go/capnp/v3"

	"github.com/quicprochat/qpc/schemas"
)

var sampleClaim = HomeClaim{Home: "a.example.mesh", CommitClaim: CommitClaim{
	Group: []byte("group"), Epoch: 7, Commit: []byte("commit"),
	Key: bytes.Repeat([]byte{1}, 32), Proof: bytes.Repeat([]byte{2}, 64), NextKey: bytes.Repeat([]byte{3}, 32),
}}

// claimWith is sampleClaim changed by f.
func claimWith(f func(c *HomeClaim)) HomeClaim {
	c := sampleClaim
	f(&c)
	return c
}

// claimOnTheWire writes c as orderCommit params of NodeService and reads
// it back as a node would.
func claimOnTheWire(t testing.TB, c HomeClaim) schemas.NodeService_orderCommit_Params {
	t.Helper()
	p := newRoot(t, schemas.NewRootNodeService_orderCommit_Params)
	if err := CommitClaimToWire(c, p); err != nil {
		t.Fatal(err)
	}
	return reread(t, p, schemas.ReadRootNodeService_orderCommit_Params)
}

// orderOnTheWire writes o as orderCommit results of FederationService and
// reads it back as the asking node would.
func orderOnTheWire(t testing.TB, o CommitOrder) schemas.FederationService_orderCommit_Results {
	t.Helper()
	res := newRoot(t, schemas.NewRootFederationService_orderCommit_Results)
	alloc := func() (schemas.FederationService_orderCommit_Results, error) { return res, nil }
	if err := SetCommitOrder(alloc, o); err != nil {
		t.Fatal(err)
	}
	return reread(t, res, schemas.ReadRootFederationService_orderCommit_Results)
}

func TestCommitClaimsAndOrdersCrossTheWireUnchanged(t *testing.T) {
	got, err := CommitClaimFromWire(claimOnTheWire(t, sampleClaim))
	if err != nil || !reflect.DeepEqual(got, sampleClaim) {
		t.Errorf("claim read back as %+v, %v; want %+v", got, err, sampleClaim)
	}
	for _, o := range []CommitOrder{
		{Accepted: true, Next: 1},
		{Next: 1 << 40, Missing: [][]byte{[]byte("c1"), bytes.Repeat([]byte{9}, 1000)}},
		{Next: 3, Missing: make([][]byte, MaxMissingCommits)},
	} {
		for i := range o.Missing {
			if len(o.Missing[i]) == 0 {
				o.Missing[i] = []byte{byte(i + 1)}
			}
		}
		got, err := CommitOrderFromWire(orderOnTheWire(t, o))
		if err != nil || !reflect.DeepEqual(got, o) {
			t.Errorf("order read back as %+v, %v; want %+v", got, err, o)
		}
	}
}

func TestCommitClaimsOutsideTheSchemasBoundsAreBadRequests(t *testing.T) {
	for _, tc := range []struct {
		name  string
		claim HomeClaim
	}{
		{"an empty group id", claimWith(func(c *HomeClaim) { c.Group = nil })},
		{"a group id of 256 bytes", claimWith(func(c *HomeClaim) { c.Group = make([]byte, MaxGroupID+1) })},
		{"an empty commit", claimWith(func(c *HomeClaim) { c.Commit = nil })},
		{"no epoch key", claimWith(func(c *HomeClaim) { c.Key = nil })},
		{"an epoch key of 33 bytes", claimWith(func(c *HomeClaim) { c.Key = make([]byte, 33) })},
		{"a proof of 63 bytes", claimWith(func(c *HomeClaim) { c.Proof = make([]byte, 63) })},
		{"no next epoch key", claimWith(func(c *HomeClaim) { c.NextKey = nil })},
	} {
		if _, err := CommitClaimFromWire(claimOnTheWire(t, tc.claim)); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%s: %v, want ErrBadRequest", tc.name, err)
		}
	}
}

func TestMalformedCommitOrdersAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		order CommitOrder
	}{
		{"an accepted claim with missing commits", CommitOrder{Accepted: true, Next: 2, Missing: [][]byte{[]byte("c")}}},
		{"more missing commits than MaxMissingCommits", CommitOrder{Next: 20, Missing: bytes.Fields(bytes.Repeat([]byte("c "), MaxMissingCommits+1))}},
		{"an empty missing commit", CommitOrder{Next: 2, Missing: [][]byte{[]byte("c"), {}}}},
	} {
		if o, err := CommitOrderFromWire(orderOnTheWire(t, tc.order)); !errors.Is(err, ErrMalformedAnswer) {
			t.Errorf("%s: %+v, %v; want ErrMalformedAnswer", tc.name, o, err)
		}
	}
}

// FuzzCommitClaimFromWire decodes arbitrary orderCommit requests, as any
// client or peer could send them to a node.
func FuzzCommitClaimFromWire(f *testing.F) {
	p := newRoot(f, schemas.NewRootFederationService_orderCommit_Params)
	if err := CommitClaimToWire(sampleClaim, p); err != nil {
		f.Fatal(err)
	}
	empty := newRoot(f, schemas.NewRootFederationService_orderCommit_Params)
	fuzzRoot(f, []capnp.Struct{capnp.Struct(p), capnp.Struct(empty)}, func(t *testing.T, root capnp.Struct) {
		c, err := CommitClaimFromWire(schemas.FederationService_orderCommit_Params(root))
		if err != nil {
			if !errors.Is(err, ErrBadRequest) {
				t.Errorf("failed with %v, not a bad request", err)
			}
			return
		}
		if len(c.Group) == 0 || len(c.Group) > MaxGroupID || len(c.Commit) == 0 ||
			len(c.Key) != 32 || len(c.Proof) != 64 || len(c.NextKey) != 32 {
			t.Errorf("a claim of a %d-byte group id, a %d-byte commit, keys of %d and %d bytes and a %d-byte proof passed",
				len(c.Group), len(c.Commit), len(c.Key), len(c.NextKey), len(c.Proof))
		}
	})
}

// FuzzCommitOrderFromWire decodes arbitrary orderCommit answers, as a
// hostile node could send them to a client or a peer.
func FuzzCommitOrderFromWire(f *testing.F) {
	res := newRoot(f, schemas.NewRootNodeService_orderCommit_Results)
	alloc := func() (schemas.NodeService_orderCommit_Results, error) { return res, nil }
	if err := SetCommitOrder(alloc, CommitOrder{Next: 3, Missing: [][]byte{[]byte("c1"), []byte("c2")}}); err != nil {
		f.Fatal(err)
	}
	empty := newRoot(f, schemas.NewRootNodeService_orderCommit_Results)
	fuzzRoot(f, []capnp.Struct{capnp.Struct(res), capnp.Struct(empty)}, func(t *testing.T, root capnp.Struct) {
		o, err := CommitOrderFromWire(schemas.NodeService_orderCommit_Results(root))
		if err != nil {
			return
		}
		if len(o.Missing) > MaxMissingCommits || (o.Accepted && len(o.Missing) > 0) {
			t.Errorf("an answer with %d missing commits, accepted %v, passed", len(o.Missing), o.Accepted)
		}
		for i, c := range o.Missing {
			if len(c) == 0 {
				t.Errorf("missing commit %d is empty", i)
			}
		}
	})
}
