package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/transport/msgstream"
)

// debugErrors is --debug (or QPC_DEBUG=1): print the whole chain of an
// error under the sentence, for a bug report.
var debugErrors = os.Getenv("QPC_DEBUG") == "1"

// userErrors says, for each typed cause a person can meet, what happened
// and what to do, in their words: the text of the error chain ("resolve
// nosuchuser: store: keys: no such user") is for --debug. The first match
// wins, so a more specific cause comes before the one it wraps.
var userErrors = []userError{
	{cause: client.ErrNoAnswer, say: "no answer from node: it may be down or out of reach; check --server, or try again later"},
	{cause: protocol.ErrUnknownUser, say: "no such user on that node: check the name (user@domain for another node)"},
	{cause: protocol.ErrNoKeys, say: "that user has not set up their keys yet: they need to log in once"},
	{cause: protocol.ErrNoKeyPackage, say: "that user has no key left to start a group with: they need to log in once to make more"},
	{cause: protocol.ErrUnknownDomain, say: "unknown domain: no node this one knows serves that domain; check the address after the @"},
	{cause: protocol.ErrPeerUnreachable, say: "the recipient's node is not reachable now; try again later"},
	{cause: protocol.ErrMailboxFull, say: "the recipient's mailbox is full: they need to fetch their messages first; try again later"},
	{cause: protocol.ErrRateLimited, say: "rate limited: the node takes no more from you for a moment; wait a little and try again"},
	{cause: protocol.ErrPayloadTooLarge, say: "the message is too large for the node; send it shorter or in parts"},
	{cause: protocol.ErrTTLTooLong, say: "the node keeps messages for a shorter time than --ttl asks; give a shorter --ttl"},
	{cause: protocol.ErrUserExists, say: "that user name is taken on this node; choose another"},
	{cause: protocol.ErrAuthFailed, say: "login failed: wrong user name or password"},
	{cause: protocol.ErrSessionExpired, say: "the login has expired; run the command again to log in"},
	{cause: protocol.ErrInvalidToken, say: "the node does not know this login any more; run the command again to log in"},
	{cause: protocol.ErrUnauthenticated, say: "the node wants a login first; run the command again to log in"},
	{cause: protocol.ErrDeviceRevoked, say: "this device was removed from its account; it can be linked again with qpc device link"},
	{cause: protocol.ErrShuttingDown, say: "the node is shutting down; try again in a moment"},
	{cause: msgstream.ErrClosed, say: "the connection to the node broke off while it stored the message: it may or may not be stored; try again"},
	{cause: protocol.ErrStoreClosed, say: "the node is shutting down; try again in a moment"},
	{cause: protocol.ErrMeshFull, say: "the node's store-and-forward space is full; try again later"},
	{cause: protocol.ErrStoreFull, say: "the node's message store is full; try again later, and tell the node's admin"},
	{cause: protocol.ErrAccountsFull, say: "the node has reached its account limit: registration is closed; ask its admin, or use another node"},
	{cause: protocol.ErrExpired, say: "the message expired before it could be delivered; send it again"},
	{cause: protocol.ErrHopLimit, say: "the message could not reach the recipient's node within its hop limit; try a larger --max-hops"},
	{cause: protocol.ErrChannelFull, say: "the node relays no more channel posts for now; try again later"},
	{cause: protocol.ErrTooManyKeyPackages, say: "the node holds enough keys for you already; nothing to do"},
	{cause: protocol.ErrForgedKeys, say: "keys refused, tell the node's admin", nodeWords: true},
	{cause: client.ErrKeyNotInLog, say: "keys REFUSED: they are not in the node's key transparency log, so the node may have swapped them; nothing was sent. Tell the node's admin"},
	{cause: client.ErrLogInconsistent, say: "keys REFUSED: the node's key transparency log contradicts what it showed before (rewritten, or different for different people); nothing was sent. Tell the node's admin"},
	{cause: client.ErrHeadSigner, say: "keys REFUSED: the node's key transparency log is not signed by the node's own key; nothing was sent. Tell the node's admin"},
	{cause: protocol.ErrBadEnvelope, say: "the node refused a malformed store-and-forward envelope; this is a bug: run with --debug and report it"},
	{cause: protocol.ErrBadPost, say: "the node refused a malformed channel post; this is a bug: run with --debug and report it"},
	{cause: protocol.ErrBadCommitClaim, say: "the node refused a group change it cannot order; try again, and report it with --debug if it stays"},
	{cause: protocol.ErrBlobTooLarge, say: "the file is larger than the node takes; ask its admin (--file-max-size), or send a smaller one"},
	{cause: protocol.ErrBlobQuota, say: "your space for files on the node is used up; wait until your earlier files expire, or ask its admin"},
	{cause: protocol.ErrBlobStoreFull, say: "the node's space for files is full; try again later, and tell the node's admin"},
	{cause: protocol.ErrNoSuchBlob, say: "the file is not on its node (never uploaded completely, or expired); ask the sender to send it again"},
	{cause: protocol.ErrBadChunk, say: "the node refused a piece of the file that does not match its hash; try again, and report it with --debug if it stays"},
	{cause: protocol.ErrInviteRequired, say: "this node registers new accounts only with an invite code from its admin: give it with --invite"},
	{cause: protocol.ErrInviteInvalid, say: "the invite code is unknown, used up or expired; ask the node's admin for a new one"},
	{cause: protocol.ErrRegistrationClosed, say: "this node takes no new registrations; ask its admin, or use another node"},
	{cause: errNoAdminSocket, say: "no admin socket there: is the node running on this machine? Give its --data-dir, or --socket if it runs with another --admin-socket"},
	{cause: errAdminDenied, say: "the admin socket is for the node's user and root only: run this as one of them"},
	{cause: errBadExpiry, say: "--expires wants a duration such as 7d, 12h or 30m, at most 365d"},
	{cause: protocol.ErrNoSession, say: "the node does not know this login any more; run the command again to log in"},
	{cause: protocol.ErrInternal, say: "the node failed on its side; try again, and tell its admin if it stays"},
	{cause: protocol.ErrMalformedAnswer, say: "the node gave an answer that breaks the protocol; this is a bug: run with --debug and report it"},
}

