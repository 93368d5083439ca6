// Package chat is the client's conversations: DMs and groups as MLS groups
// (RFC 9420), the note to oneself, history, contacts and the outbox, all
// kept in the encrypted client database (client/chatdb).
//
// # Cipher suites
//
// The account publishes KeyPackages of two suites: the post-quantum
// MLS_128_MLKEM768X25519_AES256GCM_SHA384_Ed25519 (X-Wing, see crypto/mls)
// and suite 1, each kept topped up on the node on its own. A new group or
// DM is post-quantum when every invitee has a post-quantum KeyPackage: a
// group starts post-quantum, and when the first person invited into it has
// only suite 1 (an older client), the group, still the creator's alone, is
// made again in suite 1 before the invitation. A group keeps its suite for
// its whole life: a post-quantum group refuses invitees without a
// post-quantum KeyPackage (ErrNoPQKeyPackage) rather than fall back, and a
// classic group stays classic until its members move to a new group.
// Options.PQOnly publishes post-quantum KeyPackages only and refuses to
// create, or join from a Welcome, a classic group (ErrClassicRefused).
//
// # Devices
//
// Every device of an account is its own member (devices.go): its
// credential is "user#<device id>@domain", its leaf is signed with the
// device's identity key, and a member is accepted only as a current device
// of its account's verified list (checkMembers). People see accounts.
// Inviting a person adds all their current devices in one commit, and the
// account's own other devices come along; DeviceAdded and DeviceRemoved,
// called where the account's list changed, commit the change in every
// group; a member that finds a group out of line with a member's list
// (a device missing or revoked) commits the fix when it has the lowest
// leaf. An account from before devices keeps its plain address.
//
// The node is the MLS delivery service. Every MLS message travels in a
// sealed envelope to each member's mailbox (wire.go), and the node that
// the group's creator is on (its home) orders the group's commits:
// before a commit takes effect, Engine asks the home node to accept it for
// its epoch (client.Client.OrderCommit). A refused commit lost the epoch to
// another member's; the engine applies the commits it missed, which the
// node hands back, and makes its change again on the new epoch.
package chat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/mls"
	"github.com/quicprochat/qpc/protocol"
)

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
	// PQOnly publishes only post-quantum KeyPackages and refuses to
	// create or join a group of a classic cipher suite; groups the
	// account is already in keep working.
	PQOnly bool
	// Suites, when not nil, limits the cipher suites the account
	// publishes KeyPackages of and makes groups in to these (in the order
	// of crypto/mls's SupportedSuites); nil means every suite. A client
	// limited to suite 1 behaves as one from before the post-quantum
	// suite, which is what tests of mixed groups need.
	Suites []mls.CipherSuiteID
}

// Event is something the UI shows as it happens.
type Event struct {
	Conv chatdb.ConvID
	// Label names the conversation: "@bob@b.example", "#friends".
	Label string
	// Message is a new line of the conversation's history (a chat message
	// or a system line).
	Message *chatdb.Message
	// Unread is the conversation's unread count after this event.
	Unread int
	// Invitation is set when an invitation arrived: /join accepts it.
	Invitation bool
	// Status is a line about the engine itself (a send that failed for
	// good, a message that could not be read); Conv is zero then.
	Status string
	// StateChange is set when Message is an own line shown before whose
	// delivery state (Message.Status) moved on: not a new line.
	StateChange bool
	// Changed is set when Message is a line shown before that its author
	// edited (Message.Edited) or deleted (Message.Deleted): not a new
	// line.
	Changed bool
}

