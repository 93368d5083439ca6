package identity

import (
	"crypto/ed25519"
	"regexp"
	"testing"
)

// safetyKey returns a fixed public key filled with b.
func safetyKey(b byte) ed25519.PublicKey {
	k := make(ed25519.PublicKey, ed25519.PublicKeySize)
	for i := range k {
		k[i] = b
	}
	return k
}

var safetyNumberFormat = regexp.MustCompile(`^[0-9]{5}( [0-9]{5}){11}$`)

func TestSafetyNumberIsTheSameWhicheverPartyComputesIt(t *testing.T) {
	ab := SafetyNumber("alice@a.example", safetyKey(1), "bob@b.example", safetyKey(2))
	ba := SafetyNumber("bob@b.example", safetyKey(2), "alice@a.example", safetyKey(1))
	if ab != ba {
		t.Errorf("alice computes %q, bob %q", ab, ba)
	}
}

func TestSafetyNumberIsSixtyDigitsInTwelveGroupsOfFive(t *testing.T) {
	for _, sn := range []string{
		SafetyNumber("alice@a.example", safetyKey(1), "bob@b.example", safetyKey(2)),
		SafetyNumber("", nil, "", nil),
		SafetyNumber("alice@a.example", safetyKey(1), "alice@a.example", safetyKey(1)),
	} {
		if !safetyNumberFormat.MatchString(sn) {
			t.Errorf("%q is not twelve groups of five digits", sn)
		}
	}
}

func TestSafetyNumberChanges(t *testing.T) {
	base := SafetyNumber("alice@a.example", safetyKey(1), "bob@b.example", safetyKey(2))
	tests := []struct {
		name string
		sn   string
	}{
		{"when alice's key changes", SafetyNumber("alice@a.example", safetyKey(3), "bob@b.example", safetyKey(2))},
		{"when bob's key changes", SafetyNumber("alice@a.example", safetyKey(1), "bob@b.example", safetyKey(3))},
		{"when alice's address changes", SafetyNumber("alice@c.example", safetyKey(1), "bob@b.example", safetyKey(2))},
		{"when bob's address changes", SafetyNumber("alice@a.example", safetyKey(1), "bob@c.example", safetyKey(2))},
		{"when the keys are swapped between the addresses", SafetyNumber("alice@a.example", safetyKey(2), "bob@b.example", safetyKey(1))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.sn == base {
				t.Errorf("still %q", base)
			}
		})
	}
}

func TestSafetyNumberOfKnownKeys(t *testing.T) {
	// This pins the output of this implementation, computed once when it
	// was written, so that an accidental change to the construction (which
	// would make every verified contact look changed) fails here. It is
	// not an external test vector (an independent Python reimplementation
	// of the construction agreed when it was written).
	const want = "54411 15194 37363 94190 68591 31860 78315 90490 39067 22345 16983 23317"
	got := SafetyNumber("alice@a.example", safetyKey(1), "bob@b.example", safetyKey(2))
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestSafetyNumberDigitsIgnoresWhiteSpace(t *testing.T) {
	sn := SafetyNumber("alice@a.example", safetyKey(1), "bob@b.example", safetyKey(2))
	typed := "  " + SafetyNumberDigits(sn)[:30] + "\n" + SafetyNumberDigits(sn)[30:] + "\t"
	if SafetyNumberDigits(typed) != SafetyNumberDigits(sn) {
		t.Errorf("%q does not compare equal to %q", typed, sn)
	}
	if got := SafetyNumberDigits(sn); !regexp.MustCompile(`^[0-9]{60}$`).MatchString(got) {
		t.Errorf("digits of %q are %q", sn, got)
	}
}
