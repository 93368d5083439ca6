package store

import (
	"errors"
	"fmt"
	"testing"

	"github.com/quicprochat/qpc/node"
)

func TestPublishedKeys(t *testing.T) {
	s := openTest(t, testOptions())
	mustCreate(t, s, "alice")
	if _, err := s.Keys("alice"); !errors.Is(err, node.ErrNoKeys) {
		t.Errorf("Keys before publishing: %v, want ErrNoKeys", err)
	}
	if _, err := s.Keys("nobody"); !errors.Is(err, node.ErrUnknownUser) {
		t.Errorf("Keys of nobody: %v, want ErrUnknownUser", err)
	}
	if err := s.PutKeys("nobody", sampleKeys); !errors.Is(err, node.ErrUnknownUser) {
		t.Errorf("PutKeys for nobody: %v, want ErrUnknownUser", err)
	}
	if err := s.PutKeys("alice", sampleKeys); err != nil {
		t.Fatal(err)
	}
	newer := sampleKeys
	newer.Signature = []byte("another signature")
	if err := s.PutKeys("alice", newer); err != nil {
		t.Fatal(err)
	}
	k, err := s.Keys("alice")
	if err != nil || string(k.Signature) != "another signature" || string(k.IdentityKey) != string(sampleKeys.IdentityKey) ||
		!k.Published.Equal(sampleKeys.Published) {
		t.Errorf("Keys after replacing: %+v, %v", k, err)
	}
}

func TestKeyPackagesAreTakenOldestFirstOnce(t *testing.T) {
	s := openTest(t, testOptions())
	mustCreate(t, s, "alice")
	if err := s.AddKeyPackages("alice", [][]byte{[]byte("a"), []byte("b")}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.AddKeyPackages("alice", [][]byte{[]byte("c")}, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"a", "b", "c"} {
		p, last, err := s.TakeKeyPackage("alice")
		if err != nil || string(p) != want || last {
			t.Errorf("TakeKeyPackage = %q, %v, %v; want %q", p, last, err, want)
		}
	}
	if _, _, err := s.TakeKeyPackage("alice"); !errors.Is(err, node.ErrNoKeyPackage) {
		t.Errorf("TakeKeyPackage when none is left: %v, want ErrNoKeyPackage", err)
	}
	if _, _, err := s.TakeKeyPackage("nobody"); !errors.Is(err, node.ErrUnknownUser) {
		t.Errorf("TakeKeyPackage of nobody: %v, want ErrUnknownUser", err)
	}
}

func TestTheLastResortKeyPackageStays(t *testing.T) {
	s := openTest(t, testOptions())
	mustCreate(t, s, "alice")
	if err := s.AddKeyPackages("alice", [][]byte{[]byte("one")}, []byte("last")); err != nil {
		t.Fatal(err)
	}
	if p, last, err := s.TakeKeyPackage("alice"); string(p) != "one" || last || err != nil {
		t.Errorf("first take: %q, %v, %v", p, last, err)
	}
	for range 3 {
		if p, last, err := s.TakeKeyPackage("alice"); string(p) != "last" || !last || err != nil {
			t.Errorf("take after exhaustion: %q, %v, %v; want the last-resort package", p, last, err)
		}
	}
	// Uploading only a new last-resort package replaces it.
	if err := s.AddKeyPackages("alice", nil, []byte("last2")); err != nil {
		t.Fatal(err)
	}
	if p, last, _ := s.TakeKeyPackage("alice"); string(p) != "last2" || !last {
		t.Errorf("after replacing the last resort: %q, %v", p, last)
	}
	// Uploading without one keeps it.
	if err := s.AddKeyPackages("alice", [][]byte{[]byte("two")}, nil); err != nil {
		t.Fatal(err)
	}
	s.TakeKeyPackage("alice")
	if p, last, _ := s.TakeKeyPackage("alice"); string(p) != "last2" || !last {
		t.Errorf("an upload without a last resort dropped it: %q, %v", p, last)
	}
}

func TestTooManyKeyPackagesAddsNothing(t *testing.T) {
	s := openTest(t, testOptions()) // MaxKeyPackages 5
	mustCreate(t, s, "alice")
	pkgs := func(n int, prefix string) [][]byte {
		var out [][]byte
		for i := range n {
			out = append(out, fmt.Appendf(nil, "%s%d", prefix, i))
		}
		return out
	}
	if err := s.AddKeyPackages("alice", pkgs(6, "x"), []byte("last")); !errors.Is(err, node.ErrTooManyKeyPackages) {
		t.Errorf("6 packages at once: %v, want ErrTooManyKeyPackages", err)
	}
	if _, _, err := s.TakeKeyPackage("alice"); !errors.Is(err, node.ErrNoKeyPackage) {
		t.Errorf("a refused upload stored something (last resort included): %v", err)
	}
	if err := s.AddKeyPackages("alice", pkgs(3, "a"), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.AddKeyPackages("alice", pkgs(3, "b"), nil); !errors.Is(err, node.ErrTooManyKeyPackages) {
		t.Errorf("3 more on 3: %v, want ErrTooManyKeyPackages", err)
	}
	if err := s.AddKeyPackages("alice", pkgs(2, "c"), []byte("last")); err != nil {
		t.Errorf("filling up to the bound, last resort besides: %v", err)
	}
	var got []string
	for {
		p, last, err := s.TakeKeyPackage("alice")
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

func TestEmptyKeyPackagesAreRefused(t *testing.T) {
	s := openTest(t, testOptions())
	mustCreate(t, s, "alice")
	if err := s.AddKeyPackages("alice", [][]byte{[]byte("ok"), {}}, nil); !errors.Is(err, ErrEmptyKeyPackage) {
		t.Errorf("empty package: %v, want ErrEmptyKeyPackage", err)
	}
	if err := s.AddKeyPackages("alice", nil, []byte{}); !errors.Is(err, ErrEmptyKeyPackage) {
		t.Errorf("empty last resort: %v, want ErrEmptyKeyPackage", err)
	}
	if err := s.AddKeyPackages("nobody", [][]byte{[]byte("p")}, nil); !errors.Is(err, node.ErrUnknownUser) {
		t.Errorf("packages for nobody: %v, want ErrUnknownUser", err)
	}
}
