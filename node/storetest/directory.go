package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

func testPublishedKeys(t *testing.T, open Opener) {
	s := open(t, testConfig())
	mustCreate(t, s, "alice")
	if _, err := s.Keys("alice"); !errors.Is(err, protocol.ErrNoKeys) {
		t.Errorf("Keys before publishing: %v, want ErrNoKeys", err)
	}
	if _, err := s.Keys("nobody"); !errors.Is(err, protocol.ErrUnknownUser) {
		t.Errorf("Keys of nobody: %v, want ErrUnknownUser", err)
	}
	if err := s.PutKeys("nobody", sampleKeys, node.Devices{}); !errors.Is(err, protocol.ErrUnknownUser) {
		t.Errorf("PutKeys for nobody: %v, want ErrUnknownUser", err)
	}
	if err := s.PutKeys("alice", sampleKeys, node.Devices{}); err != nil {
		t.Fatal(err)
	}
	newer := sampleKeys
	newer.Signature = []byte("another signature")
	if err := s.PutKeys("alice", newer, node.Devices{}); err != nil {
		t.Fatal(err)
	}
	k, err := s.Keys("alice")
	if err != nil || string(k.Signature) != "another signature" || string(k.IdentityKey) != string(sampleKeys.IdentityKey) ||
		!k.Published.Equal(sampleKeys.Published) {
		t.Errorf("Keys after replacing: %+v, %v", k, err)
	}
}

