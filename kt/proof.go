package kt

import "fmt"

// ParseHash takes a hash from its 32 bytes, as a wire message carries one
// (a head's root, a proof's element). Another length is ErrEncoding.
func ParseHash(b []byte) (Hash, error) {
	var h Hash
	if len(b) != len(h) {
		return Hash{}, fmt.Errorf("%w: hash of %d bytes (want %d)", ErrEncoding, len(b), len(h))
	}
	copy(h[:], b)
	return h, nil
}

// ParseProof takes a proof from the list of 32-byte hashes a wire message
// carries (KeyProof.inclusion, ktConsistency's proof). An element of
// another length is ErrEncoding; more than MaxProof elements is ErrRange.
func ParseProof(items [][]byte) ([]Hash, error) {
	if len(items) > MaxProof {
		return nil, fmt.Errorf("%w: proof of %d hashes (at most %d)", ErrRange, len(items), MaxProof)
	}
	out := make([]Hash, len(items))
	for i, b := range items {
		h, err := ParseHash(b)
		if err != nil {
			return nil, fmt.Errorf("proof hash %d: %w", i, err)
		}
		out[i] = h
	}
	return out, nil
}

// MarshalProof returns the proof as the list of 32-byte hashes a wire
// message carries: ParseProof's inverse.
func MarshalProof(proof []Hash) [][]byte {
	out := make([][]byte, len(proof))
	for i := range proof {
		out[i] = append([]byte(nil), proof[i][:]...)
	}
	return out
}
