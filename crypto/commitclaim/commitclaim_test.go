package commitclaim

import (
	"bytes"
	"errors"
	"testing"
)

func seed(b byte) []byte { return bytes.Repeat([]byte{b}, SeedSize) }

// TestProofBindsEveryPartOfTheClaim signs a claim and checks that changing
// any part of it (group, epoch, commit, next key, signing key) breaks the
// proof: a node on the path cannot reuse a proof for its own commit.
func TestProofBindsEveryPartOfTheClaim(t *testing.T) {
	k, err := Key(seed(1))
	if err != nil {
		t.Fatal(err)
	}
	next, _ := Key(seed(2))
	key, nextKey := Public(k), Public(next)
	group, commit := []byte("group"), []byte("commit")
	proof := Sign(k, group, 7, commit, nextKey)
	if err := Verify(key, proof, group, 7, commit, nextKey); err != nil {
		t.Fatalf("a good proof: %v", err)
	}
	other, _ := Key(seed(3))
	for _, tc := range []struct {
		name              string
		key, proof, group []byte
		epoch             uint64
		commit, nextKey   []byte
	}{
		{"another group", key, proof, []byte("group2"), 7, commit, nextKey},
		{"another epoch", key, proof, group, 8, commit, nextKey},
		{"another commit", key, proof, group, 7, []byte("junk"), nextKey},
		{"another next key", key, proof, group, 7, commit, Public(other)},
		{"another key", Public(other), proof, group, 7, commit, nextKey},
		{"a short key", key[:31], proof, group, 7, commit, nextKey},
		{"a short next key", key, proof, group, 7, commit, nextKey[:31]},
		{"a short proof", key, proof[:63], group, 7, commit, nextKey},
		{"no proof", key, nil, group, 7, commit, nextKey},
	} {
		if err := Verify(tc.key, tc.proof, tc.group, tc.epoch, tc.commit, tc.nextKey); !errors.Is(err, ErrBadProof) {
			t.Errorf("%s: %v, want ErrBadProof", tc.name, err)
		}
	}
}

// TestKeyNeedsAFullSeed checks the seed length and that one seed gives one
// key.
func TestKeyNeedsAFullSeed(t *testing.T) {
	if _, err := Key(seed(1)[:31]); !errors.Is(err, ErrBadSeed) {
		t.Fatalf("31-byte seed: %v, want ErrBadSeed", err)
	}
	a, _ := Key(seed(1))
	b, _ := Key(seed(1))
	if !bytes.Equal(Public(a), Public(b)) || len(Public(a)) != KeySize {
		t.Fatal("one seed gave two keys")
	}
}

// TestMessageSeparatesItsFields checks that the length prefix keeps group
// and epoch apart: a group one byte longer cannot shift into the epoch.
func TestMessageSeparatesItsFields(t *testing.T) {
	a := Message([]byte("g\x00"), 1, []byte("c"), nil)
	b := Message([]byte("g"), 1<<56, []byte("c"), nil)
	if bytes.Equal(a, b) {
		t.Fatal("two claims share a message")
	}
}

// BenchmarkVerify measures what checking one claim costs a node: the
// home node and every node relaying the claim verify it once.
func BenchmarkVerify(b *testing.B) {
	k, _ := Key(seed(1))
	next, _ := Key(seed(2))
	key, nextKey := Public(k), Public(next)
	group, commit := []byte("0123456789abcdef"), bytes.Repeat([]byte{1}, 1024)
	proof := Sign(k, group, 7, commit, nextKey)
	for b.Loop() {
		if err := Verify(key, proof, group, 7, commit, nextKey); err != nil {
			b.Fatal(err)
		}
	}
}
