package protocol

import "time"

// Bounds of what key transparency puts on the wire (docs/kt.md). A proof
// of a tree of 2^64 leaves has at most 64 hashes; a signed head carries a
// federation certificate of at most 4 KiB; evidence and gossip are capped
// so that one answer stays small on a router.
const (
	// MaxKTProofHashes is the most hashes an inclusion or consistency
	// proof may have.
	MaxKTProofHashes = 64
	// MaxKTHeadBytes is the most bytes of one signed tree head encoding.
	MaxKTHeadBytes = 4608
	// MaxKTEntryBytes is the most bytes of one log entry encoding.
	MaxKTEntryBytes = 384
	// MaxKTHeads is the most heads one gossip call carries.
	MaxKTHeads = 64
	// MaxKTEvidence is the most evidence one answer carries.
	MaxKTEvidence = 64
)

// KeyProof proves that a key answer is what the home node's key
// transparency log holds for the address (schemas/node.capnp KeyProof;
// the encodings are package kt's).
type KeyProof struct {
	// Entry is the log entry (kt.Entry encoding) of the address's current keys.
	Entry []byte
	// Index is Entry's leaf index.
	Index uint64
	// Inclusion is Entry's inclusion proof in Head, 32-byte hashes.
	Inclusion [][]byte
	// Head is the signed tree head (kt.SignedHead encoding).
	Head []byte
	// Consistency is the consistency proof from the asker's knownSize to
	// Head's size; empty when knownSize was 0 or Head's size.
	Consistency [][]byte
}

// KTEvidence is proof that a key transparency log misbehaved: two heads
// signed for one log that cannot both be true (schemas/node.capnp
// KtEvidence).
type KTEvidence struct {
	// First and Second are the two signed heads (kt.SignedHead encodings).
	First, Second []byte
	// Reason is "fork" (one size, two roots) or "inconsistent" (no
	// consistency proof from the smaller to the larger).
	Reason string
	// Domain is the domain whose log signed them.
	Domain string
	// Found is when the reporting node first saw the contradiction.
	Found time.Time
	// ReportedBy is the domain of the node that found it.
	ReportedBy string
}
