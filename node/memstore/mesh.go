package memstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

// statusGrace is how long a status outlives its message's expiry, as
// node/store keeps it: for the sender to learn what became of it.
const statusGrace = 24 * time.Hour

// statusReasons are the reasons a status keeps, as node/store's: any
// other error reads back as ErrOtherReason.
var statusReasons = []error{
	protocol.ErrExpired, protocol.ErrHopLimit, protocol.ErrUnknownUser, protocol.ErrBadEnvelope,
	protocol.ErrMeshFull, protocol.ErrMailboxFull, protocol.ErrUnknownDomain,
}

// meshState is the store-and-forward store.
type meshState struct {
	queues map[string]*meshQueue // by destination domain
	seen   map[protocol.MeshID]seenEntry
	status map[protocol.MeshID]sentStatus
	// bytes and envelopes held, in all and per origin and neighbour.
	bytes, envelopes int64
	originBytes      map[string]int64
	neighbourBytes   map[string]int64
	// neighbourSeen counts the seen ids each neighbour brought.
	neighbourSeen map[string]int
}

// meshQueue is one destination domain's envelopes, lowest Seq first.
type meshQueue struct {
	envs    []protocol.HeldEnvelope
	lastSeq uint64
	bytes   int64
}

type seenEntry struct {
	state   protocol.SeenState
	expires time.Time
	from    string
}

type sentStatus struct {
	sender string
	protocol.MessageStatus
}

func newMeshState() meshState {
	return meshState{
		queues:         map[string]*meshQueue{},
		seen:           map[protocol.MeshID]seenEntry{},
		status:         map[protocol.MeshID]sentStatus{},
		originBytes:    map[string]int64{},
		neighbourBytes: map[string]int64{},
		neighbourSeen:  map[string]int{},
	}
}

// originKey is what the per-origin quota counts by: the claimed domain
// with the node id that signed, as node/store counts it.
func originKey(e protocol.HeldEnvelope) string {
	if e.OriginID == "" {
		return e.Origin
	}
	return e.Origin + "/" + e.OriginID
}

// admit refuses an id the seen-set has or cannot take from from ("" for
// this node): seen, the set full, the part kept for this node's own ids,
// the neighbour's share.
func (m *meshState) admit(q protocol.MeshQuota, id protocol.MeshID, from string) error {
	if e, ok := m.seen[id]; ok {
		return &protocol.SeenError{State: e.state}
	}
	n := len(m.seen)
	if n >= q.MaxSeen {
		return fmt.Errorf("%w: it remembers %d of %d envelope ids", protocol.ErrMeshFull, n, q.MaxSeen)
	}
	if from == "" {
		return nil
	}
	if relayed := q.MaxSeen - q.MaxSeen/10; n >= relayed {
		return fmt.Errorf("%w: it remembers %d envelope ids, the most it takes from neighbours is %d", protocol.ErrMeshFull, n, relayed)
	}
	if m.neighbourSeen[from] >= q.NeighbourSeen {
		return fmt.Errorf("%w: it remembers %d envelope ids from neighbour %s, its share is %d",
			protocol.ErrNeighbourQuota, m.neighbourSeen[from], from, q.NeighbourSeen)
	}
	return nil
}

// addSeen records id in the seen-set until expires.
func (m *meshState) addSeen(id protocol.MeshID, state protocol.SeenState, expires time.Time, from string) {
	m.seen[id] = seenEntry{state, expires, from}
	if from != "" {
		m.neighbourSeen[from]++
	}
}

// checkHeld refuses an envelope node/store could not store.
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
	}
	return nil
}

// fits refuses e if it would pass a byte bound: the store's, its
// destination's, its neighbour's, its origin's, in that order.
func (m *meshState) fits(q protocol.MeshQuota, e protocol.HeldEnvelope) error {
	size := int64(len(e.Data))
	var queued int64
	if mq := m.queues[e.Domain]; mq != nil {
		queued = mq.bytes
	}
	bounds := []struct {
		err         error
		what        string
		held, bound int64
	}{
		{protocol.ErrMeshFull, "it", m.bytes, q.MaxBytes},
		{protocol.ErrMeshFull, "destination " + e.Domain, queued, q.DomainBytes},
		{protocol.ErrNeighbourQuota, "neighbour " + e.From, m.neighbourBytes[e.From], q.NeighbourBytes},
		{protocol.ErrMeshFull, "origin " + e.Origin, m.originBytes[originKey(e)], q.OriginBytes},
	}
	for _, b := range bounds {
		if b.err == protocol.ErrNeighbourQuota && e.From == "" {
			continue
		}
		if b.held+size > b.bound {
			return fmt.Errorf("%w: %s holds %d of %d bytes, the envelope has %d", b.err, b.what, b.held, b.bound, size)
		}
	}
	return nil
}

