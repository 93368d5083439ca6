package node

import (
	"context"

	"github.com/quicprochat/qpc/protocol"
)

// Store-and-forward (DESIGN §7): a message for a user of another domain
// whose node is not linked goes into the mesh as a signed envelope that
// nodes keep on disk and forward hop by hop. Package mesh/forward does the
// forwarding, on a store it declares itself (forward.MeshStore); this
// file declares what the service needs from it.

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
