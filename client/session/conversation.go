package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
)

// SendMessage sends text to the user to as qpc send --to does, through
// eng (open and connected), so that the line is in the one DM
// conversation with to that the REPL and qpc recv show too: in the DM's
// MLS group when the account has one with to and nothing waits in the
// mailbox (a commit there could have moved the group on), otherwise
// sealed to each of to's devices, as older clients do, and filed in the
// DM. The checks and notices are SendText's. Sent.Message is the line in
// the state it reached; a message the node did not take (MLS) stays in
// the outbox and fails with ErrNotSent.
func (s *Session) SendMessage(ctx context.Context, eng *chat.Engine, to, text string, o SendOptions) (Sent, error) {
	if c, ok := eng.UsableDM(to); ok {
		if msgs, err := s.c.Fetch(ctx, 0, 1); err == nil && len(msgs) == 0 {
			return s.sendInGroup(ctx, eng, c, to, text, o)
		}
	}
	sent, outs, rs, err := s.sendSealed(ctx, eng, to, text, o)
	if err != nil {
		return sent, err
	}
	if sent.Recipient == eng.Self() {
		return sent, nil // a note to oneself: the note is the REPL's
	}
	conv, m, ferr := eng.FileSealedOut(to, chatdb.MsgID(sent.ID), time.Now(), text, outs, rs)
	if ferr != nil {
		// Sent all the same: only the local history lacks the line.
		return sent, fmt.Errorf("sent, but not kept in the chat history: %w", ferr)
	}
	sent.Conv, sent.Message = conv, m
	return sent, nil
}

// sendInGroup sends text in the DM c's MLS group.
func (s *Session) sendInGroup(ctx context.Context, eng *chat.Engine, c chatdb.Conversation, to, text string, o SendOptions) (Sent, error) {
	change, err := eng.ClearToSend(ctx, to)
	if err != nil {
		var kc *chat.KeyChangedError
		if errors.As(err, &kc) {
			return Sent{Recipient: kc.Change.Address, KeyChange: kc.Change}, err
		}
		return Sent{}, err
	}
	sent := Sent{Recipient: c.Peer, KeyChange: change, ContactErr: s.Remember(ctx, to), Conv: c.ID, MLS: true}
	if p, err := s.acct.ResolvePeer(ctx, to); err == nil {
		sent.DeviceNotices, _ = eng.NoteDevices(p)
	}
	m, err := eng.SendWith(ctx, c.ID, text, chat.SendOptions{TTL: o.TTL, MaxHops: o.MaxHops})
	sent.Message, sent.ID = m, [16]byte(m.ID)
	if err != nil {
		return sent, err
	}
	if m.Status == chatdb.StatusQueued {
		return sent, ErrNotSent
	}
	if d, ok := eng.DeliveryOf(m.ID); ok {
		sent.Receipt, sent.Envelopes = d.Receipt, d.Envelopes
	}
	return sent, nil
}

// ErrNotDelivered means WaitDelivered gave up: the message is sent (or
// queued) but no node or device said it was delivered in time.
var ErrNotDelivered = errors.New("not delivered yet")

// WaitDelivered waits until the line id of conv is delivered (or read):
// it asks the node what became of envelopes in the mesh every poll, until
// ctx ends (then ErrNotDelivered, with the state reached). The mailbox is
// left to qpc recv and the REPL, which show what is in it (an end-to-end
// receipt among it moves the state there). progress, when not nil, is
// told each state as it changes.
func (s *Session) WaitDelivered(ctx context.Context, eng *chat.Engine, conv chatdb.ConvID, id chatdb.MsgID, poll time.Duration, progress func(chatdb.Status)) (chatdb.Status, error) {
	last := chatdb.StatusNone
	for {
		st, err := eng.State(conv, id)
		if err != nil {
			return st, err
		}
		if st != last && progress != nil {
			progress(st)
		}
		last = st
		if st >= chatdb.StatusDelivered {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("%w (%s)", ErrNotDelivered, st)
		case <-time.After(poll):
		}
		if err := eng.PollDelivery(ctx); err != nil && !errors.Is(err, chat.ErrOffline) && ctx.Err() == nil {
			return st, err
		}
	}
}
