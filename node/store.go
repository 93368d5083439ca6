package node

import (
	"context"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

// Store is what the service keeps on disk: accounts, published keys, key
// packages, mailboxes, sessions and the order of MLS groups' commits.
// node/store implements it on bbolt, node/memstore in memory for tests;
// node/storetest holds both to the same semantics. (The store-and-forward
// and channel stores are declared by their users, mesh/forward and
// mesh/flood; the same two implement them.)
//
// Every method that changes data returns only after the change is durable
// (committed and synced), so that what the node acknowledges survives a
// crash. Implementations are safe for concurrent use.
type Store interface {
	Accounts
	Directory
	Mailboxes
	Sessions
	CommitSequencer
	// Close flushes and closes the store. Calls after Close fail.
	Close() error
}

// Account is a registered user of this node.
type Account struct {
	// User is the local part of the user's address: User@domain.
	User string
	// Record is the user's OPAQUE registration record (RFC 9807 §5.1.1),
	// as the client sent it.
	Record []byte
	// Created is when the account was registered.
	Created time.Time
}

// Accounts stores registered users.
type Accounts interface {
	// CreateAccount adds a. It fails with ErrUserExists if a.User is taken
	// or held after its deletion until after a.Created, and with
	// ErrAccountsFull if the store holds as many accounts as it may.
	CreateAccount(a Account) error
	// CheckName returns nil if user could be registered at now, else
	// ErrUserExists (taken, or held after its deletion).
	CheckName(user string, now time.Time) error
	// Account returns the account of user, or ErrUnknownUser.
	Account(user string) (Account, error)
	// DeleteAccount removes user and everything stored for them: keys, key
	// packages, mailbox and sessions, and holds the name until holdUntil
	// (none if zero). ErrUnknownUser if there is no such user.
	DeleteAccount(user string, holdUntil time.Time) error
}

// Directory stores users' public keys and MLS key packages.
type Directory interface {
	// PutKeys replaces user's published keys. ErrUnknownUser if there is no
	// such account.
	PutKeys(user string, k protocol.PublishedKeys) error
	// Keys returns user's published keys: ErrUnknownUser, or ErrNoKeys when
	// the user has published none.
	Keys(user string) (protocol.PublishedKeys, error)
	// AddKeyPackages appends pkgs, all of MLS cipher suite suite, to
	// user's key packages of that suite, and when lastResort is not nil
	// replaces the user's last-resort package of the suite. It fails with
	// ErrTooManyKeyPackages, adding nothing, when the user would hold more
	// than the store's bound in that suite.
	AddKeyPackages(user string, suite uint16, pkgs [][]byte, lastResort []byte) error
	// TakeKeyPackage removes and returns the oldest of user's key packages
	// of suite. When none is left it returns the suite's last-resort
	// package, which stays, with lastResort true; when there is none
	// either, ErrNoKeyPackage.
	TakeKeyPackage(user string, suite uint16) (pkg []byte, lastResort bool, err error)
	// KeyPackageCount returns how many key packages of suite user holds,
	// not counting the last-resort one, and whether user has a last-resort
	// one of the suite; ErrUnknownUser if there is no such account.
	KeyPackageCount(user string, suite uint16) (count int, lastResort bool, err error)
}

// MailboxLimits bound one mailbox.
type MailboxLimits struct {
	// MaxMessages is the most messages a mailbox holds (default 10,000).
	MaxMessages int
	// MaxBytes is the most payload bytes a mailbox holds (default 64 MiB).
	MaxBytes int64
	// TotalBytes is the most payload bytes all mailboxes together hold;
	// a message beyond it is refused with ErrStoreFull. Zero means the
	// store's default.
	TotalBytes int64
}

// Mailboxes stores messages until their recipient acknowledges them or they
// expire.
type Mailboxes interface {
	// Enqueue stores msgs and returns one receipt per message, in order,
	// once every stored one is durable. A message that cannot be stored
	// (unknown recipient, mailbox full) gets an error in its receipt and
	// does not affect the others. The returned error is for failures of
	// the store itself (I/O, closed, ctx done before the commit); then no
	// message of this call may be assumed stored.
	Enqueue(ctx context.Context, msgs []protocol.NewMessage) ([]protocol.Receipt, error)
	// Fetch returns up to limit messages of user's mailbox with sequence
	// numbers above afterSeq, in order. Expired messages are not returned.
	Fetch(user string, afterSeq uint64, limit int) ([]protocol.Message, error)
	// Ack removes user's messages with sequence numbers up to and
	// including uptoSeq and returns how many it removed.
	Ack(user string, uptoSeq uint64) (removed int, err error)
	// Depth returns how many messages and payload bytes user's mailbox
	// holds.
	Depth(user string) (messages int, bytes int64, err error)
	// LastSeq returns the sequence number of the last message ever put in
	// user's mailbox (0 if none).
	LastSeq(user string) (uint64, error)
	// Expire removes messages whose Expires is not after now, sessions
	// that expired and holds on deleted names that ended, and returns how
	// many messages it removed.
	Expire(now time.Time) (messages int, err error)
}

// Session is a logged-in user's session.
type Session struct {
	User    string
	Expires time.Time
	// AccountCreated is the Created time of the account the session was
	// granted to: a session is good only while User's account is that
	// one, never for a later account of the same name. Zero in sessions
	// stored before sessions were bound to accounts; those count as
	// bound to the account that exists.
	AccountCreated time.Time
}

// TokenHash is the SHA-256 of a session token; the store keeps only hashes,
// so a copy of the database does not hand out sessions.
type TokenHash [32]byte

// Sessions stores login sessions.
type Sessions interface {
	// PutSession stores s under h. ErrUnknownUser if s.User has no
	// account, or (when s.AccountCreated is set) an account created at
	// another time.
	PutSession(h TokenHash, s Session) error
	// Session returns the session stored under h, or ErrNoSession. An
	// expired session is returned as stored; the caller checks Expires.
	Session(h TokenHash) (Session, error)
	// DeleteSession removes the session under h, if any.
	DeleteSession(h TokenHash) error
}
