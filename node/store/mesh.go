package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/protocol"
)

// Hold adds envs to their destination domains' queues in one transaction,
// committed and synced before it returns, and sets the Seq of each one
// stored. Each envelope is checked on its own, in order, and a refusal
// fills its place in the returned slice, which is as long as envs (nil for
// those stored):
//   - its id is in the seen-set, also from earlier in envs: a
//     *protocol.SeenError with the id's state;
//   - it would pass a bound of Options.Mesh (the store's bytes, its
//     destination's, the neighbour's that handed it over, its origin's, or
//     the seen ids): an error wrapping
//     protocol.ErrMeshFull that names the bound and the numbers;
//   - it has no id, destination or origin, a domain longer than
//     MaxDomainLen or a sender longer than MaxUserLen: an error wrapping
//     protocol.ErrBadEnvelope.
//
// A stored envelope's id enters the seen-set as protocol.SeenHeld until its
// Expires, and one with a Sender gets a status, protocol.MeshQueued at At.
//
// Hold goes through the group committer with Enqueue, so that concurrent
// callers share a sync; a call's envelopes are never split across
// transactions. The error return is for failures of the store itself
// (I/O, closed, ctx done before the call's transaction began); then
// nothing was stored. Unlike Enqueue, Hold waits for the committer's
// answer even when ctx ends meanwhile, so that an error never leaves the
// outcome unknown: the committer skips a call whose ctx ended, and answers
// every call it took.
func (s *Store) Hold(ctx context.Context, envs []protocol.HeldEnvelope) ([]error, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(envs) == 0 {
		return []error{}, s.checkOpen("hold")
	}
	req := &commitReq{
		op:       "hold",
		ctx:      ctx,
		envs:     envs,
		recs:     make([][]byte, len(envs)),
		refusals: make([]error, len(envs)),
		done:     make(chan commitResult, 1),
	}
	for i, e := range envs {
		if err := checkHeld(e); err != nil {
			req.refusals[i] = fmt.Errorf("store: hold: %w", err)
			continue
		}
		req.recs[i] = encodeHeld(e) // copies Data, outside the commit
	}
	if err := s.submit(req); err != nil {
		return nil, err
	}
	res := <-req.done
	if res.err != nil {
		return nil, res.err
	}
	for i, seq := range res.seqs {
		if seq != 0 {
			envs[i].Seq = seq
		}
	}
	return res.refusals, nil
}

// holdAll holds a Hold call's envelopes.
func (w *commitTx) holdAll(req *commitReq) (*commitResult, error) {
	if err := w.openMesh(); err != nil {
		return nil, err
	}
	res := &commitResult{refusals: slices.Clone(req.refusals), seqs: make([]uint64, len(req.envs))}
	for i, e := range req.envs {
		if req.recs[i] == nil {
			continue
		}
		seq, refusal, err := w.mesh.hold(e, req.recs[i])
		if err != nil {
			return nil, err
		}
		if refusal != nil {
			res.refusals[i] = fmt.Errorf("store: hold: %w", refusal)
		}
		res.seqs[i] = seq
	}
	return res, nil
}

// checkHeld refuses an envelope that cannot be stored.
func checkHeld(e protocol.HeldEnvelope) error {
	switch {
	case e.ID == protocol.MeshID{}:
		return fmt.Errorf("%w: no id", protocol.ErrBadEnvelope)
	case e.Domain == "" || len(e.Domain) > MaxDomainLen:
		return fmt.Errorf("%w: destination domain of %d bytes", protocol.ErrBadEnvelope, len(e.Domain))
	case e.Origin == "" || len(e.Origin) > MaxDomainLen:
		return fmt.Errorf("%w: origin domain of %d bytes", protocol.ErrBadEnvelope, len(e.Origin))
	case len(e.Sender) > MaxUserLen:
		return fmt.Errorf("%w: sender of %d bytes", protocol.ErrBadEnvelope, len(e.Sender))
	case len(e.From) > MaxDomainLen:
		return fmt.Errorf("%w: neighbour domain of %d bytes", protocol.ErrBadEnvelope, len(e.From))
	case len(e.OriginID) > maxOriginIDLen:
		return fmt.Errorf("%w: origin node id of %d bytes", protocol.ErrBadEnvelope, len(e.OriginID))
	case len(e.Data) > bolt.MaxValueSize-heldHeader-20-len(e.Origin)-len(e.Sender)-len(e.Recipient)-len(e.From)-len(e.OriginID):
		return fmt.Errorf("%w: %d bytes of data", protocol.ErrBadEnvelope, len(e.Data))
	}
	return nil
}