// Hold adds envs to their domains' queues, as forward.MeshStore says, and
// sets their Seqs.
func (s *Store) Hold(ctx context.Context, envs []protocol.HeldEnvelope) ([]error, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.lock("hold"); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	m, q := &s.mesh, s.opts.Mesh
	refusals := make([]error, len(envs))
	for i, e := range envs {
		err := checkHeld(e)
		if err == nil {
			err = m.admit(q, e.ID, e.From)
		}
		if err == nil {
			err = m.fits(q, e)
		}
		if err != nil {
			refusals[i] = fmt.Errorf("memstore: hold: %w", err)
			continue
		}
		mq := m.queues[e.Domain]
		if mq == nil {
			mq = &meshQueue{}
			m.queues[e.Domain] = mq
		}
		mq.lastSeq++
		e.Seq = mq.lastSeq
		e.Data = clone(e.Data)
		size := int64(len(e.Data))
		mq.envs = append(mq.envs, e)
		mq.bytes += size
		m.bytes += size
		m.envelopes++
		m.originBytes[originKey(e)] += size
		if e.From != "" {
			m.neighbourBytes[e.From] += size
		}
		m.addSeen(e.ID, protocol.SeenHeld, e.Expires, e.From)
		if e.Sender != "" {
			m.status[e.ID] = sentStatus{e.Sender, protocol.MessageStatus{ID: e.ID, State: protocol.MeshQueued,
				At: e.At, Updated: e.Held, Recipient: e.Recipient, Expires: e.Expires}}
		}
		envs[i].Seq = e.Seq
	}
	return refusals, nil
}

