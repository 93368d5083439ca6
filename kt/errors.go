package kt

import "errors"

// ErrProof means an inclusion or consistency proof does not verify: a hash
// is wrong, one is missing or left over, or the proof is for another
// index or size than the one claimed.
var ErrProof = errors.New("kt: proof does not verify")

// ErrRange means an index or tree size is out of range: an index at or past
// the tree's size, a first size past the second, a proof longer than
// MaxProof, or a node the store does not have.
var ErrRange = errors.New("kt: index or size out of range")

// ErrEncoding means a decoder refused its input: truncated, trailing bytes,
// an unknown version or kind, or a field out of its bounds.
var ErrEncoding = errors.New("kt: bad encoding")

// ErrSignature means a signed tree head's signature does not verify under
// the key it names, or that key (or certificate) is not a usable Ed25519
// key.
var ErrSignature = errors.New("kt: bad tree head signature")
