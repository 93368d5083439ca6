package repl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/mls"
	"github.com/quicprochat/qpc/protocol"
)

// Engine is what the REPL asks of the conversation engine
// (*chat.Engine); the tests give it an in-memory one (repltest.Engine).
type Engine interface {
	Self() string
	Events() <-chan chat.Event
	Online() bool
	Conversations() ([]chatdb.Conversation, error)
	Find(name string) (chatdb.Conversation, error)
	Note() (chatdb.Conversation, error)
	DM(ctx context.Context, peer string) (chatdb.Conversation, error)
	CreateGroup(ctx context.Context, name string) (chatdb.Conversation, error)
	CreateClassicGroup(ctx context.Context, name string) (chatdb.Conversation, error)
	Invite(ctx context.Context, conv chatdb.ConvID, user string) error
	Remove(ctx context.Context, conv chatdb.ConvID, user string) error
	Join(ctx context.Context, conv chatdb.ConvID) error
	Leave(ctx context.Context, conv chatdb.ConvID) error
	Send(ctx context.Context, conv chatdb.ConvID, text string) (chatdb.Message, error)
	History(conv chatdb.ConvID, n int) ([]chatdb.Message, error)
	MarkRead(conv chatdb.ConvID) error
	Members(conv chatdb.ConvID) ([]string, error)
	GroupSuite(conv chatdb.ConvID) (mls.CipherSuiteID, error)
	UpdateKey(ctx context.Context, conv chatdb.ConvID) error
	SafetyNumber(ctx context.Context, user string) (string, chatdb.Contact, error)
	Verify(ctx context.Context, user string) error
	DeviceAdded(ctx context.Context, d identity.Device) error
	DeviceRemoved(ctx context.Context, id identity.DeviceID) error
	Roles
}

var _ Engine = (*chat.Engine)(nil)

// errQuit ends the REPL: /quit.
var errQuit = errors.New("quit")

// switchLines is how much history switching to a conversation shows.
const switchLines = 10

// Node is the REPL's link to the account's node, for the commands that
// need one (/mesh server, /channel, /whoami); Follower is the real one.
type Node interface {
	// Server returns the address of the node followed now.
	Server() string
	// MoveTo follows the node at addr instead; the account stays the
	// same.
	MoveTo(ctx context.Context, addr string)
	// Channel runs `qpc channel args...` for the account on the node
	// followed now, writing what it prints to w.
	Channel(args []string, w io.Writer)
	// Fingerprint returns the account's identity key fingerprint.
	Fingerprint() string
}

// Config is what a REPL runs on.
type Config struct {
	// Engine holds the account's conversations.
	Engine Engine
	// Label names a conversation (chat.Label).
	Label func(chatdb.Conversation) string
	// IO is the terminal, or plain streams (NewLineIO).
	IO LineIO
	// Node is the connection to the node; nil without one (tests), which
	// the commands that need it say.
	Node Node
	// MeshPeers runs `qpc mesh peers args...`, writing what it prints to
	// w; nil leaves /mesh peers out.
	MeshPeers func(args []string, w io.Writer)
	// Devices manages the account's devices for /device; nil leaves
	// /device out (it says to use qpc device).
	Devices Devices
	// Files moves files for /send-file and /download; nil leaves them
	// out.
	Files Files
	// Keeper writes backups and transcript archives for /backup and
	// /export; nil leaves them out (they say to use qpc backup, qpc
	// export).
	Keeper Keeper
	// Account changes the password for /password; nil leaves it out (it
	// says to use qpc account password).
	Account Account
}

// REPL is the interactive chat's terminal UI: it reads lines, runs the
// commands among them against the engine, sends the rest to the current
// conversation, and prints what the engine reports as it happens.
type REPL struct {
	eng Engine
	// label names a conversation (chat.Label).
	label     func(chatdb.Conversation) string
	io        LineIO
	node      Node
	meshPeers func(args []string, w io.Writer)
	devices   Devices
	files     Files
	keeper    Keeper
	account   Account

	mu     sync.Mutex
	cur    chatdb.ConvID
	hasCur bool
	// shown is the last history seq printed of each conversation, so that
	// a line the engine reports and Send returns is printed once.
	shown map[chatdb.ConvID]uint64
	// promptMu guards what the prompt shows (online.go).
	promptMu    sync.Mutex
	promptLabel string
	offline     bool
	// states are the delivery states shown of own lines (state.go).
	states map[chatdb.MsgID]chatdb.Status
	// saved is where /download saved the file of a file line.
	saved map[chatdb.MsgID]string
	// changedHere are the lines this REPL's /edit and /delete printed
	// (edits.go).
	changedHere map[changeKey]bool
	// dlMu runs one download at a time, so that /download and the retry
	// of pending files (pending.go) never write one part file together.
	dlMu sync.Mutex
	// pendingKick wakes the retry of pending files.
	pendingKick chan struct{}
}

