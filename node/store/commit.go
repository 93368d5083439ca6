package store

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

// The group committer: one goroutine that writes the Enqueue, Hold and
// AddPosts calls that arrive together in one transaction, so that they
// share its sync (see the package doc).

// commitReq is one Enqueue, Hold, AddPosts or Ack call waiting for the
// committer.
type commitReq struct {
	op    string // "enqueue", "hold", "add posts" or "ack", for errors
	ctx   context.Context
	msgs  []protocol.NewMessage   // an Enqueue's messages
	envs  []protocol.HeldEnvelope // a Hold's envelopes
	posts []protocol.StoredPost   // an AddPosts's posts
	ack   *ackReq                 // an Ack's queue and sequence number
	// recs are the encoded records of msgs, envs or posts, made by the
	// caller; nil for an envelope that refusals already refuses and for
	// a post too large to keep.
	recs     [][]byte
	refusals []error   // a Hold's, as far as the caller could tell
	arrived  time.Time // when the call was queued
	done     chan commitResult
}

// size is what the call counts against Options.BatchSize.
func (r *commitReq) size() int {
	if r.ack != nil {
		return 1
	}
	return len(r.msgs) + len(r.envs) + len(r.posts)
}

// commitResult answers a commitReq.
type commitResult struct {
	receipts []protocol.Receipt // an Enqueue's
	refusals []error            // a Hold's or an AddPosts's
	seqs     []uint64           // a Hold's or an AddPosts's, 0 for a refused one
	evicted  int                // an AddPosts's
	removed  int                // an Ack's
	stored   int                // messages stored, for Options.OnCommit
	err      error
}

