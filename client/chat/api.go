// Package chat is the client's conversations: DMs and groups as MLS groups
// (cipher suite 1), the note to oneself, history, contacts and the outbox,
// all kept in the encrypted client database (client/chatdb).
package chat

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/node"
)

// SKELETON: the bodies below are placeholders while the engine is being
// written; they are replaced before this branch merges.
var errTODO = errors.New("chat: not implemented yet")

// Options configure Open.
type Options struct {
	// Dir is the client state directory; the database is
	// chatdb.Path(Dir, address).
	Dir string
	// Account is the logged-in account. Its Client is replaced through
	// Engine.Connected after a reconnect.
	Account *client.Account
	// ExportKey is the account's OPAQUE export key; the database key is
	// derived from it.
	ExportKey []byte
	Log       *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Event is something the UI shows as it happens.
type Event struct {
	Conv chatdb.ConvID
	// Label names the conversation: "@bob@b.example", "#friends", "@notes".
	Label string
	// Message is a new line of the conversation's history (a chat message
	// or a system line).
	Message *chatdb.Message
	// Invitation is set when an invitation arrived: /join accepts it.
	Invitation bool
	// Status is a line about the engine itself (connection, a send that
	// failed for good); Conv is zero then.
	Status string
}

// Engine runs one account's conversations. Its methods are safe for
// concurrent use.
type Engine struct{}

// Open opens (creating on first use) the account's chat database.
// ErrLocked (from chatdb) means another qpc has it open.
func Open(o Options) (*Engine, error) { return nil, errTODO }

// Close closes the database.
func (e *Engine) Close() error { return errTODO }

// Self returns the account's address.
func (e *Engine) Self() string { return "" }

// Events delivers what happens as it happens; the UI must keep reading.
func (e *Engine) Events() <-chan Event { return nil }

// Connected points the engine at a new logged-in connection: it uploads
// KeyPackages when the node holds too few, then sends the outbox.
func (e *Engine) Connected(ctx context.Context, c *client.Client) error { return errTODO }

// Disconnected marks the engine offline; sends queue until Connected.
func (e *Engine) Disconnected() {}

// Online reports whether the engine has a connection.
func (e *Engine) Online() bool { return false }

// Handle processes messages from the mailbox and returns the sequence
// number up to which they are handled, to acknowledge.
func (e *Engine) Handle(ctx context.Context, msgs []node.Message) uint64 { return 0 }

// Label returns how the UI names c.
func Label(c chatdb.Conversation) string { return "" }

// Conversations returns the account's conversations, the most recently
// active first.
func (e *Engine) Conversations() ([]chatdb.Conversation, error) { return nil, errTODO }

// Find returns the conversation named by "@user", "@user@domain",
// "#group" or a bare name (a DM peer first, then a group).
func (e *Engine) Find(name string) (chatdb.Conversation, error) {
	return chatdb.Conversation{}, errTODO
}

// Note returns the note to oneself, creating it on first use.
func (e *Engine) Note() (chatdb.Conversation, error) { return chatdb.Conversation{}, errTODO }

// DM returns the DM with peer ("user" or "user@domain"), creating the
// two-member group on first use (DM to oneself: the note).
func (e *Engine) DM(ctx context.Context, peer string) (chatdb.Conversation, error) {
	return chatdb.Conversation{}, errTODO
}

// CreateGroup creates a group of one named name.
func (e *Engine) CreateGroup(ctx context.Context, name string) (chatdb.Conversation, error) {
	return chatdb.Conversation{}, errTODO
}

// Invite adds user to the group.
func (e *Engine) Invite(ctx context.Context, conv chatdb.ConvID, user string) error { return errTODO }

// Remove removes user from the group, rotating its keys.
func (e *Engine) Remove(ctx context.Context, conv chatdb.ConvID, user string) error { return errTODO }

// Join accepts a pending invitation.
func (e *Engine) Join(ctx context.Context, conv chatdb.ConvID) error { return errTODO }

// Leave leaves the group (or forgets a declined invitation).
func (e *Engine) Leave(ctx context.Context, conv chatdb.ConvID) error { return errTODO }

// Send sends text to the conversation; offline, it is queued. The note
// only records it.
func (e *Engine) Send(ctx context.Context, conv chatdb.ConvID, text string) (chatdb.Message, error) {
	return chatdb.Message{}, errTODO
}

// History returns the last n lines of the conversation (n <= 0: all).
func (e *Engine) History(conv chatdb.ConvID, n int) ([]chatdb.Message, error) { return nil, errTODO }

// MarkRead clears the conversation's unread count.
func (e *Engine) MarkRead(conv chatdb.ConvID) error { return errTODO }

// Members returns the group's members in the current epoch.
func (e *Engine) Members(conv chatdb.ConvID) ([]string, error) { return nil, errTODO }

// UpdateKey commits a self-update in the group.
func (e *Engine) UpdateKey(ctx context.Context, conv chatdb.ConvID) error { return errTODO }

// SafetyNumber returns the 60-digit safety number of the account and user,
// and the contact as known (Verified, KeyChanged).
func (e *Engine) SafetyNumber(ctx context.Context, user string) (string, chatdb.Contact, error) {
	return "", chatdb.Contact{}, errTODO
}

// Verify marks user verified with the identity key it has now.
func (e *Engine) Verify(ctx context.Context, user string) error { return errTODO }