// New returns a REPL on cfg; Run runs it.
func New(cfg Config) *REPL {
	r := &REPL{eng: cfg.Engine, label: cfg.Label, io: cfg.IO, node: cfg.Node, meshPeers: cfg.MeshPeers, devices: cfg.Devices, files: cfg.Files, keeper: cfg.Keeper, account: cfg.Account, shown: map[chatdb.ConvID]uint64{}, saved: map[chatdb.MsgID]string{},
		pendingKick: make(chan struct{}, 1)}
	r.setPrompt("no conversation")
	return r
}

// Run reads and runs lines until /quit, the end of input or ctx ends. It
// prints the engine's events meanwhile.
func (r *REPL) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { r.printEvents(ctx) })
	wg.Go(func() { r.pendingLoop(ctx) })
	defer wg.Wait()
	defer cancel()

	type result struct {
		line string
		err  error
	}
	results := make(chan result, 1)
	next := make(chan struct{}, 1)
	defer close(next)
	// The reader asks for one line at a time, so that a command has
	// finished (and set the prompt) before the next prompt is drawn.
	go func() {
		defer r.restoreOnPanic()
		for range next {
			line, err := r.io.ReadLine()
			results <- result{line, err}
			if err != nil {
				return
			}
		}
	}()
	r.Printf("%s", r.io.Dim(fmt.Sprintf("-- %s: /help lists the commands, /quit or Ctrl-D ends --", termtext.Safe(r.eng.Self()))))
	for {
		next <- struct{}{}
		var res result
		select {
		case <-ctx.Done():
			return nil
		case res = <-results:
		}
		if errors.Is(res.err, io.EOF) {
			return nil
		}
		if res.err != nil {
			return res.err
		}
		if err := r.handle(ctx, res.line); errors.Is(err, errQuit) {
			return nil
		} else if err != nil {
			r.Printf("%s", termtext.Safe(err.Error()))
		}
	}
}

// restoreOnPanic puts the terminal back before a panic ends the process,
// which would leave the shell in raw mode.
func (r *REPL) restoreOnPanic() {
	if p := recover(); p != nil {
		r.io.Close()
		panic(p)
	}
}

// handle runs one line: a command, or text for the current conversation.
// "//" at the start sends a line that starts with "/".
func (r *REPL) handle(ctx context.Context, line string) error {
	line = strings.TrimSpace(line)
	switch {
	case line == "":
		return nil
	case strings.HasPrefix(line, "//"):
		return r.say(ctx, line[1:])
	case strings.HasPrefix(line, "/"):
		cmd, args, err := parseCommand(line)
		if err != nil {
			return err
		}
		return cmd.run(r, ctx, args)
	}
	return r.say(ctx, line)
}

// say sends text to the current conversation.
func (r *REPL) say(ctx context.Context, text string) error {
	c, err := r.current()
	if err != nil {
		return err
	}
	if c.Invited {
		return fmt.Errorf("%s is an invitation: /join to accept it first", r.name(c))
	}
	m, err := r.eng.Send(ctx, c.ID, text)
	if err != nil {
		return err
	}
	if r.markShown(c.ID, m.Seq) {
		r.Printf("%s", r.formatLine(m))
	}
	r.shownState(m)
	return nil
}

// Printf prints one line (or a few) above the prompt.
func (r *REPL) Printf(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	io.WriteString(r.io, s)
}

// printEvents prints what the engine reports until ctx ends.
func (r *REPL) printEvents(ctx context.Context) {
	defer r.restoreOnPanic()
	events := r.eng.Events()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			r.event(ev)
		}
	}
}

func (r *REPL) event(ev chat.Event) {
	switch {
	case ev.Status != "":
		r.Printf("%s", r.io.Dim("-- "+termtext.Safe(ev.Status)+" --"))
	case ev.Invitation:
		by := "someone"
		if c, ok := r.lookup(ev.Conv); ok && c.InvitedBy != "" {
			by = r.who(c.InvitedBy)
		}
		label := termtext.Safe(ev.Label)
		r.Printf("%s invited you to %s: /join %s to accept", by, label, label)
	case ev.StateChange && ev.Message != nil:
		r.stateChanged(ev)
	case ev.Changed && ev.Message != nil:
		r.changedLine(ev) // edits.go
	case ev.Message != nil:
		m := *ev.Message
		if cur, ok := r.currentID(); ok && cur == ev.Conv {
			if r.markShown(ev.Conv, m.Seq) {
				r.Printf("%s", r.formatLine(m))
			}
			r.eng.MarkRead(ev.Conv) // seen as it arrived
			return
		}
		unread := ""
		if c, ok := r.lookup(ev.Conv); ok && c.Unread > 0 {
			unread = fmt.Sprintf(" (%d unread)", c.Unread)
		}
		if m.System {
			r.Printf("[%s] %s%s", termtext.Safe(ev.Label), r.io.Dim("-- "+termtext.Safe(m.Text)+" --"), unread)
			return
		}
		r.Printf("[%s] %s: %s%s", termtext.Safe(ev.Label), r.who(m.From), termtext.Safe(m.Text), unread)
	}
}

