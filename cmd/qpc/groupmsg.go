//go:build !router

package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/protocol"
)

// This file is qpc send --group and qpc recv --group: the one-shot
// commands on the groups of qpc repl, through the same chat engine and
// encrypted client database.

// openChat opens the session's chat engine, connected.
func openChat(ctx context.Context, s *session, f *clientFlags, stderr io.Writer) (*chat.Engine, error) {
	eng, err := chat.Open(chat.Options{Dir: f.stateDir, Account: s.acct, ExportKey: s.exportKey, PQOnly: f.pqOnly,
		Log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return nil, err
	}
	go func() {
		for ev := range eng.Events() {
			if ev.Status != "" {
				fmt.Fprintf(stderr, "qpc: %s\n", terminalSafe(ev.Status))
			}
		}
	}()
	if err := eng.Connected(ctx, s.c); err != nil {
		fmt.Fprintf(stderr, "qpc: sending the outbox: %v\n", err)
	}
	return eng, nil
}

// uploadKeyPackages gives the node the account's MLS KeyPackages, so that
// others can invite it into groups before it ever runs qpc repl; it also
// sends what waits in the outbox. Failing is not fatal to the command.
func uploadKeyPackages(ctx context.Context, s *session, f *clientFlags, stderr io.Writer) {
	eng, err := openChat(ctx, s, f, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "qpc: key packages for groups not uploaded: %v\n", err)
		return
	}
	eng.Close()
}

// syncMailbox hands everything in the mailbox to the engine, which files
// it in the chat history, and acknowledges what it handled.
func syncMailbox(ctx context.Context, s *session, eng *chat.Engine) (int, error) {
	total := 0
	for {
		msgs, err := s.c.Fetch(ctx, 0, 500)
		if err != nil || len(msgs) == 0 {
			return total, err
		}
		h := eng.Handle(ctx, msgs)
		if h == 0 {
			return total, fmt.Errorf("the chat database could not take message %d", msgs[0].Seq)
		}
		if _, err := s.c.Ack(ctx, h); err != nil {
			return total, err
		}
		total += len(msgs)
	}
}

// findGroup returns the group named name ("#" optional).
func findGroup(eng *chat.Engine, name string) (chatdb.Conversation, error) {
	c, err := eng.Find("#" + trimHash(name))
	if err != nil {
		return c, fmt.Errorf("%w (qpc repl: /cg %s, or accept an invitation with /join)", err, trimHash(name))
	}
	return c, nil
}

func trimHash(s string) string {
	if len(s) > 0 && s[0] == '#' {
		return s[1:]
	}
	return s
}

// sendGroup sends text to the group; it returns once the node has it, or
// fails with the message kept in the outbox.
func sendGroup(ctx context.Context, s *session, f *clientFlags, group, text string, stdout, stderr io.Writer) int {
	eng, err := openChat(ctx, s, f, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "qpc send: %v\n", err)
		return exitFailure
	}
	defer eng.Close()
	// Commits that arrived since the last run come first, so the message
	// goes to the group as it is now.
	if _, err := syncMailbox(ctx, s, eng); err != nil {
		fmt.Fprintf(stderr, "qpc send: reading the mailbox: %v\n", err)
		return exitFailure
	}
	c, err := findGroup(eng, group)
	if err != nil {
		fmt.Fprintf(stderr, "qpc send: %v\n", err)
		return exitFailure
	}
	if c.Invited {
		// Writing to a group one was invited to accepts the invitation.
		if err := eng.Join(ctx, c.ID); err != nil {
			fmt.Fprintf(stderr, "qpc send: %v\n", err)
			return exitFailure
		}
	}
	m, err := eng.Send(ctx, c.ID, text)
	if err != nil {
		fmt.Fprintf(stderr, "qpc send: %v\n", err)
		return exitFailure
	}
	if m.Status != chatdb.StatusSent {
		fmt.Fprintf(stderr, "qpc send: the node did not take the message; it stays in the outbox and leaves with the next qpc send, recv or repl\n")
		return exitFailure
	}
	fmt.Fprintf(stdout, "sent to %s (%d members)\n", chat.Label(c), len(c.Members))
	return exitOK
}

// groupLineJSON is one line of qpc recv --group --json.
type groupLineJSON struct {
	Group  string    `json:"group"`
	From   string    `json:"from"`
	ID     string    `json:"id,omitempty"`
	Time   time.Time `json:"time"`
	Text   string    `json:"text"`
	System bool      `json:"system,omitempty"`
}