// submit queues req for the committer. Holding mu for reading while sending
// guarantees Close that nothing is sent after it set closed, so the
// committer's final drain sees every queued request.
func (s *Store) submit(req *commitReq) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return fmt.Errorf("store: %s: %w", req.op, protocol.ErrStoreClosed)
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
	var batch []*commitReq
	for {
		clear(batch) // let answered calls and their payloads go
		batch = batch[:0]
		select {
		case req := <-s.reqs:
			batch = append(batch, req)
		case <-s.walTimer.C:
			// The log's oldest record has waited Options.WALMaxAge: a
			// failed checkpoint re-arms the timer.
			_ = s.checkpoint()
			continue
		case <-s.stop:
			s.drain()
			return
		}
		n := batch[0].size()
		if s.opts.BatchWindow == 0 {
			// No window: what queued during the last commit is the batch.
			batch, _ = s.takeQueued(batch, n)
			s.commit(batch)
			continue
		}
		// The window runs from the oldest call's arrival: a call that
		// already waited through the previous commit does not wait again.
		timer.Reset(time.Until(batch[0].arrived.Add(s.opts.BatchWindow)))
		stopping := false
	collect:
		for {
			// Take what is already queued first: a select between a
			// queued call and a fired timer would pick at random and
			// cut batches short under load.
			if batch, n = s.takeQueued(batch, n); n >= s.opts.BatchSize {
				break
			}
			select {
			case req := <-s.reqs:
				batch = append(batch, req)
				n += req.size()
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

// drain commits every queued request, in batches of BatchSize messages,
// envelopes and posts.
// Close has set closed, so no request arrives any more.
func (s *Store) drain() {
	for {
		batch, _ := s.takeQueued(nil, 0)
		if len(batch) == 0 {
			return
		}
		s.commit(batch)
	}
}

// takeQueued adds to batch, which holds n items, the requests already
// queued, without waiting, until it holds BatchSize items; it returns the
// batch and its size.
func (s *Store) takeQueued(batch []*commitReq, n int) ([]*commitReq, int) {
	for n < s.opts.BatchSize {
		select {
		case req := <-s.reqs:
			batch = append(batch, req)
			n += req.size()
		default:
			return batch, n
		}
	}
	return batch, n
}

// commit writes batch in one transaction and answers every caller in it:
// to the write-ahead log if it holds only enqueues and acks, else to
// bbolt, folding the log's overlay into the same transaction.
func (s *Store) commit(batch []*commitReq) {
	if s.walEligible(batch) && s.commitWAL(batch) {
		return
	}
	results := make([]*commitResult, len(batch))
	nStored := 0
	var before int64
	var after *int64
	start := time.Now()
	err := s.writeTx(func(tx *bolt.Tx) error {
		w := &commitTx{tx: tx, limits: s.opts.Limits, quota: s.opts.Mesh, chanQuota: s.opts.Channels, boxes: map[string]*mailbox{}, accts: map[string]*acctTotals{}, owners: map[string]ownerOf{},
			mailBytes: s.mailBytes.Load()}
		before = w.mailBytes
		after = &w.mailBytes
		nStored = 0
		for i, req := range batch {
			results[i] = nil
			if req.ctx.Err() != nil {
				continue // the caller is gone, or told ctx.Err()
			}
			var err error
			switch {
			case req.ack != nil:
				results[i], err = w.ack(req)
			case req.posts != nil:
				results[i], err = w.addPosts(req)
			case req.envs != nil:
				results[i], err = w.holdAll(req)
			default:
				results[i], err = w.addAll(req)
			}
			if err != nil {
				return err
			}
			nStored += results[i].stored
		}
		return w.flush()
	})
	if err == nil && after != nil {
		// Only the committer adds to mailBytes, one commit at a time, so
		// the next commit starts from the count with this one's bytes.
		s.mailBytes.Add(*after - before)
	}
	s.answer(batch, results, err, nStored, start)
}

// answer reports a commit that started at start and stored nStored
// messages (or failed with err) to Options.OnCommit and the hand-off, then
// answers every caller of batch.
func (s *Store) answer(batch []*commitReq, results []*commitResult, err error, nStored int, start time.Time) {
	if err == nil && s.opts.OnCommit != nil {
		s.opts.OnCommit(nStored, time.Since(start))
	}
	if f := s.handOff.Load(); err == nil && nStored > 0 && f != nil {
		handOffCommit(*f, batch, results)
	}
	s.queued.Add(-int64(len(batch)))
	for i, req := range batch {
		switch {
		case err != nil:
			req.done <- commitResult{err: fmt.Errorf("store: %s: %w", req.op, err)}
		case results[i] == nil:
			req.done <- commitResult{err: req.ctx.Err()}
		default:
			req.done <- *results[i]
		}
	}
}

// HandOffCommits makes the committer call f after each commit that
// stored messages, before it answers the commit's callers: once per queue
// (as the messages named it), with the queue's messages of the commit in
// seq order, their payloads in the store's own copies, which f may keep
// (the store does not use them again). f runs on the committer, so it must
// not block: the node hands the messages to the queue's subscriptions,
// which push them without reading the store again (node.CommitHandOff).
// A later call replaces f.
func (s *Store) HandOffCommits(f func(queue string, msgs []protocol.Message)) {
	s.handOff.Store(&f)
}

// handOffCommit gives f the messages batch stored, per queue.
func handOffCommit(f func(string, []protocol.Message), batch []*commitReq, results []*commitResult) {
	var queues []string
	byQueue := map[string][]protocol.Message{}
	for i, req := range batch {
		res := results[i]
		if res == nil || req.msgs == nil {
			continue
		}
		for j, r := range res.receipts {
			if r.Err != nil {
				continue
			}
			m := req.msgs[j]
			q := m.Recipient
			if _, ok := byQueue[q]; !ok {
				queues = append(queues, q)
			}
			rec := req.recs[j]
			byQueue[q] = append(byQueue[q], protocol.Message{
				Seq: r.Seq, Payload: rec[messageHeader:len(rec):len(rec)], Enqueued: m.Enqueued, Expires: m.Expires,
			})
		}
	}
	for _, q := range queues {
		f(q, byQueue[q])
	}
}

// commitTx is a group commit's transaction: the mailboxes it wrote to
// and, once a message came through the mesh or an envelope is held, the
// store-and-forward bookkeeping, once a post is added the channels'.
type commitTx struct {
	tx        *bolt.Tx
	limits    node.MailboxLimits
	quota     protocol.MeshQuota
	chanQuota protocol.ChannelQuota
	boxes     map[string]*mailbox
	// accts holds the totals of each account this transaction wrote to,
	// for the bounds that hold per account across its queues.
	accts map[string]*acctTotals
	// owners caches queueOwner's answer per queue name: a batch holds
	// many messages for few queues.
	owners map[string]ownerOf
	// mailBytes is the payload bytes of all mailboxes with what this
	// transaction added.
	mailBytes int64
	mesh      *meshTx
	chans     *chanTx
}

// openMesh reads the store-and-forward bookkeeping, once.
func (w *commitTx) openMesh() error {
	if w.mesh != nil {
		return nil
	}
	var err error
	w.mesh, err = openMeshTx(w.tx, w.quota)
	return err
}

// openChans reads the channel bookkeeping, once.
func (w *commitTx) openChans() error {
	if w.chans != nil {
		return nil
	}
	var err error
	w.chans, err = openChanTx(w.tx, w.chanQuota)
	return err
}

// flush writes the bookkeeping back.
func (w *commitTx) flush() error {
	for _, box := range w.boxes {
		if err := box.saveMeta(w.tx); err != nil {
			return err
		}
	}
	if w.mesh != nil {
		if err := w.mesh.flush(); err != nil {
			return err
		}
	}
	if w.chans != nil {
		return w.chans.flush()
	}
	return nil
}
