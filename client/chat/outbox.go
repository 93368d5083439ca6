package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/sealed"
	"github.com/quicprochat/qpc/protocol"
)

// Send sends text to the conversation. The message goes into the outbox
// first, with its id and sequence number fixed, and leaves when the node
// is reachable: now, or on the next Connected. The note only records it.
// A member's key change not yet shown at a send is shown in the
// conversation first; a member verified under another key than they
// publish refuses the send with a *KeyChangedError (ClearToSend).
func (e *Engine) Send(ctx context.Context, conv chatdb.ConvID, text string) (chatdb.Message, error) {
	return e.SendWith(ctx, conv, text, SendOptions{})
}

// SendOptions are the node's handling of a chat message.
type SendOptions struct {
	// TTL is how long the node keeps it undelivered; 0 is the node's
	// default.
	TTL time.Duration
	// MaxHops bounds its federation hops if it goes into the mesh; 0 is
	// the node's default.
	MaxHops uint8
}

// SendWith is Send with the node's handling of the message. A DM that has
// no MLS group yet (it holds only sealed messages of an older client, or
// was opened offline) queues the line like any other; the flush that
// meets it starts the DM's group first, keeping its history, or seals the
// line to a peer who cannot join one (queueddm.go).
func (e *Engine) SendWith(ctx context.Context, conv chatdb.ConvID, text string, so SendOptions) (chatdb.Message, error) {
	if err := checkText(text); err != nil {
		return chatdb.Message{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.conversation(conv)
	if err != nil {
		return chatdb.Message{}, err
	}
	switch {
	case c.Left:
		return chatdb.Message{}, fmt.Errorf("%s: %w", Label(c), ErrLeft)
	case c.Invited:
		return chatdb.Message{}, fmt.Errorf("%s: %w: /join to accept it", Label(c), ErrNotJoined)
	case c.Kind == chatdb.KindGroup && c.GroupID == nil:
		return chatdb.Message{}, fmt.Errorf("%s: %w", Label(c), ErrNotGroup)
	}
	m := chatdb.Message{ID: newMsgID(), From: e.self, Time: e.now(), Text: text}
	if c.Kind == chatdb.KindNote {
		err := e.db.Update(func(tx *chatdb.Tx) error { return e.addLine(tx, &c, &m) })
		return m, err
	}
	m.Status = chatdb.StatusQueued
	// Every recipient's key is looked up now where the node answers (a
	// change seen now is shown in c by noteKey); offline, the last key
	// seen decides.
	recipients := slices.DeleteFunc(slices.Clone(c.Members), func(a string) bool { return a == e.self })
	if c.Kind == chatdb.KindDM && c.GroupID == nil {
		recipients = []string{c.Peer}
	}
	fresh := map[string]bool{}
	for _, r := range recipients {
		if _, change, err := e.resolveNoting(ctx, r); err == nil && change != nil {
			fresh[r] = true
		}
	}
	err = e.db.Update(func(tx *chatdb.Tx) error {
		for _, r := range recipients {
			change, err := e.clearToSend(tx, r)
			if err != nil {
				return err
			}
			if change != nil && !fresh[r] {
				if err := e.systemLine(tx, &c, "%s", change); err != nil {
					return err
				}
			}
		}
		c.SentSeq++
		o := chatdb.Outgoing{Conv: c.ID, MsgID: m.ID, Text: text, ChatSeq: c.SentSeq, Created: m.Time, TTL: so.TTL, MaxHops: so.MaxHops}
		if err := tx.PutOutgoing(&o); err != nil {
			return err
		}
		return e.addLine(tx, &c, &m)
	})
	if err != nil {
		return m, err
	}
	if _, err := e.flush(ctx); err != nil {
		e.log.Debug("send stays queued", "err", err)
	}
	if sent, err := e.lookupMessage(c.ID, m.ID); err == nil {
		m = sent
	}
	return m, nil
}

// transient reports whether a refusal of the node may go away by itself.
func transient(err error) bool {
	return errors.Is(err, protocol.ErrRateLimited) || errors.Is(err, protocol.ErrMailboxFull) ||
		errors.Is(err, protocol.ErrShuttingDown) || errors.Is(err, protocol.ErrMeshFull) ||
		errors.Is(err, protocol.ErrStoreFull)
}

// flush sends the outbox in order; it stops at the first entry the node
// could not take, which stays for the next try. e.mu is held.
func (e *Engine) flush(ctx context.Context) (int, error) {
	if !e.online {
		return 0, ErrOffline
	}
	if e.flushing {
		// A DM's group started by this flush (openQueuedDM) queued its
		// Welcome; the flush under way reads the outbox again and sends
		// it in order.
		return 0, nil
	}
	e.flushing = true
	defer func() { e.flushing = false }()
	sent := 0
	held := map[chatdb.ConvID]bool{}
	for reread := true; reread; {
		n, again, err := e.flushOnce(ctx, held)
		sent += n
		if err != nil {
			return sent, err
		}
		reread = again
	}
	if err := e.pollDelivery(ctx); err != nil {
		e.log.Debug("asking the mesh about sent messages", "err", err)
	}
	return sent, nil
}

// flushOnce sends the outbox as read now, in order, but for the lines of
// the conversations held. Meeting a line of a DM that has no group, it
// starts the group (or seals the DM's lines, or holds the DM when its
// peer is out of reach) and stops, again set: the outbox changed under
// it.
func (e *Engine) flushOnce(ctx context.Context, held map[chatdb.ConvID]bool) (sent int, again bool, err error) {
	var box []chatdb.Outgoing
	if err := e.db.View(func(tx *chatdb.Tx) (err error) {
		box, err = tx.Outbox()
		return err
	}); err != nil {
		return 0, false, err
	}
	for i, o := range box {
		if held[o.Conv] {
			continue
		}
		if c, ok := e.grouplessDM(&o); ok {
			n, err := e.openQueuedDM(ctx, c, box[i:])
			if errors.Is(err, errPeerAway) {
				held[c.ID] = true
				e.status("lines to %s stay queued: %v", c.Peer, err)
				return sent + n, true, nil
			}
			return sent + n, err == nil, err
		}
		outs, err := e.prepare(ctx, &o)
		if err != nil {
			return sent, false, err
		}
		if err := e.enqueue(ctx, &o, outs); err != nil {
			return sent, false, err
		}
		sent++
	}
	return sent, false, nil
}

// enqueue hands the envelopes outs of outbox entry o to the node and, when
// it took them (a recipient refusing for good is told, not retried),
// drops o from the outbox and moves its line on.
func (e *Engine) enqueue(ctx context.Context, o *chatdb.Outgoing, outs []client.Outgoing) error {
	var rs []client.Receipt
	if len(outs) > 0 {
		for i := range outs {
			outs[i].TTL, outs[i].MaxHops = o.TTL, o.MaxHops
		}
		var err error
		rs, err = e.acct.Client.EnqueueBatch(ctx, outs)
		if err != nil {
			_ = e.db.Update(func(tx *chatdb.Tx) error { o.Attempts++; return tx.PutOutgoing(o) })
			return err
		}
		for i, r := range rs {
			if r.Err == nil {
				continue
			}
			if transient(r.Err) {
				_ = e.db.Update(func(tx *chatdb.Tx) error { o.Attempts++; return tx.PutOutgoing(o) })
				return fmt.Errorf("to %s: %w", outs[i].Recipient, r.Err)
			}
			e.status("not delivered to %s: %v", outs[i].Recipient, r.Err)
		}
	}
	return e.db.Update(func(tx *chatdb.Tx) error {
		if err := e.delivered(tx, o); err != nil {
			return err
		}
		return e.settle(tx, o, outs, rs)
	})
}

// prepare returns the envelopes of an outbox entry: as stored for a
// handshake message, freshly encrypted to the group's current members for
// a chat message (none when the group is gone).
func (e *Engine) prepare(ctx context.Context, o *chatdb.Outgoing) ([]client.Outgoing, error) {
	if o.Payload != nil {
		return []client.Outgoing{{Recipient: o.Recipient, Payload: o.Payload}}, nil
	}
	c, err := e.conversation(o.Conv)
	if errors.Is(err, ErrNoConversation) || err == nil && (c.Left || c.GroupID == nil) {
		e.status("a queued message was dropped: you are no longer in that conversation")
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	frame, err := (&chatFrame{ID: o.MsgID, Seq: o.ChatSeq, Time: o.Created, Text: o.Text}).marshal()
	if err != nil {
		return nil, err
	}
	var msg []byte
	var ts []target
	// The ratchet moves as the message is encrypted: the group state is
	// saved before the message leaves.
	if err := e.db.Update(func(tx *chatdb.Tx) error {
		g, err := e.loadGroup(tx, &c)
		if err != nil {
			return err
		}
		if msg, err = g.Encrypt(frame, nil); err != nil {
			return err
		}
		ts = e.leafTargets(members(g), g.OwnLeaf())
		return e.saveGroup(tx, &c, g)
	}); err != nil {
		return nil, err
	}
	body := (&groupFrame{GroupID: c.GroupID, Message: msg}).marshal()
	entries, err := e.sealTargets(ctx, &c, ts, ContentGroup, sealed.ID(o.MsgID), body)
	if err != nil {
		return nil, err
	}
	if len(entries) > 0 {
		e.log.Debug("mls application message", "group", Label(c), "text_bytes", len(o.Text),
			"mls_bytes", len(msg), "envelope_bytes", len(entries[0].Payload), "copies", len(entries))
	}
	outs := make([]client.Outgoing, len(entries))
	for i, en := range entries {
		outs[i] = client.Outgoing{Recipient: en.Recipient, Payload: en.Payload}
	}
	return outs, nil
}

// delivered drops a sent entry from the outbox and marks its chat message
// sent; settle moves it on from there.
func (e *Engine) delivered(tx *chatdb.Tx, o *chatdb.Outgoing) error {
	if err := tx.DeleteOutgoing(o.Seq); err != nil {
		return err
	}
	if o.MsgID == (chatdb.MsgID{}) {
		return nil
	}
	c, ok, err := tx.Conversation(o.Conv)
	if err != nil || !ok {
		return err
	}
	return e.advance(tx, c, []chatdb.MsgID{o.MsgID}, chatdb.StatusSent)
}

func (e *Engine) lookupMessage(conv chatdb.ConvID, id chatdb.MsgID) (chatdb.Message, error) {
	ms, err := e.History(conv, 200)
	if err != nil {
		return chatdb.Message{}, err
	}
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].ID == id {
			return ms[i], nil
		}
	}
	return chatdb.Message{}, chatdb.ErrNotFound
}
