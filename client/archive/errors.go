package archive

import (
	"errors"
	"fmt"
)

var (
	// ErrNotArchive means the content is not a transcript archive.
	ErrNotArchive = errors.New("not a qpc transcript archive")
	// ErrVersionTooOld and ErrVersionUnknown mean the archive's format is
	// older, or newer, than this qpc reads.
	ErrVersionTooOld  = errors.New("transcript archive format too old")
	ErrVersionUnknown = errors.New("transcript archive format unknown: written by a newer qpc")
	// ErrMalformed means the content breaks the format: a length past the
	// end, a field out of bounds, an unknown tag, bytes after the end.
	ErrMalformed = errors.New("malformed transcript archive")
	// ErrBadSignature means the signature does not verify: the header or
	// the end was changed, or the records were chained anew by someone
	// without the account's key.
	ErrBadSignature = errors.New("the archive's signature does not verify: its header or end was altered")
	// ErrBadDeviceCert means the device certificate in the archive is not
	// one the account key signed for the account.
	ErrBadDeviceCert = errors.New("the archive's device certificate is not signed by its account key")
	// ErrRecordAltered means a record's content is not what was signed.
	ErrRecordAltered = errors.New("altered")
	// ErrRecordMissing means a record was taken out.
	ErrRecordMissing = errors.New("missing")
	// ErrRecordOutOfOrder means a record stands in another place than it
	// was signed in.
	ErrRecordOutOfOrder = errors.New("out of order")
	// ErrRecordAppended means a record was added after the signed end.
	ErrRecordAppended = errors.New("appended after the signed end")
)

// RecordError is the failure of one record.
type RecordError struct {
	// Number is the record's number, from 1.
	Number uint32
	// Err is ErrRecordAltered, ErrRecordMissing, ErrRecordOutOfOrder,
	// ErrRecordAppended or ErrMalformed.
	Err error
}

func (e *RecordError) Error() string { return fmt.Sprintf("record %d: %v", e.Number, e.Err) }

// Unwrap returns the cause.
func (e *RecordError) Unwrap() error { return e.Err }
