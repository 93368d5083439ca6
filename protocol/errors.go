package protocol

import (
	"errors"
	"fmt"
)

// Errors of the node's service and store. Each maps to a wire error code in
// one place (codes.go), in both directions, so callers on both ends of a
// call test them with errors.Is.
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

// Errors of the service's methods.
var (
	// ErrBadRequest means arguments were malformed: a bad user name, an
	// undecodable OPAQUE message, a batch too large.
	ErrBadRequest = errors.New("bad request")
	// ErrUnauthenticated means the method needs a session on this
	// connection.
	ErrUnauthenticated = errors.New("not logged in")
	// ErrSessionExpired means a session token has expired.
	ErrSessionExpired = errors.New("session expired; log in again")
	// ErrInvalidToken means the node does not know a session token:
	// forged, or from before its account was deleted.
	ErrInvalidToken = errors.New("invalid session token")
	// ErrAuthFailed means a login failed: wrong password or unknown user,
	// deliberately indistinguishable.
	ErrAuthFailed = errors.New("login failed: wrong user name or password")
	// ErrPayloadTooLarge means a message exceeds the payload limit.
	ErrPayloadTooLarge = errors.New("message too large")
	// ErrRateLimited means a client sent faster than its allowance.
	ErrRateLimited = errors.New("rate limited; slow down")
	// ErrTTLTooLong means a message asked to be kept longer than the node
	// allows.
	ErrTTLTooLong = errors.New("requested TTL exceeds the node's maximum")
	// ErrUnknownDomain means a recipient's domain is not served by this
	// node.
	ErrUnknownDomain = errors.New("recipient's domain is not served here")
	// ErrPeerUnreachable means the node that serves a recipient's domain
	// is known but not linked now.
	ErrPeerUnreachable = errors.New("recipient's node is not reachable now")
	// ErrForgedKeys means an answer to a key lookup for a user of another
	// domain is not signed by that domain's node: a node on the path may
	// have put in keys of its own. The keys are not passed on. Where
	// crypto/attest finds it, the error wraps both this and
	// attest.ErrForgedKeys.
	ErrForgedKeys = errors.New("key answer not signed by the user's home node")
	// ErrNoLink comes wrapped with ErrPeerUnreachable or ErrUnknownDomain
	// when a relay found no link to the recipient's node and sent
	// nothing, so the message may go into the mesh instead.
	ErrNoLink = errors.New("no link")
	// ErrShuttingDown means the node is stopping.
	ErrShuttingDown = errors.New("node is shutting down")
	// ErrMeshFull means the store-and-forward store is at one of its
	// bounds (total, per destination, per origin, seen ids): the envelope
	// was refused, nothing held was evicted.
	ErrMeshFull = errors.New("store-and-forward store is full")
	// ErrExpired means a message's TTL ran out before it was delivered.
	ErrExpired = errors.New("message expired before delivery")
	// ErrHopLimit means a message would have passed its max hops.
	ErrHopLimit = errors.New("message reached its hop limit")
	// ErrBadEnvelope means a store-and-forward envelope failed
	// verification (signature, fields, clock).
	ErrBadEnvelope = errors.New("bad store-and-forward envelope")
	// ErrBadPost means a broadcast channel post failed verification
	// (signature, fields, size, clock).
	ErrBadPost = errors.New("bad channel post")
	// ErrChannelFull means the channel relay is at a bound that refuses
	// new posts (its seen-set of post ids); kept posts are a cache and are
	// evicted instead (see ChannelQuota).
	ErrChannelFull = errors.New("channel relay is full")
	// ErrPostSeen means a channel post's id is already in the node's
	// seen-set: a duplicate or a replay.
	ErrPostSeen = errors.New("channel post already seen")
	// ErrBadCommitClaim means the commit sequencer refused a claim
	// without ordering it: its proof does not verify, it is proven with
	// a key that is not the claimed epoch's, or its epoch is above the
	// group's next or older than the commits kept. Nothing changed.
	ErrBadCommitClaim = errors.New("commit claim refused: not proven by a member of the epoch, or an epoch the node cannot order")
	// ErrStoreFull means the node's mailboxes together hold as many
	// payload bytes as the node allows (its node-wide store cap): the
	// message was refused, nothing stored was evicted; the sender should
	// retry later.
	ErrStoreFull = errors.New("node's message store is full")
	// ErrAccountsFull means the node has as many accounts as it allows:
	// registration is closed until accounts are deleted.
	ErrAccountsFull = errors.New("node has reached its account limit; registration is closed")
	// ErrDeviceRevoked means a device named by a recipient, a key package
	// fetch or useDevice is not a current device of its account: revoked
	// from the account's published device list, or never in it.
	ErrDeviceRevoked = errors.New("device is not a current device of its account")
	// ErrNoSuchKeys is what a lookup of a user of this node answers both
	// when there is no such user and when the user has published no
	// keys, so that lookups tell apart only "has keys" and "has none".
	// It wraps ErrUnknownUser.
	ErrNoSuchKeys = fmt.Errorf("%w, or the user has published no keys", ErrUnknownUser)
)

// errorf returns an error that is kind (for errors.Is) with details.
func errorf(kind error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", kind, fmt.Sprintf(format, args...))
}

// Mark returns err, its text unchanged, as an error that errors.Is also
// finds to be kind. It lets a layer that protocol cannot name (crypto/*
// finds forged keys, say) report its own error as one of protocol's
// without repeating the reason; nil stays nil.
func Mark(kind, err error) error {
	if err == nil {
		return nil
	}
	return &markedError{kind: kind, err: err}
}

// markedError is an error that is also kind.
type markedError struct{ kind, err error }

func (e *markedError) Error() string   { return e.err.Error() }
func (e *markedError) Unwrap() []error { return []error{e.kind, e.err} }
