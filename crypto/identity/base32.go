package identity

// Link and recovery codes are read off one screen and typed into another, so
// they use Crockford's base32: digits and upper-case letters without I, L, O
// and U, case-insensitive, with I and L read as 1 and O as 0 the way the
// alphabet's author intended (a person who types the look-alike meant the
// digit).

import "fmt"

// crockford is the Crockford base32 alphabet, value order.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// crockfordValue returns the 5-bit value of c, or false if c is not a
// Crockford base32 character (aliases included).
func crockfordValue(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'z':
		c -= 'a' - 'A'
	}
	switch c {
	case 'O':
		return 0, true
	case 'I', 'L':
		return 1, true
	}
	for i := 10; i < len(crockford); i++ {
		if crockford[i] == c {
			return byte(i), true
		}
	}
	return 0, false
}

// base32Encode writes the bits of b, most significant first, as n
// characters; missing bits at the end are zero.
func base32Encode(b []byte, n int) []byte {
	out := make([]byte, n)
	for i := range n {
		var v byte
		for j := range 5 {
			bit := i*5 + j
			v <<= 1
			if bit/8 < len(b) && b[bit/8]&(0x80>>(bit%8)) != 0 {
				v |= 1
			}
		}
		out[i] = crockford[v]
	}
	return out
}

// base32Symbols decodes the characters of s that are not skipped to 5-bit
// values; bad is the typed error to wrap, and skip says which characters are
// separators. Positions in errors count from 1 over the whole text, as the
// user sees it.
func base32Symbols(s string, bad error, skip func(byte) bool) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if skip(c) {
			continue
		}
		v, ok := crockfordValue(c)
		if !ok {
			return nil, fmt.Errorf("%w: character %q at position %d is not one of %s", bad, rune(c), i+1, crockford)
		}
		out = append(out, v)
	}
	return out, nil
}

// symbolsToBytes packs 5-bit values, most significant bit first, into
// nbytes bytes and returns the bits left over at the end.
func symbolsToBytes(sym []byte, nbytes int) (out []byte, pad byte) {
	out = make([]byte, nbytes)
	for i, v := range sym {
		for j := range 5 {
			bit := i*5 + j
			if v&(0x10>>j) == 0 {
				continue
			}
			if bit/8 < nbytes {
				out[bit/8] |= 0x80 >> (bit % 8)
			} else {
				pad |= 1
			}
		}
	}
	return out, pad
}

// isCodeSeparator reports the characters that people put between groups.
func isCodeSeparator(c byte) bool { return c == '-' || c == ' ' }
