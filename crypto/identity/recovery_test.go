package identity

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"
)

var recoveryCodeText = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){10}$`)

func TestARecoveryCodeGivesBackTheAccountKey(t *testing.T) {
	for range 20 {
		acct := mustAccountKey(t)
		code := RecoveryCode(acct)
		if !recoveryCodeText.MatchString(code) {
			t.Fatalf("%q is not eleven dash-joined groups of five", code)
		}
		got, err := ParseRecoveryCode(code)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Seed(), acct.Seed()) {
			t.Fatal("the parsed code gives another key")
		}
		// Typed back sloppily: lower case, spaces, line breaks.
		sloppy := strings.ToLower(strings.ReplaceAll(code, "-", " "))
		sloppy = sloppy[:30] + "\n" + sloppy[30:]
		if got, err := ParseRecoveryCode(sloppy); err != nil || !bytes.Equal(got.Seed(), acct.Seed()) {
			t.Fatalf("ParseRecoveryCode(%q): %v", sloppy, err)
		}
	}
}

func TestTheRecoveryChecksumIsCRC16CCITT(t *testing.T) {
	// The check value of CRC-16/CCITT-FALSE (poly 0x1021, init 0xffff) for
	// "123456789" is 0x29b1.
	if got := crc16(0xffff, []byte("123456789")); got != 0x29b1 {
		t.Errorf("crc16 = %#04x, want 0x29b1", got)
	}
}

// symbolsOf returns the 55 characters of a code without dashes.
func symbolsOf(code string) []byte { return []byte(strings.ReplaceAll(code, "-", "")) }

func TestEverySingleCharacterChangeOfARecoveryCodeIsCaught(t *testing.T) {
	for range 8 {
		acct := mustAccountKey(t)
		sym := symbolsOf(RecoveryCode(acct))
		for i := range sym {
			for _, c := range []byte(crockford) {
				if c == sym[i] {
					continue
				}
				typo := bytes.Clone(sym)
				typo[i] = c
				if _, err := ParseRecoveryCode(string(typo)); !errors.Is(err, ErrBadRecoveryCode) {
					t.Fatalf("%q with %q at %d: %v, want ErrBadRecoveryCode", sym, c, i, err)
				}
			}
		}
	}
}

func TestSwappingTwoNeighbouringCharactersOfARecoveryCodeIsCaught(t *testing.T) {
	for range 8 {
		sym := symbolsOf(RecoveryCode(mustAccountKey(t)))
		for i := range len(sym) - 1 {
			if sym[i] == sym[i+1] {
				continue
			}
			swap := bytes.Clone(sym)
			swap[i], swap[i+1] = swap[i+1], swap[i]
			if _, err := ParseRecoveryCode(string(swap)); !errors.Is(err, ErrBadRecoveryCode) {
				t.Fatalf("%q with %d and %d swapped: %v", sym, i, i+1, err)
			}
		}
	}
}

func TestParseRecoveryCodeSaysWhatIsWrong(t *testing.T) {
	code := RecoveryCode(mustAccountKey(t))
	sym := symbolsOf(code)
	typo := bytes.Clone(sym)
	if typo[3] == 'Z' {
		typo[3] = 'Y'
	} else {
		typo[3] = 'Z'
	}
	tests := []struct {
		name string
		in   string
		says []string
	}{
		{"a missing character", code[:len(code)-1], []string{"length", "54 characters"}},
		{"an extra character", code + "0", []string{"length", "56 characters"}},
		{"empty", "", []string{"length", "0 characters"}},
		{"a U at position 8", code[:7] + "U" + code[8:], []string{"'U'", "position 8"}},
		{"a comma", code[:2] + "," + code[3:], []string{"','", "position 3"}},
		{"a mistyped character", string(typo), []string{"checksum"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRecoveryCode(tt.in)
			if !errors.Is(err, ErrBadRecoveryCode) {
				t.Fatalf("error %v, want ErrBadRecoveryCode", err)
			}
			for _, s := range tt.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
}
