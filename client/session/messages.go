package session

import (
	"context"
	"fmt"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/crypto/sealed"
	"github.com/quicprochat/qpc/protocol"
)

// SendOptions are the node's handling of one sealed message.
type SendOptions struct {
	// TTL is how long the node keeps it undelivered; 0 is the node's
	// default.
	TTL time.Duration
	// MaxHops bounds its federation hops if it goes into the mesh; 0 is
	// the node's default.
	MaxHops uint8
}

// Sent is where a sealed message went.
type Sent struct {
	// Recipient is the address it was sealed to, user@domain.
	Recipient string
	// Receipt is the node's: in the recipient's mailbox, or queued in the
	// mesh.
	Receipt client.Receipt
	// ContactErr, when set, says why the recipient's keys could not be
	// kept among the contacts; the message went all the same.
	ContactErr error
}

// SendText seals text to the user to ("user" or "user@domain") and hands
// it to the node, which has it once SendText returns without error. The
// recipient's keys are kept among the account's contacts for later sends;
// why they could not be is in Sent.ContactErr, also when the enqueue
// failed.
func (s *Session) SendText(ctx context.Context, to, text string, o SendOptions) (Sent, error) {
	out, _, err := s.acct.Seal(ctx, to, sealed.ContentText, []byte(text))
	if err != nil {
		return Sent{}, err
	}
	sent := Sent{Recipient: out.Recipient, ContactErr: s.Remember(ctx, to)}
	out.TTL, out.MaxHops = o.TTL, o.MaxHops
	// A failed enqueue still reports ContactErr: the keys were looked up.
	sent.Receipt, err = s.c.Enqueue(ctx, out)
	return sent, err
}

// OpenReplayCache opens the account's replay cache, so that the
// account's Open drops copies of messages opened before.
func (s *Session) OpenReplayCache() error {
	rc, err := client.LoadReplayCache(s.cfg.StateDir, s.cur.User, s.cur.Domain, s.exportKey)
	if err != nil {
		return err
	}
	s.acct.Replay = rc
	return nil
}

// Inbox takes the messages of the mailbox as a one-shot reader meets
// them: one-to-one messages are opened and shown, group messages
// (welcomes and group traffic) are filed in the chat history, so that
// they are not lost to a reader that cannot show them.
type Inbox struct {
	s *Session
	// openChat opens the chat engine when the first group message comes.
	openChat func(ctx context.Context) (*chat.Engine, error)
	eng      *chat.Engine
	// Filed counts the group messages filed in the chat history.
	Filed int
	// Replayed counts the copies of messages shown before, dropped.
	Replayed int
}

// Inbox returns an Inbox of the account; openChat opens (and connects)
// its chat engine, once, when a group message needs it.
func (s *Session) Inbox(openChat func(ctx context.Context) (*chat.Engine, error)) *Inbox {
	return &Inbox{s: s, openChat: openChat}
}

// Handle opens the one-to-one messages of msgs and gives them to show,
// and files the group messages; it returns the sequence number up to
// which all are handled, and why it stopped before the end.
func (in *Inbox) Handle(ctx context.Context, msgs []protocol.Message, show func(client.Received)) (uint64, error) {
	var handled uint64
	for _, m := range msgs {
		if r := in.s.acct.Open(ctx, m); r.ContentType != chat.ContentWelcome && r.ContentType != chat.ContentGroup {
			if r.Replayed {
				// A copy of a message shown before: acknowledged so it
				// does not come back, never shown again.
				in.Replayed++
			} else {
				show(r)
			}
			handled = m.Seq
			continue
		}
		if in.eng == nil {
			eng, err := in.openChat(ctx)
			if err != nil {
				return handled, fmt.Errorf("group message %d could not be filed: %w", m.Seq, err)
			}
			in.eng = eng
		}
		if in.eng.Handle(ctx, []protocol.Message{m}) != m.Seq {
			return handled, &filingError{fmt.Sprintf("group message %d could not be filed", m.Seq)}
		}
		in.Filed++
		handled = m.Seq
	}
	return handled, nil
}

// Close closes the chat engine if Handle opened it.
func (in *Inbox) Close() {
	if in.eng != nil {
		in.eng.Close()
	}
}

// Receive empties the mailbox through in: it fetches, hands the messages
// to in, saves the replay cache (OpenReplayCache first) and acknowledges
// what in handled, until the mailbox is empty. It returns how many
// messages it fetched. A message in could not handle stays on the node,
// and Receive stops there.
func (s *Session) Receive(ctx context.Context, in *Inbox, show func(client.Received)) (int, error) {
	total := 0
	for {
		msgs, err := s.c.Fetch(ctx, 0, 500)
		if err != nil {
			return total, err
		}
		if len(msgs) == 0 {
			return total, nil
		}
		handled, ferr := in.Handle(ctx, msgs, show)
		// The ids go to disk before the messages leave the node, so
		// that a copy enqueued later is known for one.
		if err := s.acct.Replay.Save(); err != nil {
			return total, fmt.Errorf("%w (the messages stay on the node)", err)
		}
		// Shown or filed, so safe to delete from the node.
		if handled > 0 {
			if _, err := s.c.Ack(ctx, handled); err != nil {
				return total, err
			}
		}
		if ferr != nil {
			return total, fmt.Errorf("%w (it stays on the node)", ferr)
		}
		total += len(msgs)
	}
}

// filingError is an ErrNotFiled that says which message, in its own words.
type filingError struct{ text string }

func (e *filingError) Error() string { return e.text }
func (e *filingError) Unwrap() error { return ErrNotFiled }
