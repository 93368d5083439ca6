package store

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

// The write-ahead log of the mailbox hot path (see "Write-ahead log" in
// the package doc): the committer appends a group's enqueues and acks to
// the log with one write and one sync instead of a bbolt transaction, and
// keeps their effect in memory (the overlay) until a checkpoint folds it
// into bbolt.

// WALSuffix is appended to the store file's path to name its write-ahead
// log (qpc.db.wal beside qpc.db).
const WALSuffix = ".wal"

const (
	// DefaultWALMaxBytes is the size of the write-ahead log at which the
	// committer checkpoints: it bounds the memory the overlay holds.
	DefaultWALMaxBytes = 4 << 20
	// DefaultWALMaxAge is how long a record waits in the log, at most,
	// before a checkpoint writes it into bbolt.
	DefaultWALMaxAge = time.Second
)

// keyWALGen is the key, in meta, of the generation of the last log folded
// into bbolt: replay skips a log of that generation or older.
var keyWALGen = []byte("wal")

// walQueue is one queue's state in the overlay: what bbolt holds of it,
// changed by the log's records since the last checkpoint.
type walQueue struct {
	owner, user string
	// base is bbolt's queue record when the queue entered the overlay
	// (zero for a device's queue bbolt does not have yet); bbolt does not
	// change while the queue is in the overlay, since every other write
	// folds the overlay first.
	base queueMeta
	// meta is the queue's record with the log's changes.
	meta queueMeta
	// acked is the highest seq acked: bbolt's messages up to it are gone.
	acked uint64
	// msgs are the messages only the log holds, in seq order, not acked.
	msgs []walMsg
}

// walMsg is a message only the log holds.
type walMsg struct {
	seq     uint64
	expires time.Time
	rec     []byte // the message record, as bbolt would store it
}

func (m walMsg) size() uint64 { return uint64(len(m.rec) - messageHeader) }

// walLog is the log file and the overlay. The holder of Store.foldMu
// writes both; it changes queues only with Store.ovMu held for writing,
// and readers of queues hold ovMu for reading.
type walLog struct {
	path string
	f    *os.File
	gen  uint64
	// size is where the next frame goes: the header and the whole frames
	// written since the last checkpoint.
	size   int64
	queues map[string]*walQueue
	// broken is set when the log could not be written or restarted: the
	// committer then writes to bbolt, as without a log.
	broken error
	buf    []byte
	// written counts the frame bytes ever appended, for benchmarks.
	written int64
}

// dirty reports whether the log holds records not yet folded into bbolt.
func (l *walLog) dirty() bool { return l.size > walHeaderLen || len(l.queues) > 0 }

// append writes one group's frame at the log's end and syncs it. On
// failure the frame is cut off again, so that no record of a call that
// was told it failed is replayed; if even that fails the log is broken.
func (l *walLog) append(entries []walEntry) error {
	l.buf = appendWALGroup(l.buf[:0], entries)
	_, err := l.f.WriteAt(l.buf, l.size)
	if err == nil {
		err = datasync(l.f)
	}
	if len(l.buf) > 1<<20 {
		l.buf = nil // do not keep one large group's buffer for ever
	}
	if err != nil {
		if terr := l.f.Truncate(l.size); terr != nil {
			l.broken = fmt.Errorf("write-ahead log: %w", terr)
		}
		return fmt.Errorf("write-ahead log: %w", err)
	}
	l.size += int64(len(l.buf))
	l.written += int64(len(l.buf))
	return nil
}

// restart begins generation gen on an empty log: after a checkpoint
// committed, or at Open.
func (l *walLog) restart(gen uint64) error {
	if err := l.f.Truncate(0); err != nil {
		return err
	}
	if _, err := l.f.WriteAt(encodeWALHeader(gen), 0); err != nil {
		return err
	}
	if err := datasync(l.f); err != nil {
		return err
	}
	l.gen = gen
	l.size = walHeaderLen
	return nil
}

// walTx is one group's changes to the overlay, staged against a bbolt
// read transaction until the group's frame is synced.
type walTx struct {
	tx     *bolt.Tx
	log    *walLog
	limits node.MailboxLimits
	stages map[string]*walStage
	accts  map[string]*acctTotals
	owners map[string]ownerOf
	// mailBytes is the payload bytes of all mailboxes with the group's
	// changes.
	mailBytes int64
	entries   []walEntry
}

