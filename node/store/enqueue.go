package store

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/node"
)

// enqueueReq is one Enqueue call waiting for the committer.
type enqueueReq struct {
	ctx     context.Context
	msgs    []node.NewMessage
	recs    [][]byte  // encoded records, made by the caller
	arrived time.Time // when the call was queued
	done    chan enqueueResult
}

type enqueueResult struct {
	receipts []node.Receipt
	err      error
}

// Enqueue stores msgs and returns one receipt per message, in order, once
// the transaction holding them is committed and synced. A message that
// cannot be stored gets an error in its receipt and does not affect the
// others: node.ErrUnknownUser, node.ErrMailboxFull (count or bytes over
// Options.Limits), or ErrPayloadTooLarge.
//
// Calls are group-committed: one goroutine collects the calls that arrive
// within Options.BatchWindow of the oldest one it holds, or until it holds
// Options.BatchSize messages, and writes them in one transaction, so many
// concurrent callers share one sync. An error of that transaction fails
// every call in it, and then none of their messages is stored.
//
// The context bounds the wait. If ctx ends before the call's batch
// commits, Enqueue returns ctx.Err() at once. The outcome is then unknown:
// a call whose ctx ended before the committer took it is skipped, but one
// the committer had already written into the batch is stored when that
// batch commits, and its messages are delivered as usual. Callers that
// retry after a context error may therefore store a message twice; the
// end-to-end layer tells duplicates apart by their message id.
//
// After Close, Enqueue fails with node.ErrStoreClosed; calls queued before
// Close are committed by it. The store keeps reading msgs' payloads only
// inside this call.
func (s *Store) Enqueue(ctx context.Context, msgs []node.NewMessage) ([]node.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(msgs) == 0 {
		s.mu.RLock()
		closed := s.closed
		s.mu.RUnlock()
		if closed {
			return nil, fmt.Errorf("store: enqueue: %w", node.ErrStoreClosed)
		}
		return []node.Receipt{}, nil
	}
	// Encoding here copies the payloads, so the committer never reads
	// the caller's memory, and spreads the copying over the callers.
	recs := make([][]byte, len(msgs))
	for i, m := range msgs {
		recs[i] = encodeMessage(m)
	}
	req := &enqueueReq{
		ctx:  ctx,
		msgs: msgs,
		recs: recs,
		done: make(chan enqueueResult, 1), // the committer never waits for us
	}
	if err := s.submit(req); err != nil {
		return nil, err
	}
	select {
	case res := <-req.done:
		return res.receipts, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// submit queues req for the committer. Holding mu for reading while sending
// guarantees Close that nothing is sent after it set closed, so the
// committer's final drain sees every queued request.
func (s *Store) submit(req *enqueueReq) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return fmt.Errorf("store: enqueue: %w", node.ErrStoreClosed)
	}
	req.arrived = time.Now()
	s.queued.Add(1)
	select {
	case s.reqs <- req:
		return nil
	case <-req.ctx.Done():
		s.queued.Add(-1)
		return req.ctx.Err()
	}
}

// commitLoop is the committer: it cuts batches and commits them until Close,
// then commits what is still queued and returns.
func (s *Store) commitLoop() {
	defer close(s.loopDone)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var batch []*enqueueReq
	for {
		clear(batch) // let answered calls and their payloads go
		batch = batch[:0]
		select {
		case req := <-s.reqs:
			batch = append(batch, req)
		case <-s.stop:
			s.drain()
			return
		}
		n := len(batch[0].msgs)
		// The window runs from the oldest call's arrival: a call that
		// already waited through the previous commit does not wait again.
		timer.Reset(time.Until(batch[0].arrived.Add(s.opts.BatchWindow)))
		stopping := false
	collect:
		for n < s.opts.BatchSize {
			// Take what is already queued first: a select between a
			// queued call and a fired timer would pick at random and
			// cut batches short under load.
			select {
			case req := <-s.reqs:
				batch = append(batch, req)
				n += len(req.msgs)
				continue
			default:
			}
			select {
			case req := <-s.reqs:
				batch = append(batch, req)
				n += len(req.msgs)
			case <-timer.C:
				break collect
			case <-s.stop:
				stopping = true
				break collect
			}
		}
		if !timer.Stop() {
			select { // drain a fire that raced with the cut
			case <-timer.C:
			default:
			}
		}
		s.commit(batch)
		if stopping {
			s.drain()
			return
		}
	}
}

// drain commits every queued request, in batches of BatchSize messages.
// Close has set closed, so no request arrives any more.
func (s *Store) drain() {
	for {
		var batch []*enqueueReq
		n := 0
	take:
		for n < s.opts.BatchSize {
			select {
			case req := <-s.reqs:
				batch = append(batch, req)
				n += len(req.msgs)
			default:
				break take
			}
		}
		if len(batch) == 0 {
			return
		}
		s.commit(batch)
	}
}

// commit writes batch in one transaction and answers every caller in it.
func (s *Store) commit(batch []*enqueueReq) {
	results := make([][]node.Receipt, len(batch))
	nStored := 0
	start := time.Now()
	err := s.db.Update(func(tx *bolt.Tx) error {
		boxes := map[string]*mailbox{}
		for i, req := range batch {
			results[i] = nil
			if req.ctx.Err() != nil {
				continue // the caller is gone and was told ctx.Err()
			}
			receipts := make([]node.Receipt, len(req.msgs))
			for j, m := range req.msgs {
				box := boxes[m.Recipient]
				if box == nil {
					var err error
					box, err = openMailbox(tx, m.Recipient)
					if err != nil {
						receipts[j].Err = fmt.Errorf("store: enqueue: %w", err)
						if !isUnknownUser(err) {
							return err
						}
						continue
					}
					boxes[m.Recipient] = box
				}
				seq, rerr, err := box.add(req.recs[j], m.Expires, s.opts.Limits)
				if err != nil {
					return err
				}
				receipts[j] = node.Receipt{Seq: seq, Err: rerr}
				if rerr == nil {
					nStored++
				}
			}
			results[i] = receipts
		}
		for _, box := range boxes {
			if err := box.saveMeta(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil && s.opts.OnCommit != nil {
		s.opts.OnCommit(nStored, time.Since(start))
	}
	s.queued.Add(-int64(len(batch)))
	for i, req := range batch {
		if err != nil {
			req.done <- enqueueResult{err: fmt.Errorf("store: enqueue: %w", err)}
			continue
		}
		if results[i] == nil {
			req.done <- enqueueResult{err: req.ctx.Err()}
			continue
		}
		req.done <- enqueueResult{receipts: results[i]}
	}
}
