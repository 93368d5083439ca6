package federation

import (
	"context"
	"fmt"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

// Relays to one peer are coalesced: while calls are in flight, the
// messages of further client enqueues queue up and go out together in
// the next relayEnqueue, so that under load a link carries few large
// calls (one group commit each on the peer) instead of one round trip per
// message. Without load a message goes out at once.
const (
	// relayBatch is the most messages in one relayEnqueue (the peer's
	// bound is 1000).
	relayBatch = 256
	// relaysInFlight is how many relayEnqueue calls a link runs at once.
	relaysInFlight = 4
)

// relayRequest is one caller's messages waiting to be relayed.
type relayRequest struct {
	msgs []protocol.Outgoing
	done chan relayResult // buffered: the sender never blocks on it
}

type relayResult struct {
	receipts []protocol.Receipt
	err      error
}

// relayFunc makes one relayEnqueue call: link.relay on a link, a fake in
// the tests of the coalescing, which need no QUIC.
type relayFunc func(ctx context.Context, msgs []protocol.Outgoing) ([]protocol.Receipt, error)

// startRelays runs the link's relay senders until the link ends.
func (l *link) startRelays(timeout time.Duration) {
	l.runRelays(l.conn.Context(), timeout, l.relay)
}

// runRelays runs relaysInFlight senders that make their calls with send,
// each bounded by timeout within base, until l.done is closed.
func (l *link) runRelays(base context.Context, timeout time.Duration, send relayFunc) {
	l.relays = make(chan *relayRequest, relayBatch)
	for range relaysInFlight {
		go l.relaySender(base, timeout, send)
	}
}

// enqueueRelay hands msgs to the link's senders and waits for their
// receipts, or for ctx. A caller that gives up does not take its messages
// back: the peer may still store them.
func (l *link) enqueueRelay(ctx context.Context, msgs []protocol.Outgoing) ([]protocol.Receipt, error) {
	req := &relayRequest{msgs: msgs, done: make(chan relayResult, 1)}
	select {
	case l.relays <- req:
	case <-l.done:
		return nil, &linkError{domain: l.domain, err: errLinkClosed}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case r := <-req.done:
		return r.receipts, r.err
	case <-l.done:
		// The link is gone: a call of it in flight fails too, and a
		// request queued after the senders stopped would wait forever.
		return nil, &linkError{domain: l.domain, err: errLinkClosed}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// relaySender takes one request, adds whatever else is already waiting up
// to relayBatch messages, relays them in one call and hands each caller
// its receipts.
func (l *link) relaySender(base context.Context, timeout time.Duration, send relayFunc) {
	for {
		var first *relayRequest
		select {
		case first = <-l.relays:
		case <-l.done:
			l.failWaiting()
			return
		}
		batch := []*relayRequest{first}
		n := len(first.msgs)
	fill:
		for n < relayBatch {
			select {
			case req := <-l.relays:
				batch = append(batch, req)
				n += len(req.msgs)
			default:
				break fill
			}
		}
		msgs := make([]protocol.Outgoing, 0, n)
		for _, req := range batch {
			msgs = append(msgs, req.msgs...)
		}
		ctx, cancel := context.WithTimeout(base, timeout)
		receipts, err := send(ctx, msgs)
		cancel()
		if err == nil && len(receipts) != len(msgs) {
			// link.relay checks this; a sender that did not would make
			// the callers' slices below run out.
			err = fmt.Errorf("%w: %s answered %d receipts for %d messages", protocol.ErrPeerUnreachable, l.domain, len(receipts), len(msgs))
		}
		for _, req := range batch {
			if err != nil {
				req.done <- relayResult{err: err}
				continue
			}
			req.done <- relayResult{receipts: receipts[:len(req.msgs)]}
			receipts = receipts[len(req.msgs):]
		}
	}
}

// failWaiting answers the requests still queued when the link ends.
func (l *link) failWaiting() {
	for {
		select {
		case req := <-l.relays:
			req.done <- relayResult{err: &linkError{domain: l.domain, err: errLinkClosed}}
		default:
			return
		}
	}
}
