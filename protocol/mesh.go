package protocol

import (
	"fmt"
	"time"
)

// ErrNeighbourQuota means the store-and-forward store holds as much as it
// takes from the neighbour that handed an envelope over
// (MeshQuota.NeighbourBytes). It wraps ErrMeshFull, so callers and the
// wire treat it as a full store; it is apart so that metrics and logs can
// name the flooding neighbour's refusals.
var ErrNeighbourQuota = fmt.Errorf("%w: neighbour quota", ErrMeshFull)

// MeshID is a store-and-forward envelope's id: SHA-256 of its signed
// content (mesh/envelope).
type MeshID [32]byte

// SeenState is what a node did with an envelope id it has seen.
type SeenState uint8

// The states of a seen id.
const (
	// SeenHeld: the envelope is on this node's disk, waiting to be
	// forwarded.
	SeenHeld SeenState = 1 + iota
	// SeenForwarded: the next hop took it.
	SeenForwarded
	// SeenDelivered: it is (or was) in a mailbox of this node.
	SeenDelivered
	// SeenDropped: this node dropped it (expired, hop limit, refused for
	// good by the next hop).
	SeenDropped
)

func (s SeenState) String() string {
	switch s {
	case SeenHeld:
		return "held"
	case SeenForwarded:
		return "forwarded"
	case SeenDelivered:
		return "delivered"
	case SeenDropped:
		return "dropped"
	}
	return "unknown"
}

// HeldEnvelope is an envelope in a node's store-and-forward queue.
type HeldEnvelope struct {
	ID MeshID
	// Domain is the recipient's domain: envelopes wait in one queue per
	// destination domain.
	Domain string
	// Origin is the domain of the node that made the envelope, as the
	// envelope claims it. Only the first hop can check it (against the
	// link's certificate), so the per-origin quota counts Origin together
	// with OriginID.
	Origin string
	// OriginID is the node id of the key whose signature the envelope
	// carries, which every hop verifies: the per-origin quota is kept per
	// Origin and OriginID, so that a node claiming another's domain with
	// its own key cannot use up that node's quota. Empty in records
	// written before it was kept; those count by Origin alone.
	OriginID string
	// From is the federation neighbour (its domain, from the link's
	// certificate) that handed the envelope over, or "" for one made
	// here. Unlike Origin it cannot be forged, so the per-neighbour
	// quota (MeshQuota.NeighbourBytes) caps what one neighbour can make
	// this node hold, whatever origins its envelopes claim.
	From string
	// Expires is when the envelope's TTL runs out.
	Expires time.Time
	// Held is when this node stored it.
	Held time.Time
	// Data is the envelope as mesh/envelope.Marshal encodes it.
	Data []byte
	// Sender is the local user who sent it when this node is the origin,
	// else "". Hold then also records a MessageStatus for the sender.
	Sender string
	// Recipient is "user@domain", for the sender's status.
	Recipient string
	// At is the domain of this node, for the sender's status (its At)
	// when Sender is set.
	At string
	// Seq is the envelope's place in its domain's queue, set by Hold:
	// increasing, never reused.
	Seq uint64
}

// MeshQuota bounds the store-and-forward store; the store is configured
// with it. Hitting a bound refuses the new envelope (ErrMeshFull);
// nothing held is evicted for it.
type MeshQuota struct {
	// MaxBytes bounds the Data bytes of all held envelopes.
	MaxBytes int64
	// DomainBytes bounds the bytes held for one destination domain.
	DomainBytes int64
	// OriginBytes bounds the bytes held from one origin (its domain and
	// node id, HeldEnvelope.OriginID).
	OriginBytes int64
	// NeighbourBytes bounds the bytes held that one federation neighbour
	// handed over (HeldEnvelope.From); envelopes made here do not count.
	NeighbourBytes int64
	// MaxSeen bounds the ids remembered in the seen-set. The envelopes
	// neighbours hand over may fill it only to nine tenths: the rest is
	// kept for this node's users and the messages delivered here.
	MaxSeen int
	// NeighbourSeen bounds the ids that the envelopes one neighbour
	// handed over hold in the seen-set, until they expire.
	NeighbourSeen int
}

// MeshStoreStats describes the store-and-forward store.
type MeshStoreStats struct {
	Envelopes int
	Bytes     int64
	// MaxBytes is the store's bound, MeshQuota.MaxBytes.
	MaxBytes int64
	// Oldest is when the longest-held envelope was stored; zero if none.
	Oldest time.Time
	Seen   int
	// Domains has the envelopes and bytes held per destination domain.
	Domains []MeshDomainStats
}

// MeshDomainStats is one destination's share of the store.
type MeshDomainStats struct {
	Domain    string
	Envelopes int
	Bytes     int64
}

// MeshState is what is known of a message in the mesh.
type MeshState uint8

// The states of a message in the mesh, as schemas.MeshState.
const (
	MeshUnknown MeshState = iota
	MeshQueued
	MeshForwarded
	MeshDelivered
	MeshExpired
	MeshDropped
)

func (s MeshState) String() string {
	return [...]string{"unknown", "queued", "forwarded", "delivered", "expired", "dropped"}[min(int(s), 5)]
}

// MessageStatus is the last known state of a message a local user sent
// into the mesh.
type MessageStatus struct {
	ID        MeshID
	State     MeshState
	At        string // domain of the node that reported State
	Updated   time.Time
	Recipient string
	Expires   time.Time
	// Reason says why for MeshDropped and MeshExpired (ErrExpired,
	// ErrHopLimit, ErrUnknownUser, ...).
	Reason error
}

// SeenError means an envelope's id is already in the seen-set.
type SeenError struct {
	State SeenState
}

func (e *SeenError) Error() string { return "envelope already " + e.State.String() + " here" }

// MeshOutgoing is a message a local user sends into the mesh.
type MeshOutgoing struct {
	Sender    string // the local user
	Recipient string // "user@domain", domain another node's
	Payload   []byte
	// TTL and MaxHops are what the sender asked for; 0 means the node's
	// default, and more than the node's is capped at it.
	TTL     time.Duration
	MaxHops uint8
}

// MeshRoute is one line of the routing table.
type MeshRoute struct {
	Domain  string
	Via     string
	Hops    uint8
	Expires time.Time // zero for a route over a link
}

// MeshReport is what meshState answers.
type MeshReport struct {
	Routes []MeshRoute
	Store  MeshStoreStats
	// Counters are the engine's counters since start, by name
	// ("forwarded", "delivered", "dropped:expired", ...).
	Counters map[string]uint64
}