func testKeyPackagesAreTakenOldestFirstOnce(t *testing.T, open Opener) {
	s := open(t, testConfig())
	mustCreate(t, s, "alice")
	if err := s.AddKeyPackages("alice", 1, [][]byte{[]byte("a"), []byte("b")}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.AddKeyPackages("alice", 1, [][]byte{[]byte("c")}, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"a", "b", "c"} {
		p, last, err := s.TakeKeyPackage("alice", 1)
		if err != nil || string(p) != want || last {
			t.Errorf("TakeKeyPackage = %q, %v, %v; want %q", p, last, err, want)
		}
	}
	if _, _, err := s.TakeKeyPackage("alice", 1); !errors.Is(err, protocol.ErrNoKeyPackage) {
		t.Errorf("TakeKeyPackage when none is left: %v, want ErrNoKeyPackage", err)
	}
	if _, _, err := s.TakeKeyPackage("nobody", 1); !errors.Is(err, protocol.ErrUnknownUser) {
		t.Errorf("TakeKeyPackage of nobody: %v, want ErrUnknownUser", err)
	}
}

func testTheLastResortKeyPackageStays(t *testing.T, open Opener) {
	s := open(t, testConfig())
	mustCreate(t, s, "alice")
	if err := s.AddKeyPackages("alice", 1, [][]byte{[]byte("one")}, []byte("last")); err != nil {
		t.Fatal(err)
	}
	if p, last, err := s.TakeKeyPackage("alice", 1); string(p) != "one" || last || err != nil {
		t.Errorf("first take: %q, %v, %v", p, last, err)
	}
	for range 3 {
		if p, last, err := s.TakeKeyPackage("alice", 1); string(p) != "last" || !last || err != nil {
			t.Errorf("take after exhaustion: %q, %v, %v; want the last-resort package", p, last, err)
		}
	}
	// Uploading only a new last-resort package replaces it.
	if err := s.AddKeyPackages("alice", 1, nil, []byte("last2")); err != nil {
		t.Fatal(err)
	}
	if p, last, _ := s.TakeKeyPackage("alice", 1); string(p) != "last2" || !last {
		t.Errorf("after replacing the last resort: %q, %v", p, last)
	}
	// Uploading without one keeps it.
	if err := s.AddKeyPackages("alice", 1, [][]byte{[]byte("two")}, nil); err != nil {
		t.Fatal(err)
	}
	s.TakeKeyPackage("alice", 1)
	if p, last, _ := s.TakeKeyPackage("alice", 1); string(p) != "last2" || !last {
		t.Errorf("an upload without a last resort dropped it: %q, %v", p, last)
	}
}

func testTooManyKeyPackagesAddsNothing(t *testing.T, open Opener) {
	s := open(t, testConfig()) // MaxKeyPackages 5
	mustCreate(t, s, "alice")
	pkgs := func(n int, prefix string) [][]byte {
		var out [][]byte
		for i := range n {
			out = append(out, fmt.Appendf(nil, "%s%d", prefix, i))
		}
		return out
	}
	if err := s.AddKeyPackages("alice", 1, pkgs(6, "x"), []byte("last")); !errors.Is(err, protocol.ErrTooManyKeyPackages) {
		t.Errorf("6 packages at once: %v, want ErrTooManyKeyPackages", err)
	}
	if _, _, err := s.TakeKeyPackage("alice", 1); !errors.Is(err, protocol.ErrNoKeyPackage) {
		t.Errorf("a refused upload stored something (last resort included): %v", err)
	}
	if err := s.AddKeyPackages("alice", 1, pkgs(3, "a"), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.AddKeyPackages("alice", 1, pkgs(3, "b"), nil); !errors.Is(err, protocol.ErrTooManyKeyPackages) {
		t.Errorf("3 more on 3: %v, want ErrTooManyKeyPackages", err)
	}
	if err := s.AddKeyPackages("alice", 1, pkgs(2, "c"), []byte("last")); err != nil {
		t.Errorf("filling up to the bound, last resort besides: %v", err)
	}
	var got []string
	for {
		p, last, err := s.TakeKeyPackage("alice", 1)
		if err != nil {
			t.Fatal(err)
		}
		if last {
			break
		}
		got = append(got, string(p))
	}
	if fmt.Sprint(got) != "[a0 a1 a2 c0 c1]" {
		t.Errorf("held packages %v, want [a0 a1 a2 c0 c1]", got)
	}
}

func testEmptyKeyPackagesAreRefused(t *testing.T, open Opener) {
	s := open(t, testConfig())
	mustCreate(t, s, "alice")
	if err := s.AddKeyPackages("alice", 1, [][]byte{[]byte("ok"), {}}, nil); !errors.Is(err, sentinel.EmptyKeyPackage) {
		t.Errorf("empty package: %v, want sentinel.EmptyKeyPackage", err)
	}
	if err := s.AddKeyPackages("alice", 1, nil, []byte{}); !errors.Is(err, sentinel.EmptyKeyPackage) {
		t.Errorf("empty last resort: %v, want sentinel.EmptyKeyPackage", err)
	}
	if err := s.AddKeyPackages("nobody", 1, [][]byte{[]byte("p")}, nil); !errors.Is(err, protocol.ErrUnknownUser) {
		t.Errorf("packages for nobody: %v, want ErrUnknownUser", err)
	}
}

// testKeyPackagesOfEachSuiteStandApart checks that key packages of
// different MLS cipher suites are counted, bounded, taken and kept as last
// resort apart, and that suite 0 is refused.
func testKeyPackagesOfEachSuiteStandApart(t *testing.T, open Opener) {
	opts := testConfig()
	opts.MaxKeyPackages = 2
	s := open(t, opts)
	mustCreate(t, s, "alice")
	const pq = 0xF002
	pkgs := func(n int, prefix string) [][]byte {
		var out [][]byte
		for i := range n {
			out = append(out, fmt.Appendf(nil, "%s%d", prefix, i))
		}
		return out
	}
	if err := s.AddKeyPackages("alice", 1, pkgs(2, "c"), []byte("c-last")); err != nil {
		t.Fatal(err)
	}
	// The bound is per suite: suite 1 is full, the PQ suite is not.
	if err := s.AddKeyPackages("alice", pq, pkgs(2, "p"), nil); err != nil {
		t.Fatalf("PQ packages beside a full suite 1: %v", err)
	}
	if err := s.AddKeyPackages("alice", pq, pkgs(1, "q"), nil); !errors.Is(err, protocol.ErrTooManyKeyPackages) {
		t.Errorf("third PQ package at a bound of 2: %v", err)
	}
	if n, last, err := s.KeyPackageCount("alice", pq); n != 2 || last || err != nil {
		t.Errorf("PQ count %d last=%v %v; want 2, no last resort", n, last, err)
	}
	for range 2 {
		if p, last, err := s.TakeKeyPackage("alice", pq); err != nil || last || string(p[:1]) != "p" {
			t.Errorf("PQ take: %q %v %v", p, last, err)
		}
	}
	// No PQ last resort: the suite-1 one is not handed out instead.
	if p, _, err := s.TakeKeyPackage("alice", pq); !errors.Is(err, protocol.ErrNoKeyPackage) {
		t.Errorf("PQ take when none is left: %q %v, want ErrNoKeyPackage", p, err)
	}
	if n, last, _ := s.KeyPackageCount("alice", 1); n != 2 || !last {
		t.Errorf("suite-1 count %d last=%v after PQ takes; want 2, last resort", n, last)
	}
	if err := s.AddKeyPackages("alice", 0, pkgs(1, "z"), nil); !errors.Is(err, sentinel.BadSuite) {
		t.Errorf("suite 0: %v, want sentinel.BadSuite", err)
	}
}