// wordedErrors find, in an error's chain, an error whose own text is
// written for people and carries what a sentence of userErrors would
// lose (which account removed this device, which certificate changed).
var wordedErrors = []func(error) (string, bool){
	wordedAs[*client.KnownNodeChangedError],
	wordedAs[*client.ClosedByNodeError],
	wordedAs[*client.AmbiguousServerError],
	// Whose keys the key transparency log refused, from which node.
	wordedAs[*client.KeyRefusedError],
}

// wordedAs finds an error of type E in err's chain and returns its text.
func wordedAs[E error](err error) (string, bool) {
	var e E
	if errors.As(err, &e) {
		return e.Error(), true
	}
	return "", false
}

// userError is a cause and what a person reads about it.
type userError struct {
	cause error
	say   string
	// nodeWords adds what the node said (protocol.RemoteError's message):
	// for forged keys, who signed them for whom, which the admin needs.
	nodeWords bool
}

// sayError is what a person reads about err: the sentence of its cause
// when it has one in userErrors, else its own text (a reason written for
// people, such as a flag mistake), always through termtext.Safe, since an
// error may quote what a node or another user sent. A bad request the
// node refused keeps its reason: it is the one cause whose reason is the
// useful part; one of ours (a --domain that is no domain) is its text.
func sayError(err error) string {
	var remote *protocol.RemoteError
	fromNode := errors.As(err, &remote)
	if fromNode && errors.Is(err, protocol.ErrBadRequest) {
		msg, prefix := remote.Message, protocol.ErrBadRequest.Error()+": "
		if i := strings.LastIndex(msg, prefix); i >= 0 {
			return termtext.Safe("the node refused the request: " + msg[i+len(prefix):])
		}
		return "the node refused the request as malformed (--debug shows the details)"
	}
	for _, worded := range wordedErrors {
		if text, ok := worded(err); ok {
			return termtext.Safe(text)
		}
	}
	for _, u := range userErrors {
		if !errors.Is(err, u.cause) {
			continue
		}
		if u.nodeWords && fromNode {
			return u.say + ": " + termtext.Safe(remote.Message)
		}
		return u.say
	}
	return termtext.Safe(err.Error())
}

// printErr prints err as one line for a person, headed by the command
// (prefix, such as "qpc send"); with --debug the chain follows it.
func printErr(w io.Writer, prefix string, err error) {
	say := sayError(err)
	fmt.Fprintf(w, "%s: %s\n", prefix, say)
	if debugErrors && say != termtext.Safe(err.Error()) {
		fmt.Fprintf(w, "%s: (--debug) %s\n", prefix, termtext.Safe(err.Error()))
	}
}
