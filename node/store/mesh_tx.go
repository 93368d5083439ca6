package store

import (
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/protocol"
)

// MaxDomainLen is the longest destination or origin domain the store
// holds envelopes for: a DNS name's bound.
const MaxDomainLen = 253

// meshTx is the store-and-forward bookkeeping inside one write
// transaction. It reads the totals it changes once and writes them back in
// flush, so a batch of envelopes writes each total once.
type meshTx struct {
	tx      *bolt.Tx
	quota   protocol.MeshQuota
	totals  meshTotals
	queues  map[string]*queueMeta // by destination domain
	origins map[string]*meshTally // by originKey
	// neighbours by the neighbour that handed the envelopes over; those
	// made here (From "") are not counted.
	neighbours map[string]*neighbourTally
}

func openMeshTx(tx *bolt.Tx, quota protocol.MeshQuota) (*meshTx, error) {
	raw := tx.Bucket(bucketMeta).Get(keyMeshTotals)
	if raw == nil {
		return nil, fmt.Errorf("%w: no mesh totals", ErrCorrupt)
	}
	totals, err := decodeMeshTotals(raw)
	if err != nil {
		return nil, err
	}
	return &meshTx{
		tx:         tx,
		quota:      quota,
		totals:     totals,
		queues:     map[string]*queueMeta{},
		origins:    map[string]*meshTally{},
		neighbours: map[string]*neighbourTally{},
	}, nil
}

