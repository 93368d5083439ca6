package memstore

import (
	"context"
	"fmt"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

// mailbox is a user's messages, oldest (lowest Seq) first.
type mailbox struct {
	msgs    []protocol.Message
	lastSeq uint64
	bytes   int64
}

// Enqueue stores msgs, each on its own: a refused message gets its error
// in its receipt, as node.Mailboxes says. A message from the mesh is
// stored only if its id is new to the seen-set, which then records it.
func (s *Store) Enqueue(ctx context.Context, msgs []protocol.NewMessage) ([]protocol.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.lock("enqueue"); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	rs := make([]protocol.Receipt, len(msgs))
	for i, m := range msgs {
		rs[i] = s.enqueue(m)
	}
	return rs, nil
}

// enqueue stores one message; the caller holds the mutex.
func (s *Store) enqueue(m protocol.NewMessage) protocol.Receipt {
	fromMesh := m.MeshID != protocol.MeshID{}
	if fromMesh {
		if refusal := s.mesh.admit(s.opts.Mesh, m.MeshID, m.MeshFrom); refusal != nil {
			return protocol.Receipt{Err: fmt.Errorf("memstore: enqueue to %q: %w", m.Recipient, refusal)}
		}
	}
	a, o, err := s.owner(m.Recipient)
	if err != nil {
		return protocol.Receipt{Err: fmt.Errorf("memstore: enqueue: %w", err)}
	}
	limits, size := s.opts.Limits, int64(len(m.Payload))
	count, bytes := a.totals()
	switch {
	case size > limits.MaxBytes:
		return protocol.Receipt{Err: fmt.Errorf("memstore: enqueue to %q: %w: %d bytes, a mailbox holds %d",
			m.Recipient, ErrPayloadTooLarge, size, limits.MaxBytes)}
	case count+1 > limits.MaxMessages || bytes+size > limits.MaxBytes:
		return protocol.Receipt{Err: fmt.Errorf("memstore: enqueue to %q: %w: the account's queues hold %d messages, %d bytes",
			m.Recipient, protocol.ErrMailboxFull, count, bytes)}
	case s.mailTotal+size > limits.TotalBytes:
		return protocol.Receipt{Err: fmt.Errorf("memstore: enqueue to %q: %w: the node holds at most %d bytes of messages",
			m.Recipient, protocol.ErrStoreFull, limits.TotalBytes)}
	}
	box := a.queues[o]
	if box == nil {
		box = &mailbox{}
		a.queues[o] = box
	}
	box.lastSeq++
	box.msgs = append(box.msgs, protocol.Message{Seq: box.lastSeq, Payload: clone(m.Payload), Enqueued: m.Enqueued, Expires: m.Expires})
	box.bytes += size
	s.mailTotal += size
	if fromMesh {
		s.mesh.addSeen(m.MeshID, protocol.SeenDelivered, m.MeshExpires, m.MeshFrom)
	}
	return protocol.Receipt{Seq: box.lastSeq}
}

// queue returns the queue named queue ("user" or "user#device"), an empty
// one for a device that has had no message; the caller holds the mutex.
func (s *Store) queue(queue string) (*mailbox, error) {
	a, o, err := s.owner(queue)
	if err != nil {
		return nil, err
	}
	if q := a.queues[o]; q != nil {
		return q, nil
	}
	return &mailbox{}, nil
}

// Fetch returns up to limit of queue's unexpired messages after afterSeq.
func (s *Store) Fetch(queue string, afterSeq uint64, limit int) ([]protocol.Message, error) {
	if err := s.lock("fetch"); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	box, err := s.queue(queue)
	if err != nil {
		return nil, err
	}
	now := s.opts.Now()
	var out []protocol.Message
	for _, m := range box.msgs {
		if len(out) >= limit {
			break
		}
		if m.Seq <= afterSeq || !m.Expires.After(now) {
			continue
		}
		m.Payload = clone(m.Payload)
		out = append(out, m)
	}
	return out, nil
}

// Ack removes queue's messages up to and including uptoSeq.
func (s *Store) Ack(queue string, uptoSeq uint64) (removed int, err error) {
	if err := s.lock("ack"); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	box, err := s.queue(queue)
	if err != nil {
		return 0, err
	}
	return s.removeMessages(box, func(m protocol.Message) bool { return m.Seq <= uptoSeq }), nil
}

// removeMessages removes the messages of box that doomed picks and
// returns how many; the caller holds the mutex.
func (s *Store) removeMessages(box *mailbox, doomed func(protocol.Message) bool) int {
	kept := box.msgs[:0]
	removed := 0
	for _, m := range box.msgs {
		if doomed(m) {
			box.bytes -= int64(len(m.Payload))
			s.mailTotal -= int64(len(m.Payload))
			removed++
			continue
		}
		kept = append(kept, m)
	}
	clear(box.msgs[len(kept):])
	box.msgs = kept
	return removed
}

// Depth returns how many messages and payload bytes queue holds, expired
// ones included until Expire removes them.
func (s *Store) Depth(queue string) (messages int, bytes int64, err error) {
	if err := s.lock("depth"); err != nil {
		return 0, 0, err
	}
	defer s.mu.Unlock()
	box, err := s.queue(queue)
	if err != nil {
		return 0, 0, err
	}
	return len(box.msgs), box.bytes, nil
}

// LastSeq returns the seq of the last message ever put in queue.
func (s *Store) LastSeq(queue string) (uint64, error) {
	if err := s.lock("last seq"); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	box, err := s.queue(queue)
	if err != nil {
		return 0, err
	}
	return box.lastSeq, nil
}

// Expire removes the messages and sessions that expired at now and the
// name holds that ended, and returns how many messages it removed.
func (s *Store) Expire(now time.Time) (messages int, err error) {
	if err := s.lock("expire"); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	for _, a := range s.accounts {
		for _, q := range a.queues {
			messages += s.removeMessages(q, func(m protocol.Message) bool { return !m.Expires.After(now) })
		}
	}
	for h, sess := range s.sessions {
		if !sess.Expires.After(now) {
			delete(s.sessions, h)
		}
	}
	for user, until := range s.holds {
		if !until.After(now) {
			delete(s.holds, user)
		}
	}
	return messages, nil
}
