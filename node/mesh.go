package node

import (
	"context"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

// Store-and-forward (DESIGN §7): a message for a user of another domain
// whose node is not linked goes into the mesh as a signed envelope that
// nodes keep on disk and forward hop by hop. Package mesh/forward does the
// forwarding; this file declares what it needs from the node's store and
// what the service needs from it.

// MeshStore is the node store's part for store-and-forward. Every change
// is durable when the method returns.
type MeshStore interface {
	// Hold adds envs to their domains' queues and records each id in the
	// seen-set as SeenHeld, and a status for envelopes with a Sender, in
	// one transaction, setting each Seq. An envelope whose id is already
	// in the seen-set gets a *SeenError with the id's state and is not
	// stored; one that would pass a bound of the store's MeshQuota gets an
	// error wrapping ErrMeshFull that names the bound. The error return is
	// for failures of the store itself; then nothing was stored.
	Hold(ctx context.Context, envs []protocol.HeldEnvelope) ([]error, error)
	// Held returns up to limit envelopes of domain's queue with Seq above
	// afterSeq, in order.
	Held(domain string, afterSeq uint64, limit int) ([]protocol.HeldEnvelope, error)
	// HeldDomains returns the domains with held envelopes.
	HeldDomains() ([]string, error)
	// Release removes the envelopes seqs of domain's queue and sets their
	// ids' seen state to state (SeenForwarded, SeenDelivered or
	// SeenDropped); the ids stay in the seen-set until they expire. Seqs
	// not in the queue are ignored.
	Release(domain string, seqs []uint64, state protocol.SeenState) error
	// Seen returns the seen state of id; false if it is not in the set.
	Seen(id protocol.MeshID) (protocol.SeenState, bool, error)
	// MeshStats describes the store.
	MeshStats() (protocol.MeshStoreStats, error)
	// ExpireMesh removes held envelopes whose Expires is not after now and
	// returns them (Data left out), marking their ids SeenDropped; and
	// removes seen ids and statuses that expired.
	ExpireMesh(now time.Time) ([]protocol.HeldEnvelope, error)
	// SetStatus records the state of a message sent from this node, if it
	// has a status (one made by Hold for a Sender); it keeps a delivered
	// or dropped state against later news of an earlier stage.
	SetStatus(id protocol.MeshID, state protocol.MeshState, at string, when time.Time, reason error) error
	// Statuses returns the statuses of ids sent by sender; an id without
	// one, or sent by someone else, gets State MeshUnknown.
	Statuses(sender string, ids []protocol.MeshID) ([]protocol.MessageStatus, error)
}

// Mesh sends messages into the store-and-forward mesh and reports on
// them; package mesh/forward implements it.
type Mesh interface {
	// Send makes a signed envelope of each message and holds it on this
	// node's disk until the next hop takes it. Each receipt has MeshID and
	// QueuedAt, or Err (ErrMeshFull, ErrBadRequest).
	Send(ctx context.Context, msgs []protocol.MeshOutgoing) []protocol.Receipt
	// Pending reports whether envelopes for domain wait here; a direct
	// relay then waits its turn behind them, so that one sender's messages
	// stay in order.
	Pending(domain string) bool
	// Status returns the statuses of messages sender sent.
	Status(sender string, ids []protocol.MeshID) ([]protocol.MessageStatus, error)
	// State describes the routing table and the store.
	State() (protocol.MeshReport, error)
}

// MessageStatus returns the mesh statuses of messages the logged-in user
// sent; without store-and-forward every id is MeshUnknown.
func (c *Conn) MessageStatus(ids []protocol.MeshID) ([]protocol.MessageStatus, error) {
	user, err := c.user()
	if err != nil {
		return nil, err
	}
	if len(ids) > c.svc.limits.MaxBatch {
		return nil, errorf(protocol.ErrBadRequest, "%d ids (at most %d)", len(ids), c.svc.limits.MaxBatch)
	}
	if c.svc.mesh == nil {
		out := make([]protocol.MessageStatus, len(ids))
		for i, id := range ids {
			out[i].ID = id
		}
		return out, nil
	}
	return c.svc.mesh.Status(user, ids)
}

// MeshState describes the node's routing table and store-and-forward
// store; empty without store-and-forward.
func (s *Service) MeshState() (protocol.MeshReport, error) {
	if s.mesh == nil {
		return protocol.MeshReport{}, nil
	}
	return s.mesh.State()
}
