package chatdb

import (
	"fmt"
	"time"
)

// ConvID names a conversation in the database. It is random, so it says
// nothing about who the conversation is with.
type ConvID [16]byte

// MsgID is a chat message's id, chosen by its sender; the same message
// sent again has the same id, which makes resending idempotent.
type MsgID [16]byte

// Kind is what a conversation is.
type Kind uint8

const (
	// KindNote is the DM to oneself: a local notepad that never leaves
	// the machine.
	KindNote Kind = 1
	// KindDM is a two-member MLS group with one other user.
	KindDM Kind = 2
	// KindGroup is a named MLS group.
	KindGroup Kind = 3
)

// Conversation is one conversation of the account.
type Conversation struct {
	ID   ConvID
	Kind Kind
	// Name is the group's name; for a DM the peer's address; "notes" for
	// the note.
	Name string
	// Peer is a DM's other member, user@domain.
	Peer string
	// GroupID is the MLS group id; nil for the note.
	GroupID []byte
	// Home is the domain of the node that orders the group's commits.
	Home string
	// Members are the addresses in the group's current epoch, the
	// account's own included, sorted.
	Members []string
	// Invited is set while a Welcome has arrived that the user has not
	// accepted yet (/join); InvitedBy is who sent it.
	Invited   bool
	InvitedBy string
	// Left is set when the account left or was removed.
	Left bool
	// Unread counts messages arrived since the user last looked.
	Unread int
	// Senders is the highest chat sequence number seen from each sender
	// address, to detect gaps.
	Senders map[string]uint64
	// SentSeq is the account's last chat sequence number here.
	SentSeq          uint64
	Created, Updated time.Time
}

// Status is what became of one of the account's own messages.
type Status uint8

const (
	// StatusNone is every message that is not the account's own.
	StatusNone Status = 0
	// StatusQueued means the message waits in the outbox.
	StatusQueued Status = 1
	// StatusSent means the account's home node has it (its receipt).
	StatusSent Status = 2
	// StatusDelivered means the recipient's node stored it (the home
	// node's receipt with a mailbox seq, or the mesh's status delivered)
	// or a device of the recipient said it has it (a delivery receipt).
	StatusDelivered Status = 3
	// StatusRead means a device of the recipient said it was shown there
	// (a read receipt, sent only by accounts that turned them on).
	StatusRead Status = 4
)

// String names s as qpc shows it: "queued", "sent", "delivered", "read",
// or "" for StatusNone.
func (s Status) String() string {
	switch s {
	case StatusQueued:
		return "queued"
	case StatusSent:
		return "sent"
	case StatusDelivered:
		return "delivered"
	case StatusRead:
		return "read"
	case StatusNone:
		return ""
	}
	return fmt.Sprintf("status %d", uint8(s))
}

// Message is one line of a conversation's history.
type Message struct {
	// Seq is the message's place in the history, from 1, assigned by
	// Tx.AppendMessage.
	Seq uint64
	// ID is the sender's message id (zero for system lines).
	ID MsgID
	// From is the sender's address.
	From string
	// Time is the sender's time, Received when it arrived here.
	Time, Received time.Time
	Text           string
	// System marks an event line (joined, removed, key changed, gap)
	// rather than a chat message.
	System bool
	Status Status
	// Edited is the sender's time of the last edit applied to Text (zero:
	// never edited); Deleted is set when its sender deleted it: Text is
	// then empty, the words gone from the record, not hidden behind the
	// mark.
	Edited  time.Time
	Deleted bool
}

// Contact is what the account knows of another user's identity.
type Contact struct {
	// Address is user@domain, lowercase.
	Address string
	// IdentityKey is the Ed25519 account key last seen for Address (for
	// an account of one key, its identity key).
	IdentityKey []byte
	// Verified is set when the user compared safety numbers;
	// VerifiedKey is the key they compared.
	Verified    bool
	VerifiedKey []byte
	// KeyChanged is set when IdentityKey differs from VerifiedKey: shown
	// loudly, and nothing is sent to Address, until the user verifies
	// again.
	KeyChanged bool
	Updated    time.Time
	// PreviousKey is the key IdentityKey replaced at its last change, for
	// the old safety number; NoticeOnSend is set while that change has
	// not been shown at a send to Address (it is, once).
	PreviousKey  []byte
	NoticeOnSend bool
}

// Outgoing is a message in the outbox, waiting for the node.
type Outgoing struct {
	// Seq is the outbox order, assigned by Tx.PutOutgoing.
	Seq  uint64
	Conv ConvID
	// MsgID is the chat message's id (zero for handshake messages).
	MsgID MsgID
	// Text is a chat message to encrypt to the group when it is sent;
	// set when Payload is not. ChatSeq is its sequence number among the
	// account's messages in the conversation, fixed when it was queued.
	Text    string
	ChatSeq uint64
	// Recipient and Payload are an already sealed envelope to one
	// recipient (commits and Welcomes), sent byte for byte.
	Recipient string
	Payload   []byte
	Created   time.Time
	Attempts  int
	// TTL and MaxHops are the node's handling of a chat message (qpc send
	// --ttl, --max-hops); zero is the node's default.
	TTL     time.Duration
	MaxHops uint8
}