// recvGroup files the mailbox in the chat history and prints the group's
// unread lines.
func recvGroup(ctx context.Context, s *session, f *clientFlags, group string, asJSON bool, stdout, stderr io.Writer) int {
	eng, err := openChat(ctx, s, f, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "qpc recv: %v\n", err)
		return exitFailure
	}
	defer eng.Close()
	if _, err := syncMailbox(ctx, s, eng); err != nil {
		fmt.Fprintf(stderr, "qpc recv: %v\n", err)
		return exitFailure
	}
	c, err := findGroup(eng, group)
	if err != nil {
		fmt.Fprintf(stderr, "qpc recv: %v\n", err)
		return exitFailure
	}
	ms, err := eng.History(c.ID, 0)
	if err != nil {
		fmt.Fprintf(stderr, "qpc recv: %v\n", err)
		return exitFailure
	}
	// The unread lines are the last c.Unread lines of others, with the
	// system lines among them.
	start, n := len(ms), 0
	if c.Invited {
		start, n = 0, len(ms) // the invitation itself, and what came since
	}
	for start > 0 && n < c.Unread {
		start--
		if !ms[start].System && ms[start].From != eng.Self() {
			n++
		}
	}
	for _, m := range ms[start:] {
		if m.From == eng.Self() && !m.System {
			continue
		}
		if asJSON {
			j := groupLineJSON{Group: chat.Label(c), From: m.From, Time: m.Time, Text: m.Text, System: m.System}
			if !m.System {
				j.ID = hex.EncodeToString(m.ID[:])
			}
			json.NewEncoder(stdout).Encode(j)
			continue
		}
		if m.System {
			fmt.Fprintf(stdout, "[%s] -- %s --\n", m.Time.Local().Format("2006-01-02 15:04:05"), terminalSafe(m.Text))
		} else {
			fmt.Fprintf(stdout, "[%s] %s: %s\n", m.Time.Local().Format("2006-01-02 15:04:05"), m.From, terminalSafe(m.Text))
		}
	}
	if n == 0 && !asJSON {
		fmt.Fprintf(stderr, "no new messages in %s\n", chat.Label(c))
	}
	if err := eng.MarkRead(c.ID); err != nil {
		fmt.Fprintf(stderr, "qpc recv: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// chatFiler hands the group messages that qpc recv meets to the chat
// engine, which files them in the chat history, so that they are not lost
// to a command that cannot show them.
type chatFiler struct {
	s      *session
	f      *clientFlags
	stderr io.Writer
	eng    *chat.Engine
	filed  int
	// replayed counts the copies of messages shown before, dropped.
	replayed int
}

// handle prints the one-to-one messages of msgs with print and files the
// chat messages; it returns the sequence number up to which all are
// handled, and why it stopped before the end.
func (c *chatFiler) handle(ctx context.Context, msgs []protocol.Message, print func(client.Received)) (uint64, error) {
	var handled uint64
	for _, m := range msgs {
		if r := c.s.acct.Open(ctx, m); r.ContentType != chat.ContentWelcome && r.ContentType != chat.ContentGroup {
			if r.Replayed {
				// A copy of a message shown before: acknowledged so it
				// does not come back, never shown again.
				c.replayed++
			} else {
				print(r)
			}
			handled = m.Seq
			continue
		}
		if c.eng == nil {
			eng, err := openChat(ctx, c.s, c.f, c.stderr)
			if err != nil {
				return handled, fmt.Errorf("group message %d could not be filed: %w", m.Seq, err)
			}
			c.eng = eng
		}
		if c.eng.Handle(ctx, []protocol.Message{m}) != m.Seq {
			return handled, fmt.Errorf("group message %d could not be filed", m.Seq)
		}
		c.filed++
		handled = m.Seq
	}
	return handled, nil
}

func (c *chatFiler) close() {
	if c.replayed > 0 {
		fmt.Fprintf(c.stderr, "%d replayed message(s) dropped: copies of messages received before\n", c.replayed)
	}
	if c.filed > 0 {
		fmt.Fprintf(c.stderr, "%d group message(s) filed in the chat history: read them with qpc recv --group NAME or qpc repl\n", c.filed)
	}
	if c.eng != nil {
		c.eng.Close()
	}
}
