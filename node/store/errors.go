package store

import "errors"

// Errors of the store itself. The errors of the node.Store contract
// (protocol.ErrUnknownUser, protocol.ErrMailboxFull, ...) are node's sentinels; these
// are the ones only this implementation has. All are returned wrapped with
// context; test them with errors.Is.
var (
	// ErrSchemaTooOld means the database was written by an older version of
	// qpc whose layout this version no longer reads.
	ErrSchemaTooOld = errors.New("store schema is too old")
	// ErrSchemaUnknown means the database was written by a newer version of
	// qpc (or is not a qpc store) and has a layout this version does not
	// know.
	ErrSchemaUnknown = errors.New("store schema is unknown")
	// ErrNotAStore means the file is a bbolt database but not a qpc store:
	// it has buckets but no schema version.
	ErrNotAStore = errors.New("file is not a qpc store")
	// ErrLocked means another process holds the database open.
	ErrLocked = errors.New("store is in use by another process")
	// ErrRecordTooOld means a stored record has a version older than this
	// version of qpc reads.
	ErrRecordTooOld = errors.New("stored record version is too old")
	// ErrRecordUnknown means a stored record has a version this version of
	// qpc does not know.
	ErrRecordUnknown = errors.New("stored record version is unknown")
	// ErrCorrupt means a stored record or index entry is malformed
	// (truncated, trailing bytes, inconsistent with its index).
	ErrCorrupt = errors.New("store record is corrupt")
	// ErrInvalidOptions means Options failed validation.
	ErrInvalidOptions = errors.New("invalid store options")
	// ErrInvalidUser means a user name is empty or longer than
	// MaxUserLen, so it cannot be a key.
	ErrInvalidUser = errors.New("invalid user name")
	// ErrEmptyKeyPackage means a key package to store has no bytes.
	ErrEmptyKeyPackage = errors.New("empty key package")
	// ErrBadSuite means key packages to store name the reserved MLS
	// cipher suite 0.
	ErrBadSuite = errors.New("key packages of cipher suite 0")
	// ErrPayloadTooLarge means one message's payload is larger than a
	// mailbox may ever hold; unlike protocol.ErrMailboxFull, retrying cannot
	// help.
	ErrPayloadTooLarge = errors.New("payload is larger than a mailbox holds")
	// ErrInvalidState means Release was given a seen state, or SetStatus a
	// mesh state, that it does not record (SeenHeld, MeshUnknown, or out
	// of range).
	ErrInvalidState = errors.New("invalid store-and-forward state")
	// ErrOtherReason is the reason a message status reads back with when
	// it was recorded with an error that has no code of its own in the
	// store (see SetStatus).
	ErrOtherReason = errors.New("message dropped for an internal reason")
)