// Errors of the engine's operations.
var (
	// ErrOffline means an operation needs the node and there is no
	// connection; messages are queued instead.
	ErrOffline = errors.New("not connected to the node")
	// ErrNoConversation means a name matches no conversation.
	ErrNoConversation = errors.New("no such conversation")
	// ErrNotGroup means an operation needs a group or DM with an MLS group.
	ErrNotGroup = errors.New("not a group")
	// ErrNotMember means the user is not a member of the group.
	ErrNotMember = errors.New("not a member of this group")
	// ErrAlreadyMember means the user is in the group already.
	ErrAlreadyMember = errors.New("already a member of this group")
	// ErrLeft means the account has left or was removed from the group.
	ErrLeft = errors.New("you are no longer in this group")
	// ErrNotJoined means the account was invited to the group but has not
	// accepted (Join) yet.
	ErrNotJoined = errors.New("invitation not accepted yet")
	// ErrNoInvitation means there is no pending invitation to join.
	ErrNoInvitation = errors.New("no pending invitation")
	// ErrContention means the group's commits kept losing to other
	// members' commits.
	ErrContention = errors.New("other members keep changing the group; try again")
	// ErrGroupBroken means the group's home node will not order this
	// client's change: it refuses the claim (protocol.ErrBadCommitClaim:
	// this client is further behind than the node keeps commits, or the
	// group's ordering was taken over), or the commit that holds the
	// epoch cannot be applied (a member committed junk). Other members'
	// commits that arrive still apply; the change can be tried again.
	ErrGroupBroken = errors.New("the group cannot change from this client now")
	// ErrBadName means a group name is empty, too long or has control
	// characters.
	ErrBadName = errors.New("bad group name")
	// ErrNoPQKeyPackage means an invitee has no post-quantum KeyPackage
	// (an older client, or one that has not uploaded any yet) for a group
	// that is post-quantum.
	ErrNoPQKeyPackage = errors.New("no post-quantum key package: their qpc is too old or has not been online since it was updated")
	// ErrTooLarge means a change to a group would need a message larger
	// than a node carries: the group is too large for it (a post-quantum
	// group at about 40 member devices, a classic one at about 350). Nothing was
	// changed.
	ErrTooLarge = errors.New("the group is too large for this change: its message would exceed the node's limit")
	// ErrClassicRefused means the post-quantum-only setting refused to
	// create or join a group of a classic (not post-quantum) cipher suite.
	ErrClassicRefused = errors.New("post-quantum only (--pq-only): refusing a classic, not post-quantum, group")
)

// Engine runs one account's conversations. Its methods are safe for
// concurrent use; they run one at a time.
type Engine struct {
	mu   sync.Mutex // serializes operations
	db   *chatdb.DB
	acct *client.Account
	self string
	// suites are the suites the account publishes KeyPackages of, the
	// preferred (post-quantum) first.
	suites []mls.CipherSuite
	pqOnly bool
	cfg    *mls.Config
	log    *slog.Logger
	now    func() time.Time
	online bool
	// flushing is set while flush runs: the flush of a commit made
	// inside it (a queued DM's group started) leaves the outbox to it.
	flushing bool
	// leavers are members who proposed their removal, gathered by Handle
	// for commitLeavers.
	leavers []leaver
	// stale are groups whose devices checkMembers found out of line with
	// their members' device lists, for reconcileLowest.
	stale []chatdb.ConvID
	// leftElsewhere are groups another device of the account left (it
	// proposed this device's removal), so that the commit that removes
	// this device says so rather than name the member who committed it.
	leftElsewhere map[chatdb.ConvID]bool
	// usedKeyPackage is set when a Welcome used up a KeyPackage.
	usedKeyPackage bool
	// receipts are the chat messages of DM peers handled in this batch,
	// for their delivery receipts (sendReceipts).
	receipts map[string][]chatdb.MsgID
	// deliveries are the node's receipts of own messages sent by this
	// engine (DeliveryOf).
	deliveries map[chatdb.MsgID]Delivery
	// tombs are the lines deleted before they came (tombstones.go), read
	// from the database once and again after each one added.
	tombs map[tombstone]bool
	// hasEarlyEdits says whether edits wait for their lines
	// (earlyedits.go); nil: not read yet.
	hasEarlyEdits *bool

	evMu    sync.Mutex
	evCond  *sync.Cond
	evQueue []Event
	// onChange hears of every Changed event as it is emitted (OnChange).
	onChange func(Event)
	events   chan Event
	closed   bool
	quit     chan struct{} // closed by Close
	done     chan struct{} // closed when pump ends
}

