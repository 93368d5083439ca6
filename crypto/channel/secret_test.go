package channel

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// hkdfByHand is HKDF-SHA256 for a 32-byte output written out from RFC 5869
// with crypto/hmac, to check Keys against something other than crypto/hkdf:
// PRK = HMAC(salt = 32 zero bytes, IKM), T(1) = HMAC(PRK, info | 0x01).
func hkdfByHand(ikm []byte, info string) []byte {
	ext := hmac.New(sha256.New, make([]byte, sha256.Size))
	ext.Write(ikm)
	exp := hmac.New(sha256.New, ext.Sum(nil))
	exp.Write([]byte(info))
	exp.Write([]byte{1})
	return exp.Sum(nil)
}

func TestKeysAreHKDFOfTheSecretWithTheirOwnInfo(t *testing.T) {
	for _, s := range []Secret{{}, testSecret(0), testSecret(0x40), mustNewSecret(t)} {
		k := s.Keys()
		if got, want := hex.EncodeToString(k.ID[:]), hex.EncodeToString(hkdfByHand(s[:], infoID)); got != want {
			t.Errorf("secret %x: id %s, want %s", s, got, want)
		}
		if got, want := hex.EncodeToString(k.key[:]), hex.EncodeToString(hkdfByHand(s[:], infoKey)); got != want {
			t.Errorf("secret %x: key %s, want %s", s, got, want)
		}
		if k.ID == k.key {
			t.Errorf("secret %x: id and key are equal", s)
		}
	}
}

// The values below were computed once by this package, and agree with
// hkdfByHand and with a separate computation by Python's hmac module. They
// catch any later change to the derivation, which would cut every existing
// channel off from its posts.
func TestAFixedSecretDerivesTheSameIDAndKeyAsBefore(t *testing.T) {
	k := testSecret(0).Keys() // secret 00 01 02 ... 1f
	const (
		wantID  = "ae55758ab1b7567115f58069e419cd44a165dd82e085f2356aaf58d07dd69c91"
		wantKey = "4a604e7c77250d879aadb468a23b5f1dae5c58e0b1ac461d708fb88afbae2b82"
	)
	if got := hex.EncodeToString(k.ID[:]); got != wantID {
		t.Errorf("id %s, want %s", got, wantID)
	}
	if got := hex.EncodeToString(k.key[:]); got != wantKey {
		t.Errorf("key %s, want %s", got, wantKey)
	}
}

func TestDifferentSecretsDeriveDifferentIDs(t *testing.T) {
	if chanX.ID == chanY.ID {
		t.Fatal("two secrets give the same channel id")
	}
}

func TestNewSecretIsRandom(t *testing.T) {
	a, b := mustNewSecret(t), mustNewSecret(t)
	if a == b || a == (Secret{}) {
		t.Fatalf("secrets %x and %x", a, b)
	}
}

func TestPrintingKeysShowsTheIDButNotTheKey(t *testing.T) {
	k := testSecret(0).Keys()
	key, id := hex.EncodeToString(k.key[:]), hex.EncodeToString(k.ID[:])
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, k)
		if strings.Contains(out, key) || !strings.Contains(out, id) {
			t.Errorf("%s prints %q", verb, out)
		}
	}
}

func mustNewSecret(t *testing.T) Secret {
	t.Helper()
	s, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
