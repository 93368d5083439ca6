package forward

import (
	"context"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

// MeshStore is what the engine keeps on disk: held envelopes, the
// seen-set and the statuses of messages sent from here. node/store
// implements it on bbolt, node/memstore in memory for tests; node/storetest
// holds both to the semantics below. Every change is durable when the
// method returns.
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
