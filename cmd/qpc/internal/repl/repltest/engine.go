package repltest

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/mls"
	"github.com/quicprochat/qpc/protocol"
)

// Engine is an in-memory repl.Engine: conversations without a node or
// cryptography, for testing the REPL's UI on its own. Set its exported
// fields before the REPL runs.
type Engine struct {
	mu     sync.Mutex
	self   string
	convs  []*chatdb.Conversation
	hist   map[chatdb.ConvID][]chatdb.Message
	events chan chat.Event
	// Queue makes Send queue, as offline.
	Queue bool
	// classic are the groups made with CreateClassicGroup.
	classic []chatdb.ConvID
	// Echo, when set, makes the peer of a DM answer each message after
	// this long with "echo: <text>".
	Echo time.Duration
	// Contact is what SafetyNumber returns; Verified collects Verify's.
	Contact  chatdb.Contact
	Verified []string
	// DevicesAdded and DevicesRemoved collect DeviceAdded's and
	// DeviceRemoved's devices; DeviceErr, when set, is what both return.
	DevicesAdded   []identity.Device
	DevicesRemoved []identity.DeviceID
	DeviceErr      error
	// roles are the admins of groups whose roles changed (roles.go).
	roles map[chatdb.ConvID][]string
}

// New returns the engine of the account self, user@domain, with no
// conversations.
func New(self string) *Engine {
	return &Engine{self: self, hist: map[chatdb.ConvID][]chatdb.Message{}, events: make(chan chat.Event, 100)}
}

// Label names conversations as chat.Label does.
func Label(c chatdb.Conversation) string {
	switch c.Kind {
	case chatdb.KindNote:
		return "@notes"
	case chatdb.KindDM:
		return "@" + c.Peer
	}
	return "#" + c.Name
}

// addr is the address user names, "bob" and "@bob" being of the account's
// own domain, as the chat engine reads it (protocol.ParseRecipient); a
// name that is no address stays as it is, lower case.
func (f *Engine) addr(user string) string {
	self, _ := protocol.ParseAddress(f.self)
	a, err := protocol.ParseRecipient(user, self.Domain)
	if err != nil {
		return strings.ToLower(strings.TrimPrefix(user, "@"))
	}
	return a.String()
}

// Self is repl.Engine's Self, in memory.
func (f *Engine) Self() string { return f.self }

// Events is repl.Engine's Events, in memory.
func (f *Engine) Events() <-chan chat.Event { return f.events }

// Online is repl.Engine's Online, in memory.
func (f *Engine) Online() bool { return !f.Queue }

// Conversations is repl.Engine's Conversations, in memory.
func (f *Engine) Conversations() ([]chatdb.Conversation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]chatdb.Conversation, len(f.convs))
	for i, c := range f.convs {
		out[i] = *c
		out[i].Members = slices.Clone(c.Members)
	}
	return out, nil
}