// Held returns up to limit envelopes of domain's queue after afterSeq.
func (s *Store) Held(domain string, afterSeq uint64, limit int) ([]protocol.HeldEnvelope, error) {
	if err := s.lock("held"); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []protocol.HeldEnvelope
	if mq := s.mesh.queues[domain]; mq != nil {
		for _, e := range mq.envs {
			if len(out) >= limit {
				break
			}
			if e.Seq > afterSeq {
				e.Data = clone(e.Data)
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// HeldDomains returns the domains with held envelopes, sorted.
func (s *Store) HeldDomains() ([]string, error) {
	if err := s.lock("held domains"); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []string
	for d, mq := range s.mesh.queues {
		if len(mq.envs) > 0 {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out, nil
}

// release removes envelope seq of domain's queue, if held, and sets its
// id's seen state; the caller holds the mutex.
func (m *meshState) release(domain string, seq uint64, state protocol.SeenState) (protocol.HeldEnvelope, bool) {
	mq := m.queues[domain]
	if mq == nil {
		return protocol.HeldEnvelope{}, false
	}
	i := slices.IndexFunc(mq.envs, func(e protocol.HeldEnvelope) bool { return e.Seq == seq })
	if i < 0 {
		return protocol.HeldEnvelope{}, false
	}
	e := mq.envs[i]
	mq.envs = slices.Delete(mq.envs, i, i+1)
	size := int64(len(e.Data))
	mq.bytes -= size
	m.bytes -= size
	m.envelopes--
	if m.originBytes[originKey(e)] -= size; m.originBytes[originKey(e)] == 0 {
		delete(m.originBytes, originKey(e))
	}
	if e.From != "" {
		if m.neighbourBytes[e.From] -= size; m.neighbourBytes[e.From] == 0 {
			delete(m.neighbourBytes, e.From)
		}
	}
	seen := m.seen[e.ID]
	seen.state = state
	m.seen[e.ID] = seen
	e.Data = nil
	return e, true
}

// Release removes the envelopes seqs of domain's queue and sets their
// ids' seen state; seqs not held are ignored.
func (s *Store) Release(domain string, seqs []uint64, state protocol.SeenState) error {
	if state != protocol.SeenForwarded && state != protocol.SeenDelivered && state != protocol.SeenDropped {
		return fmt.Errorf("memstore: release: %w: seen state %v", ErrInvalidState, state)
	}
	if err := s.lock("release"); err != nil {
		return err
	}
	defer s.mu.Unlock()
	for _, seq := range seqs {
		s.mesh.release(domain, seq, state)
	}
	return nil
}

// Seen returns the seen state of id.
func (s *Store) Seen(id protocol.MeshID) (protocol.SeenState, bool, error) {
	if err := s.lock("seen"); err != nil {
		return 0, false, err
	}
	defer s.mu.Unlock()
	e, ok := s.mesh.seen[id]
	return e.state, ok, nil
}

// MeshStats describes the store-and-forward store.
func (s *Store) MeshStats() (protocol.MeshStoreStats, error) {
	if err := s.lock("mesh stats"); err != nil {
		return protocol.MeshStoreStats{}, err
	}
	defer s.mu.Unlock()
	m := &s.mesh
	st := protocol.MeshStoreStats{Envelopes: int(m.envelopes), Bytes: m.bytes, MaxBytes: s.opts.Mesh.MaxBytes, Seen: len(m.seen)}
	for d, mq := range m.queues {
		if len(mq.envs) == 0 {
			continue
		}
		st.Domains = append(st.Domains, protocol.MeshDomainStats{Domain: d, Envelopes: len(mq.envs), Bytes: mq.bytes})
		if first := mq.envs[0].Held; st.Oldest.IsZero() || first.Before(st.Oldest) {
			st.Oldest = first
		}
	}
	slices.SortFunc(st.Domains, func(a, b protocol.MeshDomainStats) int { return cmp.Compare(a.Domain, b.Domain) })
	return st, nil
}

// ExpireMesh removes the envelopes that expired at now and returns them
// without Data, earliest expiry first, marking their ids dropped; then
// the seen ids and statuses that expired.
func (s *Store) ExpireMesh(now time.Time) ([]protocol.HeldEnvelope, error) {
	if err := s.lock("expire mesh"); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	m := &s.mesh
	var due []protocol.HeldEnvelope
	for _, mq := range m.queues {
		for _, e := range mq.envs {
			if !e.Expires.After(now) {
				due = append(due, e)
			}
		}
	}
	slices.SortFunc(due, func(a, b protocol.HeldEnvelope) int {
		return cmp.Or(a.Expires.Compare(b.Expires), cmp.Compare(a.Seq, b.Seq), cmp.Compare(a.Domain, b.Domain))
	})
	expired := make([]protocol.HeldEnvelope, 0, len(due))
	for _, e := range due {
		released, _ := m.release(e.Domain, e.Seq, protocol.SeenDropped)
		expired = append(expired, released)
	}
	for id, e := range m.seen {
		if !e.expires.After(now) {
			delete(m.seen, id)
			if e.from != "" {
				if m.neighbourSeen[e.from]--; m.neighbourSeen[e.from] == 0 {
					delete(m.neighbourSeen, e.from)
				}
			}
		}
	}
	for id, st := range m.status {
		if !st.Expires.After(now.Add(-statusGrace)) {
			delete(m.status, id)
		}
	}
	if len(expired) == 0 {
		return nil, nil
	}
	return expired, nil
}

// SetStatus records the state of a message sent from here that has a
// status, keeping a delivered or dropped state against older news.
func (s *Store) SetStatus(id protocol.MeshID, state protocol.MeshState, at string, when time.Time, reason error) error {
	if state == protocol.MeshUnknown || state > protocol.MeshDropped {
		return fmt.Errorf("memstore: set status: %w: %v", ErrInvalidState, state)
	}
	if err := s.lock("set status"); err != nil {
		return err
	}
	defer s.mu.Unlock()
	st, ok := s.mesh.status[id]
	if !ok || !replaces(st.State, state) {
		return nil
	}
	st.State, st.At, st.Updated, st.Reason = state, at, when, keptReason(reason)
	s.mesh.status[id] = st
	return nil
}

// replaces reports whether state next replaces cur: delivery is final,
// a drop or expiry yields only to delivery, earlier stages to anything.
func replaces(cur, next protocol.MeshState) bool {
	switch cur {
	case protocol.MeshQueued, protocol.MeshForwarded:
		return true
	case protocol.MeshExpired, protocol.MeshDropped:
		return next == protocol.MeshDelivered
	}
	return false
}

// keptReason is what a status reads back for reason: the first of
// statusReasons it is, ErrOtherReason, or nil.
func keptReason(reason error) error {
	if reason == nil {
		return nil
	}
	for _, r := range statusReasons {
		if errors.Is(reason, r) {
			return r
		}
	}
	return ErrOtherReason
}

// Statuses returns the statuses of ids sent by sender; others are
// MeshUnknown.
func (s *Store) Statuses(sender string, ids []protocol.MeshID) ([]protocol.MessageStatus, error) {
	if err := s.lock("statuses"); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	out := make([]protocol.MessageStatus, len(ids))
	for i, id := range ids {
		out[i] = protocol.MessageStatus{ID: id}
		if st, ok := s.mesh.status[id]; ok && st.sender == sender {
			out[i] = st.MessageStatus
		}
	}
	return out, nil
}
