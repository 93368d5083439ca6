package sealedfile

import (
	"errors"
	"fmt"
)

var (
	// ErrNotSealedFile means the input does not start with the magic: it
	// is not a file of this package at all.
	ErrNotSealedFile = errors.New("not a qpc sealed file")
	// ErrVersionTooOld means the file's format is older than this qpc
	// reads.
	ErrVersionTooOld = errors.New("sealed file format too old")
	// ErrVersionUnknown means the file's format is newer than this qpc
	// reads: written by a newer qpc.
	ErrVersionUnknown = errors.New("sealed file format unknown: written by a newer qpc")
	// ErrWrongPurpose means the file holds something else than the reader
	// expects (a transcript archive given to backup restore).
	ErrWrongPurpose = errors.New("sealed file holds something else")
	// ErrBadHeader means the header is short or its parameters are out of
	// bounds (an Argon2id cost a reader will not pay, an unknown secret
	// kind, a chunk size out of range).
	ErrBadHeader = errors.New("malformed sealed file header")
	// ErrWrongSecret means the passphrase or recovery code does not open
	// the file.
	ErrWrongSecret = errors.New("wrong passphrase or recovery code")
	// ErrTampered means a chunk does not authenticate: changed, or moved
	// from another place or file.
	ErrTampered = errors.New("sealed file altered")
	// ErrTruncated means the file ends before its last chunk.
	ErrTruncated = errors.New("sealed file cut short")
	// ErrTrailingData means there are bytes after the last chunk.
	ErrTrailingData = errors.New("sealed file has data after its end")
	// ErrClosed means a Writer was written to after Close.
	ErrClosed = errors.New("sealed file writer closed")
)

// ChunkError is a failure of one chunk of a file: ErrTampered,
// ErrTruncated or ErrTrailingData, or the read error that stopped it.
type ChunkError struct {
	// Index is the chunk's number, from 0.
	Index uint64
	// Err is the cause.
	Err error
}

func (e *ChunkError) Error() string { return fmt.Sprintf("chunk %d: %v", e.Index, e.Err) }

// Unwrap returns the cause.
func (e *ChunkError) Unwrap() error { return e.Err }
