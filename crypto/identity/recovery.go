package identity

// This file holds the recovery code: the account key's seed written for
// paper. Someone copies it by hand and types it back years later, so it
// carries a checksum that catches every single mistyped character and every
// swap of two neighbouring characters, and says where a character is wrong.

import (
	"fmt"
	"strings"
)

const (
	// RecoveryCodeChars is the number of base32 characters of a recovery
	// code: 32 seed bytes and 2 checksum bytes are 272 bits, 55 characters
	// with 3 zero bits at the end.
	RecoveryCodeChars = 55

	// recoveryGroup is the number of characters between dashes.
	recoveryGroup = 5

	// recoveryChecksumSize is the size of the checksum after the seed.
	recoveryChecksumSize = 2
)

// recoveryContext starts the checksum's input, so that a code made for
// something else of the same length does not pass as a recovery code.
const recoveryContext = "qpc/1 recovery-code\x00"

// RecoveryCode returns acct's seed and checksum as 55 Crockford base32
// characters in eleven groups of five joined by dashes, e.g.
// "7KQ4M-2XD9R-...". Whoever has it has the account key. It returns "" for
// the zero AccountKey.
//
// The checksum is CRC-16 (polynomial 0x1021, initial value 0xffff, most
// significant bit first, no final xor) over "qpc/1 recovery-code" | 0x00 |
// seed, appended big endian. A CRC with a degree-16 polynomial detects every
// error confined to 16 consecutive bits; a mistyped character changes at
// most 5 and two swapped neighbours at most 10, so, unlike a truncated hash,
// it never lets one of those through.
func RecoveryCode(acct AccountKey) string {
	seed := acct.Seed()
	if seed == nil {
		return ""
	}
	b := append(seed, 0, 0)
	crc := recoveryChecksum(seed)
	b[AccountKeySeedSize], b[AccountKeySeedSize+1] = byte(crc>>8), byte(crc)
	s := base32Encode(b, RecoveryCodeChars)
	var sb strings.Builder
	for i := 0; i < len(s); i += recoveryGroup {
		if i > 0 {
			sb.WriteByte('-')
		}
		sb.Write(s[i : i+recoveryGroup])
	}
	return sb.String()
}

// ParseRecoveryCode reads a code as RecoveryCode writes it. Case does not
// matter, dashes and white space are ignored anywhere, and I, L and O are
// read as 1, 1 and 0. It returns ErrBadRecoveryCode saying whether a
// character (with its position), the length or the checksum was wrong.
func ParseRecoveryCode(s string) (AccountKey, error) {
	sym, err := base32Symbols(s, ErrBadRecoveryCode, func(c byte) bool {
		return c == '-' || c == ' ' || c == '\t' || c == '\n' || c == '\r'
	})
	if err != nil {
		return AccountKey{}, err
	}
	if len(sym) != RecoveryCodeChars {
		return AccountKey{}, fmt.Errorf("%w: length: %d characters, want %d", ErrBadRecoveryCode, len(sym), RecoveryCodeChars)
	}
	b, pad := symbolsToBytes(sym, AccountKeySeedSize+recoveryChecksumSize)
	if pad != 0 {
		// Only the last character carries padding bits, and they are zero in
		// every code RecoveryCode writes.
		return AccountKey{}, fmt.Errorf("%w: checksum: the last character cannot be %q", ErrBadRecoveryCode, crockford[sym[len(sym)-1]])
	}
	seed := b[:AccountKeySeedSize]
	if got := uint16(b[AccountKeySeedSize])<<8 | uint16(b[AccountKeySeedSize+1]); got != recoveryChecksum(seed) {
		return AccountKey{}, fmt.Errorf("%w: checksum does not match: a character is mistyped", ErrBadRecoveryCode)
	}
	return AccountKeyFromSeed(seed)
}

// recoveryChecksum is the CRC-16 described in RecoveryCode's doc.
func recoveryChecksum(seed []byte) uint16 {
	return crc16(crc16(0xffff, []byte(recoveryContext)), seed)
}

// crc16 continues a CRC-16 with polynomial 0x1021, most significant bit
// first, from crc over b.
func crc16(crc uint16, b []byte) uint16 {
	for _, x := range b {
		crc ^= uint16(x) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
