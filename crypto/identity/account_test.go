package identity

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
)

func mustAccountKey(t testing.TB) AccountKey {
	t.Helper()
	k, err := GenerateAccountKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestAccountKeyFromItsSeedIsTheSameKey(t *testing.T) {
	k := mustAccountKey(t)
	again, err := AccountKeyFromSeed(k.Seed())
	if err != nil {
		t.Fatal(err)
	}
	if !again.Public().Equal(k.Public()) {
		t.Error("public key changed")
	}
	if len(k.Public()) != IdentityKeySize || len(k.Seed()) != AccountKeySeedSize {
		t.Errorf("sizes %d/%d", len(k.Public()), len(k.Seed()))
	}
	if other := mustAccountKey(t); other.Public().Equal(k.Public()) {
		t.Error("two generated account keys are equal")
	}
}

func TestAccountKeyFromSeedRejectsWrongSizes(t *testing.T) {
	for _, n := range []int{0, 31, 33, 64} {
		if _, err := AccountKeyFromSeed(make([]byte, n)); !errors.Is(err, ErrMalformedKeys) {
			t.Errorf("%d-byte seed: %v, want ErrMalformedKeys", n, err)
		}
	}
}

func TestTheZeroAccountKeyHoldsNothingAndSignsNothing(t *testing.T) {
	var k AccountKey
	if !k.IsZero() || k.Public() != nil || k.Seed() != nil {
		t.Fatal("zero account key reports a key")
	}
	if RecoveryCode(k) != "" {
		t.Error("zero account key has a recovery code")
	}
	l := &DeviceList{Address: "alice@a.example"}
	if _, err := l.Sign(k); !errors.Is(err, ErrMalformedKeys) {
		t.Errorf("Sign with the zero key: %v, want ErrMalformedKeys", err)
	}
	if _, err := l.Add(k, "laptop", mustUserKeys(t), testNow); !errors.Is(err, ErrMalformedKeys) {
		t.Errorf("Add with the zero key: %v, want ErrMalformedKeys", err)
	}
}

func TestDeviceIDIsTheFirst8BytesOfTheContextHashOfTheIdentityKey(t *testing.T) {
	pub := ed25519.PublicKey(bytes.Repeat([]byte{7}, 32))
	sum := sha256.Sum256(append([]byte("qpc/1 device-id\x00"), pub...))
	id := DeviceIDOf(pub)
	if !bytes.Equal(id[:], sum[:8]) {
		t.Errorf("id %x, want %x", id, sum[:8])
	}
	if s := id.String(); len(s) != 16 || strings.ToLower(s) != s {
		t.Errorf("String() = %q, want 16 lowercase hex digits", s)
	}
	if DeviceIDOf(mustUserKeys(t).IdentityPublic()) == id {
		t.Error("two keys share an id")
	}
}

func TestParseDeviceID(t *testing.T) {
	id := DeviceIDOf(mustUserKeys(t).IdentityPublic())
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"its own String parses", id.String(), true},
		{"upper case parses", strings.ToUpper(id.String()), true},
		{"empty is refused", "", false},
		{"15 digits are refused", id.String()[:15], false},
		{"17 digits are refused", id.String() + "0", false},
		{"a non-hex letter is refused", "g" + id.String()[1:], false},
		{"a space is refused", " " + id.String()[1:], false},
		{"an address suffix is refused", id.String()[:10] + "@a.ex", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDeviceID(tt.in)
			if tt.ok {
				if err != nil || got != id {
					t.Fatalf("ParseDeviceID(%q) = %v, %v; want %v", tt.in, got, err, id)
				}
				return
			}
			if !errors.Is(err, ErrBadDeviceID) {
				t.Fatalf("ParseDeviceID(%q) error %v, want ErrBadDeviceID", tt.in, err)
			}
		})
	}
}

func TestCheckDeviceName(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"a plain word is fine", "laptop", true},
		{"inner spaces and accents are fine", "Bürorechner 2", true},
		{"32 bytes are fine", strings.Repeat("x", 32), true},
		{"an emoji is fine", "📱 phone", true},
		{"empty is refused", "", false},
		{"33 bytes are refused", strings.Repeat("x", 33), false},
		{"a leading space is refused", " laptop", false},
		{"a trailing space is refused", "laptop ", false},
		{"a newline is refused", "lap\ntop", false},
		{"a tab is refused", "lap\ttop", false},
		{"DEL is refused", "lap\x7ftop", false},
		{"a C1 control is refused", "lap\u0085top", false},
		{"invalid UTF-8 is refused", "lap\xfftop", false},
		{"a right-to-left override is refused", "pot\u202Epal", false},
		{"a left-to-right isolate is refused", "a\u2066b", false},
		{"a right-to-left mark is refused", "a\u200Fb", false},
		{"a zero-width space is refused", "lap\u200Btop", false},
		{"a byte order mark is refused", "\uFEFFlaptop", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckDeviceName(tt.in)
			if tt.ok && err != nil {
				t.Fatalf("CheckDeviceName(%q) = %v", tt.in, err)
			}
			if !tt.ok && !errors.Is(err, ErrBadDeviceName) {
				t.Fatalf("CheckDeviceName(%q) = %v, want ErrBadDeviceName", tt.in, err)
			}
		})
	}
}
