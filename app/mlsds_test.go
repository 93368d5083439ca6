package app

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/crypto/ca"
	"github.com/quicprochat/qpc/crypto/commitclaim"
	"github.com/quicprochat/qpc/protocol"
)

// testKey is a made-up sequencer key of epoch of group, the same for
// every caller, as the MLS exporter's is for the members of an epoch.
func testKey(group []byte, epoch uint64) ed25519.PrivateKey {
	seed := sha256.Sum256(binary.BigEndian.AppendUint64(append([]byte("test key of "), group...), epoch))
	k, _ := commitclaim.Key(seed[:])
	return k
}

// testClaim is a claim of epoch of group for commit proven with testKey.
func testClaim(group []byte, epoch uint64, commit []byte) client.CommitClaim {
	k, nextKey := testKey(group, epoch), commitclaim.Public(testKey(group, epoch+1))
	return client.CommitClaim{Group: group, Epoch: epoch, Commit: commit,
		Key: commitclaim.Public(k), Proof: commitclaim.Sign(k, group, epoch, commit, nextKey), NextKey: nextKey}
}

func TestTheHomeNodeAcceptsOneCommitPerEpochAndTheLoserCatchesUp(t *testing.T) {
	checkLeaks(t)
	n := start(t, testConfig(t))
	alice, bob := newAccount(t, n, "alice"), newAccount(t, n, "bob")
	ctx := ctxT(t)
	group := []byte("group of alice and bob")
	fromAlice, fromBob := []byte("alice's commit for epoch 0"), []byte("bob's commit for epoch 0")

	o, err := alice.Client.OrderCommit(ctx, "", testClaim(group, 0, fromAlice))
	if err != nil || !reflect.DeepEqual(o, protocol.CommitOrder{Accepted: true, Next: 1}) {
		t.Fatalf("alice claims epoch 0: %+v, %v; want accepted, next 1", o, err)
	}
	// bob names the home explicitly, in another case: the same node.
	o, err = bob.Client.OrderCommit(ctx, strings.ToUpper(n.cfg.Domain), testClaim(group, 0, fromBob))
	if err != nil || o.Accepted || o.Next != 1 || len(o.Missing) != 1 || !bytes.Equal(o.Missing[0], fromAlice) {
		t.Fatalf("bob claims epoch 0 too: %+v, %v; want refused with alice's commit", o, err)
	}
	if o, err := bob.Client.OrderCommit(ctx, "", testClaim(group, 1, []byte("bob's commit for epoch 1"))); err != nil || !o.Accepted || o.Next != 2 {
		t.Errorf("bob, caught up, claims epoch 1: %+v, %v; want accepted, next 2", o, err)
	}
	if o, err := alice.Client.OrderCommit(ctx, "", testClaim(group, 0, fromAlice)); err != nil || !o.Accepted || o.Next != 2 {
		t.Errorf("alice retries her accepted claim: %+v, %v; want accepted again, next 2", o, err)
	}

	if _, err := alice.Client.OrderCommit(ctx, "", testClaim(nil, 0, fromAlice)); !errors.Is(err, protocol.ErrBadRequest) {
		t.Errorf("an empty group id: %v, want ErrBadRequest", err)
	}
	if _, err := alice.Client.OrderCommit(ctx, "", testClaim(group, 2, make([]byte, n.cfg.MaxPayload+1))); !errors.Is(err, protocol.ErrBadRequest) {
		t.Errorf("a commit over the payload limit: %v, want ErrBadRequest", err)
	}
	if _, err := alice.Client.OrderCommit(ctx, "n9.example.mesh", testClaim(group, 0, fromAlice)); !errors.Is(err, protocol.ErrUnknownDomain) {
		t.Errorf("a home elsewhere without federation: %v, want ErrUnknownDomain", err)
	}

	anon, err := dial(t, n.Addr().String(), transportTrust(n))
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	if _, err := anon.OrderCommit(ctx, "", testClaim(group, 2, []byte("anonymous"))); !errors.Is(err, protocol.ErrUnauthenticated) {
		t.Errorf("a claim without a session: %v, want ErrUnauthenticated", err)
	}
	if _, _, err := anon.KeyPackageCount(ctx, 1); !errors.Is(err, protocol.ErrUnauthenticated) {
		t.Errorf("a key package count without a session: %v, want ErrUnauthenticated", err)
	}
}

