package node

import (
	"fmt"
	"testing"
	"time"
)

func TestSourceKeysAreTheIPv4AddressOrTheIPv6Slash64(t *testing.T) {
	for remote, want := range map[string]string{
		"192.0.2.1:7000":              "192.0.2.1",
		"192.0.2.1:7001":              "192.0.2.1",
		"[::ffff:192.0.2.1]:7000":     "192.0.2.1",
		"[2001:db8:1:2:3:4:5:6]:7000": "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:1":    "2001:db8:1:2::/64",
		"[fe80::1%br-lan]:7000":       "fe80::/64",
		"192.0.2.1":                   "192.0.2.1",
		"not an address":              "not an address",
		"":                            "",
	} {
		if got := sourceKey(remote); got != want {
			t.Errorf("sourceKey(%q) = %q, want %q", remote, got, want)
		}
	}
}

func FuzzSourceKey(f *testing.F) {
	for _, s := range []string{"192.0.2.1:7000", "[2001:db8::1]:7000", "[fe80::1%eth0]:1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, remote string) {
		k := sourceKey(remote)
		if sourceKey(remote) != k {
			t.Fatalf("sourceKey(%q) is not stable", remote)
		}
	})
}

func TestKeyedBucketsForgetTheFullestKeyFirst(t *testing.T) {
	t0 := time.Unix(0, 0)
	k := newKeyedBuckets(1e-9, 3, 3)
	for i := range 3 {
		if !k.take("drained", 1, t0) {
			t.Fatalf("take %d of a fresh key's burst of 3", i+1)
		}
	}
	if k.take("drained", 1, t0) {
		t.Fatal("a drained key gave a token")
	}
	// Fill the table with keys that still hold tokens; then new keys
	// push them out, never the drained one.
	for i := range 10 {
		k.take(fmt.Sprintf("k%d", i), 1, t0)
		if len(k.m) > 3 {
			t.Fatalf("%d keys tracked, bound 3", len(k.m))
		}
	}
	if k.take("drained", 1, t0) {
		t.Error("churning through other keys reset the drained key's budget")
	}
	k.give("drained", 1, t0)
	if !k.take("drained", 1, t0) {
		t.Error("a token given back was not there")
	}
}