// walStage is one queue's staged state: a copy of its overlay entry (or
// of bbolt's record), drop messages fewer at the front and add more at
// the end.
type walStage struct {
	walQueue
	cur  *walQueue // the overlay's entry, nil if it has none
	drop int
	add  []walMsg
}

func newWALTx(tx *bolt.Tx, l *walLog, limits node.MailboxLimits, mailBytes int64) *walTx {
	return &walTx{tx: tx, log: l, limits: limits, stages: map[string]*walStage{},
		accts: map[string]*acctTotals{}, owners: map[string]ownerOf{}, mailBytes: mailBytes}
}

// stage returns owner's staged queue, reading it from the overlay or
// bbolt. A device's queue bbolt does not have yet is a new, empty one
// (exists false): the checkpoint makes its bucket.
func (w *walTx) stage(owner, user string) (st *walStage, exists bool, err error) {
	if st := w.stages[owner]; st != nil {
		return st, true, nil
	}
	st = &walStage{}
	if cur := w.log.queues[owner]; cur != nil {
		st.walQueue, st.cur = *cur, cur
	} else {
		u := []byte(owner)
		raw := w.tx.Bucket(bucketMailboxMeta).Get(u)
		msgs := w.tx.Bucket(bucketMailboxes).Bucket(u)
		st.owner, st.user = owner, user
		switch {
		case raw == nil && msgs == nil && owner != user:
			exists = false
			w.stages[owner] = st
			return st, false, nil
		case raw == nil || msgs == nil:
			return nil, false, fmt.Errorf("%w: queue %q has no mailbox", ErrCorrupt, owner)
		}
		if st.base, err = decodeQueueMeta(raw); err != nil {
			return nil, false, err
		}
		st.meta = st.base
	}
	w.stages[owner] = st
	return st, true, nil
}

// acct returns the totals of user's queues: bbolt's records with the
// overlay's and the group's changes.
func (w *walTx) acct(user string) (*acctTotals, error) {
	if a := w.accts[user]; a != nil {
		return a, nil
	}
	count, bytes, err := accountTotals(w.tx, user)
	if err != nil {
		return nil, err
	}
	// Changes are added before the base is taken away: bbolt's sum
	// includes every base, so neither step goes below zero.
	for owner, q := range w.log.queues {
		if q.user != user {
			continue
		}
		if st := w.stages[owner]; st != nil {
			q = &st.walQueue
		}
		count, bytes = count+q.meta.count-q.base.count, bytes+q.meta.bytes-q.base.bytes
	}
	for owner, st := range w.stages {
		if st.user == user && w.log.queues[owner] == nil {
			count, bytes = count+st.meta.count-st.base.count, bytes+st.meta.bytes-st.base.bytes
		}
	}
	a := &acctTotals{count: count, bytes: bytes}
	w.accts[user] = a
	return a, nil
}

// add stages one message, whose record is rec, and returns its receipt;
// the error fails the group. Only messages without a MeshID come here
// (walEligible).
func (w *walTx) add(m protocol.NewMessage, rec []byte) (protocol.Receipt, error) {
	o, ok := w.owners[m.Recipient]
	if !ok {
		o.owner, o.user, o.err = queueOwner(w.tx, m.Recipient)
		w.owners[m.Recipient] = o
	}
	if o.err != nil {
		if !isUnknownUser(o.err) && !errors.Is(o.err, protocol.ErrDeviceRevoked) {
			return protocol.Receipt{}, o.err
		}
		return protocol.Receipt{Err: fmt.Errorf("store: enqueue: %w", o.err)}, nil
	}
	st, _, err := w.stage(o.owner, o.user)
	if err != nil {
		return protocol.Receipt{}, err
	}
	a, err := w.acct(o.user)
	if err != nil {
		return protocol.Receipt{}, err
	}
	size := uint64(len(rec) - messageHeader)
	if refusal := admit(o.owner, size, a, w.limits, w.mailBytes); refusal != nil {
		return protocol.Receipt{Err: refusal}, nil
	}
	seq := st.meta.lastSeq + 1
	st.meta.lastSeq = seq
	st.meta.count++
	st.meta.bytes += size
	a.count++
	a.bytes += size
	w.mailBytes += int64(size)
	st.add = append(st.add, walMsg{seq: seq, expires: m.Expires, rec: rec})
	w.entries = append(w.entries, walEntry{kind: walEnqueue, owner: o.owner, seq: seq, rec: rec})
	return protocol.Receipt{Seq: seq}, nil
}

// addAll stages an Enqueue call's messages.
func (w *walTx) addAll(req *commitReq) (*commitResult, error) { return addEach(req, w.add) }