// flush writes the totals back. Empty origins are deleted; queue records
// stay, for their last seq, once a queue has held an envelope.
func (m *meshTx) flush() error {
	if err := m.tx.Bucket(bucketMeta).Put(keyMeshTotals, encodeMeshTotals(m.totals)); err != nil {
		return err
	}
	for domain, q := range m.queues {
		if q.lastSeq == 0 {
			continue // only looked at, by a refused envelope
		}
		if err := m.tx.Bucket(bucketMeshQueues).Put([]byte(domain), encodeQueueMeta(*q)); err != nil {
			return err
		}
	}
	origins := m.tx.Bucket(bucketMeshOrigins)
	for key, t := range m.origins {
		var err error
		if t.envelopes == 0 {
			err = origins.Delete([]byte(key))
		} else {
			err = origins.Put([]byte(key), encodeMeshTally(*t))
		}
		if err != nil {
			return err
		}
	}
	neighbours := m.tx.Bucket(bucketMeshNeighbours)
	for key, t := range m.neighbours {
		var err error
		if t.empty() {
			err = neighbours.Delete([]byte(key))
		} else {
			err = neighbours.Put([]byte(key), encodeNeighbourTally(*t))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// queue returns the bookkeeping of domain's queue, zero for a new one.
func (m *meshTx) queue(domain string) (*queueMeta, error) {
	return cachedRecord(m.queues, m.tx.Bucket(bucketMeshQueues), "queue of", domain, decodeQueueMeta)
}

// origin returns the tally of origin (an originKey), zero for a new one.
func (m *meshTx) origin(origin string) (*meshTally, error) {
	return cachedRecord(m.origins, m.tx.Bucket(bucketMeshOrigins), "origin", origin, decodeMeshTally)
}

// neighbour returns the tally of neighbour, zero for a new one; for ""
// (made here) a scratch tally that is never written.
func (m *meshTx) neighbour(neighbour string) (*neighbourTally, error) {
	if neighbour == "" {
		return new(neighbourTally), nil
	}
	return cachedRecord(m.neighbours, m.tx.Bucket(bucketMeshNeighbours), "neighbour", neighbour, decodeNeighbourTally)
}

// cachedRecord returns the record under key in b, from cache or decoded
// into it; the zero T if b has none. kind names the record in errors.
func cachedRecord[T any](cache map[string]*T, b *bolt.Bucket, kind, key string, decode func([]byte) (T, error)) (*T, error) {
	if r := cache[key]; r != nil {
		return r, nil
	}
	r := new(T)
	if raw := b.Get([]byte(key)); raw != nil {
		var err error
		if *r, err = decode(raw); err != nil {
			return nil, fmt.Errorf("%s %q: %w", kind, key, err)
		}
	}
	cache[key] = r
	return r, nil
}

// seen returns id's seen state and expiry; ok is false if id is not in the
// seen-set.
func (m *meshTx) seen(id protocol.MeshID) (state protocol.SeenState, expires time.Time, ok bool, err error) {
	state, expires, _, ok, err = lookupSeen(m.tx, id)
	return state, expires, ok, err
}

// lookupSeen returns id's seen state, expiry and the neighbour whose
// envelope put it there; ok is false if id is not in the seen-set.
func lookupSeen(tx *bolt.Tx, id protocol.MeshID) (state protocol.SeenState, expires time.Time, from string, ok bool, err error) {
	raw := tx.Bucket(bucketMeshSeen).Get(id[:])
	if raw == nil {
		return 0, time.Time{}, "", false, nil
	}
	state, expires, from, err = decodeSeen(raw)
	if err != nil {
		return 0, time.Time{}, "", false, fmt.Errorf("seen id %x: %w", id, err)
	}
	return state, expires, from, true, nil
}

// relayedMeshSeen is how many ids the envelopes neighbours hand over may hold
// in the seen-set: all but a tenth, which is kept for the envelopes of
// this node's users and the messages delivered here.
func relayedMeshSeen(quota protocol.MeshQuota) uint64 {
	return uint64(quota.MaxSeen - quota.MaxSeen/10)
}

// admitFrom checks that id may enter the seen-set for an envelope that
// neighbour from handed over ("" for none): a *protocol.SeenError if it is
// there, an error wrapping protocol.ErrMeshFull if the set is full, or the
// part of it neighbours may fill, or (protocol.ErrNeighbourQuota) from's share
// of it. Those are the refusal; err is the transaction's failure.
func (m *meshTx) admitFrom(id protocol.MeshID, from string) (refusal, err error) {
	state, _, ok, err := m.seen(id)
	if err != nil {
		return nil, err
	}
	if ok {
		return &protocol.SeenError{State: state}, nil
	}
	if m.totals.seen >= uint64(m.quota.MaxSeen) {
		return fmt.Errorf("%w: it remembers %d of %d envelope ids", protocol.ErrMeshFull, m.totals.seen, m.quota.MaxSeen), nil
	}
	if from == "" {
		return nil, nil
	}
	if m.totals.seen >= relayedMeshSeen(m.quota) {
		return fmt.Errorf("%w: it remembers %d envelope ids, the most it takes from neighbours is %d", protocol.ErrMeshFull, m.totals.seen, relayedMeshSeen(m.quota)), nil
	}
	n, err := m.neighbour(from)
	if err != nil {
		return nil, err
	}
	if n.seen >= uint64(m.quota.NeighbourSeen) {
		return fmt.Errorf("%w: it remembers %d envelope ids from neighbour %s, its share is %d", protocol.ErrNeighbourQuota, n.seen, from, m.quota.NeighbourSeen), nil
	}
	return nil, nil
}

// addSeenFrom puts id, which admitFrom let in for neighbour from, into
// the seen-set.
func (m *meshTx) addSeenFrom(id protocol.MeshID, state protocol.SeenState, expires time.Time, from string) error {
	if err := m.tx.Bucket(bucketMeshSeen).Put(id[:], encodeSeen(state, expires, from)); err != nil {
		return err
	}
	n, err := m.neighbour(from)
	if err != nil {
		return err
	}
	n.seen++
	m.totals.seen++
	return m.tx.Bucket(bucketSeenExpiry).Put(idExpiryKey(expires, id), nil)
}

// setSeen changes the state of id, which must be in the seen-set, keeping
// its expiry and neighbour.
func (m *meshTx) setSeen(id protocol.MeshID, state protocol.SeenState) error {
	_, expires, from, ok, err := lookupSeen(m.tx, id)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: held envelope %x is not in the seen-set", ErrCorrupt, id)
	}
	return m.tx.Bucket(bucketMeshSeen).Put(id[:], encodeSeen(state, expires, from))
}

// fits returns the refusal, wrapping protocol.ErrMeshFull (and
// protocol.ErrNeighbourQuota for the neighbour's bound), of an envelope e
// of size bytes that would pass a byte bound. The bound it names is the
// first of: the store's, the destination's, the neighbour's (for an
// envelope handed over), the origin's.
func (m *meshTx) fits(e protocol.HeldEnvelope, size uint64) (refusal, err error) {
	q, err := m.queue(e.Domain)
	if err != nil {
		return nil, err
	}
	o, err := m.origin(originKey(e))
	if err != nil {
		return nil, err
	}
	n, err := m.neighbour(e.From)
	if err != nil {
		return nil, err
	}
	bounds := []struct {
		err   error
		what  string
		held  uint64
		bound int64
	}{
		{protocol.ErrMeshFull, "it", m.totals.bytes, m.quota.MaxBytes},
		{protocol.ErrMeshFull, "destination " + e.Domain, q.bytes, m.quota.DomainBytes},
		{protocol.ErrNeighbourQuota, "neighbour " + e.From, n.bytes, m.quota.NeighbourBytes},
		{protocol.ErrMeshFull, "origin " + e.Origin, o.bytes, m.quota.OriginBytes},
	}
	if e.From == "" {
		bounds = slices.Delete(bounds, 2, 3)
	}
	for _, b := range bounds {
		if b.held+size > uint64(b.bound) {
			return fmt.Errorf("%w: %s holds %d of %d bytes, the envelope has %d",
				b.err, b.what, b.held, b.bound, size), nil
		}
	}
	return nil, nil
}

// hold stores e, whose record is rec, at the end of its domain's queue and
// returns its seq, unless its id was seen or it does not fit: then the
// refusal says why and nothing changed.
func (m *meshTx) hold(e protocol.HeldEnvelope, rec []byte) (seq uint64, refusal, err error) {
	size := uint64(len(e.Data))
	if refusal, err := m.admitFrom(e.ID, e.From); refusal != nil || err != nil {
		return 0, refusal, err
	}
	if refusal, err := m.fits(e, size); refusal != nil || err != nil {
		return 0, refusal, err
	}
	q, err := m.queue(e.Domain)
	if err != nil {
		return 0, nil, err
	}
	o, err := m.origin(originKey(e))
	if err != nil {
		return 0, nil, err
	}
	n, err := m.neighbour(e.From)
	if err != nil {
		return 0, nil, err
	}
	envs, err := m.tx.Bucket(bucketMeshHeld).CreateBucketIfNotExists([]byte(e.Domain))
	if err != nil {
		return 0, nil, err
	}
	seq = q.lastSeq + 1
	if err := envs.Put(seqKey(seq), rec); err != nil {
		return 0, nil, err
	}
	if err := m.tx.Bucket(bucketMeshExpiry).Put(seqExpiryKey(e.Expires, seq, e.Domain), nil); err != nil {
		return 0, nil, err
	}
	q.lastSeq = seq
	q.count++
	q.bytes += size
	o.envelopes++
	o.bytes += size
	n.envelopes++
	n.bytes += size
	m.totals.envelopes++
	m.totals.bytes += size
	if err := m.addSeenFrom(e.ID, protocol.SeenHeld, e.Expires, e.From); err != nil {
		return 0, nil, err
	}
	if e.Sender != "" {
		err := putStatus(m.tx, meshStatus{sender: e.Sender, MessageStatus: protocol.MessageStatus{
			ID:        e.ID,
			State:     protocol.MeshQueued,
			At:        e.At,
			Updated:   e.Held,
			Recipient: e.Recipient,
			Expires:   e.Expires,
		}})
		if err != nil {
			return 0, nil, err
		}
	}
	return seq, nil, nil
}

// release removes envelope seq of domain's queue, if it is there, and sets
// its id's seen state. The envelope is returned without Data.
func (m *meshTx) release(domain string, seq uint64, state protocol.SeenState) (e protocol.HeldEnvelope, ok bool, err error) {
	held := m.tx.Bucket(bucketMeshHeld)
	envs := held.Bucket([]byte(domain))
	if envs == nil {
		return e, false, nil
	}
	raw := envs.Get(seqKey(seq))
	if raw == nil {
		return e, false, nil
	}
	if e, err = decodeHeld(domain, seq, raw); err != nil {
		return e, false, fmt.Errorf("envelope %d for %q: %w", seq, domain, err)
	}
	size := uint64(len(e.Data))
	e.Data = nil
	q, err := m.queue(domain)
	if err != nil {
		return e, false, err
	}
	o, err := m.origin(originKey(e))
	if err != nil {
		return e, false, err
	}
	n, err := m.neighbour(e.From)
	if err != nil {
		return e, false, err
	}
	if q.count == 0 || q.bytes < size || o.envelopes == 0 || o.bytes < size ||
		e.From != "" && (n.envelopes == 0 || n.bytes < size) ||
		m.totals.envelopes == 0 || m.totals.bytes < size {
		return e, false, fmt.Errorf("%w: totals of envelope %d for %q (from %q) count less than it holds", ErrCorrupt, seq, domain, e.Origin)
	}
	if err := envs.Delete(seqKey(seq)); err != nil {
		return e, false, err
	}
	if err := m.tx.Bucket(bucketMeshExpiry).Delete(seqExpiryKey(e.Expires, seq, domain)); err != nil {
		return e, false, err
	}
	q.count--
	q.bytes -= size
	o.envelopes--
	o.bytes -= size
	n.envelopes--
	n.bytes -= size
	m.totals.envelopes--
	m.totals.bytes -= size
	if q.count == 0 {
		// Only queues that hold something have a bucket, so that
		// HeldDomains need not look inside.
		if err := held.DeleteBucket([]byte(domain)); err != nil {
			return e, false, err
		}
	}
	return e, true, m.setSeen(e.ID, state)
}

// dueKeys returns up to limit keys of the expiry index idx, whose keys
// start with a time, that are not after now, in order, and whether there
// are more. The keys are copies, so the caller may delete them.
func dueKeys(idx *bolt.Bucket, now time.Time, limit int) (keys [][]byte, more bool, err error) {
	c := idx.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if len(k) < timeLen {
			return nil, false, fmt.Errorf("%w: expiry key of %d bytes", ErrCorrupt, len(k))
		}
		t, err := getTime(k)
		if err != nil {
			return nil, false, err
		}
		if t.After(now) {
			break
		}
		if len(keys) == limit {
			return keys, true, nil
		}
		keys = append(keys, append([]byte{}, k...))
	}
	return keys, false, nil
}
