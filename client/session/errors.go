package session

import (
	"errors"
	"fmt"

	"github.com/quicprochat/qpc/client"
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
