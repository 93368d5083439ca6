package chatdb

import (
	"errors"
	"fmt"
)

// Errors of the chat database, returned wrapped with context; test them
// with errors.Is.
var (
	// ErrWrongKey means the database does not open with the export key
	// given: another account's key, or a corrupted canary record (the two
	// cannot be told apart).
	ErrWrongKey = errors.New("the chat database does not open with this account's key")
	// ErrLocked means another process holds the database open.
	ErrLocked = errors.New("the chat database is in use by another qpc (a running qpc repl?)")
	// ErrNotFound means a conversation, message or outbox entry to change
	// does not exist.
	ErrNotFound = errors.New("not found in the chat database")
	// ErrCorrupt means a stored value does not open or decode; it comes as
	// a *CorruptError, which names the record.
	ErrCorrupt = errors.New("chat database record is corrupt")
	// ErrVersionTooOld means the file was written in a format this version
	// of qpc no longer reads.
	ErrVersionTooOld = errors.New("the chat database format is too old")
	// ErrVersionUnknown means the file was written in a newer format, by a
	// newer qpc.
	ErrVersionUnknown = errors.New("the chat database was written by a newer qpc")
	// ErrNotChatDB means the file is a bbolt database of something else.
	ErrNotChatDB = errors.New("file is not a qpc chat database")
	// ErrShortKey means the export key is shorter than MinKeySize.
	ErrShortKey = errors.New("export key too short")
	// ErrInvalid means a record to store lacks what names it (a contact
	// without an address).
	ErrInvalid = errors.New("invalid chat database record")
)

// CorruptError is a stored value that does not open (tampered, moved to
// another key, or sealed under another key) or does not decode. It
// wraps ErrCorrupt and the error that says what was wrong.
type CorruptError struct {
	Bucket string
	Key    []byte
	Err    error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("chatdb: %s record %x is corrupt: %v", e.Bucket, e.Key, e.Err)
}

// Unwrap returns ErrCorrupt and the cause.
func (e *CorruptError) Unwrap() []error { return []error{ErrCorrupt, e.Err} }
