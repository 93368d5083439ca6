package store

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

// expireChunk bounds the entries one Expire transaction removes, so that a
// large backlog does not make one huge transaction.
const expireChunk = 4096

// maxPayload is the largest payload whose record bbolt can store.
const maxPayload = bolt.MaxValueSize - messageHeader

// mailbox is one queue of an account inside a write transaction: the
// bare user's or a device's (see queueOwner).
type mailbox struct {
	// user is the queue's owner key, "user" or "user#device".
	user   string
	msgs   *bolt.Bucket
	meta   queueMeta
	expiry *bolt.Bucket
	// acct is the totals of the queue's account, for Enqueue's bounds;
	// nil elsewhere.
	acct *acctTotals
	// freed counts the payload bytes remove took out, for Store.mailBytes
	// once the transaction commits.
	freed uint64
}

// acctTotals are the messages and payload bytes of all queues of one
// account.
type acctTotals struct {
	count, bytes uint64
}

// openMailbox returns the queue filed under owner (see queueOwner);
// protocol.ErrUnknownUser if its account does not exist. A device's queue
// that does not exist yet is made when create is set, and is an empty
// mailbox with a nil msgs bucket otherwise; the bare user's must exist.
func openMailbox(tx *bolt.Tx, owner string, create bool) (*mailbox, error) {
	user := accountOf(owner)
	if err := hasAccount(tx, user); err != nil {
		return nil, err
	}
	u := []byte(owner)
	msgs := tx.Bucket(bucketMailboxes).Bucket(u)
	rawMeta := tx.Bucket(bucketMailboxMeta).Get(u)
	m := &mailbox{user: owner, msgs: msgs, expiry: tx.Bucket(bucketMsgExpiry)}
	if msgs == nil && rawMeta == nil && owner != user {
		if !create {
			return m, nil
		}
		var err error
		if m.msgs, err = tx.Bucket(bucketMailboxes).CreateBucket(u); err != nil {
			return nil, err
		}
		m.appendOnly()
		return m, nil
	}
	if msgs == nil || rawMeta == nil {
		return nil, fmt.Errorf("%w: queue %q has no mailbox", ErrCorrupt, owner)
	}
	meta, err := decodeQueueMeta(rawMeta)
	if err != nil {
		return nil, err
	}
	m.meta = meta
	m.appendOnly()
	return m, nil
}

// appendOnlyFill is the fill of a page that a split of a mailbox's
// buckets leaves behind. Messages are put at the end of their queue's
// bucket and mostly at the end of the expiry index, so a page left half
// empty by bbolt's default split (0.5) is never filled again: it only
// makes the next commit write more pages. Measured on bbolt with 16 queues
// and 80 messages per commit, acks included, full splits write 45 pages
// per commit instead of 52.
const appendOnlyFill = 1.0

// appendOnly sets the fill of m's buckets for this transaction (bbolt
// does not keep it).
func (m *mailbox) appendOnly() {
	if m.msgs != nil {
		m.msgs.FillPercent = appendOnlyFill
	}
	m.expiry.FillPercent = appendOnlyFill
}

// saveMeta writes the mailbox's bookkeeping back.
func (m *mailbox) saveMeta(tx *bolt.Tx) error {
	return tx.Bucket(bucketMailboxMeta).Put([]byte(m.user), encodeQueueMeta(m.meta))
}

// add stores one encoded message record after checking the limits, and
// returns its sequence number. A limit gives a receipt error and changes
// nothing; other errors are bbolt's and fail the transaction.
// total is the payload bytes of all mailboxes, which must stay within
// limits.TotalBytes; the caller adds size to it when the message is stored.
func (m *mailbox) add(rec []byte, expires time.Time, limits node.MailboxLimits, total int64) (seq uint64, receiptErr, err error) {
	size := uint64(len(rec) - messageHeader)
	acct := m.acct
	if acct == nil {
		acct = &acctTotals{count: m.meta.count, bytes: m.meta.bytes}
	}
	if refusal := admit(m.user, size, acct, limits, total); refusal != nil {
		return 0, refusal, nil
	}
	seq = m.meta.lastSeq + 1
	if err := m.msgs.Put(seqKey(seq), rec); err != nil {
		return 0, nil, err
	}
	if err := m.expiry.Put(seqExpiryKey(expires, seq, m.user), nil); err != nil {
		return 0, nil, err
	}
	m.meta.lastSeq = seq
	m.meta.count++
	m.meta.bytes += size
	acct.count++
	acct.bytes += size
	return seq, nil, nil
}

