package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
)

// Concurrent Enqueue calls of one client are coalesced: each RPC costs the
// node (and the client) a Cap'n Proto call of its own, far more than the
// message it carries, so the messages that wait while earlier calls are in
// flight go together in one batchEnqueue.
//
// At most maxSendCalls calls are in flight; a caller that finds fewer sends
// at once, so a lone message is never held back. A call of one message is
// a plain enqueue, whose answer is that message's receipt or error.

// maxSendCalls is how many enqueue calls one client keeps in flight: two,
// so that one batch fills while the other waits on the node's disk.
const maxSendCalls = 2

// maxCoalesce bounds the messages of one coalesced call, well under the
// node's bound of a batch (node.Limits.MaxBatch, 1000 by default).
const maxCoalesce = 256

// sendQueue holds the Enqueue calls of a client that wait for a call.
type sendQueue struct {
	mu       sync.Mutex
	waiting  []*queuedSend
	inFlight int
	// calls counts the enqueue and batchEnqueue calls made, so that a
	// test can tell that messages shared them.
	calls int
}

// queuedSend is one Enqueue call waiting for its receipt.
type queuedSend struct {
	ctx  context.Context
	m    Outgoing
	done chan sendResult // buffered: the sender never waits for the caller
}

type sendResult struct {
	r   Receipt
	err error
}

// Enqueue puts one message in its recipient's mailbox and returns once the
// node has it on disk. Concurrent calls share RPCs (see sendQueue); the
// context bounds the wait, and a call whose context ends before its
// message was sent is not sent.
func (c *Client) Enqueue(ctx context.Context, m Outgoing) (Receipt, error) {
	if mc := c.msgStream(ctx); mc != nil && fitsStream([]Outgoing{m}, mc) {
		rs, err := mc.enqueue(ctx, []Outgoing{m})
		if err == nil {
			return rs[0], rs[0].Err
		}
		if !errors.Is(err, errStreamGone) {
			return Receipt{}, err
		}
	}
	s := &queuedSend{ctx: ctx, m: m, done: make(chan sendResult, 1)}
	q := &c.sends
	q.mu.Lock()
	q.waiting = append(q.waiting, s)
	lead := q.inFlight < maxSendCalls
	if lead {
		q.inFlight++
	}
	q.mu.Unlock()
	if lead && c.sendAlone(s) {
		go func() {
			for c.sendBatch() {
			}
		}()
	}
	select {
	case res := <-s.done:
		return res.r, res.err
	case <-ctx.Done():
		return Receipt{}, ctx.Err()
	}
}

// sendAlone sends s's message in a call of its own, in this goroutine,
// when it is all that waits: a lone message then costs no hop to another
// goroutine, and its caller's context bounds the call. It reports whether
// calls are left to send, by another goroutine, with s's place among the
// calls in flight; false means s gave its place up.
func (c *Client) sendAlone(s *queuedSend) (more bool) {
	q := &c.sends
	q.mu.Lock()
	if len(q.waiting) != 1 || q.waiting[0] != s {
		q.mu.Unlock()
		return true
	}
	q.waiting = q.waiting[:0]
	q.calls++
	q.mu.Unlock()
	r, err := c.enqueueOne(s.ctx, s.m)
	s.done <- sendResult{r, err}
	return c.stillWaiting()
}

// stillWaiting reports whether calls wait after one was answered, and
// gives up the sender's place among the calls in flight if none do.
func (c *Client) stillWaiting() bool {
	q := &c.sends
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.waiting) == 0 {
		q.inFlight--
		q.waiting = nil // let the drained backing array go
		return false
	}
	return true
}

// sendBatch sends one call of what waits, up to maxCoalesce messages and
// MaxBatchBytes, and reports whether more waits; when it reports false it
// has given up its place among the calls in flight.
func (c *Client) sendBatch() (more bool) {
	q := &c.sends
	q.mu.Lock()
	var batch []*queuedSend
	size, n := 0, 0
	for n < len(q.waiting) && len(batch) < maxCoalesce {
		s := q.waiting[n]
		sz := len(s.m.Payload) + len(s.m.Recipient) + batchEntryOverhead
		if len(batch) > 0 && size+sz > MaxBatchBytes {
			break
		}
		n++
		if s.ctx.Err() != nil {
			continue // its caller has gone: not sent
		}
		batch = append(batch, s)
		size += sz
	}
	clear(q.waiting[:n])
	q.waiting = q.waiting[n:]
	if len(batch) > 0 {
		q.calls++
	}
	if n == 0 {
		q.inFlight--
		q.waiting = nil // let the drained backing array go
		q.mu.Unlock()
		return false
	}
	q.mu.Unlock()
	switch len(batch) {
	case 0:
	case 1:
		r, err := c.enqueueOne(batch[0].ctx, batch[0].m)
		batch[0].done <- sendResult{r, err}
	default:
		c.enqueueCoalesced(batch)
	}
	return c.stillWaiting()
}

// enqueueOne is the enqueue RPC of one message.
func (c *Client) enqueueOne(ctx context.Context, m Outgoing) (Receipt, error) {
	fut, release := c.node.Enqueue(ctx, func(p schemas.NodeService_enqueue_Params) error {
		w, err := p.NewEnvelope()
		if err != nil {
			return err
		}
		return protocol.EnvelopeToWire(m, w)
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return Receipt{}, c.callErr("send to "+m.Recipient, err)
	}
	w, err := res.Receipt()
	if err != nil {
		return Receipt{}, err
	}
	// The node fails the call for a message it refuses, so an error here
	// is a receipt it garbled.
	r := receiptFromWire(w)
	return r, r.Err
}

// enqueueCoalesced sends batch in one batchEnqueue and answers each
// caller with its message's receipt, or the call's error. The call runs
// until the last of its callers' deadlines (none if one has none): one
// caller giving up must not fail the others' messages.
func (c *Client) enqueueCoalesced(batch []*queuedSend) {
	ctx, cancel := batchContext(batch)
	defer cancel()
	msgs := make([]Outgoing, len(batch))
	for i, s := range batch {
		msgs[i] = s.m
	}
	fut, release := c.node.BatchEnqueue(ctx, func(p schemas.NodeService_batchEnqueue_Params) error {
		return protocol.EnvelopesToWire(msgs, p.NewEnvelopes)
	})
	defer release()
	fail := func(err error) {
		for _, s := range batch {
			s.done <- sendResult{err: c.callErr("send to "+s.m.Recipient, err)}
		}
	}
	res, err := fut.Struct()
	if err != nil {
		fail(err)
		return
	}
	list, err := res.Receipts()
	if err == nil && list.Len() != len(batch) {
		err = fmt.Errorf("%w: %d receipts for %d messages", protocol.ErrMalformedAnswer, list.Len(), len(batch))
	}
	if err != nil {
		fail(err)
		return
	}
	for i, s := range batch {
		r := receiptFromWire(list.At(i))
		if r.Err != nil {
			r.Err = fmt.Errorf("send to %s: %w", s.m.Recipient, r.Err)
		}
		s.done <- sendResult{r, r.Err}
	}
}

// batchContext is the context of a coalesced call: not cancelled by any
// one caller, ending at the latest of their deadlines.
func batchContext(batch []*queuedSend) (context.Context, context.CancelFunc) {
	var latest time.Time
	for _, s := range batch {
		d, ok := s.ctx.Deadline()
		if !ok {
			return context.WithCancel(context.Background())
		}
		if d.After(latest) {
			latest = d
		}
	}
	return context.WithDeadline(context.Background(), latest)
}
