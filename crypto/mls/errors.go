package mls

import "errors"

// Decoding errors. Every decoder in this package wraps one of these with %w,
// so callers can tell malformed input apart from cryptographic rejections.
var (
	// ErrTruncated means the input ended before the structure was complete.
	ErrTruncated = errors.New("mls: truncated input")
	// ErrTrailingData means bytes were left over after a complete structure.
	ErrTrailingData = errors.New("mls: trailing data after structure")
	// ErrNonMinimalVarint means a variable-length integer used more bytes than needed.
	ErrNonMinimalVarint = errors.New("mls: non-minimal variable-length integer")
	// ErrVarintReserved means a variable-length integer used the reserved 0b11 prefix.
	ErrVarintReserved = errors.New("mls: reserved variable-length integer prefix")
	// ErrTooLong means a vector is longer than the MLS varint can express (2^30-1 bytes).
	ErrTooLong = errors.New("mls: vector too long")
	// ErrUnknownValue means an enumeration held a value this implementation cannot decode.
	ErrUnknownValue = errors.New("mls: unknown enumeration value")
	// ErrInvalidOptional means an optional<T> presence byte was neither 0 nor 1.
	ErrInvalidOptional = errors.New("mls: invalid optional presence byte")
	// ErrInvalidPadding means a PrivateMessage carried non-zero padding bytes.
	ErrInvalidPadding = errors.New("mls: non-zero padding")
)

// Cryptographic and protocol rejections.
var (
	// ErrUnsupportedCipherSuite means the cipher suite identifier is not implemented.
	ErrUnsupportedCipherSuite = errors.New("mls: unsupported cipher suite")
	// ErrInvalidKey means a public or private key had the wrong form.
	ErrInvalidKey = errors.New("mls: invalid key")
	// ErrBadSignature means a signature did not verify.
	ErrBadSignature = errors.New("mls: signature verification failed")
	// ErrBadMembershipTag means a PublicMessage membership tag did not verify.
	ErrBadMembershipTag = errors.New("mls: membership tag verification failed")
	// ErrBadConfirmationTag means a confirmation tag did not verify.
	ErrBadConfirmationTag = errors.New("mls: confirmation tag verification failed")
	// ErrMissingConfirmationTag means a commit arrived without a confirmation tag.
	ErrMissingConfirmationTag = errors.New("mls: commit without confirmation tag")
	// ErrDecryption means an AEAD or HPKE decryption failed.
	ErrDecryption = errors.New("mls: decryption failed")
	// ErrKeyLength means a derived length was out of range for the KDF.
	ErrKeyLength = errors.New("mls: requested key length out of range")
	// ErrGenerationConsumed means the key for a generation was already used or deleted.
	ErrGenerationConsumed = errors.New("mls: key generation already consumed")
	// ErrGenerationTooFar means a generation lies beyond the forward ratchet limit.
	ErrGenerationTooFar = errors.New("mls: key generation too far ahead")
	// ErrLeafIndex means a leaf index lay outside the tree.
	ErrLeafIndex = errors.New("mls: leaf index out of range")
	// ErrSenderType means the sender type is not acceptable for the operation.
	ErrSenderType = errors.New("mls: unexpected sender type")
	// ErrWireFormat means a message has an unexpected wire format.
	ErrWireFormat = errors.New("mls: unexpected wire format")
	// ErrWrongGroup means a message belongs to another group.
	ErrWrongGroup = errors.New("mls: message for another group")
	// ErrWrongEpoch means a message belongs to another epoch.
	ErrWrongEpoch = errors.New("mls: message for another epoch")
	// ErrContentType means a message carried an unexpected content type.
	ErrContentType = errors.New("mls: unexpected content type")
	// ErrNoGroupSecrets means no EncryptedGroupSecrets entry matched our KeyPackage.
	ErrNoGroupSecrets = errors.New("mls: welcome has no secrets for this key package")
)