// conv finds a conversation; f.mu is held.
func (f *Engine) conv(id chatdb.ConvID) *chatdb.Conversation {
	for _, c := range f.convs {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// Find is repl.Engine's Find, in memory.
func (f *Engine) Find(name string) (chatdb.Conversation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.convs {
		switch {
		case strings.HasPrefix(name, "#") && c.Kind == chatdb.KindGroup && c.Name == name[1:],
			!strings.HasPrefix(name, "#") && c.Kind == chatdb.KindDM && c.Peer == f.addr(name),
			!strings.HasPrefix(name, "#") && !strings.HasPrefix(name, "@") && c.Kind == chatdb.KindGroup && c.Name == name,
			name == "@notes" && c.Kind == chatdb.KindNote:
			return *c, nil
		}
	}
	return chatdb.Conversation{}, fmt.Errorf("no conversation %s", name)
}

// add makes a conversation; f.mu is held.
func (f *Engine) add(c chatdb.Conversation) *chatdb.Conversation {
	rand.Read(c.ID[:])
	c.Created, c.Updated = time.Now(), time.Now()
	f.convs = append(f.convs, &c)
	return &c
}

// Note is repl.Engine's Note, in memory.
func (f *Engine) Note() (chatdb.Conversation, error) {
	if c, err := f.Find("@notes"); err == nil {
		return c, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.add(chatdb.Conversation{Kind: chatdb.KindNote, Name: "notes", Members: []string{f.self}}), nil
}

// DM is repl.Engine's DM, in memory.
func (f *Engine) DM(_ context.Context, peer string) (chatdb.Conversation, error) {
	if c, err := f.Find("@" + peer); err == nil {
		return c, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.addr(peer)
	return *f.add(chatdb.Conversation{Kind: chatdb.KindDM, Name: p, Peer: p, Members: []string{f.self, p}}), nil
}

// CreateGroup is repl.Engine's CreateGroup, in memory.
func (f *Engine) CreateGroup(_ context.Context, name string) (chatdb.Conversation, error) {
	if _, err := f.Find("#" + name); err == nil {
		return chatdb.Conversation{}, fmt.Errorf("you already have a group #%s", name)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.add(chatdb.Conversation{Kind: chatdb.KindGroup, Name: name, Members: []string{f.self}}), nil
}

// CreateClassicGroup makes a group that GroupSuite reports as classic.
func (f *Engine) CreateClassicGroup(ctx context.Context, name string) (chatdb.Conversation, error) {
	c, err := f.CreateGroup(ctx, name)
	if err == nil {
		f.mu.Lock()
		f.classic = append(f.classic, c.ID)
		f.mu.Unlock()
	}
	return c, err
}

// Invited makes a pending invitation to group name from by and returns
// its event, for the test to hand to the REPL.
func (f *Engine) Invited(name, by string) chat.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.add(chatdb.Conversation{Kind: chatdb.KindGroup, Name: name, Invited: true, InvitedBy: by, Members: []string{by}})
	return chat.Event{Conv: c.ID, Label: Label(*c), Invitation: true}
}

// Invite is repl.Engine's Invite, in memory.
func (f *Engine) Invite(_ context.Context, id chatdb.ConvID, user string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.conv(id)
	c.Members = append(c.Members, f.addr(user))
	slices.Sort(c.Members)
	return nil
}

// Remove is repl.Engine's Remove, in memory.
func (f *Engine) Remove(_ context.Context, id chatdb.ConvID, user string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.conv(id)
	i := slices.Index(c.Members, f.addr(user))
	if i < 0 {
		return fmt.Errorf("%s is not a member", user)
	}
	c.Members = slices.Delete(c.Members, i, i+1)
	return nil
}

// Join is repl.Engine's Join, in memory.
func (f *Engine) Join(_ context.Context, id chatdb.ConvID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.conv(id)
	c.Invited = false
	c.Members = append(c.Members, f.self)
	return nil
}

// Leave is repl.Engine's Leave, in memory.
func (f *Engine) Leave(_ context.Context, id chatdb.ConvID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.conv(id).Left = true
	return nil
}

// appendLine adds m to the history of id and returns it with its seq;
// f.mu is held.
func (f *Engine) appendLine(id chatdb.ConvID, m chatdb.Message) chatdb.Message {
	m.Seq = uint64(len(f.hist[id]) + 1)
	if m.Time.IsZero() {
		m.Time = time.Now()
	}
	f.hist[id] = append(f.hist[id], m)
	return m
}

// Send is repl.Engine's Send, in memory.
func (f *Engine) Send(_ context.Context, id chatdb.ConvID, text string) (chatdb.Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.conv(id)
	st := chatdb.StatusSent
	if f.Queue {
		st = chatdb.StatusQueued
	}
	m := f.appendLine(id, chatdb.Message{From: f.self, Text: text, Status: st})
	f.emit(chat.Event{Conv: id, Label: Label(*c), Message: &m}) // as the engine reports its own lines too
	if f.Echo > 0 && c.Kind == chatdb.KindDM {
		peer := c.Peer
		time.AfterFunc(f.Echo, func() { f.events <- f.Receive(id, peer, "echo: "+text) })
	}
	return m, nil
}

// emit reports ev unless nobody reads the events.
func (f *Engine) emit(ev chat.Event) {
	select {
	case f.events <- ev:
	default:
	}
}

// Receive adds a message from someone else to id, as unread, and returns
// its event.
func (f *Engine) Receive(id chatdb.ConvID, from, text string) chat.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.conv(id)
	c.Unread++
	m := f.appendLine(id, chatdb.Message{From: from, Text: text, Received: time.Now()})
	return chat.Event{Conv: id, Label: Label(*c), Message: &m}
}

// History is repl.Engine's History, in memory.
func (f *Engine) History(id chatdb.ConvID, n int) ([]chatdb.Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := f.hist[id]
	if n > 0 && len(h) > n {
		h = h[len(h)-n:]
	}
	return slices.Clone(h), nil
}

// MarkRead is repl.Engine's MarkRead, in memory.
func (f *Engine) MarkRead(id chatdb.ConvID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.conv(id).Unread = 0
	return nil
}

// GroupSuite says every fake group is post-quantum but #classic.
func (f *Engine) GroupSuite(id chatdb.ConvID) (mls.CipherSuiteID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conv(id).Kind == chatdb.KindNote {
		return 0, chat.ErrNotGroup
	}
	if f.conv(id).Name == "classic" || slices.Contains(f.classic, id) {
		return mls.X25519AES128GCMSHA256Ed25519, nil
	}
	return mls.MLKEM768X25519AES256GCMSHA384Ed25519, nil
}

// Members is repl.Engine's Members, in memory.
func (f *Engine) Members(id chatdb.ConvID) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.conv(id).Members), nil
}

// UpdateKey is repl.Engine's UpdateKey, in memory.
func (f *Engine) UpdateKey(context.Context, chatdb.ConvID) error { return nil }

// SafetyNumber is repl.Engine's SafetyNumber, in memory.
func (f *Engine) SafetyNumber(_ context.Context, user string) (string, chatdb.Contact, error) {
	c := f.Contact
	c.Address = f.addr(user)
	// Grouped as identity.SafetyNumber groups it: the REPL must not
	// group it again.
	return strings.TrimSpace(strings.Repeat("01234 56789 ", 6)), c, nil
}

// Verify is repl.Engine's Verify, in memory.
func (f *Engine) Verify(_ context.Context, user string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Verified = append(f.Verified, f.addr(user))
	return nil
}

// DeviceAdded records d, as the engine would add it to every group.
func (f *Engine) DeviceAdded(_ context.Context, d identity.Device) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.DevicesAdded = append(f.DevicesAdded, d)
	return f.DeviceErr
}

// DeviceRemoved records id, as the engine would remove it from every
// group.
func (f *Engine) DeviceRemoved(_ context.Context, id identity.DeviceID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.DevicesRemoved = append(f.DevicesRemoved, id)
	return f.DeviceErr
}
