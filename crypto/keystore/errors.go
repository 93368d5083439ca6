package keystore

import "errors"

// ErrNotKeystore means the data does not start with the keystore magic.
var ErrNotKeystore = errors.New("keystore: not a qpc keystore file")

// ErrTooOld means the keystore was written in a format version this build
// no longer reads.
var ErrTooOld = errors.New("keystore: format version too old")

// ErrUnsupportedVersion means the keystore was written by a newer build.
var ErrUnsupportedVersion = errors.New("keystore: unsupported format version")

// ErrTruncated means the keystore is shorter than its header and tag.
var ErrTruncated = errors.New("keystore: file truncated")

// ErrWrongKey means the keystore does not decrypt with the given export key:
// the password was wrong, or the file was altered or corrupted. The two
// cannot be told apart.
var ErrWrongKey = errors.New("keystore: wrong password or corrupted file")

// ErrShortKey means the export key passed in is shorter than MinKeySize.
var ErrShortKey = errors.New("keystore: export key too short")