// Held returns up to limit envelopes of domain's queue with Seq above
// afterSeq, in order; none for a limit of 0 or less. Expired envelopes not
// yet collected by ExpireMesh are returned too.
func (s *Store) Held(domain string, afterSeq uint64, limit int) ([]protocol.HeldEnvelope, error) {
	var out []protocol.HeldEnvelope
	err := s.view("held", func(tx *bolt.Tx) error {
		envs := tx.Bucket(bucketMeshHeld).Bucket([]byte(domain))
		if envs == nil || limit <= 0 || afterSeq == ^uint64(0) {
			return nil
		}
		c := envs.Cursor()
		for k, v := c.Seek(seqKey(afterSeq + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			e, err := decodeHeldEntry(domain, k, v)
			if err != nil {
				return err
			}
			e.Data = append([]byte{}, e.Data...)
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// HeldDomains returns the destination domains with held envelopes, in
// bytewise order.
func (s *Store) HeldDomains() ([]string, error) {
	var out []string
	err := s.view("held domains", func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeshHeld).ForEachBucket(func(k []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Release removes the envelopes seqs of domain's queue, in one
// transaction, and sets their ids' seen state to state, which must be
// protocol.SeenForwarded, protocol.SeenDelivered or protocol.SeenDropped
// (ErrInvalidState); the ids keep their expiry in the seen-set. Seqs not
// in the queue are ignored. The queue's seqs stay used.
func (s *Store) Release(domain string, seqs []uint64, state protocol.SeenState) error {
	if state != protocol.SeenForwarded && state != protocol.SeenDelivered && state != protocol.SeenDropped {
		return fmt.Errorf("store: release: %w: seen state %v", ErrInvalidState, state)
	}
	if len(seqs) == 0 {
		return s.checkOpen("release")
	}
	return s.update("release", func(tx *bolt.Tx) error {
		m, err := openMeshTx(tx, s.opts.Mesh)
		if err != nil {
			return err
		}
		for _, seq := range seqs {
			if _, _, err := m.release(domain, seq, state); err != nil {
				return err
			}
		}
		return m.flush()
	})
}

// Seen returns the seen state of id; false if it is not in the seen-set.
func (s *Store) Seen(id protocol.MeshID) (state protocol.SeenState, ok bool, err error) {
	err = s.view("seen", func(tx *bolt.Tx) error {
		state, _, _, ok, err = lookupSeen(tx, id)
		return err
	})
	return state, ok, err
}

// MeshStats describes the store-and-forward store from its totals and the
// first envelope of each queue (queues are in the order envelopes were
// held, so that is the oldest of each).
func (s *Store) MeshStats() (protocol.MeshStoreStats, error) {
	var st protocol.MeshStoreStats
	err := s.view("mesh stats", func(tx *bolt.Tx) error {
		st = protocol.MeshStoreStats{}
		totals, err := decodeMeshTotals(tx.Bucket(bucketMeta).Get(keyMeshTotals))
		if err != nil {
			return fmt.Errorf("mesh totals: %w", err)
		}
		st.Envelopes, st.Bytes, st.Seen = int(totals.envelopes), int64(totals.bytes), int(totals.seen)
		held := tx.Bucket(bucketMeshHeld)
		return tx.Bucket(bucketMeshQueues).ForEach(func(k, v []byte) error {
			q, err := decodeQueueMeta(v)
			if err != nil {
				return fmt.Errorf("queue of %q: %w", k, err)
			}
			if q.count == 0 {
				return nil
			}
			domain := string(k)
			st.Domains = append(st.Domains, protocol.MeshDomainStats{Domain: domain, Envelopes: int(q.count), Bytes: int64(q.bytes)})
			envs := held.Bucket(k)
			if envs == nil {
				return fmt.Errorf("%w: queue of %q counts %d envelopes and has none", ErrCorrupt, domain, q.count)
			}
			k, v = envs.Cursor().First()
			first, err := decodeHeldEntry(domain, k, v)
			if err != nil {
				return err
			}
			if st.Oldest.IsZero() || first.Held.Before(st.Oldest) {
				st.Oldest = first.Held
			}
			return nil
		})
	})
	if err != nil {
		return protocol.MeshStoreStats{}, err
	}
	st.MaxBytes = s.opts.Mesh.MaxBytes
	return st, nil
}

// ExpireMesh removes the held envelopes whose Expires is not after now and
// returns them, without Data, marking their ids protocol.SeenDropped; it also
// removes the seen ids whose expiry is not after now (which includes those
// of the envelopes it removed), and the statuses whose message expired
// statusGrace or longer before now, so that a sender sees "expired" for a
// while. It walks the expiry indexes and commits every expireChunk
// removals; after a failure part way the envelopes of the chunks already
// committed are returned with the error.
func (s *Store) ExpireMesh(now time.Time) ([]protocol.HeldEnvelope, error) {
	var expired []protocol.HeldEnvelope
	for {
		got, more, err := s.expireMeshChunk(now)
		expired = append(expired, got...)
		if err != nil || !more {
			return expired, err
		}
	}
}

// expireMeshChunk removes up to expireChunk entries in one transaction:
// held envelopes first, then seen ids, then statuses, and reports whether
// there may be more. Seen ids go only in a transaction that removed every
// expired envelope, so that no held envelope loses its seen id.
func (s *Store) expireMeshChunk(now time.Time) (expired []protocol.HeldEnvelope, more bool, err error) {
	err = s.update("expire mesh", func(tx *bolt.Tx) error {
		expired, more = nil, false
		m, err := openMeshTx(tx, s.opts.Mesh)
		if err != nil {
			return err
		}
		var keys [][]byte
		if keys, more, err = dueKeys(tx.Bucket(bucketMeshExpiry), now, s.expireChunk); err != nil {
			return err
		}
		for _, k := range keys {
			_, seq, domain, err := parseSeqExpiryKey(k)
			if err != nil {
				return err
			}
			e, ok, err := m.release(domain, seq, protocol.SeenDropped)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("%w: expiry entry for missing envelope %d for %q", ErrCorrupt, seq, domain)
			}
			expired = append(expired, e)
		}
		budget := s.expireChunk - len(keys)
		if !more {
			if keys, more, err = dueKeys(tx.Bucket(bucketSeenExpiry), now, budget); err != nil {
				return err
			}
			for _, k := range keys {
				if err := m.expireSeen(k); err != nil {
					return err
				}
			}
			budget -= len(keys)
		}
		if !more {
			if keys, more, err = dueKeys(tx.Bucket(bucketStatusExpiry), now.Add(-statusGrace), budget); err != nil {
				return err
			}
			for _, k := range keys {
				if err := expireStatus(tx, k); err != nil {
					return err
				}
			}
		}
		return m.flush()
	})
	if err != nil {
		return nil, false, err
	}
	return expired, more, nil
}

// expireSeen removes the seen id of the seen expiry entry k.
func (m *meshTx) expireSeen(k []byte) error {
	_, id, err := parseIDExpiryKey(k)
	if err != nil {
		return err
	}
	state, _, from, ok, err := lookupSeen(m.tx, id)
	if err != nil {
		return err
	}
	switch {
	case !ok:
		return fmt.Errorf("%w: seen expiry entry for missing id %x", ErrCorrupt, id)
	case state == protocol.SeenHeld:
		return fmt.Errorf("%w: seen id %x expired while its envelope is held", ErrCorrupt, id)
	case m.totals.seen == 0:
		return fmt.Errorf("%w: mesh totals count fewer seen ids than there are", ErrCorrupt)
	}
	if from != "" {
		n, err := m.neighbour(from)
		if err != nil {
			return err
		}
		if n.seen == 0 {
			return fmt.Errorf("%w: neighbour %q counts fewer seen ids than there are", ErrCorrupt, from)
		}
		n.seen--
	}
	m.totals.seen--
	if err := m.tx.Bucket(bucketMeshSeen).Delete(id[:]); err != nil {
		return err
	}
	return m.tx.Bucket(bucketSeenExpiry).Delete(k)
}
