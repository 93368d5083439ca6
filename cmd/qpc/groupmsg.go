//go:build !router

package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/client/session"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
	"github.com/quicprochat/qpc/crypto/sealed"
)

// This file is qpc send --group and qpc recv --group: the one-shot
// commands on the groups of qpc repl, through the same chat engine and
// encrypted client database.

// openChat opens the session's chat engine, connected; its status lines
// go to stderr.
func openChat(ctx context.Context, s *session.Session, stderr io.Writer) (*chat.Engine, error) {
	eng, err := s.OpenChat(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return nil, err
	}
	go func() {
		for ev := range eng.Events() {
			if ev.Status != "" {
				fmt.Fprintf(stderr, "qpc: %s\n", termtext.Safe(ev.Status))
			}
		}
	}()
	// The account's connection: the session's first one, or the one a
	// follower (qpc recv --follow) reconnected on since.
	if err := eng.Connected(ctx, s.Account().Client); err != nil {
		fmt.Fprintf(stderr, "qpc: sending the outbox: %s\n", sayError(err))
	}
	return eng, nil
}

// uploadKeyPackages gives the node the account's MLS KeyPackages, so that
// others can invite it into groups before it ever runs qpc repl; it also
// sends what waits in the outbox. Failing is not fatal to the command.
func uploadKeyPackages(ctx context.Context, s *session.Session, stderr io.Writer) {
	eng, err := openChat(ctx, s, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "qpc: key packages for groups not uploaded: %s\n", sayError(err))
		return
	}
	eng.Close()
}

// findGroup returns the group named name ("#" optional), or, when there
// is no such group, the DM with the user name: a DM is a conversation
// too, and someone told of new lines with a user would look there.
func findGroup(eng *chat.Engine, name string) (chatdb.Conversation, error) {
	c, err := eng.Find("#" + trimHash(name))
	if err != nil && !strings.HasPrefix(name, "#") {
		if dm, derr := eng.Find("@" + strings.TrimPrefix(name, "@")); derr == nil && dm.Kind == chatdb.KindDM {
			return dm, nil
		}
	}
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
func sendGroup(ctx context.Context, s *session.Session, group, text string, stdout, stderr io.Writer) int {
	eng, err := openChat(ctx, s, stderr)
	if err != nil {
		printErr(stderr, "qpc send", err)
		return exitFailure
	}
	defer eng.Close()
	// Commits that arrived since the last run come first, so the message
	// goes to the group as it is now.
	if _, err := s.SyncMailbox(ctx, eng); err != nil {
		fmt.Fprintf(stderr, "qpc send: reading the mailbox: %s\n", sayError(err))
		return exitFailure
	}
	c, err := findGroup(eng, group)
	if err != nil {
		printErr(stderr, "qpc send", err)
		return exitFailure
	}
	_, err = s.SendToGroup(ctx, eng, c, text)
	if errors.Is(err, session.ErrNotSent) {
		fmt.Fprintf(stderr, "qpc send: the node did not take the message; it stays in the outbox and leaves with the next qpc send, recv or repl\n")
		return exitFailure
	}
	if err != nil {
		printErr(stderr, "qpc send", err)
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
func recvGroup(ctx context.Context, s *session.Session, group string, asJSON bool, saver *fileSaver, stdout, stderr io.Writer) int {
	eng, err := openChat(ctx, s, stderr)
	if err != nil {
		printErr(stderr, "qpc recv", err)
		return exitFailure
	}
	defer eng.Close()
	if _, err := s.SyncMailbox(ctx, eng); err != nil {
		printErr(stderr, "qpc recv", err)
		return exitFailure
	}
	c, err := findGroup(eng, group)
	if err != nil {
		printErr(stderr, "qpc recv", err)
		return exitFailure
	}
	if saver != nil {
		// Files that waited for their sender's node come first.
		saver.retryPending(eng, asJSON)
	}
	lines, n, err := session.UnreadLines(eng, c)
	if err != nil {
		printErr(stderr, "qpc recv", err)
		return exitFailure
	}
	for _, m := range lines {
		if asJSON {
			j := groupLineJSON{Group: chat.Label(c), From: m.From, Time: m.Time, Text: m.Text, System: m.System}
			if !m.System {
				j.ID = hex.EncodeToString(m.ID[:])
			}
			json.NewEncoder(stdout).Encode(j)
		} else if m.System {
			fmt.Fprintf(stdout, "[%s] -- %s --\n", m.Time.Local().Format("2006-01-02 15:04:05"), termtext.Safe(m.Text))
		} else {
			fmt.Fprintf(stdout, "[%s] %s: %s\n", m.Time.Local().Format("2006-01-02 15:04:05"), termtext.Safe(m.From), termtext.Safe(lineText(m.Text)))
		}
		if !m.System && !strings.EqualFold(m.From, s.Current().Address()) {
			if saver != nil {
				saver.eng = func() *chat.Engine { return eng }
			}
			receiveFile(session.Incoming{Received: client.Received{From: m.From, ID: sealed.ID(m.ID), Verified: true, Body: []byte(m.Text)}}, saver, asJSON, stdout, stderr)
		}
	}
	if n == 0 && !asJSON {
		fmt.Fprintf(stderr, "no new messages in %s\n", chat.Label(c))
	}
	if err := eng.MarkRead(c.ID); err != nil {
		printErr(stderr, "qpc recv", err)
		return exitFailure
	}
	return exitOK
}

// closeInbox tells stderr what the inbox did not show, and closes it.
func closeInbox(in *session.Inbox, stderr io.Writer) {
	if in.Replayed > 0 {
		fmt.Fprintf(stderr, "%d replayed message(s) dropped: copies of messages received before\n", in.Replayed)
	}
	for _, label := range slices.Sorted(maps.Keys(in.Groups)) {
		name := strings.TrimPrefix(label, "#")
		fmt.Fprintf(stderr, "new in %s: %d line(s); read them with qpc recv --group %s or qpc repl\n",
			termtext.Safe(label), in.Groups[label], termtext.Safe(name))
	}
	in.Close()
}