// admit checks that a message of size payload bytes fits queue's
// account, whose totals are acct, and the node, whose mailboxes hold
// total bytes; the refusal is a receipt's error.
func admit(queue string, size uint64, acct *acctTotals, limits node.MailboxLimits, total int64) error {
	if size > uint64(limits.MaxBytes) || size > maxPayload {
		return fmt.Errorf("store: enqueue to %q: %w: %d bytes, a mailbox holds %d",
			queue, ErrPayloadTooLarge, size, limits.MaxBytes)
	}
	if acct.count+1 > uint64(limits.MaxMessages) || acct.bytes+size > uint64(limits.MaxBytes) {
		return fmt.Errorf("store: enqueue to %q: %w: the account's queues hold %d messages, %d bytes",
			queue, protocol.ErrMailboxFull, acct.count, acct.bytes)
	}
	if total+int64(size) > limits.TotalBytes {
		// The message names the bound, not what the node holds: senders
		// need not learn the node's traffic.
		return fmt.Errorf("store: enqueue to %q: %w: the node holds at most %d bytes of messages",
			queue, protocol.ErrStoreFull, limits.TotalBytes)
	}
	return nil
}

// stored is what removing a message needs to know of it.
type stored struct {
	seq     uint64
	expires time.Time
	size    uint64
}

// readStored decodes what remove needs from message seq's record.
func (m *mailbox) readStored(seq uint64, rec []byte) (stored, error) {
	expires, payload, err := decodeMessageHeader(rec)
	if err != nil {
		return stored{}, fmt.Errorf("message %d of %q: %w", seq, m.user, err)
	}
	return stored{seq: seq, expires: expires, size: uint64(len(payload))}, nil
}

// remove deletes a message and its expiry entry. The caller saves the
// meta.
func (m *mailbox) remove(e stored) error {
	if m.meta.count == 0 || m.meta.bytes < e.size {
		return fmt.Errorf("%w: mailbox %q counts fewer messages or bytes than it holds", ErrCorrupt, m.user)
	}
	m.meta.count--
	m.meta.bytes -= e.size
	m.freed += e.size
	seq, expires := e.seq, e.expires
	if err := m.expiry.Delete(seqExpiryKey(expires, seq, m.user)); err != nil {
		return err
	}
	return m.msgs.Delete(seqKey(seq))
}

