package protocol

import (
	"time"
)

// PublishedKeys are a user's public keys as the key directory serves them.
// The node stores them as given; clients verify Signature.
type PublishedKeys struct {
	// IdentityKey is the user's Ed25519 public key (32 bytes).
	IdentityKey []byte
	// HPKEKey is the user's X-Wing public key (1216 bytes) that 1:1
	// messages are sealed to.
	HPKEKey []byte
	// Signature is the identity key's signature over the published keys
	// (the layout is crypto/identity's).
	Signature []byte
	// Published is when the node accepted these keys.
	Published time.Time
	// Answer is the signed answer of the user's home node (a key answer
	// proof of crypto/attest), set on keys of another domain's user as
	// federation hands them over. It is never stored.
	Answer []byte
	// AccountKey is the account's Ed25519 public key (32 bytes), which
	// signs DeviceList; nil for an account published before devices.
	AccountKey []byte
	// DeviceList is the account's device list signed by AccountKey
	// (crypto/identity's layout). When it is set, IdentityKey, HPKEKey and
	// Signature are its primary device's (the first current device).
	DeviceList []byte
	// Transparency proves that these keys are what the home node's key
	// transparency log holds for the address; set in resolveUser answers,
	// nil elsewhere (and from nodes before issue 23).
	Transparency *KeyProof
}

// LinkRequest is a pending request of a new machine to become a device of
// an account (schemas/node.capnp requestLink).
type LinkRequest struct {
	// ID names the request on its node.
	ID uint64
	// Request is the new device's unsigned certificate fields
	// (crypto/identity's layout), opaque to the node but for the identity
	// key it reads to drop the request once a list holds it.
	Request []byte
	// Tag is the HMAC of Request under the link code's key; only the
	// approving device can check it.
	Tag []byte
	// Created is when the node took the request.
	Created time.Time
}

// NewMessage is a message to put in a mailbox.
type NewMessage struct {
	// Recipient is the local user whose mailbox gets the message.
	Recipient string
	// Payload is the sealed message; the node never looks inside.
	Payload []byte
	// Enqueued is the node's time of acceptance.
	Enqueued time.Time
	// Expires is when the message is dropped if still undelivered.
	Expires time.Time
	// MeshID is set for a message that came through the mesh: Enqueue
	// stores it only if the id is not in the seen-set, and records it
	// there as SeenDelivered until MeshExpires, in the same transaction;
	// a seen id gets a *SeenError receipt, and a full seen-set
	// ErrMeshFull (the store's MeshQuota.MaxSeen).
	MeshID      MeshID
	MeshExpires time.Time
	// MeshFrom is the federation neighbour that handed the message's
	// envelope over (its domain, from the link's certificate): its id
	// counts against that neighbour's share of the seen-set
	// (MeshQuota.NeighbourSeen), refused with ErrNeighbourQuota.
	MeshFrom string
}

// Message is a message in a mailbox.
type Message struct {
	// Seq numbers the messages of one mailbox: consecutive, starting at 1,
	// never reused, also after messages are acknowledged or expire.
	Seq      uint64
	Payload  []byte
	Enqueued time.Time
	Expires  time.Time
}

// Receipt is what an enqueue returns for a message.
type Receipt struct {
	// Seq is the message's sequence number in its recipient's mailbox.
	Seq uint64
	// Err is nil when the message was stored, else why not: ErrUnknownUser,
	// ErrMailboxFull.
	Err error
	// MeshID is set, and Seq 0, when the message went into the mesh
	// instead: it waits on QueuedAt's disk (this node's domain) for a
	// route to the recipient's node.
	MeshID   MeshID
	QueuedAt string
}

// Outgoing is a message a client asks the node to enqueue.
type Outgoing struct {
	// Recipient is "user" or "user@domain" of this node.
	Recipient string
	// Payload is the sealed message.
	Payload []byte
	// TTL is how long to keep it undelivered; 0 means the default.
	TTL time.Duration
	// MaxHops bounds the federation hops of a message that goes into the
	// mesh; 0 means the node's default, more is capped at it.
	MaxHops uint8
}
