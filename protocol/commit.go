package protocol

// CommitClaim is a claim of Epoch of Group for Commit, proven by a member
// of that epoch (see crypto/commitclaim).
type CommitClaim struct {
	Group  []byte
	Epoch  uint64
	Commit []byte
	// Key is the sequencer key of Epoch, Proof its signature of the claim,
	// NextKey the key of the epoch Commit creates.
	Key, Proof, NextKey []byte
}

// CommitOrder is the answer of the node that orders a group's commits.
type CommitOrder struct {
	// Accepted is true when the commit now holds its epoch.
	Accepted bool
	// Next is the epoch of the group's next commit as the sequencer knows it.
	Next uint64
	// Missing holds, when refused, the accepted commits of epochs
	// epoch..Next-1 that are still kept, oldest first (at most MaxMissingCommits).
	Missing [][]byte
}

// MaxMissingCommits is the most commits a refused claim gets back; a
// client further behind catches up in several rounds.
const MaxMissingCommits = 16

// MaxGroupID is the longest MLS group id the node orders commits for, in
// bytes. It equals crypto/commitclaim.MaxGroupID (a test in node holds
// them together); protocol does not import crypto.
const MaxGroupID = 255

// ClaimKeySize and ClaimProofSize are the lengths of a commit claim's
// sequencer keys (Ed25519 public keys) and of its proof (an Ed25519
// signature), as crypto/commitclaim makes them.
const (
	ClaimKeySize   = 32
	ClaimProofSize = 64
)
