//go:build !router

package main

import (
	"errors"
	"fmt"

	"github.com/trustelem/zxcvbn"
)

// ErrWeakPassword means a new password would be guessed too soon; the
// wrapping error says why.
var ErrWeakPassword = errors.New("password too weak")

// minPasswordScore is zxcvbn's score 3, about 10^8 guesses or more: the
// node stores only an OPAQUE record stretched with Argon2id, so whoever
// takes the node's disk still pays a slow hash per guess, and 10^8 of
// them is out of reach there; score 2 (10^6) is not.
const minPasswordScore = 3

// checkNewPassword refuses a password for a new account that zxcvbn
// (a port of Dropbox's estimator, with its lists of common passwords,
// words and names, keyboard patterns, dates and substitutions) scores
// below minPasswordScore. The account's own name and the program's count
// as known words: "carol2026" for carol is weak. zxcvbn is in the laptop
// build only: the router registers no accounts.
func checkNewPassword(pw []byte, user string) error {
	r := zxcvbn.PasswordStrength(string(pw), []string{user, "qpc", "quicprochat"})
	if r.Score >= minPasswordScore {
		return nil
	}
	return fmt.Errorf("%w: it would be guessed in about %s tries (%s); use a longer one, such as four or five unrelated words",
		ErrWeakPassword, roughCount(r.Guesses), weakness(len(pw)))
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

// weakness is the plainest reason zxcvbn's count has.
func weakness(n int) string {
	if n < 10 {
		return fmt.Sprintf("it has %d characters", n)
	}
	return "it is made of common words, names or patterns"
}
