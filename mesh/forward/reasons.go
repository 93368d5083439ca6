package forward

import (
	"errors"
	"fmt"

	"github.com/quicprochat/qpc/mesh/signed"
	"github.com/quicprochat/qpc/protocol"
)

// reasons is the one vocabulary of why an envelope is dropped or refused:
// for each reason, the word that counters, metric labels and logs use, and
// the protocol error whose wire code the previous hop and the origin's
// status are told. An envelope's checks fail with package signed's
// sentinels, which the first rows and fromSigned map; what the store, a
// mailbox or a link refuses already is a protocol error. The words are
// metric label values the docs list: do not rename them.
var reasons = []struct {
	err   error // matched with errors.Is, in order
	cause error // the protocol error the wire carries
	word  string
}{
	{signed.ErrExpired, protocol.ErrExpired, "expired"},
	{signed.ErrHopLimit, protocol.ErrHopLimit, "hop-limit"},
	{protocol.ErrExpired, protocol.ErrExpired, "expired"},
	{protocol.ErrHopLimit, protocol.ErrHopLimit, "hop-limit"},
	{protocol.ErrBadEnvelope, protocol.ErrBadEnvelope, "bad-envelope"},
	{protocol.ErrUnknownUser, protocol.ErrUnknownUser, "unknown-user"},
	{protocol.ErrNeighbourQuota, protocol.ErrNeighbourQuota, "neighbour-quota"},
	{protocol.ErrMeshFull, protocol.ErrMeshFull, "store-full"},
	{protocol.ErrMailboxFull, protocol.ErrMailboxFull, "mailbox-full"},
	{protocol.ErrRateLimited, protocol.ErrRateLimited, "rate-limited"},
	{protocol.ErrUnknownDomain, protocol.ErrUnknownDomain, "unknown-domain"},
	{protocol.ErrShuttingDown, protocol.ErrShuttingDown, "shutting-down"},
	{protocol.ErrPeerUnreachable, protocol.ErrPeerUnreachable, "link"},
}

// fromSigned is the row of every other failure of an envelope's checks
// (signature, version, clock, fields, malformed): to the nodes that sent
// or made it, the envelope was bad. Their finer words (signed.Reason)
// name post rejections; envelopes have counted them as one since the
// first release.
var fromSigned = struct {
	cause error
	word  string
}{protocol.ErrBadEnvelope, "bad-envelope"}

// reasonOf returns the word for err and the protocol error it is on the
// wire: "other" and nil for an error that is no reason of the table.
func reasonOf(err error) (word string, cause error) {
	if err == nil {
		return "other", nil
	}
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return r.word, r.cause
		}
	}
	var s *signed.Error
	if errors.As(err, &s) {
		return fromSigned.word, fromSigned.cause
	}
	return "other", nil
}

// reasonName is the word for err: a counter's, a metric label's, a log's.
func reasonName(err error) string {
	word, _ := reasonOf(err)
	return word
}

// nodeError returns err as the protocol error that the wire and the
// sender's status carry for it, err's text kept: an envelope's failed
// check becomes protocol.ErrExpired, ErrHopLimit or ErrBadEnvelope.
func nodeError(err error) error {
	if err == nil {
		return nil
	}
	_, cause := reasonOf(err)
	if cause == nil {
		cause = protocol.ErrBadEnvelope
	}
	if errors.Is(err, cause) {
		return err
	}
	return fmt.Errorf("%w: %v", cause, err)
}
