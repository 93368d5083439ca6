package identity

import (
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode"
)

// Safety numbers follow the numeric fingerprint scheme Signal published:
// each party's half is an iterated hash of its key and address, and the two
// halves are sorted, so that both parties compute the same number. The
// iterations make a search for a key whose half matches a given one costly.
const (
	safetyVersion    = 0
	safetyIterations = 5200
	safetyChunks     = 6 // 5-byte chunks of each party's hash
	safetyGroup      = 5 // digits per chunk, and per printed group
)

// SafetyNumber returns the 60-digit safety number of two users, the same
// whichever of them computes it: twelve groups of five digits separated by
// spaces. Like signatures, it covers the exact bytes of the addresses, so
// callers must pass them in the node's canonical form. The keys are the two
// account keys (a migrated legacy account's account key is its old identity
// key), never device keys: the number stays the same as devices come and go.
//
// Each party's 30 digits come from h = SHA-512(version 0 as 2 bytes big
// endian | key | address), hashed 5200 more times as h = SHA-512(h | key);
// the first 30 bytes of h, read as six 40-bit big-endian integers, each
// modulo 100000, give six groups of five digits. The two parties' digits
// are sorted as strings and joined.
func SafetyNumber(addrA string, keyA ed25519.PublicKey, addrB string, keyB ed25519.PublicKey) string {
	a, b := safetyHalf(addrA, keyA), safetyHalf(addrB, keyB)
	if b < a {
		a, b = b, a
	}
	digits := a + b
	var sb strings.Builder
	for i := 0; i < len(digits); i += safetyGroup {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(digits[i : i+safetyGroup])
	}
	return sb.String()
}

// safetyHalf returns one party's 30 digits.
func safetyHalf(addr string, key ed25519.PublicKey) string {
	h := sha512.New()
	h.Write(binary.BigEndian.AppendUint16(nil, safetyVersion))
	h.Write(key)
	h.Write([]byte(addr))
	sum := h.Sum(nil)
	for range safetyIterations {
		h.Reset()
		h.Write(sum)
		h.Write(key)
		sum = h.Sum(sum[:0])
	}
	var sb strings.Builder
	for i := range safetyChunks {
		c := sum[i*5:]
		v := uint64(c[0])<<32 | uint64(binary.BigEndian.Uint32(c[1:5]))
		fmt.Fprintf(&sb, "%05d", v%100000)
	}
	return sb.String()
}

// SafetyNumberDigits returns s without its white space, for comparing a
// safety number the user typed or pasted with one from SafetyNumber.
func SafetyNumberDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}
