package client

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBadAddress means a server address is not host:port.
var ErrBadAddress = errors.New("not host:port")

// ErrChannelConflict means a channel topic is already joined with another
// secret: two channels of one name cannot both be in an account's state.
var ErrChannelConflict = errors.New("a channel of this topic is already joined with another secret")

// ErrNoAnswer means a node did not complete a handshake in time: it is down,
// unreachable, or not a qpc node.
var ErrNoAnswer = errors.New("no answer from node")

// KnownNodeChangedError means a node presented a certificate other than the
// one recorded on first contact.
type KnownNodeChangedError struct {
	Server    string
	File      string
	Line      int
	Known     string
	Presented string
}

func (e *KnownNodeChangedError) Error() string {
	return fmt.Sprintf("the certificate of %s has CHANGED since first contact (known %s, now %s): "+
		"someone may be intercepting the connection. If the node's certificate really changed, "+
		"delete line %d of %s or pass --pin", e.Server, e.Known, e.Presented, e.Line, e.File)
}

// ErrBadKnownNodes means a line of the known-nodes file is malformed.
var ErrBadKnownNodes = errors.New("malformed known-nodes line")

// ErrNoNodeFound means --server auto found no node on the local network.
var ErrNoNodeFound = errors.New("no qpc node found on the local network (is mDNS on in the node, --mdns?); give --server HOST:PORT")

// AmbiguousServerError means --server auto found several nodes and there
// is no terminal to ask which one to use.
type AmbiguousServerError struct {
	Candidates []Candidate
}

func (e *AmbiguousServerError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d nodes answered on the local network; choose one with --server HOST:PORT (or --pin FINGERPRINT):\n", len(e.Candidates))
	listCandidates(&b, e.Candidates)
	return strings.TrimSuffix(b.String(), "\n")
}

// ErrClosedByNode means the node closed the connection; a
// *ClosedByNodeError says why.
var ErrClosedByNode = errors.New("the node closed the connection")

// ClosedByNodeError is what the node said when it closed the connection:
// at one of its bounds (too many connections from this address, no login
// in time, busy), because the account was deleted, or because it is
// shutting down. It unwraps to ErrClosedByNode.
type ClosedByNodeError struct {
	// Code is the QUIC application error code (transport.Code*).
	Code uint64
	// Reason is the node's explanation, as it sent it.
	Reason string
	// QUIC is set when the node's QUIC stack refused the connection
	// (CONNECTION_REFUSED) before the node saw it: its queue of
	// connections waiting to be accepted was full, or the node was
	// stopping. Code is then transport.CodeBusy, and Reason says so.
	QUIC bool
}

func (e *ClosedByNodeError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("%v (code %d)", ErrClosedByNode, e.Code)
	}
	return fmt.Sprintf("%v: %s", ErrClosedByNode, sanitizeReason(e.Reason))
}

func (e *ClosedByNodeError) Unwrap() error { return ErrClosedByNode }

// sanitizeReason keeps a close reason that came from the network printable
// on one line: it is shown to people, so control characters go.
func sanitizeReason(s string) string {
	if len(s) > 200 {
		s = s[:200]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 {
			return -1
		}
		return r
	}, s)
}

// ErrNoNameCheck means the node does not answer nameAvailable (a node
// older than the call): whether a name is free shows only at
// registration.
var ErrNoNameCheck = errors.New("the node cannot check names before registration")
