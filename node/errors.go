package node

import "errors"

// Errors of the node's service and store. The RPC adapter maps each to a
// wire error code in one place (noderpc), and the client maps codes back, so
// callers on both ends test them with errors.Is.
var (
	// ErrUserExists means a registration chose a name that is taken.
	ErrUserExists = errors.New("user name is taken")
	// ErrUnknownUser means no account has that name. Login never returns
	// it (see ErrAuthFailed); lookups of other users do.
	ErrUnknownUser = errors.New("no such user")
	// ErrNoKeys means a user has published no keys yet.
	ErrNoKeys = errors.New("user has published no keys")
	// ErrNoKeyPackage means a user has no key package left, not even a
	// last-resort one.
	ErrNoKeyPackage = errors.New("user has no key package left")
	// ErrTooManyKeyPackages means an upload would exceed the bound on
	// stored key packages.
	ErrTooManyKeyPackages = errors.New("too many key packages")
	// ErrMailboxFull means the recipient's mailbox holds as many messages
	// or bytes as it may; the sender should retry later.
	ErrMailboxFull = errors.New("recipient's mailbox is full")
	// ErrNoSession means a session token is unknown.
	ErrNoSession = errors.New("no such session")
	// ErrStoreClosed means the store was used after Close.
	ErrStoreClosed = errors.New("store is closed")
)