// Open opens (creating on first use) the account's chat database.
// chatdb.ErrLocked means another qpc has it open.
func Open(o Options) (*Engine, error) {
	if o.Account == nil || o.Account.Keys == nil {
		return nil, errors.New("chat: no account")
	}
	var suites []mls.CipherSuite
	for _, id := range mls.SupportedSuites {
		if o.PQOnly && !mls.IsPostQuantum(id) || o.Suites != nil && !slices.Contains(o.Suites, id) {
			continue
		}
		cs, err := mls.Suite(id)
		if err != nil {
			return nil, err
		}
		suites = append(suites, cs)
	}
	if len(suites) == 0 {
		return nil, fmt.Errorf("chat: no cipher suite left of %v", o.Suites)
	}
	self := strings.ToLower(o.Account.Address())
	db, err := chatdb.Open(chatdb.Path(o.Dir, self), o.ExportKey)
	if err != nil {
		return nil, err
	}
	e := &Engine{
		db: db, acct: o.Account, self: self, suites: suites, pqOnly: o.PQOnly, log: o.Log, now: o.Now,
		events: make(chan Event), quit: make(chan struct{}), done: make(chan struct{}),
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = time.Now
	}
	e.cfg = &mls.Config{PrivateHandshake: true, CredentialPolicy: credentialPolicy, Now: e.now, Policy: rolesPolicy}
	e.evCond = sync.NewCond(&e.evMu)
	e.pruneSeen()
	go e.pump()
	return e, nil
}

// pruneSeen forgets the seen marks of messages received longer ago than
// client.ReplayWindow, so that the seen-set does not grow for ever. A mark
// is made when a message arrives, after it was signed, so it outlives the
// window of its message's signed time; older sealed texts are refused by
// time (handleText), and MLS refuses to open a message of an epoch the
// group has left. A failure only delays the pruning to the next open.
func (e *Engine) pruneSeen() {
	before := e.now().Add(-client.ReplayWindow)
	// A write transaction syncs the file even when it changes nothing, and
	// every qpc command that opens the engine comes here: look first.
	var old bool
	err := e.db.View(func(tx *chatdb.Tx) (err error) {
		old, err = tx.SeenBefore(before)
		return err
	})
	if err != nil || !old {
		if err != nil {
			e.log.Warn("pruning seen message ids", "err", err)
		}
		return
	}
	var n int
	err = e.db.Update(func(tx *chatdb.Tx) (err error) {
		n, err = tx.PruneSeen(before)
		return err
	})
	if err != nil {
		e.log.Warn("pruning seen message ids", "err", err)
	} else if n > 0 {
		e.log.Debug("pruned seen message ids", "count", n)
	}
}

// credentialPolicy accepts Basic credentials whose identity is a device of
// an account, "user#device@domain", or an account published before devices,
// "user@domain"; that the signature key is that device's identity key,
// current in the account's verified list, is checked against the key
// directory (checkMembers), which needs the network.
func credentialPolicy(c *mls.Credential, sigKey []byte) error {
	if c.Type != mls.CredentialBasic || len(c.Identity) > 255 {
		return fmt.Errorf("%w: not a qpc address", mls.ErrCredential)
	}
	if _, err := memberAddress(string(c.Identity)); err != nil {
		return fmt.Errorf("%w: not a qpc address: %w", mls.ErrCredential, err)
	}
	return nil
}

// Close stops the events and closes the database.
func (e *Engine) Close() error {
	e.evMu.Lock()
	if e.closed {
		e.evMu.Unlock()
		return nil
	}
	e.closed = true
	close(e.quit)
	e.evCond.Broadcast()
	e.evMu.Unlock()
	<-e.done
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.db.Close()
}

// SnapshotDB begins a snapshot of the engine's chat database, for a
// backup made while the engine runs (chatdb.Snapshot); close it soon.
func (e *Engine) SnapshotDB() (*chatdb.Snapshot, error) { return e.db.Snapshot() }

// Self returns the account's address.
func (e *Engine) Self() string { return e.self }

// OnChange has fn told of each edit and delete of a line of the history
// (an Event with Changed) at once, as the engine applies it, besides
// Events: a one-shot reader (qpc recv) closes the engine when its batch
// is done, which drops the events not yet read, and must not miss these.
// fn runs inside the engine's operation: it must be quick and must not
// call the engine.
func (e *Engine) OnChange(fn func(Event)) {
	e.evMu.Lock()
	e.onChange = fn
	e.evMu.Unlock()
}

// Events delivers what happens as it happens, in order. The channel is
// closed by Close.
func (e *Engine) Events() <-chan Event { return e.events }

