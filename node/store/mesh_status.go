package store

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/protocol"
)

// statusGrace is how long a status stays after its message expired, so
// that its sender can still learn that it expired.
const statusGrace = 24 * time.Hour

// SetStatus records news of a message sent from this node: its state, the
// domain of the node that reported it, when, and for protocol.MeshDropped and
// protocol.MeshExpired why. It changes only a status that Hold made for the
// message's Sender, and keeps a final state (delivered, expired, dropped)
// against news of an earlier stage (queued, forwarded); of the final
// states only delivered replaces another, and nothing replaces it. The
// reason reads back as the node error it is (protocol.ErrExpired,
// protocol.ErrHopLimit, protocol.ErrUnknownUser, protocol.ErrBadEnvelope,
// protocol.ErrMeshFull, protocol.ErrMailboxFull, protocol.ErrUnknownDomain), any other
// as ErrOtherReason. A state out of range or protocol.MeshUnknown fails with
// ErrInvalidState.
func (s *Store) SetStatus(id protocol.MeshID, state protocol.MeshState, at string, when time.Time, reason error) error {
	if state == protocol.MeshUnknown || state > protocol.MeshDropped {
		return fmt.Errorf("store: set status: %w: %v", ErrInvalidState, state)
	}
	return s.update("set status", func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketMeshStatus).Get(id[:])
		if raw == nil {
			return nil
		}
		st, err := decodeStatus(id, raw)
		if err != nil {
			return fmt.Errorf("status of %x: %w", id, err)
		}
		if !replaces(st.State, state) {
			return nil
		}
		st.State, st.At, st.Updated, st.Reason = state, at, when, reason
		return putStatus(tx, st)
	})
}

// replaces reports whether news of state next replaces a status in state
// cur.
func replaces(cur, next protocol.MeshState) bool {
	switch cur {
	case protocol.MeshQueued, protocol.MeshForwarded:
		return true
	case protocol.MeshExpired, protocol.MeshDropped:
		// A delivery report can arrive after this node gave up: the
		// recipient has the message all the same.
		return next == protocol.MeshDelivered
	}
	return false
}

// Statuses returns the statuses of ids sent by sender, in the order of
// ids; an id without a status, or whose status is another user's, gets
// State protocol.MeshUnknown.
func (s *Store) Statuses(sender string, ids []protocol.MeshID) ([]protocol.MessageStatus, error) {
	out := make([]protocol.MessageStatus, len(ids))
	err := s.view("statuses", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeshStatus)
		for i, id := range ids {
			out[i] = protocol.MessageStatus{ID: id}
			raw := b.Get(id[:])
			if raw == nil {
				continue
			}
			st, err := decodeStatus(id, raw)
			if err != nil {
				return fmt.Errorf("status of %x: %w", id, err)
			}
			if st.sender == sender {
				out[i] = st.MessageStatus
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// putStatus stores st, replacing the status of its id and that one's
// expiry entry.
func putStatus(tx *bolt.Tx, st meshStatus) error {
	b := tx.Bucket(bucketMeshStatus)
	idx := tx.Bucket(bucketStatusExpiry)
	if raw := b.Get(st.ID[:]); raw != nil {
		old, err := decodeStatus(st.ID, raw)
		if err != nil {
			return fmt.Errorf("status of %x: %w", st.ID, err)
		}
		if err := idx.Delete(idExpiryKey(old.Expires, st.ID)); err != nil {
			return err
		}
	}
	if err := b.Put(st.ID[:], encodeStatus(st)); err != nil {
		return err
	}
	return idx.Put(idExpiryKey(st.Expires, st.ID), nil)
}

// expireStatus removes the status of the status expiry entry k.
func expireStatus(tx *bolt.Tx, k []byte) error {
	_, id, err := parseIDExpiryKey(k)
	if err != nil {
		return err
	}
	b := tx.Bucket(bucketMeshStatus)
	if b.Get(id[:]) == nil {
		return fmt.Errorf("%w: status expiry entry for missing status %x", ErrCorrupt, id)
	}
	if err := b.Delete(id[:]); err != nil {
		return err
	}
	return tx.Bucket(bucketStatusExpiry).Delete(k)
}