// ack stages an Ack call. What the caller asked wrongly is its answer;
// only bbolt's errors fail the group.
func (w *walTx) ack(req *commitReq) (*commitResult, error) {
	fail := func(err error) (*commitResult, error) {
		return &commitResult{err: fmt.Errorf("store: ack: %w", err)}, nil
	}
	owner, user, err := queueOwner(w.tx, req.ack.queue)
	if err != nil {
		return fail(err)
	}
	st, exists, err := w.stage(owner, user)
	if err != nil {
		return fail(err)
	}
	if !exists {
		delete(w.stages, owner) // a device that has had no message yet
		return &commitResult{}, nil
	}
	n, size, err := st.ackUpTo(w.tx, req.ack.upto)
	if err != nil {
		return fail(err)
	}
	if n == 0 {
		return &commitResult{}, nil
	}
	if a := w.accts[user]; a != nil {
		a.count -= uint64(n)
		a.bytes -= size
	}
	w.mailBytes -= int64(size)
	w.entries = append(w.entries, walEntry{kind: walAck, owner: owner, seq: req.ack.upto})
	return &commitResult{removed: n}, nil
}

// ackUpTo removes the queue's messages up to seq upto: bbolt's by moving
// acked, the log's from the front of its messages. It returns how many it
// removed and their payload bytes; a queue record that counts fewer is
// ErrCorrupt, and then nothing changes.
func (st *walStage) ackUpTo(tx *bolt.Tx, upto uint64) (n int, size uint64, err error) {
	if upto > st.acked && st.acked < st.base.lastSeq {
		if b := tx.Bucket(bucketMailboxes).Bucket([]byte(st.owner)); b != nil {
			c := b.Cursor()
			for k, v := c.Seek(seqKey(st.acked + 1)); k != nil; k, v = c.Next() {
				seq, err := parseSeqKey(k)
				if err != nil {
					return 0, 0, err
				}
				if seq > upto {
					break
				}
				_, payload, err := decodeMessageHeader(v)
				if err != nil {
					return 0, 0, fmt.Errorf("message %d of %q: %w", seq, st.owner, err)
				}
				n++
				size += uint64(len(payload))
			}
		}
	}
	drop := st.drop
	for drop < len(st.msgs) && st.msgs[drop].seq <= upto {
		n++
		size += st.msgs[drop].size()
		drop++
	}
	add := 0
	for add < len(st.add) && st.add[add].seq <= upto {
		n++
		size += st.add[add].size()
		add++
	}
	if st.meta.count < uint64(n) || st.meta.bytes < size {
		return 0, 0, fmt.Errorf("%w: mailbox %q counts fewer messages or bytes than it holds", ErrCorrupt, st.owner)
	}
	if upto > st.acked {
		st.acked = upto
	}
	st.drop = drop
	st.add = st.add[add:]
	st.meta.count -= uint64(n)
	st.meta.bytes -= size
	return n, size, nil
}

// apply makes the staged changes the overlay's; the caller holds ovMu
// for writing.
func (w *walTx) apply() {
	for owner, st := range w.stages {
		q := st.cur
		if q == nil {
			q = &walQueue{}
			w.log.queues[owner] = q
		}
		msgs := st.msgs
		clear(msgs[:st.drop]) // let acked payloads go
		msgs = append(msgs[st.drop:], st.add...)
		*q = st.walQueue
		q.msgs = msgs
	}
}

// replay stages the records of a log read at Open against tx. A record
// already in bbolt (its seq not above the queue's last) is skipped, so
// that replaying twice changes nothing.
func (w *walTx) replay(entries []walEntry) error {
	for _, e := range entries {
		user := accountOf(e.owner)
		if err := hasAccount(w.tx, user); err != nil {
			return fmt.Errorf("%w: write-ahead log names queue %q: %v", ErrCorrupt, e.owner, err)
		}
		st, _, err := w.stage(e.owner, user)
		if err != nil {
			return err
		}
		switch e.kind {
		case walEnqueue:
			switch {
			case e.seq <= st.meta.lastSeq:
				continue
			case e.seq != st.meta.lastSeq+1:
				return fmt.Errorf("%w: write-ahead log message %d of %q follows %d", ErrCorrupt, e.seq, e.owner, st.meta.lastSeq)
			}
			expires, payload, err := decodeMessageHeader(e.rec)
			if err != nil {
				return err
			}
			rec := append([]byte{}, e.rec...) // e.rec aliases the file's bytes
			st.meta.lastSeq = e.seq
			st.meta.count++
			st.meta.bytes += uint64(len(payload))
			w.mailBytes += int64(len(payload))
			st.add = append(st.add, walMsg{seq: e.seq, expires: expires, rec: rec})
		case walAck:
			_, size, err := st.ackUpTo(w.tx, e.seq)
			if err != nil {
				return err
			}
			w.mailBytes -= int64(size)
		}
	}
	return nil
}