// emit queues ev for Events without blocking the caller.
func (e *Engine) emit(ev Event) {
	e.evMu.Lock()
	if ev.Changed && e.onChange != nil {
		e.onChange(ev)
	}
	if !e.closed {
		e.evQueue = append(e.evQueue, ev)
		e.evCond.Signal()
	}
	e.evMu.Unlock()
}

func (e *Engine) pump() {
	defer close(e.done)
	defer close(e.events)
	for {
		e.evMu.Lock()
		for len(e.evQueue) == 0 && !e.closed {
			e.evCond.Wait()
		}
		if e.closed {
			e.evMu.Unlock()
			return
		}
		ev := e.evQueue[0]
		e.evQueue = e.evQueue[1:]
		e.evMu.Unlock()
		// Events are queued inside an operation's transactions; waiting
		// for the operation to end lets the UI read what they announce.
		e.mu.Lock()
		e.mu.Unlock()
		select {
		case e.events <- ev:
		case <-e.quit:
			return
		}
	}
}

// status emits a line about the engine.
func (e *Engine) status(format string, args ...any) {
	e.emit(Event{Status: fmt.Sprintf(format, args...)})
}

// Connected points the engine at a new logged-in connection: it uploads
// KeyPackages when the node holds too few, then sends the outbox.
func (e *Engine) Connected(ctx context.Context, c *client.Client) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.acct.Client = c
	e.online = true
	if err := e.replenish(ctx); err != nil {
		e.log.Warn("uploading key packages", "err", err)
	}
	if _, err := e.sendBlockList(ctx); err != nil {
		e.log.Warn("sending the block list to the other devices", "err", err)
	}
	if err := e.sendNodeChanges(ctx); err != nil {
		e.log.Warn("updating the node's deny list", "err", err)
	}
	_, err := e.flush(ctx)
	return err
}

// Disconnected marks the engine offline; sends queue until Connected.
func (e *Engine) Disconnected() {
	e.mu.Lock()
	e.online = false
	e.mu.Unlock()
}

// Online reports whether the engine has a connection.
func (e *Engine) Online() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.online
}

// Label returns how the UI names c.
func Label(c chatdb.Conversation) string {
	if c.Kind == chatdb.KindGroup {
		return "#" + c.Name
	}
	return "@" + c.Peer
}

// normalize turns "bob" or "@bob" into "bob@<our domain>", lowercased, as
// protocol.ParseRecipient; what is not an address fails with
// protocol.ErrBadAddress.
func (e *Engine) normalize(addr string) (string, error) {
	a, err := protocol.ParseRecipient(addr, e.acct.Domain)
	if err != nil {
		return "", err
	}
	return a.String(), nil
}

// Conversations returns the account's conversations, the most recently
// active first.
func (e *Engine) Conversations() ([]chatdb.Conversation, error) {
	var cs []chatdb.Conversation
	err := e.db.View(func(tx *chatdb.Tx) (err error) {
		cs, err = tx.Conversations()
		return err
	})
	slices.SortStableFunc(cs, func(a, b chatdb.Conversation) int { return b.Updated.Compare(a.Updated) })
	return cs, err
}

// Find returns the conversation named by "@user", "@user@domain",
// "#group" or a bare name (a DM peer first, then a group). A group name
// that several groups have names the most recently active one.
func (e *Engine) Find(name string) (chatdb.Conversation, error) {
	cs, err := e.Conversations()
	if err != nil {
		return chatdb.Conversation{}, err
	}
	name = strings.TrimSpace(name)
	wantDM := !strings.HasPrefix(name, "#")
	wantGroup := !strings.HasPrefix(name, "@")
	if peer, err := e.normalize(name); wantDM && err == nil {
		for _, c := range cs {
			if c.Kind != chatdb.KindGroup && c.Peer == peer {
				return c, nil
			}
		}
	}
	if wantGroup {
		g := strings.ToLower(strings.TrimPrefix(name, "#"))
		for _, c := range cs {
			if c.Kind == chatdb.KindGroup && strings.ToLower(c.Name) == g {
				return c, nil
			}
		}
	}
	return chatdb.Conversation{}, fmt.Errorf("%w: %s", ErrNoConversation, name)
}

// conversation reads one conversation.
func (e *Engine) conversation(id chatdb.ConvID) (chatdb.Conversation, error) {
	var c chatdb.Conversation
	err := e.db.View(func(tx *chatdb.Tx) error {
		var ok bool
		var err error
		c, ok, err = tx.Conversation(id)
		if err == nil && !ok {
			err = ErrNoConversation
		}
		return err
	})
	return c, err
}

