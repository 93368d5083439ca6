package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/mls"
)

// fakeEngine is an in-memory chatEngine: conversations without a node or
// cryptography, for testing the REPL's UI on its own.
type fakeEngine struct {
	mu     sync.Mutex
	self   string
	convs  []*chatdb.Conversation
	hist   map[chatdb.ConvID][]chatdb.Message
	events chan chat.Event
	// queue makes Send queue, as offline.
	queue bool
	// classic are the groups made with CreateClassicGroup.
	classic []chatdb.ConvID
	// echo, when set, makes the peer of a DM answer each message after
	// this long with "echo: <text>".
	echo time.Duration
	// contact is what SafetyNumber returns; verified collects Verify's.
	contact  chatdb.Contact
	verified []string
}

func newFakeEngine(self string) *fakeEngine {
	return &fakeEngine{self: self, hist: map[chatdb.ConvID][]chatdb.Message{}, events: make(chan chat.Event, 100)}
}

// fakeLabel names conversations as chat.Label does.
func fakeLabel(c chatdb.Conversation) string {
	switch c.Kind {
	case chatdb.KindNote:
		return "@notes"
	case chatdb.KindDM:
		return "@" + c.Peer
	}
	return "#" + c.Name
}

func (f *fakeEngine) domain() string { return f.self[strings.Index(f.self, "@")+1:] }

func (f *fakeEngine) addr(user string) string {
	user = strings.ToLower(strings.TrimPrefix(user, "@"))
	if !strings.Contains(user, "@") {
		user += "@" + f.domain()
	}
	return user
}

func (f *fakeEngine) Self() string              { return f.self }
func (f *fakeEngine) Events() <-chan chat.Event { return f.events }
func (f *fakeEngine) Online() bool              { return !f.queue }