// formatLine is a line of history as shown: "HH:MM bob text", "HH:MM me
// text", or a system line "HH:MM -- text --".
func (r *REPL) formatLine(m chatdb.Message) string {
	t := m.Time
	if t.IsZero() {
		t = m.Received
	}
	hhmm := t.Local().Format("15:04")
	if m.System {
		return hhmm + " " + r.io.Dim("-- "+termtext.Safe(m.Text)+" --")
	}
	text := termtext.Safe(m.Text)
	if f, ok := r.fileLineText(m); ok {
		text = f
	}
	if mark := r.changeMark(m); m.Deleted {
		text = mark
	} else if mark != "" {
		text += " " + mark
	}
	s := hhmm + " " + r.who(m.From) + " " + text
	if m.Status != chatdb.StatusNone {
		s += " " + r.io.Dim("("+m.Status.String()+")")
	}
	return s
}

// who is how an address is shown: "me", a user of the account's own
// domain by name alone, anyone else as user@domain.
func (r *REPL) who(addr string) string {
	self := r.eng.Self()
	if addr == "" || strings.EqualFold(addr, self) {
		return "me"
	}
	a, err := protocol.ParseAddress(addr)
	if err != nil {
		return termtext.Safe(addr)
	}
	if home, err := protocol.ParseAddress(self); err == nil && a.Domain == home.Domain {
		return termtext.Safe(a.User)
	}
	return termtext.Safe(a.String())
}

// name is how a conversation is shown.
func (r *REPL) name(c chatdb.Conversation) string { return termtext.Safe(r.label(c)) }

// markShown records that line seq of conv is printed; false if it was.
func (r *REPL) markShown(conv chatdb.ConvID, seq uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if seq == 0 {
		return true // not in the history: nothing to tell apart
	}
	if seq <= r.shown[conv] {
		return false
	}
	r.shown[conv] = seq
	return true
}

func (r *REPL) currentID() (chatdb.ConvID, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur, r.hasCur
}

// current returns the current conversation as the engine has it now.
func (r *REPL) current() (chatdb.Conversation, error) {
	id, ok := r.currentID()
	if !ok {
		return chatdb.Conversation{}, errors.New("no conversation: /dm <user> or /cg <name> first")
	}
	c, ok := r.lookup(id)
	if !ok {
		return chatdb.Conversation{}, errors.New("the current conversation is gone: /list, then /switch")
	}
	return c, nil
}

// lookup finds a conversation by id.
func (r *REPL) lookup(id chatdb.ConvID) (chatdb.Conversation, bool) {
	convs, err := r.eng.Conversations()
	if err != nil {
		return chatdb.Conversation{}, false
	}
	for _, c := range convs {
		if c.ID == id {
			return c, true
		}
	}
	return chatdb.Conversation{}, false
}

// switchTo makes c the current conversation, shows its last lines and
// marks it read.
func (r *REPL) switchTo(c chatdb.Conversation) error {
	r.mu.Lock()
	r.cur, r.hasCur = c.ID, true
	r.mu.Unlock()
	r.setPrompt(r.label(c))
	if c.Invited {
		r.Printf("%s", r.io.Dim(fmt.Sprintf("-- %s: an invitation from %s; /join to accept, /leave to decline --", r.name(c), r.who(c.InvitedBy))))
		return nil
	}
	msgs, err := r.eng.History(c.ID, switchLines)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", r.io.Dim(fmt.Sprintf("-- %s --", r.name(c))))
	for _, m := range msgs {
		fmt.Fprintln(&b, r.formatLine(m))
		r.markShown(c.ID, m.Seq)
		r.shownState(m)
	}
	r.Printf("%s", b.String())
	return r.eng.MarkRead(c.ID)
}

// leaveCurrent forgets the current conversation.
func (r *REPL) leaveCurrent() {
	r.mu.Lock()
	r.hasCur = false
	r.mu.Unlock()
	r.setPrompt("no conversation")
}