// History returns the last n lines of the conversation (n <= 0: all).
func (e *Engine) History(conv chatdb.ConvID, n int) ([]chatdb.Message, error) {
	var ms []chatdb.Message
	err := e.db.View(func(tx *chatdb.Tx) (err error) {
		ms, err = tx.Messages(conv, n)
		return err
	})
	return ms, err
}

// MarkRead clears the conversation's unread count.
func (e *Engine) MarkRead(conv chatdb.ConvID) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.conversation(conv)
	if err != nil || c.Unread == 0 {
		return err // nothing to write: the UI calls this for every line it shows
	}
	e.markReadReceipts(c, c.Unread)
	return e.db.Update(func(tx *chatdb.Tx) error {
		c, ok, err := tx.Conversation(conv)
		if err != nil || !ok || c.Unread == 0 {
			return err
		}
		c.Unread = 0
		return tx.PutConversation(&c)
	})
}

// GroupSuite returns the MLS cipher suite of the conversation's group.
func (e *Engine) GroupSuite(conv chatdb.ConvID) (mls.CipherSuiteID, error) {
	c, err := e.conversation(conv)
	if err != nil {
		return 0, err
	}
	var id mls.CipherSuiteID
	err = e.db.View(func(tx *chatdb.Tx) error {
		g, err := e.loadGroup(tx, &c)
		if err != nil {
			return err
		}
		id = g.CipherSuite().ID()
		return nil
	})
	return id, err
}

// Members returns the group's members in the current epoch.
func (e *Engine) Members(conv chatdb.ConvID) ([]string, error) {
	c, err := e.conversation(conv)
	if err != nil {
		return nil, err
	}
	return c.Members, nil
}

// addLine appends a line to the conversation's history, counts it as
// unread when it is not the account's own, and emits it.
func (e *Engine) addLine(tx *chatdb.Tx, c *chatdb.Conversation, m *chatdb.Message) error {
	if m.Received.IsZero() {
		m.Received = e.now()
	}
	if m.Time.IsZero() {
		m.Time = m.Received
	}
	if err := tx.AppendMessage(c.ID, m); err != nil {
		return err
	}
	if m.From != e.self && !m.System {
		c.Unread++
	}
	c.Updated = e.now()
	if err := tx.PutConversation(c); err != nil {
		return err
	}
	mm := *m
	e.emit(Event{Conv: c.ID, Label: Label(*c), Message: &mm, Unread: c.Unread})
	return nil
}

// systemLine records and emits an event line in c.
func (e *Engine) systemLine(tx *chatdb.Tx, c *chatdb.Conversation, format string, args ...any) error {
	return e.addLine(tx, c, &chatdb.Message{System: true, From: e.self, Text: fmt.Sprintf(format, args...)})
}

// Note returns the note to oneself, creating it on first use.
func (e *Engine) Note() (chatdb.Conversation, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c, err := e.Find("@" + e.self); err == nil {
		return c, nil
	}
	c := e.newConversation(chatdb.KindNote, e.self, e.self)
	err := e.db.Update(func(tx *chatdb.Tx) error { return tx.PutConversation(&c) })
	return c, err
}

func (e *Engine) newConversation(kind chatdb.Kind, name, peer string) chatdb.Conversation {
	now := e.now()
	return chatdb.Conversation{
		ID: chatdb.ConvID(newMsgID()), Kind: kind, Name: name, Peer: peer,
		Home: strings.ToLower(e.acct.Domain), Senders: map[string]uint64{},
		Created: now, Updated: now,
	}
}

// GroupEpoch returns the epoch of the conversation's group and its epoch
// authenticator, which is the same for every member in the same epoch of
// the same group: two members that compare equal have not forked.
func (e *Engine) GroupEpoch(conv chatdb.ConvID) (uint64, []byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.activeGroup(conv)
	if err != nil {
		return 0, nil, err
	}
	var epoch uint64
	var auth []byte
	err = e.db.View(func(tx *chatdb.Tx) error {
		g, err := e.loadGroup(tx, &c)
		if err != nil {
			return err
		}
		epoch, auth = g.Epoch(), g.EpochAuthenticator()
		return nil
	})
	return epoch, auth, err
}