func (f *fakeEngine) Conversations() ([]chatdb.Conversation, error) {
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
func (f *fakeEngine) conv(id chatdb.ConvID) *chatdb.Conversation {
	for _, c := range f.convs {
		if c.ID == id {
			return c
		}
	}
	return nil
}

func (f *fakeEngine) Find(name string) (chatdb.Conversation, error) {
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
func (f *fakeEngine) add(c chatdb.Conversation) *chatdb.Conversation {
	rand.Read(c.ID[:])
	c.Created, c.Updated = time.Now(), time.Now()
	f.convs = append(f.convs, &c)
	return &c
}

func (f *fakeEngine) Note() (chatdb.Conversation, error) {
	if c, err := f.Find("@notes"); err == nil {
		return c, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.add(chatdb.Conversation{Kind: chatdb.KindNote, Name: "notes", Members: []string{f.self}}), nil
}

func (f *fakeEngine) DM(_ context.Context, peer string) (chatdb.Conversation, error) {
	if c, err := f.Find("@" + peer); err == nil {
		return c, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.addr(peer)
	return *f.add(chatdb.Conversation{Kind: chatdb.KindDM, Name: p, Peer: p, Members: []string{f.self, p}}), nil
}

func (f *fakeEngine) CreateGroup(_ context.Context, name string) (chatdb.Conversation, error) {
	if _, err := f.Find("#" + name); err == nil {
		return chatdb.Conversation{}, fmt.Errorf("you already have a group #%s", name)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.add(chatdb.Conversation{Kind: chatdb.KindGroup, Name: name, Members: []string{f.self}}), nil
}

// CreateClassicGroup makes a group that GroupSuite reports as classic.
func (f *fakeEngine) CreateClassicGroup(ctx context.Context, name string) (chatdb.Conversation, error) {
	c, err := f.CreateGroup(ctx, name)
	if err == nil {
		f.mu.Lock()
		f.classic = append(f.classic, c.ID)
		f.mu.Unlock()
	}
	return c, err
}

// invited makes a pending invitation to group name from by and reports it.
func (f *fakeEngine) invited(name, by string) chat.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.add(chatdb.Conversation{Kind: chatdb.KindGroup, Name: name, Invited: true, InvitedBy: by, Members: []string{by}})
	return chat.Event{Conv: c.ID, Label: fakeLabel(*c), Invitation: true}
}

func (f *fakeEngine) Invite(_ context.Context, id chatdb.ConvID, user string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.conv(id)
	c.Members = append(c.Members, f.addr(user))
	slices.Sort(c.Members)
	return nil
}

func (f *fakeEngine) Remove(_ context.Context, id chatdb.ConvID, user string) error {
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

func (f *fakeEngine) Join(_ context.Context, id chatdb.ConvID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.conv(id)
	c.Invited = false
	c.Members = append(c.Members, f.self)
	return nil
}

func (f *fakeEngine) Leave(_ context.Context, id chatdb.ConvID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.conv(id).Left = true
	return nil
}

// appendLine adds m to the history of id and returns it with its seq;
// f.mu is held.
func (f *fakeEngine) appendLine(id chatdb.ConvID, m chatdb.Message) chatdb.Message {
	m.Seq = uint64(len(f.hist[id]) + 1)
	if m.Time.IsZero() {
		m.Time = time.Now()
	}
	f.hist[id] = append(f.hist[id], m)
	return m
}

func (f *fakeEngine) Send(_ context.Context, id chatdb.ConvID, text string) (chatdb.Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.conv(id)
	st := chatdb.StatusSent
	if f.queue {
		st = chatdb.StatusQueued
	}
	m := f.appendLine(id, chatdb.Message{From: f.self, Text: text, Status: st})
	f.emit(chat.Event{Conv: id, Label: fakeLabel(*c), Message: &m}) // as the engine reports its own lines too
	if f.echo > 0 && c.Kind == chatdb.KindDM {
		peer := c.Peer
		time.AfterFunc(f.echo, func() { f.events <- f.receive(id, peer, "echo: "+text) })
	}
	return m, nil
}

// emit reports ev unless nobody reads the events.
func (f *fakeEngine) emit(ev chat.Event) {
	select {
	case f.events <- ev:
	default:
	}
}

// receive adds a message from someone else to id, as unread, and returns
// its event.
func (f *fakeEngine) receive(id chatdb.ConvID, from, text string) chat.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.conv(id)
	c.Unread++
	m := f.appendLine(id, chatdb.Message{From: from, Text: text, Received: time.Now()})
	return chat.Event{Conv: id, Label: fakeLabel(*c), Message: &m}
}

func (f *fakeEngine) History(id chatdb.ConvID, n int) ([]chatdb.Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := f.hist[id]
	if n > 0 && len(h) > n {
		h = h[len(h)-n:]
	}
	return slices.Clone(h), nil
}

func (f *fakeEngine) MarkRead(id chatdb.ConvID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.conv(id).Unread = 0
	return nil
}

// GroupSuite says every fake group is post-quantum but #classic.
func (f *fakeEngine) GroupSuite(id chatdb.ConvID) (mls.CipherSuiteID, error) {
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

func (f *fakeEngine) Members(id chatdb.ConvID) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.conv(id).Members), nil
}

func (f *fakeEngine) UpdateKey(context.Context, chatdb.ConvID) error { return nil }

func (f *fakeEngine) SafetyNumber(_ context.Context, user string) (string, chatdb.Contact, error) {
	c := f.contact
	c.Address = f.addr(user)
	return strings.Repeat("0123456789", 6), c, nil
}

func (f *fakeEngine) Verify(_ context.Context, user string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.verified = append(f.verified, f.addr(user))
	return nil
}

// fakeReplEnv makes TestMain run the REPL on the terminal with a
// fakeEngine instead of the tests, so that tmux tests can drive the real
// terminal UI without a node (the engine has its own tests).
const fakeReplEnv = "QPC_TEST_FAKE_REPL"

// runFakeRepl is the REPL of alice@a.example on stdin and stdout, with a
// fake engine whose DMs echo.
func runFakeRepl() int {
	eng := newFakeEngine("alice@a.example")
	eng.echo = time.Second
	lio, err := newLineIO(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return exitFailure
	}
	defer lio.Close()
	if err := newRepl(eng, fakeLabel, lio, nil).run(context.Background()); err != nil {
		lio.Close()
		fmt.Fprintln(os.Stderr, err)
		return exitFailure
	}
	return exitOK
}
