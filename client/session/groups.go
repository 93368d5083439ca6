package session

import (
	"context"
	"fmt"

	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
)

// The one-shot group operations (qpc send --group, qpc recv --group): on
// the groups of qpc repl, through the same chat engine and encrypted
// client database.

// SyncMailbox hands everything in the mailbox to eng, which files it in
// the chat history, and acknowledges what it handled. It returns how many
// messages it fetched.
func (s *Session) SyncMailbox(ctx context.Context, eng *chat.Engine) (int, error) {
	total := 0
	for {
		msgs, err := s.c.Fetch(ctx, 0, 500)
		if err != nil || len(msgs) == 0 {
			return total, err
		}
		h := eng.Handle(ctx, msgs)
		if h == 0 {
			return total, &filingError{fmt.Sprintf("the chat database could not take message %d", msgs[0].Seq)}
		}
		if _, err := s.c.Ack(ctx, h); err != nil {
			return total, err
		}
		total += len(msgs)
	}
}

// SendToGroup sends text to the group conv of eng, accepting its
// invitation first if it is one (writing to a group one was invited to
// accepts the invitation). It returns once the node has the message, or
// fails with ErrNotSent, the message kept in the outbox.
func (s *Session) SendToGroup(ctx context.Context, eng *chat.Engine, conv chatdb.Conversation, text string) (chatdb.Message, error) {
	if conv.Invited {
		if err := eng.Join(ctx, conv.ID); err != nil {
			return chatdb.Message{}, err
		}
	}
	m, err := eng.Send(ctx, conv.ID, text)
	if err != nil {
		return m, err
	}
	if m.Status == chatdb.StatusQueued {
		return m, ErrNotSent
	}
	return m, nil
}

// UnreadLines returns the lines of conv that are new to the account: the
// last conv.Unread lines of others, with the system lines among them
// (all of an invitation), the account's own lines and deleted lines left
// out. n counts the lines of others among them.
func UnreadLines(eng *chat.Engine, conv chatdb.Conversation) (lines []chatdb.Message, n int, err error) {
	ms, err := eng.History(conv.ID, 0)
	if err != nil {
		return nil, 0, err
	}
	start := len(ms)
	if conv.Invited {
		start, n = 0, len(ms) // the invitation itself, and what came since
	}
	for start > 0 && n < conv.Unread {
		start--
		if !ms[start].System && ms[start].From != eng.Self() {
			n++
		}
	}
	for _, m := range ms[start:] {
		if m.From == eng.Self() && !m.System || m.Deleted {
			continue // a deleted line has nothing left to show
		}
		lines = append(lines, m)
	}
	return lines, n, nil
}
