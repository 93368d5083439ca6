//go:build !router

package main

import (
	_ "embed"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode"
)

// ErrWeakPassword means a new password would be guessed too soon; the
// wrapping error says why.
var ErrWeakPassword = errors.New("password too weak")

// minPasswordBits is the least estimated strength of a new password:
// 2^27, about 10^8 guesses. The node keeps only an OPAQUE record
// stretched with Argon2id, so whoever takes its disk pays a slow hash
// per guess, and 10^8 of them is out of reach; 10^6 is not.
const minPasswordBits = 27

//go:embed weakpasswords.txt
var weakPasswordsFile string

// weakWords are the lines of weakpasswords.txt, longest first, so that
// "password" is found before "pass".
var weakWords = func() []string {
	var ws []string
	for _, l := range strings.Split(weakPasswordsFile, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			ws = append(ws, l)
		}
	}
	// Longest first; the list is short, a simple sort will do.
	for i := range ws {
		for j := i + 1; j < len(ws); j++ {
			if len(ws[j]) > len(ws[i]) {
				ws[i], ws[j] = ws[j], ws[i]
			}
		}
	}
	return ws
}()

// keyboardRows are runs of keys people type as a pattern; a password
// walking along one of them, or along the alphabet or the digits, gains
// little from each further key.
var keyboardRows = []string{"abcdefghijklmnopqrstuvwxyz", "0123456789", "qwertyuiop", "qwertzuiop", "asdfghjkl", "yxcvbnm", "zxcvbnm", "1234567890"}

// checkNewPassword refuses a password for a new account whose estimated
// strength is under minPasswordBits, with the reason. The estimate is
// small and honest, not zxcvbn: it takes each character as a guess among
// its class (charBits), and counts as one cheap guess each a word of weakpasswords.txt or the
// account's name found in it (after undoing 0→o, 1→i, 3→e, 4→a, 5→s, 7→t,
// @→a, $→s), a character repeated, and a step along the alphabet, the
// digits or a keyboard row. It knows no dictionary beyond its list: a
// phrase of common words scores higher than zxcvbn would score it. (The
// Go port of zxcvbn served, trustelem/zxcvbn v1.0.1, is from 2019 and
// adds 2.9 MB to the laptop binary.)
func checkNewPassword(pw []byte, user string) error {
	bits, why := passwordBits(string(pw), user)
	if bits >= minPasswordBits {
		return nil
	}
	return fmt.Errorf("%w: it would be guessed in about %s tries (%s); use a longer one, such as four or five unrelated words",
		ErrWeakPassword, roughCount(math.Exp2(bits)), why)
}

// passwordBits estimates log2 of the guesses pw takes, and names what
// weakens it most.
func passwordBits(pw, user string) (float64, string) {
	orig := []rune(pw)
	if len(orig) == 0 {
		return 0, "it is empty"
	}
	// Rune by rune, so that lower[i] and plain[i] are orig[i] (lower
	// case; and with the swaps undone).
	lower := make([]rune, len(orig))
	plain := make([]rune, len(orig))
	for i, r := range orig {
		lower[i] = unicode.ToLower(r)
		plain[i] = unleet(lower[i])
	}
	why := fmt.Sprintf("it has %d characters", len(orig))
	if len(orig) >= 10 {
		why = "it is made of common words, names or patterns"
	}
	words := weakWords
	if user != "" {
		words = append([]string{strings.ToLower(user)}, words...)
	}
	bits := 0.0
	wordBits := math.Log2(float64(len(words) + 1))
	for i := 0; i < len(plain); {
		if w := max(wordAt(lower[i:], words), wordAt(plain[i:], words)); w > 0 {
			bits += wordBits
			i += w
			continue
		}
		if i > 0 && (lower[i] == lower[i-1] || step(lower[i-1], lower[i])) {
			bits += 1 // a repeat or the next key: hardly a new guess
		} else {
			bits += charBits(orig[i])
		}
		i++
	}
	return bits, why
}

// charBits is what one character adds, by its own class: a digit is one
// of 10, a letter one of 26 (an upper-case one a guess more), anything
// else one of 33. Counting each character by its own class, not by the
// union of the classes of the password, keeps "carol2026" from scoring
// as nine characters of 36.
func charBits(r rune) float64 {
	switch {
	case unicode.IsDigit(r):
		return math.Log2(10)
	case unicode.IsLower(r):
		return math.Log2(26)
	case unicode.IsUpper(r):
		return math.Log2(52)
	default:
		return math.Log2(33)
	}
}

// wordAt returns the length of the longest word of words that s starts
// with, or 0.
func wordAt(s []rune, words []string) int {
	str := string(s)
	for _, w := range words {
		if len(w) >= 3 && strings.HasPrefix(str, w) {
			return len([]rune(w))
		}
	}
	return 0
}

// step reports whether b follows a, or a follows b, on one of
// keyboardRows.
func step(a, b rune) bool {
	for _, row := range keyboardRows {
		i := strings.IndexRune(row, a)
		j := strings.IndexRune(row, b)
		if i >= 0 && j >= 0 && (j == i+1 || i == j+1) {
			return true
		}
	}
	return false
}

// unleet undoes the digit and symbol swaps people make for letters.
func unleet(r rune) rune {
	if i := strings.IndexRune("013457@$", r); i >= 0 {
		return []rune("oieastas")[i]
	}
	return r
}

// roughCount writes a number of guesses as a person reads it.
func roughCount(g float64) string {
	switch {
	case g < 1e3:
		return fmt.Sprintf("%.0f", g)
	case g < 1e6:
		return fmt.Sprintf("%.0f thousand", g/1e3)
	default:
		return fmt.Sprintf("%.0f million", g/1e6)
	}
}