// fold writes the overlay into bbolt in tx, in the store's layout, and
// records the log's generation as folded. The caller holds foldMu and
// ovMu for writing, and empties the overlay once tx commits.
func (s *Store) fold(tx *bolt.Tx) error {
	l := s.wal
	for owner, q := range l.queues {
		m, err := openMailbox(tx, owner, true)
		if err != nil {
			return fmt.Errorf("write-ahead log checkpoint of %q: %w", owner, err)
		}
		if q.acked > 0 {
			var doomed []stored
			c := m.msgs.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				seq, err := parseSeqKey(k)
				if err != nil {
					return err
				}
				if seq > q.acked {
					break
				}
				e, err := m.readStored(seq, v)
				if err != nil {
					return err
				}
				doomed = append(doomed, e)
			}
			for _, e := range doomed {
				if err := m.expiry.Delete(seqExpiryKey(e.expires, e.seq, owner)); err != nil {
					return err
				}
				if err := m.msgs.Delete(seqKey(e.seq)); err != nil {
					return err
				}
			}
		}
		for _, e := range q.msgs {
			if err := m.msgs.Put(seqKey(e.seq), e.rec); err != nil {
				return err
			}
			if err := m.expiry.Put(seqExpiryKey(e.expires, e.seq, owner), nil); err != nil {
				return err
			}
		}
		m.meta = q.meta
		if err := m.saveMeta(tx); err != nil {
			return err
		}
	}
	return tx.Bucket(bucketMeta).Put(keyWALGen, seqKey(l.gen))
}

// foldedGen returns the generation of the last log folded into bbolt.
func foldedGen(tx *bolt.Tx) (uint64, error) {
	raw := tx.Bucket(bucketMeta).Get(keyWALGen)
	if raw == nil {
		return 0, nil
	}
	gen, err := parseSeqKey(raw)
	if err != nil {
		return 0, fmt.Errorf("%w: write-ahead log generation", ErrCorrupt)
	}
	return gen, nil
}

// writeTx runs fn in a bbolt write transaction, which bbolt commits and
// syncs. With a log, the overlay is folded into the same transaction
// first and the log restarted after it commits, so that fn reads every
// message the log holds and no checkpoint later writes under what fn
// changed (a deleted account, a cleared queue).
func (s *Store) writeTx(fn func(tx *bolt.Tx) error) error {
	if s.wal == nil {
		return s.db.Update(fn)
	}
	s.foldMu.Lock()
	defer s.foldMu.Unlock()
	return s.writeTxLocked(fn)
}

// writeTxLocked is writeTx for the holder of foldMu.
func (s *Store) writeTxLocked(fn func(tx *bolt.Tx) error) error {
	l := s.wal
	if !l.dirty() {
		return s.db.Update(fn)
	}
	s.ovMu.Lock()
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := s.fold(tx); err != nil {
			return err
		}
		if fn == nil {
			return nil
		}
		return fn(tx)
	})
	if err == nil {
		l.queues = map[string]*walQueue{}
	}
	s.ovMu.Unlock()
	if err == nil {
		s.walTimer.Stop()
		if rerr := l.restart(l.gen + 1); rerr != nil {
			// bbolt has everything and records this generation as
			// folded, so the file's records are never replayed; only new
			// ones cannot be written.
			if l.broken == nil {
				l.broken = fmt.Errorf("write-ahead log: %w", rerr)
			}
			l.size = walHeaderLen
		}
	}
	return err
}

// checkpoint folds the overlay into bbolt, if the log holds anything.
func (s *Store) checkpoint() error {
	if s.wal == nil {
		return nil
	}
	s.foldMu.Lock()
	defer s.foldMu.Unlock()
	if !s.wal.dirty() {
		return nil
	}
	if err := s.writeTxLocked(nil); err != nil {
		s.walTimer.Reset(s.walMaxAge) // try again
		return fmt.Errorf("store: checkpoint: %w", err)
	}
	return nil
}

