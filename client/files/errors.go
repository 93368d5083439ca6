package files

import "errors"

// Errors of this package; each is wrapped with details.
var (
	// ErrBadReference means a file reference is malformed.
	ErrBadReference = errors.New("malformed file reference")
	// ErrReferenceVersion means a reference is of a version this build
	// does not know (sent by a newer qpc).
	ErrReferenceVersion = errors.New("file reference of an unknown version; update qpc")
	// ErrTampered means a chunk, or the list of chunk hashes, that a node
	// returned is not what the sender uploaded.
	ErrTampered = errors.New("file was altered on the way: a chunk does not match its hash")
	// ErrWrongKey means an authentic chunk did not open under the
	// reference's key: the reference does not belong to this file.
	ErrWrongKey = errors.New("file does not decrypt with the reference's key")
	// ErrTruncated means the file ends before its last chunk, or is not
	// as long as its reference says.
	ErrTruncated = errors.New("file is truncated")
	// ErrIncomplete means the sender's upload has not finished: the home
	// node does not hold every chunk yet. Try again later.
	ErrIncomplete = errors.New("file is not completely uploaded yet")
	// ErrTooLarge means a file is larger than MaxFileSize.
	ErrTooLarge = errors.New("file is too large to send")
	// ErrFileChanged means the file changed while it was being uploaded.
	ErrFileChanged = errors.New("file changed during the upload")
	// ErrChunkTimeout means the node did not answer a call of a transfer
	// within Options.ChunkTimeout (it died, or the link did); another
	// attempt resumes where this one stopped.
	ErrChunkTimeout = errors.New("the node did not answer in time")
	// ErrBadState means a resume state file is malformed; it is ignored
	// and the transfer starts over.
	ErrBadState = errors.New("malformed transfer state file")
)