// Ratchet tree rejections.
var (
	// ErrTreeShape means a serialized ratchet tree has an impossible shape
	// (wrong node types at positions, trailing blank node, empty tree).
	ErrTreeShape = errors.New("mls: malformed ratchet tree")
	// ErrTreeHash means a tree hash did not match its expected value.
	ErrTreeHash = errors.New("mls: tree hash mismatch")
	// ErrParentHash means a parent node or leaf is not parent-hash valid.
	ErrParentHash = errors.New("mls: parent hash invalid")
	// ErrUnmergedLeaves means a parent node's unmerged_leaves list is inconsistent.
	ErrUnmergedLeaves = errors.New("mls: invalid unmerged leaves")
	// ErrDuplicateKey means two nodes share an encryption or signature key.
	ErrDuplicateKey = errors.New("mls: duplicate key in tree")
	// ErrLeafNode means a leaf node is invalid for its context.
	ErrLeafNode = errors.New("mls: invalid leaf node")
	// ErrBlankLeaf means an operation referred to a blank leaf.
	ErrBlankLeaf = errors.New("mls: leaf is blank")
	// ErrUpdatePath means an UpdatePath does not fit the tree or its keys do not match.
	ErrUpdatePath = errors.New("mls: invalid update path")
	// ErrNoPrivateKey means no private key was available to decrypt a path secret.
	ErrNoPrivateKey = errors.New("mls: no private key for update path")
	// ErrProposal means a proposal cannot be applied to the tree.
	ErrProposal = errors.New("mls: proposal cannot be applied")
)

// Group lifecycle rejections.
var (
	// ErrKeyPackage means a KeyPackage is invalid (RFC 9420 §10.1).
	ErrKeyPackage = errors.New("mls: invalid key package")
	// ErrLifetime means the current time lies outside a leaf's lifetime.
	ErrLifetime = errors.New("mls: outside the leaf node lifetime")
	// ErrCapabilities means a leaf's capabilities do not fit the group.
	ErrCapabilities = errors.New("mls: capabilities do not fit the group")
	// ErrCredential means a credential was refused by the credential policy.
	ErrCredential = errors.New("mls: credential refused")
	// ErrNotMember means a message came from a leaf that is not a member.
	ErrNotMember = errors.New("mls: sender is not a member")
	// ErrUnknownProposal means a commit referred to a proposal we did not receive.
	ErrUnknownProposal = errors.New("mls: unknown proposal reference")
	// ErrProposalList means a commit's proposals break the rules of RFC 9420 §12.2.
	ErrProposalList = errors.New("mls: invalid proposal list")
	// ErrPathRequired means a commit lacks the UpdatePath its proposals require.
	ErrPathRequired = errors.New("mls: commit requires an update path")
	// ErrUnsupported means a valid MLS feature this implementation does not
	// handle (ReInit, external senders and joins, resumption outside the group).
	ErrUnsupported = errors.New("mls: unsupported feature")
	// ErrUnknownPSK means a PSK named by a proposal or Welcome is not available.
	ErrUnknownPSK = errors.New("mls: unknown pre-shared key")
	// ErrEpochTooOld means a message belongs to an epoch whose secrets were
	// already deleted under the retention policy.
	ErrEpochTooOld = errors.New("mls: epoch beyond the retention window")
	// ErrOwnMessage means a message was sent by this member and cannot be processed by it.
	ErrOwnMessage = errors.New("mls: message from this member")
	// ErrPendingCommit means an operation conflicts with the pending commit
	// (or that there is no pending commit to merge).
	ErrPendingCommit = errors.New("mls: pending commit conflict")
	// ErrInactive means this member was removed from the group.
	ErrInactive = errors.New("mls: member was removed from the group")
	// ErrWelcome means a Welcome's GroupInfo or tree does not describe a group we can join.
	ErrWelcome = errors.New("mls: invalid welcome")
	// ErrStateVersion means a serialized group state has a version this
	// build does not know (written by a newer one).
	ErrStateVersion = errors.New("mls: unknown group state version")
	// ErrStateTooOld means a serialized group state has a version older than
	// this build can read.
	ErrStateTooOld = errors.New("mls: group state version too old")
	// ErrState means a serialized group state is malformed or inconsistent.
	ErrState = errors.New("mls: malformed group state")
)