// walEligible reports whether batch goes to the log: only enqueues of
// messages that did not come through the mesh (whose seen-set lives in
// bbolt) and acks do.
func (s *Store) walEligible(batch []*commitReq) bool {
	if s.wal == nil {
		return false
	}
	for _, req := range batch {
		if req.ack != nil {
			continue
		}
		if req.envs != nil || req.posts != nil {
			return false
		}
		for _, m := range req.msgs {
			if m.MeshID != (protocol.MeshID{}) {
				return false
			}
		}
	}
	return true
}

// commitWAL commits a batch of enqueues and acks to the log: it stages
// the batch against a read transaction, writes and syncs one frame, then
// makes the staged changes the overlay's and answers the callers. It
// returns false, having done nothing, when the log is broken.
func (s *Store) commitWAL(batch []*commitReq) bool {
	start := time.Now()
	results := make([]*commitResult, len(batch))
	nStored := 0
	s.foldMu.Lock()
	if s.wal.broken != nil {
		s.foldMu.Unlock()
		return false
	}
	before := s.mailBytes.Load()
	var w *walTx
	tx, err := s.db.Begin(false)
	if err == nil {
		w = newWALTx(tx, s.wal, s.opts.Limits, before)
		for i, req := range batch {
			if req.ctx.Err() != nil {
				continue // the caller is gone, or told ctx.Err()
			}
			if req.ack != nil {
				results[i], err = w.ack(req)
			} else {
				results[i], err = w.addAll(req)
			}
			if err != nil {
				break
			}
			nStored += results[i].stored
		}
		_ = tx.Rollback() // read only
	}
	if err == nil && len(w.entries) > 0 {
		first := s.wal.size == walHeaderLen
		if err = s.wal.append(w.entries); err == nil && first {
			s.walTimer.Reset(s.walMaxAge)
		}
	}
	if err == nil {
		s.ovMu.Lock()
		w.apply()
		s.ovMu.Unlock()
		s.mailBytes.Add(w.mailBytes - before)
	}
	full := s.wal.size >= s.walMaxBytes
	s.foldMu.Unlock()
	s.answer(batch, results, err, nStored, start)
	if full {
		_ = s.checkpoint() // on failure the next group or the timer tries again
	}
	return true
}

// fetchOverlay appends to out, up to limit, queue q's messages above
// afterSeq that have not expired by now: bbolt's (in b, nil for a queue
// bbolt does not have) not acked in the log, then the log's.
func fetchOverlay(out []protocol.Message, b *bolt.Bucket, q *walQueue, afterSeq uint64, limit int, now time.Time) ([]protocol.Message, error) {
	from := afterSeq + 1
	if q.acked >= from {
		from = q.acked + 1
	}
	if b != nil && from <= q.base.lastSeq {
		c := b.Cursor()
		for k, v := c.Seek(seqKey(from)); k != nil && len(out) < limit; k, v = c.Next() {
			seq, err := parseSeqKey(k)
			if err != nil {
				return nil, err
			}
			m, err := decodeMessage(seq, v)
			if err != nil {
				return nil, fmt.Errorf("message %d of %q: %w", seq, q.owner, err)
			}
			if m.Expires.After(now) {
				out = append(out, m)
			}
		}
	}
	i := sort.Search(len(q.msgs), func(i int) bool { return q.msgs[i].seq > afterSeq })
	for ; i < len(q.msgs) && len(out) < limit; i++ {
		e := q.msgs[i]
		if !e.expires.After(now) {
			continue
		}
		m, err := decodeMessage(e.seq, e.rec)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// openWAL replays the log at path into tx, which Open then commits, and
// opens the log for a new generation after that. keep is false when the
// store runs without a log: the file is replayed and removed.
func openWAL(tx *bolt.Tx, path string, limits node.MailboxLimits) (*walLog, error) {
	l := &walLog{path: path, queues: map[string]*walQueue{}}
	folded, err := foldedGen(tx)
	if err != nil {
		return nil, err
	}
	l.gen = folded
	raw, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("write-ahead log: %w", err)
	}
	c, err := decodeWAL(raw)
	if err != nil {
		return nil, fmt.Errorf("write-ahead log %s: %w", path, err)
	}
	if c.gen > folded && len(c.entries) > 0 {
		w := newWALTx(tx, l, limits, 0)
		if err := w.replay(c.entries); err != nil {
			return nil, fmt.Errorf("write-ahead log %s: %w", path, err)
		}
		w.apply()
		l.gen = c.gen
	}
	return l, nil
}
