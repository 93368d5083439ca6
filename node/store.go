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
	AccountSessions
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

// Devices is what the stores know of an account's devices: the node reads
// it from the account's verified device list when the keys are published
// (the stores never parse a list), and the stores file queues and key
// packages by it. A device is its id's text, 16 lowercase hex digits.
type Devices struct {
	// Primary is the device that a plain recipient ("alice") and a
	// connection that named no device act on: the list's first current
	// device. Empty for an account without a device list.
	Primary string
	// Current is every current device of the list, Primary among them.
	Current []string
}

// Has reports whether device is one of d's current devices.
func (d Devices) Has(device string) bool {
	for _, c := range d.Current {
		if c == device {
			return true
		}
	}
	return false
}

// Directory stores users' public keys, their devices and MLS key
// packages.
//
// The key package methods take a queue name, as Mailboxes do: "user" for
// the account's primary device (its only one before it published a device
// list), "user#device" for one device; a device that is not current fails
// with protocol.ErrDeviceRevoked. Each device has its own key packages and
// bounds.
type Directory interface {
	// PutKeys replaces user's published keys and devices, in one change.
	// The zero Devices stands for an account without a device list. A
	// device that was current before and is not in d.Current loses its
	// queue's messages and its key packages: it gets nothing more.
	// ErrUnknownUser if there is no such account.
	PutKeys(user string, k protocol.PublishedKeys, d Devices) error
	// Keys returns user's published keys: ErrUnknownUser, or ErrNoKeys when
	// the user has published none.
	Keys(user string) (protocol.PublishedKeys, error)
	// Devices returns user's devices as last put (the zero Devices for an
	// account without a list); ErrUnknownUser if there is no such account.
	Devices(user string) (Devices, error)
	// AddKeyPackages appends pkgs, all of MLS cipher suite suite, to
	// queue's key packages of that suite, and when lastResort is not nil
	// replaces its last-resort package of the suite. It fails with
	// ErrTooManyKeyPackages, adding nothing, when the device would hold
	// more than the store's bound in that suite.
	AddKeyPackages(queue string, suite uint16, pkgs [][]byte, lastResort []byte) error
	// TakeKeyPackage removes and returns the oldest of queue's key
	// packages of suite. When none is left it returns the suite's
	// last-resort package, which stays, with lastResort true; when there
	// is none either, ErrNoKeyPackage.
	TakeKeyPackage(queue string, suite uint16) (pkg []byte, lastResort bool, err error)
	// KeyPackageCount returns how many key packages of suite queue's
	// device holds, not counting the last-resort one, and whether it has a
	// last-resort one of the suite; ErrUnknownUser if there is no such
	// account.
	KeyPackageCount(queue string, suite uint16) (count int, lastResort bool, err error)
}

// MailboxLimits bound the mailboxes.
type MailboxLimits struct {
	// MaxMessages is the most messages an account's queues hold together
	// (default 10,000): a message sealed to each of three devices counts
	// three times.
	MaxMessages int
	// MaxBytes is the most payload bytes an account's queues hold
	// together (default 64 MiB).
	MaxBytes int64
	// TotalBytes is the most payload bytes all mailboxes together hold;
	// a message beyond it is refused with ErrStoreFull. Zero means the
	// store's default.
	TotalBytes int64
}

// Mailboxes stores messages until their recipient acknowledges them or they
// expire.
//
// An account's mailbox is a queue per device. Every method names a queue:
// "user" is the primary device's (see Devices), the one queue of an
// account without a device list; "user#device" is that device's. A device
// that is not current fails with protocol.ErrDeviceRevoked. The messages an
// account held before it published its first device list stay, with
// their sequence numbers, in the queue of that list's primary device, and
// its sequence numbers continue there; every other device's queue numbers
// its messages from 1. Acks are per queue.
type Mailboxes interface {
	// Enqueue stores msgs (each Recipient a queue name) and returns one
	// receipt per message, in order, once every stored one is durable. A
	// message that cannot be stored (unknown recipient, revoked device,
	// the account's queues full) gets an error in its receipt and does
	// not affect the others. The returned error is for failures of the
	// store itself (I/O, closed, ctx done before the commit); then no
	// message of this call may be assumed stored.
	Enqueue(ctx context.Context, msgs []protocol.NewMessage) ([]protocol.Receipt, error)
	// Fetch returns up to limit messages of queue with sequence numbers
	// above afterSeq, in order. Expired messages are not returned.
	Fetch(queue string, afterSeq uint64, limit int) ([]protocol.Message, error)
	// Ack removes queue's messages with sequence numbers up to and
	// including uptoSeq and returns how many it removed.
	Ack(queue string, uptoSeq uint64) (removed int, err error)
	// Depth returns how many messages and payload bytes queue holds.
	Depth(queue string) (messages int, bytes int64, err error)
	// LastSeq returns the sequence number of the last message ever put in
	// queue (0 if none).
	LastSeq(queue string) (uint64, error)
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
