package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/quicprochat/qpc/protocol"
)

// Enqueue stores msgs and returns one receipt per message, in order, once
// the transaction holding them is committed and synced. A message that
// cannot be stored gets an error in its receipt and does not affect the
// others: protocol.ErrUnknownUser, protocol.ErrMailboxFull (count or bytes over
// Options.Limits), protocol.ErrStoreFull (all mailboxes together at
// Options.Limits.TotalBytes; nothing stored is evicted), or
// ErrPayloadTooLarge.
//
// A message with a MeshID came through the store-and-forward mesh: it is
// stored only if its id is not in the seen-set (else a *protocol.SeenError
// receipt, also for a second message with the id in one batch) and the
// set is below Options.Mesh.MaxSeen (else an error wrapping
// protocol.ErrMeshFull), and once stored its id is in the seen-set as
// protocol.SeenDelivered until MeshExpires, in the same transaction. A message
// refused for another reason leaves its id out of the seen-set.
//
// Calls are group-committed: one goroutine collects the calls queued while
// it committed the previous batch and those that arrive within
// Options.BatchWindow (default none) of the oldest one it holds, or until it holds
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
// After Close, Enqueue fails with protocol.ErrStoreClosed; calls queued before
// Close are committed by it. The store keeps reading msgs' payloads only
// inside this call.
func (s *Store) Enqueue(ctx context.Context, msgs []protocol.NewMessage) ([]protocol.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(msgs) == 0 {
		if err := s.checkOpen("enqueue"); err != nil {
			return nil, err
		}
		return []protocol.Receipt{}, nil
	}
	// Encoding here copies the payloads, so the committer never reads
	// the caller's memory, and spreads the copying over the callers.
	recs := make([][]byte, len(msgs))
	for i, m := range msgs {
		recs[i] = encodeMessage(m)
	}
	req := &commitReq{
		op:   "enqueue",
		ctx:  ctx,
		msgs: msgs,
		recs: recs,
		done: make(chan commitResult, 1), // the committer never waits for us
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

// add stores one message, whose record is rec, and returns its receipt;
// the error is the transaction's failure. A message from the mesh is
// stored only if its id may enter the seen-set, and enters it only if it
// is stored.
func (w *commitTx) add(m protocol.NewMessage, rec []byte) (protocol.Receipt, error) {
	fromMesh := m.MeshID != protocol.MeshID{}
	if fromMesh {
		if err := w.openMesh(); err != nil {
			return protocol.Receipt{}, err
		}
		refusal, err := w.mesh.admitFrom(m.MeshID, m.MeshFrom)
		if err != nil {
			return protocol.Receipt{}, err
		}
		if refusal != nil {
			return protocol.Receipt{Err: fmt.Errorf("store: enqueue to %q: %w", m.Recipient, refusal)}, nil
		}
	}
	o, ok := w.owners[m.Recipient]
	if !ok {
		o.owner, o.user, o.err = queueOwner(w.tx, m.Recipient)
		w.owners[m.Recipient] = o
	}
	owner, user, err := o.owner, o.user, o.err
	if err != nil {
		if !isUnknownUser(err) && !errors.Is(err, protocol.ErrDeviceRevoked) {
			return protocol.Receipt{}, err
		}
		return protocol.Receipt{Err: fmt.Errorf("store: enqueue: %w", err)}, nil
	}
	box := w.boxes[owner]
	if box == nil {
		if box, err = openMailbox(w.tx, owner, true); err != nil {
			return protocol.Receipt{}, err
		}
		w.boxes[owner] = box
	}
	if box.acct = w.accts[user]; box.acct == nil {
		count, bytes, err := accountTotals(w.tx, user)
		if err != nil {
			return protocol.Receipt{}, err
		}
		box.acct = &acctTotals{count: count, bytes: bytes}
		w.accts[user] = box.acct
	}
	seq, refusal, err := box.add(rec, m.Expires, w.limits, w.mailBytes)
	if err != nil || refusal != nil {
		return protocol.Receipt{Err: refusal}, err
	}
	w.mailBytes += int64(len(m.Payload))
	if fromMesh {
		if err := w.mesh.addSeenFrom(m.MeshID, protocol.SeenDelivered, m.MeshExpires, m.MeshFrom); err != nil {
			return protocol.Receipt{}, err
		}
	}
	return protocol.Receipt{Seq: seq}, nil
}

// addAll stores an Enqueue call's messages.
func (w *commitTx) addAll(req *commitReq) (*commitResult, error) { return addEach(req, w.add) }

// addEach hands an Enqueue call's messages to add, one by one, and
// gathers their receipts: the bbolt path's and the write-ahead log's.
func addEach(req *commitReq, add func(protocol.NewMessage, []byte) (protocol.Receipt, error)) (*commitResult, error) {
	res := &commitResult{receipts: make([]protocol.Receipt, len(req.msgs))}
	for j, m := range req.msgs {
		r, err := add(m, req.recs[j])
		if err != nil {
			return nil, err
		}
		if r.Err == nil {
			res.stored++
		}
		res.receipts[j] = r
	}
	return res, nil
}
