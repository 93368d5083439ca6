package app

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/quicprochat/qpc/crypto/ca"
	"github.com/quicprochat/qpc/protocol"
)

// pqSuite is the wire value of the post-quantum MLS suite (crypto/mls).
const pqSuite = 0xF002

// kp returns bytes that the node files as a KeyPackage of suite: the
// header of an MLSMessage holding a KeyPackage (RFC 9420 §6, §10), then tag.
// The node reads only the header, so the rest needs no real key material.
func kp(suite uint16, tag string) []byte {
	b := []byte{0, 1, 0, 5, 0, 1}
	b = binary.BigEndian.AppendUint16(b, suite)
	return append(b, tag...)
}

// TestKeyPackagesAreKeptAndHandedOutBySuite checks that the node files
// uploaded KeyPackages by the suite their header names, hands out only
// packages of the suite asked for (suite 0, what older clients send, being
// suite 1), keeps a last-resort package and a count per suite, refuses
// uploads that mix suites or have no KeyPackage header, and passes the
// suite on across federation.
func TestKeyPackagesAreKeptAndHandedOutBySuite(t *testing.T) {
	c := newCommunity(t)
	a := start(t, c.federated("a.example.mesh", ca.IssueOptions{}))
	b := start(t, c.federated("b.example.mesh", ca.IssueOptions{}, a.Addr().String()))
	waitLinks(t, a, "b.example.mesh")
	waitLinks(t, b, "a.example.mesh")
	alice, bob := newAccount(t, a, "alice"), newAccount(t, b, "bob")
	ctx := ctxT(t)

	if err := bob.Client.UploadKeyPackages(ctx, [][]byte{kp(1, "c1"), kp(1, "c2")}, kp(1, "c-last")); err != nil {
		t.Fatal(err)
	}
	if err := bob.Client.UploadKeyPackages(ctx, [][]byte{kp(pqSuite, "p1")}, kp(pqSuite, "p-last")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		suite     uint16
		wantCount int
	}{{1, 2}, {0, 2}, {pqSuite, 1}} {
		n, last, err := bob.Client.KeyPackageCount(ctx, tc.suite)
		if err != nil || n != tc.wantCount || last != (tc.wantCount > 0) {
			t.Errorf("count of suite 0x%04x: %d, last resort %v, %v; want %d", tc.suite, n, last, err, tc.wantCount)
		}
	}
	for _, step := range []struct {
		suite uint16
		want  []byte
		last  bool
	}{
		{pqSuite, kp(pqSuite, "p1"), false},
		{pqSuite, kp(pqSuite, "p-last"), true},
		{1, kp(1, "c1"), false},
		{0, kp(1, "c2"), false}, // an older client's fetch means suite 1
		{1, kp(1, "c-last"), true},
		{pqSuite, kp(pqSuite, "p-last"), true},
	} {
		// alice is on a: every fetch crosses federation to b.
		pkg, last, err := alice.Client.FetchKeyPackage(ctx, "bob@b.example.mesh", step.suite)
		if err != nil || !bytes.Equal(pkg, step.want) || last != step.last {
			t.Errorf("fetch of suite 0x%04x: %q last=%v %v; want %q last=%v", step.suite, pkg, last, err, step.want, step.last)
		}
	}
	if _, _, err := alice.Client.FetchKeyPackage(ctx, "bob@b.example.mesh", 0x0003); !errors.Is(err, protocol.ErrNoKeyPackage) {
		t.Errorf("fetch of a suite bob never uploaded: %v, want ErrNoKeyPackage", err)
	}
	big := kp(pqSuite, string(make([]byte, 8<<10)))
	for name, up := range map[string]struct {
		pkgs [][]byte
		last []byte
	}{
		"mixed suites":                     {[][]byte{kp(1, "x"), kp(pqSuite, "y")}, nil},
		"a last resort of another suite":   {[][]byte{kp(1, "x")}, kp(pqSuite, "y")},
		"no KeyPackage header":             {[][]byte{[]byte("kp1")}, nil},
		"a Welcome, not a KeyPackage":      {[][]byte{{0, 1, 0, 3, 0, 1, 0, 1, 9}}, nil},
		"suite 0":                          {[][]byte{kp(0, "x")}, nil},
		"suite 3, which nodes do not keep": {[][]byte{kp(3, "x")}, nil},
		"a package over 8 KiB":             {[][]byte{big}, nil},
	} {
		if err := bob.Client.UploadKeyPackages(ctx, up.pkgs, up.last); !errors.Is(err, protocol.ErrBadRequest) {
			t.Errorf("upload of %s: %v, want ErrBadRequest", name, err)
		}
	}
	// Nothing of the refused uploads was kept.
	if n, _, err := bob.Client.KeyPackageCount(ctx, 1); err != nil || n != 0 {
		t.Errorf("suite-1 count after refused uploads: %d, %v; want 0", n, err)
	}
}