func TestKeyPackageCountFollowsUploadsAndTakes(t *testing.T) {
	n := start(t, testConfig(t))
	alice, bob := newAccount(t, n, "alice"), newAccount(t, n, "bob")
	ctx := ctxT(t)
	check := func(when string, wantCount int, wantLast bool) {
		t.Helper()
		count, last, err := bob.Client.KeyPackageCount(ctx, 1)
		if err != nil || count != wantCount || last != wantLast {
			t.Errorf("%s: %d, last resort %v, %v; want %d, %v", when, count, last, err, wantCount, wantLast)
		}
	}
	check("before any upload", 0, false)
	if err := bob.Client.UploadKeyPackages(ctx, [][]byte{kp(1, "kp1"), kp(1, "kp2"), kp(1, "kp3")}, nil); err != nil {
		t.Fatal(err)
	}
	check("after three uploads", 3, false)
	if _, _, err := alice.Client.FetchKeyPackage(ctx, "bob", 1); err != nil {
		t.Fatal(err)
	}
	check("after alice took one", 2, false)
	if err := bob.Client.UploadKeyPackages(ctx, nil, kp(1, "last")); err != nil {
		t.Fatal(err)
	}
	check("after a last-resort upload", 2, true)
	for range 3 {
		if _, _, err := alice.Client.FetchKeyPackage(ctx, "bob", 1); err != nil {
			t.Fatal(err)
		}
	}
	check("after alice took both and the last resort", 0, true)
}

func TestACommitClaimCrossesFederationToTheGroupsHome(t *testing.T) {
	checkLeaks(t)
	c := newCommunity(t)
	cfgA := c.federated("a.example.mesh", ca.IssueOptions{})
	cfgA.MetricsListen = "127.0.0.1:0"
	a := start(t, cfgA)
	b := start(t, c.federated("b.example.mesh", ca.IssueOptions{}, a.Addr().String()))
	waitLinks(t, a, "b.example.mesh")
	waitLinks(t, b, "a.example.mesh")
	alice, bob := newAccount(t, a, "alice"), newAccount(t, b, "bob")
	ctx := ctxT(t)
	group := []byte("a group whose home is a")
	fromBob := []byte("bob's commit, claimed through b")

	o, err := bob.Client.OrderCommit(ctx, "a.example.mesh", testClaim(group, 0, fromBob))
	if err != nil || !reflect.DeepEqual(o, protocol.CommitOrder{Accepted: true, Next: 1}) {
		t.Fatalf("bob on b claims epoch 0 at a: %+v, %v; want accepted, next 1", o, err)
	}
	o, err = alice.Client.OrderCommit(ctx, "", testClaim(group, 0, []byte("alice's commit")))
	want := protocol.CommitOrder{Next: 1, Missing: [][]byte{fromBob}}
	if err != nil || !reflect.DeepEqual(o, want) {
		t.Fatalf("alice on a claims epoch 0: %+v, %v; want refused with bob's commit", o, err)
	}
	if o, err := bob.Client.OrderCommit(ctx, "a.example.mesh", testClaim(group, 0, fromBob)); err != nil || !o.Accepted {
		t.Errorf("bob's retry through b: %+v, %v; want accepted again", o, err)
	}
	// b orders nothing itself: the same group id at home b is another
	// group, new there.
	if o, err := alice.Client.OrderCommit(ctx, "b.example.mesh", testClaim(group, 0, []byte("alice's commit"))); err != nil || !o.Accepted {
		t.Errorf("alice claims the id at home b: %+v, %v; want accepted", o, err)
	}
	// A refusal at the home comes back through b as itself: a claim of
	// epoch 1 under another key, and one far ahead.
	forged, old := testClaim(group, 1, []byte("junk")), testKey(group, 0)
	forged.Key, forged.Proof = commitclaim.Public(old), commitclaim.Sign(old, group, 1, forged.Commit, forged.NextKey)
	for _, c := range []client.CommitClaim{forged, testClaim(group, 1<<64-2, []byte("junk"))} {
		if o, err := bob.Client.OrderCommit(ctx, "a.example.mesh", c); !errors.Is(err, protocol.ErrBadCommitClaim) {
			t.Errorf("a junk claim of epoch %d through b: %+v, %v; want ErrBadCommitClaim", c.Epoch, o, err)
		}
	}
	if _, err := bob.Client.OrderCommit(ctx, "n9.example.mesh", testClaim(group, 0, fromBob)); !errors.Is(err, protocol.ErrUnknownDomain) {
		t.Errorf("a home no peer serves: %v, want ErrUnknownDomain", err)
	}
	if _, err := bob.Client.OrderCommit(ctx, "not a domain", testClaim(group, 0, fromBob)); !errors.Is(err, protocol.ErrBadRequest) {
		t.Errorf("a home that is no domain: %v, want ErrBadRequest", err)
	}
	text := scrapeMetrics(t, a)
	for _, line := range []string{`qpc_mls_commits_total{outcome="accepted"} 2`, `qpc_mls_commits_total{outcome="refused"} 1`} {
		if !strings.Contains(text, line) {
			t.Errorf("a's metrics lack %s:\n%s", line, grep(text, "qpc_mls"))
		}
	}
}
