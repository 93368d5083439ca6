package backup

import "errors"

var (
	// ErrNotBackup means the content of a sealed file is not a backup of
	// this format (its magic is wrong).
	ErrNotBackup = errors.New("not a qpc backup")
	// ErrVersionTooOld and ErrVersionUnknown mean the backup's content
	// format is older, or newer, than this qpc reads.
	ErrVersionTooOld  = errors.New("backup format too old")
	ErrVersionUnknown = errors.New("backup format unknown: written by a newer qpc")
	// ErrCorrupt means the content, though it decrypted, breaks the
	// format: a malformed manifest, a file name that is not the account's,
	// a file shorter than listed or content after the last file.
	ErrCorrupt = errors.New("malformed backup")
	// ErrStateExists means the state directory already holds state of the
	// account: restore replaces it only when told to (--force).
	ErrStateExists = errors.New("this machine already holds state of the account")
	// ErrInUse means another qpc holds the account's chat database open
	// (qpc repl): close it first.
	ErrInUse = errors.New("the account's chat database is open in another qpc (close qpc repl first)")
	// ErrNoState means the state directory holds no sealed state of the
	// account to back up.
	ErrNoState = errors.New("no state of the account in the state directory")
	// ErrPasswordChanged means the restored state does not open with the
	// export key of the account's login: the password changed after the
	// backup was made.
	ErrPasswordChanged = errors.New("the backup's state does not open with the account's password: the password was changed after the backup was made")
)
