package session

import "errors"

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
)