// Fetch returns up to limit messages of queue ("user" or "user#device")
// with sequence numbers above afterSeq, in order, leaving out messages
// that have expired by Options.Now (Expires not after it) but are not yet
// collected. A limit of 0 or less returns none.
func (s *Store) Fetch(queue string, afterSeq uint64, limit int) ([]protocol.Message, error) {
	var out []protocol.Message
	err := s.viewMail("fetch", func(tx *bolt.Tx, ov map[string]*walQueue) error {
		owner, _, err := queueOwner(tx, queue)
		if err != nil {
			return err
		}
		b := tx.Bucket(bucketMailboxes).Bucket([]byte(owner))
		q := ov[owner]
		if b == nil && q == nil {
			if owner != accountOf(owner) {
				return nil // a device that has had no message yet
			}
			return fmt.Errorf("%w: account %q has no mailbox", ErrCorrupt, owner)
		}
		if limit <= 0 || afterSeq == ^uint64(0) {
			return nil
		}
		now := s.opts.Now()
		if q != nil {
			out, err = fetchOverlay(out, b, q, afterSeq, limit, now)
			return err
		}
		c := b.Cursor()
		for k, v := c.Seek(seqKey(afterSeq + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			seq, err := parseSeqKey(k)
			if err != nil {
				return err
			}
			m, err := decodeMessage(seq, v)
			if err != nil {
				return fmt.Errorf("message %d of %q: %w", seq, owner, err)
			}
			if !m.Expires.After(now) {
				continue
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// viewMail runs fn in a read transaction unless the store is closed, with
// the write-ahead log's overlay (nil without a log), which neither changes
// while fn runs nor disagrees with the transaction.
func (s *Store) viewMail(op string, fn func(tx *bolt.Tx, ov map[string]*walQueue) error) error {
	if s.wal == nil {
		return s.view(op, func(tx *bolt.Tx) error { return fn(tx, nil) })
	}
	// mu before ovMu, as update takes them: Close waiting for mu must
	// not find a reader that holds ovMu and waits for mu.
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return fmt.Errorf("store: %s: %w", op, protocol.ErrStoreClosed)
	}
	s.ovMu.RLock()
	defer s.ovMu.RUnlock()
	if err := s.db.View(func(tx *bolt.Tx) error { return fn(tx, s.wal.queues) }); err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	return nil
}

// Ack removes queue's messages with sequence numbers up to and including
// uptoSeq and returns how many it removed. Sequence numbers stay used.
//
// Acks are group-committed with enqueues (see Enqueue): an ack shares the
// sync of the messages that arrive with it instead of taking the write
// lock for a sync of its own, which held up every enqueue behind it.
func (s *Store) Ack(queue string, uptoSeq uint64) (removed int, err error) {
	req := &commitReq{op: "ack", ctx: context.Background(), ack: &ackReq{queue: queue, upto: uptoSeq},
		done: make(chan commitResult, 1)}
	if err := s.submit(req); err != nil {
		return 0, err
	}
	res := <-req.done
	if res.err != nil {
		return 0, res.err
	}
	return res.removed, nil
}

// ackReq is an Ack call's part of a commitReq.
type ackReq struct {
	queue string
	upto  uint64
}

// ack removes an Ack call's messages inside the group commit. What the
// caller asked wrongly (an unknown queue, a corrupt count) is its answer;
// only bbolt's errors fail the transaction.
func (w *commitTx) ack(req *commitReq) (*commitResult, error) {
	fail := func(err error) (*commitResult, error) {
		return &commitResult{err: fmt.Errorf("store: ack: %w", err)}, nil
	}
	owner, user, err := queueOwner(w.tx, req.ack.queue)
	if err != nil {
		return fail(err)
	}
	m := w.boxes[owner]
	if m == nil {
		if m, err = openMailbox(w.tx, owner, false); err != nil {
			return fail(err)
		}
		if m.msgs == nil {
			return &commitResult{}, nil // a device that has had no message yet
		}
		w.boxes[owner] = m
	}
	// Collect first: deleting under a live cursor is not safe to iterate
	// after.
	var doomed []stored
	var size uint64
	c := m.msgs.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		seq, err := parseSeqKey(k)
		if err != nil {
			return fail(err)
		}
		if seq > req.ack.upto {
			break
		}
		e, err := m.readStored(seq, v)
		if err != nil {
			return fail(err)
		}
		doomed = append(doomed, e)
		size += e.size
	}
	if len(doomed) == 0 {
		return &commitResult{}, nil
	}
	// Checked before the first delete, so that a corrupt count refuses
	// this ack alone and the batch's other calls commit.
	if m.meta.count < uint64(len(doomed)) || m.meta.bytes < size {
		return fail(fmt.Errorf("%w: mailbox %q counts fewer messages or bytes than it holds", ErrCorrupt, owner))
	}
	for _, e := range doomed {
		if err := m.remove(e); err != nil {
			return nil, err
		}
	}
	// Written now, not only at flush, so that accountTotals of a later
	// enqueue in this batch reads the queue without these messages.
	if err := m.saveMeta(w.tx); err != nil {
		return nil, err
	}
	if a := w.accts[user]; a != nil {
		a.count -= uint64(len(doomed))
		a.bytes -= size
	}
	w.mailBytes -= int64(size)
	return &commitResult{removed: len(doomed)}, nil
}

// Depth returns how many messages and payload bytes queue holds,
// counting expired ones not yet collected.
func (s *Store) Depth(queue string) (messages int, bytes int64, err error) {
	meta, err := s.mailboxMeta("depth", queue)
	return int(meta.count), int64(meta.bytes), err
}

// LastSeq returns the sequence number of the last message ever put in
// queue (0 if none).
func (s *Store) LastSeq(queue string) (uint64, error) {
	meta, err := s.mailboxMeta("last seq", queue)
	return meta.lastSeq, err
}

func (s *Store) mailboxMeta(op, queue string) (queueMeta, error) {
	var meta queueMeta
	err := s.viewMail(op, func(tx *bolt.Tx, ov map[string]*walQueue) error {
		owner, _, err := queueOwner(tx, queue)
		if err != nil {
			return err
		}
		if q := ov[owner]; q != nil {
			meta = q.meta
			return nil
		}
		raw := tx.Bucket(bucketMailboxMeta).Get([]byte(owner))
		if raw == nil {
			if owner != accountOf(owner) {
				return nil // a device that has had no message yet
			}
			return fmt.Errorf("%w: account %q has no mailbox", ErrCorrupt, owner)
		}
		meta, err = decodeQueueMeta(raw)
		return err
	})
	if err != nil {
		return queueMeta{}, err
	}
	return meta, nil
}

// Expire removes messages whose Expires is not after now, sessions that
// expired and holds on deleted names that ended, and returns how many messages it removed. It walks the
// expiry indexes, so its cost is in what it removes, not in what the store
// holds; it commits every expireChunk removals, so a failure part way
// leaves the earlier chunks removed.
func (s *Store) Expire(now time.Time) (messages int, err error) {
	for {
		n, more, err := s.expireMessages(now)
		messages += n
		if err != nil {
			return messages, err
		}
		if !more {
			break
		}
	}
	for {
		more, err := s.expireSessions(now)
		if err != nil {
			return messages, err
		}
		if !more {
			break
		}
	}
	return messages, s.expireNameHolds(now)
}

// expireMessages removes up to expireChunk expired messages in one
// transaction and reports whether there may be more.
func (s *Store) expireMessages(now time.Time) (removed int, more bool, err error) {
	err = s.update("expire", func(tx *bolt.Tx) error {
		removed, more = 0, false
		type entry struct {
			seq  uint64
			user string
		}
		var doomed []entry
		c := tx.Bucket(bucketMsgExpiry).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			expires, seq, user, err := parseSeqExpiryKey(k)
			if err != nil {
				return err
			}
			if expires.After(now) {
				break
			}
			if len(doomed) == s.expireChunk {
				more = true
				break
			}
			doomed = append(doomed, entry{seq, user})
		}
		boxes := map[string]*mailbox{}
		for _, e := range doomed {
			m := boxes[e.user]
			if m == nil {
				var err error
				if m, err = openMailbox(tx, e.user, false); err == nil && m.msgs == nil {
					err = fmt.Errorf("queue %q has none", e.user)
				}
				if err != nil {
					return fmt.Errorf("%w: expiry entry of message %d: %v", ErrCorrupt, e.seq, err)
				}
				boxes[e.user] = m
			}
			rec := m.msgs.Get(seqKey(e.seq))
			if rec == nil {
				return fmt.Errorf("%w: expiry entry for missing message %d of %q", ErrCorrupt, e.seq, e.user)
			}
			st, err := m.readStored(e.seq, rec)
			if err != nil {
				return err
			}
			if err := m.remove(st); err != nil {
				return err
			}
		}
		var freed int64
		for _, m := range boxes {
			if err := m.saveMeta(tx); err != nil {
				return err
			}
			freed += int64(m.freed)
		}
		tx.OnCommit(func() { s.mailBytes.Add(-freed) })
		removed = len(doomed)
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	return removed, more, nil
}

// deleteMailbox removes user's messages, their expiry entries and the
// mailbox itself.
func deleteMailbox(tx *bolt.Tx, user string) error {
	u := []byte(user)
	msgs := tx.Bucket(bucketMailboxes).Bucket(u)
	if msgs == nil {
		return nil
	}
	expiry := tx.Bucket(bucketMsgExpiry)
	var keys [][]byte
	err := msgs.ForEach(func(k, v []byte) error {
		seq, err := parseSeqKey(k)
		if err != nil {
			return err
		}
		expires, _, err := decodeMessageHeader(v)
		if err != nil {
			return fmt.Errorf("message %d of %q: %w", seq, user, err)
		}
		keys = append(keys, seqExpiryKey(expires, seq, user))
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := expiry.Delete(k); err != nil {
			return err
		}
	}
	return tx.Bucket(bucketMailboxes).DeleteBucket(u)
}
