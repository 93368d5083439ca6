package protocol

import (
	"time"
)

// LinkState is the state of a federation link.
type LinkState int

// The states of a link.
const (
	LinkDown LinkState = iota
	LinkConnecting
	LinkUp
)

func (s LinkState) String() string {
	switch s {
	case LinkUp:
		return "up"
	case LinkConnecting:
		return "connecting"
	}
	return "down"
}

// Link is the state of this node's link to one federation peer.
type Link struct {
	// Domain is the peer's domain; "" while it has never been reached.
	Domain string
	// Address is the peer's "host:port".
	Address string
	State   LinkState
	// Since is when the link entered State.
	Since time.Time
	// RelayedOut and RelayedIn count messages sent to and received from
	// the peer; Errors counts failed dials and calls.
	RelayedOut, RelayedIn, Errors uint64
	// LastError says why the last dial or call failed.
	LastError string
}
