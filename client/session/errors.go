package session

import (
	"errors"
	"fmt"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/protocol"
)

// Errors of a Session's operations; they are wrapped with %w where the
// error says more.
var (
	// ErrNoAccount means there is no account to log in: no user name or
	// no server was given and there is no current account to take them
	// from.
	ErrNoAccount = errors.New("no account: a user name and a server are needed")
	// ErrNotJoined means a channel topic is not among the account's
	// channels.
	ErrNotJoined = errors.New("channel not joined")
	// ErrChannelExists means a channel is to be created under a topic the
	// account has already joined.
	ErrChannelExists = errors.New("a channel of this topic is already joined")
	// ErrNotSent means the node did not take a group message; it stays
	// in the chat engine's outbox and leaves with the next connection.
	ErrNotSent = errors.New("the node did not take the message; it stays in the outbox")
	// ErrNotFiled means the chat database could not take a group message,
	// so it is not acknowledged and stays on the node.
	ErrNotFiled = errors.New("a group message could not be filed in the chat history")
	// ErrNotADevice means the password was right but this machine holds
	// no keys of the account: a login does not make it one of the
	// account's devices (that would replace the keys its devices read
	// with). *NotADeviceError says what to do instead.
	ErrNotADevice = errors.New("this machine is not a device of the account yet")
)

// NotADeviceError is ErrNotADevice for the account Address, in words
// that say how to make this machine one of its devices. It is also
// client.ErrNoState: there is no saved state of the account here.
type NotADeviceError struct {
	// Address is the account, user@domain.
	Address string
}

func (e *NotADeviceError) Error() string {
	return fmt.Sprintf("this machine is not a device of %s yet: run `qpc device link` here and approve it on one of your devices "+
		"(`qpc device approve CODE`), or `qpc account recover` with your recovery code", e.Address)
}

// Unwrap makes a NotADeviceError both ErrNotADevice and client.ErrNoState.
func (e *NotADeviceError) Unwrap() []error { return []error{ErrNotADevice, client.ErrNoState} }

// ErrNotAccountKey means a recovery code does not hold the account key
// the account publishes (a code of another account, or of an account that
// was reset since).
var ErrNotAccountKey = errors.New("the recovery code is not this account's: its key is not the published account key")

// ErrNoAccountKey means an operation that changes the device list (approve,
// remove) runs on a device that does not hold the account key.
var ErrNoAccountKey = errors.New("this device does not hold the account key")

// ErrNoLinkRequest means no pending link request matches a link code: the
// code is mistyped, or the request expired (after 15 minutes) or was
// never made.
var ErrNoLinkRequest = errors.New("no pending link request matches this code (mistyped, or expired after 15 minutes: run qpc device link again)")

// ErrLastDevice means the one current device of an account is to be
// removed: the account would have none left to read with.
var ErrLastDevice = errors.New("it is the account's last device")

// ErrThisDevice means the device to remove is the one the command runs on;
// it takes --force.
var ErrThisDevice = errors.New("it is this device (use --force to remove it)")

// ErrAlreadyDevice means a machine that is already a current device of the
// account (it holds the account's state, and the list has its device) is
// to become one again. A removed device's state may be replaced.
var ErrAlreadyDevice = errors.New("this machine is already a device of the account (its state is in the state directory)")

// ErrLinkTimeout means a device link was not approved in time.
var ErrLinkTimeout = errors.New("the link was not approved in time")

// ErrNotMigrated means a state of before devices was not migrated: the
// keys the node publishes for the account are not this machine's, so this
// machine's keys cannot become the account key.
var ErrNotMigrated = errors.New("not migrated to devices: the keys the node publishes for this account are not this machine's")

// RevokedError is protocol.ErrDeviceRevoked for this machine's device:
// it was removed from the account (or the account was reset elsewhere).
type RevokedError struct {
	// Address is the account, Device this machine's device.
	Address string
	Device  identity.DeviceID
}

func (e *RevokedError) Error() string {
	return fmt.Sprintf("this machine's device %s was removed from %s: it reads and sends nothing more "+
		"(link it again with qpc device link, or qpc account recover with the recovery code)", e.Device, e.Address)
}

// Unwrap makes a RevokedError protocol.ErrDeviceRevoked.
func (e *RevokedError) Unwrap() error { return protocol.ErrDeviceRevoked }
